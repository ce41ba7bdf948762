/*
 * maps.h - bpfvm's eBPF maps: the kernel's map types, numbers and semantics
 * in user space.
 *
 * Owns: the map definition, the user-space operations (which copy keys and
 * values in and out exactly like the bpf() syscall's BPF_MAP_* commands and
 * return the kernel's error codes), the program-side operations that helper
 * implementations call (which behave like the kernel's bpf_map_* helpers and
 * return what they return), pinning a map's storage to a file so another
 * process can open it, the ring buffer and perf buffer consumers, and the
 * table of map type names.
 *
 * Storage: every map keeps its state in one arena, a single shared mapping
 * of a file on tmpfs, with internal links stored as indices and locks that
 * work across processes.  Values handed to programs are pointers into the
 * arena's value window (bpfvm_map_arena()), which holds values (a hash
 * map's keys beside them) and ring data, never the map's other bookkeeping.
 *
 * Conventions as in bpfvm.h: fallible user-space functions return 0 (or a
 * count) or a negative errno and fill the optional bpfvm_error.  Program-side
 * functions return what the kernel helper would and take no error struct.
 * Nothing prints, exits or aborts.  Every function is thread-safe.
 */
#ifndef BPFVM_MAPS_H
#define BPFVM_MAPS_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "bpfvm/api.h"
#include "bpfvm/bpfvm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- constants (the kernel's values, from <linux/bpf.h>) ------------- */

/* Map types, numbered as enum bpf_map_type. */
enum bpfvm_map_type {
	BPFVM_MAP_TYPE_UNSPEC = 0,
	BPFVM_MAP_TYPE_HASH = 1,
	BPFVM_MAP_TYPE_ARRAY = 2,
	BPFVM_MAP_TYPE_PROG_ARRAY = 3,
	BPFVM_MAP_TYPE_PERF_EVENT_ARRAY = 4,
	BPFVM_MAP_TYPE_PERCPU_HASH = 5,
	BPFVM_MAP_TYPE_PERCPU_ARRAY = 6,
	BPFVM_MAP_TYPE_STACK_TRACE = 7,
	BPFVM_MAP_TYPE_CGROUP_ARRAY = 8,
	BPFVM_MAP_TYPE_LRU_HASH = 9,
	BPFVM_MAP_TYPE_LRU_PERCPU_HASH = 10,
	BPFVM_MAP_TYPE_LPM_TRIE = 11,
	BPFVM_MAP_TYPE_ARRAY_OF_MAPS = 12,
	BPFVM_MAP_TYPE_HASH_OF_MAPS = 13,
	BPFVM_MAP_TYPE_DEVMAP = 14,
	BPFVM_MAP_TYPE_SOCKMAP = 15,
	BPFVM_MAP_TYPE_CPUMAP = 16,
	BPFVM_MAP_TYPE_XSKMAP = 17,
	BPFVM_MAP_TYPE_SOCKHASH = 18,
	BPFVM_MAP_TYPE_CGROUP_STORAGE = 19,
	BPFVM_MAP_TYPE_REUSEPORT_SOCKARRAY = 20,
	BPFVM_MAP_TYPE_PERCPU_CGROUP_STORAGE = 21,
	BPFVM_MAP_TYPE_QUEUE = 22,
	BPFVM_MAP_TYPE_STACK = 23,
	BPFVM_MAP_TYPE_SK_STORAGE = 24,
	BPFVM_MAP_TYPE_DEVMAP_HASH = 25,
	BPFVM_MAP_TYPE_STRUCT_OPS = 26,
	BPFVM_MAP_TYPE_RINGBUF = 27,
	BPFVM_MAP_TYPE_INODE_STORAGE = 28,
	BPFVM_MAP_TYPE_TASK_STORAGE = 29,
	BPFVM_MAP_TYPE_BLOOM_FILTER = 30,
	BPFVM_MAP_TYPE_USER_RINGBUF = 31,
	BPFVM_MAP_TYPE_CGRP_STORAGE = 32,
	BPFVM_MAP_TYPE_ARENA = 33,
};

/* Update flags (the `flags` of BPF_MAP_UPDATE_ELEM and bpf_map_update_elem). */
#define BPFVM_ANY     0ULL   /* create or replace */
#define BPFVM_NOEXIST 1ULL   /* create only */
#define BPFVM_EXIST   2ULL   /* replace only; for queue/stack push: overwrite the oldest when full */
#define BPFVM_F_LOCK  4ULL   /* copy the value under its struct bpf_spin_lock */

