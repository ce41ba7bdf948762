// xdp_count_drop.c - counts every packet by IP protocol, and drops it.
#include "xdp_counts.h"

SEC("xdp")
int count_drop(struct xdp_md *ctx)
{
	count_packet((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	return XDP_DROP;
}
