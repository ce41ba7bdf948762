/* bad.c - loops the kernel rejects: no bound at all, a bound the
 * verifier cannot prove, an index past an array in a late iteration, a
 * packet access not checked in the loop, and a loop whose state never
 * changes.  Other files have bad_ programs too: loops the kernel's
 * verifier gives up on (more than 1M instructions walked) or whose
 * packet offset it cannot bound. */
#include "loops.h"

SEC("xdp")
int bad_unbounded_counter(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	if (p + 4 > end)
		return XDP_DROP;
	__u32 n = *(__u32 *)p, sum = 0;
	NO_UNROLL
	for (__u32 i = 0; i < n; i++)
		sum += bpf_get_prandom_u32() & i;
	return sum & 1 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int bad_collatz(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	if (p + 4 > end)
		return XDP_DROP;
	__u64 x = *(__u32 *)p | 1;
	__u32 steps = 0;
	NO_UNROLL
	while (x != 1) {
		x = x & 1 ? 3 * x + 1 : x / 2;
		steps++;
	}
	return steps & 1 ? XDP_PASS : XDP_DROP;
}

/* 40 iterations over an array of 32: the 33rd fails */
SEC("xdp")
int bad_index_past_array(struct xdp_md *ctx)
{
	__u32 a[32];
	NO_UNROLL
	for (int i = 0; i < 32; i++)
		a[i] = i;
	volatile int n = 40;
	__u32 sum = 0;
	int limit = n;
	if (limit > 40)
		limit = 40;
	NO_UNROLL
	for (int i = 0; i < limit; i++)
		sum += a[i];
	return sum & 1 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int bad_unchecked_packet(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	if (p + 8 > end)
		return XDP_DROP;
	__u32 sum = 0;
	NO_UNROLL
	for (int i = 0; i < 16; i++)
		sum += p[i];
	return sum & 1 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int bad_wait_for_random(struct xdp_md *ctx)
{
	__u32 tries = 0;
	NO_UNROLL
	for (;;) {
		if (bpf_get_prandom_u32() == 7)
			break;
		tries++;
	}
	return tries & 1 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int bad_map_index_unbounded(struct xdp_md *ctx)
{
	__u32 a[16];
	NO_UNROLL
	for (int i = 0; i < 16; i++)
		a[i] = bpf_get_prandom_u32();
	__u32 j = 0;
	NO_UNROLL
	for (int i = 0; i < 8; i++)
		j += a[i] & 3;
	return a[j] & 1 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
