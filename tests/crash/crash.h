/*
 * crash.h - what the crash test's driver (crash.c) and its per-map-type
 * workloads (crash_hash.c, ...) share: a map type under test, a writer
 * thread's state, and the operations a workload provides.
 *
 * Values are checkable: every 8-byte word a writer stores is
 * CRASH_VALUE(key, writer id), so after any number of kills each word of
 * a surviving value must name its key and a writer that exists.
 */
#ifndef BPFVM_TESTS_CRASH_H
#define BPFVM_TESTS_CRASH_H

#include <stdbool.h>
#include <stdint.h>

#include "bpfvm/maps.h"

#define CRASH_ID_BITS 16u
#define CRASH_VALUE(key, id) (((uint64_t)(key) << CRASH_ID_BITS) | (id))
#define CRASH_VALUE_KEY(v) ((uint32_t)((v) >> CRASH_ID_BITS))
#define CRASH_VALUE_ID(v) ((uint32_t)((v) & ((1u << CRASH_ID_BITS) - 1)))
/* Writer ids are 1 .. CRASH_MAX_WRITERS * CRASH_THREADS; the test process's own is this. */
#define CRASH_PARENT_ID 0xfffu

#define CRASH_MAX_WRITERS 4
#define CRASH_THREADS 2
#define CRASH_MAX_KEYS 64

struct crash_type;

/* One writer thread (in a forked writer process). */
struct crash_writer {
	bpfvm_map *map;
	const struct crash_type *type;
	uint32_t id;              /* CRASH_VALUE's writer id */
	uint64_t rng;
	uint8_t *buf;             /* user_value_size bytes */
	char why[160];            /* set when a step fails */
};

struct crash_workload {
	/* Once per map type, before its first round (e.g. choosing keys). */
	void (*prepare)(struct crash_type *t);
	/* One operation, as fast as possible; false (with w->why set) if
	 * the map answered something it never may. */
	bool (*writer_step)(struct crash_writer *w);
	/* With every writer gone and the map reclaimed: its structure, counts
	 * and values (CHECKs). */
	void (*check)(bpfvm_map *map, const struct crash_type *t);
	/* Then: every kind of operation still completes and does what it should. */
	void (*operate)(bpfvm_map *map, const struct crash_type *t);
};

struct crash_type {
	const char *name;
	bpfvm_map_def def;
	const struct crash_workload *workload;
	uint32_t nkeys;
	uint32_t keys[CRASH_MAX_KEYS];   /* the keys writers use (prepare fills them) */
	uint32_t writer_ids;             /* ids 1..writer_ids may have written */
	/* Rounds as a multiple of BPFVM_CRASH_ROUNDS (0: 1): types whose
	 * critical sections are short land fewer kills, and need more
	 * rounds for the 10% floor to be far from the measured rate. */
	uint32_t rounds_factor;
	/* Writer processes per round at most (0: CRASH_MAX_WRITERS): fewer
	 * writers wait less for one lock and hold it more of their time. */
	uint32_t max_writers;
};

extern const struct crash_workload crash_hash_workload;
extern const struct crash_workload crash_queue_workload;
extern const struct crash_workload crash_ringbuf_workload;
extern const struct crash_workload crash_lpm_workload;
extern const struct crash_workload crash_stack_trace_workload;

/* xorshift64*: each writer thread's own. */
static inline uint64_t crash_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* Whether word is what a writer (or the test process) stores for key. */
static inline bool crash_word_ok(uint64_t word, uint32_t key, uint32_t writer_ids)
{
	uint32_t id = CRASH_VALUE_ID(word);
	return CRASH_VALUE_KEY(word) == key && ((id >= 1 && id <= writer_ids) || id == CRASH_PARENT_ID);
}

#endif
