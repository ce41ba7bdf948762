/*
 * opcodes.c - the operation table and per-instruction decoding.
 *
 * Owns: isa_ops[] (expanded from isa_ops.h, with the meaning that follows
 * from each row's opcode and format), the opcode index used by
 * isa_decode(), and the reserved-field rules of each operand format.
 */
#include <pthread.h>
#include <stdio.h>

#include "isa.h"

/* The meaning that follows from a row's opcode and format (see isa.h).
 * Constant expressions, so the table stays a constant. */
#define CLASS_OF(opc)   ((opc) & 0x07)
#define IS_JUMP(fmt)    ((fmt) == FMT_JA || (fmt) == FMT_JA32 || (fmt) == FMT_JMP_IMM || (fmt) == FMT_JMP_REG || \
                         (fmt) == FMT_MAY_GOTO)
#define IS_ALU(fmt)     ((fmt) == FMT_ALU_IMM || (fmt) == FMT_ALU_REG || (fmt) == FMT_NEG || (fmt) == FMT_END)
#define IS_MEM(fmt)     ((fmt) == FMT_LDX || (fmt) == FMT_ST || (fmt) == FMT_STX || (fmt) == FMT_ATOMIC || \
                         (fmt) == FMT_LDABS || (fmt) == FMT_LDIND)
#define OP_BITS(opc, fmt) \
	(IS_ALU(fmt) || IS_JUMP(fmt) ? (CLASS_OF(opc) == CLS_ALU64 || CLASS_OF(opc) == CLS_JMP ? 64 : 32) : 0)
/* the size field: W, H, B, DW */
#define OP_SIZE(opc, fmt) \
	((fmt) == FMT_LDDW ? 8 : !IS_MEM(fmt) ? 0 : \
	 ((opc) & 0x18) == 0x00 ? 4 : ((opc) & 0x18) == 0x08 ? 2 : ((opc) & 0x18) == 0x10 ? 1 : 8)
#define OP_SRC_KIND(fmt) \
	((fmt) == FMT_ALU_IMM || (fmt) == FMT_JMP_IMM || (fmt) == FMT_ST ? SRC_IMM : \
	 (fmt) == FMT_ALU_REG || (fmt) == FMT_JMP_REG || (fmt) == FMT_STX || (fmt) == FMT_ATOMIC ? SRC_REG : SRC_NONE)
#define OP_BRANCH(fmt) \
	((fmt) == FMT_JA || (fmt) == FMT_JA32 ? BRANCH_ALWAYS : \
	 (fmt) == FMT_JMP_IMM || (fmt) == FMT_JMP_REG || (fmt) == FMT_MAY_GOTO ? BRANCH_COND : \
	 (fmt) == FMT_CALL ? BRANCH_CALL_HELPER : (fmt) == FMT_CALL_LOCAL ? BRANCH_CALL_LOCAL : \
	 (fmt) == FMT_CALLX ? BRANCH_CALLX : (fmt) == FMT_EXIT ? BRANCH_EXIT : BRANCH_NONE)
/* ldxs* (mode MEMSX) and movsx (mov with an offset) */
#define OP_SIGN_EXTEND(opc, fmt, alu) \
	(((fmt) == FMT_LDX && ((opc) & 0xe0) == 0x80) || (alu) == ALU_MOVSX)
