/*
 * translate.c - eBPF to x86-64 translation.
 *
 * Owns: the register map, the frame layout of compiled code, and the
 * machine code for every operation of isa_ops.h, in checked mode (each
 * access tested against the run's regions, a budget on backward jumps)
 * and unchecked mode.
 *
 * Register map.  eBPF r1..r5 sit in the System V argument registers, so a
 * helper call needs no shuffling and clobbers exactly what eBPF says a
 * call clobbers; r6..r9 sit in callee-saved registers:
 *
 *   r0 rax  r1 rdi  r2 rsi  r3 rdx  r4 rcx  r5 r8
 *   r6 rbx  r7 r13  r8 r14  r9 r15  r10 rbp
 *   r12: the bpfvm_run;  r9, r10, r11: scratch
 *
 * Frames.  The entry function saves the host's callee-saved registers and
 * keeps rsp 16-byte aligned at every call; a local call is an x86 call to
 * the subprogram, whose prologue saves r6..r9, with rbp (eBPF r10) moved
 * down 512 bytes around it.  Any fault unwinds by reloading the rsp saved
 * at entry, so it can leave from any depth.  Callbacks are subprograms a
 * helper enters through a trampoline that saves what the entry saves and
 * records its own rsp, so a fault inside a callback unwinds to it and
 * returns to the helper's C frame (src/run/callback.c ends the run).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "jit/inline_lookup.h"
#include "run/run.h"
#include "emit.h"
#include "helpers/helper_desc.h"
#include "helpers/helpers.h"
#include "jit/analysis.h"
#include "jit/jit_internal.h"

static const int8_t xreg[11] = { RAX, RDI, RSI, RDX, RCX, R8, RBX, R13, R14, R15, RBP };
#define RUNREG R12

#define LOOP_ALIGN 32
#define LOOP_ALIGN_INSNS 8
#define JIT_PASSES 3
#define MAX_REGISTER_SLOTS 2

#define RUN_OFF(field) ((int32_t)offsetof(struct bpfvm_run, field))

struct fixup {
	size_t at;        /* offset of a rel32 or rel8 field */
	size_t target;    /* instruction index, or stub index */
	bool short_form;  /* rel8 */
};

struct fault_site {
	size_t at;
	int32_t insn;
	int32_t kind;
};

struct translator {
	const bpfvm_program *prog;
	bool checked;
	struct emit_buf b;
	size_t *insn_off;        /* code offset of each instruction */
	size_t *entry_off;       /* subprogram entry (prologue) by start insn */
	const bool *sub_start;   /* prog->analysis's */
	/* The previous pass's layout: code only shrinks from pass to pass,
	 * so a forward jump that reached in a byte then reaches now. */
	size_t *prev_insn_off;   /* NULL in the first pass */
	size_t prev_stub_off[8];
	uint8_t *sub_writes;     /* per subprogram start: mask of r6..r9 written */
	bool *sub_calls;         /* per subprogram start: it calls out, so keeps rsp aligned */
	uint16_t entry_live;     /* registers live at instruction 0 */
	uint8_t main_writes;     /* r6..r9 the program uses */
	bool entry_is_called;    /* a local call targets instruction 0 */
	size_t cur_sub;          /* start of the subprogram being translated */
	int32_t cur_pc;
	unsigned stubs_used;     /* bit per enum stub */
	bool layout_bad;         /* an internal short jump did not reach: a bug */
	const bool *is_target;   /* instruction is a jump target (prog->analysis's) */
	bool leaf;               /* unchecked, no calls, no packet loads: nothing can fault */
	bool may_fault;          /* checked, or helpers / packet loads that can end a run */
	bool frame;              /* needs r12 (the run) and rbp (the stack) */
	bool blind;              /* constant blinding: no program immediate */
	size_t trampoline_off;   /* the callback trampoline, 0 if none */
	uint64_t blind_seed;     /* appears verbatim in the machine code */
	struct fixup *jumps, *calls;
	size_t njumps, ncalls, cap_jumps, cap_calls;
	/* align_head[pc]: how many of instructions 0..pc-1 are heads of small
	 * loops, which start on a LOOP_ALIGN boundary (nop padding before) */
	size_t *align_head;
	size_t *loop_end;        /* per small loop's head: its last backward jump */
	const struct isa_op *const *ops; /* per insn: its operation (prog->analysis's) */
	int zf_reg;              /* eBPF register whose zero-ness ZF holds now, or -1 */
	uint8_t *no_fuse;        /* per insn: the first pass fused nothing there */
	uint16_t *known01;       /* per insn: registers holding 0 or 1 (analysis.h) */
	uint16_t *live_out;      /* per insn: registers live after it (analysis.h) */
	struct fault_site *faults;
	size_t nfaults, cap_faults;
	/* rel32 fields pointing at shared stubs */
	struct fixup *stub_refs;
	size_t nstub_refs, cap_stub_refs;
	bool oom;
	/* stack slots kept in registers (find_register_slots) */
	struct register_slot { int16_t off; uint8_t size; int8_t reg; } slots[MAX_REGISTER_SLOTS];
	unsigned nslots;
};

enum stub { STUB_EPILOGUE, STUB_FAULT_EXIT, STUB_ACCESS, STUB_CALLX, STUB_PACKET, STUB_COUNT };

#define PUSH_FIXUP(arr, n, cap, item)                                            \
	do {                                                                     \
		if ((n) == (cap)) {                                              \
			size_t c_ = (cap) ? (cap) * 2 : 64;                      \
			void *p_ = realloc((arr), c_ * sizeof *(arr));           \
			if (!p_) { t->oom = true; break; }                       \
			(arr) = p_;                                              \
			(cap) = c_;                                              \
		}                                                                \
		(arr)[(n)++] = (item);                                           \
	} while (0)

/* Would a jump ending at the end of the current instruction reach `target`
 * (a code offset of the previous pass) in a byte?  Only the last
 * instruction a translation emits may use this. */
static bool reaches_short(const struct translator *t, size_t prev_target, size_t target_insn)
{
	if (!t->prev_insn_off)
		return false;
	int64_t rel = (int64_t)prev_target - (int64_t)t->prev_insn_off[t->cur_pc + 1];
	/* loop alignment between here and there may pad more this pass */
	size_t heads = t->align_head[target_insn + 1] - t->align_head[t->cur_pc + 1];
	return fits_s8(rel + (int64_t)(heads * (LOOP_ALIGN - 1)));
}

/* jmp (cc < 0) or jcc to instruction `insn`, as the last thing emitted for
 * the current instruction when forward. */
static void jump_to_insn(struct translator *t, int cc, size_t insn)
{
	struct emit_buf *b = &t->b;
	bool backward = insn <= (size_t)t->cur_pc;
	bool short_form = backward ? fits_s8((int64_t)t->insn_off[insn] - (int64_t)(b->len + 2))
	                           : reaches_short(t, t->prev_insn_off ? t->prev_insn_off[insn] : 0, insn);
	size_t at;
	if (short_form)
		at = cc < 0 ? emit_jmp8(b) : emit_jcc8(b, (uint8_t)cc);
	else
		at = cc < 0 ? emit_jmp32(b) : emit_jcc32(b, (uint8_t)cc);
	PUSH_FIXUP(t->jumps, t->njumps, t->cap_jumps, ((struct fixup){ at, insn, short_form }));
}

static void ref_stub(struct translator *t, size_t at, enum stub s)
{
	t->stubs_used |= 1u << s;
	PUSH_FIXUP(t->stub_refs, t->nstub_refs, t->cap_stub_refs, ((struct fixup){ at, s, false }));
}

/* jmp to a stub, as the last thing emitted for the current instruction. */
static void jump_to_stub(struct translator *t, enum stub s)
{
	if (t->prev_insn_off && t->prev_stub_off[s] == t->prev_insn_off[t->cur_pc + 1]) {
		t->stubs_used |= 1u << s;   /* it follows right here: fall into it */
		return;
	}
	if (reaches_short(t, t->prev_stub_off[s], t->prog->count)) {
		t->stubs_used |= 1u << s;
		size_t at = emit_jmp8(&t->b);
		PUSH_FIXUP(t->stub_refs, t->nstub_refs, t->cap_stub_refs, ((struct fixup){ at, s, true }));
	} else {
		ref_stub(t, emit_jmp32(&t->b), s);
	}
}

/* A conditional exit to a fault: jcc to a per-site stub that records the
 * instruction and the kind of fault. */
static void fault_if(struct translator *t, uint8_t cc, int32_t insn, int32_t kind)
{
	size_t at = emit_jcc32(&t->b, cc);
	t->stubs_used |= 1u << STUB_FAULT_EXIT;
	PUSH_FIXUP(t->faults, t->nfaults, t->cap_faults, ((struct fault_site){ at, insn, kind }));
}

static void call_stub(struct translator *t, enum stub s)
{
	ref_stub(t, emit_call32(&t->b), s);
}

/* mov dword [r12 + off], imm32 */
static void emit_store_run32(struct emit_buf *b, int32_t off, uint32_t imm)
{
	emit_rm(b, false, false, OP(0xc7), 0, RUNREG, off, false);
	emit4(b, imm);
}

/* ---- constant blinding ------------------------------------------------ */

/* The key for the current instruction: different everywhere, so the code
 * holds no byte sequence the program chose (the JIT-spraying defence the
 * kernel calls bpf_jit_harden). */
static uint32_t blind_key(const struct translator *t)
{
	uint64_t z = t->blind_seed + (uint64_t)(uint32_t)t->cur_pc * 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	uint32_t k = (uint32_t)(z ^ (z >> 31));
	return k ? k : 0x5a5a5a5a;
}

/* reg = imm, zero-extended (w false) or sign-extended (w true) as the
 * eBPF operation takes it; blinded when hardening. */
static void emit_load_imm32(struct translator *t, int reg, int32_t imm, bool w)
{
	struct emit_buf *b = &t->b;
	if (!t->blind) {
		emit_mov_imm64(b, reg, w ? (uint64_t)(int64_t)imm : (uint32_t)imm);
		return;
	}
	uint32_t key = blind_key(t);
	/* sext(imm ^ key) ^ sext(key) == sext(imm), and likewise zext */
	emit_rex(b, w, 0, 0, reg, false);
	emit1(b, 0xc7);                                         /* mov r, imm32 */
	emit_modrm(b, 3, 0, reg);
	emit4(b, (uint32_t)imm ^ key);
	emit_rex(b, w, 0, 0, reg, false);
	emit1(b, 0x81);                                         /* xor r, imm32 */
	emit_modrm(b, 3, 6, reg);
	emit4(b, key);
}

/* ---- checked-mode access ------------------------------------------- */

/* Leaves the effective address in r11.  In checked mode also proves it
 * in bounds: the stack inline, anything else through STUB_ACCESS. */
static void emit_address(struct translator *t, int base, int16_t off, unsigned size, bool write,
                         int32_t insn)
{
	struct emit_buf *b = &t->b;
	emit_rm(b, false, true, OP(0x8d), R11, base, off, false);      /* lea r11, [base+off] */
	if (!t->checked)
		return;
	emit_mov_rr(b, true, R10, R11);
	emit_rm(b, false, true, OP(0x2b), R10, RUNREG, RUN_OFF(stack), false); /* sub r10, [run.stack] */
	emit_alu_imm(b, true, 7, R10, (int32_t)(RUN_STACK_BYTES - size));   /* cmp */
	size_t ok = emit_jcc8(b, CC_BE);
	/* then the first region (the input memory, usually) inline: ok if
	 * addr - base < its limit for this size and direction */
	unsigned k = (size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3) + (write ? 4 : 0);
	emit_mov_rr(b, true, R10, R11);
	emit_rm(b, false, true, OP(0x2b), R10, RUNREG, RUN_OFF(jit_region_base), false);
	emit_rm(b, false, true, OP(0x3b), R10, RUNREG,
	        RUN_OFF(jit_region_limit) + (int32_t)(8 * k), false);          /* cmp r10, [limit] */
	size_t ok2 = emit_jcc8(b, CC_B);
	emit_mov_imm64(b, R10, size | (write ? 0x100u : 0));
	call_stub(t, STUB_ACCESS);
	emit_rr(b, false, OP(0x85), R10, R10);                               /* test r10d, r10d */
	fault_if(t, CC_E, insn, FAULT_ACCESS);
	t->layout_bad |= !patch_rel8(b, ok, b->len);
	t->layout_bad |= !patch_rel8(b, ok2, b->len);
}

