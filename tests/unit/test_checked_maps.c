/*
 * test_checked_maps.c - checked mode keeps map structure out of a
 * program's reach (issue 11, item 4), in the interpreter and the JIT, and
 * with the map's window also passed as the run's first region (as
 * bpfvm_instance_regions() hands it out, so that the JIT's inline test of
 * that region is covered too): a hash element's key before its value (also
 * per-CPU and LRU), a bpf_spin_lock word inside a value, a ring buffer
 * record's header and a sample already submitted are refused, while the
 * values and reserved samples stay usable.  A bpf_spin_lock held at exit
 * is released and fails the run naming it; one held by someone else, or
 * taken twice, fails the run after a bounded wait instead of spinning.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/maps.h"
#include "support/check.h"
#include "support/prog_build.h"

enum { LOOKUP = 1, LOOKUP_PERCPU = 195, SPIN_LOCK = 93, SPIN_UNLOCK = 94, RB_RESERVE = 131, RB_SUBMIT = 132 };

static bpfvm_helpers *helpers;

static void emit_map(struct prog *p, uint8_t reg, const bpfvm_map *map)
{
	emit_imm64(p, reg, (uint64_t)(uintptr_t)map);
}

/* r6 = bpf_map_lookup_elem(map, &(u32)1), or for per-CPU maps CPU 0's
 * slot (bpf_map_lookup_percpu_elem), the one right after the key;
 * returns 99 if there is none. */
static void emit_lookup_in(struct prog *p, const bpfvm_map *map, bool percpu)
{
	emit(p, insn(0x62, 10, 0, -4, 1));      /* *(u32 *)(r10 - 4) = 1 */
	emit(p, insn(0xbf, 2, 10, 0, 0));       /* r2 = r10 */
	emit(p, insn(0x07, 2, 0, 0, -4));       /* r2 += -4 */
	emit_map(p, 1, map);
	emit(p, insn(0xb7, 3, 0, 0, 0));       /* r3 = 0: CPU 0 */
	emit(p, insn(0x85, 0, 0, 0, percpu ? LOOKUP_PERCPU : LOOKUP));
	emit(p, insn(0x55, 0, 0, 2, 0));        /* if r0 != 0 goto +2 */
	emit(p, insn(0xb7, 0, 0, 0, 99));
	emit(p, insn(0x95, 0, 0, 0, 0));
	emit(p, insn(0xbf, 6, 0, 0, 0));        /* r6 = r0 */
}

static void emit_lookup(struct prog *p, const bpfvm_map *map)
{
	emit_lookup_in(p, map, false);
}

/* bpf_spin_lock or bpf_spin_unlock of the lock at r6 + off. */
static void emit_lock_call(struct prog *p, int helper, int16_t off)
{
	emit(p, insn(0xbf, 1, 6, 0, 0));
	emit(p, insn(0x07, 1, 0, 0, off));
	emit(p, insn(0x85, 0, 0, 0, helper));
}

static void emit_exit0(struct prog *p)
{
	emit(p, insn(0xb7, 0, 0, 0, 0));
	emit(p, insn(0x95, 0, 0, 0, 0));
}

static const char *engine_name(bpfvm_engine e) { return e == BPFVM_ENGINE_JIT ? "jit" : "interp"; }

/* Runs p checked in `engine`; the map's window is the first region when
 * window_first, else a scratch buffer is.  Returns the run's code, with
 * its message in msg. */
static int run_checked(const struct prog *p, bpfvm_map *map, bpfvm_engine engine, bool window_first, char *msg,
                       size_t msg_len)
{
	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = helpers, .jit = true, .prog_type = BPFVM_PROG_TYPE_RAW,
	           .maps = &map, .map_count = 1);
	bpfvm_program *prog = NULL;
	bpfvm_error err = { 0 };
	int rc = bpfvm_program_load(p->i, p->n, &lo, &prog, &err);
	if (!CHECK(rc == 0, "load: %s", err.msg))
		return rc;
	uint64_t scratch[4] = { 0 };
	void *base;
	size_t len;
	bpfvm_map_arena(map, &base, &len);
	bpfvm_region regions[2] = { { scratch, sizeof scratch, true }, { base, len, true } };
	if (window_first) {
		regions[0] = regions[1];
		regions[1] = (bpfvm_region){ scratch, sizeof scratch, true };
	}
	BPFVM_OPTS(bpfvm_run_opts, o, .args = { (uint64_t)(uintptr_t)scratch, sizeof scratch }, .mode = BPFVM_CHECKED,
	           .engine = engine, .regions = regions, .region_count = 2);
	uint64_t r0 = 0;
	rc = bpfvm_program_run(prog, &o, &r0, &err);
	snprintf(msg, msg_len, "%s", rc ? err.msg : "");
	if (rc == 0 && r0 != 0)
		rc = -1000 - (int)r0;   /* the program's own "not found" */
	bpfvm_program_free(prog);
	return rc;
}

