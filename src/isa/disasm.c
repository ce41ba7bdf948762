/*
 * disasm.c - the disassembler: one instruction to text.
 *
 * Owns: bpfvm_disasm_insn(), isa_disasm_insn().  Names and operators come from isa_ops[]
 * (asm_name, llvm_sym); this file only knows how each operand format is
 * written in the two syntaxes:
 *
 *   BPFVM_SYNTAX_ASM   the bpf_conformance assembler syntax, exactly what
 *                      asm.c reads, so disassembling a valid program and
 *                      assembling the text gives back the same bytes (jump
 *                      targets as +N/-N, lddw as one 64-bit hex value).
 *   BPFVM_SYNTAX_LLVM  llvm-objdump's C-like form (checked against
 *                      llvm-objdump 14 with --no-print-imm-hex where it
 *                      decodes the instruction at all), decimal immediates.
 *
 * An instruction that isa_decode/isa_check_fields reject, or an lddw
 * without a clean second slot, is reported as "invalid: ..." with a
 * negative return, never printed as if it were valid.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "isa.h"

/* Writes "invalid: ..." into buf and returns -EINVAL. */
__attribute__((format(printf, 3, 4)))
static int invalid(char *buf, size_t buflen, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(buf, buflen, "invalid: %s", msg);
	return -EINVAL;
}

/* Why no row of isa_ops[] matches: either the opcode is unknown, or the
 * field that selects among the rows of that opcode has a value none of
 * them uses (an unknown atomic operation, a byte swap of 17 bits, ...). */
static int describe_unknown(const bpfvm_insn *in, char *buf, size_t buflen)
{
	for (size_t i = 0; i < ISA_OP_COUNT; i++) {
		const struct isa_op *op = &isa_ops[i];
		if (op->opcode != in->opcode)
			continue;
		switch (op->select) {
		case SEL_OFF:
			return invalid(buf, buflen, "opcode 0x%02x with unknown offset %d", in->opcode, in->off);
		case SEL_IMM:
			return invalid(buf, buflen, "opcode 0x%02x with unknown immediate %d (0x%x)",
			               in->opcode, in->imm, (uint32_t)in->imm);
		case SEL_SRC:
			return invalid(buf, buflen, "opcode 0x%02x with unknown source field %u%s", in->opcode,
			               in->src, op->format == FMT_LDDW ? " (a map or BTF reference)" : "");
		default:
			break;
		}
	}
	return invalid(buf, buflen, "unknown opcode 0x%02x%s", in->opcode,
	               in->opcode == 0 ? " (stray second half of an lddw?)" : "");
}

/* ---- ASM syntax ------------------------------------------------------- */

/* An immediate as the assembler reads it: small values in decimal, big
 * ones as the 32-bit field in hex (both round-trip). */
static const char *asm_imm(char *out, size_t len, int32_t v)
{
	if (v > -65536 && v < 65536)
		snprintf(out, len, "%d", v);
	else
		snprintf(out, len, "0x%" PRIx32, (uint32_t)v);
	return out;
}

/* [%rN], [%rN+off], [%rN-off] */
static const char *asm_mem(char *out, size_t len, unsigned reg, int16_t off)
{
	if (off == 0)
		snprintf(out, len, "[%%r%u]", reg);
	else
		snprintf(out, len, "[%%r%u%+d]", reg, off);
	return out;
}

