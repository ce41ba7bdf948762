/*
 * test_asm.c - tests of the assembler (asm.c) and disassembler (disasm.c).
 *
 * Owns: the checks that
 *   1. every `-- asm` section of the bpf_conformance suite assembles to
 *      exactly the bytes of the reference assembler (hex/<name>.hex);
 *   2. every such program survives disassembly (ASM syntax) and
 *      reassembly unchanged, and disassembles in LLVM syntax;
 *   3. bad input gives the right error line and message;
 *   4. the LLVM syntax matches llvm-objdump's text for every format;
 *   5. every row of isa_ops[] (and many random valid instructions)
 *      round-trips through the ASM syntax;
 *   6. bpfvm_asm is safe on arbitrary bytes (random and mutated text).
 *
 * A plain program: one line per failure, then "N passed, M failed".
 * Exits 0 iff nothing failed; 77 ("skipped") when the shared directory
 * with the suite is missing and the other checks passed.
 *
 * Build with -DBPFVM_FUZZ (and -fsanitize=fuzzer) to get a libFuzzer
 * entry point for the same safety property instead of main().
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isa/isa.h"
#include "common/datafile.h"
#include "support/check.h"

#ifndef BPFVM_SHARED_DIR
#define BPFVM_SHARED_DIR "../shared"
#endif

#define CONF_DIR BPFVM_SHARED_DIR "/bpf-conformance"
#define CONF_TESTS 313

/* ---- small utilities -------------------------------------------------- */

static void to_bytes(const bpfvm_insn *in, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t *b = out + 8 * i;
		uint16_t off = (uint16_t)in[i].off;
		uint32_t imm = (uint32_t)in[i].imm;
		b[0] = in[i].opcode;
		b[1] = (uint8_t)(in[i].dst | in[i].src << 4);
		b[2] = (uint8_t)off;
		b[3] = (uint8_t)(off >> 8);
		for (int k = 0; k < 4; k++)
			b[4 + k] = (uint8_t)(imm >> (8 * k));
	}
}

static bool same_insns(const bpfvm_insn *a, size_t na, const bpfvm_insn *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		uint8_t x[8], y[8];
		to_bytes(&a[i], 1, x);
		to_bytes(&b[i], 1, y);
		if (memcmp(x, y, 8) != 0)
			return false;
	}
	return true;
}

/* Disassembles a whole program in ASM syntax, one line per instruction.
 * Returns NULL (and the failing pc) if an instruction is invalid. */
static char *disasm_program(const bpfvm_insn *in, size_t n, bpfvm_syntax syn, size_t *bad_pc,
                            char *why, size_t whylen)
{
	size_t cap = 64 * n + 64, len = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	out[0] = '\0';
	for (size_t pc = 0; pc < n;) {
		char line[160];
		int r = bpfvm_disasm_insn(in, n, pc, syn, line, sizeof line);
		if (r <= 0) {
			*bad_pc = pc;
			snprintf(why, whylen, "%s", line);
			free(out);
			return NULL;
		}
		size_t l = strlen(line);
		if (len + l + 2 > cap) {
			free(out);
			*bad_pc = pc;
			snprintf(why, whylen, "line too long");
			return NULL;
		}
		memcpy(out + len, line, l);
		len += l;
		out[len++] = '\n';
		out[len] = '\0';
		pc += (size_t)r;
	}
	return out;
}

/* Assembles text; true if it gives exactly want[0..nwant). */
static bool asm_equals(const char *text, const bpfvm_insn *want, size_t nwant, bpfvm_error *err)
{
	bpfvm_insn *got = NULL;
	size_t n = 0;
	int rc = bpfvm_asm(text, &got, &n, err);
	bool ok = rc == 0 && same_insns(got, n, want, nwant);
	free(got);
	return ok;
}

/* ---- 6: arbitrary input is safe (also the libFuzzer property) --------- */

/* The property a fuzzer checks: no crash, a clean result or a clean
 * error; anything assembled disassembles, and a program whose every
 * instruction is valid reassembles to itself. */
static bool asm_is_safe(const char *text, char *msg, size_t msglen)
{
	bpfvm_insn *insns = NULL;
	size_t n = 0;
	bpfvm_error err;
	memset(&err, 0x5a, sizeof err);
	int rc = bpfvm_asm(text, &insns, &n, &err);
	if (rc != 0) {
		bool ok = rc < 0 && !insns && n == 0 && err.code == rc && err.line >= 1 && err.msg[0] &&
		          memchr(err.msg, '\0', sizeof err.msg);
		if (!ok)
			snprintf(msg, msglen, "bad error report (rc %d line %d)", rc, err.line);
		return ok;
	}
	if (!insns || n == 0) {
		snprintf(msg, msglen, "success without instructions");
		free(insns);
		return false;
	}
	bool ok = true;
	size_t bad = 0;
	char why[200];
	char *dis = disasm_program(insns, n, BPFVM_SYNTAX_ASM, &bad, why, sizeof why);
	if (dis) {
		bpfvm_error e2 = { 0 };
		if (!asm_equals(dis, insns, n, &e2)) {
			snprintf(msg, msglen, "disassembly does not reassemble to the same program: %.200s", e2.msg);
			ok = false;
		}
		free(dis);
	}
	for (size_t pc = 0; pc < n; pc++) {
		char buf[160];
		bpfvm_disasm_insn(insns, n, pc, BPFVM_SYNTAX_LLVM, buf, sizeof buf);
	}
	free(insns);
	return ok;
}

#ifdef BPFVM_FUZZ
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char msg[300];
	if (!asm_is_safe(text, msg, sizeof msg)) {
		fprintf(stderr, "%s\n", msg);
		abort();
	}
	free(text);
	return 0;
}
#else /* the self-checking program */

