/*
 * agent.c - libbpfvm-agent.so, the part of `bpfvm trace` inside each
 * traced process: loaded at start by LD_PRELOAD (its constructor reads
 * BPFVM_AGENT_SOCKET and attaches before main runs) or into a running
 * process by inject_library(), which calls bpfvm_agent_start(socket).
 *
 * A session (agent_proto.h): connect, say hello, receive the object (a
 * memfd), the names of the programs to attach and every map's
 * descriptor; open the object, build an instance whose maps are the
 * received ones (so the tracer and every traced process share them),
 * verify and JIT its programs, attach them (agent_attach.c), report,
 * then wait on a thread of its own for DETACH or the socket's end.
 * Detached, the agent stays loaded but inert: no probe, no syscall
 * interception, no thread; the hooks it made stay allocated, empty.  A
 * later bpfvm_agent_start() (`bpfvm trace --pid` again: dlopen finds the
 * library loaded) starts a new session.
 *
 * Children: a fork()ed child has the probes and the shared maps already;
 * its first thread connects again (a hello marked forked) and waits for
 * DETACH, or, when the tracer said not to follow children, detaches at
 * once.  An exec()ed image inherits LD_PRELOAD and the socket's variable,
 * so its own agent connects; not following, the agent removes both from
 * the environment.
 *
 * Known limits: the program names sent are loaded in one instance, so
 * with several a program of the object the verifier refuses fails them
 * all (the tracer names it); the socket is the tracer's, in a directory
 * only its user may enter.  (Injected by dlopen, threads that ran before
 * are served from their first event, in a signal handler too: the
 * runtime's per-thread state is no thread-local data glibc would
 * allocate, but a block of its own: base/thread_block.h.)
 *
 * Owns: the session, the control thread, bpfvm_agent_start().
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bpfvm/instance.h"
#include "bpfvm/maps.h"
#include "bpfvm/object.h"
#include "hooks/agent.h"
#include "hooks/hook_internal.h"

static char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int session_fd = -1;
static bool session_attached;   /* this process's probes are in place */
static bool no_follow;
/* A session is on (from its start to its detach): another start is
 * refused until it ends; then `bpfvm trace --pid` may attach again. */
static atomic_bool session_running;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

__attribute__((visibility("default"))) int bpfvm_agent_start(const char *path);
static void report_at_exit_call(void);

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int connect_tracer(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof a.sun_path)
		return -ENAMETOOLONG;
	memcpy(a.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static int say_hello(int fd, bool forked)
{
	struct agent_hello h = { .type = AGENT_HELLO, .pid = getpid(), .ppid = getppid(), .forked = forked };
	ssize_t n = readlink("/proc/self/exe", h.exe, sizeof h.exe - 1);
	h.exe[n > 0 ? n : 0] = '\0';
	return send(fd, &h, sizeof h, MSG_NOSIGNAL) == sizeof h ? 0 : -EPIPE;
}

/* One message of `type` into buf (exactly len bytes), with a descriptor
 * passed along it into *passed_fd if that is not NULL. */
static int receive(int fd, uint32_t type, void *buf, size_t len, int *passed_fd)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (passed_fd) {
		m.msg_control = control;
		m.msg_controllen = sizeof control;
		*passed_fd = -1;
	}
	ssize_t n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
	struct cmsghdr *c = passed_fd ? CMSG_FIRSTHDR(&m) : NULL;
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(passed_fd, CMSG_DATA(c), sizeof(int));
	if (n < 0)
		return errno == EINTR ? -EPROTO : -errno;   /* EINTR: the caller reads again */
	if (n != (ssize_t)len || *(uint32_t *)buf != type)
		return n == 0 ? -ENOTCONN : -EPROTO;
	return 0;
}

struct setup {
	struct agent_setup head;
	int object_fd;
	char (*names)[AGENT_NAME_MAX];
	bpfvm_map **maps;
};

static void setup_free(struct setup *s)
{
	if (s->object_fd >= 0)
		close(s->object_fd);
	for (size_t i = 0; s->maps && i < s->head.map_count; i++)
		bpfvm_map_put(s->maps[i]);
	free(s->maps);
	free(s->names);
}

