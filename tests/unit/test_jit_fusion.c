/*
 * test_jit_fusion.c - the JIT's multi-instruction rewrites, one by one:
 * each idiom where it applies and near misses where it must not (a jump
 * onto an inner instruction, a register read afterwards, a different
 * count or width).  Every program runs in the interpreter and the JIT,
 * checked and unchecked, over a spread of inputs, and must give the
 * same r0 (and the same error); the unchecked machine code is searched
 * for the instruction the rewrite emits, so a test also fails when a
 * rewrite silently stops applying, or applies where it must not.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"

#include "support/check.h"

#define I(op, d, s, o, i) ((bpfvm_insn){ .opcode = (op), .dst = (d), .src = (s), .off = (o), .imm = (i) })
#define EXIT I(0x95, 0, 0, 0, 0)

static const uint64_t inputs[] = {
	0, 1, 2, 3, 7, 0x80, 0xff, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000001,
	0x8000000000000000, 0xfffffffffffffffe, 0xffffffffffffffff, 0x123456789abcdef1,
};

static bool contains(const void *hay, size_t n, const uint8_t *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (!memcmp((const uint8_t *)hay + i, needle, m))
			return true;
	return false;
}

static int run(const bpfvm_program *p, bpfvm_engine engine, bpfvm_mode mode, uint64_t a, uint64_t b,
               uint64_t *r0, int *insn)
{
	BPFVM_OPTS(bpfvm_run_opts, ro, .args = { a, b }, .mode = mode, .engine = engine, .max_back_edges = 1000);
	bpfvm_error err = { 0 };
	*r0 = 0;
	int rc = bpfvm_program_run(p, &ro, r0, &err);
	*insn = rc ? err.insn : -1;
	return rc;
}

/* The program loaded with both JIT modes compiled, or NULL (a failed check). */
static bpfvm_program *load_jit(const char *name, const bpfvm_insn *insns, size_t n)
{
	bpfvm_program *p = NULL;
	bpfvm_error err = { 0 };
	BPFVM_OPTS(bpfvm_load_opts, lo, .jit = true);
	if (bpfvm_program_load(insns, n, &lo, &p, &err)) {
		CHECK(false, "%s: load: %s", name, err.msg);
		return NULL;
	}
	return p;
}

/* `needle` must (want) or must not (!want) occur in p's unchecked machine
 * code (no needle: nothing to look for); then frees p. */
static void check_code(bpfvm_program *p, const char *name, const uint8_t *needle, size_t m, bool want)
{
	const void *code;
	size_t len;
	if (needle && !bpfvm_program_jited(p, BPFVM_UNCHECKED, &code, &len))
		CHECK(contains(code, len, needle, m) == want, "%s: the rewrite %s", name,
		      want ? "did not apply" : "applied where it must not");
	bpfvm_program_free(p);
}

/* Runs prog on every pair of inputs in all four ways; `needle` must
 * (want) or must not (!want) occur in the unchecked machine code. */
static void check(const char *name, const bpfvm_insn *insns, size_t n, const uint8_t *needle, size_t m, bool want)
{
	bpfvm_program *p = load_jit(name, insns, n);
	if (!p)
		return;
	int bad = 0;
	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
		for (size_t j = 0; j < sizeof inputs / sizeof inputs[0]; j += 3) {
			for (int mode = 0; mode < 2; mode++) {
				uint64_t ri, rj;
				int ii, ij;
				int ci = run(p, BPFVM_ENGINE_INTERP, (bpfvm_mode)mode, inputs[i], inputs[j], &ri, &ii);
				int cj = run(p, BPFVM_ENGINE_JIT, (bpfvm_mode)mode, inputs[i], inputs[j], &rj, &ij);
				if (ci != cj || ri != rj || ii != ij) {
					if (bad++ < 3)
						printf("  %s %s (0x%" PRIx64 ", 0x%" PRIx64 "): interp %d/0x%" PRIx64
						       "/%d, jit %d/0x%" PRIx64 "/%d\n",
						       name, mode ? "unchecked" : "checked", inputs[i], inputs[j], ci, ri, ii,
						       cj, rj, ij);
				}
			}
		}
	CHECK(bad == 0, "%s: %d runs differ between the interpreter and the JIT", name, bad);
	check_code(p, name, needle, m, want);
}

#define CHECK_PROG(name, needle, want, ...)                                                              \
	do {                                                                                             \
		const bpfvm_insn prog_[] = { __VA_ARGS__ };                                              \
		check(name, prog_, sizeof prog_ / sizeof prog_[0], needle, sizeof(needle), want);        \
	} while (0)

