/*
 * liveness.c - which registers each instruction's successors may still
 * read: a backward data-flow pass over the whole program, with the
 * registers each instruction reads and writes taken from the opcode
 * table's regs column (through the reader's rule).
 *
 * Owns: liveness_table_regs(), liveness_compute(), liveness_out(),
 * liveness_free().
 */
#include <errno.h>
#include <stdlib.h>

#include "analysis/liveness.h"

void liveness_table_regs(const struct isa_op *op, const bpfvm_insn *insn, uint16_t *reads, uint16_t *writes)
{
	uint16_t dst = LIVENESS_REG(insn->dst), src = LIVENESS_REG(insn->src), r = 0, w = 0;
	unsigned regs = op->regs;
	r |= regs & ISA_REG_READS_DST ? dst : 0;
	r |= regs & ISA_REG_READS_SRC ? src : 0;
	r |= regs & ISA_REG_READS_R0 ? LIVENESS_REG(0) : 0;
	r |= regs & ISA_REG_READS_ARGS ? LIVENESS_ARGS : 0;
	r |= regs & ISA_REG_READS_R6 ? LIVENESS_REG(6) : 0;
	w |= regs & ISA_REG_WRITES_DST ? dst : 0;
	w |= regs & ISA_REG_WRITES_SRC ? src : 0;
	w |= regs & ISA_REG_WRITES_R0 ? LIVENESS_REG(0) : 0;
	w |= regs & ISA_REG_CLOBBERS_ARGS ? LIVENESS_ARGS : 0;
	*reads = r;
	*writes = w;
}

/* The instructions control may reach right after pc: *n of them in succ. */
static void successors(const struct analysis *a, const bpfvm_insn *insns, size_t pc, size_t succ[2], int *n)
{
	const struct isa_op *op = a->ops[pc];
	size_t len = op->format == FMT_LDDW ? 2 : 1;
	*n = 0;
	if (op->branch != BRANCH_EXIT && op->branch != BRANCH_ALWAYS && pc + len < a->count)
		succ[(*n)++] = pc + len;
	/* a taken tail call ends the program; one that fails falls through,
	 * so a helper call's successor is its fall-through */
	if (op->branch == BRANCH_COND || op->branch == BRANCH_ALWAYS) {
		int64_t t = isa_branch_target(op, &insns[pc], pc);
		if (t >= 0 && (size_t)t < a->count)
			succ[(*n)++] = (size_t)t;
	}
}

uint16_t liveness_out(const struct liveness *lv, const struct analysis *a, const bpfvm_insn *insns, size_t pc)
{
	size_t succ[2];
	int n;
	successors(a, insns, pc, succ, &n);
	uint16_t out = 0;
	for (int k = 0; k < n; k++)
		out |= lv->live_in[succ[k]];
	return out;
}

int liveness_compute(struct liveness *lv, const struct analysis *a, const bpfvm_insn *insns, liveness_regs_fn regs,
                     const void *user, bpfvm_error *err)
{
	size_t count = a->count;
	lv->count = count;
	lv->live_in = calloc(count, sizeof *lv->live_in);
	uint16_t *reads = malloc(count * sizeof *reads), *writes = malloc(count * sizeof *writes);
	if (!lv->live_in || !reads || !writes) {
		free(reads);
		free(writes);
		return error_set(err, -ENOMEM, -1, "out of memory");
	}
	for (size_t pc = 0; pc < count; pc++)
		if (a->ops[pc])
			regs(user, insns, pc, a->ops[pc], &reads[pc], &writes[pc]);
	bool changed = true;
	while (changed) {
		changed = false;
		for (size_t pc = count; pc-- > 0;) {
			if (!a->ops[pc])
				continue; /* second half of lddw */
			uint16_t out = liveness_out(lv, a, insns, pc);
			uint16_t in = (uint16_t)(reads[pc] | (out & (uint16_t)~writes[pc]));
			if (in != lv->live_in[pc]) {
				lv->live_in[pc] = in;
				changed = true;
			}
		}
	}
	free(reads);
	free(writes);
	return 0;
}

void liveness_free(struct liveness *lv)
{
	free(lv->live_in);
	lv->live_in = NULL;
}
