/*
 * core_poison.c - a read of a field the target (core_target.c) lacks, NOT
 * guarded by bpf_core_field_exists: the loader poisons it, the verifier
 * must refuse it naming the failed CO-RE relocation, and a run without
 * verification must fail when it reaches it.  poisoned_dead guards the
 * same read: it is accepted and runs.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "core_types.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, int);
	__type(value, char[512]);
} mem SEC(".maps");

SEC("socket")
int poisoned_reached(void *ctx)
{
	int k = 0;
	struct core_sample *s = bpf_map_lookup_elem(&mem, &k);
	if (!s)
		return 0;
	return s->missing;
}

SEC("socket")
int poisoned_dead(void *ctx)
{
	int k = 0;
	struct core_sample *s = bpf_map_lookup_elem(&mem, &k);
	if (!s)
		return 0;
	if (bpf_core_field_exists(s->missing))
		return s->missing;
	return 7;
}

char LICENSE[] SEC("license") = "GPL";
