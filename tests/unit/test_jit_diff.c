/*
 * test_jit_diff.c - differential test of the JIT against the interpreter.
 *
 * Random programs (seeded, reproducible) over every ALU operation with
 * any operands (division by zero, out-of-range shifts included), forward
 * branches, bounded backward loops, stack and input-memory loads, stores
 * and atomics, local calls, helper calls and callx, and the legacy packet
 * loads run in four ways: interpreter and JIT, checked and unchecked, and
 * every tenth program also through the JIT with constant blinding.  r0,
 * the input memory afterwards and any error (code, instruction, message)
 * must be identical.  A few programs make a deliberate bad access, which
 * only the checked modes run, and both must report it the same way.
 *
 * Environment: BPFVM_JITDIFF_COUNT (default 100000), BPFVM_JITDIFF_SEED.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpfvm/bpfvm.h"
#include "support/xorshift.h"

#define MEM_LEN 256
#define STACK_USED 128      /* bytes below r10 the body touches */
#define MAX_INSNS 1024

struct rng { uint64_t s; };

static uint64_t next(struct rng *r)
{
	return xorshift64(&r->s);
}

static uint32_t below(struct rng *r, uint32_t n) { return (uint32_t)(next(r) % n); }

static uint64_t interesting(struct rng *r)
{
	static const uint64_t v[] = {
		0, 1, 2, 7, 31, 32, 63, 64, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, 0x7fffffffffffffff,
		0x8000000000000000, 0xffffffffffffffff, 0xfffffffffffffffe,
	};
	return below(r, 3) ? v[below(r, sizeof v / sizeof v[0])] : next(r);
}

struct gen {
	struct rng *r;
	bpfvm_insn insns[MAX_INSNS];
	size_t n;
	bool loop_active;      /* r8 is a loop counter: never a destination */
};

static void put(struct gen *g, uint8_t op, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	if (g->n < MAX_INSNS)
		g->insns[g->n++] = (bpfvm_insn){ .opcode = op, .dst = dst, .src = src, .off = off, .imm = imm };
}

static void lddw(struct gen *g, uint8_t dst, uint64_t v)
{
	put(g, 0x18, dst, 0, 0, (int32_t)(uint32_t)v);
	put(g, 0x00, 0, 0, 0, (int32_t)(uint32_t)(v >> 32));
}

/* A data register the body may write: r0..r7, r8 unless it counts a loop;
 * r9 holds the input memory pointer throughout. */
static uint8_t data_reg(struct gen *g)
{
	uint8_t reg = (uint8_t)below(g->r, g->loop_active ? 8 : 9);
	return reg;
}

static int32_t imm32(struct gen *g)
{
	return (int32_t)(uint32_t)interesting(g->r);
}

static void gen_alu(struct gen *g)
{
	static const uint8_t codes[] = { 0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70,
	                                 0x80, 0x90, 0xa0, 0xb0, 0xc0 };
	uint8_t code = codes[below(g->r, sizeof codes)];
	uint8_t cls = below(g->r, 2) ? 0x07 : 0x04;
	bool reg = code != 0x80 && below(g->r, 2);
	int16_t off = 0;
	if ((code == 0x30 || code == 0x90) && below(g->r, 2))
		off = 1;                                   /* sdiv / smod */
	if (code == 0xb0 && reg && below(g->r, 3) == 0) /* movsx */
		off = cls == 0x07 ? (int16_t)(8 << below(g->r, 3)) : (int16_t)(8 << below(g->r, 2));
	int32_t imm = reg || code == 0x80 ? 0 : imm32(g);
	put(g, (uint8_t)(code | cls | (reg ? 0x08 : 0)), data_reg(g), reg ? (uint8_t)below(g->r, 11) : 0,
	    off, imm);
}

static void gen_end(struct gen *g)
{
	static const uint8_t ops[] = { 0xd4, 0xdc, 0xd7 };
	static const int32_t widths[] = { 16, 32, 64 };
	put(g, ops[below(g->r, 3)], data_reg(g), 0, 0, widths[below(g->r, 3)]);
}

