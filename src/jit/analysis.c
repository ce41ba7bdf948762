/*
 * analysis.c - register facts for the JIT's rewrites (see analysis.h):
 * which registers hold 0 or 1 (a forward pass over straight-line code)
 * and which are live (a backward fixpoint over the control-flow graph).
 *
 * Owns: the instruction-level model of register reads and writes the
 * JIT's rewrites rely on.  It must over-approximate: a use it misses or a
 * write it invents could make the JIT drop a value the program needs.
 */
#include <stdlib.h>
#include <string.h>

#include "isa/isa.h"
#include "jit/analysis.h"

#define R(i) ((uint16_t)(1u << (i)))
#define ALL_REGS ((uint16_t)0x7ff)
#define ARG_REGS ((uint16_t)(R(1) | R(2) | R(3) | R(4) | R(5)))

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

void jit_insn_uses_defs(const bpfvm_program *prog, const struct isa_op *const *ops, size_t pc, bool exit_r0_only,
                        uint16_t *uses, uint16_t *defs)
{
	const bpfvm_insn *in = &prog->insns[pc];
	const struct isa_op *op = ops[pc];
	uint16_t d = R(in->dst), s = R(in->src), u = ALL_REGS, w = 0;
	if (op) {
		switch (op->format) {
		case FMT_ALU_IMM:
			u = op->alu == ALU_MOV ? 0 : d;
			w = d;
			break;
		case FMT_ALU_REG:
			u = op->alu == ALU_MOV || op->alu == ALU_MOVSX ? s : (uint16_t)(d | s);
			w = d;
			break;
		case FMT_NEG: case FMT_END:
			u = d;
			w = d;
			break;
		case FMT_LDDW:
			u = 0;
			w = d;
			break;
		case FMT_LDX:
			u = s;
			w = d;
			break;
		case FMT_ST:
			u = d;
			break;
		case FMT_STX:
			u = d | s;
			break;
		case FMT_ATOMIC:
			u = d | s | R(0);
			if (op->alu == ALU_CMPXCHG)
				w = R(0);
			else if (op->fetch)
				w = s;
			break;
		case FMT_JA: case FMT_JA32:
			u = 0;
			break;
		case FMT_JMP_IMM:
			u = d;
			break;
		case FMT_JMP_REG:
			u = d | s;
			break;
		case FMT_CALL:
			u = ARG_REGS;
			w = R(0);
			break;
		case FMT_CALLX:
			u = ARG_REGS | d;
			w = R(0);
			break;
		case FMT_LDABS: case FMT_LDIND:
			u = R(6) | s;
			w = R(0);
			break;
		case FMT_EXIT:
			u = exit_r0_only ? R(0) : ALL_REGS;
			break;
		default:            /* a local call: the callee may read anything */
			u = ALL_REGS;
			break;
		}
	}
	*uses = u;
	*defs = w;
}

bool jit_liveness(const bpfvm_program *prog, const struct isa_op *const *ops, const bool *sub_start,
                  bool entry_is_called, uint16_t *live_out)
{
	size_t n = prog->count;
	uint16_t *uses = malloc(n * sizeof *uses), *defs = malloc(n * sizeof *defs);
	int32_t *target = malloc(n * sizeof *target);
	uint8_t *kind = malloc(n);             /* 0 fall through, 1 + branch, 2 jump only, 3 none, 4 lddw */
	if (!uses || !defs || !target || !kind) {
		free(uses); free(defs); free(target); free(kind);
		for (size_t pc = 0; pc < n; pc++)
			live_out[pc] = ALL_REGS;
		return false;
	}
	size_t sub = 0;
	for (size_t pc = 0; pc < n; pc++) {
		if (sub_start[pc])
			sub = pc;
		const bpfvm_insn *in = &prog->insns[pc];
		const struct isa_op *op = ops[pc];
		jit_insn_uses_defs(prog, ops, pc, sub == 0 && !entry_is_called, &uses[pc], &defs[pc]);
		live_out[pc] = 0;
		kind[pc] = 0;
		target[pc] = -1;
		if (!op) {
			kind[pc] = 3;
			live_out[pc] = ALL_REGS;
			uses[pc] = ALL_REGS;
			continue;
		}
		switch (op->format) {
		case FMT_JA: case FMT_JA32:
			kind[pc] = 2;
			target[pc] = (int32_t)isa_branch_target(op, in, pc);
			break;
		case FMT_JMP_IMM: case FMT_JMP_REG:
			kind[pc] = 1;
			target[pc] = (int32_t)isa_branch_target(op, in, pc);
			break;
		case FMT_EXIT:
			kind[pc] = 3;
			break;
		case FMT_LDDW:
			kind[pc] = 4;
			if (pc + 1 < n) {
				pc++;
				uses[pc] = ALL_REGS;    /* the second slot: never executed on its own */
				defs[pc] = 0;
				kind[pc] = 3;
				target[pc] = -1;
				live_out[pc] = ALL_REGS;
			}
			break;
		default:
			break;
		}
		if (target[pc] >= 0 && (size_t)target[pc] >= n)
			target[pc] = -1;
	}
	bool changed = true;
	while (changed) {
		changed = false;
		for (size_t pc = n; pc-- > 0;) {
			if (kind[pc] == 3 && live_out[pc] == ALL_REGS)
				continue;
			uint16_t out = 0;
			size_t next = kind[pc] == 4 ? pc + 2 : pc + 1;
			if ((kind[pc] == 0 || kind[pc] == 1 || kind[pc] == 4) && next < n)
				out |= (uint16_t)(uses[next] | (live_out[next] & ~defs[next]));
			if (target[pc] >= 0) {
				size_t t = (size_t)target[pc];
				out |= (uint16_t)(uses[t] | (live_out[t] & ~defs[t]));
			}
			if (out != live_out[pc]) {
				live_out[pc] = out;
				changed = true;
			}
		}
	}
	free(uses); free(defs); free(target); free(kind);
	return true;
}
