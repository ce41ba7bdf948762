/*
 * unsafe_prog.c - the generator of unsafe_prog.h: snippets that each do
 * something plausible and, with some probability, get it slightly wrong.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "randprog.h" /* its splitmix64 random numbers only */
#include "unsafe_prog.h"

/* Patterns that once hit verifier rules, kept switchable (1 leaves them
 * out).  Both read stack bytes a program may not have written, which the
 * verifier (like the kernel's, for a privileged loader) now allows:
 *   UP_AVOID_BUG_HELPER_VARSIZE_INIT: a helper writing a variable number of
 *   bytes to the stack (bpf_probe_read_kernel with r2 = x & 15) followed by
 *   a read of those bytes. */
#ifndef UP_AVOID_BUG_HELPER_VARSIZE_INIT
#define UP_AVOID_BUG_HELPER_VARSIZE_INIT 0
#endif
/*   UP_AVOID_BUG_VAROFF_STACK_INIT: a variable-offset stack write followed
 *   by a read of bytes it may not have written (1: initialise the whole
 *   area a chain's stack offsets can reach first). */
#ifndef UP_AVOID_BUG_VAROFF_STACK_INIT
#define UP_AVOID_BUG_VAROFF_STACK_INIT 0
#endif
#define UP_MAX_SUBS 3u

/* Kinds the generator believes registers hold. */
enum up_kind {
	UK_NONE, UK_SCALAR, UK_BASE, UK_PKT, UK_PKT_END, UK_VAL, UK_VAL_OR_NULL, UK_STACK, UK_OTHER,
};

struct up_gen {
	struct uprog *p;
	struct randprog_rng rng;
	uint8_t kind[11];
	uint32_t written;      /* 8-byte stack slots fp-8*(i+1) believed written (bits 0..31) */
	unsigned budget;       /* snippets left */
	unsigned depth;        /* nesting of blocks */
	unsigned bad;          /* percent: chance that a snippet makes a mistake */
	bool in_sub;           /* generating a subprogram (r6.. are not set up) */
	bool in_loop;          /* no helper calls, no r5 */
	uint16_t reserved;     /* registers temporaries must not take (loop counter, walk pointer) */
	bool full;
	/* calls to subprograms, patched once they are placed */
	uint32_t call_pc[32];
	uint8_t call_sub[32];
	unsigned ncalls;
	unsigned want_subs;
};

#define UP_MOV_IMM(g, d, i) up_emit(g, 0xb7, d, 0, 0, i)
#define UP_MOV_REG(g, d, s) up_emit(g, 0xbf, d, s, 0, 0)
#define UP_ADD_IMM(g, d, i) up_emit(g, 0x07, d, 0, 0, i)
#define UP_CALL(g, id) up_emit(g, 0x85, 0, 0, 0, id)

static uint32_t up_below(struct up_gen *g, uint32_t n)
{
	return randprog_below(&g->rng, n);
}

static bool up_chance(struct up_gen *g, uint32_t percent)
{
	return randprog_chance(&g->rng, percent);
}

/* A mistake in this snippet? */
static bool up_bad(struct up_gen *g)
{
	return up_chance(g, g->bad);
}

static size_t up_emit(struct up_gen *g, uint8_t op, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	struct uprog *p = g->p;
	/* room for the snippet's remainder and the epilogues: stop early */
	if (p->count + 40 >= UP_MAX_INSNS) {
		g->full = true;
		if (p->count + 4 >= UP_MAX_INSNS) {
			p->overflow = true; /* the harness skips such programs */
			return p->count - 1;
		}
	}
	p->insns[p->count] = (bpfvm_insn){ .opcode = op, .dst = dst, .src = src, .off = off, .imm = imm };
	return p->count++;
}

static void up_lddw(struct up_gen *g, uint8_t dst, uint8_t src, uint64_t v)
{
	if (g->p->count + 6 >= UP_MAX_INSNS)
		return;
	up_emit(g, 0x18, dst, src, 0, (int32_t)(uint32_t)v);
	up_emit(g, 0x00, 0, 0, 0, (int32_t)(uint32_t)(v >> 32));
}

static const uint8_t up_size_code[9] = { 0, 0x10, 0x08, 0, 0x00, 0, 0, 0, 0x18 };
static unsigned up_rand_size(struct up_gen *g)
{
	static const unsigned s[4] = { 1, 2, 4, 8 };
	return s[up_below(g, 4)];
}

static void up_ldx(struct up_gen *g, uint8_t dst, uint8_t src, int16_t off, unsigned size)
{
	up_emit(g, (uint8_t)(0x61 | up_size_code[size]), dst, src, off, 0);
	g->kind[dst] = UK_SCALAR;
}

static void up_stx(struct up_gen *g, uint8_t dst, uint8_t src, int16_t off, unsigned size)
{
	up_emit(g, (uint8_t)(0x63 | up_size_code[size]), dst, src, off, 0);
}

static void up_st(struct up_gen *g, uint8_t dst, int16_t off, unsigned size, int32_t imm)
{
	up_emit(g, (uint8_t)(0x62 | up_size_code[size]), dst, 0, off, imm);
}

/* A random interesting constant. */
static int32_t up_imm(struct up_gen *g)
{
	switch (up_below(g, 8)) {
	case 0: return (int32_t)up_below(g, 4);
	case 1: return (int32_t)up_below(g, 64);
	case 2: return -(int32_t)up_below(g, 64) - 1;
	case 3: return (int32_t)(1u << up_below(g, 31));
	case 4: return (int32_t)(0xffu << (8 * up_below(g, 3)));
	case 5: return INT32_MAX - (int32_t)up_below(g, 3);
	case 6: return INT32_MIN + (int32_t)up_below(g, 3);
	default: return (int32_t)(uint32_t)randprog_rand(&g->rng);
	}
}

/* A register the generator believes is a scalar, or -1. */
static int up_pick(struct up_gen *g, uint8_t kind, bool temps_only)
{
	int cand[11], n = 0;
	for (int r = temps_only ? 0 : 0; r <= (temps_only ? 5 : 9); r++)
		if (g->kind[r] == kind && !(g->reserved >> r & 1))
			cand[n++] = r;
	return n ? cand[up_below(g, (uint32_t)n)] : -1;
}

/* A temporary r0..r5 other than the reserved ones and those in `avoid`. */
static uint8_t up_temp_not(struct up_gen *g, uint16_t avoid)
{
	uint8_t cand[6];
	unsigned n = 0;
	for (uint8_t r = 0; r <= 5; r++)
		if (!((g->reserved | avoid) >> r & 1))
			cand[n++] = r;
	return n ? cand[up_below(g, n)] : 0;
}

static uint8_t up_temp(struct up_gen *g)
{
	return up_temp_not(g, 0);
}