/* A load or store at an in-bounds place of the stack or the input. */
static void gen_mem(struct gen *g, bool atomic)
{
	static const uint8_t size_bits[] = { 0x00, 0x08, 0x10, 0x18 };   /* W H B DW */
	static const int sizes[] = { 4, 2, 1, 8 };
	int k = atomic ? (below(g->r, 2) ? 0 : 3) : (int)below(g->r, 4);
	int size = sizes[k];
	bool stack = below(g->r, 2);
	uint8_t base = stack ? 10 : 9;
	int16_t off;
	if (stack)
		off = (int16_t)-(int)(size + below(g->r, (uint32_t)(STACK_USED - size + 1)));
	else
		off = (int16_t)below(g->r, (uint32_t)(MEM_LEN - size + 1));
	if (atomic)
		off = (int16_t)(off & ~(size - 1));      /* both bases are 8-aligned */
	if (!atomic && below(g->r, 4) == 0) {
		/* clang's address idiom: A = base; A += C (or imm); A = *(A + d) */
		uint8_t a = (uint8_t)below(g->r, g->loop_active ? 8 : 9);
		int split = (int)below(g->r, 17) - 8;
		if (below(g->r, 2)) {
			put(g, 0xbf, a, base, 0, 0);
			put(g, 0x07, a, 0, 0, off - split);
		} else {
			uint8_t c = (uint8_t)((a + 1 + below(g->r, 7)) % 8);
			put(g, 0xb7, c, 0, 0, off - split);
			put(g, 0xbf, a, base, 0, 0);
			put(g, 0x0f, a, c, 0, 0);
		}
		uint8_t dst = below(g->r, 3) ? a : data_reg(g);
		put(g, (uint8_t)((k != 3 && below(g->r, 2) ? 0x81 : 0x61) | size_bits[k]), dst, a, (int16_t)split, 0);
		return;
	}
	if (atomic) {
		static const int32_t ops[] = { 0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1 };
		int32_t op = ops[below(g->r, 10)];
		uint8_t src = (uint8_t)below(g->r, 9);
		if ((op & 1) && g->loop_active && src == 8)
			src = 7;                          /* fetch forms write src */
		if (op == 0xf1 && g->loop_active && src == 8)
			src = 7;
		put(g, (uint8_t)(0xc3 | size_bits[k]), base, src, off, op);
		return;
	}
	switch (below(g->r, 4)) {
	case 0:   /* ldx, or ldxs */
		if (k != 3 && below(g->r, 2))
			put(g, (uint8_t)(0x81 | size_bits[k]), data_reg(g), base, off, 0);
		else
			put(g, (uint8_t)(0x61 | size_bits[k]), data_reg(g), base, off, 0);
		break;
	case 1:
		put(g, (uint8_t)(0x62 | size_bits[k]), base, 0, off, imm32(g));
		break;
	default:
		put(g, (uint8_t)(0x63 | size_bits[k]), base, (uint8_t)below(g->r, 10), off, 0);
		break;
	}
}

static void gen_body(struct gen *g, unsigned ops, int depth);

/* A random condition on data registers for a jump at g->n, offset later. */
static size_t put_cond(struct gen *g)
{
	static const uint8_t conds[] = { 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0 };
	uint8_t cls = below(g->r, 2) ? 0x05 : 0x06;
	bool reg = below(g->r, 2);
	size_t at = g->n;
	put(g, (uint8_t)(conds[below(g->r, sizeof conds)] | cls | (reg ? 0x08 : 0)),
	    (uint8_t)below(g->r, 11), reg ? (uint8_t)below(g->r, 11) : 0, 0, reg ? 0 : imm32(g));
	return at;
}

/* The shapes clang emits that the JIT rewrites (src/jit/x86_64/translate.c:
 * fused pairs, multiplications by a 0/1 value or by 2^k/3/5/9, rotates),
 * and near misses of them: sometimes a jump lands on the second
 * instruction, so the rewrite must not apply there. */
