/*
 * map.c - the map module's core: the type registry and names, creation
 * and the checks the kernel's map_create() makes for every type, reference
 * counting, and the dispatch of user-space and program-side operations to
 * the per-type code, with the checks the bpf() syscall makes before a
 * type sees a request (access flags, BPF_F_LOCK, NULL buffers).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "maps/map_internal.h"

/* ---- type registry ----------------------------------------------------- */

struct map_type_entry {
	const char *name;             /* as bpftool prints it */
	const struct map_ops *ops;    /* NULL: known to the kernel, not to bpfvm */
};

static const struct map_type_entry map_types[] = {
	[BPFVM_MAP_TYPE_UNSPEC] = { "unspec", NULL },
	[BPFVM_MAP_TYPE_HASH] = { "hash", &map_hash_ops },
	[BPFVM_MAP_TYPE_ARRAY] = { "array", &map_array_ops },
	[BPFVM_MAP_TYPE_PROG_ARRAY] = { "prog_array", &map_prog_array_ops },
	[BPFVM_MAP_TYPE_PERF_EVENT_ARRAY] = { "perf_event_array", &map_perf_event_array_ops },
	[BPFVM_MAP_TYPE_PERCPU_HASH] = { "percpu_hash", &map_percpu_hash_ops },
	[BPFVM_MAP_TYPE_PERCPU_ARRAY] = { "percpu_array", &map_percpu_array_ops },
	[BPFVM_MAP_TYPE_STACK_TRACE] = { "stack_trace", &map_stack_trace_ops },
	[BPFVM_MAP_TYPE_CGROUP_ARRAY] = { "cgroup_array", NULL },
	[BPFVM_MAP_TYPE_LRU_HASH] = { "lru_hash", &map_lru_hash_ops },
	[BPFVM_MAP_TYPE_LRU_PERCPU_HASH] = { "lru_percpu_hash", &map_lru_percpu_hash_ops },
	[BPFVM_MAP_TYPE_LPM_TRIE] = { "lpm_trie", &map_lpm_trie_ops },
	[BPFVM_MAP_TYPE_ARRAY_OF_MAPS] = { "array_of_maps", &map_array_of_maps_ops },
	[BPFVM_MAP_TYPE_HASH_OF_MAPS] = { "hash_of_maps", &map_hash_of_maps_ops },
	[BPFVM_MAP_TYPE_DEVMAP] = { "devmap", &map_devmap_ops },
	[BPFVM_MAP_TYPE_SOCKMAP] = { "sockmap", NULL },
	[BPFVM_MAP_TYPE_CPUMAP] = { "cpumap", &map_cpumap_ops },
	[BPFVM_MAP_TYPE_XSKMAP] = { "xskmap", &map_xskmap_ops },
	[BPFVM_MAP_TYPE_SOCKHASH] = { "sockhash", NULL },
	[BPFVM_MAP_TYPE_CGROUP_STORAGE] = { "cgroup_storage", NULL },
	[BPFVM_MAP_TYPE_REUSEPORT_SOCKARRAY] = { "reuseport_sockarray", NULL },
	[BPFVM_MAP_TYPE_PERCPU_CGROUP_STORAGE] = { "percpu_cgroup_storage", NULL },
	[BPFVM_MAP_TYPE_QUEUE] = { "queue", &map_queue_ops },
	[BPFVM_MAP_TYPE_STACK] = { "stack", &map_stack_ops },
	[BPFVM_MAP_TYPE_SK_STORAGE] = { "sk_storage", NULL },
	[BPFVM_MAP_TYPE_DEVMAP_HASH] = { "devmap_hash", &map_devmap_hash_ops },
	[BPFVM_MAP_TYPE_STRUCT_OPS] = { "struct_ops", NULL },
	[BPFVM_MAP_TYPE_RINGBUF] = { "ringbuf", &map_ringbuf_ops },
	[BPFVM_MAP_TYPE_INODE_STORAGE] = { "inode_storage", NULL },
	[BPFVM_MAP_TYPE_TASK_STORAGE] = { "task_storage", NULL },
	[BPFVM_MAP_TYPE_BLOOM_FILTER] = { "bloom_filter", &map_bloom_filter_ops },
	[BPFVM_MAP_TYPE_USER_RINGBUF] = { "user_ringbuf", NULL },
	[BPFVM_MAP_TYPE_CGRP_STORAGE] = { "cgrp_storage", NULL },
	[BPFVM_MAP_TYPE_ARENA] = { "arena", NULL },
};

