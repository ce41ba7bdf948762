/*
 * opcodes.c - the operation table and per-instruction decoding.
 *
 * Owns: isa_ops[] (expanded from isa_ops.h), the opcode index used by
 * isa_decode(), the reserved-field rules of each operand format, and
 * isa_error(), the one way errors are written.
 */
#include <pthread.h>
#include <stdio.h>

#include "isa.h"

const struct isa_op isa_ops[ISA_OP_COUNT] = {
#define ISA_ROW(id_, opc, sel, selval, fmt, grp, name, sym) \
	[ISA_##id_] = { .id = ISA_##id_, .opcode = (opc), .select = (sel), \
	                .select_value = (selval), .format = (fmt), .group = (grp), \
	                .asm_name = (name), .llvm_sym = (sym) },
	ISA_OPS(ISA_ROW)
#undef ISA_ROW
};

/* For each opcode byte, the rows that share it, chained through next[].
 * Built once; read-only afterwards, so decoding is thread-safe. */
static int16_t first_row[256];
static int16_t next_row[ISA_OP_COUNT];
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void build_index(void)
{
	for (int i = 0; i < 256; i++)
		first_row[i] = -1;
	for (int i = ISA_OP_COUNT - 1; i >= 0; i--) {
		next_row[i] = first_row[isa_ops[i].opcode];
		first_row[isa_ops[i].opcode] = (int16_t)i;
	}
}

const struct isa_op *isa_decode(const bpfvm_insn *insn)
{
	pthread_once(&index_once, build_index);
	for (int i = first_row[insn->opcode]; i >= 0; i = next_row[i]) {
		const struct isa_op *op = &isa_ops[i];
		int32_t field;
		switch (op->select) {
		case SEL_NONE: return op;
		case SEL_OFF: field = insn->off; break;
		case SEL_IMM: field = insn->imm; break;
		default: field = insn->src; break;
		}
		if (field == op->select_value)
			return op;
	}
	return NULL;
}

const char *isa_selector_name(uint8_t opcode)
{
	pthread_once(&index_once, build_index);
	int row = first_row[opcode];
	if (row < 0)
		return NULL;
	static const char *const names[] = { [SEL_NONE] = NULL, [SEL_OFF] = "offset",
	                                     [SEL_IMM] = "imm", [SEL_SRC] = "src" };
	return names[isa_ops[row].select];
}

/* True if the operation writes its destination register. */
static bool writes_dst(const struct isa_op *op)
{
	switch (op->format) {
	case FMT_ALU_IMM: case FMT_ALU_REG: case FMT_NEG: case FMT_END:
	case FMT_LDDW: case FMT_LDX:
		return true;
	default:
		return false;
	}
}

const char *isa_check_fields(const struct isa_op *op, const bpfvm_insn *insn)
{
	if (insn->dst > 10)
		return "destination register above r10";
	if (insn->src > 10)
		return "source register above r10";
	if (insn->dst == 10 && writes_dst(op))
		return "r10 (the frame pointer) is read-only";
	bool off_free = op->select == SEL_OFF;
	switch (op->format) {
	case FMT_ALU_IMM:
		if (insn->src) return "reserved source register field is not zero";
		if (!off_free && insn->off) return "reserved offset field is not zero";
		break;
	case FMT_ALU_REG:
		if (insn->imm) return "reserved immediate field is not zero";
		if (!off_free && insn->off) return "reserved offset field is not zero";
		break;
	case FMT_NEG:
		if (insn->src || insn->imm || insn->off) return "reserved fields of neg are not zero";
		break;
	case FMT_END:
		if (insn->src || insn->off) return "reserved fields of a byte swap are not zero";
		break;
	case FMT_LDDW:
		if (insn->off) return "reserved offset field of lddw is not zero";
		break;
	case FMT_LDABS:
		if (insn->dst || insn->src || insn->off) return "reserved fields of an absolute packet load are not zero";
		break;
	case FMT_LDIND:
		if (insn->dst || insn->off) return "reserved fields of an indirect packet load are not zero";
		break;
	case FMT_LDX:
	case FMT_STX:
		if (insn->imm) return "reserved immediate field is not zero";
		break;
	case FMT_ST:
		if (insn->src) return "reserved source register field is not zero";
		break;
	case FMT_ATOMIC:
		/* fetch forms write src (cmpxchg writes r0) */
		if ((insn->imm & 0x01) && insn->src == 10)
			return "r10 (the frame pointer) is read-only";
		break;
	case FMT_JA:
		if (insn->dst || insn->src || insn->imm) return "reserved fields of ja are not zero";
		break;
	case FMT_JA32:
		if (insn->dst || insn->src || insn->off) return "reserved fields of ja32 are not zero";
		break;
	case FMT_JMP_IMM:
		if (insn->src) return "reserved source register field is not zero";
		break;
	case FMT_JMP_REG:
		if (insn->imm) return "reserved immediate field is not zero";
		break;
	case FMT_CALL:
	case FMT_CALL_LOCAL:
		if (insn->dst || insn->off) return "reserved fields of call are not zero";
		break;
	case FMT_CALLX:
		if (insn->src || insn->off || insn->imm) return "reserved fields of callx are not zero";
		break;
	case FMT_EXIT:
		if (insn->dst || insn->src || insn->off || insn->imm) return "reserved fields of exit are not zero";
		break;
	}
	return NULL;
}

unsigned isa_access_size(const struct isa_op *op)
{
	static const unsigned sizes[4] = { 4, 2, 1, 8 };  /* W, H, B, DW */
	return sizes[(op->opcode >> 3) & 3];
}

int64_t isa_branch_target(const struct isa_op *op, const bpfvm_insn *insn, size_t pc)
{
	if (op->format == FMT_JA32 || op->format == FMT_CALL_LOCAL)
		return (int64_t)pc + 1 + insn->imm;
	return (int64_t)pc + 1 + insn->off;
}

int isa_error(bpfvm_error *err, int code, int insn, const char *fmt, ...)
{
	if (err) {
		err->code = code;
		err->insn = insn;
		err->line = 0;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return code;
}
