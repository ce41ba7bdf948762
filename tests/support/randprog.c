/*
 * randprog.c - the random program generator of randprog.h: the rules it
 * keeps, the epilogue, the self check and the minimisers' edits.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "randprog.h"

/* Opcode pieces (RFC 9669 section 3); local names so this file needs
 * no <linux/bpf.h> and works wherever bpfvm builds. */
enum {
	RP_LD = 0x00, RP_LDX = 0x01, RP_ST = 0x02, RP_STX = 0x03,
	RP_ALU = 0x04, RP_JMP = 0x05, RP_JMP32 = 0x06, RP_ALU64 = 0x07,
	RP_K = 0x00, RP_X = 0x08,
	RP_W = 0x00, RP_H = 0x08, RP_B = 0x10, RP_DW = 0x18,
	RP_IMM = 0x00, RP_MEM = 0x60, RP_MEMSX = 0x80, RP_ATOMIC = 0xc0,
	RP_NEG = 0x80, RP_END = 0xd0, RP_MOV = 0xb0, RP_DIV = 0x30, RP_MOD = 0x90,
	RP_LSH = 0x60, RP_RSH = 0x70, RP_ARSH = 0xc0,
	RP_JA = 0x00, RP_EXIT = 0x90,
	RP_FETCH = 0x01, RP_XCHG = 0xe1, RP_CMPXCHG = 0xf1,
};

struct randprog_gen {
	struct randprog *p;
	struct randprog_rng rng;
	size_t limit;                   /* slots the body may use */
	uint64_t pool[32];              /* values this program has used */
	unsigned npool;
	uint32_t pending[RANDPROG_MAX_BODY];   /* jumps whose target is picked last */
	unsigned npending;
	bool no_target[RANDPROG_MAX_BODY];     /* slots no jump may land on */
};

static uint64_t randprog_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct randprog_rng randprog_rng_init(uint64_t seed, uint64_t index)
{
	struct randprog_rng r = { randprog_mix(seed ^ 0x6a09e667f3bcc909ULL) ^ randprog_mix(index + 1) };
	return r;
}

uint64_t randprog_rand(struct randprog_rng *r)
{
	return randprog_mix(r->state += 0x9e3779b97f4a7c15ULL);
}

uint32_t randprog_below(struct randprog_rng *r, uint32_t n)
{
	return (uint32_t)(((randprog_rand(r) >> 32) * (uint64_t)n) >> 32);
}

bool randprog_chance(struct randprog_rng *r, uint32_t percent)
{
	return randprog_below(r, 100) < percent;
}

static void randprog_remember(struct randprog_gen *g, uint64_t v)
{
	g->pool[g->npool++ % 32] = v;
}

/* Edge values matter most: 0, -1, INT_MIN/INT_MAX of both widths, powers
 * of two and their neighbours, small numbers, and values seen before (so
 * that equality tests and cmpxchg sometimes succeed). */
static uint64_t randprog_value64(struct randprog_gen *g)
{
	struct randprog_rng *r = &g->rng;
	unsigned k = randprog_below(r, 64);
	switch (randprog_below(r, 17)) {
	case 0: return 0;
	case 1: return UINT64_MAX;
	case 2: return 1ULL << 63;
	case 3: return (1ULL << 63) - 1;
	case 4: return 0xffffffff80000000ULL;
	case 5: return 0x80000000ULL;
	case 6: return 0x7fffffffULL;
	case 7: return 0xffffffffULL;
	case 8: return 1ULL << k;
	case 9: return (1ULL << k) - 1;
	case 10: return -(1ULL << k);
	case 11: return (uint64_t)(int64_t)((int)randprog_below(r, 33) - 16);
	case 12:
		if (g->npool)
			return g->pool[randprog_below(r, g->npool < 32 ? g->npool : 32)];
		return 1;
	case 13: return (uint32_t)randprog_rand(r);
	case 14: return (uint64_t)(int64_t)(int32_t)randprog_rand(r);
	default: return randprog_rand(r);
	}
}