#define MAP_TYPE_COUNT (sizeof map_types / sizeof map_types[0])

const char *bpfvm_map_type_name(uint32_t type)
{
	return type < MAP_TYPE_COUNT ? map_types[type].name : NULL;
}

int bpfvm_map_type_by_name(const char *name, uint32_t *type)
{
	for (uint32_t t = 0; name && t < MAP_TYPE_COUNT; t++) {
		if (map_types[t].name && strcmp(map_types[t].name, name) == 0) {
			if (type)
				*type = t;
			return 0;
		}
	}
	return -EINVAL;
}

bool map_gen_lookup(const bpfvm_map *map, struct array_layout *out)
{
	return map->ops->gen_lookup && map->ops->gen_lookup(map, out);
}

bool bpfvm_map_type_supported(uint32_t type)
{
	return type < MAP_TYPE_COUNT && map_types[type].ops != NULL;
}

const char *map_type_label(uint32_t type)
{
	const char *name = bpfvm_map_type_name(type);
	return name ? name : "?";
}

/* ---- CPUs and randomness (the count of possible CPUs is base/cpus.c's) ---------------------------------------------- */

unsigned bpfvm_map_possible_cpus(void)
{
	return cpus_possible();
}

unsigned map_this_cpu(const bpfvm_map *map)
{
	int cpu = sched_getcpu();
	if (cpu < 0)
		cpu = 0;
	return (unsigned)cpu % map->ncpus;
}

unsigned bpfvm_map_current_cpu(void)
{
	int cpu = sched_getcpu();
	if (cpu < 0)
		cpu = 0;
	return (unsigned)cpu % cpus_possible();
}

uint32_t map_random_u32(void)
{
	uint32_t r;
	if (getrandom(&r, sizeof r, 0) == (ssize_t)sizeof r)
		return r;
	/* No entropy source: still vary between maps. */
	static uint32_t fallback = 0x9e3779b9u;
	return __atomic_add_fetch(&fallback, 0x9e3779b9u, __ATOMIC_RELAXED) ^ (uint32_t)getpid();
}

void bpfvm_map_spin_lock(void *lock)
{
	spin_lock(lock);
}

int bpfvm_map_spin_lock_bounded(void *lock, uint64_t wait_ns)
{
	if (spin_trylock(lock))
		return 0;
	int rc = spin_lock_wait(lock, owner_self(), owner_now_ns() + wait_ns);
	return rc < 0 ? rc : 0;
}

void bpfvm_map_spin_unlock(void *lock)
{
	spin_unlock(lock);
}

/* ---- creation ----------------------------------------------------------- */

bool map_flags_access_ok(uint32_t flags)
{
	return (flags & (BPFVM_F_RDONLY_PROG | BPFVM_F_WRONLY_PROG)) !=
	       (BPFVM_F_RDONLY_PROG | BPFVM_F_WRONLY_PROG);
}

static uint32_t next_map_id = 0;

/* bpf_obj_name_cpy(): at most 15 characters, each alphanumeric, '_' or '.'. */
static int check_name(const char *name, bpfvm_error *err)
{
	if (!name)
		return 0;
	size_t len = strlen(name);
	if (len >= 16)
		return map_error(err, -EINVAL, "map name \"%.20s...\" is longer than 15 characters", name);
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '_' || c == '.';
		if (!ok)
			return map_error(err, -EINVAL, "map name \"%s\": character '%c' is not one of [A-Za-z0-9_.]",
			                 name, c);
	}
	return 0;
}

/* The kernel finds a struct bpf_spin_lock through BTF; here the offset is
 * given.  Its rules (map_check_btf()): only hash and array values may hold
 * one, it must be 4-aligned and inside the value, and programs' access
 * restrictions cannot be combined with it. */
