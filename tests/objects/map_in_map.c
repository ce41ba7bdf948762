/* map_in_map.c - loader test object: an array of maps and a hash of maps,
 * each with an inner map definition; the array is initialised with two
 * inner maps declared in the same object. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 3);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer_array SEC(".maps") = {
	.values = { &inner_a, [2] = &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_HASH);
		__uint(max_entries, 32);
		__type(key, __u64);
		__type(value, __u32);
	});
} outer_hash SEC(".maps");

SEC("xdp")
int lookup_inner(struct xdp_md *ctx)
{
	__u32 key = 0;
	void *inner = bpf_map_lookup_elem(&outer_array, &key);
	if (!inner)
		return XDP_ABORTED;
	__u64 *v = bpf_map_lookup_elem(inner, &key);
	if (v)
		*v += 1;
	inner = bpf_map_lookup_elem(&outer_hash, &key);
	return inner ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
