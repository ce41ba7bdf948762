/*
 * cfg.c - what the verifier checks and marks on a program's structure
 * (src/analysis's, built here once) before it walks it: reachability,
 * the points where states are kept, and the static call graph's depth
 * and stack.
 *
 * Owns: cfg_check_callback_targets(), cfg_init(), cfg_free(), cfg_check_structure(), cfg_mark_prune_points(),
 * cfg_check_stack_depth(), cfg_kernel_structure_words().  Errors are
 * the kernel verifier's words, through error_set().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "verifier/cfg.h"

int cfg_check_callback_targets(const bpfvm_insn *linked, size_t count, bpfvm_error *err)
{
	for (size_t pc = 0; pc < count; pc++) {
		if (!isa_is_lddw(&linked[pc]))
			continue;
		int64_t t = (int64_t)pc + 1 + linked[pc].imm;
		if (isa_is_func_ref(&linked[pc]) && (t < 0 || (size_t)t >= count))
			return error_set(err, -EINVAL, (int)pc, "invalid subprog target %" PRId64, t);
		pc++;
	}
	return 0;
}

int cfg_init(struct cfg *cfg, const bpfvm_insn *insns, const bpfvm_insn *linked, size_t count, bpfvm_error *err)
{
	cfg->insns = insns;
	cfg->count = count;
	int rc = analysis_build(linked, count, &cfg->a, err);
	if (rc)
		return rc;
	if (cfg->a->subprog_count > CFG_MAX_SUBPROGS)
		return error_set(err, -E2BIG, -1, "too many subprograms");
	cfg->ops = cfg->a->ops;
	cfg->prune = calloc(count, 1);
	if (!cfg->prune)
		return error_set(err, -ENOMEM, -1, "out of memory");
	return 0;
}

void cfg_free(struct cfg *cfg)
{
	free(cfg->prune);
	analysis_free(cfg->a);
}

/* Where a local call or callback reference at pc leads, or -1. */
static int64_t callee_of(const struct cfg *cfg, size_t pc)
{
	const bpfvm_insn *in = &cfg->insns[pc];
	const struct isa_op *op = cfg->ops[pc];
	if (isa_is_func_ref(in) || (op && op->branch == BRANCH_CALL_LOCAL))
		return (int64_t)pc + 1 + in->imm;
	return -1;
}

int cfg_check_structure(const struct cfg *cfg, bpfvm_error *err)
{
	/* reachability over jumps, fall-through and calls from every subprogram
	 * reached; every instruction must be reachable */
	uint8_t *seen = calloc(cfg->count, 1);
	uint32_t *work = malloc(cfg->count * sizeof *work);
	if (!seen || !work) {
		free(seen);
		free(work);
		return error_set(err, -ENOMEM, -1, "out of memory");
	}
	size_t n = 0;
	work[n++] = 0;
	seen[0] = 1;
	int rc = 0;
	while (n) {
		uint32_t pc = work[--n];
		const struct isa_op *op = cfg->ops[pc];
		uint32_t succ[3];
		int ns = 0;
		size_t len = op->format == FMT_LDDW ? 2 : 1;
		bool falls = op->branch != BRANCH_EXIT && op->branch != BRANCH_ALWAYS;
		if (falls && pc + len < cfg->count)
			succ[ns++] = (uint32_t)(pc + len);
		if (op->branch == BRANCH_COND || op->branch == BRANCH_ALWAYS)
			succ[ns++] = (uint32_t)isa_branch_target(op, &cfg->insns[pc], pc);
		int64_t callee = callee_of(cfg, pc);
		if (callee >= 0)
			succ[ns++] = (uint32_t)callee;
		for (int k = 0; k < ns; k++)
			if (!seen[succ[k]]) {
				seen[succ[k]] = 1;
				work[n++] = succ[k];
			}
		if (len == 2)
			seen[pc + 1] = 1;
	}
	for (size_t pc = 0; pc < cfg->count; pc++)
		if (!seen[pc]) {
			rc = error_set(err, -EINVAL, (int)pc, "unreachable insn %zu", pc);
			break;
		}
	free(seen);
	free(work);
	return rc;
}