/* A 32-bit immediate; used sign-extended by 64-bit operations. */
static int32_t randprog_imm32(struct randprog_gen *g)
{
	struct randprog_rng *r = &g->rng;
	unsigned k = randprog_below(r, 32);
	switch (randprog_below(r, 13)) {
	case 0: return 0;
	case 1: return -1;
	case 2: return INT32_MIN;
	case 3: return INT32_MAX;
	case 4: return (int32_t)(1u << k);
	case 5: return (int32_t)((1u << k) - 1);
	case 6: return (int32_t)-(1u << k);
	case 7: case 8: return (int)randprog_below(r, 33) - 16;
	case 9: case 10:
		if (g->npool)
			return (int32_t)g->pool[randprog_below(r, g->npool < 32 ? g->npool : 32)];
		return 1;
	default: return (int32_t)randprog_rand(r);
	}
}

static uint8_t randprog_reg(struct randprog_gen *g)
{
	return (uint8_t)randprog_below(&g->rng, 10);   /* r0..r9, never r10 */
}

static size_t randprog_emit(struct randprog_gen *g, uint8_t opcode, uint8_t dst, uint8_t src,
                            int16_t off, int32_t imm)
{
	struct randprog *p = g->p;
	bpfvm_insn in = { .opcode = opcode, .dst = dst & 0xf, .src = src & 0xf, .off = off, .imm = imm };
	p->insns[p->count] = in;
	return p->count++;
}

static void randprog_emit_lddw(struct randprog_gen *g, uint8_t dst, uint64_t v)
{
	randprog_emit(g, RP_LD | RP_IMM | RP_DW, dst, 0, 0, (int32_t)(uint32_t)v);
	randprog_emit(g, 0, 0, 0, 0, (int32_t)(uint32_t)(v >> 32));
	randprog_remember(g, v);
}

/* A stack offset (from r10) of an access of `size` bytes inside the body's
 * area, aligned to size as the kernel requires of stack accesses. */
static int16_t randprog_stack_off(struct randprog_gen *g, unsigned size)
{
	unsigned n = g->p->stack_bytes / size;
	/* Favour the lowest few slots so accesses interact with each other. */
	unsigned i = randprog_chance(&g->rng, 50) ? randprog_below(&g->rng, n < 4 ? n : 4)
	                                          : randprog_below(&g->rng, n);
	return (int16_t)(-RANDPROG_RESERVED - (int)g->p->stack_bytes + (int)(i * size));
}

static unsigned randprog_size_code(unsigned size)
{
	return size == 1 ? RP_B : size == 2 ? RP_H : size == 4 ? RP_W : RP_DW;
}

static unsigned randprog_random_size(struct randprog_gen *g)
{
	return 1u << randprog_below(&g->rng, 4);
}

/* Shift counts the verifier accepts: [0, width), edges favoured. */
static int32_t randprog_shift_imm(struct randprog_gen *g, unsigned width)
{
	switch (randprog_below(&g->rng, 6)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return (int32_t)width - 1;
	case 3: return (int32_t)width / 2;
	default: return (int32_t)randprog_below(&g->rng, width);
	}
}

static void randprog_gen_alu(struct randprog_gen *g)
{
	static const uint8_t ops[] = { 0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70,
	                               0x80, 0x90, 0xa0, 0xb0, 0xc0 };
	struct randprog_rng *r = &g->rng;
	bool is64 = randprog_chance(r, 55);
	uint8_t cls = is64 ? RP_ALU64 : RP_ALU;
	uint8_t op = ops[randprog_below(r, sizeof ops)];
	uint8_t dst = randprog_reg(g);
	if (op == RP_NEG) {
		randprog_emit(g, cls | RP_NEG | RP_K, dst, 0, 0, 0);
		return;
	}
	/* sdiv/smod (v4) share the div/mod opcodes with off = 1. */
	int16_t off = (op == RP_DIV || op == RP_MOD) ? (int16_t)randprog_below(r, 2) : 0;
	if (randprog_chance(r, 50)) {
		randprog_emit(g, cls | op | RP_X, dst, randprog_reg(g), off, 0);
		return;
	}
	int32_t imm;
	if (op == RP_LSH || op == RP_RSH || op == RP_ARSH)
		imm = randprog_shift_imm(g, is64 ? 64 : 32);
	else if (op == RP_DIV || op == RP_MOD)
		do imm = randprog_imm32(g); while (imm == 0);   /* the kernel: "div by zero" */
	else
		imm = randprog_imm32(g);
	randprog_emit(g, cls | op | RP_K, dst, 0, off, imm);
}

