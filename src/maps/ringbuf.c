/*
 * ringbuf.c - BPF_MAP_TYPE_RINGBUF: the kernel's multi-producer,
 * single-consumer ring buffer, and its user-space consumer.
 *
 * Owns: the kernel's memory layout after the arena header (a consumer
 * page holding consumer_pos, a producer page holding producer_pos and
 * pending_pos, then max_entries bytes of data mapped twice in a row so a
 * record is always contiguous), its 8-byte record header (length with the
 * BUSY and DISCARD bits, and the page offset of the header from the start
 * of the arena), the reservation protocol (producers serialise on a spin
 * lock to claim space; commits are lock-free and may complete out of
 * order; pending_pos tracks the oldest uncommitted record so the ring
 * never wraps over it), the wakeup rule (notify when the consumer has
 * caught up to the record just committed, or when forced), and a consumer
 * like libbpf's ring_buffer__consume()/poll().
 *
 * Wakeups are a futex in the arena (shared, so a consumer in another
 * process is woken too).  submit/discard get only the record pointer, as
 * the kernel helpers do; the ring is found by looking the address up
 * among this process's ring buffers, never by trusting the header, which
 * a program can overwrite.
 *
 * Crash safety: positions are published with one store each, so a
 * producer or consumer killed while holding its lock leaves them
 * consistent and the lock is simply taken over.  A record reserved by a
 * process that dies before submit/discard stays BUSY: the second header
 * word names its holder (the owner token, where the kernel keeps the
 * header's page offset: nothing here reads that, since a record's ring is
 * found from its address, and no libbpf consumer maps a bpfvm arena).  A
 * consumer never waits on it: it stops there as libbpf's does, and once
 * it has seen the same record busy for a millisecond it asks whether the
 * holder lives; a dead holder's record is discarded and the consumer goes
 * on (a poll looks again every 2 ms while the head record is busy);
 * pending_pos then moves past it and reserves succeed again.  Positions out of order (a damaged
 * arena) are an error naming the map, never a long walk.
 *
 * Re-entrance: a program in a signal handler that interrupted its own
 * thread inside a reserve finds the producer lock held by that thread
 * (maps/map_lock.h) and gets no record (reserve NULL, output -EAGAIN), as
 * the kernel's in_nmi() trylock; commits take no lock, and the ring of a
 * record is looked up without one (below).  Only user space consumes.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "maps/map_internal.h"
#include "maps/map_lock.h"

#define RINGBUF_MAX_RECORD_SZ (UINT_MAX / 4)

struct rb_state {          /* bookkeeping, on the arena's first page */
	uint32_t producer_lock;
	uint32_t consumer_lock;
	uint32_t wake_seq;     /* futex word: bumped on every wakeup */
	uint32_t waiters;      /* consumers sleeping on wake_seq */
};

struct rb_producer_page {
	uint64_t producer_pos;
	uint64_t pending_pos;
};

struct rb_hdr {
	uint32_t len;
	uint32_t owner;    /* the kernel's pg_off: here the reserving process's token */
};

/* The process-local memory of the BUSY record the consumer stopped at:
 * its position + 1 (0: none) and since when this process has seen it
 * busy.  A record stays busy a program's run at most, so one seen busy
 * past OWNER_CHECK_AFTER_NS gets its holder asked after, at most once per
 * OWNER_CHECK_AFTER_NS; a consumer never waits on a live holder. */
#define BUSY_POS     off[4]
#define BUSY_SINCE   off[5]

#define OFF_STATE    off[0]
#define OFF_CONSUMER off[1]
#define OFF_PRODUCER off[2]
#define OFF_DATA     off[3]

static struct rb_state *rb_state(const bpfvm_map *m)
{
	return (struct rb_state *)(void *)(m->base + m->OFF_STATE);
}

static uint64_t *consumer_pos(const bpfvm_map *m)
{
	return (uint64_t *)(void *)(m->base + m->OFF_CONSUMER);
}

static struct rb_producer_page *producer(const bpfvm_map *m)
{
	return (struct rb_producer_page *)(void *)(m->base + m->OFF_PRODUCER);
}

