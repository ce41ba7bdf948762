/*
 * jit.h - the JIT engine as the rest of the library sees it: an engine
 * (struct engine_ops, src/run/run.h) and the machine code it made.
 *
 * Owns: engine_jit, jit_code_bytes(), and the way into compiled code
 * without the engine interface (jit_code_entry(), jit_result()) for the
 * API's direct runs.
 */
#ifndef BPFVM_JIT_JIT_H
#define BPFVM_JIT_JIT_H

#include "run/run.h"

extern const struct engine_ops engine_jit;

/* The machine code of a state engine_jit prepared, and its length. */
const void *jit_code_bytes(const void *state, size_t *len);

/* Compiled code's entry: r1..r5, and the run in the sixth argument. */
typedef uint64_t (*jit_entry_fn)(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                                 struct bpfvm_run *run);
jit_entry_fn jit_code_entry(const void *state);
/* After the entry returned `result`: *r0, or the error the run's status
 * and fault record say (a stop or tail call gives r0 = stop_value). */
int jit_result(struct bpfvm_run *run, uint64_t result, uint64_t *r0, bpfvm_error *err);

#endif