/* A register holding a scalar: an existing one, or a fresh load. */
static uint8_t up_scalar(struct up_gen *g)
{
	int r = up_pick(g, UK_SCALAR, false);
	if (r >= 0 && !up_chance(g, 30))
		return (uint8_t)r;
	uint8_t d = up_temp(g);
	if (!g->in_sub && g->p->type == UP_RAW && g->p->mem_size >= 8 && up_chance(g, 70)) {
		unsigned size = up_rand_size(g);
		up_ldx(g, d, 6, (int16_t)up_below(g, g->p->mem_size - size + 1), size);
	} else if (!g->in_sub && g->p->type == UP_XDP && up_chance(g, 50)) {
		up_ldx(g, d, 6, up_chance(g, 50) ? 12 : 16, 4); /* ingress_ifindex, rx_queue_index */
	} else if (up_chance(g, 50)) {
		UP_MOV_IMM(g, d, up_imm(g));
	} else {
		up_lddw(g, d, 0, randprog_rand(&g->rng) >> up_below(g, 64));
	}
	g->kind[d] = UK_SCALAR;
	return d;
}

/* ---- snippets ------------------------------------------------------------ */

static const uint8_t up_alu_ops[] = { 0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0 };
static void up_snip_alu(struct up_gen *g)
{
	uint8_t d = up_scalar(g);
	uint8_t op = up_alu_ops[up_below(g, sizeof up_alu_ops)];
	bool is32 = up_chance(g, 30);
	bool reg = up_chance(g, 40) && op != 0x80;
	uint8_t cls = is32 ? 0x04 : 0x07;
	if (reg) {
		uint8_t s = up_scalar(g);
		up_emit(g, (uint8_t)(cls | 0x08 | op), d, s, 0, 0);
	} else {
		int32_t imm = up_imm(g);
		if (op == 0x60 || op == 0x70 || op == 0xc0)
			imm = (int32_t)up_below(g, is32 ? 32 : 64);
		if ((op == 0x30 || op == 0x90) && imm == 0)
			imm = 3;
		up_emit(g, (uint8_t)(cls | op), d, 0, 0, op == 0x80 ? 0 : imm);
	}
	g->kind[d] = UK_SCALAR;
}

/* Raw memory at a constant offset, sometimes just outside. */
static void up_snip_mem_const(struct up_gen *g)
{
	unsigned size = up_rand_size(g);
	uint32_t ms = g->p->mem_size;
	int off = ms >= size ? (int)up_below(g, ms - size + 1) : 0;
	if (up_bad(g))
		off = up_chance(g, 50) ? (int)ms - (int)size + 1 + (int)up_below(g, 4) : -1 - (int)up_below(g, 8);
	uint8_t t = up_temp(g);
	if (up_chance(g, 50)) {
		up_ldx(g, t, 6, (int16_t)off, size);
	} else if (up_chance(g, 50)) {
		up_st(g, 6, (int16_t)off, size, up_imm(g));
	} else {
		uint8_t s = up_scalar(g);
		up_stx(g, 6, s, (int16_t)off, size);
	}
}

/* Bounds a scalar in register s to [0, bound] (or almost), in one of
 * several ways; returns the pc of a pending jump to the block's end, or
 * -1 when bounded by a mask. */
static long up_bound(struct up_gen *g, uint8_t s, int32_t bound, bool bad, uint16_t avoid)
{
	int32_t b = bound;
	if (bad)
		b += 1 + (int32_t)up_below(g, 3);
	switch (up_below(g, 7)) {
	case 0: { /* mask to the power of two below */
		int32_t m = 1;
		while (m * 2 - 1 <= b)
			m *= 2;
		up_emit(g, up_chance(g, 30) ? 0x54 : 0x57, s, 0, 0, bad ? m * 2 - 1 : m - 1);
		return -1;
	}
	case 1: /* if s > b goto end */
		return (long)up_emit(g, up_chance(g, 25) ? 0x26 : 0x25, s, 0, 0, b);
	case 2: /* if s >= b+1 goto end */
		return (long)up_emit(g, up_chance(g, 25) ? 0x36 : 0x35, s, 0, 0, b + 1);
	case 3: /* signed only: if s s> b goto end (enough only when s >= 0 is known) */
		return (long)up_emit(g, 0x65, s, 0, 0, b);
	case 4: { /* bound in a register: if s > rB goto end */
		uint8_t r = up_temp_not(g, (uint16_t)(1u << s | avoid));
		UP_MOV_IMM(g, r, b);
		g->kind[r] = UK_SCALAR;
		return (long)up_emit(g, 0x2d, s, r, 0, 0);
	}
	case 5: /* unsigned narrowing through a 32-bit and */
		up_emit(g, 0x54, s, 0, 0, 0xff);
		return (long)up_emit(g, 0x25, s, 0, 0, b);
	default: /* if b < s goto end (the register on the right) */
		{
			uint8_t r = up_temp_not(g, (uint16_t)(1u << s | avoid));
			UP_MOV_IMM(g, r, b);
			g->kind[r] = UK_SCALAR;
			return (long)up_emit(g, 0xad, r, s, 0, 0);
		}
	}
}

static void up_patch(struct up_gen *g, long jpc)
{
	if (jpc >= 0)
		g->p->insns[jpc].off = (int16_t)(g->p->count - (size_t)jpc - 1);
}

/* A variable offset into raw memory, a map value or the packet: load an
 * index, bound it, add it to a copy of the pointer, access. */
static void up_var_access(struct up_gen *g, uint8_t base, uint32_t avail)
{
	unsigned size = up_rand_size(g);
	if (avail < size)
		avail = size;
	bool bad = up_bad(g);
	uint8_t s = up_scalar(g);
	uint8_t t = up_temp_not(g, (uint16_t)(1u << s | 1u << base));
	bool unbounded = bad && up_chance(g, 25);
	long j = unbounded ? -1 : up_bound(g, s, (int32_t)(avail - size), bad && up_chance(g, 60),
	                                    (uint16_t)(1u << t | 1u << base));
	UP_MOV_REG(g, t, base);
	g->kind[t] = g->kind[base];
	up_emit(g, 0x0f, t, s, 0, 0);
	int16_t off = 0;
	if (bad && up_chance(g, 40))
		off = (int16_t)(1 + up_below(g, 4));
	uint8_t d = up_temp(g);
	if (up_chance(g, 60))
		up_ldx(g, d, t, off, size);
	else
		up_st(g, t, off, size, up_imm(g));
	up_patch(g, j);
	g->kind[t] = UK_OTHER;
	g->kind[d] = UK_OTHER;
}

