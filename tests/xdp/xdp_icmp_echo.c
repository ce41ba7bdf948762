// xdp_icmp_echo.c - answers ICMP echo requests itself (XDP_TX: the
// request turned into its reply), passes everything else.  COUNT_DONE
// counts replies.
#include "xdp_counts.h"

/* <linux/icmp.h>'s (which includes headers the BPF target cannot build) */
#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8
struct icmphdr {
	__u8 type, code;
	__sum16 checksum;
	__be16 id, sequence;
};

SEC("xdp")
int icmp_echo(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	count_packet(data, end);
	struct iphdr *ip = ipv4(data, end);
	if (!ip || ip->protocol != IPPROTO_ICMP)
		return XDP_PASS;
	struct icmphdr *icmp = (void *)(ip + 1);
	if ((void *)(icmp + 1) > end || icmp->type != ICMP_ECHO || icmp->code)
		return XDP_PASS;
	icmp->type = ICMP_ECHOREPLY;
	icmp->checksum = csum_replace(icmp->checksum, bpf_htons(ICMP_ECHO << 8), bpf_htons(ICMP_ECHOREPLY << 8));
	swap_addresses(data, ip);
	count(COUNT_DONE);
	return XDP_TX;
}
