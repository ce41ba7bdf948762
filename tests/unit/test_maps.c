/*
 * test_maps.c - the semantics of every map type, without the kernel: each
 * operation's result and each error path, per type, as the kernel defines
 * them (test_maps_kernel.c checks the same against the real kernel).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>

#include "support/maps_test.h"

static unsigned ncpus;

static bpfvm_map *map_with(bpfvm_map_def def)
{
	bpfvm_map *m = NULL;
	bpfvm_error err;
	int rc = bpfvm_map_create(&def, &m, &err);
	CHECK(rc == 0, "create %s: %d %s", bpfvm_map_type_name(def.type), rc, err.msg);
	return m;
}

static int create_rc(uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags, uint64_t extra,
                     bpfvm_error *err)
{
	bpfvm_map_def def = BPFVM_MAP_DEF_INIT;
	def.type = type;
	def.key_size = ks;
	def.value_size = vs;
	def.max_entries = max;
	def.flags = flags;
	def.map_extra = extra;
	bpfvm_map *m = NULL;
	int rc = bpfvm_map_create(&def, &m, err);
	bpfvm_map_put(m);
	return rc;
}

static void test_type_names(void)
{
	static const struct { uint32_t type; const char *name; } names[] = {
		{ 1, "hash" }, { 2, "array" }, { 3, "prog_array" }, { 4, "perf_event_array" },
		{ 5, "percpu_hash" }, { 6, "percpu_array" }, { 9, "lru_hash" }, { 10, "lru_percpu_hash" },
		{ 11, "lpm_trie" }, { 12, "array_of_maps" }, { 13, "hash_of_maps" }, { 22, "queue" },
		{ 23, "stack" }, { 27, "ringbuf" }, { 30, "bloom_filter" }, { 14, "devmap" }, { 33, "arena" },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const char *n = bpfvm_map_type_name(names[i].type);
		CHECK(n && strcmp(n, names[i].name) == 0, "type %u named %s, want %s", names[i].type, n ? n : "NULL",
		      names[i].name);
		uint32_t t = 0;
		CHECK(bpfvm_map_type_by_name(names[i].name, &t) == 0 && t == names[i].type, "type_by_name(%s)",
		      names[i].name);
	}
	CHECK(bpfvm_map_type_name(1000) == NULL, "unknown type has no name");
	CHECK(bpfvm_map_type_by_name("nonsense", NULL) == -EINVAL, "unknown name");
	CHECK(bpfvm_map_type_supported(BPFVM_MAP_TYPE_HASH), "hash supported");
	CHECK(!bpfvm_map_type_supported(BPFVM_MAP_TYPE_SOCKMAP), "sockmap not supported");
	CHECK(ncpus >= 1, "possible cpus %u", ncpus);
}

static void test_create_errors(void)
{
	bpfvm_error err;
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_HASH, 4, 4, 4, 0, 1, &err), -EINVAL, "map_extra on hash");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_HASH, 4, 4, 4, BPFVM_F_RDONLY | BPFVM_F_WRONLY, 0, &err), -EINVAL,
	         "RDONLY|WRONLY");
	CHECK_RC(create_rc(0, 4, 4, 4, 0, 0, &err), -EINVAL, "type 0");
	CHECK_RC(create_rc(999, 4, 4, 4, 0, 0, &err), -EINVAL, "type 999");
	int rc = create_rc(BPFVM_MAP_TYPE_SOCKMAP, 4, 4, 4, 0, 0, &err);
	CHECK(rc == -EOPNOTSUPP && strstr(err.msg, "sockmap"), "sockmap refused loudly: %d %s", rc, err.msg);
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_ARENA, 0, 0, 1, 0, 0, &err), -EOPNOTSUPP, "arena refused");

	bpfvm_map_def def = BPFVM_MAP_DEF_INIT;
	def.type = BPFVM_MAP_TYPE_HASH;
	def.key_size = def.value_size = def.max_entries = 4;
	bpfvm_map *m = NULL;
	def.name = "sixteen_chars_xx";
	CHECK_RC(bpfvm_map_create(&def, &m, &err), -EINVAL, "16-char name");
	def.name = "bad-name";
	CHECK_RC(bpfvm_map_create(&def, &m, &err), -EINVAL, "name with '-'");
	def.name = "ok_name.15chars";
	CHECK_RC(bpfvm_map_create(&def, &m, &err), 0, "15-char name");
	bpfvm_map_info info;
	if (m) {
		bpfvm_map_info_get(m, &info);
		CHECK(strcmp(info.name, "ok_name.15chars") == 0, "name kept: %s", info.name);
		bpfvm_map_put(m);
	}
	CHECK_RC(bpfvm_map_create(NULL, &m, &err), -EINVAL, "NULL def");

	/* Spin locks: only hash and array, inside the value, 4-aligned. */
	def = (bpfvm_map_def)BPFVM_MAP_DEF_INIT;
	def.type = BPFVM_MAP_TYPE_PERCPU_HASH;
	def.key_size = 4;
	def.value_size = 8;
	def.max_entries = 4;
	def.spin_lock_off = 0;
	CHECK_RC(bpfvm_map_create(&def, &m, &err), -EOPNOTSUPP, "spin lock in percpu_hash");
	def.type = BPFVM_MAP_TYPE_HASH;
	def.spin_lock_off = 2;
	CHECK_RC(bpfvm_map_create(&def, &m, &err), -EINVAL, "misaligned spin lock");
	def.spin_lock_off = 8;
	CHECK_RC(bpfvm_map_create(&def, &m, &err), -EINVAL, "spin lock outside the value");
	def.spin_lock_off = 4;
	def.flags = BPFVM_F_RDONLY_PROG;
	CHECK_RC(bpfvm_map_create(&def, &m, &err), -EACCES, "spin lock with RDONLY_PROG");

	/* Per-type attribute checks (the kernel test compares them all). */
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_HASH, 0, 4, 4, 0, 0, &err), -EINVAL, "hash key_size 0");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_HASH, 4, 4, 0, 0, 0, &err), -EINVAL, "hash max_entries 0");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_HASH, 4, 4, 4, BPFVM_F_MMAPABLE, 0, &err), -EINVAL, "hash MMAPABLE");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_HASH, 4, 4, 4, BPFVM_F_NO_COMMON_LRU, 0, &err), -EINVAL,
	         "hash NO_COMMON_LRU");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_LRU_HASH, 4, 4, 4, BPFVM_F_NO_PREALLOC, 0, &err), -BPFVM_ENOTSUPP,
	         "lru NO_PREALLOC");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_HASH, 4, 4, 4, BPFVM_F_RDONLY_PROG | BPFVM_F_WRONLY_PROG, 0, &err),
	         -EINVAL, "RDONLY_PROG|WRONLY_PROG");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_PERCPU_HASH, 4, 32769, 4, 0, 0, &err), -E2BIG, "percpu value too big");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_HASH, 4u << 20, 4, 4, 0, 0, &err), -E2BIG, "hash key too big");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_ARRAY, 8, 4, 4, 0, 0, &err), -EINVAL, "array key_size 8");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_ARRAY, 4, 0, 4, 0, 0, &err), -EINVAL, "array value_size 0");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_PERCPU_ARRAY, 4, 4, 4, BPFVM_F_MMAPABLE, 0, &err), -EINVAL,
	         "percpu_array MMAPABLE");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_ARRAY, 4, 4, 4, BPFVM_F_PRESERVE_ELEMS, 0, &err), -EINVAL,
	         "array PRESERVE_ELEMS");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_ARRAY, 4, 4, 4, BPFVM_F_ZERO_SEED, 0, &err), -EINVAL, "array ZERO_SEED");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_QUEUE, 4, 4, 4, 0, 0, &err), -EINVAL, "queue with a key");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_STACK, 0, 4, 0, 0, 0, &err), -EINVAL, "stack max_entries 0");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_LPM_TRIE, 8, 4, 4, 0, 0, &err), -EINVAL, "lpm without NO_PREALLOC");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_LPM_TRIE, 4, 4, 4, BPFVM_F_NO_PREALLOC, 0, &err), -EINVAL, "lpm key 4");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_LPM_TRIE, 261, 4, 4, BPFVM_F_NO_PREALLOC, 0, &err), -EINVAL, "lpm key 261");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_RINGBUF, 0, 0, 4096 * 3, 0, 0, &err), -EINVAL, "ringbuf 3 pages");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_RINGBUF, 4, 0, 4096, 0, 0, &err), -EINVAL, "ringbuf with a key");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_RINGBUF, 0, 0, 4096, BPFVM_F_RDONLY, 0, &err), -EINVAL, "ringbuf RDONLY");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_BLOOM_FILTER, 0, 4, 4, 0, 16, &err), -EINVAL, "bloom 16 hashes");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_BLOOM_FILTER, 4, 4, 4, 0, 1, &err), -EINVAL, "bloom with a key");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_PROG_ARRAY, 4, 8, 4, 0, 0, &err), -EINVAL, "prog_array value 8");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 0, 0, 0, &err), -EINVAL, "perf max 0");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 4, BPFVM_F_PRESERVE_ELEMS, 0, &err), 0,
	         "perf PRESERVE_ELEMS");
	CHECK_RC(create_rc(BPFVM_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 4, 0, 0, &err), -EINVAL, "array_of_maps without inner");
	CHECK(err.msg[0] != '\0', "creation errors carry a message");
}

