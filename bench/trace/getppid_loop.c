/*
 * getppid_loop.c - the process bpfvm-trace-bench times getppid in, traced
 * or not (built without sanitizers, as any traced program): prints
 * "ready PID", waits for a line on stdin (the tracer has attached by
 * then), times BATCHES batches of CALLS getppid() and prints
 * "ns BEST" (ns per call of the best batch) and "ppid P", then exits.
 *
 *   getppid_loop CALLS
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define BATCHES 15

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);   /* the vDSO: no syscall */
	return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv)
{
	long calls = argc > 1 ? atol(argv[1]) : 200000;
	char line[64];
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (!fgets(line, sizeof line, stdin))
		return 1;
	pid_t ppid = getppid();   /* a traced site's first call traps and is rewritten */
	double best = 1e30;
	for (int b = 0; b < BATCHES; b++) {
		double t0 = now_ns();
		for (long i = 0; i < calls; i++)
			if (getppid() != ppid)
				return 1;
		double ns = (now_ns() - t0) / (double)calls;
		best = ns < best ? ns : best;
	}
	printf("ns %.1f\nppid %d\n", best, (int)ppid);
	return 0;
}
