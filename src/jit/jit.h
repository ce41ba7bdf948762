/*
 * jit.h - the JIT engine as the rest of the library sees it: an engine
 * (struct engine_ops, src/run/run.h) and the machine code it made.
 *
 * Owns: engine_jit, jit_code_bytes().
 */
#ifndef BPFVM_JIT_JIT_H
#define BPFVM_JIT_JIT_H

#include "run/run.h"

extern const struct engine_ops engine_jit;

/* The machine code of a state engine_jit prepared, and its length. */
const void *jit_code_bytes(const void *state, size_t *len);

#endif
