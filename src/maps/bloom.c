/*
 * bloom.c - BPF_MAP_TYPE_BLOOM_FILTER.
 *
 * Owns: the kernel's bit array sizing (max_entries * k * 7/5 bits, rounded
 * up to a power of two, at least 64), its k hashes (jhash of the value
 * seeded with seed + i, masked), and push/peek.  With BPF_F_ZERO_SEED the
 * bits set are exactly the kernel's, so false positives match too.  Bits
 * are set with atomic ORs: pushes never need a lock.
 */
#include "maps/map_internal.h"

#define KMALLOC_MAX_SIZE (4u << 20)

struct bloom_state {
	uint32_t bitset_mask;
	uint32_t nr_hash_funcs;
};

static struct bloom_state *bloom_of(const bpfvm_map *m)
{
	return (struct bloom_state *)(void *)(m->base + m->off[0]);
}

static uint64_t *bloom_bits(const bpfvm_map *m)
{
	return (uint64_t *)(void *)(m->base + m->off[1]);
}

static uint32_t bloom_hash(const bpfvm_map *m, uint32_t mask, const void *value, uint32_t index)
{
	uint32_t seed = m->hdr->hash_seed + index;
	uint32_t h = (m->value_size % 4 == 0) ? jhash_words(value, m->value_size / 4, seed)
	                                       : jhash_bytes(value, m->value_size, seed);
	return h & mask;
}

/* bloom_map_alloc_check() then bloom_map_alloc()'s checks. */
static int bloom_check(const bpfvm_map_def *def, unsigned ncpus, bpfvm_error *err)
{
	(void)ncpus;
	const uint32_t mask = BPFVM_F_NUMA_NODE | BPFVM_F_ZERO_SEED | BPFVM_F_RDONLY | BPFVM_F_WRONLY |
	                      BPFVM_F_RDONLY_PROG | BPFVM_F_WRONLY_PROG;
	if (def->value_size > KMALLOC_MAX_SIZE)
		return map_error(err, -E2BIG, "bloom_filter: value_size %u too large", def->value_size);
	if (def->key_size != 0 || def->value_size == 0 || def->max_entries == 0)
		return map_error(err, -EINVAL, "bloom_filter: key_size must be 0, value_size and max_entries > 0");
	if ((def->flags & ~mask) || !map_flags_access_ok(def->flags))
		return map_error(err, -EINVAL, "bloom_filter: invalid map flags 0x%x", def->flags);
	if (def->map_extra & ~0xfULL)
		return map_error(err, -EINVAL, "bloom_filter: map_extra (the number of hash functions) must be 0..15");
	return 0;
}

/* The bit array's size: returns the mask (bits - 1). */
static uint32_t bloom_mask(const bpfvm_map *m, uint32_t k)
{
	uint64_t nr_bits = (uint64_t)m->max_entries * k;
	if (nr_bits > UINT32_MAX)
		return UINT32_MAX;
	nr_bits = nr_bits / 5 * 7;
	if (nr_bits > UINT32_MAX || nr_bits > (1ULL << 31))
		return UINT32_MAX;
	if (nr_bits <= 64)
		return 63;
	uint64_t p = 1;
	while (p < nr_bits)
		p <<= 1;
	return (uint32_t)(p - 1);
}

static uint32_t hash_funcs(const bpfvm_map *m)
{
	return m->map_extra ? (uint32_t)m->map_extra : 5;
}

static int bloom_layout(bpfvm_map *m, struct arena_layout *lay, bpfvm_error *err)
{
	(void)err;
	uint64_t bits = (uint64_t)bloom_mask(m, hash_funcs(m)) + 1;
	m->off[0] = layout_add(lay, sizeof(struct bloom_state), 64);
	m->off[1] = layout_add(lay, (size_t)(bits / 8), 64);
	return 0;
}

static int bloom_init(bpfvm_map *m, bpfvm_error *err)
{
	(void)err;
	bloom_of(m)->nr_hash_funcs = hash_funcs(m);
	bloom_of(m)->bitset_mask = bloom_mask(m, hash_funcs(m));
	return 0;
}

static long bloom_push(bpfvm_map *m, const void *value, uint64_t flags)
{
	if (flags != BPFVM_ANY)
		return -EINVAL;
	uint32_t mask = bloom_mask(m, hash_funcs(m));   /* from the definition, not the arena */
	for (uint32_t i = 0; i < hash_funcs(m); i++) {
		uint32_t h = bloom_hash(m, mask, value, i);
		__atomic_fetch_or(&bloom_bits(m)[h / 64], 1ULL << (h % 64), __ATOMIC_RELAXED);
	}
	return 0;
}

static long bloom_peek(bpfvm_map *m, void *value)
{
	uint32_t mask = bloom_mask(m, hash_funcs(m));
	for (uint32_t i = 0; i < hash_funcs(m); i++) {
		uint32_t h = bloom_hash(m, mask, value, i);
		if (!(__atomic_load_n(&bloom_bits(m)[h / 64], __ATOMIC_RELAXED) & (1ULL << (h % 64))))
			return -ENOENT;
	}
	return 0;
}

static long bloom_pop(bpfvm_map *m, void *value)
{
	(void)m;
	(void)value;
	return -EOPNOTSUPP;
}

static int bloom_sys_lookup(bpfvm_map *m, const void *key, void *value, uint64_t flags, bpfvm_error *err)
{
	(void)key;
	(void)flags;
	(void)err;
	return (int)bloom_peek(m, value);
}

static int bloom_sys_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags,
                            bpfvm_error *err)
{
	(void)key;
	(void)err;
	return (int)bloom_push(m, value, flags);
}

static int bloom_sys_delete(bpfvm_map *m, const void *key, bpfvm_error *err)
{
	(void)m;
	(void)key;
	(void)err;
	return -EOPNOTSUPP;
}

static int bloom_sys_get_next_key(bpfvm_map *m, const void *key, void *next_key, bpfvm_error *err)
{
	(void)m;
	(void)key;
	(void)next_key;
	(void)err;
	return -EOPNOTSUPP;
}

static long bloom_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags)
{
	(void)m;
	(void)key;
	(void)value;
	(void)flags;
	return -EINVAL;
}

static long bloom_delete(bpfvm_map *m, const void *key)
{
	(void)m;
	(void)key;
	return -EOPNOTSUPP;
}

const struct map_ops map_bloom_filter_ops = {
	.check = bloom_check,
	.layout = bloom_layout,
	.init = bloom_init,
	.pinnable = true,
	.only_helpers = MAP_HELPER_BIT(MAP_HELPER_PUSH) | MAP_HELPER_BIT(MAP_HELPER_PEEK),
	.sys_lookup = bloom_sys_lookup,
	.sys_update = bloom_sys_update,
	.sys_delete = bloom_sys_delete,
	.sys_get_next_key = bloom_sys_get_next_key,
	.update = bloom_update,
	.delete = bloom_delete,
	.push = bloom_push,
	.pop = bloom_pop,
	.peek = bloom_peek,
};
