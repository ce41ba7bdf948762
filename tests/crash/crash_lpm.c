/*
 * crash_lpm.c - the crash test's workload for LPM tries: writers insert,
 * replace and delete prefixes that nest (/8, /16, /24 under one another,
 * so inserts and deletes make and remove intermediate nodes) and look
 * addresses up, through the user-space and the program-side API;
 * afterwards every prefix in the trie must be one of the writers', hold a
 * value a writer wrote for it, and the trie must keep working.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crash/crash.h"
#include "support/check.h"

/* Key i of the workload: a prefix 10.a.b.0/len, len 8, 16 or 24 cycling,
 * so that /24s sit under /16s under the /8. */
struct lpm_key {
	uint32_t prefixlen;
	uint8_t addr[4];
};

static struct lpm_key key_of(uint32_t i)
{
	static const uint32_t lens[] = { 8, 16, 24 };
	struct lpm_key k = { .prefixlen = lens[i % 3], .addr = { 10, (uint8_t)(i % 5), (uint8_t)(i / 3), 0 } };
	if (k.prefixlen < 24)
		k.addr[2] = 0;
	if (k.prefixlen < 16)
		k.addr[1] = 0;
	return k;
}

static void lpm_prepare(struct crash_type *t)
{
	/* distinct prefixes only: key i is used if no earlier key is the same */
	uint32_t n = 0;
	for (uint32_t i = 1; n < t->nkeys && i < 1000; i++) {
		struct lpm_key k = key_of(i);
		bool dup = false;
		for (uint32_t j = 0; j < n && !dup; j++) {
			struct lpm_key o = key_of(t->keys[j]);
			dup = memcmp(&o, &k, sizeof k) == 0;
		}
		if (!dup)
			t->keys[n++] = i;
	}
	t->nkeys = n;
}

static bool lpm_writer_step(struct crash_writer *w)
{
	const struct crash_type *t = w->type;
	uint64_t r = crash_rand(&w->rng);
	uint32_t index = t->keys[r % t->nkeys];
	struct lpm_key k = key_of(index);
	unsigned op = (unsigned)(r >> 32) % 4;
	bool prog = ((r >> 40) & 3) != 0;
	uint64_t v = CRASH_VALUE(index, w->id);
	long rc;
	switch (op) {
	case 0:
	case 1:
		rc = prog ? bpfvm_map_update_elem(w->map, &k, &v, 0) : bpfvm_map_update(w->map, &k, &v, 0, NULL);
		if (rc == 0 || rc == -ENOSPC || rc == -E2BIG || rc == -ENOMEM)
			return true;
		snprintf(w->why, sizeof w->why, "update %u: %ld", index, rc);
		return false;
	case 2:
		rc = prog ? bpfvm_map_delete_elem(w->map, &k) : bpfvm_map_delete(w->map, &k, NULL);
		if (rc == 0 || rc == -ENOENT)
			return true;
		snprintf(w->why, sizeof w->why, "delete %u: %ld", index, rc);
		return false;
	default: {
		/* a /32 lookup inside the prefix finds it or a shorter one */
		struct lpm_key addr = k;
		addr.prefixlen = 32;
		addr.addr[3] = (uint8_t)r;
		uint64_t got = 0;
		if (prog) {
			const uint64_t *p = bpfvm_map_lookup_elem(w->map, &addr);
			if (!p)
				return true;
			got = __atomic_load_n(p, __ATOMIC_RELAXED);
		} else if ((rc = bpfvm_map_lookup(w->map, &addr, &got, 0, NULL)) != 0) {
			if (rc == -ENOENT)
				return true;
			snprintf(w->why, sizeof w->why, "lookup in %u: %ld", index, rc);
			return false;
		}
		uint32_t found = CRASH_VALUE_KEY(got);
		struct lpm_key fk = key_of(found);
		if (crash_word_ok(got, found, t->writer_ids) && fk.prefixlen <= 32 && fk.addr[0] == 10)
			return true;
		snprintf(w->why, sizeof w->why, "lookup in %u: value 0x%llx no writer wrote", index,
		         (unsigned long long)got);
		return false;
	}
	}
}

static bool known_key(const struct crash_type *t, const struct lpm_key *k, uint32_t *index)
{
	for (uint32_t i = 0; i < t->nkeys; i++) {
		struct lpm_key o = key_of(t->keys[i]);
		if (memcmp(&o, k, sizeof o) == 0) {
			*index = t->keys[i];
			return true;
		}
	}
	return false;
}

/* Every prefix a bounded walk finds is a writer's, with a value a writer
 * wrote for it; no more of them than the map holds. */
static void lpm_check(bpfvm_map *map, const struct crash_type *t)
{
	struct lpm_key cur, next;
	uint32_t n = 0;
	const void *prev = NULL;
	while (n <= 4 * t->def.max_entries && bpfvm_map_get_next_key(map, prev, &next, NULL) == 0) {
		cur = next;
		prev = &cur;
		n++;
		uint32_t index = 0;
		if (!CHECK(known_key(t, &cur, &index), "%s: a prefix /%u no writer inserted", t->name, cur.prefixlen))
			continue;
		uint64_t got = 0;
		int rc = bpfvm_map_lookup(map, &cur, &got, 0, NULL);
		CHECK(rc == 0 && crash_word_ok(got, index, t->writer_ids), "%s: prefix %u holds 0x%llx (rc %d)", t->name,
		      index, (unsigned long long)got, rc);
	}
	CHECK(n <= t->def.max_entries, "%s: the walk found %u prefixes, more than %u", t->name, n,
	      t->def.max_entries);
}

/* Empties the trie, fills it with every prefix, checks the longest match
 * of each, and empties it again. */
static void lpm_operate(bpfvm_map *map, const struct crash_type *t)
{
	for (uint32_t i = 0; i < t->nkeys; i++) {
		struct lpm_key k = key_of(t->keys[i]);
		int rc = bpfvm_map_delete(map, &k, NULL);
		CHECK(rc == 0 || rc == -ENOENT, "%s: delete %u after the kills: %d", t->name, t->keys[i], rc);
	}
	for (uint32_t i = 0; i < t->nkeys; i++) {
		struct lpm_key k = key_of(t->keys[i]);
		uint64_t v = CRASH_VALUE(t->keys[i], CRASH_PARENT_ID);
		CHECK(bpfvm_map_update(map, &k, &v, BPFVM_NOEXIST, NULL) == 0, "%s: insert %u after the kills", t->name,
		      t->keys[i]);
	}
	for (uint32_t i = 0; i < t->nkeys; i++) {
		struct lpm_key k = key_of(t->keys[i]);
		uint64_t got = 0;
		CHECK(bpfvm_map_lookup(map, &k, &got, 0, NULL) == 0 && got == CRASH_VALUE(t->keys[i], CRASH_PARENT_ID),
		      "%s: lookup %u after the kills: 0x%llx", t->name, t->keys[i], (unsigned long long)got);
	}
	for (uint32_t i = 0; i < t->nkeys; i++) {
		struct lpm_key k = key_of(t->keys[i]);
		CHECK(bpfvm_map_delete(map, &k, NULL) == 0, "%s: delete %u again", t->name, t->keys[i]);
	}
	struct lpm_key any;
	CHECK(bpfvm_map_get_next_key(map, NULL, &any, NULL) == -ENOENT, "%s: not empty after deleting all", t->name);
}

const struct crash_workload crash_lpm_workload = {
	.prepare = lpm_prepare,
	.writer_step = lpm_writer_step,
	.check = lpm_check,
	.operate = lpm_operate,
};
