// Negative suite (tests/verifier/README.md): helper arguments -- a map of
// the wrong type, a size larger than the buffer.  Socket filters.  (Sizes
// with and without a bound: helper_size_*.s.)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} array8 SEC(".maps");

// expect helper_wrong_map: reject "cannot pass map_type 2 into func bpf_ringbuf_reserve"
SEC("socket")
int helper_wrong_map(struct __sk_buff *skb)
{
	__u64 *e = bpf_ringbuf_reserve(&array8, sizeof *e, 0);
	if (!e)
		return 0;
	bpf_ringbuf_discard(e, 0);
	return 1;
}

// A 16-byte read into an 8-byte map value.
// expect helper_size_too_big: reject "invalid access to map value, value_size=8 off=0 size=16"
SEC("socket")
int helper_size_too_big(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&array8, &key);
	if (!v)
		return 0;
	bpf_skb_load_bytes(skb, 0, v, 16);
	return 1;
}

char _license[] SEC("license") = "GPL";
