/*
 * registry.c - the table of helpers a program may call, by 32-bit ID.
 *
 * Owns: bpfvm_helpers, an open-addressing hash table from helper ID to
 * descriptor (helper_desc.h), and the questions asked of descriptors
 * (may a program type call it, does a map fit its map argument).  IDs
 * are arbitrary (no small fixed table), so an embedder can use the
 * kernel's numbers and its own side by side.
 * The kernel's helpers point at their static descriptors; an embedder's
 * get a descriptor of their own.  A table is frozen once a program is
 * loaded with it: programs keep pointers to its descriptors, so a later
 * change is refused rather than left to dangle.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "base/opts.h"
#include "helpers/helper_desc.h"
#include "helpers/helpers.h"
#include "progtypes/progtypes.h"

struct helper_slot {
	uint32_t id;
	bool used;
	const struct helper_desc *desc;
	struct helper_desc *owned;    /* desc, when this table made it */
};

struct bpfvm_helpers {
	struct helper_slot *slots;
	size_t capacity;   /* power of two */
	size_t used;
	bpfvm_trace_fn trace;
	void *trace_user;
	atomic_bool frozen;
};

bpfvm_helpers *bpfvm_helpers_new(void)
{
	bpfvm_helpers *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->capacity = 16;
	h->slots = calloc(h->capacity, sizeof *h->slots);
	if (!h->slots) {
		free(h);
		return NULL;
	}
	return h;
}

static void free_owned(struct helper_desc *d)
{
	if (d)
		free((char *)d->proto.name);
	free(d);
}

void bpfvm_helpers_free(bpfvm_helpers *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->capacity; i++)
		free_owned(h->slots[i].owned);
	free(h->slots);
	free(h);
}

static size_t slot_of(const struct helper_slot *slots, size_t capacity, uint32_t id)
{
	size_t i = (id * 2654435761u) & (capacity - 1);
	while (slots[i].used && slots[i].id != id)
		i = (i + 1) & (capacity - 1);
	return i;
}

static int grow(bpfvm_helpers *h)
{
	size_t cap = h->capacity * 2;
	struct helper_slot *slots = calloc(cap, sizeof *slots);
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < h->capacity; i++)
		if (h->slots[i].used)
			slots[slot_of(slots, cap, h->slots[i].id)] = h->slots[i];
	free(h->slots);
	h->slots = slots;
	h->capacity = cap;
	return 0;
}

static int check_mutable(const bpfvm_helpers *h, uint32_t id, bpfvm_error *err)
{
	if (!h)
		return error_set(err, -EINVAL, -1, "helper %u: no table given", id);
	if (atomic_load_explicit(&h->frozen, memory_order_acquire))
		return error_set(err, -EBUSY, -1,
		                 "helper %u: the helper table is in use by a loaded program and can no longer change", id);
	return 0;
}

/* Puts desc (owned by the table if `owned`) in id's slot. */
static int put(bpfvm_helpers *h, uint32_t id, const struct helper_desc *desc, struct helper_desc *owned,
               bpfvm_error *err)
{
	if ((h->used + 1) * 2 > h->capacity && grow(h)) {
		free_owned(owned);
		return error_set(err, -ENOMEM, -1, "helper %u: out of memory", id);
	}
	struct helper_slot *s = &h->slots[slot_of(h->slots, h->capacity, id)];
	if (s->used)
		free_owned(s->owned);
	else
		h->used++;
	*s = (struct helper_slot){ .id = id, .used = true, .desc = desc, .owned = owned };
	return 0;
}

int bpfvm_helpers_add(bpfvm_helpers *h, uint32_t id, const char *name,
                      bpfvm_helper_fn fn, bpfvm_error *err)
{
	int rc = check_mutable(h, id, err);
	if (rc)
		return rc;
	if (!fn)
		return error_set(err, -EINVAL, -1, "helper %u: no function given", id);
	struct helper_desc *d = calloc(1, sizeof *d);
	char *copy = strdup(name ? name : "");
	if (!d || !copy) {
		free(d);
		free(copy);
		return error_set(err, -ENOMEM, -1, "helper %u: out of memory", id);
	}
	/* The kernel's own function under its own ID (a table assembled
	 * piecewise) keeps the kernel's prototype and inlining; any other
	 * function is the embedder's, without a prototype until one is set. */
	const struct helper_desc *kernel = helper_kernel_desc(id);
	if (kernel && kernel->fn == fn)
		*d = *kernel;
	else /* map_types 0: a map passed to it is refused, as no rule says which fit */
		*d = (struct helper_desc){ .proto = { .id = id }, .fn = fn, .prog_types = PROGS_ALL };
	d->proto.name = copy;
	return put(h, id, d, d, err);
}

