/*
 * map_helpers.c - the kernel's helpers that work on maps, by the kernel's
 * IDs: lookup, update, delete, push/pop/peek, per-CPU lookup, ring buffer
 * and perf event output, spin locks and tail calls.
 *
 * Owns: the check that a map argument is one of the program's maps (or an
 * inner map one of its lookups returned): in user space a map "pointer"
 * is a real address, and a checked run must not let a program hand a
 * helper anything else.  In checked runs also: the one bpf_spin_lock a
 * program may hold (bounded waits, released at exit by the run layer) and
 * the ring buffer samples it holds reserved (lent to it until submitted
 * or discarded).
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>

#include "bpfvm/maps.h"
#include "helpers/helper_desc.h"
#include "helpers/helpers.h"
#include "maps/map_internal.h"

/* In unchecked mode the program is trusted (verified), and helpers take
 * their arguments as they come: that is the hot path. */
bpfvm_map *helper_map_arg(bpfvm_run *run, const char *helper, uint64_t ptr)
{
	bpfvm_map *m = (bpfvm_map *)(uintptr_t)ptr;
	if (run->opts->mode == BPFVM_UNCHECKED)
		return m;
	const bpfvm_program *p = run->prog;
	for (size_t i = 0; i < p->map_count; i++)
		if (p->maps[i] == m)
			return m;
	for (size_t i = 0; i < run->inner_count; i++)
		if (run->inner_maps[i] == m)
			return m;
	char msg[160];
	snprintf(msg, sizeof msg, "%s: r1 (0x%llx) is not one of the program's maps", helper,
	         (unsigned long long)ptr);
	bpfvm_run_fail(run, msg);
	return NULL;
}

static bool map_sizes(bpfvm_map *m, uint32_t *key, uint32_t *value)
{
	*key = m->key_size;
	*value = m->value_size;
	return true;
}

/* An inner map a lookup hands the program becomes a valid map argument,
 * and its storage part of what a checked run may touch. */
static void note_inner(bpfvm_run *run, bpfvm_map *inner)
{
	for (size_t i = 0; i < run->inner_count; i++)
		if (run->inner_maps[i] == inner)
			return;
	if (run->inner_count == RUN_EXTRA_REGIONS) {
		bpfvm_run_fail(run, "bpf_map_lookup_elem: more than 16 inner maps in one run");
		return;
	}
	run->inner_maps[run->inner_count] = inner;
	run_map_region_make(&run->inner_regions[run->inner_count], inner);
	run->inner_count++;
}

/* Unchecked runs are the hot path: the verifier proved the map and the
 * pointers, so the helpers go straight to the map's operation, without
 * the argument checks (each an out-of-line call) that checked runs make. */
static bool unchecked(const bpfvm_run *run)
{
	return run->opts->mode == BPFVM_UNCHECKED;
}

static uint64_t h_map_lookup_elem(uint64_t map, uint64_t key, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)c; (void)d; (void)e;
	bpfvm_map *m = (bpfvm_map *)(uintptr_t)map;
	if (!unchecked(run)) {
		m = helper_map_arg(run, "bpf_map_lookup_elem", map);
		uint32_t ks, vs;
		if (!m || !map_sizes(m, &ks, &vs) || !helper_check(run, "bpf_map_lookup_elem", key, ks, false))
			return 0;
	}
	if (m->type == BPF_MAP_TYPE_ARRAY_OF_MAPS || m->type == BPF_MAP_TYPE_HASH_OF_MAPS) {
		bpfvm_map *inner = bpfvm_map_lookup_inner(m, (const void *)(uintptr_t)key);
		if (inner)
			note_inner(run, inner);
		return (uint64_t)(uintptr_t)inner;
	}
	return (uint64_t)(uintptr_t)bpfvm_map_lookup_elem(m, (const void *)(uintptr_t)key);
}

