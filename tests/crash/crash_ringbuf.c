/*
 * crash_ringbuf.c - the crash test's workload for ring buffers: writers
 * reserve, fill and submit (or discard) records and output them, while
 * one writer thread consumes; afterwards the test process consumes what
 * is left (records whose producer died unsubmitted are skipped), every
 * record whole and one a writer wrote, and the ring takes and delivers
 * new records in order.
 *
 * A record of n words holds CRASH_VALUE(n, writer id) in each.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crash/crash.h"
#include "support/check.h"

/* The consumer: thread 1 of writer 0 (there are always two writers). */
#define CONSUMER_ID 2u
#define MAX_WORDS 32u

static void ringbuf_prepare(struct crash_type *t)
{
	t->nkeys = 0;   /* records carry their own length as the "key" */
}

struct consume_ctx {
	const struct crash_type *t;
	uint32_t records;
	uint64_t last_word;   /* operate(): the words of the record seen last */
	size_t bad_size;      /* size of the first bad record, 0 if none */
};

static int record_seen(void *ctx, void *data, size_t size)
{
	struct consume_ctx *c = ctx;
	uint64_t first = 0;
	bool ok = size >= 8 && size % 8 == 0 && size <= 8 * MAX_WORDS;
	if (ok) {
		memcpy(&first, data, 8);
		ok = crash_word_ok(first, (uint32_t)(size / 8), c->t->writer_ids);
		for (size_t off = 8; ok && off < size; off += 8)
			ok = memcmp((uint8_t *)data + off, &first, 8) == 0;
	}
	c->records++;
	c->last_word = first;
	if (!ok) {
		c->bad_size = size ? size : 1;
		return -EBADMSG;
	}
	return 0;
}

static bool ringbuf_writer_step(struct crash_writer *w)
{
	uint64_t r = crash_rand(&w->rng);
	if (w->id == CONSUMER_ID) {
		struct consume_ctx c = { .t = w->type };
		int rc = bpfvm_map_ringbuf_consume(w->map, record_seen, &c, NULL);
		if (rc >= 0)
			return true;
		snprintf(w->why, sizeof w->why, "consume: %d (a record of %zu bytes no writer wrote)", rc, c.bad_size);
		return false;
	}
	uint32_t words = 1 + (uint32_t)(r % MAX_WORDS);
	uint64_t word = CRASH_VALUE(words, w->id);
	unsigned op = (unsigned)(r >> 32) % 4;
	if (op == 3) {
		uint64_t rec[MAX_WORDS];
		for (uint32_t i = 0; i < words; i++)
			rec[i] = word;
		long rc = bpfvm_map_ringbuf_output(w->map, rec, 8 * words, 0);
		if (rc == 0 || rc == -EAGAIN)
			return true;
		snprintf(w->why, sizeof w->why, "ringbuf_output: %ld", rc);
		return false;
	}
	uint64_t *rec = bpfvm_map_ringbuf_reserve(w->map, 8 * words, 0);
	if (!rec)
		return true;   /* full */
	for (uint32_t i = 0; i < words; i++)
		__atomic_store_n(&rec[i], word, __ATOMIC_RELAXED);
	if (op == 2 && (r >> 40) % 4 == 0)
		bpfvm_map_ringbuf_discard(rec, 0);
	else
		bpfvm_map_ringbuf_submit(rec, 0);
	return true;
}

/* Consumes what is left: every record whole and one a writer wrote. */
static void ringbuf_check(bpfvm_map *map, const struct crash_type *t)
{
	struct consume_ctx c = { .t = t };
	int rc = bpfvm_map_ringbuf_consume(map, record_seen, &c, NULL);
	CHECK(rc >= 0, "%s: consume after the kills: %d (a record of %zu bytes no writer wrote)", t->name, rc,
	      c.bad_size);
	CHECK(bpfvm_map_ringbuf_query(map, BPFVM_RB_AVAIL_DATA) == 0, "%s: %llu bytes left after consuming", t->name,
	      (unsigned long long)bpfvm_map_ringbuf_query(map, BPFVM_RB_AVAIL_DATA));
}

/* Reserves and outputs take records again, and they come out in order. */
static void ringbuf_operate(bpfvm_map *map, const struct crash_type *t)
{
	for (uint32_t words = 1; words <= 8; words++) {
		uint64_t word = CRASH_VALUE(words, CRASH_PARENT_ID);
		uint64_t *rec = bpfvm_map_ringbuf_reserve(map, 8 * words, 0);
		if (!CHECK(rec != NULL, "%s: reserve of %u bytes after the kills", t->name, 8 * words))
			return;
		for (uint32_t i = 0; i < words; i++)
			rec[i] = word;
		bpfvm_map_ringbuf_submit(rec, 0);
		struct consume_ctx c = { .t = t };
		int rc = bpfvm_map_ringbuf_consume(map, record_seen, &c, NULL);
		CHECK(rc == 1 && c.last_word == word, "%s: consume after a submit: %d records, last 0x%llx", t->name, rc,
		      (unsigned long long)c.last_word);
	}
	uint64_t rec[4] = { CRASH_VALUE(4, CRASH_PARENT_ID), CRASH_VALUE(4, CRASH_PARENT_ID),
	                    CRASH_VALUE(4, CRASH_PARENT_ID), CRASH_VALUE(4, CRASH_PARENT_ID) };
	CHECK(bpfvm_map_ringbuf_output(map, rec, sizeof rec, 0) == 0, "%s: output after the kills", t->name);
	struct consume_ctx c = { .t = t };
	CHECK(bpfvm_map_ringbuf_consume(map, record_seen, &c, NULL) == 1, "%s: consume after an output", t->name);
}

const struct crash_workload crash_ringbuf_workload = {
	.prepare = ringbuf_prepare,
	.writer_step = ringbuf_writer_step,
	.check = ringbuf_check,
	.operate = ringbuf_operate,
};
