/*
 * verifier_testlib.c - the verifier tests' log buffer and the concrete
 * meaning of each jump condition (verifier_testlib.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verifier_testlib.h"

void log_append(void *user, const char *text)
{
	struct logbuf *b = user;
	size_t n = strlen(text);
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *t = realloc(b->text, cap);
		if (!t)
			return;
		b->text = t;
		b->cap = cap;
	}
	memcpy(b->text + b->len, text, n + 1);
	b->len += n;
}

void log_clear(struct logbuf *b)
{
	b->len = 0;
	if (b->text)
		b->text[0] = 0;
}

bool cond_holds(uint64_t a, uint64_t b, uint8_t cond, bool is32)
{
	if (is32) {
		a = (uint32_t)a;
		b = (uint32_t)b;
	}
	int64_t sa = is32 ? (int32_t)a : (int64_t)a, sb = is32 ? (int32_t)b : (int64_t)b;
	switch (cond) {
	case COND_EQ: return a == b;
	case COND_GT: return a > b;
	case COND_GE: return a >= b;
	case COND_SET: return (a & b) != 0;
	case COND_NE: return a != b;
	case COND_SGT: return sa > sb;
	case COND_SGE: return sa >= sb;
	case COND_LT: return a < b;
	case COND_LE: return a <= b;
	case COND_SLT: return sa < sb;
	case COND_SLE: return sa <= sb;
	case COND_SET_NOT: return (a & b) == 0;
	}
	return false;
}

bool jmp_holds(uint64_t a, uint64_t b, uint8_t op, bool is32)
{
	static const uint8_t cond_of_code[16] = {
		[0x1] = COND_EQ, [0x2] = COND_GT, [0x3] = COND_GE, [0x4] = COND_SET, [0x5] = COND_NE,
		[0x6] = COND_SGT, [0x7] = COND_SGE, [0xa] = COND_LT, [0xb] = COND_LE, [0xc] = COND_SLT,
		[0xd] = COND_SLE,
	};
	return cond_holds(a, b, cond_of_code[op >> 4], is32);
}
