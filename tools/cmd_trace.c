/*
 * cmd_trace.c - `bpfvm trace`: an object's programs attached in live
 * processes, a command it starts (the agent preloaded) or running ones
 * (the agent injected through ptrace, src/hooks/inject.h).  It makes the
 * maps, serves a Unix socket each process's agent connects to (the
 * session of src/hooks/agent_proto.h: the object, the program names and
 * every map's descriptor go to the agent, which attaches and reports),
 * prints records as they arrive (a perf event array's from each agent,
 * which keeps its own rings) and maps when asked, and at the end
 * (Ctrl-C, SIGTERM, --duration, the command's exit) detaches every agent
 * and waits for each to say its process is unpatched.
 *
 * Owns: the options, the socket and its sessions, starting the command,
 * injecting the agent, the event loop and the clean end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bpfvm/instance.h"
#include "btf_print.h"
#include "cli.h"
#include "hooks/agent_proto.h"
#include "hooks/inject.h"
#include "trace.h"

#define MAX_PIDS 64
#define MAX_PROGS 64
#define MAX_CONNS 256
#define DETACH_WAIT_MS 10000
#define AGENT_CONNECT_WAIT_MS 10000   /* from injection to an agent's hello */

struct trace_args {
	const char *obj_path;
	const char *progs[MAX_PROGS];
	size_t prog_count;
	pid_t pids[MAX_PIDS];
	size_t pid_count;
	bool json, dump_maps, no_follow, stats, dispatch_on;
	double duration, interval;
	const char *hist;
	char **command;   /* after --, NULL-terminated */
	struct object_args oa;
};

struct conn {
	int fd;           /* -1 once closed */
	pid_t pid;
	bool ready, detach_sent, detached;
};

struct tracer {
	const struct trace_args *a;
	bpfvm_object *obj;
	bpfvm_instance *inst;
	int object_fd;    /* a memfd of the object's bytes */
	char dir[64], sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	struct conn conns[MAX_CONNS];
	size_t conn_count;
	pid_t child;      /* the command, 0 if none */
	int child_status;
	bool child_done;  /* it ended while traced: child_status is its wait status */
	double inject_start[MAX_PIDS];
	size_t attached, failed, ever_connected;
	struct pid_stats *stats;   /* every program's, printed at the end */
	size_t stats_count, stats_cap;
	uint64_t perf_lost;        /* perf samples dropped by full rings, every agent's */
};

struct pid_stats {
	pid_t pid;
	struct agent_stats st;
};

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static void on_child(int sig)
{
	(void)sig;   /* only to interrupt poll() */
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- options ---------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: bpfvm trace OBJ [--prog NAME]... [-j] [--duration S] [--dump-maps] [--interval S]\n"
	           "                   [--hist MAP] [--no-follow] [--stats] [--dispatch-on] " OBJECT_ARGS_USAGE " -- COMMAND [ARGS]\n"
	           "       bpfvm trace OBJ --pid PID [--pid PID]... [the same options]\n"
	           "\n"
	           "Attaches the object's programs (every one, or those --prog names) by their\n"
	           "section names (uprobe/PATH:FUNC[+OFF], uretprobe/..., uprobe.multi/PATH:PATTERN,\n"
	           "uretprobe.multi/..., usdt/PATH:PROVIDER:NAME,\n"
	           "tracepoint/syscalls/..., tracepoint/raw_syscalls/..., raw_tracepoint/sys_enter|sys_exit,\n"
	           "ksyscall/NAME, kretsyscall/NAME) in COMMAND and its children (--no-follow: not its children),\n"
	           "or in the running processes PID, through an agent library loaded into each.\n"
	           "Ring buffer and perf event array records print as they come.  Ctrl-C, SIGTERM, --duration\n"
	           "or the command's exit detach every agent, leaving its process running unpatched.\n"
	           "The status is the command's if it ended while traced (128 + N if signal N killed\n"
	           "it), else 0; 1 when a program could not be attached and the command's was 0.\n"
	           "  -j             JSON lines\n"
	           "  --dump-maps    print every map at the end\n"
	           "  --interval S   print every map each S seconds\n"
	           "  --hist MAP     print MAP (log2 slots) as a histogram (with --interval, each time)\n"
	           "  --stats        at the end, each program's runs, recursion misses and the path\n"
	           "                 serving its probe, per process (without it: recursion misses\n"
	           "                 only, where there were some: events skipped because the thread\n"
	           "                 was running that program already, as the kernel's)\n"
	           "  --dispatch-on  syscall programs: keep Syscall User Dispatch on, each syscall site\n"
	           "                 rewritten the first time it traps (without it: every site is\n"
	           "                 rewritten at attach and dispatch goes off where that covers them all)\n"
	           OBJECT_OPTIONS_HELP
	           "The agent is libbpfvm-agent.so beside the bpfvm command, or $BPFVM_AGENT.\n");
}

