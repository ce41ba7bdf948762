/*
 * array.c - BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY.
 *
 * Owns: the kernel's attribute checks for every array-shaped map (shared
 * with the fd arrays in fd_array.c), array iteration order, and the
 * array's storage: max_entries values of round_up(value_size, 8) bytes,
 * zero-initialised, never deleted; the per-CPU form keeps one such slot
 * per possible CPU, element-major (element i, CPU c at i * ncpus + c).
 * There is no bookkeeping: the whole arena after the header is values.
 * That layout is promised to engines that open-code lookups
 * (array_layout.h, its ops' gen_lookup).
 */
#include "maps/array_layout.h"
#include "maps/map_internal.h"

#define PCPU_MIN_UNIT_SIZE 32768u   /* the kernel's bound on a per-CPU value */

/* array_map_alloc_check(), used by every array-shaped type. */
int array_check(const bpfvm_map_def *def, bpfvm_error *err)
{
	const uint32_t mask = BPFVM_F_NUMA_NODE | BPFVM_F_MMAPABLE | BPFVM_F_RDONLY | BPFVM_F_WRONLY |
	                      BPFVM_F_RDONLY_PROG | BPFVM_F_WRONLY_PROG | BPFVM_F_PRESERVE_ELEMS |
	                      BPFVM_F_INNER_MAP;
	bool percpu = def->type == BPFVM_MAP_TYPE_PERCPU_ARRAY;
	const char *t = map_type_label(def->type);
	if (def->max_entries == 0)
		return map_error(err, -EINVAL, "%s: max_entries must be > 0", t);
	if (def->key_size != 4)
		return map_error(err, -EINVAL, "%s: key_size must be 4 (got %u)", t, def->key_size);
	if (def->value_size == 0)
		return map_error(err, -EINVAL, "%s: value_size must be > 0", t);
	if ((def->flags & ~mask) || !map_flags_access_ok(def->flags))
		return map_error(err, -EINVAL, "%s: invalid map flags 0x%x", t, def->flags);
	if (percpu && (def->flags & BPFVM_F_NUMA_NODE))
		return map_error(err, -EINVAL, "%s: BPF_F_NUMA_NODE is not allowed for per-CPU maps", t);
	if (def->type != BPFVM_MAP_TYPE_ARRAY && (def->flags & (BPFVM_F_MMAPABLE | BPFVM_F_INNER_MAP)))
		return map_error(err, -EINVAL, "%s: BPF_F_MMAPABLE and BPF_F_INNER_MAP are only for arrays", t);
	if (def->type != BPFVM_MAP_TYPE_PERF_EVENT_ARRAY && (def->flags & BPFVM_F_PRESERVE_ELEMS))
		return map_error(err, -EINVAL, "%s: BPF_F_PRESERVE_ELEMS is only for perf_event_array", t);
	if (def->value_size > INT32_MAX)
		return map_error(err, -E2BIG, "%s: value_size %u too large", t, def->value_size);
	if (percpu && round_up8(def->value_size) > PCPU_MIN_UNIT_SIZE)
		return map_error(err, -E2BIG, "%s: per-CPU value_size %u above %u", t, def->value_size,
		                 PCPU_MIN_UNIT_SIZE);
	return 0;
}

/* array_map_get_next_key(): index order; a missing or out-of-range key
 * restarts at 0. */
int array_get_next_key(bpfvm_map *map, const void *key, void *next_key, bpfvm_error *err)
{
	(void)err;
	uint32_t index = UINT32_MAX, next;
	if (key)
		memcpy(&index, key, 4);
	if (index >= map->max_entries) {
		next = 0;
	} else {
		if (index == map->max_entries - 1)
			return -ENOENT;
		next = index + 1;
	}
	memcpy(next_key, &next, 4);
	return 0;
}

static bool is_percpu(const bpfvm_map *map)
{
	return map->type == BPFVM_MAP_TYPE_PERCPU_ARRAY;
}

static uint8_t *slot(const bpfvm_map *map, uint32_t index, unsigned cpu)
{
	size_t per_elem = is_percpu(map) ? map->ncpus : 1;
	return map->values + ((size_t)index * per_elem + cpu) * map->value_stride;
}

static int key_index(const bpfvm_map *map, const void *key, uint32_t *index)
{
	memcpy(index, key, 4);
	return *index < map->max_entries ? 0 : -1;
}

static int array_map_check(const bpfvm_map_def *def, unsigned ncpus, bpfvm_error *err)
{
	(void)ncpus;
	return array_check(def, err);
}

static int array_layout(bpfvm_map *map, struct arena_layout *lay, bpfvm_error *err)
{
	size_t per_elem = is_percpu(map) ? map->ncpus : 1;
	uint64_t bytes = (uint64_t)map->max_entries * per_elem * map->value_stride;
	if (bytes > (uint64_t)SIZE_MAX / 2)
		return map_error(err, -ENOMEM, "%s: %llu bytes of values is too much", map_type_label(map->type),
		                 (unsigned long long)bytes);
	lay->values_off = layout_add(lay, (size_t)bytes, arena_page_size());
	lay->values_len = (size_t)bytes;
	return 0;
}