/* movsx (v4), and the byte-order operations le/be (ALU) and bswap (ALU64). */
static void randprog_gen_ext(struct randprog_gen *g)
{
	static const int32_t widths[] = { 16, 32, 64 };
	struct randprog_rng *r = &g->rng;
	uint8_t dst = randprog_reg(g);
	switch (randprog_below(r, 5)) {
	case 0: {
		static const int16_t ext64[] = { 8, 16, 32 };
		randprog_emit(g, RP_ALU64 | RP_MOV | RP_X, dst, randprog_reg(g), ext64[randprog_below(r, 3)], 0);
		break;
	}
	case 1:
		randprog_emit(g, RP_ALU | RP_MOV | RP_X, dst, randprog_reg(g), randprog_chance(r, 50) ? 8 : 16, 0);
		break;
	case 2:
		randprog_emit(g, RP_ALU | RP_END | RP_K, dst, 0, 0, widths[randprog_below(r, 3)]);   /* le */
		break;
	case 3:
		randprog_emit(g, RP_ALU | RP_END | RP_X, dst, 0, 0, widths[randprog_below(r, 3)]);   /* be */
		break;
	default:
		randprog_emit(g, RP_ALU64 | RP_END | RP_K, dst, 0, 0, widths[randprog_below(r, 3)]); /* bswap */
		break;
	}
}

static void randprog_gen_atomic_plain(struct randprog_gen *g, uint8_t size_code, int16_t off)
{
	static const int32_t plain[] = { 0x00, 0x40, 0x50, 0xa0 };   /* add, or, and, xor */
	randprog_emit(g, RP_STX | RP_ATOMIC | size_code, 10, randprog_reg(g), off,
	              plain[randprog_below(&g->rng, 4)]);
}

static void randprog_gen_load(struct randprog_gen *g)
{
	unsigned size = randprog_random_size(g);
	bool sx = size < 8 && randprog_chance(&g->rng, 40);
	int16_t off = randprog_stack_off(g, size);
	if (!sx) {
		randprog_emit(g, RP_LDX | RP_MEM | randprog_size_code(size), randprog_reg(g), 10, off, 0);
		return;
	}
	/* Linux 6.18 workaround 3.  A sign-extending load that fills from a
	 * spilled register whose value needs exactly the loaded width (say
	 * 0..255 for ldxsb) keeps the spilled register's scalar id although
	 * sign extension changed the value; a later branch on one of the
	 * "linked" registers then narrows the other wrongly and the verifier
	 * deletes code as dead.  A plain atomic on the bytes first makes the
	 * slot unknown on every path, so the load gives a fresh, unlinked
	 * scalar.  No jump may land between the two. */
	if (randprog_chance(&g->rng, 50))
		randprog_gen_atomic_plain(g, RP_W, (int16_t)(off & ~3));
	else
		randprog_gen_atomic_plain(g, RP_DW, (int16_t)(off & ~7));
	size_t load = randprog_emit(g, RP_LDX | RP_MEMSX | randprog_size_code(size), randprog_reg(g), 10, off, 0);
	g->no_target[load] = true;
}

static void randprog_gen_store(struct randprog_gen *g)
{
	unsigned size = randprog_random_size(g);
	int16_t off = randprog_stack_off(g, size);
	if (randprog_chance(&g->rng, 40))
		randprog_emit(g, RP_ST | RP_MEM | randprog_size_code(size), 10, 0, off, randprog_imm32(g));
	else
		randprog_emit(g, RP_STX | RP_MEM | randprog_size_code(size), 10, randprog_reg(g), off, 0);
}

/* True for the 32-bit cmpxchg, whose r0 needs the guard described at
 * randprog_gen_atomic. */
static bool randprog_is_cmpxchg32(const bpfvm_insn *in)
{
	return in->opcode == (RP_STX | RP_ATOMIC | RP_W) && in->imm == RP_CMPXCHG;
}

/* True if `in` reads all 64 bits of r0 and is not a jump: the guard that
 * must follow a 32-bit cmpxchg. */
