/*
 * probes.c - bpfvm-probe-bench: what a function probe costs per call
 * (src/hooks/probe*.c): a ~1 ns function called in a loop bare, with an
 * entry probe, with entry and return probes, and on the int3 path for
 * comparison; each with handlers that do nothing (the mechanism alone)
 * and with handlers that run a trivial program (PT_REGS_PARM1 at entry,
 * PT_REGS_RC at return) through bpfvm_hook_run, as `bpfvm trace` runs
 * its programs.  Issue 14's goals: entry <= 50 ns, entry + return
 * <= 100 ns, with the program.
 *
 *     bpfvm-probe-bench [--quick]      # --quick: few calls, for ctest
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hook_prog.h"
#include "hooks/probe.h"

/* Probed C functions must stay whole and called: gcc's noipa; clang
 * (the fuzzing build) has no noipa, and noinline + optnone do the same. */
#ifdef __clang__
#define PROBED __attribute__((noinline, optnone))
#else
#define PROBED __attribute__((noipa))
#endif

PROBED long bench_target(long x)
{
	return x + 1;
}

static int empty_entry(struct pt_regs *regs, void *user, uint64_t *rc)
{
	(void)regs, (void)user, (void)rc;
	return 0;
}

static void empty_return(struct pt_regs *regs, void *user)
{
	(void)regs, (void)user;
}

static bpfvm_hook *entry_hook, *return_hook;
static uint64_t entry_result, return_result;   /* the programs' last results, checked */

static int bpf_entry(struct pt_regs *regs, void *user, uint64_t *rc)
{
	(void)user, (void)rc;
	bpfvm_hook_run(entry_hook, regs, &entry_result, NULL);
	return 0;
}

static void bpf_return(struct pt_regs *regs, void *user)
{
	(void)user;
	bpfvm_hook_run(return_hook, regs, &return_result, NULL);
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Nanoseconds per call, best of 5 rounds of n calls; the sum is checked
 * so the calls cannot be dropped. */
static double per_call(long n)
{
	double best = 1e30;
	for (int round = 0; round < 5; round++) {
		long sum = 0;
		double t0 = now_ns();
		for (long i = 0; i < n; i++)
			sum += bench_target(i);
		double t = (now_ns() - t0) / n;
		if (sum != n * (n + 1) / 2)
			fprintf(stderr, "bench_target returned wrong values\n");
		if (t < best)
			best = t;
	}
	return best;
}

/* Attaches as asked, times, detaches; prints one row.  Returns 0 or -1. */
static int row(const char *name, const struct probe_handlers *h, int force_int3, long n, double bare)
{
	struct probe_attach_opts opts = { .force_int3 = force_int3 };
	struct probe *p;
	bpfvm_error err = { 0 };
	if (probe_attach(bench_target, &opts, h, NULL, &p, &err) < 0) {
		fprintf(stderr, "%s: %s\n", name, err.msg);
		return -1;
	}
	double t = per_call(n);
	enum probe_path path = probe_path(p);
	probe_detach(p);
	printf("| %-26s | %-10s | %8.1f | %8.1f |\n", name, path == PROBE_PATH_TRAMPOLINE ? "trampoline" : "int3", t,
	       t - bare);
	return 0;
}

int main(int argc, char **argv)
{
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	long n = quick ? 100000 : 20000000, n_trap = quick ? 2000 : 200000;
	bpfvm_program *entry_prog = NULL, *return_prog = NULL;
	entry_hook = bench_trivial_hook(BPF_PROG_TYPE_KPROBE, "ldxdw %r0, [%r1+112]\nexit\n", &entry_prog);
	return_hook = bench_trivial_hook(BPF_PROG_TYPE_KPROBE, "ldxdw %r0, [%r1+80]\nexit\n", &return_prog);
	if (!entry_hook || !return_hook)
		return 1;
	const struct probe_handlers entry = { empty_entry, NULL }, both = { empty_entry, empty_return };
	const struct probe_handlers bpf = { bpf_entry, NULL }, bpf_both = { bpf_entry, bpf_return };
	double bare = per_call(n);
	printf("| probe                      | path       | ns/call  | added ns |\n");
	printf("|----------------------------|------------|----------|----------|\n");
	printf("| %-26s | %-10s | %8.1f | %8.1f |\n", "none (the bare function)", "-", bare, 0.0);
	int rc = 0;
	rc |= row("entry, empty handler", &entry, 0, n, bare);
	rc |= row("entry, BPF program", &bpf, 0, n, bare);
	rc |= row("entry + return, empty", &both, 0, n, bare);
	rc |= row("entry + return, BPF", &bpf_both, 0, n, bare);
	rc |= row("entry, empty handler", &entry, 1, n_trap, bare);
	rc |= row("entry + return, empty", &both, 1, n_trap, bare);
	rc |= row("entry + return, BPF", &bpf_both, 1, n_trap, bare);
	/* per_call's last call is bench_target(n - 1), which returns n */
	if (entry_result != (uint64_t)(n_trap - 1) || return_result != (uint64_t)n_trap) {
		fprintf(stderr, "the programs did not run: entry gave %lu, return %lu\n", (unsigned long)entry_result,
			(unsigned long)return_result);
		rc = 1;
	}
	bpfvm_hook_free(entry_hook);
	bpfvm_hook_free(return_hook);
	bpfvm_program_free(entry_prog);
	bpfvm_program_free(return_prog);
	return rc ? 1 : 0;
}
