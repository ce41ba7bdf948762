/*
 * cfg.c - the control-flow structure of a program: jump targets,
 * subprograms, local call sites and callback entries, and the checks on
 * them.
 *
 * Owns: analysis_build/free, analysis_subprog_of and analysis_validate.  A subprogram starts at
 * instruction 0, at each local call's target and at each callback an lddw
 * of BPF_PSEUDO_FUNC names; it ends where the next one starts.  Jumps
 * stay inside their subprogram, never land on the second slot of an
 * lddw, and no path runs off the end of a subprogram.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"

/* per instruction, while checking */
enum slot_kind { SLOT_PLAIN, SLOT_LDDW_HI, SLOT_SUB_START };

/* The operation at insn: a callback reference has the shape of an lddw. */
static const struct isa_op *decode(const bpfvm_insn *insn)
{
	return isa_is_func_ref(insn) ? &isa_ops[ISA_LDDW] : isa_decode(insn);
}

/* Where a local call or callback reference at pc leads, or -1. */
static int64_t callee_of(const struct analysis *a, const bpfvm_insn *insns, size_t pc)
{
	if (isa_is_func_ref(&insns[pc]))
		return (int64_t)pc + 1 + insns[pc].imm;
	const struct isa_op *op = a->ops[pc];
	return op->branch == BRANCH_CALL_LOCAL ? isa_branch_target(op, &insns[pc], pc) : -1;
}

/* Marks second slots of lddw and subprogram starts. */
static int mark_slots(const struct analysis *a, const bpfvm_insn *insns, uint8_t *kind, bpfvm_error *err)
{
	size_t count = a->count;
	kind[0] = SLOT_SUB_START;
	for (size_t pc = 0; pc < count; pc++)
		if (a->ops[pc]->format == FMT_LDDW)
			kind[++pc] = SLOT_LDDW_HI;
	for (size_t pc = 0; pc < count; pc++) {
		int64_t t = kind[pc] == SLOT_LDDW_HI ? -1 : callee_of(a, insns, pc);
		if (t < 0)
			continue;
		if (kind[t] == SLOT_LDDW_HI)
			return error_set(err, -EINVAL, (int)pc, "%s into the second slot of the lddw at %lld",
			                 isa_is_func_ref(&insns[pc]) ? "callback reference" : "local call",
			                 (long long)t - 1);
		kind[t] = SLOT_SUB_START;
	}
	return 0;
}

/* A jump at pc inside the subprogram [sub_start, sub_end). */
static int check_jump(const struct analysis *a, const bpfvm_insn *insns, const uint8_t *kind, size_t pc,
                      size_t sub_start, size_t sub_end, bpfvm_error *err)
{
	size_t count = a->count;
	const struct isa_op *op = a->ops[pc];
	int64_t t = isa_branch_target(op, &insns[pc], pc);
	if (t < 0 || t >= (int64_t)count)
		return error_set(err, -EINVAL, (int)pc, "jump to %lld, outside the program (0..%zu)",
		                 (long long)t, count - 1);
	if (kind[t] == SLOT_LDDW_HI)
		return error_set(err, -EINVAL, (int)pc, "jump into the second slot of the lddw at %lld",
		                 (long long)t - 1);
	if ((size_t)t < sub_start || (size_t)t >= sub_end)
		return error_set(err, -EINVAL, (int)pc, "jump to %lld leaves its subprogram (%zu..%zu)",
		                 (long long)t, sub_start, sub_end - 1);
	return 0;
}

