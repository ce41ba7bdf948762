// xdp_broadcast.c - devmap broadcasts and a redirect to a device bpfvm is
// not attached to (tests/xdp/xdp_live.sh).  By `bc_mode[0]`:
//   0: UDP to every device of `bc_ports` (a devmap) but the ingress one
//      (BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS); ICMP to every device of
//      `bc_ports_hash` (a devmap_hash), the ingress one too (BPF_F_BROADCAST);
//   1: everything to entry 2 of `bc_ports` (one device, XDP_DROP if none);
//   2: everything to ifindex bc_mode[1] (bpf_redirect);
//   4 + one of these: the same, each frame first grown by 64 bytes past its
//      IP datagram (the receivers still count it), for the targets' MTU
//      check: grown at the head, where the kernel's veth always leaves
//      XDP_PACKET_HEADROOM (not so its tailroom), and its first bytes
//      moved there.
// The test fills the maps (bpfvm: pinned, by `bpfvm map update`; the
// kernel: bpftool).  COUNT_DONE counts frames redirected.
#include "xdp_counts.h"

/* xdp_traffic's UDP and ICMP frames (its PAYLOAD of 32 bytes) */
#define SENT_FRAME (14 + 20 + 8 + 32)
#define GROWN_BY 64

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} bc_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} bc_ports_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} bc_mode SEC(".maps");

static __always_inline __u32 setting(__u32 key)
{
	__u32 *v = bpf_map_lookup_elem(&bc_mode, &key);
	return v ? *v : 0;
}

SEC("xdp")
int broadcast(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	count_packet(data, end);
	struct iphdr *ip = ipv4(data, end);
	__u32 how = setting(0);
	__u8 proto = ip ? ip->protocol : 0;
	long verdict;
	if (how & 4) {
		__u8 frame[SENT_FRAME];
		if (bpf_xdp_adjust_head(ctx, -GROWN_BY) || bpf_xdp_load_bytes(ctx, GROWN_BY, frame, sizeof frame) ||
		    bpf_xdp_store_bytes(ctx, 0, frame, sizeof frame))
			return XDP_ABORTED;
		how &= 3;
	}
	if (how == 1)
		verdict = bpf_redirect_map(&bc_ports, 2, XDP_DROP);
	else if (how == 2)
		verdict = bpf_redirect(setting(1), 0);
	else if (proto == IPPROTO_UDP)
		verdict = bpf_redirect_map(&bc_ports, 0, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
	else if (proto == IPPROTO_ICMP)
		verdict = bpf_redirect_map(&bc_ports_hash, 0, BPF_F_BROADCAST);
	else
		return XDP_DROP;
	if (verdict == XDP_REDIRECT)
		count(COUNT_DONE);
	return verdict;
}
