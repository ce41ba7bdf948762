/*
 * map_internal.h - what the map files share: the process-local map object,
 * the per-type operations table, the arena header and layout, and the small
 * primitives every type uses (cross-process spin locks, value copies that
 * race benignly with programs' atomics, index links).
 *
 * The split between process-local and shared state is the heart of the
 * design: struct bpfvm_map lives in one process and points into the arena;
 * everything another process needs (definition, counts, locks, links,
 * values) lives in the arena, addressed by offsets and indices only.
 */
#ifndef BPFVM_MAPS_MAP_INTERNAL_H
#define BPFVM_MAPS_MAP_INTERNAL_H

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bpfvm/maps.h"
#include "base/cpus.h"
#include "isa/isa.h"
#include "maps/array_layout.h"
#include "maps/owner.h"
#include "maps/map_region.h"

#define MAP_ENOTSUPP BPFVM_ENOTSUPP

/* ---- arena ----------------------------------------------------------- */

#define ARENA_MAGIC 0x50414d4d56465042ULL  /* "BPFVMMAP" little-endian */
#define ARENA_VERSION 6u   /* 2: hash bucket locks are sequence locks; 3: hash spares;
                            * 4: lock words hold owner tokens, the users table;
                            * 5: queue/stack ends in one word, LPM node owners;
                            * 6: timer_off, wq_off */
#define ARENA_NO_INDEX UINT32_MAX          /* the null link */

/* At offset 0 of every arena.  Written once at creation (before the arena
 * is visible to anyone else) and read-only afterwards, so no locking. */
struct arena_header {
	uint64_t magic;
	uint32_t version;
	uint32_t possible_cpus;
	uint64_t file_size;     /* bytes of the backing file */
	uint64_t map_size;      /* bytes mapped: file_size, plus the ring buffer's alias */
	uint64_t values_off;    /* the window programs may access */
	uint64_t values_len;
	uint32_t page_size;
	uint32_t type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;   /* as adjusted at creation, like the kernel does */
	uint32_t map_flags;
	uint64_t map_extra;
	int32_t spin_lock_off;
	uint32_t hash_seed;
	int32_t timer_off, wq_off;   /* bpfvm_map_fields, -1: none */
	char name[16];
};

/* Right after the header: the processes that have the map open (owner
 * tokens, 0: a free slot), so that an open finding one of them dead
 * reclaims what it held.  At most ARENA_USERS are tracked at a time; a
 * process that finds no slot is not tracked (its locks are still taken
 * over when it dies, and a reclaim then frees what it held). */
#define ARENA_USERS 64u
struct arena_users {
	uint32_t token[ARENA_USERS];   /* atomic */
};

/* Where each part of an arena goes; computed from the definition alone, so
 * a process opening a pinned map recomputes it and checks it matches. */
struct arena_layout {
	size_t size;            /* running total of the file's bytes */
	size_t values_off, values_len;
	size_t alias_off, alias_len;   /* ring buffer: second mapping of the data */
};

/* Reserves `size` bytes aligned to `align` (a power of two); returns the offset. */
static inline size_t layout_add(struct arena_layout *lay, size_t size, size_t align)
{
	size_t off = (lay->size + align - 1) & ~(align - 1);
	lay->size = off + size;
	return off;
}

/* ---- the map object --------------------------------------------------- */

struct map_ops;

/* What a type reports of a held lock or an element/record in flight:
 * `what` a static description, `index` which one, `token` its holder. */
typedef void (*map_holder_fn)(void *ctx, const char *what, uint64_t index, uint32_t token);

struct bpfvm_map {
	uint32_t refcount;            /* atomic */
	uint32_t id;
	const struct map_ops *ops;
	/* The definition, copied from the arena header. */
	uint32_t type, key_size, value_size, max_entries, map_flags;
	uint64_t map_extra;
	int32_t spin_lock_off;
	int32_t timer_off, wq_off;    /* bpfvm_map_fields, -1: none */
	/* The value's special fields (the lock, the timer, the workqueue), by
	 * offset: bytes no copy from or to a value's user writes or reads
	 * (map_note_special_fields) */
	uint8_t special_count;
	struct map_special { uint32_t off, size; } special[3];
	char name[16];
	unsigned ncpus;               /* possible CPUs = per-CPU slots */
	uint32_t value_stride;        /* round_up(value_size, 8) */
	/* The arena. */
	int fd;                       /* the backing file */
	uint8_t *base;
	size_t map_size;
	struct arena_header *hdr;
	uint8_t *values;              /* base + values_off */
	size_t values_len;
	bool backed_by_memfd;         /* no directory entry can be made */
	struct arena_users *users;    /* right after the header */
	/* Type-specific: offsets into the arena and process-local tables. */
	void *state;                  /* the type's shared state in the arena */
	size_t off[6];                /* the type's sections, named by the type */
	uint32_t n[4];                /* the type's counts (buckets, slots, ...) */
	void *local;                  /* process-local side table, or NULL */
	bpfvm_map *inner_template;    /* map-in-map: referenced template */
	uint32_t reclaim_due;         /* atomic: a lock was taken over from a dead holder
	                               * while a reclaim could not run; the type pays it */
};