static int check_spin_lock(const bpfvm_map_def *def, bpfvm_error *err)
{
	if (def->spin_lock_off < 0)
		return 0;
	if (def->type != BPFVM_MAP_TYPE_HASH && def->type != BPFVM_MAP_TYPE_ARRAY)
		return map_error(err, -EOPNOTSUPP, "a bpf_spin_lock is only allowed in hash and array values, not %s",
		                 map_type_label(def->type));
	if (def->flags & (BPFVM_F_RDONLY_PROG | BPFVM_F_WRONLY_PROG))
		return map_error(err, -EACCES, "a map with a bpf_spin_lock cannot be BPF_F_RDONLY_PROG/WRONLY_PROG");
	if (def->spin_lock_off % 4 != 0 || (uint64_t)def->spin_lock_off + 4 > def->value_size)
		return map_error(err, -EINVAL, "spin_lock_off %d: need a 4-aligned offset with 4 bytes inside the %u-byte value",
		                 def->spin_lock_off, def->value_size);
	return 0;
}

/* A struct bpf_timer or bpf_wq (map_check_btf()): only hash, LRU hash and
 * array values may hold one, 16 bytes 8-aligned inside the value, not
 * overlapping the lock or each other, and not with programs' access
 * restrictions. */
static int check_field16(const bpfvm_map_def *def, const char *what, int32_t off, bpfvm_error *err)
{
	if (off < 0)
		return 0;
	if (def->type != BPFVM_MAP_TYPE_HASH && def->type != BPFVM_MAP_TYPE_LRU_HASH &&
	    def->type != BPFVM_MAP_TYPE_ARRAY)
		return map_error(err, -EOPNOTSUPP, "a %s is only allowed in hash, lru_hash and array values, not %s", what,
		                 map_type_label(def->type));
	if (def->flags & (BPFVM_F_RDONLY_PROG | BPFVM_F_WRONLY_PROG))
		return map_error(err, -EACCES, "a map with a %s cannot be BPF_F_RDONLY_PROG/WRONLY_PROG", what);
	if (off % 8 != 0 || (uint64_t)off + 16 > def->value_size)
		return map_error(err, -EINVAL, "%s at %d: need an 8-aligned offset with 16 bytes inside the %u-byte value",
		                 what, off, def->value_size);
	if (def->spin_lock_off >= 0 && def->spin_lock_off + 4 > off && def->spin_lock_off < off + 16)
		return map_error(err, -EINVAL, "%s at %d overlaps the bpf_spin_lock at %d", what, off, def->spin_lock_off);
	return 0;
}

static int check_fields(const bpfvm_map_def *def, bpfvm_error *err)
{
	const bpfvm_map_fields *f = def->fields;
	if (!f)
		return 0;
	int rc = check_field16(def, "bpf_timer", f->timer_off, err);
	if (!rc)
		rc = check_field16(def, "bpf_wq", f->wq_off, err);
	if (!rc && f->timer_off >= 0 && f->wq_off >= 0 && f->timer_off + 16 > f->wq_off && f->timer_off < f->wq_off + 16)
		rc = map_error(err, -EINVAL, "bpf_timer at %d overlaps the bpf_wq at %d", f->timer_off, f->wq_off);
	return rc;
}

static void fill_header(bpfvm_map *map, const struct arena_layout *lay)
{
	struct arena_header *h = map->hdr;
	h->magic = ARENA_MAGIC;
	h->version = ARENA_VERSION;
	h->possible_cpus = map->ncpus;
	h->file_size = lay->size;
	h->map_size = map->map_size;
	h->values_off = lay->values_off;
	h->values_len = lay->values_len;
	h->page_size = (uint32_t)arena_page_size();
	h->type = map->type;
	h->key_size = map->key_size;
	h->value_size = map->value_size;
	h->max_entries = map->max_entries;
	h->map_flags = map->map_flags;
	h->map_extra = map->map_extra;
	h->spin_lock_off = map->spin_lock_off;
	h->timer_off = map->timer_off;
	h->wq_off = map->wq_off;
	h->hash_seed = (map->map_flags & BPFVM_F_ZERO_SEED) ? 0 : map_random_u32();
	memcpy(h->name, map->name, sizeof h->name);
}