static uint8_t *rb_data(const bpfvm_map *m)
{
	return m->base + m->OFF_DATA;
}

static uint64_t rb_mask(const bpfvm_map *m)
{
	return (uint64_t)m->max_entries - 1;
}

/* ---- this process's ring buffers, to find one from a record pointer ----- *
 *
 * Submit and discard look a record's ring up here, also from a program in
 * a signal handler that interrupted its thread anywhere, even inside the
 * creation or freeing of a ring: so lookups take no lock.  Each slot has
 * a sequence word, odd while a writer fills or clears it; a lookup skips
 * a slot it finds odd (a ring being added or removed holds no record of
 * the program's) and reads a slot again if its word moved meanwhile.
 * Slots never move, so no lookup misses a ring that exists throughout
 * it.  Writers (map creation and freeing) serialise on a mutex.  A full
 * table is copied into one twice its size; the older ones stay (a lookup
 * may be reading one: a removal clears its slot in each) until the last
 * ring goes, when nothing may stay allocated behind a dlclose(). */

struct ring_slot {
	uint32_t seq;
	bpfvm_map *map;
	const uint8_t *data;
	uint64_t size;
};

struct ring_table {
	struct ring_table *older;
	size_t cap;
	size_t used;               /* atomic: slots [0, used) have been handed out */
	struct ring_slot slot[];
};

static pthread_mutex_t rings_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct ring_table *rings;   /* atomic: the newest table */
static size_t rings_live;

/* Writes slot i of t (under rings_mutex): map (NULL: clear it). */
static void ring_slot_set(struct ring_table *t, size_t i, bpfvm_map *m)
{
	struct ring_slot *sl = &t->slot[i];
	uint32_t seq = __atomic_load_n(&sl->seq, __ATOMIC_RELAXED);
	__atomic_store_n(&sl->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&sl->map, m, __ATOMIC_RELAXED);
	__atomic_store_n(&sl->data, m ? rb_data(m) : NULL, __ATOMIC_RELAXED);
	__atomic_store_n(&sl->size, m ? (uint64_t)m->max_entries : 0, __ATOMIC_RELAXED);
	__atomic_store_n(&sl->seq, seq + 2, __ATOMIC_RELEASE);
}

/* A table with room for one more slot (under rings_mutex), or NULL. */
static struct ring_table *rings_room(void)
{
	struct ring_table *t = rings;
	if (t && t->used < t->cap)
		return t;
	size_t cap = t ? 2 * t->cap : 8;
	struct ring_table *bigger = calloc(1, sizeof *bigger + cap * sizeof bigger->slot[0]);
	if (!bigger)
		return NULL;
	bigger->cap = cap;
	bigger->older = t;
	for (size_t i = 0; t && i < t->used; i++)
		bigger->slot[i] = (struct ring_slot){ .map = t->slot[i].map, .data = t->slot[i].data,
		                                      .size = t->slot[i].size };
	bigger->used = t ? t->used : 0;
	__atomic_store_n(&rings, bigger, __ATOMIC_RELEASE);
	return bigger;
}

static int rings_add(bpfvm_map *m)
{
	int rc = 0;
	pthread_mutex_lock(&rings_mutex);
	struct ring_table *t = rings;
	size_t i = 0;
	while (t && i < t->used && t->slot[i].map)
		i++;
	if (!t || i == t->used)
		t = rings_room();
	if (t) {
		ring_slot_set(t, i, m);
		if (i == t->used)
			__atomic_store_n(&t->used, i + 1, __ATOMIC_RELEASE);
		rings_live++;
	} else {
		rc = -ENOMEM;
	}
	pthread_mutex_unlock(&rings_mutex);
	return rc;
}

static void rings_remove(bpfvm_map *m)
{
	pthread_mutex_lock(&rings_mutex);
	bool found = false;
	for (struct ring_table *t = rings; t; t = t->older)
		for (size_t i = 0; i < t->used; i++)
			if (t->slot[i].map == m) {
				ring_slot_set(t, i, NULL);
				found = true;
			}
	if (found && --rings_live == 0) {
		struct ring_table *t = rings;
		__atomic_store_n(&rings, NULL, __ATOMIC_RELEASE);
		while (t) {
			struct ring_table *older = t->older;
			free(t);
			t = older;
		}
	}
	pthread_mutex_unlock(&rings_mutex);
}

