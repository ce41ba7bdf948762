/*
 * fuzz_asm.c - libFuzzer target: the assembler, the disassembler and the
 * round trip between them.
 *
 * Owns: the fuzz_asm input format and its oracles.
 *
 * Input format:
 *   - text mode (any input not starting with 0xff): the bytes, cut at the
 *     first NUL and NUL-terminated, are assembled with bpfvm_asm();
 *   - binary mode (first byte 0xff): the rest, truncated to a multiple of
 *     8, is taken as instructions directly.  A 0xff byte can never start
 *     valid assembly text, so the two modes do not compete for inputs;
 *     binary mode reaches every encoding, text mode the parser.
 *
 * Oracles, beyond "no crash, hang or sanitizer report":
 *   - bpfvm_asm: an error has a negative code and a NUL-terminated
 *     message; success gives at least one instruction;
 *   - every instruction is disassembled in both syntaxes, into heap
 *     buffers of exactly the needed size and of a truncating size; both
 *     syntaxes agree on validity and slot count, and truncation gives a
 *     NUL-terminated prefix of the full text;
 *   - round trip: when every instruction disassembles, the ASM-syntax text
 *     must reassemble to the identical bytes.  That is asserted for every
 *     program bpfvm_program_load accepts (helpers are registered for the
 *     IDs the program calls, so unknown helpers are not what rejects it),
 *     and also for rejected programs whose instructions each disassemble:
 *     the syntax is per instruction, so it must round-trip all the same.
 *     The two cases abort with different messages to tell them apart.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"

#define TEXT_MAX 256   /* more than any one instruction's text */

static uint64_t dummy_helper(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                             bpfvm_run *run)
{
	(void)r2; (void)r3; (void)r4; (void)r5; (void)run;
	return r1;
}

static void check_error(int rc, const bpfvm_error *err, const char *what)
{
	if (rc >= 0 || err->code != rc || memchr(err->msg, '\0', sizeof err->msg) == NULL) {
		fprintf(stderr, "fuzz_asm: %s: bad error report rc=%d code=%d\n", what, rc, err->code);
		abort();
	}
}

/* Disassembles slot pc in `syntax` into out (TEXT_MAX bytes); also prints
 * it into an exactly-sized and a too-small heap buffer, where ASan sees
 * any write past the end.  Returns bpfvm_disasm_insn's result. */
static int disasm_checked(const bpfvm_insn *insns, size_t count, size_t pc, bpfvm_syntax syntax,
                          char *out)
{
	int rc = bpfvm_disasm_insn(insns, count, pc, syntax, out, TEXT_MAX);
	size_t len = strnlen(out, TEXT_MAX);
	if (len >= TEXT_MAX - 1) {
		fprintf(stderr, "fuzz_asm: instruction %zu disassembles to %zu+ characters\n", pc, len);
		abort();
	}
	if (rc == 0 || rc > 2) {
		fprintf(stderr, "fuzz_asm: bpfvm_disasm_insn returned %d for instruction %zu\n", rc, pc);
		abort();
	}
	size_t sizes[2] = { len + 1, len / 2 + 1 };
	for (int i = 0; i < 2; i++) {
		char *buf = malloc(sizes[i]);
		if (!buf)
			abort();
		int rc2 = bpfvm_disasm_insn(insns, count, pc, syntax, buf, sizes[i]);
		if (rc2 != rc || strlen(buf) != sizes[i] - 1 || memcmp(buf, out, sizes[i] - 1) != 0) {
			fprintf(stderr, "fuzz_asm: disassembly of %zu into %zu bytes: %d '%s', full: %d '%s'\n",
			        pc, sizes[i], rc2, buf, rc, out);
			abort();
		}
		free(buf);
	}
	/* No buffer at all only measures; it must not write anywhere. */
	if (bpfvm_disasm_insn(insns, count, pc, syntax, NULL, 0) != rc)
		abort();
	return rc;
}

static void hexdump(const bpfvm_insn *insns, size_t count)
{
	const uint8_t *b = (const uint8_t *)insns;
	for (size_t i = 0; i < count * sizeof *insns; i++)
		fprintf(stderr, "%02x%s", b[i], i % 8 == 7 ? "\n" : " ");
}

/* Disassembles the whole program and, if it all decodes, reassembles the
 * ASM-syntax text and demands the same bytes. */