/* ---- arithmetic ------------------------------------------------------ */

/* Division and modulo, unsigned or signed, with RFC 9669's rules for a
 * zero divisor and for INT_MIN / -1 (which would trap on x86). */
static void emit_divmod(struct translator *t, bool w, bool is_mod, bool is_signed, int dst,
                        bool src_is_imm, int src, int32_t imm)
{
	struct emit_buf *b = &t->b;
	if (src_is_imm)
		emit_load_imm32(t, R11, imm, w);
	else
		emit_mov_rr(b, w, R11, src);
	emit_rr(b, w, OP(0x85), R11, R11);                      /* test r11, r11 */
	size_t to_zero = emit_jcc8(b, CC_E);
	size_t to_minus1 = 0;
	if (is_signed) {
		emit_alu_imm(b, w, 7, R11, -1);                 /* cmp r11, -1 */
		to_minus1 = emit_jcc8(b, CC_E);
	}
	emit_mov_rr(b, true, R9, RAX);
	emit_mov_rr(b, true, R10, RDX);
	if (dst != RAX)
		emit_mov_rr(b, w, RAX, dst);
	if (is_signed) {
		if (w)
			emit_bytes(b, OP(0x48, 0x99));          /* cqo */
		else
			emit1(b, 0x99);                         /* cdq */
	} else {
		emit_rr(b, false, OP(0x31), RDX, RDX);          /* xor edx, edx */
	}
	emit_rr(b, w, OP(0xf7), is_signed ? 7 : 6, R11);        /* (i)div r11 */
	emit_mov_rr(b, true, R11, is_mod ? RDX : RAX);
	emit_mov_rr(b, true, RAX, R9);
	emit_mov_rr(b, true, RDX, R10);
	emit_mov_rr(b, w, dst, R11);
	size_t done1 = emit_jmp8(b);

	/* divisor zero: x / 0 = 0; x % 0 = x (its low half for ALU32) */
	t->layout_bad |= !patch_rel8(b, to_zero, b->len);
	if (!is_mod)
		emit_rr(b, false, OP(0x31), dst, dst);
	else if (!w)
		emit_mov_rr(b, false, dst, dst);
	size_t done2 = 0;
	if (is_signed) {
		done2 = emit_jmp8(b);
		/* divisor -1: x / -1 = -x (INT_MIN stays), x % -1 = 0 */
		t->layout_bad |= !patch_rel8(b, to_minus1, b->len);
		if (is_mod)
			emit_rr(b, false, OP(0x31), dst, dst);
		else
			emit_rr(b, w, OP(0xf7), 3, dst);        /* neg */
	}
	t->layout_bad |= !patch_rel8(b, done1, b->len);
	if (is_signed)
		t->layout_bad |= !patch_rel8(b, done2, b->len);
}

/* Shift by a register: x86 takes the count in cl (eBPF r4). */
static void emit_shift_reg(struct emit_buf *b, bool w, int ext, int dst, int src)
{
	if (src == RCX) {
		emit_shift_cl(b, w, ext, dst);
		return;
	}
	emit_mov_rr(b, true, R11, RCX);
	emit_mov_rr(b, false, RCX, src);
	if (dst == RCX) {
		emit_shift_cl(b, w, ext, R11);
		emit_mov_rr(b, true, RCX, R11);
	} else {
		emit_shift_cl(b, w, ext, dst);
		emit_mov_rr(b, true, RCX, R11);
	}
}

/* The scale (1, 2 or 3: a factor of 3, 5 or 9) of lea x, [x + x*2^s],
 * or 0 if m is none of those. */
static uint8_t lea_factor_scale(uint32_t m)
{
	return m == 3 ? 1 : m == 5 ? 2 : m == 9 ? 3 : 0;
}

/* Is imm a * 2^shift or a * b, with a and b each 3, 5 or 9?  Then two
 * instructions (leas, or a lea and a shl) take 2 cycles where imul takes
 * 3.  *first and *second are lea scales (*second 0: none), *shift 0..31
 * (0 when *second is set).  Powers of two are left to shl alone. */
static bool mul_by_leas(int32_t imm, uint8_t *first, uint8_t *second, int *shift)
{
	if (imm <= 1 || (imm & (imm - 1)) == 0)
		return false;
	uint32_t m = (uint32_t)imm;
	*shift = __builtin_ctz(m);
	m >>= *shift;
	static const uint8_t factors[] = { 3, 5, 9 };
	for (size_t i = 0; i < 3; i++) {
		if (m % factors[i])
			continue;
		uint32_t rest = m / factors[i];
		*first = lea_factor_scale(factors[i]);
		*second = rest == 1 ? 0 : lea_factor_scale(rest);
		if (rest == 1 || (*second && *shift == 0))
			return true;
	}
	return false;
}

/* Multiplications that need no multiplier (imul takes 3 cycles, which
 * in a dependency chain is what a loop costs): by a register or constant
 * when one factor is known to be 0 or 1 (analysis.h), clang's form of
 * `cond ? x : 0`, by 2^k, and by 3, 5 or 9 times 2^k, 3, 5 or 9
 * (mul_by_leas).  Returns false (nothing emitted) for any other. */
static bool translate_mul_special(struct translator *t, const struct isa_op *op, const bpfvm_insn *in, bool w,
                                  int dst, int src)
{
	struct emit_buf *b = &t->b;
	uint16_t known = t->known01 ? t->known01[t->cur_pc] : 0;
	bool dst01 = known & (1u << in->dst);
	if (op->format == FMT_ALU_REG) {
		if (in->src == in->dst)
			return false;
		/* (no test when the previous instruction's ZF is about that
		 * register: collatz's `r0 >>= 63; ...; r0 *= r1`) */
		if (known & (1u << in->src)) {
			if (t->zf_reg != in->src)
				emit_rr(b, false, OP(0x85), src, src);         /* test src, src */
			emit_rr(b, w, OP(0x0f, 0x44), dst, src);               /* cmovz dst, src */
			return true;
		}
		if (dst01) {
			if (t->zf_reg != in->dst)
				emit_rr(b, false, OP(0x85), dst, dst);         /* test dst, dst */
			emit_rr(b, w, OP(0x0f, 0x45), dst, src);               /* cmovnz dst, src */
			return true;
		}
		return false;
	}
	if (t->blind)
		return false;
	int32_t imm = in->imm;
	if (dst01) {
		emit_rr(b, w, OP(0xf7), 3, dst);                               /* neg: 0 or ~0 */
		emit_alu_imm(b, w, 4, dst, imm);                               /* and */
		return true;
	}
	if (imm > 1 && (imm & (imm - 1)) == 0) {
		emit_shift_imm(b, w, 4, dst, (uint8_t)__builtin_ctz((uint32_t)imm));
		return true;
	}
	uint8_t first, second;
	int shift;
	if (mul_by_leas(imm, &first, &second, &shift)) {
		emit_lea_scaled(b, w, dst, dst, dst, first, 0);
		if (second)
			emit_lea_scaled(b, w, dst, dst, dst, second, 0);
		if (shift)
			emit_shift_imm(b, w, 4, dst, (uint8_t)shift);
		return true;
	}
	return false;
}

/* The eBPF operations one x86 instruction does: its `op r/m, r` opcode
 * and the /ext of its `op r/m, imm` (0x81 / 0x83 / 0x80). */
struct x86_alu_form { uint8_t alu, reg_op, imm_ext; };

static const struct x86_alu_form *x86_alu_form(uint8_t alu)
{
	static const struct x86_alu_form forms[] = {
		{ ALU_ADD, 0x01, 0 }, { ALU_SUB, 0x29, 5 }, { ALU_OR, 0x09, 1 }, { ALU_AND, 0x21, 4 }, { ALU_XOR, 0x31, 6 },
	};
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
		if (forms[i].alu == alu)
			return &forms[i];
	return NULL;
}

/* Does translate_alu() end with an x86 instruction whose ZF says
 * whether dst (all 64 bits: a 32-bit result is zero-extended) is 0?
 * add, sub, or, and, xor, neg, shifts by a non-zero constant. */
static bool alu_sets_zf(const struct translator *t, const struct isa_op *op, const bpfvm_insn *in)
{
	if (t->blind)
		return false;
	bool w = op->bits == 64;
	switch (op->alu) {
	case ALU_ADD: case ALU_SUB: case ALU_OR: case ALU_AND: case ALU_XOR: case ALU_NEG:
		return true;
	case ALU_LSH: case ALU_RSH: case ALU_ARSH:
		return op->format == FMT_ALU_IMM && (in->imm & (w ? 63 : 31)) != 0;
	default:
		return false;
	}
}

static int translate_alu(struct translator *t, const struct isa_op *op, const bpfvm_insn *in)
{
	struct emit_buf *b = &t->b;
	bool w = op->bits == 64;
	bool is_imm = op->format == FMT_ALU_IMM;
	int dst = xreg[in->dst], src = xreg[in->src];
	int32_t imm = in->imm;
	uint8_t alu = op->alu;
	bool div_or_shift = alu == ALU_DIV || alu == ALU_SDIV || alu == ALU_MOD || alu == ALU_SMOD ||
	                    alu == ALU_LSH || alu == ALU_RSH || alu == ALU_ARSH;

	/* Hardening: the immediate goes through r11, blinded, and the
	 * register form does the work (shift counts stay: 6 bits). */
	if (t->blind && is_imm && !div_or_shift) {
		if (alu == ALU_MOV) {
			emit_load_imm32(t, dst, imm, w);
			return 0;
		}
		emit_load_imm32(t, R11, imm, w);
		is_imm = false;
		src = R11;
	}

	if (alu == ALU_MOVSX) {
		if (in->off == 8) {
			emit_rex(b, w, dst, 0, src, src >= 4);
			emit_bytes(b, OP(0x0f, 0xbe));
			emit_modrm(b, 3, dst, src);
		} else if (in->off == 16)
			emit_rr(b, w, OP(0x0f, 0xbf), dst, src);
		else
			emit_rr(b, true, OP(0x63), dst, src);               /* movsxd */
		return 0;
	}
	const struct x86_alu_form *simple = x86_alu_form(alu);
	if (simple) {
		if (is_imm)
			emit_alu_imm(b, w, simple->imm_ext, dst, imm);
		else
			emit_rr(b, w, &simple->reg_op, 1, src, dst);
		return 0;
	}
	switch (alu) {
	case ALU_MOV:
		if (is_imm)
			emit_mov_imm64(b, dst, w ? (uint64_t)(int64_t)imm : (uint32_t)imm);
		else if (dst != src || !w)
			emit_mov_rr(b, w, dst, src);
		return 0;
	case ALU_MUL:
		if (translate_mul_special(t, op, in, w, dst, src))
			return 0;
		if (is_imm) {
			emit_rex(b, w, dst, 0, dst, false);
			if (fits_s8(imm)) {
				emit1(b, 0x6b);
				emit_modrm(b, 3, dst, dst);
				emit1(b, (uint8_t)imm);
			} else {
				emit1(b, 0x69);
				emit_modrm(b, 3, dst, dst);
				emit4(b, (uint32_t)imm);
			}
		} else {
			emit_rr(b, w, OP(0x0f, 0xaf), dst, src);
		}
		return 0;
	case ALU_DIV: case ALU_SDIV: case ALU_MOD: case ALU_SMOD:
		emit_divmod(t, w, alu == ALU_MOD || alu == ALU_SMOD, alu == ALU_SDIV || alu == ALU_SMOD, dst, is_imm,
		            src, imm);
		return 0;
	case ALU_LSH: case ALU_RSH: case ALU_ARSH: {
		int ext = alu == ALU_LSH ? 4 : alu == ALU_RSH ? 5 : 7;
		if (is_imm) {
			uint8_t count = (uint8_t)(imm & (w ? 63 : 31));
			if (count)
				emit_shift_imm(b, w, ext, dst, count);
			else if (!w)
				emit_mov_rr(b, false, dst, dst);
		} else {
			emit_shift_reg(b, w, ext, dst, src);
		}
		return 0;
	}
	case ALU_NEG:
		emit_rr(b, w, OP(0xf7), 3, dst);
		return 0;
	}
	return -1;
}

