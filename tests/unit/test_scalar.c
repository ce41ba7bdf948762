/*
 * test_scalar.c - tests of the verifier's scalar domain (tnum.c, scalar.c).
 *
 * Owns: the checks that
 *   1. every transfer function is sound: random abstract scalars, each
 *      carried with concrete members known to be in it, go through every
 *      ALU operation (64 and 32-bit, every offset variant), byte swap,
 *      branch decision and branch narrowing; the concrete results must be
 *      members of the abstract ones.  Seed and size come from
 *      BPFVM_SCALAR_SEED and BPFVM_SCALAR_COUNT;
 *   2. known cases come out exactly as precise as the kernel's verifier
 *      makes them (bounds, known bits, log text);
 *   3. scalar_sync()'s shortcuts (its memo, the shapes it knows a round
 *      leaves alone) give bit for bit what running every round gives,
 *      on random scalars of those shapes, near them, and others; and
 *      its memo spreads the scalars of a walk over its slots.
 *
 * A plain program: one line per failure, then "N passed, M failed".
 * Exits 0 iff nothing failed.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "support/check.h"
#include "support/verifier_testlib.h"
#include "verifier/scalar.h"

/* ---- random numbers ----------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* A value biased towards the places bounds logic gets wrong: small
 * numbers, the sign boundaries, all-ones, powers of two. */
static uint64_t interesting(void)
{
	static const uint64_t edges[] = {
		0, 1, 2, 3, 7, 8, 15, 16, 31, 32, 63, 64, 255, 256, 0x7fff, 0x8000, 0xffff,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, 0x7fffffffffffffff,
		0x8000000000000000, 0xffffffffffffffff, 0xfffffffffffffffe, 0xffffffff80000000,
		0xffffffff7fffffff, 0x1ffffffff,
	};
	switch (below(6)) {
	case 0:
		return edges[below(sizeof(edges) / sizeof(edges[0]))];
	case 1:
		return edges[below(sizeof(edges) / sizeof(edges[0]))] + below(5) - 2;
	case 2:
		return below(64);
	case 3:
		return (uint64_t)-(int64_t)below(64);
	case 4:
		return 1ull << below(64);
	default:
		return rnd();
	}
}

/* ---- the ISA's concrete semantics --------------------------------------- */

static uint64_t conc_alu(uint64_t a, uint64_t b, enum isa_alu op, bool alu64, unsigned sext_bits)
{
	if (!alu64) {
		uint32_t x = (uint32_t)a, y = (uint32_t)b;
		switch (op) {
		case ALU_ADD: return (uint32_t)(x + y);
		case ALU_SUB: return (uint32_t)(x - y);
		case ALU_MUL: return (uint32_t)(x * y);
		case ALU_SDIV:
			return y == 0 ? 0 : (int32_t)y == -1 ? (uint32_t)-x : (uint32_t)((int32_t)x / (int32_t)y);
		case ALU_DIV: return y ? x / y : 0;
		case ALU_OR: return x | y;
		case ALU_AND: return x & y;
		case ALU_LSH: return (uint32_t)(x << (y & 31));
		case ALU_RSH: return x >> (y & 31);
		case ALU_NEG: return (uint32_t)-x;
		case ALU_SMOD:
			return y == 0 ? x : (int32_t)y == -1 ? 0 : (uint32_t)((int32_t)x % (int32_t)y);
		case ALU_MOD: return y ? x % y : x;
		case ALU_XOR: return x ^ y;
		case ALU_MOVSX:
			if (sext_bits == 8)
				return (uint32_t)(int32_t)(int8_t)y;
			if (sext_bits == 16)
				return (uint32_t)(int32_t)(int16_t)y;
			return y;
		case ALU_MOV: return y;
		case ALU_ARSH: return (uint32_t)((int32_t)x >> (y & 31));
		default: return 0;
		}
	}
	switch (op) {
	case ALU_ADD: return a + b;
	case ALU_SUB: return a - b;
	case ALU_MUL: return a * b;
	case ALU_SDIV: return b == 0 ? 0 : (int64_t)b == -1 ? -a : (uint64_t)((int64_t)a / (int64_t)b);
	case ALU_DIV: return b ? a / b : 0;
	case ALU_OR: return a | b;
	case ALU_AND: return a & b;
	case ALU_LSH: return a << (b & 63);
	case ALU_RSH: return a >> (b & 63);
	case ALU_NEG: return -a;
	case ALU_SMOD: return b == 0 ? a : (int64_t)b == -1 ? 0 : (uint64_t)((int64_t)a % (int64_t)b);
	case ALU_MOD: return b ? a % b : a;
	case ALU_XOR: return a ^ b;
	case ALU_MOVSX:
		if (sext_bits == 8)
			return (uint64_t)(int64_t)(int8_t)b;
		if (sext_bits == 16)
			return (uint64_t)(int64_t)(int16_t)b;
		if (sext_bits == 32)
			return (uint64_t)(int64_t)(int32_t)b;
		return b;
	case ALU_MOV: return b;
	case ALU_ARSH: return (uint64_t)((int64_t)a >> (b & 63));
	default: return 0;
	}
}

/* ALU_END_LE, ALU_END_BE or ALU_BSWAP of `bits`, on a little-endian host. */
static uint64_t conc_endian(uint64_t a, enum isa_alu op, unsigned bits)
{
	bool swap = op != ALU_END_LE;
	if (bits == 16)
		return swap ? __builtin_bswap16((uint16_t)a) : (uint16_t)a;
	if (bits == 32)
		return swap ? __builtin_bswap32((uint32_t)a) : (uint32_t)a;
	return swap ? __builtin_bswap64(a) : a;
}

static const uint8_t jmp_ops[] = { COND_EQ, COND_GT, COND_GE, COND_SET, COND_NE, COND_SGT, COND_SGE,
				   COND_LT, COND_LE, COND_SLT, COND_SLE, COND_SET_NOT };
#define NJMP (sizeof(jmp_ops) / sizeof(jmp_ops[0]))

/* ---- abstract scalars with known members -------------------------------- */

#define NW 8 /* members carried along with each abstract scalar */
#define POOL 512

struct sample {
	struct scalar s;
	uint64_t w[NW];
	int nw;
};

static struct sample pool[POOL];
static int pool_n;
static long soundness_checks;
static long undecided_checks; /* undecided jumps whose negation was asked */