/* Map creation flags (map_flags). */
#define BPFVM_F_NO_PREALLOC    (1U << 0)
#define BPFVM_F_NO_COMMON_LRU  (1U << 1)
#define BPFVM_F_NUMA_NODE      (1U << 2)
#define BPFVM_F_RDONLY         (1U << 3)   /* user space may not write */
#define BPFVM_F_WRONLY         (1U << 4)   /* user space may not read */
#define BPFVM_F_STACK_BUILD_ID (1U << 5)
#define BPFVM_F_ZERO_SEED      (1U << 6)   /* hash/bloom: seed 0, reproducible order */
#define BPFVM_F_RDONLY_PROG    (1U << 7)   /* programs may not write */
#define BPFVM_F_WRONLY_PROG    (1U << 8)   /* programs may not read */
#define BPFVM_F_CLONE          (1U << 9)
#define BPFVM_F_MMAPABLE       (1U << 10)
#define BPFVM_F_PRESERVE_ELEMS (1U << 11)
#define BPFVM_F_INNER_MAP      (1U << 12)

/* Ring buffer flags and bpf_ringbuf_query() selectors. */
#define BPFVM_RB_NO_WAKEUP    (1ULL << 0)
#define BPFVM_RB_FORCE_WAKEUP (1ULL << 1)
#define BPFVM_RB_AVAIL_DATA 0ULL
#define BPFVM_RB_RING_SIZE  1ULL
#define BPFVM_RB_CONS_POS   2ULL
#define BPFVM_RB_PROD_POS   3ULL
/* The 8-byte header in front of every ring buffer record. */
#define BPFVM_RINGBUF_BUSY_BIT    (1U << 31)
#define BPFVM_RINGBUF_DISCARD_BIT (1U << 30)
#define BPFVM_RINGBUF_HDR_SZ      8u

/* bpf_perf_event_output() flags. */
#define BPFVM_F_INDEX_MASK  0xffffffffULL
#define BPFVM_F_CURRENT_CPU BPFVM_F_INDEX_MASK

/* The kernel-internal ENOTSUPP (not EOPNOTSUPP), which bpf() does return
 * to user space for some operations; bpfvm returns it where the kernel does. */
#define BPFVM_ENOTSUPP 524

/* ---- maps ------------------------------------------------------------ */

typedef struct bpfvm_map bpfvm_map;

/* What bpf(BPF_MAP_CREATE) takes.  Start from BPFVM_MAP_DEF_INIT so that
 * spin_lock_off is -1: a zero offset means "a lock at offset 0". */
typedef struct bpfvm_map_def {
	uint32_t type;          /* enum bpfvm_map_type */
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t flags;         /* BPFVM_F_* creation flags */
	uint64_t map_extra;     /* bloom filter: number of hash functions (0: 5) */
	const char *name;       /* up to 15 of [A-Za-z0-9_.], copied; NULL: "" */
	bpfvm_map *inner;       /* map-in-map: the inner map template (not kept) */
	int32_t spin_lock_off;  /* offset of a struct bpf_spin_lock in the value, -1: none */
	/* The value's other fields the kernel finds through BTF and treats
	 * specially; NULL: none (so a definition written before they were
	 * added means none). */
	const struct bpfvm_map_fields *fields;
} bpfvm_map_def;

/* Offsets in a map's value of a struct bpf_timer and a struct bpf_wq
 * (16 bytes each, 8-aligned), -1: none.  Only hash, LRU hash and array
 * values may hold them, as in the kernel.  bpfvm implements neither the
 * bpf_timer_* helpers nor the bpf_wq_* kfuncs (a program calling them is
 * refused as unsupported); the offsets give the kernel's verifier rules
 * for such a map: tracing programs may not use it, and programs may not
 * load or store those bytes. */
typedef struct bpfvm_map_fields {
	int32_t timer_off;
	int32_t wq_off;
} bpfvm_map_fields;

#define BPFVM_MAP_DEF_INIT { .spin_lock_off = -1 }

/* Creates a map with one reference.  Types bpfvm does not implement are
 * refused with -EOPNOTSUPP and a message; an unknown type number, or a
 * definition the kernel would refuse, gets the kernel's code (-EINVAL,
 * -E2BIG, -BPFVM_ENOTSUPP, ...). */