/* A stack slot written or read, at a usual or unusual offset. */
static void up_snip_stack(struct up_gen *g)
{
	unsigned size = up_rand_size(g);
	unsigned slot = up_below(g, 32);
	int off = -8 * (int)(slot + 1) + (int)up_below(g, 8 / size) * (int)size;
	bool bad = up_bad(g);
	if (bad) {
		switch (up_below(g, 4)) {
		case 0: off = -512 - (int)size * (int)up_below(g, 3); break;
		case 1: off = (int)up_below(g, 2) * 8; break;
		case 2: off += 1 + (int)up_below(g, 3); break; /* misaligned */
		default: slot = 32 + up_below(g, 31); off = -8 * (int)(slot + 1); break; /* unwritten */
		}
	}
	if (up_chance(g, 55) || (!bad && !(g->written >> (slot & 31) & 1) && slot < 32)) {
		if (up_chance(g, 50)) {
			up_st(g, 10, (int16_t)off, size, up_imm(g));
		} else {
			int r = up_pick(g, up_chance(g, 30) ? UK_BASE : UK_SCALAR, false);
			uint8_t s = r >= 0 ? (uint8_t)r : up_scalar(g);
			up_stx(g, 10, s, (int16_t)off, g->kind[s] == UK_SCALAR ? size : 8);
			if (g->kind[s] != UK_SCALAR)
				off &= ~7;
		}
		if (slot < 32 && size == 8 && off == -8 * (int)(slot + 1))
			g->written |= 1u << slot;
	} else {
		up_ldx(g, up_temp(g), 10, (int16_t)off, size);
	}
}

/* Spill a pointer, fill it back (sometimes clobbered or partial), use it. */
static void up_snip_spill(struct up_gen *g)
{
	int src = up_pick(g, UK_BASE, false);
	if (src < 0)
		src = up_pick(g, UK_PKT, false);
	if (src < 0)
		src = 10;
	unsigned slot = up_below(g, 16);
	int off = -8 * (int)(slot + 1);
	up_stx(g, 10, (uint8_t)src, (int16_t)off, 8);
	bool bad = up_bad(g);
	if (bad && up_chance(g, 50))
		up_st(g, 10, (int16_t)(off + (int)up_below(g, 8)), 1, up_imm(g));
	uint8_t d = up_temp(g);
	if (bad && up_chance(g, 50))
		up_ldx(g, d, 10, (int16_t)off, 4);
	else
		up_ldx(g, d, 10, (int16_t)off, 8);
	g->written |= 1u << slot;
	uint32_t avail = src == 10 ? 0 : (g->p->type == UP_RAW ? g->p->mem_size : 0);
	if (src == 6 && g->p->type == UP_XDP)
		avail = 8;
	if (src == 10) {
		up_st(g, d, (int16_t)(off + 8 * (int)up_below(g, 2) - 8), 8, up_imm(g));
	} else if (avail >= 4 && src != 7) {
		up_ldx(g, up_temp(g) == d ? 0 : up_temp(g), d, (int16_t)up_below(g, avail - 3) & ~3, 4);
	}
	g->kind[d] = UK_OTHER;
}

static void up_gen_block(struct up_gen *g, unsigned n);
/* XDP: a packet range check and accesses under it. */
static void up_snip_pkt(struct up_gen *g)
{
	uint32_t k = 1 + up_below(g, 64);
	bool bad = up_bad(g);
	uint8_t a = 2, e = 3;
	UP_MOV_REG(g, a, 7);
	UP_MOV_REG(g, e, 7);
	UP_ADD_IMM(g, e, (int32_t)k);
	long j;
	switch (up_below(g, 4)) {
	case 0: j = (long)up_emit(g, 0x2d, e, 8, 0, 0); break;          /* if e > end goto out */
	case 1: j = (long)up_emit(g, 0xad, 8, e, 0, 0); break;          /* if end < e goto out */
	case 2: j = (long)up_emit(g, bad && up_chance(g, 50) ? 0x3d : 0x2d, e, 8, 0, 0); break;
	default: j = (long)up_emit(g, 0xbd, e, 8, 1, 0);                /* if e <= end goto +1 */
		up_emit(g, 0x05, 0, 0, 0, 0);                              /* ja out (patched) */
		j = (long)g->p->count - 1;
		break;
	}
	g->kind[a] = UK_PKT;
	g->kind[e] = UK_PKT;
	unsigned n = 1 + up_below(g, 3);
	for (unsigned i = 0; i < n; i++) {
		unsigned size = up_rand_size(g);
		while (size > k)
			size /= 2;
		int off = (int)up_below(g, k - size + 1);
		if (bad && up_chance(g, 50))
			off = (int)k - (int)size + 1 + (int)up_below(g, 2);
		uint8_t d = up_chance(g, 50) ? 0 : 4;
		if (up_chance(g, 60))
			up_ldx(g, d, a, (int16_t)off, size);
		else
			up_st(g, a, (int16_t)off, size, up_imm(g));
	}
	if (up_chance(g, 30) && k >= 2)
		up_var_access(g, a, k);
	up_patch(g, j);
	g->kind[a] = g->kind[e] = UK_OTHER;
	g->kind[0] = g->kind[4] = UK_OTHER;
	g->kind[1] = UK_OTHER;
}

/* key on the stack at fp-16 (size bytes), then r2 = fp-16 */
static void up_key(struct up_gen *g, unsigned size, bool bad)
{
	if (!(bad && up_chance(g, 40))) {
		up_st(g, 10, -16, 4, (int32_t)up_below(g, 6));
		if (size > 4 && !(bad && up_chance(g, 50)))
			up_st(g, 10, -12, 4, 0);
	}
	UP_MOV_REG(g, 2, 10);
	UP_ADD_IMM(g, 2, bad && up_chance(g, 30) ? -12 : -16);
}

