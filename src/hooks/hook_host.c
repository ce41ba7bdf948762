/*
 * hook_host.c - a host's hooks on a Unix socket (include/bpfvm/hook_host.h):
 * the socket and its server thread, the peer check, the text protocol,
 * and the links attached through it with the object and instance behind
 * each.
 *
 * One thread serves up to MAX_CONNECTIONS clients at once, polling the
 * listening socket and the clients (a client that sends nothing for
 * REQUEST_TIMEOUT_S is dropped; beyond MAX_CONNECTIONS, new clients wait
 * in the listen backlog), and serves their requests one at a time, each
 * whole before the next: a client holding a connection open keeps no
 * other waiting, each request is atomic with respect to every other
 * attach, replace and detach, and a link's object is never freed while
 * another request reads it.  host->lock keeps the hook and link tables
 * for bpfvm_hook_host_add and bpfvm_hook_host_free, which run on the
 * host's own threads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "bpfvm/hook_host.h"
#include "bpfvm/instance.h"
#include "bpfvm/object.h"
#include "api/api.h"
#include "base/opts.h"
#include "hooks/hook_internal.h"

#define MAX_HOOKS 64
#define MAX_LINKS 256
#define REQUEST_MAX (1u << 20)         /* a request's header and inline object */
#define ANSWER_MAX (64u << 10)
#define OBJECT_MAX ((off_t)64 << 20)   /* an object sent as a descriptor */
#define REQUEST_TIMEOUT_S 10
#define MAX_SENT_MAPS 64
#define MAX_CONNECTIONS 16             /* clients connected at once; more wait to be accepted */

struct host_hook {
	bpfvm_hook *hook;
	char *btf_path;
};

/* A program attached through the socket: what must live while it runs. */
struct host_link {
	uint64_t id;
	struct host_hook *hook;
	bpfvm_object *obj;
	bpfvm_instance *inst;
	size_t prog;                  /* index in obj */
	char pin_dir[256];
};

struct bpfvm_hook_host {
	char path[sizeof ((struct sockaddr_un *)0)->sun_path];
	int listen_fd;
	int stop_pipe[2];
	pthread_t thread;
	bpfvm_hook_host_policy_fn policy;
	void *policy_user;
	bool jit;
	char pin_dir[256];
	pthread_mutex_t lock;
	struct host_hook hooks[MAX_HOOKS];
	size_t hook_count;
	struct host_link *links[MAX_LINKS];
	size_t link_count;
};

/* An answer being written: "ok\n" or an error, then lines. */
struct answer {
	char text[ANSWER_MAX];
	size_t len;
};

