/*
 * scalar.h - the verifier's abstract domain for 64-bit scalars: known
 * bits (a tristate number) plus signed and unsigned bounds, each for the
 * whole register and for its low 32 bits, as the kernel's verifier keeps
 * them.
 *
 * Owns: struct tnum and its one-line operations (inline; the longer ones
 * are in tnum.c), struct scalar with the transfer
 * function of every ALU instruction, the test of whether a conditional
 * jump is decided, the narrowing of both operands when it is taken or not,
 * and the inclusion test state pruning uses.  Soundness rule for every
 * function here: for any concrete values the inputs describe, the concrete
 * result is described by the output.
 */
#ifndef BPFVM_VERIFIER_SCALAR_H
#define BPFVM_VERIFIER_SCALAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isa/isa.h"

/* A tristate number: bit i is unknown if mask bit i is set, else it is
 * value bit i.  value & mask == 0 always. */
struct tnum {
	uint64_t value;
	uint64_t mask;
};

/* The operations, inline where they are one line: the transfer
 * function of every instruction and scalar_sync() call them.  Every
 * operation over-approximates: for any members x of a and y of b, x OP y
 * is a member of the result. */
static inline struct tnum tnum_const(uint64_t v)
{
	return (struct tnum){ .value = v, .mask = 0 };
}

static inline struct tnum tnum_unknown(void)
{
	return (struct tnum){ .value = 0, .mask = ~(uint64_t)0 };
}

/* The smallest tnum holding every value of [min, max]. */
static inline struct tnum tnum_range(uint64_t min, uint64_t max)
{
	/* Above the highest bit where min and max differ, every member of
	 * [min, max] shares their bits; from that bit down anything goes. */
	uint64_t differ = min ^ max;
	if (differ == 0)
		return tnum_const(min);
	unsigned top = 63 - (unsigned)__builtin_clzll(differ);
	if (top == 63)
		return tnum_unknown();
	uint64_t low = ((uint64_t)1 << (top + 1)) - 1;
	return (struct tnum){ .value = min & ~low, .mask = low };
}

static inline struct tnum tnum_add(struct tnum a, struct tnum b)
{
	/* The sum of the minima and the sum of the maxima differ exactly at
	 * the bits some carry chain can reach; those and the operands'
	 * unknown bits are unknown. */
	uint64_t lo = a.value + b.value;
	uint64_t hi = lo + a.mask + b.mask;
	uint64_t unk = (lo ^ hi) | a.mask | b.mask;
	return (struct tnum){ .value = lo & ~unk, .mask = unk };
}

static inline struct tnum tnum_sub(struct tnum a, struct tnum b)
{
	/* Largest minus smallest against smallest minus largest: the bits a
	 * borrow chain can reach differ between them. */
	uint64_t base = a.value - b.value;
	uint64_t hi = base + a.mask;
	uint64_t lo = base - b.mask;
	uint64_t unk = (hi ^ lo) | a.mask | b.mask;
	return (struct tnum){ .value = base & ~unk, .mask = unk };
}

static inline struct tnum tnum_and(struct tnum a, struct tnum b)
{
	/* A result bit may be 1 where both may be 1, and is known 1 where
	 * both are known 1. */
	uint64_t may_a = a.value | a.mask, may_b = b.value | b.mask;
	uint64_t ones = a.value & b.value;
	return (struct tnum){ .value = ones, .mask = (may_a & may_b) & ~ones };
}

static inline struct tnum tnum_or(struct tnum a, struct tnum b)
{
	uint64_t ones = a.value | b.value;
	uint64_t unk = (a.mask | b.mask) & ~ones;
	return (struct tnum){ .value = ones, .mask = unk };
}

static inline struct tnum tnum_xor(struct tnum a, struct tnum b)
{
	uint64_t unk = a.mask | b.mask;
	return (struct tnum){ .value = (a.value ^ b.value) & ~unk, .mask = unk };
}

struct tnum tnum_mul(struct tnum a, struct tnum b);

