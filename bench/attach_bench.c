/*
 * attach_bench.c - bpfvm-attach-bench: how long `bpfvm trace --pid` takes
 * to attach one uprobe inside a running process (issue 14's goal: <= 50
 * ms).  Each round starts a fresh target (tests/trace/trace_target serve,
 * asleep in read()), runs `bpfvm trace OBJ --prog work_enter -j --pid PID`
 * on it and reads its JSON lines until "ready": the agent injected
 * through ptrace (dlopen in the target), started, handed the object and
 * the maps, the program verified, compiled and attached on the trampoline
 * path.  Then it attaches once more to the same target, whose agent is
 * loaded already.  Prints, best and median over the rounds:
 *
 *   from injection   bpfvm trace's own attach_ms (inject start to ready)
 *   whole command    from starting bpfvm trace to its "ready" line
 *   agent loaded     attach_ms of the second attach (no dlopen)
 *
 * Then a syscall program: `bpfvm trace syscount.bpf.o -j --stats --
 * examples_target getppid 10` (the agent preloaded), whose attach_ms is
 * mostly the sweep of every syscall site before dispatch goes off (the
 * mode line must say "dispatch off"), and the same with --dispatch-on.
 *
 *     bpfvm-attach-bench [--quick] [BPFVM TRACE_OBJ TARGET [SYSCALL_OBJ SYSCALL_TARGET]]
 *
 * The paths default to the build's (compiled in).  Exits 77 where this
 * process may not ptrace its children.
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

/* May this process ptrace a child of its own?  (test_inject's probe) */
static bool may_ptrace(pid_t pid)
{
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) != 0) {
		printf("skipped: ptrace is not allowed here: %s\n", strerror(errno));
		return false;
	}
	int st;
	ptrace(PTRACE_INTERRUPT, pid, 0, 0);
	waitpid(pid, &st, __WALL);
	ptrace(PTRACE_DETACH, pid, 0, 0);
	return true;
}

/* One `bpfvm trace --pid`: *attach_ms its own figure, *whole_ms from its
 * start to its ready line.  false, with its lines on stderr, if the probe
 * did not attach on the trampoline path. */
static bool trace_once(const char *bpfvm, const char *obj, pid_t pid, double *attach_ms, double *whole_ms)
{
	char pidtext[16], line[1024];
	snprintf(pidtext, sizeof pidtext, "%d", (int)pid);
	char *argv[] = { (char *)bpfvm, "trace", (char *)obj, "--prog", "work_enter", "-j",
		         "--duration", "0.01", "--pid", pidtext, NULL };
	struct bench_child t;
	double t0 = bench_now_ms();
	if (!bench_spawn(argv, false, &t))
		return false;
	bool trampoline = false, ready = false;
	while (!ready && bench_read_line(&t, line, sizeof line)) {
		const char *ms = strstr(line, "\"attach_ms\":");
		trampoline |= strstr(line, "\"type\":\"attach\"") && strstr(line, "\"error\":0") &&
		              strstr(line, "\"path\":\"trampoline\"");
		if (strstr(line, "\"type\":\"ready\"") && ms && !strstr(line, "\"error\":true")) {
			*whole_ms = bench_now_ms() - t0;
			*attach_ms = atof(ms + strlen("\"attach_ms\":"));
			ready = true;
		} else if (!strstr(line, "\"type\":\"process\"") && !strstr(line, "\"type\":\"attach\"")) {
			fprintf(stderr, "bpfvm trace: %s\n", line);
		}
	}
	int rc = bench_reap(&t);
	if (!ready || !trampoline || rc != 0) {
		fprintf(stderr, "bpfvm trace --pid %d: %s (exit %d)\n", (int)pid,
		        !ready ? "no ready line" : !trampoline ? "work_enter not on the trampoline path" : "failed", rc);
		return false;
	}
	return true;
}

/* A fresh target: attached to, then attached to again (agent loaded). */
static bool round_once(const char *const paths[3], double ms[3])
{
	char *argv[] = { (char *)paths[2], "serve", NULL };
	char line[128];
	struct bench_child target;
	if (!bench_spawn(argv, true, &target))
		return false;
	int pid = 0;
	bool ok = bench_read_line(&target, line, sizeof line) && sscanf(line, "ready %d", &pid) == 1 && pid == target.pid;
	if (!ok)
		fprintf(stderr, "%s serve: no ready line\n", paths[2]);
	ok = ok && trace_once(paths[0], paths[1], target.pid, &ms[0], &ms[1]);
	double whole;
	ok = ok && trace_once(paths[0], paths[1], target.pid, &ms[2], &whole);
	if (write(target.to, "quit\n", 5) != 5)
		kill(target.pid, SIGKILL);
	int rc = bench_reap(&target);
	if (ok && rc != 0)
		fprintf(stderr, "the target exited with %d after being traced\n", rc);
	return ok && rc == 0;
}

