/*
 * cfg.h - a program's static structure for the verifier: each
 * instruction's decoding, its subprograms, the points where states are
 * kept, and the checks on the whole control-flow and call graph.
 *
 * Owns: struct cfg and the functions of cfg.c.  Depends only on the ISA
 * layer, so that the JIT can later share it.
 */
#ifndef BPFVM_VERIFIER_CFG_H
#define BPFVM_VERIFIER_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isa/isa.h"

/* internal to the library: not exported from libbpfvm.so */
#pragma GCC visibility push(hidden)

/* lddw and call sources that name something other than a number */
#define PSEUDO_MAP_FD 1
#define PSEUDO_MAP_VALUE 2
#define PSEUDO_CALL 1
#define PSEUDO_FUNC 4

#define CFG_MAX_SUBPROGS 256
#define CFG_MAX_CALL_FRAMES 8     /* the kernel's MAX_CALL_FRAMES */

struct cfg {
	const bpfvm_insn *insns;  /* the program as given (symbolic lddw sources) */
	size_t count;
	const struct isa_op **ops; /* each instruction decoded; NULL for lddw's second half */
	uint8_t *prune;           /* prune point? */
	uint32_t *subprog_of;     /* the subprogram each instruction is in */
	uint32_t subprog_count;
	uint32_t subprog_start[CFG_MAX_SUBPROGS];
};

/* Decodes plain (insns with symbolic lddw sources made plain constants)
 * into cfg->ops and allocates the tables; insns is kept for the rest. */
int cfg_init(struct cfg *cfg, const bpfvm_insn *insns, const bpfvm_insn *plain, size_t count, bpfvm_error *err);
void cfg_free(struct cfg *cfg);

/* Splits the program into subprograms at call and callback targets. */
int cfg_find_subprogs(struct cfg *cfg, bpfvm_error *err);
/* Every instruction must be reachable from the first. */
int cfg_check_structure(const struct cfg *cfg, bpfvm_error *err);
/* Marks where the walk keeps states: jump targets, after calls, and the
 * start of each subprogram. */
void cfg_mark_prune_points(struct cfg *cfg);
/* The static call graph: no recursion, at most CFG_MAX_CALL_FRAMES
 * frames, and at most BPFVM_STACK_SIZE bytes of stack along any chain,
 * given each subprogram's deepest stack byte. */
int cfg_check_stack_depth(const struct cfg *cfg, const uint32_t *subprog_depth, bpfvm_error *err);
/* The two structural errors the kernel words differently from the
 * loader's validator: a jump out of the program, a write to r10. */
int cfg_kernel_structure_words(const bpfvm_insn *insns, size_t count, bpfvm_error *err);

#pragma GCC visibility pop

#endif