/* x &= 1; x *= K  ->  and; mov r11, K; cmovnz x, r11 */
static void test_and1_mul(void)
{
	static const uint8_t cmovnz64[] = { 0x49, 0x0f, 0x45, 0xc3 };   /* cmovnz rax, r11 */
	static const uint8_t cmovnz32[] = { 0x41, 0x0f, 0x45, 0xc3 };   /* cmovnz eax, r11d */
	static const uint8_t imul64[] = { 0x48, 0x69, 0xc0 };           /* imul rax, rax, imm32 */
	CHECK_PROG("and1 mul64", cmovnz64, true,
	           I(0xbf, 0, 1, 0, 0), I(0x57, 0, 0, 0, 1), I(0x27, 0, 0, 0, -306674912), EXIT);
	CHECK_PROG("and1 mul32", cmovnz32, true,
	           I(0xbf, 0, 1, 0, 0), I(0x54, 0, 0, 0, 1), I(0x24, 0, 0, 0, -306674912), EXIT);
	CHECK_PROG("and1 mul64 by 0", cmovnz64, true,
	           I(0xbf, 0, 1, 0, 0), I(0x57, 0, 0, 0, 1), I(0x27, 0, 0, 0, 0), EXIT);
	/* a jump onto the multiply: the and may not have run */
	CHECK_PROG("and1 mul64, jump onto the mul", imul64, true,
	           I(0xbf, 0, 1, 0, 0), I(0x55, 2, 0, 1, 0), I(0x57, 0, 0, 0, 1), I(0x27, 0, 0, 0, 0x12345678),
	           EXIT);
	/* and with 3: not a 0/1 value */
	CHECK_PROG("and3 mul64", imul64, true,
	           I(0xbf, 0, 1, 0, 0), I(0x57, 0, 0, 0, 3), I(0x27, 0, 0, 0, 0x12345678), EXIT);
	/* mixed widths: and64 then mul32 */
	CHECK_PROG("and1 64 mul32", cmovnz32, false,
	           I(0xbf, 0, 1, 0, 0), I(0x57, 0, 0, 0, 1), I(0x24, 0, 0, 0, 0x12345678), EXIT);
}

/* a multiply where one factor is known to be 0 or 1 */
static void test_mul01(void)
{
	static const uint8_t cmovz[] = { 0x48, 0x0f, 0x44, 0xc6 };      /* cmovz rax, rsi (r2) */
	static const uint8_t cmovnz[] = { 0x48, 0x0f, 0x45, 0xc6 };     /* cmovnz rax, rsi */
	static const uint8_t imul[] = { 0x48, 0x0f, 0xaf, 0xc6 };       /* imul rax, rsi */
	static const uint8_t neg[] = { 0x48, 0xf7, 0xd8 };              /* neg rax */
	/* r2 = r2 >> 63; r0 = r1 * r2 */
	CHECK_PROG("mul by 0/1 src", cmovz, true,
	           I(0x77, 2, 0, 0, 63), I(0xbf, 0, 1, 0, 0), I(0x2f, 0, 2, 0, 0), EXIT);
	/* r0 = (r1 & 1) ^ 1; r0 *= r2 */
	CHECK_PROG("mul of 0/1 dst", cmovnz, true,
	           I(0xbf, 0, 1, 0, 0), I(0x57, 0, 0, 0, 1), I(0xa7, 0, 0, 0, 1), I(0x2f, 0, 2, 0, 0), EXIT);
	/* the xor's ZF says whether r0 is 0: no test before the cmov */
	static const uint8_t xor_cmov[] = { 0x48, 0x83, 0xf0, 0x01, 0x48, 0x0f, 0x45, 0xc6 };
	static const uint8_t test_cmov[] = { 0x85, 0xc0, 0x48, 0x0f, 0x45, 0xc6 };
	CHECK_PROG("mul of 0/1 dst, flags reused", xor_cmov, true,
	           I(0xbf, 0, 1, 0, 0), I(0x57, 0, 0, 0, 1), I(0xa7, 0, 0, 0, 1), I(0x2f, 0, 2, 0, 0), EXIT);
	/* another register's op in between: ZF is about r3 */
	CHECK_PROG("mul of 0/1 dst, flags of another register", test_cmov, true,
	           I(0xbf, 0, 1, 0, 0), I(0x57, 0, 0, 0, 1), I(0xa7, 0, 0, 0, 1), I(0x07, 3, 0, 0, 1),
	           I(0x2f, 0, 2, 0, 0), EXIT);
	/* r0 = r1 >> 63 (32-bit: w >> 31), times a constant */
	CHECK_PROG("0/1 times K", neg, true,
	           I(0xbf, 0, 1, 0, 0), I(0x77, 0, 0, 0, 63), I(0x27, 0, 0, 0, -7), EXIT);
	/* not 0/1 any more after += 1 */
	CHECK_PROG("mul by 0/1 + 1", imul, true,
	           I(0x77, 2, 0, 0, 63), I(0x07, 2, 0, 0, 1), I(0xbf, 0, 1, 0, 0), I(0x2f, 0, 2, 0, 0), EXIT);
	/* r2 is 0/1 only on the fall-through path: the multiply is a jump target */
	CHECK_PROG("mul by 0/1 at a join", imul, true,
	           I(0xbf, 0, 1, 0, 0), I(0x15, 1, 0, 1, 7), I(0x77, 2, 0, 0, 63), I(0x2f, 0, 2, 0, 0), EXIT);
	/* rsh by 62 leaves 0..3 */
	CHECK_PROG("mul by a 2-bit value", imul, true,
	           I(0x77, 2, 0, 0, 62), I(0xbf, 0, 1, 0, 0), I(0x2f, 0, 2, 0, 0), EXIT);
}

