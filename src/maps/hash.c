/*
 * hash.c - the hash table family: BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH,
 * LRU_PERCPU_HASH and HASH_OF_MAPS.
 *
 * Owns: the kernel's attribute checks for hash maps, the table (buckets of
 * singly linked chains, the kernel's jhash and bucket count, new elements
 * added at the head of their bucket, so that with BPF_F_ZERO_SEED the
 * get_next_key order is the kernel's), the element pool, and the LRU list.
 *
 * Arena:
 *   state     counts, pool and LRU list heads, their locks, spares held
 *   buckets   n_buckets x { lock, head link }
 *   elems     n_elems x bookkeeping (chain link, hash, LRU links, state)
 *   window    n_elems x [ key rounded to 8 | value (x ncpus for per-CPU) ]
 * Links are element index + 1 (0 is null), so a zero-filled arena is an
 * empty table.  Only the window is visible to programs.
 *
 * Concurrency: a lock per bucket guards its chain.  It is a sequence
 * lock: its word is odd while held and moves on by two each time it is
 * held, so program lookups (the hot path; the kernel's readers use RCU)
 * walk the chain without taking it and keep their answer only if the
 * word was even and unchanged throughout -- no chain of that bucket
 * changed, and no key in it was rewritten, since keys are written only
 * into unlinked elements.  Otherwise they retry, and in the end take the
 * lock.  The chain links and keys are read and written with relaxed
 * atomics for that reason.  Elements are never unmapped, only recycled
 * through the pool, so a value pointer a program holds stays valid memory
 * (its contents may be reused after a delete, as in the kernel's
 * preallocated maps).  Lock order: reclaim lock or LRU lock, then bucket
 * locks (eviction; a reclaim takes them all, in index order), then the
 * pool lock (allocation); spare_mutex, then pool lock (giving spares
 * back).  Nothing takes the LRU lock while holding a bucket lock, nor a
 * bucket lock while holding spare_mutex, nor two bucket locks but a
 * reclaim.
 *
 * Crash safety: the map is shared with processes that may be killed at
 * any instruction.  Every lock word names its holder (owner.h) and every
 * element outside the table and the free list names the process holding
 * it (`owner`); every change to a chain or the free list is published by
 * one store of a link, after the element it links was filled.  So a dead
 * process leaves either the old or the new state, plus at worst: a
 * replacement linked at the head before the element it replaces was
 * unlinked (bucket_repair() drops the old one when the bucket lock is
 * taken over), elements it held (leaked until a reclaim), counts off by
 * one, and for LRU maps a list half-relinked.  Whoever takes over a lock
 * from a dead holder makes the map owe a reclaim (reclaim_locked(): every
 * lock, a recount, the free list and the LRU list rebuilt, what dead
 * processes held freed), paid as soon as it holds no bucket lock; an open
 * that finds a dead user in the arena's users table reclaims too.
 *
 * Replacing an existing key's value links a fresh element at the head of
 * the bucket and frees the old one, as the kernel does (so iteration order
 * and "a program's old pointer keeps the old value" match); per-CPU maps,
 * hash_of_maps and BPF_F_LOCK update in place, also as the kernel does.
 * Plain hash maps have extra elements for replacing in a full map (the
 * kernel's per-CPU extra_elems): each thread keeps one spare element per
 * map, owned by that thread alone, which a replacement links in place of
 * the old element, keeping the old one as the next spare -- no pool lock
 * (see "spare elements" below for who gives spares back and when).  A
 * thread without one goes through the pool; should every extra element
 * be in flight, the value is overwritten in place instead of failing.
 * Plain maps' updates (BPF_ANY/NOEXIST/EXIST, no bpf_spin_lock) have their
 * own path, specialised for 4- and 8-byte keys (plain_update()).
 *
 * The LRU is a CLOCK approximation of the kernel's active/inactive lists:
 * program lookups set a reference bit; eviction scans from the cold end,
 * giving referenced elements a second chance.  As in the kernel, a free
 * element is taken before the bucket is locked, so even replacing an
 * existing key in a full LRU map may evict another one.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/thread_block.h"
#include "maps/map_internal.h"

#define KMALLOC_MAX_SIZE (4u << 20)
#define KERNEL_HTAB_ELEM_SIZE 48u
#define PCPU_MIN_UNIT_SIZE 32768u

struct htab_state {
	uint32_t count;       /* elements in the table (atomic) */
	uint32_t pool_lock;   /* guards free_head, bump and spares of non-LRU maps */
	uint32_t free_head;   /* link of the first free element */
	uint32_t bump;        /* elements [0, bump) have been handed out before */
	uint32_t lru_lock;    /* guards the LRU list, and free_head/bump of LRU maps */
	uint32_t lru_head;    /* most recently added */
	uint32_t lru_tail;    /* eviction candidates */
	uint32_t spares;      /* elements held as threads' spares (plain hash) */
	uint32_t reclaim_lock;   /* non-LRU maps: one reclaim at a time (LRU: lru_lock) */
	uint32_t reclaims;       /* atomic: how many reclaims ran (for map show) */
};

/* The bucket's lock word: the sequence in the low half (odd while held),
 * the holder's owner token in the high half (0 when free), changed
 * together by one compare-and-swap so a holder killed at any point is
 * always named by the word. */
struct htab_bucket {
	uint64_t lock;
	uint32_t head;
	uint32_t pad;
};

#define BUCKET_SEQ(word) ((uint32_t)(word))
#define BUCKET_HOLDER(word) ((uint32_t)((word) >> 32))

/* Where an element is.  Outside the table and the free list (PENDING,
 * UNLINKED, SPARE) an element names its holder in `owner`, so a reclaim
 * can tell what a live process holds from what a dead one left behind. */
enum elem_state { ELEM_FREE = 0, ELEM_PENDING, ELEM_LINKED, ELEM_UNLINKED, ELEM_SPARE };

struct htab_elem {
	uint32_t next;        /* bucket chain, or free list */
	uint32_t hash;        /* atomic: the evictor reads it without the bucket lock */
	uint32_t lru_prev, lru_next;
	uint8_t state;        /* enum elem_state, atomic */
	uint8_t ref;          /* LRU reference bit, atomic */
	uint16_t pad;
	uint32_t owner;       /* atomic: owner token of the process holding it (see elem_state) */
};

/* Sections and counts in the map object. */
#define OFF_STATE   off[0]
#define OFF_BUCKETS off[1]
#define OFF_ELEMS   off[2]
#define N_BUCKETS   n[0]
#define N_ELEMS     n[1]
#define ELEM_WIN    n[2]   /* bytes per element in the window */
#define KEY_ROUND   n[3]

/* The process-local side table of hash_of_maps: the inner map of each element. */
struct of_maps_local {
	bpfvm_map **inner;
};

enum value_mode {
	VALUE_USER,   /* per-CPU: every CPU's slot from a buffer with 8-byte-rounded strides */
	VALUE_PROG,   /* per-CPU: this CPU's slot only */
};

