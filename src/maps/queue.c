/*
 * queue.c - BPF_MAP_TYPE_QUEUE (FIFO) and BPF_MAP_TYPE_STACK (LIFO).
 *
 * Owns: the kernel's ring of max_entries + 1 slots with head (next push)
 * and tail (oldest) indices under one spin lock, the push/pop/peek rules
 * (BPF_EXIST on a full map overwrites the oldest element, for both kinds),
 * and the syscall's mapping of lookup/update/lookup_and_delete onto
 * peek/push/pop.  Values are copied in and out only, never handed to
 * programs, so the arena has no program window.
 *
 * Crash safety: head and tail share one 64-bit word, so every push and
 * pop (an overwriting push moves both) is published by one store; the
 * value is written beforehand into the slot the ring keeps empty.  A
 * process killed at any instruction leaves the old state or the new, and
 * the lock it held is simply taken over: there is nothing to repair.
 * Re-entered on one thread (a program in a signal handler that
 * interrupted a push or pop of the thread's own: maps/map_lock.h), push,
 * pop and peek fail with -EBUSY as the kernel's do in NMI context.  A
 * damaged arena (an index out of range) is refused with an error naming
 * the map, never followed out of bounds.
 */
#include "maps/map_internal.h"
#include "maps/map_lock.h"

#define KMALLOC_MAX_SIZE (4u << 20)

struct qs_state {
	uint32_t lock;
	uint32_t size;   /* max_entries + 1: one slot stays empty */
	uint64_t ends;   /* head (where the next push goes) | tail (the oldest) << 32 */
};

struct qs_ends {
	uint32_t head, tail;
};

static struct qs_state *qs_of(const bpfvm_map *m)
{
	return (struct qs_state *)(void *)(m->base + m->off[0]);
}

static uint8_t *qs_slot(const bpfvm_map *m, uint32_t i)
{
	return m->base + m->off[1] + (size_t)i * m->value_stride;
}

static bool is_stack(const bpfvm_map *m)
{
	return m->type == BPFVM_MAP_TYPE_STACK;
}

static struct qs_ends qs_load(const struct qs_state *qs)
{
	uint64_t w = __atomic_load_n(&qs->ends, __ATOMIC_RELAXED);
	return (struct qs_ends){ .head = (uint32_t)w, .tail = (uint32_t)(w >> 32) };
}

/* Publishes a push or pop: the one store a crash cannot split. */
static void qs_publish(struct qs_state *qs, struct qs_ends e)
{
	__atomic_store_n(&qs->ends, (uint64_t)e.head | (uint64_t)e.tail << 32, __ATOMIC_RELEASE);
}

/* Whether the shared state is in range (a damaged or foreign arena is not). */
static bool qs_sane(const bpfvm_map *m, const struct qs_state *qs, struct qs_ends e)
{
	return qs->size == m->max_entries + 1 && e.head < qs->size && e.tail < qs->size;
}

static int qs_damaged(const bpfvm_map *m, bpfvm_error *err)
{
	const struct qs_state *qs = qs_of(m);
	struct qs_ends e = qs_load(qs);
	return map_error(err, -EINVAL, "%s map '%s': damaged arena (head %u, tail %u, size %u; max_entries %u)",
	                 map_type_label(m->type), m->name, e.head, e.tail, qs->size, m->max_entries);
}

static int qs_check(const bpfvm_map_def *def, unsigned ncpus, bpfvm_error *err)
{
	(void)ncpus;
	const uint32_t mask = BPFVM_F_NUMA_NODE | BPFVM_F_RDONLY | BPFVM_F_WRONLY | BPFVM_F_RDONLY_PROG |
	                      BPFVM_F_WRONLY_PROG;
	const char *t = map_type_label(def->type);
	if (def->max_entries == 0 || def->key_size != 0 || def->value_size == 0)
		return map_error(err, -EINVAL, "%s: key_size must be 0, value_size and max_entries > 0", t);
	if ((def->flags & ~mask) || !map_flags_access_ok(def->flags))
		return map_error(err, -EINVAL, "%s: invalid map flags 0x%x", t, def->flags);
	if (def->value_size > KMALLOC_MAX_SIZE)
		return map_error(err, -E2BIG, "%s: value_size %u too large", t, def->value_size);
	return 0;
}

static int qs_layout(bpfvm_map *m, struct arena_layout *lay, bpfvm_error *err)
{
	uint64_t bytes = ((uint64_t)m->max_entries + 1) * m->value_stride;
	if (bytes > (uint64_t)SIZE_MAX / 4)
		return map_error(err, -ENOMEM, "%s: too large to allocate", map_type_label(m->type));
	m->off[0] = layout_add(lay, sizeof(struct qs_state), 64);
	m->off[1] = layout_add(lay, (size_t)bytes, 64);
	return 0;
}

static int qs_init(bpfvm_map *m, bpfvm_error *err)
{
	(void)err;
	qs_of(m)->size = m->max_entries + 1;
	return 0;
}

/* At create and open: a pin whose indices are out of range is refused. */
static int qs_attach(bpfvm_map *m, bpfvm_error *err)
{
	if (!qs_sane(m, qs_of(m), qs_load(qs_of(m))))
		return qs_damaged(m, err);
	return 0;
}

static uint32_t qs_next(uint32_t i, uint32_t size)
{
	return i + 1 >= size ? 0 : i + 1;
}