static uint64_t h_map_update_elem(uint64_t map, uint64_t key, uint64_t value, uint64_t flags, uint64_t e,
                                  bpfvm_run *run)
{
	(void)e;
	bpfvm_map *m = (bpfvm_map *)(uintptr_t)map;
	if (!unchecked(run)) {
		m = helper_map_arg(run, "bpf_map_update_elem", map);
		uint32_t ks, vs;
		if (!m || !map_sizes(m, &ks, &vs) || !helper_check(run, "bpf_map_update_elem", key, ks, false) ||
		    !helper_check(run, "bpf_map_update_elem", value, vs, false))
			return 0;
	}
	return (uint64_t)bpfvm_map_update_elem(m, (const void *)(uintptr_t)key, (const void *)(uintptr_t)value,
	                                       flags);
}

static uint64_t h_map_delete_elem(uint64_t map, uint64_t key, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)c; (void)d; (void)e;
	bpfvm_map *m = (bpfvm_map *)(uintptr_t)map;
	if (!unchecked(run)) {
		m = helper_map_arg(run, "bpf_map_delete_elem", map);
		uint32_t ks, vs;
		if (!m || !map_sizes(m, &ks, &vs) || !helper_check(run, "bpf_map_delete_elem", key, ks, false))
			return 0;
	}
	return (uint64_t)bpfvm_map_delete_elem(m, (const void *)(uintptr_t)key);
}

static uint64_t h_map_push_elem(uint64_t map, uint64_t value, uint64_t flags, uint64_t d, uint64_t e,
                                bpfvm_run *run)
{
	(void)d; (void)e;
	bpfvm_map *m = helper_map_arg(run, "bpf_map_push_elem", map);
	uint32_t ks, vs;
	if (!m || !map_sizes(m, &ks, &vs) || !helper_check(run, "bpf_map_push_elem", value, vs, false))
		return 0;
	return (uint64_t)bpfvm_map_push_elem(m, (const void *)(uintptr_t)value, flags);
}

static uint64_t h_map_pop_elem(uint64_t map, uint64_t value, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)c; (void)d; (void)e;
	bpfvm_map *m = helper_map_arg(run, "bpf_map_pop_elem", map);
	uint32_t ks, vs;
	if (!m || !map_sizes(m, &ks, &vs) || !helper_check(run, "bpf_map_pop_elem", value, vs, true))
		return 0;
	return (uint64_t)bpfvm_map_pop_elem(m, (void *)(uintptr_t)value);
}

static uint64_t h_map_peek_elem(uint64_t map, uint64_t value, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)c; (void)d; (void)e;
	bpfvm_map *m = helper_map_arg(run, "bpf_map_peek_elem", map);
	uint32_t ks, vs;
	if (!m || !map_sizes(m, &ks, &vs) || !helper_check(run, "bpf_map_peek_elem", value, vs, true))
		return 0;
	return (uint64_t)bpfvm_map_peek_elem(m, (void *)(uintptr_t)value);
}

static uint64_t h_map_lookup_percpu_elem(uint64_t map, uint64_t key, uint64_t cpu, uint64_t d, uint64_t e,
                                         bpfvm_run *run)
{
	(void)d; (void)e;
	bpfvm_map *m = helper_map_arg(run, "bpf_map_lookup_percpu_elem", map);
	uint32_t ks, vs;
	if (!m || !map_sizes(m, &ks, &vs) || !helper_check(run, "bpf_map_lookup_percpu_elem", key, ks, false))
		return 0;
	return (uint64_t)(uintptr_t)bpfvm_map_lookup_percpu_elem(m, (const void *)(uintptr_t)key, (uint32_t)cpu);
}

