/*
 * test_maps_kernel.c - bpfvm's maps against the Linux kernel's.
 *
 * Owns: the kernel side (raw bpf(BPF_MAP_CREATE / LOOKUP_ELEM /
 * UPDATE_ELEM / DELETE_ELEM / GET_NEXT_KEY / LOOKUP_AND_DELETE_ELEM,
 * BPF_BTF_LOAD for values holding a bpf_spin_lock), and the comparisons:
 * every creation in a table of definitions, then scripted and seeded
 * random sequences of operations done on a kernel map and a bpfvm map
 * side by side, comparing every return code, every value copied out
 * (all bytes, per-CPU padding included) and the full get_next_key order
 * (exact: hash maps use BPF_F_ZERO_SEED, so even bucket order matches).
 *
 * The LRU maps are compared where the kernel is deterministic (below
 * capacity, on one CPU); its eviction is approximate by design, so past
 * capacity only properties are checked.
 *
 * Output: one FAIL line per mismatch, then "N passed, M failed".  Exit 77
 * if bpf() cannot create maps here.  BPFVM_MAPS_SEED changes the seed.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/btf.h>

#include "support/maps_test.h"
#include "support/kbpf.h"
#include "support/xorshift.h"

static unsigned ncpus;
static uint64_t rng_state = 0x5eed;

static uint64_t rnd(void)
{
	return xorshift64(&rng_state);
}

static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

/* ---- the kernel side -------------------------------------------------------- */

struct kdef {
	uint32_t type, key_size, value_size, max_entries, flags;
	uint64_t extra;
	int btf_fd;
	uint32_t btf_key, btf_value;
	int inner_fd;
};

static int kcreate(const struct kdef *d)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.map_type = d->type;
	a.key_size = d->key_size;
	a.value_size = d->value_size;
	a.max_entries = d->max_entries;
	a.map_flags = d->flags;
	a.map_extra = d->extra;
	a.inner_map_fd = (uint32_t)d->inner_fd;
	if (d->btf_fd > 0) {
		a.btf_fd = (uint32_t)d->btf_fd;
		a.btf_key_type_id = d->btf_key;
		a.btf_value_type_id = d->btf_value;
	}
	return kbpf(BPF_MAP_CREATE, &a);
}

static uint32_t kmap_id(int fd)
{
	struct bpf_map_info info;
	memset(&info, 0, sizeof info);
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.info.bpf_fd = (uint32_t)fd;
	a.info.info_len = sizeof info;
	a.info.info = (uint64_t)(uintptr_t)&info;
	return kbpf(BPF_OBJ_GET_INFO_BY_FD, &a) == 0 ? info.id : 0;
}

/* BTF for values with a struct bpf_spin_lock: type 1 int, 2 the lock,
 * 3 { lock; int a, b, c } (lock at 0), 4 { int a, b; lock; int c } (at 8). */
static int load_spin_lock_btf(void)
{
	static const char strs[] = "\0int\0bpf_spin_lock\0val\0v0\0l\0a\0b\0c\0v8";
	enum { S_INT = 1, S_LOCK = 5, S_VAL = 19, S_V0 = 23, S_L = 26, S_A = 28, S_B = 30, S_C = 32, S_V8 = 34 };
	uint32_t types[] = {
		/* 1: int */
		S_INT, (BTF_KIND_INT << 24), 4, (BTF_INT_SIGNED << 24) | 32,
		/* 2: struct bpf_spin_lock { int val; } */
		S_LOCK, (BTF_KIND_STRUCT << 24) | 1, 4, S_VAL, 1, 0,
		/* 3: struct v0 */
		S_V0, (BTF_KIND_STRUCT << 24) | 4, 16, S_L, 2, 0, S_A, 1, 32, S_B, 1, 64, S_C, 1, 96,
		/* 4: struct v8 */
		S_V8, (BTF_KIND_STRUCT << 24) | 4, 16, S_A, 1, 0, S_B, 1, 32, S_L, 2, 64, S_C, 1, 96,
	};
	struct btf_header h = {
		.magic = BTF_MAGIC, .version = BTF_VERSION, .hdr_len = sizeof h,
		.type_off = 0, .type_len = sizeof types, .str_off = sizeof types, .str_len = sizeof strs,
	};
	uint8_t blob[sizeof h + sizeof types + sizeof strs];
	memcpy(blob, &h, sizeof h);
	memcpy(blob + sizeof h, types, sizeof types);
	memcpy(blob + sizeof h + sizeof types, strs, sizeof strs);
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.btf = (uint64_t)(uintptr_t)blob;
	a.btf_size = sizeof blob;
	return kbpf(BPF_BTF_LOAD, &a);
}

/* ---- a kernel map and a bpfvm map side by side -------------------------- */

struct pair {
	int kfd;
	bpfvm_map *m;
	uint32_t key_size;
	uint32_t uvs;          /* user value size */
	char label[96];
};

static bool pair_create(struct pair *p, const struct kdef *d, int32_t spin_lock_off, bpfvm_map *inner,
                        const char *label)
{
	memset(p, 0, sizeof *p);
	snprintf(p->label, sizeof p->label, "%s", label);
	p->kfd = kcreate(d);
	bpfvm_map_def def = BPFVM_MAP_DEF_INIT;
	def.type = d->type;
	def.key_size = d->key_size;
	def.value_size = d->value_size;
	def.max_entries = d->max_entries;
	def.flags = d->flags;
	def.map_extra = d->extra;
	def.spin_lock_off = spin_lock_off;
	def.inner = inner;
	bpfvm_error err;
	int rc = bpfvm_map_create(&def, &p->m, &err);
	int krc = p->kfd < 0 ? p->kfd : 0;
	CHECK(krc == rc, "%s: create: kernel %d, bpfvm %d (%s)", label, krc, rc, rc ? err.msg : "");
	if (krc < 0 || rc < 0) {
		if (p->kfd >= 0)
			close(p->kfd);
		bpfvm_map_put(p->m);
		p->m = NULL;
		p->kfd = -1;
		return false;
	}
	bpfvm_map_info info;
	bpfvm_map_info_get(p->m, &info);
	p->key_size = d->key_size;
	p->uvs = info.user_value_size;
	return true;
}

static void pair_close(struct pair *p)
{
	if (p->kfd >= 0)
		close(p->kfd);
	bpfvm_map_put(p->m);
	p->kfd = -1;
	p->m = NULL;
}