static void print_asm(const struct isa_op *op, const bpfvm_insn *in, char *buf, size_t n)
{
	char a[32], m[32];
	const char *name = op->asm_name;
	unsigned dst = in->dst, src = in->src;
	switch ((enum isa_format)op->format) {
	case FMT_ALU_IMM:
		snprintf(buf, n, "%s %%r%u, %s", name, dst, asm_imm(a, sizeof a, in->imm));
		break;
	case FMT_ALU_REG:
		snprintf(buf, n, "%s %%r%u, %%r%u", name, dst, src);
		break;
	case FMT_NEG:
	case FMT_END:
	case FMT_CALLX:
		snprintf(buf, n, "%s %%r%u", name, dst);
		break;
	case FMT_LDDW: {
		uint64_t v = (uint64_t)(uint32_t)in[0].imm | (uint64_t)(uint32_t)in[1].imm << 32;
		snprintf(buf, n, "%s %%r%u, 0x%" PRIx64, name, dst, v);
		break;
	}
	case FMT_LDABS:
		snprintf(buf, n, "%s %s", name, asm_imm(a, sizeof a, in->imm));
		break;
	case FMT_LDIND:
		snprintf(buf, n, "%s %%r%u, %s", name, src, asm_imm(a, sizeof a, in->imm));
		break;
	case FMT_LDX:
		snprintf(buf, n, "%s %%r%u, %s", name, dst, asm_mem(m, sizeof m, src, in->off));
		break;
	case FMT_ST:
		snprintf(buf, n, "%s %s, %s", name, asm_mem(m, sizeof m, dst, in->off),
		         asm_imm(a, sizeof a, in->imm));
		break;
	case FMT_STX:
		snprintf(buf, n, "%s %s, %%r%u", name, asm_mem(m, sizeof m, dst, in->off), src);
		break;
	case FMT_ATOMIC:
		snprintf(buf, n, "lock %s %s, %%r%u", name, asm_mem(m, sizeof m, dst, in->off), src);
		break;
	case FMT_JA:
	case FMT_MAY_GOTO:
		snprintf(buf, n, "%s %+d", name, in->off);
		break;
	case FMT_JA32:
	case FMT_CALL_LOCAL:
		snprintf(buf, n, "%s %+" PRId32, name, in->imm);
		break;
	case FMT_JMP_IMM:
		snprintf(buf, n, "%s %%r%u, %s, %+d", name, dst, asm_imm(a, sizeof a, in->imm), in->off);
		break;
	case FMT_JMP_REG:
		snprintf(buf, n, "%s %%r%u, %%r%u, %+d", name, dst, src, in->off);
		break;
	case FMT_CALL:
		/* helper IDs are unsigned */
		snprintf(buf, n, "%s %" PRIu32, name, (uint32_t)in->imm);
		break;
	case FMT_EXIT:
		snprintf(buf, n, "%s", name);
		break;
	}
}

/* ---- LLVM syntax ------------------------------------------------------ */

/* (r1 + 8), (r1 - 2), (r1 + 0): llvm always writes the sign and spaces. */
static const char *llvm_mem(char *out, size_t len, unsigned reg, int64_t off)
{
	if (off < 0)
		snprintf(out, len, "r%u - %" PRId64, reg, -off);
	else
		snprintf(out, len, "r%u + %" PRId64, reg, off);
	return out;
}

