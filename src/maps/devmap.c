/*
 * devmap.c - BPF_MAP_TYPE_DEVMAP and BPF_MAP_TYPE_DEVMAP_HASH: network
 * devices an XDP program redirects frames to (bpf_redirect_map).
 *
 * Owns: the kernel's rules for these maps (dev_map_init_map,
 * dev_map_update_elem, dev_map_hash_update_elem, their delete, lookup and
 * get_next_key), their storage in the arena, and map_devmap_entry() and
 * map_devmap_targets() for bpf_redirect_map (one entry, or a broadcast),
 * and the process's registry of its devmaps, which
 * map_devmap_forget_device() empties of a device that is gone.
 *
 * A value is struct bpf_devmap_val: the ifindex (4-byte values), then the
 * devmap program's fd (8-byte values; a lookup gives back its id).  The
 * ifindex must name a device of this network namespace when stored, as in
 * the kernel.  Devmap programs (an fd > 0) are refused: bpfvm does not run
 * a second program on the way out.  Programs see every value read-only
 * (the kernel sets BPF_F_RDONLY_PROG on these maps; here the process-local
 * flags carry it, so that a pin's definition stays what was asked for).
 *
 * Storage.  The array form: one 8-byte slot {ifindex, prog id} per index,
 * 0 when empty (an ifindex of 0 clears a slot, as in the kernel), written
 * with one atomic store.  The hash form: the kernel's table, whose bucket
 * is the key's low bits (n_buckets = max_entries rounded up to a power of
 * two) with new elements at the head of their bucket, so get_next_key
 * walks in the kernel's order; elements come from a pool of max_entries
 * under one spin lock.  Programs' lookups in the hash form take the lock
 * to walk a bucket (the kernel walks it under RCU); one in a signal
 * handler that interrupted its own thread holding it finds nothing
 * (maps/map_lock.h), and user space's operations there get -EBUSY.  Each element says
 * whether it is in the table, so that a process taking the lock over from
 * one that died holding it rebuilds the buckets, the free list and the
 * count from the elements (the dead process's operation is then done or
 * not done, never half done).
 */
#include <net/if.h>
#include <pthread.h>
#include <stdlib.h>

#include "maps/map_internal.h"
#include "maps/map_lock.h"
#include "maps/xdp_maps.h"

#define DEV_CREATE_FLAGS (BPFVM_F_NUMA_NODE | BPFVM_F_RDONLY | BPFVM_F_WRONLY)

/* The hash form's element: the value where a program's lookup points. */
struct dev_elem {
	uint64_t value;        /* ifindex | prog id << 32 */
	uint32_t key;
	uint32_t next;         /* in its bucket or on the free list */
	uint32_t live;         /* in the table: set before it is linked, cleared before it is unlinked */
	uint32_t unused;
};

struct dev_hash_state {
	uint32_t lock;
	uint32_t count;
	uint32_t free_head;
	uint32_t unused_from;  /* elements never used start here */
};

static bool is_hash(const bpfvm_map *m)
{
	return m->type == BPFVM_MAP_TYPE_DEVMAP_HASH;
}

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = 1;
	while (p < n && p < (1u << 31))
		p <<= 1;
	return p;
}

/* dev_map_init_map(). */
static int devmap_check(const bpfvm_map_def *def, unsigned ncpus, bpfvm_error *err)
{
	(void)ncpus;
	const char *t = map_type_label(def->type);
	if (def->max_entries == 0 || def->key_size != 4)
		return map_error(err, -EINVAL, "%s: key_size must be 4 and max_entries > 0", t);
	if (def->value_size != 4 && def->value_size != 8)
		return map_error(err, -EINVAL, "%s: value_size must be 4 (ifindex) or 8 (struct bpf_devmap_val), got %u",
		                 t, def->value_size);
	if (def->flags & ~DEV_CREATE_FLAGS)
		return map_error(err, -EINVAL, "%s: invalid map flags 0x%x (only BPF_F_NUMA_NODE, BPF_F_RDONLY, "
		                 "BPF_F_WRONLY)", t, def->flags);
	if (def->type == BPFVM_MAP_TYPE_DEVMAP_HASH && def->max_entries > (1u << 31))
		return map_error(err, -EINVAL, "%s: max_entries %u has no power of two above it", t, def->max_entries);
	return 0;
}