static char *fmt(const struct scalar *s)
{
	static char bufs[4][256];
	static int next;
	char *b = bufs[next++ & 3];
	snprintf(b, 256, "{var=(%#" PRIx64 ";%#" PRIx64 ") s=[%" PRId64 ",%" PRId64 "] u=[%#" PRIx64
		 ",%#" PRIx64 "] s32=[%" PRId32 ",%" PRId32 "] u32=[%#" PRIx32 ",%#" PRIx32 "]}",
		 s->var.value, s->var.mask, s->smin, s->smax, s->umin, s->umax, s->s32_min,
		 s->s32_max, s->u32_min, s->u32_max);
	return b;
}

/* Checks that v is a member of s; counts one soundness check. */
static bool member(const struct scalar *s, uint64_t v, const char *what)
{
	soundness_checks++;
	bool ok = scalar_contains(s, v);
	CHECK(ok, "%s: %#" PRIx64 " not in %s", what, v, fmt(s));
	return ok;
}

/* A random member of x: one of its carried members, or a random
 * candidate drawn from its bits or ranges that scalar_contains accepts. */
static uint64_t pick_member(const struct sample *x)
{
	const struct scalar *s = &x->s;
	for (int tries = 0; tries < 8 && below(3); tries++) {
		uint64_t c;
		switch (below(6)) {
		case 0:
			c = s->var.value | (rnd() & s->var.mask);
			break;
		case 1:
			c = s->umin + below(s->umax - s->umin + 1 ? s->umax - s->umin + 1 : UINT64_MAX);
			c = (c & s->var.mask) | s->var.value;
			break;
		case 2:
			c = (uint64_t)s->smin + below((uint64_t)s->smax - (uint64_t)s->smin + 1);
			c = (c & s->var.mask) | s->var.value;
			break;
		case 3:
			c = (rnd() & ~0xffffffffull) | (s->u32_min + below((uint64_t)s->u32_max - s->u32_min + 1));
			c = (c & s->var.mask) | s->var.value;
			break;
		case 4:
			c = below(2) ? s->umin : s->umax;
			break;
		default:
			c = (uint64_t)(below(2) ? s->smin : s->smax);
			break;
		}
		if (scalar_contains(s, c))
			return c;
	}
	return x->w[below(x->nw)];
}

static void add_member(struct sample *x, uint64_t v)
{
	if (x->nw < NW)
		x->w[x->nw++] = v;
	else
		x->w[below(NW)] = v;
}

static void pool_put(const struct sample *x)
{
	if (pool_n < POOL)
		pool[pool_n++] = *x;
	else
		pool[below(POOL)] = *x;
}

static const struct sample *pool_get(void)
{
	return &pool[below(pool_n)];
}

/* The arithmetic operations, one of each kind: the signed and the
 * sign-extending forms are variants of these (alu_variant()). */
static const enum isa_alu alu_kinds[] = { ALU_ADD, ALU_SUB, ALU_MUL, ALU_DIV, ALU_OR,  ALU_AND, ALU_LSH,
					  ALU_RSH, ALU_NEG, ALU_MOD, ALU_XOR, ALU_MOV, ALU_ARSH };
#define NALU (sizeof(alu_kinds) / sizeof(alu_kinds[0]))

/* The operation an instruction of kind `op` with offset field `off`
 * performs, as the ISA's decoding selects it (sdiv, smod, movsx). */
static enum isa_alu alu_variant(enum isa_alu op, int16_t off)
{
	if (op == ALU_DIV && off == 1)
		return ALU_SDIV;
	if (op == ALU_MOD && off == 1)
		return ALU_SMOD;
	if (op == ALU_MOV && off)
		return ALU_MOVSX;
	return op;
}

static enum isa_alu random_alu(bool alu64, unsigned *sext_bits)
{
	enum isa_alu op = alu_kinds[below(NALU)];
	int16_t off = 0;
	if ((op == ALU_DIV || op == ALU_MOD) && below(2))
		off = 1;
	if (op == ALU_MOV) {
		static const int16_t sx[] = { 0, 8, 16, 32 };
		off = sx[below(alu64 ? 4 : 3)];
	}
	*sext_bits = op == ALU_MOV ? (unsigned)off : 0;
	return alu_variant(op, off);
}

/* New abstract scalars, by several methods; each has real members. */
static void make_sample(struct sample *x)
{
	uint64_t w = interesting();
	x->nw = 0;
	switch (below(7)) {
	case 0: /* a constant */
		scalar_known(&x->s, w);
		add_member(x, w);
		return;
	case 1: { /* known bits from a random mask */
		uint64_t m = rnd();
		if (below(2))
			m &= below(2) ? 0xff : 0xffffffffull;
		if (below(3) == 0)
			m = ~m;
		scalar_unknown(&x->s);
		x->s.var = (struct tnum){ w & ~m, m };
		CHECK(scalar_sync(&x->s), "sync of a tnum failed");
		add_member(x, w);
		for (int i = 0; i < 3; i++)
			add_member(x, (w & ~m) | (rnd() & m));
		return;
	}
	case 2: /* a load */
		if (below(2))
			scalar_unknown_size(&x->s, 1u << below(4));
		else
			scalar_unknown_signed(&x->s, 1u << below(4));
		/* members: the concrete loads */
		for (int i = 0; i < 4; i++) {
			uint64_t v = rnd();
			add_member(x, v); /* replaced below if not a member */
		}
		x->nw = 0;
		for (int i = 0; i < 16 && x->nw < 4; i++) {
			uint64_t v = interesting();
			if (scalar_contains(&x->s, v))
				add_member(x, v);
		}
		if (x->nw == 0) {
			scalar_unknown(&x->s);
			add_member(x, w);
		}
		return;
	case 3:
	case 4: { /* a range (or two) cut from the unknown by branch narrowing */
		struct scalar k;
		scalar_unknown(&x->s);
		add_member(x, w);
		for (int n = 1 + (int)below(3); n > 0; n--) {
			uint8_t op = jmp_ops[below(NJMP)];
			bool is32 = below(2);
			uint64_t c = below(2) ? interesting() : w + below(64) - 32;
			scalar_known(&k, c);
			if (!cond_holds(w, c, op, is32))
				op = cond_negate(op);
			bool ok = scalar_refine(&x->s, &k, op, is32);
			CHECK(ok, "refine to a satisfiable range failed");
			if (!ok) {
				scalar_unknown(&x->s);
				return;
			}
			member(&x->s, w, "refine (making)");
		}
		return;
	}
	default: { /* the result of an earlier operation */
		if (pool_n == 0) {
			scalar_known(&x->s, w);
			add_member(x, w);
			return;
		}
		const struct sample *a = pool_get(), *b = pool_get();
		bool alu64 = below(2);
		unsigned sext_bits;
		enum isa_alu op = random_alu(alu64, &sext_bits);
		x->s = a->s;
		scalar_alu(&x->s, &b->s, op, alu64, sext_bits);
		for (int i = 0; i < 4; i++) {
			uint64_t r = conc_alu(pick_member(a), pick_member(b), op, alu64, sext_bits);
			if (member(&x->s, r, "alu (making)"))
				add_member(x, r);
		}
		if (x->nw == 0) {
			scalar_unknown(&x->s);
			add_member(x, w);
		}
		return;
	}
	}
}