/* Map lookup into r9, a null check, accesses to the value. */
static void up_snip_lookup(struct up_gen *g)
{
	bool bad = up_bad(g);
	unsigned m = up_chance(g, 60) ? UP_MAP_ARRAY : UP_MAP_HASH;
	if (bad && up_chance(g, 15))
		m = UP_MAP_RINGBUF;
	uint32_t vs = m == UP_MAP_ARRAY ? UP_ARRAY_VALUE : UP_HASH_VALUE;
	up_key(g, m == UP_MAP_HASH ? UP_HASH_KEY : UP_ARRAY_KEY, bad);
	up_lddw(g, 1, 1, m);
	UP_CALL(g, UP_H_LOOKUP);
	for (int r = 0; r <= 5; r++)
		g->kind[r] = UK_NONE;
	UP_MOV_REG(g, 9, 0);
	g->kind[9] = UK_VAL_OR_NULL;
	long j = -1;
	if (!(bad && up_chance(g, 30))) {
		uint8_t c = up_chance(g, 50) ? 9 : 0;
		if (bad && up_chance(g, 30))
			j = (long)up_emit(g, 0x55, c, 0, 0, 0); /* inverted: if c != 0 goto out */
		else
			j = (long)up_emit(g, 0x15, c, 0, 0, 0); /* if c == 0 goto out */
	}
	g->kind[9] = UK_VAL;
	unsigned n = 1 + up_below(g, 3);
	for (unsigned i = 0; i < n; i++) {
		if (up_chance(g, 25)) {
			up_var_access(g, 9, vs);
			continue;
		}
		unsigned size = up_rand_size(g);
		int off = (int)up_below(g, vs - size + 1);
		if (bad && up_chance(g, 50))
			off = up_chance(g, 70) ? (int)vs - (int)size + 1 + (int)up_below(g, 4) : -(int)size;
		if (up_chance(g, 50))
			up_ldx(g, up_temp(g), 9, (int16_t)off, size);
		else if (up_chance(g, 50))
			up_st(g, 9, (int16_t)off, size, up_imm(g));
		else
			up_stx(g, 9, up_scalar(g), (int16_t)off, size);
	}
	up_patch(g, j);
	g->kind[9] = UK_VAL_OR_NULL;
	if (j >= 0 && up_chance(g, 50)) {
		/* keep r9 usable afterwards: null it on the other path, as a scalar 0 */
		g->kind[9] = UK_OTHER;
	}
}

/* Update an element from a stack value. */
static void up_snip_update(struct up_gen *g)
{
	bool bad = up_bad(g);
	unsigned m = up_chance(g, 50) ? UP_MAP_ARRAY : UP_MAP_HASH;
	uint32_t vs = m == UP_MAP_ARRAY ? UP_ARRAY_VALUE : UP_HASH_VALUE;
	/* value at fp-48 .. */
	unsigned words = (vs + 3) / 4;
	if (bad && up_chance(g, 50))
		words--;
	for (unsigned i = 0; i < words; i++)
		up_st(g, 10, (int16_t)(-48 + 4 * (int)i), 4, up_imm(g));
	up_key(g, m == UP_MAP_HASH ? UP_HASH_KEY : UP_ARRAY_KEY, bad && up_chance(g, 50));
	UP_MOV_REG(g, 3, 10);
	UP_ADD_IMM(g, 3, -48);
	UP_MOV_IMM(g, 4, 0);
	up_lddw(g, 1, 1, m);
	UP_CALL(g, UP_H_UPDATE);
	for (int r = 0; r <= 5; r++)
		g->kind[r] = UK_NONE;
	g->kind[0] = UK_SCALAR;
}

/* Ringbuf reserve, writes, submit or discard. */
static void up_snip_ringbuf(struct up_gen *g)
{
	bool bad = up_bad(g);
	int32_t size = 8 * (1 + (int32_t)up_below(g, 4));
	up_lddw(g, 1, 1, bad && up_chance(g, 10) ? UP_MAP_ARRAY : UP_MAP_RINGBUF);
	if (bad && up_chance(g, 10)) {
		up_ldx(g, 2, 10, -8, 4);
	} else {
		UP_MOV_IMM(g, 2, size);
	}
	UP_MOV_IMM(g, 3, 0);
	UP_CALL(g, UP_H_RB_RESERVE);
	for (int r = 0; r <= 5; r++)
		g->kind[r] = UK_NONE;
	uint8_t keep = up_chance(g, 50) ? 9 : 0;
	if (keep == 9)
		UP_MOV_REG(g, 9, 0);
	long j = -1;
	if (!(bad && up_chance(g, 25)))
		j = (long)up_emit(g, 0x15, keep, 0, 0, 0);
	unsigned n = 1 + up_below(g, 3);
	for (unsigned i = 0; i < n; i++) {
		unsigned sz = up_rand_size(g);
		int off = (int)up_below(g, (uint32_t)size - sz + 1);
		if (bad && up_chance(g, 40))
			off = size - (int)sz + 1 + (int)up_below(g, 8);
		if (up_chance(g, 60))
			up_st(g, keep, (int16_t)off, sz, up_imm(g));
		else
			up_ldx(g, keep == 0 ? 4 : 0, keep, (int16_t)off, sz); /* reads of the record: uninit in the kernel? */
	}
	if (bad && up_chance(g, 25)) {
		/* leaked, or released only on one path */
		if (up_chance(g, 50)) {
			uint8_t s = up_scalar(g);
			long k = (long)up_emit(g, 0x55, s, 0, 0, up_imm(g));
			UP_MOV_REG(g, 1, keep);
			UP_MOV_IMM(g, 2, 0);
			UP_CALL(g, UP_H_RB_SUBMIT);
			up_patch(g, k);
		}
	} else {
		UP_MOV_REG(g, 1, keep);
		UP_MOV_IMM(g, 2, 0);
		UP_CALL(g, up_chance(g, 50) ? UP_H_RB_SUBMIT : UP_H_RB_DISCARD);
		if (bad && up_chance(g, 40)) {
			if (up_chance(g, 50)) {
				up_st(g, keep == 9 ? 9 : 6, 0, 8, 1); /* use after submit */
			} else {
				UP_MOV_REG(g, 1, keep == 9 ? 9 : 0);
				UP_MOV_IMM(g, 2, 0);
				UP_CALL(g, UP_H_RB_DISCARD); /* twice */
			}
		}
	}
	up_patch(g, j);
	for (int r = 0; r <= 5; r++)
		g->kind[r] = UK_NONE;
	g->kind[9] = UK_OTHER;
}