static inline struct tnum tnum_lshift(struct tnum a, unsigned shift)
{
	if (shift >= 64)
		return tnum_const(0);
	return (struct tnum){ .value = a.value << shift, .mask = a.mask << shift };
}

static inline struct tnum tnum_rshift(struct tnum a, unsigned shift)
{
	if (shift >= 64)
		return tnum_const(0);
	return (struct tnum){ .value = a.value >> shift, .mask = a.mask >> shift };
}

/* Arithmetic shift of the low `bits` (32 or 64) bits. */
struct tnum tnum_arshift(struct tnum a, unsigned shift, unsigned bits);

/* Bits known in either (both must describe one value). */
static inline struct tnum tnum_intersect(struct tnum a, struct tnum b)
{
	uint64_t unk = a.mask & b.mask;
	return (struct tnum){ .value = (a.value | b.value) & ~unk, .mask = unk };
}

/* The low `bytes` bytes, upper bits known zero. */
static inline struct tnum tnum_cast(struct tnum a, unsigned bytes)
{
	if (bytes >= 8)
		return a;
	uint64_t keep = ((uint64_t)1 << (bytes * 8)) - 1;
	return (struct tnum){ .value = a.value & keep, .mask = a.mask & keep };
}

static inline bool tnum_is_const(struct tnum a)
{
	return a.mask == 0;
}

/* Every value b describes is one a describes. */
static inline bool tnum_in(struct tnum a, struct tnum b)
{
	/* b may not leave unknown a bit a knows, and must agree with a on
	 * every bit a knows. */
	if (b.mask & ~a.mask)
		return false;
	return ((a.value ^ b.value) & ~a.mask) == 0;
}

/* Whether the concrete value v is one a describes. */
static inline bool tnum_contains(struct tnum a, uint64_t v)
{
	return ((v ^ a.value) & ~a.mask) == 0;
}

/* A 64-bit scalar.  Invariant after scalar_sync(): every field is as
 * tight as the others allow and the 32-bit bounds describe the low half. */
struct scalar {
	struct tnum var;
	int64_t smin, smax;
	uint64_t umin, umax;
	int32_t s32_min, s32_max;
	uint32_t u32_min, u32_max;
};

/* The number v: every range v itself (inline: every constant of a walk
 * is made by it). */
static inline void scalar_known(struct scalar *s, uint64_t v)
{
	s->var = tnum_const(v);
	s->smin = s->smax = (int64_t)v;
	s->umin = s->umax = v;
	s->s32_min = s->s32_max = (int32_t)(uint32_t)v;
	s->u32_min = s->u32_max = (uint32_t)v;
}
void scalar_unknown(struct scalar *s);
/* Unknown value of `bytes` bytes (1, 2, 4, 8) zero-extended: a load. */
void scalar_unknown_size(struct scalar *s, unsigned bytes);
/* Unknown value of `bytes` bytes sign-extended to 64 bits: a signed load. */
void scalar_unknown_signed(struct scalar *s, unsigned bytes);
bool scalar_is_const(const struct scalar *s);
/* Tightens every field from the others (the kernel's reg_bounds_sync);
 * returns false if no value satisfies them all (an impossible state). */
bool scalar_sync(struct scalar *s);
/* scalar_sync() without its shortcuts (its memo, the shapes it knows a
 * round leaves alone, and the loop counters' shapes whose rounds' result
 * it knows): every round run, for the tests to compare the shortcuts
 * with. */
bool scalar_sync_rounds(struct scalar *s);
/* The slot of scalar_sync()'s memo that keeps its answer for s (for the
 * tests of how the memo spreads the scalars of a walk). */
unsigned scalar_memo_slot(const struct scalar *s);
/* Whether the concrete v is described by s (for tests and fuzzing). */
bool scalar_contains(const struct scalar *s, uint64_t v);