static void gen_idiom(struct gen *g)
{
	uint8_t x = data_reg(g), y = data_reg(g), z = data_reg(g), any = (uint8_t)below(g->r, 11);
	uint8_t cls = below(g->r, 2) ? 0x07 : 0x04;
	bool w = cls == 0x07;
	size_t into = below(g->r, 4) == 0 ? put_cond(g) : SIZE_MAX;   /* jumps past the first insn */
	switch (below(g->r, 6)) {
	case 5: {                                                  /* load, op, store back */
		static const uint8_t sizes[] = { 0x00, 0x08, 0x10, 0x18 };     /* W H B DW */
		static const uint8_t ops[] = { 0x00, 0x10, 0x40, 0x50, 0xa0, 0x20 };
		uint8_t sz = sizes[below(g->r, 4)], a = 9;
		int16_t off = (int16_t)(below(g->r, MEM_LEN / 8) * 8);
		if (below(g->r, 3) == 0)
			off = (int16_t)-(8 + 8 * (int)below(g->r, STACK_USED / 8)), a = 10;
		if (below(g->r, 2)) {                                  /* a = base; a += idx or K */
			/* (a jump over the set-up of a would read anywhere: the
			 * near miss here jumps over the load instead) */
			into = SIZE_MAX;
			uint8_t base = a;
			a = data_reg(g);
			int32_t k = (int32_t)below(g->r, 32) * 8;
			if (below(g->r, 2)) {
				uint8_t idx = data_reg(g);
				if (idx == a)
					idx = (uint8_t)(a == 0 ? 1 : a - 1);
				put(g, 0xb7, idx, 0, 0, k);
				put(g, 0xbf, a, base, 0, 0);
				put(g, 0x0f, a, idx, 0, 0);
			} else {
				put(g, 0xbf, a, base, 0, 0);
				put(g, 0x07, a, 0, 0, k);
			}
			off = (int16_t)(off - k);                      /* the same place */
		}
		if (x == a)
			x = (uint8_t)(a == 0 ? 1 : a - 1);
		put(g, (uint8_t)(0x61 | sz), x, a, off, 0);
		uint8_t code = ops[below(g->r, sizeof ops)];
		if (below(g->r, 2))
			put(g, (uint8_t)(code | cls | 0x08), x, any, 0, 0);
		else
			put(g, (uint8_t)(code | cls), x, 0, 0, imm32(g));
		put(g, (uint8_t)(0x63 | sz), a, x, off, 0);
		if (below(g->r, 3) == 0)
			put(g, 0xaf, 0, x, 0, 0);                      /* x read afterwards */
		break;
	}
	case 0:                                                    /* x &= 1; x *= K */
		put(g, (uint8_t)(0x50 | cls), x, 0, 0, below(g->r, 4) ? 1 : 3);
		put(g, (uint8_t)(0x20 | cls), x, 0, 0, imm32(g));
		break;
	case 1:                                                    /* y = 0/1; products with it */
		put(g, 0xbf, y, x, 0, 0);
		if (below(g->r, 2))
			put(g, (uint8_t)(0x50 | cls), y, 0, 0, 1);
		else
			put(g, (uint8_t)(0x70 | cls), y, 0, 0, w ? 63 : 31);
		if (below(g->r, 3) == 0)
			put(g, (uint8_t)(0xa0 | cls), y, 0, 0, 1);       /* y ^= 1: still 0/1 */
		switch (below(g->r, 4)) {
		case 0: put(g, (uint8_t)(0x28 | cls), z, y, 0, 0); break;
		case 1: put(g, (uint8_t)(0x28 | cls), y, any, 0, 0); break;
		case 2: put(g, (uint8_t)(0x20 | cls), y, 0, 0, imm32(g)); break;
		default: put(g, (uint8_t)(0x07), y, 0, 0, 1);                  /* y += 1: not 0/1 now */
			put(g, (uint8_t)(0x28 | cls), z, y, 0, 0); break;
		}
		break;
	case 2: {                                                  /* x *= 3|5|9; x += K */
		static const int32_t f[] = { 3, 5, 9, 2, 8, 1 << 20, 7 };
		put(g, (uint8_t)(0x20 | cls), x, 0, 0, f[below(g->r, 7)]);
		if (below(g->r, 3))
			put(g, (uint8_t)(0x00 | cls), x, 0, 0, imm32(g));
		break;
	}
	case 3: {                                                  /* rotates, both ways */
		uint32_t bits = w ? 64 : 32, k = 1 + below(g->r, bits - 1);
		bool left_first = below(g->r, 2);
		put(g, (uint8_t)(0xbc | (w ? 0x03 : 0)), y, x, 0, 0);
		put(g, (uint8_t)((left_first ? 0x60 : 0x70) | cls), y, 0, 0, (int32_t)k);
		if (below(g->r, 5) == 0)
			k++;                                           /* near miss: not a rotate */
		put(g, (uint8_t)((left_first ? 0x70 : 0x60) | cls), x, 0, 0, (int32_t)(bits - k));
		if (below(g->r, 2))
			put(g, (uint8_t)(0x48 | cls), x, y, 0, 0);
		else
			put(g, (uint8_t)(0x48 | cls), y, x, 0, 0);
		break;
	}
	default: {                                                 /* if c goto +1; goto L */
		size_t at = put_cond(g);
		g->insns[at].off = 1;
		size_t ja = g->n;
		put(g, 0x05, 0, 0, 0, 0);
		gen_body(g, 1 + below(g->r, 3), 3);
		if (g->n < MAX_INSNS)
			g->insns[ja].off = (int16_t)(g->n - ja - 1);
		break;
	}
	}
	if (into != SIZE_MAX && g->n < MAX_INSNS)
		g->insns[into].off = 1;
}