/* A helper with a stack buffer, or without arguments. */
static void up_snip_helper(struct up_gen *g)
{
	bool bad = up_bad(g);
	switch (up_below(g, 4)) {
	case 0:
		UP_CALL(g, UP_H_KTIME);
		g->p->nondet = true;
		break;
	case 1:
		UP_CALL(g, UP_H_PRANDOM);
		g->p->nondet = true;
		break;
	case 2: { /* trace_printk(fp-off, size) */
		unsigned words = 1 + up_below(g, 4);
		int base = -8 * (int)(words + 8);
		for (unsigned i = 0; i < words; i++)
			up_st(g, 10, (int16_t)(base + 8 * (int)i), 8, i + 1 == words ? 0 : 0x41424344);
		int32_t size = 8 * (int32_t)words;
		if (bad)
			size += up_chance(g, 50) ? 1 + (int32_t)up_below(g, 8) : 0;
		UP_MOV_REG(g, 1, 10);
		UP_ADD_IMM(g, 1, base);
		if (bad && up_chance(g, 30)) {
			uint8_t s = up_scalar(g);
			UP_MOV_REG(g, 2, s);
			if (up_chance(g, 50))
				up_emit(g, 0x57, 2, 0, 0, 31);
		} else {
			UP_MOV_IMM(g, 2, size);
		}
		UP_CALL(g, UP_H_PRINTK);
		break;
	}
	default: { /* probe_read_kernel(fp-off, size, src) */
		int32_t size = 1 + (int32_t)up_below(g, 32);
		int base = -8 * (int)(1 + up_below(g, 40));
		if (bad && up_chance(g, 50))
			base = -(int)up_below(g, 16) - 1 - (up_chance(g, 50) ? 500 : 0);
		if (-base < size && !(bad && up_chance(g, 50)))
			size = -base;
		int r = up_pick(g, UK_BASE, false);
		if (up_chance(g, 50))
			up_lddw(g, 3, 0, randprog_rand(&g->rng));
		else
			UP_MOV_REG(g, 3, r >= 0 ? (uint8_t)r : 10);
		UP_MOV_REG(g, 1, 10);
		UP_ADD_IMM(g, 1, base);
		bool var = bad && up_chance(g, 30);
		if (var) {
			uint8_t s = up_scalar(g);
			UP_MOV_REG(g, 2, s);
			up_emit(g, 0x57, 2, 0, 0, 15);
		} else {
			UP_MOV_IMM(g, 2, size);
		}
		UP_CALL(g, UP_H_PROBE_READ);
		/* read back what it wrote */
		if (size >= 8 && base <= -8 && (base & 7) == 0 && !(var && UP_AVOID_BUG_HELPER_VARSIZE_INIT))
			up_ldx(g, 0, 10, (int16_t)base, 8);
		break;
	}
	}
	for (int r = 1; r <= 5; r++)
		g->kind[r] = UK_NONE;
	g->kind[0] = UK_SCALAR;
}

/* A bounded loop: r5 counts down; sometimes walking a pointer. */
static void up_snip_loop(struct up_gen *g)
{
	bool bad = up_bad(g);
	int32_t n = 1 + (int32_t)up_below(g, 12);
	bool walk = g->p->type == UP_RAW && !g->in_sub && g->p->mem_size > 0 && up_chance(g, 50);
	unsigned size = 1;
	if (walk) {
		size = up_rand_size(g);
		while (size > g->p->mem_size)
			size /= 2;
		n = (int32_t)(g->p->mem_size / size);
		if (n > 12)
			n = 1 + (int32_t)up_below(g, 12);
		if (bad)
			n += 1;
		UP_MOV_REG(g, 4, 6);
		g->kind[4] = UK_OTHER;
	}
	if (bad && !walk && up_chance(g, 30)) {
		up_ldx(g, 5, 10, -8, 4);   /* unbounded (or uninitialised) */
		if (up_chance(g, 50))
			up_emit(g, 0x57, 5, 0, 0, 7);
	} else {
		UP_MOV_IMM(g, 5, n);
	}
	size_t head = g->p->count;
	bool saved = g->in_loop;
	uint16_t saved_res = g->reserved;
	g->in_loop = true;
	g->reserved |= (uint16_t)(1u << 5 | (walk ? 1u << 4 : 0));
	if (walk) {
		if (up_chance(g, 60))
			up_ldx(g, 0, 4, 0, size);
		else
			up_st(g, 4, 0, size, up_imm(g));
		UP_ADD_IMM(g, 4, (int32_t)size);
	}
	unsigned body = up_below(g, 3);
	uint8_t k4 = g->kind[4];
	up_gen_block(g, body);
	g->kind[4] = k4;
	g->in_loop = saved;
	g->reserved = saved_res;
	if (bad && up_chance(g, 20))
		UP_ADD_IMM(g, 5, 0);      /* never ends */
	else
		UP_ADD_IMM(g, 5, -1);
	size_t jpc;
	switch (up_below(g, 3)) {
	case 0: jpc = up_emit(g, 0x55, 5, 0, 0, 0); break;  /* if r5 != 0 */
	case 1: jpc = up_emit(g, 0x65, 5, 0, 0, 0); break;  /* if r5 s> 0 */
	default: jpc = up_emit(g, 0x56, 5, 0, 0, 0); break; /* if w5 != 0 */
	}
	if (!g->full) {
		g->p->insns[jpc].off = (int16_t)((long)head - (long)jpc - 1);
		g->p->has_loop = true;
	} else {
		g->p->insns[jpc] = (bpfvm_insn){ .opcode = 0xb7, .dst = 0 };
	}
	for (int r = 0; r <= 5; r++)
		if (g->kind[r] != UK_NONE)
			g->kind[r] = UK_OTHER;
}

/* A loop whose exit and accesses hang on values pruning must keep
 * precise (raw memory, main program): r5 counts up by a step while below
 * a bound and indexes the memory each turn; sometimes the counter is
 * spilled to fp-16 in the loop, or what the loop loads is kept in a
 * register, and after the loop the spilled counter, or the loaded value
 * masked to the last valid offset, indexes the memory again.  A bad one's
 * bound (or mask) lets the last turn, or the access after, reach past. */
static void up_snip_loop_index(struct up_gen *g)
{
	bool bad = up_bad(g);
	unsigned size = up_rand_size(g);
	while (size > g->p->mem_size)
		size /= 2;
	int32_t last = (int32_t)(g->p->mem_size - size); /* the last valid offset */
	int32_t step = 1 + (int32_t)up_below(g, 3);
	int32_t limit = last + 1 + (bad ? 1 + (int32_t)up_below(g, (uint32_t)step + 1) : 0);
	bool spill = up_chance(g, 50), keep = !spill && up_chance(g, 50);
	uint16_t saved_res = g->reserved;
	g->reserved |= 1u << 5;
	uint8_t k = keep ? up_temp_not(g, 1u << 5) : 0; /* what the loop loads */
	g->reserved |= (uint16_t)(1u << k);
	uint8_t t = up_temp_not(g, 0), r = up_temp_not(g, (uint16_t)(1u << t));
	UP_MOV_IMM(g, 5, 0);
	UP_MOV_IMM(g, k, 0);
	size_t head = g->p->count;
	UP_MOV_REG(g, t, 6);
	up_emit(g, 0x0f, t, 5, 0, 0);
	if (keep || up_chance(g, 60))
		up_ldx(g, k, t, 0, size);
	else
		up_st(g, t, 0, size, up_imm(g));
	if (spill)
		up_stx(g, 10, 5, -16, 8);
	UP_ADD_IMM(g, 5, step);
	size_t jpc;
	switch (up_below(g, 3)) {
	case 0: jpc = up_emit(g, 0xa5, 5, 0, 0, limit); break;  /* if r5 < limit */
	case 1: jpc = up_emit(g, 0xa6, 5, 0, 0, limit); break;  /* if w5 < limit */
	default:                                                /* if r5 < r (= limit) */
		UP_MOV_IMM(g, r, limit);
		jpc = up_emit(g, 0xad, 5, r, 0, 0);
		break;
	}
	g->reserved = saved_res;
	for (int i = 0; i <= 5; i++)
		g->kind[i] = UK_OTHER;
	if (g->full) {
		g->p->insns[jpc] = (bpfvm_insn){ .opcode = 0xb7, .dst = 0 };
		g->kind[0] = UK_SCALAR;
		return;
	}
	g->p->insns[jpc].off = (int16_t)((long)head - (long)jpc - 1);
	g->p->has_loop = true;
	if (spill) {
		up_ldx(g, k, 10, -16, 8);
		g->written |= 1u << 1;
	} else if (keep) {
		int32_t m = 1;
		while (m * 2 - 1 <= last)
			m *= 2;
		up_emit(g, 0x57, k, 0, 0, bad ? m * 2 - 1 : m - 1);
	}
	if (spill || keep) {
		UP_MOV_REG(g, t, 6);
		up_emit(g, 0x0f, t, k, 0, 0);
		up_ldx(g, 0, t, 0, size);
		g->kind[t] = UK_OTHER;
		if (k != 0)
			g->kind[k] = UK_OTHER;
	}
	g->kind[0] = UK_SCALAR;
}