/* One `bpfvm trace SYSCALL_OBJ -- SYSCALL_TARGET getppid 10`: its
 * attach_ms; false unless it ends in the mode asked for. */
static bool syscall_once(const char *bpfvm, const char *obj, const char *target, bool dispatch_on, double *attach_ms)
{
	char line[2048];
	char *argv[] = { (char *)bpfvm, "trace", (char *)obj, "-j", "--stats", "--", (char *)target, "getppid", "10",
		         NULL, NULL };
	if (dispatch_on) {   /* before the "--" */
		memmove(argv + 6, argv + 5, 5 * sizeof argv[0]);
		argv[5] = "--dispatch-on";
	}
	struct bench_child t;
	if (!bench_spawn(argv, false, &t))
		return false;
	bool ready = false, mode_ok = false;
	while (bench_read_line(&t, line, sizeof line)) {
		const char *ms = strstr(line, "\"attach_ms\":");
		if (strstr(line, "\"type\":\"ready\"") && ms) {
			*attach_ms = atof(ms + strlen("\"attach_ms\":"));
			ready = true;
		}
		if (strstr(line, "\"type\":\"stats\""))
			mode_ok = strstr(line, dispatch_on ? "\"mode\":\"dispatch on" : "\"mode\":\"dispatch off") != NULL;
	}
	int rc = bench_reap(&t);
	if (!ready || !mode_ok || rc != 0)
		fprintf(stderr, "bpfvm trace %s -- %s: %s (exit %d)\n", obj, target,
		        !ready ? "no ready line" : !mode_ok ? "not in the mode asked for" : "failed", rc);
	return ready && mode_ok && rc == 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Best and median of n figures (sorts them). */
static void print_figure(const char *name, double *v, int n)
{
	qsort(v, (size_t)n, sizeof v[0], cmp_double);
	printf("  %-44s best %6.1f ms   median %6.1f ms\n", name, v[0], v[n / 2]);
}

#define MAX_ROUNDS 20

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	int first = 1 + quick, rounds = quick ? 2 : 10;
	const char *paths[3] = { BENCH_BPFVM, BENCH_TRACE_OBJ, BENCH_TRACE_TARGET };
	const char *syscall_paths[2] = { BENCH_SYSCALL_OBJ, BENCH_SYSCALL_TARGET };
	if (argc - first == 3 || argc - first == 5)
		paths[0] = argv[first], paths[1] = argv[first + 1], paths[2] = argv[first + 2];
	if (argc - first == 5)
		syscall_paths[0] = argv[first + 3], syscall_paths[1] = argv[first + 4];
	else if (argc != first && argc - first != 3) {
		fprintf(stderr, "usage: bpfvm-attach-bench [--quick] [BPFVM TRACE_OBJ TARGET [SYSCALL_OBJ SYSCALL_TARGET]]\n");
		return 2;
	}
	struct bench_child probe;
	char *probe_argv[] = { (char *)paths[2], "serve", NULL };
	if (!bench_spawn(probe_argv, true, &probe))
		return 1;
	bool allowed = may_ptrace(probe.pid);
	kill(probe.pid, SIGKILL);
	bench_reap(&probe);
	if (!allowed)
		return 77;
	double fig[3][MAX_ROUNDS];
	for (int r = 0; r < rounds; r++) {
		double ms[3];
		if (!round_once(paths, ms))
			return 1;
		for (int i = 0; i < 3; i++)
			fig[i][r] = ms[i];
	}
	printf("bpfvm trace --pid, one uprobe in a sleeping process, %d rounds (a fresh process each):\n", rounds);
	print_figure("from injection (bpfvm trace's attach_ms)", fig[0], rounds);
	print_figure("whole command, start to ready", fig[1], rounds);
	print_figure("again, agent already loaded (attach_ms)", fig[2], rounds);
	double sys[2][MAX_ROUNDS];
	for (int r = 0; r < rounds; r++)
		for (int on = 0; on < 2; on++)
			if (!syscall_once(paths[0], syscall_paths[0], syscall_paths[1], on, &sys[on][r]))
				return 1;
	printf("bpfvm trace syscount.bpf.o -- examples_target (agent preloaded), %d rounds:\n", rounds);
	print_figure("a syscall program, dispatch off (attach_ms)", sys[0], rounds);
	print_figure("the same, --dispatch-on (attach_ms)", sys[1], rounds);
	return 0;
}