static bool randprog_is_r0_guard(const bpfvm_insn *in)
{
	if (in->opcode == (RP_ALU64 | RP_MOV | RP_X))
		return in->src == 0;
	if (in->opcode == (RP_STX | RP_MEM | RP_DW))
		return in->src == 0 && in->dst == 10;
	if ((in->opcode & 0x0f) == (RP_ALU64 | RP_K) && (in->opcode & 0xf0) != RP_MOV &&
	    (in->opcode & 0xf0) != RP_END)
		return in->dst == 0;
	return false;
}

/* True for the atomics that load the old value into a register (the
 * fetch forms, xchg, cmpxchg). */
static bool randprog_is_fetching_atomic(const bpfvm_insn *in)
{
	return (in->opcode == (RP_STX | RP_ATOMIC | RP_W) || in->opcode == (RP_STX | RP_ATOMIC | RP_DW)) &&
	       (in->imm & RP_FETCH);
}

static void randprog_gen_atomic(struct randprog_gen *g)
{
	static const int32_t fetching[] = { 0x01, 0x41, 0x51, 0xa1, RP_XCHG, RP_CMPXCHG };
	struct randprog_rng *r = &g->rng;
	uint8_t opcode = RP_STX | RP_ATOMIC | (randprog_chance(r, 50) ? RP_DW : RP_W);
	unsigned size = opcode == (RP_STX | RP_ATOMIC | RP_DW) ? 8 : 4;
	int16_t off = randprog_stack_off(g, size);
	randprog_gen_atomic_plain(g, opcode & 0x18, off);
	if (randprog_chance(r, 35))
		return;
	/* Linux 6.18 workaround 1.  The verifier's precision backtracking
	 * does not follow a fetching atomic's loaded register back to its
	 * stack slot, so when the slot holds a spilled constant on one path
	 * it may prune a path where the slot holds something else, then
	 * decide a later branch from the wrong constant and delete the other
	 * side as dead code.  Right after a plain atomic on the same bytes
	 * the slot is unknown to the verifier on every path, so a fetch from
	 * it is always unknown too.  No jump may land between the two. */
	size_t fetch = randprog_emit(g, opcode, 10, randprog_reg(g), off,
	                             fetching[randprog_below(r, sizeof fetching / sizeof fetching[0])]);
	g->no_target[fetch] = true;
	if (size != 4 || g->p->insns[fetch].imm != RP_CMPXCHG)
		return;
	/* Linux 6.18 workaround 2.  x86-64's lock cmpxchg leaves rax's upper
	 * half alone when the compare succeeds, so the verifier must add a
	 * zero-extension of r0 after a 32-bit cmpxchg; it does so only if it
	 * sees a 64-bit read of that r0, and misses the read when it prunes
	 * the path before reaching it (r0 then keeps its old upper half).
	 * An instruction right after the cmpxchg that reads r0 as 64 bits
	 * and that no jump lands on (so nothing is pruned in between) makes
	 * the verifier always see the read.  It keeps r0's upper half
	 * observable, so a bpfvm that forgot to zero-extend is still caught. */
	size_t guard;
	switch (randprog_below(r, 3)) {
	case 0:
		guard = randprog_emit(g, RP_ALU64 | RP_MOV | RP_X, randprog_reg(g), 0, 0, 0);
		break;
	case 1:
		guard = randprog_emit(g, RP_STX | RP_MEM | RP_DW, 10, 0, randprog_stack_off(g, 8), 0);
		break;
	default:
		guard = randprog_emit(g, RP_ALU64 | (randprog_chance(r, 50) ? 0x00 : 0xa0) | RP_K, 0, 0, 0,
		                      randprog_imm32(g));
		break;
	}
	g->no_target[guard] = true;
}

/* A conditional jump with its offset left 0; the caller or the final pass
 * (pending) fills it in. */
static size_t randprog_gen_jcc(struct randprog_gen *g)
{
	static const uint8_t conds[] = { 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0 };
	struct randprog_rng *r = &g->rng;
	uint8_t cls = randprog_chance(r, 50) ? RP_JMP : RP_JMP32;
	uint8_t cond = conds[randprog_below(r, sizeof conds)];
	if (randprog_chance(r, 50))
		return randprog_emit(g, cls | cond | RP_X, randprog_reg(g), randprog_reg(g), 0, 0);
	return randprog_emit(g, cls | cond | RP_K, randprog_reg(g), 0, 0, randprog_imm32(g));
}

