// map_ops.c - the programs behind bpfvm-bench --maps: each XDP program
// does OPS map operations of one kind in a loop (the packet is ignored),
// so that the time of one operation is the run's time over OPS, minus the
// time of one turn of the same loop without the operation (`loop`).
//
// Built with clang -O2 -g -target bpf against libbpf's headers (BTF maps,
// a .bss), and loaded unchanged by bpfvm and, through libbpf, by the
// kernel.  Every program leaves a checksum of what its operations
// returned in `result`, which the runner compares across engines.
//
// Shapes the kernel's verifier takes: OPS is a constant, so it walks each
// loop OPS times; a lookup's NULL test is a branch per turn (one pending
// state each, far below its 8192).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define OPS 4096
#define ENTRIES 1024          /* keys 0..ENTRIES-1 are in the hash (filled by the runner) */
#define NEW_KEY_BASE 0x100000 /* keys from here are never in it */

struct value {
	__u64 a, b;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ENTRIES);
	__type(key, __u32);
	__type(value, struct value);
} array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * ENTRIES);
	__type(key, __u32);
	__type(value, struct value);
} hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} ring SEC(".maps");

__u64 result;

/* The loop alone: the key goes through the stack as it does for the
 * helpers, and is added up so the loop is not folded away. */
SEC("xdp")
int loop(struct xdp_md *ctx)
{
	__u64 sum = 0;
	for (__u32 i = 0; i < OPS; i++) {
		volatile __u32 key = i & (ENTRIES - 1);
		sum += key;
	}
	result = sum;
	return XDP_PASS;
}

SEC("xdp")
int array_lookup(struct xdp_md *ctx)
{
	__u64 sum = 0;
	for (__u32 i = 0; i < OPS; i++) {
		__u32 key = i & (ENTRIES - 1);
		struct value *v = bpf_map_lookup_elem(&array, &key);
		if (v)
			sum += v->a;
	}
	result = sum;
	return XDP_PASS;
}

SEC("xdp")
int hash_lookup(struct xdp_md *ctx)
{
	__u64 sum = 0;
	for (__u32 i = 0; i < OPS; i++) {
		__u32 key = i & (ENTRIES - 1);
		struct value *v = bpf_map_lookup_elem(&hash, &key);
		if (v)
			sum += v->a;
	}
	result = sum;
	return XDP_PASS;
}

/* Replaces the value of a key that is there. */
SEC("xdp")
int hash_update(struct xdp_md *ctx)
{
	__u64 sum = 0;
	for (__u32 i = 0; i < OPS; i++) {
		__u32 key = i & (ENTRIES - 1);
		struct value v = { .a = key, .b = i };
		sum += bpf_map_update_elem(&hash, &key, &v, BPF_ANY);
	}
	result = sum;
	return XDP_PASS;
}

/* Inserts a key that is not there, then deletes it: a pair per turn. */
SEC("xdp")
int hash_insert_delete(struct xdp_md *ctx)
{
	__u64 sum = 0;
	for (__u32 i = 0; i < OPS; i++) {
		__u32 key = NEW_KEY_BASE + (i & (ENTRIES - 1));
		struct value v = { .a = key, .b = i };
		sum += bpf_map_update_elem(&hash, &key, &v, BPF_NOEXIST);
		sum += bpf_map_delete_elem(&hash, &key);
	}
	result = sum;
	return XDP_PASS;
}

/* A 16-byte record per turn. */
SEC("xdp")
int ringbuf_output(struct xdp_md *ctx)
{
	__u64 sum = 0;
	for (__u32 i = 0; i < OPS; i++) {
		struct value rec = { .a = i, .b = sum };
		sum += bpf_ringbuf_output(&ring, &rec, sizeof rec, 0);
	}
	result = sum;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