static void test_array(void)
{
	bpfvm_map *m = mt_map(BPFVM_MAP_TYPE_ARRAY, 4, 12, 3, 0);
	if (!m)
		return;
	bpfvm_error err;
	uint8_t v[12], z[12] = { 0 }, w[12];
	memset(v, 0xab, sizeof v);
	uint32_t k = 1, next;
	CHECK_RC(bpfvm_map_lookup(m, &k, w, 0, &err), 0, "array lookup");
	CHECK(memcmp(w, z, 12) == 0, "array starts zeroed");
	k = 3;
	CHECK_RC(bpfvm_map_lookup(m, &k, w, 0, &err), -ENOENT, "array lookup out of range");
	CHECK_RC(bpfvm_map_update(m, &k, v, 0, &err), -E2BIG, "array update out of range");
	k = 1;
	CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_NOEXIST, &err), -EEXIST, "array NOEXIST");
	CHECK_RC(bpfvm_map_update(m, &k, v, 3, &err), -EINVAL, "array flags 3");
	CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_F_LOCK, &err), -EINVAL, "array F_LOCK without lock");
	CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_EXIST, &err), 0, "array EXIST");
	CHECK_RC(bpfvm_map_lookup(m, &k, w, 0, &err), 0, "array lookup");
	CHECK(memcmp(w, v, 12) == 0, "array value round trip");
	CHECK_RC(bpfvm_map_lookup(m, &k, w, 8, &err), -EINVAL, "lookup flags 8");
	CHECK_RC(bpfvm_map_delete(m, &k, &err), -EINVAL, "array delete");
	CHECK_RC(bpfvm_map_lookup_and_delete(m, &k, w, 0, &err), -BPFVM_ENOTSUPP, "array lookup_and_delete");
	CHECK_RC(bpfvm_map_get_next_key(m, NULL, &next, &err), 0, "array first key");
	CHECK(next == 0, "first key 0, got %u", next);
	k = 0;
	CHECK(bpfvm_map_get_next_key(m, &k, &next, &err) == 0 && next == 1, "next of 0");
	k = 2;
	CHECK_RC(bpfvm_map_get_next_key(m, &k, &next, &err), -ENOENT, "next of last");
	k = 77;
	CHECK(bpfvm_map_get_next_key(m, &k, &next, &err) == 0 && next == 0, "next of out-of-range restarts");
	CHECK_RC(bpfvm_map_lookup(m, NULL, w, 0, &err), -EFAULT, "NULL key");

	/* Program side. */
	k = 1;
	uint8_t *p = bpfvm_map_lookup_elem(m, &k);
	void *base;
	size_t len;
	bpfvm_map_arena(m, &base, &len);
	CHECK(p && p >= (uint8_t *)base && p + 12 <= (uint8_t *)base + len, "lookup_elem points into the arena");
	CHECK(p && memcmp(p, v, 12) == 0, "lookup_elem sees the value");
	k = 3;
	CHECK(bpfvm_map_lookup_elem(m, &k) == NULL, "lookup_elem out of range");
	CHECK_RC(bpfvm_map_update_elem(m, &k, v, 0), -E2BIG, "update_elem out of range");
	k = 2;
	CHECK_RC(bpfvm_map_update_elem(m, &k, v, BPFVM_NOEXIST), -EEXIST, "update_elem NOEXIST");
	CHECK_RC(bpfvm_map_update_elem(m, &k, v, 0), 0, "update_elem");
	CHECK_RC(bpfvm_map_delete_elem(m, &k), -EINVAL, "delete_elem");
	CHECK_RC(bpfvm_map_push_elem(m, v, 0), -BPFVM_ENOTSUPP, "push on array");
	CHECK(bpfvm_map_lookup_percpu_elem(m, &k, 0) == NULL, "lookup_percpu on a plain array");
	bpfvm_map_put(m);
}

static long count_cb(bpfvm_map *map, const void *key, void *value, void *ctx)
{
	(void)map;
	(void)value;
	int *state = ctx;   /* [0] visits, [1] stop after, [2] sum of u32 keys */
	state[0]++;
	uint32_t k;
	memcpy(&k, key, 4);
	state[2] += (int)k;
	return state[0] == state[1];
}

static void test_for_each(void)
{
	bpfvm_map *a = mt_map(BPFVM_MAP_TYPE_ARRAY, 4, 8, 5, 0);
	bpfvm_map *h = mt_map(BPFVM_MAP_TYPE_HASH, 4, 8, 8, 0);
	bpfvm_map *q = mt_map(BPFVM_MAP_TYPE_QUEUE, 0, 8, 8, 0);
	if (!a || !h || !q)
		return;
	int st[3] = { 0, 0, 0 };
	CHECK_RC(bpfvm_map_for_each_elem(a, count_cb, st, 0), 5, "array for_each visits all");
	CHECK(st[2] == 0 + 1 + 2 + 3 + 4, "array keys in order");
	int st2[3] = { 0, 2, 0 };
	CHECK_RC(bpfvm_map_for_each_elem(a, count_cb, st2, 0), 2, "for_each stops, counting the stopper");
	CHECK_RC(bpfvm_map_for_each_elem(a, count_cb, st2, 1), -EINVAL, "for_each flags");
	CHECK_RC(bpfvm_map_for_each_elem(q, count_cb, st2, 0), -BPFVM_ENOTSUPP, "for_each on queue");
	uint64_t v = 1;
	for (uint32_t k = 10; k < 16; k++)
		bpfvm_map_update(h, &k, &v, 0, NULL);
	int st3[3] = { 0, 0, 0 };
	CHECK_RC(bpfvm_map_for_each_elem(h, count_cb, st3, 0), 6, "hash for_each");
	CHECK(st3[2] == 10 + 11 + 12 + 13 + 14 + 15, "hash for_each saw every key once (sum %d)", st3[2]);
	bpfvm_map_put(a);
	bpfvm_map_put(h);
	bpfvm_map_put(q);
}

static long delete_cb(bpfvm_map *map, const void *key, void *value, void *ctx)
{
	(void)value;
	(*(int *)ctx)++;
	return bpfvm_map_delete_elem(map, key) == 0 ? 0 : 1;
}

