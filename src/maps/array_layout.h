/*
 * array_layout.h - the storage of a plain array map as engines see it,
 * for open-coding bpf_map_lookup_elem (the kernel's array_map_gen_lookup).
 *
 * Owns nothing: array.c owns the layout, and this is its promise that
 * the value of key i is at values + i * stride for every i below
 * max_entries, the very pointer its lookup returns, for the map's life.
 */
#ifndef BPFVM_MAPS_ARRAY_LAYOUT_H
#define BPFVM_MAPS_ARRAY_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "bpfvm/maps.h"

struct array_layout {
	uint8_t *values;
	uint32_t max_entries;
	uint32_t stride;          /* value_size rounded up to 8 */
};

/* True, with *out filled, when map is a BPF_MAP_TYPE_ARRAY (not per-CPU,
 * whose lookup depends on the calling thread). */
bool map_array_layout(const bpfvm_map *map, struct array_layout *out);

#endif