/* Jumps stay inside their subprogram; nothing falls off its end. */
static int check_flow(const struct analysis *a, const bpfvm_insn *insns, const uint8_t *kind, bpfvm_error *err)
{
	size_t count = a->count;
	size_t sub_start = 0, sub_end = 0;
	for (size_t pc = 0; pc < count; pc++) {
		if (kind[pc] == SLOT_SUB_START) {
			sub_start = pc;
			sub_end = pc + 1;
			while (sub_end < count && kind[sub_end] != SLOT_SUB_START)
				sub_end++;
		}
		if (kind[pc] == SLOT_LDDW_HI)
			continue;
		const struct isa_op *op = a->ops[pc];
		size_t width = op->format == FMT_LDDW ? 2 : 1;
		if (op->branch == BRANCH_COND || op->branch == BRANCH_ALWAYS) {
			int rc = check_jump(a, insns, kind, pc, sub_start, sub_end, err);
			if (rc)
				return rc;
		}
		bool falls_through = op->branch != BRANCH_EXIT && op->branch != BRANCH_ALWAYS;
		if (falls_through && pc + width >= sub_end)
			return error_set(err, -EINVAL, (int)pc,
			                 sub_end == count ? "execution can run off the end of the program"
			                                  : "execution can fall into the next subprogram");
		pc += width - 1;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Sorts list and drops repeats; returns how many are left. */
static size_t sort_unique(uint32_t *list, size_t n)
{
	qsort(list, n, sizeof *list, cmp_u32);
	size_t kept = 0;
	for (size_t i = 0; i < n; i++)
		if (kept == 0 || list[kept - 1] != list[i])
			list[kept++] = list[i];
	return kept;
}

/* Fills a's lists and bitmaps from checked instructions. */
static void collect(struct analysis *a, const bpfvm_insn *insns, const uint8_t *kind)
{
	for (size_t pc = 0; pc < a->count; pc++) {
		if (kind[pc] == SLOT_LDDW_HI)
			continue;
		if (kind[pc] == SLOT_SUB_START) {
			a->sub_start[pc] = true;
			a->subprogs[a->subprog_count++] = (uint32_t)pc;
		}
		const bpfvm_insn *in = &insns[pc];
		const struct isa_op *op = a->ops[pc];
		if (op->branch == BRANCH_COND || op->branch == BRANCH_ALWAYS)
			a->jump_target[isa_branch_target(op, in, pc)] = true;
		int64_t callee = callee_of(a, insns, pc);
		if (callee < 0)
			continue;
		a->jump_target[callee] = true;
		if (isa_is_func_ref(in)) {
			a->callbacks[a->callback_count++] = (uint32_t)callee;
		} else {
			a->call_sites[a->call_site_count++] = (uint32_t)pc;
			a->entry_is_called |= callee == 0;
		}
	}
	a->callback_count = sort_unique(a->callbacks, a->callback_count);
}

/* One block: the struct, then its arrays (largest alignment first), so
 * loading pays one allocation. */
static struct analysis *analysis_alloc(size_t count)
{
	size_t ops = count * sizeof(struct isa_op *), lists = 3 * count * sizeof(uint32_t);
	size_t flags = 2 * (count + 1) * sizeof(bool) + count;
	struct analysis *a = calloc(1, sizeof *a + ops + lists + flags);
	if (!a)
		return NULL;
	a->ops = (const struct isa_op **)(a + 1);
	uint32_t *u32 = (uint32_t *)(a->ops + count);
	a->count = count;
	a->subprogs = u32;
	a->call_sites = u32 + count;
	a->callbacks = u32 + 2 * count;
	a->jump_target = (bool *)(u32 + 3 * count);
	a->sub_start = a->jump_target + count + 1;
	a->idiom = (uint8_t *)(a->sub_start + count + 1);
	return a;
}

int analysis_build(const bpfvm_insn *insns, size_t count, struct analysis **out, bpfvm_error *err)
{
	if (out)
		*out = NULL;
	struct analysis *a = analysis_alloc(count);
	uint8_t *kind = calloc(count, 1);
	if (!a || !kind) {
		free(kind);
		analysis_free(a);
		return error_set(err, -ENOMEM, -1, "out of memory validating %zu instructions", count);
	}
	for (size_t pc = 0; pc < count; pc++)
		a->ops[pc] = decode(&insns[pc]);
	int rc = mark_slots(a, insns, kind, err);
	if (!rc)
		rc = check_flow(a, insns, kind, err);
	if (!rc && out) {
		collect(a, insns, kind);
		analysis_find_idioms(a, insns);
		*out = a;
		a = NULL;
	}
	free(kind);
	analysis_free(a);
	return rc;
}

void analysis_free(struct analysis *a)
{
	free(a);
}

uint32_t analysis_subprog_of(const struct analysis *a, size_t pc)
{
	/* the last start at or before pc; subprogs[0] is 0 */
	size_t lo = 0, hi = a->subprog_count;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->subprogs[mid] <= pc)
			lo = mid;
		else
			hi = mid;
	}
	return (uint32_t)lo;
}

int analysis_validate(const bpfvm_insn *insns, size_t count, uint32_t max_insns, bpfvm_error *err)
{
	int rc = isa_check_encoding(insns, count, max_insns, ISA_RULES_ALL, err);
	return rc ? rc : analysis_build(insns, count, NULL, err);
}