static void test_hash_family(uint32_t type, uint32_t flags)
{
	const char *t = bpfvm_map_type_name(type);
	bool percpu = type == BPFVM_MAP_TYPE_PERCPU_HASH || type == BPFVM_MAP_TYPE_LRU_PERCPU_HASH;
	bool lru = type == BPFVM_MAP_TYPE_LRU_HASH || type == BPFVM_MAP_TYPE_LRU_PERCPU_HASH;
	bpfvm_map *m = mt_map(type, 8, 12, 4, flags);
	if (!m)
		return;
	bpfvm_map_info info;
	bpfvm_map_info_get(m, &info);
	uint32_t uvs = percpu ? ncpus * 16 : 12;
	CHECK(info.user_value_size == uvs, "%s user_value_size %u want %u", t, info.user_value_size, uvs);
	CHECK(info.pinnable && info.possible_cpus == ncpus && info.type == type, "%s info", t);
	uint8_t *v = calloc(1, uvs), *w = calloc(1, uvs);
	bpfvm_error err;
	uint64_t k = 1, next;
	for (uint32_t i = 0; i < uvs; i++)
		v[i] = (uint8_t)(i + 1);
	CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_EXIST, &err), -ENOENT, "EXIST on missing");
	CHECK_RC(bpfvm_map_update(m, &k, v, 3, &err), -EINVAL, "flags 3");
	CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_F_LOCK, &err), -EINVAL, "F_LOCK without lock");
	CHECK(strstr(err.msg, "bpf_spin_lock") != NULL, "F_LOCK message: %s", err.msg);
	CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_NOEXIST, &err), 0, "NOEXIST on missing");
	CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_NOEXIST, &err), -EEXIST, "NOEXIST on present");
	CHECK_RC(bpfvm_map_lookup(m, &k, w, 0, &err), 0, "lookup");
	CHECK(memcmp(v, w, uvs) == 0, "%s value round trip (whole per-CPU strides)", t);
	for (k = 2; k <= 4; k++)
		CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_ANY, &err), 0, "fill");
	k = 5;
	if (lru) {
		CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_ANY, &err), 0, "LRU update on full map evicts");
	} else {
		CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_ANY, &err), -E2BIG, "full map");
		CHECK(err.msg[0] != '\0', "full map has a message");
		k = 2;
		CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_EXIST, &err), 0, "replace in a full map");
		CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_ANY, &err), 0, "replace in a full map (ANY)");
	}
	/* Iteration visits every key exactly once. */
	int seen[8] = { 0 }, total = 0;
	int rc = bpfvm_map_get_next_key(m, NULL, &next, &err);
	while (rc == 0 && total < 20) {
		if (next < 8)
			seen[next]++;
		total++;
		k = next;
		rc = bpfvm_map_get_next_key(m, &k, &next, &err);
	}
	CHECK_RC(rc, -ENOENT, "iteration ends with ENOENT");
	CHECK(total == 4, "%s iteration saw %d keys", t, total);
	for (int i = 0; i < 8; i++)
		CHECK(seen[i] <= 1, "key %d seen %d times", i, seen[i]);
	uint64_t first;
	bpfvm_map_get_next_key(m, NULL, &first, &err);
	k = 999;
	CHECK(bpfvm_map_get_next_key(m, &k, &next, &err) == 0 && next == first, "missing key restarts");

	k = 999;
	CHECK_RC(bpfvm_map_delete(m, &k, &err), -ENOENT, "delete missing");
	CHECK_RC(bpfvm_map_lookup(m, &k, w, 0, &err), -ENOENT, "lookup missing");
	CHECK_RC(bpfvm_map_lookup_and_delete(m, &k, w, 0, &err), -ENOENT, "lookup_and_delete missing");
	k = first;
	CHECK_RC(bpfvm_map_lookup_and_delete(m, &k, w, 2, &err), -EINVAL, "lookup_and_delete flags");
	CHECK_RC(bpfvm_map_lookup_and_delete(m, &k, w, 0, &err), 0, "lookup_and_delete");
	CHECK(memcmp(v, w, uvs) == 0, "lookup_and_delete value");
	CHECK_RC(bpfvm_map_lookup(m, &k, w, 0, &err), -ENOENT, "gone after lookup_and_delete");
	CHECK_RC(bpfvm_map_delete(m, &k, &err), -ENOENT, "delete again");

	/* Program side. */
	k = 42;
	uint64_t pv[2] = { 7, 0 };
	CHECK(bpfvm_map_lookup_elem(m, &k) == NULL, "lookup_elem missing");
	CHECK_RC(bpfvm_map_update_elem(m, &k, pv, 4), -EINVAL, "update_elem F_LOCK");
	CHECK_RC(bpfvm_map_update_elem(m, &k, pv, BPFVM_NOEXIST), 0, "update_elem");
	uint64_t *p = bpfvm_map_lookup_elem(m, &k);
	CHECK(p && *p == 7, "lookup_elem value");
	if (p)
		__atomic_fetch_add(p, 5, __ATOMIC_RELAXED);
	CHECK(bpfvm_map_lookup(m, &k, w, 0, &err) == 0, "lookup after atomic");
	uint64_t mine;
	unsigned cpu = bpfvm_map_current_cpu();
	memcpy(&mine, w + (percpu ? cpu * 16 : 0), 8);
	CHECK(mine == 12 || percpu, "atomic add visible: %" PRIu64, mine);
	if (percpu) {
		/* A new element from a program: this CPU's slot, zeroes elsewhere
		 * (unless the thread migrated between the calls). */
		uint64_t other_sum = 0;
		for (unsigned c = 0; c < ncpus; c++) {
			uint64_t x;
			memcpy(&x, w + c * 16, 8);
			if (c != cpu)
				other_sum += x;
		}
		CHECK(other_sum == 0 || bpfvm_map_current_cpu() != cpu, "per-CPU new element: others zero");
		CHECK(bpfvm_map_lookup_percpu_elem(m, &k, ncpus) == NULL, "lookup_percpu beyond CPUs");
		CHECK(bpfvm_map_lookup_percpu_elem(m, &k, 0) != NULL, "lookup_percpu cpu 0");
	}
	CHECK_RC(bpfvm_map_delete_elem(m, &k), 0, "delete_elem");
	CHECK_RC(bpfvm_map_delete_elem(m, &k), -ENOENT, "delete_elem missing");

	/* for_each may delete what it visits. */
	int visits = 0;
	long n = bpfvm_map_for_each_elem(m, delete_cb, &visits, 0);
	uint64_t any;
	CHECK(n == visits && bpfvm_map_get_next_key(m, NULL, &any, &err) == -ENOENT,
	      "%s for_each deleting everything (%ld visits)", t, n);
	free(v);
	free(w);
	bpfvm_map_put(m);
}

static void test_spin_lock(uint32_t type)
{
	bpfvm_map_def def = BPFVM_MAP_DEF_INIT;
	def.type = type;
	def.key_size = 4;
	def.value_size = 16;
	def.max_entries = 4;
	def.spin_lock_off = 8;
	bpfvm_map *m = map_with(def);
	if (!m)
		return;
	bpfvm_error err;
	uint32_t k = 1;
	uint32_t v[4] = { 1, 2, 0xdead, 4 }, w[4];
	CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_ANY, &err), 0, "update with lock");
	CHECK_RC(bpfvm_map_lookup(m, &k, w, 0, &err), 0, "lookup with lock");
	CHECK(w[0] == 1 && w[1] == 2 && w[2] == 0 && w[3] == 4, "lock word reads as zero: %x", w[2]);
	CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_F_LOCK | BPFVM_EXIST, &err), 0, "F_LOCK|EXIST");
	CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_F_LOCK | 3, &err), -EINVAL, "F_LOCK|3");
	CHECK_RC(bpfvm_map_lookup(m, &k, w, BPFVM_F_LOCK, &err), 0, "lookup F_LOCK");
	/* A held lock is neither released nor corrupted by an update: the
	 * array updates in place around it; the hash replaces the element,
	 * whose fresh lock word is unlocked. */
	uint32_t *val = bpfvm_map_lookup_elem(m, &k);
	CHECK(val != NULL, "lookup_elem");
	if (val) {
		bpfvm_map_spin_lock(&val[2]);
		CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_ANY, &err), 0, "update while locked");
		uint32_t *now = bpfvm_map_lookup_elem(m, &k);
		/* a held word names its holder (this process), a free one is 0 */
		bool want_held = type == BPFVM_MAP_TYPE_ARRAY;
		CHECK(now && (__atomic_load_n(&now[2], __ATOMIC_RELAXED) != 0) == want_held, "lock word after update");
		CHECK(now && now[3] == 4, "value updated around the lock");
		bpfvm_map_spin_unlock(&val[2]);
	}
	if (type == BPFVM_MAP_TYPE_HASH) {
		k = 2;
		CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_F_LOCK | BPFVM_EXIST, &err), -ENOENT, "F_LOCK EXIST missing");
		CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_F_LOCK, &err), 0, "F_LOCK insert");
		CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_F_LOCK | BPFVM_NOEXIST, &err), -EEXIST, "F_LOCK NOEXIST");
		CHECK_RC(bpfvm_map_lookup_and_delete(m, &k, w, BPFVM_F_LOCK, &err), 0, "lookup_and_delete F_LOCK");
		CHECK(w[2] == 0 && w[3] == 4, "lookup_and_delete zeroes the lock word");
	}
	bpfvm_map_put(m);
}

