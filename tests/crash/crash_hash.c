/*
 * crash_hash.c - the crash test's workload for the hash family (hash,
 * LRU hash, per-CPU hash, LRU per-CPU hash): writers' updates, deletes
 * and lookups through the user-space and the program-side API, on keys
 * chosen to collide in a few buckets (long chains: long critical
 * sections); and what must hold after the kills: the pool's accounting,
 * the count against a full get_next_key walk, and every value word one
 * that a writer stored for that key.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crash/crash.h"
#include "maps/map_internal.h"
#include "support/check.h"

/* All keys land in this many buckets (the map is created with
 * BPFVM_F_ZERO_SEED, so the test can compute the kernel's hash). */
#define HOT_BUCKETS 3u

static bool is_percpu(const struct crash_type *t)
{
	return t->def.type == BPFVM_MAP_TYPE_PERCPU_HASH || t->def.type == BPFVM_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool is_lru(const struct crash_type *t)
{
	return t->def.type == BPFVM_MAP_TYPE_LRU_HASH || t->def.type == BPFVM_MAP_TYPE_LRU_PERCPU_HASH;
}

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

static void hash_prepare(struct crash_type *t)
{
	uint32_t buckets = pow2_at_least(t->def.max_entries), n = 0;
	for (uint32_t k = 1; n < t->nkeys; k++)
		if ((map_key_hash(&k, 4, 0) & (buckets - 1)) < HOT_BUCKETS)
			t->keys[n++] = k;
}

static void fill(uint8_t *buf, size_t len, uint64_t word)
{
	for (size_t off = 0; off + 8 <= len; off += 8)
		memcpy(buf + off, &word, 8);
}

/* A value read back through the user-space API: each word one a writer
 * stored for key; a per-CPU slot may also be all zero (a program-side
 * update gives the other CPUs zeroes), but not every slot. */
static bool value_ok(const struct crash_type *t, const uint8_t *buf, size_t len, uint32_t key)
{
	bool any = false;
	for (size_t off = 0; off + 8 <= len; off += 8) {
		uint64_t word;
		memcpy(&word, buf + off, 8);
		if (word == 0 && is_percpu(t))
			continue;
		if (!crash_word_ok(word, key, t->writer_ids))
			return false;
		any = true;
	}
	return any;
}

static size_t user_len(bpfvm_map *map)
{
	bpfvm_map_info info;
	bpfvm_map_info_get(map, &info);
	return info.user_value_size;
}

static bool step_update(struct crash_writer *w, uint32_t key, bool prog)
{
	const struct crash_type *t = w->type;
	uint64_t word = CRASH_VALUE(key, w->id);
	long rc;
	if (prog) {
		fill(w->buf, t->def.value_size, word);
		rc = bpfvm_map_update_elem(w->map, &key, w->buf, BPFVM_ANY);
	} else {
		fill(w->buf, user_len(w->map), word);
		rc = bpfvm_map_update(w->map, &key, w->buf, BPFVM_ANY, NULL);
	}
	if (rc == 0 || (rc == -E2BIG && !is_lru(t)))
		return true;
	snprintf(w->why, sizeof w->why, "%s update of key %u: %ld", prog ? "program-side" : "user-space", key, rc);
	return false;
}

static bool step_delete(struct crash_writer *w, uint32_t key, bool prog, bool and_lookup)
{
	long rc;
	if (and_lookup)
		rc = bpfvm_map_lookup_and_delete(w->map, &key, w->buf, 0, NULL);
	else
		rc = prog ? bpfvm_map_delete_elem(w->map, &key) : bpfvm_map_delete(w->map, &key, NULL);
	if (rc == -ENOENT)
		return true;
	if (rc == 0 && (!and_lookup || value_ok(w->type, w->buf, user_len(w->map), key)))
		return true;
	snprintf(w->why, sizeof w->why, "%s of key %u: %ld%s", and_lookup ? "lookup_and_delete" : "delete", key, rc,
	         rc == 0 ? ", a value no writer stored" : "");
	return false;
}

static bool step_lookup(struct crash_writer *w, uint32_t key)
{
	int rc = bpfvm_map_lookup(w->map, &key, w->buf, 0, NULL);
	if (rc == -ENOENT || (rc == 0 && value_ok(w->type, w->buf, user_len(w->map), key)))
		return true;
	snprintf(w->why, sizeof w->why, "lookup of key %u: %d%s", key, rc, rc == 0 ? ", a value no writer stored" : "");
	return false;
}

static bool hash_writer_step(struct crash_writer *w)
{
	uint64_t r = crash_rand(&w->rng);
	uint32_t key = w->type->keys[r % w->type->nkeys];
	unsigned op = (unsigned)(r >> 32) % 16;
	bool prog = (r >> 40) & 1;
	if (op < 7)
		return step_update(w, key, prog);
	if (op < 11)
		return step_delete(w, key, prog, op == 10);
	if (op < 15)
		return step_lookup(w, key);
	volatile uint64_t *p = bpfvm_map_lookup_elem(w->map, &key);
	if (p)
		(void)*p;   /* the pointer must be readable memory */
	return true;
}

static bool known_key(const struct crash_type *t, uint32_t key)
{
	for (uint32_t i = 0; i < t->nkeys; i++)
		if (t->keys[i] == key)
			return true;
	return false;
}

/* A full get_next_key walk, bounded (a cycle must not hang the test);
 * returns the number of keys, each checked to be one the writers use. */
static uint32_t walk_keys(bpfvm_map *map, const struct crash_type *t, uint32_t *keys, uint32_t cap)
{
	uint32_t n = 0, cur = 0, next;
	while (bpfvm_map_get_next_key(map, n ? &cur : NULL, &next, NULL) == 0) {
		if (!CHECK(n < cap, "%s: get_next_key walk longer than %u keys", t->name, cap))
			break;
		CHECK(known_key(t, next), "%s: key %u that no writer used", t->name, next);
		keys[n++] = cur = next;
	}
	return n;
}

static void hash_check(bpfvm_map *map, const struct crash_type *t)
{
	struct map_hash_pool_stats ps;
	map_hash_pool_stats(map, &ps);
	CHECK(ps.free + ps.count + ps.spares == ps.elems, "%s: free %u + count %u + spares %u != %u elements",
	      t->name, ps.free, ps.count, ps.spares, ps.elems);
	uint32_t keys[2 * CRASH_MAX_KEYS];
	uint32_t n = walk_keys(map, t, keys, 2 * CRASH_MAX_KEYS);
	CHECK(n == ps.count, "%s: count %u, but a get_next_key walk finds %u keys", t->name, ps.count, n);
	CHECK(n <= t->def.max_entries, "%s: %u keys in a map of %u", t->name, n, t->def.max_entries);
	size_t len = user_len(map);
	uint8_t buf[4096];
	if (!CHECK(len <= sizeof buf, "%s: values of %zu bytes", t->name, len))
		return;
	for (uint32_t i = 0; i < n; i++) {
		int rc = bpfvm_map_lookup(map, &keys[i], buf, 0, NULL);
		CHECK(rc == 0 && value_ok(t, buf, len, keys[i]), "%s: key %u found by the walk: lookup %d, value %s",
		      t->name, keys[i], rc, rc ? "-" : "no writer stored");
		CHECK(bpfvm_map_lookup_elem(map, &keys[i]) != NULL, "%s: program-side lookup misses key %u", t->name,
		      keys[i]);
	}
}

/* One key at a time: in a full LRU map inserting b could evict a. */
static void hash_operate(bpfvm_map *map, const struct crash_type *t)
{
	uint32_t a = t->keys[0], b = t->keys[1];
	uint64_t va = CRASH_VALUE(a, CRASH_PARENT_ID), vb = CRASH_VALUE(b, CRASH_PARENT_ID);
	uint8_t buf[4096], got[4096];
	size_t len = user_len(map);
	bpfvm_map_delete(map, &a, NULL);
	fill(buf, len, va);
	CHECK(bpfvm_map_update(map, &a, buf, BPFVM_NOEXIST, NULL) == 0, "%s: update after the kills", t->name);
	CHECK(bpfvm_map_lookup(map, &a, got, 0, NULL) == 0 && memcmp(got, buf, len) == 0,
	      "%s: lookup after the kills: not the value just stored", t->name);
	CHECK(bpfvm_map_delete(map, &a, NULL) == 0, "%s: delete after the kills", t->name);
	CHECK(bpfvm_map_lookup(map, &a, got, 0, NULL) == -ENOENT, "%s: lookup of a deleted key", t->name);
	CHECK(bpfvm_map_update(map, &a, got, BPFVM_EXIST, NULL) == -ENOENT, "%s: update (exist) of a deleted key",
	      t->name);

	bpfvm_map_delete_elem(map, &b);
	fill(buf, t->def.value_size, vb);
	CHECK(bpfvm_map_update_elem(map, &b, buf, BPFVM_NOEXIST) == 0, "%s: program-side update after the kills",
	      t->name);
	uint64_t *p = bpfvm_map_lookup_elem(map, &b);
	/* per-CPU: the thread may have moved to another CPU's slot since */
	CHECK(p && (*p == vb || (is_percpu(t) && *p == 0)), "%s: program-side lookup after the kills", t->name);
	CHECK(bpfvm_map_delete_elem(map, &b) == 0, "%s: program-side delete after the kills", t->name);
	CHECK(bpfvm_map_lookup_elem(map, &b) == NULL, "%s: program-side lookup of a deleted key", t->name);
}

const struct crash_workload crash_hash_workload = {
	.prepare = hash_prepare,
	.writer_step = hash_writer_step,
	.check = hash_check,
	.operate = hash_operate,
};