static void hex(char *out, size_t outlen, const void *data, size_t len)
{
	const uint8_t *b = data;
	size_t o = 0;
	for (size_t i = 0; i < len && o + 3 < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%02x", b[i]);
	if (len == 0 && outlen)
		out[0] = '\0';
}

#define MAXV 4096

static int cmp_update(struct pair *p, const void *key, const void *value, uint64_t flags)
{
	int k = kop(BPF_MAP_UPDATE_ELEM, p->kfd, key, (void *)value, flags);
	int b = bpfvm_map_update(p->m, key, value, flags, NULL);
	char ks[80];
	hex(ks, sizeof ks, key, key ? p->key_size : 0);
	CHECK(k == b, "%s: update key %s flags 0x%llx: kernel %d, bpfvm %d", p->label, ks, (unsigned long long)flags,
	      k, b);
	return k;
}

/* `in` (optional) is what the value buffer holds before the call: the
 * value a bloom filter peek looks for. */
static int cmp_lookup_in(struct pair *p, int cmd, const void *key, uint64_t flags, const void *in, size_t in_len)
{
	uint8_t kv[MAXV], bv[MAXV];
	memset(kv, 0xcc, sizeof kv);
	memset(bv, 0xcc, sizeof bv);
	if (in) {
		memcpy(kv, in, in_len);
		memcpy(bv, in, in_len);
	}
	int k = kop(cmd, p->kfd, key, kv, flags);
	int b = cmd == BPF_MAP_LOOKUP_ELEM ? bpfvm_map_lookup(p->m, key, bv, flags, NULL)
	                                   : bpfvm_map_lookup_and_delete(p->m, key, bv, flags, NULL);
	const char *op = cmd == BPF_MAP_LOOKUP_ELEM ? "lookup" : "lookup_and_delete";
	char ks[80], kh[200], bh[200];
	hex(ks, sizeof ks, key, key ? p->key_size : 0);
	CHECK(k == b, "%s: %s key %s flags 0x%llx: kernel %d, bpfvm %d", p->label, op, ks, (unsigned long long)flags,
	      k, b);
	if (k == 0 && b == 0) {
		hex(kh, sizeof kh, kv, p->uvs);
		hex(bh, sizeof bh, bv, p->uvs);
		CHECK(memcmp(kv, bv, p->uvs) == 0, "%s: %s key %s: kernel value %s, bpfvm %s", p->label, op, ks, kh, bh);
	}
	return k;
}

static int cmp_lookup(struct pair *p, const void *key, uint64_t flags)
{
	return cmp_lookup_in(p, BPF_MAP_LOOKUP_ELEM, key, flags, NULL, 0);
}

static int cmp_lookup_and_delete(struct pair *p, const void *key, uint64_t flags)
{
	return cmp_lookup_in(p, BPF_MAP_LOOKUP_AND_DELETE_ELEM, key, flags, NULL, 0);
}

static int cmp_delete(struct pair *p, const void *key)
{
	int k = kop(BPF_MAP_DELETE_ELEM, p->kfd, key, NULL, 0);
	int b = bpfvm_map_delete(p->m, key, NULL);
	char ks[80];
	hex(ks, sizeof ks, key, key ? p->key_size : 0);
	CHECK(k == b, "%s: delete key %s: kernel %d, bpfvm %d", p->label, ks, k, b);
	return k;
}

static int cmp_next(struct pair *p, const void *key)
{
	uint8_t kn[300], bn[300];
	memset(kn, 0xcc, sizeof kn);
	memset(bn, 0xcc, sizeof bn);
	int k = knext(p->kfd, key, kn);
	int b = bpfvm_map_get_next_key(p->m, key, bn, NULL);
	char ks[80], a1[80], a2[80];
	hex(ks, sizeof ks, key, key ? p->key_size : 0);
	CHECK(k == b, "%s: get_next_key %s: kernel %d, bpfvm %d", p->label, key ? ks : "NULL", k, b);
	if (k == 0 && b == 0) {
		hex(a1, sizeof a1, kn, p->key_size);
		hex(a2, sizeof a2, bn, p->key_size);
		CHECK(memcmp(kn, bn, p->key_size) == 0, "%s: get_next_key %s: kernel %s, bpfvm %s", p->label,
		      key ? ks : "NULL", a1, a2);
	}
	return k;
}

/* Walks both maps from the first key, comparing each step; returns the
 * number of keys. */
static int cmp_iteration(struct pair *p)
{
	uint8_t key[300], next[300];
	int n = 0;
	int rc = knext(p->kfd, NULL, next);
	cmp_next(p, NULL);
	while (rc == 0 && n < 100000) {
		memcpy(key, next, p->key_size);
		cmp_next(p, key);
		cmp_lookup(p, key, 0);
		rc = knext(p->kfd, key, next);
		n++;
	}
	return n;
}

static void random_bytes(void *buf, size_t len)
{
	uint8_t *b = buf;
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)rnd();
}

/* ---- creation ----------------------------------------------------------------- */