/* A call to a subprogram: r1 = a stack pointer, r2 = a scalar. */
static void up_snip_call(struct up_gen *g)
{
	if (g->in_sub || g->ncalls >= 32 || g->want_subs == 0)
		return;
	bool bad = up_bad(g);
	int off = -8 * (int)(1 + up_below(g, 8)) - 64;
	if (!(bad && up_chance(g, 40)))
		up_st(g, 10, (int16_t)off, 8, up_imm(g));
	UP_MOV_REG(g, 1, 10);
	UP_ADD_IMM(g, 1, off);
	uint8_t s = up_scalar(g);
	if (s != 2)
		UP_MOV_REG(g, 2, s);
	g->call_pc[g->ncalls] = (uint32_t)up_emit(g, 0x85, 0, 1, 0, -1);
	g->call_sub[g->ncalls++] = (uint8_t)up_below(g, g->want_subs);
	for (int r = 0; r <= 5; r++)
		g->kind[r] = UK_NONE;
	g->kind[0] = UK_SCALAR;
	if (up_chance(g, 50))
		up_ldx(g, up_temp(g), 10, (int16_t)off, 8);
}

/* Unbounded or almost bounded arithmetic on a pointer, then an access. */
static void up_snip_ptr_arith(struct up_gen *g)
{
	uint8_t base = 6;
	uint32_t avail = g->p->mem_size;
	if (g->p->type == UP_XDP) {
		base = 10;
		avail = 64;
	}
	if (g->in_sub) {
		base = 10;
		avail = 64;
	}
	if (base == 10) {
		/* initialise fp-64..fp-1 once, so that stack reads are defined */
		for (int o = -64; o < 0; o += 8)
			up_st(g, 10, (int16_t)o, 8, 0);
		g->written |= 0xff;
		uint8_t s = up_scalar(g);
		uint8_t t = up_temp_not(g, (uint16_t)(1u << s));
		bool bad = up_bad(g);
		long j = bad && up_chance(g, 25) ? -1 : up_bound(g, s, 63 - 7, bad, (uint16_t)(1u << t));
		UP_MOV_REG(g, t, 10);
		UP_ADD_IMM(g, t, -64);
		up_emit(g, 0x0f, t, s, 0, 0);
		uint8_t d = up_temp(g);
		if (up_chance(g, 50))
			up_ldx(g, d, t, 0, up_chance(g, 50) ? 8 : 1);
		else
			up_st(g, t, 0, 1, up_imm(g));
		up_patch(g, j);
		g->kind[t] = g->kind[d] = UK_OTHER;
		return;
	}
	if (avail)
		up_var_access(g, base, avail);
}

/* An unknown scalar into a fresh temporary (not in `avoid`). */
static uint8_t up_unknown(struct up_gen *g, uint16_t avoid)
{
	uint8_t d = up_temp_not(g, avoid);
	if (!g->in_sub && g->p->type == UP_RAW && g->p->mem_size >= 1) {
		unsigned size = up_rand_size(g);
		while (size > g->p->mem_size)
			size /= 2;
		up_ldx(g, d, 6, (int16_t)up_below(g, g->p->mem_size - size + 1), size);
		if (size == 1 && up_chance(g, 30))
			up_emit(g, 0xbf, d, d, 8, 0); /* movsx: a signed byte */
	} else if (!g->in_sub && g->p->type == UP_XDP) {
		up_ldx(g, d, 6, up_chance(g, 50) ? 12 : 16, 4);
	} else {
		/* a stack slot holding a loaded value is not possible here: a big constant
		 * through the stack keeps it unknown enough */
		up_st(g, 10, -8, 8, up_imm(g));
		up_ldx(g, d, 10, -8, up_rand_size(g));
		g->written |= 1;
	}
	g->kind[d] = UK_SCALAR;
	return d;
}

/* The ALU ops a chain applies: r = r OP k, width 32 or 64. */
static void up_chain_op(struct up_gen *g, uint8_t r, uint8_t other)
{
	static const uint8_t ops[] = { 0x50, 0x50, 0x50, 0x00, 0x10, 0x20, 0x60, 0x70, 0xc0, 0x40, 0xa0, 0x80, 0x30,
	                               0x90, 0xb0 };
	uint8_t op = ops[up_below(g, sizeof ops)];
	bool is32 = up_chance(g, 35);
	uint8_t cls = is32 ? 0x04 : 0x07;
	if (other != 0xff && up_chance(g, 25) && op != 0x80 && op != 0xb0) {
		up_emit(g, (uint8_t)(cls | 0x08 | op), r, other, 0, 0);
		return;
	}
	int32_t k;
	switch (op) {
	case 0x50: k = up_chance(g, 70) ? (int32_t)((1u << up_below(g, 8)) - 1) : up_imm(g); break;
	case 0x60: case 0x70: case 0xc0: k = (int32_t)up_below(g, is32 ? 32 : 64); break;
	case 0x30: case 0x90: k = 1 + (int32_t)up_below(g, 16); break;
	case 0x20: k = up_chance(g, 80) ? (int32_t)up_below(g, 9) : up_imm(g); break;
	case 0xb0: /* w = w (zero-extends) */
		up_emit(g, 0xbc, r, r, 0, 0);
		return;
	default: k = up_chance(g, 70) ? (int32_t)up_below(g, 33) - 16 : up_imm(g); break;
	}
	up_emit(g, (uint8_t)(cls | op), r, 0, 0, op == 0x80 ? 0 : k);
}