static int translate_end(struct translator *t, const struct isa_op *op, const bpfvm_insn *in)
{
	struct emit_buf *b = &t->b;
	int dst = xreg[in->dst];
	bool swap = op->alu != ALU_END_LE;    /* le* only truncate on this host */
	switch (in->imm) {
	case 16:
		if (swap) {                               /* ror r16, 8 */
			emit1(b, 0x66);
			emit_shift_imm(b, false, 1, dst, 8);
		}
		emit_rr(b, false, OP(0x0f, 0xb7), dst, dst);   /* movzx r32, r16 */
		return 0;
	case 32:
		if (swap) {
			emit_rex(b, false, 0, 0, dst, false);
			emit1(b, 0x0f);
			emit1(b, (uint8_t)(0xc8 + (dst & 7)));     /* bswap r32 */
		} else {
			emit_mov_rr(b, false, dst, dst);
		}
		return 0;
	case 64:
		if (swap) {
			emit_rex(b, true, 0, 0, dst, false);
			emit1(b, 0x0f);
			emit1(b, (uint8_t)(0xc8 + (dst & 7)));     /* bswap r64 */
		}
		return 0;
	}
	return -1;
}

/* ---- memory ---------------------------------------------------------- */

/* A memory operand: [base + index + disp], index < 0 for none. */
struct mem_addr {
	int base, index;
	int32_t disp;
};

static void emit_at(struct emit_buf *b, bool word, bool w, const uint8_t *op, size_t oplen, int reg,
                    struct mem_addr at, bool byte_reg)
{
	if (at.index >= 0)
		emit_rm_index(b, word, w, op, oplen, reg, at.base, at.index, at.disp, byte_reg);
	else
		emit_rm(b, word, w, op, oplen, reg, at.base, at.disp, byte_reg);
}

/* The load of LDX instruction `in` from `at`. */
static void emit_load_at(struct translator *t, const struct isa_op *op, const bpfvm_insn *in, struct mem_addr at)
{
	unsigned size = isa_access_size(op);
	bool sx = op->sign_extend;
	/* movzx/movsx r, m8; movzx/movsx r, m16; mov r32, m32 / movsxd; mov r64 */
	static const uint8_t load_ops[2][4][2] = {
		{ { 0x0f, 0xb6 }, { 0x0f, 0xb7 }, { 0x8b }, { 0x8b } },
		{ { 0x0f, 0xbe }, { 0x0f, 0xbf }, { 0x63 }, { 0x8b } },
	};
	int k = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
	emit_at(&t->b, false, sx || size == 8, load_ops[sx][k], k < 2 ? 2 : 1, xreg[in->dst], at, false);
}

/* The host register holding the stack slot that LDX/ST/STX `in`
 * accesses through r10, or -1 if that slot lives in memory. */
static int slot_reg(const struct translator *t, const struct isa_op *op, const bpfvm_insn *in)
{
	uint8_t base = op->format == FMT_LDX ? in->src : in->dst;
	if (!t->nslots || base != 10)
		return -1;
	for (unsigned i = 0; i < t->nslots; i++)
		if (t->slots[i].off == in->off && t->slots[i].size == isa_access_size(op))
			return t->slots[i].reg;
	return -1;
}

/* The store of ST or STX instruction `in` to `at`. */
static void emit_store_at(struct translator *t, const struct isa_op *op, const bpfvm_insn *in, struct mem_addr at)
{
	struct emit_buf *b = &t->b;
	unsigned size = isa_access_size(op);
	int src = xreg[in->src];
	if (op->format == FMT_ST && t->blind) {
		/* r10: r11 may hold the checked address */
		emit_load_imm32(t, R10, in->imm, true);
		src = R10;
	}
	if (op->format == FMT_STX || t->blind) {
		switch (size) {
		case 1: emit_at(b, false, false, OP(0x88), src, at, true); break;
		case 2: emit_at(b, true, false, OP(0x89), src, at, false); break;
		case 4: emit_at(b, false, false, OP(0x89), src, at, false); break;
		default: emit_at(b, false, true, OP(0x89), src, at, false); break;
		}
		return;
	}
	switch (size) {
	case 1: emit_at(b, false, false, OP(0xc6), 0, at, false); emit1(b, (uint8_t)in->imm); break;
	case 2: emit_at(b, true, false, OP(0xc7), 0, at, false);
		emit1(b, (uint8_t)in->imm); emit1(b, (uint8_t)(in->imm >> 8)); break;
	case 4: emit_at(b, false, false, OP(0xc7), 0, at, false); emit4(b, (uint32_t)in->imm); break;
	default: emit_at(b, false, true, OP(0xc7), 0, at, false); emit4(b, (uint32_t)in->imm); break;
	}
}

/* LDX, ST and STX: a move when the slot lives in a register, else the
 * access, through r11 once checked in checked mode. */
static void translate_access(struct translator *t, const struct isa_op *op, const bpfvm_insn *in, int32_t pc)
{
	bool load = op->format == FMT_LDX;
	unsigned size = isa_access_size(op);
	int reg = slot_reg(t, op, in);
	if (reg >= 0) {
		if (load)
			emit_mov_rr(&t->b, size == 8, xreg[in->dst], reg);
		else if (op->format == FMT_STX)
			emit_mov_rr(&t->b, size == 8, reg, xreg[in->src]);
		else
			emit_load_imm32(t, reg, in->imm, size == 8);
		return;
	}
	struct mem_addr at = { xreg[load ? in->src : in->dst], -1, in->off };
	if (t->checked) {
		emit_address(t, at.base, in->off, size, !load, pc);
		at = (struct mem_addr){ R11, -1, 0 };
	}
	if (load)
		emit_load_at(t, op, in, at);
	else
		emit_store_at(t, op, in, at);
}

static void translate_atomic(struct translator *t, const struct isa_op *op, const bpfvm_insn *in, int32_t pc)
{
	struct emit_buf *b = &t->b;
	unsigned size = isa_access_size(op);
	bool w = size == 8;
	int src = xreg[in->src];
	emit_address(t, xreg[in->dst], in->off, size, true, pc);       /* r11 = address */
	if (t->checked) {
		emit_rr(b, true, OP(0xf7), 0, R11);                     /* test r11, size-1 */
		emit4(b, size - 1);
		size_t ok = emit_jcc8(b, CC_E);
		emit_rm(b, false, true, OP(0x89), R11, RUNREG, RUN_OFF(fault_addr), false);
		emit_store_run32(b, RUN_OFF(fault_size), size);
		size_t bad = emit_jmp32(b);
		t->stubs_used |= 1u << STUB_FAULT_EXIT;
		PUSH_FIXUP(t->faults, t->nfaults, t->cap_faults, ((struct fault_site){ bad, pc, FAULT_MISALIGNED }));
		t->layout_bad |= !patch_rel8(b, ok, b->len);
	}
	const struct x86_alu_form *form = x86_alu_form(op->alu);   /* add, or, and, xor */
	if (!op->fetch) {
		emit1(b, 0xf0);                                         /* lock */
		emit_rm(b, false, w, &form->reg_op, 1, src, R11, 0, false);
		return;
	}
	switch (op->alu) {
	case ALU_ADD:                                                  /* lock xadd */
		emit1(b, 0xf0);
		emit_rm(b, false, w, OP(0x0f, 0xc1), src, R11, 0, false);
		return;
	case ALU_XCHG:
		emit_rm(b, false, w, OP(0x87), src, R11, 0, false);
		return;
	case ALU_CMPXCHG:
		emit1(b, 0xf0);
		emit_rm(b, false, w, OP(0x0f, 0xb1), src, R11, 0, false);
		if (!w)
			emit_mov_rr(b, false, RAX, RAX);   /* success leaves rax's top half */
		return;
	default: {                                  /* fetch or/and/xor: a cmpxchg loop */
		uint8_t opc = form->reg_op;
		emit_mov_rr(b, true, R9, src);
		emit_push(b, RAX);
		emit_rm(b, false, w, OP(0x8b), RAX, R11, 0, false);     /* rax = [r11] */
		size_t loop = b->len;
		emit_mov_rr(b, true, R10, RAX);
		emit_rr(b, w, &opc, 1, R9, R10);
		emit1(b, 0xf0);
		emit_rm(b, false, w, OP(0x0f, 0xb1), R10, R11, 0, false);
		size_t back = emit_jcc8(b, CC_NE);
		t->layout_bad |= !patch_rel8(b, back, loop);
		emit_mov_rr(b, true, R9, RAX);
		emit_pop(b, RAX);
		emit_mov_rr(b, w, src, R9);
		return;
	}
	}
}

/* ---- control flow ---------------------------------------------------- */

static uint8_t jump_cc(const struct isa_op *op)
{
	switch (op->cond) {
	case COND_EQ:  return CC_E;
	case COND_GT:  return CC_A;
	case COND_GE:  return CC_AE;
	case COND_SET: return CC_NE;    /* after test */
	case COND_NE:  return CC_NE;
	case COND_SGT: return CC_G;
	case COND_SGE: return CC_GE;
	case COND_LT:  return CC_B;
	case COND_LE:  return CC_BE;
	case COND_SLT: return CC_L;
	default:       return CC_LE;    /* COND_SLE */
	}
}

/* Taken branch to insn `target`; in checked mode a backward one spends
 * one unit of the budget. */
static void emit_branch(struct translator *t, int cc, size_t target, int32_t pc)
{
	struct emit_buf *b = &t->b;
	bool back = target <= (size_t)pc;
	if (!t->checked || !back) {
		jump_to_insn(t, cc, target);
		return;
	}
	size_t skip = 0;
	if (cc >= 0)
		skip = emit_jcc8(b, (uint8_t)(cc ^ 1));                 /* inverse condition */
	emit_rm(b, false, true, OP(0x83), 5, RUNREG, RUN_OFF(jit_budget), false);  /* sub qword, 1 */
	emit1(b, 1);
	fault_if(t, CC_E, pc, FAULT_BUDGET);
	jump_to_insn(t, -1, target);
	if (cc >= 0)
		t->layout_bad |= !patch_rel8(b, skip, b->len);
}

/* `if c goto +1; x = f(x, y)`, a jump over one register operation
 * (clang's select: parse_dec's `if (!neg) goto; v = -v`, whose branch
 * follows the data and mispredicts): computes f into r10 before the
 * compare and emits a cmov after it, so no branch.  f: mov, neg, add,
 * sub, and, or, xor, by register or (not hardening) constant; it cannot
 * fault.  Returns x's host register, or -1 where the jump must stay. */
