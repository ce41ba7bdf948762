/*
 * test_verifier_fuzz.c - soundness of the verifier by fuzzing (issue 5,
 * item 5): random, often unsafe programs (unsafe_prog.h) go through
 * bpfvm_verify; every program it accepts is run on random inputs, and any
 * access the runs flag is a verifier bug.
 *
 * Owns: the harness and its oracles, the map setup the generated programs
 * expect, the figures (programs, accepted, rejections by reason,
 * violations, memory accesses executed), the minimiser that shrinks a
 * violating program, and the fixed list of regression programs.
 *
 * The oracles, for each accepted program and input:
 *   1. the checked interpreter and the checked JIT: a fault, a failed
 *      helper argument or any error but the back-edge budget is a
 *      violation (the budget too, see 4);
 *   2. a reference executor here, stricter than checked mode (which lets a
 *      program touch the whole 4 KiB run stack and every map's whole
 *      arena): each access must lie within one live stack frame (reads of
 *      initialised bytes only), the raw memory, the XDP context (read) or
 *      packet [data, data_end), a value returned by a map lookup, or a
 *      ringbuf record not yet submitted; registers are read only after they
 *      are written; helpers get the maps and buffers their prototypes ask
 *      for; every reservation is released by the exit;
 *   3. checked vs unchecked r0 (programs whose helpers are deterministic);
 *   4. termination: a run that exhausts a back-edge budget of 1M (the
 *      complexity limit) is an endless loop accepted.
 * XDP programs run on a context and packet built here in low memory, so
 * that the regions given to the checked engines are exactly the packet;
 * loop-free ones also go through bpfvm_program_test_run.
 *
 * Environment: BPFVM_VFUZZ_COUNT (programs; default 100000), BPFVM_VFUZZ_SEED
 * (default 1), BPFVM_VFUZZ_START (first index), BPFVM_VFUZZ_QUIET=1 (no
 * per-violation dumps after the first few), BPFVM_VFUZZ_SHOW=TEXT (print a
 * few programs whose rejection message contains TEXT),
 * BPFVM_VFUZZ_PROGRESS=1 (a line every 100,000 programs).  A plain program: one line per
 * failure, the figures, then "N passed, M failed".
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/maps.h"
#include "bpfvm/verifier.h"
#include "support/check.h"
#include "support/verifier_testlib.h"
#include "support/randprog.h"
#include "support/unsafe_prog.h"

#define INPUTS 4
/* back edges: a loop the verifier walks turn by turn has fewer turns than
 * its complexity limit of 1M instructions */
#define BUDGET 1000000u
#define REF_STACK (BPFVM_STACK_SIZE * BPFVM_MAX_CALL_DEPTH)
#define FRAME_BYTES 8192u
#define HEADROOM 256u

/* ---- the environment: maps, helpers, low memory for XDP ------------------ */

static bpfvm_map *maps[UP_MAP_COUNT];
static bpfvm_helpers *helpers;
static uint8_t *frame;          /* XDP: context and packet, below 4 GiB */
static bool jit_ok = true;

static void discard_trace(void *user, const char *line)
{
	(void)user;
	(void)line;
}

