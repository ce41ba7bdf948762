/* search.c - binary and linear searches over arrays on the stack, in a
 * map value and in the packet. */
#include "loops.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32[64]);
} table SEC(".maps");

SEC("xdp")
int bad_binary_search_stack(struct xdp_md *ctx)
{
	__u32 a[32];
	NO_UNROLL
	for (int i = 0; i < 32; i++)
		a[i] = (__u32)i * 3 + 1;
	__u32 want = bpf_get_prandom_u32() & 127;
	int lo = 0, hi = 31, found = -1;
	NO_UNROLL
	while (lo <= hi) {
		int mid = (lo + hi) >> 1;
		if (mid < 0 || mid > 31)
			break;
		if (a[mid] == want) {
			found = mid;
			break;
		}
		if (a[mid] < want)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return found >= 0 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int binary_search_map(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u32 *a = bpf_map_lookup_elem(&table, &k);
	if (!a)
		return XDP_ABORTED;
	__u32 want = bpf_get_prandom_u32();
	__u32 lo = 0, hi = 64;
	NO_UNROLL
	for (int step = 0; step < 7 && lo < hi; step++) {
		__u32 mid = (lo + hi) / 2;
		if (mid >= 64)
			break;
		if (a[mid] < want)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < 64 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int linear_search_map(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u32 *a = bpf_map_lookup_elem(&table, &k);
	if (!a)
		return XDP_ABORTED;
	__u32 want = bpf_get_prandom_u32() & 0xff;
	NO_UNROLL
	for (int i = 0; i < 64; i++)
		if (a[i] == want)
			return XDP_PASS;
	return XDP_DROP;
}

SEC("xdp")
int linear_search_packet(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	NO_UNROLL
	for (int i = 0; i < 200; i++) {
		if (p + i + 1 > end)
			break;
		if (p[i] == 0x7e)
			return i & 1 ? XDP_PASS : XDP_TX;
	}
	return XDP_DROP;
}

/* the maximum and its position, over the map's array */
SEC("xdp")
int bad_max_search(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u32 *a = bpf_map_lookup_elem(&table, &k);
	if (!a)
		return XDP_ABORTED;
	__u32 best = 0, at = 0;
	NO_UNROLL
	for (__u32 i = 0; i < 64; i++) {
		if (a[i] > best) {
			best = a[i];
			at = i;
		}
	}
	return at & 1 ? XDP_PASS : XDP_DROP;
}

/* lower bound over a packet-derived count, clamped */
SEC("xdp")
int bad_search_bounded_by_len(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	__u32 len = end - p;
	if (len > 96)
		len = 96;
	__u32 count = 0;
	NO_UNROLL
	for (__u32 i = 0; i < len; i++) {
		if (p + i + 1 > end)
			break;
		count += p[i] > 0x40;
	}
	return count > 10 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