static void check_program(const bpfvm_insn *insns, size_t count)
{
	char asm_text[TEXT_MAX], llvm_text[TEXT_MAX];
	/* Lines joined by '\n'; each line is < TEXT_MAX. */
	char *text = malloc(count * TEXT_MAX + 1);
	if (!text)
		abort();
	size_t len = 0;
	bool all_valid = true;
	for (size_t pc = 0; pc < count;) {
		int a = disasm_checked(insns, count, pc, BPFVM_SYNTAX_ASM, asm_text);
		int l = disasm_checked(insns, count, pc, BPFVM_SYNTAX_LLVM, llvm_text);
		if ((a < 0) != (l < 0) || (a > 0 && a != l)) {
			fprintf(stderr, "fuzz_asm: syntaxes disagree on instruction %zu: %d '%s' vs %d '%s'\n",
			        pc, a, asm_text, l, llvm_text);
			abort();
		}
		if (a < 0) {
			if (strncmp(asm_text, "invalid: ", 9) != 0) {
				fprintf(stderr, "fuzz_asm: invalid instruction %zu printed as '%s'\n", pc,
				        asm_text);
				abort();
			}
			all_valid = false;
			pc++;
			continue;
		}
		size_t n = strlen(asm_text);
		memcpy(text + len, asm_text, n);
		len += n;
		text[len++] = '\n';
		pc += (size_t)a;
	}
	text[len] = '\0';

	/* Load with every called helper ID registered. */
	bpfvm_error err;
	bpfvm_helpers *helpers = bpfvm_helpers_new();
	if (!helpers)
		abort();
	for (size_t pc = 0; pc < count; pc++)
		if (insns[pc].opcode == 0x85 && insns[pc].src == 0 &&
		    bpfvm_helpers_add(helpers, (uint32_t)insns[pc].imm, "h", dummy_helper, &err))
			abort();
	bpfvm_program *prog = NULL;
	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = helpers);
	memset(&err, 0, sizeof err);
	int lrc = bpfvm_program_load(insns, count, &lo, &prog, &err);
	if (lrc)
		check_error(lrc, &err, "bpfvm_program_load");
	bool loaded = lrc == 0;
	bpfvm_program_free(prog);
	bpfvm_helpers_free(helpers);
	if (loaded && !all_valid) {
		fprintf(stderr, "fuzz_asm: a program that loads has an instruction the disassembler rejects\n");
		hexdump(insns, count);
		abort();
	}

	if (all_valid) {
		bpfvm_insn *again = NULL;
		size_t again_count = 0;
		memset(&err, 0, sizeof err);
		int rc = bpfvm_asm(text, &again, &again_count, &err);
		if (rc || again_count != count || memcmp(again, insns, count * sizeof *insns) != 0) {
			fprintf(stderr, "fuzz_asm: round trip differs (%s program)\n",
			        loaded ? "loadable" : "rejected but per-instruction valid");
			fprintf(stderr, "original bytes:\n");
			hexdump(insns, count);
			fprintf(stderr, "disassembly:\n%s", text);
			if (rc)
				fprintf(stderr, "reassembly failed, line %d: %s\n", err.line, err.msg);
			else {
				fprintf(stderr, "reassembled bytes:\n");
				hexdump(again, again_count);
			}
			abort();
		}
		free(again);
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 1 && data[0] == 0xff) {
		size_t count = (size - 1) / sizeof(bpfvm_insn);
		if (count == 0)
			return 0;
		bpfvm_insn *insns = malloc(count * sizeof *insns);
		if (!insns)
			abort();
		memcpy(insns, data + 1, count * sizeof *insns);
		check_program(insns, count);
		free(insns);
		return 0;
	}

	/* The text, exactly sized so ASan sees any read past its NUL. */
	size_t len = strnlen((const char *)data, size);
	char *text = malloc(len + 1);
	if (!text)
		abort();
	memcpy(text, data, len);
	text[len] = '\0';

	bpfvm_insn *insns = (bpfvm_insn *)(uintptr_t)1;   /* must be overwritten */
	size_t count = 12345;
	bpfvm_error err;
	memset(&err, 0, sizeof err);
	int rc = bpfvm_asm(text, &insns, &count, &err);
	if (rc) {
		check_error(rc, &err, "bpfvm_asm");
		if (insns || count) {
			fprintf(stderr, "fuzz_asm: bpfvm_asm failed but left output\n");
			abort();
		}
	} else {
		if (!insns || count == 0) {
			fprintf(stderr, "fuzz_asm: bpfvm_asm succeeded with no instructions\n");
			abort();
		}
		check_program(insns, count);
		free(insns);
	}
	free(text);
	return 0;
}
