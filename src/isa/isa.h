/*
 * isa.h - internal view of the instruction set: the operation table built
 * from isa_ops.h, decoding, and structural validation of programs.
 *
 * Owns: enum isa_op_id, struct isa_op and the meaning of each operation
 * (enum isa_alu, isa_cond, isa_branch, the ISA_REG_* flags), isa_decode(),
 * the encoding checks of whole programs (isa_check_encoding()), the few
 * encodings other layers test or patch (isa_is_lddw(), isa_is_helper_call()),
 * (errors are base/error.h's error_set()).
 */
#ifndef BPFVM_ISA_H
#define BPFVM_ISA_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
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
	FMT_CALL,       /* call imm   (helper or kfunc ID) dst = off = 0 */
	FMT_CALL_LOCAL, /* call local target (imm)       dst = off = 0  */
	FMT_CALLX,      /* call %dst                     src = off = imm = 0 */
	FMT_EXIT,       /* exit                          all fields 0   */
	FMT_MAY_GOTO,   /* may_goto target (off)         dst = imm = 0, off != 0 */
};

enum isa_group {
	GROUP_BASE32, GROUP_BASE64, GROUP_ATOMIC32, GROUP_ATOMIC64,
	GROUP_DIVMUL32, GROUP_DIVMUL64, GROUP_PACKET, GROUP_CALLX,
	GROUP_KFUNC, GROUP_MAY_GOTO,   /* the kernel's extensions, outside RFC 9669 */
};

/* What an ALU, byte-swap or atomic operation computes. */
enum isa_alu {
	ALU_NONE, ALU_ADD, ALU_SUB, ALU_MUL, ALU_DIV, ALU_SDIV, ALU_OR, ALU_AND, ALU_LSH, ALU_RSH,
	ALU_NEG, ALU_MOD, ALU_SMOD, ALU_XOR, ALU_MOV, ALU_MOVSX, ALU_ARSH,
	ALU_END_LE, ALU_END_BE, ALU_BSWAP,      /* width: select_value */
	ALU_XCHG, ALU_CMPXCHG,                  /* atomics only */
};

/* When a jump is taken (S: signed comparison). */
enum isa_cond {
	COND_NONE, COND_ALWAYS, COND_EQ, COND_GT, COND_GE, COND_SET, COND_NE,
	COND_SGT, COND_SGE, COND_LT, COND_LE, COND_SLT, COND_SLE,
};

/* How an operation changes the flow of control. */
enum isa_branch {
	BRANCH_NONE, BRANCH_COND, BRANCH_ALWAYS, BRANCH_CALL_HELPER, BRANCH_CALL_LOCAL,
	BRANCH_CALLX, BRANCH_EXIT,
};

/* The second operand of ALU, jump and store operations. */
enum isa_src_kind { SRC_NONE, SRC_IMM, SRC_REG };

/* Registers an operation reads and writes, as the kernel's verifier sees
 * them: a call reads r1..r5 (its arguments), writes r0 and leaves r1..r5
 * unknown; a packet load reads r6 (the context) and acts as a call. */
enum {
	ISA_REG_READS_DST = 1 << 0, ISA_REG_WRITES_DST = 1 << 1,
	ISA_REG_READS_SRC = 1 << 2, ISA_REG_WRITES_SRC = 1 << 3,   /* fetching atomics */
	ISA_REG_READS_R0 = 1 << 4, ISA_REG_WRITES_R0 = 1 << 5,
	ISA_REG_READS_ARGS = 1 << 6, ISA_REG_CLOBBERS_ARGS = 1 << 7,
	ISA_REG_READS_R6 = 1 << 8,
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
	/* meaning */
	uint8_t alu;          /* enum isa_alu (ALU, byte swaps, atomics) */
	uint8_t cond;         /* enum isa_cond (jumps) */
	uint8_t branch;       /* enum isa_branch */
	uint8_t src_kind;     /* enum isa_src_kind */
	uint8_t bits;         /* ALU and jumps: 32 or 64-bit operation */
	uint8_t size;         /* loads, stores, atomics, packet loads: bytes accessed */
	bool sign_extend;     /* ldxs*, movsx */
	bool fetch;           /* atomics that return the old value */
	uint16_t regs;        /* ISA_REG_* */
};

extern const struct isa_op isa_ops[ISA_OP_COUNT];