static void test_percpu_array(void)
{
	bpfvm_map *m = mt_map(BPFVM_MAP_TYPE_PERCPU_ARRAY, 4, 4, 2, 0);
	if (!m)
		return;
	bpfvm_error err;
	size_t uvs = ncpus * 8;
	uint8_t *v = malloc(uvs), *w = malloc(uvs);
	for (size_t i = 0; i < uvs; i++)
		v[i] = (uint8_t)(0x10 + i);
	uint32_t k = 1;
	CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_F_LOCK, &err), -EINVAL, "percpu F_LOCK");
	CHECK_RC(bpfvm_map_update(m, &k, v, BPFVM_NOEXIST, &err), -EEXIST, "percpu NOEXIST");
	CHECK_RC(bpfvm_map_update(m, &k, v, 0, &err), 0, "percpu update");
	CHECK_RC(bpfvm_map_lookup(m, &k, w, 0, &err), 0, "percpu lookup");
	CHECK(memcmp(v, w, uvs) == 0, "percpu slots incl. padding round trip");
	for (unsigned c = 0; c < ncpus; c++) {
		uint32_t *p = bpfvm_map_lookup_percpu_elem(m, &k, c);
		uint32_t want;
		memcpy(&want, v + c * 8, 4);
		CHECK(p && *p == want, "lookup_percpu cpu %u", c);
	}
	uint32_t nv = 99;
	unsigned cpu = bpfvm_map_current_cpu();
	CHECK_RC(bpfvm_map_update_elem(m, &k, &nv, 0), 0, "percpu update_elem");
	uint32_t *mine = bpfvm_map_lookup_percpu_elem(m, &k, cpu);
	CHECK(mine && (*mine == 99 || bpfvm_map_current_cpu() != cpu), "update_elem wrote this CPU's slot");
	k = 2;
	CHECK_RC(bpfvm_map_update_elem(m, &k, &nv, 0), -E2BIG, "percpu update_elem out of range");
	free(v);
	free(w);
	bpfvm_map_put(m);
}

static void test_lru(void)
{
	bpfvm_map *m = mt_map(BPFVM_MAP_TYPE_LRU_HASH, 4, 8, 16, 0);
	if (!m)
		return;
	bpfvm_error err;
	uint64_t v = 1;
	for (uint32_t k = 0; k < 16; k++)
		CHECK_RC(bpfvm_map_update(m, &k, &v, 0, &err), 0, "LRU fill");
	/* Keys 0 and 5 are used by a program; user-space lookups do not count. */
	uint32_t k0 = 0, k5 = 5, k1 = 1;
	CHECK(bpfvm_map_lookup_elem(m, &k0) != NULL, "lookup 0");
	CHECK(bpfvm_map_lookup_elem(m, &k5) != NULL, "lookup 5");
	CHECK_RC(bpfvm_map_lookup(m, &k1, &v, 0, &err), 0, "sys lookup 1");
	uint32_t k = 100;
	CHECK_RC(bpfvm_map_update(m, &k, &v, 0, &err), 0, "LRU insert into full map");
	CHECK_RC(bpfvm_map_lookup(m, &k0, &v, 0, &err), 0, "used key 0 survives");
	CHECK_RC(bpfvm_map_lookup(m, &k5, &v, 0, &err), 0, "used key 5 survives");
	CHECK_RC(bpfvm_map_lookup(m, &k1, &v, 0, &err), -ENOENT, "least recently used key 1 evicted");
	CHECK_RC(bpfvm_map_lookup(m, &k, &v, 0, &err), 0, "new key present");
	for (k = 200; k < 1000; k++)
		CHECK_RC(bpfvm_map_update(m, &k, &v, 0, &err), 0, "LRU churn");
	int count = 0;
	uint32_t cur, next;
	int rc = bpfvm_map_get_next_key(m, NULL, &next, &err);
	while (rc == 0 && count < 100) {
		count++;
		cur = next;
		rc = bpfvm_map_get_next_key(m, &cur, &next, &err);
	}
	CHECK(count <= 16 && count >= 8, "LRU holds at most max_entries (%d)", count);
	k = 999;
	CHECK_RC(bpfvm_map_lookup(m, &k, &v, 0, &err), 0, "most recent key present");
	CHECK_RC(bpfvm_map_update(m, &k, &v, BPFVM_NOEXIST, &err), -EEXIST, "LRU NOEXIST");
	k = 5000;
	CHECK_RC(bpfvm_map_update(m, &k, &v, BPFVM_EXIST, &err), -ENOENT, "LRU EXIST missing");
	bpfvm_map_put(m);

	/* BPF_F_NO_COMMON_LRU rounds max_entries to a multiple of the CPUs. */
	m = mt_map(BPFVM_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 3, BPFVM_F_NO_COMMON_LRU);
	if (m) {
		bpfvm_map_info info;
		bpfvm_map_info_get(m, &info);
		CHECK(info.max_entries % ncpus == 0 && info.max_entries >= 3, "NO_COMMON_LRU max_entries %u",
		      info.max_entries);
		bpfvm_map_put(m);
	}
}

struct lpm_key4 {
	uint32_t prefixlen;
	uint8_t data[4];
};

static int lpm_upd(bpfvm_map *m, uint32_t plen, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint32_t val,
                   uint64_t flags)
{
	struct lpm_key4 key = { plen, { a, b, c, d } };
	return bpfvm_map_update(m, &key, &val, flags, NULL);
}

static long lpm_get(bpfvm_map *m, uint32_t plen, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct lpm_key4 key = { plen, { a, b, c, d } };
	uint32_t val;
	int rc = bpfvm_map_lookup(m, &key, &val, 0, NULL);
	return rc < 0 ? rc : (long)val;
}

