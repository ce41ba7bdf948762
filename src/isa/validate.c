/*
 * validate.c - structural validation of a whole program at load time.
 *
 * Owns: the rules every program must pass before any engine sees it:
 * known opcodes with clean reserved fields, valid registers, complete lddw
 * pairs, jump targets inside the program, never into the second slot of an
 * lddw and never into another subprogram, local calls to real
 * instructions, helpers that exist, and no path that runs off the end of
 * its subprogram.  A callback reference (an lddw of BPF_PSEUDO_FUNC)
 * names a subprogram the way a local call does, but never the entry.
 * Proving memory safety is the verifier's job, not this.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "isa.h"

/* The operation at insn: a callback reference has the shape of an lddw. */
static const struct isa_op *decode(const bpfvm_insn *insn)
{
	return isa_is_func_ref(insn) ? &isa_ops[ISA_LDDW] : isa_decode(insn);
}

static bool falls_through(const struct isa_op *op)
{
	return op->format != FMT_EXIT && op->format != FMT_JA && op->format != FMT_JA32;
}

int isa_validate(const bpfvm_insn *insns, size_t count, uint32_t max_insns,
                 const struct bpfvm_helpers *helpers, bpfvm_error *err)
{
	if (max_insns == 0)
		max_insns = BPFVM_MAX_INSNS;
	if (count == 0)
		return isa_error(err, -EINVAL, -1, "empty program");
	if (count > max_insns)
		return isa_error(err, -E2BIG, -1, "program has %zu instructions, more than the limit of %u",
		                 count, max_insns);

	/* kind[pc]: 0 ordinary, 1 second slot of lddw, 2 subprogram start */
	uint8_t *kind = calloc(count, 1);
	if (!kind)
		return isa_error(err, -ENOMEM, -1, "out of memory validating %zu instructions", count);
	int rc = 0;
	kind[0] = 2;

	/* Pass 1: each instruction alone; find lddw halves and subprograms. */
	for (size_t pc = 0; pc < count; pc++) {
		const bpfvm_insn *in = &insns[pc];
		const struct isa_op *op = decode(in);
		if (!op) {
			const char *field = isa_selector_name(in->opcode);
			if (in->opcode == 0x18)
				rc = isa_error(err, -EINVAL, (int)pc,
				               "lddw with src %u (a map or BTF reference) needs the object loader",
				               in->src);
			else if (field)
				rc = isa_error(err, -EINVAL, (int)pc, "opcode 0x%02x with %s %d is not defined",
				               in->opcode, field,
				               !strcmp(field, "offset") ? in->off :
				               !strcmp(field, "imm") ? in->imm : in->src);
			else
				rc = isa_error(err, -EINVAL, (int)pc, "unknown opcode 0x%02x%s", in->opcode,
				               in->opcode == 0x00 ? " (stray second half of an lddw?)" : "");
			goto out;
		}
		const char *why = isa_check_fields(op, in);
		if (why) {
			rc = isa_error(err, -EINVAL, (int)pc, "%s (opcode 0x%02x)", why, in->opcode);
			goto out;
		}
		if (op->format == FMT_LDDW) {
			if (pc + 1 >= count) {
				rc = isa_error(err, -EINVAL, (int)pc, "lddw is truncated: its second slot is missing");
				goto out;
			}
			const bpfvm_insn *hi = &insns[pc + 1];
			if (hi->opcode || hi->dst || hi->src || hi->off) {
				rc = isa_error(err, -EINVAL, (int)pc + 1,
				               "second slot of lddw must have opcode, registers and offset zero");
				goto out;
			}
			if (isa_is_func_ref(in)) {
				int64_t t = (int64_t)pc + 1 + in->imm;
				const char *why = hi->imm ? "the second slot's immediate must be zero" :
				                  t == 0 ? "the program's entry cannot be a callback" :
				                  t < 0 || t >= (int64_t)count ? "outside the program" : NULL;
				if (why) {
					rc = isa_error(err, -EINVAL, (int)pc, "callback reference to %lld: %s",
					               (long long)t, why);
					goto out;
				}
			}
			kind[++pc] = 1;
			continue;
		}
		if (op->format == FMT_CALL_LOCAL) {
			int64_t t = isa_branch_target(op, in, pc);
			if (t < 0 || t >= (int64_t)count) {
				rc = isa_error(err, -EINVAL, (int)pc, "local call to %lld, outside the program (0..%zu)",
				               (long long)t, count - 1);
				goto out;
			}
		}
		if (op->format == FMT_CALL && !bpfvm_helpers_find(helpers, (uint32_t)in->imm, NULL)) {
			rc = isa_error(err, -EINVAL, (int)pc, "call to unknown helper %u", (uint32_t)in->imm);
			goto out;
		}
	}
	for (size_t pc = 0; pc < count; pc++) {
		if (kind[pc] == 1)
			continue;
		bool func_ref = isa_is_func_ref(&insns[pc]);
		const struct isa_op *op = decode(&insns[pc]);
		if (op->format != FMT_CALL_LOCAL && !func_ref)
			continue;
		int64_t t = func_ref ? (int64_t)pc + 1 + insns[pc].imm : isa_branch_target(op, &insns[pc], pc);
		if (kind[t] == 1) {
			rc = isa_error(err, -EINVAL, (int)pc, "%s into the second slot of the lddw at %lld",
			               func_ref ? "callback reference" : "local call", (long long)t - 1);
			goto out;
		}
		kind[t] = 2;
	}

	/* Pass 2: jumps stay inside their subprogram; nothing falls off its end. */
	size_t sub_start = 0, sub_end = 0;
	for (size_t pc = 0; pc < count; pc++) {
		if (kind[pc] == 2) {
			sub_start = pc;
			sub_end = pc + 1;
			while (sub_end < count && kind[sub_end] != 2)
				sub_end++;
		}
		if (kind[pc] == 1)
			continue;
		const struct isa_op *op = decode(&insns[pc]);
		size_t width = op->format == FMT_LDDW ? 2 : 1;
		switch (op->format) {
		case FMT_JA: case FMT_JA32: case FMT_JMP_IMM: case FMT_JMP_REG: {
			int64_t t = isa_branch_target(op, &insns[pc], pc);
			if (t < 0 || t >= (int64_t)count) {
				rc = isa_error(err, -EINVAL, (int)pc, "jump to %lld, outside the program (0..%zu)",
				               (long long)t, count - 1);
				goto out;
			}
			if (kind[t] == 1) {
				rc = isa_error(err, -EINVAL, (int)pc, "jump into the second slot of the lddw at %lld",
				               (long long)t - 1);
				goto out;
			}
			if ((size_t)t < sub_start || (size_t)t >= sub_end) {
				rc = isa_error(err, -EINVAL, (int)pc,
				               "jump to %lld leaves its subprogram (%zu..%zu)",
				               (long long)t, sub_start, sub_end - 1);
				goto out;
			}
			break;
		}
		default:
			break;
		}
		if (falls_through(op) && pc + width >= sub_end) {
			rc = isa_error(err, -EINVAL, (int)pc,
			               sub_end == count ? "execution can run off the end of the program"
			                                : "execution can fall into the next subprogram");
			goto out;
		}
		pc += width - 1;
	}
out:
	free(kind);
	return rc;
}
