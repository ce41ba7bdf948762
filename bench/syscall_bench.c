/*
 * syscall_bench.c - bpfvm-syscall-bench: the cost of the syscall
 * interceptor's mechanism (src/hooks/syscall_*) per getppid, with empty
 * enter and exit handlers: untraced, through Syscall User Dispatch's
 * SIGSYS, and through a rewritten site's stub.  Prints ns per call (the
 * median of 15 batches) and the extra cost of each path over untraced.
 * `--quick` runs a few calls of each, for the smoke test.
 */
#define _GNU_SOURCE
#include "hooks/syscall_trace.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCHES 15

static void enter_empty(void *u, long nr, const unsigned long a[6], const struct pt_regs *r) { (void)u, (void)nr, (void)a, (void)r; }
static void exit_empty(void *u, long nr, const unsigned long a[6], long ret) { (void)u, (void)nr, (void)a, (void)ret; }

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);  /* the vDSO: no syscall */
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double ns_per_getppid(long calls)
{
	double batch[BATCHES];
	for (int b = 0; b < BATCHES; b++) {
		double t0 = now_ns();
		for (long i = 0; i < calls; i++)
			getppid();
		batch[b] = (now_ns() - t0) / (double)calls;
	}
	qsort(batch, BATCHES, sizeof batch[0], cmp_double);
	return batch[BATCHES / 2];
}

static int traced(unsigned flags, long calls, double *ns, struct syscall_trace_stats *st)
{
	static const struct syscall_handlers empty = {enter_empty, exit_empty};
	char err[SYSCALL_TRACE_ERRLEN] = "";
	int rc = syscall_trace_start(&empty, NULL, flags, err);
	if (rc < 0) {
		fprintf(stderr, "syscall_trace_start: %s\n", err);
		return rc;
	}
	*ns = ns_per_getppid(calls);
	syscall_trace_get_stats(st);
	syscall_trace_stop();
	return 0;
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	long calls = quick ? 100 : 200000;
	double plain = ns_per_getppid(calls), sud_ns, fast_ns;
	struct syscall_trace_stats sud_st, fast_st;
	int rc = traced(SYSCALL_TRACE_NO_REWRITE, calls / (quick ? 1 : 10), &sud_ns, &sud_st);
	if (rc == -EINVAL || rc == -ENOSYS || rc == -EPERM)
		return 77;
	if (rc < 0 || traced(0, calls, &fast_ns, &fast_st) < 0)
		return 1;
	printf("getppid, ns per call (median of %d batches), empty enter + exit handlers\n", BATCHES);
	printf("%-28s %8.1f\n", "untraced", plain);
	printf("%-28s %8.1f  (+%.1f)\n", "SUD path (SIGSYS)", sud_ns, sud_ns - plain);
	printf("%-28s %8.1f  (+%.1f)\n", "rewritten site (stub)", fast_ns, fast_ns - plain);
	/* Each path must have served the calls it is timed on. */
	if (sud_st.rewritten_calls != 0 || sud_st.sud_calls < (uint64_t)calls / (quick ? 1 : 10) ||
	    fast_st.rewritten_calls < (uint64_t)calls) {
		fprintf(stderr, "a path did not serve its calls: SUD %lu, rewritten %lu\n",
			(unsigned long)sud_st.sud_calls, (unsigned long)fast_st.rewritten_calls);
		return 1;
	}
	return 0;
}
