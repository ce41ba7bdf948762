/*
 * callback_helpers.c - the kernel's helpers that call back into the
 * program: bpf_loop (181) and bpf_for_each_map_elem (164), with the
 * kernel's arguments, limits and return values.
 *
 * Owns: the iteration and the early stop each helper makes.  Calling the
 * callback itself, and ending the run from inside it, is run_callback's
 * (src/run/callback.c): when it reports that the run must end, these
 * stop at once and return; the engine then sees the run's status.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>

#include "bpfvm/maps.h"
#include "helpers/helper_desc.h"
#include "helpers/helpers.h"
#include "maps/map_internal.h"

#define LOOP_MAX (1u << 23)     /* the kernel's BPF_MAX_LOOPS */

/* bpf_loop(nr_loops, callback, ctx, flags): callback(i, ctx) for i from 0
 * while it returns 0; returns the iterations made (the stopping one
 * included), -EINVAL for flags, -E2BIG above 1 << 23 iterations. */
static uint64_t h_loop(uint64_t nr, uint64_t fn, uint64_t ctx, uint64_t flags, uint64_t e, bpfvm_run *run)
{
	(void)e;
	uint32_t nr_loops = (uint32_t)nr;      /* a u32 argument, as in the kernel */
	if (flags)
		return (uint64_t)-EINVAL;
	if (nr_loops > LOOP_MAX)
		return (uint64_t)-E2BIG;
	for (uint32_t i = 0; i < nr_loops; i++) {
		uint64_t args[5] = { i, ctx, 0, 0, 0 }, ret;
		if (run_callback(run, "bpf_loop", fn, args, &ret))
			return 0;
		if (ret)
			return i + 1;
	}
	return nr_loops;
}

struct each_state {
	bpfvm_run *run;
	uint64_t fn, ctx;
};

/* One element: callback(map, key, value, ctx).  The key of an array map is
 * a u32 on this C stack: lent, read-only, for the call. */
static long each_elem(bpfvm_map *map, const void *key, void *value, void *arg)
{
	struct each_state *st = arg;
	if (!run_lend(st->run, key, map->key_size))
		return 1;
	uint64_t args[5] = { (uint64_t)(uintptr_t)map, (uint64_t)(uintptr_t)key, (uint64_t)(uintptr_t)value,
	                     st->ctx, 0 }, ret;
	int ended = run_callback(st->run, "bpf_for_each_map_elem", st->fn, args, &ret);
	run_unlend(st->run);
	return ended || ret;
}

/* bpf_for_each_map_elem(map, callback, ctx, flags): the elements visited
 * (the stopping one included), or -EINVAL for flags.  The kernel's
 * verifier refuses a map type it cannot iterate at load; bpfvm knows the
 * map only at run time, and fails the run there. */
static uint64_t h_for_each_map_elem(uint64_t map, uint64_t fn, uint64_t ctx, uint64_t flags, uint64_t e,
                                    bpfvm_run *run)
{
	(void)e;
	bpfvm_map *m = helper_map_arg(run, "bpf_for_each_map_elem", map);
	if (!m)
		return 0;
	struct each_state st = { run, fn, ctx };
	long visited = bpfvm_map_for_each_elem(m, each_elem, &st, flags);
	if (visited == -MAP_ENOTSUPP) {
		char msg[96];
		snprintf(msg, sizeof msg, "bpf_for_each_map_elem: a %s map cannot be iterated", map_type_label(m->type));
		bpfvm_run_fail(run, msg);
	}
	return run->status == RUN_OK ? (uint64_t)visited : 0;
}

#define A(...) { __VA_ARGS__ }
#define DESC(ID, FN, ARGS, CALLBACK, ...) \
	{ .proto = { .id = BPF_FUNC_##ID, .name = "bpf_" #ID, .ret = RET_INTEGER, .args = ARGS }, \
	  .fn = FN, .has_proto = true, .prog_types = PROGS_ALL, .callback = CALLBACK, __VA_ARGS__ }
/* the map types whose elements the kernel's bpf_for_each_map_elem visits */
#define T(TYPE) MAP_TYPE_BIT(BPF_MAP_TYPE_##TYPE)
#define ITERABLE_TYPES \
	(T(HASH) | T(LRU_HASH) | T(ARRAY) | T(PERCPU_HASH) | T(PERCPU_ARRAY) | T(LRU_PERCPU_HASH))

const struct helper_desc helper_descs_callbacks[] = {
	DESC(for_each_map_elem, h_for_each_map_elem, A(ARG_MAP, ARG_FUNC, ARG_STACK_OR_NULL, ARG_ANYTHING),
	     CALLBACK_MAP_ELEM, .map_kind = MAP_HELPER_ITERATE, .map_types = ITERABLE_TYPES),
	DESC(loop, h_loop, A(ARG_SCALAR, ARG_FUNC, ARG_STACK_OR_NULL, ARG_ANYTHING), CALLBACK_LOOP),
};
const size_t helper_descs_callbacks_count = sizeof helper_descs_callbacks / sizeof helper_descs_callbacks[0];
