/*
 * analysis.h - what a program's instructions say about its control flow
 * and shape, computed once at load and kept with the program, for the
 * interpreter's pre-decoder, the JIT and the verifier.
 *
 * Owns: struct analysis (jump targets, subprograms, local call sites,
 * callback entries, idioms), the control-flow checks every program must
 * pass (cfg.c), and the multi-instruction idioms the engines fuse
 * (idioms.c).  Depends only on src/isa.
 */
#ifndef BPFVM_ANALYSIS_H
#define BPFVM_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isa/isa.h"

/* A multi-instruction idiom starting at an instruction. */
enum analysis_idiom {
	IDIOM_NONE = 0,
	/* clang's address computation `A = B; A += C|imm` (both 64-bit or
	 * both 32-bit, A not B, C not A), the add not a jump target */
	IDIOM_LEA,
	/* a 64-bit IDIOM_LEA followed by the load `A = *(size *)(A + off)`,
	 * the load not a jump target either */
	IDIOM_LEA_LOAD,
};

struct analysis {
	size_t count;
	/* per instruction: its operation (a callback reference: ISA_LDDW's
	 * row, as after loading rewrites it), NULL on an lddw's second slot */
	const struct isa_op **ops;
	/* count + 1 entries each (the last always false), so pc + 1 can be
	 * tested without a bound check */
	bool *jump_target;      /* jumped to, called, or a callback's entry */
	bool *sub_start;        /* first instruction of a subprogram (0 is one) */
	uint32_t *subprogs;     /* subprogram starts, ascending; each ends where the next starts */
	size_t subprog_count;
	uint32_t *call_sites;   /* local call instructions, ascending */
	size_t call_site_count;
	uint32_t *callbacks;    /* subprograms an lddw of BPF_PSEUDO_FUNC names, ascending, once each */
	size_t callback_count;
	bool entry_is_called;   /* a local call targets instruction 0 */
	uint8_t *idiom;         /* count entries: enum analysis_idiom */
};

/* Analyses a program whose encoding isa_check_encoding() accepted (plain
 * lddw and callback references alike): checks its control flow (no jump
 * or call into the second slot of an lddw, no jump out of its
 * subprogram, no path that runs off the end of one) and, if fine, fills
 * *out (NULL allowed: check only).  0 or a negative code with err set. */
int analysis_build(const bpfvm_insn *insns, size_t count, struct analysis **out, bpfvm_error *err);
void analysis_free(struct analysis *a);

/* The subprogram (index into a->subprogs) instruction pc belongs to. */
uint32_t analysis_subprog_of(const struct analysis *a, size_t pc);

/* Finds the idioms of a (called by analysis_build). */
void analysis_find_idioms(struct analysis *a, const bpfvm_insn *insns);

/* The encoding and control-flow checks together, as isa_validate() made
 * them before the analysis layer (the verifier's entry; its helper
 * check comes before and is its own). */
int analysis_validate(const bpfvm_insn *insns, size_t count, uint32_t max_insns, bpfvm_error *err);

#endif
