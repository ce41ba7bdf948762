/*
 * perf.c - BPF_MAP_TYPE_PERF_EVENT_ARRAY: per-CPU rings of perf records
 * that programs write with bpf_perf_event_output() and the host reads.
 *
 * Owns: the entries (empty until the host attaches a ring to one, the
 * stand-in for storing a perf event fd), the record format of the kernel's
 * perf ring (struct perf_event_header, PERF_RECORD_SAMPLE carrying raw
 * data padded so the record stays 8-byte aligned, PERF_RECORD_LOST
 * carrying how many samples did not fit, written before the next sample
 * that does, as perf does), and a reader like libbpf's perf_buffer.
 *
 * The rings are process-local memory (a perf event is a process-local
 * fd in the kernel too), so these maps cannot be pinned.  Attach and
 * detach never free a ring a producer or the reader may be using: each
 * of those counts itself in while it looks a ring up and uses it (in
 * one of two counters, by phase), and a swap that took a ring out flips
 * the phase and waits for the old phase's count to drain, as SRCU does
 * (no lock a producer waits on: a program in a signal handler may
 * produce).  Each ring's spin lock serialises its producers and reader;
 * a program in a signal handler that interrupted its own thread holding
 * it (maps/map_lock.h) gets -EBUSY, as the kernel's output nested too
 * deep.  The locks are in process-local memory, so a process killed
 * holding one takes it with it: there is nothing for another process to
 * take over or report (the map has no holders or reclaim operation).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "maps/map_internal.h"
#include "maps/map_lock.h"

#define PERF_RECORD_LOST 2u
#define PERF_RECORD_SAMPLE 9u

struct perf_event_header {
	uint32_t type;
	uint16_t misc;
	uint16_t size;
};

struct perf_ring {
	uint32_t lock;
	uint8_t *data;
	uint64_t size;    /* power of two */
	uint64_t head;    /* bytes ever written */
	uint64_t tail;    /* bytes ever read */
	uint64_t lost;    /* samples dropped since the last LOST record */
};

struct perf_local {
	pthread_mutex_t swap_lock;    /* one attach or detach at a time */
	uint32_t phase;               /* atomic: which of users[] new users count in */
	uint32_t users[2];            /* atomic: producers and readers inside, by phase */
	struct perf_ring **rings;     /* atomic entries */
};

static struct perf_local *local_of(const bpfvm_map *m)
{
	return m->local;
}

/* A producer's or the reader's section, in which the rings it loads stay
 * allocated; returns what rings_leave() takes. */
static unsigned rings_enter(struct perf_local *loc)
{
	unsigned phase = __atomic_load_n(&loc->phase, __ATOMIC_SEQ_CST) & 1;
	__atomic_fetch_add(&loc->users[phase], 1, __ATOMIC_SEQ_CST);
	return phase;
}

static void rings_leave(struct perf_local *loc, unsigned phase)
{
	__atomic_fetch_sub(&loc->users[phase], 1, __ATOMIC_RELEASE);
}

/* After a ring was swapped out (under swap_lock): returns once no section
 * that may have loaded it is left.  One that counts itself into the old
 * phase after the wait saw it empty loads the rings after the swap. */
static void rings_wait_users(struct perf_local *loc)
{
	unsigned old = __atomic_load_n(&loc->phase, __ATOMIC_RELAXED) & 1;
	__atomic_store_n(&loc->phase, old ^ 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&loc->users[old], __ATOMIC_SEQ_CST))
		sched_yield();
}

static void ring_write(struct perf_ring *r, uint64_t pos, const void *src, size_t len)
{
	uint64_t off = pos & (r->size - 1);
	size_t first = len < r->size - off ? len : (size_t)(r->size - off);
	memcpy(r->data + off, src, first);
	memcpy(r->data, (const uint8_t *)src + first, len - first);
}

static void ring_read(const struct perf_ring *r, uint64_t pos, void *dst, size_t len)
{
	uint64_t off = pos & (r->size - 1);
	size_t first = len < r->size - off ? len : (size_t)(r->size - off);
	memcpy(dst, r->data + off, first);
	memcpy((uint8_t *)dst + first, r->data, len - first);
}

/* ---- the program side -------------------------------------------------------- */