static int setup(void)
{
	bpfvm_error err = { 0 };
	bpfvm_map_def a = BPFVM_MAP_DEF_INIT, h = BPFVM_MAP_DEF_INIT, r = BPFVM_MAP_DEF_INIT;
	a.type = BPF_MAP_TYPE_ARRAY, a.key_size = UP_ARRAY_KEY, a.value_size = UP_ARRAY_VALUE;
	a.max_entries = UP_ARRAY_ENTRIES, a.name = "vf_array";
	h.type = BPF_MAP_TYPE_HASH, h.key_size = UP_HASH_KEY, h.value_size = UP_HASH_VALUE;
	h.max_entries = UP_HASH_ENTRIES, h.name = "vf_hash";
	r.type = BPF_MAP_TYPE_RINGBUF, r.max_entries = 4096, r.name = "vf_rb";
	if (bpfvm_map_create(&a, &maps[UP_MAP_ARRAY], &err) || bpfvm_map_create(&h, &maps[UP_MAP_HASH], &err) ||
	    bpfvm_map_create(&r, &maps[UP_MAP_RINGBUF], &err)) {
		CHECK(0, "creating the maps: %s", err.msg);
		return -1;
	}
	helpers = bpfvm_helpers_new_kernel(&err);
	CHECK(helpers, "kernel helpers: %s", err.msg);
	if (!helpers)
		return -1;
	bpfvm_helpers_set_trace(helpers, discard_trace, NULL);
	void *m = mmap(NULL, FRAME_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	CHECK(m != MAP_FAILED, "no low memory for the XDP frame");
	if (m == MAP_FAILED)
		return -1;
	frame = m;
	return 0;
}

static int drop_record(void *ctx, void *data, size_t size)
{
	(void)ctx, (void)data, (void)size;
	return 0;
}

/* The same map contents before every run. */
static void reset_maps(void)
{
	for (uint32_t k = 0; k < UP_ARRAY_ENTRIES; k++) {
		uint8_t v[UP_ARRAY_VALUE];
		for (unsigned i = 0; i < sizeof v; i++)
			v[i] = (uint8_t)(k * 31 + i * 7);
		bpfvm_map_update_elem(maps[UP_MAP_ARRAY], &k, v, 0);
	}
	for (uint64_t k = 0; k < UP_HASH_ENTRIES; k++)
		bpfvm_map_delete_elem(maps[UP_MAP_HASH], &k);
	for (uint64_t k = 0; k < 4; k++) {
		uint8_t v[UP_HASH_VALUE];
		for (unsigned i = 0; i < sizeof v; i++)
			v[i] = (uint8_t)(k * 13 + i);
		bpfvm_map_update_elem(maps[UP_MAP_HASH], &k, v, 0);
	}
	bpfvm_error err;
	bpfvm_map_ringbuf_consume(maps[UP_MAP_RINGBUF], drop_record, NULL, &err);
}

/* Map references (lddw src 1, imm = index) become the maps' addresses, as
 * the instance's binding does. */
static void bind(const bpfvm_insn *in, size_t count, bpfvm_insn *out)
{
	memcpy(out, in, count * sizeof *in);
	for (size_t pc = 0; pc + 1 < count; pc++) {
		if (out[pc].opcode != 0x18)
			continue;
		if (out[pc].src == 1 && (uint32_t)out[pc].imm < UP_MAP_COUNT) {
			uint64_t v = (uint64_t)(uintptr_t)maps[out[pc].imm];
			out[pc].src = 0;
			out[pc].imm = (int32_t)(uint32_t)v;
			out[pc + 1].imm = (int32_t)(uint32_t)(v >> 32);
		}
		pc++;
	}
}

/* ---- inputs -------------------------------------------------------------- */

struct input {
	uint8_t bytes[256];
	uint32_t len;   /* raw: the verified mem_size; xdp: the packet length */
	uint32_t ctx[2]; /* xdp: ingress_ifindex, rx_queue_index (unknown to the verifier) */
};

static void make_input(struct input *in, const struct uprog *p, struct randprog_rng *rng)
{
	if (p->type == UP_RAW) {
		in->len = p->mem_size;
	} else {
		switch (randprog_below(rng, 4)) {
		case 0: in->len = 14 + randprog_below(rng, 4); break;
		case 1: in->len = 60 + randprog_below(rng, 8); break;
		default: in->len = 14 + randprog_below(rng, 67); break;
		}
	}
	for (int i = 0; i < 2; i++) {
		uint32_t v = (uint32_t)randprog_rand(rng);
		in->ctx[i] = randprog_chance(rng, 50) ? v & 0x3f : randprog_chance(rng, 50) ? v : v | 0xfffffff0u;
	}
	unsigned style = randprog_below(rng, 4);
	for (unsigned i = 0; i < sizeof in->bytes; i++) {
		uint8_t b = (uint8_t)randprog_rand(rng);
		switch (style) {
		case 0: in->bytes[i] = b; break;
		case 1: in->bytes[i] = b & 0x1f; break;
		case 2: in->bytes[i] = (b & 3) == 0 ? 0xff : (b & 3) == 1 ? 0 : b & 0x3f; break;
		default: in->bytes[i] = (uint8_t)i; break;
		}
	}
}

/* XDP: the packet at frame+HEADROOM, the context below it. */
static struct xdp_md *xdp_setup(const struct input *in)
{
	memset(frame, 0xa5, FRAME_BYTES);
	struct xdp_md *md = (struct xdp_md *)(void *)frame;
	memset(md, 0, sizeof *md);
	uint8_t *data = frame + HEADROOM;
	memcpy(data, in->bytes, in->len);
	md->data = md->data_meta = (uint32_t)(uintptr_t)data;
	md->data_end = (uint32_t)(uintptr_t)(data + in->len);
	md->ingress_ifindex = in->ctx[0];
	md->rx_queue_index = in->ctx[1];
	return md;
}

/* ---- the reference executor ---------------------------------------------- */

struct ref_region {
	uint64_t base, len;
	bool writable, live, record;
};

struct ref {
	const bpfvm_insn *insns;
	size_t count;
	uint64_t r[11];
	uint16_t init;
	struct {
		size_t ret;
		uint64_t saved[4];
		uint16_t saved_init;
	} frames[BPFVM_MAX_CALL_DEPTH];
	unsigned depth;
	uint8_t stack[REF_STACK] __attribute__((aligned(16)));
	uint8_t sinit[REF_STACK];
	struct ref_region reg[64];
	unsigned nreg;
	struct randprog_rng rng;
	uint64_t budget;
	uint64_t mem_accesses, stack_accesses;
	int pc;
	bool out_of_budget;
	bool uninit_ok;          /* the verifier's policy: reads of unwritten stack allowed (privileged) */
	uint64_t uninit_reads;   /* such reads, when allowed */
	char msg[200];
};

static bool ref_fail(struct ref *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool ref_fail(struct ref *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = snprintf(x->msg, sizeof x->msg, "insn %d: ", x->pc);
	vsnprintf(x->msg + n, sizeof x->msg - (size_t)n, fmt, ap);
	va_end(ap);
	return false;
}

static void ref_region(struct ref *x, uint64_t base, uint64_t len, bool writable, bool record)
{
	if (x->nreg < sizeof x->reg / sizeof x->reg[0])
		x->reg[x->nreg++] = (struct ref_region){ base, len, writable, true, record };
}

static bool ref_access(struct ref *x, uint64_t addr, uint64_t size, bool write, const char *what)
{
	uint64_t base = (uint64_t)(uintptr_t)x->stack, top = base + REF_STACK;
	if (size == 0)
		return true;
	if (addr >= base && addr < top) {
		uint64_t f = (top - 1 - addr) / BPFVM_STACK_SIZE;
		if (f > x->depth)
			return ref_fail(x, "%s of %" PRIu64 " bytes at fp%+" PRId64 " of frame %u: in frame %" PRIu64
			                ", below the deepest live one", what, size,
			                (int64_t)(addr - (top - BPFVM_STACK_SIZE * x->depth)), x->depth, f);
		uint64_t hi = top - BPFVM_STACK_SIZE * f;
		if (size > hi - addr)
			return ref_fail(x, "%s of %" PRIu64 " bytes at fp%+" PRId64 " crosses the top of frame %" PRIu64,
			                what, size, (int64_t)(addr - hi), f);
		size_t o = (size_t)(addr - base);
		if (write) {
			memset(x->sinit + o, 1, (size_t)size);
		} else {
			for (uint64_t i = 0; i < size; i++)
				if (!x->sinit[o + i] && x->uninit_ok) {
					x->uninit_reads++;
					break;
				} else if (!x->sinit[o + i])
					return ref_fail(x, "%s of %" PRIu64 " bytes at fp%+" PRId64 " of frame %" PRIu64
					                ": byte %" PRIu64 " never written", what, size, (int64_t)(addr - hi), f, i);
		}
		x->stack_accesses++;
		return true;
	}
	for (unsigned i = 0; i < x->nreg; i++) {
		const struct ref_region *g = &x->reg[i];
		if (addr >= g->base && addr - g->base < g->len) {
			if (!g->live)
				continue;
			if (size > g->len - (addr - g->base))
				return ref_fail(x, "%s of %" PRIu64 " bytes at offset %" PRIu64 " of a region of %" PRIu64
				                " bytes runs past its end", what, size, addr - g->base, g->len);
			if (write && !g->writable)
				return ref_fail(x, "%s into read-only memory (offset %" PRIu64 ")", what, addr - g->base);
			x->mem_accesses++;
			return true;
		}
	}
	for (unsigned i = 0; i < x->nreg; i++)
		if (!x->reg[i].live && addr >= x->reg[i].base && addr - x->reg[i].base < x->reg[i].len)
			return ref_fail(x, "%s of %" PRIu64 " bytes at offset %" PRIu64 " of a released ringbuf record",
			                what, size, addr - x->reg[i].base);
	return ref_fail(x, "%s of %" PRIu64 " bytes at 0x%" PRIx64 ": not memory the program may touch", what, size,
	                addr);
}

static bool ref_read_reg(struct ref *x, int r)
{
	if (!(x->init >> r & 1))
		return ref_fail(x, "R%d read before it was written", r);
	return true;
}

static int ref_map(struct ref *x, uint64_t v)
{
	for (int i = 0; i < UP_MAP_COUNT; i++)
		if (v == (uint64_t)(uintptr_t)maps[i])
			return i;
	(void)x;
	return -1;
}

static bool ref_helper(struct ref *x, int32_t id)
{
	uint64_t *r = x->r;
	int nargs;
	switch (id) {
	case UP_H_KTIME: case UP_H_PRANDOM: nargs = 0; break;
	case UP_H_LOOKUP: case UP_H_PRINTK: case UP_H_RB_SUBMIT: case UP_H_RB_DISCARD: nargs = 2; break;
	case UP_H_PROBE_READ: case UP_H_RB_RESERVE: nargs = 3; break;
	case UP_H_UPDATE: nargs = 4; break;
	default: return ref_fail(x, "helper %d is not one the generator uses", id);
	}
	for (int a = 1; a <= nargs; a++)
		if (!ref_read_reg(x, a))
			return false;
	uint64_t r0 = 0;
	switch (id) {
	case UP_H_KTIME: case UP_H_PRANDOM:
		r0 = randprog_rand(&x->rng);
		if (id == UP_H_PRANDOM)
			r0 = (uint32_t)r0;
		break;
	case UP_H_LOOKUP: case UP_H_UPDATE: {
		int m = ref_map(x, r[1]);
		if (m != UP_MAP_ARRAY && m != UP_MAP_HASH)
			return ref_fail(x, "helper %d: r1 is not an array or hash map", id);
		uint32_t ks = m == UP_MAP_ARRAY ? UP_ARRAY_KEY : UP_HASH_KEY;
		uint32_t vs = m == UP_MAP_ARRAY ? UP_ARRAY_VALUE : UP_HASH_VALUE;
		if (!ref_access(x, r[2], ks, false, "the key"))
			return false;
		if (id == UP_H_UPDATE) {
			if (!ref_access(x, r[3], vs, false, "the value"))
				return false;
			r0 = (uint64_t)bpfvm_map_update_elem(maps[m], (void *)(uintptr_t)r[2], (void *)(uintptr_t)r[3], r[4]);
			break;
		}
		void *v = bpfvm_map_lookup_elem(maps[m], (void *)(uintptr_t)r[2]);
		if (v)
			ref_region(x, (uint64_t)(uintptr_t)v, vs, true, false);
		r0 = (uint64_t)(uintptr_t)v;
		break;
	}
	case UP_H_PRINTK:
		if (r[2] == 0 || r[2] > 4096)
			return ref_fail(x, "bpf_trace_printk: size %" PRIu64, r[2]);
		if (!ref_access(x, r[1], r[2], false, "the format"))
			return false;
		r0 = randprog_below(&x->rng, 64);
		break;
	case UP_H_PROBE_READ:
		if (r[2] > 4096)
			return ref_fail(x, "bpf_probe_read_kernel: size %" PRIu64, r[2]);
		if (!ref_access(x, r[1], r[2], true, "the destination"))
			return false;
		memset((void *)(uintptr_t)r[1], 0x5a, (size_t)r[2]);
		r0 = 0;
		break;
	case UP_H_RB_RESERVE: {
		if (ref_map(x, r[1]) != UP_MAP_RINGBUF)
			return ref_fail(x, "bpf_ringbuf_reserve: r1 is not the ringbuf");
		void *p = bpfvm_map_ringbuf_reserve(maps[UP_MAP_RINGBUF], r[2], r[3]);
		if (p)
			ref_region(x, (uint64_t)(uintptr_t)p, r[2], true, true);
		r0 = (uint64_t)(uintptr_t)p;
		break;
	}
	default: { /* submit, discard */
		unsigned i;
		for (i = 0; i < x->nreg; i++)
			if (x->reg[i].record && x->reg[i].live && x->reg[i].base == r[1])
				break;
		if (i == x->nreg)
			return ref_fail(x, "helper %d: r1 (0x%" PRIx64 ") is not a live ringbuf record", id, r[1]);
		x->reg[i].live = false;
		if (id == UP_H_RB_SUBMIT)
			bpfvm_map_ringbuf_submit((void *)(uintptr_t)r[1], r[2]);
		else
			bpfvm_map_ringbuf_discard((void *)(uintptr_t)r[1], r[2]);
		break;
	}
	}
	r[0] = r0;
	x->init = (uint16_t)((x->init & ~0x3fu) | 1u);
	return true;
}

static uint64_t ref_alu(uint8_t op, bool is64, uint64_t a, uint64_t b)
{
	if (!is64) {
		a = (uint32_t)a;
		b = (uint32_t)b;
	}
	unsigned mask = is64 ? 63 : 31;
	uint64_t v;
	switch (op) {
	case 0x00: v = a + b; break;
	case 0x10: v = a - b; break;
	case 0x20: v = a * b; break;
	case 0x30: v = b ? a / b : 0; break;
	case 0x40: v = a | b; break;
	case 0x50: v = a & b; break;
	case 0x60: v = a << (b & mask); break;
	case 0x70: v = a >> (b & mask); break;
	case 0x80: v = -a; break;
	case 0x90: v = b ? a % b : a; break;
	case 0xa0: v = a ^ b; break;
	case 0xb0: v = b; break;
	default: /* 0xc0 */
		v = is64 ? (uint64_t)((int64_t)a >> (b & mask)) : (uint64_t)(uint32_t)((int32_t)(uint32_t)a >> (b & mask));
		break;
	}
	return is64 ? v : (uint32_t)v;
}

static const unsigned size_of_code[4] = { 4, 2, 1, 8 };

/* Runs insns (bound) from r1, r2; false with x->msg on a violation. */
static bool ref_run(struct ref *x, uint64_t r1, uint64_t r2, uint64_t *r0)
{
	const bpfvm_insn *ins = x->insns;
	uint64_t *r = x->r;
	memset(x->sinit, 0, sizeof x->sinit);
	memset(r, 0, sizeof x->r);
	x->depth = 0;
	r[1] = r1;
	r[2] = r2;
	r[10] = (uint64_t)(uintptr_t)x->stack + REF_STACK;
	x->init = 1u << 1 | 1u << 10 | (r2 != UINT64_MAX ? 1u << 2 : 0);
	x->budget = BUDGET;
	x->out_of_budget = false;
	size_t pc = 0;
	for (;;) {
		x->pc = (int)pc;
		if (pc >= x->count)
			return ref_fail(x, "ran off the end");
		const bpfvm_insn *in = &ins[pc];
		uint8_t cls = in->opcode & 7, op = in->opcode & 0xf0;
		bool is_x = in->opcode & 8;
		switch (cls) {
		case 0x04: case 0x07: { /* ALU, ALU64 */
			if (op == 0xd0 || (in->off && (op == 0x30 || op == 0x90)))
				return ref_fail(x, "an ALU form the generator does not make");
			if (op == 0xb0 && in->off) { /* movsx */
				if (!is_x || !ref_read_reg(x, in->src))
					return false;
				uint64_t v = r[in->src];
				int64_t sv = in->off == 8 ? (int8_t)v : in->off == 16 ? (int16_t)v : (int32_t)v;
				r[in->dst] = cls == 0x07 ? (uint64_t)sv : (uint32_t)sv;
				x->init |= (uint16_t)(1u << in->dst);
				pc++;
				break;
			}
			if (op != 0xb0 && !ref_read_reg(x, in->dst))
				return false;
			if (is_x && !ref_read_reg(x, in->src))
				return false;
			uint64_t b = is_x ? r[in->src] : (uint64_t)(int64_t)in->imm;
			r[in->dst] = ref_alu(op, cls == 0x07, r[in->dst], b);
			x->init |= (uint16_t)(1u << in->dst);
			pc++;
			break;
		}
		case 0x00: /* lddw */
			r[in->dst] = (uint32_t)in->imm | (uint64_t)(uint32_t)in[1].imm << 32;
			x->init |= (uint16_t)(1u << in->dst);
			pc += 2;
			break;
		case 0x01: case 0x02: case 0x03: { /* LDX, ST, STX */
			if ((in->opcode & 0xe0) != 0x60)
				return ref_fail(x, "a load or store form the generator does not make");
			unsigned size = size_of_code[(in->opcode >> 3) & 3];
			uint8_t base = cls == 0x01 ? in->src : in->dst;
			if (!ref_read_reg(x, base) || (cls == 0x03 && !ref_read_reg(x, in->src)))
				return false;
			uint64_t addr = r[base] + (uint64_t)(int64_t)in->off;
			if (!ref_access(x, addr, size, cls != 0x01, cls == 0x01 ? "a load" : "a store"))
				return false;
			void *p = (void *)(uintptr_t)addr;
			if (cls == 0x01) {
				uint64_t v = 0;
				memcpy(&v, p, size);
				r[in->dst] = v;
				x->init |= (uint16_t)(1u << in->dst);
			} else {
				uint64_t v = cls == 0x02 ? (uint64_t)(int64_t)in->imm : r[in->src];
				memcpy(p, &v, size);
			}
			pc++;
			break;
		}
		default: { /* JMP, JMP32 */
			if (op == 0x00) {
				if (cls != 0x05)
					return ref_fail(x, "gotol");
				if (in->off < 0 && --x->budget == 0)
					return x->out_of_budget = true, ref_fail(x, "back-edge budget exhausted");
				pc += (size_t)(int64_t)in->off + 1;
				break;
			}
			if (op == 0x80) {
				if (in->src != 1) {
					if (!ref_helper(x, in->imm))
						return false;
					pc++;
					break;
				}
				if (x->depth + 1 >= BPFVM_MAX_CALL_DEPTH)
					return ref_fail(x, "call too deep");
				x->frames[x->depth].ret = pc + 1;
				memcpy(x->frames[x->depth].saved, &r[6], sizeof x->frames[0].saved);
				x->frames[x->depth].saved_init = x->init;
				x->depth++;
				r[10] = (uint64_t)(uintptr_t)x->stack + REF_STACK - BPFVM_STACK_SIZE * x->depth;
				memset(x->sinit + REF_STACK - BPFVM_STACK_SIZE * (x->depth + 1), 0, BPFVM_STACK_SIZE);
				x->init &= (uint16_t)(0x3eu | 1u << 10);
				pc += (size_t)(int64_t)in->imm + 1;
				break;
			}
			if (op == 0x90) {
				/* a subprogram may return without setting r0 (the
				 * kernel allows it): then the caller may not read it */
				if (x->depth == 0 && !ref_read_reg(x, 0))
					return false;
				uint16_t r0_init = x->init & 1u;
				if (x->depth == 0) {
					for (unsigned i = 0; i < x->nreg; i++)
						if (x->reg[i].record && x->reg[i].live)
							return ref_fail(x, "exit with ringbuf record %u not released", i);
					*r0 = r[0];
					return true;
				}
				x->depth--;
				memset(x->sinit + REF_STACK - BPFVM_STACK_SIZE * (x->depth + 2), 0, BPFVM_STACK_SIZE);
				memcpy(&r[6], x->frames[x->depth].saved, sizeof x->frames[0].saved);
				x->init = (uint16_t)((x->frames[x->depth].saved_init & 0x7c0u) | r0_init | 1u << 10);
				r[10] = (uint64_t)(uintptr_t)x->stack + REF_STACK - BPFVM_STACK_SIZE * x->depth;
				pc = x->frames[x->depth].ret;
				break;
			}
			if (!ref_read_reg(x, in->dst) || (is_x && !ref_read_reg(x, in->src)))
				return false;
			uint64_t b = is_x ? r[in->src] : (uint64_t)(int64_t)in->imm;
			if (jmp_holds(r[in->dst], b, op, cls != 0x05)) {
				if (in->off < 0 && --x->budget == 0)
					return x->out_of_budget = true, ref_fail(x, "back-edge budget exhausted");
				pc += (size_t)(int64_t)in->off + 1;
			} else {
				pc++;
			}
			break;
		}
		}
	}
}

/* ---- running one accepted program ----------------------------------------- */

struct stats {
	uint64_t programs, skipped, accepted, rejected, violations, endless, runs;
	uint64_t accepted_type[2], programs_type[2];
	uint64_t mem_accesses, stack_accesses, touching;
	uint64_t uninit_runs, uninit_diverged;
	struct {
		char key[48];
		uint64_t n;
	} reasons[160];
	unsigned nreasons;
};

static struct stats st;
static struct ref xref;
static uint8_t raw_mem[256];

static int drop_records(void)
{
	int n = 0;
	for (unsigned i = 0; i < xref.nreg; i++)
		if (xref.reg[i].record && xref.reg[i].live) {
			bpfvm_map_ringbuf_discard((void *)(uintptr_t)xref.reg[i].base, 0);
			xref.reg[i].live = false;
			n++;
		}
	return n;
}

/* Sets up the input for a run: returns r1 and fills the regions. */
static uint64_t prepare(const struct uprog *p, const struct input *in, bpfvm_region reg[2], size_t *nreg)
{
	reset_maps();
	if (p->type == UP_RAW) {
		memcpy(raw_mem, in->bytes, sizeof raw_mem);
		reg[0] = (bpfvm_region){ raw_mem, in->len, true };
		*nreg = 1;
		return (uint64_t)(uintptr_t)raw_mem;
	}
	struct xdp_md *md = xdp_setup(in);
	reg[0] = (bpfvm_region){ md, sizeof *md, false };
	reg[1] = (bpfvm_region){ frame + HEADROOM, in->len, true };
	*nreg = 2;
	return (uint64_t)(uintptr_t)md;
}

/* A returned pointer into a map: where a hash element lands varies. */
static bool in_map(uint64_t v)
{
	for (int i = 0; i < UP_MAP_COUNT; i++) {
		void *base;
		size_t len;
		bpfvm_map_arena(maps[i], &base, &len);
		if (v - (uint64_t)(uintptr_t)base < len)
			return true;
	}
	return false;
}

/* The oracles on one input; false with `why` on a violation. */
static bool check_input(const struct uprog *p, const bpfvm_program *prog, const bpfvm_insn *bound, size_t n,
                        const struct input *in, uint64_t index, bool test_run, char *why, size_t whylen)
{
	bpfvm_region reg[2];
	size_t nreg;
	/* 2. the reference executor */
	uint64_t r1 = prepare(p, in, reg, &nreg);
	xref.insns = bound;
	xref.count = n;
	xref.nreg = 0;
	xref.mem_accesses = xref.stack_accesses = xref.uninit_reads = 0;
	xref.rng = randprog_rng_init(0x7e57, index);
	for (size_t i = 0; i < nreg; i++)
		ref_region(&xref, (uint64_t)(uintptr_t)reg[i].base, reg[i].len, reg[i].writable, false);
	uint64_t ref_r0 = 0;
	bool ok = ref_run(&xref, r1, p->type == UP_RAW ? in->len : UINT64_MAX, &ref_r0);
	drop_records();
	st.runs++;
	if (!ok) {
		if (xref.out_of_budget)
			st.endless++;
		snprintf(why, whylen, "reference executor: %s", xref.msg);
		return false;
	}
	st.mem_accesses += xref.mem_accesses;
	bool read_uninit = xref.uninit_reads > 0;
	st.uninit_runs += read_uninit;
	st.stack_accesses += xref.stack_accesses;
	/* 1. the checked engines, 3. unchecked */
	uint64_t r0_checked = 0;
	for (int k = 0; k < 3; k++) {
		bpfvm_engine engine = k == 1 ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP;
		bpfvm_mode mode = k == 2 ? BPFVM_UNCHECKED : BPFVM_CHECKED;
		if (engine == BPFVM_ENGINE_JIT && bpfvm_program_jited(prog, BPFVM_CHECKED, &(const void *){ 0 }, &(size_t){ 0 }))
			continue;
		r1 = prepare(p, in, reg, &nreg);
		BPFVM_OPTS(bpfvm_run_opts, ro, .args = { r1, p->type == UP_RAW ? in->len : 0 }, .mode = mode, .engine = engine,
		                      .regions = reg, .region_count = nreg, .max_back_edges = BUDGET);
		uint64_t r0 = 0;
		bpfvm_error err = { 0 };
		int rc = bpfvm_program_run(prog, &ro, &r0, &err);
		const char *name = k == 0 ? "checked interpreter" : k == 1 ? "checked JIT" : "unchecked interpreter";
		if (rc) {
			if (rc == -ELOOP)
				st.endless++;
			snprintf(why, whylen, "%s: %s (%s)", name, err.msg, bpfvm_strerror(rc));
			return false;
		}
		if (k == 0)
			r0_checked = r0;
		if (k == 2 && !p->nondet && r0 != r0_checked && !in_map(r0) && !in_map(r0_checked)) {
			if (read_uninit) {
				/* the unchecked engine does not zero the stack: what the
				 * program read there is what an earlier run left */
				st.uninit_diverged++;
				break;
			}
			snprintf(why, whylen, "r0 differs: checked 0x%" PRIx64 ", unchecked 0x%" PRIx64, r0_checked, r0);
			return false;
		}
	}
	if (test_run && p->type == UP_XDP) {
		reset_maps();
		BPFVM_OPTS(bpfvm_test_run, t, .data_in = in->bytes, .data_size_in = in->len, .mode = BPFVM_CHECKED,
		                     .engine = BPFVM_ENGINE_INTERP);
		bpfvm_error err = { 0 };
		int rc = bpfvm_program_test_run(prog, &t, &err);
		if (rc) {
			snprintf(why, whylen, "test run: %s (%s)", err.msg, bpfvm_strerror(rc));
			return false;
		}
	}
	return true;
}

/* ---- verification, reporting ---------------------------------------------- */

static int verify(const struct uprog *p, const bpfvm_insn *insns, size_t n, struct logbuf *log, bpfvm_error *err)
{
	BPFVM_OPTS(bpfvm_verify_opts, vo, .prog_type = p->type, .helpers = helpers, .maps = maps, .map_count = UP_MAP_COUNT,
	                         .mem_size = p->mem_size, .log_level = log ? 2 : 0, .log = log ? log_append : NULL,
	                         .log_user = log);
	return bpfvm_verify(insns, n, &vo, NULL, err);
}

static int load(const struct uprog *p, const bpfvm_insn *bound, size_t n, bool jit, bpfvm_program **out,
                bpfvm_error *err)
{
	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = helpers, .jit = jit, .prog_type = p->type, .maps = maps,
	                       .map_count = UP_MAP_COUNT);
	return bpfvm_program_load(bound, n, &lo, out, err);
}

/* The disassembly the verifier puts in its messages. */
static void disasm_insn(const bpfvm_insn *insns, size_t n, size_t pc, char *buf, size_t len)
{
	if (insns[pc].opcode == 0x18 && insns[pc].src == 1)
		snprintf(buf, len, "r%u = map[id:%d] ll", insns[pc].dst, insns[pc].imm);
	else if (bpfvm_disasm_insn(insns, n, pc, BPFVM_SYNTAX_LLVM, buf, len) < 0)
		snprintf(buf, len, "(%02x)", insns[pc].opcode);
}

/* Counts a rejection under the first words of its reason ("insn N: " and
 * the disassembly dropped, numbers as N). */
static void note_reason(const bpfvm_insn *insns, size_t n, const bpfvm_error *err)
{
	const char *m = err->msg;
	char prefix[128], dis[96];
	if (err->insn >= 0 && (size_t)err->insn < n) {
		disasm_insn(insns, n, (size_t)err->insn, dis, sizeof dis);
		snprintf(prefix, sizeof prefix, "insn %d: %.50s: ", err->insn, dis);
		if (!strncmp(m, prefix, strlen(prefix)))
			m += strlen(prefix);
	}
	char key[48];
	size_t k = 0;
	unsigned words = 0;
	for (const char *s = m; *s && k + 2 < sizeof key && words < 4; s++) {
		if (*s == ' ') {
			words++;
			if (words < 4)
				key[k++] = ' ';
			continue;
		}
		if (*s == '=' || *s == ',' || *s == '(' || *s == '\'')
			break;
		if (*s >= '0' && *s <= '9') {
			if (k == 0 || key[k - 1] != 'N')
				key[k++] = 'N';
			continue;
		}
		key[k++] = *s;
	}
	while (k && key[k - 1] == ' ')
		k--;
	key[k] = 0;
	for (unsigned i = 0; i < st.nreasons; i++)
		if (!strcmp(st.reasons[i].key, key)) {
			st.reasons[i].n++;
			return;
		}
	if (st.nreasons < sizeof st.reasons / sizeof st.reasons[0]) {
		snprintf(st.reasons[st.nreasons].key, sizeof st.reasons[0].key, "%s", key);
		st.reasons[st.nreasons++].n = 1;
	} else {
		st.reasons[sizeof st.reasons / sizeof st.reasons[0] - 1].n++;
	}
}

static void print_program(const bpfvm_insn *insns, size_t n)
{
	for (size_t pc = 0; pc < n;) {
		char buf[160];
		disasm_insn(insns, n, pc, buf, sizeof buf);
		int k = insns[pc].opcode == 0x18 ? 2 : 1;
		printf("  %4zu: %-44s  I(0x%02x, %u, %u, %d, %d),", pc, buf, insns[pc].opcode, insns[pc].dst, insns[pc].src,
		       insns[pc].off, insns[pc].imm);
		if (insns[pc].opcode == 0x18 && pc + 1 < n)
			printf(" I(0, 0, 0, 0, %d),", insns[pc + 1].imm);
		printf("\n");
		pc += k > 0 ? (size_t)k : 1;
	}
}

/* Still accepted, and still violating on this input? */
static bool reproduces(const struct uprog *p, const bpfvm_insn *insns, size_t n, const struct input *in)
{
	bpfvm_error err = { 0 };
	if (verify(p, insns, n, NULL, &err))
		return false;
	static bpfvm_insn bound[UP_MAX_INSNS];
	bind(insns, n, bound);
	bpfvm_program *prog = NULL;
	if (load(p, bound, n, jit_ok, &prog, &err))
		return false;
	char why[256];
	bool bad = !check_input(p, prog, bound, n, in, 0, false, why, sizeof why);
	bpfvm_program_free(prog);
	return bad;
}

/* Removes `ja +0` slots, retargeting jumps and calls. */
static size_t compact(bpfvm_insn *insns, size_t n)
{
	static uint32_t newidx[UP_MAX_INSNS + 1];
	static bool keep[UP_MAX_INSNS];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		keep[i] = !(insns[i].opcode == 0x05 && insns[i].off == 0 && !(i && insns[i - 1].opcode == 0x18));
		newidx[i] = (uint32_t)k;
		k += keep[i];
	}
	newidx[n] = (uint32_t)k;
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		if (!keep[i])
			continue;
		bpfvm_insn in = insns[i];
		uint8_t cls = in.opcode & 7, op = in.opcode & 0xf0;
		bool lddw_hi = i && insns[i - 1].opcode == 0x18;
		if (!lddw_hi && (cls == 0x05 || cls == 0x06)) {
			if (op == 0x80 && in.src == 1) {
				size_t t = i + 1 + (size_t)(int64_t)in.imm;
				in.imm = (int32_t)newidx[t] - (int32_t)out - 1;
			} else if (op != 0x80 && op != 0x90) {
				size_t t = i + 1 + (size_t)(int64_t)in.off;
				in.off = (int16_t)((int32_t)newidx[t] - (int32_t)out - 1);
			}
		}
		insns[out++] = in;
	}
	return out;
}