/* Opcode class (low 3 bits) and the few fields the engines test. */
enum { CLS_LD = 0, CLS_LDX, CLS_ST, CLS_STX, CLS_ALU, CLS_JMP, CLS_JMP32, CLS_ALU64 };
#define ISA_CLASS(opcode) ((opcode) & 0x07)

/* The encodings other layers build, patch or test without decoding: the
 * first slot of an lddw (any src: plain, a map or function reference) and
 * helper or local calls. */
#define ISA_OPCODE_LDDW 0x18    /* BPF_LD | BPF_IMM | BPF_DW */
#define ISA_OPCODE_CALL 0x85    /* BPF_JMP | BPF_CALL */
#define ISA_PSEUDO_CALL 1       /* src of a local call */
#define ISA_PSEUDO_KFUNC_CALL 2 /* src of a kfunc call: imm is the kfunc's ID */

static inline bool isa_is_lddw(const bpfvm_insn *insn)
{
	return insn->opcode == ISA_OPCODE_LDDW;
}

static inline bool isa_is_helper_call(const bpfvm_insn *insn)
{
	return insn->opcode == ISA_OPCODE_CALL && insn->src == 0;
}
static inline bool isa_is_kfunc_call(const bpfvm_insn *insn)
{
	return insn->opcode == ISA_OPCODE_CALL && insn->src == ISA_PSEUDO_KFUNC_CALL;
}

/* An lddw whose src is BPF_PSEUDO_FUNC is a reference to a callback: imm
 * is the callback's first instruction relative to pc + 1.  It is not a
 * row of the table (it has no text form; decoding gives NULL): the
 * validator checks it and loading rewrites it into a plain lddw. */
#define ISA_PSEUDO_FUNC 4
static inline bool isa_is_func_ref(const bpfvm_insn *insn)
{
	return isa_is_lddw(insn) && insn->src == ISA_PSEUDO_FUNC;
}

/* The operation `insn` encodes, or NULL if no row of the table matches
 * its opcode and selector field.  Reserved fields are not checked here. */
const struct isa_op *isa_decode(const bpfvm_insn *insn);

/* For an opcode whose operations differ by another field: that field's
 * name ("offset", "imm", "src"); NULL for unknown or plain opcodes. */
const char *isa_selector_name(uint8_t opcode);


/* Size in bytes accessed by a load/store/atomic operation. */
unsigned isa_access_size(const struct isa_op *op);

/* Destination of a jump at pc (FMT_JA, FMT_JA32, FMT_JMP_*), or of a
 * local call (FMT_CALL_LOCAL). */
int64_t isa_branch_target(const struct isa_op *op, const bpfvm_insn *insn, size_t pc);

/* Whether insn writes r10, the frame pointer, which is read-only: as its
 * destination, or as the source register a fetching atomic loads into. */
bool isa_writes_fp(const struct isa_op *op, const bpfvm_insn *insn);

/* The rules isa_check_encoding() may leave to a later pass. */
enum isa_encoding_rules {
	ISA_RULES_ALL = 0,
	/* a write to r10 is let through: the verifier refuses it where a path
	 * reaches it, as the kernel's walk does (a write no path reaches is
	 * dead code, made a no-op before the program is loaded) */
	ISA_RULES_FP_WRITES_WALKED = 1,
};

/* bpfvm_disasm_insn() under the given rules: with
 * ISA_RULES_FP_WRITES_WALKED a write to r10 is printed as written (the
 * verifier's log shows it before refusing it, as the kernel's does). */
int isa_disasm_insn(const bpfvm_insn *insns, size_t count, size_t pc, bpfvm_syntax syntax,
                    enum isa_encoding_rules rules, char *buf, size_t buflen);

/* Checks the reserved fields and registers of one decoded instruction
 * (all but those `rules` leaves to a later pass).  Returns NULL if fine,
 * else a static description of the problem. */
const char *isa_check_fields(const struct isa_op *op, const bpfvm_insn *insn, enum isa_encoding_rules rules);

/* Checks the encoding of a whole program, instruction by instruction:
 * its size, known opcodes with clean reserved fields and valid registers,
 * complete lddw pairs, local calls and callback references inside the
 * program.  The control flow is src/analysis's to check. */
int isa_check_encoding(const bpfvm_insn *insns, size_t count, uint32_t max_insns, enum isa_encoding_rules rules,
                       bpfvm_error *err);


#endif