BPFVM_API int bpfvm_map_create(const bpfvm_map_def *def, bpfvm_map **out, bpfvm_error *err);
/* References: a map is freed when its last reference is put.  Maps held in
 * map-in-map slots hold a reference each. */
BPFVM_API bpfvm_map *bpfvm_map_get(bpfvm_map *map);
BPFVM_API void bpfvm_map_put(bpfvm_map *map);

typedef struct bpfvm_map_info {
	uint32_t type;
	uint32_t id;             /* unique within the process, never 0 */
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t flags;
	uint64_t map_extra;
	int32_t spin_lock_off;
	int32_t timer_off;       /* bpfvm_map_fields, -1: none */
	int32_t wq_off;
	uint32_t possible_cpus;  /* per-CPU value slots */
	/* Bytes of the value buffer the user-space calls read and write:
	 * value_size, or possible_cpus * round_up(value_size, 8) for per-CPU
	 * maps, 4 (an id) for prog_array and map-in-map. */
	uint32_t user_value_size;
	bool pinnable;           /* false for maps holding process-local references */
	char name[16];
} bpfvm_map_info;

BPFVM_API void bpfvm_map_info_get(const bpfvm_map *map, bpfvm_map_info *info);
/* Number of possible CPUs, as libbpf_num_possible_cpus() counts them from
 * /sys/devices/system/cpu/possible (1 if that cannot be read). */
BPFVM_API unsigned bpfvm_map_possible_cpus(void);

/* Map type names as bpftool prints them ("hash", "lru_percpu_hash", ...).
 * _type_name returns NULL for an unknown number; _type_by_name returns
 * -EINVAL for an unknown name.  _type_supported says whether bpfvm_map_create
 * accepts the type. */
BPFVM_API const char *bpfvm_map_type_name(uint32_t type);
BPFVM_API int bpfvm_map_type_by_name(const char *name, uint32_t *type);
BPFVM_API bool bpfvm_map_type_supported(uint32_t type);

/* ---- user space: copies, like bpf(BPF_MAP_*) ------------------------- */

/* Values are user_value_size bytes (see bpfvm_map_info).  Keys are NULL
 * for queue, stack and bloom filter (key_size 0).  flags: 0 or
 * BPFVM_F_LOCK (maps with a spin lock). */
BPFVM_API int bpfvm_map_lookup(bpfvm_map *map, const void *key, void *value, uint64_t flags,
                     bpfvm_error *err);
/* flags: BPFVM_ANY/NOEXIST/EXIST, optionally | BPFVM_F_LOCK.  For queue,
 * stack and bloom filter this pushes (key NULL). */
BPFVM_API int bpfvm_map_update(bpfvm_map *map, const void *key, const void *value, uint64_t flags,
                     bpfvm_error *err);
BPFVM_API int bpfvm_map_delete(bpfvm_map *map, const void *key, bpfvm_error *err);
/* key NULL (or a key not in the map) gives the first key. -ENOENT after
 * the last one. */
BPFVM_API int bpfvm_map_get_next_key(bpfvm_map *map, const void *key, void *next_key,
                           bpfvm_error *err);
/* Hash types (flags 0 or BPFVM_F_LOCK) and queue/stack (pop; key NULL,
 * flags 0). */
BPFVM_API int bpfvm_map_lookup_and_delete(bpfvm_map *map, const void *key, void *value,
                                uint64_t flags, bpfvm_error *err);
/* Queue, stack, bloom filter: update/lookup/lookup_and_delete by other names. */
BPFVM_API int bpfvm_map_push(bpfvm_map *map, const void *value, uint64_t flags, bpfvm_error *err);
BPFVM_API int bpfvm_map_peek(bpfvm_map *map, void *value, bpfvm_error *err);
BPFVM_API int bpfvm_map_pop(bpfvm_map *map, void *value, bpfvm_error *err);

/* prog_array: store an opaque program pointer at `index` (delete the
 * index to clear it).  `prog_id` is what user-space lookups return (the
 * kernel returns the program's id).  Errors as for the kernel's fd update:
 * -EINVAL for flags other than BPFVM_ANY, -E2BIG for an index out of
 * range, -EBADF for a NULL program.  (bpfvm_map_update() on a prog_array
 * has no programs to name and fails with -EBADF after the same checks.) */