/* Shrinks a violating program by turning instructions into no-ops. */
static size_t minimise(const struct uprog *p, bpfvm_insn *insns, size_t n, const struct input *in)
{
	static bpfvm_insn save[UP_MAX_INSNS];
	bool changed = true;
	for (int round = 0; changed && round < 4; round++) {
		changed = false;
		for (size_t chunk = 8; chunk >= 1; chunk /= 2) {
			for (size_t i = 0; i + chunk <= n; i++) {
				size_t end = i + chunk;
				if (i && insns[i - 1].opcode == 0x18)
					continue; /* never split an lddw */
				if (insns[end - 1].opcode == 0x18)
					end++;
				if (end > n)
					continue;
				bool all_nop = true;
				for (size_t k = i; k < end; k++)
					all_nop &= insns[k].opcode == 0x05 && insns[k].off == 0;
				if (all_nop)
					continue;
				memcpy(save, insns + i, (end - i) * sizeof *insns);
				for (size_t k = i; k < end; k++)
					insns[k] = (bpfvm_insn){ .opcode = 0x05 };
				if (reproduces(p, insns, n, in)) {
					changed = true;
					continue;
				}
				memcpy(insns + i, save, (end - i) * sizeof *insns);
			}
		}
	}
	static bpfvm_insn tmp[UP_MAX_INSNS];
	memcpy(tmp, insns, n * sizeof *insns);
	size_t m = compact(tmp, n);
	if (reproduces(p, tmp, m, in)) {
		memcpy(insns, tmp, m * sizeof *insns);
		return m;
	}
	return n;
}

