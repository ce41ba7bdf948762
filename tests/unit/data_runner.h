/*
 * data_runner.h - runs test programs kept as data: files in the
 * bpf_conformance format, extended with expected errors.
 *
 * Sections of a .data file (each starts with a line "-- NAME"):
 *   asm         the program, in the conformance assembler's syntax
 *   raw         or the program as 64-bit little-endian words, one a line
 *               (0x<imm:32><off:16><src:4><dst:4><opcode:8>)
 *   mem         input memory, hex bytes
 *   result      expected r0
 *   load-error  "INSN TEXT": loading must fail at instruction INSN (-1:
 *               none) with TEXT in the message
 *   run-error   "INSN TEXT": the checked run must fail so (unchecked mode
 *               is then not run: the program is unsafe by design)
 * Every case runs in every engine (interpreter, JIT) and mode (checked,
 * unchecked); all must agree.  The programs may call helper 5 (the
 * conformance suite's "unwind": stops the run when r1 is 0, else returns
 * r1) and 181, the kernel's bpf_loop; a checked run gives up after
 * 1000000 backward jumps and calls.
 */
#ifndef BPFVM_TESTS_DATA_RUNNER_H
#define BPFVM_TESTS_DATA_RUNNER_H

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"

static inline char *dr_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = 0;
	fclose(f);
	return buf;
}