/* if (cond) skip a short random block */
static void gen_branch(struct gen *g, int depth)
{
	size_t at = put_cond(g);
	gen_body(g, 1 + below(g->r, 4), depth + 1);
	if (g->n < MAX_INSNS)
		g->insns[at].off = (int16_t)(g->n - at - 1);
}

/* r8 = count; do { body } while (--r8) */
static void gen_loop(struct gen *g, int depth)
{
	if (g->loop_active) {
		gen_alu(g);
		return;
	}
	put(g, 0xb7, 8, 0, 0, (int32_t)(1 + below(g->r, 5)));
	size_t top = g->n;
	g->loop_active = true;
	gen_body(g, 1 + below(g->r, 5), depth + 1);
	g->loop_active = false;
	put(g, 0x17, 8, 0, 0, 1);                                   /* r8 -= 1 */
	if (below(g->r, 2)) {
		put(g, 0x15, 8, 0, 1, 0);                           /* if r8 == 0 goto +1 */
		put(g, 0x05, 0, 0, (int16_t)(top - g->n - 1), 0);   /* goto top */
	} else {
		put(g, 0x55, 8, 0, (int16_t)(top - g->n - 1), 0);   /* if r8 != 0 goto top */
	}
}

static void reset_args(struct gen *g)
{
	/* r1..r5 are undefined after a helper call (the JIT's host code may
	 * clobber them): give them values again */
	for (uint8_t reg = 1; reg <= 5; reg++)
		put(g, 0xb7, reg, 0, 0, imm32(g));
}

static void gen_body(struct gen *g, unsigned ops, int depth)
{
	for (unsigned i = 0; i < ops && g->n < MAX_INSNS - 64; i++) {
		unsigned pick = below(g->r, 100);
		if (pick < 40)
			gen_alu(g);
		else if (pick < 45)
			gen_end(g);
		else if (pick < 47)
			lddw(g, data_reg(g), interesting(g->r));
		else if (pick < 65)
			gen_mem(g, false);
		else if (pick < 72)
			gen_mem(g, true);
		else if (pick < 84 && depth < 3)
			gen_branch(g, depth);
		else if (pick < 88 && depth < 2)
			gen_loop(g, depth);
		else if (pick < 91) {
			put(g, 0x85, 0, 0, 0, 1);                           /* call helper 1 */
			reset_args(g);
		} else if (pick < 93) {
			put(g, 0xb7, 5, 0, 0, 1);
			put(g, 0x8d, 5, 0, 0, 0);                           /* callx r5 (helper 1) */
			reset_args(g);
		} else if (pick < 95) {
			if (below(g->r, 2))
				put(g, (uint8_t)(0x20 | (below(g->r, 3) << 3)), 0, 0, 0, (int32_t)below(g->r, MEM_LEN + 8));
			else
				put(g, (uint8_t)(0x40 | (below(g->r, 3) << 3)), 0, (uint8_t)below(g->r, 10), 0,
				    (int32_t)below(g->r, 64));
		} else if (depth < 3) {
			gen_idiom(g);
		} else {
			gen_alu(g);
		}
	}
}

/* Subprogram calls go to functions placed after main: record the call
 * sites and patch them once the functions exist. */
