/*
 * tnum.c - tristate numbers: a 64-bit value in which every bit is either
 * known (0 or 1) or unknown.  The representation is a pair (value, mask):
 * a set mask bit marks an unknown bit, and value holds the known bits
 * (value & mask is always 0).  A tnum stands for the set of every 64-bit
 * number that agrees with value on the bits outside mask.
 *
 * Owns: the arithmetic on that set representation used by the scalar
 * domain (scalar.c).  Every operation over-approximates: for any members
 * x of a and y of b, x OP y is a member of the result.
 */
#include "verifier/scalar.h"

struct tnum tnum_const(uint64_t v)
{
	return (struct tnum){ .value = v, .mask = 0 };
}

struct tnum tnum_unknown(void)
{
	return (struct tnum){ .value = 0, .mask = ~(uint64_t)0 };
}

struct tnum tnum_range(uint64_t min, uint64_t max)
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

struct tnum tnum_add(struct tnum a, struct tnum b)
{
	/* The sum of the minima and the sum of the maxima differ exactly at
	 * the bits some carry chain can reach; those and the operands'
	 * unknown bits are unknown. */
	uint64_t lo = a.value + b.value;
	uint64_t hi = lo + a.mask + b.mask;
	uint64_t unk = (lo ^ hi) | a.mask | b.mask;
	return (struct tnum){ .value = lo & ~unk, .mask = unk };
}

struct tnum tnum_sub(struct tnum a, struct tnum b)
{
	/* Largest minus smallest against smallest minus largest: the bits a
	 * borrow chain can reach differ between them. */
	uint64_t base = a.value - b.value;
	uint64_t hi = base + a.mask;
	uint64_t lo = base - b.mask;
	uint64_t unk = (hi ^ lo) | a.mask | b.mask;
	return (struct tnum){ .value = base & ~unk, .mask = unk };
}

struct tnum tnum_and(struct tnum a, struct tnum b)
{
	/* A result bit may be 1 where both may be 1, and is known 1 where
	 * both are known 1. */
	uint64_t may_a = a.value | a.mask, may_b = b.value | b.mask;
	uint64_t ones = a.value & b.value;
	return (struct tnum){ .value = ones, .mask = (may_a & may_b) & ~ones };
}

struct tnum tnum_or(struct tnum a, struct tnum b)
{
	uint64_t ones = a.value | b.value;
	uint64_t unk = (a.mask | b.mask) & ~ones;
	return (struct tnum){ .value = ones, .mask = unk };
}

struct tnum tnum_xor(struct tnum a, struct tnum b)
{
	uint64_t unk = a.mask | b.mask;
	return (struct tnum){ .value = (a.value ^ b.value) & ~unk, .mask = unk };
}

struct tnum tnum_mul(struct tnum a, struct tnum b)
{
	/* Long multiplication, one bit of a at a time.  The product of the
	 * known parts is exact; every partial product that depends on an
	 * unknown bit is summed, as a fully unknown addend, into a separate
	 * accumulator.  A known 1 bit of a adds b's unknown part; an unknown
	 * bit of a adds all of b's possibly-set bits. */
	uint64_t exact = a.value * b.value;
	struct tnum fuzz = tnum_const(0);
	while (a.value | a.mask) {
		if (a.value & 1)
			fuzz = tnum_add(fuzz, (struct tnum){ 0, b.mask });
		else if (a.mask & 1)
			fuzz = tnum_add(fuzz, (struct tnum){ 0, b.value | b.mask });
		a = tnum_rshift(a, 1);
		b = tnum_lshift(b, 1);
	}
	return tnum_add(tnum_const(exact), fuzz);
}

struct tnum tnum_lshift(struct tnum a, unsigned shift)
{
	if (shift >= 64)
		return tnum_const(0);
	return (struct tnum){ .value = a.value << shift, .mask = a.mask << shift };
}

struct tnum tnum_rshift(struct tnum a, unsigned shift)
{
	if (shift >= 64)
		return tnum_const(0);
	return (struct tnum){ .value = a.value >> shift, .mask = a.mask >> shift };
}

struct tnum tnum_arshift(struct tnum a, unsigned shift, unsigned bits)
{
	/* Shifting value and mask arithmetically each copies a known sign
	 * bit into value (mask gets zeros) and an unknown one into mask
	 * (value gets zeros). */
	if (bits == 32) {
		if (shift > 31)
			shift = 31;
		uint32_t v = (uint32_t)((int32_t)(uint32_t)a.value >> shift);
		uint32_t m = (uint32_t)((int32_t)(uint32_t)a.mask >> shift);
		return (struct tnum){ .value = v, .mask = m };
	}
	if (shift > 63)
		shift = 63;
	return (struct tnum){ .value = (uint64_t)((int64_t)a.value >> shift),
			      .mask = (uint64_t)((int64_t)a.mask >> shift) };
}

struct tnum tnum_intersect(struct tnum a, struct tnum b)
{
	uint64_t unk = a.mask & b.mask;
	return (struct tnum){ .value = (a.value | b.value) & ~unk, .mask = unk };
}

struct tnum tnum_cast(struct tnum a, unsigned bytes)
{
	if (bytes >= 8)
		return a;
	uint64_t keep = ((uint64_t)1 << (bytes * 8)) - 1;
	return (struct tnum){ .value = a.value & keep, .mask = a.mask & keep };
}

bool tnum_is_const(struct tnum a)
{
	return a.mask == 0;
}

bool tnum_in(struct tnum a, struct tnum b)
{
	/* b may not leave unknown a bit a knows, and must agree with a on
	 * every bit a knows. */
	if (b.mask & ~a.mask)
		return false;
	return ((a.value ^ b.value) & ~a.mask) == 0;
}

bool tnum_contains(struct tnum a, uint64_t v)
{
	return ((v ^ a.value) & ~a.mask) == 0;
}
