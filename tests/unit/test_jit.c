/*
 * test_jit.c - properties of JIT-compiled code that differential tests
 * cannot see: code memory is never writable and executable at once,
 * constant blinding keeps program immediates out of the code, the perf
 * map names programs, and every operation of the table compiles.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "isa/isa.h"

#include "support/check.h"

/* Permissions of the mapping holding addr, from /proc/self/maps. */
static void mapping_perms(const void *addr, char perms[5])
{
	strcpy(perms, "????");
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return;
	char line[512];
	uintptr_t a = (uintptr_t)addr;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char p[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && a >= lo && a < hi) {
			memcpy(perms, p, 5);
			break;
		}
	}
	fclose(f);
}

static bool contains(const void *hay, size_t n, const void *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (!memcmp((const uint8_t *)hay + i, needle, m))
			return true;
	return false;
}

static void test_wx_and_blinding(void)
{
	/* r0 = 0x12345678; r1 = 0x0badc0dedeadbeef ll; *(u64 *)(r10 - 16) = r1;
	 * r0 += 0x41424344; if r0 == 0x13579bdf goto +0;
	 * *(u32 *)(r10 - 4) = 0x55667788; exit  (r1 is stored so that the
	 * unchecked JIT does not drop it as dead) */
	bpfvm_insn prog[] = {
		{ .opcode = 0xb7, .dst = 0, .imm = 0x12345678 },
		{ .opcode = 0x18, .dst = 1, .imm = (int32_t)0xdeadbeef },
		{ .opcode = 0x00, .imm = 0x0badc0de },
		{ .opcode = 0x7b, .dst = 10, .src = 1, .off = -16 },
		{ .opcode = 0x07, .dst = 0, .imm = 0x41424344 },
		{ .opcode = 0x15, .dst = 0, .off = 0, .imm = 0x13579bdf },
		{ .opcode = 0x62, .dst = 10, .off = -4, .imm = 0x55667788 },
		{ .opcode = 0x95 },
	};
	const uint32_t imms[] = { 0x12345678, 0xdeadbeef, 0x0badc0de, 0x41424344, 0x13579bdf, 0x55667788 };
	for (int harden = 0; harden < 2; harden++) {
		bpfvm_program *p = NULL;
		bpfvm_error err = { 0 };
		BPFVM_OPTS(bpfvm_load_opts, lo, .jit = true, .jit_harden = harden);
		int rc = bpfvm_program_load(prog, sizeof prog / sizeof prog[0], &lo, &p, &err);
		CHECK(rc == 0, "load (harden %d): %s", harden, err.msg);
		if (rc)
			continue;
		for (int mode = 0; mode < 2; mode++) {
			const void *code;
			size_t len;
			CHECK(bpfvm_program_jited(p, mode, &code, &len) == 0 && len > 0, "jited code");
			char perms[5];
			mapping_perms(code, perms);
			CHECK(!strcmp(perms, "r-xp"), "code mapping is %s, want r-xp", perms);
			int found = 0;
			for (size_t i = 0; i < sizeof imms / sizeof imms[0]; i++)
				found += contains(code, len, &imms[i], 4);
			if (harden)
				CHECK(found == 0, "hardened mode %d: %d program immediates appear in the code", mode, found);
			else
				CHECK(found == 6, "plain mode %d: expected the 6 immediates in the code, found %d", mode, found);
			uint64_t r0 = 0;
			BPFVM_OPTS(bpfvm_run_opts, ro, .mode = (bpfvm_mode)mode, .engine = BPFVM_ENGINE_JIT);
			rc = bpfvm_program_run(p, &ro, &r0, &err);
			CHECK(rc == 0 && r0 == 0x12345678u + 0x41424344u, "run: rc %d r0 0x%" PRIx64, rc, r0);
		}
		bpfvm_program_free(p);
	}
}

static void test_perf_map(void)
{
	bpfvm_insn prog[] = { { .opcode = 0xb7, .imm = 1 }, { .opcode = 0x95 } };
	bpfvm_program *p = NULL;
	bpfvm_error err = { 0 };
	BPFVM_OPTS(bpfvm_load_opts, lo, .jit = true, .perf_map = true, .name = "perfmaptest");
	CHECK(bpfvm_program_load(prog, 2, &lo, &p, &err) == 0, "load: %s", err.msg);
	char path[64];
	snprintf(path, sizeof path, "/tmp/perf-%d.map", (int)getpid());
	FILE *f = fopen(path, "r");
	CHECK(f != NULL, "no %s", path);
	if (f) {
		char line[256];
		int hits = 0;
		const void *code;
		size_t len;
		bpfvm_program_jited(p, BPFVM_UNCHECKED, &code, &len);
		char want[64];
		snprintf(want, sizeof want, "%lx %zx bpfvm:perfmaptest\n", (unsigned long)(uintptr_t)code, len);
		while (fgets(line, sizeof line, f))
			hits += !strcmp(line, want);
		CHECK(hits == 1, "perf map lacks '%s'", want);
		fclose(f);
		unlink(path);
	}
	bpfvm_program_free(p);
}

