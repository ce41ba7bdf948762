/*
 * collatz.c - benchmark "collatz": Collatz trajectories.
 *
 * Owns: for each u16 of the input, taken as a start value (plus one, so
 * never 0), the number of 3x+1 / x/2 steps to reach 1, capped at 1000
 * (no start below 2^16 needs more than 350; the cap bounds the loop for a
 * verifier), summed with the trajectory's peak.  Short data-dependent
 * loops with an unpredictable branch each step.
 */
#include "bench_prog.h"

#define MAX_STEPS 1000

BENCH_ENTRY(collatz)
{
	const uint16_t *w = mem;
	uint64_t n = len / 2, total = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t x = (uint64_t)w[i] + 1, peak = x, steps = 0;
		while (x != 1 && steps < MAX_STEPS) {
			x = (x & 1) ? 3 * x + 1 : x >> 1;
			if (x > peak)
				peak = x;
			steps++;
		}
		total += steps * 0x10001 + peak;
	}
	return total;
}

#ifndef __bpf__
BENCH_DESC(collatz, "arithmetic: Collatz step counts and peaks for 256 u16 start values",
           512, 0, bench_fill_random, 12);
#endif