static void test_lpm(void)
{
	bpfvm_map *m = mt_map(BPFVM_MAP_TYPE_LPM_TRIE, 8, 4, 6, BPFVM_F_NO_PREALLOC);
	if (!m)
		return;
	CHECK_RC(lpm_upd(m, 33, 1, 2, 3, 4, 1, 0), -EINVAL, "prefix too long");
	CHECK_RC(lpm_upd(m, 8, 10, 0, 0, 0, 1, 3), -EINVAL, "flags 3");
	CHECK_RC(lpm_upd(m, 8, 10, 0, 0, 0, 1, BPFVM_EXIST), -ENOENT, "EXIST missing");
	CHECK_RC(lpm_upd(m, 8, 10, 0, 0, 0, 8, 0), 0, "10/8");
	CHECK_RC(lpm_upd(m, 16, 10, 1, 0, 0, 16, 0), 0, "10.1/16");
	CHECK_RC(lpm_upd(m, 24, 10, 1, 2, 0, 24, 0), 0, "10.1.2/24");
	CHECK_RC(lpm_upd(m, 24, 10, 1, 3, 0, 243, 0), 0, "10.1.3/24");
	CHECK_RC(lpm_upd(m, 0, 0, 0, 0, 0, 0, 0), 0, "0/0");
	CHECK_RC(lpm_upd(m, 16, 10, 1, 0, 0, 16, BPFVM_NOEXIST), -EEXIST, "NOEXIST present");
	CHECK_RC(lpm_upd(m, 16, 10, 1, 0, 0, 160, BPFVM_EXIST), 0, "EXIST replace");
	CHECK_RC(lpm_get(m, 32, 10, 1, 2, 7), 24, "match /24");
	CHECK_RC(lpm_get(m, 32, 10, 1, 9, 9), 160, "match /16");
	CHECK_RC(lpm_get(m, 32, 10, 200, 9, 9), 8, "match /8");
	CHECK_RC(lpm_get(m, 32, 11, 0, 0, 0), 0, "match /0");
	CHECK_RC(lpm_get(m, 12, 10, 1, 2, 7), 8, "a short key matches shorter prefixes only");
	CHECK_RC(lpm_upd(m, 25, 10, 1, 2, 128, 25, 0), 0, "6th entry");
	CHECK_RC(lpm_upd(m, 25, 10, 1, 2, 0, 26, 0), -ENOSPC, "full trie");
	CHECK_RC(lpm_upd(m, 25, 10, 1, 2, 0, 26, BPFVM_EXIST), -ENOENT, "full trie, EXIST missing");

	/* Post-order: more specific prefixes first. */
	struct lpm_key4 key, next;
	static const uint32_t want_plen[] = { 25, 24, 24, 16, 8, 0 };
	int i = 0, rc = bpfvm_map_get_next_key(m, NULL, &next, NULL);
	while (rc == 0 && i < 10) {
		CHECK(i < 6 && next.prefixlen == want_plen[i], "lpm order #%d: /%u", i, next.prefixlen);
		i++;
		key = next;
		rc = bpfvm_map_get_next_key(m, &key, &next, NULL);
	}
	CHECK(i == 6 && rc == -ENOENT, "lpm iteration: %d keys, rc %d", i, rc);

	struct lpm_key4 del = { 16, { 10, 1, 0, 0 } };
	CHECK_RC(bpfvm_map_delete(m, &del, NULL), 0, "delete /16");
	CHECK_RC(bpfvm_map_delete(m, &del, NULL), -ENOENT, "delete /16 again");
	CHECK_RC(lpm_get(m, 32, 10, 1, 9, 9), 8, "after delete, /8 matches");
	del.prefixlen = 33;
	CHECK_RC(bpfvm_map_delete(m, &del, NULL), -EINVAL, "delete prefix too long");
	del.prefixlen = 20;
	CHECK_RC(bpfvm_map_delete(m, &del, NULL), -ENOENT, "delete non-exact");
	uint32_t val;
	CHECK_RC(bpfvm_map_lookup_and_delete(m, &del, &val, 0, NULL), -BPFVM_ENOTSUPP, "lpm lookup_and_delete");
	key = (struct lpm_key4){ 32, { 10, 1, 2, 3 } };
	uint32_t *p = bpfvm_map_lookup_elem(m, &key);
	CHECK(p && *p == 24, "lookup_elem longest match");
	CHECK_RC(bpfvm_map_delete_elem(m, &key), -ENOENT, "delete_elem non-exact");
	bpfvm_map_put(m);
}

static void test_queue_stack(uint32_t type)
{
	bool stack = type == BPFVM_MAP_TYPE_STACK;
	bpfvm_map *m = mt_map(type, 0, 8, 3, 0);
	if (!m)
		return;
	bpfvm_error err;
	uint64_t v, out = 77;
	CHECK_RC(bpfvm_map_peek(m, &out, &err), -ENOENT, "peek empty");
	CHECK_RC(bpfvm_map_pop(m, &out, &err), -ENOENT, "pop empty");
	CHECK_RC(bpfvm_map_pop_elem(m, &out), -ENOENT, "pop_elem empty");
	CHECK(out == 0, "pop_elem on empty zeroes the buffer (%" PRIu64 ")", out);
	v = 1;
	CHECK_RC(bpfvm_map_push(m, &v, BPFVM_NOEXIST, &err), -EINVAL, "push NOEXIST");
	CHECK_RC(bpfvm_map_push(m, &v, 4, &err), -EINVAL, "push flags 4");
	for (v = 1; v <= 3; v++)
		CHECK_RC(bpfvm_map_push(m, &v, 0, &err), 0, "push");
	CHECK_RC(bpfvm_map_push(m, &v, 0, &err), -E2BIG, "push full");
	CHECK_RC(bpfvm_map_push_elem(m, &v, BPFVM_EXIST), 0, "push EXIST overwrites the oldest");
	v = 5;
	CHECK_RC(bpfvm_map_push_elem(m, &v, BPFVM_EXIST), 0, "push EXIST again");
	/* Now holds 3,4,5 (1 and 2 overwritten). */
	CHECK_RC(bpfvm_map_peek_elem(m, &out), 0, "peek_elem");
	CHECK(out == (stack ? 5u : 3u), "peek gives %" PRIu64, out);
	uint64_t want[3] = { 3, 4, 5 };
	for (int i = 0; i < 3; i++) {
		CHECK_RC(bpfvm_map_lookup_and_delete(m, NULL, &out, 0, &err), 0, "pop");
		CHECK(out == want[stack ? 2 - i : i], "pop #%d gives %" PRIu64, i, out);
	}
	CHECK_RC(bpfvm_map_lookup_and_delete(m, NULL, &out, 0, &err), -ENOENT, "pop empty");
	CHECK_RC(bpfvm_map_lookup_and_delete(m, NULL, &out, 1, &err), -EINVAL, "pop with flags");
	CHECK_RC(bpfvm_map_lookup(m, NULL, &out, BPFVM_F_LOCK, &err), -EINVAL, "lookup F_LOCK");
	CHECK_RC(bpfvm_map_delete(m, NULL, &err), -EINVAL, "queue delete");
	CHECK_RC(bpfvm_map_get_next_key(m, NULL, &out, &err), -EINVAL, "queue get_next_key");
	CHECK(bpfvm_map_lookup_elem(m, NULL) == NULL, "lookup_elem on queue");
	CHECK_RC(bpfvm_map_update_elem(m, NULL, &v, 0), -EINVAL, "update_elem on queue");
	CHECK_RC(bpfvm_map_delete_elem(m, NULL), -EINVAL, "delete_elem on queue");
	/* Wrap around many times. */
	uint64_t expect = 0;
	for (uint64_t i = 0; i < 100; i++) {
		CHECK_RC(bpfvm_map_push(m, &i, 0, NULL), 0, "push while wrapping");
		if (i >= 1) {
			CHECK_RC(bpfvm_map_pop(m, &out, NULL), 0, "pop while wrapping");
			CHECK(out == (stack ? i : expect++), "%s order at %" PRIu64 ": got %" PRIu64, stack ? "LIFO" : "FIFO",
			      i, out);
		}
	}
	bpfvm_map_put(m);
}