static bool is_percpu(const bpfvm_map *m)
{
	return m->type == BPFVM_MAP_TYPE_PERCPU_HASH || m->type == BPFVM_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool is_lru(const bpfvm_map *m)
{
	return m->type == BPFVM_MAP_TYPE_LRU_HASH || m->type == BPFVM_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool is_of_maps(const bpfvm_map *m)
{
	return m->type == BPFVM_MAP_TYPE_HASH_OF_MAPS;
}

static struct htab_state *state_of(const bpfvm_map *m)
{
	return (struct htab_state *)(void *)(m->base + m->OFF_STATE);
}

static struct htab_bucket *bucket_at(const bpfvm_map *m, uint32_t i)
{
	return (struct htab_bucket *)(void *)(m->base + m->OFF_BUCKETS) + i;
}

/* Link -> element; callers have checked the link with link_ok(). */
static struct htab_elem *elem_at(const bpfvm_map *m, uint32_t link)
{
	return (struct htab_elem *)(void *)(m->base + m->OFF_ELEMS) + (link - 1);
}

static bool link_ok(const bpfvm_map *m, uint32_t link)
{
	return link != 0 && index_ok(link - 1, m->N_ELEMS);
}

static uint8_t *elem_key(const bpfvm_map *m, uint32_t link)
{
	return m->values + (size_t)(link - 1) * m->ELEM_WIN;
}

static uint8_t *elem_value(const bpfvm_map *m, uint32_t link, unsigned cpu)
{
	return elem_key(m, link) + m->KEY_ROUND + (size_t)cpu * m->value_stride;
}

static uint8_t get_state(const struct htab_elem *e) { return __atomic_load_n(&e->state, __ATOMIC_RELAXED); }
static void set_state(struct htab_elem *e, uint8_t s) { __atomic_store_n(&e->state, s, __ATOMIC_RELAXED); }
static uint32_t get_hash(const struct htab_elem *e) { return __atomic_load_n(&e->hash, __ATOMIC_RELAXED); }
/* Chain links: lock-free lookups read them while writers change them. */
static uint32_t get_next(const struct htab_elem *e) { return __atomic_load_n(&e->next, __ATOMIC_RELAXED); }
static void set_next(struct htab_elem *e, uint32_t v) { __atomic_store_n(&e->next, v, __ATOMIC_RELAXED); }
static uint32_t get_head(const struct htab_bucket *b) { return __atomic_load_n(&b->head, __ATOMIC_RELAXED); }
static void set_head(struct htab_bucket *b, uint32_t v) { __atomic_store_n(&b->head, v, __ATOMIC_RELAXED); }

/* The sequence lock's fences.  gcc refuses thread fences under
 * ThreadSanitizer, which does not model them; every access they order is
 * atomic, so it has no race to report either way, and a compiler barrier
 * keeps the code the same (on x86-64 these fences are no more than that). */
#ifdef __SANITIZE_THREAD__
#define seq_fence(order) __atomic_signal_fence(order)
#else
#define seq_fence(order) __atomic_thread_fence(order)
#endif

/* ---- re-entrance on one thread ---------------------------------------------
 *
 * A program may run in a signal handler (the trace agent's SIGSYS and
 * SIGTRAP hooks) that interrupted its own thread anywhere, also inside a
 * hash map operation: waiting there for a lock the thread itself holds
 * would never end.  As the kernel's htab_lock_bucket() counts map_locked
 * per CPU and fails with -EBUSY, every lock of this file is counted in the
 * thread's block before it is tried (a signal between the take and the
 * count must not find it uncounted) and uncounted after it is released;
 * an operation that finds the count non-zero on entry runs inside one of
 * ours and fails with -EBUSY (a program lookup: not found) before it
 * touches a lock.  Coarser than the kernel's (any hash map's lock, not the
 * same bucket's), never a hang.  The count is only ever non-zero on entry
 * in a signal handler: no operation calls another one with a lock held. */

static inline __attribute__((always_inline)) void locks_hold(void)
{
	struct thread_block *tb = thread_block_self();
	if (__builtin_expect(tb != NULL, 1))
		__atomic_store_n(&tb->hash_locks, tb->hash_locks + 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline __attribute__((always_inline)) void locks_drop(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	struct thread_block *tb = thread_block_current;
	if (__builtin_expect(tb != NULL && tb->hash_locks != 0, 1))
		__atomic_store_n(&tb->hash_locks, tb->hash_locks - 1, __ATOMIC_RELAXED);
}

/* Whether the calling thread holds a lock of this file: only a signal
 * handler that interrupted it does, and must not wait for that lock. */
static inline __attribute__((always_inline)) bool locks_reentered(void)
{
	struct thread_block *tb = thread_block_current;
	return __builtin_expect(tb != NULL && __atomic_load_n(&tb->hash_locks, __ATOMIC_RELAXED) != 0, 0);
}

/* spin_lock() and spin_unlock(), counted. */
static inline __attribute__((always_inline)) bool hash_spin_lock(uint32_t *lock)
{
	locks_hold();
	return spin_lock(lock);
}

static inline __attribute__((always_inline)) void hash_spin_unlock(uint32_t *lock)
{
	spin_unlock(lock);
	locks_drop();
}

static uint32_t get_owner(const struct htab_elem *e) { return __atomic_load_n(&e->owner, __ATOMIC_RELAXED); }
static void set_owner(struct htab_elem *e, uint32_t t) { __atomic_store_n(&e->owner, t, __ATOMIC_RELAXED); }

static void bucket_repair(const bpfvm_map *m, struct htab_bucket *b);

/* The bucket's sequence lock (see the top of the file): taken by moving
 * its sequence from even to odd with our token beside it, released by
 * moving it on to the next even value with no holder.  Spins, then
 * yields; a holder found dead is replaced by us and the chain repaired
 * (bucket_repair()).  True if it was taken over: the caller arranges a
 * reclaim of what the dead holder may have leaked. */
static bool bucket_lock_wait(const bpfvm_map *m, struct htab_bucket *b, uint32_t self)
{
	struct owner_wait w;
	owner_wait_init(&w, 0);
	for (;;) {
		uint64_t v = __atomic_load_n(&b->lock, __ATOMIC_RELAXED);
		if (!(BUCKET_SEQ(v) & 1)) {
			uint64_t held = ((uint64_t)self << 32) | (BUCKET_SEQ(v) + 1);
			if (__atomic_compare_exchange_n(&b->lock, &v, held, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				return false;
			continue;
		}
		if (owner_wait_step(&w, BUCKET_HOLDER(v)) != OWNER_WAIT_DEAD)
			continue;
		uint64_t ours = ((uint64_t)self << 32) | BUCKET_SEQ(v);
		if (__atomic_compare_exchange_n(&b->lock, &v, ours, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			bucket_repair(m, b);
			return true;
		}
	}
}

static inline __attribute__((always_inline)) bool bucket_lock_raw(const bpfvm_map *m, struct htab_bucket *b)
{
	locks_hold();
	uint32_t self = owner_self();
	uint64_t v = __atomic_load_n(&b->lock, __ATOMIC_RELAXED);
	bool taken_over = false;
	if (__builtin_expect((BUCKET_SEQ(v) & 1) ||
	                     !__atomic_compare_exchange_n(&b->lock, &v, ((uint64_t)self << 32) | (BUCKET_SEQ(v) + 1),
	                                                  false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED), 0))
		taken_over = bucket_lock_wait(m, b, self);
	/* what the holder writes must not be seen before the word is odd */
	seq_fence(__ATOMIC_RELEASE);
	return taken_over;
}

static void bucket_unlock_raw(struct htab_bucket *b)
{
	uint64_t v = __atomic_load_n(&b->lock, __ATOMIC_RELAXED);
	__atomic_store_n(&b->lock, (uint64_t)(BUCKET_SEQ(v) + 1), __ATOMIC_RELEASE);
	locks_drop();
}

/* After a takeover by a thread that held a bucket lock, the map is owed
 * a reclaim (m->reclaim_due, process-local), paid by the next
 * bucket_unlock() that leaves its thread holding nothing. */
static void reclaim(bpfvm_map *m);

static inline __attribute__((always_inline)) void bucket_lock(const bpfvm_map *m, struct htab_bucket *b)
{
	if (__builtin_expect(bucket_lock_raw(m, b), 0))
		__atomic_store_n(&((bpfvm_map *)m)->reclaim_due, 1, __ATOMIC_RELAXED);
}

static void reclaim_if_due(const bpfvm_map *m)
{
	uint32_t due = 1;
	if (__atomic_compare_exchange_n(&((bpfvm_map *)m)->reclaim_due, &due, 0, false, __ATOMIC_RELAXED,
	                                __ATOMIC_RELAXED))
		reclaim((bpfvm_map *)m);
}

static inline __attribute__((always_inline)) void bucket_unlock(const bpfvm_map *m, struct htab_bucket *b)
{
	bucket_unlock_raw(b);
	if (__builtin_expect(__atomic_load_n(&m->reclaim_due, __ATOMIC_RELAXED), 0))
		reclaim_if_due(m);
}

/* Under lru_lock (LRU eviction) a reclaim cannot start: it is owed until
 * the lock is released. */
static inline void bucket_unlock_nested(struct htab_bucket *b)
{
	bucket_unlock_raw(b);
}

static void set_ref(struct htab_elem *e)
{
	if (!__atomic_load_n(&e->ref, __ATOMIC_RELAXED))
		__atomic_store_n(&e->ref, 1, __ATOMIC_RELAXED);
}

/* The kernel's htab_map_hash(); 4- and 8-byte keys, the common ones, get
 * jhash2 specialised for their length (the same function, so the same
 * bits), without its loop and its variable-length copy. */
static inline __attribute__((always_inline)) uint32_t key_hash_k(const bpfvm_map *m, const void *key,
                                                               uint32_t ksz)
{
	uint32_t seed = m->hdr->hash_seed;
	switch (ksz) {
	case 4: return jhash_words(key, 1, seed);
	case 8: return jhash_words(key, 2, seed);
	default: return map_key_hash(key, ksz, seed);
	}
}

static inline __attribute__((always_inline)) uint32_t key_hash(const bpfvm_map *m, const void *key)
{
	return key_hash_k(m, key, m->key_size);
}

/* Key equality, with the common sizes as single compares (no memcmp
 * call).  The arena side is read as arena_store() wrote it (relaxed
 * atomics: lock-free lookups may race with a rewrite, and then retry). */
static inline __attribute__((always_inline)) bool key_equal_k(uint32_t ksz, const uint8_t *arena_key,
                                                              const void *key)
{
	switch (ksz) {
	case 4: {
		uint32_t b;
		memcpy(&b, key, 4);
		return __atomic_load_n((const uint32_t *)(const void *)arena_key, __ATOMIC_RELAXED) == b;
	}
	case 8: {
		uint64_t b;
		memcpy(&b, key, 8);
		return __atomic_load_n((const uint64_t *)(const void *)arena_key, __ATOMIC_RELAXED) == b;
	}
	default:
		return arena_equal(arena_key, key, ksz);
	}
}

static struct htab_bucket *bucket_of(const bpfvm_map *m, uint32_t hash)
{
	return bucket_at(m, hash & (m->N_BUCKETS - 1));
}

/* Under the bucket's lock: the link of the element with this key, and the
 * link of the one before it in the chain (0 if it is the head). */
static inline __attribute__((always_inline)) uint32_t find_k(const bpfvm_map *m, const struct htab_bucket *b,
                                                             uint32_t hash, const void *key, uint32_t *prev_out,
                                                             uint32_t ksz)
{
	uint32_t prev = 0, link = get_head(b);
	for (uint32_t steps = 0; link_ok(m, link) && steps < m->N_ELEMS; steps++) {
		const struct htab_elem *e = elem_at(m, link);
		/* Equal keys have equal hashes, so the stored hash is only a
		 * filter; for keys of up to 8 bytes the key compare costs no
		 * more, and reads the line the value is on instead of the
		 * bookkeeping's (one cache miss fewer on a hit). */
		if ((ksz <= 8 || get_hash(e) == hash) && key_equal_k(ksz, elem_key(m, link), key)) {
			if (prev_out)
				*prev_out = prev;
			return link;
		}
		prev = link;
		link = get_next(e);
	}
	return 0;
}

static inline __attribute__((always_inline)) uint32_t find(const bpfvm_map *m, const struct htab_bucket *b,
                                                           uint32_t hash, const void *key, uint32_t *prev_out)
{
	return find_k(m, b, hash, key, prev_out, m->key_size);
}

/* Takes an element out of its chain with one store; it is ours (UNLINKED)
 * from then on, and named ours before that store so a crash right after
 * it leaves an element a reclaim knows to free. */
static inline __attribute__((always_inline)) void unlink_elem(const bpfvm_map *m, struct htab_bucket *b, uint32_t prev, uint32_t link)
{
	struct htab_elem *e = elem_at(m, link);
	uint32_t next = get_next(e);
	set_owner(e, owner_self());
	if (prev)
		__atomic_store_n(&elem_at(m, prev)->next, next, __ATOMIC_RELEASE);
	else
		__atomic_store_n(&b->head, next, __ATOMIC_RELEASE);
	set_state(e, ELEM_UNLINKED);
}

/* Links a filled private element at the head of its bucket: one store
 * publishes it (the link was written first). */
static inline __attribute__((always_inline)) void link_head(const bpfvm_map *m, struct htab_bucket *b, uint32_t link)
{
	struct htab_elem *e = elem_at(m, link);
	set_next(e, get_head(b));
	__atomic_store_n(&b->head, link, __ATOMIC_RELEASE);
	set_state(e, ELEM_LINKED);
}

/* Replaces `old` (after `prev`, 0: the head) by the filled private
 * element `link`, which goes to the head as the kernel's replace does.
 * Each step is one store, so a crash leaves the old element, or both
 * with the new one first (lookups find the new value; bucket_repair()
 * drops the old one), or the new one alone.  The old one is then ours in
 * old_state (UNLINKED, or SPARE when it becomes our spare). */
static inline __attribute__((always_inline)) void replace_elem(const bpfvm_map *m, struct htab_bucket *b,
                                                               uint32_t prev, uint32_t old, uint32_t link,
                                                               uint8_t old_state)
{
	struct htab_elem *e = elem_at(m, link), *o = elem_at(m, old);
	set_owner(o, owner_self());
	if (!prev) {
		set_next(e, get_next(o));
		__atomic_store_n(&b->head, link, __ATOMIC_RELEASE);
	} else {
		set_next(e, get_head(b));
		__atomic_store_n(&b->head, link, __ATOMIC_RELEASE);
		__atomic_store_n(&elem_at(m, prev)->next, get_next(o), __ATOMIC_RELEASE);
	}
	set_state(e, ELEM_LINKED);
	set_state(o, old_state);
}

/* ---- the element pool (non-LRU maps) ------------------------------------ */

/* A free element off the free list, else a never-used one, made ours in
 * `state`; 0 if none.  The caller holds the lock guarding free_head (pool
 * or LRU).  Popping is one store of free_head, so a crash loses at most
 * the element, which names no live owner and a reclaim frees. */
static uint32_t take_free_locked(const bpfvm_map *m, struct htab_state *st, uint8_t state)
{
	uint32_t link = 0;
	if (link_ok(m, st->free_head)) {
		link = st->free_head;
		st->free_head = get_next(elem_at(m, link));
	} else if (st->bump < m->N_ELEMS) {
		link = ++st->bump;
	}
	if (link) {
		set_owner(elem_at(m, link), owner_self());
		set_state(elem_at(m, link), state);
	}
	return link;
}

/* Pushing is one store of free_head after the element's link. */
static void put_free_locked(const bpfvm_map *m, struct htab_state *st, uint32_t link)
{
	struct htab_elem *e = elem_at(m, link);
	set_state(e, ELEM_FREE);
	set_next(e, st->free_head);
	__atomic_store_n(&st->free_head, link, __ATOMIC_RELEASE);
}

/* The pool lock: the free list is consistent at every store, so a holder
 * that died leaves at most a leaked element; the map is owed a reclaim
 * (the caller holds a bucket lock, so it cannot reclaim now). */
static void pool_lock(const bpfvm_map *m, struct htab_state *st)
{
	if (__builtin_expect(hash_spin_lock(&st->pool_lock), 0))
		__atomic_store_n(&((bpfvm_map *)m)->reclaim_due, 1, __ATOMIC_RELAXED);
}

static uint32_t pool_alloc(const bpfvm_map *m)
{
	struct htab_state *st = state_of(m);
	pool_lock(m, st);
	uint32_t link = take_free_locked(m, st, ELEM_PENDING);
	hash_spin_unlock(&st->pool_lock);
	return link;
}

static void pool_free(const bpfvm_map *m, uint32_t link)
{
	struct htab_state *st = state_of(m);
	pool_lock(m, st);
	put_free_locked(m, st, link);
	hash_spin_unlock(&st->pool_lock);
}

/* ---- spare elements (plain hash maps) -------------------------------------
 *
 * Replacing a key needs a fresh element while the old one is still
 * linked.  Taking it from the pool costs the pool lock's locked
 * instruction on every replacement; instead, as the kernel keeps a
 * per-CPU spare (extra_elems), a thread keeps one spare element per map:
 * a replacement fills the spare, links it, and keeps the old element as
 * its next spare, all under the bucket lock it holds anyway.
 *
 * The arena is shared by threads and processes, so a spare must be owned
 * by exactly one thread and given back when that thread can no longer
 * use it: at thread exit (a pthread key destructor), when the process's
 * map object is destroyed (every thread's spare for it), at exit() or
 * dlclose() for the calling thread (the library's destructor), and never
 * in a fork()ed child (tables are pages marked MADV_WIPEONFORK: the
 * child's copies read as empty, so it forgets the parent's spares with no
 * check on the hot path).  Spares of a process that dies without exit()
 * are held until a reclaim frees them (they name their holder), and the
 * arena counts spares and caps them at spare_cap(); the pool has that
 * many elements on top of max_entries and the in-flight extras, so held
 * spares never make a map look full.  A thread whose table slot is taken
 * (by another map) or that finds the cap reached replaces through the
 * pool as before.
 *
 * A program run in a signal handler (see "re-entrance" above) may get
 * here too, having interrupted its thread anywhere, in malloc() or here:
 * so nothing below allocates, locks or calls pthread_once().  Each table
 * is a small direct-mapped one (a map's slot is its id modulo
 * SPARE_SLOTS), in a mapping of two pages never unmapped: the first holds
 * its node in the registry (a list that only grows, pushed with a
 * compare-and-swap, walked without a lock), the second the table, wiped
 * on fork.  A thread takes a free node (or maps a new one) at its first
 * spare and frees it at exit; a fork()ed child sees every node its
 * parent's threads held as taken, so it never hands out the table of its
 * own forking thread.  The thread finds its table through its block
 * (base/thread_block.h), and its exit through a pthread key made at load
 * whose values glibc keeps without allocating (below 32; else no spares).
 * A slot is claimed before its spare is taken (map = SPARE_FILLING), so a
 * handler that interrupted the filling leaves it alone.  An entry's spare
 * goes back to its map by whoever claims the entry's map first, with an
 * atomic exchange: its owner at exit, or a destroy of that map; a destroy
 * then waits for exits still returning what they claimed (spare_returning)
 * before the map goes away. */

#define SPARE_SLOTS 8u   /* a power of two */
#define SPARE_PAGE 4096u
#define SPARE_FILLING ((bpfvm_map *)1)   /* a slot being filled: no map's */

static uint32_t spare_cap(unsigned ncpus)
{
	return 2 * ncpus + 8;
}

struct spare_entry {
	bpfvm_map *map;        /* atomic; NULL: the slot is free */
	uint32_t link;         /* atomic; the spare element of `map` */
};

struct spare_table {
	struct spare_entry e[SPARE_SLOTS];
};

/* The first page of a table's mapping (the table is the second). */
struct spare_node {
	struct spare_node *next;     /* written once, before the node is published */
	struct spare_table *table;
	uint32_t in_use;             /* atomic: a thread has the table */
};

static struct spare_node *spare_nodes;   /* atomic: every table of the process */
static uint32_t spare_returning;         /* atomic: thread exits giving spares back */
static pthread_key_t spare_key;
static bool spare_key_ok;   /* the key exists, and its values need no allocation */
static bool spare_closed;   /* atomic: the library is going away; no new spares */

static struct spare_node *spare_node_of(struct spare_table *t)
{
	return (struct spare_node *)(void *)((char *)t - SPARE_PAGE);
}

/* The calling thread's table (kept in its block: base/thread_block.h), or NULL. */
static inline struct spare_table *thread_spares(void)
{
	struct thread_block *b = thread_block_current;
	return b ? __atomic_load_n(&b->hash_spares, __ATOMIC_RELAXED) : NULL;
}

/* The calling thread's spare entry for m, or NULL. */
static inline __attribute__((always_inline)) struct spare_entry *spare_entry_of(const bpfvm_map *m)
{
	struct spare_table *t = thread_spares();
	if (!t)
		return NULL;
	struct spare_entry *en = &t->e[m->id & (SPARE_SLOTS - 1)];
	return __atomic_load_n(&en->map, __ATOMIC_RELAXED) == m ? en : NULL;
}

/* Gives an entry's spare back to its map's pool if `m` is still the
 * entry's map (claimed here: a destroy and an exit may race for it). */
static void spare_return(struct spare_entry *en, bpfvm_map *m)
{
	uint32_t link = __atomic_load_n(&en->link, __ATOMIC_ACQUIRE);
	if (m == NULL || m == SPARE_FILLING ||
	    !__atomic_compare_exchange_n(&en->map, &m, NULL, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&en->link, 0, __ATOMIC_RELAXED);
	if (!link_ok(m, link))
		return;
	struct htab_state *st = state_of(m);
	pool_lock(m, st);
	put_free_locked(m, st, link);
	if (__atomic_load_n(&st->spares, __ATOMIC_RELAXED))
		__atomic_sub_fetch(&st->spares, 1, __ATOMIC_RELAXED);
	hash_spin_unlock(&st->pool_lock);
}

/* Every spare of t back, t free for another thread. */
static void spare_table_release(struct spare_table *t)
{
	__atomic_add_fetch(&spare_returning, 1, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < SPARE_SLOTS; i++)
		spare_return(&t->e[i], __atomic_load_n(&t->e[i].map, __ATOMIC_SEQ_CST));
	__atomic_sub_fetch(&spare_returning, 1, __ATOMIC_SEQ_CST);
	struct thread_block *b = thread_block_current;
	if (b && __atomic_load_n(&b->hash_spares, __ATOMIC_RELAXED) == t)
		__atomic_store_n(&b->hash_spares, NULL, __ATOMIC_RELAXED);
	__atomic_store_n(&spare_node_of(t)->in_use, 0, __ATOMIC_RELEASE);
}

/* The pthread key's destructor: a thread exits, its spares go back. */
static void spare_thread_exit(void *node)
{
	spare_table_release(((struct spare_node *)node)->table);
}

/* At load: the key is made here, not at a thread's first spare, which
 * may be taken in a signal handler. */
__attribute__((constructor)) static void spare_init(void)
{
	if (pthread_key_create(&spare_key, spare_thread_exit) != 0)
		return;
	if (spare_key >= 32) {   /* glibc would allocate room for its values */
		pthread_key_delete(spare_key);
		return;
	}
	__atomic_store_n(&spare_key_ok, true, __ATOMIC_RELEASE);
}

/* exit(), or dlclose() of the library: the calling thread's spares go
 * back (the main thread gets no key destructor; threads still running
 * keep theirs, at most the cap), no new ones are handed out, and the key
 * is deleted so no thread exiting later calls into unmapped code.  The
 * tables stay mapped: at exit() other threads may still be reading theirs. */
__attribute__((destructor)) static void spare_unload(void)
{
	if (!__atomic_load_n(&spare_key_ok, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&spare_closed, true, __ATOMIC_RELAXED);
	struct spare_table *t = thread_spares();
	if (t)
		spare_table_release(t);
	pthread_setspecific(spare_key, NULL);
	pthread_key_delete(spare_key);
	__atomic_store_n(&spare_key_ok, false, __ATOMIC_RELEASE);
}

/* A free node of the registry, taken; else a new one, mapped and pushed. */
static struct spare_node *spare_node_take(void)
{
	for (struct spare_node *n = __atomic_load_n(&spare_nodes, __ATOMIC_ACQUIRE); n; n = n->next) {
		uint32_t free_word = 0;
		if (__atomic_compare_exchange_n(&n->in_use, &free_word, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return n;
	}
	char *p = mmap(NULL, 2 * SPARE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (madvise(p + SPARE_PAGE, SPARE_PAGE, MADV_WIPEONFORK) != 0) {
		munmap(p, 2 * SPARE_PAGE);
		return NULL;
	}
	struct spare_node *n = (struct spare_node *)(void *)p;
	n->table = (struct spare_table *)(void *)(p + SPARE_PAGE);
	n->in_use = 1;
	n->next = __atomic_load_n(&spare_nodes, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&spare_nodes, &n->next, n, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
	return n;
}

/* A table for the calling thread, registered with the key (thread exit);
 * NULL if none can be had.  A handler that interrupted this and gave the
 * thread a table first wins; ours goes back. */
static struct spare_table *spare_table_new(void)
{
	struct thread_block *b = thread_block_self();
	struct spare_node *n = b ? spare_node_take() : NULL;
	if (!n)
		return NULL;
	struct spare_table *none = NULL;
	if (!__atomic_compare_exchange_n(&b->hash_spares, &none, n->table, false, __ATOMIC_RELAXED,
	                                 __ATOMIC_RELAXED)) {
		__atomic_store_n(&n->in_use, 0, __ATOMIC_RELEASE);
		return none;
	}
	pthread_setspecific(spare_key, n);   /* key below 32: no allocation */
	return n->table;
}

/* Takes one element from the pool as a spare, within the arena's cap;
 * 0 if the cap is reached or the pool is empty. */
static uint32_t spare_take(bpfvm_map *m)
{
	struct htab_state *st = state_of(m);
	uint32_t link = 0;
	pool_lock(m, st);
	if (__atomic_load_n(&st->spares, __ATOMIC_RELAXED) < spare_cap(m->ncpus) &&
	    (link = take_free_locked(m, st, ELEM_SPARE)) != 0)
		__atomic_add_fetch(&st->spares, 1, __ATOMIC_RELAXED);
	hash_spin_unlock(&st->pool_lock);
	if (__builtin_expect(m->reclaim_due, 0))
		reclaim_if_due(m);   /* no lock held here */
	return link;
}

/* After a replacement through the pool: gives this thread a spare for m
 * if its slot is free and the arena's cap allows, so that the next
 * replacement needs no pool lock.  Called with no lock held. */
static void spare_refill(bpfvm_map *m)
{
	struct spare_table *t = thread_spares();
	unsigned slot = m->id & (SPARE_SLOTS - 1);
	if (t && __atomic_load_n(&t->e[slot].map, __ATOMIC_RELAXED))
		return;   /* this map's already, or another map's */
	if (__atomic_load_n(&state_of(m)->spares, __ATOMIC_RELAXED) >= spare_cap(m->ncpus))
		return;
	if (!__atomic_load_n(&spare_key_ok, __ATOMIC_ACQUIRE) || __atomic_load_n(&spare_closed, __ATOMIC_RELAXED))
		return;
	if (!t && !(t = spare_table_new()))
		return;
	struct spare_entry *en = &t->e[slot];
	bpfvm_map *none = NULL;
	if (!__atomic_compare_exchange_n(&en->map, &none, SPARE_FILLING, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	uint32_t link = spare_take(m);
	__atomic_store_n(&en->link, link, __ATOMIC_RELEASE);
	__atomic_store_n(&en->map, link ? m : NULL, __ATOMIC_SEQ_CST);
}

/* The process's map object goes away: every thread's spare for it goes
 * back to the pool (no thread can be using the map any more), and once
 * no exit is giving back a spare it may have claimed, m may go. */
static void spare_map_destroy(bpfvm_map *m)
{
	unsigned slot = m->id & (SPARE_SLOTS - 1);
	for (struct spare_node *n = __atomic_load_n(&spare_nodes, __ATOMIC_ACQUIRE); n; n = n->next)
		if (__atomic_load_n(&n->table->e[slot].map, __ATOMIC_SEQ_CST) == m)
			spare_return(&n->table->e[slot], m);
	while (__atomic_load_n(&spare_returning, __ATOMIC_SEQ_CST))
		sched_yield();
}

void map_hash_pool_stats(const bpfvm_map *m, struct map_hash_pool_stats *out)
{
	struct htab_state *st = state_of(m);
	uint32_t *lock = is_lru(m) ? &st->lru_lock : &st->pool_lock;
	uint32_t n = 0;
	hash_spin_lock(lock);
	for (uint32_t link = st->free_head; link_ok(m, link) && n <= m->N_ELEMS; link = get_next(elem_at(m, link)))
		n++;
	out->free = n + (m->N_ELEMS - st->bump);
	hash_spin_unlock(lock);
	out->elems = m->N_ELEMS;
	out->count = __atomic_load_n(&st->count, __ATOMIC_RELAXED);
	out->spares = __atomic_load_n(&st->spares, __ATOMIC_RELAXED);
	out->spare_cap = spare_cap(m->ncpus);
}

/* ---- the LRU list (LRU maps; everything under lru_lock) ----------------- */

static void lru_push_head(const bpfvm_map *m, struct htab_state *st, uint32_t link)
{
	struct htab_elem *e = elem_at(m, link);
	e->lru_prev = 0;
	e->lru_next = st->lru_head;
	if (link_ok(m, st->lru_head))
		elem_at(m, st->lru_head)->lru_prev = link;
	else
		st->lru_tail = link;
	st->lru_head = link;
}

static void lru_remove(const bpfvm_map *m, struct htab_state *st, uint32_t link)
{
	struct htab_elem *e = elem_at(m, link);
	if (link_ok(m, e->lru_prev))
		elem_at(m, e->lru_prev)->lru_next = e->lru_next;
	else
		st->lru_head = e->lru_next;
	if (link_ok(m, e->lru_next))
		elem_at(m, e->lru_next)->lru_prev = e->lru_prev;
	else
		st->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = 0;
}

/* Tries to evict `link` (found on the LRU list); true if it is now ours. */
static bool lru_try_evict(const bpfvm_map *m, uint32_t link)
{
	struct htab_elem *e = elem_at(m, link);
	uint32_t hash = get_hash(e);
	struct htab_bucket *b = bucket_of(m, hash);
	bool taken = false;
	bucket_lock(m, b);
	/* Re-check under the bucket lock: it may have been deleted meanwhile. */
	if (get_state(e) == ELEM_LINKED && get_hash(e) == hash) {
		uint32_t prev = 0;
		uint32_t found = find(m, b, hash, elem_key(m, link), &prev);
		if (found == link) {
			unlink_elem(m, b, prev, link);
			__atomic_sub_fetch(&state_of(m)->count, 1, __ATOMIC_RELAXED);
			set_state(e, ELEM_PENDING);
			taken = true;
		}
	}
	bucket_unlock_nested(b);   /* under lru_lock: no reclaim here */
	return taken;
}

/* ---- reclaim: what dead processes left behind ------------------------------- */

/* Liveness of the owners one reclaim meets, each asked once. */
struct alive_memo {
	uint32_t token[32];
	bool alive[32];
	unsigned n;
};

static bool memo_alive(struct alive_memo *memo, uint32_t token)
{
	for (unsigned i = 0; i < memo->n; i++)
		if (memo->token[i] == token)
			return memo->alive[i];
	bool alive = owner_alive(token);
	if (memo->n < 32) {
		memo->token[memo->n] = token;
		memo->alive[memo->n++] = alive;
	}
	return alive;
}

/* Chains: cut at the first link out of range or already met (a cycle, or
 * an element in two chains: only a damaged arena has those); marks what
 * is in the table and returns how many. */
static uint32_t reclaim_chains(const bpfvm_map *m, uint8_t *mark)
{
	uint32_t count = 0;
	for (uint32_t i = 0; i < m->N_BUCKETS; i++) {
		struct htab_bucket *b = bucket_at(m, i);
		uint32_t prev = 0;
		for (uint32_t link = get_head(b); link; ) {
			if (!link_ok(m, link) || mark[link - 1]) {
				if (prev)
					set_next(elem_at(m, prev), 0);
				else
					set_head(b, 0);
				break;
			}
			mark[link - 1] = 1;
			set_state(elem_at(m, link), ELEM_LINKED);
			count++;
			prev = link;
			link = get_next(elem_at(m, link));
		}
	}
	return count;
}

/* With the outer lock held (lru_lock of an LRU map, else reclaim_lock):
 * takes every bucket lock in order, then the pool lock, so no operation
 * is half-way; recounts the table; frees every element outside it that
 * no live process holds (what a dead one held, or lost between two
 * stores); recounts the spares and rebuilds the LRU list.  Without
 * memory for its marks it leaves the reclaim owed. */
static void reclaim_locked(const bpfvm_map *m)
{
	struct htab_state *st = state_of(m);
	/* mmap(), not calloc(): a reclaim may be paid in a signal handler */
	size_t mark_bytes = m->N_ELEMS ? m->N_ELEMS : 1;
	uint8_t *mark = mmap(NULL, mark_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mark == MAP_FAILED) {
		__atomic_store_n(&((bpfvm_map *)m)->reclaim_due, 1, __ATOMIC_RELAXED);
		return;
	}
	for (uint32_t i = 0; i < m->N_BUCKETS; i++)
		bucket_lock_raw(m, bucket_at(m, i));
	if (!is_lru(m))
		hash_spin_lock(&st->pool_lock);
	uint32_t count = reclaim_chains(m, mark);
	struct alive_memo memo = { .n = 0 };
	uint32_t bump = st->bump < m->N_ELEMS ? st->bump : m->N_ELEMS;
	uint32_t free_head = 0, spares = 0;
	for (uint32_t link = bump; link >= 1; link--) {
		struct htab_elem *e = elem_at(m, link);
		if (mark[link - 1])
			continue;
		uint8_t state = get_state(e);
		if ((state == ELEM_PENDING || state == ELEM_UNLINKED || state == ELEM_SPARE) &&
		    memo_alive(&memo, get_owner(e))) {
			mark[link - 1] = 2;   /* held by a live process */
			spares += state == ELEM_SPARE;
			continue;
		}
		set_state(e, ELEM_FREE);
		set_owner(e, 0);
		set_next(e, free_head);
		free_head = link;
	}
	st->bump = bump;
	st->free_head = free_head;
	__atomic_store_n(&st->count, count, __ATOMIC_RELAXED);
	__atomic_store_n(&st->spares, spares, __ATOMIC_RELAXED);
	if (is_lru(m)) {
		/* Recency is lost; what is in the table or held goes back on. */
		st->lru_head = st->lru_tail = 0;
		for (uint32_t link = 1; link <= bump; link++)
			if (mark[link - 1])
				lru_push_head(m, st, link);
	}
	if (!is_lru(m))
		hash_spin_unlock(&st->pool_lock);
	for (uint32_t i = m->N_BUCKETS; i-- > 0;)
		bucket_unlock_raw(bucket_at(m, i));
	__atomic_add_fetch(&st->reclaims, 1, __ATOMIC_RELAXED);
	munmap(mark, mark_bytes);
}

static void reclaim(bpfvm_map *m)
{
	struct htab_state *st = state_of(m);
	uint32_t *outer = is_lru(m) ? &st->lru_lock : &st->reclaim_lock;
	hash_spin_lock(outer);
	reclaim_locked(m);
	hash_spin_unlock(outer);
}

/* The LRU lock: its list takes several stores to change, so a holder
 * that died may have left it broken; the taker rebuilds it (and the rest)
 * before going on.  Nothing else is held when it is taken. */
static void lru_lock(const bpfvm_map *m, struct htab_state *st)
{
	if (__builtin_expect(hash_spin_lock(&st->lru_lock), 0))
		reclaim_locked(m);
}

/* Under a bucket lock just taken over: the dead holder may have linked a
 * replacement at the head without yet unlinking the element it replaces
 * (replace_elem()): that one is dropped here (named by no owner, so the
 * reclaim that follows frees it), and the head is marked linked in case
 * it died before doing so. */
static void bucket_repair(const bpfvm_map *m, struct htab_bucket *b)
{
	uint32_t head = get_head(b);
	if (!link_ok(m, head))
		return;
	struct htab_elem *h = elem_at(m, head);
	uint32_t prev = head, steps = 0;
	for (uint32_t link = get_next(h); link_ok(m, link) && steps < m->N_ELEMS; steps++) {
		struct htab_elem *e = elem_at(m, link);
		uint32_t next = get_next(e);
		if (get_hash(e) == get_hash(h) && memcmp(elem_key(m, link), elem_key(m, head), m->key_size) == 0) {
			set_owner(e, 0);
			__atomic_store_n(&elem_at(m, prev)->next, next, __ATOMIC_RELEASE);
			set_state(e, ELEM_UNLINKED);
			break;
		}
		prev = link;
		link = next;
	}
	set_state(h, ELEM_LINKED);
}

/* prealloc_lru_pop(): a free element, evicting the least recently used one
 * if there is none.  The element comes back PENDING and already on the LRU
 * list (so nobody else can take it); 0 if nothing could be evicted. */
static uint32_t lru_pop_free(const bpfvm_map *m)
{
	struct htab_state *st = state_of(m);
	lru_lock(m, st);
	uint32_t link = take_free_locked(m, st, ELEM_PENDING);
	if (link) {
		__atomic_store_n(&elem_at(m, link)->ref, 0, __ATOMIC_RELAXED);
		lru_push_head(m, st, link);
		hash_spin_unlock(&st->lru_lock);
		return link;
	}
	/* CLOCK: walk from the cold end; referenced elements lose their bit and
	 * move to the hot end.  Two passes' worth of steps always suffice. */
	uint32_t budget = 2 * m->N_ELEMS + 2;
	uint32_t cur = st->lru_tail;
	while (budget--) {
		if (!link_ok(m, cur)) {
			cur = st->lru_tail;
			if (!link_ok(m, cur))
				break;
		}
		struct htab_elem *e = elem_at(m, cur);
		uint32_t prev = e->lru_prev;
		if (get_state(e) == ELEM_LINKED) {
			if (__atomic_load_n(&e->ref, __ATOMIC_RELAXED)) {
				__atomic_store_n(&e->ref, 0, __ATOMIC_RELAXED);
				lru_remove(m, st, cur);
				lru_push_head(m, st, cur);
			} else if (lru_try_evict(m, cur)) {
				lru_remove(m, st, cur);
				lru_push_head(m, st, cur);
				link = cur;
				break;
			}
		}
		cur = prev;
	}
	if (link)
		set_owner(elem_at(m, link), owner_self());
	hash_spin_unlock(&st->lru_lock);
	if (__builtin_expect(m->reclaim_due, 0))
		reclaim_if_due(m);   /* an eviction took a bucket over */
	return link;
}

/* Back to the free list: an element that was unlinked, or never linked. */
static void lru_release(const bpfvm_map *m, uint32_t link)
{
	struct htab_state *st = state_of(m);
	lru_lock(m, st);
	lru_remove(m, st, link);
	put_free_locked(m, st, link);
	hash_spin_unlock(&st->lru_lock);
}

/* ---- values ------------------------------------------------------------ */

static struct of_maps_local *of_local(const bpfvm_map *m)
{
	return m->local;
}

/* Frees an element that has been unlinked (after the bucket lock is
 * dropped), releasing a hash_of_maps element's inner map. */
static void elem_release(const bpfvm_map *m, uint32_t link)
{
	if (is_of_maps(m)) {
		bpfvm_map *inner = __atomic_exchange_n(&of_local(m)->inner[link - 1], NULL, __ATOMIC_ACQ_REL);
		bpfvm_map_put(inner);
	}
	if (is_lru(m))
		lru_release(m, link);
	else
		pool_free(m, link);
}

/* pcpu_copy_value(): in place, every CPU from user space, this CPU from a program. */
static void percpu_copy_in(const bpfvm_map *m, uint32_t link, const void *value, enum value_mode mode)
{
	if (mode == VALUE_USER) {
		for (unsigned c = 0; c < m->ncpus; c++)
			arena_store(elem_value(m, link, c), (const uint8_t *)value + (size_t)c * m->value_stride,
			            m->value_stride);
	} else {
		arena_store(elem_value(m, link, map_this_cpu(m)), value, m->value_size);
	}
}

/* pcpu_init_value(): a new per-CPU element from a program gets its value on
 * this CPU and zeroes on the others. */
static void percpu_init(const bpfvm_map *m, uint32_t link, const void *value, enum value_mode mode)
{
	if (mode == VALUE_USER) {
		percpu_copy_in(m, link, value, mode);
		return;
	}
	unsigned self = map_this_cpu(m);
	for (unsigned c = 0; c < m->ncpus; c++) {
		uint8_t *slot = elem_value(m, link, c);
		arena_zero(slot, m->value_stride);
		if (c == self)
			arena_store(slot, value, m->value_size);
	}
}

/* Fills a private (PENDING) element before it is linked. */
static void fill_elem(const bpfvm_map *m, uint32_t link, const void *key, uint32_t hash, const void *value,
                      enum value_mode mode, bpfvm_map *inner)
{
	struct htab_elem *e = elem_at(m, link);
	__atomic_store_n(&e->hash, hash, __ATOMIC_RELAXED);
	arena_store(elem_key(m, link), key, m->key_size);
	if (is_percpu(m)) {
		percpu_init(m, link, value, mode);
	} else if (is_of_maps(m)) {
		uint32_t id = inner->id;
		arena_store(elem_value(m, link, 0), &id, 4);
		__atomic_store_n(&of_local(m)->inner[link - 1], inner, __ATOMIC_RELEASE);
	} else {
		if (m->spin_lock_off >= 0)   /* a recycled element's lock word starts unlocked */
			arena_zero(elem_value(m, link, 0) + m->spin_lock_off, 4);
		value_in(m, elem_value(m, link, 0), value, m->value_size);
	}
}

/* Copies an element's value out for user space: every CPU's slot (whole
 * 8-byte-rounded strides, as the kernel's copy_map_value_long()), or the
 * value (with the lock word zeroed), or an inner map's id. */
static void copy_out(const bpfvm_map *m, uint32_t link, void *value, uint64_t flags)
{
	if (is_percpu(m)) {
		for (unsigned c = 0; c < m->ncpus; c++)
			arena_load((uint8_t *)value + (size_t)c * m->value_stride, elem_value(m, link, c),
			           m->value_stride);
	} else if (is_of_maps(m)) {
		bpfvm_map *inner = __atomic_load_n(&of_local(m)->inner[link - 1], __ATOMIC_ACQUIRE);
		uint32_t id = inner ? inner->id : 0;
		memcpy(value, &id, 4);
	} else if (flags & BPFVM_F_LOCK) {
		value_out_locked(m, value, elem_value(m, link, 0), m->value_size);
	} else {
		value_out(m, value, elem_value(m, link, 0), m->value_size);
	}
}

/* ---- update and delete ----------------------------------------------------- */

/* htab_map_update_elem() and its LRU / per-CPU / map-in-map variants.
 * For hash_of_maps `inner` is the new value; its reference passes to the
 * table on success. */
static long htab_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags,
                        enum value_mode mode, bpfvm_map *inner)
{
	struct htab_state *st = state_of(m);
	bool percpu = is_percpu(m), lru = is_lru(m);
	uint64_t base_flags = flags & ~BPFVM_F_LOCK;
	if (percpu || lru) {
		if (flags > BPFVM_EXIST)
			return -EINVAL;
	} else {
		if (base_flags > BPFVM_EXIST)
			return -EINVAL;
		if ((flags & BPFVM_F_LOCK) && m->spin_lock_off < 0)
			return -EINVAL;
	}

	if (locks_reentered())
		return -EBUSY;
	uint32_t hash = key_hash(m, key);
	struct htab_bucket *b = bucket_of(m, hash);
	/* LRU maps take their element before locking the bucket: taking one may
	 * evict from another bucket.  (The per-CPU LRU skips it for
	 * BPF_EXIST, which can only update in place.) */
	uint32_t fresh = 0;
	if (lru && !(percpu && flags == BPFVM_EXIST)) {
		fresh = lru_pop_free(m);
		if (!fresh)
			return -ENOMEM;
	}

	long rc = 0;
	uint32_t to_free = 0;
	bpfvm_map *put_after = NULL;
	bucket_lock(m, b);
	uint32_t prev = 0;
	uint32_t old = find(m, b, hash, key, &prev);
	if (old && base_flags == BPFVM_NOEXIST) {
		rc = -EEXIST;
		goto out;
	}
	if (!old && base_flags == BPFVM_EXIST) {
		rc = -ENOENT;
		goto out;
	}
	if (old && (flags & BPFVM_F_LOCK)) {
		value_in_locked(m, elem_value(m, old, 0), value, m->value_size);
		goto out;
	}
	if (old && percpu) {
		if (lru)
			set_ref(elem_at(m, old));
		percpu_copy_in(m, old, value, mode);
		goto out;
	}
	if (old && is_of_maps(m)) {
		/* htab_map_update_elem_in_place(): the inner map is swapped in
		 * the existing element, which keeps its place in the bucket. */
		uint32_t id = inner->id;
		arena_store(elem_value(m, old, 0), &id, 4);
		put_after = __atomic_exchange_n(&of_local(m)->inner[old - 1], inner, __ATOMIC_ACQ_REL);
		goto out;
	}

	uint32_t link = fresh;
	if (lru) {
		fresh = 0;
		if (!old)
			__atomic_add_fetch(&st->count, 1, __ATOMIC_RELAXED);
	} else {
		if (!old && __atomic_add_fetch(&st->count, 1, __ATOMIC_RELAXED) > m->max_entries) {
			__atomic_sub_fetch(&st->count, 1, __ATOMIC_RELAXED);
			rc = -E2BIG;
			goto out;
		}
		link = pool_alloc(m);
		if (!link && !old) {
			__atomic_sub_fetch(&st->count, 1, __ATOMIC_RELAXED);
			rc = -E2BIG;
			goto out;
		}
		if (!link) {
			/* Every spare element is in flight: overwrite in place. */
			value_in(m, elem_value(m, old, 0), value, m->value_size);
			goto out;
		}
	}
	/* A replacement goes in front of the old element, which is then
	 * unlinked and freed (two pool locks; the plain map's spare path
	 * avoids them). */
	fill_elem(m, link, key, hash, value, mode, inner);
	link_head(m, b, link);
	if (old) {
		unlink_elem(m, b, prev ? prev : link, old);
		if (lru)
			set_ref(elem_at(m, link));
		to_free = old;
	}
out:
	bucket_unlock(m, b);
	if (to_free)
		elem_release(m, to_free);
	if (fresh)
		lru_release(m, fresh);
	bpfvm_map_put(put_after);
	return rc;
}

/* ---- the plain hash map's update ----------------------------------------- */

/* A value from a program or user space into a plain map's element, with
 * the common sizes as fixed stores (no copy loop). */
static inline __attribute__((always_inline)) void plain_value_in(const bpfvm_map *m, uint8_t *dst, const void *value)
{
	switch (m->value_size) {
	case 8: arena_store(dst, value, 8); break;
	case 16: arena_store(dst, value, 16); break;
	default: arena_store(dst, value, m->value_size); break;
	}
}

/* htab_map_update_elem() for BPF_MAP_TYPE_HASH without a bpf_spin_lock in
 * its value and with flags BPF_ANY, BPF_NOEXIST or BPF_EXIST: the same
 * steps as htab_update() without its other types' cases, specialised by
 * the caller for the key size, and replacing through the thread's spare
 * element when it has one (see "spare elements" above). */
static inline __attribute__((always_inline)) long plain_update(bpfvm_map *m, const void *key, const void *value,
                                                               uint64_t flags, uint32_t ksz)
{
	struct htab_state *st = state_of(m);
	uint32_t hash = key_hash_k(m, key, ksz);
	struct htab_bucket *b = bucket_of(m, hash);
	struct spare_entry *sp = spare_entry_of(m);
	long rc = 0;
	/* A takeover makes the map owe a reclaim; the replacement through a
	 * spare (the hot path) touches no other lock, so it pays it from
	 * this flag without reading the map's. */
	bool took_over = bucket_lock_raw(m, b);
	if (__builtin_expect(took_over, 0))
		__atomic_store_n(&m->reclaim_due, 1, __ATOMIC_RELAXED);
	/* The head's bookkeeping (its chain link, read to replace it) is on
	 * another cache line than its key: start loading it while the key
	 * is compared, so the two misses overlap. */
	uint32_t head = get_head(b);
	if (link_ok(m, head))
		__builtin_prefetch(elem_at(m, head), 1);
	uint32_t prev = 0;
	uint32_t old = find_k(m, b, hash, key, &prev, ksz);
	if (old) {
		if (flags == BPFVM_NOEXIST) {
			rc = -EEXIST;
			goto out;
		}
		/* A fresh element replaces the old one (replace_elem()); the
		 * old one becomes the spare, or goes back to the pool. */
		uint32_t spare = sp ? __atomic_load_n(&sp->link, __ATOMIC_RELAXED) : 0;
		uint32_t link = spare;
		if (!link_ok(m, link)) {
			spare = 0;
			link = pool_alloc(m);
			if (!link) {
				value_in(m, elem_value(m, old, 0), value, m->value_size);
				goto out;
			}
		}
		struct htab_elem *e = elem_at(m, link);
		__atomic_store_n(&e->hash, hash, __ATOMIC_RELAXED);
		arena_store(elem_key(m, link), key, ksz);
		plain_value_in(m, elem_value(m, link, 0), value);
		replace_elem(m, b, prev, old, link, spare ? ELEM_SPARE : ELEM_UNLINKED);
		if (spare) {
			__atomic_store_n(&sp->link, old, __ATOMIC_RELAXED);
			bucket_unlock_raw(b);
			if (__builtin_expect(took_over, 0))
				reclaim_if_due(m);
			return 0;
		}
		bucket_unlock(m, b);
		pool_free(m, old);
		spare_refill(m);
		return 0;
	}
	if (flags == BPFVM_EXIST) {
		rc = -ENOENT;
		goto out;
	}
	if (__atomic_add_fetch(&st->count, 1, __ATOMIC_RELAXED) > m->max_entries) {
		__atomic_sub_fetch(&st->count, 1, __ATOMIC_RELAXED);
		rc = -E2BIG;
		goto out;
	}
	uint32_t link = pool_alloc(m);
	if (!link) {
		__atomic_sub_fetch(&st->count, 1, __ATOMIC_RELAXED);
		rc = -E2BIG;
		goto out;
	}
	struct htab_elem *e = elem_at(m, link);
	__atomic_store_n(&e->hash, hash, __ATOMIC_RELAXED);
	arena_store(elem_key(m, link), key, ksz);
	plain_value_in(m, elem_value(m, link, 0), value);
	link_head(m, b, link);
out:
	bucket_unlock(m, b);
	return rc;
}

/* The update of map_hash_ops: the plain path for the common key sizes. */
static long htab_plain_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags)
{
	if (m->spin_lock_off >= 0 || flags > BPFVM_EXIST)
		return htab_update(m, key, value, flags, VALUE_PROG, NULL);
	if (locks_reentered())
		return -EBUSY;
	switch (m->key_size) {
	case 4: return plain_update(m, key, value, flags, 4);
	case 8: return plain_update(m, key, value, flags, 8);
	default: return plain_update(m, key, value, flags, m->key_size);
	}
}

static long htab_delete_common(bpfvm_map *m, const void *key, void *value, uint64_t flags)
{
	if (locks_reentered())
		return -EBUSY;
	uint32_t hash = key_hash(m, key);
	struct htab_bucket *b = bucket_of(m, hash);
	bucket_lock(m, b);
	uint32_t prev = 0;
	uint32_t link = find(m, b, hash, key, &prev);
	if (link) {
		if (value)
			copy_out(m, link, value, flags);
		unlink_elem(m, b, prev, link);
		__atomic_sub_fetch(&state_of(m)->count, 1, __ATOMIC_RELAXED);
	}
	bucket_unlock(m, b);
	if (!link)
		return -ENOENT;
	elem_release(m, link);
	return 0;
}

/* ---- lookups and iteration ------------------------------------------------- */

static int htab_sys_lookup(bpfvm_map *m, const void *key, void *value, uint64_t flags, bpfvm_error *err)
{
	(void)err;
	if (locks_reentered())
		return -EBUSY;
	uint32_t hash = key_hash(m, key);
	struct htab_bucket *b = bucket_of(m, hash);
	bucket_lock(m, b);
	uint32_t link = find(m, b, hash, key, NULL);
	if (link)
		copy_out(m, link, value, flags);
	bucket_unlock(m, b);
	return link ? 0 : -ENOENT;
}

/* One walk of the bucket without its lock: true, with *link (0: not
 * there), if no writer held the lock at any time during the walk. */
static inline __attribute__((always_inline)) bool find_unlocked(const bpfvm_map *m, struct htab_bucket *b,
                                                                uint32_t hash, const void *key, uint32_t *link)
{
	uint64_t seq = __atomic_load_n(&b->lock, __ATOMIC_ACQUIRE);
	if (BUCKET_SEQ(seq) & 1)
		return false;
	uint32_t found = find(m, b, hash, key, NULL);
	/* the walk's reads complete before the word is read again */
	seq_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&b->lock, __ATOMIC_RELAXED) != seq)
		return false;
	*link = found;
	return true;
}

#define UNLOCKED_TRIES 4   /* lock-free walks before taking the lock */

/* Program lookup: a pointer into the window (this CPU's slot), or for
 * hash_of_maps the inner map.  Marks LRU elements used.  Lock-free unless
 * writers keep the bucket busy. */
static void *htab_lookup_cpu(bpfvm_map *m, const void *key, unsigned cpu)
{
	uint32_t hash = key_hash(m, key);
	struct htab_bucket *b = bucket_of(m, hash);
	uint32_t link = 0;
	bool locked = false;
	for (int tries = 0;; tries++) {
		if (find_unlocked(m, b, hash, key, &link))
			break;
		if (tries + 1 == UNLOCKED_TRIES) {
			if (locks_reentered())
				return NULL;   /* the bucket may be ours, held by the interrupted code */
			bucket_lock(m, b);
			link = find(m, b, hash, key, NULL);
			locked = true;
			break;
		}
		cpu_relax();
	}
	void *result = NULL;
	if (link) {
		if (is_lru(m))
			set_ref(elem_at(m, link));
		if (is_of_maps(m))
			result = __atomic_load_n(&of_local(m)->inner[link - 1], __ATOMIC_ACQUIRE);
		else
			result = elem_value(m, link, cpu);
	}
	if (locked)
		bucket_unlock(m, b);
	return result;
}

static void *htab_lookup(bpfvm_map *m, const void *key)
{
	return htab_lookup_cpu(m, key, is_percpu(m) ? map_this_cpu(m) : 0);
}

static void *htab_lookup_percpu(bpfvm_map *m, const void *key, uint32_t cpu)
{
	return is_percpu(m) ? htab_lookup_cpu(m, key, cpu) : NULL;
}

/* htab_map_get_next_key(): the element after `key` in its bucket, else the
 * first element of the next non-empty bucket; a key not in the map
 * restarts from the first bucket. */
/* Whether a chain is longer than the map has elements: only a cycle,
 * which only a damaged arena has, makes one (walks stop there anyway). */
static bool chain_has_cycle(const bpfvm_map *m, const struct htab_bucket *b)
{
	uint32_t link = get_head(b);
	for (uint32_t steps = 0; steps < m->N_ELEMS && link_ok(m, link); steps++)
		link = get_next(elem_at(m, link));
	return link_ok(m, link);
}

static int htab_get_next_key(bpfvm_map *m, const void *key, void *next_key, bpfvm_error *err)
{
	uint32_t i = 0;
	if (locks_reentered())
		return -EBUSY;
	if (key) {
		uint32_t hash = key_hash(m, key);
		struct htab_bucket *b = bucket_of(m, hash);
		bucket_lock(m, b);
		uint32_t link = find(m, b, hash, key, NULL);
		if (!link && chain_has_cycle(m, b)) {
			bucket_unlock(m, b);
			return map_error(err, -EUCLEAN, "%s map '%s' is damaged: bucket %u's chain has a cycle",
			                 map_type_label(m->type), m->name, hash & (m->N_BUCKETS - 1));
		}
		if (link) {
			uint32_t next = get_next(elem_at(m, link));
			if (link_ok(m, next)) {
				memcpy(next_key, elem_key(m, next), m->key_size);
				bucket_unlock(m, b);
				return 0;
			}
			i = (hash & (m->N_BUCKETS - 1)) + 1;
		}
		bucket_unlock(m, b);
	}
	for (; i < m->N_BUCKETS; i++) {
		struct htab_bucket *b = bucket_at(m, i);
		bucket_lock(m, b);
		uint32_t head = get_head(b);
		if (link_ok(m, head)) {
			memcpy(next_key, elem_key(m, head), m->key_size);
			bucket_unlock(m, b);
			return 0;
		}
		bucket_unlock(m, b);
	}
	return -ENOENT;
}

/* A bucket snapshot too long for the stack: mmap(), not malloc(), for a
 * program run in a signal handler (see "re-entrance" above). */
static uint32_t *snap_alloc(uint32_t cap)
{
	void *p = mmap(NULL, cap * sizeof(uint32_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void snap_free(uint32_t *snap, uint32_t cap)
{
	munmap(snap, cap * sizeof *snap);
}

/* bpf_for_each_hash_elem(): bucket by bucket.  The callback runs without
 * the bucket lock (it may update or delete), on a snapshot of the bucket's
 * elements taken under the lock; elements deleted meanwhile are skipped. */
static long htab_for_each(bpfvm_map *m, bpfvm_map_for_each_fn cb, void *ctx)
{
	if (locks_reentered())
		return -EBUSY;
	unsigned cpu = is_percpu(m) ? map_this_cpu(m) : 0;
	long visited = 0;
	uint32_t local[64];
	uint32_t *snap = local, cap = 64;
	for (uint32_t i = 0; i < m->N_BUCKETS; i++) {
		struct htab_bucket *b = bucket_at(m, i);
		uint32_t count = 0;
		bucket_lock(m, b);
		for (uint32_t link = get_head(b); link_ok(m, link) && count < m->N_ELEMS;
		     link = get_next(elem_at(m, link))) {
			if (count == cap) {
				uint32_t ncap = cap * 2;
				uint32_t *bigger = snap_alloc(ncap);
				if (!bigger)
					break;
				memcpy(bigger, snap, count * sizeof *snap);
				if (snap != local)
					snap_free(snap, cap);
				snap = bigger;
				cap = ncap;
			}
			snap[count++] = link;
		}
		bucket_unlock(m, b);
		for (uint32_t k = 0; k < count; k++) {
			struct htab_elem *e = elem_at(m, snap[k]);
			if (get_state(e) != ELEM_LINKED || (get_hash(e) & (m->N_BUCKETS - 1)) != i)
				continue;
			visited++;
			if (cb(m, elem_key(m, snap[k]), elem_value(m, snap[k], cpu), ctx)) {
				if (snap != local)
					snap_free(snap, cap);
				return visited;
			}
		}
	}
	if (snap != local)
		snap_free(snap, cap);
	return visited;
}

/* ---- creation ----------------------------------------------------------- */

/* htab_map_alloc_check() and the size limits of htab_map_alloc(). */
static int htab_check(const bpfvm_map_def *def, unsigned ncpus, bpfvm_error *err)
{
	(void)ncpus;
	const uint32_t mask = BPFVM_F_NO_PREALLOC | BPFVM_F_NO_COMMON_LRU | BPFVM_F_NUMA_NODE |
	                      BPFVM_F_RDONLY | BPFVM_F_WRONLY | BPFVM_F_RDONLY_PROG | BPFVM_F_WRONLY_PROG |
	                      BPFVM_F_ZERO_SEED;
	bool percpu = def->type == BPFVM_MAP_TYPE_PERCPU_HASH || def->type == BPFVM_MAP_TYPE_LRU_PERCPU_HASH;
	bool lru = def->type == BPFVM_MAP_TYPE_LRU_HASH || def->type == BPFVM_MAP_TYPE_LRU_PERCPU_HASH;
	bool percpu_lru = def->flags & BPFVM_F_NO_COMMON_LRU;
	bool prealloc = !(def->flags & BPFVM_F_NO_PREALLOC);
	const char *t = map_type_label(def->type);

	if (def->type == BPFVM_MAP_TYPE_HASH_OF_MAPS && def->value_size != 4)
		return map_error(err, -EINVAL, "%s: value_size must be 4 (a map reference), got %u", t, def->value_size);
	if ((def->flags & ~mask) || !map_flags_access_ok(def->flags))
		return map_error(err, -EINVAL, "%s: invalid map flags 0x%x", t, def->flags);
	if (!lru && percpu_lru)
		return map_error(err, -EINVAL, "%s: BPF_F_NO_COMMON_LRU is only for LRU maps", t);
	if (lru && !prealloc)
		return map_error(err, -MAP_ENOTSUPP, "%s: LRU maps must be preallocated (no BPF_F_NO_PREALLOC)", t);
	if ((def->flags & BPFVM_F_NUMA_NODE) && (percpu || percpu_lru))
		return map_error(err, -EINVAL, "%s: BPF_F_NUMA_NODE is not allowed for per-CPU maps", t);
	if (def->max_entries == 0 || def->key_size == 0 || def->value_size == 0)
		return map_error(err, -EINVAL, "%s: key_size, value_size and max_entries must be > 0", t);
	if ((uint64_t)def->key_size + def->value_size >= KMALLOC_MAX_SIZE - KERNEL_HTAB_ELEM_SIZE)
		return map_error(err, -E2BIG, "%s: key_size + value_size %llu too large", t,
		                 (unsigned long long)def->key_size + def->value_size);
	if (percpu && round_up8(def->value_size) > PCPU_MIN_UNIT_SIZE)
		return map_error(err, -E2BIG, "%s: per-CPU value_size %u above %u", t, def->value_size,
		                 PCPU_MIN_UNIT_SIZE);
	/* n_buckets * sizeof(struct bucket) must fit in 32 bits. */
	if (def->max_entries > (1u << 28))
		return map_error(err, -E2BIG, "%s: max_entries %u too large", t, def->max_entries);
	if (def->type == BPFVM_MAP_TYPE_HASH_OF_MAPS)
		return map_inner_template_check(def, err);
	return 0;
}

static uint32_t roundup_pow2(uint32_t n)
{
	uint32_t p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

static int htab_layout(bpfvm_map *m, struct arena_layout *lay, bpfvm_error *err)
{
	if (is_lru(m) && (m->map_flags & BPFVM_F_NO_COMMON_LRU)) {
		/* Per-CPU LRU lists: the kernel rounds max_entries to a multiple
		 * of the CPU count (down if rounding up would overflow). */
		uint64_t up = ((uint64_t)m->max_entries + m->ncpus - 1) / m->ncpus * m->ncpus;
		m->max_entries = up <= UINT32_MAX ? (uint32_t)up : m->max_entries / m->ncpus * m->ncpus;
	}
	if (is_of_maps(m))
		m->value_stride = 8;
	/* Plain maps: elements in flight (the kernel's per-CPU extra_elems),
	 * and the threads' spares (their cap). */
	uint32_t extras = (!is_lru(m) && !is_percpu(m) && !is_of_maps(m)) ? 4 * m->ncpus + 16 + spare_cap(m->ncpus) : 0;
	uint64_t n_elems = (uint64_t)m->max_entries + extras;
	m->N_BUCKETS = roundup_pow2(m->max_entries);
	m->N_ELEMS = (uint32_t)n_elems;
	m->KEY_ROUND = round_up8(m->key_size);
	uint64_t win = m->KEY_ROUND + (uint64_t)(is_percpu(m) ? m->ncpus : 1) * m->value_stride;
	if (win > UINT32_MAX || n_elems * win > (uint64_t)SIZE_MAX / 4)
		return map_error(err, -ENOMEM, "%s: too large to allocate", map_type_label(m->type));
	m->ELEM_WIN = (uint32_t)win;
	m->OFF_STATE = layout_add(lay, sizeof(struct htab_state), 64);
	m->OFF_BUCKETS = layout_add(lay, (size_t)m->N_BUCKETS * sizeof(struct htab_bucket), 64);
	m->OFF_ELEMS = layout_add(lay, (size_t)n_elems * sizeof(struct htab_elem), 64);
	lay->values_len = (size_t)(n_elems * win);
	lay->values_off = layout_add(lay, lay->values_len, arena_page_size());
	return 0;
}

/* An opened arena's counts and list heads must be in range before any
 * of them is used as an index (walks are bounded besides).  Other
 * processes may be changing them meanwhile: each is read once, so a
 * head emptied between a test and its use is not taken for damage. */
static int htab_check_state(const bpfvm_map *m, bpfvm_error *err)
{
	const struct htab_state *st = state_of(m);
	uint32_t count = __atomic_load_n(&st->count, __ATOMIC_RELAXED);
	uint32_t bump = __atomic_load_n(&st->bump, __ATOMIC_RELAXED);
	uint32_t free_head = __atomic_load_n(&st->free_head, __ATOMIC_RELAXED);
	uint32_t lru_head = __atomic_load_n(&st->lru_head, __ATOMIC_RELAXED);
	uint32_t lru_tail = __atomic_load_n(&st->lru_tail, __ATOMIC_RELAXED);
	/* an insert counts itself before it knows there is room, under its
	 * bucket's lock: others' passing increments are at most one per
	 * bucket */
	if (bump > m->N_ELEMS || count > m->N_ELEMS + m->N_BUCKETS || (free_head && !link_ok(m, free_head)) ||
	    (lru_head && !link_ok(m, lru_head)) || (lru_tail && !link_ok(m, lru_tail)))
		return map_error(err, -EUCLEAN, "%s map '%s' is damaged: its counts or list heads are out of range "
		                 "(count %u, used %u, free list %u, LRU list %u..%u, of %u elements)",
		                 map_type_label(m->type), m->name, count, bump, free_head, lru_head, lru_tail,
		                 m->N_ELEMS);
	return 0;
}

static int htab_attach(bpfvm_map *m, bpfvm_error *err)
{
	m->state = state_of(m);
	int rc = htab_check_state(m, err);
	if (rc < 0)
		return rc;
	if (!is_of_maps(m))
		return 0;
	struct of_maps_local *loc = calloc(1, sizeof *loc);
	if (loc)
		loc->inner = calloc(m->N_ELEMS, sizeof *loc->inner);
	if (!loc || !loc->inner) {
		free(loc);
		return map_error(err, -ENOMEM, "out of memory for the inner maps of '%s'", m->name);
	}
	m->local = loc;
	return 0;
}

static void htab_destroy(bpfvm_map *m)
{
	if (m->type == BPFVM_MAP_TYPE_HASH)
		spare_map_destroy(m);
	struct of_maps_local *loc = m->local;
	if (!loc)
		return;
	for (uint32_t i = 0; i < m->N_ELEMS; i++)
		bpfvm_map_put(loc->inner[i]);
	free(loc->inner);
	free(loc);
	m->local = NULL;
}

/* ---- the operations tables ------------------------------------------------ */

static int htab_sys_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags, bpfvm_error *err)
{
	(void)err;
	return (int)htab_update(m, key, value, flags, VALUE_USER, NULL);
}

/* A plain hash map's value is the same from user space as from a program. */
static int plain_sys_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags, bpfvm_error *err)
{
	(void)err;
	return (int)htab_plain_update(m, key, value, flags);
}

static int htab_sys_delete(bpfvm_map *m, const void *key, bpfvm_error *err)
{
	(void)err;
	return (int)htab_delete_common(m, key, NULL, 0);
}

static int htab_sys_lookup_and_delete(bpfvm_map *m, const void *key, void *value, uint64_t flags,
                                      bpfvm_error *err)
{
	(void)err;
	return (int)htab_delete_common(m, key, value, flags);
}

static long htab_prog_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags)
{
	return htab_update(m, key, value, flags, VALUE_PROG, NULL);
}

static long htab_prog_delete(bpfvm_map *m, const void *key)
{
	return htab_delete_common(m, key, NULL, 0);
}

/* hash_of_maps from user space: the value is the id of a map of this
 * process (the kernel takes a map fd); bpfvm_map_set_inner() takes the map. */
static int of_maps_sys_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags,
                              bpfvm_error *err)
{
	uint32_t id;
	memcpy(&id, value, 4);
	bpfvm_map *inner = map_get_by_id(id);
	if (!inner)
		return map_error(err, -EBADF, "%s map '%s': no map with id %u", map_type_label(m->type), m->name, id);
	int rc = map_inner_compatible(m, inner, err);
	if (rc == 0)
		rc = (int)htab_update(m, key, NULL, flags, VALUE_USER, inner);
	if (rc < 0)
		bpfvm_map_put(inner);
	return rc;
}

int map_hash_of_maps_set(bpfvm_map *m, const void *key, bpfvm_map *inner, uint64_t flags, bpfvm_error *err)
{
	int rc = map_inner_compatible(m, inner, err);
	if (rc < 0)
		return rc;
	bpfvm_map_get(inner);
	rc = (int)htab_update(m, key, NULL, flags, VALUE_USER, inner);
	if (rc < 0)
		bpfvm_map_put(inner);
	return rc;
}

/* bpfvm_map_holders(): the locks held and the elements out of the table. */
static void htab_holders(const bpfvm_map *m, map_holder_fn report, void *ctx)
{
	struct htab_state *st = state_of(m);
	uint32_t t;
	if ((t = spin_holder(&st->pool_lock)) != 0)
		report(ctx, "pool lock", 0, t);
	if ((t = spin_holder(&st->lru_lock)) != 0)
		report(ctx, "lru lock", 0, t);
	if ((t = spin_holder(&st->reclaim_lock)) != 0)
		report(ctx, "reclaim lock", 0, t);
	for (uint32_t i = 0; i < m->N_BUCKETS; i++) {
		uint64_t v = __atomic_load_n(&bucket_at(m, i)->lock, __ATOMIC_RELAXED);
		if (BUCKET_SEQ(v) & 1)
			report(ctx, "bucket lock", i, BUCKET_HOLDER(v));
	}
	uint32_t bump = st->bump < m->N_ELEMS ? st->bump : m->N_ELEMS;
	for (uint32_t link = 1; link <= bump; link++) {
		const struct htab_elem *e = elem_at(m, link);
		uint8_t state = get_state(e);
		if (state == ELEM_PENDING || state == ELEM_UNLINKED)
			report(ctx, "element", link - 1, get_owner(e));
		else if (state == ELEM_SPARE)
			report(ctx, "spare element", link - 1, get_owner(e));
	}
	if (!is_percpu(m) && !is_of_maps(m))
		map_report_value_locks(m, m->values + m->KEY_ROUND, bump, m->ELEM_WIN, report, ctx);
}

/* bpfvm_map_reclaim(), and an open that finds a user dead. */
static void htab_reclaim(bpfvm_map *m)
{
	reclaim(m);
	if (!is_percpu(m) && !is_of_maps(m))
		map_release_dead_value_locks(m, m->values + m->KEY_ROUND, m->N_ELEMS, m->ELEM_WIN);
}

/* Checked runs: each element's window is [key, rounded to 8 | value, or
 * every CPU's value] and only the value part is the program's: a write
 * through a value pointer at -8 would otherwise rewrite the element's key
 * (and a walk of the table then never ends).  A hash_of_maps value is the
 * map's own (programs get the inner map, never a pointer into it). */
static void htab_checked_region(const bpfvm_map *m, struct map_region_desc *out)
{
	bool holds_values = !is_of_maps(m);
	*out = (struct map_region_desc){
		.stride = m->ELEM_WIN,
		.value_off = m->KEY_ROUND,
		.value_len = holds_values ? m->ELEM_WIN - m->KEY_ROUND : 0,
		.lock_off = m->spin_lock_off >= 0 ? (int32_t)m->KEY_ROUND + m->spin_lock_off : -1,
	};
}

#define HTAB_COMMON \
	.reclaim = htab_reclaim, \
	.holders = htab_holders, \
	.check = htab_check, \
	.layout = htab_layout, \
	.attach = htab_attach, \
	.sys_lookup = htab_sys_lookup, \
	.sys_delete = htab_sys_delete, \
	.sys_get_next_key = htab_get_next_key, \
	.lookup = htab_lookup, \
	.checked_region = htab_checked_region

const struct map_ops map_hash_ops = {
	HTAB_COMMON,
	.destroy = htab_destroy,
	.pinnable = true,
	.sys_update = plain_sys_update,
	.sys_lookup_and_delete = htab_sys_lookup_and_delete,
	.update = htab_plain_update,
	.delete = htab_prog_delete,
	.for_each = htab_for_each,
};

const struct map_ops map_percpu_hash_ops = {
	HTAB_COMMON,
	.pinnable = true,
	.sys_update = htab_sys_update,
	.sys_lookup_and_delete = htab_sys_lookup_and_delete,
	.lookup_percpu = htab_lookup_percpu,
	.update = htab_prog_update,
	.delete = htab_prog_delete,
	.for_each = htab_for_each,
};

const struct map_ops map_lru_hash_ops = {
	HTAB_COMMON,
	.pinnable = true,
	.sys_update = htab_sys_update,
	.sys_lookup_and_delete = htab_sys_lookup_and_delete,
	.update = htab_prog_update,
	.delete = htab_prog_delete,
	.for_each = htab_for_each,
};

const struct map_ops map_lru_percpu_hash_ops = {
	HTAB_COMMON,
	.pinnable = true,
	.sys_update = htab_sys_update,
	.sys_lookup_and_delete = htab_sys_lookup_and_delete,
	.lookup_percpu = htab_lookup_percpu,
	.update = htab_prog_update,
	.delete = htab_prog_delete,
	.for_each = htab_for_each,
};

const struct map_ops map_hash_of_maps_ops = {
	HTAB_COMMON,
	.destroy = htab_destroy,
	.pinnable = false,
	.only_helpers = MAP_HELPER_BIT(MAP_HELPER_LOOKUP),   /* the inner map */
	.sys_update = of_maps_sys_update,
	.delete = htab_prog_delete,
};