static void say(struct answer *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct answer *a, const char *fmt, ...)
{
	if (a->len >= sizeof a->text - 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(a->text + a->len, sizeof a->text - a->len, fmt, ap);
	va_end(ap);
	a->len = n < 0 ? a->len : a->len + (size_t)n >= sizeof a->text ? sizeof a->text - 1 : a->len + (size_t)n;
}

/* An error answer; the message on one line. */
static int answer_error(struct answer *a, int rc, const char *message)
{
	a->len = 0;
	say(a, "error=%d\nmessage=", rc);
	for (const char *c = message; *c; c++)
		say(a, "%c", *c == '\n' ? ' ' : *c);
	say(a, "\n");
	return rc;
}

/* ---- the socket's path ------------------------------------------------ */

/* A directory only this user can write, made if missing. */
static int private_dir(const char *dir, bpfvm_error *err)
{
	if (mkdir(dir, 0700) && errno != EEXIST)
		return error_set(err, -errno, -1, "hook host: cannot make %s: %s", dir, strerror(errno));
	struct stat st;
	if (lstat(dir, &st) || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return error_set(err, -EPERM, -1, "hook host: %s is not a directory of this user's that only it can "
		                 "write; choose the socket's path (bpfvm_hook_host_opts.path)", dir);
	return 0;
}

static int default_path(char *out, size_t cap, bpfvm_error *err)
{
	char dir[160];
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int rc = 0;
	if (xdg && xdg[0] == '/') {
		snprintf(dir, sizeof dir, "%s", xdg);
	} else {
		snprintf(dir, sizeof dir, "/run/user/%u", (unsigned)geteuid());
		if (stat(dir, &st) || !S_ISDIR(st.st_mode) || access(dir, W_OK)) {
			snprintf(dir, sizeof dir, "/tmp/bpfvm-%u", (unsigned)geteuid());
			rc = private_dir(dir, err);
		}
	}
	if (!rc && (size_t)snprintf(out, cap, "%s/bpfvm-hooks-%d.sock", dir, (int)getpid()) >= cap)
		rc = error_set(err, -ENAMETOOLONG, -1, "hook host: socket path under %s too long", dir);
	return rc;
}

/* A socket at path nobody answers on is a dead host's: removed. */
static int clear_stale(const char *path, bpfvm_error *err)
{
	struct stat st;
	if (lstat(path, &st))
		return 0;
	if (!S_ISSOCK(st.st_mode))
		return error_set(err, -EEXIST, -1, "hook host: %s exists and is not a socket", path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	bool alive = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	if (fd >= 0)
		close(fd);
	if (alive)
		return error_set(err, -EADDRINUSE, -1, "hook host: another host answers on %s", path);
	unlink(path);
	return 0;
}

static int bind_socket(bpfvm_hook_host *host, bpfvm_error *err)
{
	int rc = clear_stale(host->path, err);
	if (rc)
		return rc;
	host->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (host->listen_fd < 0)
		return error_set(err, -errno, -1, "hook host: socket: %s", strerror(errno));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", host->path);
	mode_t old_mask = umask(077);   /* the peer check is the rule; the mode keeps others off too */
	rc = bind(host->listen_fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old_mask);
	if (rc || listen(host->listen_fd, 8))
		return error_set(err, -errno, -1, "hook host: cannot listen on %s: %s", host->path, strerror(errno));
	return 0;
}

/* ---- tables ------------------------------------------------------------ */

static struct host_hook *find_hook(bpfvm_hook_host *host, const char *name)
{
	for (size_t i = 0; i < host->hook_count; i++)
		if (!strcmp(bpfvm_hook_name(host->hooks[i].hook), name))
			return &host->hooks[i];
	return NULL;
}

static struct host_link *find_link(bpfvm_hook_host *host, uint64_t id)
{
	for (size_t i = 0; i < host->link_count; i++)
		if (host->links[i]->id == id)
			return host->links[i];
	return NULL;
}

static void link_free(struct host_link *l)
{
	if (!l)
		return;
	bpfvm_instance_free(l->inst);
	bpfvm_object_free(l->obj);
	free(l);
}

static void link_forget(bpfvm_hook_host *host, struct host_link *l)
{
	for (size_t i = 0; i < host->link_count; i++)
		if (host->links[i] == l) {
			host->links[i] = host->links[--host->link_count];
			break;
		}
	link_free(l);
}

/* ---- requests ---------------------------------------------------------- */

struct request {
	const char *op, *hook, *prog, *link, *pin_dir, *name;
	const uint8_t *inline_object;   /* after the empty line, if any */
	size_t inline_len;
	int object_fd;                  /* SCM_RIGHTS, or -1 */
};

/* Splits buf (len bytes, NUL after them) into the request's fields. */
static void parse_request(char *buf, size_t len, struct request *rq)
{
	char *end = memmem(buf, len, "\n\n", 2);
	if (end) {
		rq->inline_object = (const uint8_t *)end + 2;
		rq->inline_len = len - (size_t)(end + 2 - buf);
		end[1] = '\0';
	}
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		const char **field = !strcmp(line, "op") ? &rq->op : !strcmp(line, "hook") ? &rq->hook :
		                     !strcmp(line, "prog") ? &rq->prog : !strcmp(line, "link") ? &rq->link :
		                     !strcmp(line, "pin_dir") ? &rq->pin_dir : !strcmp(line, "name") ? &rq->name : NULL;
		if (field)
			*field = eq + 1;
	}
}

/* The object as a file descriptor the loader can open by path. */
static int object_fd(const struct request *rq, bpfvm_error *err)
{
	if (rq->object_fd >= 0) {
		struct stat st;
		if (fstat(rq->object_fd, &st) || !S_ISREG(st.st_mode) || st.st_size > OBJECT_MAX)
			return error_set(err, -EINVAL, -1, "the object's descriptor is not a regular file (or memfd) of at "
			                 "most %lld bytes", (long long)OBJECT_MAX);
		int fd = fcntl(rq->object_fd, F_DUPFD_CLOEXEC, 0);
		return fd >= 0 ? fd : error_set(err, -errno, -1, "dup: %s", strerror(errno));
	}
	if (!rq->inline_len)
		return error_set(err, -EINVAL, -1, "no object: send its bytes inline or as a descriptor");
	int fd = memfd_create("bpfvm-hook-object", MFD_CLOEXEC);
	if (fd < 0)
		return error_set(err, -errno, -1, "memfd_create: %s", strerror(errno));
	if (write(fd, rq->inline_object, rq->inline_len) != (ssize_t)rq->inline_len) {
		close(fd);
		return error_set(err, -EIO, -1, "cannot copy the inline object");
	}
	return fd;
}

static int choose_prog(const bpfvm_object *obj, const char *name, size_t *index, bpfvm_error *err)
{
	if (name) {
		int i = bpfvm_object_find_prog(obj, name);
		if (i < 0)
			return error_set(err, -ENOENT, -1, "the object has no program %s", name);
		*index = (size_t)i;
		return 0;
	}
	if (bpfvm_object_prog_count(obj) != 1)
		return error_set(err, -EINVAL, -1, "the object has %zu programs: name one (prog=)",
		                 bpfvm_object_prog_count(obj));
	*index = 0;
	return 0;
}

/* Before loading: a BTF-typed program would fail to find its attach
 * target in anything but a BTF hook's types, with a less useful message. */
static int check_prog_type(const bpfvm_hook *hook, const bpfvm_object_prog *op, bpfvm_error *err)
{
	struct hook_ctx_info ci;
	hook_ctx_info(hook, &ci);
	bool raw = op->type == BPFVM_PROG_TYPE_RAW || op->type == 0;
	if (ci.prog_type == BPFVM_PROG_TYPE_RAW ? raw : op->type == ci.prog_type)
		return 0;
	const char *want = bpfvm_prog_type_name(ci.prog_type), *have = bpfvm_prog_type_name(op->type);
	return error_set(err, -EINVAL, -1, "hook %s takes %s programs; %s is a %s program", bpfvm_hook_name(hook),
	                 ci.prog_type == BPFVM_PROG_TYPE_RAW ? "raw memory" : want ? want : "unknown", op->name,
	                 raw ? "raw memory" : have ? have : "unknown");
}

/* Opens, loads and verifies the request's program for hh, unattached. */
static int load_link(bpfvm_hook_host *host, struct host_hook *hh, const struct request *rq, struct host_link **out,
                     bpfvm_error *err)
{
	struct host_link *l = calloc(1, sizeof *l);
	if (!l)
		return error_set(err, -ENOMEM, -1, "out of memory");
	l->hook = hh;
	snprintf(l->pin_dir, sizeof l->pin_dir, "%s", rq->pin_dir ? rq->pin_dir :
	         host->pin_dir[0] ? host->pin_dir : bpfvm_map_pin_dir());
	int fd = object_fd(rq, err);
	int rc = fd < 0 ? fd : 0;
	if (!rc) {
		char path[64];
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		BPFVM_OPTS(bpfvm_object_open_opts, oo, .object_name = rq->name && *rq->name ? rq->name : NULL,
		           .btf_custom_path = hh->btf_path);
		rc = bpfvm_object_open_file(path, &oo, &l->obj, err);
		close(fd);
	}
	if (!rc)
		rc = choose_prog(l->obj, rq->prog, &l->prog, err);
	if (!rc)
		rc = check_prog_type(hh->hook, bpfvm_object_prog_at(l->obj, l->prog), err);
	if (!rc) {
		BPFVM_OPTS(bpfvm_instance_opts, io, .jit = host->jit, .pin_dir = l->pin_dir,
		           .only_prog = bpfvm_object_prog_at(l->obj, l->prog)->name);
		rc = bpfvm_instance_new(l->obj, &io, &l->inst, err);
	}
	if (!rc)
		rc = bpfvm_hook_verify_prog(hh->hook, l->inst, l->prog, err);
	if (rc) {
		link_free(l);
		return rc;
	}
	*out = l;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static const char *link_prog_name(const struct host_link *l)
{
	return bpfvm_object_prog_at(l->obj, l->prog)->name;
}

static int op_attach(bpfvm_hook_host *host, const struct request *rq, struct answer *a)
{
	bpfvm_error err = { 0 };
	struct host_hook *hh = rq->hook ? find_hook(host, rq->hook) : NULL;
	if (!hh)
		return answer_error(a, -ENOENT, rq->hook ? "no such hook" : "attach: which hook (hook=)?");
	if (host->link_count == MAX_LINKS)
		return answer_error(a, -ENOSPC, "too many links");
	struct host_link *l;
	uint64_t t0 = now_ns();
	int rc = load_link(host, hh, rq, &l, &err);
	uint64_t t1 = now_ns();
	if (!rc)
		rc = bpfvm_hook_attach(hh->hook, bpfvm_instance_prog(l->inst, l->prog), &l->id, &err);
	if (rc) {
		if (!err.msg[0])
			snprintf(err.msg, sizeof err.msg, "%s", strerror(-rc));
		return answer_error(a, rc, err.msg);
	}
	host->links[host->link_count++] = l;
	say(a, "link=%llu\nprog=%s\nload_ns=%llu\nswap_ns=%llu\n", (unsigned long long)l->id, link_prog_name(l),
	    (unsigned long long)(t1 - t0), (unsigned long long)(now_ns() - t1));
	return 0;
}

/* The link the request names, attached through this socket. */
static struct host_link *request_link(bpfvm_hook_host *host, const struct request *rq, struct answer *a)
{
	char *end;
	unsigned long long id = rq->link ? strtoull(rq->link, &end, 10) : 0;
	struct host_link *l = rq->link && !*end ? find_link(host, id) : NULL;
	if (!l)
		answer_error(a, -ENOENT, "no link of that id was attached through this socket");
	return l;
}

static int op_detach(bpfvm_hook_host *host, const struct request *rq, struct answer *a)
{
	struct host_link *l = request_link(host, rq, a);
	if (!l)
		return -ENOENT;
	bpfvm_error err = { 0 };
	uint64_t t0 = now_ns();
	int rc = bpfvm_hook_detach(l->hook->hook, l->id, &err);
	if (rc)
		return answer_error(a, rc, err.msg);
	say(a, "link=%llu\nswap_ns=%llu\n", (unsigned long long)l->id, (unsigned long long)(now_ns() - t0));
	link_forget(host, l);
	return 0;
}

/* The new program takes the link's place; the old one is freed once no
 * run can be in it (bpfvm_hook_replace has returned). */
static int op_replace(bpfvm_hook_host *host, const struct request *rq, struct answer *a)
{
	struct host_link *old = request_link(host, rq, a);
	if (!old)
		return -ENOENT;
	bpfvm_error err = { 0 };
	struct host_link *l;
	uint64_t t0 = now_ns();
	int rc = load_link(host, old->hook, rq, &l, &err);
	uint64_t t1 = now_ns();
	if (!rc) {
		rc = bpfvm_hook_replace(old->hook->hook, old->id, bpfvm_instance_prog(l->inst, l->prog), &err);
		if (rc)
			link_free(l);
	}
	if (rc)
		return answer_error(a, rc, err.msg);
	l->id = old->id;
	for (size_t i = 0; i < host->link_count; i++)
		if (host->links[i] == old)
			host->links[i] = l;
	uint64_t t2 = now_ns();
	link_free(old);
	say(a, "link=%llu\nprog=%s\nload_ns=%llu\nswap_ns=%llu\n", (unsigned long long)l->id, link_prog_name(l),
	    (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1));
	return 0;
}

/* The link's maps that can be shared (not those holding process-local
 * references), in the instance's order: what op=maps sends. */
static size_t sendable_maps(const struct host_link *l, bpfvm_map **out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < bpfvm_object_map_count(l->obj); i++) {
		bpfvm_map *map = bpfvm_instance_map(l->inst, i);
		bpfvm_map_info info;
		bpfvm_map_info_get(map, &info);
		if (info.pinnable && n < cap)
			out[n++] = map;
	}
	return n;
}

/* Names the maps; serve_connection sends them after the answer. */
static int op_maps(bpfvm_hook_host *host, const struct request *rq, struct answer *a, struct host_link **send_maps)
{
	struct host_link *l = request_link(host, rq, a);
	if (!l)
		return -ENOENT;
	bpfvm_map *maps[MAX_SENT_MAPS];
	size_t n = sendable_maps(l, maps, MAX_SENT_MAPS);
	say(a, "link=%llu\nmaps=%zu\n", (unsigned long long)l->id, n);
	for (size_t i = 0; i < n; i++) {
		bpfvm_map_info info;
		bpfvm_map_info_get(maps[i], &info);
		say(a, "map=%.16s\n", info.name);
	}
	*send_maps = l;
	return 0;
}

static void list_ctx(const bpfvm_hook *hook, struct answer *a)
{
	struct hook_ctx_info ci;
	hook_ctx_info(hook, &ci);
	say(a, "hook name=%s", bpfvm_hook_name(hook));
	if (ci.kind == BPFVM_HOOK_CTX_MEM) {
		say(a, " ctx=mem size=%u\n", ci.ctx_size);
	} else if (ci.kind == BPFVM_HOOK_CTX_PROG_TYPE) {
		const char *type = bpfvm_prog_type_name(ci.prog_type);
		say(a, " ctx=prog_type type=%s\n", type ? type : "unknown");
	} else {
		const struct btf_type *t = btf__type_by_id(ci.btf, ci.btf_id);
		const char *name = t ? btf__name_by_offset(ci.btf, t->name_off) : NULL;
		say(a, " ctx=btf type=%s btf_id=%u\n", name && *name ? name : "(anon)", ci.btf_id);
	}
}

/* Each map of the link's object, and its pin if it has one. */
static void list_maps(const struct host_link *l, struct answer *a)
{
	for (size_t i = 0; i < bpfvm_object_map_count(l->obj); i++) {
		const bpfvm_object_map *om = bpfvm_object_map_at(l->obj, i);
		say(a, "map link=%llu name=%s", (unsigned long long)l->id, om->name);
		if (om->pinning == BPFVM_PIN_BY_NAME)
			say(a, " pinned=%s/%s", l->pin_dir, om->name);
		say(a, "\n");
	}
}

static int op_list(bpfvm_hook_host *host, struct answer *a)
{
	for (size_t h = 0; h < host->hook_count; h++) {
		bpfvm_hook *hook = host->hooks[h].hook;
		list_ctx(hook, a);
		bpfvm_hook_link_info info[64];
		size_t n = bpfvm_hook_links(hook, info, 64);
		for (size_t i = 0; i < n && i < 64; i++) {
			struct host_link *l = find_link(host, info[i].link);
			if (l)
				say(a, "link id=%llu hook=%s prog=%s object=%s origin=socket\n",
				    (unsigned long long)l->id, bpfvm_hook_name(hook), link_prog_name(l),
				    bpfvm_object_name(l->obj));
			else
				say(a, "link id=%llu hook=%s prog=%s origin=host\n", (unsigned long long)info[i].link,
				    bpfvm_hook_name(hook), info[i].prog->perf_name);
			if (l)
				list_maps(l, a);
		}
	}
	return 0;
}

static void serve_request(bpfvm_hook_host *host, const struct request *rq, struct answer *a,
                          struct host_link **send_maps)
{
	a->len = 0;
	say(a, "ok\n");
	pthread_mutex_lock(&host->lock);
	if (!rq->op)
		answer_error(a, -EINVAL, "no op= line");
	else if (!strcmp(rq->op, "list"))
		op_list(host, a);
	else if (!strcmp(rq->op, "attach"))
		op_attach(host, rq, a);
	else if (!strcmp(rq->op, "detach"))
		op_detach(host, rq, a);
	else if (!strcmp(rq->op, "replace"))
		op_replace(host, rq, a);
	else if (!strcmp(rq->op, "maps"))
		op_maps(host, rq, a, send_maps);
	else
		answer_error(a, -EINVAL, "unknown op (list, attach, detach, replace, maps)");
	pthread_mutex_unlock(&host->lock);
}

/* ---- connections ------------------------------------------------------- */

static bool peer_admitted(const bpfvm_hook_host *host, int conn, struct answer *a)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		answer_error(a, -EACCES, "cannot read the peer's credentials");
		return false;
	}
	if (cred.uid == geteuid() || cred.uid == 0 ||
	    (host->policy && host->policy(host->policy_user, cred.pid, cred.uid, cred.gid)))
		return true;
	char msg[128];
	snprintf(msg, sizeof msg, "uid %u is not admitted: this host takes requests from uid %u, root, or whom "
	         "its policy admits", (unsigned)cred.uid, (unsigned)geteuid());
	answer_error(a, -EACCES, msg);
	return false;
}