/* x *= 3|5|9 (+ K) -> lea; x *= 2^k -> shl */
static void test_mul_lea(void)
{
	static const uint8_t lea5p7[] = { 0x48, 0x8d, 0x44, 0x80, 0x07 };   /* lea rax, [rax+rax*4+7] */
	static const uint8_t lea3_32[] = { 0x8d, 0x04, 0x40 };              /* lea eax, [rax+rax*2] */
	static const uint8_t imul5[] = { 0x48, 0x6b, 0xc0, 0x05 };          /* imul rax, rax, 5 */
	CHECK_PROG("mul5 add7", lea5p7, true,
	           I(0xbf, 0, 1, 0, 0), I(0x27, 0, 0, 0, 5), I(0x07, 0, 0, 0, 7), EXIT);
	CHECK_PROG("mul3 32-bit", lea3_32, true, I(0xbf, 0, 1, 0, 0), I(0x24, 0, 0, 0, 3), EXIT);
	CHECK_PROG("mul5 add7, jump onto the add", lea5p7, false,
	           I(0xbf, 0, 1, 0, 0), I(0x55, 2, 0, 1, 0), I(0x27, 0, 0, 0, 5), I(0x07, 0, 0, 0, 7), EXIT);
	CHECK_PROG("mul5 alone", imul5, false, I(0xbf, 0, 1, 0, 0), I(0x27, 0, 0, 0, 5), EXIT);
	static const uint8_t shl20_32[] = { 0xc1, 0xe0, 0x14 };            /* shl eax, 20 */
	CHECK_PROG("mul 1<<20 32-bit", shl20_32, true, I(0xbf, 0, 1, 0, 0), I(0x24, 0, 0, 0, 1 << 20), EXIT);
}

/* x *= F * 2^k or F * G (F, G 3, 5 or 9) -> two instructions; and
 * x *= F * 2^k; x += y -> lea, lea [y + x*2^k] */
static void test_mul_lea_pairs(void)
{
	static const uint8_t lea3[] = { 0x48, 0x8d, 0x04, 0x40 };           /* lea rax, [rax+rax*2] */
	static const uint8_t lea5[] = { 0x48, 0x8d, 0x04, 0x80 };           /* lea rax, [rax+rax*4] */
	static const uint8_t lea5_32[] = { 0x8d, 0x04, 0x80 };              /* lea eax, [rax+rax*4] */
	static const uint8_t add2_32[] = { 0x8d, 0x04, 0x46 };              /* lea eax, [rsi+rax*2] */
	static const uint8_t lea5_add2[] = { 0x48, 0x8d, 0x04, 0x80, 0x48, 0x8d, 0x04, 0x46 };
	                                          /* lea rax, [rax+rax*4]; lea rax, [rsi+rax*2] */
	static const uint8_t lea5_add2_32[] = { 0x8d, 0x04, 0x80, 0x8d, 0x04, 0x46 };
	static const uint8_t lea_add8[] = { 0x48, 0x8d, 0x04, 0xc6 };       /* lea rax, [rsi+rax*8] */
	static const uint8_t lea3_add4[] = { 0x48, 0x8d, 0x04, 0x40, 0x48, 0x8d, 0x04, 0x86 };
	static const uint8_t add2[] = { 0x48, 0x8d, 0x04, 0x46 };           /* lea rax, [rsi+rax*2] */
	static const uint8_t imul7[] = { 0x48, 0x6b, 0xc0, 0x07 };          /* imul rax, rax, 7 */
	static const uint8_t imul_m10[] = { 0x48, 0x6b, 0xc0, 0xf6 };       /* imul rax, rax, -10 */
	static const uint8_t imul_90[] = { 0x48, 0x6b, 0xc0, 0x5a };        /* imul rax, rax, 90 */
	CHECK_PROG("mul6", lea3, true, I(0xbf, 0, 1, 0, 0), I(0x27, 0, 0, 0, 6), EXIT);
	CHECK_PROG("mul40 32-bit", lea5_32, true, I(0xbf, 0, 1, 0, 0), I(0x24, 0, 0, 0, 40), EXIT);
	CHECK_PROG("mul15", lea5, true, I(0xbf, 0, 1, 0, 0), I(0x27, 0, 0, 0, 15), EXIT);
	CHECK_PROG("mul81", lea5, false, I(0xbf, 0, 1, 0, 0), I(0x27, 0, 0, 0, 81), EXIT);
	CHECK_PROG("mul7 stays", imul7, true, I(0xbf, 0, 1, 0, 0), I(0x27, 0, 0, 0, 7), EXIT);
	CHECK_PROG("mul -10 stays", imul_m10, true, I(0xbf, 0, 1, 0, 0), I(0x27, 0, 0, 0, -10), EXIT);
	/* 90 = 5 * 9 * 2: three instructions would gain nothing */
	CHECK_PROG("mul90 stays", imul_90, true, I(0xbf, 0, 1, 0, 0), I(0x27, 0, 0, 0, 90), EXIT);
	CHECK_PROG("mul10 add reg", lea5_add2, true,
	           I(0xbf, 0, 1, 0, 0), I(0x27, 0, 0, 0, 10), I(0x0f, 0, 2, 0, 0), EXIT);
	CHECK_PROG("mul10 add reg 32-bit", lea5_add2_32, true,
	           I(0xbf, 0, 1, 0, 0), I(0x24, 0, 0, 0, 10), I(0x0c, 0, 2, 0, 0), EXIT);
	CHECK_PROG("mul8 add reg", lea_add8, true,
	           I(0xbf, 0, 1, 0, 0), I(0x27, 0, 0, 0, 8), I(0x0f, 0, 2, 0, 0), EXIT);
	CHECK_PROG("mul12 add reg", lea3_add4, true,
	           I(0xbf, 0, 1, 0, 0), I(0x27, 0, 0, 0, 12), I(0x0f, 0, 2, 0, 0), EXIT);
	CHECK_PROG("mul10 add itself", add2, false,
	           I(0xbf, 0, 1, 0, 0), I(0x27, 0, 0, 0, 10), I(0x0f, 0, 0, 0, 0), EXIT);
	CHECK_PROG("mul10 add reg, jump onto the add", add2, false,
	           I(0xbf, 0, 1, 0, 0), I(0x55, 2, 0, 1, 0), I(0x27, 0, 0, 0, 10), I(0x0f, 0, 2, 0, 0), EXIT);
	CHECK_PROG("mul10 64 add reg 32", add2_32, false,
	           I(0xbf, 0, 1, 0, 0), I(0x27, 0, 0, 0, 10), I(0x0c, 0, 2, 0, 0), EXIT);
	CHECK_PROG("mul2 add reg", add2, true,
	           I(0xbf, 0, 1, 0, 0), I(0x27, 0, 0, 0, 2), I(0x0f, 0, 2, 0, 0), EXIT);
}

