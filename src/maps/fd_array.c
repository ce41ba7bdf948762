/*
 * fd_array.c - maps whose values are references to process-local objects:
 * BPF_MAP_TYPE_PROG_ARRAY (programs, for tail calls) and
 * BPF_MAP_TYPE_ARRAY_OF_MAPS (inner maps), plus what map-in-map needs from
 * both outer types: the inner map template checks and the process's map
 * registry by id (the stand-in for the kernel's map fds).
 *
 * The references live in a malloc'd side table, never in the arena: a
 * program in checked mode may write anywhere in an arena's window, and a
 * pointer it could overwrite would be a pointer it could forge.  The
 * arena only holds the header; these maps cannot be pinned.  Their lock
 * is in the side table too: a process killed holding it takes it with
 * it, so there is nothing to take over or report.
 *
 * User-space semantics follow the kernel's fd arrays: updates take only
 * BPF_ANY (-EINVAL), an index out of range is -E2BIG for update and delete,
 * deleting an empty slot is -ENOENT, lookups return an id.
 */
#include <pthread.h>
#include <stdlib.h>

#include "maps/map_internal.h"

/* ---- registry of live maps by id ---------------------------------------- */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static bpfvm_map **registry;
static size_t registry_len, registry_cap;

void map_registry_add(bpfvm_map *map)
{
	pthread_mutex_lock(&registry_lock);
	if (registry_len == registry_cap) {
		size_t ncap = registry_cap ? registry_cap * 2 : 32;
		bpfvm_map **bigger = realloc(registry, ncap * sizeof *bigger);
		if (!bigger) {
			/* Unregistered maps work; they just cannot be found by id. */
			pthread_mutex_unlock(&registry_lock);
			return;
		}
		registry = bigger;
		registry_cap = ncap;
	}
	registry[registry_len++] = map;
	pthread_mutex_unlock(&registry_lock);
}

void map_registry_remove(bpfvm_map *map)
{
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < registry_len; i++) {
		if (registry[i] == map) {
			registry[i] = registry[--registry_len];
			break;
		}
	}
	if (registry_len == 0) {
		/* nothing may stay allocated behind a dlclose() of the library */
		free(registry);
		registry = NULL;
		registry_cap = 0;
	}
	pthread_mutex_unlock(&registry_lock);
}