int helpers_add_descs(bpfvm_helpers *h, const struct helper_desc *descs, size_t count, bpfvm_error *err)
{
	for (size_t i = 0; i < count; i++) {
		int rc = check_mutable(h, descs[i].proto.id, err);
		if (!rc)
			rc = put(h, descs[i].proto.id, &descs[i], NULL, err);
		if (rc)
			return rc;
	}
	return 0;
}

const struct helper_desc *helpers_desc(const bpfvm_helpers *h, uint32_t id)
{
	if (!h)
		return NULL;
	const struct helper_slot *s = &h->slots[slot_of(h->slots, h->capacity, id)];
	return s->used ? s->desc : NULL;
}

bpfvm_helper_fn bpfvm_helpers_find(const bpfvm_helpers *h, uint32_t id, const char **name)
{
	const struct helper_desc *d = helpers_desc(h, id);
	if (!d)
		return NULL;
	if (name)
		*name = d->proto.name;
	return d->fn;
}

/* An embedder's prototype must make sense on its own: sizes follow the
 * memory they measure, map keys and values follow a map. */
static int check_proto(uint32_t id, const bpfvm_helper_proto *p, bpfvm_error *err)
{
	bool map = false, ended = false;
	for (int a = 0; a < 5; a++) {
		unsigned k = p->args[a], prev = a ? p->args[a - 1] : BPFVM_ARG_NONE;
		if (k >= BPFVM_ARG_PUBLIC_COUNT)
			return error_set(err, -EINVAL, -1, "helper %u: argument %d has unknown kind %u", id, a + 1, k);
		if (ended && k != BPFVM_ARG_NONE)
			return error_set(err, -EINVAL, -1, "helper %u: argument %d follows BPFVM_ARG_NONE", id, a + 1);
		ended |= k == BPFVM_ARG_NONE;
		bool after_mem = prev == BPFVM_ARG_MEM || prev == BPFVM_ARG_MEM_MAYBE_NULL || prev == BPFVM_ARG_MEM_UNINIT;
		if ((k == BPFVM_ARG_SIZE || k == BPFVM_ARG_SIZE_OR_ZERO) != after_mem)
			return error_set(err, -EINVAL, -1, after_mem ? "helper %u: argument %d must be the size of argument %d"
			                                             : "helper %u: argument %d is a size without memory before it",
			                 id, a + 1, a);
		if ((k == BPFVM_ARG_MAP_KEY || k == BPFVM_ARG_MAP_VALUE || k == BPFVM_ARG_MAP_VALUE_UNINIT) && !map)
			return error_set(err, -EINVAL, -1, "helper %u: argument %d is a map key or value without a map before it",
			                 id, a + 1);
		map |= k == BPFVM_ARG_MAP;
	}
	if ((unsigned)p->ret >= BPFVM_RET_PUBLIC_COUNT)
		return error_set(err, -EINVAL, -1, "helper %u: unknown result kind %u", id, (unsigned)p->ret);
	if (p->ret == BPFVM_RET_MAP_VALUE_OR_NULL && !map)
		return error_set(err, -EINVAL, -1, "helper %u: returns a map value but takes no map", id);
	return 0;
}

int bpfvm_helpers_set_proto(bpfvm_helpers *h, uint32_t id, const bpfvm_helper_proto *proto, bpfvm_error *err)
{
	int rc = check_mutable(h, id, err);
	if (rc)
		return rc;
	if (!proto)
		return error_set(err, -EINVAL, -1, "helper %u: no prototype given", id);
	bpfvm_helper_proto known;
	if ((rc = opts_known(bpfvm_helper_proto, proto, &known, err)))
		return rc;
	proto = &known;
	struct helper_slot *s = &h->slots[slot_of(h->slots, h->capacity, id)];
	if (!s->used)
		return error_set(err, -ENOENT, -1, "helper %u: not in the table; add it with bpfvm_helpers_add() first", id);
	if (!s->owned)
		return error_set(err, -EINVAL, -1, "helper %u (%s) is the kernel's and has its prototype", id,
		                 s->desc->proto.name);
	if ((rc = check_proto(id, proto, err)))
		return rc;
	struct helper_desc *d = s->owned;
	d->proto.ret = (uint8_t)proto->ret;
	for (int a = 0; a < 5; a++)
		d->proto.args[a] = (uint8_t)proto->args[a];
	d->proto.gpl_only = proto->gpl_only;
	d->proto.changes_pkt = proto->changes_pkt_data;
	d->pkt_access = proto->pkt_access;
	d->prog_types = proto->prog_types ? proto->prog_types : PROGS_ALL;
	d->inline_kind = INLINE_NONE;
	/* a map argument: any map type not restricted to the kernel's own
	 * helpers (map_ops.only_helpers) */
	bool takes_map = false;
	for (int a = 0; a < 5; a++)
		takes_map |= proto->args[a] == BPFVM_ARG_MAP;
	d->map_types = takes_map ? MAP_TYPES_ANY : 0;
	d->has_proto = true;
	return 0;
}

