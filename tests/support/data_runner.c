/*
 * data_runner.c - running one .data test program (data_runner.h) in every
 * engine and mode and comparing with what its sections expect.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "common/datafile.h"
#include "data_runner.h"

/* The sections of one file, each malloc'd or NULL. */
struct dr_sections {
	char *asm_text, *raw, *mem, *result, *load_error, *run_error;
};

static void dr_sections_read(const char *text, struct dr_sections *s)
{
	s->asm_text = datafile_section(text, "asm");
	s->raw = datafile_section(text, "raw");
	s->mem = datafile_section(text, "mem");
	s->result = datafile_section(text, "result");
	s->load_error = datafile_section(text, "load-error");
	s->run_error = datafile_section(text, "run-error");
}

static void dr_sections_free(struct dr_sections *s)
{
	free(s->asm_text);
	free(s->raw);
	free(s->mem);
	free(s->result);
	free(s->load_error);
	free(s->run_error);
}

/* The conformance suite's helper 5: stops the run when r1 is 0. */
static uint64_t dr_unwind(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, bpfvm_run *run)
{
	(void)r2; (void)r3; (void)r4; (void)r5;
	if (r1 == 0)
		bpfvm_run_stop(run, 0);
	return r1;
}

/* Helper 5 (unwind) and 181 (the kernel's bpf_loop). */
static bpfvm_helpers *dr_helpers(void)
{
	bpfvm_helpers *helpers = bpfvm_helpers_new();
	bpfvm_helpers_add(helpers, 5, "unwind", dr_unwind, NULL);
	bpfvm_helpers *kernel = bpfvm_helpers_new_kernel(NULL);
	const char *loop_name = NULL;
	bpfvm_helper_fn loop = bpfvm_helpers_find(kernel, 181, &loop_name);
	if (loop)
		bpfvm_helpers_add(helpers, 181, loop_name, loop, NULL);
	bpfvm_helpers_free(kernel);
	return helpers;
}

/* The program of an asm or raw section; 0, or 1 after printing why. */
static int dr_program(const char *path, const struct dr_sections *s, bpfvm_insn **insns, size_t *count)
{
	bpfvm_error err = { 0 };
	if (s->asm_text) {
		if (bpfvm_asm(s->asm_text, insns, count, &err)) {
			printf("FAIL %s: asm line %d: %s\n", path, err.line, err.msg);
			return 1;
		}
		return 0;
	}
	if (s->raw) {
		*insns = (bpfvm_insn *)datafile_raw_words(s->raw, count);
		return 0;
	}
	printf("FAIL %s: no asm or raw section\n", path);
	return 1;
}

/* Whether the load's outcome is the one expected; prints why not. */
static int dr_check_load(const char *path, const struct dr_sections *s, int rc, const bpfvm_error *err)
{
	if (s->load_error) {
		int want_insn;
		char want[200];
		datafile_expected_error(s->load_error, &want_insn, want, sizeof want);
		if (rc == 0 || err->insn != want_insn || !strstr(err->msg, want)) {
			printf("FAIL %s: load: want error at %d containing '%s', got rc %d at %d: %s\n",
			       path, want_insn, want, rc, err->insn, rc ? err->msg : "(accepted)");
			return 1;
		}
		return 0;
	}
	if (rc) {
		printf("FAIL %s: load: instruction %d: %s\n", path, err->insn, err->msg);
		return 1;
	}
	return 0;
}

/* Whether one run's outcome is the one expected; prints why not.  A
 * missing expectation returns -1 (no other mode need be tried). */
static int dr_check_run(const char *path, const char *mname, const struct dr_sections *s, int rc, uint64_t r0,
                        const bpfvm_error *err)
{
	if (s->run_error) {
		int want_insn;
		char want[200];
		datafile_expected_error(s->run_error, &want_insn, want, sizeof want);
		if (rc == 0 || err->insn != want_insn || !strstr(err->msg, want)) {
			printf("FAIL %s (%s): run: want error at %d containing '%s', got rc %d at %d: %s\n",
			       path, mname, want_insn, want, rc, err->insn, rc ? err->msg : "(no error)");
			return 1;
		}
		return 0;
	}
	if (rc) {
		printf("FAIL %s (%s): run: instruction %d: %s\n", path, mname, err->insn, err->msg);
		return 1;
	}
	if (!s->result) {
		printf("FAIL %s: no result, load-error or run-error section\n", path);
		return -1;
	}
	uint64_t want = strtoull(s->result, NULL, 0);
	if (r0 != want) {
		printf("FAIL %s (%s): r0 = 0x%" PRIx64 ", want 0x%" PRIx64 "\n", path, mname, r0, want);
		return 1;
	}
	return 0;
}

/* Runs prog over a fresh copy of mem in every engine and mode. */
static int dr_run_modes(const char *path, const struct dr_sections *s, const bpfvm_program *prog,
                        const uint8_t *mem_orig, size_t mem_len)
{
	static const char *const mode_names[4] = { "interp checked", "interp unchecked", "jit checked",
	                                           "jit unchecked" };
	uint8_t *mem = malloc(mem_len ? mem_len : 1);
	int failed = 0;
	for (int combo = 0; combo < 4; combo++) {
		int mode = combo & 1;
		bpfvm_engine engine = combo & 2 ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP;
		if (s->run_error && mode == BPFVM_UNCHECKED)
			continue;
		if (mem_len)
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
		bpfvm_error err = { 0 };
		int rc = bpfvm_program_run(prog, &ro, &r0, &err);
		int verdict = dr_check_run(path, mode_names[combo], s, rc, r0, &err);
		if (verdict) {
			failed = 1;
			if (verdict < 0)
				break;
		}
	}
	free(mem);
	return failed;
}

int dr_run_file(const char *path)
{
	char *text = datafile_read(path);
	if (!text) {
		printf("FAIL %s: cannot read\n", path);
		return 1;
	}
	struct dr_sections s;
	dr_sections_read(text, &s);
	bpfvm_insn *insns = NULL;
	size_t count = 0;
	bpfvm_program *prog = NULL;
	bpfvm_helpers *helpers = dr_helpers();
	int failed = dr_program(path, &s, &insns, &count);
	if (!failed) {
		bpfvm_error err = { 0 };
		BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = helpers, .jit = true);
		int rc = bpfvm_program_load(insns, count, &lo, &prog, &err);
		failed = dr_check_load(path, &s, rc, &err);
		if (!failed && !s.load_error) {
			uint8_t *mem = NULL;
			size_t mem_len = 0, bad_offset;
			if (s.mem && datafile_hex_bytes(s.mem, &mem, &mem_len, &bad_offset)) {
				printf("FAIL %s: mem: bad hex byte at offset %zu\n", path, bad_offset);
				failed = 1;
			} else {
				failed = dr_run_modes(path, &s, prog, mem, mem_len);
			}
			free(mem);
		}
	}
	bpfvm_program_free(prog);
	bpfvm_helpers_free(helpers);
	free(insns);
	free(text);
	dr_sections_free(&s);
	return failed;
}

static int dr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int dr_run_dir(const char *dir, int *passed, int *failed)
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
