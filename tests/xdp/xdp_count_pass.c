// xdp_count_pass.c - counts every packet by IP protocol, and passes it to
// the host's stack.
#include "xdp_counts.h"

SEC("xdp")
int count_pass(struct xdp_md *ctx)
{
	count_packet((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	return XDP_PASS;
}