/* Deterministic pseudo-random numbers (xorshift64*), state on the stack. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

/* The bytes of the "prog:" line of a .hex file. */
static uint8_t *parse_prog_hex(const char *hex, size_t *len)
{
	const char *p = strstr(hex, "prog:");
	*len = 0;
	if (!p)
		return NULL;
	p += 5;
	size_t eol = strcspn(p, "\n");
	uint8_t *out = malloc(eol / 2 + 1);
	if (!out)
		return NULL;
	const char *e = p + eol;
	while (p < e) {
		while (p < e && (*p == ' ' || *p == '\r'))
			p++;
		if (p >= e)
			break;
		char *q;
		unsigned long v = strtoul(p, &q, 16);
		if (q == p || q > e) {
			free(out);
			return NULL;
		}
		out[(*len)++] = (uint8_t)v;
		p = q;
	}
	return out;
}

/* ---- 1 and 2: the conformance suite ----------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_conformance_file(const char *name)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/tests/%s.data", CONF_DIR, name);
	char *data = datafile_read(path);
	snprintf(path, sizeof path, "%s/hex/%s.hex", CONF_DIR, name);
	char *hex = datafile_read(path);
	char *text = data ? datafile_section(data, "asm") : NULL;
	size_t want_len = 0;
	uint8_t *want = hex ? parse_prog_hex(hex, &want_len) : NULL;
	bpfvm_insn *insns = NULL;
	size_t n = 0;
	bpfvm_error err = { 0 };

	if (!CHECK(text && want, "%s: cannot read the .data asm section or the .hex prog line", name))
		goto out;
	int rc = bpfvm_asm(text, &insns, &n, &err);
	if (!CHECK(rc == 0, "%s: assembling failed at line %d: %s", name, err.line, err.msg))
		goto out;
	uint8_t *got = malloc(n * 8);
	if (!got)
		goto out;
	to_bytes(insns, n, got);
	bool same = n * 8 == want_len && memcmp(got, want, want_len) == 0;
	if (!same) {
		size_t i = 0;
		while (i < n * 8 && i < want_len && got[i] == want[i])
			i++;
		CHECK(false, "%s: bytes differ from the reference (%zu vs %zu bytes; first difference in insn %zu)",
		      name, n * 8, want_len, i / 8);
	} else {
		CHECK(true, "%s", name);
	}
	free(got);

	/* 2: ASM round trip, LLVM succeeds */
	size_t bad = 0;
	char why[200] = "";
	char *dis = disasm_program(insns, n, BPFVM_SYNTAX_ASM, &bad, why, sizeof why);
	if (CHECK(dis != NULL, "%s: disassembly failed at insn %zu: %s", name, bad, why)) {
		err = (bpfvm_error){ 0 };
		CHECK(asm_equals(dis, insns, n, &err), "%s: ASM round trip changed the program (%s)", name,
		      err.msg);
		free(dis);
	}
	dis = disasm_program(insns, n, BPFVM_SYNTAX_LLVM, &bad, why, sizeof why);
	CHECK(dis != NULL, "%s: LLVM disassembly failed at insn %zu: %s", name, bad, why);
	free(dis);
out:
	free(insns);
	free(want);
	free(text);
	free(hex);
	free(data);
}

/* Returns false if the suite is not there. */
static bool test_conformance(void)
{
	DIR *d = opendir(CONF_DIR "/tests");
	if (!d)
		return false;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l <= 5 || strcmp(de->d_name + l - 5, ".data") != 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 512;
			char **nn = realloc(names, cap * sizeof *names);
			if (!nn)
				break;
			names = nn;
		}
		names[n] = strndup(de->d_name, l - 5);
		if (names[n])
			n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, cmp_str);
	CHECK(n == CONF_TESTS, "found %zu conformance tests, expected %d", n, CONF_TESTS);
	for (size_t i = 0; i < n; i++) {
		test_conformance_file(names[i]);
		free(names[i]);
	}
	free(names);
	return true;
}

/* ---- 3: errors and accepted syntax ------------------------------------ */

