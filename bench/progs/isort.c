/*
 * isort.c - benchmark "isort": insertion sort in place.
 *
 * Owns: sorting the buffer's u32 words in place by insertion (about n*n/4
 * compare-and-move steps for random input), then a position-weighted
 * checksum that any misplaced element would change.  The input is
 * overwritten, so the runner restores it before every run.  (128
 * elements, not more: the kernel's verifier walks every compare-and-move
 * step the worst case could take, about n*n/2, at some 40 instructions
 * each, and stops at a million; 128 take it to about 340,000.)
 */
#include "bench_prog.h"

BENCH_ENTRY(isort)
{
	uint32_t *a = mem;
	uint64_t n = len / 4;
	for (uint64_t i = 1; i < n; i++) {
		uint32_t v = a[i];
		uint64_t j = i;
		/* The test of a[j - 1] at the bottom, so that clang makes
		 * "keep moving" the taken branch and "stop" the fall-through
		 * (see README.md: the kernel's verifier follows fall-throughs
		 * first and keeps the taken side for later). */
		if (a[j - 1] > v) {
			do {
				a[j] = a[j - 1];
				j--;
			} while (j > 0 && a[j - 1] > v);
		}
		a[j] = v;
	}
	uint64_t sum = 0;
	for (uint64_t i = 0; i < n; i++)
		sum = sum * 31 + a[i];
	return sum;
}

#ifndef __bpf__
BENCH_DESC(isort, "sorting: insertion sort of 128 u32 in place, then a checksum",
           512, 1, bench_fill_random, 5);
#endif