static void map_free(bpfvm_map *map)
{
	if (!map)
		return;
	if (map->id)
		map_registry_remove(map);
	if (map->users)
		map_users_detach(map);
	if (map->ops && map->ops->destroy)
		map->ops->destroy(map);
	if (map->inner_template)
		bpfvm_map_put(map->inner_template);
	arena_destroy(map);
	free(map);
}

/* Lays out a map's arena from its (already adjusted) definition. */
static int map_layout(bpfvm_map *map, struct arena_layout *lay, bpfvm_error *err)
{
	memset(lay, 0, sizeof *lay);
	layout_add(lay, sizeof(struct arena_header), 64);
	layout_add(lay, sizeof(struct arena_users), 64);
	int rc = map->ops->layout(map, lay, err);
	size_t page = arena_page_size();
	lay->size = (lay->size + page - 1) & ~(page - 1);
	return rc;
}

/* The last steps of creating or opening a map: the type's process-local
 * attach, an id, the registry; on any failure so far, the map is freed. */
static int map_finish(bpfvm_map *map, int rc, bool inspect, bpfvm_map **out, bpfvm_error *err)
{
	if (rc == 0 && map->ops->attach)
		rc = map->ops->attach(map, err);
	if (rc < 0) {
		map_free(map);
		return rc;
	}
	map->id = __atomic_add_fetch(&next_map_id, 1, __ATOMIC_RELAXED);
	map_registry_add(map);
	if (!inspect)
		map_users_attach(map);
	*out = map;
	if (err)
		err->code = 0;
	return 0;
}

static int map_create(const bpfvm_map_def *def, bool anonymous, bpfvm_map **out, bpfvm_error *err)
{
	if (!out)
		return map_error(err, -EINVAL, "map_create: no place for the result");
	*out = NULL;
	if (!def)
		return map_error(err, -EINVAL, "map_create: no definition");

	/* The checks map_create() makes before the type's own. */
	if (def->type != BPFVM_MAP_TYPE_BLOOM_FILTER && def->map_extra != 0)
		return map_error(err, -EINVAL, "map_extra is only used by bloom filters (got %llu for %s)",
		                 (unsigned long long)def->map_extra, map_type_label(def->type));
	if ((def->flags & BPFVM_F_RDONLY) && (def->flags & BPFVM_F_WRONLY))
		return map_error(err, -EINVAL, "BPF_F_RDONLY and BPF_F_WRONLY together");
	if (def->type >= MAP_TYPE_COUNT || def->type == BPFVM_MAP_TYPE_UNSPEC)
		return map_error(err, -EINVAL, "unknown map type %u", def->type);
	const struct map_ops *ops = map_types[def->type].ops;
	if (!ops)
		return map_error(err, -EOPNOTSUPP, "map type %s (%u) is not implemented by bpfvm",
		                 map_types[def->type].name, def->type);

	unsigned ncpus = cpus_possible();
	int rc = ops->check(def, ncpus, err);
	if (rc < 0)
		return rc;
	rc = check_name(def->name, err);
	if (rc < 0)
		return rc;
	rc = check_spin_lock(def, err);
	if (rc == 0)
		rc = check_fields(def, err);
	if (rc < 0)
		return rc;

	bpfvm_map *map = calloc(1, sizeof *map);
	if (!map)
		return map_error(err, -ENOMEM, "out of memory creating a map");
	map->refcount = 1;
	map->fd = -1;
	map->ops = ops;
	map->type = def->type;
	map->key_size = def->key_size;
	map->value_size = def->value_size;
	map->max_entries = def->max_entries;
	map->map_flags = def->flags;
	map->map_extra = def->map_extra;
	map->spin_lock_off = def->spin_lock_off < 0 ? -1 : def->spin_lock_off;
	map->timer_off = def->fields && def->fields->timer_off >= 0 ? def->fields->timer_off : -1;
	map->wq_off = def->fields && def->fields->wq_off >= 0 ? def->fields->wq_off : -1;
	map_note_special_fields(map);
	if (def->name)
		snprintf(map->name, sizeof map->name, "%s", def->name);
	map->ncpus = ncpus;
	map->value_stride = round_up8(def->value_size);
	if (def->inner && (def->type == BPFVM_MAP_TYPE_ARRAY_OF_MAPS ||
	                   def->type == BPFVM_MAP_TYPE_HASH_OF_MAPS))
		map->inner_template = bpfvm_map_get(def->inner);

	struct arena_layout lay;
	rc = map_layout(map, &lay, err);
	if (rc == 0)
		rc = arena_create(map, &lay, anonymous, err);
	if (rc == 0) {
		fill_header(map, &lay);
		if (ops->init)
			rc = ops->init(map, err);
	}
	return map_finish(map, rc, false, out, err);
}