BPFVM_API int bpfvm_map_set_prog(bpfvm_map *map, uint32_t index, void *prog, uint32_t prog_id,
                       uint64_t flags, bpfvm_error *err);
/* array_of_maps / hash_of_maps: store `inner` (a reference is taken) under
 * `key`.  -EINVAL if inner is not compatible with the outer map's template
 * (type, key and value size, flags other than RDONLY/WRONLY, spin lock,
 * and max_entries for arrays without BPFVM_F_INNER_MAP), as the kernel
 * checks.  bpfvm_map_update() does the same with the inner map's id as the
 * value (where the kernel takes an fd); user-space lookups return the id.
 * Removing an inner map puts its reference: a program still using it must
 * be covered by a reference of the embedder's (bpfvm has no RCU). */
BPFVM_API int bpfvm_map_set_inner(bpfvm_map *map, const void *key, bpfvm_map *inner,
                        uint64_t flags, bpfvm_error *err);

/* ---- pinning --------------------------------------------------------- */

/* Default directory of pins and of the files behind arenas (tmpfs), per
 * user: this prefix, '-' and the effective uid (/dev/shm/bpfvm-1000),
 * made 0700 when missing.  The environment variable BPFVM_PIN_DIR
 * overrides it. */
#define BPFVM_PIN_DIR_DEFAULT "/dev/shm/bpfvm"

/* The pin directory in effect: BPFVM_PIN_DIR if set and not empty, else
 * BPFVM_PIN_DIR_DEFAULT-UID. */
BPFVM_API const char *bpfvm_map_pin_dir(void);

/* Who may be trusted with a pin (README, "Who can see and change a pinned
 * map"): the directory holding it must belong to the caller (or root) and
 * be writable by no one else, or be a group's shared directory (setgid,
 * not world-writable) of a group the caller is in; it is never a symbolic
 * link.  A pin is used only when it is a regular file that belongs to the
 * caller, to root, or (in a shared directory) to that group, and is not
 * writable by others; it is never a symbolic link.  Anything else is
 * refused with -EPERM, -ELOOP, -ENOTDIR or -EINVAL and a message saying
 * why and what to do. */

/* Gives the map's arena a name in the file system so another process can
 * open it.  A relative path is taken under the pin directory; an absolute
 * path must be on the same file system as it (else -EXDEV).  The pin
 * appears whole or not at all (the arena's file is linked into place);
 * -EEXIST if the path exists.  In a group's shared directory the pin is
 * given to the group, mode 0660; elsewhere it is 0600.  Maps holding process-local references (prog_array,
 * perf_event_array, map-in-map) are refused with -EOPNOTSUPP.  Unpin by
 * unlinking the path. */
BPFVM_API int bpfvm_map_pin(bpfvm_map *map, const char *path, bpfvm_error *err);
/* Maps a pinned arena; the new map shares all state with every other
 * process that has it open.  The pin is checked as said above, and its
 * header (format version, sizes) against the file: a pin of another
 * format version, or damaged, is refused with -EINVAL naming it. */
BPFVM_API int bpfvm_map_open_pinned(const char *path, bpfvm_map **out, bpfvm_error *err);

/* Hands a map to another process over a connected Unix socket (stream or
 * datagram): its definition and the arena's descriptor (SCM_RIGHTS).  The
 * way to give a map to a process of another user, which cannot (and must
 * not) open the pin: the receiver gets read and write access to this one
 * map, nothing else.  Works for unpinned maps too; maps holding
 * process-local references are refused with -EOPNOTSUPP. */
BPFVM_API int bpfvm_map_send(int unix_sock, const bpfvm_map *map, bpfvm_error *err);
/* Receives a map bpfvm_map_send sent: the arena is checked and mapped as
 * bpfvm_map_open_pinned does (its header, format version and sizes), and
 * shares all state with the sender's map.  -ENOTCONN if the peer closed,
 * -EPROTO for anything that is not a bpfvm map's message. */
BPFVM_API int bpfvm_map_receive(int unix_sock, bpfvm_map **out, bpfvm_error *err);

