/*
 * test_inline_lookup.c - the JIT's open-coded array lookup (unchecked
 * mode, core/inline_lookup.h) returns exactly the pointer the
 * bpf_map_lookup_elem helper returns: for keys inside the map, at its
 * last index, just past it and far past it, over array shapes whose
 * value strides are powers of two and not, in the interpreter and the
 * JIT, checked and unchecked.  The same program shaped so that the call
 * must stay (r1 copied from another register), per-CPU arrays and hash
 * maps (never open-coded, but called directly: the map's own lookup
 * instead of the helper), and an embedder's own function under the
 * lookup's ID (called, not open-coded) give the same answers.  Which
 * calls were open-coded is read from the machine code: an open-coded
 * lookup has the map's value address as an immediate and no call of the
 * helper.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/maps.h"
#include "run/run.h"
#include "maps/map_internal.h"
#include "support/check.h"
#include "support/maps_test.h"
#include "support/prog_build.h"

#define LOOKUP 1   /* BPF_FUNC_map_lookup_elem */

/* r0 = bpf_map_lookup_elem(map, &(u32 key read from the input)).
 * direct: r1 is set by the lddw just before the call, as clang emits it
 * (open-coded when the map allows); otherwise r1 is copied from r7,
 * which the rule does not follow, so the helper is called. */
static size_t lookup_prog(bpfvm_insn *p, const bpfvm_map *map, bool direct)
{
	uint64_t addr = (uint64_t)(uintptr_t)map;
	int reg = direct ? 1 : 7;
	size_t n = 0;
	p[n++] = insn(0x61, 6, 1, 0, 0);                  /* r6 = *(u32 *)(r1 + 0) */
	p[n++] = insn(0x63, 10, 6, -4, 0);                /* *(u32 *)(r10 - 4) = r6 */
	p[n++] = insn(0xbf, 2, 10, 0, 0);                 /* r2 = r10 */
	p[n++] = insn(0x07, 2, 0, 0, -4);                 /* r2 += -4 */
	p[n++] = insn(0x18, (uint8_t)reg, 0, 0, (int32_t)(uint32_t)addr);
	p[n++] = insn(0x00, 0, 0, 0, (int32_t)(uint32_t)(addr >> 32));
	if (!direct)
		p[n++] = insn(0xbf, 1, 7, 0, 0);          /* r1 = r7 */
	p[n++] = insn(0x85, 0, 0, 0, LOOKUP);
	p[n++] = insn(0x95, 0, 0, 0, 0);
	return n;
}

/* Does the machine code hold `value` as an immediate (4 bytes when it
 * fits, as the JIT then encodes it)? */
static bool code_has(const bpfvm_program *prog, int mode, uint64_t value)
{
	const void *code;
	size_t len;
	if (bpfvm_program_jited(prog, mode, &code, &len))
		return false;
	size_t w = value <= UINT32_MAX ? 4 : 8;
	for (size_t i = 0; i + w <= len; i++)
		if (memcmp((const uint8_t *)code + i, &value, w) == 0)
			return true;
	return false;
}

static uint64_t run(const bpfvm_program *prog, bpfvm_mode mode, bpfvm_engine engine, uint32_t key, int *rc)
{
	uint32_t mem = key;
	bpfvm_region region = { &mem, sizeof mem, true };
	BPFVM_OPTS(bpfvm_run_opts, o,
		.args = { (uint64_t)(uintptr_t)&mem, sizeof mem },
		.mode = mode,
		.engine = engine,
		.regions = &region,
		.region_count = 1
	);
	uint64_t r0 = 0;
	bpfvm_error err = { 0 };
	*rc = bpfvm_program_run(prog, &o, &r0, &err);
	if (*rc)
		printf("run: %s\n", err.msg);
	return r0;
}

static bpfvm_program *load(const bpfvm_insn *p, size_t n, bpfvm_map *map, const bpfvm_helpers *helpers)
{
	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = helpers, .jit = true, .prog_type = BPFVM_PROG_TYPE_RAW,
	                       .maps = &map, .map_count = 1);
	bpfvm_program *prog = NULL;
	bpfvm_error err = { 0 };
	int rc = bpfvm_program_load(p, n, &lo, &prog, &err);
	CHECK(rc == 0, "load: %d %s", rc, err.msg);
	return prog;
}

static const bpfvm_mode modes[2] = { BPFVM_CHECKED, BPFVM_UNCHECKED };
static const bpfvm_engine engines[2] = { BPFVM_ENGINE_INTERP, BPFVM_ENGINE_JIT };

/* Every engine and mode returns what the map's lookup returns. */
static void check_keys(const bpfvm_program *prog, bpfvm_map *map, const char *what)
{
	uint32_t max = map->max_entries;
	uint32_t keys[] = { 0, 1, max / 2, max - 1, max, max + 1, 0x7fffffffu, 0x80000000u, 0xffffffffu };
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		uint64_t want = (uint64_t)(uintptr_t)bpfvm_map_lookup_elem(map, &keys[k]);
		if (map->type != BPFVM_MAP_TYPE_HASH)   /* the hash holds every other key */
			CHECK((want != 0) == (keys[k] < max), "%s: the map's own lookup of key %u", what, keys[k]);
		for (int m = 0; m < 2; m++)
			for (int e = 0; e < 2; e++) {
				int rc;
				uint64_t got = run(prog, modes[m], engines[e], keys[k], &rc);
				CHECK(rc == 0 && got == want, "%s, %s %s, key %u: r0 0x%" PRIx64 ", helper 0x%" PRIx64, what,
				      e ? "jit" : "interp", m ? "unchecked" : "checked", keys[k], got, want);
			}
	}
}