static bool generate(struct rng *r, struct gen *g, bool *bad_access)
{
	memset(g, 0, sizeof *g);
	g->r = r;
	put(g, 0xbf, 9, 1, 0, 0);                                   /* r9 = input memory */
	for (uint8_t reg = 0; reg <= 8; reg++)
		lddw(g, reg, interesting(r));
	for (int off = -STACK_USED; off < 0; off += 8)
		put(g, 0x7a, 10, 0, (int16_t)off, imm32(g));
	size_t call_sites[4];
	unsigned nfuncs = below(r, 3), ncalls = 0;
	gen_body(g, 10 + below(r, 40), 0);
	for (unsigned i = 0; i < nfuncs && ncalls < 4; i++) {
		call_sites[ncalls++] = g->n;
		put(g, 0x85, 0, 1, 0, 0);                            /* call local, patched */
		gen_body(g, below(r, 10), 0);
	}
	*bad_access = below(r, 50) == 0;
	if (*bad_access)
		put(g, 0x79, 0, 9, (int16_t)(MEM_LEN + below(r, 64)), 0);   /* read past the input */
	/* fold the used stack into r0 so stack differences show */
	for (int off = -STACK_USED; off < 0; off += 8) {
		put(g, 0x79, 1, 10, (int16_t)off, 0);                    /* r1 = stack slot */
		put(g, 0xaf, 0, 1, 0, 0);                                /* r0 ^= r1 */
		put(g, 0xbf, 2, 0, 0, 0);                                /* rotate r0 left 1 */
		put(g, 0x67, 0, 0, 0, 1);
		put(g, 0x77, 2, 0, 0, 63);
		put(g, 0x4f, 0, 2, 0, 0);
	}
	put(g, 0x95, 0, 0, 0, 0);
	for (unsigned i = 0; i < ncalls; i++) {
		size_t entry = g->n;
		/* a frame starts with whatever the last run left there (as in the
		 * kernel): write it before reading, as a verified program would */
		for (int off = -STACK_USED; off < 0; off += 8)
			put(g, 0x7a, 10, 0, (int16_t)off, imm32(g));
		gen_body(g, 2 + below(r, 12), 1);
		put(g, 0x95, 0, 0, 0, 0);
		g->insns[call_sites[i]].imm = (int32_t)(entry - call_sites[i] - 1);
	}
	return g->n < MAX_INSNS;
}

static uint64_t helper1(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, bpfvm_run *run)
{
	(void)run;
	return r1 * 31 + (r2 ^ r3) - (r4 >> 3) + r5;
}

struct outcome {
	int rc;
	int insn;
	uint64_t r0;
	char msg[256];
	uint8_t mem[MEM_LEN];
};

/* Every run uses this one buffer, so addresses (which a program may fold
 * into its result, and which error messages quote) are the same. */
static uint8_t work[MEM_LEN];

static void run_one(const bpfvm_program *prog, const uint8_t *mem_in, bpfvm_mode mode, bpfvm_engine engine,
                    struct outcome *o)
{
	memcpy(work, mem_in, MEM_LEN);
	bpfvm_region region = { .base = work, .len = MEM_LEN, .writable = true };
	BPFVM_OPTS(bpfvm_run_opts, ro,
		.args = { (uint64_t)(uintptr_t)work, MEM_LEN },
		.mode = mode,
		.engine = engine,
		.regions = &region,
		.region_count = 1,
		.packet = work,
		.packet_len = MEM_LEN,
		.max_back_edges = 100000
	);
	bpfvm_error err = { 0 };
	o->r0 = 0;
	o->rc = bpfvm_program_run(prog, &ro, &o->r0, &err);
	o->insn = o->rc ? err.insn : 0;
	snprintf(o->msg, sizeof o->msg, "%s", o->rc ? err.msg : "");
	memcpy(o->mem, work, MEM_LEN);
}

static bool same(const struct outcome *a, const struct outcome *b)
{
	if (a->rc != b->rc || a->insn != b->insn)
		return false;
	if (a->rc)
		return !strcmp(a->msg, b->msg);
	return a->r0 == b->r0 && !memcmp(a->mem, b->mem, MEM_LEN);
}

static void dump(const struct gen *g, const char *what, const struct outcome *a, const struct outcome *b)
{
	printf("  %s: rc %d/%d insn %d/%d r0 0x%" PRIx64 "/0x%" PRIx64 " msg '%s' / '%s'\n", what,
	       a->rc, b->rc, a->insn, b->insn, a->r0, b->r0, a->msg, b->msg);
	char line[128];
	for (size_t pc = 0; pc < g->n;) {
		int used = bpfvm_disasm_insn(g->insns, g->n, pc, BPFVM_SYNTAX_ASM, line, sizeof line);
		printf("    %4zu: %s\n", pc, line);
		pc += used > 0 ? (size_t)used : 1;
	}
}

