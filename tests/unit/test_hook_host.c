/*
 * test_hook_host.c - a host's hooks on a Unix socket (<bpfvm/hook_host.h>),
 * spoken to as `bpfvm hook` does: listing a memory hook and a BTF hook
 * whose type comes from a host's gcc -gbtf object; attaching objects sent
 * as a descriptor and inline; the verifier's refusal in the answer;
 * replace and detach; links only the socket made; the peer check (another
 * user refused, then admitted by the host's policy: as root only); two
 * clients holding connections whose requests interleave, and more
 * clients than the host serves at once; a stale socket replaced and a
 * live one not taken over.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "bpfvm/hook.h"
#include "bpfvm/hook_host.h"
#include "bpfvm/maps.h"
#include "support/check.h"
#include "../../examples/kv_server/kv_request.h"

static char sock_path[108];
static const char *kv_filter_obj = BPFVM_EXAMPLES_DIR "/kv_server/kv_filter.bpf.o";
static const char *btf_filter_obj = BPFVM_HOOK_OBJECTS_DIR "/btf_filter.bpf.o";
static const char *bad_filter_obj = BPFVM_HOOK_OBJECTS_DIR "/kv_bad_filter.bpf.o";
static const char *host_types = BPFVM_HOOK_OBJECTS_DIR "/kv_types.o";

static int connect_host(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
	int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof sa)) {
		int e = errno;
		if (sock >= 0)
			close(sock);
		return -e;
	}
	return sock;
}

/* One request on a connection (with the descriptor if fd >= 0) and its
 * answer, which must come within 5 s (-ETIMEDOUT). */
