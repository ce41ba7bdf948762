/*
 * emit.h - an x86-64 instruction encoder, just big enough for the JIT.
 *
 * Owns: the code buffer and the byte-level encodings (REX prefixes, ModRM,
 * SIB, displacements, immediates).  Knows nothing about eBPF.
 *
 * Registers are numbered as the hardware does: rax 0, rcx 1, rdx 2, rbx 3,
 * rsp 4, rbp 5, rsi 6, rdi 7, r8..r15 8..15.  `w` selects 64-bit operand
 * size (REX.W); 32-bit operations zero the upper half of their
 * destination, which is exactly eBPF's ALU32 rule.
 */
#ifndef BPFVM_JIT_X86_64_EMIT_H
#define BPFVM_JIT_X86_64_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { RAX = 0, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

struct emit_buf {
	uint8_t *code;
	size_t len;
	size_t cap;
	bool oom;             /* an allocation failed; the result is unusable */
};

static inline void emit_reserve(struct emit_buf *b, size_t n)
{
	if (b->len + n <= b->cap || b->oom)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	uint8_t *p = realloc(b->code, cap);
	if (!p) {
		b->oom = true;
		return;
	}
	b->code = p;
	b->cap = cap;
}

static inline void emit_bytes(struct emit_buf *b, const void *bytes, size_t n)
{
	emit_reserve(b, n);
	if (b->oom) {
		b->len += n;   /* keep offsets consistent; the code is discarded */
		return;
	}
	memcpy(b->code + b->len, bytes, n);
	b->len += n;
}

static inline void emit1(struct emit_buf *b, uint8_t v) { emit_bytes(b, &v, 1); }
static inline void emit4(struct emit_buf *b, uint32_t v) { emit_bytes(b, &v, 4); }
static inline void emit8(struct emit_buf *b, uint64_t v) { emit_bytes(b, &v, 8); }

static inline bool fits_s8(int64_t v) { return v >= -128 && v <= 127; }
static inline bool fits_s32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/* REX prefix for operand size w, ModRM.reg = reg, ModRM.rm/base = rm.
 * force: emit even when empty (byte registers spl/bpl/sil/dil). */
static inline void emit_rex(struct emit_buf *b, bool w, int reg, int index, int rm, bool force)
{
	uint8_t rex = 0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((index & 8) ? 2 : 0) | ((rm & 8) ? 1 : 0);
	if (rex != 0x40 || force)
		emit1(b, rex);
}

static inline void emit_modrm(struct emit_buf *b, int mod, int reg, int rm)
{
	emit1(b, (uint8_t)((mod << 6) | ((reg & 7) << 3) | (rm & 7)));
}

/* ModRM (+SIB, +displacement) for the memory operand [base + disp]. */
static inline void emit_mem(struct emit_buf *b, int reg, int base, int32_t disp)
{
	int mod = disp == 0 && (base & 7) != RBP ? 0 : fits_s8(disp) ? 1 : 2;
	emit_modrm(b, mod, reg, base);
	if ((base & 7) == RSP)
		emit1(b, 0x24);       /* SIB: base only */
	if (mod == 1)
		emit1(b, (uint8_t)disp);
	else if (mod == 2)
		emit4(b, (uint32_t)disp);
}

/* op reg, [base + index + disp] (scale 1); index must not be rsp. */
static inline void emit_rm_index(struct emit_buf *b, bool word, bool w, const uint8_t *op, size_t oplen,
                                 int reg, int base, int index, int32_t disp, bool byte_reg)
{
	/* rbp/r13 as a base needs a displacement byte, which makes a
	 * three-part address (a slow lea on some cores): swap them when the
	 * other register can be the base */
	if (disp == 0 && (base & 7) == RBP && (index & 7) != RBP) {
		int t = base;
		base = index;
		index = t;
	}
	if (word)
		emit1(b, 0x66);
	emit_rex(b, w, reg, index, base, byte_reg && reg >= 4);
	emit_bytes(b, op, oplen);
	int mod = disp == 0 && (base & 7) != RBP ? 0 : fits_s8(disp) ? 1 : 2;
	emit_modrm(b, mod, reg, 4);                               /* SIB follows */
	emit1(b, (uint8_t)(((index & 7) << 3) | (base & 7)));
	if (mod == 1)
		emit1(b, (uint8_t)disp);
	else if (mod == 2)
		emit4(b, (uint32_t)disp);
}

