// Negative suite (tests/verifier/README.md): bpf_loop inside a bpf_loop
// callback, which the kernel accepts (a callback's iterations are not an
// endless loop), and the same nesting with an inner callback returning 2.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static int inner_cb(__u32 i, void *ctx)
{
	(*(long *)ctx)++;
	return 0;
}

static int outer_cb(__u32 i, void *ctx)
{
	bpf_loop(4, inner_cb, ctx, 0);
	return 0;
}

// expect nested_bpf_loop: accept
SEC("socket")
int nested_bpf_loop(struct __sk_buff *skb)
{
	long n = 0;
	bpf_loop(3, outer_cb, &n, 0);
	return n;
}

static int bad_inner_cb(__u32 i, void *ctx)
{
	return 2;
}

static int bad_outer_cb(__u32 i, void *ctx)
{
	bpf_loop(4, bad_inner_cb, ctx, 0);
	return 0;
}

// expect nested_bpf_loop_bad_return: reject "should have been in [0, 1]"
SEC("socket")
int nested_bpf_loop_bad_return(struct __sk_buff *skb)
{
	long n = 0;
	bpf_loop(3, bad_outer_cb, &n, 0);
	return n;
}

char _license[] SEC("license") = "GPL";