/* ---- the soundness properties ------------------------------------------- */

static void check_alu(const struct sample *a, const struct sample *b)
{
	for (int alu64 = 0; alu64 < 2; alu64++) {
		for (size_t i = 0; i < NALU; i++) {
			enum isa_alu kind = alu_kinds[i];
			int16_t offs[4] = { 0 };
			int noff = 1;
			if (kind == ALU_DIV || kind == ALU_MOD)
				offs[noff++] = 1;
			if (kind == ALU_MOV) {
				offs[noff++] = 8;
				offs[noff++] = 16;
				if (alu64)
					offs[noff++] = 32;
			}
			for (int j = 0; j < noff; j++) {
				enum isa_alu op = alu_variant(kind, offs[j]);
				unsigned sext_bits = op == ALU_MOVSX ? (unsigned)offs[j] : 0;
				struct sample r = { .s = a->s };
				scalar_alu(&r.s, &b->s, op, alu64, sext_bits);
				for (int k = 0; k < 4; k++) {
					uint64_t x = pick_member(a), y = pick_member(b);
					uint64_t v = conc_alu(x, y, op, alu64, sext_bits);
					char what[640];
					snprintf(what, sizeof(what), "alu op %d alu64 %d off %d on %#" PRIx64 ", %#" PRIx64 " from %s, %s",
						 op, alu64, offs[j], x, y, fmt(&a->s), fmt(&b->s));
					if (!member(&r.s, v, what))
						return;
					add_member(&r, v);
				}
				if (below(8) == 0)
					pool_put(&r);
			}
		}
	}
	for (int cls = 0; cls < 2; cls++)
		for (int be = 0; be < 2; be++)
			for (unsigned bits = 16; bits <= 64; bits *= 2) {
				if (cls && be)
					continue;
				enum isa_alu op = cls ? ALU_BSWAP : be ? ALU_END_BE : ALU_END_LE;
				struct scalar r = a->s;
				scalar_endian(&r, op, bits);
				for (int k = 0; k < 3; k++) {
					uint64_t x = pick_member(a);
					member(&r, conc_endian(x, op, bits), "endian");
				}
			}
	/* mov of a register into itself and ops with itself as source */
	struct scalar r = a->s;
	scalar_alu(&r, &r, ALU_SUB, true, 0);
	member(&r, 0, "x - x");
	r = a->s;
	scalar_alu(&r, &r, ALU_ADD, true, 0);
	uint64_t x = pick_member(a);
	member(&r, x + x, "x + x");
}

static void check_branches(const struct sample *a, const struct sample *b)
{
	for (size_t i = 0; i < NJMP; i++) {
		for (int is32 = 0; is32 < 2; is32++) {
			uint8_t op = jmp_ops[i];
			/* distinct registers, even when a and b are one sample */
			struct scalar sa = a->s, sb = b->s;
			int taken = scalar_branch_taken(&sa, &sb, op, is32);
			struct scalar t1 = a->s, t2 = b->s, f1 = a->s, f2 = b->s;
			bool tok = scalar_refine(&t1, &t2, op, is32);
			bool fok = scalar_refine(&f1, &f2, cond_negate(op), is32);
			if (taken == -1) {
				/* the verifier narrows both sides of a jump
				 * undecided for op without asking again
				 * (scalar_refine_undecided): its negation must be
				 * undecided too */
				undecided_checks++;
				CHECK(scalar_branch_taken(&sa, &sb, cond_negate(op), is32) == -1,
				      "branch %#x is32 %d undecided, its negation decided, for %s, %s", op, is32,
				      fmt(&a->s), fmt(&b->s));
			}
			for (int k = 0; k < 6; k++) {
				uint64_t x = pick_member(a), y = pick_member(b);
				bool c = cond_holds(x, y, op, is32);
				soundness_checks += 3;
				CHECK(c == cond_holds(y, x, cond_swap(op), is32), "cond_swap %#x", op);
				CHECK(c != cond_holds(x, y, cond_negate(op), is32), "cond_negate %#x", op);
				CHECK(taken == -1 || taken == (int)c,
				      "branch %#x is32 %d said %d for %#" PRIx64 ", %#" PRIx64 " in %s, %s",
				      op, is32, taken, x, y, fmt(&a->s), fmt(&b->s));
				char what[64];
				snprintf(what, sizeof(what), "refine op %#x is32 %d (%s)", c ? op : cond_negate(op),
					 is32, c ? "taken" : "not taken");
				bool ok = c ? tok : fok;
				soundness_checks++;
				CHECK(ok, "%s: returned false for %#" PRIx64 ", %#" PRIx64 " in %s, %s", what, x,
				      y, fmt(&a->s), fmt(&b->s));
				if (!ok)
					return;
				if (!member(c ? &t1 : &f1, x, what) || !member(c ? &t2 : &f2, y, what)) {
					printf("   operands %s, %s\n", fmt(&a->s), fmt(&b->s));
					return;
				}
			}
			/* narrowed scalars make good new samples */
			if (below(16) == 0 && tok) {
				struct sample n = { .s = t1 };
				for (int k = 0; k < a->nw; k++)
					if (cond_holds(a->w[k], pick_member(b), op, is32) &&
					    scalar_contains(&t1, a->w[k]))
						add_member(&n, a->w[k]);
				if (n.nw)
					pool_put(&n);
			}
			/* a register compared with itself */
			struct scalar s = a->s;
			uint64_t x = pick_member(a);
			bool c = cond_holds(x, x, op, is32);
			int self = scalar_branch_taken(&s, &s, op, is32);
			soundness_checks++;
			CHECK(self == -1 || self == (int)c, "self branch %#x is32 %d said %d for %#" PRIx64, op,
			      is32, self, x);
			bool ok = scalar_refine(&s, &s, c ? op : cond_negate(op), is32);
			soundness_checks++;
			CHECK(ok, "self refine %#x returned false", op);
			if (ok)
				member(&s, x, "self refine");
		}
	}
}