/* n bytes of padding in as few instructions as possible (the long nops
 * of the AMD and Intel optimisation manuals). */
static inline void emit_nops(struct emit_buf *b, size_t n)
{
	static const uint8_t nops[9][9] = {
		{ 0x90 }, { 0x66, 0x90 }, { 0x0f, 0x1f, 0x00 }, { 0x0f, 0x1f, 0x40, 0x00 },
		{ 0x0f, 0x1f, 0x44, 0x00, 0x00 }, { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 },
		{ 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 },
		{ 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
		{ 0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
	};
	while (n) {
		size_t k = n > 9 ? 9 : n;
		emit_bytes(b, nops[k - 1], k);
		n -= k;
	}
}

/* lea dst, [base + index * 2^scale + disp]; index must not be rsp. */
static inline void emit_lea_scaled(struct emit_buf *b, bool w, int dst, int base, int index, uint8_t scale,
                                   int32_t disp)
{
	emit_rex(b, w, dst, index, base, false);
	emit1(b, 0x8d);
	/* base rbp/r13 has no form without a displacement */
	int mod = disp == 0 && (base & 7) != RBP ? 0 : fits_s8(disp) ? 1 : 2;
	emit_modrm(b, mod, dst, 4);
	emit1(b, (uint8_t)((scale << 6) | ((index & 7) << 3) | (base & 7)));
	if (mod == 1)
		emit1(b, (uint8_t)disp);
	else if (mod == 2)
		emit4(b, (uint32_t)disp);
}

/* op reg, rm (register direct), with an optional 0x0f escape. */
static inline void emit_rr(struct emit_buf *b, bool w, const uint8_t *op, size_t oplen, int reg, int rm)
{
	emit_rex(b, w, reg, 0, rm, false);
	emit_bytes(b, op, oplen);
	emit_modrm(b, 3, reg, rm);
}

/* op reg, [base + disp]; prefix 0x66 when word.  byte_reg forces REX so
 * registers 4..7 mean spl..dil. */
static inline void emit_rm(struct emit_buf *b, bool word, bool w, const uint8_t *op, size_t oplen,
                           int reg, int base, int32_t disp, bool byte_reg)
{
	if (word)
		emit1(b, 0x66);
	emit_rex(b, w, reg, 0, base, byte_reg && reg >= 4);
	emit_bytes(b, op, oplen);
	emit_mem(b, reg, base, disp);
}

#define OP(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })

static inline void emit_mov_rr(struct emit_buf *b, bool w, int dst, int src)
{
	emit_rr(b, w, OP(0x89), src, dst);
}

/* dst = imm, choosing the shortest encoding with the same 64-bit result. */
static inline void emit_mov_imm64(struct emit_buf *b, int dst, uint64_t imm)
{
	if (imm == 0) {
		emit_rr(b, false, OP(0x31), dst, dst);           /* xor r32, r32 */
	} else if (imm <= UINT32_MAX) {
		emit_rex(b, false, 0, 0, dst, false);
		emit1(b, (uint8_t)(0xb8 + (dst & 7)));             /* mov r32, imm32 */
		emit4(b, (uint32_t)imm);
	} else if (fits_s32((int64_t)imm)) {
		emit_rex(b, true, 0, 0, dst, false);
		emit1(b, 0xc7);                                     /* mov r64, simm32 */
		emit_modrm(b, 3, 0, dst);
		emit4(b, (uint32_t)imm);
	} else {
		emit_rex(b, true, 0, 0, dst, false);
		emit1(b, (uint8_t)(0xb8 + (dst & 7)));             /* movabs */
		emit8(b, imm);
	}
}

/* Group-1 ALU with immediate: /ext = 0 add, 1 or, 4 and, 5 sub, 6 xor, 7 cmp. */
static inline void emit_alu_imm(struct emit_buf *b, bool w, int ext, int dst, int32_t imm)
{
	emit_rex(b, w, 0, 0, dst, false);
	if (fits_s8(imm)) {
		emit1(b, 0x83);
		emit_modrm(b, 3, ext, dst);
		emit1(b, (uint8_t)imm);
	} else {
		emit1(b, 0x81);
		emit_modrm(b, 3, ext, dst);
		emit4(b, (uint32_t)imm);
	}
}

/* Shift group 2 by immediate: /ext = 4 shl, 5 shr, 7 sar, 0 rol, 1 ror. */
static inline void emit_shift_imm(struct emit_buf *b, bool w, int ext, int dst, uint8_t count)
{
	emit_rex(b, w, 0, 0, dst, false);
	if (count == 1) {
		emit1(b, 0xd1);
		emit_modrm(b, 3, ext, dst);
	} else {
		emit1(b, 0xc1);
		emit_modrm(b, 3, ext, dst);
		emit1(b, count);
	}
}

static inline void emit_shift_cl(struct emit_buf *b, bool w, int ext, int dst)
{
	emit_rr(b, w, OP(0xd3), ext, dst);
}

static inline void emit_push(struct emit_buf *b, int reg)
{
	emit_rex(b, false, 0, 0, reg, false);
	emit1(b, (uint8_t)(0x50 + (reg & 7)));
}

static inline void emit_pop(struct emit_buf *b, int reg)
{
	emit_rex(b, false, 0, 0, reg, false);
	emit1(b, (uint8_t)(0x58 + (reg & 7)));
}

/* jcc rel32 / jmp rel32 / call rel32 with a placeholder; returns the
 * offset of the rel32 field for patching. */
static inline size_t emit_jcc32(struct emit_buf *b, uint8_t cc)
{
	emit1(b, 0x0f);
	emit1(b, (uint8_t)(0x80 | cc));
	emit4(b, 0);
	return b->len - 4;
}

static inline size_t emit_jmp32(struct emit_buf *b)
{
	emit1(b, 0xe9);
	emit4(b, 0);
	return b->len - 4;
}

static inline size_t emit_call32(struct emit_buf *b)
{
	emit1(b, 0xe8);
	emit4(b, 0);
	return b->len - 4;
}

/* Short forms, for jumps whose distance is known to fit in a byte. */
static inline size_t emit_jcc8(struct emit_buf *b, uint8_t cc)
{
	emit1(b, (uint8_t)(0x70 | cc));
	emit1(b, 0);
	return b->len - 1;
}

static inline size_t emit_jmp8(struct emit_buf *b)
{
	emit1(b, 0xeb);
	emit1(b, 0);
	return b->len - 1;
}

/* Points the rel8 at `at` to `target`; false if it does not reach. */
static inline bool patch_rel8(struct emit_buf *b, size_t at, size_t target)
{
	int64_t rel = (int64_t)target - (int64_t)(at + 1);
	if (!fits_s8(rel))
		return false;
	if (!b->oom)
		b->code[at] = (uint8_t)(int8_t)rel;
	return true;
}

/* Points the rel32 at `at` to `target` (offsets in the buffer). */
static inline void patch_rel32(struct emit_buf *b, size_t at, size_t target)
{
	if (b->oom)
		return;
	int32_t rel = (int32_t)((int64_t)target - (int64_t)(at + 4));
	memcpy(b->code + at, &rel, 4);
}

/* Condition codes (the low nibble of jcc / setcc / cmovcc). */
enum { CC_B = 0x2, CC_AE = 0x3, CC_E = 0x4, CC_NE = 0x5, CC_BE = 0x6, CC_A = 0x7,
       CC_L = 0xc, CC_GE = 0xd, CC_LE = 0xe, CC_G = 0xf };

#endif