/* A new reference to the live map with this id, or NULL. */
bpfvm_map *map_get_by_id(uint32_t id)
{
	bpfvm_map *found = NULL;
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < registry_len && !found; i++) {
		if (registry[i]->id != id)
			continue;
		/* Only if it is not already on its way out (refcount 0). */
		uint32_t refs = __atomic_load_n(&registry[i]->refcount, __ATOMIC_RELAXED);
		while (refs && !__atomic_compare_exchange_n(&registry[i]->refcount, &refs, refs + 1, false,
		                                            __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			;
		if (refs)
			found = registry[i];
	}
	pthread_mutex_unlock(&registry_lock);
	return found;
}

/* ---- map-in-map templates ----------------------------------------------- */

/* bpf_map_meta_alloc(): what may serve as an inner map. */
int map_inner_template_check(const bpfvm_map_def *def, bpfvm_error *err)
{
	const bpfvm_map *inner = def->inner;
	const char *t = map_type_label(def->type);
	if (!inner)
		return map_error(err, -EINVAL, "%s: an inner map template is required", t);
	if (inner->type == BPFVM_MAP_TYPE_ARRAY_OF_MAPS || inner->type == BPFVM_MAP_TYPE_HASH_OF_MAPS)
		return map_error(err, -EINVAL, "%s: inner maps cannot themselves hold maps", t);
	if (inner->type == BPFVM_MAP_TYPE_PROG_ARRAY)
		return map_error(err, -MAP_ENOTSUPP, "%s: a prog_array cannot be an inner map", t);
	return 0;
}

/* bpf_map_meta_equal() and array_map_meta_equal(). */
int map_inner_compatible(const bpfvm_map *outer, const bpfvm_map *inner, bpfvm_error *err)
{
	const bpfvm_map *t = outer->inner_template;
	const char *what = NULL;
	if (!t)
		what = "the outer map has no template";
	else if (inner->type != t->type)
		what = "map type";
	else if (inner->key_size != t->key_size)
		what = "key_size";
	else if (inner->value_size != t->value_size)
		what = "value_size";
	/* BPF_F_RDONLY/WRONLY describe the kernel's fd, not the map
	 * (bpf_map_flags_retain_permanent()), so they do not count. */
	else if ((inner->map_flags ^ t->map_flags) & ~(BPFVM_F_RDONLY | BPFVM_F_WRONLY))
		what = "map flags";
	else if (inner->spin_lock_off != t->spin_lock_off)
		what = "spin lock";
	else if (inner->timer_off != t->timer_off)
		what = "bpf_timer";
	else if (inner->wq_off != t->wq_off)
		what = "bpf_wq";
	else if (t->type == BPFVM_MAP_TYPE_ARRAY && !(t->map_flags & BPFVM_F_INNER_MAP) &&
	         inner->max_entries != t->max_entries)
		what = "max_entries (the template has no BPF_F_INNER_MAP)";
	if (!what)
		return 0;
	return map_error(err, -EINVAL, "inner map '%s' does not match the template of %s map '%s': %s differs",
	                 inner->name, map_type_label(outer->type), outer->name, what);
}

/* ---- the side tables ---------------------------------------------------- */

struct prog_slot {
	void *prog;        /* atomic */
	uint32_t id;       /* atomic */
};

struct fd_array_local {
	uint32_t lock;     /* serialises writers; readers use atomics */
	struct prog_slot *progs;       /* prog_array */
	bpfvm_map **maps;              /* array_of_maps */
};

static struct fd_array_local *local_of(const bpfvm_map *m)
{
	return m->local;
}

static int fd_array_check(const bpfvm_map_def *def, unsigned ncpus, bpfvm_error *err)
{
	(void)ncpus;
	const char *t = map_type_label(def->type);
	if (def->value_size != 4)
		return map_error(err, -EINVAL, "%s: value_size must be 4, got %u", t, def->value_size);
	if (def->flags & (BPFVM_F_RDONLY_PROG | BPFVM_F_WRONLY_PROG))
		return map_error(err, -EINVAL, "%s: BPF_F_RDONLY_PROG/WRONLY_PROG are not supported", t);
	int rc = array_check(def, err);
	if (rc == 0 && def->type == BPFVM_MAP_TYPE_ARRAY_OF_MAPS)
		rc = map_inner_template_check(def, err);
	return rc;
}

static int fd_array_layout(bpfvm_map *m, struct arena_layout *lay, bpfvm_error *err)
{
	(void)m;
	(void)lay;
	(void)err;
	return 0;   /* nothing shared beyond the header */
}

static int fd_array_attach(bpfvm_map *m, bpfvm_error *err)
{
	struct fd_array_local *loc = calloc(1, sizeof *loc);
	if (loc) {
		if (m->type == BPFVM_MAP_TYPE_PROG_ARRAY)
			loc->progs = calloc(m->max_entries, sizeof *loc->progs);
		else
			loc->maps = calloc(m->max_entries, sizeof *loc->maps);
	}
	if (!loc || (!loc->progs && !loc->maps)) {
		free(loc);
		return map_error(err, -ENOMEM, "out of memory for %u slots of '%s'", m->max_entries, m->name);
	}
	m->local = loc;
	return 0;
}

static void fd_array_destroy(bpfvm_map *m)
{
	struct fd_array_local *loc = local_of(m);
	if (!loc)
		return;
	if (loc->maps)
		for (uint32_t i = 0; i < m->max_entries; i++)
			bpfvm_map_put(loc->maps[i]);
	free(loc->maps);
	free(loc->progs);
	free(loc);
	m->local = NULL;
}

static uint32_t key_index(const void *key)
{
	uint32_t index;
	memcpy(&index, key, 4);
	return index;
}

static int fd_array_sys_lookup(bpfvm_map *m, const void *key, void *value, uint64_t flags, bpfvm_error *err)
{
	(void)flags;
	(void)err;
	struct fd_array_local *loc = local_of(m);
	uint32_t index = key_index(key), id = 0;
	if (index >= m->max_entries)
		return -ENOENT;
	if (loc->progs) {
		spin_lock(&loc->lock);
		if (loc->progs[index].prog)
			id = loc->progs[index].id;
		bool present = loc->progs[index].prog != NULL;
		spin_unlock(&loc->lock);
		if (!present)
			return -ENOENT;
	} else {
		spin_lock(&loc->lock);
		bpfvm_map *inner = loc->maps[index];
		if (inner)
			id = inner->id;
		spin_unlock(&loc->lock);
		if (!inner)
			return -ENOENT;
	}
	memcpy(value, &id, 4);
	return 0;
}

static int set_map_slot(bpfvm_map *m, uint32_t index, bpfvm_map *inner /* referenced */)
{
	struct fd_array_local *loc = local_of(m);
	spin_lock(&loc->lock);
	bpfvm_map *old = loc->maps[index];
	__atomic_store_n(&loc->maps[index], inner, __ATOMIC_RELEASE);
	spin_unlock(&loc->lock);
	bpfvm_map_put(old);
	return 0;
}

/* bpf_fd_array_map_update_elem(): the value is an id (the kernel's fd). */
static int fd_array_sys_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags,
                               bpfvm_error *err)
{
	if (flags != BPFVM_ANY)
		return -EINVAL;
	uint32_t index = key_index(key), id;
	if (index >= m->max_entries)
		return -E2BIG;
	memcpy(&id, value, 4);
	if (m->type == BPFVM_MAP_TYPE_PROG_ARRAY)
		return map_error(err, -EBADF, "prog_array '%s': programs are stored with bpfvm_map_set_prog()", m->name);
	bpfvm_map *inner = map_get_by_id(id);
	if (!inner)
		return map_error(err, -EBADF, "%s map '%s': no map with id %u", map_type_label(m->type), m->name, id);
	int rc = map_inner_compatible(m, inner, err);
	if (rc < 0) {
		bpfvm_map_put(inner);
		return rc;
	}
	return set_map_slot(m, index, inner);
}

