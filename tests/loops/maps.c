/* maps.c - loops with map lookups and helper calls inside, loops over a
 * map with bpf_for_each_map_elem (a loop in the callback too), and
 * bpf_loop with a callback that loops. */
#include "loops.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} flows SEC(".maps");

struct bucket {
	__u32 vals[8];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct bucket);
} buckets SEC(".maps");

SEC("xdp")
int lookup_each_index(struct xdp_md *ctx)
{
	__u64 total = 0;
	NO_UNROLL
	for (__u32 i = 0; i < 32; i++) {
		__u32 k = i;
		__u64 *v = bpf_map_lookup_elem(&counters, &k);
		if (v)
			total += *v;
	}
	return total > 10 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int update_in_loop(struct xdp_md *ctx)
{
	NO_UNROLL
	for (__u32 i = 0; i < 24; i++) {
		__u32 k = bpf_get_prandom_u32() & 63, one = 1;
		__u32 *v = bpf_map_lookup_elem(&flows, &k);
		if (v)
			__sync_fetch_and_add(v, 1);
		else
			bpf_map_update_elem(&flows, &k, &one, BPF_NOEXIST);
	}
	return XDP_PASS;
}

/* keys from the packet, each looked up */
SEC("xdp")
int lookup_packet_keys(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	__u32 hits = 0;
	NO_UNROLL
	for (int i = 0; i < 16; i++) {
		if (p + 4 * i + 4 > end)
			break;
		__u32 k = *(__u32 *)(p + 4 * i);
		if (bpf_map_lookup_elem(&flows, &k))
			hits++;
	}
	return hits ? XDP_PASS : XDP_DROP;
}

/* a loop over the values in a map value, with a variable index */
SEC("xdp")
int bucket_scan(struct xdp_md *ctx)
{
	__u32 k = bpf_get_prandom_u32() & 15;
	struct bucket *b = bpf_map_lookup_elem(&buckets, &k);
	if (!b)
		return XDP_ABORTED;
	__u32 n = bpf_get_prandom_u32() & 7, acc = 0;
	NO_UNROLL
	for (__u32 i = 0; i <= n; i++)
		acc += b->vals[i & 7];
	return acc & 1 ? XDP_PASS : XDP_DROP;
}

struct walk_ctx {
	__u64 sum;
	__u32 odd;
};

static long sum_value(void *map, __u32 *key, __u64 *val, struct walk_ctx *c)
{
	__u64 v = *val;
	NO_UNROLL
	for (int bit = 0; bit < 16; bit++)
		if (v & (1ull << bit))
			c->odd++;
	c->sum += v;
	return 0;
}

SEC("xdp")
int bad_for_each_elem(struct xdp_md *ctx)
{
	struct walk_ctx c = {};
	bpf_for_each_map_elem(&counters, sum_value, &c, 0);
	NO_UNROLL
	for (int i = 0; i < 20; i++)
		c.sum += c.sum >> i;
	return c.sum > c.odd ? XDP_PASS : XDP_DROP;
}

static long count_bucket(void *map, __u32 *key, struct bucket *b, __u32 *max)
{
	NO_UNROLL
	for (int i = 0; i < 8; i++)
		if (b->vals[i] > *max)
			*max = b->vals[i];
	return 0;
}

SEC("xdp")
int for_each_bucket(struct xdp_md *ctx)
{
	__u32 max = 0;
	bpf_for_each_map_elem(&buckets, count_bucket, &max, 0);
	NO_UNROLL
	for (int i = 0; i < 16 && max > 1; i++)
		max >>= 1;
	return max ? XDP_PASS : XDP_DROP;
}

static int loop_step(__u32 index, __u64 *acc)
{
	NO_UNROLL
	for (int i = 0; i < 4; i++)
		*acc = *acc * 31 + index + i;
	return 0;
}

SEC("xdp")
int bpf_loop_inner_loop(struct xdp_md *ctx)
{
	__u64 acc = 0;
	bpf_loop(50, loop_step, &acc, 0);
	NO_UNROLL
	for (int i = 0; i < 30; i++)
		acc ^= acc >> (i & 7);
	return acc & 1 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
