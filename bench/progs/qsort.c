/*
 * qsort.c - benchmark "qsort": quicksort with an explicit stack.
 *
 * Owns: an iterative quicksort of the buffer's u32 words in place (Lomuto
 * partition around a median of three; the larger side is pushed and the
 * smaller one sorted next, so at most log2(n) ranges wait; short ranges
 * go to insertion sort), then a checksum of the sorted order and a
 * scramble of the values for the next of three rounds.  The range stack
 * is a local array, so it lives on the 512-byte BPF stack.
 */
#include "bench_prog.h"

#define STACK_RANGES 32          /* 2 x 32 x 4 bytes: 256 of the 512 bytes */
#define ROUNDS 3

BENCH_INLINE void swap32(uint32_t *a, uint32_t *b)
{
	uint32_t t = *a;
	*a = *b;
	*b = t;
}

BENCH_ENTRY(qsort)
{
	uint32_t *a = mem;
	uint32_t n = (uint32_t)(len / 4);
	uint32_t lo_stack[STACK_RANGES], hi_stack[STACK_RANGES];
	uint64_t sum = 0;
	for (uint32_t round = 0; round < ROUNDS; round++) {
		uint32_t sp = 0;
		uint32_t lo = 0, hi = n;                 /* half-open: [lo, hi) */
		for (;;) {
			while (hi - lo > 1) {
				if (hi - lo <= 8) {
					for (uint32_t i = lo + 1; i < hi; i++) {
						uint32_t v = a[i], j = i;
						while (j > lo && a[j - 1] > v) {
							a[j] = a[j - 1];
							j--;
						}
						a[j] = v;
					}
					break;
				}
				uint32_t last = hi - 1, mid = lo + (hi - lo) / 2;
				if (a[mid] < a[lo])
					swap32(&a[mid], &a[lo]);
				if (a[last] < a[lo])
					swap32(&a[last], &a[lo]);
				if (a[mid] < a[last])
					swap32(&a[mid], &a[last]);
				uint32_t pivot = a[last], store = lo;   /* the median of three */
				for (uint32_t i = lo; i < last; i++)
					if (a[i] < pivot)
						swap32(&a[i], &a[store++]);
				swap32(&a[store], &a[last]);
				/* Left [lo, store), right [store + 1, hi): push the
				 * larger.  Its depth bound makes the sp test never
				 * fail; it is there so the index is visibly in bounds. */
				if (store - lo > hi - (store + 1)) {
					if (sp < STACK_RANGES) {
						lo_stack[sp] = lo;
						hi_stack[sp] = store;
						sp++;
					}
					lo = store + 1;
				} else {
					if (sp < STACK_RANGES) {
						lo_stack[sp] = store + 1;
						hi_stack[sp] = hi;
						sp++;
					}
					hi = store;
				}
			}
			if (sp == 0)
				break;
			sp--;
			lo = lo_stack[sp];
			hi = hi_stack[sp];
		}
		/* Fold the sorted order into the checksum, then scramble the
		 * values (murmur3's finaliser) so the next round sorts afresh. */
		for (uint32_t i = 0; i < n; i++) {
			uint32_t x = a[i];
			sum = sum * 31 + x;
			x ^= round;
			x ^= x >> 16;
			x *= 0x85ebca6bu;
			x ^= x >> 13;
			x *= 0xc2b2ae35u;
			x ^= x >> 16;
			a[i] = x;
		}
	}
	return sum;
}

#ifndef __bpf__
BENCH_DESC(qsort, "sorting: iterative quicksort of 864 u32 in place (range stack on the BPF stack), 3 rounds",
           3456, 1, bench_fill_random, 6);
#endif
