/*
 * cfg.c - a program's static structure, before the verifier walks it:
 * subprograms, reachability, the points where states are kept, and the
 * static call graph's depth and stack.
 *
 * Owns: cfg_init(), cfg_free(), cfg_find_subprogs(),
 * cfg_check_structure(), cfg_mark_prune_points(),
 * cfg_check_stack_depth(), cfg_kernel_structure_words().  Errors are
 * the kernel verifier's words, through error_set().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "verifier/cfg.h"

int cfg_init(struct cfg *cfg, const bpfvm_insn *insns, const bpfvm_insn *plain, size_t count, bpfvm_error *err)
{
	cfg->insns = insns;
	cfg->count = count;
	cfg->ops = calloc(count, sizeof *cfg->ops);
	cfg->prune = calloc(count, 1);
	cfg->subprog_of = calloc(count, sizeof *cfg->subprog_of);
	if (!cfg->ops || !cfg->prune || !cfg->subprog_of)
		return error_set(err, -ENOMEM, -1, "out of memory");
	for (size_t pc = 0; pc < count; pc++) {
		cfg->ops[pc] = isa_decode(&plain[pc]);
		if (cfg->ops[pc] && cfg->ops[pc]->format == FMT_LDDW)
			pc++;
	}
	return 0;
}

void cfg_free(struct cfg *cfg)
{
	free(cfg->prune);
	free(cfg->subprog_of);
	free(cfg->ops);
}

int cfg_find_subprogs(struct cfg *cfg, bpfvm_error *err)
{
	uint8_t *is_start = calloc(cfg->count, 1);
	if (!is_start)
		return error_set(err, -ENOMEM, -1, "out of memory");
	is_start[0] = 1;
	for (size_t pc = 0; pc < cfg->count; pc++) {
		const bpfvm_insn *in = &cfg->insns[pc];
		if (in->opcode == 0x85 && in->src == PSEUDO_CALL)
			is_start[pc + 1 + in->imm] = 1; /* validated in range */
		if (in->opcode == 0x18 && in->src == PSEUDO_FUNC) {
			int64_t t = (int64_t)pc + 1 + in->imm;
			if (t < 0 || (size_t)t >= cfg->count) {
				free(is_start);
				return error_set(err, -EINVAL, (int)pc, "invalid subprog target %" PRId64, t);
			}
			is_start[t] = 1;
		}
		if (in->opcode == 0x18)
			pc++;
	}
	cfg->subprog_count = 0;
	for (size_t pc = 0; pc < cfg->count; pc++) {
		if (is_start[pc]) {
			if (cfg->subprog_count == CFG_MAX_SUBPROGS) {
				free(is_start);
				return error_set(err, -E2BIG, -1, "too many subprograms");
			}
			cfg->subprog_start[cfg->subprog_count++] = (uint32_t)pc;
		}
		cfg->subprog_of[pc] = cfg->subprog_count - 1;
	}
	free(is_start);
	return 0;
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
		bool falls = op->format != FMT_EXIT && op->format != FMT_JA && op->format != FMT_JA32;
		if (falls && pc + len < cfg->count)
			succ[ns++] = (uint32_t)(pc + len);
		if (op->format == FMT_JA || op->format == FMT_JA32 || op->format == FMT_JMP_IMM || op->format == FMT_JMP_REG ||
		    op->format == FMT_CALL_LOCAL)
			succ[ns++] = (uint32_t)isa_branch_target(op, &cfg->insns[pc], pc);
		if (op->format == FMT_LDDW && cfg->insns[pc].src == PSEUDO_FUNC)
			succ[ns++] = (uint32_t)((int64_t)pc + 1 + cfg->insns[pc].imm);
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

void cfg_mark_prune_points(struct cfg *cfg, cfg_helper_calls_back_fn calls_back, const void *user)
{
	for (size_t pc = 0; pc < cfg->count; pc++) {
		const struct isa_op *op = cfg->ops[pc];
		if (!op)
			continue;
		switch (op->format) {
		case FMT_JA:
		case FMT_JA32:
			cfg->prune[isa_branch_target(op, &cfg->insns[pc], pc)] = 1;
			break;
		case FMT_JMP_IMM:
		case FMT_JMP_REG:
			cfg->prune[isa_branch_target(op, &cfg->insns[pc], pc)] = 1;
			cfg->prune[pc + 1] = 1;
			break;
		case FMT_CALL_LOCAL:
			cfg->prune[pc + 1] = 1;
			cfg->prune[isa_branch_target(op, &cfg->insns[pc], pc)] = 1;
			break;
		case FMT_CALL:
			if (pc + 1 < cfg->count)
				cfg->prune[pc + 1] = 1;
			/* a helper calling back is a loop head */
			if (calls_back(user, (uint32_t)cfg->insns[pc].imm))
				cfg->prune[pc] = 1;
			break;
		default:
			break;
		}
	}
	for (uint32_t s = 0; s < cfg->subprog_count; s++)
		cfg->prune[cfg->subprog_start[s]] = 1;
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
	uint32_t own = (subprog_depth[s] + 31) & ~31u;
	if (!own)
		own = 32;
	uint32_t deepest = 0;
	uint32_t end = s + 1 < cfg->subprog_count ? cfg->subprog_start[s + 1] : (uint32_t)cfg->count;
	for (uint32_t pc = cfg->subprog_start[s]; pc < end; pc++) {
		const bpfvm_insn *in = &cfg->insns[pc];
		int64_t t = -1;
		if (in->opcode == 0x85 && in->src == PSEUDO_CALL)
			t = (int64_t)pc + 1 + in->imm;
		if (in->opcode == 0x18 && in->src == PSEUDO_FUNC)
			t = (int64_t)pc + 1 + in->imm;
		if (t >= 0) {
			uint32_t d = chain_depth(cfg, subprog_depth, cfg->subprog_of[t], memo, frames + 1, too_deep);
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
		return error_set(err, -EACCES, -1, "combined stack size of %u calls is %u. Too large", cfg->subprog_count,
		                 total);
	return 0;
}

int cfg_kernel_structure_words(const bpfvm_insn *insns, size_t count, bpfvm_error *err)
{
	for (size_t pc = 0; pc < count; pc++) {
		const struct isa_op *op = isa_decode(&insns[pc]);
		if (!op)
			continue; /* the validator explains */
		switch (op->format) {
		case FMT_JA:
		case FMT_JA32:
		case FMT_JMP_IMM:
		case FMT_JMP_REG: {
			int64_t t = isa_branch_target(op, &insns[pc], pc);
			if (t < 0 || (size_t)t >= count)
				return error_set(err, -EINVAL, (int)pc, "insn %zu: jump out of range from insn %zu to %" PRId64, pc,
				                 pc, t);
			break;
		}
		case FMT_ALU_IMM:
		case FMT_ALU_REG:
		case FMT_NEG:
		case FMT_END:
		case FMT_LDX:
		case FMT_LDDW:
			if (insns[pc].dst == 10)
				return error_set(err, -EACCES, (int)pc, "insn %zu: frame pointer is read only", pc);
			break;
		default:
			break;
		}
		if (op->format == FMT_LDDW)
			pc++;
	}
	return 0;
}
