/*
 * scalar.h - the verifier's abstract domain for 64-bit scalars: known
 * bits (a tristate number) plus signed and unsigned bounds, each for the
 * whole register and for its low 32 bits, as the kernel's verifier keeps
 * them.
 *
 * Owns: struct tnum and its arithmetic, struct scalar with the transfer
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

/* A tristate number: bit i is unknown if mask bit i is set, else it is
 * value bit i.  value & mask == 0 always. */
struct tnum {
	uint64_t value;
	uint64_t mask;
};

struct tnum tnum_const(uint64_t v);
struct tnum tnum_unknown(void);
/* The smallest tnum holding every value of [min, max]. */
struct tnum tnum_range(uint64_t min, uint64_t max);
struct tnum tnum_add(struct tnum a, struct tnum b);
struct tnum tnum_sub(struct tnum a, struct tnum b);
struct tnum tnum_and(struct tnum a, struct tnum b);
struct tnum tnum_or(struct tnum a, struct tnum b);
struct tnum tnum_xor(struct tnum a, struct tnum b);
struct tnum tnum_mul(struct tnum a, struct tnum b);
struct tnum tnum_lshift(struct tnum a, unsigned shift);
struct tnum tnum_rshift(struct tnum a, unsigned shift);
/* Arithmetic shift of the low `bits` (32 or 64) bits. */
struct tnum tnum_arshift(struct tnum a, unsigned shift, unsigned bits);
/* Bits known in either (both must describe one value). */
struct tnum tnum_intersect(struct tnum a, struct tnum b);
/* The low `bytes` bytes, upper bits known zero. */
struct tnum tnum_cast(struct tnum a, unsigned bytes);
bool tnum_is_const(struct tnum a);
/* Every value b describes is one a describes. */
bool tnum_in(struct tnum a, struct tnum b);
/* Whether the concrete value v is one a describes. */
bool tnum_contains(struct tnum a, uint64_t v);

/* A 64-bit scalar.  Invariant after scalar_sync(): every field is as
 * tight as the others allow and the 32-bit bounds describe the low half. */
struct scalar {
	struct tnum var;
	int64_t smin, smax;
	uint64_t umin, umax;
	int32_t s32_min, s32_max;
	uint32_t u32_min, u32_max;
};

void scalar_known(struct scalar *s, uint64_t v);
void scalar_unknown(struct scalar *s);
/* Unknown value of `bytes` bytes (1, 2, 4, 8) zero-extended: a load. */
void scalar_unknown_size(struct scalar *s, unsigned bytes);
/* Unknown value of `bytes` bytes sign-extended to 64 bits: a signed load. */
void scalar_unknown_signed(struct scalar *s, unsigned bytes);
bool scalar_is_const(const struct scalar *s);
/* Tightens every field from the others (the kernel's reg_bounds_sync);
 * returns false if no value satisfies them all (an impossible state). */
bool scalar_sync(struct scalar *s);
/* Whether the concrete v is described by s (for tests and fuzzing). */
bool scalar_contains(const struct scalar *s, uint64_t v);

/* dst = dst OP src, OP the BPF ALU operation in the opcode's high nibble
 * (0x00 add, 0x10 sub, 0x20 mul, 0x30 div, 0x40 or, 0x50 and, 0x60 lsh,
 * 0x70 rsh, 0x80 neg, 0x90 mod, 0xa0 xor, 0xb0 mov, 0xc0 arsh); alu64
 * false for the 32-bit class, whose result is zero-extended.  `off` is
 * the instruction's offset field (1: signed div/mod; 8/16/32 with mov:
 * sign-extending move).  Division by zero follows the ISA (x/0 = 0,
 * x%0 = x).  Shift amounts are masked as the ISA masks them. */
void scalar_alu(struct scalar *dst, const struct scalar *src, uint8_t op, bool alu64, int16_t off);
/* Byte swap (0xd0): to_le/to_be (src_bit 0/1 of the opcode) on the ALU
 * class, or unconditional bswap on the ALU64 class, of `bits` 16/32/64. */
void scalar_endian(struct scalar *dst, bool alu64_class, bool to_be, unsigned bits);
/* Zero-extends the low 32 bits into the whole register. */
void scalar_zext32(struct scalar *s);

/* Conditional jumps: `op` is the jump operation in the opcode's high
 * nibble (0x10 jeq, 0x20 jgt, 0x30 jge, 0x40 jset, 0x50 jne, 0x60 jsgt,
 * 0x70 jsge, 0xa0 jlt, 0xb0 jle, 0xc0 jslt, 0xd0 jsle), comparing the
 * low 32 bits when is32.  Returns 1 if `a op b` holds for every value
 * pair, 0 if for none, -1 if it depends. */
int scalar_branch_taken(const struct scalar *a, const struct scalar *b, uint8_t op, bool is32);
/* Narrows a and b to the values for which `a op b` holds (for the
 * branch not taken, pass the negated op).  Returns false if no pair
 * satisfies it.  JSET narrows known bits only where sound. */
bool scalar_refine(struct scalar *a, struct scalar *b, uint8_t op, bool is32);
/* The op testing the opposite condition (jeq <-> jne, jgt <-> jle, ...).
 * jset's opposite, "(a & b) == 0", has no encoding in the ISA; it is
 * JMP_JSET_NOT here (0xe0, unused by jumps), accepted by the functions
 * above like any other op. */
#define JMP_JSET_NOT 0xe0
uint8_t jmp_negate(uint8_t op);
/* The op that holds for (b, a) when op holds for (a, b). */
uint8_t jmp_swap(uint8_t op);

/* Pruning: every value cur describes is one old describes. */
bool scalar_within(const struct scalar *old, const struct scalar *cur);
/* The kernel's log form, e.g. "42", "scalar(umax=255,var_off=(0x0; 0xff))";
 * returns the number of characters written (snprintf-like). */
int scalar_format(const struct scalar *s, char *buf, size_t size);

#endif
