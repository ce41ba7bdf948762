/* subprogs.c - loader test object: static and global noinline functions in
 * .text, called (some transitively) from two programs in different
 * sections; a subprogram that uses a map and global data. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

__u64 calls;

static __noinline __u64 bump(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&hits, &idx);
	calls++;
	if (!v)
		return 0;
	return ++*v;
}

static __noinline int square(int x)
{
	return x * x;
}

static __noinline int sum_of_squares(int a, int b)
{
	return square(a) + square(b);
}

__noinline int global_helper(int x)
{
	return x + (int)bump(1);
}

/* Mutual recursion (never taken at run time: the verifier would refuse
 * it, but the loader must append each function once and stop). */
static __noinline int pong(int n);
static __noinline int ping(int n)
{
	return n <= 0 ? 0 : pong(n - 1) + 1;
}
static __noinline int pong(int n)
{
	return n <= 0 ? 0 : ping(n - 2) + 2;
}

/* A weak global function: libbpf treats it like any global subprogram. */
__attribute__((weak)) __noinline int weak_helper(int x)
{
	return x - 1;
}

SEC("xdp")
int xdp_main(struct xdp_md *ctx)
{
	int r = sum_of_squares(ctx->ingress_ifindex, 3);
	r += global_helper(r);
	bump(0);
	r += weak_helper(r);
	if (r == 12345)
		r += ping(r);
	return r & 3;
}

SEC("socket")
int sock_main(struct __sk_buff *skb)
{
	return square(skb->len) + (int)bump(1);
}

char LICENSE[] SEC("license") = "GPL";