static int parse_seconds(const char *opt, const char *text, double *out)
{
	char *end;
	*out = strtod(text, &end);
	if (*end || !(*out > 0) || *out > 1e7)
		return fail("trace: %s: '%s' is not a number of seconds", opt, text);
	return 0;
}

static int parse_pid(const char *text, struct trace_args *a)
{
	char *end;
	long pid = strtol(text, &end, 10);
	if (*end || pid <= 0 || pid > INT_MAX)
		return fail("trace: --pid: '%s' is not a process id", text);
	if (a->pid_count == MAX_PIDS)
		return fail("trace: at most %d --pid", MAX_PIDS);
	a->pids[a->pid_count++] = (pid_t)pid;
	return 0;
}

/* An option with a value; 1 taken, 0 not one of these, -1 error. */
static int value_option(struct trace_args *a, const char *o, const char *v)
{
	if (!strcmp(o, "--prog")) {
		if (a->prog_count == MAX_PROGS)
			return fail("trace: at most %d --prog", MAX_PROGS), -1;
		a->progs[a->prog_count++] = v;
		return 1;
	}
	if (!strcmp(o, "--pid"))
		return parse_pid(v, a) ? -1 : 1;
	if (!strcmp(o, "--duration"))
		return parse_seconds(o, v, &a->duration) ? -1 : 1;
	if (!strcmp(o, "--interval"))
		return parse_seconds(o, v, &a->interval) ? -1 : 1;
	if (!strcmp(o, "--hist")) {
		a->hist = v;
		return 1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct trace_args *a)
{
	const struct cli_flag flags[] = {
		{ "-j", &a->json }, { "--json", &a->json }, { "--dump-maps", &a->dump_maps }, { "--no-follow", &a->no_follow },
		{ "--stats", &a->stats }, { "--dispatch-on", &a->dispatch_on }, { "-v", &a->oa.verbose }, { NULL, NULL },
	};
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (!strcmp(o, "--")) {
			a->command = argv + i + 1;
			break;
		}
		int taken = object_arg(&a->oa, argc, argv, &i, "trace");
		if (taken < 0)
			return 1;
		if (taken || flag_arg(flags, o))
			continue;
		if (!strcmp(o, "--help") || !strcmp(o, "-h"))
			return usage(stdout), -1;
		else if (o[0] == '-' && i + 1 < argc && (taken = value_option(a, o, argv[i + 1])) != 0) {
			if (taken < 0)
				return 1;
			i++;
		} else if (!a->obj_path && o[0] != '-')
			a->obj_path = o;
		else
			return fail("trace: unknown option '%s' (see 'bpfvm trace --help')", o);
	}
	if (!a->obj_path)
		return usage(stderr), 1;
	if ((a->command && !a->command[0]) || (!a->command && !a->pid_count))
		return fail("trace: give a command after -- or --pid PID");
	if (a->command && a->pid_count)
		return fail("trace: a command or --pid, not both");
	return 0;
}

/* ---- the object, its maps, the socket --------------------------------- */

static const char *agent_path(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("BPFVM_AGENT");
	if (env && *env)
		return env;
	ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
	if (n > 0) {
		path[n] = '\0';
		char *slash = strrchr(path, '/');
		strcpy(slash + 1, "libbpfvm-agent.so");
		if (access(path, R_OK) == 0)
			return path;
	}
#ifdef BPFVM_AGENT_INSTALLED
	return BPFVM_AGENT_INSTALLED;
#else
	return NULL;
#endif
}

static int listen_socket(struct tracer *t)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(t->dir, sizeof t->dir, "%s/bpfvm-trace-XXXXXX", tmp && strlen(tmp) < 32 ? tmp : "/tmp");
	if (!mkdtemp(t->dir))
		return fail("trace: cannot make a directory in %s: %s", tmp ? tmp : "/tmp", strerror(errno));
	snprintf(t->sock, sizeof t->sock, "%.60s/agent.sock", t->dir);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	memcpy(addr.sun_path, t->sock, sizeof addr.sun_path);
	t->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (t->listen_fd < 0 || bind(t->listen_fd, (struct sockaddr *)&addr, sizeof addr) ||
	    listen(t->listen_fd, 64))
		return fail("trace: socket %s: %s", t->sock, strerror(errno));
	return 0;
}

