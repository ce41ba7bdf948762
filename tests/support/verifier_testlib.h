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

#include "verifier/scalar.h"   /* JMP_JSET_NOT */

/* A bpfvm_log_fn sink: log_append(&buf, text) appends; text is always
 * NUL-terminated (NULL until something was written). */
struct logbuf {
	char *text;
	size_t len, cap;
};

void log_append(void *user, const char *text);

/* Empties the buffer, keeping its memory. */
void log_clear(struct logbuf *b);

/* Whether `a op b` holds, op the jump operation in the opcode's high
 * nibble (or JMP_JSET_NOT), comparing the low 32 bits when is32. */
bool jmp_holds(uint64_t a, uint64_t b, uint8_t op, bool is32);

#endif