long bpfvm_map_perf_event_output(bpfvm_map *map, uint64_t flags, const void *data, uint64_t size)
{
	if (!map || map->type != BPFVM_MAP_TYPE_PERF_EVENT_ARRAY)
		return -EINVAL;
	if (flags & ~BPFVM_F_INDEX_MASK)
		return -EINVAL;
	uint64_t index = flags & BPFVM_F_INDEX_MASK;
	if (index == BPFVM_F_CURRENT_CPU)
		index = map_this_cpu(map);
	if (index >= map->max_entries)
		return -E2BIG;
	/* The raw payload is padded so that u32 size + payload is 8-aligned. */
	uint64_t raw_size = ((4 + size + 7) & ~7ULL) - 4;
	uint64_t rec_size = sizeof(struct perf_event_header) + 4 + raw_size;
	if (rec_size > UINT16_MAX)
		return -E2BIG;

	struct perf_local *loc = local_of(map);
	long rc = 0;
	unsigned phase = rings_enter(loc);
	struct perf_ring *r = __atomic_load_n(&loc->rings[index], __ATOMIC_SEQ_CST);
	if (!r) {
		rc = -ENOENT;
		goto out;
	}
	if (map_lock(&r->lock) < 0) {
		rc = -EBUSY;
		goto out;
	}
	uint64_t space = r->size - (r->head - r->tail);
	uint64_t lost_size = r->lost ? sizeof(struct perf_event_header) + 16 : 0;
	if (rec_size + lost_size > space) {
		r->lost++;
		map_unlock(&r->lock);
		rc = -ENOSPC;
		goto out;
	}
	if (r->lost) {
		struct perf_event_header lh = { PERF_RECORD_LOST, 0, (uint16_t)lost_size };
		uint64_t body[2] = { 0 /* id */, r->lost };
		ring_write(r, r->head, &lh, sizeof lh);
		ring_write(r, r->head + sizeof lh, body, sizeof body);
		r->head += lost_size;
		r->lost = 0;
	}
	struct perf_event_header h = { PERF_RECORD_SAMPLE, 0, (uint16_t)rec_size };
	uint32_t raw = (uint32_t)raw_size;
	static const uint8_t zeros[8];
	uint64_t pos = r->head;
	ring_write(r, pos, &h, sizeof h);
	ring_write(r, pos + sizeof h, &raw, 4);
	ring_write(r, pos + sizeof h + 4, data, (size_t)size);
	ring_write(r, pos + sizeof h + 4 + size, zeros, (size_t)(raw_size - size));
	r->head += rec_size;
	map_unlock(&r->lock);
out:
	rings_leave(loc, phase);
	return rc;
}

/* ---- the host side ------------------------------------------------------------ */

static int set_ring(bpfvm_map *map, uint32_t index, struct perf_ring *ring, bool *had)
{
	struct perf_local *loc = local_of(map);
	pthread_mutex_lock(&loc->swap_lock);
	struct perf_ring *old = __atomic_exchange_n(&loc->rings[index], ring, __ATOMIC_SEQ_CST);
	if (old)
		rings_wait_users(loc);
	pthread_mutex_unlock(&loc->swap_lock);
	if (had)
		*had = old != NULL;
	if (old) {
		free(old->data);
		free(old);
	}
	return 0;
}

int bpfvm_map_perf_attach(bpfvm_map *map, uint32_t index, size_t ring_size, bpfvm_error *err)
{
	if (!map || map->type != BPFVM_MAP_TYPE_PERF_EVENT_ARRAY)
		return map_error(err, -EINVAL, "perf_attach: not a perf_event_array");
	if (index >= map->max_entries)
		return map_error(err, -E2BIG, "perf_attach on '%s': index %u out of range (max_entries %u)", map->name,
		                 index, map->max_entries);
	if (ring_size < 4096 || (ring_size & (ring_size - 1)))
		return map_error(err, -EINVAL, "perf_attach on '%s': ring size %zu is not a power of two >= 4096",
		                 map->name, ring_size);
	struct perf_ring *r = calloc(1, sizeof *r);
	if (r)
		r->data = malloc(ring_size);
	if (!r || !r->data) {
		free(r);
		return map_error(err, -ENOMEM, "perf_attach on '%s': out of memory for a %zu-byte ring", map->name,
		                 ring_size);
	}
	r->size = ring_size;
	return set_ring(map, index, r, NULL);
}

int bpfvm_map_perf_detach(bpfvm_map *map, uint32_t index, bpfvm_error *err)
{
	if (!map || map->type != BPFVM_MAP_TYPE_PERF_EVENT_ARRAY)
		return map_error(err, -EINVAL, "perf_detach: not a perf_event_array");
	return bpfvm_map_delete(map, &index, err);
}

/* Reads one record under the ring lock into buf (grown as needed);
 * returns its size, or 0 if the ring is empty. */
static size_t take_record(struct perf_ring *r, uint8_t **buf, size_t *cap)
{
	size_t len = 0;
	if (map_lock(&r->lock) < 0)
		return 0;   /* a signal handler consuming inside a producer of its thread */
	if (r->head - r->tail >= sizeof(struct perf_event_header)) {
		struct perf_event_header h;
		ring_read(r, r->tail, &h, sizeof h);
		len = h.size;
		if (len < sizeof h || len > r->head - r->tail) {
			r->tail = r->head;   /* cannot happen: the ring is private */
			len = 0;
		} else {
			if (len > *cap) {
				uint8_t *bigger = realloc(*buf, len);
				if (!bigger) {
					map_unlock(&r->lock);
					return 0;
				}
				*buf = bigger;
				*cap = len;
			}
			ring_read(r, r->tail, *buf, len);
			r->tail += len;
		}
	}
	map_unlock(&r->lock);
	return len;
}

