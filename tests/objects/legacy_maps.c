/* legacy_maps.c - loader test object: maps declared the pre-BTF way, as
 * struct bpf_map_def in SEC("maps") (libbpf < 1.0 style), plus a kernel
 * version section. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") legacy_array = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 8,
};

struct bpf_map_def SEC("maps") legacy_hash = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u64),
	.value_size = 32,
	.max_entries = 128,
	.map_flags = BPF_F_NO_PREALLOC,
};

SEC("socket")
int legacy_prog(struct __sk_buff *skb)
{
	__u32 key = 1;
	__u64 *value = bpf_map_lookup_elem(&legacy_array, &key);
	if (value)
		__sync_fetch_and_add(value, skb->len);
	__u64 hkey = skb->protocol;
	bpf_map_delete_elem(&legacy_hash, &hkey);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
__u32 VERSION SEC("version") = 0x060100;