static uint64_t h_ringbuf_output(uint64_t map, uint64_t data, uint64_t size, uint64_t flags, uint64_t e,
                                 bpfvm_run *run)
{
	(void)e;
	bpfvm_map *m = (bpfvm_map *)(uintptr_t)map;
	if (!unchecked(run)) {
		m = helper_map_arg(run, "bpf_ringbuf_output", map);
		if (!m || !helper_check(run, "bpf_ringbuf_output", data, size, false))
			return 0;
	}
	return (uint64_t)bpfvm_map_ringbuf_output(m, (const void *)(uintptr_t)data, size, flags);
}

/* Checked runs: a reserved sample is lent to the program (writable, its
 * header not) until it submits or discards it. */
static bool lend_sample(bpfvm_run *run, const bpfvm_map *m, void *sample, uint64_t size)
{
	if (run->reserved_count == RUN_MAX_RESERVED) {
		bpfvm_map_ringbuf_discard(sample, 0);
		bpfvm_run_fail(run, "bpf_ringbuf_reserve: more than 8 records reserved at once");
		return false;
	}
	run->reserved[run->reserved_count] = (bpfvm_region){ sample, (size_t)size, true };
	run->reserved_maps[run->reserved_count++] = m;
	return true;
}

static uint64_t h_ringbuf_reserve(uint64_t map, uint64_t size, uint64_t flags, uint64_t d, uint64_t e,
                                  bpfvm_run *run)
{
	(void)d; (void)e;
	bpfvm_map *m = helper_map_arg(run, "bpf_ringbuf_reserve", map);
	if (!m)
		return 0;
	void *sample = bpfvm_map_ringbuf_reserve(m, size, flags);
	if (sample && !unchecked(run) && !lend_sample(run, m, sample, size))
		return 0;
	return (uint64_t)(uintptr_t)sample;
}

/* The record must be one reserve handed out.  A checked run knows its
 * own: the sample must be one it holds, which it then gives back. */
static bool ringbuf_record(bpfvm_run *run, const char *helper, uint64_t data)
{
	if (unchecked(run))
		return true;
	for (unsigned i = 0; i < run->reserved_count; i++) {
		if ((uint64_t)(uintptr_t)run->reserved[i].base != data)
			continue;
		run->reserved_count--;
		run->reserved[i] = run->reserved[run->reserved_count];
		run->reserved_maps[i] = run->reserved_maps[run->reserved_count];
		return true;
	}
	char msg[160];
	snprintf(msg, sizeof msg, "%s: 0x%llx is not a ring buffer record this program holds reserved", helper,
	         (unsigned long long)data);
	bpfvm_run_fail(run, msg);
	return false;
}

static uint64_t h_ringbuf_submit(uint64_t data, uint64_t flags, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)c; (void)d; (void)e;
	if (ringbuf_record(run, "bpf_ringbuf_submit", data))
		bpfvm_map_ringbuf_submit((void *)(uintptr_t)data, flags);
	return 0;
}

static uint64_t h_ringbuf_discard(uint64_t data, uint64_t flags, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)c; (void)d; (void)e;
	if (ringbuf_record(run, "bpf_ringbuf_discard", data))
		bpfvm_map_ringbuf_discard((void *)(uintptr_t)data, flags);
	return 0;
}

static uint64_t h_ringbuf_query(uint64_t map, uint64_t flags, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)c; (void)d; (void)e;
	bpfvm_map *m = helper_map_arg(run, "bpf_ringbuf_query", map);
	return m ? bpfvm_map_ringbuf_query(m, flags) : 0;
}

/* bpf_perf_event_output(ctx, map, flags, data, size) */
static uint64_t h_perf_event_output(uint64_t ctx, uint64_t map, uint64_t flags, uint64_t data, uint64_t size,
                                    bpfvm_run *run)
{
	(void)ctx;
	bpfvm_map *m = helper_map_arg(run, "bpf_perf_event_output", map);
	if (!m || !helper_check(run, "bpf_perf_event_output", data, size, false))
		return 0;
	return (uint64_t)bpfvm_map_perf_event_output(m, flags, (const void *)(uintptr_t)data, size);
}