int main(void)
{
	const char *s = getenv("BPFVM_JITDIFF_COUNT");
	long count = s ? atol(s) : 100000;
	s = getenv("BPFVM_JITDIFF_SEED");
	uint64_t seed = s ? strtoull(s, NULL, 0) : 0x6a1d1ff5eedULL;
	bpfvm_helpers *helpers = bpfvm_helpers_new();
	bpfvm_error err = { 0 };
	bpfvm_helpers_add(helpers, 1, "mix", helper1, &err);
	int passed = 0, failed = 0, bad_accesses = 0;
	long insns_total = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	static struct gen g;
	static struct outcome out[4];
	for (long i = 0; i < count; i++) {
		struct rng r = { seed + (uint64_t)i * 0x9e3779b97f4a7c15ULL };
		if (!r.s)
			r.s = 1;
		for (int k = 0; k < 4; k++)
			next(&r);
		bool bad_access;
		if (!generate(&r, &g, &bad_access)) {
			i--;
			seed++;
			continue;
		}
		insns_total += (long)g.n;
		uint8_t mem[MEM_LEN];
		for (size_t k = 0; k < MEM_LEN; k++)
			mem[k] = (uint8_t)next(&r);
		bpfvm_program *prog = NULL;
		BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = helpers, .jit = true);
		if (bpfvm_program_load(g.insns, g.n, &lo, &prog, &err)) {
			printf("FAIL program %ld: load: instruction %d: %s\n", i, err.insn, err.msg);
			dump(&g, "load", &out[0], &out[0]);
			failed++;
			continue;
		}
		run_one(prog, mem, BPFVM_CHECKED, BPFVM_ENGINE_INTERP, &out[0]);
		run_one(prog, mem, BPFVM_CHECKED, BPFVM_ENGINE_JIT, &out[1]);
		bool ok = same(&out[0], &out[1]);
		const char *what = "interp checked vs jit checked";
		if (ok && !out[0].rc) {
			run_one(prog, mem, BPFVM_UNCHECKED, BPFVM_ENGINE_INTERP, &out[2]);
			run_one(prog, mem, BPFVM_UNCHECKED, BPFVM_ENGINE_JIT, &out[3]);
			if (!same(&out[0], &out[2])) {
				ok = false;
				what = "interp checked vs interp unchecked";
				out[1] = out[2];
			} else if (!same(&out[0], &out[3])) {
				ok = false;
				what = "interp checked vs jit unchecked";
				out[1] = out[3];
			}
		}
		if (ok && i % 10 == 0) {
			bpfvm_program *hard = NULL;
			BPFVM_OPTS(bpfvm_load_opts, ho, .helpers = helpers, .jit = true, .jit_harden = true);
			if (bpfvm_program_load(g.insns, g.n, &ho, &hard, &err)) {
				ok = false;
				what = "hardened load";
			} else {
				run_one(hard, mem, BPFVM_CHECKED, BPFVM_ENGINE_JIT, &out[1]);
				if (!same(&out[0], &out[1])) {
					ok = false;
					what = "interp checked vs hardened jit checked";
				} else if (!out[0].rc) {
					run_one(hard, mem, BPFVM_UNCHECKED, BPFVM_ENGINE_JIT, &out[1]);
					if (!same(&out[0], &out[1])) {
						ok = false;
						what = "interp checked vs hardened jit unchecked";
					}
				}
				bpfvm_program_free(hard);
			}
		}
		if (out[0].rc) {
			bad_accesses++;
			if (getenv("BPFVM_JITDIFF_VERBOSE"))
				printf("stopped: %d %s\n", out[0].insn, out[0].msg);
		}
		if (ok) {
			passed++;
		} else {
			failed++;
			if (failed <= 3) {
				printf("FAIL program %ld (seed 0x%" PRIx64 "):\n", i, seed);
				dump(&g, what, &out[0], &out[1]);
			}
		}
		bpfvm_program_free(prog);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%ld programs (%ld instructions, %d stopped by a checked-mode error) in %.1f s, %.0f programs/s\n",
	       count, insns_total, bad_accesses, secs, (double)count / secs);
	bpfvm_helpers_free(helpers);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