static void check_within(const struct sample *a, const struct sample *b)
{
	struct scalar cur[3];
	cur[0] = b->s;
	scalar_known(&cur[1], pick_member(a));
	cur[2] = a->s;
	struct scalar k;
	scalar_known(&k, pick_member(b));
	scalar_refine(&cur[2], &k, jmp_ops[below(NJMP)], below(2));
	for (int i = 0; i < 3; i++) {
		if (!scalar_within(&a->s, &cur[i]))
			continue;
		for (int n = 0; n < 4; n++) {
			struct sample tmp = { .s = cur[i], .nw = 1 };
			tmp.w[0] = i == 0 ? pick_member(b) : cur[i].umin;
			uint64_t v = pick_member(&tmp);
			if (scalar_contains(&cur[i], v))
				member(&a->s, v, "within");
		}
	}
}

static void soundness(uint64_t seed, long count)
{
	rng_state = seed;
	pool_n = 0;
	for (long it = 0; it < count; it++) {
		struct sample x;
		make_sample(&x);
		for (int i = 0; i < x.nw; i++)
			member(&x.s, x.w[i], "made sample");
		pool_put(&x);
		const struct sample *a = pool_get(), *b = pool_get();
		switch (it % 3) {
		case 0:
			check_alu(a, b);
			break;
		case 1:
			check_branches(a, b);
			break;
		default:
			check_within(a, b);
			break;
		}
		if (failed > 50) {
			printf("too many failures, stopping (seed %#" PRIx64 ", iteration %ld)\n", seed, it);
			return;
		}
	}
}

/* ---- scalar_sync's shortcuts ---------------------------------------------- */

/* A scalar of the shapes scalar_sync() knows a round leaves alone: a
 * number below 2^32 whose ranges are one interval [lo, hi] and whose
 * known bits are a random narrowing of tnum_range(lo, hi), or a known
 * number; often a fixed point, often a near one. */
static void shortcut_shape(struct scalar *s)
{
	uint64_t lo = interesting() & 0xffffffffull, hi = interesting() & 0xffffffffull;
	if (below(3) == 0)
		hi = lo + below(300);
	if (hi > 0xffffffffull)
		hi = 0xffffffffull;
	if (lo > hi) {
		uint64_t t = lo;
		lo = hi;
		hi = t;
	}
	if (below(8) == 0) {
		scalar_known(s, interesting());
		return;
	}
	struct tnum r = tnum_range(lo, hi);
	uint64_t fix = below(2) ? 0 : rnd() & r.mask;
	if (below(2))
		fix &= ~(r.mask >> 1); /* only the top unknown bits known */
	s->var = (struct tnum){ (r.value | (lo & fix)) & ~(r.mask & ~fix), r.mask & ~fix };
	s->umin = lo;
	s->umax = hi;
	s->smin = (int64_t)lo;
	s->smax = (int64_t)hi;
	s->u32_min = (uint32_t)lo;
	s->u32_max = (uint32_t)hi;
	if (lo <= INT32_MAX && hi > INT32_MAX) {
		s->s32_min = INT32_MIN;
		s->s32_max = INT32_MAX;
	} else {
		s->s32_min = (int32_t)(uint32_t)lo;
		s->s32_max = (int32_t)(uint32_t)hi;
	}
}

/* One field of s moved by a little or a lot, as a jump's narrowing or an
 * operation's result leaves a scalar before its sync. */
/* One bound of s moved inwards by d (wrapping): `which` 0-7 is umin,
 * umax, smin, smax, u32_min, u32_max, s32_min, s32_max. */
static void move_bound(struct scalar *s, unsigned which, uint64_t d)
{
	switch (which) {
	case 0: s->umin += d; break;
	case 1: s->umax -= d; break;
	case 2: s->smin = (int64_t)((uint64_t)s->smin + d); break;
	case 3: s->smax = (int64_t)((uint64_t)s->smax - d); break;
	case 4: s->u32_min += (uint32_t)d; break;
	case 5: s->u32_max -= (uint32_t)d; break;
	case 6: s->s32_min = (int32_t)((uint32_t)s->s32_min + (uint32_t)d); break;
	default: s->s32_max = (int32_t)((uint32_t)s->s32_max - (uint32_t)d); break;
	}
}

static void nudge(struct scalar *s)
{
	uint64_t d = below(2) ? 1 + below(3) : rnd();
	unsigned which = (unsigned)below(13);
	switch (which) {
	case 10: s->var.value ^= (1ull << below(64)) & ~s->var.mask; break;
	case 11: s->s32_min = INT32_MIN; s->s32_max = INT32_MAX; s->u32_min = 0; s->u32_max = UINT32_MAX; break;
	case 12: s->smin = INT64_MIN; s->smax = INT64_MAX; s->umin = 0; s->umax = UINT64_MAX; break;
	case 8: s->var.mask &= ~(1ull << below(64)); s->var.value &= ~s->var.mask; break;
	case 9: s->var.mask |= 1ull << below(64); s->var.value &= ~s->var.mask; break;
	default: move_bound(s, which, d); break;
	}
}

/* A loop counter as a jump's narrowing or an addition leaves it before
 * its sync (scalar_sync's sync_shape): a shortcut shape with some of its
 * ranges narrowed each by its own amount (the others lagging), unknown
 * bits added above the low half (a carry) or in it, or one of its
 * 64-bit ranges made a single number, in the others or not. */
static void counter_shape(struct scalar *s)
{
	shortcut_shape(s);
	uint64_t span = s->umax - s->umin;
	for (int n = (int)below(4); n >= 0; n--) {
		uint64_t d = below(2) ? below(3) : below(span + 1);
		unsigned which = (unsigned)below(9);
		switch (which) {
		case 0: case 1: case 2: case 3: case 4: case 5: move_bound(s, which, d); break;
		case 6:
			s->var.mask |= rnd() & (below(2) ? ~0xffffffffull : 0xffffffffull);
			s->var.value &= ~s->var.mask;
			break;
		case 7: s->smax = INT64_MAX; break;
		default:
			if (below(2))
				s->umin = s->umax = s->umin + d;
			else
				s->smin = s->smax = (int64_t)((uint64_t)s->smin + d);
			break;
		}
	}
	if (below(4) == 0)
		nudge(s);
}

/* scalar_sync(), memo and shortcuts included, gives exactly what every
 * round of scalar_sync_rounds() gives, on scalars of the shortcuts'
 * shapes, near them, loop counters before their sync, and from the
 * soundness samples; enough of them
 * fixed points that the shortcut taken at once is exercised. */
