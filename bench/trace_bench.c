/*
 * trace_bench.c - bpfvm-trace-bench: what `bpfvm trace` itself adds to a
 * getppid with raw_tracepoint sys_enter + sys_exit programs attached
 * (bench/trace/syscall_progs.bpf.c), timed inside the traced process
 * (bench/trace/getppid_loop.c: the best of 15 batches), where
 * bpfvm-syscall-bench times the interceptor linked into itself.  The
 * difference is the agent: its handlers (the tracing context, which is
 * also the recursion guard; sys_exit's registers made the kernel's) and
 * the runtime built as a shared library (what thread-local state it
 * still reads goes through the dynamic TLS model).  Three ways, in turn,
 * rounds times:
 *
 *   untraced   the loop alone
 *   launched   bpfvm trace OBJ -- LOOP (the agent preloaded)
 *   injected   bpfvm trace OBJ --pid PID (the agent dlopen()ed by ptrace)
 *
 * each of the last two with dispatch off (every syscall site swept at
 * attach, the default) and with --dispatch-on (sites rewritten as they
 * trap, every syscall on the kernel's slow path for a dispatched thread).
 *
 *     bpfvm-trace-bench [--quick] [BPFVM OBJ LOOP]
 *
 * Checks that both programs attached on the syscall path and that the
 * loop saw its parent's pid every call.  Exits 77 where ptrace is not
 * allowed (the injected way needs it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"

enum way { UNTRACED, LAUNCHED, INJECTED, LAUNCHED_ON, INJECTED_ON, WAYS };
static const char *const way_names[WAYS] = { "untraced", "bpfvm trace -- CMD (preloaded agent)",
	                                     "bpfvm trace --pid (injected agent)", "  the same, --dispatch-on",
	                                     "  the same, --dispatch-on" };

struct setup {
	const char *bpfvm, *obj, *loop;
	char calls[24];
};

/* Reads the loop's "ready PID" (skipping the tracer's JSON lines, which
 * share the pipe when launched); counts attach lines on the syscall path. */
static bool wait_ready(struct bench_child *c, int *attached)
{
	char line[1024];
	int pid;
	while (bench_read_line(c, line, sizeof line)) {
		if (sscanf(line, "ready %d", &pid) == 1)
			return true;
		*attached += strstr(line, "\"type\":\"attach\"") && strstr(line, "\"error\":0") &&
		             strstr(line, "\"path\":\"syscall\"");
	}
	return false;
}

/* Sends the go line; reads "ns X" into *ns (attach lines counted too). */
static bool run_loop(struct bench_child *in, struct bench_child *out, double *ns, int *attached)
{
	char line[1024];
	bool got = false;
	if (write(in->to, "go\n", 3) != 3)
		return false;
	while (bench_read_line(out, line, sizeof line)) {
		got |= sscanf(line, "ns %lf", ns) == 1;
		*attached += strstr(line, "\"type\":\"attach\"") && strstr(line, "\"error\":0") &&
		             strstr(line, "\"path\":\"syscall\"");
		if (!strncmp(line, "ppid ", 5))
			break;
	}
	return got;
}

/* The tracer's JSON lines up to its "ready" one; attach lines counted. */
static bool wait_tracer_ready(struct bench_child *t, int *attached)
{
	char line[1024];
	while (bench_read_line(t, line, sizeof line)) {
		*attached += strstr(line, "\"type\":\"attach\"") && strstr(line, "\"error\":0") &&
		             strstr(line, "\"path\":\"syscall\"");
		if (strstr(line, "\"type\":\"ready\""))
			return !strstr(line, "\"error\":true");
	}
	return false;
}

static bool time_untraced(const struct setup *s, double *ns)
{
	char *argv[] = { (char *)s->loop, (char *)s->calls, NULL };
	struct bench_child c;
	int attached = 0;
	if (!bench_spawn(argv, true, &c))
		return false;
	bool ok = wait_ready(&c, &attached) && run_loop(&c, &c, ns, &attached);
	return bench_reap(&c) == 0 && ok;
}