static void randprog_set_target(struct randprog *p, size_t pc, size_t target)
{
	bpfvm_insn *in = &p->insns[pc];
	int32_t delta = (int32_t)(target - pc - 1);
	if (in->opcode == (RP_JMP32 | RP_JA))
		in->imm = delta;      /* gotol: the offset is in imm */
	else
		in->off = (int16_t)delta;
}

static void randprog_gen_ops(struct randprog_gen *g, unsigned *budget, unsigned depth);
/* An if/else diamond:  jcc L1; <then>; ja L2; L1: <else>; L2:
 * The ja skips the else part, which stays reachable through the jcc. */
static void randprog_gen_diamond(struct randprog_gen *g, unsigned *budget, unsigned depth)
{
	struct randprog *p = g->p;
	size_t jcc = randprog_gen_jcc(g);
	unsigned then_budget = 1 + randprog_below(&g->rng, 6);
	if (then_budget > *budget)
		then_budget = *budget;
	*budget -= then_budget;
	randprog_gen_ops(g, &then_budget, depth + 1);
	size_t ja = randprog_chance(&g->rng, 70) ? randprog_emit(g, RP_JMP | RP_JA, 0, 0, 0, 0)
	                                         : randprog_emit(g, RP_JMP32 | RP_JA, 0, 0, 0, 0);
	randprog_set_target(p, jcc, p->count);
	unsigned else_budget = randprog_below(&g->rng, 6);
	if (else_budget > *budget)
		else_budget = *budget;
	*budget -= else_budget;
	randprog_gen_ops(g, &else_budget, depth + 1);
	randprog_set_target(p, ja, p->count);
}

/* Emits random operations until *budget is spent or the body is full. */
static void randprog_gen_ops(struct randprog_gen *g, unsigned *budget, unsigned depth)
{
	struct randprog_rng *r = &g->rng;
	while (*budget > 0 && g->p->count + 4 <= g->limit) {
		--*budget;
		unsigned pick = randprog_below(r, 100);
		if (pick < 36)
			randprog_gen_alu(g);
		else if (pick < 44)
			randprog_gen_ext(g);
		else if (pick < 47)
			randprog_emit_lddw(g, randprog_reg(g), randprog_value64(g));
		else if (pick < 59)
			randprog_gen_load(g);
		else if (pick < 69)
			randprog_gen_store(g);
		else if (pick < 79)
			randprog_gen_atomic(g);
		else if (pick < 93 || depth >= 3)
			g->pending[g->npending++] = (uint32_t)randprog_gen_jcc(g);
		else
			randprog_gen_diamond(g, budget, depth);
	}
}

/* Gives each pending conditional jump a forward target in (pc, count]:
 * usually near, sometimes anywhere, never the second slot of an lddw.
 * A conditional jump falls through too, so it cannot make code dead. */
static void randprog_resolve_pending(struct randprog_gen *g)
{
	struct randprog *p = g->p;
	static const uint8_t lddw = RP_LD | RP_IMM | RP_DW;
	for (unsigned i = 0; i < g->npending; i++) {
		size_t pc = g->pending[i];
		size_t room = p->count - pc;          /* targets pc+1 .. count */
		size_t span = randprog_chance(&g->rng, 70) ? (room < 8 ? room : 8) : room;
		size_t target = pc + 1 + randprog_below(&g->rng, (uint32_t)span);
		/* Step past the middle of an lddw (only an lddw's first slot
		 * has that opcode; its second has 0) and past guarded slots. */
		while (target < p->count && (p->insns[target - 1].opcode == lddw || g->no_target[target]))
			target++;
		randprog_set_target(p, pc, target);
	}
}