static unsigned reported;

static void report_violation(const struct uprog *p, uint64_t seed, uint64_t index, const struct input *in,
                             const char *why)
{
	st.violations++;
	bool quiet = getenv("BPFVM_VFUZZ_QUIET") && reported >= 3;
	reported++;
	printf("VIOLATION seed %" PRIu64 " index %" PRIu64 " (%s, mem_size %u, input of %u bytes): %s\n", seed, index,
	       p->type == UP_RAW ? "raw" : "xdp", p->mem_size, in->len, why);
	if (quiet)
		return;
	print_program(p->insns, p->count);
	struct logbuf log = { 0 };
	bpfvm_error err = { 0 };
	verify(p, p->insns, p->count, &log, &err);
	if (log.text) {
		size_t from = log.len > 12000 ? log.len - 12000 : 0;
		printf("verifier log (level 2%s):\n%s\n", from ? ", its last 12000 bytes" : "", log.text + from);
	}
	free(log.text);
	printf("input:");
	for (uint32_t i = 0; i < in->len; i++)
		printf(" %02x", in->bytes[i]);
	printf("\n");
	static bpfvm_insn small[UP_MAX_INSNS];
	memcpy(small, p->insns, p->count * sizeof *small);
	struct stats saved = st;
	size_t m = minimise(p, small, p->count, in);
	st = saved;
	printf("minimised to %zu slots:\n", m);
	print_program(small, m);
	fflush(stdout);
}

