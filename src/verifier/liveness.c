/*
 * liveness.c - which registers each instruction's successors may still
 * read: a backward data-flow pass over the whole program, so that the
 * verifier compares only live registers when it prunes.
 *
 * Owns: liveness_compute(), liveness_free().
 */
#include <errno.h>
#include <stdlib.h>

#include "verifier/liveness.h"

/* Registers an instruction reads (use) and writes (def). */
static void insn_regs(const bpfvm_insn *in, const struct isa_op *op, liveness_helper_args_fn helper_args,
                      const void *user,
                      uint16_t *use, uint16_t *def)
{
	uint16_t u = 0, d = 0;
	uint16_t dst = (uint16_t)(1u << in->dst), src = (uint16_t)(1u << in->src);
	switch (op->format) {
	case FMT_ALU_IMM:
		d = dst;
		if ((in->opcode & 0xf0) != 0xb0)
			u = dst;
		break;
	case FMT_ALU_REG:
		d = dst;
		u = src | ((in->opcode & 0xf0) != 0xb0 ? dst : 0);
		break;
	case FMT_NEG:
	case FMT_END:
		u = d = dst;
		break;
	case FMT_LDDW:
		d = dst;
		break;
	case FMT_LDABS:
		u = 1u << 6;
		d = 0x3f;
		break;
	case FMT_LDIND:
		u = (uint16_t)(1u << 6) | src;
		d = 0x3f;
		break;
	case FMT_LDX:
		u = src;
		d = dst;
		break;
	case FMT_ST:
		u = dst;
		break;
	case FMT_STX:
		u = dst | src;
		break;
	case FMT_ATOMIC:
		u = dst | src;
		if (in->imm == 0xf1) {
			u |= 1;
			d = 1;
		} else if ((in->imm & 1) || in->imm == 0xe1) {
			d = src;
		}
		break;
	case FMT_JMP_IMM:
		u = dst;
		break;
	case FMT_JMP_REG:
		u = dst | src;
		break;
	case FMT_CALL: {
		unsigned nargs = helper_args(user, (uint32_t)in->imm);
		u = (uint16_t)(((1u << nargs) - 1) << 1);
		d = 0x3f;
		break;
	}
	case FMT_CALL_LOCAL:
		u = 0x3e;
		d = 0x3f;
		break;
	case FMT_CALLX:
		u = dst | 0x3e;
		d = 0x3f;
		break;
	case FMT_EXIT:
		u = 1;
		break;
	default:
		break;
	}
	*use = u & 0x3ff;
	*def = d & 0x3ff;
}

int liveness_compute(struct liveness *lv, const bpfvm_insn *insns, const struct isa_op *const *ops, size_t count,
                     liveness_helper_args_fn helper_args, const void *user, bpfvm_error *err)
{
	bool changed = true;
	lv->count = count;
	lv->live_in = calloc(count, sizeof *lv->live_in);
	if (!lv->live_in)
		return error_set(err, -ENOMEM, -1, "out of memory");
	while (changed) {
		changed = false;
		for (size_t i = count; i-- > 0;) {
			const struct isa_op *op = ops[i];
			if (!op)
				continue; /* second half of lddw */
			uint16_t use, def, out = 0;
			insn_regs(&insns[i], op, helper_args, user, &use, &def);
			size_t len = op->format == FMT_LDDW ? 2 : 1;
			bool falls = op->format != FMT_EXIT && op->format != FMT_JA && op->format != FMT_JA32;
			if (falls && i + len < count)
				out |= lv->live_in[i + len];
			if (op->format == FMT_JA || op->format == FMT_JA32 || op->format == FMT_JMP_IMM ||
			    op->format == FMT_JMP_REG) {
				int64_t t = isa_branch_target(op, &insns[i], i);
				if (t >= 0 && (size_t)t < count)
					out |= lv->live_in[t];
			}
			/* a taken tail call ends the program; one that fails falls
			 * through, so a helper call's out is its fall-through's */
			uint16_t in = (uint16_t)(use | (out & (uint16_t)~def));
			if (in != lv->live_in[i]) {
				lv->live_in[i] = in;
				changed = true;
			}
		}
	}
	return 0;
}

void liveness_free(struct liveness *lv)
{
	free(lv->live_in);
	lv->live_in = NULL;
}