/* clang's rotates -> rol */
static void test_rotate(void)
{
	static const uint8_t rol7[] = { 0x48, 0xc1, 0xc0, 0x07 };        /* rol rax, 7 */
	static const uint8_t rol7_32[] = { 0xc1, 0xc0, 0x07 };           /* rol eax, 7 */
	static const uint8_t rol7_r2[] = { 0x48, 0xc1, 0xc6, 0x07 };     /* rol rsi (r2), 7 */
	/* r0 = r1; r2 = r0; r2 >>= 57; r0 <<= 7; r0 |= r2 */
	CHECK_PROG("rotl64 7", rol7, true,
	           I(0xbf, 0, 1, 0, 0), I(0xbf, 2, 0, 0, 0), I(0x77, 2, 0, 0, 57), I(0x67, 0, 0, 0, 7),
	           I(0x4f, 0, 2, 0, 0), EXIT);
	/* the copy shifted second, and read afterwards (r0 += r2) */
	CHECK_PROG("rotl64 7, copy live", rol7, true,
	           I(0xbf, 0, 1, 0, 0), I(0xbf, 2, 0, 0, 0), I(0x67, 0, 0, 0, 7), I(0x77, 2, 0, 0, 57),
	           I(0x4f, 0, 2, 0, 0), I(0x0f, 0, 2, 0, 0), EXIT);
	/* the OR into the copy: r2 = rotl(r0, 7), r0 = r0 << 7 survives */
	CHECK_PROG("rotl64 into the copy", rol7_r2, true,
	           I(0xbf, 0, 1, 0, 0), I(0xbf, 2, 0, 0, 0), I(0x77, 2, 0, 0, 57), I(0x67, 0, 0, 0, 7),
	           I(0x4f, 2, 0, 0, 0), I(0xaf, 0, 2, 0, 0), EXIT);
	/* five instructions: a = x >> 57; b = x << 7; b |= a; x intact */
	CHECK_PROG("rotl64 5-insn", rol7_r2, true,
	           I(0xbf, 3, 1, 0, 0), I(0x77, 3, 0, 0, 57), I(0xbf, 2, 1, 0, 0), I(0x67, 2, 0, 0, 7),
	           I(0x4f, 2, 3, 0, 0), I(0xbf, 0, 2, 0, 0), I(0x2f, 0, 1, 0, 0), I(0x0f, 0, 3, 0, 0), EXIT);
	CHECK_PROG("rotl32 7", rol7_32, true,
	           I(0xbf, 0, 1, 0, 0), I(0xbc, 2, 0, 0, 0), I(0x74, 2, 0, 0, 25), I(0x64, 0, 0, 0, 7),
	           I(0x4c, 0, 2, 0, 0), EXIT);
	/* near misses: counts 57 + 8, a 64-bit mov with 32-bit shifts, a jump onto the OR */
	CHECK_PROG("shifts not summing to 64", rol7, false,
	           I(0xbf, 0, 1, 0, 0), I(0xbf, 2, 0, 0, 0), I(0x77, 2, 0, 0, 57), I(0x67, 0, 0, 0, 8),
	           I(0x4f, 0, 2, 0, 0), EXIT);
	CHECK_PROG("mixed widths", rol7_32, false,
	           I(0xbf, 0, 1, 0, 0), I(0xbf, 2, 0, 0, 0), I(0x74, 2, 0, 0, 25), I(0x64, 0, 0, 0, 7),
	           I(0x4c, 0, 2, 0, 0), EXIT);
	CHECK_PROG("jump onto the OR", rol7, false,
	           I(0xbf, 0, 1, 0, 0), I(0x15, 1, 0, 3, 3), I(0xbf, 2, 0, 0, 0), I(0x77, 2, 0, 0, 57),
	           I(0x67, 0, 0, 0, 7), I(0x4f, 0, 2, 0, 0), EXIT);
}

/* if c goto +1; goto L  ->  if !c goto L: the result, and in checked
 * mode the backward-jump budget running out at the same instruction */
static void test_branch_inversion(void)
{
	/* r0 = 0; r3 = r1 & 0x7ff; do r0 += 3 while (--r3 != 0 as: if r3 == 0 goto +1; goto top) */
	const bpfvm_insn loop[] = {
		I(0xb7, 0, 0, 0, 0), I(0xbf, 3, 1, 0, 0), I(0x57, 3, 0, 0, 0x7ff), I(0x07, 3, 0, 0, 1),
		I(0x07, 0, 0, 0, 3), I(0x17, 3, 0, 0, 1), I(0x15, 3, 0, 1, 0), I(0x05, 0, 0, -4, 0), EXIT,
	};
	check("loop closed by goto", loop, sizeof loop / sizeof loop[0], NULL, 0, true);
	/* the goto is also a jump target (from `if r3 > 5`) */
	const bpfvm_insn target[] = {
		I(0xb7, 0, 0, 0, 0), I(0xbf, 3, 1, 0, 0), I(0x57, 3, 0, 0, 0x7ff), I(0x07, 3, 0, 0, 1),
		I(0x07, 0, 0, 0, 3), I(0x17, 3, 0, 0, 1), I(0x25, 3, 0, 1, 5), I(0x15, 3, 0, 1, 0),
		I(0x05, 0, 0, -5, 0), EXIT,
	};
	check("goto that is a target", target, sizeof target / sizeof target[0], NULL, 0, true);
}