/* One program: generate, validate, verify, run if accepted. */
static void fuzz_one(uint64_t seed, uint64_t index)
{
	static struct uprog p;
	static bpfvm_insn bound[UP_MAX_INSNS];
	uprog_generate(&p, seed, index);
	if (p.overflow) {
		st.skipped++;
		return;
	}
	st.programs++;
	st.programs_type[p.type == UP_XDP]++;
	bind(p.insns, p.count, bound);
	bpfvm_program *prog = NULL;
	bpfvm_error err = { 0 };
	int rc = load(&p, bound, p.count, false, &prog, &err);
	CHECK(rc == 0, "seed %" PRIu64 " index %" PRIu64 ": the generator made a malformed program: insn %d: %s", seed,
	      index, err.insn, err.msg);
	if (rc) {
		if (failed <= 3)
			print_program(p.insns, p.count);
		return;
	}
	bpfvm_program_free(prog);
	prog = NULL;
	rc = verify(&p, p.insns, p.count, NULL, &err);
	if (rc) {
		st.rejected++;
		note_reason(p.insns, p.count, &err);
		/* BPFVM_VFUZZ_SHOW=words: print a few programs rejected for that reason */
		static int shown;
		const char *show = getenv("BPFVM_VFUZZ_SHOW");
		if (show && strstr(err.msg, show) && shown++ < 3) {
			printf("rejected (index %" PRIu64 "): %s\n", index, err.msg);
			print_program(p.insns, p.count);
		}
		return;
	}
	st.accepted++;
	st.accepted_type[p.type == UP_XDP]++;
	if (load(&p, bound, p.count, jit_ok, &prog, &err)) {
		CHECK(0, "seed %" PRIu64 " index %" PRIu64 ": accepted but not loadable with the JIT: %s", seed, index,
		      err.msg);
		return;
	}
	struct randprog_rng rng = randprog_rng_init(seed ^ 0x1b873593ULL, index);
	uint64_t mem_before = st.mem_accesses;
	for (int k = 0; k < INPUTS; k++) {
		struct input in;
		make_input(&in, &p, &rng);
		char why[512];
		if (!check_input(&p, prog, bound, p.count, &in, index, k == 0 && !p.has_loop, why, sizeof why)) {
			report_violation(&p, seed, index, &in, why);
			break;
		}
	}
	if (st.mem_accesses > mem_before)
		st.touching++;
	bpfvm_program_free(prog);
}