/* The kinds of helper that take a map, as a map type names those it is
 * restricted to (the maps layer is below the helpers: each helper's
 * descriptor says which kind it is). */
enum map_helper_kind {
	MAP_HELPER_NONE = 0,        /* takes no map (or an embedder's helper) */
	MAP_HELPER_LOOKUP,          /* map_lookup_elem */
	MAP_HELPER_CHANGE,          /* map_update_elem, map_delete_elem */
	MAP_HELPER_LOOKUP_PERCPU,   /* map_lookup_percpu_elem */
	MAP_HELPER_ITERATE,         /* for_each_map_elem */
	MAP_HELPER_PUSH,            /* map_push_elem */
	MAP_HELPER_POP,             /* map_pop_elem */
	MAP_HELPER_PEEK,            /* map_peek_elem */
	MAP_HELPER_TAIL_CALL,       /* tail_call */
	MAP_HELPER_PERF_OUTPUT,     /* perf_event_output */
	MAP_HELPER_RINGBUF,         /* ringbuf_output, ringbuf_reserve, ringbuf_query */
	MAP_HELPER_STACKID,         /* get_stackid */
	MAP_HELPER_REDIRECT,        /* redirect_map */
};
#define MAP_HELPER_BIT(kind) (1u << (kind))

/* One per map type.  User-space operations (sys_*) get flags already
 * checked for what is common to all types, and may fill err; program-side
 * ones return the helper's value. Missing entries mean "not supported". */
struct map_ops {
	/* Creation: kernel-like attribute checks, then the arena's layout
	 * (also on open), then initialising a fresh arena (create only),
	 * then process-local setup (create and open), and teardown. */
	int (*check)(const bpfvm_map_def *def, unsigned ncpus, bpfvm_error *err);
	int (*layout)(bpfvm_map *map, struct arena_layout *lay, bpfvm_error *err);
	int (*init)(bpfvm_map *map, bpfvm_error *err);
	int (*attach)(bpfvm_map *map, bpfvm_error *err);
	void (*destroy)(bpfvm_map *map);
	bool pinnable;
	/* MAP_HELPER_BIT()s of the only helpers a program may pass a map of
	 * this type to (the map side of the kernel's
	 * check_map_func_compatibility); 0: any helper that takes its type */
	uint32_t only_helpers;
	/* user space */
	int (*sys_lookup)(bpfvm_map *map, const void *key, void *value, uint64_t flags, bpfvm_error *err);
	int (*sys_update)(bpfvm_map *map, const void *key, const void *value, uint64_t flags, bpfvm_error *err);
	int (*sys_delete)(bpfvm_map *map, const void *key, bpfvm_error *err);
	int (*sys_get_next_key)(bpfvm_map *map, const void *key, void *next_key, bpfvm_error *err);
	int (*sys_lookup_and_delete)(bpfvm_map *map, const void *key, void *value, uint64_t flags, bpfvm_error *err);
	/* program side */
	void *(*lookup)(bpfvm_map *map, const void *key);
	void *(*lookup_percpu)(bpfvm_map *map, const void *key, uint32_t cpu);
	long (*update)(bpfvm_map *map, const void *key, const void *value, uint64_t flags);
	long (*delete)(bpfvm_map *map, const void *key);
	long (*push)(bpfvm_map *map, const void *value, uint64_t flags);
	long (*pop)(bpfvm_map *map, void *value);
	long (*peek)(bpfvm_map *map, void *value);
	long (*for_each)(bpfvm_map *map, bpfvm_map_for_each_fn cb, void *ctx);
	/* engines: how a lookup may be open-coded, as the kernel's
	 * map_gen_lookup (array_layout.h); NULL: it must be called */
	bool (*gen_lookup)(const bpfvm_map *map, struct array_layout *out);
	/* crash safety (holders.c): frees what dead processes held and
	 * repairs what they left half-done, with every lock of the map taken
	 * in its order (at an open that finds a dead user, and on request);
	 * and reports every lock held and every element or record in
	 * flight with its holder's token.  NULL: the type has none. */
	void (*reclaim)(bpfvm_map *map);
	void (*holders)(const bpfvm_map *map, map_holder_fn report, void *ctx);
	/* checked runs: what of the values window a program may touch
	 * (map_region.h); NULL: values only, every value_stride bytes */
	void (*checked_region)(const bpfvm_map *map, struct map_region_desc *out);
};

