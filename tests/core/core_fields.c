/*
 * core_fields.c - CO-RE field relocations against core_target.c's BTF:
 * offsets of moved, nested, array and anonymous-union fields, a load whose
 * size follows the field's (u16 -> u32), field sizes, existence, signedness
 * and bitfields (BPF_CORE_READ_BITFIELD: byte size, left and right
 * shifts), a flavor (struct core_flav___v2), and a missing field read only
 * behind bpf_core_field_exists (poisoned, unreachable).
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

static void *buffer(void)
{
	int k = 0;
	return bpf_map_lookup_elem(&mem, &k);
}

SEC("socket")
int fields(void *ctx)
{
	struct core_sample *s = buffer();
	if (!s)
		return 0;
	long sum = s->a + s->b + s->in.x + s->in.tag[2] + s->arr[3] + s->u1 + s->u2 + s->grows;
	sum += bpf_core_field_size(s->b) + bpf_core_field_size(s->arr) + bpf_core_field_size(s->in.tag);
	sum += bpf_core_field_exists(s->missing) + bpf_core_field_exists(s->a);
	sum += __builtin_preserve_field_info(s->bf3, BPF_FIELD_SIGNED);
	sum += __builtin_preserve_field_info(s->grows, BPF_FIELD_SIGNED);
	if (bpf_core_field_exists(s->missing))
		sum += s->missing;
	return (int)sum;
}

SEC("socket")
int bitfields(void *ctx)
{
	struct core_sample *s = buffer();
	if (!s)
		return 0;
	return (int)(BPF_CORE_READ_BITFIELD(s, bf1) + BPF_CORE_READ_BITFIELD(s, bf2) +
	             BPF_CORE_READ_BITFIELD(s, bf3));
}

SEC("socket")
int flavors(void *ctx)
{
	struct core_flav___v2 *f = buffer();
	if (!f)
		return 0;
	return f->y * 3 + f->z;
}

/* Through a pointer member, as BPF_CORE_READ chains do. */
SEC("socket")
int chain(void *ctx)
{
	core_sample_t *s = buffer();
	if (!s)
		return 0;
	return BPF_CORE_READ(s, next, x);
}

char LICENSE[] SEC("license") = "GPL";
