/*
 * fastcall.c - the kernel's bpf_fastcall stack accounting: around a call
 * to a helper the kernel's JIT inlines (bpf_get_smp_processor_id) or a
 * kfunc the kernel makes a move (bpf_rdonly_cast), clang
 * and hand-written code spill the registers the call leaves alone to the
 * lowest stack slots and fill them back right after; the kernel removes
 * those pairs and does not count their slots in the subprogram's stack
 * depth, unless something else touches that part of the stack (the
 * kernel's mark_fastcall_patterns, check_fastcall_stack_contract and
 * remove_fastcall_spills_fills).  bpfvm keeps and runs the pairs (each
 * frame has its own 512 bytes); only the combined depth is the kernel's.
 *
 * Owns: fastcall_init(), fastcall_stack_access(), fastcall_depths().
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "helpers/helper_desc.h"
#include "helpers/helpers.h"
#include "helpers/kfunc_desc.h"
#include "verifier/internal.h"

#define STX_DW_R10(in) ((in)->opcode == 0x7b && (in)->dst == 10)  /* *(u64 *)(r10 + off) = rX */
#define LDX_DW_R10(in) ((in)->opcode == 0x79 && (in)->src == 10)  /* rX = *(u64 *)(r10 + off) */

/* The spill and fill pairs around the call at pc, from the lowest slot
 * up, of the registers `expected` names: how many (the kernel's
 * mark_fastcall_pattern_for_call); *off is the slot above the last. */
static uint32_t match_pairs(struct verifier_env *env, uint32_t pc, uint32_t start, uint32_t end, int16_t lowest,
                            uint16_t expected, int16_t *off)
{
	uint32_t i = 1;
	for (*off = lowest; i <= 5 && pc >= start + i && pc + i < end; i++, *off = (int16_t)(*off + 8)) {
		const bpfvm_insn *stx = &env->insns[pc - i], *ldx = &env->insns[pc + i];
		if (!STX_DW_R10(stx) || !LDX_DW_R10(ldx) || stx->src != ldx->dst || !(expected & (1u << stx->src)) ||
		    stx->off != *off || ldx->off != *off)
			break;
		expected &= (uint16_t)~(1u << stx->src);
		env->fastcall_pattern[pc - i] = env->fastcall_pattern[pc + i] = true;
	}
	return i - 1;
}

/* The descriptor of the helper or kfunc a call names, or NULL. */
static const struct helper_desc *kfunc_or_helper_desc(const struct verifier_env *env, const bpfvm_insn *in)
{
	if (!isa_is_kfunc_call(in))
		return helpers_desc(env->opts->helpers, (uint32_t)in->imm);
	const struct kfunc_desc *k = kfunc_desc_by_id((uint32_t)in->imm);
	return k ? &k->call : NULL;
}

/* One subprogram's calls: a fastcall helper's or kfunc's pairs may go; any other
 * call's pairs keep the subprogram's whole stack (the kernel's
 * keep_fastcall_stack; a call whose arguments are not known here counts
 * all five registers as arguments, so keeps in more cases, never fewer). */
static void mark_subprog(struct verifier_env *env, uint32_t s)
{
	const struct analysis *a = env->cfg.a;
	uint32_t start = a->subprogs[s], end = s + 1 < a->subprog_count ? a->subprogs[s + 1] : (uint32_t)env->count;
	struct fastcall_sub *fs = &env->fastcall[s];
	int16_t lowest = 0;
	for (uint32_t pc = start; pc < end; pc++)
		if (STX_DW_R10(&env->insns[pc]) && env->insns[pc].off < lowest)
			lowest = env->insns[pc].off;
	for (uint32_t pc = start; pc < end; pc++) {
		const struct isa_op *op = env->cfg.ops[pc];
		if (!op || (op->branch != BRANCH_CALL_HELPER))
			continue;
		const struct helper_desc *d = kfunc_or_helper_desc(env, &env->insns[pc]);
		uint32_t nargs = 0;
		while (d && nargs < 5 && d->proto.args[nargs])
			nargs++;
		uint16_t clobbered = d ? (uint16_t)(((1u << (nargs + 1)) - 1) & (d->proto.ret == RET_VOID ? ~1u : ~0u))
		                       : 0x3f;
		uint16_t expected = (uint16_t)(0x3f & ~clobbered);
		int16_t off;
		uint32_t n = match_pairs(env, pc, start, end, lowest, d ? expected : 0x3e, &off);
		if (!n)
			continue;
		if (d && d->fastcall)
			fs->removed = true;
		else
			fs->keep = true;
		if (off < fs->off)
			fs->off = off;
	}
}

int fastcall_init(struct verifier_env *env)
{
	size_t n = env->cfg.a->subprog_count;
	env->fastcall = calloc(n, sizeof *env->fastcall);
	env->fastcall_pattern = calloc(env->count, sizeof *env->fastcall_pattern);
	if (!env->fastcall || !env->fastcall_pattern)
		return -1;
	for (uint32_t s = 0; s < n; s++)
		mark_subprog(env, s);
	return 0;
}

void fastcall_stack_access(struct verifier_env *env, uint32_t subprog, int lowest)
{
	struct fastcall_sub *fs = &env->fastcall[subprog];
	if (fs->off <= lowest || env->fastcall_pattern[env->cur.pc] || fs->disabled)
		return;
	/* the pairs' slots are used otherwise: they stay, and count */
	fs->disabled = true;
}

void fastcall_depths(struct verifier_env *env)
{
	for (uint32_t s = 0; env->fastcall && s < env->cfg.a->subprog_count; s++) {
		const struct fastcall_sub *fs = &env->fastcall[s];
		if (fs->removed && !fs->keep && !fs->disabled && (uint32_t)-fs->off < env->subprog_depth[s])
			env->subprog_depth[s] = (uint32_t)-fs->off;
	}
}