static int select_value(struct translator *t, const bpfvm_insn *in)
{
	const struct isa_op *op = t->ops[in - t->prog->insns];
	if (!op || (op->format != FMT_ALU_IMM && op->format != FMT_ALU_REG && op->format != FMT_NEG) ||
	    (op->format == FMT_ALU_IMM && t->blind) || in->off)
		return -1;
	struct emit_buf *b = &t->b;
	bool w = op->bits == 64, imm = op->format == FMT_ALU_IMM;
	int x = xreg[in->dst], y = xreg[in->src];
	if (op->alu == ALU_MOV) {
		if (imm)
			emit_mov_imm64(b, R10, w ? (uint64_t)(int64_t)in->imm : (uint32_t)in->imm);
		else
			emit_mov_rr(b, w, R10, y);
		return x;
	}
	if (op->alu == ALU_NEG) {
		emit_mov_rr(b, w, R10, x);
		emit_rr(b, w, OP(0xf7), 3, R10);                               /* neg */
		return x;
	}
	const struct x86_alu_form *form = x86_alu_form(op->alu);
	if (!form)
		return -1;
	emit_mov_rr(b, w, R10, x);
	if (imm)
		emit_alu_imm(b, w, form->imm_ext, R10, in->imm);
	else
		emit_rr(b, w, &form->reg_op, 1, y, R10);
	return x;
}

/* Returns how many instructions it translated: 2 when a conditional
 * jump over an unconditional one became one jump, or one over an ALU
 * operation a select. */
static size_t translate_jump(struct translator *t, const struct isa_op *op, const bpfvm_insn *in, int32_t pc)
{
	struct emit_buf *b = &t->b;
	size_t target = (size_t)isa_branch_target(op, in, (size_t)pc);
	if (op->format == FMT_JA || op->format == FMT_JA32) {
		emit_branch(t, -1, target, pc);
		return 1;
	}
	bool w = op->bits == 64;
	int dst = xreg[in->dst];
	bool jset = op->cond == COND_SET;
	int select = target == (size_t)pc + 2 && !t->is_target[pc + 1] ? select_value(t, &in[1]) : -1;
	if (op->format == FMT_JMP_IMM && t->blind) {
		emit_load_imm32(t, R11, in->imm, w);
		uint8_t opc = jset ? 0x85 : 0x39;
		emit_rr(b, w, &opc, 1, R11, dst);
	} else if (op->format == FMT_JMP_IMM) {
		if (jset) {
			emit_rr(b, w, OP(0xf7), 0, dst);                       /* test r, imm32 */
			emit4(b, (uint32_t)in->imm);
		} else if (in->imm == 0) {
			emit_rr(b, w, OP(0x85), dst, dst);                     /* test r, r: same flags */
		} else {
			emit_alu_imm(b, w, 7, dst, in->imm);                   /* cmp r, imm */
		}
	} else {
		uint8_t opc = jset ? 0x85 : 0x39;                      /* test / cmp */
		emit_rr(b, w, &opc, 1, xreg[in->src], dst);
	}
	if (select >= 0) {
		/* x = c ? x : value: cmov!c x, r10 */
		emit_rr(b, true, OP(0x0f, (uint8_t)(0x40 | (jump_cc(op) ^ 1))), select, R10);
		t->cur_pc = pc + 1;
		t->insn_off[pc + 1] = b->len;
		return 2;
	}
	/* clang's `if c goto +1; goto L` (a loop's bottom test, often) is
	 * `if !c goto L`: one jump instead of a taken jump every turn.  The
	 * goto must not be a jump target itself.  In checked mode the
	 * budget is still spent by the goto (its pc, if backward). */
	if (target == (size_t)pc + 2 && !t->is_target[pc + 1]) {
		const bpfvm_insn *next = in + 1;
		const struct isa_op *nop = t->ops[pc + 1];
		size_t far = nop && (nop->format == FMT_JA || nop->format == FMT_JA32)
		                     ? (size_t)isa_branch_target(nop, next, (size_t)pc + 1) : (size_t)pc + 1;
		if (far != (size_t)pc + 1) {     /* (not a goto to itself: it would land on the jcc) */
			t->cur_pc = pc + 1;
			t->insn_off[pc + 1] = b->len;
			emit_branch(t, jump_cc(op) ^ 1, far, pc + 1);
			return 2;
		}
	}
	emit_branch(t, jump_cc(op), target, pc);
	return 1;
}

/* may_goto: jumps once the program's budget (run->may_goto_left) is
 * spent, else spends one and falls through. */
static void translate_may_goto(struct translator *t, const struct isa_op *op, const bpfvm_insn *in, int32_t pc)
{
	struct emit_buf *b = &t->b;
	emit_rm(b, false, false, OP(0x83), 7, RUNREG, RUN_OFF(may_goto_left), false);  /* cmp dword, 0 */
	emit1(b, 0);
	emit_branch(t, CC_E, (size_t)isa_branch_target(op, in, (size_t)pc), pc);
	emit_rm(b, false, false, OP(0x83), 5, RUNREG, RUN_OFF(may_goto_left), false);  /* sub dword, 1 */
	emit1(b, 1);
}

/* After anything that can stop or fail the run: leave if it did. */
static void emit_status_check(struct translator *t, int32_t pc)
{
	emit_rm(&t->b, false, false, OP(0x83), 7, RUNREG, RUN_OFF(status), false);  /* cmp dword, 0 */
	emit1(&t->b, 0);
	fault_if(t, CC_NE, pc, FAULT_HELPER);
}

static void translate_call(struct translator *t, const struct isa_op *op, const bpfvm_insn *in, int32_t pc)
{
	struct emit_buf *b = &t->b;
	if (op->format == FMT_CALL_LOCAL) {
		/* the depth limit is checked at run time in checked mode; a
		 * verified program (unchecked) was proved to stay within it */
		if (t->checked) {
			emit_rm(b, false, false, OP(0x83), 0, RUNREG, RUN_OFF(jit_depth), false);  /* add dword, 1 */
			emit1(b, 1);
			emit_rm(b, false, false, OP(0x83), 7, RUNREG, RUN_OFF(jit_depth), false);  /* cmp, max-1 */
			emit1(b, BPFVM_MAX_CALL_DEPTH - 1);
			fault_if(t, CC_A, pc, FAULT_DEPTH);
			emit_rm(b, false, true, OP(0x83), 5, RUNREG, RUN_OFF(jit_budget), false);
			emit1(b, 1);
			fault_if(t, CC_E, pc, FAULT_BUDGET);
		}
		emit_alu_imm(b, true, 5, RBP, BPFVM_STACK_SIZE);
		size_t at = emit_call32(b);
		PUSH_FIXUP(t->calls, t->ncalls, t->cap_calls,
		           ((struct fixup){ at, (size_t)isa_branch_target(op, in, (size_t)pc), false }));
		emit_alu_imm(b, true, 0, RBP, BPFVM_STACK_SIZE);
		if (t->checked) {
			emit_rm(b, false, false, OP(0x83), 5, RUNREG, RUN_OFF(jit_depth), false);  /* sub dword, 1 */
			emit1(b, 1);
		}
		return;
	}
	if (op->format == FMT_CALLX) {
		emit_mov_rr(b, true, R11, xreg[in->dst]);
		call_stub(t, STUB_CALLX);                       /* rax = helper or 0 */
		emit_rr(b, true, OP(0x85), RAX, RAX);
		fault_if(t, CC_E, pc, FAULT_CALLX);
	} else {
		bpfvm_helper_fn fn = t->prog->helper_at[pc]->fn;
		emit_mov_imm64(b, RAX, (uint64_t)(uintptr_t)fn);
	}
	if (t->prog->callback_count)   /* the frame a callback goes below */
		emit_rm(b, false, true, OP(0x89), RBP, RUNREG, RUN_OFF(helper_frame), false);
	emit_mov_rr(b, true, R9, RUNREG);
	emit_rr(b, false, OP(0xff), 2, RAX);                    /* call rax */
	emit_status_check(t, pc);
}

/* bpf_map_lookup_elem on a constant array map, open-coded in unchecked
 * mode as the kernel's array_map_gen_lookup() does (core/inline_lookup.h
 * says when; checked mode keeps the call, whose helper checks the key
 * pointer).  r0 = the map's own slot pointer, or NULL past the end:
 *
 *	mov r11d, [rsi]        the u32 key (eBPF r2)
 *	xor eax, eax
 *	cmp r11d, max_entries
 *	jae done
 *	imul r11, r11, stride  (shl for a power of two)
 *	mov rax, values
 *	add rax, r11
 * done:
 *
 * r1..r5 keep their values, which a call would have left undefined.
 * Returns false (nothing emitted) where the call must stay. */
static bool translate_inline_lookup(struct translator *t, size_t pc)
{
	struct array_layout l;
	if (t->checked || t->blind || !inline_lookup_at(t->prog, pc, t->is_target, &l))
		return false;
	struct emit_buf *b = &t->b;
	emit_rm(b, false, false, OP(0x8b), R11, xreg[2], 0, false);
	emit_rr(b, false, OP(0x31), RAX, RAX);
	emit_alu_imm(b, false, 7, R11, (int32_t)l.max_entries);
	size_t skip = emit_jcc8(b, CC_AE);
	if ((l.stride & (l.stride - 1)) == 0) {
		emit_shift_imm(b, true, 4, R11, (uint8_t)__builtin_ctz(l.stride));
	} else {
		emit_rr(b, true, OP(0x69), R11, R11);                  /* imul r11, r11, imm32 */
		emit4(b, l.stride);
	}
	emit_mov_imm64(b, RAX, (uint64_t)(uintptr_t)l.values);
	emit_rr(b, true, OP(0x01), R11, RAX);                          /* add rax, r11 */
	if (!patch_rel8(b, skip, b->len))
		t->layout_bad = true;
	return true;
}

/* In unchecked mode a call of the lookup, update, delete or ringbuf
 * output helper on a constant map (core/inline_lookup.h) goes straight to the map's
 * operation, as the kernel's fixup_bpf_calls() makes it: r1..r4 are
 * already its arguments, and it cannot stop or fail the run, so neither
 * the run pointer nor the status check after it is needed.  Returns
 * false (nothing emitted) where the helper must be called. */
static bool translate_direct_map_call(struct translator *t, size_t pc)
{
	if (t->checked)
		return false;
	bpfvm_map *map = call_const_map(t->prog, pc, t->is_target);
	uintptr_t fn = map ? helper_direct_map_op(t->prog->helper_at[pc], map) : 0;
	if (!fn)
		return false;
	emit_mov_imm64(&t->b, RAX, (uint64_t)fn);
	emit_rr(&t->b, false, OP(0xff), 2, RAX);                /* call rax */
	return true;
}

static void translate_packet(struct translator *t, const struct isa_op *op, const bpfvm_insn *in, int32_t pc)
{
	struct emit_buf *b = &t->b;
	if (op->format == FMT_LDABS) {
		emit_load_imm32(t, R11, in->imm, true);
	} else {
		emit_mov_rr(b, false, R11, xreg[in->src]);
		emit_alu_imm(b, false, 0, R11, in->imm);
		emit_rr(b, true, OP(0x63), R11, R11);                  /* movsxd r11, r11d */
	}
	emit_mov_imm64(b, R10, isa_access_size(op));
	call_stub(t, STUB_PACKET);                              /* rax = value */
	emit_status_check(t, pc);
}

static void translate_lddw(struct translator *t, int dst, uint64_t value)
{
	struct emit_buf *b = &t->b;
	if (!t->blind) {
		emit_mov_imm64(b, dst, value);
		return;
	}
	uint32_t k = blind_key(t);
	uint64_t key = ((uint64_t)k << 32) | (k ^ 0xa5a5a5a5u);
	emit_rex(b, true, 0, 0, dst, false);
	emit1(b, (uint8_t)(0xb8 + (dst & 7)));                  /* movabs dst, value ^ key */
	emit8(b, value ^ key);
	emit_rex(b, true, 0, 0, R11, false);
	emit1(b, (uint8_t)(0xb8 + (R11 & 7)));                  /* movabs r11, key */
	emit8(b, key);
	emit_rr(b, true, OP(0x31), R11, dst);                   /* xor dst, r11 */
}