static int devmap_layout(bpfvm_map *m, struct arena_layout *lay, bpfvm_error *err)
{
	(void)err;
	if (!is_hash(m)) {
		lay->values_len = (size_t)m->max_entries * 8;
		lay->values_off = layout_add(lay, lay->values_len, arena_page_size());
		return 0;
	}
	m->n[0] = pow2_at_least(m->max_entries);
	m->off[0] = layout_add(lay, sizeof(struct dev_hash_state), 64);
	m->off[1] = layout_add(lay, (size_t)m->n[0] * 4, 64);
	lay->values_len = (size_t)m->max_entries * sizeof(struct dev_elem);
	lay->values_off = layout_add(lay, lay->values_len, arena_page_size());
	return 0;
}

static struct dev_hash_state *hash_state(const bpfvm_map *m)
{
	return (struct dev_hash_state *)(void *)(m->base + m->off[0]);
}

static uint32_t *buckets(const bpfvm_map *m)
{
	return (uint32_t *)(void *)(m->base + m->off[1]);
}

static struct dev_elem *elem(const bpfvm_map *m, uint32_t i)
{
	return (struct dev_elem *)(void *)(m->values + (size_t)i * sizeof(struct dev_elem));
}

static int devmap_init(bpfvm_map *m, bpfvm_error *err)
{
	(void)err;
	if (is_hash(m)) {
		for (uint32_t b = 0; b < m->n[0]; b++)
			buckets(m)[b] = ARENA_NO_INDEX;
		hash_state(m)->free_head = ARENA_NO_INDEX;
	}
	return 0;
}

/* ---- the process's devmaps ------------------------------------------------
 *
 * The kernel empties every devmap entry naming a device when the device
 * unregisters (dev_map_notification, NETDEV_UNREGISTER).  Here the host
 * that hears of it (RTM_DELLINK) empties the devmaps this process has
 * open: a map is in the registry from its attach to its destroy, so the
 * registry's lock keeps it mapped while a walk reads it. */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static bpfvm_map **registry;
static size_t registry_len, registry_cap;

static int registry_add(bpfvm_map *m, bpfvm_error *err)
{
	pthread_mutex_lock(&registry_lock);
	if (registry_len == registry_cap) {
		size_t cap = registry_cap ? registry_cap * 2 : 8;
		bpfvm_map **grown = realloc(registry, cap * sizeof *grown);
		if (!grown) {
			pthread_mutex_unlock(&registry_lock);
			return map_error(err, -ENOMEM, "out of memory registering %s '%s'", map_type_label(m->type),
			                 m->name);
		}
		registry = grown;
		registry_cap = cap;
	}
	registry[registry_len++] = m;
	pthread_mutex_unlock(&registry_lock);
	return 0;
}

/* (Also for a map whose attach failed: then it is not there.) */
static void registry_remove(bpfvm_map *m)
{
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < registry_len; i++)
		if (registry[i] == m) {
			registry[i] = registry[--registry_len];
			break;
		}
	pthread_mutex_unlock(&registry_lock);
}

/* What the kernel sets on every devmap: programs only read the values. */
static int devmap_attach(bpfvm_map *m, bpfvm_error *err)
{
	m->map_flags |= BPFVM_F_RDONLY_PROG;
	return registry_add(m, err);
}

static void devmap_destroy(bpfvm_map *m)
{
	registry_remove(m);
}

static uint32_t key_of(const void *key)
{
	uint32_t k;
	memcpy(&k, key, 4);
	return k;
}

/* The value a user-space update stores, from struct bpf_devmap_val
 * (__dev_map_alloc_node): 0 with *clear for an ifindex of 0 in the array
 * form; -EINVAL for a device that does not exist. */