extern const struct map_ops map_hash_ops, map_percpu_hash_ops, map_lru_hash_ops,
	map_lru_percpu_hash_ops, map_hash_of_maps_ops;
extern const struct map_ops map_array_ops, map_percpu_array_ops;
extern const struct map_ops map_prog_array_ops, map_perf_event_array_ops, map_array_of_maps_ops;
extern const struct map_ops map_lpm_trie_ops, map_queue_ops, map_stack_ops;
extern const struct map_ops map_bloom_filter_ops, map_ringbuf_ops, map_stack_trace_ops;
extern const struct map_ops map_devmap_ops, map_devmap_hash_ops, map_cpumap_ops, map_xskmap_ops;

/* ---- shared helpers (map.c, arena.c) ---------------------------------- */

/* error_set() with insn = -1: map errors are never about an instruction. */
#define map_error(err, code, ...) error_set((err), (code), -1, __VA_ARGS__)

const char *map_type_label(uint32_t type);   /* "hash", or "type 99" style "?" */

/* Common creation checks the kernel makes for several types. */
bool map_flags_access_ok(uint32_t flags);

/* As bpfvm_map_create, but the arena is anonymous memory (a memfd, pages
 * allocated on first touch): the pin directory is neither made nor used,
 * and the map cannot be pinned.  For callers that must leave no trace,
 * such as `bpfvm verify`. */
int map_create_anonymous(const bpfvm_map_def *def, bpfvm_map **out, bpfvm_error *err);

/* arena.c: create or open the mapping behind a map; ringbuf maps ask for
 * their data to be mapped a second time right after the file.  An
 * anonymous arena never touches the pin directory. */
int arena_create(bpfvm_map *map, const struct arena_layout *lay, bool anonymous, bpfvm_error *err);
int arena_open(const char *path, bpfvm_map *map, struct arena_header *hdr, bpfvm_error *err);
/* As arena_open, from a descriptor (map owns fd, even on failure); `what` names it in messages. */
int arena_open_fd(int fd, const char *what, bpfvm_map *map, struct arena_header *hdr, bpfvm_error *err);
/* map.c: a map from an arena's descriptor (bpfvm_map_receive); fd is the map's, even on failure. */
int map_open_fd(int fd, const char *what, bpfvm_map **out, bpfvm_error *err);
int arena_map_file(bpfvm_map *map, int fd, const struct arena_layout *lay, bpfvm_error *err);
void arena_destroy(bpfvm_map *map);
int arena_pin(bpfvm_map *map, const char *path, bpfvm_error *err);
const char *arena_pin_dir(void);
size_t arena_page_size(void);
/* 0 if a map of `size` bytes may be created: within BPFVM_MAP_MEMORY_MAX
 * (if set) and the memory the machine has available; else -ENOMEM (or
 * -EINVAL for a malformed cap) with err saying which. */
int arena_charge(size_t size, bpfvm_error *err);

/* holders.c: the users table (at create and open, and when the map
 * object goes), and the lock words of values with a struct bpf_spin_lock
 * (`count` values of `stride` bytes from `first`), for types' holders(). */
void map_users_attach(bpfvm_map *map);
void map_users_detach(bpfvm_map *map);
void map_report_value_locks(const bpfvm_map *map, const uint8_t *first, uint64_t count, size_t stride,
                            map_holder_fn report, void *ctx);
/* Frees those of them whose holder is dead (a type's reclaim). */
void map_release_dead_value_locks(const bpfvm_map *map, uint8_t *first, uint64_t count, size_t stride);
/* map.c: a value's bpf_spin_lock for checked runs: taken (0; also from a
 * holder found dead), or -ETIMEDOUT once it has read as held by a live
 * holder for wait_ns. */
int bpfvm_map_spin_lock_bounded(void *lock, uint64_t wait_ns);