/* ---- fusion ------------------------------------------------------------ */

/* Two-instruction ALU idioms, neither instruction a memory access, the
 * second not a jump target:
 *   x &= 1; x *= K      and x, 1; mov r11, K; cmovnz x, r11   (crc's
 *                       `K * (crc & 1)`: 2 cycles of latency, not 4)
 *   x *= 3|5|9; x += K  lea x, [x + x*2|4|8 + K]
 *   x *= F * 2^k; x += y, F 1, 3, 5 or 9, k 1..3:
 *                       lea x, [x + x*(F-1)]; lea x, [y + x*2^k]
 *                       (parse_dec's `x * 10 + d`: 2 cycles, not 4)
 * Both give x exactly the value the pair gives; nothing else is written
 * but r11 (scratch).  Returns 2 if it emitted the pair, else 0. */
static size_t translate_fused_alu(struct translator *t, size_t pc)
{
	const bpfvm_insn *a = &t->prog->insns[pc], *m = a + 1;
	const struct isa_op *aop = t->ops[pc], *mop = t->ops[pc + 1];
	if (t->blind || !aop || !mop || aop->bits != mop->bits || m->dst != a->dst)
		return 0;
	bool w = aop->bits == 64;
	bool a_imm = aop->src_kind == SRC_IMM, m_imm = mop->src_kind == SRC_IMM;
	int x = xreg[a->dst];
	struct emit_buf *b = &t->b;
	if (aop->alu == ALU_AND && a_imm && a->imm == 1 && mop->alu == ALU_MUL && m_imm && m->off == 0) {
		emit_alu_imm(b, w, 4, x, 1);                                   /* and x, 1 */
		if (m->imm == 0) {
			emit_rex(b, false, 0, 0, R11, false);                  /* mov r11d, 0: keeps the flags */
			emit1(b, (uint8_t)(0xb8 + (R11 & 7)));
			emit4(b, 0);
		} else {
			emit_mov_imm64(b, R11, w ? (uint64_t)(int64_t)m->imm : (uint32_t)m->imm);
		}
		emit_rr(b, w, OP(0x0f, 0x45), x, R11);                         /* cmovnz x, r11 */
		t->insn_off[pc + 1] = t->insn_off[pc];
		return 2;
	}
	if (aop->alu == ALU_MUL && a_imm && a->off == 0 && (a->imm == 3 || a->imm == 5 || a->imm == 9) &&
	    mop->alu == ALU_ADD && m_imm && m->off == 0) {
		emit_lea_scaled(b, w, x, x, x, (uint8_t)(a->imm == 3 ? 1 : a->imm == 5 ? 2 : 3), m->imm);
		t->insn_off[pc + 1] = t->insn_off[pc];
		return 2;
	}
	if (aop->alu == ALU_MUL && a_imm && a->off == 0 && mop->alu == ALU_ADD && !m_imm && m->off == 0 &&
	    m->src != m->dst && a->imm > 1) {
		/* x * (f * 2^k) + y: the shift rides in the second lea's scale */
		int k = __builtin_ctz((uint32_t)a->imm);
		uint32_t f = (uint32_t)a->imm >> k;
		uint8_t scale = lea_factor_scale(f);
		if (k >= 1 && k <= 3 && (f == 1 || scale)) {
			if (scale)
				emit_lea_scaled(b, w, x, x, x, scale, 0);
			emit_lea_scaled(b, w, x, xreg[m->src], x, (uint8_t)k, 0);
			t->insn_off[pc + 1] = t->insn_off[pc];
			return 2;
		}
	}
	return 0;
}

/* Is `in` (operation op) a shift of `reg` by a constant in 1..width-1,
 * of that width?  Sets *left (lsh, else rsh) and *count. */
static bool const_shift(const struct isa_op *op, const bpfvm_insn *in, uint32_t width, uint8_t reg, bool *left,
                        uint32_t *count)
{
	if (!op || in->dst != reg || op->bits != width || op->src_kind != SRC_IMM ||
	    (op->alu != ALU_LSH && op->alu != ALU_RSH) || in->imm <= 0 || (uint32_t)in->imm >= width)
		return false;
	*left = op->alu == ALU_LSH;
	*count = (uint32_t)in->imm;
	return true;
}

/* A rotate, which eBPF has not: clang writes rotl(x, L) as
 *   y = x; y >>= W-L; x <<= L; x |= y          (the shifts either way
 *   a = x; a >>= W-L; b = x; b <<= L; b |= a    round, in either order in
 *                                               the first form; the OR
 *                                               into either register)
 * in one width (W 64, or 32 with w-registers throughout).  The result
 * register gets `rol`, one instruction on the dependency chain instead
 * of two; the other register is still computed exactly, unless it is
 * dead after the sequence (liveness), and the source of the 5-insn form
 * is left as it was.  No instruction but the first may be a jump target.
 * Returns how many instructions it translated, 0 if none. */
static size_t translate_fused_rotate(struct translator *t, size_t pc)
{
	const bpfvm_program *prog = t->prog;
	const bpfvm_insn *in = &prog->insns[pc];
	if (pc + 3 >= prog->count || in->off || in->dst == in->src)
		return 0;
	const struct isa_op *const *ops = &t->ops[pc];
	if (!ops[0] || ops[0]->alu != ALU_MOV || ops[0]->src_kind != SRC_REG)
		return 0;
	uint32_t width = ops[0]->bits;
	bool w = width == 64;
	uint8_t x = in->src, a = in->dst, b = 0xff;
	bool left_a, left_b;
	uint32_t ca, cb;
	size_t n;
	if (const_shift(ops[1], &in[1], width, x, &left_b, &cb)) {
		if (!const_shift(ops[2], &in[2], width, a, &left_a, &ca))     /* x shifted first, then the copy */
			return 0;
		b = x;
		n = 4;
	} else if (!const_shift(ops[1], &in[1], width, a, &left_a, &ca)) {
		return 0;
	} else if (const_shift(ops[2], &in[2], width, x, &left_b, &cb)) {
		b = x;                                   /* 4 instructions: x itself is shifted */
		n = 4;
	} else if (pc + 4 < prog->count && ops[2] == ops[0] && in[2].off == 0 && in[2].src == x &&
	           in[2].dst != x && in[2].dst != a && const_shift(ops[3], &in[3], width, in[2].dst, &left_b, &cb)) {
		b = in[2].dst;
		n = 5;
	} else {
		return 0;
	}
	const bpfvm_insn *or = &in[n - 1];
	const struct isa_op *or_op = ops[n - 1];
	if (left_a == left_b || ca + cb != width || !or_op || or_op->alu != ALU_OR || or_op->src_kind != SRC_REG ||
	    or_op->bits != width ||
	    !((or->dst == a && or->src == b) || (or->dst == b && or->src == a)))
		return 0;
	for (size_t k = 1; k < n; k++)
		if (t->is_target[pc + k])
			return 0;
	uint8_t res = or->dst, other = or->src;
	bool other_left = other == a ? left_a : left_b;
	uint32_t other_count = other == a ? ca : cb;
	uint32_t rot = left_a ? ca : cb;                 /* the left shift's count */
	bool other_live = (t->live_out[pc + n - 1] >> other) & 1;
	struct emit_buf *e = &t->b;
	int xr = xreg[x], rr = xreg[res], orr = xreg[other];
	/* the other register first while x is intact (the result may be x) */
	if (other != x && other_live) {
		emit_mov_rr(e, w, orr, xr);
		emit_shift_imm(e, w, other_left ? 4 : 5, orr, (uint8_t)other_count);
	}
	if (res != x)
		emit_mov_rr(e, w, rr, xr);
	emit_shift_imm(e, w, 0, rr, (uint8_t)rot);                    /* rol */
	if (other == x && other_live)
		emit_shift_imm(e, w, other_left ? 4 : 5, orr, (uint8_t)other_count);
	for (size_t k = 1; k < n; k++)
		t->insn_off[pc + k] = t->insn_off[pc];
	return n;
}

/* Load, operate, store back, on one address (the sieve's `flags[i] |=
 * 0x80`), in unchecked mode:
 *   [a = b; a += c;]  x = *(size *)(a + off);  x op= y|K;  *(size *)(a + off) = x
 * becomes one `op size [b + c + off], y|K` (or [a + off]) when x is dead
 * afterwards (liveness), x is neither the address nor y, and op is add,
 * sub, or, and or xor: the low `size` bytes of their result depend only
 * on the low `size` bytes of the operands.  A 32-bit op must store at
 * most 4 bytes (its result's upper half is zero, not memory's).  a is
 * still set when something reads it.  No instruction but the first may
 * be a jump target.  Returns how many instructions it translated. */
static size_t translate_fused_rmw(struct translator *t, size_t pc)
{
	const bpfvm_program *prog = t->prog;
	/* a 64-bit x = y; x += z|K first: the address */
	bool lea = prog->analysis->idiom[pc] != IDIOM_NONE && t->ops[pc]->bits == 64;
	if (t->checked || (!lea && t->ops[pc]->format != FMT_LDX))
		return 0;
	size_t first = pc, n = 3;
	int index = -1;
	if (lea && pc + 5 <= prog->count) {
		pc += 2;               /* the address is computed first */
		n = 5;
	}
	if (pc + 3 > prog->count)
		return 0;
	const bpfvm_insn *ld = &prog->insns[pc], *op = ld + 1, *st = ld + 2;
	const struct isa_op *ld_op = t->ops[pc], *alu_op = t->ops[pc + 1], *st_op = t->ops[pc + 2];
	if (!ld_op || ld_op->format != FMT_LDX || slot_reg(t, ld_op, ld) >= 0)
		return 0;
	const struct x86_alu_form *form = alu_op ? x86_alu_form(alu_op->alu) : NULL;   /* add, sub, or, and, xor */
	if (ld_op->sign_extend || !st_op || st_op->format != FMT_STX || !form || alu_op->format == FMT_ATOMIC)
		return 0;
	unsigned size = ld_op->size;
	bool reg = alu_op->src_kind == SRC_REG;
	uint8_t x = ld->dst, a = ld->src;
	if (st_op->size != size || st->dst != a || st->src != x || st->off != ld->off || x == a || op->dst != x ||
	    (reg && op->src == x) || (alu_op->bits == 32 && size == 8) || op->off || (!reg && t->blind))
		return 0;
	for (size_t k = first + 1; k < first + n; k++)
		if (t->is_target[k])
			return 0;
	uint16_t live = t->live_out[first + n - 1];
	if ((live >> x) & 1)
		return 0;
	struct emit_buf *b = &t->b;
	int base = xreg[a];
	int64_t disp = ld->off;
	if (n == 5) {
		const bpfvm_insn *mov = &prog->insns[first], *add = mov + 1;
		if (a != mov->dst)
			return 0;
		bool add_reg = t->ops[first + 1]->src_kind == SRC_REG;
		if (!add_reg && t->blind)
			return 0;
		int64_t d = disp + (add_reg ? 0 : add->imm);
		if (!fits_s32(d) || (!add_reg && !fits_s32(add->imm)))
			return 0;
		if (((live >> a) & 1) || (reg && op->src == a)) {
			/* the address register is read later: set it, as the pair would */
			if (add_reg)
				emit_rm_index(b, false, true, OP(0x8d), xreg[a], xreg[mov->src], xreg[add->src], 0, false);
			else
				emit_rm(b, false, true, OP(0x8d), xreg[a], xreg[mov->src], add->imm, false);
		} else {
			base = xreg[mov->src];
			index = add_reg ? xreg[add->src] : -1;
			disp = d;
		}
	}
	bool word = size == 2, w = size == 8;
	int32_t imm = op->imm;
	uint8_t opc;
	int r;
	if (reg) {
		opc = (uint8_t)(size == 1 ? form->reg_op - 1 : form->reg_op);
		r = xreg[op->src];
	} else {
		opc = size == 1 ? 0x80 : fits_s8(imm) ? 0x83 : 0x81;
		r = form->imm_ext;
	}
	if (index >= 0)
		emit_rm_index(b, word, w, &opc, 1, r, base, index, (int32_t)disp, reg && size == 1);
	else
		emit_rm(b, word, w, &opc, 1, r, base, (int32_t)disp, reg && size == 1);
	if (!reg) {
		if (opc != 0x81)
			emit1(b, (uint8_t)imm);
		else if (word)
			emit_bytes(b, &imm, 2);
		else
			emit4(b, (uint32_t)imm);
	}
	for (size_t k = first + 1; k < first + n; k++)
		t->insn_off[k] = t->insn_off[first];
	return n;
}

