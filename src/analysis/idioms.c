/*
 * idioms.c - multi-instruction idioms the engines run as one.
 *
 * Owns: analysis_find_idioms.  clang computes addresses as `A = B;
 * A += C|imm` and often loads through A at once; the interpreter runs
 * each shape as one superinstruction and the JIT as one lea or access.
 * An idiom never spans a jump target past its first instruction, so no
 * path enters it halfway.
 */
#include "analysis/analysis.h"

/* `A = B; A += C|imm` at insns[pc], both of one width. */
static bool is_lea(const struct analysis *a, const bpfvm_insn *insns, size_t pc)
{
	if (pc + 1 >= a->count || a->jump_target[pc + 1])
		return false;
	const bpfvm_insn *mov = &insns[pc], *add = mov + 1;
	const struct isa_op *mov_op = a->ops[pc], *add_op = a->ops[pc + 1];
	if (!mov_op || !add_op || mov_op->alu != ALU_MOV || mov_op->src_kind != SRC_REG || mov->off ||
	    mov->dst == mov->src)
		return false;
	if (add_op->alu != ALU_ADD || add_op->bits != mov_op->bits || add->dst != mov->dst)
		return false;
	return add_op->src_kind == SRC_IMM || add->src != mov->dst;
}

/* `A = *(size *)(A + off)` at insns[pc], after a lea into A. */
static bool is_load_through(const struct analysis *a, const bpfvm_insn *insns, size_t pc, uint8_t reg)
{
	if (pc >= a->count || a->jump_target[pc])
		return false;
	const struct isa_op *op = a->ops[pc];
	return op && op->format == FMT_LDX && insns[pc].src == reg && insns[pc].dst == reg;
}

void analysis_find_idioms(struct analysis *a, const bpfvm_insn *insns)
{
	for (size_t pc = 0; pc + 1 < a->count; pc++) {
		if (!is_lea(a, insns, pc))
			continue;
		bool wide = a->ops[pc]->bits == 64;
		a->idiom[pc] = wide && is_load_through(a, insns, pc + 2, insns[pc].dst) ? IDIOM_LEA_LOAD : IDIOM_LEA;
	}
}
