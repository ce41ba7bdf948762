/* spin_lock.c - loader test object: a hash map whose value holds a
 * struct bpf_spin_lock at a non-zero offset. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct locked_value {
	__u64 count;
	__u32 flags;
	struct bpf_spin_lock lock;
	__u64 sum;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, int);
	__type(value, struct locked_value);
} locked SEC(".maps");

SEC("tc")
int locked_add(struct __sk_buff *skb)
{
	int key = 0;
	struct locked_value *v = bpf_map_lookup_elem(&locked, &key);
	if (!v)
		return 0;
	bpf_spin_lock(&v->lock);
	v->count++;
	v->sum += skb->len;
	bpf_spin_unlock(&v->lock);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