/* Runs prog with r1 = a 64-byte buffer, r2 = each input: r0 and the
 * buffer afterwards must agree in all four ways. */
static void check_mem(const char *name, const bpfvm_insn *insns, size_t n, const uint8_t *needle, size_t m,
                      bool want)
{
	bpfvm_program *p = load_jit(name, insns, n);
	if (!p)
		return;
	int bad = 0;
	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		uint8_t want_mem[64];
		uint64_t want_r0 = 0;
		int want_rc = 0;
		for (int way = 0; way < 4; way++) {
			uint8_t buf[64];
			for (size_t k = 0; k < sizeof buf; k++)
				buf[k] = (uint8_t)(k * 37 + 0x81);
			bpfvm_region region = { .base = buf, .len = sizeof buf, .writable = true };
			BPFVM_OPTS(bpfvm_run_opts, ro,
				.args = { (uint64_t)(uintptr_t)buf, inputs[i] }, .regions = &region, .region_count = 1,
				.mode = way & 1 ? BPFVM_UNCHECKED : BPFVM_CHECKED,
				.engine = way & 2 ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP
			);
			uint64_t r0 = 0;
			bpfvm_error err = { 0 };
			int rc = bpfvm_program_run(p, &ro, &r0, &err);
			if (way == 0) {
				memcpy(want_mem, buf, sizeof buf);
				want_r0 = r0;
				want_rc = rc;
			} else if (rc != want_rc || r0 != want_r0 || memcmp(buf, want_mem, sizeof buf)) {
				if (bad++ < 3)
					printf("  %s way %d input 0x%" PRIx64 ": rc %d/%d r0 0x%" PRIx64 "/0x%" PRIx64 "\n",
					       name, way, inputs[i], want_rc, rc, want_r0, r0);
			}
		}
	}
	CHECK(bad == 0, "%s: %d runs differ", name, bad);
	check_code(p, name, needle, m, want);
}

#define CHECK_MEM(name, needle, want, ...)                                                               \
	do {                                                                                             \
		const bpfvm_insn prog_[] = { __VA_ARGS__ };                                              \
		check_mem(name, prog_, sizeof prog_ / sizeof prog_[0], needle, sizeof(needle), want);    \
	} while (0)

/* load, op, store back on one address -> one read-modify-write */
static void test_rmw(void)
{
	static const uint8_t or_b_idx[] = { 0x80, 0x0c, 0x37, 0x80 };   /* or byte [rdi+rsi], 0x80 */
	static const uint8_t and_q_reg[] = { 0x48, 0x21, 0x77, 0x08 };  /* and [rdi+8], rsi */
	static const uint8_t add_w[] = { 0x66, 0x83, 0x47, 0x06, 0x05 }; /* add word [rdi+6], 5 */
	static const uint8_t xor_d[] = { 0x31, 0x77, 0x0c };            /* xor [rdi+12], esi */
	/* r2 &= 63; r3 = r1; r3 += r2; r4 = *(u8 *)(r3 + 0); w4 |= 128; *(u8 *)(r3 + 0) = r4 */
	CHECK_MEM("or byte, indexed", or_b_idx, true,
	          I(0x57, 2, 0, 0, 63), I(0xbf, 3, 1, 0, 0), I(0x0f, 3, 2, 0, 0), I(0x71, 4, 3, 0, 0),
	          I(0x44, 4, 0, 0, 128), I(0x73, 3, 4, 0, 0), I(0xb7, 0, 0, 0, 1), EXIT);
	/* the address register read afterwards: still set */
	CHECK_MEM("or byte, address live", or_b_idx, false,
	          I(0x57, 2, 0, 0, 63), I(0xbf, 3, 1, 0, 0), I(0x0f, 3, 2, 0, 0), I(0x71, 4, 3, 0, 0),
	          I(0x44, 4, 0, 0, 128), I(0x73, 3, 4, 0, 0), I(0xbf, 0, 3, 0, 0), I(0x1f, 0, 1, 0, 0), EXIT);
	CHECK_MEM("and qword, reg", and_q_reg, true,
	          I(0x79, 4, 1, 8, 0), I(0x5f, 4, 2, 0, 0), I(0x7b, 1, 4, 8, 0), I(0xb7, 0, 0, 0, 0), EXIT);
	CHECK_MEM("add word, imm", add_w, true,
	          I(0x69, 4, 1, 6, 0), I(0x07, 4, 0, 0, 5), I(0x6b, 1, 4, 6, 0), I(0xb7, 0, 0, 0, 0), EXIT);
	CHECK_MEM("xor dword, 32-bit op", xor_d, true,
	          I(0x61, 4, 1, 12, 0), I(0xac, 4, 2, 0, 0), I(0x63, 1, 4, 12, 0), I(0xb7, 0, 0, 0, 0), EXIT);
	/* near misses: the loaded value read afterwards; a 32-bit op stored as
	 * a qword (its upper half is zero); different offsets; a jump onto the op */
	CHECK_MEM("value live afterwards", and_q_reg, false,
	          I(0x79, 4, 1, 8, 0), I(0x5f, 4, 2, 0, 0), I(0x7b, 1, 4, 8, 0), I(0xbf, 0, 4, 0, 0), EXIT);
	static const uint8_t and_q_reg32[] = { 0x21, 0x77, 0x08 };
	CHECK_MEM("32-bit op, qword store", and_q_reg32, false,
	          I(0x79, 4, 1, 8, 0), I(0x5c, 4, 2, 0, 0), I(0x7b, 1, 4, 8, 0), I(0xb7, 0, 0, 0, 0), EXIT);
	CHECK_MEM("different offsets", and_q_reg, false,
	          I(0x79, 4, 1, 8, 0), I(0x5f, 4, 2, 0, 0), I(0x7b, 1, 4, 16, 0), I(0xb7, 0, 0, 0, 0), EXIT);
	CHECK_MEM("jump onto the op", and_q_reg, false,
	          I(0x79, 4, 1, 8, 0), I(0x15, 2, 0, 1, 0), I(0x79, 4, 1, 8, 0), I(0x5f, 4, 2, 0, 0),
	          I(0x7b, 1, 4, 8, 0), I(0xb7, 0, 0, 0, 0), EXIT);
}

