/*
 * registry.c - the table of helpers a program may call, by 32-bit ID.
 *
 * Owns: bpfvm_helpers, an open-addressing hash table from helper ID to
 * function and name.  IDs are arbitrary (no small fixed table), so an
 * embedder can use the kernel's numbers and its own side by side.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "helpers/helpers.h"

struct helper_slot {
	uint32_t id;
	bool used;
	bpfvm_helper_fn fn;
	char *name;
};

struct bpfvm_helpers {
	struct helper_slot *slots;
	size_t capacity;   /* power of two */
	size_t used;
	bpfvm_trace_fn trace;
	void *trace_user;
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

void bpfvm_helpers_free(bpfvm_helpers *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->capacity; i++)
		free(h->slots[i].name);
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

int bpfvm_helpers_add(bpfvm_helpers *h, uint32_t id, const char *name,
                      bpfvm_helper_fn fn, bpfvm_error *err)
{
	if (!h || !fn)
		return isa_error(err, -EINVAL, -1, "helper %u: no table or no function given", id);
	if ((h->used + 1) * 2 > h->capacity && grow(h))
		return isa_error(err, -ENOMEM, -1, "helper %u: out of memory", id);
	char *copy = strdup(name ? name : "");
	if (!copy)
		return isa_error(err, -ENOMEM, -1, "helper %u: out of memory", id);
	struct helper_slot *s = &h->slots[slot_of(h->slots, h->capacity, id)];
	if (s->used)
		free(s->name);
	else
		h->used++;
	s->used = true;
	s->id = id;
	s->fn = fn;
	s->name = copy;
	return 0;
}

bpfvm_helper_fn bpfvm_helpers_find(const bpfvm_helpers *h, uint32_t id, const char **name)
{
	if (!h)
		return NULL;
	const struct helper_slot *s = &h->slots[slot_of(h->slots, h->capacity, id)];
	if (!s->used)
		return NULL;
	if (name)
		*name = s->name;
	return s->fn;
}

bpfvm_helpers *bpfvm_helpers_new_kernel(bpfvm_error *err)
{
	bpfvm_helpers *h = bpfvm_helpers_new();
	if (!h) {
		isa_error(err, -ENOMEM, -1, "out of memory");
		return NULL;
	}
	if (helpers_add_kernel(h, err) || helpers_add_maps(h, err) || helpers_add_callbacks(h, err)) {
		bpfvm_helpers_free(h);
		return NULL;
	}
	return h;
}

void bpfvm_helpers_set_trace(bpfvm_helpers *h, bpfvm_trace_fn fn, void *user)
{
	h->trace = fn;
	h->trace_user = user;
}

void helpers_trace(bpfvm_run *run, const char *line)
{
	const bpfvm_helpers *h = run->prog->helpers;
	if (h && h->trace) {
		h->trace(h->trace_user, line);
		return;
	}
	/* the default sink, like the kernel's trace pipe: stderr */
	size_t n = strlen(line);
	fprintf(stderr, "%s%s", line, n && line[n - 1] == '\n' ? "" : "\n");
}
