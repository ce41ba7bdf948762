/*
 * liveness.h - register liveness of a program: for each instruction, the
 * registers (bit i for ri) some path from it reads before writing, from
 * the opcode table's regs column over the analysis's control flow.
 *
 * Owns: struct liveness and the functions of liveness.c, used by the
 * verifier (pruning compares only live registers) and the JIT (dead-code
 * elimination), each with its own rule for what the table leaves open.
 * Depends only on src/isa and the rest of src/analysis.
 */
#ifndef BPFVM_ANALYSIS_LIVENESS_H
#define BPFVM_ANALYSIS_LIVENESS_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/analysis.h"

/* internal to the library: not exported from libbpfvm.so */
#pragma GCC visibility push(hidden)

#define LIVENESS_REG(i) ((uint16_t)(1u << (i)))
#define LIVENESS_ARGS ((uint16_t)0x3e)    /* r1..r5 */
#define LIVENESS_CALLEE_SAVED ((uint16_t)0x3c0)    /* r6..r9 */
#define LIVENESS_ALL ((uint16_t)0x7ff)    /* r0..r10 */

struct liveness {
	size_t count;
	uint16_t *live_in;        /* registers live on entry to each instruction */
};

/* The registers insn (decoded as op) reads and writes, as the opcode
 * table's regs column says (the kernel's view: a call reads r1..r5,
 * writes r0 and leaves r1..r5 unknown, so writes them too). */
void liveness_table_regs(const struct isa_op *op, const bpfvm_insn *insn, uint16_t *reads, uint16_t *writes);

/* A reader's rule: the registers instruction pc (op, never NULL) reads
 * and writes; `user` is what liveness_compute() was given. */
typedef void (*liveness_regs_fn)(const void *user, const bpfvm_insn *insns, size_t pc, const struct isa_op *op,
                                 uint16_t *reads, uint16_t *writes);

/* Computes lv over a's instructions (insns, as a was built from) with
 * the rule regs: a backward fixpoint where a jump leads to its target
 * (and on, unless it always jumps), an exit nowhere, and anything else,
 * calls included, to the next instruction.  Free it with liveness_free(). */
int liveness_compute(struct liveness *lv, const struct analysis *a, const bpfvm_insn *insns, liveness_regs_fn regs,
                     const void *user, bpfvm_error *err);
/* Registers live after instruction pc (on entry to any successor). */
uint16_t liveness_out(const struct liveness *lv, const struct analysis *a, const bpfvm_insn *insns, size_t pc);
void liveness_free(struct liveness *lv);

#pragma GCC visibility pop

#endif