/* The program, in both engines and both region set-ups, succeeds (ok) or
 * fails with a message containing `want`. */
static void expect(const struct prog *p, bpfvm_map *map, bool ok, const char *want, const char *what)
{
	static const bpfvm_engine engines[2] = { BPFVM_ENGINE_INTERP, BPFVM_ENGINE_JIT };
	for (int e = 0; e < 2; e++)
		for (int w = 0; w < 2; w++) {
			char msg[256];
			int rc = run_checked(p, map, engines[e], w, msg, sizeof msg);
			if (ok)
				CHECK(rc == 0, "%s (%s%s): want success, got %d %s", what, engine_name(engines[e]),
				      w ? ", window first" : "", rc, msg);
			else
				CHECK(rc != 0 && strstr(msg, want), "%s (%s%s): want an error with '%s', got %d '%s'", what,
				      engine_name(engines[e]), w ? ", window first" : "", want, rc, msg);
		}
}

static bpfvm_map *make(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                       int32_t lock_off, const char *name)
{
	bpfvm_map_def def = BPFVM_MAP_DEF_INIT;
	def.type = type;
	def.key_size = key_size;
	def.value_size = value_size;
	def.max_entries = max_entries;
	def.spin_lock_off = lock_off;
	def.name = name;
	bpfvm_map *m = NULL;
	bpfvm_error err = { 0 };
	CHECK(bpfvm_map_create(&def, &m, &err) == 0, "create %s: %s", name, err.msg);
	return m;
}

/* Fills keys 0..count-1 with zero values (every CPU's, for per-CPU maps). */
static void fill(bpfvm_map *m, uint32_t count)
{
	static uint8_t zero[4096];
	for (uint32_t k = 0; k < count; k++)
		CHECK(bpfvm_map_update(m, &k, zero, 0, NULL) == 0, "update key %u", k);
}

/* The map still walks: get_next_key visits `count` keys and ends. */
static void check_walk(bpfvm_map *m, uint32_t count, const char *what)
{
	uint32_t key, next, seen = 0;
	const void *prev = NULL;
	while (seen <= count + 1 && bpfvm_map_get_next_key(m, prev, &next, NULL) == 0) {
		key = next;
		prev = &key;
		seen++;
	}
	CHECK(seen == count, "%s: the walk saw %u keys, want %u", what, seen, count);
}

/* An access at r6 + off after a lookup of key 1: st (width by opcode) or ldx. */
static struct prog access_prog(bpfvm_map *map, uint8_t opcode, int16_t off)
{
	struct prog p = { .n = 0 };
	bpfvm_map_info info;
	bpfvm_map_info_get(map, &info);
	emit_lookup_in(&p, map, info.type == BPFVM_MAP_TYPE_PERCPU_HASH || info.type == BPFVM_MAP_TYPE_LRU_PERCPU_HASH);
	bool load = (opcode & 7) == 1;   /* BPF_LDX */
	emit(&p, load ? insn(opcode, 1, 6, off, 0) : insn(opcode, 6, 0, off, 0x5a5a5a5a));
	emit_exit0(&p);
	return p;
}

#define ST_DW 0x7a
#define ST_W 0x62
#define LDX_DW 0x79
#define LDX_W 0x61

static void test_hash_keys(uint32_t type, const char *name)
{
	bpfvm_map *m = make(type, 4, 8, 8, -1, name);
	if (!m)
		return;
	fill(m, 4);
	char what[96];
	snprintf(what, sizeof what, "%s: write the key before the value", name);
	struct prog p = access_prog(m, ST_DW, -8);
	expect(&p, m, false, "out-of-bounds", what);
	snprintf(what, sizeof what, "%s: read the key before the value", name);
	p = access_prog(m, LDX_DW, -8);
	expect(&p, m, false, "out-of-bounds", what);
	snprintf(what, sizeof what, "%s: write the value", name);
	p = access_prog(m, ST_DW, 0);
	expect(&p, m, true, NULL, what);
	snprintf(what, sizeof what, "%s: read the value", name);
	p = access_prog(m, LDX_W, 4);
	expect(&p, m, true, NULL, what);
	snprintf(what, sizeof what, "%s: walk after the refused writes", name);
	check_walk(m, 4, what);
	bpfvm_map_put(m);
}