/* ---- fixed programs --------------------------------------------------------- */

#define I(op, d, s, o, i) { .opcode = (op), .dst = (d), .src = (s), .off = (o), .imm = (i) }
#define N(...) { __VA_ARGS__ }, sizeof((bpfvm_insn[]){ __VA_ARGS__ }) / sizeof(bpfvm_insn)

struct fixed {
	const char *name;
	uint32_t type, mem_size;
	bpfvm_insn insns[40];
	size_t count;
};

/* Unsafe programs that the oracles must flag when run unverified: if they
 * did not, the fuzzer could not find anything. */
static const struct fixed oracle_cases[] = {
	{ "raw memory past its end", UP_RAW, 8, N(I(0x79, 0, 1, 4, 0), I(0x95, 0, 0, 0, 0)) },
	{ "stack below the frame", UP_RAW, 0, N(I(0x7a, 10, 0, -520, 1), I(0xb7, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0)) },
	{ "stack above the frame", UP_RAW, 0, N(I(0x7a, 10, 0, 0, 1), I(0xb7, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0)) },
	{ "uninitialised stack", UP_RAW, 0, N(I(0x79, 0, 10, -8, 0), I(0x95, 0, 0, 0, 0)) },
	{ "uninitialised register", UP_RAW, 0, N(I(0xbf, 0, 5, 0, 0), I(0x95, 0, 0, 0, 0)) },
	{ "packet past its end", UP_XDP, 0,
	  N(I(0x61, 2, 1, 0, 0), I(0x71, 0, 2, 100, 0), I(0x95, 0, 0, 0, 0)) },
	{ "context written", UP_XDP, 0, N(I(0x62, 1, 0, 12, 0), I(0xb7, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0)) },
	{ "map value past its end", UP_RAW, 0,
	  N(I(0x62, 10, 0, -4, 0), I(0xbf, 2, 10, 0, 0), I(0x07, 2, 0, 0, -4), I(0x18, 1, 1, 0, UP_MAP_ARRAY),
	    I(0, 0, 0, 0, 0), I(0x85, 0, 0, 0, UP_H_LOOKUP), I(0x15, 0, 0, 1, 0), I(0x79, 0, 0, UP_ARRAY_VALUE - 4, 0),
	    I(0x95, 0, 0, 0, 0)) },
	{ "ringbuf record leaked", UP_RAW, 0,
	  N(I(0x18, 1, 1, 0, UP_MAP_RINGBUF), I(0, 0, 0, 0, 0), I(0xb7, 2, 0, 0, 8), I(0xb7, 3, 0, 0, 0),
	    I(0x85, 0, 0, 0, UP_H_RB_RESERVE), I(0xb7, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0)) },
	{ "stack of a returned call", UP_RAW, 0,
	  N(I(0x85, 0, 1, 0, 3), I(0x7a, 0, 0, -8, 1), I(0xb7, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0),
	    I(0xbf, 0, 10, 0, 0), I(0x95, 0, 0, 0, 0)) },
	{ "endless loop", UP_RAW, 0, N(I(0xb7, 0, 0, 0, 0), I(0x05, 0, 0, -1, 0), I(0x95, 0, 0, 0, 0)) },
};

