/*
 * kv_server.c - an example host: a small TCP key-value server whose every
 * request passes a hook, "kv_request", that an operator loads filters into
 * while it serves (`bpfvm hook attach|replace|detach --socket PATH`).
 *
 *   kv_server [--port N] [--workers N] [--socket PATH] [--pin-dir DIR] [--jit] [--btf]
 *
 * The hook's context is the request as raw memory (struct kv_request,
 * filters in SEC("bpfvm")), or with --btf the arguments of the function
 * kv_request_check, typed by the server's own BTF (it is built with
 * gcc -gbtf; filters in SEC("fmod_ret/kv_request_check") read the struct
 * through its pointer, as kv_btf_filter.c does).
 *
 * The protocol is one line a request, one line an answer:
 *   "CLIENT GET KEY" | "CLIENT SET KEY VALUE" | "CLIENT DEL KEY"
 *   -> "V OK [VALUE]" | "V NOTFOUND" | "D DENIED" | "- ERROR why"
 * where V says what the hook decided: F a filter passed it, D a filter
 * dropped it, U no filter was attached.  (A real server would not say; this
 * one does so that a client can count exactly how many of its requests a
 * filter saw, whatever was attached, replaced or detached meanwhile.)
 *
 * Workers (default 2) share one epoll set of connections, each armed
 * one-shot, so a connection is served by one worker at a time and its
 * requests keep their order; the hook runs on every worker at once.
 * SIGINT or SIGTERM ends it, detaching whatever was attached.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpfvm/hook.h>
#include <bpfvm/hook_host.h>

#include "kv_request.h"

#define MAX_WORKERS 16
#define LINE_MAX_BYTES 512
#define BUCKETS 4096

/* ---- the store: one table under one lock ---------------------------------- */

struct entry {
	struct entry *next;
	char *key, *value;
};