/* map.c: possible CPUs and the calling thread's slot. */
unsigned map_this_cpu(const bpfvm_map *map);
uint32_t map_random_u32(void);

/* Shared between type files. */
int array_check(const bpfvm_map_def *def, bpfvm_error *err);
int array_get_next_key(bpfvm_map *map, const void *key, void *next_key, bpfvm_error *err);
/* Map-in-map: checks a template at creation, and an inner map against the
 * template (bpf_map_meta_alloc(), bpf_map_meta_equal()). */
int map_inner_template_check(const bpfvm_map_def *def, bpfvm_error *err);
int map_inner_compatible(const bpfvm_map *outer, const bpfvm_map *inner, bpfvm_error *err);
/* hash.c: bpfvm_map_set_inner() for hash_of_maps. */
int map_hash_of_maps_set(bpfvm_map *m, const void *key, bpfvm_map *inner, uint64_t flags, bpfvm_error *err);
/* hash.c, for tests: the element pool's accounting.  With no update in
 * flight, free + count + spares == elems (a free list with a cycle
 * counts more than elems). */
struct map_hash_pool_stats {
	uint32_t elems;       /* elements in the arena */
	uint32_t free;        /* on the free list or never used */
	uint32_t count;       /* in the table */
	uint32_t spares;      /* held (or lost) as threads' spares */
	uint32_t spare_cap;
};
void map_hash_pool_stats(const bpfvm_map *m, struct map_hash_pool_stats *out);
/* stack_trace.c, for bpf_get_stackid: the bytes of one frame (8, or a
 * build id record's 32), and storing nr frames whose addresses hash to
 * `hash` (jhash2): the stack's id, or the kernel's -EEXIST, -ENOMEM. */
uint32_t map_stack_trace_elem_size(const bpfvm_map *m);
long map_stack_trace_get_id(bpfvm_map *m, uint32_t hash, const void *frames, uint32_t nr, uint64_t flags);
/* The process's live maps by id (the fd-style interface of map-in-map). */
void map_registry_add(bpfvm_map *map);
void map_registry_remove(bpfvm_map *map);
bpfvm_map *map_get_by_id(uint32_t id);

/* ---- primitives -------------------------------------------------------- */

static inline uint32_t round_up8(uint32_t n) { return (n + 7u) & ~7u; }

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Cross-process spin locks (spin_lock(), spin_unlock(), spin_trylock())
 * are owner.h's: a lock word holds its holder's owner token, and a lock
 * whose holder died is taken over (spin_lock() then returns true). */

/* Copies between user buffers and values in the arena.  Programs may be
 * doing atomics on the same value at the same time (as in the kernel);
 * doing the arena side with relaxed atomic accesses makes that race
 * well-defined (and invisible to ThreadSanitizer) without a lock.  The
 * arena side is always 8-byte aligned. */
static inline void arena_store(void *arena_dst, const void *src, size_t n)
{
	uint8_t *d = arena_dst;
	const uint8_t *s = src;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		__atomic_store_n((uint64_t *)(void *)(d + i), w, __ATOMIC_RELAXED);
	}
	if (i + 4 <= n) {   /* aligned: i is a multiple of 8 */
		uint32_t w;
		memcpy(&w, s + i, 4);
		__atomic_store_n((uint32_t *)(void *)(d + i), w, __ATOMIC_RELAXED);
		i += 4;
	}
	for (; i < n; i++)
		__atomic_store_n(d + i, s[i], __ATOMIC_RELAXED);
}

/* Whether n arena bytes equal buf, read in the pieces arena_store()
 * writes, so that a reader racing with a writer (hash lookups without the
 * bucket lock, which then find out and retry) is well-defined too. */
static inline bool arena_equal(const void *arena_src, const void *buf, size_t n)
{
	const uint8_t *a = arena_src, *b = buf;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w = __atomic_load_n((const uint64_t *)(const void *)(a + i), __ATOMIC_RELAXED), v;
		memcpy(&v, b + i, 8);
		if (w != v)
			return false;
	}
	if (i + 4 <= n) {
		uint32_t w = __atomic_load_n((const uint32_t *)(const void *)(a + i), __ATOMIC_RELAXED), v;
		memcpy(&v, b + i, 4);
		if (w != v)
			return false;
		i += 4;
	}
	for (; i < n; i++)
		if (__atomic_load_n(a + i, __ATOMIC_RELAXED) != b[i])
			return false;
	return true;
}