/* fd_array_map_delete_elem(). */
static int fd_array_sys_delete(bpfvm_map *m, const void *key, bpfvm_error *err)
{
	(void)err;
	struct fd_array_local *loc = local_of(m);
	uint32_t index = key_index(key);
	if (index >= m->max_entries)
		return -E2BIG;
	bool had;
	bpfvm_map *old = NULL;
	spin_lock(&loc->lock);
	if (loc->progs) {
		had = loc->progs[index].prog != NULL;
		__atomic_store_n(&loc->progs[index].prog, NULL, __ATOMIC_RELEASE);
		loc->progs[index].id = 0;
	} else {
		old = loc->maps[index];
		had = old != NULL;
		__atomic_store_n(&loc->maps[index], NULL, __ATOMIC_RELEASE);
	}
	spin_unlock(&loc->lock);
	bpfvm_map_put(old);
	return had ? 0 : -ENOENT;
}

static void *array_of_maps_lookup(bpfvm_map *m, const void *key)
{
	uint32_t index = key_index(key);
	if (index >= m->max_entries)
		return NULL;
	return __atomic_load_n(&local_of(m)->maps[index], __ATOMIC_ACQUIRE);
}

/* ---- public entry points ------------------------------------------------ */

int bpfvm_map_set_prog(bpfvm_map *map, uint32_t index, void *prog, uint32_t prog_id, uint64_t flags,
                       bpfvm_error *err)
{
	if (!map || map->type != BPFVM_MAP_TYPE_PROG_ARRAY)
		return map_error(err, -EINVAL, "set_prog: not a prog_array");
	if (flags != BPFVM_ANY)
		return map_error(err, -EINVAL, "set_prog on '%s': flags must be BPF_ANY", map->name);
	if (index >= map->max_entries)
		return map_error(err, -E2BIG, "set_prog on '%s': index %u out of range (max_entries %u)", map->name,
		                 index, map->max_entries);
	if (!prog)
		return map_error(err, -EBADF, "set_prog on '%s': no program (delete the slot to clear it)", map->name);
	struct fd_array_local *loc = local_of(map);
	spin_lock(&loc->lock);
	loc->progs[index].id = prog_id;
	__atomic_store_n(&loc->progs[index].prog, prog, __ATOMIC_RELEASE);
	spin_unlock(&loc->lock);
	if (err)
		err->code = 0;
	return 0;
}