static int prepare(struct tracer *t)
{
	const struct trace_args *a = t->a;
	if (object_open(a->obj_path, &a->oa, &t->obj))
		return 1;
	for (size_t i = 0; i < a->prog_count; i++)
		if (bpfvm_object_find_prog(t->obj, a->progs[i]) < 0)
			return fail("%s: no program named '%s' (see 'bpfvm prog show %s')", a->obj_path, a->progs[i],
			            a->obj_path);
	bpfvm_error err = { 0 };
	BPFVM_OPTS(bpfvm_instance_opts, io, .no_pins = true, .only_prog = a->prog_count == 1 ? a->progs[0] : NULL);
	if (bpfvm_instance_new(t->obj, &io, &t->inst, &err))
		return fail("%s: %s", a->obj_path, err.msg);
	if (a->hist && bpfvm_object_find_map(t->obj, a->hist) < 0)
		return fail("--hist: %s has no map named '%s'", a->obj_path, a->hist);
	t->object_fd = file_memfd(a->obj_path, "bpfvm-trace-object", 0, "trace");
	return t->object_fd < 0 || listen_socket(t);
}

/* ---- one agent's session ---------------------------------------------- */

static int send_setup(struct tracer *t, int fd)
{
	const struct trace_args *a = t->a;
	size_t nprogs = 0;
	const char *names[MAX_PROGS * 4];
	for (size_t i = 0; i < a->prog_count; i++)
		names[nprogs++] = a->progs[i];
	for (size_t i = 0; !a->prog_count && i < bpfvm_object_prog_count(t->obj) && nprogs < MAX_PROGS * 4; i++)
		if (bpfvm_object_prog_at(t->obj, i)->autoload)
			names[nprogs++] = bpfvm_object_prog_at(t->obj, i)->name;
	size_t nmaps = bpfvm_object_map_count(t->obj);
	struct agent_setup s = { .type = AGENT_SETUP,
	                         .flags = (a->no_follow ? AGENT_NO_FOLLOW : 0) | (a->stats ? AGENT_COUNT_RUNS : 0) |
	                                  (a->dispatch_on ? AGENT_DISPATCH_ON : 0),
	                         .prog_count = (uint32_t)nprogs, .map_count = (uint32_t)nmaps };
	if (send_with_fd(fd, &s, sizeof s, t->object_fd) != sizeof s)
		return -errno;
	for (size_t i = 0; i < nprogs; i++) {
		struct agent_prog_msg p = { .type = AGENT_PROG };
		snprintf(p.name, sizeof p.name, "%s", names[i]);
		if (send(fd, &p, sizeof p, MSG_NOSIGNAL) != sizeof p)
			return -errno;
	}
	for (size_t i = 0; i < nmaps; i++) {
		bpfvm_map *map = bpfvm_instance_map(t->inst, i);
		bpfvm_map_info info;
		bpfvm_map_info_get(map, &info);
		/* prog_arrays hold this process's programs, perf event arrays its
		 * rings: the agent makes its own */
		struct agent_map_msg mm = { .type = AGENT_MAP, .index = (uint32_t)i,
		                            .present = info.type != 3 && info.type != 4 };
		if (send(fd, &mm, sizeof mm, MSG_NOSIGNAL) != sizeof mm)
			return -errno;
		bpfvm_error err = { 0 };
		int rc = mm.present ? bpfvm_map_send(fd, map, &err) : 0;
		if (rc)
			return fail("trace: map %s: %s", info.name, err.msg), rc;
	}
	return 0;
}

static const char *path_name(uint32_t path)
{
	static const char *const names[] = { "none", "trampoline", "int3", "syscall" };
	return path < 4 ? names[path] : "?";
}

