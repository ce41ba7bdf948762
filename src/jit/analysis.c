/*
 * analysis.c - register facts for the JIT's rewrites (see analysis.h):
 * which registers hold 0 or 1 (a forward pass over straight-line code)
 * and which are live (src/analysis/liveness.c's backward fixpoint, with
 * the JIT's rule).
 *
 * Owns: the JIT's rule for register reads and writes (the opcode table's
 * regs column, widened where the JIT must keep more) its rewrites rely
 * on.  It must over-approximate: a use it misses or a
 * write it invents could make the JIT drop a value the program needs.
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "analysis/liveness.h"
#include "isa/isa.h"
#include "jit/analysis.h"

#define R(i) ((uint16_t)(1u << (i)))
#define ALL_REGS LIVENESS_ALL

static bool is_01(int64_t v) { return v == 0 || v == 1; }

void jit_bool_regs(const bpfvm_program *prog, const struct isa_op *const *ops, const bool *is_target, uint16_t *known)
{
	uint16_t k = 0;
	for (size_t pc = 0; pc < prog->count; pc++) {
		const bpfvm_insn *in = &prog->insns[pc];
		const struct isa_op *op = ops[pc];
		if (is_target[pc])
			k = 0;
		known[pc] = k;
		if (!op) {          /* cannot happen after validation; assume nothing */
			k = 0;
			continue;
		}
		uint16_t d = R(in->dst), s = R(in->src);
		switch (op->format) {
		case FMT_ALU_IMM: case FMT_ALU_REG: case FMT_NEG: {
			bool reg = op->format == FMT_ALU_REG;
			bool w = op->bits == 64;
			bool dk = k & d, sk = reg ? (k & s) != 0 : is_01(in->imm);
			bool res = false;
			switch (op->alu) {
			case ALU_MOV: res = sk; break;
			case ALU_AND: res = dk || sk; break;
			case ALU_OR: case ALU_XOR: res = dk && sk; break;
			case ALU_MUL: res = dk && sk; break;
			case ALU_RSH:
				res = dk || (!reg && (in->imm & (w ? 63 : 31)) == (w ? 63 : 31));
				break;
			default: break;
			}
			k = (uint16_t)(res ? (k | d) : (k & ~d));
			break;
		}
		case FMT_END: case FMT_LDX:
			k &= (uint16_t)~d;
			break;
		case FMT_LDDW:
			k &= (uint16_t)~d;
			if (pc + 1 < prog->count)
				known[++pc] = k;
			break;
		case FMT_ATOMIC:
			k &= (uint16_t)~(s | R(0));
			break;
		case FMT_ST: case FMT_STX: case FMT_JMP_IMM: case FMT_JMP_REG:
			break;
		default:            /* calls, packet loads, jumps away, exit */
			k = 0;
			break;
		}
	}
}

/* The JIT's liveness rule differs from the opcode table's (the kernel's,
 * which the verifier uses) because the JIT's dead-code elimination must
 * keep what the engines really do with registers observable in every
 * program the loader accepts, verified or not (--no-verify): a helper
 * call, callx or packet load leaves r1..r5 as they were (the interpreter
 * does not clear them), so it writes only r0; a local call's callee may
 * read and write any register (it writes none for sure), and a
 * subprogram's exit (or the entry's, when that is also called) returns
 * them all to a caller that may read them; an atomic operation is taken
 * to read r0 (cmpxchg's comparand) and a packet load the register its
 * src field names (r0 for ldabs, whose src is 0).  Each is an
 * over-approximation of the table's, so it only ever keeps code. */
static void jit_rule(const struct isa_op *op, const bpfvm_insn *in, bool exit_r0_only, uint16_t *uses, uint16_t *defs)
{
	liveness_table_regs(op, in, uses, defs);
	if (op->regs & ISA_REG_CLOBBERS_ARGS)
		*defs &= (uint16_t)~LIVENESS_ARGS;
	if (op->format == FMT_ATOMIC)
		*uses |= R(0);
	if (op->format == FMT_LDABS || op->format == FMT_LDIND)
		*uses |= R(in->src);
	if (op->branch == BRANCH_CALL_LOCAL) {
		*uses = ALL_REGS;
		*defs = 0;
	}
	if (op->branch == BRANCH_EXIT && !exit_r0_only)
		*uses = ALL_REGS;
}

void jit_insn_uses_defs(const bpfvm_program *prog, const struct isa_op *const *ops, size_t pc, bool exit_r0_only,
                        uint16_t *uses, uint16_t *defs)
{
	*uses = ALL_REGS;
	*defs = 0;
	if (ops[pc])
		jit_rule(ops[pc], &prog->insns[pc], exit_r0_only, uses, defs);
}

/* jit_rule as liveness_compute() calls it: an exit reads only r0 in the
 * entry function, unless that is also called. */
static void jit_liveness_rule(const void *user, const bpfvm_insn *insns, size_t pc, const struct isa_op *op,
                              uint16_t *uses, uint16_t *defs)
{
	const struct analysis *a = user;
	bool in_entry = analysis_subprog_of(a, pc) == 0;
	jit_rule(op, &insns[pc], in_entry && !a->entry_is_called, uses, defs);
}

bool jit_liveness(const bpfvm_program *prog, const struct isa_op *const *ops, const bool *sub_start,
                  bool entry_is_called, uint16_t *live_out)
{
	const struct analysis *a = prog->analysis;
	(void)sub_start;
	(void)entry_is_called;
	struct liveness lv;
	if (liveness_compute(&lv, a, prog->insns, jit_liveness_rule, a, NULL)) {
		for (size_t pc = 0; pc < prog->count; pc++)
			live_out[pc] = ALL_REGS;
		return false;
	}
	for (size_t pc = 0; pc < prog->count; pc++)
		/* an lddw's second slot never runs on its own: nothing is known */
		live_out[pc] = ops[pc] ? liveness_out(&lv, a, prog->insns, pc) : ALL_REGS;
	liveness_free(&lv);
	return true;
}