/* Whether slot sl holds a ring whose data (either view) holds hdr: that
 * ring, else NULL. */
static bpfvm_map *ring_slot_match(struct ring_slot *sl, const uint8_t *hdr)
{
	for (;;) {
		uint32_t seq = __atomic_load_n(&sl->seq, __ATOMIC_ACQUIRE);
		if (seq & 1)
			return NULL;
		bpfvm_map *m = __atomic_load_n(&sl->map, __ATOMIC_RELAXED);
		const uint8_t *data = __atomic_load_n(&sl->data, __ATOMIC_RELAXED);
		uint64_t size = __atomic_load_n(&sl->size, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&sl->seq, __ATOMIC_RELAXED) != seq)
			continue;
		return m && hdr >= data && hdr < data + 2 * size ? m : NULL;
	}
}

/* The ring whose data (either view) holds `hdr`, with its header's
 * offset from the data start; NULL if none does. */
static bpfvm_map *ring_of(const uint8_t *hdr, uint64_t *rec_pos)
{
	if ((uintptr_t)hdr & 7)
		return NULL;
	struct ring_table *t = __atomic_load_n(&rings, __ATOMIC_ACQUIRE);
	size_t used = t ? __atomic_load_n(&t->used, __ATOMIC_ACQUIRE) : 0;
	for (size_t i = 0; i < used; i++) {
		bpfvm_map *m = ring_slot_match(&t->slot[i], hdr);
		if (m) {
			*rec_pos = (uint64_t)(hdr - rb_data(m)) & rb_mask(m);
			return m;
		}
	}
	return NULL;
}

/* ---- wakeups ---------------------------------------------------------------- */