static void report_result(struct tracer *t, const struct conn *c, const struct agent_result *r)
{
	if (r->error)
		t->failed++;
	else
		t->attached++;
	if (t->a->json) {
		printf("{\"type\":\"attach\",\"pid\":%d,\"prog\":", (int)c->pid);
		json_print_string(r->name);
		printf(",\"error\":%d,\"path\":\"%s\",\"%s\":", (int)r->error, path_name(r->path), r->error ? "message" : "hook");
		json_print_string(r->text);
		if (r->functions)   /* a uprobe.multi's */
			printf(",\"functions\":%u", r->functions);
		printf("}\n");
		fflush(stdout);
	} else if (r->error) {
		fprintf(stderr, "%s trace: pid %d: %s%s%s: %s\n", prog_name, (int)c->pid, r->name[0] ? "program " : "",
		        r->name, r->name[0] ? " not attached" : "cannot attach", r->text);
	} else {
		fprintf(stderr, "%s trace: pid %d: %s: %s (%s)\n", prog_name, (int)c->pid, r->name, r->text,
		        path_name(r->path));
	}
}

static void report_ready(struct tracer *t, struct conn *c, const struct agent_ack *k)
{
	c->ready = true;
	double injected = 0;
	for (size_t i = 0; i < t->a->pid_count; i++)
		if (t->a->pids[i] == c->pid)
			injected = now_ms() - t->inject_start[i];
	if (t->a->json)
		printf("{\"type\":\"ready\",\"pid\":%d,\"attach_ms\":%.3f%s}\n", (int)c->pid,
		       injected ? injected : k->elapsed_ms, k->error ? ",\"error\":true" : "");
	else
		fprintf(stderr, "%s trace: pid %d: attached in %.1f ms%s\n", prog_name, (int)c->pid,
		        injected ? injected : k->elapsed_ms, injected ? " (from injection)" : "");
	fflush(stdout);
}

static void keep_stats(struct tracer *t, const struct conn *c, struct agent_stats *st)
{
	st->name[sizeof st->name - 1] = st->hook[sizeof st->hook - 1] = '\0';
	if (t->stats_count == t->stats_cap) {
		size_t cap = t->stats_cap ? 2 * t->stats_cap : 16;
		struct pid_stats *bigger = realloc(t->stats, cap * sizeof *bigger);
		if (!bigger)
			return;
		t->stats = bigger;
		t->stats_cap = cap;
	}
	t->stats[t->stats_count++] = (struct pid_stats){ c->pid, *st };
}