int bpfvm_map_create(const bpfvm_map_def *def, bpfvm_map **out, bpfvm_error *err)
{
	return map_create(def, false, out, err);
}

int map_create_anonymous(const bpfvm_map_def *def, bpfvm_map **out, bpfvm_error *err)
{
	return map_create(def, true, out, err);
}

/* A pin's header is data anyone with write access could have changed: its
 * definition passes the checks a creation makes before anything is laid
 * out or read by it. */
static int check_pinned_def(const char *path, bpfvm_map *map, bpfvm_error *err)
{
	map->name[sizeof map->name - 1] = '\0';
	bpfvm_map_fields fields = { .timer_off = map->timer_off, .wq_off = map->wq_off };
	bpfvm_map_def def = {
		.type = map->type,
		.key_size = map->key_size,
		.value_size = map->value_size,
		.max_entries = map->max_entries,
		.flags = map->map_flags,
		.map_extra = map->map_extra,
		.spin_lock_off = map->spin_lock_off,
		.name = map->name,
		.fields = &fields,
	};
	int rc = map->ops->check(&def, map->ncpus, err);
	if (rc == 0)
		rc = check_spin_lock(&def, err);
	if (rc == 0)
		rc = check_fields(&def, err);
	if (rc < 0 && err) {
		char why[sizeof err->msg];
		snprintf(why, sizeof why, "%s", err->msg);
		map_error(err, -EINVAL, "%s: damaged pin, its definition is not one a map can have: %s", path, why);
	}
	return rc < 0 ? -EINVAL : 0;
}

/* The steps after arena_open or arena_open_fd (rc, their result) checked
 * the header and copied the definition into map: the layout that
 * definition gives must be the header's; then the arena is mapped. */
static int map_open_arena(bpfvm_map *map, int rc, const struct arena_header *hdr, const char *what, bool inspect,
                          bpfvm_map **out, bpfvm_error *err)
{
	if (rc < 0) {
		map_free(map);
		return rc;
	}
	map->ops = map->type < MAP_TYPE_COUNT ? map_types[map->type].ops : NULL;
	if (!map->ops || !map->ops->pinnable) {
		rc = map_error(err, -EINVAL, "%s: map type %u cannot be opened from a pin", what, map->type);
		map_free(map);
		return rc;
	}
	map->value_stride = round_up8(map->value_size);
	rc = check_pinned_def(what, map, err);
	if (rc < 0) {
		map_free(map);
		return rc;
	}
	struct arena_layout lay;
	rc = map_layout(map, &lay, err);
	if (rc == 0 && (lay.size != hdr->file_size || lay.values_off != hdr->values_off ||
	                lay.values_len != hdr->values_len))
		rc = map_error(err, -EINVAL, "%s: arena layout does not match its %s definition (different bpfvm version?)",
		               what, map_type_label(map->type));
	if (rc == 0)
		rc = arena_map_file(map, map->fd, &lay, err);
	rc = map_finish(map, rc, inspect, out, err);
	if (rc < 0 && err && strncmp(err->msg, what, strlen(what)) != 0) {
		/* the type's checks of the arena do not know the pin's name */
		char why[sizeof err->msg];
		snprintf(why, sizeof why, "%s", err->msg);
		map_error(err, rc, "%s: %s", what, why);
	}
	return rc;
}