/* dst = dst OP src, OP an arithmetic operation (ALU_ADD .. ALU_ARSH;
 * ALU_SDIV and ALU_SMOD divide signed); alu64 false for the 32-bit class,
 * whose result is zero-extended.  For ALU_MOVSX, `sext_bits` (8, 16, 32)
 * is the width the source is sign-extended from (any other width moves it
 * unchanged); other operations ignore it.  Division by zero follows the
 * ISA (x/0 = 0, x%0 = x).  Shift amounts are masked as the ISA masks them. */
void scalar_alu(struct scalar *dst, const struct scalar *src, enum isa_alu op, bool alu64, unsigned sext_bits);
/* scalar_alu() without its shortcut for two known numbers: the transfer
 * functions and the sync every time, for the tests to compare with. */
void scalar_alu_general(struct scalar *dst, const struct scalar *src, enum isa_alu op, bool alu64,
                        unsigned sext_bits);
/* Byte swap: ALU_END_LE (a truncation on this little-endian host),
 * ALU_END_BE or ALU_BSWAP, of `bits` 16/32/64. */
void scalar_endian(struct scalar *dst, enum isa_alu op, unsigned bits);
/* Zero-extends the low 32 bits into the whole register. */
void scalar_zext32(struct scalar *s);

/* Conditional jumps: `cond` is an enum isa_cond (a jump's op->cond) or
 * COND_SET_NOT, comparing the low 32 bits when is32.  Returns 1 if
 * `a cond b` holds for every value pair, 0 if for none, -1 if it
 * depends. */
int scalar_branch_taken(const struct scalar *a, const struct scalar *b, uint8_t cond, bool is32);
/* Narrows a and b to the values for which `a cond b` holds (for the
 * branch not taken, pass cond_negate(cond)).  Returns false if no pair
 * satisfies it.  JSET narrows known bits only where sound. */
bool scalar_refine(struct scalar *a, struct scalar *b, uint8_t cond, bool is32);
/* scalar_refine() of a jump scalar_branch_taken() left undecided (-1),
 * for cond or its negation (the one is undecided iff the other is):
 * the same without asking again. */
bool scalar_refine_undecided(struct scalar *a, struct scalar *b, uint8_t cond, bool is32);
/* scalar_refine_undecided() of the numbers a and b, written to a_out
 * and b_out (the same object: one register compared with itself; each
 * either its own input or apart from both inputs).  The taken side of a
 * jump reads its operands from the state walked and narrows them in
 * place in its copy (scalar.c says why not through temporaries). */
bool scalar_refine_undecided_from(const struct scalar *a, const struct scalar *b, struct scalar *a_out,
                                  struct scalar *b_out, uint8_t cond, bool is32);
/* jset's opposite, "(a & b) == 0", which no jump encodes: outside enum
 * isa_cond (no row of the opcode table carries it), accepted by the
 * functions above like any other condition. */
enum { COND_SET_NOT = UINT8_MAX };
/* The condition testing the opposite (eq <-> ne, gt <-> le, set <->
 * set-not, ...). */
uint8_t cond_negate(uint8_t cond);
/* The condition that holds for (b, a) when cond holds for (a, b). */
uint8_t cond_swap(uint8_t cond);

/* Pruning: every value cur describes is one old describes.  Inline: a
 * prune point's comparisons ask it for each number and pointer. */
static inline bool scalar_within(const struct scalar *old, const struct scalar *cur)
{
	return old->umin <= cur->umin && old->umax >= cur->umax &&
	       old->smin <= cur->smin && old->smax >= cur->smax &&
	       old->u32_min <= cur->u32_min && old->u32_max >= cur->u32_max &&
	       old->s32_min <= cur->s32_min && old->s32_max >= cur->s32_max &&
	       tnum_in(old->var, cur->var);
}
/* The kernel's log form, e.g. "42", "scalar(umax=255,var_off=(0x0; 0xff))";
 * returns the number of characters written (snprintf-like). */
int scalar_format(const struct scalar *s, char *buf, size_t size);

#endif