/* if c goto +1; x = f(x, y)  ->  r10 = f(x, y); cmp; cmov!c x, r10 */
/* x = y; x += z|K; an access through x + off, x dead after it -> one
 * access at [y + z|K + off] */
static void test_address_fold(void)
{
	static const uint8_t ld_idx[] = { 0x8b, 0x44, 0x37, 0x04 };         /* mov eax, [rdi+rsi+4] */
	static const uint8_t st_idx[] = { 0x89, 0x74, 0x37, 0x04 };         /* mov [rdi+rsi+4], esi */
	static const uint8_t st_self[] = { 0x48, 0x89, 0x14, 0x37 };        /* mov [rdi+rsi], rdx */
	static const uint8_t st_imm16[] = { 0x66, 0xc7, 0x44, 0x37, 0x02, 0x34, 0x12 };
	static const uint8_t ld_disp[] = { 0x0f, 0xb6, 0x47, 0x0b };        /* movzx eax, byte [rdi+11] */
	CHECK_MEM("load through a dead sum", ld_idx, true,
	          I(0x57, 2, 0, 0, 56), I(0xbf, 3, 1, 0, 0), I(0x0f, 3, 2, 0, 0), I(0x61, 0, 3, 4, 0), EXIT);
	CHECK_MEM("load, the sum read afterwards", ld_idx, false,
	          I(0x57, 2, 0, 0, 56), I(0xbf, 3, 1, 0, 0), I(0x0f, 3, 2, 0, 0), I(0x61, 0, 3, 4, 0),
	          I(0x0f, 0, 3, 0, 0), I(0x1f, 0, 1, 0, 0), EXIT);
	CHECK_MEM("load, jump onto it", ld_idx, false,
	          I(0x57, 2, 0, 0, 56), I(0x15, 2, 0, 2, 99), I(0xbf, 3, 1, 0, 0), I(0x0f, 3, 2, 0, 0),
	          I(0x61, 0, 3, 4, 0), EXIT);
	CHECK_MEM("load, constant offset", ld_disp, true,
	          I(0xbf, 3, 1, 0, 0), I(0x07, 3, 0, 0, 8), I(0x71, 0, 3, 3, 0), EXIT);
	CHECK_MEM("store through a dead sum", st_idx, true,
	          I(0x57, 2, 0, 0, 56), I(0xbf, 3, 1, 0, 0), I(0x0f, 3, 2, 0, 0), I(0x63, 3, 2, 4, 0),
	          I(0xb7, 0, 0, 0, 0), EXIT);
	CHECK_MEM("store, the sum read afterwards", st_idx, false,
	          I(0x57, 2, 0, 0, 56), I(0xbf, 3, 1, 0, 0), I(0x0f, 3, 2, 0, 0), I(0x63, 3, 2, 4, 0),
	          I(0xbf, 0, 3, 0, 0), I(0x1f, 0, 1, 0, 0), EXIT);
	CHECK_MEM("store of the sum itself", st_self, false,
	          I(0x57, 2, 0, 0, 56), I(0xbf, 3, 1, 0, 0), I(0x0f, 3, 2, 0, 0), I(0x7b, 3, 3, 0, 0),
	          I(0xb7, 0, 0, 0, 0), EXIT);
	CHECK_MEM("store of a constant", st_imm16, true,
	          I(0x57, 2, 0, 0, 56), I(0xbf, 3, 1, 0, 0), I(0x0f, 3, 2, 0, 0), I(0x6a, 3, 0, 2, 0x1234),
	          I(0xb7, 0, 0, 0, 0), EXIT);
}

/* Stack slots in registers: a leaf whose r10 is only a load/store base
 * keeps its hottest plain slots in r12 (and r9 without division or
 * atomics).  The loop adds r2 = 10..1 into r10 - 8 (and r10 - 16). */
