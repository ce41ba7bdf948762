/*
 * collatz.c - benchmark "collatz": Collatz trajectories.
 *
 * Owns: for each u16 of the input, taken as a start value (plus one, so
 * never 0), the number of 3x+1 / x/2 steps to reach 1, capped at 340
 * (no start up to 2^16 needs more than 339; the cap bounds the loop for
 * a verifier), summed with the trajectory's peak.  Short data-dependent
 * loops; each step is branch-free (multiplies by the low bit), as native
 * code does it with cmov, because BPF has no select and a branch would
 * cost the kernel's verifier a state per step.  (64 start values, not
 * more: the verifier walks all 340 steps of each, about 11,000
 * instructions a value, and stops at a million.)
 */
#include "bench_prog.h"

#define MAX_STEPS 340            /* no start value below 2^16 + 1 needs more than 339 */

BENCH_ENTRY(collatz)
{
	const uint16_t *w = mem;
	uint64_t n = len / 2, total = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t x = (uint64_t)w[i] + 1, peak = x, steps = 0;
		while (steps < MAX_STEPS && x != 1) {
			/* Branch-free, as clang makes it natively (two cmovs):
			 * x = odd ? 3x + 1 : x / 2, then peak = max(peak, x). */
			uint64_t odd = x & 1;
			x = odd * (3 * x + 1) + (odd ^ 1) * (x >> 1);
			uint64_t gt = (peak - x) >> 63;   /* x > peak; both < 2^63 */
			BENCH_OPAQUE(gt);
			peak += gt * (x - peak);
			steps++;
		}
		total += steps * 0x10001 + peak;
	}
	return total;
}

#ifndef __bpf__
BENCH_DESC(collatz, "arithmetic: Collatz step counts and peaks for 64 u16 start values",
           128, 0, bench_fill_random, 12);
#endif