/* queue_stack_map_push_elem(). */
static long qs_push(bpfvm_map *m, const void *value, uint64_t flags)
{
	if ((flags & BPFVM_NOEXIST) || flags > BPFVM_EXIST)
		return -EINVAL;
	struct qs_state *qs = qs_of(m);
	long rc = 0;
	if (map_lock(&qs->lock) < 0)
		return -EBUSY;
	uint32_t size = qs->size;
	struct qs_ends e = qs_load(qs);
	if (!qs_sane(m, qs, e)) {
		rc = -EINVAL;   /* a damaged arena: refuse rather than write out of bounds */
		goto out;
	}
	if (qs_next(e.head, size) == e.tail) {
		if (!(flags & BPFVM_EXIST)) {
			rc = -E2BIG;
			goto out;
		}
		/* Overwrite the oldest element. */
		e.tail = qs_next(e.tail, size);
	}
	/* The slot at head is the one kept empty: no reader sees it until
	 * the new ends are published. */
	memcpy(qs_slot(m, e.head), value, m->value_size);
	e.head = qs_next(e.head, size);
	qs_publish(qs, e);
out:
	map_unlock(&qs->lock);
	return rc;
}

/* __queue_map_get() / __stack_map_get(): an empty map zeroes the buffer
 * (which programs see) and returns -ENOENT. */
static long qs_get(bpfvm_map *m, void *value, bool delete)
{
	struct qs_state *qs = qs_of(m);
	long rc = 0;
	if (map_lock(&qs->lock) < 0)
		return -EBUSY;
	uint32_t size = qs->size;
	struct qs_ends e = qs_load(qs);
	if (!qs_sane(m, qs, e)) {
		rc = -EINVAL;
	} else if (e.head == e.tail) {
		memset(value, 0, m->value_size);
		rc = -ENOENT;
	} else if (is_stack(m)) {
		uint32_t index = e.head - 1;
		if (index >= size)
			index = size - 1;
		memcpy(value, qs_slot(m, index), m->value_size);
		e.head = index;
	} else {
		memcpy(value, qs_slot(m, e.tail), m->value_size);
		e.tail = qs_next(e.tail, size);
	}
	if (rc == 0 && delete)
		qs_publish(qs, e);
	map_unlock(&qs->lock);
	return rc;
}

static long qs_pop(bpfvm_map *m, void *value)
{
	return qs_get(m, value, true);
}

static long qs_peek(bpfvm_map *m, void *value)
{
	return qs_get(m, value, false);
}

static int qs_sys_lookup(bpfvm_map *m, const void *key, void *value, uint64_t flags, bpfvm_error *err)
{
	(void)key;
	(void)flags;
	int rc = (int)qs_get(m, value, false);
	return rc == -EINVAL ? qs_damaged(m, err) : rc;
}

static int qs_sys_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags, bpfvm_error *err)
{
	(void)key;
	if ((flags & BPFVM_NOEXIST) || flags > BPFVM_EXIST)
		return -EINVAL;
	int rc = (int)qs_push(m, value, flags);
	return rc == -EINVAL ? qs_damaged(m, err) : rc;
}

static int qs_sys_delete(bpfvm_map *m, const void *key, bpfvm_error *err)
{
	(void)m;
	(void)key;
	(void)err;
	return -EINVAL;
}

static int qs_sys_get_next_key(bpfvm_map *m, const void *key, void *next_key, bpfvm_error *err)
{
	(void)m;
	(void)key;
	(void)next_key;
	(void)err;
	return -EINVAL;
}

static int qs_sys_lookup_and_delete(bpfvm_map *m, const void *key, void *value, uint64_t flags,
                                    bpfvm_error *err)
{
	(void)key;
	(void)flags;
	int rc = (int)qs_get(m, value, true);
	return rc == -EINVAL ? qs_damaged(m, err) : rc;
}

/* bpfvm_map_holders(): the lock is all a process can hold here. */
static void qs_holders(const bpfvm_map *m, map_holder_fn report, void *ctx)
{
	uint32_t t = spin_holder(&qs_of(m)->lock);
	if (t)
		report(ctx, "queue lock", 0, t);
}

/* bpfvm_map_reclaim(): every state is consistent, so a dead holder's
 * lock is just released (without waiting on a live one). */
static void qs_reclaim(bpfvm_map *m)
{
	uint32_t *lock = &qs_of(m)->lock;
	uint32_t t = spin_holder(lock);
	if (t && !owner_alive(t))
		__atomic_compare_exchange_n(lock, &t, 0, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

static long qs_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags)
{
	(void)m;
	(void)key;
	(void)value;
	(void)flags;
	return -EINVAL;
}

static long qs_delete(bpfvm_map *m, const void *key)
{
	(void)m;
	(void)key;
	return -EINVAL;
}

#define QS_OPS \
	.check = qs_check, \
	.layout = qs_layout, \
	.init = qs_init, \
	.attach = qs_attach, \
	.reclaim = qs_reclaim, \
	.holders = qs_holders, \
	.pinnable = true, \
	.only_helpers = \
		MAP_HELPER_BIT(MAP_HELPER_PUSH) | MAP_HELPER_BIT(MAP_HELPER_POP) | MAP_HELPER_BIT(MAP_HELPER_PEEK), \
	.sys_lookup = qs_sys_lookup, \
	.sys_update = qs_sys_update, \
	.sys_delete = qs_sys_delete, \
	.sys_get_next_key = qs_sys_get_next_key, \
	.sys_lookup_and_delete = qs_sys_lookup_and_delete, \
	.update = qs_update, \
	.delete = qs_delete, \
	.push = qs_push, \
	.pop = qs_pop, \
	.peek = qs_peek

const struct map_ops map_queue_ops = { QS_OPS };
const struct map_ops map_stack_ops = { QS_OPS };