void randprog_generate(struct randprog *p, uint64_t seed, uint64_t index,
                       const struct randprog_opts *opts)
{
	static const struct randprog_opts defaults;   /* all-zero: every default */
	if (!opts)
		opts = &defaults;
	unsigned max_ops = opts->max_ops ? opts->max_ops : 64;
	unsigned max_slots = opts->max_stack_slots ? opts->max_stack_slots : RANDPROG_MAX_STACK / 8;
	if (max_slots > RANDPROG_MAX_STACK / 8)
		max_slots = RANDPROG_MAX_STACK / 8;

	struct randprog_gen g = { .p = p, .rng = randprog_rng_init(seed, index) };
	memset(p, 0, sizeof *p);
	/* Mostly a few slots (more interaction), sometimes a whole frame. */
	unsigned slots = randprog_chance(&g.rng, 85) ? 1 + randprog_below(&g.rng, max_slots < 8 ? max_slots : 8)
	                                              : 1 + randprog_below(&g.rng, max_slots);
	p->stack_bytes = slots * 8;
	g.limit = RANDPROG_MAX_BODY;

	for (uint8_t reg = 0; reg < 10; reg++)
		randprog_emit_lddw(&g, reg, randprog_value64(&g));
	/* Initialise every stack byte, in pieces of varied sizes, so later
	 * reads (and the epilogue's) see defined data in every engine. */
	for (unsigned s = 0; s < slots; s++) {
		int16_t base = (int16_t)(-RANDPROG_RESERVED - (int)p->stack_bytes + (int)s * 8);
		unsigned size = randprog_chance(&g.rng, 60) ? 8 : randprog_random_size(&g);
		for (unsigned o = 0; o < 8; o += size) {
			if (randprog_chance(&g.rng, 50))
				randprog_emit(&g, RP_ST | RP_MEM | randprog_size_code(size), 10, 0,
				              (int16_t)(base + o), randprog_imm32(&g));
			else
				randprog_emit(&g, RP_STX | RP_MEM | randprog_size_code(size), 10, randprog_reg(&g),
				              (int16_t)(base + o), 0);
		}
	}
	p->init_count = p->count;

	unsigned budget = 1 + randprog_below(&g.rng, max_ops);
	randprog_gen_ops(&g, &budget, 0);
	randprog_resolve_pending(&g);
}

size_t randprog_epilogue(bpfvm_insn *out, unsigned stack_bytes, int32_t ret)
{
	size_t n = 0;
	out[n++] = (bpfvm_insn){ .opcode = RP_LDX | RP_MEM | RP_DW, .dst = 1, .src = 10, .off = -RANDPROG_RESERVED };
	out[n++] = (bpfvm_insn){ .opcode = RP_STX | RP_MEM | RP_DW, .dst = 1, .src = 0, .off = 0 };
	for (unsigned i = 0; i < stack_bytes / 8; i++) {
		out[n++] = (bpfvm_insn){ .opcode = RP_LDX | RP_MEM | RP_DW, .dst = 2, .src = 10,
		                         .off = (int16_t)(-RANDPROG_RESERVED - (int)stack_bytes + (int)i * 8) };
		out[n++] = (bpfvm_insn){ .opcode = RP_STX | RP_MEM | RP_DW, .dst = 1, .src = 2,
		                         .off = (int16_t)(8 + i * 8) };
	}
	out[n++] = (bpfvm_insn){ .opcode = RP_ALU64 | RP_MOV | RP_K, .dst = 0, .imm = ret };
	out[n++] = (bpfvm_insn){ .opcode = RP_JMP | RP_EXIT };
	return n;
}

size_t randprog_full_len(const struct randprog *p, size_t prologue_len)
{
	return prologue_len + p->count + RANDPROG_EPILOGUE_LEN(p->stack_bytes);
}

size_t randprog_assemble(const struct randprog *p, const bpfvm_insn *prologue,
                         size_t prologue_len, int32_t ret, bpfvm_insn *out)
{
	memcpy(out, prologue, prologue_len * sizeof *out);
	memcpy(out + prologue_len, p->insns, p->count * sizeof *out);
	return prologue_len + p->count + randprog_epilogue(out + prologue_len + p->count, p->stack_bytes, ret);
}

size_t randprog_wrap_mem(const struct randprog *p, bpfvm_insn *out)
{
	static const bpfvm_insn prologue[RANDPROG_MEM_PROLOGUE_LEN] = {
		{ .opcode = RP_STX | RP_MEM | RP_DW, .dst = 10, .src = 1, .off = -RANDPROG_RESERVED },
	};
	return randprog_assemble(p, prologue, RANDPROG_MEM_PROLOGUE_LEN, 0, out);
}