/* How long a checked run waits for a bpf_spin_lock that reads as held
 * before it fails: far longer than any critical section of a program,
 * short enough that a lock left held ends the run promptly. */
#define CHECKED_LOCK_WAIT_NS 100000000ULL

/* Checked runs: a lock in a map window must be a value's bpf_spin_lock
 * (the program may not write those bytes itself, only through these
 * helpers); elsewhere, 4 writable bytes of the program's memory.  Writes
 * its name for errors: "map NAME value +OFF", or the address. */
static bool checked_lock_arg(bpfvm_run *run, const char *helper, uint64_t lock, char *name, size_t name_len)
{
	const struct run_map_region *r = run_map_region_at(run, lock);
	if (!r) {
		snprintf(name, name_len, "0x%llx", (unsigned long long)lock);
		return helper_check(run, helper, lock, 4, true);
	}
	const struct map_region_desc *shape = &r->shape;
	uint64_t off = lock - r->base;
	uint64_t in = shape->stride ? off % shape->stride : off;
	if (shape->lock_off < 0 || in != (uint64_t)shape->lock_off || r->len - off < 4) {
		char msg[160];
		snprintf(msg, sizeof msg, "%s: 0x%llx is not the bpf_spin_lock of a value of map %s", helper,
		         (unsigned long long)lock, r->map->name);
		bpfvm_run_fail(run, msg);
		return false;
	}
	snprintf(name, name_len, "map %s value +%u", r->map->name, (unsigned)(in - shape->value_off));
	return true;
}

/* bpf_spin_lock / bpf_spin_unlock: a 4-byte aligned struct bpf_spin_lock
 * in the program's memory. */
static bool lock_arg(bpfvm_run *run, const char *helper, uint64_t lock, char *name, size_t name_len)
{
	if (lock & 3) {
		char msg[96];
		snprintf(msg, sizeof msg, "%s: the lock is not 4-byte aligned", helper);
		bpfvm_run_fail(run, msg);
		return false;
	}
	if (unchecked(run))
		return true;
	return checked_lock_arg(run, helper, lock, name, name_len);
}

/* Checked runs hold one lock at a time, as the kernel lets a program,
 * and remember it, so that the run layer can release it at exit. */
static void checked_spin_lock(bpfvm_run *run, void *lock, const char *name)
{
	char msg[224];
	if (run->held_lock) {
		if (run->held_lock == lock)
			snprintf(msg, sizeof msg, "bpf_spin_lock at %s: already held by this program", name);
		else
			snprintf(msg, sizeof msg, "bpf_spin_lock at %s: the program already holds the one at %s", name,
			         run->held_lock_name);
		bpfvm_run_fail(run, msg);
		return;
	}
	/* a checked program must not spin forever on a lock word left held */
	if (bpfvm_map_spin_lock_bounded(lock, CHECKED_LOCK_WAIT_NS) < 0) {
		snprintf(msg, sizeof msg, "bpf_spin_lock at %s: still held by another after %llu ms", name,
		         CHECKED_LOCK_WAIT_NS / 1000000);
		bpfvm_run_fail(run, msg);
		return;
	}
	run->held_lock = lock;
	snprintf(run->held_lock_name, sizeof run->held_lock_name, "%s", name);
}

static void checked_spin_unlock(bpfvm_run *run, void *lock, const char *name)
{
	if (run->held_lock != lock) {
		char msg[160];
		snprintf(msg, sizeof msg, "bpf_spin_unlock at %s: not held by this program", name);
		bpfvm_run_fail(run, msg);
		return;
	}
	run->held_lock = NULL;
	bpfvm_map_spin_unlock(lock);
}

static uint64_t h_spin_lock(uint64_t lock, uint64_t b, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)b; (void)c; (void)d; (void)e;
	char name[64];
	if (!lock_arg(run, "bpf_spin_lock", lock, name, sizeof name))
		return 0;
	if (unchecked(run))
		bpfvm_map_spin_lock((void *)(uintptr_t)lock);
	else
		checked_spin_lock(run, (void *)(uintptr_t)lock, name);
	return 0;
}