/* An unknown value through a chain of ALU ops, checked (or not quite)
 * against a bound, maybe through a copy or a spill, then used as an offset
 * into memory, the stack or a packet. */
static void up_snip_chain(struct up_gen *g)
{
	uint8_t base;
	uint32_t avail;
	bool raw = g->p->type == UP_RAW && !g->in_sub;
	if (raw && g->p->mem_size >= 1 && up_chance(g, 70)) {
		base = 6;
		avail = g->p->mem_size;
	} else {
		for (int o = UP_AVOID_BUG_VAROFF_STACK_INIT ? -160 : -64; o < 0; o += 8)
			up_st(g, 10, (int16_t)o, 8, 0);
		g->written |= UP_AVOID_BUG_VAROFF_STACK_INIT ? 0xfffff : 0xff;
		base = 10;
		avail = 64;
	}
	uint8_t s = up_unknown(g, 0);
	uint8_t other = 0xff;
	if (up_chance(g, 30)) {
		other = up_unknown(g, (uint16_t)(1u << s));
		up_emit(g, 0x57, other, 0, 0, (int32_t)up_below(g, 16));
	}
	unsigned ops = up_below(g, 4);
	for (unsigned i = 0; i < ops; i++)
		up_chain_op(g, s, other);
	uint16_t avoid = (uint16_t)(1u << s | (other != 0xff ? 1u << other : 0));
	/* the checks: on s or on a copy of it */
	long jumps[3] = { -1, -1, -1 };
	unsigned nj = 0;
	unsigned checks = up_below(g, 3);
	uint8_t c = s;
	if (checks && up_chance(g, 30)) {
		c = up_temp_not(g, avoid);
		UP_MOV_REG(g, c, s);
		g->kind[c] = UK_SCALAR;
		avoid |= (uint16_t)(1u << c);
		if (up_chance(g, 20))
			UP_ADD_IMM(g, up_chance(g, 50) ? c : s, 1); /* the link must break */
	}
	for (unsigned i = 0; i < checks; i++) {
		static const uint8_t conds[] = { 0x20, 0x30, 0xa0, 0xb0, 0x60, 0x70, 0xc0, 0xd0, 0x40, 0x10, 0x50 };
		uint8_t cond = conds[up_below(g, sizeof conds)];
		uint8_t cls = up_chance(g, 30) ? 0x06 : 0x05;
		int32_t k = (int32_t)avail - (int32_t)up_below(g, 9);
		if (up_chance(g, 25))
			k = up_chance(g, 50) ? 0 : -1 - (int32_t)up_below(g, 4);
		if (up_chance(g, 20)) {
			uint8_t r = up_temp_not(g, avoid);
			UP_MOV_IMM(g, r, k);
			g->kind[r] = UK_SCALAR;
			jumps[nj++] = (long)(up_chance(g, 50) ? up_emit(g, (uint8_t)(cls | cond | 0x08), c, r, 0, 0)
			                                        : up_emit(g, (uint8_t)(cls | cond | 0x08), r, c, 0, 0));
		} else {
			jumps[nj++] = (long)up_emit(g, (uint8_t)(cls | cond), c, 0, 0, k);
		}
	}
	if (up_chance(g, 20)) {
		/* through the stack: spill, maybe a narrower fill */
		up_stx(g, 10, s, -72, 8);
		up_ldx(g, s, 10, (int16_t)(up_chance(g, 70) ? -72 : -72 + 4 * (int)up_below(g, 2)),
		       up_chance(g, 70) ? 8 : 4);
	}
	uint8_t t = up_temp_not(g, avoid);
	UP_MOV_REG(g, t, base);
	if (base == 10)
		UP_ADD_IMM(g, t, -64);
	up_emit(g, up_chance(g, 85) ? 0x0f : 0x1f, t, s, 0, 0);
	unsigned size = up_rand_size(g);
	int16_t off = (int16_t)(up_chance(g, 70) ? 0 : (int)up_below(g, 8) - 4);
	uint8_t d = up_temp(g);
	if (up_chance(g, 50))
		up_ldx(g, d, t, off, size);
	else
		up_st(g, t, off, size, up_imm(g));
	for (unsigned i = 0; i < nj; i++)
		up_patch(g, jumps[i]);
	for (int r = 0; r <= 5; r++)
		if (g->kind[r] != UK_NONE)
			g->kind[r] = UK_OTHER;
	if (s > 5)
		g->kind[s] = UK_OTHER;
}

/* A pointer spilled by the caller into the slot it lends to a callee: the
 * callee may overwrite it; the caller then dereferences what it fills. */
static void up_snip_call_spill(struct up_gen *g)
{
	if (g->in_sub || g->ncalls >= 32 || g->want_subs == 0 || g->p->type != UP_RAW || g->p->mem_size < 8)
		return;
	up_stx(g, 10, 6, -80, 8);
	UP_MOV_REG(g, 1, 10);
	UP_ADD_IMM(g, 1, -80);
	UP_MOV_IMM(g, 2, up_imm(g));
	g->call_pc[g->ncalls] = (uint32_t)up_emit(g, 0x85, 0, 1, 0, -1);
	g->call_sub[g->ncalls++] = (uint8_t)up_below(g, g->want_subs);
	for (int r = 0; r <= 5; r++)
		g->kind[r] = UK_NONE;
	g->kind[0] = UK_SCALAR;
	uint8_t d = up_temp(g);
	up_ldx(g, d, 10, -80, 8);
	up_ldx(g, d, d, (int16_t)up_below(g, g->p->mem_size - 7), 8);
}

static void up_snip_branch(struct up_gen *g);
static void up_snippet(struct up_gen *g)
{
	if (g->full)
		return;
	bool raw = g->p->type == UP_RAW, xdp = g->p->type == UP_XDP;
	unsigned k = up_below(g, 100);
	if (g->in_loop) {
		if (k < 30) up_snip_alu(g);
		else if (k < 50 && raw && !g->in_sub) up_snip_mem_const(g);
		else if (k < 70) up_snip_stack(g);
		else if (k < 80 && !g->in_sub) up_snip_ptr_arith(g);
		else if (k < 90) up_snip_chain(g);
		else up_snip_branch(g);
		return;
	}
	if (k < 8) up_snip_alu(g);
	else if (k < 15 && raw && !g->in_sub) up_snip_mem_const(g);
	else if (k < 22 && xdp && !g->in_sub) up_snip_pkt(g);
	else if (k < 28 && !g->in_sub) up_snip_ptr_arith(g);
	else if (k < 40) up_snip_chain(g);
	else if (k < 46) up_snip_stack(g);
	else if (k < 50) up_snip_spill(g);
	else if (k < 58) up_snip_lookup(g);
	else if (k < 61) up_snip_update(g);
	else if (k < 66) up_snip_ringbuf(g);
	else if (k < 72) up_snip_helper(g);
	else if (k < 74) up_snip_loop(g);
	else if (k < 78 && raw && !g->in_sub && g->p->mem_size > 0) up_snip_loop_index(g);
	else if (k < 78) up_snip_loop(g);
	else if (k < 83) up_snip_call(g);
	else if (k < 86) up_snip_call_spill(g);
	else up_snip_branch(g);
}