/* One message: its bytes in buf (NUL after them), a descriptor if any. */
static ssize_t receive_request(int conn, char *buf, int *fd)
{
	union {
		struct cmsghdr align;
		char space[CMSG_SPACE(4 * sizeof(int))];
	} control;
	struct iovec iov = { buf, REQUEST_MAX };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space,
	                      .msg_controllen = sizeof control.space };
	ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
	*fd = -1;
	for (struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
			if (*fd < 0)
				*fd = got;
			else
				close(got);   /* one object per request */
		}
	}
	if (n > 0 && (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return -EMSGSIZE;
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* A client's connection: admitted or refused at accept, dropped when it
 * sends nothing for REQUEST_TIMEOUT_S. */
struct connection {
	int fd;                       /* -1: a free slot */
	bool admitted;
	char refusal[256];            /* a refused peer's answer, sent when it asks */
	uint64_t deadline_ns;
};

static void connection_close(struct connection *c)
{
	close(c->fd);
	c->fd = -1;
}

/* A new client into the free slot c, its peer checked at once. */
static void connection_accept(bpfvm_hook_host *host, struct connection *c, struct answer *a)
{
	c->fd = accept4(host->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (c->fd < 0)
		return;
	a->len = 0;
	c->admitted = peer_admitted(host, c->fd, a);
	snprintf(c->refusal, sizeof c->refusal, "%.*s", (int)a->len, a->text);
	c->deadline_ns = now_ns() + (uint64_t)REQUEST_TIMEOUT_S * 1000000000u;
}

/* The client's next request, which poll found waiting, served whole (under
 * host->lock: atomic with respect to every other request) and answered;
 * false when the connection is done (hang-up, refusal, a failed send). */
static bool connection_serve(bpfvm_hook_host *host, struct connection *c, char *buf, struct answer *a)
{
	struct request rq = { .object_fd = -1 };
	struct host_link *send_maps = NULL;
	ssize_t n = receive_request(c->fd, buf, &rq.object_fd);
	if (n == 0 || n == -1 || !c->admitted) {
		/* a refused peer reads why (closing over its unread request
		 * would reset the connection first) */
		if (n > 0 && !c->admitted)
			send(c->fd, c->refusal, strlen(c->refusal), MSG_NOSIGNAL);
		if (rq.object_fd >= 0)
			close(rq.object_fd);
		return false;
	}
	if (n < 0)
		answer_error(a, -EMSGSIZE, "request too large: send the object as a descriptor");
	else {
		parse_request(buf, (size_t)n, &rq);
		serve_request(host, &rq, a, &send_maps);
	}
	if (rq.object_fd >= 0)
		close(rq.object_fd);
	if (send(c->fd, a->text, a->len, MSG_NOSIGNAL) < 0)
		return false;
	/* only this thread detaches or replaces links: send_maps is alive */
	bpfvm_map *maps[MAX_SENT_MAPS];
	size_t map_count = send_maps ? sendable_maps(send_maps, maps, MAX_SENT_MAPS) : 0;
	for (size_t i = 0; i < map_count; i++)
		if (bpfvm_map_send(c->fd, maps[i], NULL))
			return false;
	c->deadline_ns = now_ns() + (uint64_t)REQUEST_TIMEOUT_S * 1000000000u;
	return true;
}

/* poll's set: the listening socket while a slot is free, the stop pipe,
 * the clients; returns the wait until the first client's deadline. */
static int poll_set(const bpfvm_hook_host *host, const struct connection *conns, struct pollfd *p)
{
	bool room = false;
	uint64_t now = now_ns(), first = UINT64_MAX;
	for (size_t i = 0; i < MAX_CONNECTIONS; i++) {
		p[2 + i] = (struct pollfd){ .fd = conns[i].fd, .events = POLLIN };
		room |= conns[i].fd < 0;
		if (conns[i].fd >= 0 && conns[i].deadline_ns < first)
			first = conns[i].deadline_ns;
	}
	p[0] = (struct pollfd){ .fd = room ? host->listen_fd : -1, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = host->stop_pipe[0], .events = POLLIN };
	if (first == UINT64_MAX)
		return -1;
	return first <= now ? 0 : (int)((first - now) / 1000000u + 1);
}

static void *server_main(void *arg)
{
	bpfvm_hook_host *host = arg;
	char *buf = malloc(REQUEST_MAX + 1);
	struct answer *a = malloc(sizeof *a);
	struct connection conns[MAX_CONNECTIONS];
	for (size_t i = 0; i < MAX_CONNECTIONS; i++)
		conns[i].fd = -1;
	while (buf && a) {
		struct pollfd p[2 + MAX_CONNECTIONS];
		int rc = poll(p, 2 + MAX_CONNECTIONS, poll_set(host, conns, p));
		if (rc < 0 && errno != EINTR)
			break;
		if (rc > 0 && p[1].revents)
			break;
		uint64_t now = now_ns();
		for (size_t i = 0; i < MAX_CONNECTIONS; i++) {
			if (conns[i].fd < 0)
				continue;
			bool asked = rc > 0 && p[2 + i].revents;
			if (asked ? !connection_serve(host, &conns[i], buf, a) : now >= conns[i].deadline_ns)
				connection_close(&conns[i]);
		}
		for (size_t i = 0; rc > 0 && (p[0].revents & POLLIN) && i < MAX_CONNECTIONS; i++)
			if (conns[i].fd < 0) {
				connection_accept(host, &conns[i], a);
				break;
			}
	}
	for (size_t i = 0; i < MAX_CONNECTIONS; i++)
		if (conns[i].fd >= 0)
			connection_close(&conns[i]);
	free(a);
	free(buf);
	return NULL;
}

/* ---- the host ---------------------------------------------------------- */

int bpfvm_hook_host_new(const bpfvm_hook_host_opts *opts, bpfvm_hook_host **out, bpfvm_error *err)
{
	bpfvm_hook_host_opts o;
	int rc = opts_known(bpfvm_hook_host_opts, opts, &o, err);
	if (rc)
		return rc;
	if (!out)
		return error_set(err, -EINVAL, -1, "bpfvm_hook_host_new: null argument");
	*out = NULL;
	bpfvm_hook_host *host = calloc(1, sizeof *host);
	if (!host)
		return error_set(err, -ENOMEM, -1, "bpfvm_hook_host_new: out of memory");
	host->listen_fd = host->stop_pipe[0] = host->stop_pipe[1] = -1;
	host->policy = o.policy;
	host->policy_user = o.policy_user;
	host->jit = o.jit;
	snprintf(host->pin_dir, sizeof host->pin_dir, "%s", o.pin_dir ? o.pin_dir : "");
	pthread_mutex_init(&host->lock, NULL);
	if (o.path && strlen(o.path) >= sizeof host->path)
		rc = error_set(err, -ENAMETOOLONG, -1, "hook host: socket path too long: %s", o.path);
	else if (o.path)
		snprintf(host->path, sizeof host->path, "%s", o.path);
	else
		rc = default_path(host->path, sizeof host->path, err);
	if (!rc)
		rc = bind_socket(host, err);
	if (!rc && pipe2(host->stop_pipe, O_CLOEXEC))
		rc = error_set(err, -errno, -1, "hook host: pipe: %s", strerror(errno));
	if (!rc && (rc = -pthread_create(&host->thread, NULL, server_main, host)))
		error_set(err, rc, -1, "hook host: cannot start its thread: %s", strerror(-rc));
	if (rc) {
		if (host->listen_fd >= 0) {
			close(host->listen_fd);
			unlink(host->path);
		}
		if (host->stop_pipe[0] >= 0) {
			close(host->stop_pipe[0]);
			close(host->stop_pipe[1]);
		}
		pthread_mutex_destroy(&host->lock);
		free(host);
		return rc;
	}
	*out = host;
	return 0;
}

int bpfvm_hook_host_add(bpfvm_hook_host *host, bpfvm_hook *hook, const char *btf_path, bpfvm_error *err)
{
	if (!host || !hook)
		return error_set(err, -EINVAL, -1, "bpfvm_hook_host_add: null argument");
	struct hook_ctx_info ci;
	hook_ctx_info(hook, &ci);
	if (ci.kind == BPFVM_HOOK_CTX_BTF && !btf_path)
		return error_set(err, -EINVAL, -1, "bpfvm_hook_host_add: hook %s has a BTF context: name the file its "
		                 "BTF came from (btf_path)", bpfvm_hook_name(hook));
	pthread_mutex_lock(&host->lock);
	int rc = 0;
	if (find_hook(host, bpfvm_hook_name(hook)))
		rc = error_set(err, -EEXIST, -1, "bpfvm_hook_host_add: a hook named %s is exposed already",
		               bpfvm_hook_name(hook));
	else if (host->hook_count == MAX_HOOKS)
		rc = error_set(err, -ENOSPC, -1, "bpfvm_hook_host_add: at most %d hooks", MAX_HOOKS);
	char *path = !rc && btf_path ? strdup(btf_path) : NULL;
	if (!rc && btf_path && !path)
		rc = error_set(err, -ENOMEM, -1, "bpfvm_hook_host_add: out of memory");
	if (!rc)
		host->hooks[host->hook_count++] = (struct host_hook){ .hook = hook, .btf_path = path };
	pthread_mutex_unlock(&host->lock);
	return rc;
}

const char *bpfvm_hook_host_path(const bpfvm_hook_host *host)
{
	return host->path;
}

void bpfvm_hook_host_free(bpfvm_hook_host *host)
{
	if (!host)
		return;
	ssize_t ignored = write(host->stop_pipe[1], "x", 1);
	(void)ignored;
	pthread_join(host->thread, NULL);
	for (size_t i = 0; i < host->link_count; i++) {
		bpfvm_hook_detach(host->links[i]->hook->hook, host->links[i]->id, NULL);
		link_free(host->links[i]);
	}
	for (size_t i = 0; i < host->hook_count; i++)
		free(host->hooks[i].btf_path);
	close(host->listen_fd);
	close(host->stop_pipe[0]);
	close(host->stop_pipe[1]);
	unlink(host->path);
	pthread_mutex_destroy(&host->lock);
	free(host);
}
