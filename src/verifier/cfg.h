/*
 * cfg.h - what the verifier adds to a program's structure (src/analysis:
 * decoding, subprograms, jump targets, call sites): the points where
 * states are kept, reachability, and the checks on the static call graph
 * and in the kernel's words.
 *
 * Owns: struct cfg and the functions of cfg.c.  Depends on the ISA and
 * analysis layers.
 */
#ifndef BPFVM_VERIFIER_CFG_H
#define BPFVM_VERIFIER_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis/analysis.h"
#include "isa/isa.h"

/* internal to the library: not exported from libbpfvm.so */
#pragma GCC visibility push(hidden)

/* lddw and call sources that name something other than a number */
#define PSEUDO_MAP_FD 1
#define PSEUDO_MAP_VALUE 2
#define PSEUDO_FUNC ISA_PSEUDO_FUNC

#define CFG_MAX_SUBPROGS 256

/* cfg.prune: where the walk may keep a state; where the kernel's jump
 * history records the instruction (it is reached other than from the
 * one before) */
#define CFG_PRUNE_POINT 1
#define CFG_JMP_POINT 2
#define CFG_MAX_CALL_FRAMES 8     /* the kernel's MAX_CALL_FRAMES */

struct cfg {
	const bpfvm_insn *insns;  /* the program as given (symbolic lddw sources) */
	size_t count;
	struct analysis *a;       /* its structure: subprograms (callbacks among them), call sites */
	const struct isa_op **ops; /* a->ops: each instruction decoded; NULL for lddw's second half */
	uint8_t *prune;           /* CFG_PRUNE_POINT, CFG_JMP_POINT */
};

/* A callback reference outside the program, in the kernel's words
 * (before cfg_init(): the analysis cannot follow one). */
int cfg_check_callback_targets(const bpfvm_insn *linked, size_t count, bpfvm_error *err);
/* Builds cfg's analysis from linked (insns with map references made
 * plain constants, callback references kept) and allocates the tables;
 * insns is kept for the rest.  More than CFG_MAX_SUBPROGS subprograms
 * are refused. */
int cfg_init(struct cfg *cfg, const bpfvm_insn *insns, const bpfvm_insn *linked, size_t count, bpfvm_error *err);
void cfg_free(struct cfg *cfg);

/* Where subprogram s starts. */
static inline uint32_t cfg_subprog_start(const struct cfg *cfg, uint32_t s)
{
	return cfg->a->subprogs[s];
}

/* Every instruction must be reachable from the first. */
int cfg_check_structure(const struct cfg *cfg, bpfvm_error *err);
/* Whether instruction `in` heads a loop (a call of a helper that calls
 * back, as bpf_loop, an iterator's next call, may_goto); `user` is what
 * cfg_mark_prune_points() was given. */
typedef bool (*cfg_loop_head_fn)(const void *user, const bpfvm_insn *in);
/* Marks where the walk may keep states, as the kernel's visit_insn:
 * jump targets, conditional jumps, calls and callback references and
 * the instruction after them, loop heads, and the start of each
 * subprogram; and which of them the kernel's jump history records. */
void cfg_mark_prune_points(struct cfg *cfg, cfg_loop_head_fn loop_head, const void *user);
/* The static call graph: no recursion, at most CFG_MAX_CALL_FRAMES
 * frames, and at most BPFVM_STACK_SIZE bytes of stack along any chain,
 * given each subprogram's deepest stack byte. */
int cfg_check_stack_depth(const struct cfg *cfg, const uint32_t *subprog_depth, bpfvm_error *err);
/* The structural error the kernel words differently from the loader's
 * validator: a jump out of the program.  (A write to r10 is the walk's to
 * refuse, where a path reaches it, as the kernel's check_reg_arg.) */
int cfg_kernel_structure_words(const bpfvm_insn *insns, size_t count, bpfvm_error *err);

#pragma GCC visibility pop

#endif
