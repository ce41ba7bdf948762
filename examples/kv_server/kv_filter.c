/*
 * kv_filter.c - kv_server's request filter: counts every request it sees
 * per client (the pinned hash kv_requests, client id -> count) and drops
 * those whose key starts with "secret".  Each version also counts the
 * requests it saw in the pinned array kv_versions (slot FILTER_VERSION),
 * so a test can tell that every version ran; since every version pins
 * the same maps, replacing one by another carries the counts on.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "kv_request.h"

#ifndef FILTER_VERSION
#define FILTER_VERSION 1
#endif

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
		/* two workers may race to add it: whichever loses finds it */
		bpf_map_update_elem(map, &key, &zero, BPF_NOEXIST);
		n = bpf_map_lookup_elem(map, &key);
	}
	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("bpfvm")
int kv_filter(struct kv_request *req)
{
	count(&kv_requests, req->client_id);
	count(&kv_versions, FILTER_VERSION);
	if (req->key[0] == 's' && req->key[1] == 'e' && req->key[2] == 'c' && req->key[3] == 'r' &&
	    req->key[4] == 'e' && req->key[5] == 't')
		return KV_DROP;
	return KV_PASS;
}

char LICENSE[] SEC("license") = "GPL";
