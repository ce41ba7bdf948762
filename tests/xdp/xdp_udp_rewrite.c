// xdp_udp_rewrite.c - sends UDP datagrams to port 7000 back to their
// sender addressed to port 7001 (checksum updated), tagging each in its
// metadata on the way (bpf_xdp_adjust_meta: the frame's headroom, as the
// kernel gives it); drops everything else.  COUNT_DONE counts rewrites.
#include <linux/udp.h>
#include "xdp_counts.h"

SEC("xdp")
int udp_rewrite(struct xdp_md *ctx)
{
	count_packet((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	if (bpf_xdp_adjust_meta(ctx, -4))
		return XDP_ABORTED;
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 *meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > data)
		return XDP_ABORTED;
	*meta = 0x7000;
	struct iphdr *ip = ipv4(data, end);
	if (!ip || ip->protocol != IPPROTO_UDP)
		return XDP_DROP;
	struct udphdr *udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end || udp->dest != bpf_htons(7000) || *meta != 0x7000)
		return XDP_DROP;
	udp->dest = bpf_htons(7001);
	if (udp->check)
		udp->check = csum_replace(udp->check, bpf_htons(7000), bpf_htons(7001));
	swap_addresses(data, ip);
	count(COUNT_DONE);
	return XDP_TX;
}
