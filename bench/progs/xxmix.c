/*
 * xxmix.c - benchmark "xxmix": a wide multiply-rotate hash.
 *
 * Owns: an xxHash64-shaped hash (four independent lanes over 32-byte
 * stripes, multiply/rotate rounds, a merge and an avalanche), run over
 * the buffer 96 times with each pass seeded by the last.  It is not
 * xxHash64 bit for bit; it has its shape: four parallel chains that a
 * superscalar CPU overlaps and an interpreter runs one after another.
 */
#include "bench_prog.h"

#define ROUNDS 96
#define P1 0x9e3779b185ebca87ull
#define P2 0xc2b2ae3d27d4eb4full
#define P3 0x165667b19e3779f9ull
#define P4 0x85ebca77c2b2ae63ull

BENCH_INLINE uint64_t xx_round(uint64_t acc, uint64_t in)
{
	acc += in * P2;
	acc = bench_rotl64(acc, 31);
	return acc * P1;
}

BENCH_INLINE uint64_t xx_merge(uint64_t h, uint64_t v)
{
	h ^= xx_round(0, v);
	return h * P1 + P4;
}

BENCH_ENTRY(xxmix)
{
	const uint64_t *w = mem;
	uint64_t stripes = len / 32;
	uint64_t seed = 0;
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
		for (uint64_t s = 0; s < stripes; s++) {
			v1 = xx_round(v1, w[4 * s + 0]);
			v2 = xx_round(v2, w[4 * s + 1]);
			v3 = xx_round(v3, w[4 * s + 2]);
			v4 = xx_round(v4, w[4 * s + 3]);
		}
		uint64_t h = bench_rotl64(v1, 1) + bench_rotl64(v2, 7) +
		             bench_rotl64(v3, 12) + bench_rotl64(v4, 18);
		h = xx_merge(h, v1);
		h = xx_merge(h, v2);
		h = xx_merge(h, v3);
		h = xx_merge(h, v4);
		h += len;
		h ^= h >> 33;
		h *= P2;
		h ^= h >> 29;
		h *= P3;
		h ^= h >> 32;
		seed = h;
	}
	return seed;
}

#ifndef __bpf__
BENCH_DESC(xxmix, "hashing: xxHash64-shaped 4-lane multiply/rotate, 96 chained passes",
           3072, 0, bench_fill_random, 4);
#endif