static int array_sys_lookup(bpfvm_map *map, const void *key, void *value, uint64_t flags, bpfvm_error *err)
{
	(void)err;
	uint32_t index;
	if (key_index(map, key, &index) < 0)
		return -ENOENT;
	if (is_percpu(map)) {
		for (unsigned c = 0; c < map->ncpus; c++)
			arena_load((uint8_t *)value + (size_t)c * map->value_stride, slot(map, index, c),
			           map->value_stride);
		return 0;
	}
	if (flags & BPFVM_F_LOCK)
		value_out_locked(map, value, slot(map, index, 0), map->value_size);
	else
		value_out(map, value, slot(map, index, 0), map->value_size);
	return 0;
}

/* array_map_update_elem() and bpf_percpu_array_update(): `all_cpus` is
 * user space writing every CPU's slot from one buffer. */
static long array_update_common(bpfvm_map *map, const void *key, const void *value, uint64_t flags,
                                bool all_cpus)
{
	uint32_t index;
	/* bpf_percpu_array_update() (user space) refuses BPF_F_LOCK up front;
	 * array_map_update_elem() (programs, and plain arrays) gets to it last. */
	if (is_percpu(map) && all_cpus) {
		if (flags > BPFVM_EXIST)
			return -EINVAL;
	} else if ((flags & ~BPFVM_F_LOCK) > BPFVM_EXIST) {
		return -EINVAL;
	}
	if (key_index(map, key, &index) < 0)
		return -E2BIG;
	if (flags & BPFVM_NOEXIST)
		return -EEXIST;
	if ((flags & BPFVM_F_LOCK) && map->spin_lock_off < 0)
		return -EINVAL;
	if (is_percpu(map)) {
		if (all_cpus) {
			for (unsigned c = 0; c < map->ncpus; c++)
				arena_store(slot(map, index, c), (const uint8_t *)value + (size_t)c * map->value_stride,
				            map->value_stride);
		} else {
			arena_store(slot(map, index, map_this_cpu(map)), value, map->value_size);
		}
		return 0;
	}
	if (flags & BPFVM_F_LOCK)
		value_in_locked(map, slot(map, index, 0), value, map->value_size);
	else
		value_in(map, slot(map, index, 0), value, map->value_size);
	return 0;
}

static int array_sys_update(bpfvm_map *map, const void *key, const void *value, uint64_t flags,
                            bpfvm_error *err)
{
	(void)err;
	return (int)array_update_common(map, key, value, flags, true);
}

static int array_sys_delete(bpfvm_map *map, const void *key, bpfvm_error *err)
{
	(void)map;
	(void)key;
	(void)err;
	return -EINVAL;
}

/* The layout slot() computes with, for engines that open-code lookups. */
/* The plain array's inline lookup: not the per-CPU array's, whose value
 * depends on the calling thread. */
static bool array_gen_lookup(const bpfvm_map *map, struct array_layout *out)
{
	*out = (struct array_layout){ map->values, map->max_entries, map->value_stride };
	return true;
}

static void *array_lookup(bpfvm_map *map, const void *key)
{
	uint32_t index;
	if (key_index(map, key, &index) < 0)
		return NULL;
	return slot(map, index, is_percpu(map) ? map_this_cpu(map) : 0);
}

static void *array_lookup_percpu(bpfvm_map *map, const void *key, uint32_t cpu)
{
	uint32_t index;
	if (!is_percpu(map) || key_index(map, key, &index) < 0)
		return NULL;
	return slot(map, index, cpu);
}

static long array_update(bpfvm_map *map, const void *key, const void *value, uint64_t flags)
{
	return array_update_common(map, key, value, flags, false);
}

static long array_delete(bpfvm_map *map, const void *key)
{
	(void)map;
	(void)key;
	return -EINVAL;
}

/* bpf_for_each_array_elem(): every index, in order. */
static long array_for_each(bpfvm_map *map, bpfvm_map_for_each_fn cb, void *ctx)
{
	unsigned cpu = is_percpu(map) ? map_this_cpu(map) : 0;
	long visited = 0;
	for (uint32_t i = 0; i < map->max_entries; i++) {
		uint32_t key = i;
		visited++;
		if (cb(map, &key, slot(map, i, cpu), ctx))
			break;
	}
	return visited;
}

/* Arrays hold no structure, only values: what may be held is a value's
 * struct bpf_spin_lock (per-CPU arrays have none). */
static void array_holders(const bpfvm_map *map, map_holder_fn report, void *ctx)
{
	map_report_value_locks(map, slot(map, 0, 0), map->max_entries, map->value_stride, report, ctx);
}

static void array_reclaim(bpfvm_map *map)
{
	map_release_dead_value_locks(map, slot(map, 0, 0), map->max_entries, map->value_stride);
}

const struct map_ops map_array_ops = {
	.reclaim = array_reclaim,
	.holders = array_holders,
	.check = array_map_check,
	.layout = array_layout,
	.pinnable = true,
	.sys_lookup = array_sys_lookup,
	.sys_update = array_sys_update,
	.sys_delete = array_sys_delete,
	.sys_get_next_key = array_get_next_key,
	.lookup = array_lookup,
	.update = array_update,
	.delete = array_delete,
	.for_each = array_for_each,
	.gen_lookup = array_gen_lookup,
};

const struct map_ops map_percpu_array_ops = {
	.check = array_map_check,
	.layout = array_layout,
	.pinnable = true,
	.sys_lookup = array_sys_lookup,
	.sys_update = array_sys_update,
	.sys_delete = array_sys_delete,
	.sys_get_next_key = array_get_next_key,
	.lookup = array_lookup,
	.lookup_percpu = array_lookup_percpu,
	.update = array_update,
	.delete = array_delete,
	.for_each = array_for_each,
};