/* Section body (malloc'd) or NULL. */
static inline char *dr_section(const char *text, const char *name)
{
	char header[64];
	snprintf(header, sizeof header, "-- %s", name);
	size_t hl = strlen(header);
	for (const char *p = text; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		while (ll && (p[ll - 1] == '\r' || p[ll - 1] == ' '))
			ll--;
		if (ll == hl && !strncmp(p, header, hl)) {
			const char *start = eol ? eol + 1 : p + strlen(p);
			const char *end = start;
			while (*end && strncmp(end, "-- ", 3)) {
				const char *e = strchr(end, '\n');
				end = e ? e + 1 : end + strlen(end);
			}
			return strndup(start, (size_t)(end - start));
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

static inline size_t dr_hex_bytes(const char *text, uint8_t *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = text; *p;) {
		if (*p == '#') {
			while (*p && *p != '\n')
				p++;
			continue;
		}
		unsigned v;
		int used;
		if (n < cap && sscanf(p, " %2x%n", &v, &used) == 1) {
			out[n++] = (uint8_t)v;
			p += used;
		} else {
			p++;
		}
	}
	return n;
}

/* Parses "INSN TEXT". */
static inline void dr_expect(const char *sec, int *insn, char *text, size_t len)
{
	*insn = -2;
	text[0] = 0;
	int used = 0;
	if (sscanf(sec, " %d %n", insn, &used) >= 1) {
		snprintf(text, len, "%s", sec + used);
		char *nl = strchr(text, '\n');
		if (nl)
			*nl = 0;
	}
}

static inline uint64_t dr_unwind(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                          bpfvm_run *run)
{
	(void)r2; (void)r3; (void)r4; (void)r5;
	if (r1 == 0)
		bpfvm_run_stop(run, 0);
	return r1;
}

/* Runs one file; returns 0 if it passed, else prints why and returns 1. */
static inline int dr_run_file(const char *path)
{
	char *text = dr_read(path);
	if (!text) {
		printf("FAIL %s: cannot read\n", path);
		return 1;
	}
	char *asm_sec = dr_section(text, "asm"), *raw_sec = dr_section(text, "raw");
	char *mem_sec = dr_section(text, "mem"), *res_sec = dr_section(text, "result");
	char *lerr_sec = dr_section(text, "load-error"), *rerr_sec = dr_section(text, "run-error");
	int failed = 0;
	bpfvm_insn *insns = NULL;
	size_t count = 0;
	bpfvm_error err = { 0 };
	bpfvm_program *prog = NULL;
	bpfvm_helpers *helpers = bpfvm_helpers_new();
	bpfvm_helpers_add(helpers, 5, "unwind", dr_unwind, NULL);
	bpfvm_helpers *kernel = bpfvm_helpers_new_kernel(NULL);
	const char *loop_name = NULL;
	bpfvm_helper_fn loop = bpfvm_helpers_find(kernel, 181, &loop_name);
	if (loop)
		bpfvm_helpers_add(helpers, 181, loop_name, loop, NULL);
	bpfvm_helpers_free(kernel);

	if (asm_sec) {
		if (bpfvm_asm(asm_sec, &insns, &count, &err)) {
			printf("FAIL %s: asm line %d: %s\n", path, err.line, err.msg);
			failed = 1;
			goto out;
		}
	} else if (raw_sec) {
		insns = calloc(strlen(raw_sec) / 2 + 1, sizeof *insns);
		for (char *p = raw_sec; *p;) {
			char *end;
			unsigned long long w = strtoull(p, &end, 16);
			if (end == p) {
				p++;
				continue;
			}
			memcpy(&insns[count++], &w, 8);
			p = end;
		}
	} else {
		printf("FAIL %s: no asm or raw section\n", path);
		failed = 1;
		goto out;
	}

	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = helpers, .jit = true);
	int rc = bpfvm_program_load(insns, count, &lo, &prog, &err);
	if (lerr_sec) {
		int want_insn;
		char want[200];
		dr_expect(lerr_sec, &want_insn, want, sizeof want);
		if (rc == 0 || err.insn != want_insn || !strstr(err.msg, want)) {
			printf("FAIL %s: load: want error at %d containing '%s', got rc %d at %d: %s\n",
			       path, want_insn, want, rc, err.insn, rc ? err.msg : "(accepted)");
			failed = 1;
		}
		goto out;
	}
	if (rc) {
		printf("FAIL %s: load: instruction %d: %s\n", path, err.insn, err.msg);
		failed = 1;
		goto out;
	}

	uint8_t mem_orig[4096], mem[4096];
	size_t mem_len = mem_sec ? dr_hex_bytes(mem_sec, mem_orig, sizeof mem_orig) : 0;
	for (int combo = 0; combo < 4; combo++) {
		int mode = combo & 1;
		bpfvm_engine engine = combo & 2 ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP;
		if (rerr_sec && mode == BPFVM_UNCHECKED)
			continue;
		memcpy(mem, mem_orig, mem_len);
		bpfvm_region region = { .base = mem, .len = mem_len, .writable = true };
		BPFVM_OPTS(bpfvm_run_opts, ro,
			.args = { mem_len ? (uint64_t)(uintptr_t)mem : 0, mem_len },
			.mode = (bpfvm_mode)mode,
			.engine = engine,
			.regions = &region,
			.region_count = mem_len ? 1 : 0,
			.packet = mem_len ? mem : NULL,
			.packet_len = mem_len,
			.max_back_edges = mode == BPFVM_CHECKED ? 1000000 : 0
		);
		uint64_t r0 = 0;
		rc = bpfvm_program_run(prog, &ro, &r0, &err);
		const char *mname = combo == 0 ? "interp checked" : combo == 1 ? "interp unchecked"
		                  : combo == 2 ? "jit checked" : "jit unchecked";
		if (rerr_sec) {
			int want_insn;
			char want[200];
			dr_expect(rerr_sec, &want_insn, want, sizeof want);
			if (rc == 0 || err.insn != want_insn || !strstr(err.msg, want)) {
				printf("FAIL %s (%s): run: want error at %d containing '%s', got rc %d at %d: %s\n",
				       path, mname, want_insn, want, rc, err.insn, rc ? err.msg : "(no error)");
				failed = 1;
			}
			continue;
		}
		if (rc) {
			printf("FAIL %s (%s): run: instruction %d: %s\n", path, mname, err.insn, err.msg);
			failed = 1;
			continue;
		}
		if (!res_sec) {
			printf("FAIL %s: no result, load-error or run-error section\n", path);
			failed = 1;
			break;
		}
		uint64_t want = strtoull(res_sec, NULL, 0);
		if (r0 != want) {
			printf("FAIL %s (%s): r0 = 0x%" PRIx64 ", want 0x%" PRIx64 "\n", path, mname, r0, want);
			failed = 1;
		}
	}
out:
	bpfvm_program_free(prog);
	bpfvm_helpers_free(helpers);
	free(insns);
	free(text);
	free(asm_sec);
	free(raw_sec);
	free(mem_sec);
	free(res_sec);
	free(lerr_sec);
	free(rerr_sec);
	return failed;
}

static inline int dr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every .data file of dir; adds to *passed / *failed.  Returns -1 if
 * the directory cannot be opened. */
static inline int dr_run_dir(const char *dir, int *passed, int *failed)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l > 5 && !strcmp(e->d_name + l - 5, ".data")) {
			names = realloc(names, (n + 1) * sizeof *names);
			names[n++] = strdup(e->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof *names, dr_cmp);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (dr_run_file(path))
			(*failed)++;
		else
			(*passed)++;
		free(names[i]);
	}
	free(names);
	return 0;
}

#endif