static inline void arena_load(void *dst, const void *arena_src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = arena_src;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w = __atomic_load_n((const uint64_t *)(const void *)(s + i), __ATOMIC_RELAXED);
		memcpy(d + i, &w, 8);
	}
	if (i + 4 <= n) {
		uint32_t w = __atomic_load_n((const uint32_t *)(const void *)(s + i), __ATOMIC_RELAXED);
		memcpy(d + i, &w, 4);
		i += 4;
	}
	for (; i < n; i++)
		d[i] = __atomic_load_n(s + i, __ATOMIC_RELAXED);
}

static inline void arena_zero(void *arena_dst, size_t n)
{
	uint8_t *d = arena_dst;
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		__atomic_store_n((uint64_t *)(void *)(d + i), 0, __ATOMIC_RELAXED);
	if (i + 4 <= n) {
		__atomic_store_n((uint32_t *)(void *)(d + i), 0, __ATOMIC_RELAXED);
		i += 4;
	}
	for (; i < n; i++)
		__atomic_store_n(d + i, 0, __ATOMIC_RELAXED);
}

/* Arena-to-arena copy (e.g. a hash value moving into a fresh element). */
static inline void arena_copy(void *arena_dst, const void *arena_src, size_t n)
{
	uint8_t buf[256];
	for (size_t done = 0; done < n; done += sizeof buf) {
		size_t chunk = n - done < sizeof buf ? n - done : sizeof buf;
		arena_load(buf, (const uint8_t *)arena_src + done, chunk);
		arena_store((uint8_t *)arena_dst + done, buf, chunk);
	}
}

/* Fills map->special from its spin_lock_off, timer_off and wq_off. */
static inline void map_note_special_fields(bpfvm_map *map)
{
	const struct map_special all[3] = {
		{ (uint32_t)map->spin_lock_off, 4 }, { (uint32_t)map->timer_off, 16 }, { (uint32_t)map->wq_off, 16 },
	};
	const bool present[3] = { map->spin_lock_off >= 0, map->timer_off >= 0, map->wq_off >= 0 };
	map->special_count = 0;
	for (int i = 0; i < 3; i++) {
		if (!present[i])
			continue;
		/* insertion by offset (the three never overlap: map.c checks) */
		uint8_t at = map->special_count++;
		while (at && map->special[at - 1].off > all[i].off) {
			map->special[at] = map->special[at - 1];
			at--;
		}
		map->special[at] = all[i];
	}
}

/* Value copies that honour the special fields of the value, as the
 * kernel's copy_map_value() does: a struct bpf_spin_lock, bpf_timer or
 * bpf_wq is never copied, so an update cannot unlock or corrupt a held
 * lock (nor touch a timer).  value_in writes an arena value from a
 * user/program buffer; value_out reads one and zeroes the fields in the
 * copy (check_and_init_map_value()). */
static inline void value_in(const bpfvm_map *map, void *arena_dst, const void *src, size_t n)
{
	size_t at = 0;
	for (uint8_t i = 0; i < map->special_count; i++) {
		size_t lo = map->special[i].off;
		arena_store((uint8_t *)arena_dst + at, (const uint8_t *)src + at, lo - at);
		at = lo + map->special[i].size;
	}
	arena_store((uint8_t *)arena_dst + at, (const uint8_t *)src + at, n - at);
}

static inline void value_out(const bpfvm_map *map, void *dst, const void *arena_src, size_t n)
{
	size_t at = 0;
	for (uint8_t i = 0; i < map->special_count; i++) {
		size_t lo = map->special[i].off;
		arena_load((uint8_t *)dst + at, (const uint8_t *)arena_src + at, lo - at);
		memset((uint8_t *)dst + lo, 0, map->special[i].size);
		at = lo + map->special[i].size;
	}
	arena_load((uint8_t *)dst + at, (const uint8_t *)arena_src + at, n - at);
}

/* The same under the value's own spin lock (BPF_F_LOCK). */
static inline void value_in_locked(const bpfvm_map *map, void *arena_dst, const void *src, size_t n)
{
	uint32_t *lock = (uint32_t *)(void *)((uint8_t *)arena_dst + map->spin_lock_off);
	spin_lock(lock);
	value_in(map, arena_dst, src, n);
	spin_unlock(lock);
}