static void test_bloom(void)
{
	bpfvm_map_def def = BPFVM_MAP_DEF_INIT;
	def.type = BPFVM_MAP_TYPE_BLOOM_FILTER;
	def.value_size = 6;
	def.max_entries = 100;
	def.map_extra = 3;
	bpfvm_map *m = map_with(def);
	if (!m)
		return;
	bpfvm_error err;
	uint8_t v[6] = { 1, 2, 3, 4, 5, 6 };
	CHECK_RC(bpfvm_map_peek(m, v, &err), -ENOENT, "peek empty bloom");
	CHECK_RC(bpfvm_map_push(m, v, BPFVM_EXIST, &err), -EINVAL, "bloom push flags");
	for (int i = 0; i < 100; i++) {
		v[0] = (uint8_t)i;
		CHECK_RC(bpfvm_map_push(m, v, 0, &err), 0, "bloom push");
	}
	int false_pos = 0;
	for (int i = 0; i < 100; i++) {
		v[0] = (uint8_t)i;
		CHECK_RC(bpfvm_map_peek_elem(m, v), 0, "no false negatives");
		v[1] = 0xff;
		false_pos += bpfvm_map_peek(m, v, NULL) == 0;
		v[1] = 2;
	}
	CHECK(false_pos < 30, "few false positives (%d/100)", false_pos);
	CHECK_RC(bpfvm_map_delete(m, NULL, &err), -EOPNOTSUPP, "bloom delete");
	CHECK_RC(bpfvm_map_get_next_key(m, NULL, v, &err), -EOPNOTSUPP, "bloom get_next_key");
	CHECK_RC(bpfvm_map_lookup_and_delete(m, NULL, v, 0, &err), -BPFVM_ENOTSUPP, "bloom lookup_and_delete");
	CHECK_RC(bpfvm_map_pop_elem(m, v), -EOPNOTSUPP, "bloom pop_elem");
	CHECK_RC(bpfvm_map_update_elem(m, NULL, v, 0), -EINVAL, "bloom update_elem");
	CHECK_RC(bpfvm_map_delete_elem(m, NULL), -EOPNOTSUPP, "bloom delete_elem");
	CHECK(bpfvm_map_lookup_elem(m, v) == NULL, "bloom lookup_elem");
	bpfvm_map_put(m);
}

struct rb_seen {
	int count;
	uint64_t sum;
	int stop_at;
};

static int rb_cb(void *ctx, void *data, size_t size)
{
	struct rb_seen *s = ctx;
	uint64_t x = 0;
	memcpy(&x, data, size < 8 ? size : 8);
	s->count++;
	s->sum += x;
	return s->count == s->stop_at ? -42 : 0;
}

static void test_ringbuf(void)
{
	bpfvm_map *m = mt_map(BPFVM_MAP_TYPE_RINGBUF, 0, 0, 4096, 0);
	if (!m)
		return;
	bpfvm_error err;
	uint64_t x = 0;
	CHECK_RC(bpfvm_map_lookup(m, NULL, &x, 0, &err), -BPFVM_ENOTSUPP, "ringbuf lookup");
	CHECK_RC(bpfvm_map_update(m, NULL, &x, 0, &err), -BPFVM_ENOTSUPP, "ringbuf update");
	CHECK_RC(bpfvm_map_delete(m, NULL, &err), -BPFVM_ENOTSUPP, "ringbuf delete");
	CHECK_RC(bpfvm_map_ringbuf_query(m, BPFVM_RB_RING_SIZE), 4096, "ring size");
	CHECK_RC(bpfvm_map_ringbuf_query(m, 99), 0, "query unknown");
	CHECK(bpfvm_map_ringbuf_reserve(m, 8, 1) == NULL, "reserve with flags");
	CHECK(bpfvm_map_ringbuf_reserve(m, 4096, 0) == NULL, "reserve larger than the ring");
	uint64_t *a = bpfvm_map_ringbuf_reserve(m, 8, 0);
	uint64_t *b = bpfvm_map_ringbuf_reserve(m, 8, 0);
	CHECK(a && b, "reserve two");
	void *base;
	size_t len;
	bpfvm_map_arena(m, &base, &len);
	CHECK(len == 8192 && (uint8_t *)a >= (uint8_t *)base && (uint8_t *)a < (uint8_t *)base + len,
	      "records lie in the window (len %zu)", len);
	CHECK_RC(bpfvm_map_ringbuf_query(m, BPFVM_RB_AVAIL_DATA), 32, "avail data counts reserved records");
	struct rb_seen s = { 0, 0, 0 };
	if (a && b) {
		*b = 2;
		bpfvm_map_ringbuf_submit(b, 0);
		CHECK_RC(bpfvm_map_ringbuf_consume(m, rb_cb, &s, &err), 0, "nothing before the busy first record");
		*a = 1;
		bpfvm_map_ringbuf_discard(a, 0);
		bpfvm_map_ringbuf_discard(a, 0);   /* twice: ignored */
		CHECK_RC(bpfvm_map_ringbuf_consume(m, rb_cb, &s, &err), 1, "discarded skipped, second delivered");
		CHECK(s.sum == 2, "delivered value");
	}
	bpfvm_map_ringbuf_submit(&x, 0);   /* not a record: ignored */
	CHECK_RC(bpfvm_map_ringbuf_output(m, &x, 8, 4), -EINVAL, "output flags");
	int ok = 0;
	for (uint64_t i = 1; i <= 1000; i++)
		ok += bpfvm_map_ringbuf_output(m, &i, sizeof i, BPFVM_RB_NO_WAKEUP) == 0;
	/* At most size - 1 bytes may be outstanding. */
	CHECK(ok == 4096 / 16 - 1, "ring holds %d 16-byte records before -EAGAIN", ok);
	CHECK_RC(bpfvm_map_ringbuf_output(m, &x, 8, 0), -EAGAIN, "output on a full ring");
	s = (struct rb_seen){ 0, 0, 10 };
	CHECK_RC(bpfvm_map_ringbuf_consume(m, rb_cb, &s, &err), -42, "callback error stops");
	CHECK(s.count == 10, "stopped after 10");
	s = (struct rb_seen){ 0, 0, 0 };
	CHECK_RC(bpfvm_map_ringbuf_poll(m, rb_cb, &s, 0, &err), ok - 10, "consume the rest");
	CHECK_RC(bpfvm_map_ringbuf_query(m, BPFVM_RB_AVAIL_DATA), 0, "empty");
	CHECK(bpfvm_map_ringbuf_query(m, BPFVM_RB_CONS_POS) == bpfvm_map_ringbuf_query(m, BPFVM_RB_PROD_POS),
	      "positions meet");
	/* Records wrap around the end, contiguous thanks to the double mapping. */
	uint8_t big[1000];
	uint64_t total = 0;
	for (int round = 0; round < 50; round++) {
		memset(big, round, sizeof big);
		CHECK_RC(bpfvm_map_ringbuf_output(m, big, sizeof big, 0), 0, "big output");
		CHECK_RC(bpfvm_map_ringbuf_output(m, big, sizeof big, 0), 0, "big output");
		s = (struct rb_seen){ 0, 0, 0 };
		CHECK_RC(bpfvm_map_ringbuf_consume(m, rb_cb, &s, &err), 2, "consume big");
		total += s.sum;
	}
	CHECK(total != 0, "big records read");
	CHECK_RC(bpfvm_map_ringbuf_poll(m, rb_cb, &s, 10, &err), 0, "poll times out empty");
	bpfvm_map_put(m);
}

struct perf_seen {
	int samples;
	uint64_t lost;
	uint32_t last_size;
	int last_cpu;
};

static void perf_sample(void *ctx, int cpu, void *data, uint32_t size)
{
	(void)data;
	struct perf_seen *s = ctx;
	s->samples++;
	s->last_size = size;
	s->last_cpu = cpu;
}

static void perf_lost(void *ctx, int cpu, uint64_t lost)
{
	(void)cpu;
	((struct perf_seen *)ctx)->lost += lost;
}