/* One instance of every row of the table compiles in both modes. */
static void test_every_operation(void)
{
	for (int id = 0; id < ISA_OP_COUNT; id++) {
		const struct isa_op *op = &isa_ops[id];
		bpfvm_insn prog[4] = { { .opcode = op->opcode, .dst = 1, .src = 2 } };
		size_t n = 2;
		switch (op->select) {
		case SEL_OFF: prog[0].off = (int16_t)op->select_value; break;
		case SEL_IMM: prog[0].imm = op->select_value; break;
		case SEL_SRC: prog[0].src = (uint8_t)op->select_value; break;
		}
		switch (op->format) {
		case FMT_ALU_IMM: case FMT_JMP_IMM: case FMT_ST: prog[0].src = 0; prog[0].imm = 3; break;
		case FMT_NEG: case FMT_END: prog[0].src = 0; break;
		case FMT_LDDW: prog[1] = (bpfvm_insn){ 0 }; n = 3; break;
		case FMT_LDABS: prog[0].dst = prog[0].src = 0; break;
		case FMT_LDIND: prog[0].dst = 0; break;
		case FMT_JA: case FMT_JA32: prog[0].dst = prog[0].src = 0; break;
		case FMT_MAY_GOTO:
			prog[0].dst = prog[0].src = 0; prog[0].imm = 0; prog[0].off = 1;
			prog[1] = (bpfvm_insn){ .opcode = 0x95 }; n = 3;
			break;
		case FMT_CALL: prog[0].dst = 0; prog[0].imm = 1; break;   /* helper 1, or kfunc 1 */
		case FMT_CALL_LOCAL: prog[0].dst = 0; prog[0].imm = 1; prog[1] = (bpfvm_insn){ .opcode = 0x95 }; n = 3; break;
		case FMT_CALLX: prog[0].src = 0; break;
		case FMT_EXIT: n = 1; break;
		default: break;
		}
		if (op->format == FMT_ALU_REG && op->select != SEL_OFF)
			prog[0].off = 0;
		prog[n - 1] = (bpfvm_insn){ .opcode = 0x95 };
		bpfvm_helpers *h = bpfvm_helpers_new();
		bpfvm_error err = { 0 };
		bpfvm_program *p = NULL;
		bpfvm_helpers_add(h, 1, "one", (bpfvm_helper_fn)(void (*)(void))abort, &err);
		BPFVM_OPTS(bpfvm_load_opts, lo, .jit = true, .helpers = h);
		int rc = bpfvm_program_load(prog, n, &lo, &p, &err);
		CHECK(rc == 0, "%s (opcode 0x%02x): %s", op->asm_name, op->opcode, err.msg);
		bpfvm_program_free(p);
		bpfvm_helpers_free(h);
	}
}

/* Checked mode tests the first region inline: its bounds and its
 * read-only flag must hold there as on the slow path. */
static void test_first_region_inline(void)
{
	/* r0 = *(u32 *)(r1 + r2-offset); *(u8 *)(r1 + 0) = 1 when r3 != 0 */
	bpfvm_insn prog[] = {
		{ .opcode = 0x0f, .dst = 1, .src = 2 },            /* r1 += r2 */
		{ .opcode = 0x61, .dst = 0, .src = 1 },            /* r0 = *(u32 *)(r1 + 0) */
		{ .opcode = 0x15, .dst = 3, .off = 1 },            /* if r3 == 0 goto +1 */
		{ .opcode = 0x72, .dst = 1, .imm = 1 },            /* *(u8 *)(r1 + 0) = 1 */
		{ .opcode = 0x95 },
	};
	bpfvm_program *p = NULL;
	bpfvm_error err = { 0 };
	BPFVM_OPTS(bpfvm_load_opts, lo, .jit = true);
	if (bpfvm_program_load(prog, 5, &lo, &p, &err)) {
		CHECK(0, "load: %s", err.msg);
		return;
	}
	uint8_t mem[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct { uint64_t off, write; bool writable; int want_rc; } cases[] = {
		{ 0, 0, false, 0 }, { 12, 0, false, 0 }, { 13, 0, false, -14 }, { (uint64_t)-1, 0, false, -14 },
		{ 12, 1, true, 0 }, { 12, 1, false, -14 }, { 16, 1, true, -14 },
	};
	for (int engine = 0; engine < 2; engine++) {
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			bpfvm_region r = { mem, sizeof mem, cases[i].writable };
			BPFVM_OPTS(bpfvm_run_opts, ro,
				.args = { (uint64_t)(uintptr_t)mem, cases[i].off, cases[i].write },
				.engine = engine ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP,
				.regions = &r, .region_count = 1
			);
			uint64_t r0 = 0;
			int rc = bpfvm_program_run(p, &ro, &r0, &err);
			CHECK(rc == cases[i].want_rc, "%s case %zu: rc %d, want %d (%s)", engine ? "jit" : "interp", i,
			      rc, cases[i].want_rc, rc ? err.msg : "");
		}
	}
	bpfvm_program_free(p);
}

int main(void)
{
	test_first_region_inline();
	test_wx_and_blinding();
	test_perf_map();
	test_every_operation();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
