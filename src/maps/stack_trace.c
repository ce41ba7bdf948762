/*
 * stack_trace.c - BPF_MAP_TYPE_STACK_TRACE: the stacks bpf_get_stackid()
 * stores, by the id it returns, with the kernel's rules (kernel/bpf/
 * stackmap.c).
 *
 * Owns: the attribute checks (key_size 4, value_size a multiple of 8, of
 * the 32-byte build id records with BPF_F_STACK_BUILD_ID, at most
 * PERF_MAX_STACK_DEPTH frames), the buckets (roundup_pow_of_two
 * (max_entries) of them; a stack goes to bucket hash & (n_buckets - 1),
 * and at most max_entries are in use at once, the kernel's preallocated
 * elements), the bucket rules of get_stackid (same stack: the same id;
 * another stack there: -EEXIST unless BPF_F_REUSE_STACKID replaces it;
 * BPF_F_FAST_STACK_CMP trusts the hash), and user space's lookup (the
 * frames, zero-padded), lookup_and_delete, delete and get_next_key.  Programs only reach it
 * through bpf_get_stackid (src/helpers/trace_helpers.c).
 *
 * Crash safety: one lock word (its holder's token) guards every change.
 * A bucket is published by storing its frame count after its frames and
 * hash; a bucket written in place (a replacement) is named in `writing`
 * first, so a process killed mid-write leaves a marked bucket, which the
 * process taking the lock over clears, recounting the buckets in use.
 *
 * Re-entrance: bpf_get_stackid of a program in a signal handler that
 * interrupted its own thread inside an operation of this map finds the
 * lock held by that thread (maps/map_lock.h) and fails with -EBUSY (the
 * kernel's needs no lock there: its buckets are swapped in with xchg);
 * it never waits on its own thread.
 */
#include <linux/bpf.h>

#include "maps/map_internal.h"
#include "maps/map_lock.h"

#define STACK_MAX_DEPTH 127u            /* the kernel's sysctl_perf_event_max_stack default */
#define BUILD_ID_RECORD 32u             /* struct bpf_stack_build_id */
#define STACK_KEY_SIZE 4u
#define STACK_MAX_ENTRIES (1u << 31)

struct st_state {
	uint32_t lock;
	uint32_t count;      /* buckets in use */
	uint32_t writing;    /* 1 + the bucket being written in place, 0: none */
	uint32_t n_buckets;
};

/* A bucket: the hash of its frames, their count (0: empty), the frames. */
struct st_bucket {
	uint32_t hash;
	uint32_t nr;
	uint64_t data[];
};

#define N_BUCKETS n[0]
#define BUCKET_STRIDE n[1]

static struct st_state *st_of(const bpfvm_map *m)
{
	return (struct st_state *)(void *)(m->base + m->off[0]);
}

static struct st_bucket *st_bucket(const bpfvm_map *m, uint32_t id)
{
	return (struct st_bucket *)(void *)(m->base + m->off[1] + (size_t)id * m->BUCKET_STRIDE);
}

uint32_t map_stack_trace_elem_size(const bpfvm_map *m)
{
	return (m->map_flags & BPFVM_F_STACK_BUILD_ID) ? BUILD_ID_RECORD : 8u;
}

static uint32_t st_max_depth(const bpfvm_map *m)
{
	return m->value_size / map_stack_trace_elem_size(m);
}