static void test_register_slots(void)
{
	static const uint8_t to_r12[] = { 0x49, 0x89, 0xc4 };               /* mov r12, rax */
	static const uint8_t to_r12d[] = { 0x41, 0x89, 0xc4 };              /* mov r12d, eax */
	static const uint8_t to_r9[] = { 0x49, 0x89, 0xd9 };                /* mov r9, rbx */
#define SLOT_LOOP(size_st, size_ld, off)                                                                   \
	I(0xb7, 0, 0, 0, 0), I(size_st, 10, 0, off, 0), I(0xb7, 2, 0, 0, 10), I(size_ld, 3, 10, off, 0),      \
	I(0x0f, 3, 2, 0, 0), I(size_st, 10, 3, off, 0), I(0x07, 2, 0, 0, -1), I(0x55, 2, 0, -5, 0),           \
	I(size_ld, 0, 10, off, 0)
	CHECK_MEM("u64 slot", to_r12, true, SLOT_LOOP(0x7b, 0x79, -8), EXIT);
	CHECK_MEM("u32 slot", to_r12d, true, SLOT_LOOP(0x63, 0x61, -4), EXIT);
	/* a byte of the slot read on its own: it stays in memory */
	CHECK_MEM("slot also read as a byte", to_r12, false, SLOT_LOOP(0x7b, 0x79, -8),
	          I(0x71, 4, 10, -7, 0), I(0x0f, 0, 4, 0, 0), EXIT);
	/* the frame's address taken: any slot may be reached through it */
	CHECK_MEM("frame address taken", to_r12, false, I(0xbf, 5, 10, 0, 0), SLOT_LOOP(0x7b, 0x79, -8), EXIT);
	CHECK_MEM("frame address stored", to_r12, false, I(0x7b, 10, 10, -16, 0), SLOT_LOOP(0x7b, 0x79, -8), EXIT);
	/* an atomic on the slot */
	CHECK_MEM("atomic add on the slot", to_r12, false, SLOT_LOOP(0x7b, 0x79, -8),
	          I(0xb7, 4, 0, 0, 1), I(0xdb, 10, 4, -8, 0), I(0x79, 0, 10, -8, 0), EXIT);
	/* two slots: r10 - 16 gets r9, unless a division needs r9 */
	CHECK_MEM("second slot in r9", to_r9, true,
	          I(0xb7, 6, 0, 0, 7), I(0x7b, 10, 6, -16, 0), SLOT_LOOP(0x7b, 0x79, -8),
	          I(0x79, 4, 10, -16, 0), I(0x0f, 0, 4, 0, 0), EXIT);
	CHECK_MEM("no r9 with a division", to_r9, false,
	          I(0xb7, 6, 0, 0, 7), I(0x7b, 10, 6, -16, 0), SLOT_LOOP(0x7b, 0x79, -8),
	          I(0x79, 4, 10, -16, 0), I(0x37, 4, 0, 0, 3), I(0x0f, 0, 4, 0, 0), EXIT);
	/* a slot loaded only to be the next instruction's operand */
	static const uint8_t add_r12[] = { 0x4c, 0x01, 0xe0 };              /* add rax, r12 */
	static const uint8_t cmp_r12[] = { 0x4c, 0x39, 0xe0 };              /* cmp rax, r12 */
	static const uint8_t test_r12[] = { 0x49, 0x85, 0xc4 };             /* test r12, rax */
	CHECK_MEM("slot as an add operand", add_r12, true, SLOT_LOOP(0x7b, 0x79, -8),
	          I(0x79, 4, 10, -8, 0), I(0x0f, 0, 4, 0, 0), EXIT);
	CHECK_MEM("slot operand read again", add_r12, false, SLOT_LOOP(0x7b, 0x79, -8),
	          I(0x79, 4, 10, -8, 0), I(0x0f, 0, 4, 0, 0), I(0x0f, 0, 4, 0, 0), EXIT);
	CHECK_MEM("slot as a compare operand", cmp_r12, true, SLOT_LOOP(0x7b, 0x79, -8),
	          I(0x79, 4, 10, -8, 0), I(0x2d, 0, 4, 2, 0), I(0xb7, 0, 0, 0, 7), I(0x07, 0, 0, 0, 1), EXIT);
	CHECK_MEM("slot as a jset operand", test_r12, true, SLOT_LOOP(0x7b, 0x79, -8),
	          I(0x79, 4, 10, -8, 0), I(0x4d, 4, 0, 2, 0), I(0xb7, 0, 0, 0, 7), I(0x07, 0, 0, 0, 1), EXIT);
	/* a jump over one instruction stays translate_jump's (a select here) */
	CHECK_MEM("slot compare over one instruction", cmp_r12, false, SLOT_LOOP(0x7b, 0x79, -8),
	          I(0x79, 4, 10, -8, 0), I(0x2d, 0, 4, 1, 0), I(0xb7, 0, 0, 0, 7), EXIT);
	/* a program with a call keeps its frame in memory */
	CHECK_MEM("not a leaf", to_r12, false, SLOT_LOOP(0x7b, 0x79, -8), I(0x85, 0, 1, 0, 1), EXIT,
	          I(0x07, 0, 0, 0, 1), EXIT);
#undef SLOT_LOOP
}