static void test_errors(void)
{
	static const struct {
		const char *text;
		int line;
		const char *msg;   /* substring of err.msg */
	} cases[] = {
		{ "mov %r0, 1\nfoo %r0\nexit\n", 2, "unknown mnemonic 'foo'" },
		{ "MOV %r0, 1\nexit", 1, "unknown mnemonic 'MOV'" },
		{ "lock fetch xchg [%r10-8], %r1\nexit", 1, "unknown mnemonic 'lock fetch xchg'" },
		{ "lock\nexit", 1, "missing operation after 'lock'" },
		{ "lock add64 [%r10-8], %r1\nexit", 1, "unknown mnemonic 'lock add64'" },
		{ "exit;\n", 1, "unknown mnemonic 'exit;'" },
		{ "mov %r11, 1\nexit", 1, "bad register '%r11'" },
		{ "exit\nmov %r0, %r11", 2, "bad register '%r11'" },
		{ "mov %r01, 1\nexit", 1, "bad register '%r01'" },
		{ "mov %r1x, 1\nexit", 1, "bad register '%r1x'" },
		{ "mov r1, 1\nexit", 1, "expected a register %r0..%r10, got 'r1'" },
		{ "ldxw %r0, [%r16+2]\nexit", 1, "bad register '%r16'" },
		{ "mov %r0, 0x100000000\nexit", 1, "immediate '0x100000000' is out of range" },
		{ "mov %r0, -2147483649\nexit", 1, "immediate '-2147483649' is out of range" },
		{ "mov %r0, 99999999999999999999999\nexit", 1, "out of range" },
		{ "lddw %r0, 0x10000000000000000\nexit", 1, "out of range" },
		{ "lddw %r0, -9223372036854775809\nexit", 1, "out of range" },
		{ "\n\nldxw %r0, [%r1+32768]\nexit", 3, "offset '+32768' is out of range" },
		{ "stw [%r1-32769], 1\nexit", 1, "offset '-32769' is out of range" },
		{ "ja +32768\nexit", 1, "jump offset '+32768' is out of range" },
		{ "jeq %r1, 0, -32769\nexit", 1, "out of range" },
		{ "ja32 +2147483648\nexit", 1, "out of range" },
		{ "mov %r0, 12abc\nexit", 1, "bad number '12abc'" },
		{ "mov %r0, 0x\nexit", 1, "bad number '0x'" },
		{ "mov %r0, 0\nja nowhere\nexit", 2, "undefined label 'nowhere'" },
		{ "jne %r0, 0, exit\nmov %r0, 1", 1, "undefined label 'exit'" },
		{ "call local missing\nexit", 1, "undefined label 'missing'" },
		{ "a:\nmov %r0, 1\na:\nexit", 3, "duplicate label 'a' (first defined on line 1)" },
		{ "b:\nexit\na:\nexit\nb:\nexit\na:\nexit", 5, "duplicate label 'b'" },
		{ "1x:\nexit", 1, "bad label name '1x'" },
		{ "mov %r0\nexit", 1, "missing operand" },
		{ "mov %r0,\nexit", 1, "missing operand" },
		{ "exit\nmov", 2, "missing operand" },
		{ "jeq %r1, 5\nexit", 1, "missing operand" },
		{ "ldxw %r0\nexit", 1, "missing operand" },
		{ "exit foo", 1, "unexpected 'foo'" },
		{ "mov %r0, 1 2\nexit", 1, "unexpected '2'" },
		{ "mov %r0 1\nexit", 1, "unexpected '1' after register" },
		{ "mov %r0, 1, 2\nexit", 1, "unexpected ', 2'" },
		{ "jeq %r1, 1, +1, 5, 6\nexit", 1, "unexpected ', 5, 6'" },
		{ "ldxw %r0, [%r1+2] x\nexit", 1, "unexpected 'x'" },
		{ "ldxw %r0, [%r1+2\nexit", 1, "expected ']'" },
		{ "ldxw %r0, %r1\nexit", 1, "expected a memory operand" },
		{ "ldxw %r0, [%r1+-2]\nexit", 1, "bad offset" },
		{ "ja 3\nexit", 1, "bad jump target '3'" },
		{ "ja +3x\nexit", 1, "bad number '+3x'" },
		{ "call local 5\nexit", 1, "bad jump target '5'" },
		{ "mov %r0, 1\n\xff\xfe\nexit", 2, "'\\xff\\xfe'" },
		{ "", 1, "empty program" },
		{ "# only a comment\n\nlabel:\n", 1, "empty program" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		static bpfvm_insn sentinel;
		bpfvm_insn *insns = &sentinel;   /* bpfvm_asm must reset it to NULL */
		size_t n = 99;
		bpfvm_error err = { 0 };
		int rc = bpfvm_asm(cases[i].text, &insns, &n, &err);
		CHECK(rc < 0 && insns == NULL && n == 0 && err.code == rc,
		      "error case %zu: expected failure, got rc %d", i, rc);
		CHECK(err.line == cases[i].line, "error case %zu: line %d, expected %d (%s)", i, err.line,
		      cases[i].line, err.msg);
		CHECK(strstr(err.msg, cases[i].msg) != NULL, "error case %zu: message \"%s\" lacks \"%s\"", i,
		      err.msg, cases[i].msg);
		if (rc == 0)
			free(insns);
	}

	/* A label too far for a 16-bit offset. */
	size_t far = 40000;
	char *text = malloc(far * 12 + 64);
	if (text) {
		char *p = text;
		p += sprintf(p, "ja   end\n");
		for (size_t i = 0; i < far; i++)
			p += sprintf(p, "mov %%r0, 1\n");
		sprintf(p, "end:\nexit\n");
		bpfvm_insn *insns = NULL;
		size_t n = 0;
		bpfvm_error err = { 0 };
		int rc = bpfvm_asm(text, &insns, &n, &err);
		CHECK(rc < 0 && err.line == 1 && strstr(err.msg, "too far"),
		      "far jump: rc %d line %d msg %s", rc, err.line, err.msg);
		/* ...but fine for ja32, and big programs are fine */
		memcpy(text, "ja32", 4);
		rc = bpfvm_asm(text, &insns, &n, &err);
		CHECK(rc == 0 && n == far + 2 && insns[0].imm == (int32_t)far,
		      "far ja32: rc %d n %zu (%s)", rc, n, err.msg);
		free(insns);
		free(text);
	}
	bpfvm_error err;
	bpfvm_insn *insns;
	size_t n;
	CHECK(bpfvm_asm(NULL, &insns, &n, &err) == -EINVAL, "NULL text is rejected");
	CHECK(bpfvm_asm("exit", NULL, &n, NULL) == -EINVAL, "NULL insns is rejected");
}

#define I(op, d, s, o, i) { .opcode = (op), .dst = (d), .src = (s), .off = (o), .imm = (i) }

static void test_syntax(void)
{
	static const struct {
		const char *text;
		bpfvm_insn want[4];
		size_t n;
	} cases[] = {
		{ "jne32 %r2, 0xffffff80, +1", { I(0x56, 2, 0, 1, -128) }, 1 },
		{ "jne32 %r2, -128, -1", { I(0x56, 2, 0, -1, -128) }, 1 },
		{ "mov %r0, 4294967295", { I(0xb7, 0, 0, 0, -1) }, 1 },
		{ "mov %r0, -2147483648", { I(0xb7, 0, 0, 0, INT32_MIN) }, 1 },
		{ "mov32 %r0, +0x7fffffff", { I(0xb4, 0, 0, 0, INT32_MAX) }, 1 },
		{ "lddw %r0, -1", { I(0x18, 0, 0, 0, -1), I(0, 0, 0, 0, -1) }, 2 },
		{ "lddw %r9, 0x1122334455667788", { I(0x18, 9, 0, 0, 0x55667788), I(0, 0, 0, 0, 0x11223344) }, 2 },
		{ "lddw %r1, 0xFFFFFFFFFFFFFFFF", { I(0x18, 1, 0, 0, -1), I(0, 0, 0, 0, -1) }, 2 },
		{ "lddw %r1, -9223372036854775808", { I(0x18, 1, 0, 0, 0), I(0, 0, 0, 0, INT32_MIN) }, 2 },
		/* `exit` as a target: the first exit instruction, even a later one */
		{ "jne %r0, 0, exit\nmov %r0, 1\nexit\nexit", { I(0x55, 0, 0, 1, 0), I(0xb7, 0, 0, 0, 1), I(0x95, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0) }, 4 },
		/* ...unless a label named exit exists */
		{ "ja exit\nexit:\nexit\nexit", { I(0x05, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0) }, 3 },
		{ "ja exit\nexit\nexit:\nexit", { I(0x05, 0, 0, 1, 0), I(0x95, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0) }, 3 },
		{ "L: ja L", { I(0x05, 0, 0, -1, 0) }, 1 },
		{ "  top:  \t\r\n\tja32 top # back\r\n", { I(0x06, 0, 0, 0, -1) }, 1 },
		{ "a: b: exit\nja a\nja b", { I(0x95, 0, 0, 0, 0), I(0x05, 0, 0, -2, 0), I(0x05, 0, 0, -3, 0) }, 3 },
		{ "call local f\nexit\nf:\nexit", { I(0x85, 0, 1, 0, 1), I(0x95, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0) }, 3 },
		{ "f: exit\ncall local f", { I(0x95, 0, 0, 0, 0), I(0x85, 0, 1, 0, -2) }, 2 },
		{ "call local +0x10", { I(0x85, 0, 1, 0, 16) }, 1 },
		{ "call 4294967295", { I(0x85, 0, 0, 0, -1) }, 1 },
		{ "call %r9", { I(0x8d, 9, 0, 0, 0) }, 1 },
		{ "ldabsw 12\nldabsh 0x10\nldabsb -1", { I(0x20, 0, 0, 0, 12), I(0x28, 0, 0, 0, 16), I(0x30, 0, 0, 0, -1) }, 3 },
		{ "ldindw %r1, 4\nldindh %r2, -4\nldindb %r3, 0", { I(0x40, 0, 1, 0, 4), I(0x48, 0, 2, 0, -4), I(0x50, 0, 3, 0, 0) }, 3 },
		{ "swap16 %r0\nbswap16 %r0\nswap64 %r1", { I(0xd7, 0, 0, 0, 16), I(0xd7, 0, 0, 0, 16), I(0xd7, 1, 0, 0, 64) }, 3 },
		{ "ldxw %r0, [ %r1 + 2 ]\nstxdw [%r10-8], %r1\nstb [%r2], 0x7f", { I(0x61, 0, 1, 2, 0), I(0x7b, 10, 1, -8, 0), I(0x72, 2, 0, 0, 127) }, 3 },
		{ "ldxh %r0, [%r1+0x7fff]\nldxb %r0, [%r1-32768]", { I(0x69, 0, 1, 32767, 0), I(0x71, 0, 1, -32768, 0) }, 2 },
		{ "lock fetch add32 [%r10-8], %r1\nlock\txchg [%r10-8], %r2\nlock cmpxchg32 [%r1+4], %r3",
		  { I(0xc3, 10, 1, -8, 1), I(0xdb, 10, 2, -8, 0xe1), I(0xc3, 1, 3, 4, 0xf1) }, 3 },
		{ "movsx864 %r2, %r1\nmovsx1632 %r2, %r1\nsdiv %r1, 3\nsmod32 %r1, %r2",
		  { I(0xbf, 2, 1, 8, 0), I(0xbc, 2, 1, 16, 0), I(0x37, 1, 0, 1, 3), I(0x9c, 1, 2, 1, 0) }, 4 },
		{ "neg %r0\nneg32 %r1\nle16 %r2\nbe64 %r3", { I(0x87, 0, 0, 0, 0), I(0x84, 1, 0, 0, 0), I(0xd4, 2, 0, 0, 16), I(0xdc, 3, 0, 0, 64) }, 4 },
		{ "jeq %r1, %r2, +0\njset32 %r1, 0x80000000, -3", { I(0x1d, 1, 2, 0, 0), I(0x46, 1, 0, -3, INT32_MIN) }, 2 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bpfvm_insn *got = NULL;
		size_t n = 0;
		bpfvm_error err = { 0 };
		int rc = bpfvm_asm(cases[i].text, &got, &n, &err);
		char gs[8 * 8 * 3 + 1] = "";
		if (rc == 0) {
			uint8_t b[64];
			size_t m = n < 8 ? n : 8;
			to_bytes(got, m, b);
			for (size_t k = 0; k < m * 8; k++)
				sprintf(gs + 3 * k, "%02x ", b[k]);
		}
		CHECK(rc == 0 && same_insns(got, n, cases[i].want, cases[i].n),
		      "syntax case %zu: rc %d (%s) line %d; got %s", i, rc, err.msg, err.line, gs);
		free(got);
	}
}

/* ---- 4: LLVM syntax ---------------------------------------------------- */

static void test_llvm(void)
{
	/* Forms marked "llvm14" were compared with the output of
	 * llvm-objdump 14 -d (with --mattr=+alu32 for the 32-bit atomics);
	 * the others (v4 instructions llvm 14 cannot decode) follow later
	 * llvm's printer. */
	static const struct {
		bpfvm_insn in[2];
		const char *want;
	} cases[] = {
		{ { I(0xb7, 1, 0, 0, -1) }, "r1 = -1" },                          /* llvm14 */
		{ { I(0xb4, 1, 0, 0, -1) }, "w1 = -1" },                          /* llvm14 */
		{ { I(0xb7, 0, 0, 0, 1) }, "r0 = 1" },
		{ { I(0x0c, 0, 1, 0, 0) }, "w0 += w1" },                          /* llvm14 */
		{ { I(0x07, 3, 0, 0, 7) }, "r3 += 7" },
		{ { I(0x1f, 4, 3, 0, 0) }, "r4 -= r3" },
		{ { I(0x2f, 3, 2, 0, 0) }, "r3 *= r2" },
		{ { I(0x3f, 3, 2, 0, 0) }, "r3 /= r2" },
		{ { I(0x9f, 3, 2, 0, 0) }, "r3 %= r2" },
		{ { I(0x4f, 3, 2, 0, 0) }, "r3 |= r2" },
		{ { I(0x57, 1, 0, 0, 1) }, "r1 &= 1" },
		{ { I(0x67, 1, 0, 0, 3) }, "r1 <<= 3" },
		{ { I(0x77, 1, 0, 0, 3) }, "r1 >>= 3" },
		{ { I(0xa7, 1, 0, 0, 3) }, "r1 ^= 3" },
		{ { I(0xbf, 1, 2, 0, 0) }, "r1 = r2" },
		{ { I(0xbc, 1, 2, 0, 0) }, "w1 = w2" },
		{ { I(0xc7, 1, 0, 0, 3) }, "r1 s>>= 3" },                         /* llvm14 */
		{ { I(0xcc, 1, 2, 0, 0) }, "w1 s>>= w2" },
		{ { I(0x3f, 1, 2, 1, 0) }, "r1 s/= r2" },
		{ { I(0x34, 1, 0, 1, -3) }, "w1 s/= -3" },
		{ { I(0x9f, 1, 2, 1, 0) }, "r1 s%= r2" },
		{ { I(0x87, 0, 0, 0, 0) }, "r0 = -r0" },                          /* llvm14 */
		{ { I(0x84, 0, 0, 0, 0) }, "w0 = -w0" },                          /* llvm14 */
		{ { I(0xbf, 1, 2, 8, 0) }, "r1 = (s8)r2" },
		{ { I(0xbf, 1, 2, 32, 0) }, "r1 = (s32)r2" },
		{ { I(0xbc, 1, 2, 16, 0) }, "w1 = (s16)w2" },
		{ { I(0xdc, 0, 0, 0, 16) }, "r0 = be16 r0" },                     /* llvm14 */
		{ { I(0xd4, 0, 0, 0, 32) }, "r0 = le32 r0" },                     /* llvm14 */
		{ { I(0xd7, 0, 0, 0, 64) }, "r0 = bswap64 r0" },
		{ { I(0x18, 0, 0, 0, 0x55667788), I(0, 0, 0, 0, 0x11223344) }, "r0 = 0x1122334455667788 ll" },
		{ { I(0x18, 1, 0, 0, 1), I(0, 0, 0, 0, 0) }, "r1 = 0x1 ll" },
		{ { I(0x61, 0, 1, 8, 0) }, "r0 = *(u32 *)(r1 + 8)" },             /* llvm14 */
		{ { I(0x61, 0, 1, 0, 0) }, "r0 = *(u32 *)(r1 + 0)" },             /* llvm14 */
		{ { I(0x69, 0, 1, -2, 0) }, "r0 = *(u16 *)(r1 - 2)" },            /* llvm14 */
		{ { I(0x71, 0, 1, 3, 0) }, "r0 = *(u8 *)(r1 + 3)" },
		{ { I(0x79, 0, 10, -32768, 0) }, "r0 = *(u64 *)(r10 - 32768)" },
		{ { I(0x89, 0, 1, -2, 0) }, "r0 = *(s16 *)(r1 - 2)" },
		{ { I(0x81, 0, 1, 4, 0) }, "r0 = *(s32 *)(r1 + 4)" },
		{ { I(0x91, 0, 1, 4, 0) }, "r0 = *(s8 *)(r1 + 4)" },
		{ { I(0x7b, 10, 1, -8, 0) }, "*(u64 *)(r10 - 8) = r1" },          /* llvm14 */
		{ { I(0x63, 10, 1, -8, 0) }, "*(u32 *)(r10 - 8) = r1" },          /* llvm14 */
		{ { I(0x62, 10, 0, -8, 5) }, "*(u32 *)(r10 - 8) = 5" },
		{ { I(0x7a, 10, 0, -8, -1) }, "*(u64 *)(r10 - 8) = -1" },
		{ { I(0xdb, 10, 1, -8, 0x00) }, "lock *(u64 *)(r10 - 8) += r1" }, /* llvm14 */
		{ { I(0xc3, 10, 1, -8, 0x40) }, "lock *(u32 *)(r10 - 8) |= w1" }, /* llvm14 */
		{ { I(0xdb, 10, 1, -8, 0x50) }, "lock *(u64 *)(r10 - 8) &= r1" },
		{ { I(0xdb, 10, 1, -8, 0xa0) }, "lock *(u64 *)(r10 - 8) ^= r1" },
		{ { I(0xdb, 10, 1, -8, 0x01) }, "r1 = atomic_fetch_add((u64 *)(r10 - 8), r1)" }, /* llvm14 */
		{ { I(0xc3, 10, 1, -8, 0x51) }, "w1 = atomic_fetch_and((u32 *)(r10 - 8), w1)" }, /* llvm14 */
		{ { I(0xdb, 10, 2, 8, 0x41) }, "r2 = atomic_fetch_or((u64 *)(r10 + 8), r2)" },
		{ { I(0xc3, 10, 2, 8, 0xa1) }, "w2 = atomic_fetch_xor((u32 *)(r10 + 8), w2)" },
		{ { I(0xdb, 10, 1, -8, 0xe1) }, "r1 = xchg_64(r10 - 8, r1)" },                  /* llvm14 */
		{ { I(0xc3, 10, 1, -8, 0xe1) }, "w1 = xchg32_32(r10 - 8, w1)" },                /* llvm14 */
		{ { I(0xdb, 10, 1, -8, 0xf1) }, "r0 = cmpxchg_64(r10 - 8, r0, r1)" },           /* llvm14 */
		{ { I(0xc3, 10, 1, -8, 0xf1) }, "w0 = cmpxchg32_32(r10 - 8, w0, w1)" },         /* llvm14 */
		{ { I(0x05, 0, 0, 3, 0) }, "goto +3" },                           /* llvm14 */
		{ { I(0x05, 0, 0, -1, 0) }, "goto -1" },
		{ { I(0x05, 0, 0, 0, 0) }, "goto +0" },
		{ { I(0x06, 0, 0, 0, 3) }, "gotol +3" },
		{ { I(0x2d, 1, 2, 3, 0) }, "if r1 > r2 goto +3" },                /* llvm14 */
		{ { I(0xc6, 1, 0, -2, 5) }, "if w1 s< 5 goto -2" },
		{ { I(0x45, 1, 0, 1, 0x10) }, "if r1 & 0x10 goto +1" },
		{ { I(0x4d, 1, 2, 1, 0) }, "if r1 & r2 goto +1" },
		{ { I(0x56, 2, 0, -2, -128) }, "if w2 != -128 goto -2" },         /* llvm14 */
		{ { I(0xa5, 1, 0, 1, -5) }, "if r1 < -5 goto +1" },               /* llvm14 */
		{ { I(0x15, 1, 0, 1, 0) }, "if r1 == 0 goto +1" },
		{ { I(0x3e, 1, 2, 1, 0) }, "if w1 >= w2 goto +1" },
		{ { I(0x6d, 1, 2, 1, 0) }, "if r1 s> r2 goto +1" },
		{ { I(0x75, 1, 0, 1, 0) }, "if r1 s>= 0 goto +1" },
		{ { I(0xbd, 1, 2, 1, 0) }, "if r1 <= r2 goto +1" },
		{ { I(0xdd, 1, 2, 1, 0) }, "if r1 s<= r2 goto +1" },
		{ { I(0x85, 0, 0, 0, 5) }, "call 5" },                            /* llvm14 */
		{ { I(0x85, 0, 1, 0, 9) }, "call +9" },   /* llvm14 prints "call 9" */
		{ { I(0x85, 0, 1, 0, -2) }, "call -2" },                          /* llvm14 */
		{ { I(0x8d, 2, 0, 0, 0) }, "callx r2" },
		{ { I(0x95, 0, 0, 0, 0) }, "exit" },                              /* llvm14 */
		{ { I(0x20, 0, 0, 0, 12) }, "r0 = *(u32 *)skb[12]" },             /* llvm14 */
		{ { I(0x30, 0, 0, 0, 1) }, "r0 = *(u8 *)skb[1]" },
		{ { I(0x48, 0, 1, 0, 4) }, "r0 = *(u16 *)skb[r1 + 4]" },  /* llvm14 drops "+ 4" */
		{ { I(0x40, 0, 1, 0, -4) }, "r0 = *(u32 *)skb[r1 - 4]" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[128];
		size_t n = cases[i].in[0].opcode == 0x18 ? 2 : 1;
		int r = bpfvm_disasm_insn(cases[i].in, n, 0, BPFVM_SYNTAX_LLVM, buf, sizeof buf);
		CHECK(r == (int)n && strcmp(buf, cases[i].want) == 0, "llvm case %zu: got \"%s\" (%d), want \"%s\"",
		      i, buf, r, cases[i].want);
	}
}

/* ---- 5: every operation round-trips; invalid encodings are refused ---- */

/* Fills the fields a row's format uses with the given sample values and
 * the selector field with the row's value. */
static void build(const struct isa_op *op, bpfvm_insn *in, unsigned dst, unsigned src, int16_t off,
                  int32_t imm)
{
	memset(in, 0, 2 * sizeof *in);
	in->opcode = op->opcode;
	switch ((enum isa_format)op->format) {
	case FMT_ALU_IMM: in->dst = dst & 15; in->imm = imm; break;
	case FMT_ALU_REG: in->dst = dst & 15; in->src = src & 15; break;
	case FMT_NEG: case FMT_END: case FMT_CALLX: in->dst = dst & 15; break;
	case FMT_LDDW: in->dst = dst & 15; in->imm = imm; in[1].imm = ~imm; break;
	case FMT_LDABS: case FMT_CALL: case FMT_JA32: case FMT_CALL_LOCAL: in->imm = imm; break;
	case FMT_LDIND: in->src = src & 15; in->imm = imm; break;
	case FMT_LDX: case FMT_STX: case FMT_ATOMIC: in->dst = dst & 15; in->src = src & 15; in->off = off; break;
	case FMT_ST: in->dst = dst & 15; in->off = off; in->imm = imm; break;
	case FMT_JA: in->off = off; break;
	case FMT_MAY_GOTO: in->off = off ? off : 1; break;
	case FMT_JMP_IMM: in->dst = dst & 15; in->off = off; in->imm = imm; break;
	case FMT_JMP_REG: in->dst = dst & 15; in->src = src & 15; in->off = off; break;
	case FMT_EXIT: break;
	}
	switch (op->select) {
	case SEL_OFF: in->off = (int16_t)op->select_value; break;
	case SEL_IMM: in->imm = op->select_value; break;
	case SEL_SRC: in->src = (uint8_t)op->select_value & 15; break;
	default: break;
	}
}

/* Disassembles in[0..] (1 or 2 slots) in both syntaxes, reassembles the
 * ASM text and compares.  Returns false with a message on mismatch. */
static bool round_trip(const bpfvm_insn *in, size_t n, char *msg, size_t msglen)
{
	char text[160], llvm[160];
	int r = bpfvm_disasm_insn(in, n, 0, BPFVM_SYNTAX_ASM, text, sizeof text);
	if (r != (int)n) {
		snprintf(msg, msglen, "ASM disassembly returned %d: %s", r, text);
		return false;
	}
	r = bpfvm_disasm_insn(in, n, 0, BPFVM_SYNTAX_LLVM, llvm, sizeof llvm);
	if (r != (int)n) {
		snprintf(msg, msglen, "LLVM disassembly returned %d: %s", r, llvm);
		return false;
	}
	bpfvm_error err = { 0 };
	if (!asm_equals(text, in, n, &err)) {
		snprintf(msg, msglen, "\"%s\" reassembles differently (%.100s)", text, err.msg);
		return false;
	}
	return true;
}

static void test_rows(void)
{
	static const struct {
		unsigned dst, src;
		int16_t off;
		int32_t imm;
	} samples[] = {
		{ 1, 2, -8, 5 }, { 0, 0, 0, 0 }, { 9, 10, 32767, INT32_MAX }, { 10, 1, -32768, INT32_MIN },
		{ 3, 4, 1, -1 }, { 5, 6, -1, 65535 }, { 7, 8, 100, -65536 }, { 2, 3, 3, 0x12345678 },
	};
	for (size_t i = 0; i < ISA_OP_COUNT; i++) {
		const struct isa_op *op = &isa_ops[i];
		size_t tried = 0;
		for (size_t s = 0; s < sizeof samples / sizeof samples[0]; s++) {
			bpfvm_insn in[2];
			build(op, in, samples[s].dst, samples[s].src, samples[s].off, samples[s].imm);
			if (isa_decode(in) != op || isa_check_fields(op, in, ISA_RULES_ALL))
				continue;   /* e.g. r10 as a destination */
			tried++;
			char msg[300];
			size_t n = op->format == FMT_LDDW ? 2 : 1;
			CHECK(round_trip(in, n, msg, sizeof msg), "row %s (opcode 0x%02x) sample %zu: %s",
			      op->asm_name, op->opcode, s, msg);
		}
		CHECK(tried > 0, "row %s (opcode 0x%02x): no sample is valid", op->asm_name, op->opcode);
	}

	/* Random instructions: valid ones round-trip, invalid ones are refused. */
	uint64_t seed = UINT64_C(0x9e3779b97f4a7c15);
	int bad = 0, valid = 0, refused = 0;
	for (int k = 0; k < 300000 && bad < 10; k++) {
		uint64_t r = rnd(&seed);
		bpfvm_insn in[2];
		const struct isa_op *row = &isa_ops[r % ISA_OP_COUNT];
		memset(in, 0, sizeof in);
		in[0].opcode = (r >> 8) % 8 == 0 ? (uint8_t)(r >> 16) : row->opcode;
		in[0].dst = (r >> 24) & 15;
		in[0].src = (r >> 28) & 15;
		uint64_t r2 = rnd(&seed);
		in[0].off = (int16_t)(r2 % 4 == 0 ? (int16_t)r2 : (int16_t)((int8_t)(r2 >> 8) % 40));
		in[0].imm = (r2 >> 16) % 3 == 0 ? (int32_t)(r2 >> 32) : (int32_t)((int16_t)(r2 >> 32) % 300);
		if (in[0].opcode == row->opcode && (r >> 40) % 4 != 0) {
			switch (row->select) {
			case SEL_OFF: in[0].off = (int16_t)row->select_value; break;
			case SEL_IMM: in[0].imm = row->select_value; break;
			case SEL_SRC: in[0].src = (uint8_t)row->select_value & 15; break;
			default: break;
			}
		}
		if ((r >> 44) % 3 == 0) {
			in[0].dst %= 11;
			in[0].src %= 11;
		}
		in[1].imm = (int32_t)rnd(&seed);
		if ((r >> 50) % 8 == 0)
			in[1].off = 1;   /* a bad second slot for lddw */
		size_t n = 1 + ((r >> 54) & 1);
		const struct isa_op *op = isa_decode(in);
		bool ok = op && !isa_check_fields(op, in, ISA_RULES_ALL) &&
		          (op->format != FMT_LDDW || (n == 2 && !in[1].opcode && !in[1].dst && !in[1].src && !in[1].off));
		char buf[200], msg[300];
		if (ok) {
			valid++;
			size_t used = op->format == FMT_LDDW ? 2 : 1;
			if (!round_trip(in, used, msg, sizeof msg)) {
				bad++;
				CHECK(false, "random insn %02x %x %x %d %d: %s", in[0].opcode, in[0].dst, in[0].src,
				      in[0].off, in[0].imm, msg);
			}
		} else {
			refused++;
			int a = bpfvm_disasm_insn(in, n, 0, BPFVM_SYNTAX_ASM, buf, sizeof buf);
			int l = bpfvm_disasm_insn(in, n, 0, BPFVM_SYNTAX_LLVM, buf, sizeof buf);
			if (a >= 0 || l >= 0 || strncmp(buf, "invalid: ", 9) != 0) {
				bad++;
				CHECK(false, "random insn %02x %x %x %d %d: accepted (%d/%d) \"%s\"", in[0].opcode,
				      in[0].dst, in[0].src, in[0].off, in[0].imm, a, l, buf);
			}
		}
	}
	CHECK(bad == 0 && valid > 10000 && refused > 10000, "random instructions: %d valid, %d refused, %d bad",
	      valid, refused, bad);

	/* Specific refusals and the buffer contract. */
	char buf[128];
	bpfvm_insn x[2] = { I(0x8f, 0, 0, 0, 0) };
	CHECK(bpfvm_disasm_insn(x, 1, 0, BPFVM_SYNTAX_ASM, buf, sizeof buf) < 0 &&
	      strcmp(buf, "invalid: unknown opcode 0x8f") == 0, "unknown opcode: \"%s\"", buf);
	x[0] = (bpfvm_insn)I(0x18, 1, 0, 0, 5);
	CHECK(bpfvm_disasm_insn(x, 1, 0, BPFVM_SYNTAX_ASM, buf, sizeof buf) < 0 && strstr(buf, "truncated"),
	      "truncated lddw: \"%s\"", buf);
	x[0] = (bpfvm_insn)I(0x18, 1, 1, 0, 5);
	CHECK(bpfvm_disasm_insn(x, 2, 0, BPFVM_SYNTAX_LLVM, buf, sizeof buf) < 0 && strstr(buf, "source field 1"),
	      "lddw src 1: \"%s\"", buf);
	x[0] = (bpfvm_insn)I(0xdb, 10, 1, 0, 0x02);
	CHECK(bpfvm_disasm_insn(x, 1, 0, BPFVM_SYNTAX_ASM, buf, sizeof buf) < 0 && strstr(buf, "immediate 2"),
	      "unknown atomic: \"%s\"", buf);
	x[0] = (bpfvm_insn)I(0xb7, 10, 0, 0, 0);
	CHECK(bpfvm_disasm_insn(x, 1, 0, BPFVM_SYNTAX_ASM, buf, sizeof buf) < 0 && strstr(buf, "read-only"),
	      "write to r10: \"%s\"", buf);
	x[0] = (bpfvm_insn)I(0x95, 0, 0, 0, 0);
	CHECK(bpfvm_disasm_insn(x, 1, 1, BPFVM_SYNTAX_ASM, buf, sizeof buf) < 0, "pc past the end");
	CHECK(bpfvm_disasm_insn(x, 1, 0, (bpfvm_syntax)7, buf, sizeof buf) < 0, "unknown syntax");
	CHECK(bpfvm_disasm_insn(x, 1, 0, BPFVM_SYNTAX_ASM, NULL, 0) == 1, "NULL buffer");
	char tiny[3];
	CHECK(bpfvm_disasm_insn(x, 1, 0, BPFVM_SYNTAX_ASM, tiny, sizeof tiny) == 1 && strcmp(tiny, "ex") == 0,
	      "small buffer truncates: \"%s\"", tiny);
}

/* ---- 6: arbitrary input is safe --------------------------------------- */


static void test_fuzz(const char *corpus)
{
	static const char *const vocab[] = {
		"mov", "mov32", "lddw", "ldxw", "stxdw", "stw", "lock", "fetch", "add", "xchg", "cmpxchg32",
		"ja", "ja32", "jeq", "jset32", "call", "local", "exit", "neg", "be16", "swap64", "movsx864",
		"ldabsh", "ldindw", "%r0", "%r1", "%r10", "%r11", "%r", "%", "[", "]", "[%r10-8]", "[%r1+",
		"+", "-", ",", ", ", " ", "\t", "\n", "\r\n", ":", "L1", "L1:", "exit:", "#", "0x", "0xffffffff",
		"-2147483648", "4294967296", "+32767", "-32769", "99999999999999999999", "\xff", "\x01", "a",
	};
	uint64_t seed = UINT64_C(0x2545f4914f6cdd1d);
	size_t corpus_len = corpus ? strlen(corpus) : 0;
	int bad = 0;
	char *text = malloc(4096 + 1);
	if (!text)
		return;
	for (int k = 0; k < 20000 && bad < 5; k++) {
		uint64_t r = rnd(&seed);
		size_t len = 0;
		switch (r % 3) {
		case 0:   /* random bytes */
			len = rnd(&seed) % 200;
			for (size_t i = 0; i < len; i++) {
				text[i] = (char)rnd(&seed);
				if (!text[i])
					text[i] = '\n';
			}
			break;
		case 1:   /* random tokens */
			for (int w = (int)(rnd(&seed) % 40); w > 0; w--) {
				const char *s = vocab[rnd(&seed) % (sizeof vocab / sizeof vocab[0])];
				size_t l = strlen(s);
				if (len + l + 1 > 4096)
					break;
				memcpy(text + len, s, l);
				len += l;
				if (rnd(&seed) % 2)
					text[len++] = ' ';
			}
			break;
		default:  /* a slice of real programs with a few bytes changed */
			if (corpus_len > 0) {
				size_t from = rnd(&seed) % corpus_len;
				len = rnd(&seed) % 1500;
				if (len > corpus_len - from)
					len = corpus_len - from;
				memcpy(text, corpus + from, len);
				for (int m = (int)(rnd(&seed) % 4); m > 0 && len; m--) {
					char c = (char)rnd(&seed);
					text[rnd(&seed) % len] = c ? c : ' ';
				}
			}
			break;
		}
		text[len] = '\0';
		char msg[300];
		if (!asm_is_safe(text, msg, sizeof msg)) {
			bad++;
			CHECK(false, "fuzz input %d (%zu bytes): %s", k, len, msg);
		}
	}
	CHECK(bad == 0, "fuzz: %d bad inputs", bad);
	free(text);
}

/* All the conformance asm sections, concatenated, as mutation material. */
static char *load_corpus(void)
{
	DIR *d = opendir(CONF_DIR "/tests");
	if (!d)
		return NULL;
	size_t cap = 1 << 16, len = 0;
	char *all = malloc(cap);
	struct dirent *de;
	while (all && (de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l <= 5 || strcmp(de->d_name + l - 5, ".data") != 0)
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/tests/%s", CONF_DIR, de->d_name);
		char *data = datafile_read(path);
		char *text = data ? datafile_section(data, "asm") : NULL;
		size_t tl = text ? strlen(text) : 0;
		while (all && len + tl + 1 > cap) {
			char *na = realloc(all, cap * 2);
			if (!na) {
				free(all);
				all = NULL;
			}
			all = na;
			cap *= 2;
		}
		if (all && tl) {
			memcpy(all + len, text, tl);
			len += tl;
		}
		free(text);
		free(data);
	}
	closedir(d);
	if (all)
		all[len] = '\0';
	return all;
}

int main(void)
{
	test_errors();
	test_syntax();
	test_llvm();
	test_rows();
	char *corpus = load_corpus();
	test_fuzz(corpus);
	free(corpus);
	bool have_suite = test_conformance();
	if (!have_suite && failed == 0) {
		printf("skipped: %s not found (other checks: %d passed, %d failed)\n", CONF_DIR "/tests",
		       passed, failed);
		return 77;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
#endif