static void sync_shortcuts(uint64_t seed, long count)
{
	long fixed = 0, differ = 0;
	rng_state = seed ^ 0x5e1f;
	pool_n = 0;
	for (long it = 0; it < count; it++) {
		struct scalar s;
		switch (below(5)) {
		case 4:
			counter_shape(&s);
			break;
		case 0:
			shortcut_shape(&s);
			break;
		case 1:
			shortcut_shape(&s);
			nudge(&s);
			break;
		case 2: {
			struct sample x;
			make_sample(&x);
			pool_put(&x);
			s = x.s;
			break;
		}
		default: {
			struct sample x;
			make_sample(&x);
			pool_put(&x);
			s = x.s;
			nudge(&s);
			break;
		}
		}
		struct scalar fast = s, slow = s;
		bool fast_ok = scalar_sync(&fast), slow_ok = scalar_sync_rounds(&slow);
		/* a second call may be answered from the memo */
		struct scalar again = s;
		bool again_ok = scalar_sync(&again);
		if (slow_ok && !memcmp(&slow, &s, sizeof s))
			fixed++;
		if (fast_ok != slow_ok || again_ok != slow_ok || memcmp(&fast, &slow, sizeof s) ||
		    memcmp(&again, &slow, sizeof s)) {
			differ++;
			CHECK(false, "sync of %s: %d %s, every round %d %s", fmt(&s), fast_ok, fmt(&fast), slow_ok,
			      fmt(&slow));
			if (differ > 20)
				return;
		}
	}
	CHECK(fixed > count / 10, "only %ld of %ld scalars were fixed points", fixed, count);
	printf("sync shortcuts: %ld scalars, %ld fixed points, %ld differ\n", count, fixed, differ);
}

/* scalar_sync()'s memo spreads the scalars a walk asks about over its
 * slots: the unknown numbers of 1 to 64 bits (what a loop's shifts and
 * masks make), which differ only in their high bits from 41 bits on, and
 * the counters [0, n] for n below 64, which differ only in their low
 * bits.  Slots drawn at random would give ~57 of 64 distinct: fewer than
 * 48 says the slot ignores part of the scalar, and the memo's answers
 * evict one another on every question. */
static void memo_spread(void)
{
	bool used[2][1024] = { { false } };
	int distinct[2] = { 0, 0 };
	for (unsigned bits = 1; bits <= 64; bits++) {
		struct scalar s;
		scalar_unknown(&s);
		uint64_t top = bits == 64 ? UINT64_MAX : (1ull << bits) - 1;
		s.var.mask = top;
		s.umax = top;
		if (bits < 64)
			s.smin = 0, s.smax = (int64_t)top;
		CHECK(scalar_sync(&s), "unknown number of %u bits is satisfiable", bits);
		struct scalar c;
		scalar_known(&c, 0);
		c.var = tnum_range(0, bits - 1);
		c.umax = c.u32_max = bits - 1;
		c.smax = c.s32_max = (int32_t)(bits - 1);
		const struct scalar *each[2] = { &s, &c };
		for (int k = 0; k < 2; k++) {
			unsigned slot = scalar_memo_slot(each[k]);
			CHECK(slot < 1024, "slot %u within the memo", slot);
			if (slot < 1024 && !used[k][slot]) {
				used[k][slot] = true;
				distinct[k]++;
			}
		}
	}
	CHECK(distinct[0] >= 48, "unknown numbers of 1..64 bits take %d distinct memo slots of 64", distinct[0]);
	CHECK(distinct[1] >= 48, "counters [0, n], n < 64, take %d distinct memo slots of 64", distinct[1]);
	printf("memo spread: %d and %d distinct slots of 64\n", distinct[0], distinct[1]);
}

/* scalar_alu() gives exactly what scalar_alu_general() gives: on two
 * known numbers (its shortcut: interesting ones, small ones, shift
 * amounts past the width), on a known number and a near one, and on
 * samples; every operation, both classes. */
static void alu_shortcut(uint64_t seed, long count)
{
	long differ = 0;
	rng_state = seed ^ 0xa1c0;
	for (long it = 0; it < count; it++) {
		struct scalar a, b;
		scalar_known(&a, below(2) ? interesting() : below(70));
		scalar_known(&b, below(2) ? interesting() : below(70));
		switch (below(6)) {
		case 0: {
			struct sample x;
			make_sample(&x);
			a = x.s;
			break;
		}
		case 1:
			nudge(below(2) ? &a : &b);
			break;
		default:
			break;
		}
		for (int alu64 = 0; alu64 < 2; alu64++)
			for (size_t i = 0; i < NALU; i++) {
				enum isa_alu kind = alu_kinds[i];
				int16_t off = 0;
				if ((kind == ALU_DIV || kind == ALU_MOD) && below(2))
					off = 1;
				if (kind == ALU_MOV && below(2))
					off = (int16_t)(8 << below(alu64 ? 3 : 2));
				enum isa_alu op = alu_variant(kind, off);
				unsigned sext_bits = op == ALU_MOVSX ? (unsigned)off : 0;
				struct scalar fast = a, slow = a;
				scalar_alu(&fast, &b, op, alu64, sext_bits);
				scalar_alu_general(&slow, &b, op, alu64, sext_bits);
				if (memcmp(&fast, &slow, sizeof fast)) {
					differ++;
					CHECK(false, "alu op %d alu64 %d of %s, %s: %s, general %s", op, alu64, fmt(&a), fmt(&b),
					      fmt(&fast), fmt(&slow));
					if (differ > 20)
						return;
				}
			}
	}
	printf("alu shortcut: %ld operand pairs, %ld differ\n", count, differ);
}

/* ---- precision ------------------------------------------------------------ */

static void unknown(struct scalar *s)
{
	scalar_unknown(s);
}

static void known(struct scalar *s, uint64_t v)
{
	scalar_known(s, v);
}

static struct scalar alu_k(struct scalar s, enum isa_alu op, bool alu64, unsigned sext_bits, uint64_t k)
{
	struct scalar c;
	known(&c, k);
	scalar_alu(&s, &c, op, alu64, sext_bits);
	return s;
}

static void expect_const(const struct scalar *s, uint64_t v, const char *what)
{
	CHECK(scalar_is_const(s) && s->var.value == v && s->umin == v && s->umax == v &&
		      s->smin == (int64_t)v && s->u32_min == (uint32_t)v && s->s32_max == (int32_t)v,
	      "%s: expected %#" PRIx64 ", got %s", what, v, fmt(s));
}

static void expect_format(const struct scalar *s, const char *want)
{
	char buf[256];
	int n = scalar_format(s, buf, sizeof(buf));
	CHECK(strcmp(buf, want) == 0 && n == (int)strlen(want), "format: want \"%s\", got \"%s\"", want, buf);
}

