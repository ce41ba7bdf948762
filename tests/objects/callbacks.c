/* callbacks.c - differential test object: bpf_loop and
 * bpf_for_each_map_elem on every map type the kernel iterates, run over
 * every packet of examples/traffic.pcap in bpfvm and in the kernel.
 * Each packet checks the helpers' return values (XDP_PASS when all are
 * right, XDP_DROP otherwise) and adds what the callbacks saw to `results`,
 * which the test compares with the kernel's and with closed forms of the
 * packet lengths.  (Comparing the callbacks' counts inside the program
 * would make the kernel's verifier walk every iteration.) */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define E2BIG 7
#define EINVAL 22

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} results SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} by_len SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u64);
} lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} pcpu_arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} pcpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} lru_pcpu SEC(".maps");

struct loop_ctx {
	__u64 sum;
	__u64 calls;
	__u32 stop_at;
	__u32 inner;
};

struct each_ctx {
	__u64 sum;
	__u64 elems;
	__u32 stop_key;
	__u32 bump;
};

static int sum_index(__u32 i, struct loop_ctx *c)
{
	c->sum += i;
	c->calls++;
	return 0;
}

static int stop_at(__u32 i, struct loop_ctx *c)
{
	c->calls++;
	return i == c->stop_at;
}

static int inner(__u32 i, struct loop_ctx *c)
{
	c->sum += i + 1;
	return 0;
}

static int outer(__u32 i, struct loop_ctx *c)
{
	c->calls += bpf_loop(c->inner, inner, c, 0);
	return 0;
}

static __u64 sum_values(void *map, __u32 *key, __u64 *val, struct each_ctx *c)
{
	c->sum += *val;
	c->elems++;
	if (c->bump)
		*val += 1;
	return *key == c->stop_key;
}

static __u64 stop_first(void *map, __u32 *key, __u64 *val, struct each_ctx *c)
{
	c->elems++;
	return 1;
}

static void add(__u32 slot, __u64 v)
{
	__u64 *r = bpf_map_lookup_elem(&results, &slot);
	if (r)
		*r += v;
}

SEC("xdp")
int loop_xdp(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	int ok = 1;

	/* bpf_loop: indexes, early stop, flags and size limits, nesting */
	struct loop_ctx lc = {};
	__u32 n = len & 31;
	long ret = bpf_loop(n, sum_index, &lc, 0);
	ok &= ret == n;
	add(0, lc.sum);
	add(1, ret);

	lc = (struct loop_ctx){ .stop_at = len % 7 };
	ret = bpf_loop(20, stop_at, &lc, 0);
	ok &= ret == len % 7 + 1;
	add(2, lc.calls);

	lc = (struct loop_ctx){};
	ret = bpf_loop(5, sum_index, &lc, 1);
	ok &= ret == -EINVAL;
	add(3, (__u32)ret);
	ret = bpf_loop((1 << 23) + 1, sum_index, &lc, 0);
	ok &= (int)ret == -E2BIG;
	add(4, (__u32)ret);
	ret = bpf_loop(0, sum_index, &lc, 0);
	ok &= ret == 0;
	add(3, lc.calls);   /* no call back in any of the three */

	lc = (struct loop_ctx){ .inner = len % 5 };
	ret = bpf_loop(3, outer, &lc, 0);
	ok &= ret == 3;
	add(5, lc.sum);
	add(6, lc.calls);

	return ok ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int each_xdp(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	struct each_ctx ec;
	long ret;
	int ok = 1;

	/* arrays: every index in order, stopping at a key */
	__u32 slot = len & 7;
	__u64 *a = bpf_map_lookup_elem(&arr, &slot);
	if (a)
		*a += len;
	ec = (struct each_ctx){ .stop_key = 5 };
	ret = bpf_for_each_map_elem(&arr, sum_values, &ec, 0);
	ok &= ret == 6;
	add(7, ec.sum);
	add(8, ec.elems);

	/* hashes: their order is not the kernel's, so only what is order-free */
	__u32 key = len % 16;
	__u64 one = 1, *v = bpf_map_lookup_elem(&by_len, &key);
	if (v)
		*v += 1;
	else
		bpf_map_update_elem(&by_len, &key, &one, BPF_ANY);
	ec = (struct each_ctx){ .stop_key = ~0u };
	ret = bpf_for_each_map_elem(&by_len, sum_values, &ec, 0);
	add(9, ec.sum);      /* the packets so far */
	add(10, ret);        /* the lengths seen so far, mod 16 */
	add(10, ec.elems);
	ec = (struct each_ctx){};
	ret = bpf_for_each_map_elem(&by_len, stop_first, &ec, 0);
	ok &= ret == 1;
	ret = bpf_for_each_map_elem(&by_len, stop_first, &ec, 2);
	ok &= ret == -EINVAL;
	add(11, ec.elems);   /* one call back, none for the refusal */

	__u64 zero = 0;
	bpf_map_update_elem(&lru, &key, &zero, BPF_NOEXIST);
	ec = (struct each_ctx){ .stop_key = ~0u, .bump = 1 };
	ret = bpf_for_each_map_elem(&lru, sum_values, &ec, 0);
	add(12, ret);
	add(13, ec.sum);     /* each value counts the packets after its first */

	/* per-CPU maps: this CPU's slots, set in this run */
	for (__u32 k = 0; k < 4; k++) {
		__u64 *p = bpf_map_lookup_elem(&pcpu_arr, &k);
		if (p)
			*p = k + len;
	}
	ec = (struct each_ctx){ .stop_key = ~0u };
	ret = bpf_for_each_map_elem(&pcpu_arr, sum_values, &ec, 0);
	ok &= ret == 4;
	add(14, ec.sum - 4 * (__u64)len);   /* 0 + 1 + 2 + 3 a packet */

	__u32 pkey = len % 4;
	__u64 plen = len;
	bpf_map_update_elem(&pcpu_hash, &pkey, &plen, BPF_ANY);
	ec = (struct each_ctx){ .stop_key = ~0u };
	ret = bpf_for_each_map_elem(&pcpu_hash, sum_values, &ec, 0);
	add(15, ret);
	bpf_map_update_elem(&lru_pcpu, &key, &plen, BPF_ANY);
	ec = (struct each_ctx){ .stop_key = ~0u };
	ret = bpf_for_each_map_elem(&lru_pcpu, sum_values, &ec, 0);
	add(15, ret);
	add(15, ec.elems);
	return ok ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
