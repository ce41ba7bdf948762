// xdp_to_xsk.c - every frame to the AF_XDP socket of its receive queue
// through an xskmap, dropped where that entry is empty (test_xdp_xsk.c,
// xdp_live.sh).  COUNT_DONE counts the redirects.
#include "xdp_counts.h"

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

SEC("xdp")
int to_xsk(struct xdp_md *ctx)
{
	count_packet((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	long verdict = bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_DROP);
	if (verdict == XDP_REDIRECT)
		count(COUNT_DONE);
	return verdict;
}
