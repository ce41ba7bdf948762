/*
 * isort.c - benchmark "isort": insertion sort in place.
 *
 * Owns: sorting the buffer's u32 words in place by insertion (about n*n/4
 * compare-and-move steps for random input), then a position-weighted
 * checksum that any misplaced element would change.  The input is
 * overwritten, so the runner restores it before every run.
 */
#include "bench_prog.h"

BENCH_ENTRY(isort)
{
	uint32_t *a = mem;
	uint64_t n = len / 4;
	for (uint64_t i = 1; i < n; i++) {
		uint32_t v = a[i];
		uint64_t j = i;
		while (j > 0 && a[j - 1] > v) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = v;
	}
	uint64_t sum = 0;
	for (uint64_t i = 0; i < n; i++)
		sum = sum * 31 + a[i];
	return sum;
}

#ifndef __bpf__
BENCH_DESC(isort, "sorting: insertion sort of 384 u32 in place, then a checksum",
           1536, 1, bench_fill_random, 5);
#endif
