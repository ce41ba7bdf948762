/*
 * xorshift.h - the tests' reproducible pseudo-random numbers:
 * Marsaglia's xorshift64 (shifts 13, 7, 17), one state per sequence, so a
 * fixed seed gives the same cases every run.
 */
#ifndef BPFVM_TESTS_XORSHIFT_H
#define BPFVM_TESTS_XORSHIFT_H

#include <stdint.h>

/* The next number of the sequence *state (never 0 if the seed is not). */
static inline uint64_t xorshift64(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

#endif