static uint64_t h_spin_unlock(uint64_t lock, uint64_t b, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)b; (void)c; (void)d; (void)e;
	char name[64];
	if (!lock_arg(run, "bpf_spin_unlock", lock, name, sizeof name))
		return 0;
	if (unchecked(run))
		bpfvm_map_spin_unlock((void *)(uintptr_t)lock);
	else
		checked_spin_unlock(run, (void *)(uintptr_t)lock, name);
	return 0;
}

/* bpf_tail_call(ctx, prog_array, index): on success the current program
 * is gone and the target runs with the same context; on failure (an empty
 * slot, an index out of range, the chain already 33 long) the program
 * goes on, as in the kernel. */
static uint64_t h_tail_call(uint64_t ctx, uint64_t map, uint64_t index, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)d; (void)e;
	bpfvm_map *m = helper_map_arg(run, "bpf_tail_call", map);
	if (!m)
		return 0;
	if (run->tail_calls >= MAX_TAIL_CALLS)
		return (uint64_t)-ENOENT;
	const bpfvm_program *target = bpfvm_map_prog_array_get(m, (uint32_t)index);
	if (!target || index > UINT32_MAX)
		return (uint64_t)-ENOENT;
	run->tail_calls++;
	run->tail_target = target;
	run->tail_ctx = ctx;
	run->status = RUN_TAIL_CALL;
	return 0;
}

#define A(...) { __VA_ARGS__ }
/* The map types the kernel lets each kind of map helper take (the helper
 * side of its check_map_func_compatibility; map types restricted to some
 * helpers say so themselves, in their map_ops.only_helpers). */
#define MAPS(KIND, TYPES) .map_kind = MAP_HELPER_##KIND, .map_types = (TYPES)
#define T(TYPE) MAP_TYPE_BIT(BPF_MAP_TYPE_##TYPE)
#define QUEUES (T(QUEUE) | T(STACK))
#define PERCPU_TYPES (T(PERCPU_ARRAY) | T(PERCPU_HASH) | T(LRU_PERCPU_HASH))
/* The kernel's prototypes for a privileged loader; every program type
 * bpfvm models may call these (tests/kernel/test_helper_types.c). */
