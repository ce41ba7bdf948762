/*
 * verifier_testlib.h - what the verifier's tests share: a log buffer that
 * grows to hold whatever the verifier writes, and the concrete meaning of
 * every jump condition (the oracle the abstract domain is checked against).
 */
#ifndef BPFVM_TESTS_VERIFIER_TESTLIB_H
#define BPFVM_TESTS_VERIFIER_TESTLIB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verifier/scalar.h"   /* COND_SET_NOT, enum isa_cond */

/* A bpfvm_log_fn sink: log_append(&buf, text) appends; text is always
 * NUL-terminated (NULL until something was written). */
struct logbuf {
	char *text;
	size_t len, cap;
};

void log_append(void *user, const char *text);

/* Empties the buffer, keeping its memory. */
void log_clear(struct logbuf *b);

/* Whether `a cond b` holds, cond an enum isa_cond or COND_SET_NOT (the
 * scalar domain's conditions), comparing the low 32 bits when is32. */
bool cond_holds(uint64_t a, uint64_t b, uint8_t cond, bool is32);
/* The same for an encoded jump, op its opcode's high nibble (the codes of
 * RFC 9669's jump table), for oracles that execute raw instructions. */
bool jmp_holds(uint64_t a, uint64_t b, uint8_t op, bool is32);

#endif
