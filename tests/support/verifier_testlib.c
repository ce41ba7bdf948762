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

bool jmp_holds(uint64_t a, uint64_t b, uint8_t op, bool is32)
{
	if (is32) {
		a = (uint32_t)a;
		b = (uint32_t)b;
	}
	int64_t sa = is32 ? (int32_t)a : (int64_t)a, sb = is32 ? (int32_t)b : (int64_t)b;
	switch (op) {
	case 0x10: return a == b;
	case 0x20: return a > b;
	case 0x30: return a >= b;
	case 0x40: return (a & b) != 0;
	case 0x50: return a != b;
	case 0x60: return sa > sb;
	case 0x70: return sa >= sb;
	case 0xa0: return a < b;
	case 0xb0: return a <= b;
	case 0xc0: return sa < sb;
	case 0xd0: return sa <= sb;
	case JMP_JSET_NOT: return (a & b) == 0;
	}
	return false;
}
