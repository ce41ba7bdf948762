/*
 * run.c - the run ABI: the calls a helper makes back into the run it
 * serves (its user pointer, stopping or failing the run, checking an
 * access in checked mode).
 *
 * Owns: bpfvm_run_user, bpfvm_run_stop, bpfvm_run_fail,
 * bpfvm_run_check_access; the map windows checked runs see, and what a
 * checked run left held at its end (a spin lock, reserved records).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "bpfvm/maps.h"
#include "run/run.h"

void *bpfvm_run_user(const bpfvm_run *run)
{
	return run->opts->user;
}

void bpfvm_run_stop(bpfvm_run *run, uint64_t value)
{
	if (run->status == RUN_OK) {
		run->status = RUN_STOPPED;
		run->stop_value = value;
	}
}

void bpfvm_run_fail(bpfvm_run *run, const char *msg)
{
	if (run->status == RUN_FAILED)
		return;
	run->status = RUN_FAILED;
	snprintf(run->fail_msg, sizeof run->fail_msg, "%s", msg ? msg : "(no message)");
}

bool bpfvm_run_check_access(const bpfvm_run *run, uint64_t addr, uint64_t len, bool write)
{
	return run_access_ok(run, addr, len, write);
}

void run_map_region_make(struct run_map_region *out, const bpfvm_map *map)
{
	void *base;
	size_t len;
	bpfvm_map_arena(map, &base, &len);
	struct map_region_desc shape;
	map_checked_region(map, &shape);
	bool all_values = shape.value_len != 0 && shape.value_off == 0 && shape.lock_off < 0 &&
	                  (shape.stride == 0 || shape.value_len >= shape.stride);
	*out = (struct run_map_region){ .base = (uint64_t)(uintptr_t)base, .len = len, .shape = shape,
	                                .whole = all_values, .map = map };
}

static const struct run_map_region *region_holding(const struct run_map_region *maps, size_t count,
                                                   uint64_t addr)
{
	for (size_t i = 0; i < count; i++)
		if (addr - maps[i].base < maps[i].len)
			return &maps[i];
	return NULL;
}

const struct run_map_region *run_map_region_at(const struct bpfvm_run *run, uint64_t addr)
{
	const struct run_map_region *r = region_holding(run->map_regions, run->map_region_count, addr);
	return r ? r : region_holding(run->inner_regions, run->inner_count, addr);
}

int run_release_leftovers(struct bpfvm_run *run, int rc, bpfvm_error *err)
{
	if (run->held_lock) {
		bpfvm_map_spin_unlock(run->held_lock);
		run->held_lock = NULL;
		if (rc == 0)
			rc = error_set(err, -EINVAL, -1, "bpf_spin_lock at %s still held at exit; released",
			               run->held_lock_name);
	}
	unsigned left = run->reserved_count;
	for (unsigned i = 0; i < left; i++)
		bpfvm_map_ringbuf_discard(run->reserved[i].base, 0);
	run->reserved_count = 0;
	if (left && rc == 0) {
		bpfvm_map_info info;
		bpfvm_map_info_get(run->reserved_maps[0], &info);
		rc = error_set(err, -EINVAL, -1, "%u ring buffer record%s of map %s still reserved at exit; discarded",
		               left, left == 1 ? "" : "s", info.name);
	}
	return rc;
}
