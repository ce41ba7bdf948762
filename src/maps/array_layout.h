/*
 * array_layout.h - the storage of a plain array map as engines see it,
 * for open-coding bpf_map_lookup_elem (the kernel's array_map_gen_lookup).
 *
 * Owns nothing: a map type's gen_lookup (map_ops) fills it -- array.c's
 * is the one today -- and so promises that the value of key i is at
 * values + i * stride for every i below max_entries, the very pointer
 * its lookup returns, for the map's life.
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

/* True, with *out filled, when the map's type lets engines open-code its
 * lookup (its map_ops' gen_lookup; map.c). */
bool map_gen_lookup(const bpfvm_map *map, struct array_layout *out);

#endif