static int value_to_store(const bpfvm_map *m, const void *value, uint64_t *out, bpfvm_error *err)
{
	uint32_t val[2] = { 0, 0 };
	memcpy(val, value, m->value_size);
	int32_t prog_fd = m->value_size == 8 ? (int32_t)val[1] : -1;
	if (prog_fd > 0)
		return map_error(err, -EINVAL, "%s '%s': a devmap program (fd %d in bpf_devmap_val) is not supported by "
		                 "bpfvm", map_type_label(m->type), m->name, prog_fd);
	char name[IF_NAMESIZE];
	if (val[0] == 0 && !is_hash(m)) {
		*out = 0;
		return 0;
	}
	if (!if_indextoname(val[0], name))
		return map_error(err, -EINVAL, "%s '%s': no network device with ifindex %u", map_type_label(m->type),
		                 m->name, val[0]);
	*out = val[0];
	return 0;
}

static void devval_out(const bpfvm_map *m, void *out, uint64_t stored)
{
	uint32_t val[2] = { (uint32_t)stored, (uint32_t)(stored >> 32) };
	memcpy(out, val, m->value_size);
}

/* ---- the array form ------------------------------------------------------- */

static uint64_t *array_slot(const bpfvm_map *m, uint32_t index)
{
	return (uint64_t *)(void *)(m->values + (size_t)index * 8);
}

static int array_sys_lookup(bpfvm_map *m, const void *key, void *value, uint64_t flags, bpfvm_error *err)
{
	(void)flags;
	(void)err;
	uint32_t k = key_of(key);
	uint64_t v = k < m->max_entries ? __atomic_load_n(array_slot(m, k), __ATOMIC_ACQUIRE) : 0;
	if (!v)
		return -ENOENT;
	devval_out(m, value, v);
	return 0;
}

/* dev_map_update_elem(): BPF_NOEXIST is always -EEXIST, BPF_EXIST needs no entry. */
static int array_sys_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags, bpfvm_error *err)
{
	uint32_t k = key_of(key);
	if (flags > BPFVM_EXIST)
		return -EINVAL;
	if (k >= m->max_entries)
		return -E2BIG;
	if (flags == BPFVM_NOEXIST)
		return -EEXIST;
	uint64_t v;
	int rc = value_to_store(m, value, &v, err);
	if (rc == 0)
		__atomic_store_n(array_slot(m, k), v, __ATOMIC_RELEASE);
	return rc;
}

static int array_sys_delete(bpfvm_map *m, const void *key, bpfvm_error *err)
{
	(void)err;
	uint32_t k = key_of(key);
	if (k >= m->max_entries)
		return -EINVAL;
	__atomic_store_n(array_slot(m, k), 0, __ATOMIC_RELEASE);
	return 0;
}

static void *array_lookup(bpfvm_map *m, const void *key)
{
	uint32_t k = key_of(key);
	if (k >= m->max_entries || !__atomic_load_n(array_slot(m, k), __ATOMIC_ACQUIRE))
		return NULL;
	return array_slot(m, k);
}

/* ---- the hash form -------------------------------------------------------- */

/* The element holding key, under the lock; ARENA_NO_INDEX if none.  *prev
 * gets its predecessor in the bucket (ARENA_NO_INDEX: the bucket's head). */
static uint32_t hash_find(const bpfvm_map *m, uint32_t key, uint32_t *prev)
{
	uint32_t i = buckets(m)[key & (m->n[0] - 1)], before = ARENA_NO_INDEX;
	for (uint32_t steps = 0; index_ok(i, m->max_entries) && steps < m->max_entries; steps++) {
		if (elem(m, i)->key == key) {
			if (prev)
				*prev = before;
			return i;
		}
		before = i;
		i = elem(m, i)->next;
	}
	return ARENA_NO_INDEX;
}

static uint32_t hash_alloc(const bpfvm_map *m)
{
	struct dev_hash_state *s = hash_state(m);
	uint32_t i = s->free_head;
	if (index_ok(i, m->max_entries)) {
		s->free_head = elem(m, i)->next;
		return i;
	}
	return s->unused_from < m->max_entries ? s->unused_from++ : ARENA_NO_INDEX;
}

