/*
 * btf_filter.c - a program for a BTF-typed hook (test_hook_host): the
 * context is kv_check's arguments as u64s, its struct pointer typed by the
 * host's BTF (tests/hooks/kv_types.c); it counts calls in a pinned array
 * and refuses client 7.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct kv_req {
	unsigned int client;
	unsigned int op;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} btf_filter_calls SEC(".maps");

SEC("fmod_ret/kv_check")
int btf_filter(unsigned long long *ctx)
{
	struct kv_req *req = (struct kv_req *)ctx[0];
	__u32 zero = 0;
	__u64 *calls = bpf_map_lookup_elem(&btf_filter_calls, &zero);
	if (calls)
		__sync_fetch_and_add(calls, 1);
	return req->client == 7;
}

char LICENSE[] SEC("license") = "GPL";
