/*
 * map_region.h - what of a map's values window a checked program may
 * touch: the shape each map type describes (map_ops.checked_region) and
 * the run layer enforces (src/run/run.h).
 *
 * A window is a run of equal strides; in each, only [value_off,
 * value_off + value_len) is the program's (the rest is keys, padding the
 * map owns, or nothing at all), and the 4 bytes at lock_off, a struct
 * bpf_spin_lock, may be read but only the lock helpers change them.
 */
#ifndef BPFVM_MAPS_MAP_REGION_H
#define BPFVM_MAPS_MAP_REGION_H

#include <stdint.h>

#include "bpfvm/maps.h"

struct map_region_desc {
	uint32_t stride;      /* bytes per element in the window; 0: one element, the whole window */
	uint32_t value_off;   /* the program's bytes in each stride */
	uint32_t value_len;   /* 0: none (the window is the map's alone) */
	int32_t lock_off;     /* a bpf_spin_lock within the stride, -1: none */
};

/* The map's description: its type's map_ops.checked_region, or by
 * default every stride of value_stride bytes is the program's, but for
 * a bpf_spin_lock at spin_lock_off (arrays, LPM tries). */
void map_checked_region(const bpfvm_map *map, struct map_region_desc *out);

#endif