/* After a holder died: every element that says it is in the table goes
 * back into its bucket, the others onto the free list. */
static void hash_rebuild(const bpfvm_map *m)
{
	struct dev_hash_state *s = hash_state(m);
	for (uint32_t b = 0; b < m->n[0]; b++)
		buckets(m)[b] = ARENA_NO_INDEX;
	s->free_head = ARENA_NO_INDEX;
	s->count = 0;
	if (s->unused_from > m->max_entries)
		s->unused_from = m->max_entries;
	for (uint32_t i = 0; i < s->unused_from; i++) {
		struct dev_elem *e = elem(m, i);
		uint32_t *head = e->live ? &buckets(m)[e->key & (m->n[0] - 1)] : &s->free_head;
		e->next = *head;
		*head = i;
		s->count += e->live ? 1 : 0;
	}
}

/* False if the thread's own interrupted code holds the lock. */
static bool hash_lock(const bpfvm_map *m)
{
	int rc = map_lock(&hash_state(m)->lock);
	if (rc > 0)
		hash_rebuild(m);
	return rc >= 0;
}

static int hash_sys_lookup(bpfvm_map *m, const void *key, void *value, uint64_t flags, bpfvm_error *err)
{
	(void)flags;
	(void)err;
	struct dev_hash_state *s = hash_state(m);
	if (!hash_lock(m))
		return -EBUSY;
	uint32_t i = hash_find(m, key_of(key), NULL);
	uint64_t v = i == ARENA_NO_INDEX ? 0 : elem(m, i)->value;
	map_unlock(&s->lock);
	if (i == ARENA_NO_INDEX)
		return -ENOENT;
	devval_out(m, value, v);
	return 0;
}

/* Takes element i (after prev in key's bucket) out of its bucket. */
static void hash_unlink(const bpfvm_map *m, uint32_t key, uint32_t i, uint32_t prev)
{
	uint32_t *link = prev == ARENA_NO_INDEX ? &buckets(m)[key & (m->n[0] - 1)] : &elem(m, prev)->next;
	__atomic_store_n(link, elem(m, i)->next, __ATOMIC_RELEASE);
}

/* __dev_map_hash_update_elem(): ifindex 0 is refused first, an existing
 * key with BPF_NOEXIST next, then the device; BPF_EXIST is not checked; a replaced entry moves to its bucket's head (the
 * kernel adds a new node there), as a new one goes. */
static int hash_sys_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags, bpfvm_error *err)
{
	uint32_t k = key_of(key);
	if (flags > BPFVM_EXIST)
		return -EINVAL;
	uint32_t ifindex;
	memcpy(&ifindex, value, 4);
	if (ifindex == 0)
		return map_error(err, -EINVAL, "devmap_hash '%s': ifindex 0 names no device", m->name);
	uint64_t v;
	bpfvm_error why;
	int bad_value = value_to_store(m, value, &v, &why), rc = 0;
	struct dev_hash_state *s = hash_state(m);
	if (!hash_lock(m))
		return -EBUSY;
	uint32_t prev, i = hash_find(m, k, &prev);
	if (i != ARENA_NO_INDEX && flags == BPFVM_NOEXIST)
		rc = -EEXIST;
	else if (bad_value)
		rc = bad_value;
	else if (i != ARENA_NO_INDEX)
		hash_unlink(m, k, i, prev);
	else if (s->count < m->max_entries && (i = hash_alloc(m)) != ARENA_NO_INDEX)
		s->count++;
	else
		rc = -E2BIG;
	if (rc == 0) {
		uint32_t *head = &buckets(m)[k & (m->n[0] - 1)];
		struct dev_elem *e = elem(m, i);
		/* Field by field, live last, for a process killed here: the
		 * element is then whole or out of the table (hash_rebuild).  A
		 * struct assignment may clear live first (gcc 12 zeroes the
		 * last 8 bytes, then sets live, then writes the key): a replaced
		 * element dropped, a new one counted with its old key. */
		e->value = v;
		e->key = k;
		e->next = *head;
		__atomic_store_n(&e->live, 1, __ATOMIC_RELEASE);
		__atomic_store_n(head, i, __ATOMIC_RELEASE);
	}
	map_unlock(&s->lock);
	if (rc == bad_value && rc < 0 && err)
		*err = why;
	return rc;
}

