/*
 * multi_target.c - the program uprobe.multi's tests trace (built without
 * sanitizers, as any traced program): four functions one pattern names,
 * work_*, each called a known number of times with known arguments.
 *
 *   multi_target run A B C T   work_a(i) for i < A, work_b(i) for i < B,
 *                              work_c(i) for i < C, work_tiny(i) for i < T
 *   multi_target serve         prints "ready PID", then reads "go A B C T"
 *                              (the same calls, then "done") and "quit"
 *   multi_target nest N        N calls of nest_caller(), whose first
 *                              instruction calls nest_leaf(): a probe's
 *                              jump displaces that call
 *
 * Each mode first prints "addr NAME ADDRESS" (decimal) for every work_*
 * function, which bpf_get_func_ip must give.  work_a, work_b and work_c
 * are long enough for a trampoline; work_tiny (mov, ret: 4 bytes) is not,
 * so its probe takes the int3 path.  Results: work_a(i) = i + 1,
 * work_b(i) = 2i, work_c(i) = 3i + 1, work_tiny(i) = i.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __clang__
#define WHOLE __attribute__((noinline))
#else
#define WHOLE __attribute__((noipa))   /* no clone, no inlining: each called as itself */
#endif

volatile long sink;

WHOLE long work_a(long i)
{
	sink += i;
	if (sink == 0x7fffffff)
		sink = 0;
	return i + 1;
}

WHOLE long work_b(long i)
{
	sink ^= i;
	if (sink == 0x7ffffffe)
		sink = 1;
	return 2 * i;
}

WHOLE long work_c(long i)
{
	sink -= i;
	if (sink == 0x7ffffffd)
		sink = 2;
	return 3 * i + 1;
}

WHOLE long work_tiny(long i)
{
	return i;
}

WHOLE void nest_leaf(void)
{
	sink++;
}

WHOLE void nest_caller(void)
{
	nest_leaf();
	sink += 2;   /* not a tail call */
}

static void print_addresses(void)
{
	printf("addr work_a %lu\naddr work_b %lu\naddr work_c %lu\naddr work_tiny %lu\n", (unsigned long)(uintptr_t)work_a,
	       (unsigned long)(uintptr_t)work_b, (unsigned long)(uintptr_t)work_c, (unsigned long)(uintptr_t)work_tiny);
	fflush(stdout);
}

static void calls(long a, long b, long c, long t)
{
	for (long i = 0; i < a; i++)
		work_a(i);
	for (long i = 0; i < b; i++)
		work_b(i);
	for (long i = 0; i < c; i++)
		work_c(i);
	for (long i = 0; i < t; i++)
		work_tiny(i);
}

static int serve(void)
{
	char line[128];
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (fgets(line, sizeof line, stdin)) {
		long a, b, c, t;
		if (sscanf(line, "go %ld %ld %ld %ld", &a, &b, &c, &t) == 4) {
			calls(a, b, c, t);
			printf("done\n");
			fflush(stdout);
		} else if (!strncmp(line, "quit", 4)) {
			break;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	print_addresses();
	if (argc == 6 && !strcmp(argv[1], "run")) {
		calls(atol(argv[2]), atol(argv[3]), atol(argv[4]), atol(argv[5]));
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "nest")) {
		for (long i = atol(argv[2]); i > 0; i--)
			nest_caller();
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "serve"))
		return serve();
	fprintf(stderr, "usage: multi_target run A B C T | serve | nest N\n");
	return 2;
}