/* A register-held stack slot loaded only to be the operand of the next
 * instruction: `x = *(u64 *)(r10 - k); y op= x` or `if y < x goto`, x
 * dead afterwards, reads the slot's register directly (xxmix's
 * `r2 = *(u64 *)(r10 - 8); r0 += r2`, pkt_walk's compares with the
 * packet end).  op: add, sub, and, or, xor; the jump any conditional
 * one but a jump over the next instruction (translate_jump's idioms).
 * Returns 2, or 0 with nothing emitted. */
static size_t translate_slot_operand(struct translator *t, size_t pc)
{
	const bpfvm_program *prog = t->prog;
	const bpfvm_insn *ld = &prog->insns[pc], *use = ld + 1;
	const struct isa_op *lop = t->ops[pc], *uop = t->ops[pc + 1];
	if (!lop || !uop || lop->format != FMT_LDX || lop->size != 8 || lop->sign_extend)
		return 0;
	int slot = slot_reg(t, lop, ld);
	uint8_t x = ld->dst;
	if (slot < 0 || (t->live_out[pc + 1] & (1u << x)))
		return 0;
	struct emit_buf *b = &t->b;
	bool w = uop->bits == 64;
	if (uop->format == FMT_ALU_REG && use->src == x && use->dst != x && use->off == 0) {
		const struct x86_alu_form *form = x86_alu_form(uop->alu);
		if (!form)
			return 0;
		emit_rr(b, w, &form->reg_op, 1, slot, xreg[use->dst]);
		t->insn_off[pc + 1] = t->insn_off[pc];
		return 2;
	}
	if (uop->format == FMT_JMP_REG && (use->src == x) != (use->dst == x) &&
	    isa_branch_target(uop, use, pc + 1) != (int64_t)pc + 3) {
		int dst = use->dst == x ? slot : xreg[use->dst], src = use->src == x ? slot : xreg[use->src];
		uint8_t opc = uop->cond == COND_SET ? 0x85 : 0x39;             /* test / cmp */
		emit_rr(b, w, &opc, 1, src, dst);
		t->cur_pc = (int32_t)pc + 1;
		t->insn_off[pc + 1] = t->insn_off[pc];
		emit_branch(t, jump_cc(uop), (size_t)isa_branch_target(uop, use, pc + 1), (int32_t)pc + 1);
		return 2;
	}
	return 0;
}

/* The multi-instruction rewrites, tried at every instruction: the ones
 * above, then clang's address computation `A = B; A += C (or imm)` (also
 * in 32 bits, parse_dec's `w8 = w5; w8 += -48`), often followed by an
 * access through A + off.  Returns how many instructions were fused (0:
 * none) after emitting one lea, or one load or store with a full
 * address.  No fused instruction but the first may be a jump target. */
static size_t translate_fused(struct translator *t, size_t pc)
{
	const bpfvm_program *prog = t->prog;
	if (pc + 1 >= prog->count || t->is_target[pc + 1])
		return 0;
	size_t alu = translate_fused_rmw(t, pc);
	if (!alu)
		alu = translate_fused_alu(t, pc);
	if (!alu)
		alu = translate_fused_rotate(t, pc);
	if (!alu)
		alu = translate_slot_operand(t, pc);
	if (alu)
		return alu;
	const bpfvm_insn *mov = &prog->insns[pc], *add = mov + 1;
	/* x = y; x += z|K, 64-bit or 32-bit (a 32-bit lea keeps the low half
	 * of the sum and zeroes the rest, as ALU32 does) */
	if (prog->analysis->idiom[pc] == IDIOM_NONE)
		return 0;
	bool w = t->ops[pc]->bits == 64;
	bool add_reg = t->ops[pc + 1]->src_kind == SRC_REG;
	if (!add_reg && t->blind)
		return 0;
	int a = xreg[mov->dst], base = xreg[mov->src];
	int index = add_reg ? xreg[add->src] : -1;
	int64_t disp = add_reg ? 0 : add->imm;
	struct emit_buf *b = &t->b;
	/* x = y; x += z|K; then a load or store through x + off, x not
	 * needed after it (or the load's destination): one access at
	 * [y + z|K + off] (matmul's `r1 = r5; r1 += r2; r4 = *(u32 *)(r1 + 0)`) */
	if (w && !t->checked && pc + 2 < prog->count && !t->is_target[pc + 2]) {
		const bpfvm_insn *mem = mov + 2;
		const struct isa_op *op = t->ops[pc + 2];
		bool dead = !(t->live_out[pc + 2] & (1u << mov->dst));
		bool load = op->format == FMT_LDX && mem->src == mov->dst && (mem->dst == mov->dst || dead);
		bool store = ((op->format == FMT_STX && mem->src != mov->dst) || op->format == FMT_ST) &&
		             mem->dst == mov->dst && dead;
		if ((load || store) && fits_s32(disp + mem->off)) {
			struct mem_addr at = { base, index, (int32_t)(disp + mem->off) };
			t->cur_pc = (int32_t)pc + 2;
			if (load)
				emit_load_at(t, op, mem, at);
			else
				emit_store_at(t, op, mem, at);
			t->insn_off[pc + 1] = t->insn_off[pc + 2] = t->insn_off[pc];
			return 3;
		}
	}
	if (index >= 0)
		emit_rm_index(b, false, w, OP(0x8d), a, base, index, 0, false);      /* lea a, [b+c] */
	else
		emit_rm(b, false, w, OP(0x8d), a, base, (int32_t)disp, false);       /* lea a, [b+imm] */
	t->insn_off[pc + 1] = t->insn_off[pc];
	return 2;
}

/* ---- prologues, epilogues, stubs -------------------------------------- */

static const int sub_saved[] = { RBX, R13, R14, R15 };     /* eBPF r6..r9 */

/* Pushes `mask` (bit i: sub_saved[i]) plus, first, `extra` registers, and
 * pads so rsp is 16-byte aligned for calls: on entry rsp is 8 past a
 * boundary, so with n pushes it is aligned iff n is odd. */
static unsigned push_set(struct emit_buf *b, const int *extra, unsigned nextra, uint8_t mask, bool align)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nextra; i++, n++)
		emit_push(b, extra[i]);
	for (unsigned i = 0; i < 4; i++)
		if (mask & (1u << i)) {
			emit_push(b, sub_saved[i]);
			n++;
		}
	bool pad = align && n % 2 == 0;
	if (pad)
		emit_alu_imm(b, true, 5, RSP, 8);
	return pad;
}

static void pop_set(struct emit_buf *b, const int *extra, unsigned nextra, uint8_t mask, bool pad)
{
	if (pad)
		emit_alu_imm(b, true, 0, RSP, 8);
	for (unsigned i = 4; i-- > 0;)
		if (mask & (1u << i))
			emit_pop(b, sub_saved[i]);
	for (unsigned i = nextra; i-- > 0;)
		emit_pop(b, extra[i]);
}

static const int host_extra[] = { RBP, R12 };

/* The host-facing entry: save what the host needs kept, set up r12 (the
 * run), rbp (eBPF r10) and the rsp that faults unwind to.  A leaf that
 * never touches its stack needs none of that. */
static bool emit_main_prologue(struct translator *t, uint8_t mask)
{
	struct emit_buf *b = &t->b;
	bool pad = push_set(b, host_extra, t->frame ? 2 : 0, mask, !t->leaf);
	if (t->frame) {
		emit_mov_rr(b, true, RUNREG, R9);
		if (t->may_fault)
			emit_rm(b, false, true, OP(0x89), RSP, RUNREG, RUN_OFF(jit_saved_rsp), false);
		emit_rm(b, false, true, OP(0x8b), RBP, RUNREG, RUN_OFF(stack), false);
		emit_alu_imm(b, true, 0, RBP, RUN_STACK_BYTES);
	}
	/* a slot read before any write reads 0, never the run pointer r9
	 * and r12 arrive with */
	for (unsigned i = 0; i < t->nslots; i++)
		emit_rr(b, false, OP(0x31), t->slots[i].reg, t->slots[i].reg);
	/* Registers a program reads before writing are 0, as in the
	 * interpreter, so unverified programs behave the same in both:
	 * those some path reads before writing (liveness at the entry). */
	if (t->entry_live & 1)
		emit_rr(b, false, OP(0x31), RAX, RAX);
	for (unsigned i = 0; i < 4; i++)
		if ((mask & (1u << i)) && (t->entry_live & (1u << (6 + i))))
			emit_rr(b, false, OP(0x31), sub_saved[i], sub_saved[i]);
	return pad;
}

/* The callback trampoline, called from C as the entry is, with the run in
 * r9: it pushes exactly what the entry pushes, so the epilogue (reached
 * on return or, through the rsp it records, on a fault) undoes it. */
static void emit_callback_trampoline(struct translator *t, uint8_t mask)
{
	struct emit_buf *b = &t->b;
	t->trampoline_off = b->len;
	push_set(b, host_extra, 2, mask, true);
	emit_mov_rr(b, true, RUNREG, R9);
	emit_rm(b, false, true, OP(0x89), RSP, RUNREG, RUN_OFF(jit_saved_rsp), false);
	emit_rm(b, false, true, OP(0x8b), RBP, RUNREG, RUN_OFF(jit_cb_frame), false);
	emit_rr(b, false, OP(0x31), RAX, RAX);
	for (unsigned i = 0; i < 4; i++)
		if (mask & (1u << i))
			emit_rr(b, false, OP(0x31), sub_saved[i], sub_saved[i]);
	emit_rm(b, false, false, OP(0xff), 2, RUNREG, RUN_OFF(jit_cb_entry), false);   /* call [r12 + off] */
	ref_stub(t, emit_jmp32(b), STUB_EPILOGUE);
}

/* Calls C function fn(run, r11, r10) with every eBPF register preserved
 * but rax when returns_in_rax; else its result goes to r10. */
static void emit_c_call_stub(struct emit_buf *b, const void *fn, bool returns_in_rax)
{
	static const int saved[] = { RAX, RDI, RSI, RDX, RCX, R8, R11 };
	size_t first = returns_in_rax ? 1 : 0;
	size_t n = 0;
	for (size_t i = first; i < 7; i++, n++)
		emit_push(b, saved[i]);
	bool pad = n % 2 == 0;
	if (pad)
		emit_alu_imm(b, true, 5, RSP, 8);
	emit_mov_rr(b, true, RDI, RUNREG);
	emit_mov_rr(b, true, RSI, R11);
	emit_mov_rr(b, true, RDX, R10);
	emit_mov_imm64(b, R9, (uint64_t)(uintptr_t)fn);
	emit_rr(b, false, OP(0xff), 2, R9);                     /* call r9 */
	if (!returns_in_rax)
		emit_mov_rr(b, true, R10, RAX);
	if (pad)
		emit_alu_imm(b, true, 0, RSP, 8);
	for (size_t i = 7; i-- > first;)
		emit_pop(b, saved[i]);
	emit1(b, 0xc3);
}