static uint32_t st_roundup_pow2(uint32_t n)
{
	uint32_t p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

static int st_check(const bpfvm_map_def *def, unsigned ncpus, bpfvm_error *err)
{
	(void)ncpus;
	const uint32_t mask = BPFVM_F_NUMA_NODE | BPFVM_F_RDONLY | BPFVM_F_WRONLY | BPFVM_F_STACK_BUILD_ID;
	uint32_t vs = def->value_size;
	if (def->flags & ~mask)
		return map_error(err, -EINVAL, "stack_trace: invalid map flags 0x%x", def->flags);
	if (def->max_entries == 0 || def->key_size != STACK_KEY_SIZE || vs < 8 || vs % 8)
		return map_error(err, -EINVAL,
		                 "stack_trace: key_size must be 4, value_size a multiple of 8, max_entries > 0");
	uint32_t elem = (def->flags & BPFVM_F_STACK_BUILD_ID) ? BUILD_ID_RECORD : 8u;
	if (vs % elem || vs / elem > STACK_MAX_DEPTH)
		return map_error(err, -EINVAL, "stack_trace: value_size %u is not 1 to %u frames of %u bytes", vs,
		                 STACK_MAX_DEPTH, elem);
	if (def->max_entries > STACK_MAX_ENTRIES)
		return map_error(err, -E2BIG, "stack_trace: max_entries %u above 2^31", def->max_entries);
	return 0;
}

static int st_layout(bpfvm_map *m, struct arena_layout *lay, bpfvm_error *err)
{
	m->N_BUCKETS = st_roundup_pow2(m->max_entries);
	m->BUCKET_STRIDE = (uint32_t)sizeof(struct st_bucket) + m->value_size;
	uint64_t bytes = (uint64_t)m->N_BUCKETS * m->BUCKET_STRIDE;
	if (bytes > (uint64_t)SIZE_MAX / 4)
		return map_error(err, -ENOMEM, "stack_trace: too large to allocate");
	m->off[0] = layout_add(lay, sizeof(struct st_state), 64);
	m->off[1] = layout_add(lay, (size_t)bytes, 64);
	return 0;
}

static int st_init(bpfvm_map *m, bpfvm_error *err)
{
	(void)err;
	st_of(m)->n_buckets = m->N_BUCKETS;
	return 0;
}

/* At create and open: counts out of range mean a damaged arena. */
static int st_attach(bpfvm_map *m, bpfvm_error *err)
{
	const struct st_state *st = st_of(m);
	uint32_t count = __atomic_load_n(&st->count, __ATOMIC_RELAXED);
	uint32_t writing = __atomic_load_n(&st->writing, __ATOMIC_RELAXED);
	if (st->n_buckets != m->N_BUCKETS || count > m->max_entries || writing > m->N_BUCKETS)
		return map_error(err, -EINVAL,
		                 "stack_trace map '%s': damaged arena (%u buckets, %u in use, writing %u; max_entries %u)",
		                 m->name, st->n_buckets, count, writing, m->max_entries);
	return 0;
}

static uint32_t st_nr(const struct st_bucket *b)
{
	return __atomic_load_n(&b->nr, __ATOMIC_ACQUIRE);
}

/* Under the lock, taken over from a dead holder: the bucket it was
 * writing in place is dropped, and the buckets in use are recounted. */
static void st_repair(bpfvm_map *m)
{
	struct st_state *st = st_of(m);
	uint32_t writing = __atomic_load_n(&st->writing, __ATOMIC_RELAXED);
	if (writing && writing <= m->N_BUCKETS)
		__atomic_store_n(&st_bucket(m, writing - 1)->nr, 0u, __ATOMIC_RELEASE);
	__atomic_store_n(&st->writing, 0u, __ATOMIC_RELAXED);
	uint32_t count = 0;
	for (uint32_t id = 0; id < m->N_BUCKETS; id++)
		count += st_nr(st_bucket(m, id)) != 0;
	__atomic_store_n(&st->count, count, __ATOMIC_RELAXED);
}

/* Takes the lock, repairing what a dead holder left; false if the
 * thread's own interrupted code holds it (-EBUSY). */
static bool st_lock(bpfvm_map *m)
{
	int rc = map_lock(&st_of(m)->lock);
	if (rc > 0)
		st_repair(m);
	return rc >= 0;
}

static void st_unlock(bpfvm_map *m)
{
	map_unlock(&st_of(m)->lock);
}

/* Writes nr frames and their hash into bucket id, under the lock; the
 * count store publishes them. */
static void st_write(bpfvm_map *m, uint32_t id, uint32_t hash, const void *frames, uint32_t nr)
{
	struct st_state *st = st_of(m);
	struct st_bucket *b = st_bucket(m, id);
	bool in_use = st_nr(b) != 0;
	if (in_use)
		__atomic_store_n(&st->writing, id + 1, __ATOMIC_RELEASE);
	else
		__atomic_store_n(&st->count, st->count + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&b->hash, hash, __ATOMIC_RELAXED);
	arena_store(b->data, frames, (size_t)nr * map_stack_trace_elem_size(m));
	__atomic_store_n(&b->nr, nr, __ATOMIC_RELEASE);
	if (in_use)
		__atomic_store_n(&st->writing, 0u, __ATOMIC_RELEASE);
}

/* What bpf_get_stackid does with a stack once it has one (the kernel's
 * __bpf_get_stackid): `frames` are nr elements of the map's element size
 * (u64 addresses, or build id records), `hash` the jhash2 of the
 * addresses.  The bucket id, or -EEXIST, -ENOMEM as the kernel. */
long map_stack_trace_get_id(bpfvm_map *m, uint32_t hash, const void *frames, uint32_t nr, uint64_t flags)
{
	if (nr == 0 || nr > st_max_depth(m))
		return -EFAULT;
	bool build_id = m->map_flags & BPFVM_F_STACK_BUILD_ID;
	uint32_t id = hash & (m->N_BUCKETS - 1);
	struct st_state *st = st_of(m);
	struct st_bucket *b = st_bucket(m, id);
	size_t len = (size_t)nr * map_stack_trace_elem_size(m);
	long rc = id;
	if (!st_lock(m))
		return -EBUSY;
	uint32_t old_nr = st_nr(b);
	bool hash_matches = old_nr && __atomic_load_n(&b->hash, __ATOMIC_RELAXED) == hash;
	bool full = __atomic_load_n(&st->count, __ATOMIC_RELAXED) >= m->max_entries;
	if (hash_matches && (flags & BPF_F_FAST_STACK_CMP))
		goto out;
	/* build id stacks take a free element before comparing; address
	 * stacks only to store a new one */
	if (build_id && full) {
		rc = -ENOMEM;
		goto out;
	}
	if (hash_matches && old_nr == nr && arena_equal(b->data, frames, len))
		goto out;
	if (old_nr && !(flags & BPF_F_REUSE_STACKID))
		rc = -EEXIST;
	else if (full)
		rc = -ENOMEM;
	else
		st_write(m, id, hash, frames, nr);
out:
	st_unlock(m);
	return rc;
}

/* bpf_stackmap_extract(): the frames, the rest of the value zeroed; the
 * bucket emptied too when `delete` (lookup_and_delete, since 6.17). */
static int st_extract(bpfvm_map *m, const void *key, void *value, bool delete, bpfvm_error *err)
{
	uint32_t id;
	memcpy(&id, key, sizeof id);
	if (id >= m->N_BUCKETS)
		return -ENOENT;
	struct st_state *st = st_of(m);
	struct st_bucket *b = st_bucket(m, id);
	int rc = 0;
	if (!st_lock(m))
		return -EBUSY;
	uint32_t nr = st_nr(b);
	if (nr > st_max_depth(m)) {
		rc = map_error(err, -EINVAL, "stack_trace map '%s': damaged bucket %u (%u frames)", m->name, id, nr);
	} else if (!nr) {
		rc = -ENOENT;
	} else {
		size_t len = (size_t)nr * map_stack_trace_elem_size(m);
		arena_load(value, b->data, len);
		memset((uint8_t *)value + len, 0, m->value_size - len);
		if (delete) {
			__atomic_store_n(&b->nr, 0u, __ATOMIC_RELEASE);
			__atomic_store_n(&st->count, st->count - 1, __ATOMIC_RELAXED);
		}
	}
	st_unlock(m);
	return rc;
}

static int st_sys_lookup(bpfvm_map *m, const void *key, void *value, uint64_t flags, bpfvm_error *err)
{
	(void)flags;
	return st_extract(m, key, value, false, err);
}

static int st_sys_lookup_and_delete(bpfvm_map *m, const void *key, void *value, uint64_t flags, bpfvm_error *err)
{
	(void)flags;
	return st_extract(m, key, value, true, err);
}

static int st_sys_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags, bpfvm_error *err)
{
	(void)m; (void)key; (void)value; (void)flags; (void)err;
	return -EINVAL;
}