static void precision(void)
{
	struct scalar s, t, c;

	/* constants fold */
	known(&s, 40);
	s = alu_k(s, ALU_ADD, true, 0, 2);
	expect_const(&s, 42, "40 + 2");
	expect_format(&s, "42");
	s = alu_k(s, ALU_MUL, true, 0, 3);
	expect_const(&s, 126, "42 * 3");
	known(&s, 100);
	expect_const((t = alu_k(s, ALU_DIV, true, 0, 7), &t), 14, "100 / 7");
	expect_const((t = alu_k(s, ALU_MOD, true, 0, 7), &t), 2, "100 % 7");
	expect_const((t = alu_k(s, ALU_DIV, true, 0, 0), &t), 0, "100 / 0");
	expect_const((t = alu_k(s, ALU_MOD, true, 0, 0), &t), 100, "100 % 0");
	expect_const((t = alu_k(s, ALU_MOD, false, 0, 0), &t), 100, "w: 100 % 0");
	known(&s, 0x8000000000000000ull);
	expect_const((t = alu_k(s, ALU_SDIV, true, 0, (uint64_t)-1), &t), 0x8000000000000000ull,
		     "INT64_MIN s/ -1");
	expect_const((t = alu_k(s, ALU_SMOD, true, 0, (uint64_t)-1), &t), 0, "INT64_MIN s% -1");
	known(&s, (uint64_t)-7);
	expect_const((t = alu_k(s, ALU_SDIV, true, 0, 2), &t), (uint64_t)-3, "-7 s/ 2");
	expect_const((t = alu_k(s, ALU_SMOD, true, 0, 2), &t), (uint64_t)-1, "-7 s% 2");
	expect_const((t = alu_k(s, ALU_SDIV, false, 0, 2), &t), 0xfffffffd, "w: -7 s/ 2");
	expect_const((t = alu_k(s, ALU_DIV, true, 0, 2), &t), 0x7ffffffffffffffcull, "-7 / 2");
	known(&s, 0x80000000);
	expect_const((t = alu_k(s, ALU_SDIV, false, 0, 0xffffffff), &t), 0x80000000, "w: INT32_MIN s/ -1");
	expect_const((t = alu_k(s, ALU_SMOD, false, 0, 0xffffffff), &t), 0, "w: INT32_MIN s% -1");

	/* 32-bit ops zero-extend */
	known(&s, 0xffffffffffffffffull);
	expect_const((t = alu_k(s, ALU_ADD, false, 0, 1), &t), 0, "w: 0xffffffff + 1");
	expect_const((t = alu_k(s, ALU_ADD, true, 0, 1), &t), 0, "0xffff...ff + 1");
	expect_const((t = alu_k(s, ALU_SUB, false, 0, 1), &t), 0xfffffffe, "w: -1 - 1");
	expect_const((t = alu_k(s, ALU_MOV, false, 0, 0), &t), 0, "w: mov 0");
	unknown(&s);
	t = s;
	scalar_alu(&t, &s, ALU_MOV, false, 0);
	CHECK(t.umax == 0xffffffff && t.umin == 0 && t.smin == 0 && t.var.mask == 0xffffffff,
	      "w: mov of unknown zero-extends: %s", fmt(&t));
	t = alu_k(s, ALU_ADD, false, 0, 1);
	CHECK(t.umax == 0xffffffff && t.smax == 0xffffffff && t.smin == 0, "w: unknown + 1: %s", fmt(&t));
	scalar_zext32(&s);
	CHECK(s.umax == 0xffffffff && s.var.mask == 0xffffffff, "zext32 of unknown: %s", fmt(&s));

	/* bitwise */
	unknown(&s);
	t = alu_k(s, ALU_AND, true, 0, 0xff);
	CHECK(t.umin == 0 && t.umax == 255 && t.smin == 0 && t.smax == 255 && t.var.value == 0 &&
		      t.var.mask == 0xff && t.u32_max == 255,
	      "x & 0xff: %s", fmt(&t));
	expect_format(&t, "scalar(umax=255,var_off=(0x0; 0xff))");
	t = alu_k(s, ALU_OR, true, 0, 0xf0);
	CHECK(t.umin == 0xf0 && t.var.value == 0xf0 && t.var.mask == ~0xf0ull, "x | 0xf0: %s", fmt(&t));
	t = alu_k(alu_k(s, ALU_AND, true, 0, 0xf), ALU_XOR, true, 0, 0xf0);
	CHECK(t.umin == 0xf0 && t.umax == 0xff && t.var.value == 0xf0 && t.var.mask == 0xf,
	      "(x & 0xf) ^ 0xf0: %s", fmt(&t));

	/* shifts */
	t = alu_k(s, ALU_RSH, true, 0, 60);
	CHECK(t.umax == 15 && t.umin == 0 && t.var.mask == 0xf, "x >> 60: %s", fmt(&t));
	t = alu_k(s, ALU_RSH, false, 0, 28);
	CHECK(t.umax == 15 && t.var.mask == 0xf, "w: x >> 28: %s", fmt(&t));
	t = alu_k(s, ALU_RSH, true, 0, 124); /* masked to 60 */
	CHECK(t.umax == 15, "x >> 124 (masked): %s", fmt(&t));
	t = alu_k(s, ALU_LSH, true, 0, 8);
	CHECK(t.var.mask == ~0xffull && t.var.value == 0, "x << 8: %s", fmt(&t));
	known(&s, 1);
	expect_const((t = alu_k(s, ALU_LSH, false, 0, 31), &t), 0x80000000, "w: 1 << 31");
	expect_const((t = alu_k(s, ALU_LSH, false, 0, 32), &t), 1, "w: 1 << 32 (masked)");
	expect_const((t = alu_k(s, ALU_LSH, true, 0, 63), &t), 0x8000000000000000ull, "1 << 63");
	known(&s, 0x80000000);
	expect_const((t = alu_k(s, ALU_ARSH, false, 0, 4), &t), 0xf8000000, "w: 0x80000000 s>> 4");
	unknown(&s);
	s = alu_k(s, ALU_AND, true, 0, 0xff);
	t = alu_k(s, ALU_LSH, true, 0, 56);
	t = alu_k(t, ALU_ARSH, true, 0, 56);
	CHECK(t.smin == -128 && t.smax == 127, "(x & 0xff) << 56 s>> 56: %s", fmt(&t));
	/* a shift by a register in [0, 3] */
	unknown(&c);
	c = alu_k(c, ALU_AND, true, 0, 3);
	t = s;
	scalar_alu(&t, &c, ALU_LSH, true, 0);
	CHECK(t.umax == 255 << 3 && t.var.mask == 0x7ff, "(x & 0xff) << (y & 3): %s", fmt(&t));

	/* arithmetic on ranges */
	unknown(&s);
	s = alu_k(s, ALU_AND, true, 0, 0xff);
	t = alu_k(s, ALU_ADD, true, 0, 10);
	CHECK(t.umin == 10 && t.umax == 265, "(x & 0xff) + 10: %s", fmt(&t));
	t = alu_k(s, ALU_SUB, true, 0, 10);
	CHECK(t.smin == -10 && t.smax == 245, "(x & 0xff) - 10: %s", fmt(&t));
	c = alu_k(s, ALU_AND, true, 0, 0xf);
	t = s;
	scalar_alu(&t, &c, ALU_MUL, true, 0);
	CHECK(t.umax == 255 * 15 && t.smin == 0, "(x & 0xff) * (y & 0xf): %s", fmt(&t));
	t = alu_k(s, ALU_MUL, true, 0, 4);
	CHECK(t.umax == 1020 && t.var.mask == 0x3fc, "(x & 0xff) * 4: %s", fmt(&t));
	t = s;
	scalar_alu(&t, &s, ALU_NEG, true, 0);
	CHECK(t.smin == -255 && t.smax == 0, "neg (x & 0xff): %s", fmt(&t));
	known(&s, 5);
	expect_const((t = alu_k(s, ALU_NEG, true, 0, 0), &t), (uint64_t)-5, "neg 5");
	expect_const((t = alu_k(s, ALU_NEG, false, 0, 0), &t), 0xfffffffb, "w: neg 5");

	/* sign-extending moves */
	known(&c, 0x80);
	unknown(&s);
	t = s;
	scalar_alu(&t, &c, ALU_MOVSX, true, 8);
	expect_const(&t, (uint64_t)-128, "movsx8 0x80");
	t = s;
	scalar_alu(&t, &c, ALU_MOVSX, false, 8);
	expect_const(&t, 0xffffff80, "w: movsx8 0x80");
	t = s;
	scalar_alu(&t, &s, ALU_MOVSX, true, 16);
	CHECK(t.smin == -32768 && t.smax == 32767, "movsx16 unknown: %s", fmt(&t));
	t = s;
	scalar_alu(&t, &s, ALU_MOVSX, true, 32);
	CHECK(t.smin == INT32_MIN && t.smax == INT32_MAX, "movsx32 unknown: %s", fmt(&t));
	c = alu_k(s, ALU_AND, true, 0, 0x7f);
	t = s;
	scalar_alu(&t, &c, ALU_MOVSX, true, 8);
	CHECK(t.smin == 0 && t.smax == 127 && t.var.mask == 0x7f, "movsx8 (x & 0x7f): %s", fmt(&t));

	/* byte swaps */
	known(&s, 0x1234);
	t = s;
	scalar_endian(&t, ALU_END_BE, 16);
	expect_const(&t, 0x3412, "be16 0x1234");
	known(&s, 0x1122334455667788ull);
	t = s;
	scalar_endian(&t, ALU_END_LE, 16);
	expect_const(&t, 0x7788, "le16");
	t = s;
	scalar_endian(&t, ALU_END_LE, 32);
	expect_const(&t, 0x55667788, "le32");
	t = s;
	scalar_endian(&t, ALU_BSWAP, 64);
	expect_const(&t, 0x8877665544332211ull, "bswap64");
	unknown(&s);
	t = s;
	scalar_endian(&t, ALU_END_BE, 32);
	CHECK(t.umax == 0xffffffff && t.var.mask == 0xffffffff, "be32 unknown: %s", fmt(&t));
	t = s;
	scalar_endian(&t, ALU_END_LE, 16);
	CHECK(t.umax == 0xffff && t.var.mask == 0xffff, "le16 unknown: %s", fmt(&t));

	/* loads */
	scalar_unknown_size(&s, 2);
	CHECK(s.umax == 0xffff && s.smin == 0 && s.var.mask == 0xffff, "u16 load: %s", fmt(&s));
	scalar_unknown_signed(&s, 1);
	CHECK(s.smin == -128 && s.smax == 127 && s.s32_min == -128 && s.s32_max == 127,
	      "s8 load: %s", fmt(&s));
	scalar_unknown_signed(&s, 4);
	CHECK(s.smin == INT32_MIN && s.smax == INT32_MAX, "s32 load: %s", fmt(&s));

	/* branches: decisions */
	unknown(&s);
	s = alu_k(s, ALU_AND, true, 0, 0xff);
	known(&c, 256);
	CHECK(scalar_branch_taken(&s, &c, COND_LT, false) == 1, "x&0xff < 256 always");
	CHECK(scalar_branch_taken(&s, &c, COND_EQ, false) == 0, "x&0xff == 256 never");
	CHECK(scalar_branch_taken(&s, &c, COND_SET, false) == 0, "x&0xff & 256 never");
	CHECK(scalar_branch_taken(&s, &c, COND_SET_NOT, false) == 1, "!(x&0xff & 256) always");
	known(&c, 10);
	CHECK(scalar_branch_taken(&s, &c, COND_LT, false) == -1, "x&0xff < 10 depends");
	CHECK(scalar_branch_taken(&s, &c, COND_SLT, true) == -1, "w: x&0xff s< 10 depends");
	known(&t, 10);
	CHECK(scalar_branch_taken(&t, &c, COND_EQ, false) == 1 && scalar_branch_taken(&t, &c, COND_NE, true) == 0,
	      "10 == 10");
	known(&t, 0x100000005ull);
	known(&c, 5);
	CHECK(scalar_branch_taken(&t, &c, COND_EQ, true) == 1 && scalar_branch_taken(&t, &c, COND_EQ, false) == 0,
	      "0x100000005 vs 5: equal low halves only");

	/* branches: narrowing */
	unknown(&s);
	known(&c, 10);
	t = s;
	CHECK(scalar_refine(&t, &c, COND_LT, false) && t.umax == 9 && t.umin == 0 && t.smin == 0,
	      "if x < 10 (taken): %s", fmt(&t));
	t = s;
	CHECK(scalar_refine(&t, &c, cond_negate(COND_LT), false) && t.umin == 10, "if x < 10 (not taken): %s",
	      fmt(&t));
	t = s;
	CHECK(scalar_refine(&t, &c, COND_SLT, false) && t.smax == 9 && t.smin == INT64_MIN,
	      "if x s< 10: %s", fmt(&t));
	t = s;
	CHECK(scalar_refine(&t, &c, COND_LT, true) && t.u32_max == 9 && t.umax == 0xffffffff00000009ull,
	      "if w < 10: %s", fmt(&t));
	expect_format(&t, "scalar(smax=0x7fffffff00000009,umax=0xffffffff00000009,smin32=0,smax32=9,umax32=9,var_off=(0x0; 0xffffffff0000000f))");
	t = s;
	CHECK(scalar_refine(&c, &t, COND_GT, false) && t.umax == 9, "if 10 > x: %s", fmt(&t));
	known(&c, 10);
	t = s;
	CHECK(scalar_refine(&t, &c, COND_EQ, false), "x == 10");
	expect_const(&t, 10, "if x == 10");
	t = alu_k(s, ALU_AND, true, 0, 0xff);
	known(&c, 0);
	CHECK(scalar_refine(&t, &c, COND_NE, false) && t.umin == 1 && t.umax == 255, "x&0xff != 0: %s", fmt(&t));
	known(&c, 300);
	t = alu_k(s, ALU_AND, true, 0, 0xff);
	CHECK(!scalar_refine(&t, &c, COND_EQ, false), "x&0xff == 300 is impossible");

	/* 32-bit facts move the 64-bit bounds to the next block of 2^32 */
	t = s;
	known(&c, 0x1fffffff0ull);
	CHECK(scalar_refine(&t, &c, COND_GE, false), "x >= 0x1fffffff0");
	known(&c, 5);
	CHECK(scalar_refine(&t, &c, COND_LE, true) && t.umin == 0x200000000ull && t.u32_max == 5,
	      "x >= 0x1fffffff0 && w <= 5: %s", fmt(&t));
	t = alu_k(s, ALU_AND, true, 0, 0x1fffffffffull);
	known(&c, 0x100000000ull);
	CHECK(scalar_refine(&t, &c, COND_LT, false), "x < 0x100000000");
	known(&c, 0);
	CHECK(scalar_refine(&t, &c, COND_SGT, true) && t.umin == 1 && t.umax == 0x7fffffff && t.smax == 0x7fffffff,
	      "x < 2^32 && w s> 0: %s", fmt(&t));

	/* jset */
	t = alu_k(s, ALU_AND, true, 0, 4); /* {0, 4} */
	known(&c, 4);
	CHECK(scalar_refine(&t, &c, COND_SET, false), "jset 4");
	expect_const(&t, 4, "(x & 4) & 4 taken");
	t = alu_k(s, ALU_AND, true, 0, 0x14); /* bits 2 and 4 unknown */
	known(&c, 0x6);
	/* as the kernel: a mask of two bits teaches nothing */
	CHECK(scalar_refine(&t, &c, COND_SET, false) && t.var.value == 0 && t.var.mask == 0x14,
	      "x & 0x14 jset 6 learns nothing (the kernel's rule): %s", fmt(&t));
	t = s;
	known(&c, 0xf0);
	CHECK(scalar_refine(&t, &c, COND_SET_NOT, false) && t.var.mask == ~0xf0ull && t.var.value == 0,
	      "!(x & 0xf0) clears bits: %s", fmt(&t));
	t = s;
	CHECK(scalar_refine(&t, &c, COND_SET_NOT, true) && t.var.mask == ~0xf0ull,
	      "w: !(x & 0xf0) clears bits: %s", fmt(&t));
	t = s;
	known(&c, 3);
	CHECK(scalar_refine(&t, &c, COND_SET, false) && t.umin == 0 && t.var.mask == UINT64_MAX,
	      "x jset 3: nothing learnt (the kernel's rule): %s", fmt(&t));

	/* a register against itself */
	unknown(&s);
	CHECK(scalar_branch_taken(&s, &s, COND_GE, false) == 1 && scalar_branch_taken(&s, &s, COND_SLT, true) == 0 &&
		      scalar_branch_taken(&s, &s, COND_SET, false) == -1,
	      "x >= x, x s< x, x & x");
	t = s;
	CHECK(!scalar_refine(&t, &t, COND_NE, false), "x != x is impossible");
	t = s;
	known(&c, 0);
	CHECK(scalar_refine(&t, &t, COND_SET, false) && t.umin == 0, "x & x: nothing learnt (the kernel's rule): %s",
	      fmt(&t));

	/* pruning */
	unknown(&s);
	t = alu_k(s, ALU_AND, true, 0, 0xf);
	c = alu_k(s, ALU_AND, true, 0, 0x3);
	CHECK(scalar_within(&t, &c) && !scalar_within(&c, &t), "(x & 3) within (x & 15)");
	CHECK(scalar_within(&s, &t) && !scalar_within(&t, &s), "anything within unknown");
	known(&c, 16);
	CHECK(!scalar_within(&t, &c), "16 not within x & 15");
	known(&c, 7);
	CHECK(scalar_within(&t, &c), "7 within x & 15");

	/* the log form */
	unknown(&s);
	expect_format(&s, "scalar()");
	known(&s, (uint64_t)-1);
	expect_format(&s, "-1");
	scalar_unknown_signed(&s, 1);
	expect_format(&s, "scalar(smin=-128,smax=127)");
	unknown(&s);
	known(&c, 10);
	CHECK(scalar_refine(&s, &c, COND_GE, false), "x >= 10");
	expect_format(&s, "scalar(umin=10)");
	t = alu_k(alu_k((unknown(&s), s), ALU_AND, true, 0, 0xf0), ALU_OR, true, 0, 1);
	expect_format(&t, "scalar(umin=1,umax=241,var_off=(0x1; 0xf0))");
	char small[8];
	int n = scalar_format(&t, small, sizeof(small));
	CHECK(n == (int)strlen("scalar(umin=1,umax=241,var_off=(0x1; 0xf0))") && strlen(small) == 7,
	      "format truncates like snprintf");
}

int main(void)
{
	uint64_t seed = 0x5ca1ab1e;
	long count = 20000;
	const char *e;
	if ((e = getenv("BPFVM_SCALAR_SEED")) && *e)
		seed = strtoull(e, NULL, 0);
	if ((e = getenv("BPFVM_SCALAR_COUNT")) && *e)
		count = strtol(e, NULL, 0);

	precision();
	int precision_failed = failed;
	soundness(seed, count);
	sync_shortcuts(seed, count * 10);
	memo_spread();
	alu_shortcut(seed, count * 5);
	printf("precision: %d failed; soundness: seed %#" PRIx64 ", %ld iterations, %ld membership checks, "
	       "%ld undecided jumps negated\n",
	       precision_failed, seed, count, soundness_checks, undecided_checks);
	CHECK(undecided_checks > count, "only %ld undecided jumps negated", undecided_checks);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