/* The next record of ring i into buf, in a section of its own so that
 * the callbacks run outside any (they may attach or detach). */
static size_t take_record_at(struct perf_local *loc, uint32_t i, uint8_t **buf, size_t *cap)
{
	unsigned phase = rings_enter(loc);
	struct perf_ring *r = __atomic_load_n(&loc->rings[i], __ATOMIC_SEQ_CST);
	size_t len = r ? take_record(r, buf, cap) : 0;
	rings_leave(loc, phase);
	return len;
}

int bpfvm_map_perf_consume(bpfvm_map *map, bpfvm_perf_sample_fn sample_cb, bpfvm_perf_lost_fn lost_cb, void *ctx,
                           bpfvm_error *err)
{
	if (!map || map->type != BPFVM_MAP_TYPE_PERF_EVENT_ARRAY)
		return map_error(err, -EINVAL, "perf_consume: not a perf_event_array");
	struct perf_local *loc = local_of(map);
	uint8_t *buf = NULL;
	size_t cap = 0;
	int count = 0;
	for (uint32_t i = 0; i < map->max_entries; i++) {
		size_t len;
		while ((len = take_record_at(loc, i, &buf, &cap)) > 0) {
			struct perf_event_header h;
			memcpy(&h, buf, sizeof h);
			if (h.type == PERF_RECORD_SAMPLE && len >= sizeof h + 4) {
				uint32_t raw;
				memcpy(&raw, buf + sizeof h, 4);
				if (sample_cb)
					sample_cb(ctx, (int)i, buf + sizeof h + 4, raw);
			} else if (h.type == PERF_RECORD_LOST && len >= sizeof h + 16) {
				uint64_t lost;
				memcpy(&lost, buf + sizeof h + 8, 8);
				if (lost_cb)
					lost_cb(ctx, (int)i, lost);
			}
			count++;
		}
	}
	free(buf);
	return count;
}

/* ---- user-space map operations --------------------------------------------------- */

static int perf_sys_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags, bpfvm_error *err)
{
	(void)value;
	uint32_t index;
	memcpy(&index, key, 4);
	if (flags != BPFVM_ANY)
		return -EINVAL;
	if (index >= m->max_entries)
		return -E2BIG;
	return map_error(err, -EBADF, "perf_event_array '%s': attach rings with bpfvm_map_perf_attach()", m->name);
}

static int perf_sys_delete(bpfvm_map *m, const void *key, bpfvm_error *err)
{
	(void)err;
	uint32_t index;
	memcpy(&index, key, 4);
	if (index >= m->max_entries)
		return -E2BIG;
	bool had = false;
	set_ring(m, index, NULL, &had);
	return had ? 0 : -ENOENT;
}

static int perf_check(const bpfvm_map_def *def, unsigned ncpus, bpfvm_error *err)
{
	(void)ncpus;
	if (def->value_size != 4)
		return map_error(err, -EINVAL, "perf_event_array: value_size must be 4, got %u", def->value_size);
	if (def->flags & (BPFVM_F_RDONLY_PROG | BPFVM_F_WRONLY_PROG))
		return map_error(err, -EINVAL, "perf_event_array: BPF_F_RDONLY_PROG/WRONLY_PROG are not supported");
	return array_check(def, err);
}

static int perf_layout(bpfvm_map *m, struct arena_layout *lay, bpfvm_error *err)
{
	(void)m;
	(void)lay;
	(void)err;
	return 0;
}

static int perf_attach_local(bpfvm_map *m, bpfvm_error *err)
{
	struct perf_local *loc = calloc(1, sizeof *loc);
	if (loc)
		loc->rings = calloc(m->max_entries, sizeof *loc->rings);
	if (!loc || !loc->rings) {
		free(loc);
		return map_error(err, -ENOMEM, "out of memory for %u perf rings", m->max_entries);
	}
	pthread_mutex_init(&loc->swap_lock, NULL);
	m->local = loc;
	return 0;
}

static void perf_destroy(bpfvm_map *m)
{
	struct perf_local *loc = local_of(m);
	if (!loc)
		return;
	for (uint32_t i = 0; i < m->max_entries; i++) {
		if (loc->rings[i]) {
			free(loc->rings[i]->data);
			free(loc->rings[i]);
		}
	}
	pthread_mutex_destroy(&loc->swap_lock);
	free(loc->rings);
	free(loc);
	m->local = NULL;
}

const struct map_ops map_perf_event_array_ops = {
	.check = perf_check,
	.layout = perf_layout,
	.attach = perf_attach_local,
	.destroy = perf_destroy,
	.pinnable = false,
	.only_helpers = MAP_HELPER_BIT(MAP_HELPER_PERF_OUTPUT),
	.sys_update = perf_sys_update,
	.sys_delete = perf_sys_delete,
	.sys_get_next_key = array_get_next_key,
};