static bpfvm_map *make(uint32_t type, uint32_t value_size, uint32_t max_entries)
{
	bpfvm_map *m = mt_map(type, 4, value_size, max_entries, 0);
	if (m && type == BPFVM_MAP_TYPE_HASH) {
		uint8_t value[64] = { 0 };
		for (uint32_t k = 0; k < max_entries; k += 2)   /* every other key, so misses happen inside */
			bpfvm_map_update(m, &k, value, 0, NULL);
	}
	return m;
}

static void test_arrays(const bpfvm_helpers *helpers)
{
	static const struct { uint32_t value_size, max_entries; } shapes[] = {
		{ 4, 1 }, { 8, 5 }, { 12, 7 }, { 24, 100 }, { 100, 3 }, { 4096, 2 }, { 1, 65536 },
	};
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		bpfvm_map *map = make(BPFVM_MAP_TYPE_ARRAY, shapes[s].value_size, shapes[s].max_entries);
		if (!map)
			continue;
		uint32_t zero = 0;
		uint64_t values = (uint64_t)(uintptr_t)bpfvm_map_lookup_elem(map, &zero);
		uint64_t helper = 0;
		char what[96];
		for (int direct = 1; direct >= 0; direct--) {
			bpfvm_insn p[16];
			size_t n = lookup_prog(p, map, direct);
			bpfvm_program *prog = load(p, n, map, helpers);
			if (!prog)
				continue;
			helper = (uint64_t)(uintptr_t)bpfvm_helpers_find(helpers, 1, NULL);
			snprintf(what, sizeof what, "array %u x %u bytes, %s", shapes[s].max_entries, shapes[s].value_size,
			         direct ? "lddw r1 before the call" : "r1 copied");
			/* open-coded exactly where the rule says: unchecked, r1 from the lddw */
			CHECK(code_has(prog, BPFVM_UNCHECKED, values) == (bool)direct, "%s: unchecked code %s the values' "
			      "address", what, direct ? "lacks" : "has");
			CHECK(code_has(prog, BPFVM_UNCHECKED, helper) == !direct, "%s: unchecked code %s the helper", what,
			      direct ? "calls" : "does not call");
			CHECK(code_has(prog, BPFVM_CHECKED, helper), "%s: checked code does not call the helper", what);
			check_keys(prog, map, what);
			bpfvm_program_free(prog);
		}
		bpfvm_map_put(map);
	}
}

/* Maps whose lookups are never open-coded. */
static void test_other_maps(const bpfvm_helpers *helpers)
{
	const struct { uint32_t type; const char *name; } types[] = {
		{ BPFVM_MAP_TYPE_PERCPU_ARRAY, "percpu_array" },
		{ BPFVM_MAP_TYPE_HASH, "hash" },
	};
	for (size_t t = 0; t < 2; t++) {
		bpfvm_map *map = make(types[t].type, 16, 8);
		if (!map)
			continue;
		bpfvm_insn p[16];
		size_t n = lookup_prog(p, map, true);
		bpfvm_program *prog = load(p, n, map, helpers);
		if (!prog) {
			bpfvm_map_put(map);
			continue;
		}
		/* not open-coded: the unchecked JIT calls the map's own lookup
		 * directly, the checked JIT the helper */
		CHECK(code_has(prog, BPFVM_UNCHECKED, (uint64_t)(uintptr_t)map->ops->lookup) &&
		      !code_has(prog, BPFVM_UNCHECKED, (uint64_t)(uintptr_t)bpfvm_helpers_find(helpers, 1, NULL)),
		      "%s: the unchecked JIT must call the map's lookup", types[t].name);
		CHECK(code_has(prog, BPFVM_CHECKED, (uint64_t)(uintptr_t)bpfvm_helpers_find(helpers, 1, NULL)),
		      "%s: the checked JIT must call the helper", types[t].name);
		check_keys(prog, map, types[t].name);
		bpfvm_program_free(prog);
		bpfvm_map_put(map);
	}
}

static uint64_t my_lookup(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)a; (void)b; (void)c; (void)d; (void)e; (void)run;
	return 42;
}

/* An embedder's function under the lookup's ID is called as it is. */
static void test_own_helper(void)
{
	bpfvm_helpers *h = bpfvm_helpers_new();
	bpfvm_error err = { 0 };
	CHECK(h && bpfvm_helpers_add(h, LOOKUP, "my_lookup", my_lookup, &err) == 0, "add helper: %s", err.msg);
	bpfvm_map *map = make(BPFVM_MAP_TYPE_ARRAY, 8, 4);
	if (h && map) {
		bpfvm_insn p[16];
		size_t n = lookup_prog(p, map, true);
		bpfvm_program *prog = load(p, n, map, h);
		for (int m = 0; prog && m < 2; m++)
			for (int e = 0; e < 2; e++) {
				int rc;
				uint64_t got = run(prog, modes[m], engines[e], 1, &rc);
				CHECK(rc == 0 && got == 42, "own helper, %s %s: r0 %" PRIu64, e ? "jit" : "interp",
				      m ? "unchecked" : "checked", got);
			}
		bpfvm_program_free(prog);
	}
	bpfvm_map_put(map);
	bpfvm_helpers_free(h);
}

int main(void)
{
	bpfvm_error err = { 0 };
	bpfvm_helpers *helpers = bpfvm_helpers_new_kernel(&err);
	CHECK(helpers != NULL, "kernel helpers: %s", err.msg);
	if (helpers) {
		test_arrays(helpers);
		test_other_maps(helpers);
	}
	test_own_helper();
	bpfvm_helpers_free(helpers);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