/* Programs the fuzzer found the verifier wrong about (minimised): each must
 * now be rejected, or run without a violation on random inputs. */
static const struct fixed regressions[] = {
	/* These two were violations while the verifier refused reads of unwritten
	 * stack (before commit b8c315d); under the privileged kernel's rules it
	 * now follows they are allowed, and count as reads of unwritten stack.
	 * found by seed 1 index 1791: bpf_probe_read_kernel into fp-264 with a
	 * size of 0..15, then an 8-byte read there: the verifier marked all 15
	 * bytes initialised, the helper may have written none */
	{ "helper with a variable size initialises its umax bytes", UP_XDP, 0,
	  N(I(0xbf, 6, 1, 0, 0), I(0xbf, 1, 10, 0, 0), I(0x07, 1, 0, 0, -264), I(0x61, 3, 6, 16, 0),
	    I(0xbf, 2, 3, 0, 0), I(0x57, 2, 0, 0, 15), I(0x85, 0, 0, 0, UP_H_PROBE_READ), I(0x79, 0, 10, -264, 0),
	    I(0x95, 0, 0, 0, 0)) },
	/* found by seed 1 index 6076: an 8-byte store at fp-64-(x%5), then a
	 * 4-byte load at fp-66+(x&3): the store's whole possible range
	 * [fp-68, fp-56) was marked initialised */
	{ "variable-offset stack write initialises its whole range", UP_XDP, 0,
	  N(I(0xbf, 6, 1, 0, 0), I(0x61, 1, 6, 12, 0), I(0x94, 1, 0, 0, 5), I(0xbf, 0, 10, 0, 0),
	    I(0x07, 0, 0, 0, -64), I(0x1f, 0, 1, 0, 0), I(0x7a, 0, 0, 0, 36), I(0x61, 4, 6, 16, 0),
	    I(0x54, 4, 0, 0, 3), I(0x87, 4, 0, 0, 0), I(0xbf, 0, 10, 0, 0), I(0x07, 0, 0, 0, -64),
	    I(0x1f, 0, 4, 0, 0), I(0x61, 1, 0, -2, 0), I(0x95, 0, 0, 0, 0)) },
	/* sanity: a safe program of every kind of access */
	{ "safe: lookup, checked value, stack", UP_RAW, 16,
	  N(I(0x62, 10, 0, -4, 1), I(0xbf, 2, 10, 0, 0), I(0x07, 2, 0, 0, -4), I(0x18, 1, 1, 0, UP_MAP_ARRAY),
	    I(0, 0, 0, 0, 0), I(0x85, 0, 0, 0, UP_H_LOOKUP), I(0x15, 0, 0, 1, 0), I(0x79, 0, 0, UP_ARRAY_VALUE - 8, 0),
	    I(0xb7, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0)) },
};

