/*
 * inet_csum.c - benchmark "inet_csum": the Internet checksum.
 *
 * Owns: RFC 1071's one's-complement sum of 16-bit words (a 64-bit
 * accumulator, folded at the end), 32 passes with each pass starting from
 * the last one's result.  Natively clang turns the word loop into SIMD
 * adds, so this measures an interpreter against vector code.  (32
 * passes, not more: the kernel's verifier walks every iteration and
 * stops at a million instructions; 32 take it to about 770,000.)
 */
#include "bench_prog.h"

#define ROUNDS 32

BENCH_ENTRY(inet_csum)
{
	const uint16_t *w = mem;
	uint64_t n = len / 2;
	uint64_t csum = 0;
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t sum = csum;
		for (uint64_t i = 0; i < n; i++)
			sum += w[i];
		if (len & 1)
			sum += ((const uint8_t *)mem)[len - 1];
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		csum = ~sum & 0xffff;
	}
	return csum;
}

#ifndef __bpf__
BENCH_DESC(inet_csum, "checksum: RFC 1071 Internet checksum over u16 words, 32 chained passes",
           3072, 0, bench_fill_random, 9);
#endif
