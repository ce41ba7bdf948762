/*
 * validate.c - the encoding checks of a whole program at load time.
 *
 * Owns: the rules every instruction must pass before anything else reads
 * the program: a size within the limit, known opcodes with clean reserved
 * fields, valid registers, complete lddw pairs, and local calls and
 * callback references (an lddw of BPF_PSEUDO_FUNC, never to the entry)
 * to instructions inside the program.  The control flow (jumps,
 * subprograms, running off the end) is src/analysis's to check; which
 * helpers exist and which a program type may call, the load path's
 * (src/api/program.c).  Proving memory safety is the verifier's job.
 */
#include <errno.h>
#include <string.h>

#include "isa.h"

/* The operation at insn: a callback reference has the shape of an lddw. */
static const struct isa_op *decode(const bpfvm_insn *insn)
{
	return isa_is_func_ref(insn) ? &isa_ops[ISA_LDDW] : isa_decode(insn);
}

static int undefined_opcode(const bpfvm_insn *in, size_t pc, bpfvm_error *err)
{
	const char *field = isa_selector_name(in->opcode);
	if (isa_is_lddw(in))
		return error_set(err, -EINVAL, (int)pc, "lddw with src %u (a map or BTF reference) needs the object loader",
		                 in->src);
	if (field)
		return error_set(err, -EINVAL, (int)pc, "opcode 0x%02x with %s %d is not defined", in->opcode, field,
		                 !strcmp(field, "offset") ? in->off : !strcmp(field, "imm") ? in->imm : in->src);
	return error_set(err, -EINVAL, (int)pc, "unknown opcode 0x%02x%s", in->opcode,
	                 in->opcode == 0x00 ? " (stray second half of an lddw?)" : "");
}

/* The lddw at pc: its second slot, and a callback reference's target. */
static int check_lddw(const bpfvm_insn *insns, size_t count, size_t pc, bpfvm_error *err)
{
	const bpfvm_insn *in = &insns[pc];
	if (pc + 1 >= count)
		return error_set(err, -EINVAL, (int)pc, "lddw is truncated: its second slot is missing");
	const bpfvm_insn *hi = &insns[pc + 1];
	if (hi->opcode || hi->dst || hi->src || hi->off)
		return error_set(err, -EINVAL, (int)pc + 1,
		                 "second slot of lddw must have opcode, registers and offset zero");
	if (!isa_is_func_ref(in))
		return 0;
	int64_t t = (int64_t)pc + 1 + in->imm;
	const char *why = hi->imm ? "the second slot's immediate must be zero" :
	                  t == 0 ? "the program's entry cannot be a callback" :
	                  t < 0 || t >= (int64_t)count ? "outside the program" : NULL;
	if (why)
		return error_set(err, -EINVAL, (int)pc, "callback reference to %lld: %s", (long long)t, why);
	return 0;
}

int isa_check_encoding(const bpfvm_insn *insns, size_t count, uint32_t max_insns, enum isa_encoding_rules rules,
                       bpfvm_error *err)
{
	if (max_insns == 0)
		max_insns = BPFVM_MAX_INSNS;
	if (count == 0)
		return error_set(err, -EINVAL, -1, "empty program");
	if (count > max_insns)
		return error_set(err, -E2BIG, -1, "program has %zu instructions, more than the limit of %u",
		                 count, max_insns);
	for (size_t pc = 0; pc < count; pc++) {
		const bpfvm_insn *in = &insns[pc];
		const struct isa_op *op = decode(in);
		if (!op)
			return undefined_opcode(in, pc, err);
		const char *why = isa_check_fields(op, in, rules);
		if (why)
			return error_set(err, -EINVAL, (int)pc, "%s (opcode 0x%02x)", why, in->opcode);
		if (op->format == FMT_LDDW) {
			int rc = check_lddw(insns, count, pc, err);
			if (rc)
				return rc;
			pc++;
			continue;
		}
		if (op->format == FMT_CALL_LOCAL) {
			int64_t t = isa_branch_target(op, in, pc);
			if (t < 0 || t >= (int64_t)count)
				return error_set(err, -EINVAL, (int)pc, "local call to %lld, outside the program (0..%zu)",
				                 (long long)t, count - 1);
		}
	}
	return 0;
}
