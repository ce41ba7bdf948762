/*
 * interp.h - the interpreter engine (src/interp): its pre-decoded form of
 * a program, its superinstructions, and its entry points.
 *
 * Owns: struct interp_code (what the interpreter prepares per program and
 * mode; no other module reads it), enum interp_fused, engine_interp.
 */
#ifndef BPFVM_INTERP_INTERP_H
#define BPFVM_INTERP_INTERP_H

#include "run/run.h"

/* One pre-decoded instruction for the threaded interpreter: the address of
 * the code that runs it, then its fields unpacked.  The second slot of an
 * lddw holds the whole 64-bit immediate instead. */
struct interp_slot {
	union {
		const void *handler;
		uint64_t imm64;
	};
	uint8_t dst;
	uint8_t src;
	int16_t off;
	int32_t imm;     /* for helper calls: index into interp_code.call_fns */
};

/* A program pre-decoded for one mode. */
struct interp_code {
	struct interp_slot *slots;       /* one per instruction */
	bpfvm_helper_fn *call_fns;       /* one per helper call site */
};

/* Superinstructions of the interpreter, fused at pre-decode: clang's
 * address idiom `A = B; A += C (or imm)`, alone or followed by the load
 * `A = *(size *)(A + off)` (src/analysis finds them).  Their handlers
 * follow the ISA_OPS ones. */
enum interp_fused {
	FUSED_LEA_REG = ISA_OP_COUNT, FUSED_LEA_IMM,
	FUSED_LDX_REG_B, FUSED_LDX_REG_H, FUSED_LDX_REG_W, FUSED_LDX_REG_DW,
	FUSED_LDX_REG_SB, FUSED_LDX_REG_SH, FUSED_LDX_REG_SW,
	FUSED_LDX_IMM_B, FUSED_LDX_IMM_H, FUSED_LDX_IMM_W, FUSED_LDX_IMM_DW,
	FUSED_LDX_IMM_SB, FUSED_LDX_IMM_SH, FUSED_LDX_IMM_SW,
	INTERP_HANDLER_COUNT
};

/* The interpreter: runs prog (pre-decoded as run->engine_state says) in
 * mode from instruction `entry` with r1..r5 = args and r10 = frame (the
 * program's entry: 0, opts->args and the top of the stack; a callback:
 * its first instruction, the helper's arguments and the frame below the
 * helper's caller); with prog == NULL returns, through *labels, the table
 * of handler addresses used to pre-decode slots. */
int interp_run_checked(const bpfvm_program *prog, struct bpfvm_run *run, size_t entry,
                       const uint64_t args[5], uint64_t frame, uint64_t *r0, bpfvm_error *err,
                       const void *const **labels);
int interp_run_unchecked(const bpfvm_program *prog, struct bpfvm_run *run, size_t entry,
                         const uint64_t args[5], uint64_t frame, uint64_t *r0, bpfvm_error *err,
                         const void *const **labels);

extern const struct engine_ops engine_interp;

#endif
