/*
 * queue.c - BPF_MAP_TYPE_QUEUE (FIFO) and BPF_MAP_TYPE_STACK (LIFO).
 *
 * Owns: the kernel's ring of max_entries + 1 slots with head (next push)
 * and tail (oldest) indices under one spin lock, the push/pop/peek rules
 * (BPF_EXIST on a full map overwrites the oldest element, for both kinds),
 * and the syscall's mapping of lookup/update/lookup_and_delete onto
 * peek/push/pop.  Values are copied in and out only, never handed to
 * programs, so the arena has no program window.
 */
#include "maps/map_internal.h"

#define KMALLOC_MAX_SIZE (4u << 20)

struct qs_state {
	uint32_t lock;
	uint32_t head;   /* where the next push goes */
	uint32_t tail;   /* the oldest element */
	uint32_t size;   /* max_entries + 1: one slot stays empty */
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

static bool qs_full(const struct qs_state *qs)
{
	uint32_t head = qs->head + 1;
	if (head >= qs->size)
		head = 0;
	return head == qs->tail;
}

/* queue_stack_map_push_elem(). */
static long qs_push(bpfvm_map *m, const void *value, uint64_t flags)
{
	if ((flags & BPFVM_NOEXIST) || flags > BPFVM_EXIST)
		return -EINVAL;
	struct qs_state *qs = qs_of(m);
	long rc = 0;
	spin_lock(&qs->lock);
	uint32_t size = qs->size;
	if (size != m->max_entries + 1 || qs->head >= size || qs->tail >= size) {
		rc = -EINVAL;   /* a corrupted arena: refuse rather than write out of bounds */
		goto out;
	}
	if (qs_full(qs)) {
		if (!(flags & BPFVM_EXIST)) {
			rc = -E2BIG;
			goto out;
		}
		/* Overwrite the oldest element. */
		if (++qs->tail >= size)
			qs->tail = 0;
	}
	memcpy(qs_slot(m, qs->head), value, m->value_size);
	if (++qs->head >= size)
		qs->head = 0;
out:
	spin_unlock(&qs->lock);
	return rc;
}

/* __queue_map_get() / __stack_map_get(): an empty map zeroes the buffer
 * (which programs see) and returns -ENOENT. */
static long qs_get(bpfvm_map *m, void *value, bool delete)
{
	struct qs_state *qs = qs_of(m);
	long rc = 0;
	spin_lock(&qs->lock);
	uint32_t size = qs->size;
	if (size != m->max_entries + 1 || qs->head >= size || qs->tail >= size) {
		rc = -EINVAL;
	} else if (qs->head == qs->tail) {
		memset(value, 0, m->value_size);
		rc = -ENOENT;
	} else if (is_stack(m)) {
		uint32_t index = qs->head - 1;
		if (index >= size)
			index = size - 1;
		memcpy(value, qs_slot(m, index), m->value_size);
		if (delete)
			qs->head = index;
	} else {
		memcpy(value, qs_slot(m, qs->tail), m->value_size);
		if (delete && ++qs->tail >= size)
			qs->tail = 0;
	}
	spin_unlock(&qs->lock);
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
	(void)err;
	return (int)qs_get(m, value, false);
}

static int qs_sys_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags, bpfvm_error *err)
{
	(void)key;
	(void)err;
	return (int)qs_push(m, value, flags);
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
	(void)err;
	return (int)qs_get(m, value, true);
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
