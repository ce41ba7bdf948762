/*
 * predecode.c - the interpreter as an engine (struct engine_ops): at load
 * it turns each mode's program into threaded code (one slot per
 * instruction holding its handler's address, superinstructions where
 * src/analysis found clang's address idioms, helper calls bound to their
 * functions); at run time it enters the interpreter of the run's mode.
 *
 * Owns: engine_interp.
 */
#include <errno.h>
#include <stdlib.h>

#include "helpers/helper_desc.h"
#include "interp/interp.h"

static void interp_free(void *state)
{
	struct interp_code *code = state;
	if (!code)
		return;
	free(code->slots);
	free(code->call_fns);
	free(code);
}

/* The superinstruction the analysis found at pc (enum interp_fused), or
 * -1: the interpreter fuses the 64-bit idioms only. */
static int fused_handler(const struct analysis *a, size_t pc)
{
	if (a->idiom[pc] == IDIOM_NONE || a->ops[pc]->bits != 64)
		return -1;
	bool add_reg = a->ops[pc + 1]->src_kind == SRC_REG;
	if (a->idiom[pc] == IDIOM_LEA)
		return add_reg ? FUSED_LEA_REG : FUSED_LEA_IMM;
	static const struct { uint16_t load; int reg, imm; } loads[] = {
		{ ISA_LDXB, FUSED_LDX_REG_B, FUSED_LDX_IMM_B }, { ISA_LDXH, FUSED_LDX_REG_H, FUSED_LDX_IMM_H },
		{ ISA_LDXW, FUSED_LDX_REG_W, FUSED_LDX_IMM_W }, { ISA_LDXDW, FUSED_LDX_REG_DW, FUSED_LDX_IMM_DW },
		{ ISA_LDXSB, FUSED_LDX_REG_SB, FUSED_LDX_IMM_SB }, { ISA_LDXSH, FUSED_LDX_REG_SH, FUSED_LDX_IMM_SH },
		{ ISA_LDXSW, FUSED_LDX_REG_SW, FUSED_LDX_IMM_SW },
	};
	uint16_t load = a->ops[pc + 2]->id;
	for (size_t i = 0; i < sizeof loads / sizeof loads[0]; i++)
		if (loads[i].load == load)
			return add_reg ? loads[i].reg : loads[i].imm;
	return -1;
}

static int interp_prepare(const bpfvm_program *p, bpfvm_mode mode, void **state, bpfvm_error *err)
{
	const void *const *labels;
	if (mode == BPFVM_CHECKED)
		interp_run_checked(NULL, NULL, 0, NULL, 0, NULL, NULL, &labels);
	else
		interp_run_unchecked(NULL, NULL, 0, NULL, 0, NULL, NULL, &labels);

	size_t calls = 0;
	for (size_t pc = 0; pc < p->count; pc++)
		if (p->analysis->ops[pc] && p->analysis->ops[pc]->format == FMT_CALL)
			calls++;
	struct interp_code *code = calloc(1, sizeof *code);
	if (code) {
		code->call_fns = calloc(calls ? calls : 1, sizeof *code->call_fns);
		code->slots = calloc(p->count ? p->count : 1, sizeof *code->slots);
	}
	if (!code || !code->call_fns || !code->slots) {
		interp_free(code);
		return error_set(err, -ENOMEM, -1, "out of memory loading %zu instructions", p->count);
	}

	size_t call_index = 0;
	for (size_t pc = 0; pc < p->count; pc++) {
		const bpfvm_insn *in = &p->insns[pc];
		const struct isa_op *op = p->analysis->ops[pc];   /* validated: never NULL */
		struct interp_slot s = {
			.dst = in->dst, .src = in->src, .off = in->off, .imm = in->imm,
		};
		if (op->format == FMT_CALL) {
			code->call_fns[call_index] = p->helper_at[pc]->fn;
			s.imm = (int32_t)call_index++;
		}
		s.handler = labels[op->id];
		code->slots[pc] = s;
		if (op->format == FMT_LDDW) {
			pc++;
			uint64_t value = (uint32_t)in->imm | (uint64_t)(uint32_t)p->insns[pc].imm << 32;
			code->slots[pc].imm64 = value;
		}
	}
	/* superinstructions: none of the covered slots but the first may be
	 * jumped to */
	for (size_t pc = 0; pc + 1 < p->count; pc++) {
		int fused = fused_handler(p->analysis, pc);
		if (fused >= 0)
			code->slots[pc].handler = labels[fused];
	}
	*state = code;
	return 0;
}

static int interp_run(const bpfvm_program *prog, const void *state, struct bpfvm_run *run, uint64_t *r0,
                      bpfvm_error *err)
{
	(void)state;   /* the interpreter reads it through run->engine_state, as callbacks do */
	uint64_t top = (uint64_t)(uintptr_t)(run->stack + RUN_STACK_BYTES);
	if (run->opts->mode == BPFVM_UNCHECKED)
		return interp_run_unchecked(prog, run, 0, run->opts->args, top, r0, err, NULL);
	return interp_run_checked(prog, run, 0, run->opts->args, top, r0, err, NULL);
}

static int interp_callback(const bpfvm_program *prog, const void *state, struct bpfvm_run *run, size_t index,
                           const uint64_t args[5], uint64_t frame, uint64_t *r0, bpfvm_error *err)
{
	(void)state;
	if (run->opts->mode == BPFVM_UNCHECKED)
		return interp_run_unchecked(prog, run, prog->callbacks[index], args, frame, r0, err, NULL);
	return interp_run_checked(prog, run, prog->callbacks[index], args, frame, r0, err, NULL);
}

const struct engine_ops engine_interp = {
	.name = "interpreter",
	.prepare = interp_prepare,
	.run = interp_run,
	.call_callback = interp_callback,
	.free_state = interp_free,
};
