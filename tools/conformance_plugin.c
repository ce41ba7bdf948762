/*
 * conformance_plugin.c - bpfvm-conformance-plugin, the runtime under test
 * for the bpf_conformance runner.
 *
 * Protocol: started as `bpfvm-conformance-plugin [MEM] [OPTIONS...]`, where
 * MEM is the input memory as hex bytes separated by spaces; the program
 * arrives on stdin as hex bytes.  Runs it with r1 = a writable copy of MEM
 * (or 0) and r2 = its length, prints r0 in hex and exits 0, or prints an
 * error on stderr and exits 1.  Helper 5 is the suite's "unwind" helper:
 * it returns r1, and when that is 0 the program stops with r0 = 0.
 */
#include <ctype.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"

/* Guard against endless loops in untrusted input. */
#define PLUGIN_MAX_BACK_EDGES (1ull << 26)

static uint64_t unwind_helper(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                              bpfvm_run *run)
{
	(void)r2; (void)r3; (void)r4; (void)r5;
	if (r1 == 0)
		bpfvm_run_stop(run, 0);
	return r1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Parses whitespace-separated two-digit hex bytes.  Returns the count, or
 * -1 with *bad set to the offending position. */
static long parse_hex(const char *text, size_t len, uint8_t *out, size_t *bad)
{
	long n = 0;
	for (size_t i = 0; i < len;) {
		if (isspace((unsigned char)text[i])) {
			i++;
			continue;
		}
		int hi = hexval((unsigned char)text[i]);
		int lo = i + 1 < len ? hexval((unsigned char)text[i + 1]) : -1;
		if (hi < 0 || lo < 0 || (i + 2 < len && !isspace((unsigned char)text[i + 2]))) {
			*bad = i;
			return -1;
		}
		out[n++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return n;
}

static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		return NULL;
	size_t got;
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			char *bigger = cap > (1u << 30) ? NULL : realloc(buf, cap * 2);
			if (!bigger) {
				free(buf);
				return NULL;
			}
			buf = bigger;
			cap *= 2;
		}
	}
	*len = n;
	return buf;
}

int main(int argc, char **argv)
{
	const char *mem_text = NULL;
	bpfvm_mode mode = BPFVM_CHECKED;
	bool jit = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--interpret"))
			continue;
		if (!strcmp(argv[i], "--unchecked"))
			mode = BPFVM_UNCHECKED;
		else if (!strcmp(argv[i], "--jit"))
			jit = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: bpfvm-conformance-plugin [MEM] [--interpret | --jit] [--unchecked]\n"
			       "Reads a program as hex bytes on stdin, runs it with r1 = MEM (hex bytes)\n"
			       "and r2 = its length, and prints r0 in hex, with the interpreter (default)\n"
			       "or the x86-64 JIT.  Checked mode unless --unchecked.\n");
			return 0;
		} else if (i == 1 && strncmp(argv[i], "--", 2))
			mem_text = argv[i];
		else {
			fprintf(stderr, "bpfvm-conformance-plugin: unknown option '%s'\n", argv[i]);
			return 1;
		}
	}

	uint8_t *mem = NULL;
	long mem_len = 0;
	if (mem_text) {
		size_t len = strlen(mem_text), bad = 0;
		mem = malloc(len / 2 + 1);
		if (!mem)
			return 1;
		mem_len = parse_hex(mem_text, len, mem, &bad);
		if (mem_len < 0) {
			fprintf(stderr, "bpfvm-conformance-plugin: memory argument: bad hex at offset %zu\n", bad);
			free(mem);
			return 1;
		}
	}

	size_t text_len = 0;
	char *text = read_all(stdin, &text_len);
	if (!text) {
		fprintf(stderr, "bpfvm-conformance-plugin: cannot read the program from stdin\n");
		free(mem);
		return 1;
	}
	uint8_t *code = malloc(text_len / 2 + 8);
	size_t bad = 0;
	long code_len = code ? parse_hex(text, text_len, code, &bad) : -1;
	free(text);
	int status = 1;
	bpfvm_helpers *helpers = bpfvm_helpers_new();
	bpfvm_program *prog = NULL;
	bpfvm_error err = { 0 };
	if (code_len < 0) {
		fprintf(stderr, "bpfvm-conformance-plugin: program: bad hex at offset %zu\n", bad);
		goto out;
	}
	if (code_len % 8) {
		fprintf(stderr, "bpfvm-conformance-plugin: program: %ld bytes is not a whole number of 8-byte instructions\n",
		        code_len);
		goto out;
	}
	if (!helpers || bpfvm_helpers_add(helpers, 5, "unwind", unwind_helper, &err)) {
		fprintf(stderr, "bpfvm-conformance-plugin: out of memory\n");
		goto out;
	}
	BPFVM_OPTS(bpfvm_load_opts, lopts, .helpers = helpers, .jit = jit, .name = "conformance");
	if (bpfvm_program_load((const bpfvm_insn *)code, (size_t)code_len / 8, &lopts, &prog, &err)) {
		fprintf(stderr, "bpfvm-conformance-plugin: load: instruction %d: %s\n", err.insn, err.msg);
		goto out;
	}
	bpfvm_region region = { .base = mem, .len = (size_t)mem_len, .writable = true };
	BPFVM_OPTS(bpfvm_run_opts, ropts,
		.args = { (uint64_t)(uintptr_t)mem, (uint64_t)mem_len },
		.mode = mode,
		.regions = &region,
		.region_count = mem ? 1 : 0,
		.packet = mem,
		.packet_len = (size_t)mem_len,
		.max_back_edges = mode == BPFVM_CHECKED ? PLUGIN_MAX_BACK_EDGES : 0
	);
	uint64_t r0 = 0;
	if (bpfvm_program_run(prog, &ropts, &r0, &err)) {
		fprintf(stderr, "bpfvm-conformance-plugin: run: instruction %d: %s\n", err.insn, err.msg);
		goto out;
	}
	printf("%" PRIx64 "\n", r0);
	status = 0;
out:
	bpfvm_program_free(prog);
	bpfvm_helpers_free(helpers);
	free(code);
	free(mem);
	return status;
}