static void test_perf(void)
{
	bpfvm_map *m = mt_map(BPFVM_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, ncpus, 0);
	if (!m)
		return;
	bpfvm_error err;
	uint8_t data[100] = { 1 };
	uint32_t k = 0, v = 0;
	CHECK_RC(bpfvm_map_perf_event_output(m, BPFVM_F_CURRENT_CPU, data, 5), -ENOENT, "no ring attached");
	CHECK_RC(bpfvm_map_perf_event_output(m, ncpus, data, 5), -E2BIG, "index out of range");
	CHECK_RC(bpfvm_map_perf_event_output(m, 1ULL << 32, data, 5), -EINVAL, "flags");
	CHECK_RC(bpfvm_map_lookup(m, &k, &v, 0, &err), -BPFVM_ENOTSUPP, "perf lookup");
	CHECK_RC(bpfvm_map_update(m, &k, &v, 1, &err), -EINVAL, "perf update flags");
	k = ncpus;
	CHECK_RC(bpfvm_map_update(m, &k, &v, 0, &err), -E2BIG, "perf update index");
	k = 0;
	CHECK_RC(bpfvm_map_delete(m, &k, &err), -ENOENT, "perf delete empty");
	CHECK_RC(bpfvm_map_perf_attach(m, 0, 1000, &err), -EINVAL, "ring size not a power of two");
	for (unsigned c = 0; c < ncpus; c++)
		CHECK_RC(bpfvm_map_perf_attach(m, c, 4096, &err), 0, "attach");
	CHECK_RC(bpfvm_map_perf_event_output(m, 0, data, 5), 0, "output to ring 0");
	struct perf_seen s = { 0, 0, 0, -1 };
	CHECK_RC(bpfvm_map_perf_consume(m, perf_sample, perf_lost, &s, &err), 1, "one record");
	CHECK(s.samples == 1 && s.last_size == 12 && s.last_cpu == 0, "sample size padded to 12 (%u), cpu %d",
	      s.last_size, s.last_cpu);
	int ok = 0, full = 0;
	for (int i = 0; i < 100; i++) {
		long rc = bpfvm_map_perf_event_output(m, 0, data, 100);
		ok += rc == 0;
		full += rc == -ENOSPC;
	}
	CHECK(ok == 4096 / 112 && full == 100 - ok, "ring of 4096 holds %d 112-byte records", ok);
	s = (struct perf_seen){ 0, 0, 0, -1 };
	bpfvm_map_perf_consume(m, perf_sample, perf_lost, &s, &err);
	CHECK(s.samples == ok && s.lost == 0, "samples read, lost not yet reported");
	CHECK_RC(bpfvm_map_perf_event_output(m, 0, data, 100), 0, "output after draining");
	s = (struct perf_seen){ 0, 0, 0, -1 };
	CHECK_RC(bpfvm_map_perf_consume(m, perf_sample, perf_lost, &s, &err), 2, "lost record + sample");
	CHECK(s.lost == (uint64_t)full && s.samples == 1, "lost %" PRIu64 " reported", s.lost);
	CHECK_RC(bpfvm_map_perf_event_output(m, BPFVM_F_CURRENT_CPU, data, 1), 0, "output current cpu");
	CHECK_RC(bpfvm_map_perf_detach(m, 0, &err), 0, "detach");
	CHECK_RC(bpfvm_map_perf_event_output(m, 0, data, 5), -ENOENT, "detached");
	bpfvm_map_put(m);
}

static void test_prog_array(void)
{
	bpfvm_map *m = mt_map(BPFVM_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0);
	if (!m)
		return;
	bpfvm_error err;
	int prog_a, prog_b;
	uint32_t k = 1, v;
	CHECK(bpfvm_map_prog_array_get(m, 1) == NULL, "empty slot");
	CHECK_RC(bpfvm_map_lookup(m, &k, &v, 0, &err), -ENOENT, "lookup empty");
	CHECK_RC(bpfvm_map_set_prog(m, 1, &prog_a, 11, 1, &err), -EINVAL, "set_prog flags");
	CHECK_RC(bpfvm_map_set_prog(m, 4, &prog_a, 11, 0, &err), -E2BIG, "set_prog index");
	CHECK_RC(bpfvm_map_set_prog(m, 1, NULL, 11, 0, &err), -EBADF, "set_prog NULL");
	CHECK_RC(bpfvm_map_set_prog(m, 1, &prog_a, 11, 0, &err), 0, "set_prog");
	CHECK(bpfvm_map_prog_array_get(m, 1) == &prog_a, "tail call target");
	CHECK(bpfvm_map_lookup(m, &k, &v, 0, &err) == 0 && v == 11, "lookup gives the id");
	CHECK_RC(bpfvm_map_set_prog(m, 1, &prog_b, 12, 0, &err), 0, "replace");
	CHECK(bpfvm_map_prog_array_get(m, 1) == &prog_b, "replaced");
	CHECK(bpfvm_map_prog_array_get(m, 4) == NULL, "get out of range");
	v = 3;
	CHECK_RC(bpfvm_map_update(m, &k, &v, 1, &err), -EINVAL, "update flags");
	k = 9;
	CHECK_RC(bpfvm_map_update(m, &k, &v, 0, &err), -E2BIG, "update index");
	k = 1;
	CHECK_RC(bpfvm_map_update(m, &k, &v, 0, &err), -EBADF, "update with an id");
	CHECK_RC(bpfvm_map_delete(m, &k, &err), 0, "delete");
	CHECK_RC(bpfvm_map_delete(m, &k, &err), -ENOENT, "delete empty");
	k = 9;
	CHECK_RC(bpfvm_map_delete(m, &k, &err), -E2BIG, "delete index");
	CHECK(bpfvm_map_lookup_elem(m, &k) == NULL, "lookup_elem on prog_array");
	CHECK_RC(bpfvm_map_pin(m, "test_maps_prog_array", &err), -EOPNOTSUPP, "prog_array cannot be pinned");
	bpfvm_map_put(m);
}

static void test_map_in_map(void)
{
	bpfvm_error err;
	bpfvm_map *tmpl = mt_map(BPFVM_MAP_TYPE_ARRAY, 4, 8, 4, 0);
	bpfvm_map *same = mt_map(BPFVM_MAP_TYPE_ARRAY, 4, 8, 4, 0);
	bpfvm_map *bigger = mt_map(BPFVM_MAP_TYPE_ARRAY, 4, 8, 5, 0);
	bpfvm_map *hash = mt_map(BPFVM_MAP_TYPE_HASH, 4, 8, 4, 0);
	bpfvm_map *pa = mt_map(BPFVM_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0);
	if (!tmpl || !same || !bigger || !hash || !pa)
		return;
	bpfvm_map_def def = BPFVM_MAP_DEF_INIT;
	def.type = BPFVM_MAP_TYPE_ARRAY_OF_MAPS;
	def.key_size = 4;
	def.value_size = 4;
	def.max_entries = 2;
	def.inner = pa;
	bpfvm_map *outer = NULL;
	CHECK_RC(bpfvm_map_create(&def, &outer, &err), -BPFVM_ENOTSUPP, "prog_array as inner");
	def.inner = tmpl;
	def.value_size = 8;
	CHECK_RC(bpfvm_map_create(&def, &outer, &err), -EINVAL, "outer value_size 8");
	def.value_size = 4;
	bpfvm_map *aom = map_with(def);
	def.type = BPFVM_MAP_TYPE_HASH_OF_MAPS;
	bpfvm_map *hom = map_with(def);
	def.inner = aom;
	CHECK_RC(bpfvm_map_create(&def, &outer, &err), -EINVAL, "map-in-map as inner");
	if (!aom || !hom)
		return;
	uint32_t k = 0, id;
	CHECK_RC(bpfvm_map_set_inner(aom, &k, bigger, 0, &err), -EINVAL, "different max_entries");
	CHECK(strstr(err.msg, "max_entries") != NULL, "says why: %s", err.msg);
	CHECK_RC(bpfvm_map_set_inner(aom, &k, hash, 0, &err), -EINVAL, "different type");
	CHECK_RC(bpfvm_map_set_inner(aom, &k, same, BPFVM_NOEXIST, &err), -EINVAL, "array_of_maps flags");
	k = 2;
	CHECK_RC(bpfvm_map_set_inner(aom, &k, same, 0, &err), -E2BIG, "array_of_maps index");
	k = 0;
	CHECK_RC(bpfvm_map_set_inner(aom, &k, same, 0, &err), 0, "set_inner");
	CHECK(bpfvm_map_lookup_inner(aom, &k) == same, "lookup_inner");
	CHECK(bpfvm_map_lookup_elem(aom, &k) == same, "lookup_elem gives the inner map");
	bpfvm_map_info info;
	bpfvm_map_info_get(same, &info);
	CHECK(bpfvm_map_lookup(aom, &k, &id, 0, &err) == 0 && id == info.id, "lookup gives the inner id");
	/* The outer map keeps the inner one alive. */
	uint64_t val = 5;
	uint32_t ik = 1;
	bpfvm_map_update(same, &ik, &val, 0, NULL);
	bpfvm_map_put(same);
	bpfvm_map *inner = bpfvm_map_lookup_inner(aom, &k);
	uint64_t *p = inner ? bpfvm_map_lookup_elem(inner, &ik) : NULL;
	CHECK(p && *p == 5, "inner map alive through the outer map");
	/* Generic update takes a map id, like the kernel takes an fd. */
	bpfvm_map_info_get(tmpl, &info);
	k = 1;
	CHECK_RC(bpfvm_map_update(aom, &k, &info.id, 0, &err), 0, "update by id");
	uint32_t bogus = 0x7fffffff;
	CHECK_RC(bpfvm_map_update(aom, &k, &bogus, 0, &err), -EBADF, "update by unknown id");
	CHECK_RC(bpfvm_map_delete(aom, &k, &err), 0, "delete");
	CHECK_RC(bpfvm_map_delete(aom, &k, &err), -ENOENT, "delete empty");
	CHECK_RC(bpfvm_map_lookup(aom, &k, &id, 0, &err), -ENOENT, "lookup empty");

	/* hash_of_maps: hash semantics for the keys. */
	k = 7;
	CHECK_RC(bpfvm_map_set_inner(hom, &k, tmpl, BPFVM_EXIST, &err), -ENOENT, "hom EXIST missing");
	CHECK_RC(bpfvm_map_set_inner(hom, &k, tmpl, 0, &err), 0, "hom set");
	CHECK_RC(bpfvm_map_set_inner(hom, &k, tmpl, BPFVM_NOEXIST, &err), -EEXIST, "hom NOEXIST");
	CHECK_RC(bpfvm_map_set_inner(hom, &k, bigger, 0, &err), -EINVAL, "hom incompatible");
	CHECK(bpfvm_map_lookup_inner(hom, &k) == tmpl, "hom lookup_inner");
	CHECK(bpfvm_map_lookup(hom, &k, &id, 0, &err) == 0 && id == info.id, "hom lookup id");
	CHECK_RC(bpfvm_map_lookup_and_delete(hom, &k, &id, 0, &err), -BPFVM_ENOTSUPP, "hom lookup_and_delete");
	uint32_t nk;
	CHECK(bpfvm_map_get_next_key(hom, NULL, &nk, &err) == 0 && nk == 7, "hom get_next_key");
	CHECK_RC(bpfvm_map_delete(hom, &k, &err), 0, "hom delete");
	CHECK_RC(bpfvm_map_pin(hom, "test_maps_hom", &err), -EOPNOTSUPP, "map-in-map cannot be pinned");
	bpfvm_map_put(aom);
	bpfvm_map_put(hom);
	bpfvm_map_put(tmpl);
	bpfvm_map_put(bigger);
	bpfvm_map_put(hash);
	bpfvm_map_put(pa);
}

