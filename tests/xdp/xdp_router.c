// xdp_router.c - a two-interface IPv4 router: a frame that comes in on
// one port leaves by the other through a devmap_hash (ingress ifindex ->
// egress ifindex), its Ethernet addresses rewritten from `next_hop`
// (ingress ifindex -> the next hop's MAC and the egress port's) and its
// TTL decremented.  The test fills both maps (bpfvm: pinned, by `bpfvm
// map update`; the kernel: bpftool).  Non-IPv4 frames are dropped (the
// test's hosts have static neighbours).  COUNT_DONE counts forwards.
#include "xdp_counts.h"

struct macs {
	unsigned char next_hop[ETH_ALEN];
	unsigned char port[ETH_ALEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, struct macs);
} next_hop SEC(".maps");

SEC("xdp")
int router(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	count_packet(data, end);
	struct ethhdr *eth = data;
	struct iphdr *ip = ipv4(data, end);
	__u32 in = ctx->ingress_ifindex;
	struct macs *m = bpf_map_lookup_elem(&next_hop, &in);
	if (!ip || !m || ip->ttl <= 1)
		return XDP_DROP;
	__u16 old = *(__u16 *)&ip->ttl;
	ip->ttl--;
	ip->check = csum_replace(ip->check, old, *(__u16 *)&ip->ttl);
	__builtin_memcpy(eth->h_dest, m->next_hop, ETH_ALEN);
	__builtin_memcpy(eth->h_source, m->port, ETH_ALEN);
	count(COUNT_DONE);
	return bpf_redirect_map(&ports, in, XDP_DROP);
}