static bool time_launched_as(const struct setup *s, double *ns, bool dispatch_on)
{
	char *argv[] = { (char *)s->bpfvm, "trace", (char *)s->obj, "-j", dispatch_on ? "--dispatch-on" : "-j", "--",
	                 (char *)s->loop, (char *)s->calls, NULL };
	struct bench_child c;
	int attached = 0;
	if (!bench_spawn(argv, true, &c))
		return false;
	bool ok = wait_ready(&c, &attached) && run_loop(&c, &c, ns, &attached);
	char line[1024];
	while (bench_read_line(&c, line, sizeof line))   /* attach lines may come after the loop's */
		attached += strstr(line, "\"type\":\"attach\"") && strstr(line, "\"error\":0") &&
		            strstr(line, "\"path\":\"syscall\"");
	int rc = bench_reap(&c);
	if (ok && (rc != 0 || attached != 2))
		fprintf(stderr, "launched: bpfvm trace exited %d, %d of 2 programs attached on the syscall path\n", rc,
		        attached);
	return ok && rc == 0 && attached == 2;
}

static bool time_injected_as(const struct setup *s, double *ns, bool dispatch_on)
{
	char *loop_argv[] = { (char *)s->loop, (char *)s->calls, NULL };
	struct bench_child loop, tracer = { .pid = -1, .to = -1, .from = -1 };
	int attached = 0;
	char pidtext[16];
	if (!bench_spawn(loop_argv, true, &loop))
		return false;
	bool ok = wait_ready(&loop, &attached);
	snprintf(pidtext, sizeof pidtext, "%d", (int)loop.pid);
	char *argv[] = { (char *)s->bpfvm, "trace", (char *)s->obj, "-j", dispatch_on ? "--dispatch-on" : "-j", "--pid",
	                 pidtext, NULL };
	ok = ok && bench_spawn(argv, false, &tracer);
	bool traced = ok && wait_tracer_ready(&tracer, &attached);
	ok = traced && attached == 2 && run_loop(&loop, &loop, ns, &attached);
	int loop_rc = bench_reap(&loop);
	if (tracer.pid > 0) {
		kill(tracer.pid, SIGINT);
		bench_reap(&tracer);
	}
	if (!ok || loop_rc != 0)
		fprintf(stderr, "injected: %d of 2 programs attached on the syscall path, the loop exited %d\n", attached,
		        loop_rc);
	return ok && loop_rc == 0;
}

static bool time_launched(const struct setup *s, double *ns) { return time_launched_as(s, ns, false); }
static bool time_injected(const struct setup *s, double *ns) { return time_injected_as(s, ns, false); }
static bool time_launched_on(const struct setup *s, double *ns) { return time_launched_as(s, ns, true); }
static bool time_injected_on(const struct setup *s, double *ns) { return time_injected_as(s, ns, true); }

static bool may_ptrace(const struct setup *s)
{
	char *argv[] = { (char *)s->loop, "1", NULL };
	struct bench_child c;
	if (!bench_spawn(argv, true, &c))
		return false;
	bool allowed = ptrace(PTRACE_SEIZE, c.pid, 0, 0) == 0;
	if (!allowed)
		printf("skipped: ptrace is not allowed here: %s\n", strerror(errno));
	kill(c.pid, SIGKILL);
	bench_reap(&c);
	return allowed;
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	int first = 1 + quick, rounds = quick ? 1 : 3;
	struct setup s = { BENCH_BPFVM, BENCH_TRACE_PROGS, BENCH_GETPPID_LOOP, "" };
	if (argc - first == 3)
		s.bpfvm = argv[first], s.obj = argv[first + 1], s.loop = argv[first + 2];
	else if (argc != first) {
		fprintf(stderr, "usage: bpfvm-trace-bench [--quick] [BPFVM OBJ LOOP]\n");
		return 2;
	}
	snprintf(s.calls, sizeof s.calls, "%d", quick ? 1000 : 200000);
	if (!may_ptrace(&s))
		return 77;
	bool (*const time_way[WAYS])(const struct setup *, double *) = { time_untraced, time_launched, time_injected,
	                                                                  time_launched_on, time_injected_on };
	double best[WAYS] = { 1e30, 1e30, 1e30, 1e30, 1e30 };
	for (int r = 0; r < rounds; r++)
		for (int w = 0; w < WAYS; w++) {
			double ns;
			if (!time_way[w](&s, &ns)) {
				fprintf(stderr, "%s: no figure\n", way_names[w]);
				return 1;
			}
			best[w] = ns < best[w] ? ns : best[w];
		}
	printf("getppid with raw_tracepoint sys_enter + sys_exit programs, ns per call (best of %d rounds):\n", rounds);
	for (int w = 0; w < WAYS; w++)
		printf("  %-40s %7.1f  (+%.1f)\n", way_names[w], best[w], best[w] - best[UNTRACED]);
	return 0;
}