static int st_sys_delete(bpfvm_map *m, const void *key, bpfvm_error *err)
{
	(void)err;
	uint32_t id;
	memcpy(&id, key, sizeof id);
	if (id >= m->N_BUCKETS)
		return -E2BIG;
	struct st_state *st = st_of(m);
	struct st_bucket *b = st_bucket(m, id);
	int rc = -ENOENT;
	if (!st_lock(m))
		return -EBUSY;
	if (st_nr(b)) {
		__atomic_store_n(&b->nr, 0u, __ATOMIC_RELEASE);
		__atomic_store_n(&st->count, st->count - 1, __ATOMIC_RELAXED);
		rc = 0;
	}
	st_unlock(m);
	return rc;
}

/* stack_map_get_next_key(): a missing or empty key starts from 0. */
static int st_sys_get_next_key(bpfvm_map *m, const void *key, void *next_key, bpfvm_error *err)
{
	(void)err;
	uint32_t id = 0;
	if (key) {
		memcpy(&id, key, sizeof id);
		id = (id >= m->N_BUCKETS || !st_nr(st_bucket(m, id))) ? 0 : id + 1;
	}
	while (id < m->N_BUCKETS && !st_nr(st_bucket(m, id)))
		id++;
	if (id >= m->N_BUCKETS)
		return -ENOENT;
	memcpy(next_key, &id, sizeof id);
	return 0;
}

static void st_holders(const bpfvm_map *m, map_holder_fn report, void *ctx)
{
	uint32_t t = spin_holder(&st_of(m)->lock);
	if (t)
		report(ctx, "stack_trace lock", 0, t);
}

/* bpfvm_map_reclaim(): a dead holder's lock is taken over, which repairs
 * what it was writing. */
static void st_reclaim(bpfvm_map *m)
{
	uint32_t t = spin_holder(&st_of(m)->lock);
	if (t && !owner_alive(t) && st_lock(m))
		st_unlock(m);
}

const struct map_ops map_stack_trace_ops = {
	.check = st_check,
	.layout = st_layout,
	.init = st_init,
	.attach = st_attach,
	.reclaim = st_reclaim,
	.holders = st_holders,
	.pinnable = true,
	.only_helpers = MAP_HELPER_BIT(MAP_HELPER_STACKID),
	.sys_lookup = st_sys_lookup,
	.sys_update = st_sys_update,
	.sys_delete = st_sys_delete,
	.sys_get_next_key = st_sys_get_next_key,
	.sys_lookup_and_delete = st_sys_lookup_and_delete,
};