/* The window of the arena programs may access: the values (beside their
 * keys in a hash map, and a ring buffer's data area, mapped twice), never
 * the map's bookkeeping.  Every pointer bpfvm_map_lookup_elem() or
 * bpfvm_map_ringbuf_reserve() returns lies in it.  A checked run lets a
 * program touch only the values in it (not keys, not bpf_spin_lock words
 * but through the lock helpers) and the samples it holds reserved, even
 * when the whole window is passed as a region.  len is 0 for maps that
 * hand out no pointers. */
BPFVM_API void bpfvm_map_arena(const bpfvm_map *map, void **base, size_t *len);

/* ---- ring buffer and perf buffer consumers (user space) -------------- */

/* Called once per committed record; a negative return stops consuming and
 * is returned. */
typedef int (*bpfvm_ringbuf_sample_fn)(void *ctx, void *data, size_t size);

/* Consumes every committed record available now, as libbpf's
 * ring_buffer__consume does; returns the number of records passed to cb
 * (discarded records are skipped) or a negative code. */
BPFVM_API int bpfvm_map_ringbuf_consume(bpfvm_map *map, bpfvm_ringbuf_sample_fn cb, void *ctx,
                              bpfvm_error *err);
/* Like consume, but when nothing is available waits up to timeout_ms
 * (-1: forever) for a producer's wakeup first. */
BPFVM_API int bpfvm_map_ringbuf_poll(bpfvm_map *map, bpfvm_ringbuf_sample_fn cb, void *ctx,
                           int timeout_ms, bpfvm_error *err);

/* perf_event_array: an entry is empty (outputs get -ENOENT) until a ring
 * is attached to it; ring_size is a power of two >= 4096 bytes.  The ring
 * holds perf records (PERF_RECORD_SAMPLE with raw data, PERF_RECORD_LOST). */
BPFVM_API int bpfvm_map_perf_attach(bpfvm_map *map, uint32_t index, size_t ring_size,
                          bpfvm_error *err);
BPFVM_API int bpfvm_map_perf_detach(bpfvm_map *map, uint32_t index, bpfvm_error *err);
/* As libbpf's perf_buffer callbacks: size is the raw sample size, padded so
 * that the record is 8-byte aligned. */
typedef void (*bpfvm_perf_sample_fn)(void *ctx, int cpu, void *data, uint32_t size);
typedef void (*bpfvm_perf_lost_fn)(void *ctx, int cpu, uint64_t lost);
/* Reads all records from every attached ring; returns the number of
 * records seen (samples and lost records). */
BPFVM_API int bpfvm_map_perf_consume(bpfvm_map *map, bpfvm_perf_sample_fn sample_cb,
                           bpfvm_perf_lost_fn lost_cb, void *ctx, bpfvm_error *err);

/* ---- program side: what the kernel's helpers do ---------------------- */

/* bpf_map_lookup_elem: a pointer to the value in the arena (this CPU's slot
 * for per-CPU maps), or NULL.  Marks LRU entries as used.  For
 * array_of_maps/hash_of_maps: the inner bpfvm_map pointer.  The pointer
 * stays valid memory for the map's lifetime; after a delete the slot may be
 * reused, as in the kernel's preallocated maps. */
BPFVM_API void *bpfvm_map_lookup_elem(bpfvm_map *map, const void *key);
/* bpf_map_update_elem: per-CPU maps update only this CPU's slot (a new
 * per-CPU hash entry gets zeroes on the other CPUs). */
BPFVM_API long bpfvm_map_update_elem(bpfvm_map *map, const void *key, const void *value, uint64_t flags);
BPFVM_API long bpfvm_map_delete_elem(bpfvm_map *map, const void *key);
BPFVM_API long bpfvm_map_push_elem(bpfvm_map *map, const void *value, uint64_t flags);
BPFVM_API long bpfvm_map_pop_elem(bpfvm_map *map, void *value);
BPFVM_API long bpfvm_map_peek_elem(bpfvm_map *map, void *value);
/* bpf_map_lookup_percpu_elem: `cpu`'s slot of a per-CPU map, NULL if cpu is
 * not a possible CPU or the key is missing. */
BPFVM_API void *bpfvm_map_lookup_percpu_elem(bpfvm_map *map, const void *key, uint32_t cpu);