static void test_creation(void)
{
	const uint32_t P = BPF_F_NO_PREALLOC;
	const struct kdef defs[] = {
		{ BPF_MAP_TYPE_HASH, 4, 4, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 4, 4, 0, 1, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 0, 4, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 0, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 4, 0, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 4, 4, 1u << 20, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_NO_COMMON_LRU, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_MMAPABLE, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_INNER_MAP, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_ZERO_SEED | P | BPF_F_NUMA_NODE, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_RDONLY | BPF_F_WRONLY, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_RDONLY_PROG | BPF_F_WRONLY, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_PRESERVE_ELEMS, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4u << 20, 4, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_HASH, (4u << 20) - 100, 4, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 4, (1u << 28) + 1, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_PERCPU_HASH, 4, 32768, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_PERCPU_HASH, 4, 32769, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 4, BPF_F_NUMA_NODE, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 4, P, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_LRU_HASH, 4, 4, 4, P, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_LRU_HASH, 4, 4, 4, BPF_F_NO_COMMON_LRU, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_LRU_HASH, 4, 4, 4, BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 4, 3, BPF_F_NO_COMMON_LRU, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 4, 3, BPF_F_ZERO_SEED, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 4, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_ARRAY, 8, 4, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 0, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 4, 0, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 4, 4, BPF_F_MMAPABLE | BPF_F_INNER_MAP, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 4, 4, BPF_F_PRESERVE_ELEMS, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 4, 4, BPF_F_ZERO_SEED, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 4, 4, P, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 4, 4, BPF_F_RDONLY_PROG, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 4, BPF_F_MMAPABLE, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 4, BPF_F_NUMA_NODE, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_PERCPU_ARRAY, 4, 32768, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_PERCPU_ARRAY, 4, 32769, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_PROG_ARRAY, 4, 8, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, BPF_F_PRESERVE_ELEMS, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, BPF_F_RDONLY_PROG, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, BPF_F_RDONLY, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 4, BPF_F_PRESERVE_ELEMS, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 4, BPF_F_MMAPABLE, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_PERF_EVENT_ARRAY, 8, 4, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 4, BPF_F_WRONLY_PROG, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_QUEUE, 0, 4, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_QUEUE, 4, 4, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_QUEUE, 0, 0, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_QUEUE, 0, 4, 0, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_QUEUE, 0, 4, 4, P, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_QUEUE, 0, 4, 4, BPF_F_ZERO_SEED, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_QUEUE, 0, (4u << 20) + 1, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_STACK, 0, 4, 4, BPF_F_RDONLY | BPF_F_NUMA_NODE, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_LPM_TRIE, 8, 4, 4, P, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_LPM_TRIE, 8, 4, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_LPM_TRIE, 4, 4, 4, P, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_LPM_TRIE, 5, 4, 4, P, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_LPM_TRIE, 260, 4, 4, P, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_LPM_TRIE, 261, 4, 4, P, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_LPM_TRIE, 8, 0, 4, P, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_LPM_TRIE, 8, 4, 0, P, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_LPM_TRIE, 8, 4, 4, P | BPF_F_ZERO_SEED, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_RINGBUF, 0, 0, 4096 * 3, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_RINGBUF, 0, 0, 2048, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_RINGBUF, 0, 0, 0, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_RINGBUF, 4, 0, 4096, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_RINGBUF, 0, 4, 4096, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, BPF_F_NUMA_NODE, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, BPF_F_RDONLY_PROG, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, 1, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_BLOOM_FILTER, 0, 4, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_BLOOM_FILTER, 0, 4, 4, 0, 15, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_BLOOM_FILTER, 0, 4, 4, 0, 16, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_BLOOM_FILTER, 4, 4, 4, 0, 1, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_BLOOM_FILTER, 0, 0, 4, 0, 1, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_BLOOM_FILTER, 0, 4, 0, 0, 1, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_BLOOM_FILTER, 4, (4u << 20) + 1, 4, 0, 1, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_BLOOM_FILTER, 0, 4, 4, P, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_BLOOM_FILTER, 0, 4, 4, BPF_F_ZERO_SEED | BPF_F_RDONLY_PROG, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 8, 1, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 127 * 8, 100, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 128 * 8, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 8, 8, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 12, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 4, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 0, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 8, 0, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 32, 4, BPF_F_STACK_BUILD_ID, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 127 * 32, 4, BPF_F_STACK_BUILD_ID, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 128 * 32, 4, BPF_F_STACK_BUILD_ID, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 40, 4, BPF_F_STACK_BUILD_ID, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 8, 4, BPF_F_NUMA_NODE | BPF_F_RDONLY, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 8, 4, BPF_F_WRONLY, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 8, 4, BPF_F_RDONLY_PROG, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 8, 4, BPF_F_ZERO_SEED, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 8, 4, BPF_F_NO_PREALLOC, 0, 0, 0, 0, 0 },
		{ 0, 4, 4, 4, 0, 0, 0, 0, 0, 0 },
		{ 999, 4, 4, 4, 0, 0, 0, 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
		char label[128];
		snprintf(label, sizeof label, "creation #%zu (%s ks=%u vs=%u max=%u flags=0x%x extra=%llu)", i,
		         bpfvm_map_type_name(defs[i].type) ? bpfvm_map_type_name(defs[i].type) : "?", defs[i].key_size,
		         defs[i].value_size, defs[i].max_entries, defs[i].flags, (unsigned long long)defs[i].extra);
		struct pair p;
		if (pair_create(&p, &defs[i], -1, NULL, label)) {
			bpfvm_map_info info;
			bpfvm_map_info_get(p.m, &info);
			pair_close(&p);
		}
	}
	/* NO_COMMON_LRU rounds max_entries: compare what each reports. */
	struct kdef d = { BPF_MAP_TYPE_LRU_HASH, 4, 4, 3, BPF_F_NO_COMMON_LRU, 0, 0, 0, 0, 0 };
	struct pair p;
	if (pair_create(&p, &d, -1, NULL, "lru NO_COMMON_LRU 3")) {
		struct bpf_map_info kinfo;
		memset(&kinfo, 0, sizeof kinfo);
		union bpf_attr a;
		memset(&a, 0, sizeof a);
		a.info.bpf_fd = (uint32_t)p.kfd;
		a.info.info_len = sizeof kinfo;
		a.info.info = (uint64_t)(uintptr_t)&kinfo;
		kbpf(BPF_OBJ_GET_INFO_BY_FD, &a);
		bpfvm_map_info info;
		bpfvm_map_info_get(p.m, &info);
		CHECK(info.max_entries == kinfo.max_entries, "NO_COMMON_LRU max_entries: kernel %u, bpfvm %u",
		      kinfo.max_entries, info.max_entries);
		pair_close(&p);
	}
}

/* ---- random sequences ------------------------------------------------------------ */

static const uint64_t some_flags[] = { 0, 0, 0, 1, 1, 2, 2, 3, 4, 5, 6, 8, 16 };

static uint64_t random_flags(void)
{
	return some_flags[rnd_below(sizeof some_flags / sizeof some_flags[0])];
}

/* Keyed maps (hash family, arrays): random operations over a small key
 * space, then the whole map compared by iteration. */
static void random_keyed(struct pair *p, uint32_t nkeys, int ops, bool lock_flags)
{
	uint8_t key[64], value[MAXV];
	for (int i = 0; i < ops; i++) {
		uint32_t kn = rnd_below(nkeys);
		memset(key, 0, sizeof key);
		memcpy(key, &kn, p->key_size < 4 ? p->key_size : 4);
		if (p->key_size > 4)
			key[p->key_size - 1] = (uint8_t)(kn * 7);
		random_bytes(value, p->uvs);
		uint64_t flags = random_flags();
		if (lock_flags && rnd_below(2))
			flags = (flags & 3) | BPF_F_LOCK;
		switch (rnd_below(10)) {
		case 0: case 1: case 2: case 3:
			cmp_update(p, key, value, flags);
			break;
		case 4: case 5:
			cmp_lookup(p, key, rnd_below(4) ? 0 : flags);
			break;
		case 6:
			cmp_delete(p, key);
			break;
		case 7:
			cmp_next(p, rnd_below(5) ? key : NULL);
			break;
		case 8:
			cmp_lookup_and_delete(p, key, rnd_below(3) ? 0 : flags);
			break;
		default:
			cmp_update(p, key, value, 0);
			break;
		}
	}
	cmp_iteration(p);
}

static void test_keyed_maps(void)
{
	static const struct { uint32_t type, ks, vs, max, flags, nkeys; } cases[] = {
		{ BPF_MAP_TYPE_HASH, 4, 12, 8, BPF_F_ZERO_SEED, 14 },
		{ BPF_MAP_TYPE_HASH, 6, 5, 16, BPF_F_ZERO_SEED, 24 },
		{ BPF_MAP_TYPE_HASH, 16, 8, 5, BPF_F_ZERO_SEED | BPF_F_NO_PREALLOC, 9 },
		{ BPF_MAP_TYPE_HASH, 3, 40, 64, BPF_F_ZERO_SEED, 80 },
		{ BPF_MAP_TYPE_PERCPU_HASH, 4, 12, 8, BPF_F_ZERO_SEED, 14 },
		{ BPF_MAP_TYPE_PERCPU_HASH, 8, 3, 6, BPF_F_ZERO_SEED | BPF_F_NO_PREALLOC, 10 },
		{ BPF_MAP_TYPE_ARRAY, 4, 12, 8, 0, 10 },
		{ BPF_MAP_TYPE_ARRAY, 4, 3, 5, 0, 7 },
		{ BPF_MAP_TYPE_PERCPU_ARRAY, 4, 12, 8, 0, 10 },
		{ BPF_MAP_TYPE_PERCPU_ARRAY, 4, 1, 3, 0, 5 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct kdef d = { cases[i].type, cases[i].ks, cases[i].vs, cases[i].max, cases[i].flags, 0, 0, 0, 0, 0 };
		char label[96];
		snprintf(label, sizeof label, "%s ks=%u vs=%u max=%u flags=0x%x", bpfvm_map_type_name(d.type), d.key_size,
		         d.value_size, d.max_entries, d.flags);
		struct pair p;
		if (!pair_create(&p, &d, -1, NULL, label))
			continue;
		random_keyed(&p, cases[i].nkeys, 1500, false);
		pair_close(&p);
	}
}

/* Scripted: the kernel's bucket order after inserts and replacements. */
static void test_hash_order(void)
{
	struct kdef d = { BPF_MAP_TYPE_HASH, 4, 8, 64, BPF_F_ZERO_SEED, 0, 0, 0, 0, 0 };
	struct pair p;
	if (!pair_create(&p, &d, -1, NULL, "hash order"))
		return;
	uint64_t v = 1;
	for (uint32_t k = 0; k < 64; k++)
		cmp_update(&p, &k, &v, 0);
	for (uint32_t k = 0; k < 64; k += 3)
		cmp_update(&p, &k, &v, BPF_EXIST);   /* replaced: moves to its bucket's head */
	for (uint32_t k = 1; k < 64; k += 5)
		cmp_delete(&p, &k);
	CHECK(cmp_iteration(&p) == 64 - 13, "hash order: iteration length");
	uint32_t missing = 1000;
	cmp_next(&p, &missing);
	pair_close(&p);
}

/* LRU maps are deterministic in the kernel while below capacity on one
 * CPU; past capacity only properties hold. */
static void test_lru(void)
{
	static const uint32_t types[] = { BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH };
	for (int t = 0; t < 2; t++) {
		struct kdef d = { types[t], 4, 8, 256, BPF_F_ZERO_SEED, 0, 0, 0, 0, 0 };
		struct pair p;
		char label[64];
		snprintf(label, sizeof label, "%s below capacity", bpfvm_map_type_name(types[t]));
		if (!pair_create(&p, &d, -1, NULL, label))
			continue;
		random_keyed(&p, 20, 600, false);
		pair_close(&p);

		d.max_entries = 32;
		snprintf(label, sizeof label, "%s past capacity", bpfvm_map_type_name(types[t]));
		if (!pair_create(&p, &d, -1, NULL, label))
			continue;
		uint8_t value[MAXV];
		memset(value, 1, sizeof value);
		for (uint32_t k = 0; k < 500; k++) {
			int kr = kop(BPF_MAP_UPDATE_ELEM, p.kfd, &k, value, 0);
			int br = bpfvm_map_update(p.m, &k, value, 0, NULL);
			CHECK(kr == 0 && br == 0, "%s: update %u past capacity: kernel %d, bpfvm %d", label, k, kr, br);
		}
		uint32_t last = 499;
		CHECK(kop(BPF_MAP_LOOKUP_ELEM, p.kfd, &last, value, 0) == 0 &&
		      bpfvm_map_lookup(p.m, &last, value, 0, NULL) == 0, "%s: the newest key is in both", label);
		int kn = 0, bn = 0;
		uint32_t key, next;
		for (int rc = knext(p.kfd, NULL, &next); rc == 0 && kn < 1000; rc = knext(p.kfd, &key, &next), kn++)
			key = next;
		for (int rc = bpfvm_map_get_next_key(p.m, NULL, &next, NULL); rc == 0 && bn < 1000;
		     rc = bpfvm_map_get_next_key(p.m, &key, &next, NULL), bn++)
			key = next;
		CHECK(kn <= 32 && bn <= 32 && bn > 0 && kn > 0, "%s: both hold at most max_entries (kernel %d, bpfvm %d)",
		      label, kn, bn);
		/* Error paths stay deterministic. */
		cmp_update(&p, &last, value, BPF_NOEXIST);
		cmp_update(&p, &last, value, BPF_F_LOCK);
		cmp_update(&p, &last, value, 3);
		uint32_t gone = 100000;
		cmp_update(&p, &gone, value, BPF_EXIST);
		cmp_delete(&p, &gone);
		cmp_delete(&p, &last);
		pair_close(&p);
	}
}

static void test_spin_lock_maps(void)
{
	int btf = load_spin_lock_btf();
	if (btf < 0) {
		printf("note: BPF_BTF_LOAD failed (%d): spin lock maps not compared\n", btf);
		return;
	}
	static const struct { uint32_t type, value_id; int32_t off; } cases[] = {
		{ BPF_MAP_TYPE_HASH, 3, 0 }, { BPF_MAP_TYPE_HASH, 4, 8 },
		{ BPF_MAP_TYPE_ARRAY, 3, 0 }, { BPF_MAP_TYPE_ARRAY, 4, 8 },
	};
	for (size_t i = 0; i < 4; i++) {
		struct kdef d = { cases[i].type, 4, 16, 6, cases[i].type == BPF_MAP_TYPE_HASH ? BPF_F_ZERO_SEED : 0, 0,
		                  btf, 1, cases[i].value_id, 0 };
		char label[64];
		snprintf(label, sizeof label, "%s with a spin lock at %d", bpfvm_map_type_name(d.type), cases[i].off);
		struct pair p;
		if (!pair_create(&p, &d, cases[i].off, NULL, label))
			continue;
		random_keyed(&p, 9, 800, true);
		pair_close(&p);
	}
	/* Where a lock is refused. */
	static const struct { uint32_t type, flags; } refused[] = {
		{ BPF_MAP_TYPE_PERCPU_HASH, 0 }, { BPF_MAP_TYPE_LRU_HASH, 0 }, { BPF_MAP_TYPE_PERCPU_ARRAY, 0 },
		{ BPF_MAP_TYPE_HASH, BPF_F_RDONLY_PROG },
	};
	for (size_t i = 0; i < 4; i++) {
		struct kdef d = { refused[i].type, 4, 16, 6, refused[i].flags, 0, btf, 1, 3, 0 };
		char label[64];
		snprintf(label, sizeof label, "%s flags 0x%x with a spin lock", bpfvm_map_type_name(d.type), d.flags);
		struct pair p;
		if (pair_create(&p, &d, 0, NULL, label))
			pair_close(&p);
	}
	close(btf);
}

/* A stack trace map from user space (only bpf_get_stackid fills one:
 * test_stackid_kernel compares that): lookups, deletes, updates and
 * get_next_key of empty buckets, in range and past the buckets. */
static void test_stack_trace(void)
{
	struct kdef d = { BPF_MAP_TYPE_STACK_TRACE, 4, 32, 5, 0, 0, 0, 0, 0, 0 };   /* 8 buckets */
	struct pair p;
	if (!pair_create(&p, &d, -1, NULL, "stack_trace"))
		return;
	uint64_t value[4] = { 1, 2, 3, 4 };
	for (uint32_t key = 0; key < 10; key++) {
		cmp_lookup(&p, &key, 0);
		cmp_delete(&p, &key);
		cmp_update(&p, &key, value, 0);
		cmp_next(&p, &key);
	}
	cmp_next(&p, NULL);
	cmp_lookup_and_delete(&p, value, 0);
	pair_close(&p);
}

static void test_queue_stack(void)
{
	static const uint32_t types[] = { BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK };
	static const uint32_t sizes[] = { 8, 3, 20 };
	for (int t = 0; t < 2; t++) {
		for (int s = 0; s < 3; s++) {
			struct kdef d = { types[t], 0, sizes[s], 5, 0, 0, 0, 0, 0, 0 };
			char label[64];
			snprintf(label, sizeof label, "%s vs=%u", bpfvm_map_type_name(d.type), d.value_size);
			struct pair p;
			if (!pair_create(&p, &d, -1, NULL, label))
				continue;
			uint8_t value[64];
			for (int i = 0; i < 1500; i++) {
				random_bytes(value, sizeof value);
				uint64_t flags = random_flags();
				switch (rnd_below(8)) {
				case 0: case 1: case 2:
					cmp_update(&p, NULL, value, rnd_below(3) ? (flags & 2) : flags);
					break;
				case 3: case 4:
					cmp_lookup_and_delete(&p, NULL, rnd_below(4) ? 0 : flags);
					break;
				case 5:
					cmp_lookup(&p, NULL, rnd_below(4) ? 0 : flags);
					break;
				case 6:
					cmp_delete(&p, NULL);
					break;
				default:
					cmp_next(&p, NULL);
					break;
				}
			}
			pair_close(&p);
		}
	}
}

static void test_bloom(void)
{
	static const struct { uint32_t vs, max; uint64_t k; } cases[] = {
		{ 4, 100, 3 }, { 8, 50, 0 }, { 3, 40, 1 }, { 7, 10, 15 }, { 12, 1000, 5 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct kdef d = { BPF_MAP_TYPE_BLOOM_FILTER, 0, cases[i].vs, cases[i].max, BPF_F_ZERO_SEED, cases[i].k,
		                  0, 0, 0, 0 };
		char label[64];
		snprintf(label, sizeof label, "bloom vs=%u max=%u k=%llu", d.value_size, d.max_entries,
		         (unsigned long long)d.extra);
		struct pair p;
		if (!pair_create(&p, &d, -1, NULL, label))
			continue;
		/* Values from a small space, so peeks hit pushed values and
		 * false positives alike; both must agree on every one. */
		uint8_t value[16];
		int positives = 0;
		for (int n = 0; n < 2000; n++) {
			memset(value, 0, sizeof value);
			uint32_t x = rnd_below(cases[i].max * 4);
			memcpy(value, &x, 4);
			if (rnd_below(3) == 0)
				cmp_update(&p, NULL, value, rnd_below(8) ? 0 : random_flags());
			else
				positives += cmp_lookup_in(&p, BPF_MAP_LOOKUP_ELEM, NULL, 0, value, sizeof value) == 0;
		}
		cmp_delete(&p, NULL);
		cmp_next(&p, NULL);
		cmp_lookup_and_delete(&p, NULL, 0);
		CHECK(positives > 0, "%s: some peeks hit", label);
		pair_close(&p);
	}
}

struct lpm_key {
	uint32_t prefixlen;
	uint8_t data[8];
};

static void test_lpm(void)
{
	static const struct { uint32_t data, vs, max; } cases[] = {
		{ 1, 4, 20 }, { 2, 3, 40 }, { 4, 8, 30 }, { 8, 4, 60 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct kdef d = { BPF_MAP_TYPE_LPM_TRIE, 4 + cases[i].data, cases[i].vs, cases[i].max, BPF_F_NO_PREALLOC,
		                  0, 0, 0, 0, 0 };
		char label[64];
		snprintf(label, sizeof label, "lpm_trie data=%u vs=%u max=%u", cases[i].data, cases[i].vs, cases[i].max);
		struct pair p;
		if (!pair_create(&p, &d, -1, NULL, label))
			continue;
		uint32_t maxlen = cases[i].data * 8;
		for (int n = 0; n < 3000; n++) {
			struct lpm_key key;
			memset(&key, 0, sizeof key);
			/* Few distinct data values so that prefixes nest and collide. */
			key.prefixlen = rnd_below(maxlen + 2);
			random_bytes(key.data, cases[i].data);
			key.data[0] &= 0xf3;
			if (cases[i].data > 1)
				key.data[1] &= 0x81;
			uint8_t value[16];
			random_bytes(value, sizeof value);
			uint64_t flags = rnd_below(4) ? (rnd() % 3) : random_flags();
			switch (rnd_below(8)) {
			case 0: case 1: case 2:
				cmp_update(&p, &key, value, flags);
				break;
			case 3:
				cmp_delete(&p, &key);
				break;
			case 4: case 5:
				cmp_lookup(&p, &key, 0);
				break;
			case 6:
				cmp_next(&p, rnd_below(4) ? &key : NULL);
				break;
			default:
				cmp_lookup_and_delete(&p, &key, 0);
				break;
			}
		}
		cmp_iteration(&p);
		pair_close(&p);
	}
}

static void test_fd_maps(void)
{
	/* prog_array and perf_event_array: the fd-style error paths. */
	static const uint32_t types[] = { BPF_MAP_TYPE_PROG_ARRAY, BPF_MAP_TYPE_PERF_EVENT_ARRAY };
	for (int t = 0; t < 2; t++) {
		struct kdef d = { types[t], 4, 4, 4, 0, 0, 0, 0, 0, 0 };
		struct pair p;
		if (!pair_create(&p, &d, -1, NULL, bpfvm_map_type_name(types[t])))
			continue;
		/* A value that is neither an fd here nor a bpfvm id. */
		uint32_t bad = 0x7ffffff0;
		for (uint32_t k = 0; k < 6; k++) {
			cmp_update(&p, &k, &bad, 0);
			cmp_update(&p, &k, &bad, BPF_NOEXIST);
			cmp_lookup(&p, &k, 0);
			cmp_delete(&p, &k);
			cmp_next(&p, &k);
			cmp_lookup_and_delete(&p, &k, 0);
		}
		cmp_next(&p, NULL);
		pair_close(&p);
	}
	struct kdef rb = { BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, 0, 0, 0, 0, 0 };
	struct pair p;
	if (pair_create(&p, &rb, -1, NULL, "ringbuf")) {
		p.uvs = 0;
		uint64_t x = 0;
		cmp_lookup(&p, NULL, 0);
		cmp_update(&p, NULL, &x, 0);
		cmp_delete(&p, NULL);
		cmp_next(&p, NULL);
		cmp_lookup_and_delete(&p, NULL, 0);
		pair_close(&p);
	}
}

/* Map-in-map: the kernel takes inner map fds, bpfvm takes inner map ids;
 * lookups return ids, compared through the pairing. */
static void test_map_in_map(void)
{
	struct kdef inner_def[] = {
		{ BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 8, 5, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 4, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 8, 4, 0, 0, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_RDONLY, 0, 0, 0, 0, 0 },
	};
	enum { NIN = sizeof inner_def / sizeof inner_def[0] };
	struct pair in[NIN];
	uint32_t kid[NIN], bid[NIN];
	for (int i = 0; i < NIN; i++) {
		if (!pair_create(&in[i], &inner_def[i], -1, NULL, "inner"))
			return;
		kid[i] = kmap_id(in[i].kfd);
		bpfvm_map_info info;
		bpfvm_map_info_get(in[i].m, &info);
		bid[i] = info.id;
	}
	static const uint32_t outer_types[] = { BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH_OF_MAPS };
	for (int t = 0; t < 2; t++) {
		uint32_t oflags = outer_types[t] == BPF_MAP_TYPE_HASH_OF_MAPS ? BPF_F_ZERO_SEED : 0;
		struct kdef d = { outer_types[t], 4, 4, 3, oflags, 0, 0, 0, 0, in[0].kfd };
		struct pair o;
		char label[64];
		snprintf(label, sizeof label, "%s", bpfvm_map_type_name(d.type));
		if (!pair_create(&o, &d, -1, in[0].m, label))
			continue;
		for (int n = 0; n < 400; n++) {
			uint32_t key = rnd_below(5);
			int which = (int)rnd_below(NIN);
			uint64_t flags = rnd_below(3) ? rnd_below(3) : random_flags();
			uint32_t kval = (uint32_t)in[which].kfd, bval = bid[which];
			int kr, br;
			uint32_t kout = 0, bout = 0;
			switch (rnd_below(5)) {
			case 0: case 1:
				kr = kop(BPF_MAP_UPDATE_ELEM, o.kfd, &key, &kval, flags);
				br = bpfvm_map_update(o.m, &key, &bval, flags, NULL);
				CHECK(kr == br, "%s: update key %u inner #%d flags %llu: kernel %d, bpfvm %d", label, key, which,
				      (unsigned long long)flags, kr, br);
				break;
			case 2:
				kr = kop(BPF_MAP_LOOKUP_ELEM, o.kfd, &key, &kout, 0);
				br = bpfvm_map_lookup(o.m, &key, &bout, 0, NULL);
				CHECK(kr == br, "%s: lookup key %u: kernel %d, bpfvm %d", label, key, kr, br);
				if (kr == 0 && br == 0) {
					int ki = -1, bi = -1;
					for (int i = 0; i < NIN; i++) {
						if (kid[i] == kout)
							ki = i;
						if (bid[i] == bout)
							bi = i;
					}
					CHECK(ki == bi && ki >= 0, "%s: lookup key %u: kernel inner #%d, bpfvm inner #%d", label, key,
					      ki, bi);
				}
				break;
			case 3:
				cmp_delete(&o, &key);
				break;
			default:
				cmp_next(&o, rnd_below(4) ? &key : NULL);
				cmp_lookup_and_delete(&o, &key, 0);
				break;
			}
		}
		pair_close(&o);
	}
	/* Templates that are refused. */
	struct kdef pa = { BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0, 0, 0, 0, 0, 0 };
	struct pair prog;
	if (pair_create(&prog, &pa, -1, NULL, "prog_array template")) {
		struct kdef d = { BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 3, 0, 0, 0, 0, 0, prog.kfd };
		struct pair o;
		if (pair_create(&o, &d, -1, prog.m, "array_of_maps of prog_array"))
			pair_close(&o);
		pair_close(&prog);
	}
	struct kdef bad_outer[] = {
		{ BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 8, 3, 0, 0, 0, 0, 0, in[0].kfd },
		{ BPF_MAP_TYPE_ARRAY_OF_MAPS, 8, 4, 3, 0, 0, 0, 0, 0, in[0].kfd },
		{ BPF_MAP_TYPE_HASH_OF_MAPS, 8, 4, 3, 0, 0, 0, 0, 0, in[0].kfd },
		{ BPF_MAP_TYPE_HASH_OF_MAPS, 4, 8, 3, 0, 0, 0, 0, 0, in[0].kfd },
		{ BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 3, BPF_F_RDONLY_PROG, 0, 0, 0, 0, in[0].kfd },
		{ BPF_MAP_TYPE_HASH_OF_MAPS, 4, 4, 3, BPF_F_RDONLY_PROG, 0, 0, 0, 0, in[0].kfd },
		{ BPF_MAP_TYPE_HASH_OF_MAPS, 4, 4, 3, BPF_F_NO_PREALLOC, 0, 0, 0, 0, in[0].kfd },
	};
	for (size_t i = 0; i < sizeof bad_outer / sizeof bad_outer[0]; i++) {
		struct pair o;
		char label[64];
		snprintf(label, sizeof label, "outer #%zu", i);
		if (pair_create(&o, &bad_outer[i], -1, in[0].m, label))
			pair_close(&o);
	}
	/* BPF_F_INNER_MAP lets array inner maps differ in max_entries. */
	struct kdef flex = { BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_INNER_MAP, 0, 0, 0, 0, 0 };
	struct kdef flex9 = { BPF_MAP_TYPE_ARRAY, 4, 8, 9, BPF_F_INNER_MAP, 0, 0, 0, 0, 0 };
	struct pair f4, f9;
	if (pair_create(&f4, &flex, -1, NULL, "inner_map 4") && pair_create(&f9, &flex9, -1, NULL, "inner_map 9")) {
		struct kdef d = { BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 3, 0, 0, 0, 0, 0, f4.kfd };
		struct pair o;
		if (pair_create(&o, &d, -1, f4.m, "array_of_maps of inner_map")) {
			uint32_t key = 0, kval = (uint32_t)f9.kfd, bval = 0, kval2 = (uint32_t)in[0].kfd;
			bpfvm_map_info info;
			bpfvm_map_info_get(f9.m, &info);
			bval = info.id;
			int kr = kop(BPF_MAP_UPDATE_ELEM, o.kfd, &key, &kval, 0);
			int br = bpfvm_map_update(o.m, &key, &bval, 0, NULL);
			CHECK(kr == br && kr == 0, "BPF_F_INNER_MAP: kernel %d, bpfvm %d", kr, br);
			bpfvm_map_info_get(in[0].m, &info);
			kr = kop(BPF_MAP_UPDATE_ELEM, o.kfd, &key, &kval2, 0);
			br = bpfvm_map_update(o.m, &key, &info.id, 0, NULL);
			CHECK(kr == br, "BPF_F_INNER_MAP vs plain: kernel %d, bpfvm %d", kr, br);
			pair_close(&o);
		}
		pair_close(&f9);
		pair_close(&f4);
	}
	for (int i = 0; i < NIN; i++)
		pair_close(&in[i]);
}

static void test_access_flags(void)
{
	static const uint32_t flags[] = { BPF_F_RDONLY, BPF_F_WRONLY };
	static const uint32_t types[] = { BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_QUEUE };
	for (int f = 0; f < 2; f++) {
		for (int t = 0; t < 3; t++) {
			bool queue = types[t] == BPF_MAP_TYPE_QUEUE;
			struct kdef d = { types[t], queue ? 0 : 4, 8, 4, flags[f], 0, 0, 0, 0, 0 };
			char label[64];
			snprintf(label, sizeof label, "%s flags 0x%x", bpfvm_map_type_name(d.type), d.flags);
			struct pair p;
			if (!pair_create(&p, &d, -1, NULL, label))
				continue;
			uint32_t k = 1;
			uint64_t v = 9;
			const void *key = queue ? NULL : &k;
			cmp_update(&p, key, &v, 0);
			cmp_lookup(&p, key, 0);
			cmp_lookup(&p, key, BPF_F_LOCK);
			cmp_next(&p, NULL);
			cmp_lookup_and_delete(&p, key, 0);
			cmp_delete(&p, key);
			pair_close(&p);
		}
	}
}

/* ---- program side: helpers called by kernel programs ------------------------
 *
 * A socket filter calls one helper with a key and value on its stack and
 * returns r0 (or, for pop/peek/lookup, what the call left in the value);
 * BPF_PROG_TEST_RUN gives back its 32-bit return.  bpfvm's program-side
 * function gets the same arguments.  The maps are then compared from user
 * space, which also checks per-CPU slots (the test is pinned to one CPU,
 * so the kernel's and bpfvm's "this CPU" agree).  Combinations the
 * verifier refuses are not comparable and are skipped.
 */

enum {
	FN_LOOKUP = 1, FN_UPDATE = 2, FN_DELETE = 3, FN_PERF_OUTPUT = 25, FN_PUSH = 87, FN_POP = 88, FN_PEEK = 89,
	FN_RB_OUTPUT = 130, FN_RB_RESERVE = 131, FN_RB_SUBMIT = 132, FN_RB_QUERY = 134, FN_LOOKUP_PERCPU = 195,
};

struct insn_buf {
	struct bpf_insn insn[64];
	int n;
};

static void emit(struct insn_buf *b, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	struct bpf_insn in;
	memset(&in, 0, sizeof in);
	in.code = code;
	in.dst_reg = dst & 0xf;
	in.src_reg = src & 0xf;
	in.off = off;
	in.imm = imm;
	b->insn[b->n++] = in;
}

static void emit_map_fd(struct insn_buf *b, uint8_t dst, int fd)
{
	emit(b, BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd);
	emit(b, 0, 0, 0, 0, 0);
}

static void emit_stack_words(struct insn_buf *b, int16_t off, const uint32_t *words, int n)
{
	for (int i = 0; i < n; i++)
		emit(b, BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, (int16_t)(off + 4 * i), (int32_t)words[i]);
}

/* Loads and runs; returns 0 and *ret, or a negative code (not loadable). */
static int krun(struct insn_buf *b, uint32_t *ret)
{
	int fd = kprog_load(BPF_PROG_TYPE_SOCKET_FILTER, b->insn, (size_t)b->n);
	if (fd < 0)
		return fd;
	uint8_t pkt[64] = { 0 };
	int rc = kprog_test_run(fd, pkt, sizeof pkt, NULL, 0, NULL, ret);
	close(fd);
	return rc;
}

/* What one helper call is given: key at fp-8, value at fp-72 (64 bytes). */
struct call {
	int fn;
	uint32_t key[2];
	uint32_t value[16];
	uint64_t flags;      /* or the ringbuf size, per helper */
	bool want_value;     /* return the first value word after the call */
};

static int kcall(int map_fd, const struct call *c, uint32_t *ret)
{
	struct insn_buf b = { .n = 0 };
	emit(&b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0);   /* r6 = ctx */
	emit_stack_words(&b, -8, c->key, 2);
	emit_stack_words(&b, -72, c->value, 16);
	emit_map_fd(&b, BPF_REG_1, map_fd);
	emit(&b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
	emit(&b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_10, 0, 0);
	emit(&b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, -72);
	switch (c->fn) {
	case FN_LOOKUP:
	case FN_DELETE:
		emit(&b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -8);
		break;
	case FN_LOOKUP_PERCPU:
		emit(&b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -8);
		emit(&b, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, (int32_t)c->flags);
		break;
	case FN_UPDATE:
		emit(&b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -8);
		emit(&b, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, (int32_t)c->flags);
		break;
	case FN_PUSH:   /* (map, value, flags) */
		emit(&b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -72);
		emit(&b, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, (int32_t)c->flags);
		break;
	case FN_POP:
	case FN_PEEK:   /* (map, value) */
		emit(&b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -72);
		break;
	case FN_RB_OUTPUT:   /* (map, data, size = 16, flags) */
		emit(&b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -72);
		emit(&b, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, 16);
		emit(&b, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, (int32_t)c->flags);
		break;
	case FN_RB_QUERY:   /* (map, flags) */
		emit(&b, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, (int32_t)c->flags);
		break;
	case FN_RB_RESERVE:   /* (map, size, 0); submit if reserved; returns 1/0 */
		emit(&b, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, (int32_t)c->flags);
		emit(&b, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, 0);
		break;
	case FN_PERF_OUTPUT:   /* (ctx, map, flags, data, size = 8) */
		emit(&b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_1, 0, 0);
		emit(&b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_6, 0, 0);
		emit(&b, BPF_LD | BPF_DW | BPF_IMM, BPF_REG_3, 0, 0, (int32_t)(uint32_t)c->flags);
		emit(&b, 0, 0, 0, 0, (int32_t)(uint32_t)(c->flags >> 32));
		emit(&b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_4, BPF_REG_10, 0, 0);
		emit(&b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_4, 0, 0, -72);
		emit(&b, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_5, 0, 0, 8);
		break;
	}
	emit(&b, BPF_JMP | BPF_CALL, 0, 0, 0, c->fn);
	if (c->fn == FN_LOOKUP || c->fn == FN_LOOKUP_PERCPU) {
		/* NULL -> 0xffffffff, else the value's first word. */
		emit(&b, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 2, 0);
		emit(&b, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_0, BPF_REG_0, 0, 0);
		emit(&b, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
		emit(&b, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, -1);
	} else if (c->fn == FN_RB_RESERVE) {
		emit(&b, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 4, 0);
		emit(&b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_0, 0, 0);
		emit(&b, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, 0);
		emit(&b, BPF_JMP | BPF_CALL, 0, 0, 0, FN_RB_SUBMIT);
		emit(&b, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
	} else if (c->want_value) {
		emit(&b, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_0, BPF_REG_10, -72, 0);
	}
	emit(&b, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return krun(&b, ret);
}

static uint32_t bcall(bpfvm_map *m, const struct call *c)
{
	uint32_t value[16];
	memcpy(value, c->value, sizeof value);
	long r = 0;
	switch (c->fn) {
	case FN_LOOKUP:
	case FN_LOOKUP_PERCPU: {
		uint32_t *p = c->fn == FN_LOOKUP ? bpfvm_map_lookup_elem(m, c->key)
		                                 : bpfvm_map_lookup_percpu_elem(m, c->key, (uint32_t)c->flags);
		return p ? *p : 0xffffffffu;
	}
	case FN_UPDATE: r = bpfvm_map_update_elem(m, c->key, value, c->flags); break;
	case FN_DELETE: r = bpfvm_map_delete_elem(m, c->key); break;
	case FN_PUSH: r = bpfvm_map_push_elem(m, value, c->flags); break;
	case FN_POP: r = bpfvm_map_pop_elem(m, value); break;
	case FN_PEEK: r = bpfvm_map_peek_elem(m, value); break;
	case FN_RB_OUTPUT: r = bpfvm_map_ringbuf_output(m, value, 16, c->flags); break;
	case FN_RB_QUERY: r = (long)bpfvm_map_ringbuf_query(m, c->flags); break;
	case FN_RB_RESERVE: {
		void *rec = bpfvm_map_ringbuf_reserve(m, c->flags, 0);
		if (rec)
			bpfvm_map_ringbuf_submit(rec, 0);
		r = rec != NULL;
		break;
	}
	case FN_PERF_OUTPUT: r = bpfvm_map_perf_event_output(m, c->flags, value, 8); break;
	}
	return c->want_value ? value[0] : (uint32_t)r;
}

static int prog_skipped;

static void cmp_call(struct pair *p, const struct call *c, const char *what)
{
	uint32_t kr;
	int rc = kcall(p->kfd, c, &kr);
	if (rc < 0) {
		prog_skipped++;
		if (getenv("BPFVM_MAPS_VERBOSE"))
			printf("note: %s: helper %d not loadable (%d)\n", p->label, c->fn, rc);
		return;
	}
	uint32_t br = bcall(p->m, c);
	CHECK(kr == br, "%s: program %s (helper %d, key %u, flags 0x%llx): kernel %d, bpfvm %d", p->label, what, c->fn,
	      c->key[0], (unsigned long long)c->flags, (int)kr, (int)br);
}

static void random_call(struct call *c, int fn, uint32_t nkeys)
{
	memset(c, 0, sizeof *c);
	c->fn = fn;
	c->key[0] = rnd_below(nkeys);
	for (int i = 0; i < 16; i++)
		c->value[i] = (uint32_t)rnd();
	c->flags = rnd_below(4) ? rnd_below(3) : random_flags();
}

static void test_program_side(void)
{
	/* Keyed maps: update/delete/lookup from programs, compared with
	 * user-space views in between. */
	static const struct { uint32_t type, ks, vs, max, flags; } keyed[] = {
		{ BPF_MAP_TYPE_HASH, 4, 16, 6, BPF_F_ZERO_SEED },
		{ BPF_MAP_TYPE_PERCPU_HASH, 4, 12, 6, BPF_F_ZERO_SEED },
		{ BPF_MAP_TYPE_ARRAY, 4, 16, 6, 0 },
		{ BPF_MAP_TYPE_PERCPU_ARRAY, 4, 12, 6, 0 },
		{ BPF_MAP_TYPE_LRU_HASH, 4, 16, 64, BPF_F_ZERO_SEED },
		{ BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 64, BPF_F_ZERO_SEED },
		{ BPF_MAP_TYPE_LPM_TRIE, 8, 8, 6, BPF_F_NO_PREALLOC },
	};
	for (size_t i = 0; i < sizeof keyed / sizeof keyed[0]; i++) {
		struct kdef d = { keyed[i].type, keyed[i].ks, keyed[i].vs, keyed[i].max, keyed[i].flags, 0, 0, 0, 0, 0 };
		char label[64];
		snprintf(label, sizeof label, "program side %s", bpfvm_map_type_name(d.type));
		struct pair p;
		if (!pair_create(&p, &d, -1, NULL, label))
			continue;
		bool lpm = d.type == BPF_MAP_TYPE_LPM_TRIE;
		for (int n = 0; n < 300; n++) {
			struct call c;
			static const int fns[] = { FN_UPDATE, FN_UPDATE, FN_UPDATE, FN_DELETE, FN_LOOKUP, FN_LOOKUP_PERCPU };
			random_call(&c, fns[rnd_below(6)], 9);
			if (lpm) {
				c.key[1] = c.key[0] * 0x01010101u;
				c.key[0] = rnd_below(34);   /* prefixlen */
			}
			if (c.fn == FN_LOOKUP_PERCPU)
				c.flags = rnd_below(ncpus + 2);
			cmp_call(&p, &c, "call");
			if (n % 10 == 0) {
				uint8_t key[8];
				memcpy(key, c.key, 8);
				cmp_lookup(&p, key, 0);
			}
		}
		cmp_iteration(&p);
		pair_close(&p);
	}

	/* Queue, stack, bloom filter: push/pop/peek, and what pop/peek leave
	 * in the buffer (zeroes when empty). */
	static const uint32_t qtypes[] = { BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_BLOOM_FILTER };
	for (int t = 0; t < 3; t++) {
		bool bloom = qtypes[t] == BPF_MAP_TYPE_BLOOM_FILTER;
		struct kdef d = { qtypes[t], 0, 8, 4, bloom ? BPF_F_ZERO_SEED : 0, bloom ? 2 : 0, 0, 0, 0, 0 };
		char label[64];
		snprintf(label, sizeof label, "program side %s", bpfvm_map_type_name(d.type));
		struct pair p;
		if (!pair_create(&p, &d, -1, NULL, label))
			continue;
		for (int n = 0; n < 300; n++) {
			struct call c;
			static const int fns[] = { FN_PUSH, FN_PUSH, FN_POP, FN_PEEK, FN_UPDATE, FN_DELETE, FN_LOOKUP };
			random_call(&c, fns[rnd_below(7)], 4);
			c.value[0] = rnd_below(16);
			c.value[1] = 0;
			c.want_value = (c.fn == FN_POP || c.fn == FN_PEEK) && rnd_below(2);
			cmp_call(&p, &c, c.want_value ? "buffer after" : "call");
		}
		pair_close(&p);
	}

	/* Ring buffer: outputs, reservations and queries in the same order
	 * leave both rings at the same positions. */
	struct kdef rbd = { BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, 0, 0, 0, 0, 0 };
	struct pair rb;
	if (pair_create(&rb, &rbd, -1, NULL, "program side ringbuf")) {
		for (int n = 0; n < 400; n++) {
			struct call c;
			static const int fns[] = { FN_RB_OUTPUT, FN_RB_OUTPUT, FN_RB_RESERVE, FN_RB_QUERY };
			random_call(&c, fns[rnd_below(4)], 1);
			if (c.fn == FN_RB_QUERY)
				c.flags = rnd_below(5);
			if (c.fn == FN_RB_RESERVE)
				c.flags = rnd_below(4) ? 8 * rnd_below(40) : 4096 + rnd_below(2);
			cmp_call(&rb, &c, "call");
		}
		pair_close(&rb);
	}

	/* perf_event_array with nothing attached: the index and flag paths. */
	struct kdef ped = { BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 2, 0, 0, 0, 0, 0, 0 };
	struct pair pe;
	if (pair_create(&pe, &ped, -1, NULL, "program side perf_event_array")) {
		static const uint64_t flags[] = { 0, 1, 2, 5, 0xffffffffULL, 0x7fffffffULL };
		for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
			struct call c;
			memset(&c, 0, sizeof c);
			c.fn = FN_PERF_OUTPUT;
			c.flags = flags[i];
			cmp_call(&pe, &c, "perf_event_output");
		}
		pair_close(&pe);
	}
	if (prog_skipped)
		printf("note: %d program-side combinations refused by the verifier, not compared\n", prog_skipped);
}

int main(void)
{
	struct kdef probe = { BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0, 0, 0, 0, 0, 0 };
	int fd = kcreate(&probe);
	if (fd < 0) {
		printf("skipped: bpf(BPF_MAP_CREATE) failed here (%s)\n", strerror(-fd));
		return 77;
	}
	close(fd);
	ncpus = bpfvm_map_possible_cpus();
	const char *seed = getenv("BPFVM_MAPS_SEED");
	if (seed && *seed)
		rng_state = strtoull(seed, NULL, 0) | 1;
	/* One CPU: the kernel's LRU and per-CPU behaviour are then repeatable. */
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &set);
	sched_setaffinity(0, sizeof set, &set);

	test_creation();
	test_keyed_maps();
	test_hash_order();
	test_lru();
	test_spin_lock_maps();
	test_queue_stack();
	test_stack_trace();
	test_bloom();
	test_lpm();
	test_fd_maps();
	test_map_in_map();
	test_access_flags();
	test_program_side();
	return check_summary();
}