/* Unchecked, an instruction whose result nobody reads is left out. */
static void test_dead_results(void)
{
	static const uint8_t mov_imm[] = { 0xba, 0x78, 0x56, 0x34, 0x12 };  /* mov edx, 0x12345678 */
	static const uint8_t load8[] = { 0x48, 0x8b, 0x57, 0x08 };          /* mov rdx, [rdi+8] */
	CHECK_MEM("dead constant", mov_imm, false,
	          I(0xb7, 3, 0, 0, 0x12345678), I(0xbf, 3, 1, 0, 0), I(0x71, 0, 3, 5, 0), EXIT);
	CHECK_MEM("live constant", mov_imm, true,
	          I(0xb7, 3, 0, 0, 0x12345678), I(0x0f, 3, 1, 0, 0), I(0xbf, 0, 3, 0, 0), EXIT);
	CHECK_MEM("dead load", load8, false,
	          I(0x79, 3, 1, 8, 0), I(0x79, 3, 1, 16, 0), I(0xbf, 0, 3, 0, 0), EXIT);
	CHECK_MEM("live load", load8, true,
	          I(0x79, 3, 1, 8, 0), I(0x79, 4, 1, 16, 0), I(0xbf, 0, 3, 0, 0), I(0x0f, 0, 4, 0, 0), EXIT);
	/* read on one path only: live */
	CHECK_MEM("load read on one path", load8, true,
	          I(0x79, 3, 1, 8, 0), I(0xb7, 0, 0, 0, 0), I(0x55, 2, 0, 1, 0), I(0xbf, 0, 3, 0, 0), EXIT);
	/* a dead 64-bit constant (two slots) before a jump target; then live
	 * on the path that jumps over its overwrite */
	CHECK_MEM("dead lddw", mov_imm, false,
	          I(0x18, 3, 0, 0, 0x12345678), I(0, 0, 0, 0, 1), I(0x55, 2, 0, 0, 0), I(0xb7, 3, 0, 0, 2),
	          I(0xbf, 0, 3, 0, 0), EXIT);
	CHECK_MEM("live lddw", mov_imm, true,
	          I(0x18, 3, 0, 0, 0x12345678), I(0, 0, 0, 0, 1), I(0x55, 2, 0, 1, 0), I(0xb7, 3, 0, 0, 2),
	          I(0xbf, 0, 3, 0, 0), EXIT);
}

/* x = y; x += z|K in 32 bits -> a 32-bit lea (low half, upper zeroed) */
static void test_lea32(void)
{
	static const uint8_t lea_m48[] = { 0x8d, 0x47, 0xd0 };              /* lea eax, [rdi-0x30] */
	static const uint8_t lea_idx[] = { 0x8d, 0x04, 0x37 };              /* lea eax, [rdi+rsi] */
	CHECK_PROG("mov32 add32 imm", lea_m48, true, I(0xbc, 0, 1, 0, 0), I(0x04, 0, 0, 0, -48), EXIT);
	CHECK_PROG("mov32 add32 reg", lea_idx, true, I(0xbc, 0, 1, 0, 0), I(0x0c, 0, 2, 0, 0), EXIT);
	CHECK_PROG("mov64 add32", lea_m48, false, I(0xbf, 0, 1, 0, 0), I(0x04, 0, 0, 0, -48), EXIT);
	CHECK_PROG("mov32 add64", lea_m48, false, I(0xbc, 0, 1, 0, 0), I(0x07, 0, 0, 0, -48), EXIT);
	CHECK_PROG("mov32 add32, jump onto the add", lea_m48, false,
	           I(0xbc, 0, 1, 0, 0), I(0x55, 2, 0, 1, 0), I(0xbc, 0, 1, 0, 0), I(0x04, 0, 0, 0, -48), EXIT);
}

static void test_select(void)
{
	static const uint8_t cmovz[] = { 0x49, 0x0f, 0x44, 0xc2 };      /* cmovz rax, r10 */
	static const uint8_t cmovbe[] = { 0x49, 0x0f, 0x46, 0xc2 };     /* cmovbe rax, r10 */
	static const uint8_t cmovnz[] = { 0x49, 0x0f, 0x45, 0xc2 };     /* cmovnz rax, r10 */
	/* r0 = r1; if r2 != 0 goto +1; r0 = -r0 */
	CHECK_PROG("select neg", cmovz, true,
	           I(0xbf, 0, 1, 0, 0), I(0x55, 2, 0, 1, 0), I(0x87, 0, 0, 0, 0), EXIT);
	/* if r1 > r2 goto +1; w0 += w2 (32-bit: zero-extends only when done) */
	CHECK_PROG("select add32", cmovbe, true,
	           I(0xbf, 0, 1, 0, 0), I(0x2d, 1, 2, 1, 0), I(0x0c, 0, 2, 0, 0), EXIT);
	/* jset: if r1 & 4 goto +1; r0 = 7 */
	CHECK_PROG("select jset mov", cmovz, true,
	           I(0xbf, 0, 1, 0, 0), I(0x45, 1, 0, 1, 4), I(0xb7, 0, 0, 0, 7), EXIT);
	/* a second jump lands on the neg: it must stay a branch */
	CHECK_PROG("select, neg is a target", cmovz, false,
	           I(0xbf, 0, 1, 0, 0), I(0x15, 1, 0, 1, 3), I(0x55, 2, 0, 1, 0), I(0x87, 0, 0, 0, 0), EXIT);
	/* a division may not be done speculatively */
	CHECK_PROG("jump over a division", cmovnz, false,
	           I(0xbf, 0, 1, 0, 0), I(0x15, 2, 0, 1, 0), I(0x3f, 0, 2, 0, 0), EXIT);
}

int main(void)
{
	test_select();
	test_rmw();
	test_address_fold();
	test_register_slots();
	test_dead_results();
	test_lea32();
	test_and1_mul();
	test_mul01();
	test_mul_lea();
	test_mul_lea_pairs();
	test_rotate();
	test_branch_inversion();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