static struct entry *table[BUCKETS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

static struct entry **slot_of(const char *key)
{
	unsigned h = 2166136261u;
	for (const char *c = key; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	struct entry **e = &table[h % BUCKETS];
	while (*e && strcmp((*e)->key, key))
		e = &(*e)->next;
	return e;
}

/* GET into out (cap bytes): whether found. */
static bool store_get(const char *key, char *out, size_t cap)
{
	pthread_mutex_lock(&table_lock);
	struct entry *e = *slot_of(key);
	if (e)
		snprintf(out, cap, "%s", e->value);
	pthread_mutex_unlock(&table_lock);
	return e;
}

static bool store_set(const char *key, const char *value)
{
	char *v = strdup(value);
	if (!v)
		return false;
	pthread_mutex_lock(&table_lock);
	struct entry **slot = slot_of(key);
	struct entry *e = *slot;
	if (!e && (e = calloc(1, sizeof *e)) && !(e->key = strdup(key))) {
		free(e);
		e = NULL;
	}
	if (e) {
		free(e->value);
		e->value = v;
		*slot = e;
	}
	pthread_mutex_unlock(&table_lock);
	if (!e)
		free(v);
	return e;
}

static bool store_del(const char *key)
{
	pthread_mutex_lock(&table_lock);
	struct entry **slot = slot_of(key);
	struct entry *e = *slot;
	if (e)
		*slot = e->next;
	pthread_mutex_unlock(&table_lock);
	if (e) {
		free(e->key);
		free(e->value);
		free(e);
	}
	return e;
}

/* ---- requests ------------------------------------------------------------- */

static bpfvm_hook *request_hook;
static bool btf_context;   /* --btf */

/* Why the last kv_request_check on this thread failed. */
static __thread bpfvm_error check_error;

/* Every request passes here: the hook's verdict (KV_PASS, KV_DROP or
 * KV_NO_FILTER), or -1 if a filter failed (check_error says why).  With
 * --btf its type, in the server's own BTF, is the hook's context: its
 * argument as a u64, then the u64 an fmod_ret program reads as the return
 * value.  Not static, not inlined: so gcc describes it (a FUNC in .BTF). */
int kv_request_check(struct kv_request *req);
__attribute__((noinline)) int kv_request_check(struct kv_request *req)
{
	uint64_t args[2] = { (uint64_t)(uintptr_t)req, 0 }, verdict;
	if (bpfvm_hook_run(request_hook, btf_context ? (void *)args : (void *)req, &verdict, &check_error))
		return -1;
	return (int)verdict;
}

struct parsed {
	struct kv_request req;
	char *key, *value;
};

static bool parse_line(char *line, struct parsed *p)
{
	char *save;
	char *id = strtok_r(line, " ", &save), *op = strtok_r(NULL, " ", &save);
	p->key = strtok_r(NULL, " ", &save);
	p->value = strtok_r(NULL, "", &save);
	if (!id || !op || !p->key)
		return false;
	memset(&p->req, 0, sizeof p->req);
	p->req.client_id = (unsigned)strtoul(id, NULL, 10);
	p->req.op = !strcmp(op, "GET") ? KV_GET : !strcmp(op, "SET") ? KV_SET : !strcmp(op, "DEL") ? KV_DEL : 0;
	p->req.key_len = (unsigned)strlen(p->key);
	p->req.value_len = p->value ? (unsigned)strlen(p->value) : 0;
	memcpy(p->req.key, p->key, p->req.key_len < sizeof p->req.key ? p->req.key_len : sizeof p->req.key);
	return p->req.op && (p->req.op == KV_SET) == (p->value != NULL);
}

/* Answers one request line into out. */
static void serve_line(char *line, char *out, size_t cap)
{
	struct parsed p;
	if (!parse_line(line, &p)) {
		snprintf(out, cap, "- ERROR want: CLIENT GET|SET|DEL KEY [VALUE]\n");
		return;
	}
	int verdict = kv_request_check(&p.req);
	if (verdict < 0) {
		snprintf(out, cap, "- ERROR filter failed: %.200s\n", check_error.msg);
		return;
	}
	char v = verdict == KV_NO_FILTER ? 'U' : verdict == KV_PASS ? 'F' : 'D';
	if (v == 'D') {
		snprintf(out, cap, "D DENIED\n");
		return;
	}
	char value[LINE_MAX_BYTES];
	bool ok = p.req.op == KV_GET ? store_get(p.key, value, sizeof value) :
	          p.req.op == KV_SET ? store_set(p.key, p.value) : store_del(p.key);
	snprintf(out, cap, "%c %s%s%s\n", v, ok ? "OK" : "NOTFOUND", ok && p.req.op == KV_GET ? " " : "",
	         ok && p.req.op == KV_GET ? value : "");
}

/* ---- connections and workers ------------------------------------------------ */

struct conn {
	int fd;
	size_t len;
	char buf[LINE_MAX_BYTES];
};

static int epoll_fd;

static bool send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Reads what arrived and answers every whole line: false when the client is gone. */
static bool serve_conn(struct conn *c)
{
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0)
		return false;
	c->len += (size_t)n;
	char *start = c->buf, *nl;
	while ((nl = memchr(start, '\n', c->len - (size_t)(start - c->buf)))) {
		*nl = '\0';
		char answer[LINE_MAX_BYTES + 64];
		serve_line(start, answer, sizeof answer);
		if (!send_all(c->fd, answer, strlen(answer)))
			return false;
		start = nl + 1;
	}
	c->len -= (size_t)(start - c->buf);
	memmove(c->buf, start, c->len);
	return c->len < sizeof c->buf;   /* a line longer than the buffer: hang up */
}

static void *worker_main(void *arg)
{
	(void)arg;
	bpfvm_error err;
	if (bpfvm_hook_thread_prepare(&err))
		fprintf(stderr, "kv_server: %s\n", err.msg);
	for (;;) {
		struct epoll_event ev;
		int n = epoll_wait(epoll_fd, &ev, 1, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || !ev.data.ptr)
			return NULL;   /* the stop event */
		struct conn *c = ev.data.ptr;
		if (serve_conn(c)) {
			ev.events = EPOLLIN | EPOLLONESHOT;
			if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
				continue;
		}
		close(c->fd);
		free(c);
	}
}

static void add_conn(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct conn *c = calloc(1, sizeof *c);
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;   /* before a worker can see it */
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = c };
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		free(c);
	}
}

/* ---- start-up ------------------------------------------------------------------ */

struct options {
	int port, workers;
	const char *socket, *pin_dir;
	bool jit, btf;
};

