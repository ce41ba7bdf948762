// Negative suite (tests/verifier/README.md): a spin lock still held at
// exit, and the safe twin.  tc programs (socket filters may not take spin
// locks).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct locked {
	struct bpf_spin_lock lock;
	__u64 count;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct locked);
} counters SEC(".maps");

// expect spin_lock_held_at_exit: reject "bpf_spin_lock-ed region"
SEC("tc")
int spin_lock_held_at_exit(struct __sk_buff *skb)
{
	__u32 key = 0;
	struct locked *v = bpf_map_lookup_elem(&counters, &key);
	if (!v)
		return 0;
	bpf_spin_lock(&v->lock);
	v->count++;
	return 1;
}

// expect spin_lock_released: accept
SEC("tc")
int spin_lock_released(struct __sk_buff *skb)
{
	__u32 key = 0;
	struct locked *v = bpf_map_lookup_elem(&counters, &key);
	if (!v)
		return 0;
	bpf_spin_lock(&v->lock);
	v->count++;
	bpf_spin_unlock(&v->lock);
	return 1;
}

char _license[] SEC("license") = "GPL";