/* fetching atomics set bit 0 of imm (cmpxchg among them) */
#define OP_FETCH(fmt, selval) ((fmt) == FMT_ATOMIC && ((selval) & 0x01))
#define READS_DST ISA_REG_READS_DST
#define WRITES_DST ISA_REG_WRITES_DST
#define READS_SRC ISA_REG_READS_SRC
#define CALL_REGS (ISA_REG_READS_ARGS | ISA_REG_WRITES_R0 | ISA_REG_CLOBBERS_ARGS)
#define OP_REGS(fmt, alu, selval) \
	((fmt) == FMT_ALU_IMM ? ((alu) == ALU_MOV ? WRITES_DST : READS_DST | WRITES_DST) : \
	 (fmt) == FMT_ALU_REG ? ((alu) == ALU_MOV || (alu) == ALU_MOVSX ? READS_SRC | WRITES_DST \
	                                                             : READS_DST | READS_SRC | WRITES_DST) : \
	 (fmt) == FMT_NEG || (fmt) == FMT_END ? READS_DST | WRITES_DST : \
	 (fmt) == FMT_LDDW ? WRITES_DST : \
	 (fmt) == FMT_LDX ? READS_SRC | WRITES_DST : \
	 (fmt) == FMT_ST || (fmt) == FMT_JMP_IMM ? READS_DST : \
	 (fmt) == FMT_STX || (fmt) == FMT_JMP_REG ? READS_DST | READS_SRC : \
	 (fmt) == FMT_ATOMIC ? READS_DST | READS_SRC | \
	                       ((alu) == ALU_CMPXCHG ? ISA_REG_READS_R0 | ISA_REG_WRITES_R0 : \
	                        ((selval) & 0x01) ? ISA_REG_WRITES_SRC : 0) : \
	 (fmt) == FMT_LDABS ? ISA_REG_READS_R6 | ISA_REG_WRITES_R0 | ISA_REG_CLOBBERS_ARGS : \
	 (fmt) == FMT_LDIND ? ISA_REG_READS_R6 | READS_SRC | ISA_REG_WRITES_R0 | ISA_REG_CLOBBERS_ARGS : \
	 (fmt) == FMT_CALL || (fmt) == FMT_CALL_LOCAL ? CALL_REGS : \
	 (fmt) == FMT_CALLX ? CALL_REGS | READS_DST : \
	 (fmt) == FMT_EXIT ? ISA_REG_READS_R0 : 0)

/* the table's last column: the field it sets */
#define ALU(op) ALU_##op
#define COND(c) COND_##c
#define NO_SEM 0

const struct isa_op isa_ops[ISA_OP_COUNT] = {
#define ISA_ROW(id_, opc, sel, selval, fmt, grp, name, sym, meaning) \
	[ISA_##id_] = { .id = ISA_##id_, .opcode = (opc), .select = (sel), \
	                .select_value = (selval), .format = (fmt), .group = (grp), \
	                .asm_name = (name), .llvm_sym = (sym), \
	                .alu = IS_JUMP(fmt) ? ALU_NONE : (int)(meaning), \
	                .cond = IS_JUMP(fmt) ? (int)(meaning) : COND_NONE, \
	                .branch = OP_BRANCH(fmt), .src_kind = OP_SRC_KIND(fmt), \
	                .bits = OP_BITS(opc, fmt), .size = OP_SIZE(opc, fmt), \
	                .sign_extend = OP_SIGN_EXTEND(opc, fmt, IS_JUMP(fmt) ? 0 : (int)(meaning)), \
	                .fetch = OP_FETCH(fmt, selval), \
	                .regs = OP_REGS(fmt, IS_JUMP(fmt) ? 0 : (int)(meaning), selval) },
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

bool isa_writes_fp(const struct isa_op *op, const bpfvm_insn *insn)
{
	if (insn->dst == 10 && (op->regs & ISA_REG_WRITES_DST))
		return true;
	/* a fetching atomic loads into src (cmpxchg into r0) */
	return insn->src == 10 && (op->regs & ISA_REG_WRITES_SRC);
}

const char *isa_check_fields(const struct isa_op *op, const bpfvm_insn *insn, enum isa_encoding_rules rules)
{
	if (insn->dst > 10)
		return "destination register above r10";
	if (insn->src > 10)
		return "source register above r10";
	if (!(rules & ISA_RULES_FP_WRITES_WALKED) && isa_writes_fp(op, insn))
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
	case FMT_MAY_GOTO:
		/* the kernel's words: "invalid may_goto off %d imm %d" */
		if (insn->dst || insn->imm) return "reserved fields of may_goto are not zero";
		if (!insn->off) return "may_goto with offset 0";
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