#define DESC(ID, FN, RET, ARGS, ...) \
	{ .proto = { .id = BPF_FUNC_##ID, .name = "bpf_" #ID, .ret = RET, .args = ARGS }, \
	  .fn = FN, .has_proto = true, .prog_types = PROGS_ALL, __VA_ARGS__ }

const struct helper_desc helper_descs_maps[] = {
	DESC(map_lookup_elem, h_map_lookup_elem, RET_MAP_VALUE_OR_NULL, A(ARG_MAP, ARG_MAP_KEY),
	     .pkt_access = true, .inline_kind = INLINE_MAP_LOOKUP, MAPS(LOOKUP, MAP_TYPES_ANY)),
	DESC(map_update_elem, h_map_update_elem, RET_INTEGER, A(ARG_MAP, ARG_MAP_KEY, ARG_MAP_VALUE, ARG_ANYTHING),
	     .pkt_access = true, .inline_kind = INLINE_MAP_UPDATE, MAPS(CHANGE, MAP_TYPES_ANY)),
	DESC(map_delete_elem, h_map_delete_elem, RET_INTEGER, A(ARG_MAP, ARG_MAP_KEY),
	     .pkt_access = true, .inline_kind = INLINE_MAP_DELETE, MAPS(CHANGE, MAP_TYPES_ANY)),
	DESC(tail_call, h_tail_call, RET_VOID, A(ARG_CTX, ARG_MAP, ARG_ANYTHING), MAPS(TAIL_CALL, T(PROG_ARRAY)),
	     .tail_call = true),
	DESC(perf_event_output, h_perf_event_output, RET_INTEGER,
	     A(ARG_CTX, ARG_MAP, ARG_ANYTHING, ARG_MEM, ARG_SIZE_OR_ZERO), .proto.gpl_only = true,
	     MAPS(PERF_OUTPUT, T(PERF_EVENT_ARRAY))),
	DESC(map_push_elem, h_map_push_elem, RET_INTEGER, A(ARG_MAP, ARG_MAP_VALUE, ARG_ANYTHING), .pkt_access = true,
	     MAPS(PUSH, QUEUES | T(BLOOM_FILTER))),
	DESC(map_pop_elem, h_map_pop_elem, RET_INTEGER, A(ARG_MAP, ARG_MAP_VALUE_UNINIT), MAPS(POP, QUEUES)),
	DESC(map_peek_elem, h_map_peek_elem, RET_INTEGER, A(ARG_MAP, ARG_MAP_VALUE_UNINIT),
	     MAPS(PEEK, QUEUES | T(BLOOM_FILTER))),
	DESC(spin_lock, h_spin_lock, RET_VOID, A(ARG_SPIN_LOCK), .lock = LOCK_ACQUIRE),
	DESC(spin_unlock, h_spin_unlock, RET_VOID, A(ARG_SPIN_LOCK), .lock = LOCK_RELEASE),
	DESC(ringbuf_output, h_ringbuf_output, RET_INTEGER, A(ARG_MAP, ARG_MEM, ARG_SIZE_OR_ZERO, ARG_ANYTHING),
	     .inline_kind = INLINE_RINGBUF_OUTPUT, MAPS(RINGBUF, T(RINGBUF))),
	DESC(ringbuf_reserve, h_ringbuf_reserve, RET_MEM_OR_NULL, A(ARG_MAP, ARG_ALLOC_SIZE, ARG_ANYTHING),
	     MAPS(RINGBUF, T(RINGBUF))),
	DESC(ringbuf_submit, h_ringbuf_submit, RET_VOID, A(ARG_RINGBUF_MEM, ARG_ANYTHING)),
	DESC(ringbuf_discard, h_ringbuf_discard, RET_VOID, A(ARG_RINGBUF_MEM, ARG_ANYTHING)),
	DESC(ringbuf_query, h_ringbuf_query, RET_INTEGER, A(ARG_MAP, ARG_ANYTHING), MAPS(RINGBUF, T(RINGBUF))),
	DESC(map_lookup_percpu_elem, h_map_lookup_percpu_elem, RET_MAP_VALUE_OR_NULL,
	     A(ARG_MAP, ARG_MAP_KEY, ARG_ANYTHING), .pkt_access = true, MAPS(LOOKUP_PERCPU, PERCPU_TYPES)),
};
const size_t helper_descs_maps_count = sizeof helper_descs_maps / sizeof helper_descs_maps[0];

uintptr_t helper_direct_map_op(const struct helper_desc *d, const bpfvm_map *m)
{
	/* the unchecked paths above: bpfvm_map_*_elem(), which call these
	 * operations when the map has them; map-in-map lookups also record
	 * the inner map for the run, which only the helper does */
	switch (d ? d->inline_kind : INLINE_NONE) {
	case INLINE_MAP_LOOKUP:
		if (m->type == BPF_MAP_TYPE_ARRAY_OF_MAPS || m->type == BPF_MAP_TYPE_HASH_OF_MAPS)
			return 0;
		return (uintptr_t)m->ops->lookup;
	case INLINE_MAP_UPDATE:
		return (uintptr_t)m->ops->update;
	case INLINE_MAP_DELETE:
		return (uintptr_t)m->ops->delete;
	case INLINE_RINGBUF_OUTPUT:   /* (map, data, size, flags), as the helper */
		return (uintptr_t)bpfvm_map_ringbuf_output;
	default:
		return 0;
	}
}
