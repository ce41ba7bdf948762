/*
 * matmul.c - benchmark "matmul": nested loops of multiply-adds.
 *
 * Owns: the product of a 24x24 u32 matrix (the input) with its own
 * transpose, reduced to a checksum weighted by position so the product
 * is not stored and every element counts; four rounds, each adding the
 * round number to one operand so no compiler can hoist a round out.
 * Natively the inner dot product vectorises; in bytecode it is one load
 * pair and one multiply-add per step, so native code has the most room
 * here.  (Four rounds, not more: the kernel's verifier walks every
 * iteration and stops at a million instructions.)
 */
#include "bench_prog.h"

#define N 24
#define ROUNDS 4

BENCH_ENTRY(matmul)
{
	const uint32_t *a = mem;
	if (len < N * N * 4)
		return 0;
	uint64_t sum = 0;
	for (uint32_t r = 0; r < ROUNDS; r++)
		for (uint32_t i = 0; i < N; i++)
			for (uint32_t j = 0; j < N; j++) {
				uint32_t c = 0;
				for (uint32_t k = 0; k < N; k++)
					c += a[i * N + k] * (a[j * N + k] + r);
				sum += (uint64_t)c * (i * N + j + 1);
			}
	return sum;
}

#ifndef __bpf__
BENCH_DESC(matmul, "nested loops: 24x24 u32 matrix times its transpose, weighted sum, 4 rounds",
           N * N * 4, 0, bench_fill_random, 2);
#endif