bpfvm_helpers *bpfvm_helpers_new_kernel(bpfvm_error *err)
{
	bpfvm_helpers *h = bpfvm_helpers_new();
	if (!h) {
		error_set(err, -ENOMEM, -1, "out of memory");
		return NULL;
	}
	if (helpers_add_descs(h, helper_descs_kernel, helper_descs_kernel_count, err) ||
	    helpers_add_descs(h, helper_descs_maps, helper_descs_maps_count, err) ||
	    helpers_add_descs(h, helper_descs_callbacks, helper_descs_callbacks_count, err) ||
	    helpers_add_descs(h, helper_descs_trace, helper_descs_trace_count, err) ||
	    helpers_add_descs(h, helper_descs_xdp, helper_descs_xdp_count, err) ||
	    helpers_add_descs(h, helper_descs_fib, helper_descs_fib_count, err)) {
		bpfvm_helpers_free(h);
		return NULL;
	}
	return h;
}

const struct helper_desc *helper_kernel_desc(uint32_t id)
{
	static const struct { const struct helper_desc *descs; const size_t *count; } modules[] = {
		{ helper_descs_kernel, &helper_descs_kernel_count },
		{ helper_descs_maps, &helper_descs_maps_count },
		{ helper_descs_callbacks, &helper_descs_callbacks_count },
		{ helper_descs_trace, &helper_descs_trace_count },
		{ helper_descs_xdp, &helper_descs_xdp_count },
		{ helper_descs_fib, &helper_descs_fib_count },
	};
	for (size_t m = 0; m < sizeof modules / sizeof modules[0]; m++)
		for (size_t i = 0; i < *modules[m].count; i++)
			if (modules[m].descs[i].proto.id == id)
				return &modules[m].descs[i];
	return NULL;
}

int helper_allowed_for(const struct helper_desc *d, uint32_t prog_type)
{
	const struct progtype_desc *t = progtype_desc(prog_type);
	/* the kernel's lists are known only for the types bpfvm models */
	if (!t || !t->ctx_size || prog_type >= 64)
		return -1;
	return d && (d->prog_types & PROG_BIT(prog_type)) ? 1 : 0;
}

bool helper_takes_map(const struct helper_desc *d, const bpfvm_map *m)
{
	if (m->type >= 64 || !(d->map_types & MAP_TYPE_BIT(m->type)))
		return false;
	return !m->ops->only_helpers || (m->ops->only_helpers & MAP_HELPER_BIT(d->map_kind));
}

void helpers_freeze(const bpfvm_helpers *h)
{
	/* The flag is the one thing a const table may change: loading a
	 * program with it is what freezes it. */
	if (h)
		atomic_store_explicit(&((bpfvm_helpers *)h)->frozen, true, memory_order_release);
}

int bpfvm_helpers_set_trace(bpfvm_helpers *h, bpfvm_trace_fn fn, void *user)
{
	if (!h)
		return -EINVAL;
	if (atomic_load_explicit(&h->frozen, memory_order_acquire))
		return -EBUSY;   /* a running program may be printing through it */
	h->trace = fn;
	h->trace_user = user;
	return 0;
}

void helpers_trace(bpfvm_run *run, const char *line)
{
	const bpfvm_helpers *h = run->prog->helpers;
	if (h && h->trace) {
		h->trace(h->trace_user, line);
		return;
	}
	/* the default sink, like the kernel's trace pipe: stderr, with one
	 * writev() rather than stdio, whose lock and buffer a program run in
	 * a signal handler (the agent's hooks) may find mid-use by its thread */
	size_t n = strlen(line);
	struct iovec parts[2] = { { (void *)line, n }, { "\n", n && line[n - 1] == '\n' ? 0 : 1 } };
	ssize_t written = writev(2, parts, 2);
	(void)written;   /* nowhere to report it, as fprintf() before */
}