static void perf_message(struct tracer *t, const struct conn *c, const struct agent_perf_msg *m, size_t n)
{
	if (m->map_index >= bpfvm_object_map_count(t->obj))
		return;
	const char *map = bpfvm_object_map_at(t->obj, m->map_index)->name;
	if (m->type == AGENT_PERF_LOST) {
		t->perf_lost += m->lost;
		trace_print_perf_lost(map, c->pid, m->cpu, m->lost, t->a->json);
	} else if (n >= sizeof *m + m->size) {
		trace_print_perf(map, c->pid, m->cpu, m + 1, m->size, t->a->json);
	}
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* One message from an agent; false when there is none now. */
static bool conn_message(struct tracer *t, struct conn *c)
{
	static union {
		uint32_t type;
		struct agent_hello h;
		struct agent_result r;
		struct agent_ack k;
		struct agent_stats st;
		struct agent_perf_msg p;
		uint8_t bytes[AGENT_MSG_MAX];
	} m;
	ssize_t n = recv(c->fd, &m, sizeof m, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n <= 0 || n < (ssize_t)sizeof m.type) {
		c->detached = c->detached || !c->ready || c->detach_sent;
		conn_close(c);
		return false;
	}
	if (m.type == AGENT_HELLO && n == sizeof m.h) {
		c->pid = m.h.pid;
		m.h.exe[sizeof m.h.exe - 1] = '\0';
		t->ever_connected++;
		if (t->a->json)
			printf("{\"type\":\"process\",\"pid\":%d,\"ppid\":%d,\"forked\":%s,\"exe\":", (int)c->pid, (int)m.h.ppid,
			       m.h.forked ? "true" : "false"), json_print_string(m.h.exe), printf("}\n");
		else
			fprintf(stderr, "%s trace: pid %d: %s%s\n", prog_name, (int)c->pid, m.h.exe,
			        m.h.forked ? " (forked: its probes came with it)" : "");
		if (m.h.forked)
			c->ready = true;
		else if (send_setup(t, c->fd))
			conn_close(c);
	} else if (m.type == AGENT_RESULT && n == sizeof m.r) {
		m.r.name[sizeof m.r.name - 1] = m.r.text[sizeof m.r.text - 1] = '\0';
		report_result(t, c, &m.r);
	} else if (m.type == AGENT_READY && n == sizeof m.k) {
		report_ready(t, c, &m.k);
	} else if ((m.type == AGENT_PERF_SAMPLE || m.type == AGENT_PERF_LOST) && n >= (ssize_t)sizeof m.p) {
		perf_message(t, c, &m.p, (size_t)n);
	} else if (m.type == AGENT_STATS && n == sizeof m.st) {
		keep_stats(t, c, &m.st);
	} else if (m.type == AGENT_DETACHED && n == sizeof m.k) {
		c->detached = true;
		conn_close(c);
	}
	return c->fd >= 0;
}

static void accept_agents(struct tracer *t)
{
	int fd;
	while ((fd = accept4(t->listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		if (t->conn_count == MAX_CONNS) {
			close(fd);
			continue;
		}
		t->conns[t->conn_count++] = (struct conn){ .fd = fd };
	}
}

/* Waits up to ms for the socket and the agents, and serves them. */
static void serve(struct tracer *t, int ms)
{
	struct pollfd p[MAX_CONNS + 1];
	struct conn *of[MAX_CONNS + 1];
	nfds_t n = 0;
	p[n++] = (struct pollfd){ .fd = t->listen_fd, .events = POLLIN };
	for (size_t i = 0; i < t->conn_count; i++)
		if (t->conns[i].fd >= 0) {
			of[n] = &t->conns[i];
			p[n++] = (struct pollfd){ .fd = t->conns[i].fd, .events = POLLIN };
		}
	if (poll(p, n, ms) <= 0)
		return;
	if (p[0].revents)
		accept_agents(t);
	/* every message waiting, so an agent's reports come before the
	 * records its programs made after them */
	for (nfds_t i = 1; i < n; i++)
		while (p[i].revents && conn_message(t, of[i]))
			;
}

/* ---- the traced processes --------------------------------------------- */

static int start_command(struct tracer *t, const char *agent)
{
	char *preload = NULL;
	const char *old = getenv("LD_PRELOAD");
	if (asprintf(&preload, "%s%s%s", agent, old && *old ? ":" : "", old && *old ? old : "") < 0)
		return fail("out of memory");
	t->child = fork();
	if (t->child < 0)
		return free(preload), fail("trace: fork: %s", strerror(errno));
	if (t->child == 0) {
		setenv("LD_PRELOAD", preload, 1);
		setenv(AGENT_SOCKET_ENV, t->sock, 1);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execvp(t->a->command[0], t->a->command);
		fprintf(stderr, "%s trace: cannot run %s: %s\n", prog_name, t->a->command[0], strerror(errno));
		_exit(127);
	}
	free(preload);
	return 0;
}

static int inject_all(struct tracer *t, const char *agent)
{
	int rc = 0;
	for (size_t i = 0; i < t->a->pid_count; i++) {
		char err[512];
		struct inject_result r;
		t->inject_start[i] = now_ms();
		if (inject_library(t->a->pids[i], agent, AGENT_ENTRY, t->sock, &r, err, sizeof err)) {
			rc = fail("trace: pid %d: cannot load the agent: %s", (int)t->a->pids[i], err);
			t->failed++;
		} else {
			serve(t, 0);
		}
	}
	return rc;
}

static bool child_exited(struct tracer *t)
{
	if (!t->child)
		return false;
	int status;
	if (waitpid(t->child, &status, WNOHANG) != t->child)
		return false;
	t->child_status = status;
	t->child_done = true;
	t->child = 0;
	return true;
}

static size_t live_conns(const struct tracer *t)
{
	size_t n = 0;
	for (size_t i = 0; i < t->conn_count; i++)
		n += t->conns[i].fd >= 0;
	return n;
}

/* Every agent told to detach, and waited for. */
static void detach_all(struct tracer *t)
{
	double deadline = now_ms() + DETACH_WAIT_MS;
	for (;;) {
		accept_agents(t);
		for (size_t i = 0; i < t->conn_count; i++) {
			struct conn *c = &t->conns[i];
			if (c->fd < 0 || c->detach_sent)
				continue;
			struct agent_ack k = { .type = AGENT_DETACH };
			c->detach_sent = true;
			if (send(c->fd, &k, sizeof k, MSG_NOSIGNAL) != sizeof k)
				while (conn_message(t, c))   /* gone: what it sent on its way out first */
					;
		}
		if (!live_conns(t) || now_ms() > deadline)
			break;
		serve(t, 50);
		trace_drain(t->inst, t->a->json);
	}
	for (size_t i = 0; i < t->conn_count; i++)
		if (t->conns[i].fd >= 0) {
			fprintf(stderr, "%s trace: pid %d: no answer to detach\n", prog_name, (int)t->conns[i].pid);
			conn_close(&t->conns[i]);
		}
}

static void periodic(struct tracer *t)
{
	if (t->a->hist)
		trace_print_hist(t->inst, t->a->hist, t->a->json);
	else
		trace_print_maps(t->inst, t->a->json);
}

/* Serves until the end: a signal, the duration, the command's exit, or
 * (with --pid) every target gone. */
static void run_loop(struct tracer *t)
{
	double start = now_ms(), next_print = start + t->a->interval * 1e3;
	while (!stop_signal) {
		serve(t, 50);
		trace_drain(t->inst, t->a->json);
		if (child_exited(t))
			break;
		if (!t->a->command && t->ever_connected && !live_conns(t))
			break;
		if (!t->a->command && !t->ever_connected && now_ms() - start > AGENT_CONNECT_WAIT_MS) {
			fail("trace: no agent connected within %d s", AGENT_CONNECT_WAIT_MS / 1000);
			t->failed++;
			break;
		}
		double now = now_ms();
		if (t->a->duration && now - start >= t->a->duration * 1e3)
			break;
		if (t->a->interval && now >= next_print) {
			periodic(t);
			next_print += t->a->interval * 1e3;
		}
	}
}

static void finish(struct tracer *t)
{
	detach_all(t);
	trace_drain(t->inst, t->a->json);
	if (t->a->dump_maps)
		trace_print_maps(t->inst, t->a->json);
	if (t->a->hist)
		trace_print_hist(t->inst, t->a->hist, t->a->json);
	for (size_t i = 0; i < t->stats_count; i++)
		trace_print_stats(t->stats[i].pid, &t->stats[i].st, t->a->stats, t->a->json);
	if (t->perf_lost)
		trace_print_perf_lost(NULL, 0, -1, t->perf_lost, t->a->json);
	if (t->child) {   /* the command outlives the trace: it runs on, unpatched */
		if (!t->a->json)
			fprintf(stderr, "%s trace: pid %d runs on, detached\n", prog_name, (int)t->child);
	}
}

static void cleanup(struct tracer *t)
{
	if (t->listen_fd >= 0)
		close(t->listen_fd);
	if (t->sock[0])
		unlink(t->sock);
	if (t->dir[0])
		rmdir(t->dir);
	if (t->object_fd >= 0)
		close(t->object_fd);
	bpfvm_instance_free(t->inst);
	bpfvm_object_free(t->obj);
	free(t->stats);
}

/* The command's status as a shell gives it (128 + the signal that
 * killed it), which `bpfvm trace -- COMMAND` exits with, as time and
 * strace do. */
static int command_status(const struct tracer *t)
{
	if (WIFSIGNALED(t->child_status))
		return 128 + WTERMSIG(t->child_status);
	return WIFEXITED(t->child_status) ? WEXITSTATUS(t->child_status) : 1;
}

static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_child;
	sigaction(SIGCHLD, &sa, NULL);
}

int cmd_trace(int argc, char **argv)
{
	struct trace_args a = { 0 };
	int rc = parse_args(argc, argv, &a);
	if (rc)
		return rc < 0 ? 0 : rc;
	const char *agent = agent_path();
	if (!agent)
		return fail("trace: no libbpfvm-agent.so beside %s; set BPFVM_AGENT", prog_name);
	struct tracer t = { .a = &a, .object_fd = -1, .listen_fd = -1 };
	catch_signals();
	rc = prepare(&t);
	if (!rc)
		rc = a.command ? start_command(&t, agent) : inject_all(&t, agent);
	if (!rc || (!a.command && t.failed < a.pid_count)) {
		rc = 0;
		run_loop(&t);
		finish(&t);
		if (a.command && !t.ever_connected)
			rc = fail("trace: %s never loaded the agent (a static program?)", a.command[0]);
	}
	if (t.failed)
		rc = 1;
	if (t.child_done && (!rc || command_status(&t)))
		rc = command_status(&t);
	cleanup(&t);
	return rc;
}