static int parse_options(int argc, char **argv, struct options *o)
{
	*o = (struct options){ .workers = 2 };
	for (int i = 1; i < argc; i++) {
		bool has_value = i + 1 < argc;
		if (!strcmp(argv[i], "--port") && has_value)
			o->port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--workers") && has_value)
			o->workers = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--socket") && has_value)
			o->socket = argv[++i];
		else if (!strcmp(argv[i], "--pin-dir") && has_value)
			o->pin_dir = argv[++i];
		else if (!strcmp(argv[i], "--jit"))
			o->jit = true;
		else if (!strcmp(argv[i], "--btf"))
			o->btf = true;
		else {
			fprintf(stderr, "usage: kv_server [--port N] [--workers N] [--socket PATH] [--pin-dir DIR] [--jit] "
			        "[--btf]\n");
			return 1;
		}
	}
	if (o->workers < 1 || o->workers > MAX_WORKERS) {
		fprintf(stderr, "kv_server: --workers 1..%d\n", MAX_WORKERS);
		return 1;
	}
	return 0;
}

static int listen_tcp(int port, int *bound_port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len)) {
		perror("kv_server: listen");
		return -1;
	}
	*bound_port = ntohs(sa.sin_port);
	return fd;
}

/* The hook every request passes, exposed on the host's socket; with
 * --btf typed by kv_request_check in the server's own BTF (*btf: freed
 * after the hook). */
static int make_hook(const struct options *o, bpfvm_hook_host **host, struct btf **btf)
{
	bpfvm_error err;
	BPFVM_OPTS(bpfvm_hook_opts, ho, .name = "kv_request", .ctx_kind = BPFVM_HOOK_CTX_MEM,
	           .ctx_size = sizeof(struct kv_request), .empty_result = KV_NO_FILTER);
	const char *btf_path = o->btf ? "/proc/self/exe" : NULL;
	if (o->btf) {
		*btf = btf__parse(btf_path, NULL);
		int func = *btf ? btf__find_by_name_kind(*btf, "kv_request_check", BTF_KIND_FUNC) : -1;
		if (func < 0) {
			fprintf(stderr, "kv_server: no kv_request_check in its own BTF (built without gcc -gbtf?)\n");
			return 1;
		}
		ho.ctx_kind = BPFVM_HOOK_CTX_BTF;
		ho.btf = *btf;
		ho.btf_id = (uint32_t)func;
		btf_context = true;
	}
	BPFVM_OPTS(bpfvm_hook_host_opts, hh, .path = o->socket, .jit = o->jit, .pin_dir = o->pin_dir);
	if (bpfvm_hook_new(&ho, &request_hook, &err) || bpfvm_hook_host_new(&hh, host, &err) ||
	    bpfvm_hook_host_add(*host, request_hook, btf_path, &err)) {
		fprintf(stderr, "kv_server: %s\n", err.msg);
		return 1;
	}
	return 0;
}

/* Accepts connections until SIGINT or SIGTERM. */
static void accept_until_signal(int listen_fd)
{
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	int sig_fd = signalfd(-1, &stop, SFD_CLOEXEC);
	for (;;) {
		struct pollfd p[2] = { { .fd = listen_fd, .events = POLLIN }, { .fd = sig_fd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		int fd = (p[0].revents & POLLIN) ? accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC) : -1;
		if (fd >= 0)
			add_conn(fd);
	}
	close(sig_fd);
}

int main(int argc, char **argv)
{
	struct options o;
	if (parse_options(argc, argv, &o))
		return 2;
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);   /* every thread: the signalfd takes them */
	int port;
	int listen_fd = listen_tcp(o.port, &port);
	bpfvm_hook_host *host = NULL;
	struct btf *btf = NULL;
	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	int stop_fd = eventfd(0, EFD_CLOEXEC);
	if (listen_fd < 0 || epoll_fd < 0 || stop_fd < 0 || make_hook(&o, &host, &btf))
		return 1;
	pthread_t workers[MAX_WORKERS];
	for (int i = 0; i < o.workers; i++)
		pthread_create(&workers[i], NULL, worker_main, NULL);
	printf("kv_server: port %d workers %d hooks %s\n", port, o.workers, bpfvm_hook_host_path(host));
	fflush(stdout);
	accept_until_signal(listen_fd);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(epoll_fd, EPOLL_CTL_ADD, stop_fd, &ev);
	eventfd_write(stop_fd, 1);
	for (int i = 0; i < o.workers; i++)
		pthread_join(workers[i], NULL);
	bpfvm_hook_host_free(host);
	bpfvm_hook_free(request_hook);
	btf__free(btf);
	return 0;
}
