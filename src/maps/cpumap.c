/*
 * cpumap.c - BPF_MAP_TYPE_CPUMAP: the CPUs an XDP program hands frames to
 * (bpf_redirect_map), each with the queue size of its kthread in the
 * kernel (a host's worker thread here).
 *
 * Owns: the kernel's rules for the map (cpu_map_alloc, cpu_map_update_elem,
 * its delete, lookup and get_next_key) and map_cpumap_entry().
 *
 * A value is struct bpf_cpumap_val: the queue size (4-byte values), then a
 * cpumap program's fd (8-byte values).  As in the kernel: a queue size of 0
 * empties the entry, above 16384 is -EOVERFLOW, a key that is not a
 * possible CPU is -ENODEV, and max_entries is at most the kernel's NR_CPUS
 * (/sys/devices/system/cpu/kernel_max + 1).  A cpumap program (an fd > 0)
 * is refused: bpfvm does not run a second program on the target CPU.
 * Programs cannot look entries up (only bpf_redirect_map takes the map),
 * so the slots, one 8-byte {qsize, prog id} each written with one atomic
 * store, lie outside the arena's program window.
 */
#include <stdio.h>

#include "maps/map_internal.h"
#include "maps/xdp_maps.h"

#define CPUMAP_MAX_QSIZE 16384u
#define KERNEL_NR_CPUS_FALLBACK 8192u   /* Debian's amd64 kernels */

/* The kernel's NR_CPUS, which bounds a cpumap's max_entries. */
static uint32_t kernel_nr_cpus(void)
{
	unsigned max = 0;
	FILE *f = fopen("/sys/devices/system/cpu/kernel_max", "re");
	if (f) {
		if (fscanf(f, "%u", &max) != 1)
			max = 0;
		fclose(f);
	}
	return max ? max + 1 : KERNEL_NR_CPUS_FALLBACK;
}

static int cpumap_check(const bpfvm_map_def *def, unsigned ncpus, bpfvm_error *err)
{
	(void)ncpus;
	if (def->max_entries == 0 || def->key_size != 4)
		return map_error(err, -EINVAL, "cpumap: key_size must be 4 and max_entries > 0");
	if (def->value_size != 4 && def->value_size != 8)
		return map_error(err, -EINVAL, "cpumap: value_size must be 4 (qsize) or 8 (struct bpf_cpumap_val), got %u",
		                 def->value_size);
	if (def->flags & ~BPFVM_F_NUMA_NODE)
		return map_error(err, -EINVAL, "cpumap: invalid map flags 0x%x (only BPF_F_NUMA_NODE)", def->flags);
	uint32_t nr_cpus = kernel_nr_cpus();
	if (def->max_entries > nr_cpus)
		return map_error(err, -E2BIG, "cpumap: max_entries %u is above the kernel's NR_CPUS (%u)",
		                 def->max_entries, nr_cpus);
	return 0;
}

static int cpumap_layout(bpfvm_map *m, struct arena_layout *lay, bpfvm_error *err)
{
	(void)err;
	m->off[0] = layout_add(lay, (size_t)m->max_entries * 8, 64);
	return 0;
}

static uint64_t *slot(const bpfvm_map *m, uint32_t cpu)
{
	return (uint64_t *)(void *)(m->base + m->off[0] + (size_t)cpu * 8);
}

static uint32_t key_of(const void *key)
{
	uint32_t k;
	memcpy(&k, key, 4);
	return k;
}

static int cpumap_sys_lookup(bpfvm_map *m, const void *key, void *value, uint64_t flags, bpfvm_error *err)
{
	(void)flags;
	(void)err;
	uint32_t k = key_of(key);
	uint64_t v = k < m->max_entries ? __atomic_load_n(slot(m, k), __ATOMIC_ACQUIRE) : 0;
	if (!v)
		return -ENOENT;
	uint32_t val[2] = { (uint32_t)v, (uint32_t)(v >> 32) };
	memcpy(value, val, m->value_size);
	return 0;
}

/* cpu_map_update_elem(). */
static int cpumap_sys_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags, bpfvm_error *err)
{
	uint32_t k = key_of(key), val[2] = { 0, 0 };
	memcpy(val, value, m->value_size);
	if (flags > BPFVM_EXIST)
		return -EINVAL;
	if (k >= m->max_entries)
		return -E2BIG;
	if (flags == BPFVM_NOEXIST)
		return -EEXIST;
	if (val[0] > CPUMAP_MAX_QSIZE)
		return map_error(err, -EOVERFLOW, "cpumap '%s': qsize %u is above %u", m->name, val[0], CPUMAP_MAX_QSIZE);
	if (k >= m->ncpus)
		return map_error(err, -ENODEV, "cpumap '%s': CPU %u is not a possible CPU (%u)", m->name, k, m->ncpus);
	if (val[0] && m->value_size == 8 && (int32_t)val[1] > 0)
		return map_error(err, -EINVAL, "cpumap '%s': a cpumap program (fd %d in bpf_cpumap_val) is not supported "
		                 "by bpfvm", m->name, (int32_t)val[1]);
	__atomic_store_n(slot(m, k), (uint64_t)val[0], __ATOMIC_RELEASE);
	return 0;
}

static int cpumap_sys_delete(bpfvm_map *m, const void *key, bpfvm_error *err)
{
	(void)err;
	uint32_t k = key_of(key);
	if (k >= m->max_entries)
		return -EINVAL;
	__atomic_store_n(slot(m, k), 0, __ATOMIC_RELEASE);
	return 0;
}

bool map_cpumap_entry(bpfvm_map *m, uint32_t key, uint32_t *qsize)
{
	if (key >= m->max_entries)
		return false;
	*qsize = (uint32_t)__atomic_load_n(slot(m, key), __ATOMIC_ACQUIRE);
	return *qsize != 0;
}

const struct map_ops map_cpumap_ops = {
	.check = cpumap_check,
	.layout = cpumap_layout,
	.pinnable = true,
	.only_helpers = MAP_HELPER_BIT(MAP_HELPER_REDIRECT),
	.sys_lookup = cpumap_sys_lookup,
	.sys_update = cpumap_sys_update,
	.sys_delete = cpumap_sys_delete,
	.sys_get_next_key = array_get_next_key,
};
