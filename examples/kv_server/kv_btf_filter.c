/*
 * kv_btf_filter.c - kv_filter.c for `kv_server --btf`, whose hook's
 * context is the arguments of its function kv_request_check, typed by the
 * server's own BTF: the request is read through its pointer (the
 * verifier checks each field read against the server's struct).  It
 * counts into the same pinned maps, as version 3.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "kv_request.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kv_requests SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kv_versions SEC(".maps");

static void count(void *map, __u32 key)
{
	__u64 *n = bpf_map_lookup_elem(map, &key);
	if (!n) {
		__u64 zero = 0;
		bpf_map_update_elem(map, &key, &zero, BPF_NOEXIST);
		n = bpf_map_lookup_elem(map, &key);
	}
	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("fmod_ret/kv_request_check")
int kv_btf_filter(unsigned long long *ctx)
{
	struct kv_request *req = (struct kv_request *)ctx[0];
	count(&kv_requests, req->client_id);
	count(&kv_versions, 3);
	if (req->key[0] == 's' && req->key[1] == 'e' && req->key[2] == 'c' && req->key[3] == 'r' &&
	    req->key[4] == 'e' && req->key[5] == 't')
		return KV_DROP;
	return KV_PASS;
}

char LICENSE[] SEC("license") = "GPL";