static bpfvm_map *map_alloc_for_open(void)
{
	bpfvm_map *map = calloc(1, sizeof *map);
	if (map) {
		map->refcount = 1;
		map->fd = -1;
	}
	return map;
}

static int open_pinned(const char *path, bool inspect, bpfvm_map **out, bpfvm_error *err)
{
	if (!out)
		return map_error(err, -EINVAL, "open_pinned: no place for the result");
	*out = NULL;
	if (!path)
		return map_error(err, -EINVAL, "open_pinned: no path");
	bpfvm_map *map = map_alloc_for_open();
	if (!map)
		return map_error(err, -ENOMEM, "out of memory opening %s", path);
	struct arena_header hdr;
	int rc = arena_open(path, map, &hdr, err);
	return map_open_arena(map, rc, &hdr, path, inspect, out, err);
}

int bpfvm_map_open_pinned(const char *path, bpfvm_map **out, bpfvm_error *err)
{
	return open_pinned(path, false, out, err);
}

int bpfvm_map_open_pinned_inspect(const char *path, bpfvm_map **out, bpfvm_error *err)
{
	return open_pinned(path, true, out, err);
}

int map_open_fd(int fd, const char *what, bpfvm_map **out, bpfvm_error *err)
{
	*out = NULL;
	bpfvm_map *map = map_alloc_for_open();
	if (!map) {
		close(fd);
		return map_error(err, -ENOMEM, "out of memory opening %s", what);
	}
	struct arena_header hdr;
	int rc = arena_open_fd(fd, what, map, &hdr, err);
	return map_open_arena(map, rc, &hdr, what, false, out, err);
}

int bpfvm_map_pin(bpfvm_map *map, const char *path, bpfvm_error *err)
{
	if (!map || !path || !*path)
		return map_error(err, -EINVAL, "map_pin: no map or no path");
	if (!map->ops->pinnable)
		return map_error(err, -EOPNOTSUPP, "%s map '%s' holds process-local references and cannot be pinned",
		                 map_type_label(map->type), map->name);
	return arena_pin(map, path, err);
}

bpfvm_map *bpfvm_map_get(bpfvm_map *map)
{
	if (map)
		__atomic_add_fetch(&map->refcount, 1, __ATOMIC_RELAXED);
	return map;
}

void bpfvm_map_put(bpfvm_map *map)
{
	if (map && __atomic_sub_fetch(&map->refcount, 1, __ATOMIC_ACQ_REL) == 0)
		map_free(map);
}

void bpfvm_map_info_get(const bpfvm_map *map, bpfvm_map_info *info)
{
	memset(info, 0, sizeof *info);
	info->type = map->type;
	info->id = map->id;
	info->key_size = map->key_size;
	info->value_size = map->value_size;
	info->max_entries = map->max_entries;
	info->flags = map->map_flags;
	info->map_extra = map->map_extra;
	info->spin_lock_off = map->spin_lock_off;
	info->timer_off = map->timer_off;
	info->wq_off = map->wq_off;
	info->possible_cpus = map->ncpus;
	switch (map->type) {
	case BPFVM_MAP_TYPE_PERCPU_HASH:
	case BPFVM_MAP_TYPE_PERCPU_ARRAY:
	case BPFVM_MAP_TYPE_LRU_PERCPU_HASH:
		info->user_value_size = map->ncpus * map->value_stride;
		break;
	default:
		info->user_value_size = map->value_size;
		break;
	}
	info->pinnable = map->ops->pinnable;
	memcpy(info->name, map->name, sizeof info->name);
}

void bpfvm_map_arena(const bpfvm_map *map, void **base, size_t *len)
{
	*base = map->values;
	*len = map->values_len;
}

void map_checked_region(const bpfvm_map *map, struct map_region_desc *out)
{
	if (map->ops->checked_region) {
		map->ops->checked_region(map, out);
		return;
	}
	*out = (struct map_region_desc){ .stride = map->value_stride, .value_off = 0,
	                                 .value_len = map->value_stride, .lock_off = map->spin_lock_off };
}

