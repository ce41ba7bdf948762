/*
 * fnv1a.c - benchmark "fnv1a": byte-at-a-time hashing.
 *
 * Owns: 64-bit FNV-1a over the buffer, four chained passes.  One byte
 * load, xor and multiply per step: the shortest possible loop body, so
 * dispatch cost per instruction dominates in an interpreter.
 */
#include "bench_prog.h"

#define ROUNDS 4

BENCH_ENTRY(fnv1a)
{
	const uint8_t *p = mem;
	uint64_t h = 0xcbf29ce484222325ull;
	for (int r = 0; r < ROUNDS; r++)
		for (uint64_t i = 0; i < len; i++) {
			h ^= p[i];
			h *= 0x100000001b3ull;
		}
	return h;
}

#ifndef __bpf__
BENCH_DESC(fnv1a, "hashing: 64-bit FNV-1a byte by byte, 4 passes", 3072, 0, bench_fill_random, 3);
#endif