static void print_llvm(const struct isa_op *op, const bpfvm_insn *in, char *buf, size_t n)
{
	char m[40];
	const char *sym = op->llvm_sym;
	unsigned dst = in->dst, src = in->src;
	/* 32-bit ALU and JMP32 operate on the wN halves. */
	char w = (ISA_CLASS(op->opcode) == CLS_ALU || ISA_CLASS(op->opcode) == CLS_JMP32) ? 'w' : 'r';
	switch ((enum isa_format)op->format) {
	case FMT_ALU_IMM:
		snprintf(buf, n, "%c%u %s %" PRId32, w, dst, sym, in->imm);
		break;
	case FMT_ALU_REG:
		if (sym[0] == '(')   /* sign-extending move: r1 = (s8)r2 */
			snprintf(buf, n, "%c%u = %s%c%u", w, dst, sym, w, src);
		else
			snprintf(buf, n, "%c%u %s %c%u", w, dst, sym, w, src);
		break;
	case FMT_NEG:
		snprintf(buf, n, "%c%u = %s%c%u", w, dst, sym, w, dst);
		break;
	case FMT_END:
		snprintf(buf, n, "r%u = %s r%u", dst, sym, dst);
		break;
	case FMT_LDDW: {
		uint64_t v = (uint64_t)(uint32_t)in[0].imm | (uint64_t)(uint32_t)in[1].imm << 32;
		snprintf(buf, n, "r%u = 0x%" PRIx64 " %s", dst, v, sym);
		break;
	}
	case FMT_LDABS:
		snprintf(buf, n, "r0 = *(%s *)skb[%" PRId32 "]", sym, in->imm);
		break;
	case FMT_LDIND:
		/* llvm-objdump drops the immediate here; print it, it matters */
		snprintf(buf, n, "r0 = *(%s *)skb[%s]", sym, llvm_mem(m, sizeof m, src, in->imm));
		break;
	case FMT_LDX:
		snprintf(buf, n, "r%u = *(%s *)(%s)", dst, sym, llvm_mem(m, sizeof m, src, in->off));
		break;
	case FMT_ST:
		snprintf(buf, n, "*(%s *)(%s) = %" PRId32, sym, llvm_mem(m, sizeof m, dst, in->off), in->imm);
		break;
	case FMT_STX:
		snprintf(buf, n, "*(%s *)(%s) = r%u", sym, llvm_mem(m, sizeof m, dst, in->off), src);
		break;
	case FMT_ATOMIC: {
		bool wide = isa_access_size(op) == 8;
		char aw = wide ? 'r' : 'w';
		const char *sz = wide ? "u64" : "u32";
		llvm_mem(m, sizeof m, dst, in->off);
		if (strcmp(sym, "cmpxchg") == 0)
			snprintf(buf, n, "%c0 = cmpxchg%s(%s, %c0, %c%u)", aw, wide ? "_64" : "32_32", m, aw, aw, src);
		else if (strcmp(sym, "xchg") == 0)
			snprintf(buf, n, "%c%u = xchg%s(%s, %c%u)", aw, src, wide ? "_64" : "32_32", m, aw, src);
		else if (op->select_value & 0x01)   /* BPF_FETCH: the old value lands in src */
			snprintf(buf, n, "%c%u = atomic_fetch_%s((%s *)(%s), %c%u)", aw, src, sym, sz, m, aw, src);
		else
			snprintf(buf, n, "lock *(%s *)(%s) %s %c%u", sz, m, sym, aw, src);
		break;
	}
	case FMT_JA:
	case FMT_MAY_GOTO:
		snprintf(buf, n, "%s %+d", sym, in->off);
		break;
	case FMT_JA32:
		snprintf(buf, n, "%s %+" PRId32, sym, in->imm);
		break;
	case FMT_JMP_IMM:
		if (strcmp(sym, "&") == 0)   /* a bit mask reads best in hex */
			snprintf(buf, n, "if %c%u & %s0x%" PRIx32 " goto %+d", w, dst, in->imm < 0 ? "-" : "",
			         in->imm < 0 ? 0u - (uint32_t)in->imm : (uint32_t)in->imm, in->off);
		else
			snprintf(buf, n, "if %c%u %s %" PRId32 " goto %+d", w, dst, sym, in->imm, in->off);
		break;
	case FMT_JMP_REG:
		snprintf(buf, n, "if %c%u %s %c%u goto %+d", w, dst, sym, w, src, in->off);
		break;
	case FMT_CALL:
		snprintf(buf, n, "%s %" PRId32, sym, in->imm);
		break;
	case FMT_CALL_LOCAL:
		snprintf(buf, n, "%s %+" PRId32, sym, in->imm);
		break;
	case FMT_CALLX:
		snprintf(buf, n, "%s r%u", sym, dst);
		break;
	case FMT_EXIT:
		snprintf(buf, n, "%s", sym);
		break;
	}
}

int isa_disasm_insn(const bpfvm_insn *insns, size_t count, size_t pc, bpfvm_syntax syntax,
                    enum isa_encoding_rules rules, char *buf, size_t buflen)
{
	if (!buf)
		buflen = 0;   /* snprintf(NULL, 0, ...) only measures */
	if (syntax != BPFVM_SYNTAX_ASM && syntax != BPFVM_SYNTAX_LLVM)
		return invalid(buf, buflen, "unknown syntax %d", (int)syntax);
	if (!insns || pc >= count)
		return invalid(buf, buflen, "instruction %zu is outside the program (%zu instructions)", pc,
		               insns ? count : 0);
	const bpfvm_insn *in = &insns[pc];
	const struct isa_op *op = isa_decode(in);
	if (!op)
		return describe_unknown(in, buf, buflen);
	const char *why = isa_check_fields(op, in, rules);
	if (why)
		return invalid(buf, buflen, "%s (opcode 0x%02x)", why, in->opcode);
	int slots = 1;
	if (op->format == FMT_LDDW) {
		if (pc + 1 >= count)
			return invalid(buf, buflen, "lddw is truncated: its second slot is missing");
		const bpfvm_insn *hi = &in[1];
		if (hi->opcode || hi->dst || hi->src || hi->off)
			return invalid(buf, buflen, "second slot of lddw must have opcode, registers and offset zero");
		slots = 2;
	}
	if (syntax == BPFVM_SYNTAX_LLVM)
		print_llvm(op, in, buf, buflen);
	else
		print_asm(op, in, buf, buflen);
	return slots;
}

int bpfvm_disasm_insn(const bpfvm_insn *insns, size_t count, size_t pc, bpfvm_syntax syntax,
                      char *buf, size_t buflen)
{
	return isa_disasm_insn(insns, count, pc, syntax, ISA_RULES_ALL, buf, buflen);
}
