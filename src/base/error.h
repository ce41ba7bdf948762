/*
 * error.h - errors with messages, the library's one convention: a
 * function that fails returns a negative errno-style code and fills the
 * caller's bpfvm_error (which may be NULL) with the code, the instruction
 * it is about (or -1) and a message.
 *
 * Owns: error_set().
 */
#ifndef BPFVM_BASE_ERROR_H
#define BPFVM_BASE_ERROR_H

#include "bpfvm/bpfvm.h"

/* Fills err (if not NULL) and returns code. */
int error_set(bpfvm_error *err, int code, int insn, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