static void up_gen_block(struct up_gen *g, unsigned n)
{
	for (unsigned i = 0; i < n && g->budget && !g->full; i++) {
		g->budget--;
		up_snippet(g);
	}
}

static const uint8_t up_conds[] = { 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0 };
/* if (cond) { block } [else { block }], on scalars; sometimes an early exit. */
static void up_snip_branch(struct up_gen *g)
{
	if (g->depth >= 3) {
		up_snip_alu(g);
		return;
	}
	uint8_t a = up_scalar(g);
	uint8_t cls = up_chance(g, 30) ? 0x06 : 0x05;
	uint8_t cond = up_conds[up_below(g, sizeof up_conds)];
	size_t j;
	if (up_chance(g, 40)) {
		uint8_t b = up_scalar(g);
		j = up_emit(g, (uint8_t)(cls | cond | 0x08), a, b, 0, 0);
	} else {
		j = up_emit(g, (uint8_t)(cls | cond), a, 0, 0, up_imm(g));
	}
	uint8_t before[11];
	memcpy(before, g->kind, sizeof before);
	uint32_t written = g->written;
	g->depth++;
	if (up_chance(g, 15) && !g->in_loop) {
		UP_MOV_IMM(g, 0, (int32_t)up_below(g, 3));
		up_emit(g, 0x95, 0, 0, 0, 0);
	} else {
		up_gen_block(g, 1 + up_below(g, 3));
	}
	size_t ja = 0;
	bool has_else = up_chance(g, 30) && g->p->insns[g->p->count - 1].opcode != 0x95;
	if (has_else)
		ja = up_emit(g, 0x05, 0, 0, 0, 0);
	up_patch(g, (long)j);
	if (has_else) {
		uint8_t after[11];
		memcpy(after, g->kind, sizeof after);
		memcpy(g->kind, before, sizeof before);
		up_gen_block(g, 1 + up_below(g, 2));
		for (int r = 0; r < 11; r++)
			if (after[r] != g->kind[r])
				g->kind[r] = UK_OTHER;
		up_patch(g, (long)ja);
	} else {
		for (int r = 0; r < 11; r++)
			if (before[r] != g->kind[r])
				g->kind[r] = UK_OTHER;
	}
	g->written &= written;
	g->depth--;
}

/* The end of a function: r0 = a small constant (or, rarely, left as is). */
static void up_epilogue(struct up_gen *g, bool main)
{
	struct uprog *p = g->p;
	if (!up_chance(g, 3 + (g->bad ? 2 : 0)) || g->kind[0] == UK_NONE)
		p->insns[p->count++] = (bpfvm_insn){ .opcode = 0xb7, .dst = 0, .imm = main ? (int32_t)up_below(g, 3) : 1 };
	p->insns[p->count++] = (bpfvm_insn){ .opcode = 0x95 };
}

/* A subprogram: r1 = a stack pointer of the caller, r2 = a scalar. */
static void up_gen_sub(struct up_gen *g)
{
	memset(g->kind, UK_NONE, sizeof g->kind);
	g->kind[1] = UK_STACK;
	g->kind[2] = UK_SCALAR;
	g->kind[10] = UK_STACK;
	g->written = 0;
	g->in_sub = true;
	g->budget = 1 + up_below(g, 4);
	bool bad = up_bad(g);
	/* use the caller's slot through r1 */
	int off = bad ? (up_chance(g, 50) ? 8 : -8 - 8 * (int)up_below(g, 4)) : 0;
	if (up_chance(g, 50))
		up_ldx(g, 0, 1, (int16_t)off, 8);
	else
		up_st(g, 1, (int16_t)off, 8, up_imm(g));
	up_gen_block(g, g->budget);
	up_epilogue(g, false);
}

void uprog_generate(struct uprog *p, uint64_t seed, uint64_t index)
{
	struct up_gen g;
	memset(&g, 0, sizeof g);
	memset(p, 0, sizeof *p);
	g.p = p;
	g.rng = randprog_rng_init(seed ^ 0x5eedf00dULL, index);
	p->type = up_chance(&g, 55) ? UP_RAW : UP_XDP;
	g.bad = 4 + up_below(&g, 10);
	g.want_subs = up_chance(&g, 40) ? 1 + up_below(&g, UP_MAX_SUBS) : 0;
	g.kind[10] = UK_STACK;
	if (p->type == UP_RAW) {
		static const uint32_t sizes[] = { 0, 1, 4, 8, 16, 24, 32, 64, 100, 256 };
		p->mem_size = sizes[up_below(&g, sizeof sizes / sizeof sizes[0])];
		UP_MOV_REG(&g, 6, 1);
		UP_MOV_REG(&g, 7, 2);
		g.kind[6] = UK_BASE;
		g.kind[7] = UK_SCALAR;
		if (p->mem_size >= 8) {
			up_ldx(&g, 8, 6, 0, 8);
		} else {
			UP_MOV_IMM(&g, 8, 0);
			g.kind[8] = UK_SCALAR;
		}
	} else {
		UP_MOV_REG(&g, 6, 1);
		g.kind[6] = UK_BASE;
		up_ldx(&g, 7, 6, 0, 4);
		up_ldx(&g, 8, 6, 4, 4);
		g.kind[7] = UK_PKT;
		g.kind[8] = UK_PKT_END;
	}
	g.budget = 3 + up_below(&g, 10);
	up_gen_block(&g, g.budget);
	up_epilogue(&g, true);
	/* the subprograms, then the calls to them */
	uint32_t start[UP_MAX_SUBS];
	bool called[UP_MAX_SUBS] = { false };
	unsigned used = 0;
	for (unsigned i = 0; i < g.ncalls; i++)
		called[g.call_sub[i]] = true;
	g.full = false;
	for (unsigned s = 0; s < UP_MAX_SUBS; s++) {
		if (!called[s])
			continue; /* an uncalled one would be unreachable */
		start[s] = (uint32_t)p->count;
		up_gen_sub(&g);
		g.full = false;
		used++;
	}
	p->subs = used;
	for (unsigned i = 0; i < g.ncalls; i++) {
		uint32_t pc = g.call_pc[i];
		p->insns[pc].imm = (int32_t)start[g.call_sub[i]] - (int32_t)pc - 1;
	}
}