static void test_hash_keys_past_value(void)
{
	bpfvm_map *m = make(BPFVM_MAP_TYPE_HASH, 4, 12, 8, -1, "h12");
	if (!m)
		return;
	fill(m, 2);
	/* value 12 bytes, 16 with its padding: +16 is the next element's key */
	struct prog p = access_prog(m, ST_W, 16);
	expect(&p, m, false, "out-of-bounds", "hash: write past the value into the next key");
	p = access_prog(m, ST_DW, 12);
	expect(&p, m, false, "out-of-bounds", "hash: a write that runs from the padding into the next key");
	p = access_prog(m, ST_W, 8);
	expect(&p, m, true, NULL, "hash: write the value's last word");
	check_walk(m, 2, "hash12: walk");
	bpfvm_map_put(m);
}

static void test_lock_words(uint32_t type, const char *name)
{
	bpfvm_map *m = make(type, 4, 16, 4, 8, name);
	if (!m)
		return;
	fill(m, 2);
	char what[96];
	struct prog p = access_prog(m, ST_W, 8);
	snprintf(what, sizeof what, "%s: write the lock word", name);
	expect(&p, m, false, "out-of-bounds", what);
	p = access_prog(m, ST_DW, 4);
	snprintf(what, sizeof what, "%s: a write over half the lock word", name);
	expect(&p, m, false, "out-of-bounds", what);
	p = access_prog(m, ST_W, 12);
	snprintf(what, sizeof what, "%s: write next to the lock word", name);
	expect(&p, m, true, NULL, what);
	p = access_prog(m, LDX_W, 8);
	snprintf(what, sizeof what, "%s: read the lock word", name);
	expect(&p, m, true, NULL, what);
	bpfvm_map_put(m);
}

/* r6 = bpf_ringbuf_reserve(map, 16, 0), or return 99. */
static void emit_reserve(struct prog *p, bpfvm_map *map)
{
	emit_map(p, 1, map);
	emit(p, insn(0xb7, 2, 0, 0, 16));
	emit(p, insn(0xb7, 3, 0, 0, 0));
	emit(p, insn(0x85, 0, 0, 0, RB_RESERVE));
	emit(p, insn(0x55, 0, 0, 2, 0));
	emit(p, insn(0xb7, 0, 0, 0, 99));
	emit(p, insn(0x95, 0, 0, 0, 0));
	emit(p, insn(0xbf, 6, 0, 0, 0));
}

static void emit_submit(struct prog *p)
{
	emit(p, insn(0xbf, 1, 6, 0, 0));
	emit(p, insn(0xb7, 2, 0, 0, 0));
	emit(p, insn(0x85, 0, 0, 0, RB_SUBMIT));
}

static int count_sample(void *ctx, void *data, size_t size)
{
	uint64_t v;
	memcpy(&v, data, sizeof v);
	if (size == 16 && v == 7)
		++*(int *)ctx;
	return 0;
}

static int consume(bpfvm_map *m)
{
	int n = 0;
	bpfvm_map_ringbuf_consume(m, count_sample, &n, NULL);
	return n;
}

static void test_ringbuf(void)
{
	bpfvm_map *m = make(BPFVM_MAP_TYPE_RINGBUF, 0, 0, 4096, -1, "rb");
	if (!m)
		return;
	struct prog p = { .n = 0 };
	emit_reserve(&p, m);
	emit(&p, insn(ST_DW, 6, 0, 0, 7));
	emit(&p, insn(ST_DW, 6, 0, 8, 7));
	emit_submit(&p);
	emit_exit0(&p);
	expect(&p, m, true, NULL, "ringbuf: write the reserved sample and submit it");
	CHECK(consume(m) == 4, "ringbuf: the four runs' records are delivered");

	p.n = 0;
	emit_reserve(&p, m);
	emit(&p, insn(ST_DW, 6, 0, -8, 0));
	emit_submit(&p);
	emit_exit0(&p);
	expect(&p, m, false, "out-of-bounds", "ringbuf: write the record's header");

	p.n = 0;
	emit_reserve(&p, m);
	emit(&p, insn(ST_DW, 6, 0, 16, 0));
	emit_submit(&p);
	emit_exit0(&p);
	expect(&p, m, false, "out-of-bounds", "ringbuf: write past the sample");

	p.n = 0;
	emit_reserve(&p, m);
	emit(&p, insn(ST_DW, 6, 0, 0, 7));
	emit(&p, insn(ST_DW, 6, 0, 8, 7));
	emit_submit(&p);
	emit(&p, insn(ST_DW, 6, 0, 0, 0));
	emit_exit0(&p);
	expect(&p, m, false, "out-of-bounds", "ringbuf: write the sample after submitting it");

	p.n = 0;
	emit_reserve(&p, m);
	emit_exit0(&p);
	expect(&p, m, false, "still reserved at exit; discarded", "ringbuf: a record left reserved");

	p.n = 0;
	emit_reserve(&p, m);
	emit_submit(&p);
	emit_submit(&p);
	emit_exit0(&p);
	expect(&p, m, false, "not a ring buffer record this program holds", "ringbuf: submitted twice");

	/* the refused runs left nothing reserved: the ring still delivers */
	consume(m);
	p.n = 0;
	emit_reserve(&p, m);
	emit(&p, insn(ST_DW, 6, 0, 0, 7));
	emit_submit(&p);
	emit_exit0(&p);
	expect(&p, m, true, NULL, "ringbuf: after the refused runs");
	CHECK(consume(m) == 4, "ringbuf: records still delivered after the refused runs");
	bpfvm_map_put(m);
}

