// tail_calls.c - an XDP dispatcher that tail-calls a per-protocol
// handler through a prog_array; each handler counts what it saw.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");   /* 0: tcp, 1: udp, 2: other IP, 3: not IP */

static __always_inline int bump(__u32 slot, int verdict)
{
	__u64 *n = bpf_map_lookup_elem(&seen, &slot);
	if (n)
		__sync_fetch_and_add(n, 1);
	return verdict;
}

SEC("xdp")
int handle_tcp(struct xdp_md *ctx) { return bump(0, XDP_PASS); }

SEC("xdp")
int handle_udp(struct xdp_md *ctx) { return bump(1, XDP_PASS); }

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 256);
	__uint(key_size, sizeof(__u32));
	__array(values, int (void *));
} handlers SEC(".maps") = {
	.values = {
		[IPPROTO_TCP] = (void *)&handle_tcp,
		[IPPROTO_UDP] = (void *)&handle_udp,
	},
};

SEC("xdp")
int dispatch(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return bump(3, XDP_PASS);
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end)
		return XDP_DROP;
	bpf_tail_call(ctx, &handlers, ip->protocol);
	return bump(2, XDP_PASS);   /* no handler for this protocol */
}

char LICENSE[] SEC("license") = "GPL";