int bpfvm_map_set_inner(bpfvm_map *map, const void *key, bpfvm_map *inner, uint64_t flags, bpfvm_error *err)
{
	if (!map || !key)
		return map_error(err, -EINVAL, "set_inner: no map or no key");
	if (map->map_flags & BPFVM_F_RDONLY)
		return map_error(err, -EPERM, "set_inner on '%s': map is BPF_F_RDONLY", map->name);
	if (err)
		err->msg[0] = '\0';
	int rc;
	if (map->type == BPFVM_MAP_TYPE_HASH_OF_MAPS) {
		if (!inner)
			return map_error(err, -EBADF, "set_inner on '%s': no inner map", map->name);
		rc = map_hash_of_maps_set(map, key, inner, flags, err);
	} else if (map->type == BPFVM_MAP_TYPE_ARRAY_OF_MAPS) {
		uint32_t index = key_index(key);
		if (flags != BPFVM_ANY)
			return map_error(err, -EINVAL, "set_inner on '%s': flags must be BPF_ANY", map->name);
		if (index >= map->max_entries)
			return map_error(err, -E2BIG, "set_inner on '%s': index %u out of range", map->name, index);
		if (!inner)
			return map_error(err, -EBADF, "set_inner on '%s': no inner map", map->name);
		rc = map_inner_compatible(map, inner, err);
		if (rc == 0)
			rc = set_map_slot(map, index, bpfvm_map_get(inner));
	} else {
		return map_error(err, -EINVAL, "set_inner: %s map '%s' does not hold maps", map_type_label(map->type),
		                 map->name);
	}
	if (rc < 0 && err && err->msg[0] == '\0')
		map_error(err, rc, "set_inner on %s map '%s' failed (%d)", map_type_label(map->type), map->name, rc);
	else if (rc == 0 && err)
		err->code = 0;
	return rc;
}

void *bpfvm_map_prog_array_get(bpfvm_map *map, uint32_t index)
{
	if (!map || map->type != BPFVM_MAP_TYPE_PROG_ARRAY || index >= map->max_entries)
		return NULL;
	return __atomic_load_n(&local_of(map)->progs[index].prog, __ATOMIC_ACQUIRE);
}

bpfvm_map *bpfvm_map_lookup_inner(bpfvm_map *map, const void *key)
{
	if (!map || (map->type != BPFVM_MAP_TYPE_ARRAY_OF_MAPS && map->type != BPFVM_MAP_TYPE_HASH_OF_MAPS))
		return NULL;
	return bpfvm_map_lookup_elem(map, key);
}

const struct map_ops map_prog_array_ops = {
	.check = fd_array_check,
	.layout = fd_array_layout,
	.attach = fd_array_attach,
	.destroy = fd_array_destroy,
	.pinnable = false,
	.only_helpers = MAP_HELPER_BIT(MAP_HELPER_TAIL_CALL),
	.sys_lookup = fd_array_sys_lookup,
	.sys_update = fd_array_sys_update,
	.sys_delete = fd_array_sys_delete,
	.sys_get_next_key = array_get_next_key,
};

const struct map_ops map_array_of_maps_ops = {
	.check = fd_array_check,
	.layout = fd_array_layout,
	.attach = fd_array_attach,
	.destroy = fd_array_destroy,
	.pinnable = false,
	.only_helpers = MAP_HELPER_BIT(MAP_HELPER_LOOKUP),   /* the inner map */
	.sys_lookup = fd_array_sys_lookup,
	.sys_update = fd_array_sys_update,
	.sys_delete = fd_array_sys_delete,
	.sys_get_next_key = array_get_next_key,
	.lookup = array_of_maps_lookup,
};
