/*
 * probes.c - bpfvm-probe-bench: what a function probe costs per call
 * (src/hooks/probe*.c): a ~1 ns function called in a loop bare, with an
 * entry probe, with entry and return probes, and on the int3 path for
 * comparison; each with handlers that do nothing (the mechanism alone)
 * and with handlers that run a trivial program (PT_REGS_PARM1 at entry,
 * PT_REGS_RC at return) through bpfvm_hook_run, as `bpfvm trace` runs
 * its programs.  Issue 14's goals: entry <= 50 ns, entry + return
 * <= 100 ns, with the program.  Then the same function probed by the
 * kernel with the same program (kernel_hooks.c: a uprobe, and a uprobe +
 * uretprobe, through the uprobe PMU), beside bpfvm's figures, with the
 * ratio; skipped with a message where bpf() or the PMU is missing.
 *
 *     bpfvm-probe-bench [--quick]      # --quick: few calls, for ctest
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hook_prog.h"
#include "hooks/probe.h"
#include "kernel_hooks.h"

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

/* Attaches as asked, times, detaches; prints one row.  Returns 0 or -1;
 * *added (if not NULL): ns per call above the bare function. */
static int row(const char *name, const struct probe_handlers *h, int force_int3, long n, double bare,
               double *added)
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
	if (added)
		*added = t - bare;
	return 0;
}

/* The kernel's probes of bench_target with the same programs: ns per call
 * above the bare function into kernel_added[0] (uprobe) and [1] (uprobe +
 * uretprobe).  0; 1 if a program did not see what bpfvm's saw; 77 if the
 * kernel cannot (the message said why). */
static int kernel_rows(long n, double bare, double kernel_added[2])
{
	struct kernel_hook entry, ret;
	char why[512];
	uint64_t arg = 0, rc = 0;
	if (kernel_uprobe_attach(bench_target, false, 112, &entry, why, sizeof why) < 0) {
		printf("kernel: skipped: %s\n", why);
		return 77;
	}
	kernel_added[0] = per_call(n) - bare;
	if (kernel_uprobe_attach(bench_target, true, 80, &ret, why, sizeof why) < 0) {
		printf("kernel: uretprobe skipped: %s\n", why);
		kernel_hook_detach(&entry);
		return 77;
	}
	kernel_added[1] = per_call(n) - bare;
	kernel_hook_value(&entry, &arg);
	kernel_hook_value(&ret, &rc);
	kernel_hook_detach(&entry);
	kernel_hook_detach(&ret);
	/* per_call's last call is bench_target(n - 1), which returns n */
	if (arg != (uint64_t)(n - 1) || rc != (uint64_t)n) {
		fprintf(stderr, "the kernel's programs did not run: entry gave %#lx, return %#lx\n", (unsigned long)arg,
		        (unsigned long)rc);
		return 1;
	}
	return 0;
}

static void print_beside(const char *name, double bpfvm, double kernel)
{
	printf("| %-26s | %10.1f | %10.1f | %11.0fx |\n", name, bpfvm, kernel, kernel / bpfvm);
}

int main(int argc, char **argv)
{
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	long n = quick ? 100000 : 20000000, n_trap = quick ? 2000 : 200000, n_kernel = quick ? 200 : 20000;
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
	double bpfvm_added[2] = { 0, 0 }, kernel_added[2];
	rc |= row("entry, empty handler", &entry, 0, n, bare, NULL);
	rc |= row("entry, BPF program", &bpf, 0, n, bare, &bpfvm_added[0]);
	rc |= row("entry + return, empty", &both, 0, n, bare, NULL);
	rc |= row("entry + return, BPF", &bpf_both, 0, n, bare, &bpfvm_added[1]);
	rc |= row("entry, empty handler", &entry, 1, n_trap, bare, NULL);
	rc |= row("entry + return, empty", &both, 1, n_trap, bare, NULL);
	rc |= row("entry + return, BPF", &bpf_both, 1, n_trap, bare, NULL);
	/* per_call's last call is bench_target(n - 1), which returns n */
	if (entry_result != (uint64_t)(n_trap - 1) || return_result != (uint64_t)n_trap) {
		fprintf(stderr, "the programs did not run: entry gave %lu, return %lu\n", (unsigned long)entry_result,
			(unsigned long)return_result);
		rc = 1;
	}
	int kernel = kernel_rows(n_kernel, bare, kernel_added);
	if (kernel == 0) {
		printf("\nbeside the kernel (uprobe PMU, BPF_PROG_TYPE_KPROBE), the same program, ns added per call:\n");
		printf("| probe with a BPF program   |      bpfvm |     kernel | kernel/bpfvm |\n");
		printf("|----------------------------|------------|------------|--------------|\n");
		print_beside("entry probe", bpfvm_added[0], kernel_added[0]);
		print_beside("entry + return probes", bpfvm_added[1], kernel_added[1]);
	}
	rc |= kernel == 1;
	bpfvm_hook_free(entry_hook);
	bpfvm_hook_free(return_hook);
	bpfvm_program_free(entry_prog);
	bpfvm_program_free(return_prog);
	return rc ? 1 : 0;
}