void cfg_mark_prune_points(struct cfg *cfg, cfg_loop_head_fn loop_head, const void *user)
{
	const struct analysis *a = cfg->a;
	for (size_t pc = 0; pc < cfg->count; pc++) {
		/* jumped to, called, a callback's entry or a subprogram's start */
		if (a->jump_target[pc] || a->sub_start[pc])
			cfg->prune[pc] |= CFG_PRUNE_POINT | CFG_JMP_POINT;
		const struct isa_op *op = cfg->ops[pc];
		if (!op)
			continue;
		const bpfvm_insn *in = &cfg->insns[pc];
		/* as the kernel's visit_insn: a conditional jump is checked
		 * before it branches (its fall-through is not a point); a call
		 * or a callback's reference before and after it */
		if (op->branch == BRANCH_COND || op->branch == BRANCH_CALL_LOCAL || isa_is_func_ref(in))
			cfg->prune[pc] |= CFG_PRUNE_POINT;
		size_t after = pc + (isa_is_lddw(in) ? 2 : 1);
		bool call = op->branch == BRANCH_CALL_LOCAL || op->branch == BRANCH_CALL_HELPER || isa_is_func_ref(in);
		if (call && after < cfg->count)
			cfg->prune[after] |= CFG_PRUNE_POINT | CFG_JMP_POINT;
		if (loop_head(user, in))
			cfg->prune[pc] |= CFG_PRUNE_POINT | CFG_JMP_POINT;
	}
}

/* The deepest stack of a call chain from subprogram s (callbacks count
 * as calls); memo[s] == UINT32_MAX while s is on the chain. */
static uint32_t chain_depth(const struct cfg *cfg, const uint32_t *subprog_depth, uint32_t s, uint32_t *memo,
                            uint32_t frames, bool *too_deep)
{
	/* the kernel walks the static call graph: a cycle (recursion, even
	 * bounded) or a chain of more than 8 frames is refused */
	if (memo[s] == UINT32_MAX || frames > CFG_MAX_CALL_FRAMES) {
		*too_deep = true;
		return 0;
	}
	if (memo[s])
		return memo[s];
	memo[s] = UINT32_MAX;
	/* each frame's stack rounded up to 16 bytes, as the kernel's
	 * round_up_stack_depth() does for a JIT-compiled program */
	uint32_t own = (subprog_depth[s] + 15) & ~15u;
	uint32_t deepest = 0;
	const struct analysis *a = cfg->a;
	uint32_t end = s + 1 < a->subprog_count ? a->subprogs[s + 1] : (uint32_t)cfg->count;
	for (uint32_t pc = a->subprogs[s]; pc < end; pc++) {
		int64_t t = callee_of(cfg, pc);
		if (t >= 0) {
			uint32_t d = chain_depth(cfg, subprog_depth, analysis_subprog_of(a, (size_t)t), memo, frames + 1,
			                         too_deep);
			if (d > deepest)
				deepest = d;
		}
	}
	memo[s] = own + deepest;
	return memo[s];
}

/* The kernel limits the stack of a whole call chain to 512 bytes. */
int cfg_check_stack_depth(const struct cfg *cfg, const uint32_t *subprog_depth, bpfvm_error *err)
{
	uint32_t memo[CFG_MAX_SUBPROGS] = { 0 };
	bool too_deep = false;
	uint32_t total = chain_depth(cfg, subprog_depth, 0, memo, 1, &too_deep);
	if (too_deep)
		return error_set(err, -E2BIG, -1, "the call stack of %u frames is too deep !", CFG_MAX_CALL_FRAMES);
	if (total > BPFVM_STACK_SIZE)
		return error_set(err, -EACCES, -1, "combined stack size of %zu calls is %u. Too large", cfg->a->subprog_count,
		                 total);
	return 0;
}

int cfg_kernel_structure_words(const bpfvm_insn *insns, size_t count, bpfvm_error *err)
{
	for (size_t pc = 0; pc < count; pc++) {
		const struct isa_op *op = isa_decode(&insns[pc]);
		if (!op)
			continue; /* the validator explains */
		if (op->branch == BRANCH_COND || op->branch == BRANCH_ALWAYS) {
			int64_t t = isa_branch_target(op, &insns[pc], pc);
			if (t < 0 || (size_t)t >= count)
				return error_set(err, -EINVAL, (int)pc, "insn %zu: jump out of range from insn %zu to %" PRId64, pc,
				                 pc, t);
		}
		if (op->format == FMT_LDDW)
			pc++;
	}
	return 0;
}