static inline void value_out_locked(const bpfvm_map *map, void *dst, const void *arena_src, size_t n)
{
	uint32_t *lock = (uint32_t *)(void *)((uint8_t *)arena_src + map->spin_lock_off);
	spin_lock(lock);
	value_out(map, dst, arena_src, n);
	spin_unlock(lock);
}

/* Keys in the arena are written once while an element is private and read
 * under its bucket lock, so plain memcmp/memcpy are fine for them. */

/* ---- jhash: the kernel's hash (Bob Jenkins' lookup3), needed bit for bit
 * so that hash iteration order and bloom filter bits match the kernel's. */

static inline uint32_t jh_rol(uint32_t w, unsigned s) { return (w << s) | (w >> ((32 - s) & 31)); }

#define JH_MIX(a, b, c) do { \
	a -= c; a ^= jh_rol(c, 4);  c += b; \
	b -= a; b ^= jh_rol(a, 6);  a += c; \
	c -= b; c ^= jh_rol(b, 8);  b += a; \
	a -= c; a ^= jh_rol(c, 16); c += b; \
	b -= a; b ^= jh_rol(a, 19); a += c; \
	c -= b; c ^= jh_rol(b, 4);  b += a; } while (0)

#define JH_FINAL(a, b, c) do { \
	c ^= b; c -= jh_rol(b, 14); \
	a ^= c; a -= jh_rol(c, 11); \
	b ^= a; b -= jh_rol(a, 25); \
	c ^= b; c -= jh_rol(b, 16); \
	a ^= c; a -= jh_rol(c, 4);  \
	b ^= a; b -= jh_rol(a, 14); \
	c ^= b; c -= jh_rol(b, 24); } while (0)

#define JHASH_INITVAL 0xdeadbeefu

static inline uint32_t jhash_bytes(const void *key, uint32_t length, uint32_t initval)
{
	const uint8_t *k = key;
	uint32_t a, b, c;
	a = b = c = JHASH_INITVAL + length + initval;
	while (length > 12) {
		uint32_t w[3];
		memcpy(w, k, 12);
		a += w[0];
		b += w[1];
		c += w[2];
		JH_MIX(a, b, c);
		length -= 12;
		k += 12;
	}
	switch (length) {
	case 12: c += (uint32_t)k[11] << 24; /* fall through */
	case 11: c += (uint32_t)k[10] << 16; /* fall through */
	case 10: c += (uint32_t)k[9] << 8;   /* fall through */
	case 9:  c += k[8];                  /* fall through */
	case 8:  b += (uint32_t)k[7] << 24;  /* fall through */
	case 7:  b += (uint32_t)k[6] << 16;  /* fall through */
	case 6:  b += (uint32_t)k[5] << 8;   /* fall through */
	case 5:  b += k[4];                  /* fall through */
	case 4:  a += (uint32_t)k[3] << 24;  /* fall through */
	case 3:  a += (uint32_t)k[2] << 16;  /* fall through */
	case 2:  a += (uint32_t)k[1] << 8;   /* fall through */
	case 1:  a += k[0];
		JH_FINAL(a, b, c);
		break;
	default:
		break;
	}
	return c;
}

/* jhash2: over `words` 32-bit words (read unaligned-safe). */
static inline uint32_t jhash_words(const void *key, uint32_t words, uint32_t initval)
{
	const uint8_t *k = key;
	uint32_t a, b, c;
	a = b = c = JHASH_INITVAL + (words << 2) + initval;
	while (words > 3) {
		uint32_t w[3];
		memcpy(w, k, 12);
		a += w[0];
		b += w[1];
		c += w[2];
		JH_MIX(a, b, c);
		words -= 3;
		k += 12;
	}
	uint32_t w[3] = { 0, 0, 0 };
	memcpy(w, k, words * 4);
	switch (words) {
	case 3: c += w[2]; /* fall through */
	case 2: b += w[1]; /* fall through */
	case 1: a += w[0];
		JH_FINAL(a, b, c);
		break;
	default:
		break;
	}
	return c;
}

/* The hash table's key hash (htab_map_hash()). */
static inline uint32_t map_key_hash(const void *key, uint32_t key_len, uint32_t seed)
{
	if ((key_len & 3) == 0)
		return jhash_words(key, key_len / 4, seed);
	return jhash_bytes(key, key_len, seed);
}

/* Bounds-checked link: programs in checked mode can only write the value
 * window, but a corrupted or foreign arena must still never send us out
 * of bounds, so every index read from shared memory is checked. */
static inline bool index_ok(uint32_t idx, uint32_t limit) { return idx < limit; }

#endif
