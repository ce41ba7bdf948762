/*
 * sieve.c - benchmark "sieve": the sieve of Eratosthenes in the buffer.
 *
 * Owns: a prime sieve over [0, len) that keeps one flag per byte in the
 * byte's top bit (so the low seven bits of input survive), then a sum of
 * p * (low bits of byte p) over the primes p, eight times over.  The
 * input is written, so the runner restores it before every run.
 */
#include "bench_prog.h"

#define ROUNDS 8

BENCH_ENTRY(sieve)
{
	uint8_t *f = mem;
	uint64_t total = 0;
	for (int r = 0; r < ROUNDS; r++) {
		for (uint64_t i = 0; i < len; i++)
			f[i] &= 0x7f;                   /* top bit clear: maybe prime */
		for (uint64_t i = 2; i * i < len; i++) {
			if (f[i] & 0x80)
				continue;
			for (uint64_t j = i * i; j < len; j += i)
				f[j] |= 0x80;
		}
		uint64_t sum = 0;
		for (uint64_t i = 2; i < len; i++)
			if (!(f[i] & 0x80))
				sum += i * (f[i] & 0x7f);
		total = total * 0x100000001b3ull + sum;
	}
	return total;
}

#ifndef __bpf__
BENCH_DESC(sieve, "arithmetic: prime sieve over 3072 byte flags and a weighted prime sum, 8 passes",
           3072, 1, bench_fill_random, 11);
#endif
