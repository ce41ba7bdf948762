/*
 * sieve.c - benchmark "sieve": the sieve of Eratosthenes in the buffer.
 *
 * Owns: a prime sieve over [0, len) that keeps one flag per byte in the
 * byte's top bit (so the low seven bits of input survive), then a sum of
 * p * (low bits of byte p) over the primes p, four times over.  The
 * input is written, so the runner restores it before every run.  (Four
 * rounds, not more: the kernel's verifier walks every iteration of every
 * pass, marking loops for composites included, and stops at a million
 * instructions; four take it to about 820,000.)
 */
#include "bench_prog.h"

#define ROUNDS 4

BENCH_ENTRY(sieve)
{
	uint8_t *f = mem;
	uint64_t total = 0;
	for (int r = 0; r < ROUNDS; r++) {
		/* Top bit clear: maybe prime.  Eight flags a word (mem is
		 * 64-byte aligned), then any tail byte by byte. */
		uint64_t *w = mem;
		for (uint64_t i = 0; i < len / 8; i++)
			w[i] &= 0x7f7f7f7f7f7f7f7full;
		for (uint64_t i = len & ~(uint64_t)7; i < len; i++)
			f[i] &= 0x7f;
		for (uint64_t i = 2; i * i < len; i++) {
			if (f[i] & 0x80)
				continue;
			for (uint64_t j = i * i; j < len; j += i)
				f[j] |= 0x80;
		}
		/* Branch-free: times 1 for a prime, 0 for a composite.  A
		 * branch here would leave the kernel's verifier one state to
		 * come back to per byte and pass (see README.md).  BENCH_OPAQUE
		 * keeps it a multiply in BPF, and natively keeps clang from
		 * vectorising the loop into SSE2 code that emulates 64-bit
		 * multiplies, which ran three times slower than scalar code. */
		uint64_t sum = 0;
		for (uint64_t i = 2; i < len; i++) {
			uint64_t v = (uint64_t)(f[i] & 0x7f) * (1 ^ (f[i] >> 7));
			BENCH_OPAQUE(v);
			sum += i * v;
		}
		total = total * 0x100000001b3ull + sum;
	}
	return total;
}

#ifndef __bpf__
BENCH_DESC(sieve, "arithmetic: prime sieve over 3072 byte flags and a weighted prime sum, 4 passes",
           3072, 1, bench_fill_random, 11);
#endif
