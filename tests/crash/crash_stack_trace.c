/*
 * crash_stack_trace.c - the crash test's workload for stack trace maps:
 * writers store stacks as bpf_get_stackid does (map_stack_trace_get_id,
 * replacing buckets with BPF_F_REUSE_STACKID half the time), look them up,
 * and delete them; afterwards every stack in the map must be whole (each
 * frame the same word, the count the one of its key), the buckets in use
 * may not exceed max_entries, and storing, finding and deleting still work.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>

#include "crash/crash.h"
#include "maps/map_internal.h"
#include "support/check.h"

#define ST_DEPTH_MAX 127u

static void st_prepare(struct crash_type *t)
{
	for (uint32_t i = 0; i < t->nkeys; i++)
		t->keys[i] = i + 1;
}

/* Key k's stack: 1 + k % depth frames, each the word CRASH_VALUE(k, id). */
static uint32_t frames_of(const struct crash_type *t, uint32_t key)
{
	return 1 + key % (t->def.value_size / 8);
}

static uint32_t store(bpfvm_map *map, const struct crash_type *t, uint32_t key, uint32_t id, uint64_t flags,
                      long *rc)
{
	uint64_t frames[ST_DEPTH_MAX];
	uint32_t nr = frames_of(t, key);
	for (uint32_t i = 0; i < nr; i++)
		frames[i] = CRASH_VALUE(key, id);
	*rc = map_stack_trace_get_id(map, jhash_words(frames, nr * 2, 0), frames, nr, flags);
	return nr;
}

/* A looked-up stack: its key's number of frames, all one writer's word
 * for that key, zeros after. */
static bool stack_ok(const struct crash_type *t, const uint64_t *v)
{
	uint32_t key = CRASH_VALUE_KEY(v[0]), depth = t->def.value_size / 8;
	if (key < 1 || key > t->nkeys || !crash_word_ok(v[0], key, t->writer_ids))
		return false;
	uint32_t nr = frames_of(t, key);
	for (uint32_t i = 1; i < depth; i++)
		if (v[i] != (i < nr ? v[0] : 0))
			return false;
	return true;
}

static bool st_writer_step(struct crash_writer *w)
{
	const struct crash_type *t = w->type;
	uint64_t r = crash_rand(&w->rng);
	uint32_t key = t->keys[r % t->nkeys], bucket = (uint32_t)(r >> 24) % 64;
	unsigned op = (unsigned)(r >> 32) % 8;
	long rc;
	if (op < 5) {
		uint64_t flags = (r >> 40) & 1 ? BPF_F_REUSE_STACKID : 0;
		store(w->map, t, key, w->id, flags, &rc);
		if (rc >= 0 || rc == -EEXIST || rc == -ENOMEM)
			return true;
		snprintf(w->why, sizeof w->why, "get_stackid (flags 0x%llx): %ld", (unsigned long long)flags, rc);
		return false;
	}
	if (op < 7) {
		rc = op == 5 ? bpfvm_map_lookup(w->map, &bucket, w->buf, 0, NULL)
		             : bpfvm_map_lookup_and_delete(w->map, &bucket, w->buf, 0, NULL);
		if (rc == -ENOENT || (rc == 0 && stack_ok(t, (const uint64_t *)(void *)w->buf)))
			return true;
		snprintf(w->why, sizeof w->why, "lookup of bucket %u: %ld%s", bucket, rc,
		         rc == 0 ? ", a stack no writer stored" : "");
		return false;
	}
	rc = bpfvm_map_delete(w->map, &bucket, NULL);
	if (rc == 0 || rc == -ENOENT)
		return true;
	snprintf(w->why, sizeof w->why, "delete of bucket %u: %ld", bucket, rc);
	return false;
}

/* Every bucket in use holds a whole stack, and no more than max_entries. */
static void st_check(bpfvm_map *map, const struct crash_type *t)
{
	uint64_t v[ST_DEPTH_MAX];
	uint32_t key = 0, n = 0;
	const uint32_t *k = NULL;
	while (bpfvm_map_get_next_key(map, k, &key, NULL) == 0 && n <= t->def.max_entries) {
		CHECK(bpfvm_map_lookup(map, &key, v, 0, NULL) == 0 && stack_ok(t, v),
		      "%s: bucket %u is not a stack a writer stored", t->name, key);
		n++;
		k = &key;
	}
	CHECK(n <= t->def.max_entries, "%s: %u buckets in use, above max_entries", t->name, n);
}

/* Empties the map, then every key's stack is stored, found and deleted. */
static void st_operate(bpfvm_map *map, const struct crash_type *t)
{
	for (uint32_t b = 0; b < 64; b++)
		bpfvm_map_delete(map, &b, NULL);
	for (uint32_t i = 0; i < t->nkeys; i++) {
		long rc;
		store(map, t, t->keys[i], CRASH_PARENT_ID, BPF_F_REUSE_STACKID, &rc);
		uint64_t v[ST_DEPTH_MAX];
		uint32_t id = (uint32_t)rc;
		CHECK(rc >= 0 && bpfvm_map_lookup(map, &id, v, 0, NULL) == 0 && stack_ok(t, v) &&
		      CRASH_VALUE_KEY(v[0]) == t->keys[i], "%s: store key %u after the kills: %ld", t->name,
		      t->keys[i], rc);
		CHECK(rc >= 0 && bpfvm_map_delete(map, &id, NULL) == 0, "%s: delete bucket %ld", t->name, rc);
	}
}

const struct crash_workload crash_stack_trace_workload = {
	.prepare = st_prepare,
	.writer_step = st_writer_step,
	.check = st_check,
	.operate = st_operate,
};
