/*
 * kv_bad_filter.c - a kv_server filter the verifier must refuse: it reads
 * past the end of the request (struct kv_request is 48 bytes).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "../../examples/kv_server/kv_request.h"

SEC("bpfvm")
int kv_bad_filter(struct kv_request *req)
{
	return ((volatile char *)req)[sizeof *req + 8];
}

char LICENSE[] SEC("license") = "GPL";