static int receive_setup(int fd, struct setup *s, char *why)
{
	int rc = receive(fd, AGENT_SETUP, &s->head, sizeof s->head, &s->object_fd);
	if (rc || s->object_fd < 0 || s->head.prog_count > 4096 || s->head.map_count > 4096)
		return snprintf(why, AGENT_TEXT_MAX, "bad set-up message"), rc ? rc : -EPROTO;
	s->names = calloc(s->head.prog_count + 1, sizeof *s->names);
	s->maps = calloc(s->head.map_count + 1, sizeof *s->maps);
	if (!s->names || !s->maps)
		return snprintf(why, AGENT_TEXT_MAX, "out of memory"), -ENOMEM;
	for (uint32_t i = 0; i < s->head.prog_count; i++) {
		struct agent_prog_msg p;
		if ((rc = receive(fd, AGENT_PROG, &p, sizeof p, NULL)))
			return snprintf(why, AGENT_TEXT_MAX, "bad program message"), rc;
		memcpy(s->names[i], p.name, AGENT_NAME_MAX);
		s->names[i][AGENT_NAME_MAX - 1] = '\0';
	}
	for (uint32_t i = 0; i < s->head.map_count; i++) {
		struct agent_map_msg mm;
		if ((rc = receive(fd, AGENT_MAP, &mm, sizeof mm, NULL)) || mm.index != i)
			return snprintf(why, AGENT_TEXT_MAX, "bad map message"), rc ? rc : -EPROTO;
		bpfvm_error e = { 0 };
		if (mm.present && (rc = bpfvm_map_receive(fd, &s->maps[i], &e)))
			return snprintf(why, AGENT_TEXT_MAX, "map %u: %s", i, e.msg), rc;
	}
	return 0;
}

/* The object from its memfd, an instance on the received maps. */
static int load(const struct setup *s, bpfvm_object **obj, bpfvm_instance **inst, char *why)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", s->object_fd);
	bpfvm_error e = { 0 };
	int rc = bpfvm_object_open_file(path, NULL, obj, &e);
	if (rc)
		return snprintf(why, AGENT_TEXT_MAX, "object: %s", e.msg), rc;
	if (bpfvm_object_map_count(*obj) != s->head.map_count)
		return snprintf(why, AGENT_TEXT_MAX, "object has %zu maps, %u were sent", bpfvm_object_map_count(*obj),
		                s->head.map_count), -EPROTO;
	BPFVM_OPTS(bpfvm_instance_opts, o, .jit = true, .verify = true, .no_pins = true,
	           .maps = s->maps, .map_count = s->head.map_count,
	           .only_prog = s->head.prog_count == 1 ? s->names[0] : NULL);
	rc = bpfvm_instance_new(*obj, &o, inst, &e);
	if (rc)
		snprintf(why, AGENT_TEXT_MAX, "%s", e.msg);
	return rc;
}

static int send_ack(int fd, uint32_t type, int error, double ms)
{
	struct agent_ack a = { .type = type, .error = error, .elapsed_ms = ms };
	return send(fd, &a, sizeof a, MSG_NOSIGNAL) == sizeof a ? 0 : -EPIPE;
}

static int send_failure(int fd, int rc, const char *why)
{
	struct agent_result r = { .type = AGENT_RESULT, .error = rc };
	snprintf(r.text, sizeof r.text, "%s", why);
	send(fd, &r, sizeof r, MSG_NOSIGNAL);
	return send_ack(fd, AGENT_READY, rc, 0);
}

/* Receives, loads and attaches; reports every program and READY. */
static int attach_session(int fd, double t0)
{
	struct setup s = { .object_fd = -1 };
	char why[AGENT_TEXT_MAX] = "";
	bpfvm_object *obj = NULL;
	bpfvm_instance *inst = NULL;
	int rc = receive_setup(fd, &s, why);
	if (!rc)
		rc = load(&s, &obj, &inst, why);
	if (!rc)
		rc = agent_perf_open(inst, why);
	if (rc) {
		setup_free(&s);
		bpfvm_instance_free(inst);
		bpfvm_object_free(obj);
		return send_failure(fd, rc, why), rc;
	}
	no_follow = s.head.flags & AGENT_NO_FOLLOW;
	if (no_follow) {
		unsetenv("LD_PRELOAD");
		unsetenv(AGENT_SOCKET_ENV);
	}
	size_t n = s.head.prog_count, *index = calloc(n + 1, sizeof *index);
	struct agent_result *res = calloc(n + 1, sizeof *res);
	for (size_t i = 0; index && i < n; i++) {
		int k = bpfvm_object_find_prog(obj, s.names[i]);
		index[i] = k < 0 ? SIZE_MAX : (size_t)k;
	}
	agent_watch_exit(report_at_exit_call);
	if (index && res)
		agent_attach_all(inst, index, n, res, s.head.flags);   /* the instance is the agent's now */
	session_attached = true;
	for (size_t i = 0; res && i < n; i++)
		send(fd, &res[i], sizeof res[i], MSG_NOSIGNAL);
	free(index);
	free(res);
	setup_free(&s);   /* the instance holds its own references to the maps */
	/* obj stays: the instance's programs keep pointing into it */
	return send_ack(fd, AGENT_READY, index && res ? 0 : -ENOMEM, now_ms() - t0);
}

/* Whether the tracer said something (or went away) within ms. */
static bool tracer_spoke(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, ms) != 0;
}

/* The control thread: forwards perf records meanwhile; detaches on
 * DETACH or when the tracer goes away. */
