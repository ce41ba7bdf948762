/*
 * inline_lookup.c - finds the helper calls whose map argument is a
 * constant (see inline_lookup.h for the rule), and among them the calls
 * of bpf_map_lookup_elem on an array map that engines may open-code.
 */

#include "jit/inline_lookup.h"
#include "helpers/helper_desc.h"

/* How far back from the call the lddw of r1 may be: clang puts it right
 * before the call or a few argument set-ups earlier. */
#define SCAN_BACK 16

/* Whether insn leaves r1 alone and goes on to the next instruction. */
static bool keeps_r1(const bpfvm_insn *in, const struct isa_op *op)
{
	switch (op->format) {
	case FMT_ALU_IMM: case FMT_ALU_REG: case FMT_NEG: case FMT_END: case FMT_LDX: case FMT_LDDW:
		return in->dst != 1;
	case FMT_ST: case FMT_STX:   /* a store writes memory, not its base register */
		return true;
	default:                     /* jumps, calls, exits, atomics (some write a register) */
		return false;
	}
}

bpfvm_map *call_const_map(const bpfvm_program *prog, size_t pc, const bool *is_target)
{
	if (!isa_is_helper_call(&prog->insns[pc]) || is_target[pc])
		return NULL;
	/* Walk back to the instruction that last set r1; an lddw's second
	 * slot is never a jump target (validation), so stepping over it is
	 * safe, and it is recognised by its all-zero opcode. */
	for (size_t back = 1; back <= SCAN_BACK && back <= pc; back++) {
		size_t q = pc - back;
		const bpfvm_insn *in = &prog->insns[q];
		if (in->opcode == 0 && q > 0 && isa_is_lddw(&prog->insns[q - 1]))
			continue;
		const struct isa_op *op = isa_decode(in);
		if (op->format == FMT_LDDW && in->dst == 1) {
			if (in->src != 0)
				return NULL;
			uint64_t value = (uint32_t)in->imm | (uint64_t)(uint32_t)in[1].imm << 32;
			for (size_t i = 0; i < prog->map_count; i++)
				if ((uint64_t)(uintptr_t)prog->maps[i] == value)
					return prog->maps[i];
			return NULL;
		}
		if (!keeps_r1(in, op) || is_target[q])
			return NULL;
	}
	return NULL;
}

bool inline_lookup_at(const bpfvm_program *prog, size_t pc, const bool *is_target, struct array_layout *out)
{
	const struct helper_desc *d = prog->helper_at[pc];
	if (!d || d->inline_kind != INLINE_MAP_LOOKUP)
		return false;
	bpfvm_map *map = call_const_map(prog, pc, is_target);
	return map && map_gen_lookup(map, out) && out->stride <= INT32_MAX;
}