/* ---- checking and shrinking ----------------------------------------- */

static bool randprog_is_jump(const bpfvm_insn *in)
{
	uint8_t cls = in->opcode & 7;
	return (cls == RP_JMP || cls == RP_JMP32) && (in->opcode & 0xf0) != RP_EXIT;
}

static bool randprog_is_ja(const bpfvm_insn *in)
{
	return in->opcode == (RP_JMP | RP_JA) || in->opcode == (RP_JMP32 | RP_JA);
}

static int64_t randprog_target(const bpfvm_insn *insns, size_t pc)
{
	const bpfvm_insn *in = &insns[pc];
	return (int64_t)pc + 1 + (in->opcode == (RP_JMP32 | RP_JA) ? in->imm : in->off);
}

/* The stack access of `in` as [*lo, *lo + size) relative to r10, or
 * false if it is not a stack access. */
static bool randprog_stack_access(const bpfvm_insn *in, int *lo, int *size)
{
	unsigned cls = in->opcode & 7, mode = in->opcode & 0xe0;
	bool load = cls == RP_LDX && (mode == RP_MEM || mode == RP_MEMSX) && in->src == 10;
	bool store = (cls == RP_ST || cls == RP_STX) && (mode == RP_MEM || mode == RP_ATOMIC) && in->dst == 10;
	if (!load && !store)
		return false;
	unsigned sz = in->opcode & 0x18;
	*size = sz == RP_DW ? 8 : sz == RP_W ? 4 : sz == RP_H ? 2 : 1;
	*lo = in->off;
	return true;
}

bool randprog_check(const struct randprog *p, char *why, size_t why_len)
{
	static const uint8_t lddw = RP_LD | RP_IMM | RP_DW;
	bool slot_start[RANDPROG_MAX_BODY + 1], reach[RANDPROG_MAX_BODY + 1];
	memset(slot_start, 0, sizeof slot_start);
	memset(reach, 0, sizeof reach);
	if (p->count > RANDPROG_MAX_BODY || p->stack_bytes == 0 || p->stack_bytes % 8 ||
	    p->stack_bytes > RANDPROG_MAX_STACK) {
		snprintf(why, why_len, "bad sizes: count %zu, stack %u", p->count, p->stack_bytes);
		return false;
	}
	for (size_t pc = 0; pc < p->count; pc += p->insns[pc].opcode == lddw ? 2 : 1)
		slot_start[pc] = true;
	slot_start[p->count] = true;
	/* The Linux 6.18 workarounds (randprog_gen_load, randprog_gen_atomic):
	 * a fetching atomic or a sign-extending load comes right after a
	 * plain atomic that covers its bytes, a 32-bit cmpxchg is followed by
	 * a 64-bit read of r0, and no jump lands on any of the latter. */
	bool guarded[RANDPROG_MAX_BODY + 1];
	memset(guarded, 0, sizeof guarded);
	for (size_t pc = 0; pc < p->count; pc++) {
		if (!slot_start[pc])
			continue;
		const bpfvm_insn *in = &p->insns[pc];
		if (randprog_is_fetching_atomic(in) || (in->opcode & 0xe7) == (RP_LDX | RP_MEMSX)) {
			int lo, size, plo, psize;
			const bpfvm_insn *prev = pc > 0 && slot_start[pc - 1] ? &p->insns[pc - 1] : NULL;
			if (!prev || !randprog_stack_access(in, &lo, &size) ||
			    (prev->opcode & 7) != RP_STX || (prev->opcode & 0xe0) != RP_ATOMIC || (prev->imm & RP_FETCH) ||
			    !randprog_stack_access(prev, &plo, &psize) || lo < plo || lo + size > plo + psize) {
				snprintf(why, why_len, "insn %zu: no plain atomic on its bytes right before it", pc);
				return false;
			}
			guarded[pc] = true;
		}
		if (randprog_is_cmpxchg32(in)) {
			if (pc + 1 >= p->count || !randprog_is_r0_guard(&p->insns[pc + 1])) {
				snprintf(why, why_len, "insn %zu: 32-bit cmpxchg without a 64-bit read of r0 after it", pc);
				return false;
			}
			guarded[pc + 1] = true;
		}
	}
	for (size_t pc = 0; pc < p->count; pc++) {
		if (slot_start[pc] && randprog_is_jump(&p->insns[pc])) {
			int64_t t = randprog_target(p->insns, pc);
			if (t > 0 && t <= (int64_t)p->count && guarded[t]) {
				snprintf(why, why_len, "insn %zu jumps into a guarded atomic sequence at %lld", pc,
				         (long long)t);
				return false;
			}
		}
	}
	reach[0] = true;
	for (size_t pc = 0; pc < p->count; pc++) {
		if (!slot_start[pc])
			continue;
		const bpfvm_insn *in = &p->insns[pc];
		if (!reach[pc]) {
			snprintf(why, why_len, "insn %zu is unreachable", pc);
			return false;
		}
		if ((in->opcode & 7) == RP_JMP && (in->opcode & 0xf0) == RP_EXIT) {
			snprintf(why, why_len, "insn %zu exits inside the body", pc);
			return false;
		}
		unsigned cls = in->opcode & 7;
		bool mem = cls == RP_LDX || cls == RP_ST || cls == RP_STX;
		if (mem) {
			unsigned size = (in->opcode & 0x18) == RP_DW ? 8 : (in->opcode & 0x18) == RP_W ? 4
			     : (in->opcode & 0x18) == RP_H ? 2 : 1;
			int lo = -RANDPROG_RESERVED - (int)p->stack_bytes;
			uint8_t base = cls == RP_LDX ? in->src : in->dst;
			if (base != 10 || in->off < lo || in->off + (int)size > -RANDPROG_RESERVED ||
			    in->off % (int)size) {
				snprintf(why, why_len, "insn %zu: stack access [r%u%+d] of %u bytes is outside or misaligned",
				         pc, base, in->off, size);
				return false;
			}
		}
		size_t next = pc + (in->opcode == lddw ? 2 : 1);
		if (randprog_is_jump(in)) {
			int64_t t = randprog_target(p->insns, pc);
			if (t <= (int64_t)pc || t > (int64_t)p->count || !slot_start[t]) {
				snprintf(why, why_len, "insn %zu jumps to %lld", pc, (long long)t);
				return false;
			}
			reach[t] = true;
			if (randprog_is_ja(in))
				continue;
		}
		reach[next] = true;
	}
	return true;
}