static void rb_wakeup(const bpfvm_map *m)
{
	struct rb_state *st = rb_state(m);
	__atomic_add_fetch(&st->wake_seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&st->waiters, __ATOMIC_SEQ_CST))
		syscall(SYS_futex, &st->wake_seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* ---- producers ---------------------------------------------------------------- */

/* __bpf_ringbuf_reserve().  Inlined into output, whose whole path is a
 * few dozen instructions around two locked ones: a call costs there. */
static inline __attribute__((always_inline)) void *rb_reserve(bpfvm_map *m, uint64_t size)
{
	if (size > RINGBUF_MAX_RECORD_SZ)
		return NULL;
	uint64_t len = (size + BPFVM_RINGBUF_HDR_SZ + 7) & ~7ULL;
	uint64_t mask = rb_mask(m);
	if (len > mask + 1)
		return NULL;
	struct rb_producer_page *pp = producer(m);
	uint64_t cons_pos = __atomic_load_n(consumer_pos(m), __ATOMIC_ACQUIRE);
	struct rb_state *st = rb_state(m);
	if (map_lock(&st->producer_lock) < 0)
		return NULL;   /* re-entered: the kernel's in_nmi() trylock fails too */
	uint64_t pend_pos = pp->pending_pos;
	uint64_t prod_pos = pp->producer_pos;
	uint64_t new_prod_pos = prod_pos + len;
	if (__builtin_expect(prod_pos - pend_pos > mask + 1 || ((pend_pos | prod_pos) & 7), 0)) {
		/* A damaged arena: the walk below would have no bound. */
		map_unlock(&st->producer_lock);
		return NULL;
	}
	/* Move pending_pos past records committed since. */
	while (pend_pos < prod_pos) {
		struct rb_hdr *h = (struct rb_hdr *)(void *)(rb_data(m) + (pend_pos & mask));
		uint32_t hdr_len = __atomic_load_n(&h->len, __ATOMIC_ACQUIRE);
		if (hdr_len & BPFVM_RINGBUF_BUSY_BIT)
			break;
		pend_pos += ((uint64_t)(hdr_len & ~BPFVM_RINGBUF_DISCARD_BIT) + BPFVM_RINGBUF_HDR_SZ + 7) & ~7ULL;
	}
	if (pend_pos > prod_pos)   /* a header a program overwrote */
		pend_pos = prod_pos;
	pp->pending_pos = pend_pos;
	/* Neither the consumer's nor the oldest uncommitted record's position
	 * may be lapped. */
	if (new_prod_pos - cons_pos > mask || new_prod_pos - pend_pos > mask) {
		map_unlock(&st->producer_lock);
		return NULL;
	}
	struct rb_hdr *h = (struct rb_hdr *)(void *)(rb_data(m) + (prod_pos & mask));
	__atomic_store_n(&h->len, (uint32_t)size | BPFVM_RINGBUF_BUSY_BIT, __ATOMIC_RELAXED);
	__atomic_store_n(&h->owner, owner_self(), __ATOMIC_RELAXED);
	__atomic_store_n(&pp->producer_pos, new_prod_pos, __ATOMIC_RELEASE);
	map_unlock(&st->producer_lock);
	return (uint8_t *)h + BPFVM_RINGBUF_HDR_SZ;
}

/* bpf_ringbuf_commit() of the record whose header is at rec_pos (inlined
 * into output, as rb_reserve()). */
static inline __attribute__((always_inline)) void rb_commit_at(bpfvm_map *m, uint64_t rec_pos, uint64_t flags, bool discard)
{
	struct rb_hdr *h = (struct rb_hdr *)(void *)(rb_data(m) + rec_pos);
	uint32_t len = __atomic_load_n(&h->len, __ATOMIC_RELAXED);
	if (!(len & BPFVM_RINGBUF_BUSY_BIT))
		return;   /* not a reserved record: committed twice, or not ours */
	uint32_t new_len = len ^ BPFVM_RINGBUF_BUSY_BIT;
	if (discard)
		new_len |= BPFVM_RINGBUF_DISCARD_BIT;
	__atomic_exchange_n(&h->len, new_len, __ATOMIC_SEQ_CST);
	uint64_t cons_pos = __atomic_load_n(consumer_pos(m), __ATOMIC_ACQUIRE) & rb_mask(m);
	if (flags & BPFVM_RB_FORCE_WAKEUP)
		rb_wakeup(m);
	else if (cons_pos == rec_pos && !(flags & BPFVM_RB_NO_WAKEUP))
		rb_wakeup(m);
}

/* Commit from a record pointer alone (submit, discard): the ring is
 * looked up among this process's, never taken from the header. */
static void rb_commit(void *sample, uint64_t flags, bool discard)
{
	if (!sample)
		return;
	uint8_t *hdr_addr = (uint8_t *)sample - BPFVM_RINGBUF_HDR_SZ;
	uint64_t rec_pos;
	bpfvm_map *m = ring_of(hdr_addr, &rec_pos);
	if (m)
		rb_commit_at(m, rec_pos, flags, discard);
}

void *bpfvm_map_ringbuf_reserve(bpfvm_map *map, uint64_t size, uint64_t flags)
{
	if (!map || map->type != BPFVM_MAP_TYPE_RINGBUF || flags)
		return NULL;
	return rb_reserve(map, size);
}

void bpfvm_map_ringbuf_submit(void *data, uint64_t flags)
{
	rb_commit(data, flags, false);
}

void bpfvm_map_ringbuf_discard(void *data, uint64_t flags)
{
	rb_commit(data, flags, true);
}

long bpfvm_map_ringbuf_output(bpfvm_map *map, const void *data, uint64_t size, uint64_t flags)
{
	if (!map || map->type != BPFVM_MAP_TYPE_RINGBUF)
		return -EINVAL;
	if (flags & ~(BPFVM_RB_NO_WAKEUP | BPFVM_RB_FORCE_WAKEUP))
		return -EINVAL;
	uint8_t *rec = rb_reserve(map, size);
	if (!rec)
		return -EAGAIN;
	/* Records are mostly small: whole 8-byte words up to 32 bytes are
	 * copied inline rather than by a call to memcpy. */
	if (size <= 32 && !(size & 7)) {
		for (uint64_t i = 0; i < size; i += 8) {
			uint64_t w;
			memcpy(&w, (const uint8_t *)data + i, 8);
			memcpy(rec + i, &w, 8);
		}
	} else {
		memcpy(rec, data, size);
	}
	/* the ring is known here: no need to look it up from the record */
	rb_commit_at(map, (uint64_t)(rec - BPFVM_RINGBUF_HDR_SZ - rb_data(map)) & rb_mask(map), flags, false);
	return 0;
}

uint64_t bpfvm_map_ringbuf_query(bpfvm_map *map, uint64_t flags)
{
	if (!map || map->type != BPFVM_MAP_TYPE_RINGBUF)
		return 0;
	switch (flags) {
	case BPFVM_RB_AVAIL_DATA: {
		uint64_t cons = __atomic_load_n(consumer_pos(map), __ATOMIC_ACQUIRE);
		uint64_t prod = __atomic_load_n(&producer(map)->producer_pos, __ATOMIC_ACQUIRE);
		return prod - cons;
	}
	case BPFVM_RB_RING_SIZE:
		return rb_mask(map) + 1;
	case BPFVM_RB_CONS_POS:
		return __atomic_load_n(consumer_pos(map), __ATOMIC_ACQUIRE);
	case BPFVM_RB_PROD_POS:
		return __atomic_load_n(&producer(map)->producer_pos, __ATOMIC_ACQUIRE);
	default:
		return 0;
	}
}

/* ---- the consumer ------------------------------------------------------------ */

/* Positions in order: the consumer and the oldest pending record within
 * one ring of the producer (a damaged arena has them anywhere). */
static bool rb_positions_ok(const bpfvm_map *m, uint64_t cons, uint64_t pend, uint64_t prod)
{
	uint64_t size = rb_mask(m) + 1;
	/* records are whole multiples of 8 bytes, so every position is too */
	return ((cons | pend | prod) & 7) == 0 && cons <= prod && prod - cons <= size && pend <= prod &&
	       prod - pend <= size;
}

static int rb_damaged(const bpfvm_map *m, bpfvm_error *err)
{
	return map_error(err, -EUCLEAN,
	                 "ringbuf '%s': damaged arena (consumer position %llu, pending %llu, producer %llu, size %u)",
	                 m->name, (unsigned long long)__atomic_load_n(consumer_pos(m), __ATOMIC_RELAXED),
	                 (unsigned long long)__atomic_load_n(&producer(m)->pending_pos, __ATOMIC_RELAXED),
	                 (unsigned long long)__atomic_load_n(&producer(m)->producer_pos, __ATOMIC_RELAXED),
	                 m->max_entries);
}

/* Discards a BUSY record whose holder is dead: only a CAS from the BUSY
 * length the caller saw, so a record committed meanwhile is left alone. */
static void rb_discard_dead(struct rb_hdr *h, uint32_t busy_len)
{
	uint32_t discarded = (busy_len & ~BPFVM_RINGBUF_BUSY_BIT) | BPFVM_RINGBUF_DISCARD_BIT;
	__atomic_compare_exchange_n(&h->len, &busy_len, discarded, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}

/* The consumer found the record at pos BUSY: true if its holder is dead
 * and the record has been discarded (read the header again); false to
 * stop here for now.  Under the consumer lock (BUSY_* are the process's). */
static bool rb_busy_holder_dead(bpfvm_map *m, struct rb_hdr *h, uint64_t pos, uint32_t busy_len)
{
	uint32_t holder = __atomic_load_n(&h->owner, __ATOMIC_RELAXED);
	if (holder == owner_self())
		return false;   /* our own reservation: only we can end it */
	uint64_t now = owner_now_ns();
	if (m->BUSY_POS != pos + 1) {
		m->BUSY_POS = pos + 1;
		m->BUSY_SINCE = now;
		return false;
	}
	if (now - m->BUSY_SINCE < OWNER_CHECK_AFTER_NS)
		return false;
	m->BUSY_SINCE = now;
	if (owner_alive(holder))
		return false;
	rb_discard_dead(h, busy_len);
	return true;
}

/* Whether the record at the consumer's position is still being written. */
static bool rb_head_busy(const bpfvm_map *m)
{
	uint64_t cons = __atomic_load_n(consumer_pos(m), __ATOMIC_SEQ_CST);
	uint64_t prod = __atomic_load_n(&producer(m)->producer_pos, __ATOMIC_SEQ_CST);
	if (cons >= prod)
		return false;
	uint32_t len = __atomic_load_n((uint32_t *)(void *)(rb_data(m) + (cons & rb_mask(m))), __ATOMIC_SEQ_CST);
	return len & BPFVM_RINGBUF_BUSY_BIT;
}

/* libbpf's ringbuf_process_ring(). */
static int rb_consume(bpfvm_map *m, bpfvm_ringbuf_sample_fn cb, void *ctx, bpfvm_error *err)
{
	struct rb_state *st = rb_state(m);
	uint64_t mask = rb_mask(m);
	int count = 0;
	spin_lock(&st->consumer_lock);
	uint64_t cons_pos = __atomic_load_n(consumer_pos(m), __ATOMIC_ACQUIRE);
	bool got_new_data;
	do {
		got_new_data = false;
		uint64_t prod_pos = __atomic_load_n(&producer(m)->producer_pos, __ATOMIC_ACQUIRE);
		if (cons_pos > prod_pos || prod_pos - cons_pos > mask + 1 || ((cons_pos | prod_pos) & 7)) {
			spin_unlock(&st->consumer_lock);
			return rb_damaged(m, err);
		}
		while (cons_pos < prod_pos) {
			uint8_t *hdr = rb_data(m) + (cons_pos & mask);
			uint32_t len = __atomic_load_n((uint32_t *)(void *)hdr, __ATOMIC_ACQUIRE);
			if (len & BPFVM_RINGBUF_BUSY_BIT) {
				if (!rb_busy_holder_dead(m, (struct rb_hdr *)(void *)hdr, cons_pos, len))
					goto done;
				continue;
			}
			got_new_data = true;
			uint32_t size = len & ~(BPFVM_RINGBUF_BUSY_BIT | BPFVM_RINGBUF_DISCARD_BIT);
			uint64_t rec_len = ((uint64_t)size + BPFVM_RINGBUF_HDR_SZ + 7) & ~7ULL;
			if (rec_len > mask + 1 || cons_pos + rec_len > prod_pos) {
				/* A header a program overwrote: skip what we cannot parse. */
				cons_pos = prod_pos;
				__atomic_store_n(consumer_pos(m), cons_pos, __ATOMIC_RELEASE);
				break;
			}
			cons_pos += rec_len;
			if (!(len & BPFVM_RINGBUF_DISCARD_BIT)) {
				int rc = cb ? cb(ctx, hdr + BPFVM_RINGBUF_HDR_SZ, size) : 0;
				if (rc < 0) {
					__atomic_store_n(consumer_pos(m), cons_pos, __ATOMIC_RELEASE);
					spin_unlock(&st->consumer_lock);
					return map_error(err, rc, "ringbuf '%s': the sample callback returned %d", m->name,
					                 rc);
				}
				if (count < INT_MAX)
					count++;
			}
			__atomic_store_n(consumer_pos(m), cons_pos, __ATOMIC_RELEASE);
		}
	} while (got_new_data);
done:
	spin_unlock(&st->consumer_lock);
	return count;
}

int bpfvm_map_ringbuf_consume(bpfvm_map *map, bpfvm_ringbuf_sample_fn cb, void *ctx, bpfvm_error *err)
{
	if (!map || map->type != BPFVM_MAP_TYPE_RINGBUF)
		return map_error(err, -EINVAL, "ringbuf_consume: not a ringbuf map");
	return rb_consume(map, cb, ctx, err);
}

/* One futex wait for a commit, of at most wait_ns (0: no limit). */
static void rb_wait_commit(bpfvm_map *map, uint64_t wait_ns)
{
	struct rb_state *st = rb_state(map);
	uint32_t seq = __atomic_load_n(&st->wake_seq, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&st->waiters, 1, __ATOMIC_SEQ_CST);
	/* Check again after announcing ourselves: a commit in between either
	 * is seen here or bumps wake_seq, so the wait returns at once. */
	uint64_t cons = __atomic_load_n(consumer_pos(map), __ATOMIC_SEQ_CST);
	uint64_t prod = __atomic_load_n(&producer(map)->producer_pos, __ATOMIC_SEQ_CST);
	if (cons >= prod || rb_head_busy(map)) {
		struct timespec ts = { .tv_sec = (time_t)(wait_ns / 1000000000ull),
		                       .tv_nsec = (long)(wait_ns % 1000000000ull) };
		syscall(SYS_futex, &st->wake_seq, FUTEX_WAIT, seq, wait_ns ? &ts : NULL, NULL, 0);
	}
	__atomic_sub_fetch(&st->waiters, 1, __ATOMIC_SEQ_CST);
}

int bpfvm_map_ringbuf_poll(bpfvm_map *map, bpfvm_ringbuf_sample_fn cb, void *ctx, int timeout_ms,
                           bpfvm_error *err)
{
	if (!map || map->type != BPFVM_MAP_TYPE_RINGBUF)
		return map_error(err, -EINVAL, "ringbuf_poll: not a ringbuf map");
	int rc = bpfvm_map_ringbuf_consume(map, cb, ctx, err);
	if (rc != 0 || timeout_ms == 0)
		return rc;
	uint64_t deadline = timeout_ms > 0 ? owner_now_ns() + (uint64_t)timeout_ms * 1000000ull : 0;
	for (;;) {
		uint64_t now = owner_now_ns();
		if (deadline && now >= deadline)
			return 0;
		uint64_t wait = deadline ? deadline - now : 0;
		/* A record held by a producer that may have died wakes no one:
		 * look at it again soon (the consume asks after its holder). */
		bool busy = rb_head_busy(map);
		if (busy && (!wait || wait > 2 * OWNER_CHECK_AFTER_NS))
			wait = 2 * OWNER_CHECK_AFTER_NS;
		rb_wait_commit(map, wait);
		rc = bpfvm_map_ringbuf_consume(map, cb, ctx, err);
		if (rc != 0 || !busy)
			return rc;
	}
}

/* ---- holders and reclaim ------------------------------------------------------- */

/* Calls fn on every BUSY record between the consumer and the producer,
 * as far as headers parse (at most a ring's worth of records). */
static void rb_for_busy(const bpfvm_map *m, void (*fn)(const bpfvm_map *, struct rb_hdr *, uint64_t pos, void *),
                        void *ctx)
{
	uint64_t mask = rb_mask(m);
	uint64_t cons = __atomic_load_n(consumer_pos(m), __ATOMIC_ACQUIRE);
	uint64_t prod = __atomic_load_n(&producer(m)->producer_pos, __ATOMIC_ACQUIRE);
	if (cons > prod || prod - cons > mask + 1 || ((cons | prod) & 7))
		return;
	for (uint64_t pos = cons; pos < prod;) {
		struct rb_hdr *h = (struct rb_hdr *)(void *)(rb_data(m) + (pos & mask));
		uint32_t len = __atomic_load_n(&h->len, __ATOMIC_ACQUIRE);
		if (len & BPFVM_RINGBUF_BUSY_BIT)
			fn(m, h, pos, ctx);
		uint32_t size = len & ~(BPFVM_RINGBUF_BUSY_BIT | BPFVM_RINGBUF_DISCARD_BIT);
		uint64_t rec_len = ((uint64_t)size + BPFVM_RINGBUF_HDR_SZ + 7) & ~7ULL;
		if (rec_len > prod - pos)
			break;
		pos += rec_len;
	}
}

struct rb_report {
	map_holder_fn report;
	void *ctx;
};

static void report_busy(const bpfvm_map *m, struct rb_hdr *h, uint64_t pos, void *ctx)
{
	(void)m;
	struct rb_report *r = ctx;
	r->report(r->ctx, "reserved record", pos, __atomic_load_n(&h->owner, __ATOMIC_RELAXED));
}

/* bpfvm_map_holders(): the two locks, and the records reserved and not
 * yet submitted or discarded (index: the record's position). */
static void rb_holders(const bpfvm_map *m, map_holder_fn report, void *ctx)
{
	struct rb_state *st = rb_state(m);
	uint32_t t;
	if ((t = spin_holder(&st->producer_lock)) != 0)
		report(ctx, "producer lock", 0, t);
	if ((t = spin_holder(&st->consumer_lock)) != 0)
		report(ctx, "consumer lock", 0, t);
	struct rb_report r = { report, ctx };
	rb_for_busy(m, report_busy, &r);
}

static void discard_if_dead(const bpfvm_map *m, struct rb_hdr *h, uint64_t pos, void *ctx)
{
	(void)m;
	(void)pos;
	(void)ctx;
	uint32_t busy_len = __atomic_load_n(&h->len, __ATOMIC_RELAXED);
	if (!owner_alive(__atomic_load_n(&h->owner, __ATOMIC_RELAXED)))
		rb_discard_dead(h, busy_len);
}

static void release_if_dead(uint32_t *lock)
{
	uint32_t t = spin_holder(lock);
	if (t && !owner_alive(t))
		__atomic_compare_exchange_n(lock, &t, 0, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

/* bpfvm_map_reclaim(): positions are always consistent, so the locks of
 * dead holders are released as they are; their records are discarded. */
static void rb_reclaim(bpfvm_map *m)
{
	release_if_dead(&rb_state(m)->producer_lock);
	release_if_dead(&rb_state(m)->consumer_lock);
	rb_for_busy(m, discard_if_dead, NULL);
}

/* ---- creation -------------------------------------------------------------------- */

static int rb_check(const bpfvm_map_def *def, unsigned ncpus, bpfvm_error *err)
{
	(void)ncpus;
	size_t page = arena_page_size();
	if (def->flags & ~BPFVM_F_NUMA_NODE)
		return map_error(err, -EINVAL, "ringbuf: invalid map flags 0x%x", def->flags);
	if (def->key_size || def->value_size)
		return map_error(err, -EINVAL, "ringbuf: key_size and value_size must be 0");
	if (def->max_entries == 0 || (def->max_entries & (def->max_entries - 1)) || def->max_entries % page)
		return map_error(err, -EINVAL, "ringbuf: max_entries (%u) must be a power of two multiple of the %zu-byte page",
		                 def->max_entries, page);
	return 0;
}

static int rb_layout(bpfvm_map *m, struct arena_layout *lay, bpfvm_error *err)
{
	(void)err;
	size_t page = arena_page_size();
	m->OFF_STATE = layout_add(lay, sizeof(struct rb_state), 64);
	m->OFF_CONSUMER = layout_add(lay, page, page);
	m->OFF_PRODUCER = layout_add(lay, page, page);
	m->OFF_DATA = layout_add(lay, m->max_entries, page);
	lay->alias_off = m->OFF_DATA;
	lay->alias_len = m->max_entries;
	lay->values_off = m->OFF_DATA;
	lay->values_len = 2 * (size_t)m->max_entries;
	return 0;
}

static int rb_attach(bpfvm_map *m, bpfvm_error *err)
{
	if (!rb_positions_ok(m, __atomic_load_n(consumer_pos(m), __ATOMIC_ACQUIRE),
	                     __atomic_load_n(&producer(m)->pending_pos, __ATOMIC_ACQUIRE),
	                     __atomic_load_n(&producer(m)->producer_pos, __ATOMIC_ACQUIRE)))
		return rb_damaged(m, err);
	if (rings_add(m) < 0)
		return map_error(err, -ENOMEM, "out of memory registering ringbuf '%s'", m->name);
	return 0;
}

static void rb_destroy(bpfvm_map *m)
{
	rings_remove(m);
}

/* Checked runs: the data area is headers and other producers' records;
 * a program writes only the samples its bpf_ringbuf_reserve calls lend
 * it until it submits or discards them (src/helpers/map_helpers.c). */
static void rb_checked_region(const bpfvm_map *m, struct map_region_desc *out)
{
	(void)m;
	*out = (struct map_region_desc){ .stride = 0, .value_off = 0, .value_len = 0, .lock_off = -1 };
}

const struct map_ops map_ringbuf_ops = {
	.check = rb_check,
	.layout = rb_layout,
	.attach = rb_attach,
	.destroy = rb_destroy,
	.reclaim = rb_reclaim,
	.holders = rb_holders,
	.pinnable = true,
	.only_helpers = MAP_HELPER_BIT(MAP_HELPER_RINGBUF),
	.checked_region = rb_checked_region,
};
