/*
 * tnum.c - tristate numbers: a 64-bit value in which every bit is either
 * known (0 or 1) or unknown.  The representation is a pair (value, mask):
 * a set mask bit marks an unknown bit, and value holds the known bits
 * (value & mask is always 0).  A tnum stands for the set of every 64-bit
 * number that agrees with value on the bits outside mask.
 *
 * Owns: the operations on that set representation too long to be inline
 * in scalar.h (multiplication, arithmetic shift); the one-line ones are
 * there, where the scalar domain's every instruction calls them.  Every
 * operation over-approximates: for any members x of a and y of b, x OP y
 * is a member of the result.
 */
#include "verifier/scalar.h"

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
