/*
 * loop_words.c - benchmark "loop_words": plain counted loops.
 *
 * Owns: a nest of counted loops over the buffer's 64-bit words with one
 * long dependency chain (xor, rotate, add), so neither side can vectorise
 * it and the figure is the cost of a loop iteration and a load.
 */
#include "bench_prog.h"

#define ROUNDS 24

BENCH_ENTRY(loop_words)
{
	const uint64_t *w = mem;
	uint64_t n = len / 8;
	uint64_t acc = len;
	for (uint64_t r = 0; r < ROUNDS; r++)
		for (uint64_t i = 0; i < n; i++)
			acc = bench_rotl64(acc ^ w[i], 7) + i + r;
	return acc;
}

#ifndef __bpf__
BENCH_DESC(loop_words, "counted loops: xor/rotate/add chain over u64 words, 24 passes",
           3072, 0, bench_fill_random, 1);
#endif