/* ---- user-space operations --------------------------------------------- */

static const char *errno_reason(int code)
{
	switch (-code) {
	case ENOENT: return "no such element";
	case EEXIST: return "element exists (BPF_NOEXIST)";
	case E2BIG: return "map full or index out of range";
	case EINVAL: return "invalid argument or flags";
	case EPERM: return "not permitted by the map's access flags";
	case EFAULT: return "NULL buffer";
	case ENOMEM: return "out of memory";
	case ENOSPC: return "no space left";
	case EBUSY: return "busy";
	case EOPNOTSUPP: return "operation not supported";
	case MAP_ENOTSUPP: return "operation not supported by this map type (ENOTSUPP)";
	default: return "error";
	}
}

/* Finishes one user-space operation: if it failed without saying why,
 * says which operation on which map failed and why.  Callers clear
 * err->msg before running the operation. */
static int sys_result(const bpfvm_map *map, bpfvm_error *err, const char *opname, int rc)
{
	if (!err)
		return rc;
	if (rc >= 0)
		err->code = 0;
	else if (err->msg[0] == '\0')
		map_error(err, rc, "%s on %s map '%s': %s", opname, map_type_label(map->type), map->name,
		          errno_reason(rc));
	return rc;
}

static void sys_begin(bpfvm_error *err)
{
	if (err)
		err->msg[0] = '\0';
}

static int no_op(void)
{
	return -MAP_ENOTSUPP;
}

static bool can_read(const bpfvm_map *map) { return !(map->map_flags & BPFVM_F_WRONLY); }
static bool can_write(const bpfvm_map *map) { return !(map->map_flags & BPFVM_F_RDONLY); }

static int need_key(const bpfvm_map *map, const void *key)
{
	return (map->key_size && !key) ? -EFAULT : 0;
}

static int do_lookup(bpfvm_map *map, const void *key, void *value, uint64_t flags, bpfvm_error *err)
{
	if (flags & ~BPFVM_F_LOCK)
		return -EINVAL;
	if (!can_read(map))
		return -EPERM;
	if ((flags & BPFVM_F_LOCK) && map->spin_lock_off < 0)
		return map_error(err, -EINVAL, "BPF_F_LOCK on %s map '%s' whose value has no bpf_spin_lock",
		                 map_type_label(map->type), map->name);
	if (need_key(map, key) || !value)
		return -EFAULT;
	return map->ops->sys_lookup ? map->ops->sys_lookup(map, key, value, flags, err) : no_op();
}

int bpfvm_map_lookup(bpfvm_map *map, const void *key, void *value, uint64_t flags, bpfvm_error *err)
{
	sys_begin(err);
	return sys_result(map, err, "lookup", do_lookup(map, key, value, flags, err));
}

static int do_update(bpfvm_map *map, const void *key, const void *value, uint64_t flags, bpfvm_error *err)
{
	if (!can_write(map))
		return -EPERM;
	if ((flags & BPFVM_F_LOCK) && map->spin_lock_off < 0)
		return map_error(err, -EINVAL, "BPF_F_LOCK on %s map '%s' whose value has no bpf_spin_lock",
		                 map_type_label(map->type), map->name);
	if (need_key(map, key) || !value)
		return -EFAULT;
	return map->ops->sys_update ? map->ops->sys_update(map, key, value, flags, err) : no_op();
}

int bpfvm_map_update(bpfvm_map *map, const void *key, const void *value, uint64_t flags, bpfvm_error *err)
{
	sys_begin(err);
	return sys_result(map, err, "update", do_update(map, key, value, flags, err));
}

static int do_delete(bpfvm_map *map, const void *key, bpfvm_error *err)
{
	if (!can_write(map))
		return -EPERM;
	if (need_key(map, key))
		return -EFAULT;
	return map->ops->sys_delete ? map->ops->sys_delete(map, key, err) : no_op();
}

int bpfvm_map_delete(bpfvm_map *map, const void *key, bpfvm_error *err)
{
	sys_begin(err);
	return sys_result(map, err, "delete", do_delete(map, key, err));
}