static void emit_stubs(struct translator *t, size_t stub_off[STUB_COUNT], uint8_t main_mask, bool main_pad)
{
	struct emit_buf *b = &t->b;
	for (int i = 0; i < STUB_COUNT; i++)
		stub_off[i] = b->len;
	/* The epilogue comes first, so the entry function's last exit can
	 * fall into it. */
	if (t->stubs_used & ((1u << STUB_FAULT_EXIT) | (1u << STUB_EPILOGUE))) {
		stub_off[STUB_EPILOGUE] = b->len;
		pop_set(b, host_extra, t->frame ? 2 : 0, main_mask, main_pad);
		emit1(b, 0xc3);
	}
	/* the unwind, then per-site fault records that jump to it */
	if (t->stubs_used & (1u << STUB_FAULT_EXIT)) {
		stub_off[STUB_FAULT_EXIT] = b->len;
		emit_rm(b, false, true, OP(0x8b), RSP, RUNREG, RUN_OFF(jit_saved_rsp), false);
		emit_rr(b, false, OP(0x31), RAX, RAX);
		size_t at = emit_jmp8(b);
		t->layout_bad |= !patch_rel8(b, at, stub_off[STUB_EPILOGUE]);   /* a few bytes back */
	}
	for (size_t i = 0; i < t->nfaults; i++) {
		patch_rel32(b, t->faults[i].at, b->len);
		emit_store_run32(b, RUN_OFF(fault_insn), (uint32_t)t->faults[i].insn);
		emit_store_run32(b, RUN_OFF(fault_kind), (uint32_t)t->faults[i].kind);
		ref_stub(t, emit_jmp32(b), STUB_FAULT_EXIT);
	}
	if (t->stubs_used & (1u << STUB_ACCESS)) {
		stub_off[STUB_ACCESS] = b->len;
		emit_c_call_stub(b, (const void *)jit_access_check, false);
	}
	if (t->stubs_used & (1u << STUB_CALLX)) {
		stub_off[STUB_CALLX] = b->len;
		emit_c_call_stub(b, (const void *)jit_resolve_helper, true);
	}
	if (t->stubs_used & (1u << STUB_PACKET)) {
		stub_off[STUB_PACKET] = b->len;
		emit_c_call_stub(b, (const void *)jit_packet_load, true);
	}
}

/* Stack slots kept in host registers, chosen once per program.  Only in
 * a leaf (unchecked, no calls: nothing else reads the frame, and r12,
 * the run, is not needed after the prologue), and only when r10 is
 * nothing but the base of loads and stores, so no pointer into the
 * frame exists.  A slot qualifies when every access overlapping its
 * bytes is a plain 4- or 8-byte load or store of exactly it; the slots
 * inside the deepest loops (then the most accessed) win r12 and, where
 * no division or atomic needs it as scratch, r9.  (xxmix keeps a hash
 * lane in r10 - 8: a store and a load a turn, 5 cycles of store
 * forwarding on its chain.) */
static bool find_register_slots(struct translator *t)
{
	const bpfvm_program *prog = t->prog;
	size_t n = prog->count;
	t->nslots = 0;
	if (!t->leaf)
		return true;
	enum { FRAME = 512, UNUSED = -1, MIXED = -2 };
	int16_t owner[FRAME];           /* per byte below r10: the one slot (off, size) touching it */
	uint64_t weight[2 * FRAME] = { 0 };
	for (size_t i = 0; i < FRAME; i++)
		owner[i] = UNUSED;
	uint32_t *depth = calloc(n + 1, sizeof *depth);
	bool *starts = calloc(n + 1, sizeof *starts);
	if (!depth || !starts) {
		free(depth);
		free(starts);
		return false;
	}
	for (size_t pc = 0; pc < n; pc++) {
		starts[pc] = true;
		if (t->ops[pc] && t->ops[pc]->format == FMT_LDDW)
			pc++;
	}
	/* loop depth: how many backward jumps' ranges cover each insn */
	bool r9_free = true;
	for (size_t pc = 0; pc < n; pc++) {
		const struct isa_op *op = t->ops[pc];
		if (!starts[pc] || !op)
			continue;
		if (op->format == FMT_JA || op->format == FMT_JA32 || op->format == FMT_JMP_IMM ||
		    op->format == FMT_JMP_REG) {
			int64_t target = isa_branch_target(op, &prog->insns[pc], pc);
			if (target >= 0 && (size_t)target <= pc) {
				depth[target]++;
				depth[pc + 1]--;
			}
		}
		if (op->format == FMT_ATOMIC || op->alu == ALU_DIV || op->alu == ALU_SDIV || op->alu == ALU_MOD ||
		    op->alu == ALU_SMOD)
			r9_free = false;
	}
	bool ok = true;
	uint32_t d = 0;
	for (size_t pc = 0; pc < n && ok; pc++) {
		d += depth[pc];
		const struct isa_op *op = t->ops[pc];
		if (!starts[pc] || !op)
			continue;
		const bpfvm_insn *in = &prog->insns[pc];
		bool access = op->format == FMT_LDX || op->format == FMT_ST || op->format == FMT_STX ||
		              op->format == FMT_ATOMIC;
		uint8_t base = op->format == FMT_LDX ? in->src : in->dst;
		if (!access || base != 10) {
			uint16_t uses, defs;
			jit_insn_uses_defs(prog, t->ops, pc, true, &uses, &defs);
			ok = !((uses | defs) & (1u << 10));
			continue;
		}
		if ((op->format == FMT_STX || op->format == FMT_ATOMIC) && in->src == 10) {
			ok = false;          /* the frame's address stored or exchanged */
			break;
		}
		unsigned size = isa_access_size(op);
		if (in->off >= 0 || in->off < -FRAME || in->off + (int)size > 0) {
			ok = false;
			break;
		}
		bool plain = (size == 4 || size == 8) && op->format != FMT_ATOMIC &&
		             !op->sign_extend;
		int16_t id = plain ? (int16_t)((in->off + FRAME) * 2 + (size == 8)) : MIXED;
		for (unsigned k = 0; k < size; k++) {
			int16_t *o = &owner[in->off + FRAME + (int)k];
			*o = *o == UNUSED || *o == id ? id : MIXED;
		}
		if (plain) {
			uint64_t w = (uint64_t)1 << (d < 6 ? 3 * d : 18);
			weight[id] += w;
		}
	}
	free(depth);
	free(starts);
	if (!ok)
		return true;
	int regs[MAX_REGISTER_SLOTS] = { R12, R9 };
	unsigned nregs = r9_free ? 2 : 1;
	while (t->nslots < nregs) {
		int best = -1;
		for (int id = 0; id < 2 * FRAME; id++) {
			if (!weight[id] || (best >= 0 && weight[id] <= weight[best]))
				continue;
			int off = id / 2 - FRAME;
			unsigned size = id & 1 ? 8 : 4;
			bool alone = true;
			for (unsigned k = 0; k < size; k++)
				alone &= owner[off + FRAME + (int)k] == id;
			if (alone)
				best = id;
		}
		if (best < 0)
			break;
		t->slots[t->nslots] = (struct register_slot){ (int16_t)(best / 2 - FRAME), best & 1 ? 8 : 4,
		                                              (int8_t)regs[t->nslots] };
		t->nslots++;
		weight[best] = 0;
	}
	return true;
}

/* Does instruction pc only write a register that is dead after it
 * (unchecked mode: a load is trusted to be valid)? */
static bool dead_result(const struct translator *t, size_t pc)
{
	const struct isa_op *op = t->ops[pc];
	if (t->checked || !op)
		return false;
	switch (op->format) {
	case FMT_ALU_IMM: case FMT_ALU_REG: case FMT_NEG: case FMT_END: case FMT_LDX: case FMT_LDDW:
		return !(t->live_out[pc] & (1u << t->prog->insns[pc].dst));
	default:
		return false;
	}
}

/* ---- driver ------------------------------------------------------------ */

/* Bit i set if the instruction writes eBPF register 6 + i. */
static uint8_t callee_saved_writes(const bpfvm_insn *in, const struct isa_op *op)
{
	int reg = -1;
	switch (op->format) {
	case FMT_ALU_IMM: case FMT_ALU_REG: case FMT_NEG: case FMT_END: case FMT_LDDW: case FMT_LDX:
		reg = in->dst;
		break;
	case FMT_ATOMIC:
		if (op->fetch)
			reg = op->alu == ALU_CMPXCHG ? 0 : in->src;
		break;
	default:
		break;
	}
	return reg >= 6 && reg <= 9 ? (uint8_t)(1u << (reg - 6)) : 0;
}

/* One translation of the whole program; offsets from the previous pass
 * (if any) choose short jumps. */
static int translate_pass(struct translator *t, bpfvm_error *err)
{
	const bpfvm_program *prog = t->prog;
	size_t n = prog->count;
	t->b.len = 0;
	t->njumps = t->ncalls = t->nfaults = t->nstub_refs = 0;
	t->stubs_used = 0;

	/* The entry is compiled like any subprogram when a local call targets
	 * it; otherwise the host-facing prologue runs straight into it. */
	uint8_t main_mask = t->main_writes;
	bool main_pad = emit_main_prologue(t, main_mask);
	if (t->entry_is_called) {
		PUSH_FIXUP(t->calls, t->ncalls, t->cap_calls, ((struct fixup){ emit_call32(&t->b), 0, false }));
		ref_stub(t, emit_jmp32(&t->b), STUB_EPILOGUE);
	}
	bool sub_pad = false;
	int zf_next = -1;
	for (size_t pc = 0; pc < n; pc++) {
		const bpfvm_insn *in = &prog->insns[pc];
		const struct isa_op *op = t->ops[pc];
		if (t->sub_start[pc]) {
			t->cur_sub = pc;
			t->entry_off[pc] = t->b.len;
			if (pc != 0 || t->entry_is_called)
				sub_pad = push_set(&t->b, NULL, 0, t->sub_writes[pc], t->sub_calls[pc]);
		}
		if (t->align_head[pc + 1] != t->align_head[pc] && t->prev_insn_off) {
			/* a small loop that would straddle a LOOP_ALIGN boundary
			 * (by the previous pass's sizes) starts on one instead */
			size_t size = t->prev_insn_off[t->loop_end[pc] + 1] - t->prev_insn_off[pc];
			size_t at = t->b.len % LOOP_ALIGN;
			if (size <= LOOP_ALIGN && at + size > LOOP_ALIGN)
				emit_nops(&t->b, LOOP_ALIGN - at);
		}
		t->insn_off[pc] = t->b.len;
		t->cur_pc = (int32_t)pc;
		t->zf_reg = t->is_target[pc] ? -1 : zf_next;
		zf_next = -1;
		int32_t ipc = (int32_t)pc;
		int bad = 0;
		/* unchecked, an instruction whose only effect is a register
		 * nothing reads afterwards is left out: clang leaves such
		 * reloads behind (pkt_walk's `r4 = *(u64 *)(r10 - 64); r4 =
		 * *(u64 *)(r10 - 72)`), and a load cannot fail there */
		if (dead_result(t, pc)) {
			if (op->format == FMT_LDDW)
				t->insn_off[++pc] = t->b.len;
			continue;
		}
		/* whether an instruction starts a fused sequence does not
		 * depend on the layout: later passes skip the matching where
		 * the first found nothing */
		size_t fused = t->no_fuse[pc] ? 0 : translate_fused(t, pc);
		if (!t->prev_insn_off && !fused)
			t->no_fuse[pc] = 1;
		if (fused) {
			pc += fused - 1;
			continue;
		}
		switch (op->format) {
		case FMT_ALU_IMM: case FMT_ALU_REG: case FMT_NEG:
			bad = translate_alu(t, op, in);
			zf_next = alu_sets_zf(t, op, in) ? in->dst : -1;
			break;
		case FMT_END:
			bad = translate_end(t, op, in);
			break;
		case FMT_LDDW:
			translate_lddw(t, xreg[in->dst], (uint32_t)in->imm | (uint64_t)(uint32_t)in[1].imm << 32);
			t->insn_off[++pc] = t->b.len;
			break;
		case FMT_LDABS: case FMT_LDIND:
			translate_packet(t, op, in, ipc);
			break;
		case FMT_LDX: case FMT_ST: case FMT_STX:
			translate_access(t, op, in, ipc);
			break;
		case FMT_ATOMIC:
			translate_atomic(t, op, in, ipc);
			break;
		case FMT_JA: case FMT_JA32: case FMT_JMP_IMM: case FMT_JMP_REG:
			pc += translate_jump(t, op, in, ipc) - 1;
			break;
		case FMT_MAY_GOTO:
			translate_may_goto(t, op, in, ipc);
			break;
		case FMT_CALL: case FMT_CALL_LOCAL: case FMT_CALLX:
			if (op->format != FMT_CALL ||
			    (!translate_inline_lookup(t, pc) && !translate_direct_map_call(t, pc)))
				translate_call(t, op, in, ipc);
			break;
		case FMT_EXIT:
			if (t->cur_sub == 0 && !t->entry_is_called) {
				jump_to_stub(t, STUB_EPILOGUE);
			} else {
				pop_set(&t->b, NULL, 0, t->sub_writes[t->cur_sub], sub_pad);
				emit1(&t->b, 0xc3);
			}
			break;
		default:
			bad = -1;
		}
		if (bad)
			return error_set(err, -EINVAL, ipc, "JIT: cannot translate %s", op->asm_name);
	}
	t->insn_off[n] = t->b.len;
	/* a helper can call back only where there are helper calls, and then
	 * the entry has the full frame the trampoline copies */
	t->trampoline_off = 0;
	if (prog->callback_count && t->may_fault && t->frame && !t->leaf)
		emit_callback_trampoline(t, main_mask);

	size_t stub_off[STUB_COUNT];
	emit_stubs(t, stub_off, main_mask, main_pad);
	bool ok = true;
	for (size_t i = 0; i < t->njumps; i++) {
		size_t target = t->insn_off[t->jumps[i].target];
		if (t->jumps[i].short_form)
			ok &= patch_rel8(&t->b, t->jumps[i].at, target);
		else
			patch_rel32(&t->b, t->jumps[i].at, target);
	}
	for (size_t i = 0; i < t->ncalls; i++)
		patch_rel32(&t->b, t->calls[i].at, t->entry_off[t->calls[i].target]);
	for (size_t i = 0; i < t->nstub_refs; i++) {
		size_t target = stub_off[t->stub_refs[i].target];
		if (t->stub_refs[i].short_form)
			ok &= patch_rel8(&t->b, t->stub_refs[i].at, target);
		else
			patch_rel32(&t->b, t->stub_refs[i].at, target);
	}
	memcpy(t->prev_stub_off, stub_off, sizeof stub_off);
	if (t->oom || t->b.oom)
		return error_set(err, -ENOMEM, -1, "JIT: out of memory");
	if (t->layout_bad)
		return error_set(err, -EFAULT, -1, "JIT: internal error: a short jump does not reach");
	return ok ? 0 : 1;   /* 1: a short jump did not reach */
}

