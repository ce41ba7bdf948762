/*
 * isa.h - internal view of the instruction set: the operation table built
 * from isa_ops.h, decoding, and structural validation of programs.
 *
 * Owns: enum isa_op_id, struct isa_op, isa_decode(), isa_validate(),
 * and the error-reporting helper every module uses (isa_error()).
 */
#ifndef BPFVM_ISA_H
#define BPFVM_ISA_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfvm/bpfvm.h"
#include "isa_ops.h"

enum isa_select { SEL_NONE, SEL_OFF, SEL_IMM, SEL_SRC };

/* Operand layouts.  Each also fixes which fields must be zero. */
enum isa_format {
	FMT_ALU_IMM,    /* op %dst, imm                  src = 0        */
	FMT_ALU_REG,    /* op %dst, %src                 imm = 0        */
	FMT_NEG,        /* neg %dst                      src = imm = 0  */
	FMT_END,        /* be16 %dst                     src = off = 0  */
	FMT_LDDW,       /* lddw %dst, imm64  (two slots) off = 0        */
	FMT_LDABS,      /* ldabsw imm                    dst = src = off = 0 */
	FMT_LDIND,      /* ldindw %src, imm              dst = off = 0  */
	FMT_LDX,        /* ldxw %dst, [%src+off]         imm = 0        */
	FMT_ST,         /* stw [%dst+off], imm           src = 0        */
	FMT_STX,        /* stxw [%dst+off], %src         imm = 0        */
	FMT_ATOMIC,     /* lock add [%dst+off], %src     imm = operation */
	FMT_JA,         /* ja target (off)               regs = imm = 0 */
	FMT_JA32,       /* ja32 target (imm)             regs = off = 0 */
	FMT_JMP_IMM,    /* jeq %dst, imm, target         src = 0        */
	FMT_JMP_REG,    /* jeq %dst, %src, target        imm = 0        */
	FMT_CALL,       /* call imm   (helper ID)        dst = off = 0  */
	FMT_CALL_LOCAL, /* call local target (imm)       dst = off = 0  */
	FMT_CALLX,      /* call %dst                     src = off = imm = 0 */
	FMT_EXIT,       /* exit                          all fields 0   */
};

enum isa_group {
	GROUP_BASE32, GROUP_BASE64, GROUP_ATOMIC32, GROUP_ATOMIC64,
	GROUP_DIVMUL32, GROUP_DIVMUL64, GROUP_PACKET, GROUP_CALLX,
};

enum isa_op_id {
#define ISA_ENUM(id, ...) ISA_##id,
	ISA_OPS(ISA_ENUM)
#undef ISA_ENUM
	ISA_OP_COUNT
};

struct isa_op {
	uint16_t id;          /* enum isa_op_id */
	uint8_t opcode;
	uint8_t select;       /* enum isa_select */
	int32_t select_value;
	uint8_t format;       /* enum isa_format */
	uint8_t group;        /* enum isa_group */
	const char *asm_name;
	const char *llvm_sym;
};

extern const struct isa_op isa_ops[ISA_OP_COUNT];

/* Opcode class (low 3 bits) and the few fields the engines test. */
enum { CLS_LD = 0, CLS_LDX, CLS_ST, CLS_STX, CLS_ALU, CLS_JMP, CLS_JMP32, CLS_ALU64 };
#define ISA_CLASS(opcode) ((opcode) & 0x07)

/* An lddw whose src is BPF_PSEUDO_FUNC is a reference to a callback: imm
 * is the callback's first instruction relative to pc + 1.  It is not a
 * row of the table (it has no text form; decoding gives NULL): the
 * validator checks it and loading rewrites it into a plain lddw. */
#define ISA_PSEUDO_FUNC 4
static inline bool isa_is_func_ref(const bpfvm_insn *insn)
{
	return insn->opcode == 0x18 && insn->src == ISA_PSEUDO_FUNC;
}

/* The operation `insn` encodes, or NULL if no row of the table matches
 * its opcode and selector field.  Reserved fields are not checked here. */
const struct isa_op *isa_decode(const bpfvm_insn *insn);

/* For an opcode whose operations differ by another field: that field's
 * name ("offset", "imm", "src"); NULL for unknown or plain opcodes. */
const char *isa_selector_name(uint8_t opcode);

/* Checks the reserved fields and registers of one decoded instruction.
 * Returns NULL if fine, else a static description of the problem. */
const char *isa_check_fields(const struct isa_op *op, const bpfvm_insn *insn);

/* Size in bytes accessed by a load/store/atomic operation. */
unsigned isa_access_size(const struct isa_op *op);

/* Destination of a jump at pc (FMT_JA, FMT_JA32, FMT_JMP_*), or of a
 * local call (FMT_CALL_LOCAL). */
int64_t isa_branch_target(const struct isa_op *op, const bpfvm_insn *insn, size_t pc);

struct bpfvm_helpers;
/* Validates a whole program; see bpfvm_program_load(). */
int isa_validate(const bpfvm_insn *insns, size_t count, uint32_t max_insns,
                 const struct bpfvm_helpers *helpers, bpfvm_error *err);

/* Fills err (if non-NULL) and returns code.  insn may be -1. */
int isa_error(bpfvm_error *err, int code, int insn, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