/* Element i (key k, after prev) out of the table, under the lock. */
static void hash_remove(const bpfvm_map *m, uint32_t k, uint32_t i, uint32_t prev)
{
	struct dev_hash_state *s = hash_state(m);
	elem(m, i)->live = 0;
	hash_unlink(m, k, i, prev);
	elem(m, i)->next = s->free_head;
	s->free_head = i;
	s->count--;
}

static int hash_sys_delete(bpfvm_map *m, const void *key, bpfvm_error *err)
{
	(void)err;
	struct dev_hash_state *s = hash_state(m);
	uint32_t k = key_of(key), prev;
	if (!hash_lock(m))
		return -EBUSY;
	uint32_t i = hash_find(m, k, &prev);
	if (i != ARENA_NO_INDEX)
		hash_remove(m, k, i, prev);
	map_unlock(&s->lock);
	return i == ARENA_NO_INDEX ? -ENOENT : 0;
}

/* The first element of the first non-empty bucket from b on. */
static uint32_t hash_first_from(const bpfvm_map *m, uint32_t b)
{
	for (; b < m->n[0]; b++)
		if (index_ok(buckets(m)[b], m->max_entries))
			return buckets(m)[b];
	return ARENA_NO_INDEX;
}

/* dev_map_hash_get_next_key(): the next in the key's bucket, else the
 * next bucket's first; a missing key starts from the first. */
static int hash_sys_get_next_key(bpfvm_map *m, const void *key, void *next_key, bpfvm_error *err)
{
	(void)err;
	struct dev_hash_state *s = hash_state(m);
	if (!hash_lock(m))
		return -EBUSY;
	uint32_t i = key ? hash_find(m, key_of(key), NULL) : ARENA_NO_INDEX, next;
	if (i == ARENA_NO_INDEX)
		next = hash_first_from(m, 0);
	else if (index_ok(elem(m, i)->next, m->max_entries))
		next = elem(m, i)->next;
	else
		next = hash_first_from(m, (key_of(key) & (m->n[0] - 1)) + 1);
	uint32_t next_k = next == ARENA_NO_INDEX ? 0 : elem(m, next)->key;
	map_unlock(&s->lock);
	if (next == ARENA_NO_INDEX)
		return -ENOENT;
	memcpy(next_key, &next_k, 4);
	return 0;
}

static void *hash_lookup(bpfvm_map *m, const void *key)
{
	struct dev_hash_state *s = hash_state(m);
	if (!hash_lock(m))
		return NULL;
	uint32_t i = hash_find(m, key_of(key), NULL);
	map_unlock(&s->lock);
	return i == ARENA_NO_INDEX ? NULL : &elem(m, i)->value;
}

static void hash_checked_region(const bpfvm_map *m, struct map_region_desc *out)
{
	(void)m;
	*out = (struct map_region_desc){ .stride = sizeof(struct dev_elem), .value_off = 0, .value_len = 8,
	                                 .lock_off = -1 };
}

static void hash_holders(const bpfvm_map *m, map_holder_fn report, void *ctx)
{
	uint32_t token = spin_holder(&hash_state(m)->lock);
	if (token)
		report(ctx, "devmap_hash lock", 0, token);
}

/* ---- for bpf_redirect_map --------------------------------------------------- */

bool map_devmap_entry(bpfvm_map *m, uint32_t key, uint32_t *ifindex)
{
	const uint64_t *v = bpfvm_map_lookup_elem(m, &key);
	if (!v)
		return false;
	*ifindex = (uint32_t)__atomic_load_n(v, __ATOMIC_ACQUIRE);
	return *ifindex != 0;
}

/* dev_map_enqueue_multi()'s walk: the array by index, the hash form bucket
 * by bucket, each bucket from its head.  The hash form's devices are
 * copied out under its lock, so that the caller sends without holding it. */