static bool run_fixed(const struct fixed *c, bool verified, char *why, size_t whylen)
{
	static struct uprog p;
	static bpfvm_insn bound[UP_MAX_INSNS];
	memset(&p, 0, sizeof p);
	memcpy(p.insns, c->insns, c->count * sizeof c->insns[0]);
	p.count = c->count;
	p.type = c->type;
	p.mem_size = c->mem_size;
	p.nondet = true;
	bpfvm_error err = { 0 };
	if (verified && verify(&p, p.insns, p.count, NULL, &err))
		return true; /* rejected: fine */
	bind(p.insns, p.count, bound);
	bpfvm_program *prog = NULL;
	if (load(&p, bound, p.count, jit_ok, &prog, &err)) {
		snprintf(why, whylen, "does not load: %s", err.msg);
		return false;
	}
	struct randprog_rng rng = randprog_rng_init(99, 0);
	bool ok = true;
	for (int k = 0; k < INPUTS * 4 && ok; k++) {
		struct input in;
		make_input(&in, &p, &rng);
		ok = check_input(&p, prog, bound, p.count, &in, (uint64_t)k, !verified ? false : k == 0, why, whylen);
	}
	bpfvm_program_free(prog);
	return ok;
}

static void check_fixed(void)
{
	struct stats saved = st;
	for (size_t i = 0; i < sizeof oracle_cases / sizeof oracle_cases[0]; i++) {
		if (xref.uninit_ok && !strcmp(oracle_cases[i].name, "uninitialised stack"))
			continue; /* allowed by the verifier's policy */
		char why[512] = "";
		bool ok = run_fixed(&oracle_cases[i], false, why, sizeof why);
		CHECK(!ok, "oracle case \"%s\": no oracle flagged it", oracle_cases[i].name);
		bpfvm_error err = { 0 };
		struct uprog p = { .type = oracle_cases[i].type, .mem_size = oracle_cases[i].mem_size };
		CHECK(verify(&p, oracle_cases[i].insns, oracle_cases[i].count, NULL, &err) != 0,
		      "oracle case \"%s\" accepted by the verifier", oracle_cases[i].name);
	}
	for (size_t i = 0; i < sizeof regressions / sizeof regressions[0]; i++) {
		char why[512] = "";
		bool ok = run_fixed(&regressions[i], true, why, sizeof why);
		CHECK(ok, "regression \"%s\": accepted and %s", regressions[i].name, why);
	}
	st = saved;
}

/* ---- main --------------------------------------------------------------- */

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	return v && *v ? strtoull(v, NULL, 0) : dflt;
}

static int by_count(const void *a, const void *b)
{
	uint64_t x = ((const uint64_t *)((const char *)a + 48))[0], y = ((const uint64_t *)((const char *)b + 48))[0];
	return x < y ? 1 : x > y ? -1 : 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (setup())
		goto out;
	uint64_t count = env_u64("BPFVM_VFUZZ_COUNT", 100000);
	uint64_t seed = env_u64("BPFVM_VFUZZ_SEED", 1);
	uint64_t start = env_u64("BPFVM_VFUZZ_START", 0);
	/* the verifier's policy on unwritten stack, as its test says: a read of
	 * fp-8 never written is accepted (the privileged kernel's rule) or not */
	{
		static const bpfvm_insn probe[] = { I(0x79, 0, 10, -8, 0), I(0x95, 0, 0, 0, 0) };
		struct uprog q = { .type = UP_RAW };
		bpfvm_error err;
		xref.uninit_ok = verify(&q, probe, 2, NULL, &err) == 0;
		const char *e = getenv("BPFVM_VFUZZ_UNINIT_STACK");
		if (e && !strcmp(e, "flag"))
			xref.uninit_ok = false;
		printf("reads of unwritten stack: %s\n", xref.uninit_ok ? "allowed by the verifier, counted" : "violations");
	}
	check_fixed();
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t i = start; i < start + count; i++) {
		fuzz_one(seed, i);
		if (getenv("BPFVM_VFUZZ_PROGRESS") && (i - start) % 100000 == 99999)
			printf("... %" PRIu64 " programs, %" PRIu64 " accepted, %" PRIu64 " violations\n", i - start + 1,
			       st.accepted, st.violations);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("seed %" PRIu64 ", indexes %" PRIu64 "..%" PRIu64 ": %" PRIu64 " programs (%" PRIu64 " raw, %" PRIu64
	       " xdp; %" PRIu64 " skipped as too long) in %.1f s\n", seed, start, start + count - 1, st.programs,
	       st.programs_type[0], st.programs_type[1], st.skipped, secs);
	printf("accepted %" PRIu64 " (%.1f%%; raw %" PRIu64 ", xdp %" PRIu64 "), rejected %" PRIu64 "\n", st.accepted,
	       st.programs ? 100.0 * (double)st.accepted / (double)st.programs : 0.0, st.accepted_type[0],
	       st.accepted_type[1], st.rejected);
	printf("runs %" PRIu64 "; accepted programs touching memory other than the stack: %" PRIu64 " (%.1f%%); "
	       "accesses executed: %" PRIu64 " to memory, %" PRIu64 " to the stack (reference executor)\n", st.runs,
	       st.touching, st.accepted ? 100.0 * (double)st.touching / (double)st.accepted : 0.0, st.mem_accesses,
	       st.stack_accesses);
	qsort(st.reasons, st.nreasons, sizeof st.reasons[0], by_count);
	printf("rejections by reason:\n");
	for (unsigned i = 0; i < st.nreasons; i++)
		printf("  %8" PRIu64 "  %s\n", st.reasons[i].n, st.reasons[i].key);
	printf("runs reading unwritten stack (allowed: %s): %" PRIu64 ", of which unchecked r0 differed from checked: %"
	       PRIu64 "\n", xref.uninit_ok ? "yes" : "no", st.uninit_runs, st.uninit_diverged);
	printf("violations: %" PRIu64 " (of which endless loops: %" PRIu64 ")\n", st.violations, st.endless);
	CHECK(st.violations == 0, "%" PRIu64 " programs accepted by the verifier violated memory safety", st.violations);
	if (count >= 2000) {
		CHECK(st.accepted * 5 >= st.programs, "only %" PRIu64 " of %" PRIu64 " programs accepted", st.accepted,
		      st.programs);
		CHECK(st.touching * 2 >= st.accepted, "only %" PRIu64 " accepted programs touched memory", st.touching);
		CHECK(st.rejected * 5 >= st.programs, "only %" PRIu64 " of %" PRIu64 " programs rejected", st.rejected,
		      st.programs);
	}
out:
	for (int i = 0; i < UP_MAP_COUNT; i++)
		bpfvm_map_put(maps[i]);
	bpfvm_helpers_free(helpers);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