static uint32_t lock_word(bpfvm_map *m)
{
	uint32_t key = 1;
	uint8_t *value = bpfvm_map_lookup_elem(m, &key);
	uint32_t w;
	memcpy(&w, value + 8, 4);
	return w;
}

static void test_spin_locks(void)
{
	bpfvm_map *m = make(BPFVM_MAP_TYPE_HASH, 4, 16, 4, 8, "locks");
	if (!m)
		return;
	fill(m, 2);
	struct prog p = { .n = 0 };
	emit_lookup(&p, m);
	emit_lock_call(&p, SPIN_LOCK, 8);
	emit_lock_call(&p, SPIN_UNLOCK, 8);
	emit_exit0(&p);
	expect(&p, m, true, NULL, "lock then unlock");

	p.n = 0;
	emit_lookup(&p, m);
	emit_lock_call(&p, SPIN_LOCK, 8);
	emit_exit0(&p);
	expect(&p, m, false, "bpf_spin_lock at map locks value +8 still held at exit; released", "lock held at exit");
	CHECK(lock_word(m) == 0, "the lock left held at exit is released");

	p.n = 0;
	emit_lookup(&p, m);
	emit_lock_call(&p, SPIN_LOCK, 8);
	emit_lock_call(&p, SPIN_LOCK, 8);
	emit_exit0(&p);
	expect(&p, m, false, "bpf_spin_lock at map locks value +8: already held by this program", "locked twice");
	CHECK(lock_word(m) == 0, "the lock taken twice is released");

	p.n = 0;
	emit_lookup(&p, m);
	emit_lock_call(&p, SPIN_UNLOCK, 8);
	emit_exit0(&p);
	expect(&p, m, false, "not held by this program", "unlock without lock");

	p.n = 0;
	emit_lookup(&p, m);
	emit_lock_call(&p, SPIN_LOCK, 4);
	emit_exit0(&p);
	expect(&p, m, false, "is not the bpf_spin_lock of a value of map locks", "lock at another offset");

	/* a lock word left held by someone else: a bounded wait, then an error */
	uint32_t key = 1;
	uint8_t *value = bpfvm_map_lookup_elem(m, &key);
	bpfvm_map_spin_lock(value + 8);
	p.n = 0;
	emit_lookup(&p, m);
	emit_lock_call(&p, SPIN_LOCK, 8);
	emit_lock_call(&p, SPIN_UNLOCK, 8);
	emit_exit0(&p);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect(&p, m, false, "bpf_spin_lock at map locks value +8: still held by another after 100 ms",
	       "lock held elsewhere");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(secs >= 0.4 && secs < 5, "four bounded waits took %.2f s", secs);
	CHECK(lock_word(m) != 0, "a lock the program never took stays held");
	bpfvm_map_spin_unlock(value + 8);
	expect(&p, m, true, NULL, "lock then unlock, once released");
	bpfvm_map_put(m);
}

int main(void)
{
	bpfvm_error err = { 0 };
	helpers = bpfvm_helpers_new_kernel(&err);
	if (!CHECK(helpers != NULL, "helpers: %s", err.msg))
		return check_summary();
	test_hash_keys(BPFVM_MAP_TYPE_HASH, "hash");
	test_hash_keys(BPFVM_MAP_TYPE_PERCPU_HASH, "percpu_hash");
	test_hash_keys(BPFVM_MAP_TYPE_LRU_HASH, "lru_hash");
	test_hash_keys(BPFVM_MAP_TYPE_LRU_PERCPU_HASH, "lru_percpu_hash");
	test_hash_keys_past_value();
	test_lock_words(BPFVM_MAP_TYPE_HASH, "hash_lock");
	test_lock_words(BPFVM_MAP_TYPE_ARRAY, "array_lock");
	test_ringbuf();
	test_spin_locks();
	bpfvm_helpers_free(helpers);
	return check_summary();
}
