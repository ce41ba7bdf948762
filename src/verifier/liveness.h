/*
 * liveness.h - register liveness of a program: for each instruction, the
 * registers (bit i for ri) some path from it reads before writing.
 *
 * Owns: struct liveness and the functions of liveness.c.  Depends only
 * on the ISA layer, so that the JIT can later share it.
 */
#ifndef BPFVM_VERIFIER_LIVENESS_H
#define BPFVM_VERIFIER_LIVENESS_H

#include <stddef.h>
#include <stdint.h>

#include "isa/isa.h"

/* internal to the library: not exported from libbpfvm.so */
#pragma GCC visibility push(hidden)

struct liveness {
	size_t count;
	uint16_t *live_in;        /* registers live on entry to each instruction */
};

/* How many argument registers (r1..) helper id reads: 5 when unknown;
 * `user` is what liveness_compute() was given. */
typedef unsigned (*liveness_helper_args_fn)(const void *user, uint32_t id);

/* Computes lv from the program and its decoding (ops[pc] NULL for the
 * second half of an lddw); free it with liveness_free(). */
int liveness_compute(struct liveness *lv, const bpfvm_insn *insns, const struct isa_op *const *ops, size_t count,
                     liveness_helper_args_fn helper_args, const void *user, bpfvm_error *err);
void liveness_free(struct liveness *lv);

#pragma GCC visibility pop

#endif