static void *control(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct agent_thread_state *self = agent_thread();
	if (self)
		self->quiet = true;
	struct agent_ack a;
	for (;;) {
		if (agent_perf_active() && !tracer_spoke(fd, AGENT_PERF_INTERVAL_MS)) {
			agent_perf_forward(fd);
			continue;
		}
		if (receive(fd, AGENT_DETACH, &a, sizeof a, NULL) != -EPROTO)
			break;
	}
	agent_send_stats(fd, true);
	agent_detach_all(fd);
	session_attached = false;
	send_ack(fd, AGENT_DETACHED, 0, 0);
	close(fd);
	session_fd = -1;
	atomic_store(&session_running, false);
	return NULL;
}

static int start_control(int fd)
{
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &attr, control, (void *)(intptr_t)fd);
	pthread_attr_destroy(&attr);
	return -rc;
}

static int session(bool forked)
{
	double t0 = now_ms();
	struct agent_thread_state *self = agent_thread(), none = { 0 };
	if (!self)
		self = &none;   /* out of memory: the session fails on its own */
	bool was_quiet = self->quiet;
	self->quiet = true;
	int fd = connect_tracer(socket_path);
	int rc = fd < 0 ? fd : say_hello(fd, forked);
	if (!rc && !forked)
		rc = attach_session(fd, t0);
	if (fd >= 0 && (rc || start_control(fd))) {
		close(fd);
		fd = -1;
	}
	session_fd = fd;
	if (fd < 0) {   /* no control thread: the session is over */
		if (session_attached)
			agent_detach_all(-1);
		session_attached = false;
		atomic_store(&session_running, false);
	}
	self->quiet = was_quiet;
	return rc;
}

static void *forked_session(void *unused)
{
	(void)unused;
	struct agent_thread_state *self = agent_thread();
	if (self)
		self->quiet = true;
	agent_perf_forward(-1);   /* the parent's records, copied by fork: its to send */
	session(true);
	return NULL;
}

/* In a fork()ed child: its copy of the parent's socket is not its own. */
static void after_fork_in_child(void)
{
	if (session_fd >= 0)
		close(session_fd);
	session_fd = -1;
	if (!session_attached)
		return;
	agent_stats_rebase();
	if (no_follow) {
		agent_detach_all(-1);
		session_attached = false;
		atomic_store(&session_running, false);
		return;
	}
	pthread_t t;
	if (pthread_create(&t, NULL, forked_session, NULL) == 0)
		pthread_detach(t);
}

static void *injected_session(void *unused)
{
	(void)unused;
	session(false);
	return NULL;
}

/* Called by inject_library() in a thread of the running target, stopped
 * under ptrace: the session runs on a thread of its own, so the target's
 * thread goes back at once and the tracer waits for READY. */
static void register_atfork(void)
{
	pthread_atfork(NULL, NULL, after_fork_in_child);
}

int bpfvm_agent_start(const char *path)
{
	if (!path || strlen(path) >= sizeof socket_path)
		return -EINVAL;
	bool idle = false;
	if (!atomic_compare_exchange_strong(&session_running, &idle, true))
		return -EALREADY;
	snprintf(socket_path, sizeof socket_path, "%s", path);
	pthread_once(&atfork_once, register_atfork);
	/* the hook runs' set-up (membarrier(2)'s registration takes
	 * milliseconds) made here, while the injector waits, not between the
	 * session's start and its hello */
	struct agent_thread_state *self = agent_thread();
	if (self && !self->hook_thread)
		self->hook_thread = hook_thread_self();
	pthread_t t;
	int rc = pthread_create(&t, NULL, injected_session, NULL);
	if (rc)
		atomic_store(&session_running, false);
	else
		pthread_detach(t);
	return -rc;
}

/* The process exits (exit(), or _exit() through agent_watch_exit): its
 * perf records and its programs' stats go to the tracer, which would
 * otherwise see only the socket close. */
static void report_before_exit(bool wait)
{
	int fd = session_fd;
	if (fd >= 0 && session_attached) {
		struct agent_thread_state *self = agent_thread(), none = { 0 };
		if (!self)
			self = &none;
		bool was_quiet = self->quiet;
		self->quiet = true;   /* these syscalls are the agent's, not the process's */
		agent_perf_forward(fd);
		agent_send_stats(fd, wait);
		self->quiet = was_quiet;
	}
}

__attribute__((destructor)) static void agent_at_exit(void)
{
	report_before_exit(true);
}

/* From the probe on _exit: a detach under way waits for this handler. */
static void report_at_exit_call(void)
{
	report_before_exit(false);
}

/* Preloaded: attach before main runs. */
__attribute__((constructor)) static void agent_preloaded(void)
{
	const char *path = getenv(AGENT_SOCKET_ENV);
	if (!path || !*path || strlen(path) >= sizeof socket_path || socket_path[0])
		return;
	snprintf(socket_path, sizeof socket_path, "%s", path);
	atomic_store(&session_running, true);
	pthread_once(&atfork_once, register_atfork);
	session(false);
}