uint32_t map_devmap_targets(bpfvm_map *m, uint32_t *ifindexes, uint32_t cap)
{
	uint32_t n = 0;
	if (!is_hash(m)) {
		for (uint32_t k = 0; k < m->max_entries; k++) {
			uint32_t ifindex = (uint32_t)__atomic_load_n(array_slot(m, k), __ATOMIC_ACQUIRE);
			if (ifindex && n++ < cap)
				ifindexes[n - 1] = ifindex;
		}
		return n;
	}
	struct dev_hash_state *s = hash_state(m);
	if (!hash_lock(m))
		return 0;
	for (uint32_t b = 0; b < m->n[0]; b++) {
		uint32_t i = buckets(m)[b];
		for (uint32_t steps = 0; index_ok(i, m->max_entries) && steps < m->max_entries; steps++) {
			if (n++ < cap)
				ifindexes[n - 1] = (uint32_t)elem(m, i)->value;
			i = elem(m, i)->next;
		}
	}
	map_unlock(&s->lock);
	return n;
}

/* ---- devices that are gone -------------------------------------------------- */

/* The array form: each slot naming it back to 0, unless an update
 * replaced it meanwhile (a compare-exchange). */
static void array_forget(bpfvm_map *m, uint32_t ifindex)
{
	for (uint32_t k = 0; k < m->max_entries; k++) {
		uint64_t v = __atomic_load_n(array_slot(m, k), __ATOMIC_ACQUIRE);
		if (v && (uint32_t)v == ifindex)
			__atomic_compare_exchange_n(array_slot(m, k), &v, 0, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	}
}

/* The hash form: each element naming it deleted, bucket by bucket. */
static void hash_forget(bpfvm_map *m, uint32_t ifindex)
{
	struct dev_hash_state *s = hash_state(m);
	if (!hash_lock(m))
		return;
	for (uint32_t b = 0; b < m->n[0]; b++) {
		uint32_t i = buckets(m)[b], prev = ARENA_NO_INDEX;
		for (uint32_t steps = 0; index_ok(i, m->max_entries) && steps < m->max_entries; steps++) {
			uint32_t next = elem(m, i)->next;
			if ((uint32_t)elem(m, i)->value == ifindex)
				hash_remove(m, elem(m, i)->key, i, prev);
			else
				prev = i;
			i = next;
		}
	}
	map_unlock(&s->lock);
}

void map_devmap_forget_device(uint32_t ifindex)
{
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < registry_len; i++) {
		if (is_hash(registry[i]))
			hash_forget(registry[i], ifindex);
		else
			array_forget(registry[i], ifindex);
	}
	pthread_mutex_unlock(&registry_lock);
}

#define DEVMAP_HELPERS (MAP_HELPER_BIT(MAP_HELPER_LOOKUP) | MAP_HELPER_BIT(MAP_HELPER_REDIRECT))

const struct map_ops map_devmap_ops = {
	.check = devmap_check,
	.layout = devmap_layout,
	.init = devmap_init,
	.attach = devmap_attach,
	.destroy = devmap_destroy,
	.pinnable = true,
	.only_helpers = DEVMAP_HELPERS,
	.sys_lookup = array_sys_lookup,
	.sys_update = array_sys_update,
	.sys_delete = array_sys_delete,
	.sys_get_next_key = array_get_next_key,
	.lookup = array_lookup,
};

const struct map_ops map_devmap_hash_ops = {
	.check = devmap_check,
	.layout = devmap_layout,
	.init = devmap_init,
	.attach = devmap_attach,
	.destroy = devmap_destroy,
	.pinnable = true,
	.only_helpers = DEVMAP_HELPERS,
	.sys_lookup = hash_sys_lookup,
	.sys_update = hash_sys_update,
	.sys_delete = hash_sys_delete,
	.sys_get_next_key = hash_sys_get_next_key,
	.lookup = hash_lookup,
	.holders = hash_holders,
	.checked_region = hash_checked_region,
};
