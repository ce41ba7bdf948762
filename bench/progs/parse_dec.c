/*
 * parse_dec.c - benchmark "parse_dec": parsing decimal text.
 *
 * Owns: a scanner that reads the buffer as ASCII, turns every run of
 * digits (with an optional '-' just before it) into a 64-bit integer and
 * folds the integers into a checksum, two passes.  Each byte takes one
 * or two data-dependent branches: the cost is branching, not arithmetic.
 * (Two passes over 2048 bytes, not more: the kernel's verifier follows
 * each such branch one way and keeps the other for later, and refuses a
 * program once 8192 are waiting; its first path through this one meets
 * one digit test per byte and pass, about 4,100, where two passes over
 * 3072 bytes went past 8192.)
 */
#include "bench_prog.h"

#define ROUNDS 2

BENCH_ENTRY(parse_dec)
{
	const uint8_t *p = mem;
	uint64_t sum = 0, count = 0;
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t x = 0;
		int in_number = 0, negative = 0;
		for (uint64_t i = 0; i < len; i++) {
			uint32_t d = (uint32_t)p[i] - '0';
			if (d < 10) {
				x = x * 10 + d;
				in_number = 1;
				continue;
			}
			if (in_number) {
				sum = (sum ^ (negative ? -x : x)) * 0x100000001b3ull;
				count++;
				x = 0;
				in_number = 0;
			}
			negative = p[i] == '-';
		}
		if (in_number)
			sum = (sum ^ (negative ? -x : x)) * 0x100000001b3ull;
	}
	return sum + count;
}

#ifndef __bpf__
/* Numbers of 1 to 12 digits, a quarter negative, separated by one or two
 * of space, comma, newline, tab, semicolon. */
static void fill_decimal(uint8_t *mem, size_t len, uint64_t seed)
{
	static const char seps[] = " ,\n\t;";
	uint64_t s = seed;
	size_t i = 0;
	while (i < len) {
		uint64_t r = bench_rand(&s);
		if ((r & 3) == 0 && i < len)
			mem[i++] = '-';
		unsigned digits = 1 + (unsigned)((r >> 2) % 12);
		for (unsigned d = 0; d < digits && i < len; d++)
			mem[i++] = (uint8_t)('0' + bench_rand(&s) % 10);
		unsigned nsep = 1 + (unsigned)((r >> 8) & 1);
		for (unsigned k = 0; k < nsep && i < len; k++)
			mem[i++] = (uint8_t)seps[(r >> (16 + 4 * k)) % 5];
	}
}

BENCH_DESC(parse_dec, "byte parsing: signed decimal integers out of ASCII text, 2 passes",
           2048, 0, fill_decimal, 7);
#endif