static void test_access_flags(void)
{
	bpfvm_error err;
	uint32_t k = 1, v = 1;
	bpfvm_map *ro = mt_map(BPFVM_MAP_TYPE_HASH, 4, 4, 4, BPFVM_F_RDONLY);
	bpfvm_map *wo = mt_map(BPFVM_MAP_TYPE_HASH, 4, 4, 4, BPFVM_F_WRONLY);
	if (!ro || !wo)
		return;
	CHECK_RC(bpfvm_map_update(ro, &k, &v, 0, &err), -EPERM, "RDONLY update");
	CHECK_RC(bpfvm_map_delete(ro, &k, &err), -EPERM, "RDONLY delete");
	CHECK_RC(bpfvm_map_lookup(ro, &k, &v, 0, &err), -ENOENT, "RDONLY lookup");
	CHECK_RC(bpfvm_map_lookup_and_delete(ro, &k, &v, 0, &err), -EPERM, "RDONLY lookup_and_delete");
	CHECK_RC(bpfvm_map_update_elem(ro, &k, &v, 0), 0, "programs may write a RDONLY map");
	CHECK_RC(bpfvm_map_update(wo, &k, &v, 0, &err), 0, "WRONLY update");
	CHECK_RC(bpfvm_map_lookup(wo, &k, &v, 0, &err), -EPERM, "WRONLY lookup");
	CHECK_RC(bpfvm_map_get_next_key(wo, NULL, &k, &err), -EPERM, "WRONLY get_next_key");
	CHECK_RC(bpfvm_map_lookup_and_delete(wo, &k, &v, 0, &err), -EPERM, "WRONLY lookup_and_delete");
	CHECK_RC(bpfvm_map_delete(wo, &k, &err), 0, "WRONLY delete");
	bpfvm_map_put(ro);
	bpfvm_map_put(wo);
}

static void test_pin_same_process(void)
{
	bpfvm_error err;
	char name[64];
	snprintf(name, sizeof name, "test_maps_%d", (int)getpid());
	bpfvm_map *m = mt_map(BPFVM_MAP_TYPE_HASH, 4, 8, 16, 0);
	if (!m)
		return;
	int rc = bpfvm_map_pin(m, name, &err);
	if (rc == -EOPNOTSUPP) {
		printf("note: pinning unavailable here: %s\n", err.msg);
		bpfvm_map_put(m);
		return;
	}
	CHECK_RC(rc, 0, "pin");
	CHECK_RC(bpfvm_map_pin(m, name, &err), -EEXIST, "pin twice");
	bpfvm_map *other = NULL;
	CHECK_RC(bpfvm_map_open_pinned(name, &other, &err), 0, "open pinned");
	if (other) {
		uint32_t k = 3;
		uint64_t v = 33, w = 0;
		bpfvm_map_update(m, &k, &v, 0, NULL);
		CHECK(bpfvm_map_lookup(other, &k, &w, 0, &err) == 0 && w == 33, "second handle sees the update");
		uint64_t *p = bpfvm_map_lookup_elem(other, &k);
		if (p)
			__atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
		CHECK(bpfvm_map_lookup(m, &k, &w, 0, &err) == 0 && w == 34, "and the first sees its atomics");
		bpfvm_map_info ia, ib;
		bpfvm_map_info_get(m, &ia);
		bpfvm_map_info_get(other, &ib);
		CHECK(ia.id != ib.id && ia.type == ib.type && ia.max_entries == ib.max_entries, "pinned info");
		bpfvm_map_put(other);
	}
	char path[256];
	snprintf(path, sizeof path, "%s/%s", bpfvm_map_pin_dir(), name);
	CHECK(unlink(path) == 0, "unpin by unlink %s", path);
	CHECK_RC(bpfvm_map_open_pinned(name, &other, &err), -ENOENT, "open after unpin");
	/* Not a map file. */
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	if (fd >= 0) {
		CHECK(write(fd, "hello", 5) == 5, "write");
		close(fd);
		CHECK_RC(bpfvm_map_open_pinned(path, &other, &err), -EINVAL, "open a non-map file");
		unlink(path);
	}
	bpfvm_map_put(m);
}

int main(void)
{
	ncpus = bpfvm_map_possible_cpus();
	test_type_names();
	test_create_errors();
	test_array();
	test_percpu_array();
	test_for_each();
	test_hash_family(BPFVM_MAP_TYPE_HASH, 0);
	test_hash_family(BPFVM_MAP_TYPE_HASH, BPFVM_F_NO_PREALLOC);
	test_hash_family(BPFVM_MAP_TYPE_PERCPU_HASH, 0);
	test_hash_family(BPFVM_MAP_TYPE_LRU_HASH, 0);
	test_hash_family(BPFVM_MAP_TYPE_LRU_PERCPU_HASH, 0);
	test_spin_lock(BPFVM_MAP_TYPE_HASH);
	test_spin_lock(BPFVM_MAP_TYPE_ARRAY);
	test_lru();
	test_lpm();
	test_queue_stack(BPFVM_MAP_TYPE_QUEUE);
	test_queue_stack(BPFVM_MAP_TYPE_STACK);
	test_bloom();
	test_ringbuf();
	test_perf();
	test_prog_array();
	test_map_in_map();
	test_access_flags();
	test_pin_same_process();
	return check_summary();
}