static int exchange(int sock, const char *request, size_t len, int fd, char *answer, size_t cap)
{
	union {
		struct cmsghdr align;
		char space[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { (void *)request, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		msg.msg_control = control.space;
		msg.msg_controllen = sizeof control.space;
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		*c = (struct cmsghdr){ .cmsg_len = CMSG_LEN(sizeof(int)), .cmsg_level = SOL_SOCKET,
		                       .cmsg_type = SCM_RIGHTS };
		memcpy(CMSG_DATA(c), &fd, sizeof fd);
	}
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		return -errno;
	struct pollfd p = { .fd = sock, .events = POLLIN };
	if (poll(&p, 1, 5000) != 1)
		return -ETIMEDOUT;
	ssize_t n = recv(sock, answer, cap - 1, 0);
	if (n < 0)
		return -errno;
	answer[n] = '\0';
	return 0;
}

/* One request (with the descriptor if fd >= 0) on a connection of its own. */
static int ask(const char *request, size_t len, int fd, char *answer, size_t cap)
{
	int sock = connect_host();
	if (sock < 0)
		return sock;
	int rc = exchange(sock, request, len, fd, answer, cap);
	close(sock);
	return rc;
}

static int ask_text(const char *request, char *answer, size_t cap)
{
	return ask(request, strlen(request), -1, answer, cap);
}

/* attach or replace with the object at path sent as a descriptor. */
static int ask_with_object(const char *request, const char *path, char *answer, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = ask(request, strlen(request), fd, answer, cap);
	close(fd);
	return rc;
}

static unsigned long long field(const char *answer, const char *key)
{
	const char *p = strstr(answer, key);
	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

static uint64_t read_counter(const char *name, uint32_t key)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", bpfvm_map_pin_dir(), name);
	bpfvm_map *map;
	bpfvm_error err;
	uint64_t value = 0;
	if (bpfvm_map_open_pinned(path, &map, &err) == 0) {
		bpfvm_map_lookup(map, &key, &value, 0, &err);
		bpfvm_map_put(map);
	}
	return value;
}

static uint64_t run_mem(bpfvm_hook *hook, unsigned client, const char *key)
{
	struct kv_request req = { .client_id = client, .op = KV_GET, .key_len = (unsigned)strlen(key) };
	memcpy(req.key, key, strlen(key));
	uint64_t result = 99;
	bpfvm_error err;
	bpfvm_hook_run(hook, &req, &result, &err);
	return result;
}

static uint64_t run_btf(bpfvm_hook *hook, unsigned client)
{
	struct { unsigned client, op; } req = { client, 1 };
	uint64_t args[2] = { (uint64_t)(uintptr_t)&req, 0 }, result = 99;
	bpfvm_error err;
	bpfvm_hook_run(hook, args, &result, &err);
	return result;
}

static void test_list(void)
{
	char answer[4096];
	CHECK_RC(ask_text("op=list\n", answer, sizeof answer), 0, "list");
	CHECK(!strncmp(answer, "ok\nhook name=kv_request ctx=mem size=48\n", 40), "list: %s", answer);
	CHECK(strstr(answer, "hook name=kv_check ctx=btf type=kv_check btf_id="), "list the BTF hook: %s", answer);
	CHECK_RC(ask_text("op=frob\n", answer, sizeof answer), 0, "unknown op");
	CHECK(strstr(answer, "error=-22\nmessage=unknown op"), "unknown op: %s", answer);
}

/* Requests that cannot be served are answered with why, and the host goes on. */
static void test_malformed(void)
{
	char answer[4096];
	CHECK_RC(ask_text("hook=kv_request\n", answer, sizeof answer), 0, "no op");
	CHECK(strstr(answer, "error=-22\nmessage=no op= line"), "no op: %s", answer);
	CHECK_RC(ask_text("op=attach\nhook=nope\n", answer, sizeof answer), 0, "no such hook");
	CHECK(strstr(answer, "error=-2\nmessage=no such hook"), "no such hook: %s", answer);
	CHECK_RC(ask_text("op=attach\nhook=kv_request\n", answer, sizeof answer), 0, "no object");
	CHECK(strstr(answer, "message=no object"), "no object: %s", answer);
	static const char garbage[] = "op=attach\nhook=kv_request\n\nthis is not an ELF file";
	CHECK_RC(ask(garbage, sizeof garbage - 1, -1, answer, sizeof answer), 0, "garbage");
	CHECK(!strncmp(answer, "error=", 6), "a garbage object refused: %s", answer);
	CHECK_RC(ask_with_object("op=attach\nhook=kv_request\nprog=nope\n", kv_filter_obj, answer, sizeof answer), 0,
	         "no such prog");
	CHECK(strstr(answer, "message=the object has no program nope"), "no such program: %s", answer);
	int dir_fd = open("/tmp", O_RDONLY | O_DIRECTORY);
	static const char attach[] = "op=attach\nhook=kv_request\n";
	CHECK_RC(ask(attach, sizeof attach - 1, dir_fd, answer, sizeof answer), 0, "a directory");
	close(dir_fd);
	CHECK(strstr(answer, "not a regular file"), "a directory as the object: %s", answer);
	CHECK_RC(ask_text("op=detach\nlink=12x\n", answer, sizeof answer), 0, "bad link");
	CHECK(strstr(answer, "error=-2\n"), "a link that is not a number: %s", answer);
}

/* The memory hook: a refusal, then attach (inline), replace and detach. */
static void test_mem_hook(bpfvm_hook *hook)
{
	char answer[4096];
	CHECK_RC(ask_with_object("op=attach\nhook=kv_request\n", bad_filter_obj, answer, sizeof answer), 0, "bad");
	CHECK(strstr(answer, "error=-13\nmessage=hook kv_request: program refused by the verifier: "),
	      "the verifier's refusal: %s", answer);
	CHECK_RC(ask_with_object("op=attach\nhook=kv_request\n", btf_filter_obj, answer, sizeof answer), 0, "btf");
	CHECK(strstr(answer, "takes raw memory programs; btf_filter is a tracing program"), "wrong type: %s", answer);
	CHECK(run_mem(hook, 5, "k") == KV_NO_FILTER, "nothing attached after refusals");

	int fd = open(kv_filter_obj, O_RDONLY);
	struct stat st;
	fstat(fd, &st);
	char *request = malloc(64 + (size_t)st.st_size);
	int n = snprintf(request, 64, "op=attach\nhook=kv_request\nname=kv_filter\n\n");
	CHECK(read(fd, request + n, (size_t)st.st_size) == st.st_size, "read the object");
	close(fd);
	CHECK_RC(ask(request, (size_t)n + (size_t)st.st_size, -1, answer, sizeof answer), 0, "attach inline");
	free(request);
	unsigned long long link = field(answer, "link=");
	CHECK(!strncmp(answer, "ok\nlink=", 8) && link && strstr(answer, "prog=kv_filter\nload_ns="),
	      "attach inline: %s", answer);
	uint64_t before = read_counter("kv_requests", 5);
	CHECK(run_mem(hook, 5, "k") == KV_PASS && run_mem(hook, 5, "secret") == KV_DROP, "the filter runs");
	CHECK(read_counter("kv_requests", 5) == before + 2, "it counts into its pinned map");
	CHECK_RC(ask_text("op=list\n", answer, sizeof answer), 0, "list");
	CHECK(strstr(answer, "prog=kv_filter object=kv_filter origin=socket\nmap link=") &&
	      strstr(answer, "name=kv_requests pinned="), "list shows the link and its pins: %s", answer);

	char text[128];
	snprintf(text, sizeof text, "op=replace\nlink=%llu\nprog=kv_filter\n", link);
	uint64_t v2 = read_counter("kv_versions", 2);
	CHECK_RC(ask_with_object(text, BPFVM_EXAMPLES_DIR "/kv_server/kv_filter_v2.bpf.o", answer, sizeof answer), 0,
	         "replace");
	CHECK(field(answer, "link=") == link, "replace keeps the link: %s", answer);
	CHECK(run_mem(hook, 5, "k") == KV_PASS && read_counter("kv_versions", 2) == v2 + 1, "version 2 runs");
	CHECK(read_counter("kv_requests", 5) == before + 3, "and counts on in the same map");
	snprintf(text, sizeof text, "op=replace\nlink=%llu\n", link + 1000);
	CHECK_RC(ask_with_object(text, kv_filter_obj, answer, sizeof answer), 0, "replace no link");
	CHECK(strstr(answer, "error=-2\n"), "replace of no link: %s", answer);
	snprintf(text, sizeof text, "op=detach\nlink=%llu\n", link);
	CHECK_RC(ask_text(text, answer, sizeof answer), 0, "detach");
	CHECK(!strncmp(answer, "ok\nlink=", 8), "detach: %s", answer);
	CHECK(run_mem(hook, 5, "k") == KV_NO_FILTER, "detached");
}

/* A link the host made itself is listed but not the socket's to detach. */
static void test_host_link(bpfvm_hook *hook)
{
	static const bpfvm_insn ret1[] = { { .opcode = 0xb7, .imm = 1 }, { .opcode = 0x95 } };
	bpfvm_program *prog;
	bpfvm_error err;
	uint64_t link = 0;
	CHECK(bpfvm_program_load(ret1, 2, NULL, &prog, &err) == 0 && bpfvm_hook_attach(hook, prog, &link, &err) == 0,
	      "the host attaches a program: %s", err.msg);
	char answer[4096], text[64];
	CHECK_RC(ask_text("op=list\n", answer, sizeof answer), 0, "list");
	CHECK(strstr(answer, "origin=host"), "the host's link listed: %s", answer);
	snprintf(text, sizeof text, "op=detach\nlink=%llu\n", (unsigned long long)link);
	CHECK_RC(ask_text(text, answer, sizeof answer), 0, "detach the host's link");
	CHECK(strstr(answer, "error=-2\n"), "not the socket's: %s", answer);
	bpfvm_hook_detach(hook, link, &err);
	bpfvm_program_free(prog);
}

/* The BTF hook: the program's attach target and context are the host's types. */
static void test_btf_hook(bpfvm_hook *hook)
{
	char answer[4096];
	uint64_t calls = read_counter("btf_filter_calls", 0);
	CHECK_RC(ask_with_object("op=attach\nhook=kv_check\n", btf_filter_obj, answer, sizeof answer), 0, "attach");
	CHECK(!strncmp(answer, "ok\nlink=", 8), "attach to the BTF hook: %s", answer);
	CHECK(run_btf(hook, 3) == 0 && run_btf(hook, 7) == 1, "it reads the struct the host passes");
	CHECK(read_counter("btf_filter_calls", 0) == calls + 2, "and counts");
	CHECK_RC(ask_with_object("op=attach\nhook=kv_check\n", kv_filter_obj, answer, sizeof answer), 0, "raw");
	CHECK(strstr(answer, "takes tracing programs"), "a raw program refused: %s", answer);
}

/* Two clients, each holding its connection, take turns: each is answered
 * while the other waits on its own; one attaches, the other sees and
 * detaches the link.  Then clients beyond the 16 served at once wait to
 * be accepted until one of those leaves. */
static void test_interleaved(bpfvm_hook *hook)
{
	int first = connect_host(), second = connect_host();
	char answer[4096], text[64];
	CHECK(first >= 0 && second >= 0, "two connections");
	int rc = exchange(second, "op=list\n", 8, -1, answer, sizeof answer);
	if (!CHECK(rc == 0, "the second client answered while the first holds its connection: %d", rc)) {
		close(first);   /* (a host serving one at a time would block the connects below) */
		close(second);
		return;
	}
	int fd = open(kv_filter_obj, O_RDONLY | O_CLOEXEC);
	const char *attach = "op=attach\nhook=kv_request\n";
	CHECK_RC(exchange(first, attach, strlen(attach), fd, answer, sizeof answer), 0, "the first attaches");
	close(fd);
	unsigned long long link = field(answer, "link=");
	CHECK(!strncmp(answer, "ok\nlink=", 8) && link, "attach: %s", answer);
	CHECK_RC(exchange(second, "op=list\n", 8, -1, answer, sizeof answer), 0, "the second lists");
	snprintf(text, sizeof text, "link id=%llu hook=kv_request prog=kv_filter", link);
	CHECK(strstr(answer, text), "the second sees the first's link: %s", answer);
	snprintf(text, sizeof text, "op=detach\nlink=%llu\n", link);
	CHECK_RC(exchange(second, text, strlen(text), -1, answer, sizeof answer), 0, "the second detaches it");
	CHECK(!strncmp(answer, "ok\nlink=", 8) && run_mem(hook, 5, "k") == KV_NO_FILTER, "detached: %s", answer);
	CHECK_RC(exchange(first, "op=list\n", 8, -1, answer, sizeof answer), 0, "the first again");
	CHECK(!strstr(answer, "prog=kv_filter"), "the first sees it gone: %s", answer);

	int more[16];
	for (int i = 0; i < 16; i++)
		more[i] = connect_host();   /* 14 served (16 with the two), 2 in the backlog */
	CHECK_RC(exchange(more[13], "op=list\n", 8, -1, answer, sizeof answer), 0, "the 16th client served");
	struct pollfd p = { .fd = more[15], .events = POLLIN };
	CHECK(send(more[15], "op=list\n", 8, MSG_NOSIGNAL) == 8 && poll(&p, 1, 300) == 0,
	      "the 18th waits to be accepted");
	close(first);    /* the 17th accepted */
	close(second);   /* the 18th */
	CHECK(poll(&p, 1, 5000) == 1 && recv(more[15], answer, sizeof answer - 1, 0) > 0 && !strncmp(answer, "ok\n", 3),
	      "and is served when a client leaves");
	for (int i = 0; i < 16; i++)
		close(more[i]);
}

static bool admit_others;
static int policy_calls;

static bool policy(void *user, int32_t pid, uint32_t uid, uint32_t gid)
{
	(void)user, (void)pid, (void)gid;
	policy_calls++;
	return admit_others && uid == 65534;
}

/* A process of uid 65534 asks for the list: the answer's first line. */
static void ask_as_nobody(char *first_line, size_t cap)
{
	int pipe_fd[2];
	if (pipe(pipe_fd))
		return;
	pid_t pid = fork();
	if (pid == 0) {
		char answer[4096] = "";
		if (setgid(65534) || setuid(65534) || ask_text("op=list\n", answer, sizeof answer))
			snprintf(answer, sizeof answer, "could not ask: %s\n", strerror(errno));
		ssize_t w = write(pipe_fd[1], answer, strcspn(answer, "\n"));
		_exit(w < 0);
	}
	close(pipe_fd[1]);
	ssize_t n = read(pipe_fd[0], first_line, cap - 1);
	first_line[n > 0 ? n : 0] = '\0';
	close(pipe_fd[0]);
	waitpid(pid, NULL, 0);
}

static void test_peer_check(void)
{
	if (geteuid() != 0) {
		printf("peer check with another user skipped: not root\n");
		return;
	}
	chmod(sock_path, 0666);
	char line[256];
	ask_as_nobody(line, sizeof line);
	CHECK(!strcmp(line, "error=-13") && policy_calls == 1, "another user refused: %s", line);
	admit_others = true;
	ask_as_nobody(line, sizeof line);
	CHECK(!strcmp(line, "ok") && policy_calls == 2, "admitted by the policy: %s", line);
}

/* A socket nobody answers on is replaced; one a live host answers is not. */
static void test_stale_socket(const char *dir)
{
	char path[108];
	snprintf(path, sizeof path, "%s/stale.sock", dir);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "a dead host's socket");
	close(fd);
	bpfvm_hook_host *host, *second;
	bpfvm_error err;
	BPFVM_OPTS(bpfvm_hook_host_opts, o, .path = path);
	CHECK(bpfvm_hook_host_new(&o, &host, &err) == 0, "the stale socket replaced: %s", err.msg);
	CHECK(bpfvm_hook_host_new(&o, &second, &err) == -EADDRINUSE, "a live one kept: %s", err.msg);
	bpfvm_hook_host_free(host);
	CHECK(access(path, F_OK) != 0, "the socket removed at free");
}

int main(void)
{
	char dir[] = "/tmp/bpfvm-hook-host-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	chmod(dir, 0711);
	snprintf(sock_path, sizeof sock_path, "%s/hooks.sock", dir);
	bpfvm_error err;
	struct btf *types = btf__parse(host_types, NULL);
	int func = types ? btf__find_by_name_kind(types, "kv_check", BTF_KIND_FUNC) : -1;
	if (!CHECK(func > 0, "kv_check in %s", host_types))
		return check_summary();
	bpfvm_hook *mem_hook, *btf_hook;
	BPFVM_OPTS(bpfvm_hook_opts, mo, .name = "kv_request", .ctx_kind = BPFVM_HOOK_CTX_MEM,
	           .ctx_size = sizeof(struct kv_request), .empty_result = KV_NO_FILTER);
	BPFVM_OPTS(bpfvm_hook_opts, bo, .name = "kv_check", .ctx_kind = BPFVM_HOOK_CTX_BTF, .btf = types,
	           .btf_id = (uint32_t)func);
	bpfvm_hook_host *host;
	BPFVM_OPTS(bpfvm_hook_host_opts, ho, .path = sock_path, .policy = policy, .jit = true);
	if (!CHECK(bpfvm_hook_new(&mo, &mem_hook, &err) == 0 && bpfvm_hook_new(&bo, &btf_hook, &err) == 0 &&
	           bpfvm_hook_host_new(&ho, &host, &err) == 0, "hooks and host: %s", err.msg))
		return check_summary();
	CHECK(bpfvm_hook_host_add(host, btf_hook, NULL, &err) == -EINVAL, "a BTF hook needs its BTF's file");
	CHECK(bpfvm_hook_host_add(host, mem_hook, NULL, &err) == 0 &&
	      bpfvm_hook_host_add(host, btf_hook, host_types, &err) == 0, "add: %s", err.msg);
	CHECK(bpfvm_hook_host_add(host, mem_hook, NULL, &err) == -EEXIST, "a name once");
	test_list();
	test_malformed();
	test_mem_hook(mem_hook);
	test_host_link(mem_hook);
	test_btf_hook(btf_hook);
	test_interleaved(mem_hook);
	test_peer_check();
	bpfvm_hook_host_free(host);
	CHECK(run_btf(btf_hook, 7) == 0, "free detached the socket's links");
	CHECK(access(sock_path, F_OK) != 0, "and removed the socket");
	test_stale_socket(dir);
	bpfvm_hook_free(mem_hook);
	bpfvm_hook_free(btf_hook);
	btf__free(types);
	rmdir(dir);
	return check_summary();
}
