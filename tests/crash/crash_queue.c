/*
 * crash_queue.c - the crash test's workload for queue and stack maps:
 * writers push (overwriting when full, sometimes), pop and peek through
 * the user-space and the program-side API; afterwards every value still
 * in the map must be whole and one a writer pushed, there may be no more
 * of them than the map holds, and push/peek/pop keep their order.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crash/crash.h"
#include "support/check.h"

static void queue_prepare(struct crash_type *t)
{
	for (uint32_t i = 0; i < t->nkeys; i++)
		t->keys[i] = i + 1;
}

/* The value of a push: word repeated, by doubling copies, so that a big
 * value costs little outside the lock (its copy into the map, word by
 * word, is inside it: big values make kills land there more often). */
static void fill(uint8_t *buf, size_t len, uint64_t word)
{
	memcpy(buf, &word, 8);
	for (size_t done = 8; done < len; done *= 2)
		memcpy(buf + done, buf, done < len - done ? done : len - done);
}

/* A popped or peeked value: whole (every word the same) and pushed by a
 * writer (or the test process) with one of the keys. */
static bool value_ok(const struct crash_type *t, const uint8_t *buf)
{
	uint64_t first;
	memcpy(&first, buf, 8);
	uint32_t key = CRASH_VALUE_KEY(first);
	if (key < 1 || key > t->nkeys || !crash_word_ok(first, key, t->writer_ids))
		return false;
	/* every word equal to the one before it: the value is whole */
	return memcmp(buf, buf + 8, t->def.value_size - 8) == 0;
}

static bool queue_writer_step(struct crash_writer *w)
{
	const struct crash_type *t = w->type;
	uint64_t r = crash_rand(&w->rng);
	uint32_t key = t->keys[r % t->nkeys];
	unsigned op = (unsigned)(r >> 32) % 8;
	/* Mostly the program-side calls: they spend a larger share of their
	 * time under the lock than user space's checked calls do, so more
	 * kills land in it. */
	bool prog = ((r >> 40) & 3) != 0;
	long rc;
	if (op < 4) {
		uint64_t flags = op == 3 ? BPFVM_EXIST : 0;
		fill(w->buf, t->def.value_size, CRASH_VALUE(key, w->id));
		rc = prog ? bpfvm_map_push_elem(w->map, w->buf, flags) : bpfvm_map_push(w->map, w->buf, flags, NULL);
		if (rc == 0 || (rc == -E2BIG && !flags))
			return true;
		snprintf(w->why, sizeof w->why, "push (flags %u): %ld", (unsigned)flags, rc);
		return false;
	}
	if (op < 7)
		rc = prog ? bpfvm_map_pop_elem(w->map, w->buf) : bpfvm_map_pop(w->map, w->buf, NULL);
	else
		rc = prog ? bpfvm_map_peek_elem(w->map, w->buf) : bpfvm_map_peek(w->map, w->buf, NULL);
	if (rc == -ENOENT || (rc == 0 && value_ok(t, w->buf)))
		return true;
	snprintf(w->why, sizeof w->why, "%s: %ld%s", op < 7 ? "pop" : "peek", rc,
	         rc == 0 ? ", a value no writer pushed" : "");
	return false;
}

/* Pops everything (bounded): each value whole and pushed by a writer. */
static void queue_check(bpfvm_map *map, const struct crash_type *t)
{
	uint8_t buf[4096];
	uint32_t n = 0;
	int rc;
	while ((rc = bpfvm_map_pop(map, buf, NULL)) == 0 && n <= t->def.max_entries) {
		CHECK(value_ok(t, buf), "%s: popped a value no writer pushed", t->name);
		n++;
	}
	CHECK(n <= t->def.max_entries, "%s: more than %u values popped", t->name, t->def.max_entries);
	CHECK(rc == -ENOENT, "%s: pop after the last value: %d", t->name, rc);
}

/* Fills the map (the last push overwriting), then pops it empty in order. */
static void queue_operate(bpfvm_map *map, const struct crash_type *t)
{
	bool stack = t->def.type == BPFVM_MAP_TYPE_STACK;
	uint32_t cap = t->def.max_entries;
	uint8_t buf[4096];
	for (uint32_t k = 1; k <= cap; k++) {
		fill(buf, t->def.value_size, CRASH_VALUE(k, CRASH_PARENT_ID));
		CHECK(bpfvm_map_push(map, buf, 0, NULL) == 0, "%s: push %u after the kills", t->name, k);
	}
	fill(buf, t->def.value_size, CRASH_VALUE(cap + 1, CRASH_PARENT_ID));
	CHECK(bpfvm_map_push(map, buf, 0, NULL) == -E2BIG, "%s: push into a full map", t->name);
	CHECK(bpfvm_map_push_elem(map, buf, BPFVM_EXIST) == 0, "%s: overwriting push", t->name);
	/* the oldest (1) was overwritten: queue 2..cap+1, stack cap+1..2 */
	for (uint32_t i = 0; i < cap; i++) {
		uint32_t want = stack ? cap + 1 - i : i + 2;
		uint64_t got = 0;
		CHECK(bpfvm_map_pop_elem(map, buf) == 0 && (memcpy(&got, buf, 8), got == CRASH_VALUE(want, CRASH_PARENT_ID)),
		      "%s: pop %u after the kills: 0x%llx, want key %u", t->name, i, (unsigned long long)got, want);
	}
	CHECK(bpfvm_map_peek(map, buf, NULL) == -ENOENT, "%s: peek into an empty map", t->name);
}

const struct crash_workload crash_queue_workload = {
	.prepare = queue_prepare,
	.writer_step = queue_writer_step,
	.check = queue_check,
	.operate = queue_operate,
};