void randprog_delete(struct randprog *p, size_t pc)
{
	size_t width = p->insns[pc].opcode == (RP_LD | RP_IMM | RP_DW) ? 2 : 1;
	for (size_t q = 0; q < pc; q++) {
		/* An lddw's second slot has opcode 0, never a jump. */
		if (randprog_is_jump(&p->insns[q]) && randprog_target(p->insns, q) > (int64_t)pc)
			randprog_set_target(p, q, (size_t)randprog_target(p->insns, q) - width);
	}
	memmove(&p->insns[pc], &p->insns[pc + width], (p->count - pc - width) * sizeof p->insns[0]);
	p->count -= width;
	if (pc < p->init_count)
		p->init_count -= width;
}

bool randprog_drop_slot(struct randprog *p, unsigned k)
{
	int slot_lo = -RANDPROG_RESERVED - (int)p->stack_bytes + 8 * (int)k;
	int lo, size;
	if (p->stack_bytes <= 8 || k >= p->stack_bytes / 8)
		return false;
	for (size_t pc = p->init_count; pc < p->count; pc++)
		if (randprog_stack_access(&p->insns[pc], &lo, &size) && lo < slot_lo + 8 && lo + size > slot_lo)
			return false;
	for (size_t pc = p->init_count; pc-- > 0;)
		if (randprog_stack_access(&p->insns[pc], &lo, &size) && lo >= slot_lo && lo < slot_lo + 8)
			randprog_delete(p, pc);
	for (size_t pc = 0; pc < p->count; pc++)
		if (randprog_stack_access(&p->insns[pc], &lo, &size) && lo < slot_lo)
			p->insns[pc].off = (int16_t)(p->insns[pc].off + 8);
	p->stack_bytes -= 8;
	return true;
}