/* bpf_for_each_map_elem: calls cb for each element (hash, LRU, array and
 * their per-CPU forms; values are this CPU's slot) until it returns
 * non-zero; returns the number of elements visited (the stopping one
 * included), -EINVAL for flags != 0, -BPFVM_ENOTSUPP for other types.  cb
 * may update or delete elements of the map.  For hash maps `key` points
 * into the arena window; for arrays to a u32 on the caller's stack (as in
 * the kernel), which a checked-mode callback must be allowed to read. */
typedef long (*bpfvm_map_for_each_fn)(bpfvm_map *map, const void *key, void *value, void *ctx);
BPFVM_API long bpfvm_map_for_each_elem(bpfvm_map *map, bpfvm_map_for_each_fn cb, void *ctx, uint64_t flags);

/* Ring buffer helpers. reserve returns NULL on flags != 0, a record too
 * big, or no room; submit/discard take what reserve returned (and ignore
 * anything else).  output returns 0, -EINVAL (flags) or -EAGAIN (no room).
 * query: BPFVM_RB_* selector, 0 for an unknown one. */
BPFVM_API void *bpfvm_map_ringbuf_reserve(bpfvm_map *map, uint64_t size, uint64_t flags);
BPFVM_API void bpfvm_map_ringbuf_submit(void *data, uint64_t flags);
BPFVM_API void bpfvm_map_ringbuf_discard(void *data, uint64_t flags);
BPFVM_API long bpfvm_map_ringbuf_output(bpfvm_map *map, const void *data, uint64_t size, uint64_t flags);
BPFVM_API uint64_t bpfvm_map_ringbuf_query(bpfvm_map *map, uint64_t flags);

/* bpf_perf_event_output (without the context argument): flags selects the
 * entry (BPFVM_F_CURRENT_CPU: this CPU's).  0, -EINVAL, -E2BIG (index out
 * of range), -ENOENT (no ring attached), -ENOSPC (ring full; counted and
 * reported to the reader as a lost record). */
BPFVM_API long bpfvm_map_perf_event_output(bpfvm_map *map, uint64_t flags, const void *data, uint64_t size);

/* Tail calls: the program stored at `index` of a prog_array, or NULL. */
BPFVM_API void *bpfvm_map_prog_array_get(bpfvm_map *map, uint32_t index);
/* Map-in-map lookup: the inner map under `key`, or NULL. */
BPFVM_API bpfvm_map *bpfvm_map_lookup_inner(bpfvm_map *map, const void *key);

/* bpf_spin_lock/bpf_spin_unlock on a struct bpf_spin_lock (4 bytes) in a
 * value, with the same protocol F_LOCK copies use; works across processes.
 * A held lock word names its holder's process; a lock whose holder died
 * is taken over by the next process waiting for it. */
BPFVM_API void bpfvm_map_spin_lock(void *lock);
BPFVM_API void bpfvm_map_spin_unlock(void *lock);

/* Crash safety of maps shared between processes.  Every lock and every
 * element or record a process holds outside a map's structure names the
 * process; one that died is taken over by the next process that waits on
 * it, which repairs what was left half-done.  bpfvm_map_holders() reports
 * what is held now, bpfvm_map_reclaim() frees at once what dead
 * processes held (an open does that too when it finds a user of the map
 * dead; so does the first process to take over one of its locks). */
typedef struct bpfvm_map_holder {
	const char *what;   /* "bucket lock", "pool lock", "value lock", "element", "spare element", ... */
	uint64_t index;     /* which one: bucket, element, value or record index */
	int32_t pid;        /* the holder's process id (in its pid namespace) */
	bool alive;         /* whether that process still runs */
} bpfvm_map_holder;
typedef void (*bpfvm_map_holder_fn)(const bpfvm_map_holder *holder, void *ctx);
BPFVM_API int bpfvm_map_holders(bpfvm_map *map, bpfvm_map_holder_fn fn, void *ctx, bpfvm_error *err);
BPFVM_API int bpfvm_map_reclaim(bpfvm_map *map, bpfvm_error *err);
/* As bpfvm_map_open_pinned(), for looking at what is held: the open does
 * not reclaim, nor count the caller as a user of the map. */
BPFVM_API int bpfvm_map_open_pinned_inspect(const char *path, bpfvm_map **out, bpfvm_error *err);

/* The CPU slot per-CPU operations of the calling thread use:
 * sched_getcpu() modulo the possible CPUs.  Two threads may share one. */
BPFVM_API unsigned bpfvm_map_current_cpu(void);

#ifdef __cplusplus
}
#endif
#endif