int jit_translate(const bpfvm_program *prog, bool checked, bool blind, uint64_t blind_seed,
                  struct emit_buf *out, size_t *trampoline_off, size_t *callback_off, bpfvm_error *err)
{
	size_t n = prog->count;
	struct translator tr = { .prog = prog, .checked = checked, .blind = blind, .blind_seed = blind_seed };
	struct translator *t = &tr;
	size_t *offs[2] = { calloc(n + 1, sizeof(size_t)), calloc(n + 1, sizeof(size_t)) };
	t->entry_off = calloc(n + 1, sizeof *t->entry_off);
	t->sub_start = prog->analysis->sub_start;
	t->sub_writes = calloc(n + 1, 1);
	t->sub_calls = calloc(n + 1, sizeof *t->sub_calls);
	t->is_target = prog->analysis->jump_target;
	t->entry_is_called = prog->analysis->entry_is_called;
	int rc = 0;
	if (!offs[0] || !offs[1] || !t->entry_off || !t->sub_writes || !t->sub_calls) {
		rc = error_set(err, -ENOMEM, -1, "JIT: out of memory");
		goto out;
	}
	t->ops = prog->analysis->ops;
	t->no_fuse = calloc(n + 1, 1);
	if (!t->no_fuse) {
		rc = error_set(err, -ENOMEM, -1, "JIT: out of memory");
		goto out;
	}
	/* which of r6..r9 each subprogram writes: it saves just those */
	size_t sub = 0;
	for (size_t pc = 0; pc < n; pc++) {
		if (t->sub_start[pc])
			sub = pc;
		const struct isa_op *op = t->ops[pc];
		t->sub_writes[sub] |= callee_saved_writes(&prog->insns[pc], op);
		/* a call needs rsp aligned: helpers, local calls, the packet
		 * load stub, and in checked mode the access check stub */
		if (checked || op->format == FMT_CALL || op->format == FMT_CALLX || op->format == FMT_CALL_LOCAL ||
		    op->format == FMT_LDABS || op->format == FMT_LDIND)
			t->sub_calls[sub] = true;
		if (op->format == FMT_LDDW)
			pc++;
	}
	/* r6..r9 the entry saves for the host and starts at 0 (as the
	 * interpreter does): those it uses; and when a fault can unwind
	 * straight to the host from inside a subprogram, past that
	 * subprogram's own saves, those any function uses */
	uint8_t used_anywhere = 0, used_by_entry = 0;
	size_t entry_end = 1;
	while (entry_end < n && !t->sub_start[entry_end])
		entry_end++;
	for (size_t pc = 0; pc < n; pc++) {
		const bpfvm_insn *in = &prog->insns[pc];
		bool in_entry = pc < entry_end;
		for (int reg = 6; reg <= 9; reg++)
			if (in->dst == reg || in->src == reg) {
				used_anywhere |= (uint8_t)(1u << (reg - 6));
				if (in_entry)
					used_by_entry |= (uint8_t)(1u << (reg - 6));
			}
		if (isa_is_lddw(in))
			pc++;
	}
	t->known01 = malloc(n * sizeof *t->known01);
	t->live_out = malloc(n * sizeof *t->live_out);
	if (!t->known01 || !t->live_out) {
		rc = error_set(err, -ENOMEM, -1, "JIT: out of memory");
		goto out;
	}
	jit_bool_regs(prog, t->ops, t->is_target, t->known01);
	/* Small loops do not straddle a LOOP_ALIGN boundary: on this suite's
	 * machine (Zen 3) inet_csum's 5-instruction loop ran in 32 us across
	 * 0x80 and 16-18 us from 0x80 (the kernel's figure varies the same
	 * way from load to load).  Small: a backward jump at most
	 * LOOP_ALIGN_INSNS after its target, and at most LOOP_ALIGN bytes;
	 * and only loops over memory (a load inside), to keep the padding,
	 * which counts as code size, for the loops that run longest. */
	t->align_head = calloc(n + 2, sizeof *t->align_head);
	t->loop_end = calloc(n + 1, sizeof *t->loop_end);
	if (!t->align_head || !t->loop_end) {
		rc = error_set(err, -ENOMEM, -1, "JIT: out of memory");
		goto out;
	}
	for (size_t pc = 0; pc < n; pc++) {
		const struct isa_op *op = t->ops[pc];
		if (op && (op->format == FMT_JA || op->format == FMT_JA32 || op->format == FMT_JMP_IMM ||
		           op->format == FMT_JMP_REG)) {
			size_t target = (size_t)isa_branch_target(op, &prog->insns[pc], pc);
			bool loads = false;
			for (size_t k = target; k <= pc && pc - target <= LOOP_ALIGN_INSNS; k++)
				loads |= t->ops[k] && t->ops[k]->format == FMT_LDX;
			if (target <= pc && pc - target <= LOOP_ALIGN_INSNS && target > 0 && loads) {
				t->align_head[target + 1] = 1;
				if (pc > t->loop_end[target])
					t->loop_end[target] = pc;
			}
		}
	}
	for (size_t pc = 1; pc <= n + 1; pc++)
		t->align_head[pc] += t->align_head[pc - 1];
	if (!jit_liveness(prog, t->ops, t->sub_start, t->entry_is_called, t->live_out)) {
		rc = error_set(err, -ENOMEM, -1, "JIT: out of memory");
		goto out;
	}
	uint16_t uses0, defs0;
	jit_insn_uses_defs(prog, t->ops, 0, !t->entry_is_called, &uses0, &defs0);
	t->entry_live = (uint16_t)(uses0 | (t->live_out[0] & ~defs0));
	t->leaf = !checked && !t->entry_is_called;
	bool uses_r10 = false;
	for (size_t pc = 0; pc < n; pc++) {
		const struct isa_op *op = t->ops[pc];
		switch (op->format) {
		case FMT_CALL:
			/* an open-coded lookup cannot fail the run */
			if (!checked && !blind && inline_lookup_at(prog, pc, t->is_target, &(struct array_layout){ 0 }))
				break;
			/* fall through */
		case FMT_CALLX: case FMT_LDABS: case FMT_LDIND:
			t->may_fault = true;
			t->leaf = false;
			break;
		case FMT_CALL_LOCAL:
		case FMT_MAY_GOTO:   /* reads the run (r12) */
			t->leaf = false;
			break;
		default:
			break;
		}
		uses_r10 |= prog->insns[pc].dst == 10 || prog->insns[pc].src == 10;
		if (op->format == FMT_LDDW)
			pc++;
	}
	t->may_fault |= checked;
	t->frame = !t->leaf || uses_r10;
	if (!find_register_slots(t)) {
		rc = error_set(err, -ENOMEM, -1, "JIT: out of memory");
		goto out;
	}
	t->main_writes = t->may_fault || t->entry_is_called ? used_anywhere : used_by_entry;

	/* Translate until the layout stops shrinking (short jumps), at most
	 * JIT_PASSES passes; if a short jump ever failed to reach, fall back
	 * to long jumps throughout.  Every pass's code is complete and
	 * correct, only longer than the next's: the third pass's is within a
	 * few bytes of the fixed point (500,000 random checked-mode
	 * instructions: 13,381,612 bytes, 13,299,915, 13,299,907, then
	 * unchanged), so a fourth pass, which costs as much as the first,
	 * is not worth it. */
	size_t prev_len = 0;
	for (int pass = 0; pass < JIT_PASSES; pass++) {
		t->insn_off = offs[pass & 1];
		t->prev_insn_off = pass ? offs[(pass + 1) & 1] : NULL;
		rc = translate_pass(t, err);
		if (rc == 1) {
			t->prev_insn_off = NULL;
			memset(t->prev_stub_off, 0, sizeof t->prev_stub_off);
			t->insn_off = offs[0];
			rc = translate_pass(t, err);
			if (rc == 1)
				rc = error_set(err, -EFAULT, -1, "JIT: internal error: jump layout");
			break;
		}
		if (rc || (pass > 0 && t->b.len == prev_len))
			break;
		prev_len = t->b.len;
	}
	if (!rc) {
		*trampoline_off = t->trampoline_off;
		for (size_t i = 0; i < prog->callback_count; i++)
			callback_off[i] = t->entry_off[prog->callbacks[i]];
	}
out:
	free(offs[0]);
	free(offs[1]);
	free(t->entry_off);
	free(t->sub_writes);
	free(t->sub_calls);
	free(t->align_head);
	free(t->loop_end);
	free(t->known01);
	free(t->no_fuse);
	free(t->live_out);
	free(t->jumps);
	free(t->calls);
	free(t->faults);
	free(t->stub_refs);
	if (rc)
		free(t->b.code);
	else
		*out = t->b;
	return rc;
}