static int do_get_next_key(bpfvm_map *map, const void *key, void *next_key, bpfvm_error *err)
{
	if (!can_read(map))
		return -EPERM;
	if (map->key_size && !next_key)
		return -EFAULT;
	return map->ops->sys_get_next_key ? map->ops->sys_get_next_key(map, key, next_key, err) : no_op();
}

int bpfvm_map_get_next_key(bpfvm_map *map, const void *key, void *next_key, bpfvm_error *err)
{
	sys_begin(err);
	return sys_result(map, err, "get_next_key", do_get_next_key(map, key, next_key, err));
}

static int do_lookup_and_delete(bpfvm_map *map, const void *key, void *value, uint64_t flags,
                                bpfvm_error *err)
{
	if (flags & ~BPFVM_F_LOCK)
		return -EINVAL;
	if (!can_read(map) || !can_write(map))
		return -EPERM;
	if (flags && (map->type == BPFVM_MAP_TYPE_QUEUE || map->type == BPFVM_MAP_TYPE_STACK))
		return -EINVAL;
	if ((flags & BPFVM_F_LOCK) && map->spin_lock_off < 0)
		return map_error(err, -EINVAL, "BPF_F_LOCK on %s map '%s' whose value has no bpf_spin_lock",
		                 map_type_label(map->type), map->name);
	if (need_key(map, key) || !value)
		return -EFAULT;
	return map->ops->sys_lookup_and_delete ? map->ops->sys_lookup_and_delete(map, key, value, flags, err)
	                                       : no_op();
}

int bpfvm_map_lookup_and_delete(bpfvm_map *map, const void *key, void *value, uint64_t flags,
                                bpfvm_error *err)
{
	sys_begin(err);
	return sys_result(map, err, "lookup_and_delete", do_lookup_and_delete(map, key, value, flags, err));
}

int bpfvm_map_push(bpfvm_map *map, const void *value, uint64_t flags, bpfvm_error *err)
{
	return bpfvm_map_update(map, NULL, value, flags, err);
}

int bpfvm_map_peek(bpfvm_map *map, void *value, bpfvm_error *err)
{
	return bpfvm_map_lookup(map, NULL, value, 0, err);
}

int bpfvm_map_pop(bpfvm_map *map, void *value, bpfvm_error *err)
{
	return bpfvm_map_lookup_and_delete(map, NULL, value, 0, err);
}

/* ---- program-side operations ------------------------------------------- */

void *bpfvm_map_lookup_elem(bpfvm_map *map, const void *key)
{
	return map->ops->lookup ? map->ops->lookup(map, key) : NULL;
}

void *bpfvm_map_lookup_percpu_elem(bpfvm_map *map, const void *key, uint32_t cpu)
{
	if (!map->ops->lookup_percpu || cpu >= map->ncpus)
		return NULL;
	return map->ops->lookup_percpu(map, key, cpu);
}

long bpfvm_map_update_elem(bpfvm_map *map, const void *key, const void *value, uint64_t flags)
{
	return map->ops->update ? map->ops->update(map, key, value, flags) : -EINVAL;
}

long bpfvm_map_delete_elem(bpfvm_map *map, const void *key)
{
	return map->ops->delete ? map->ops->delete(map, key) : -EINVAL;
}

long bpfvm_map_push_elem(bpfvm_map *map, const void *value, uint64_t flags)
{
	return map->ops->push ? map->ops->push(map, value, flags) : -MAP_ENOTSUPP;
}

long bpfvm_map_pop_elem(bpfvm_map *map, void *value)
{
	return map->ops->pop ? map->ops->pop(map, value) : -MAP_ENOTSUPP;
}

long bpfvm_map_peek_elem(bpfvm_map *map, void *value)
{
	return map->ops->peek ? map->ops->peek(map, value) : -MAP_ENOTSUPP;
}

long bpfvm_map_for_each_elem(bpfvm_map *map, bpfvm_map_for_each_fn cb, void *ctx, uint64_t flags)
{
	if (flags)
		return -EINVAL;
	if (!map->ops->for_each)
		return -MAP_ENOTSUPP;
	return map->ops->for_each(map, cb, ctx);
}
