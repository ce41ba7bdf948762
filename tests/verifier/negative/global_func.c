// Negative suite (tests/verifier/README.md): global (non-static)
// functions, as the kernel 6.18 verifies them: a global function is walked
// once, on its own, its arguments typed by its BTF prototype (a number, the
// context, a pointer to memory of the pointed type's size that may be NULL
// unless tagged arg:nonnull), and a call to it checks only that the
// caller's arguments fit those types; it returns an unknown number.  So a
// global function unsafe on its own is rejected even where every caller
// passes what would make it safe.  test_verifier_gaps compares bpfvm's
// verdicts and processed instructions with the kernel's.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#define __global __attribute__((noinline))
#define __nonnull __attribute__((btf_decl_tag("arg:nonnull")))
#define __ctx __attribute__((btf_decl_tag("arg:ctx")))

struct pair {
	long a, b;
};

struct big {
	long v[8];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct pair);
} pairs SEC(".maps");

volatile int sink;

__global int sum3(int a, int b, int c)
{
	return a * 3 + b * 2 + c;
}

// A number in, a number out; the caller's r0 is unknown after the call.
// expect scalar_args: accept
SEC("socket")
int scalar_args(struct __sk_buff *skb)
{
	return sum3(skb->len, 2, 3) & 1;
}

// The caller's r0 is unknown after the call, whatever the function returns:
// using it as a stack offset is refused.
// expect result_unknown: reject "invalid variable-offset read from stack"
SEC("socket")
int result_unknown(struct __sk_buff *skb)
{
	char buf[16] = {};
	int i = sum3(1, 2, 3);
	return buf[i & 0xff];
}

__global int ctx_len(struct __sk_buff *skb)
{
	return skb->len;
}

// A pointer to struct __sk_buff is the context.
// expect ctx_arg: accept
SEC("socket")
int ctx_arg(struct __sk_buff *skb)
{
	return ctx_len(skb) > 100;
}

__global int ctx_tagged(void *ctx __ctx)
{
	return ((struct __sk_buff *)ctx)->protocol;
}

// `void *` tagged arg:ctx is the context too.
// expect ctx_tag: accept
SEC("tc")
int ctx_tag(struct __sk_buff *skb)
{
	return ctx_tagged(skb) == 8 ? TC_ACT_OK : TC_ACT_SHOT;
}

__global int read_checked(struct pair *p)
{
	if (!p)
		return 0;
	return p->a + p->b;
}

// A pointer argument may be NULL: the function checks.
// expect mem_checked: accept
SEC("socket")
int mem_checked(struct __sk_buff *skb)
{
	struct pair p = { skb->len, 1 };
	return read_checked(&p) + read_checked(0) > 7;
}

// A map value that may be NULL may be passed: the function checks.
// expect mem_maybe_null_passed: accept
SEC("socket")
int mem_maybe_null_passed(struct __sk_buff *skb)
{
	__u32 k = 0;
	return read_checked(bpf_map_lookup_elem(&pairs, &k)) > 7;
}

__global int read_unchecked(struct pair *p)
{
	return p->a + p->b;
}

// The function reads without checking for NULL: unsafe on its own, so
// refused although the caller passes its stack.
// expect mem_unchecked: reject "invalid mem access 'mem_or_null'"
SEC("socket")
int mem_unchecked(struct __sk_buff *skb)
{
	struct pair p = { skb->len, 1 };
	return read_unchecked(&p) > 7;
}

__global int read_nonnull(struct pair *p __nonnull)
{
	return p->a + p->b;
}

// Tagged arg:nonnull, the function needs no check; the caller passes its stack.
// expect mem_nonnull: accept
SEC("socket")
int mem_nonnull(struct __sk_buff *skb)
{
	struct pair p = { skb->len, 1 };
	return read_nonnull(&p) > 7;
}

// A map value that may be NULL does not fit arg:nonnull.
// expect mem_nonnull_maybe_null: reject "Caller passes invalid args into func#1 ('read_nonnull')"
SEC("socket")
int mem_nonnull_maybe_null(struct __sk_buff *skb)
{
	__u32 k = 0;
	return read_nonnull(bpf_map_lookup_elem(&pairs, &k)) > 7;
}

__global int first_of_big(struct big *b)
{
	return b ? b->v[7] : 0;
}

// 16 bytes of stack where the prototype says 64.
// expect mem_too_small: reject "Caller passes invalid args into func#1 ('first_of_big')"
SEC("socket")
int mem_too_small(struct __sk_buff *skb)
{
	struct pair p = { skb->len, 1 };
	return first_of_big((struct big *)&p) > 7;
}

// A pointer where the prototype says a number.
// expect ptr_for_scalar: reject "Caller passes invalid args into func#1 ('sum3')"
SEC("socket")
int ptr_for_scalar(struct __sk_buff *skb)
{
	struct pair p = { skb->len, 1 };
	return sum3((long)&p, 1, 2) > 7;
}

__global int sum_of_two(struct pair *p, struct pair *q)
{
	return read_checked(p) + read_checked(q);
}

// A global function calling another: each walked once.
// expect nested_globals: accept
SEC("socket")
int nested_globals(struct __sk_buff *skb)
{
	struct pair p = { skb->len, 1 }, q = { 2, 3 };
	return sum_of_two(&p, &q) + sum_of_two(&q, &p) + sum_of_two(0, &q) > 7;
}

// The kernel's global function walked once whatever the number of calls.
// expect many_calls: accept
SEC("socket")
int many_calls(struct __sk_buff *skb)
{
	int n = skb->len;
	n = sum3(n, 1, 2);
	n = sum3(n, 3, 4);
	n = sum3(n, 5, 6);
	return n & 1;
}

__global int pull(struct xdp_md *xdp)
{
	return bpf_xdp_adjust_head(xdp, 0);
}

__global int no_pull(struct xdp_md *xdp)
{
	return xdp->data_end - xdp->data > 14;
}

// A global function calling a helper that may move the packet: the
// caller's packet pointers are gone after the call.
// expect pkt_after_pull: reject "invalid mem access 'scalar'"
SEC("xdp")
int pkt_after_pull(struct xdp_md *xdp)
{
	void *data = (void *)(long)xdp->data, *end = (void *)(long)xdp->data_end;
	if (data + 14 > end)
		return XDP_DROP;
	pull(xdp);
	return *(volatile char *)data ? XDP_PASS : XDP_DROP;
}

// The twin: the function calls no such helper; the pointers stay.
// expect pkt_after_no_pull: accept
SEC("xdp")
int pkt_after_no_pull(struct xdp_md *xdp)
{
	void *data = (void *)(long)xdp->data, *end = (void *)(long)xdp->data_end;
	if (data + 14 > end)
		return XDP_DROP;
	no_pull(xdp);
	return *(volatile char *)data ? XDP_PASS : XDP_DROP;
}

__global void store_len(struct __sk_buff *skb, int *out)
{
	if (out)
		*out = skb->len;
}

// A function returning void: the kernel 6.18 takes only numbers back.
// expect void_global: reject "Caller passes invalid args into func#1 ('store_len')"
SEC("socket")
int void_global(struct __sk_buff *skb)
{
	int n = 0;
	store_len(skb, &n);
	return n > 7;
}

__global int leak_ctx(struct __sk_buff *skb)
{
	return (long)skb;
}

// A global function returns a number, never a pointer.
// expect returns_pointer: reject "At subprogram exit the register R0 is not a scalar value (ctx)"
SEC("socket")
int returns_pointer(struct __sk_buff *skb)
{
	return leak_ctx(skb) & 1;
}

__global int first_byte(void *p)
{
	return p ? *(char *)p : 0;
}

// `void *` has no size: the prototype cannot be used.
// expect void_pointer_arg: reject "Caller passes invalid args into func#1 ('first_byte')"
SEC("socket")
int void_pointer_arg(struct __sk_buff *skb)
{
	long v = skb->len;
	return first_byte(&v) > 7;
}

// The stack where the prototype says the context.
// expect stack_for_ctx: reject "Caller passes invalid args into func#1 ('ctx_len')"
SEC("socket")
int stack_for_ctx(struct __sk_buff *skb)
{
	long v[8] = { skb->len };
	return ctx_len((struct __sk_buff *)v) > 7;
}

__attribute__((noinline, visibility("hidden"))) int hidden_read(struct pair *p)
{
	return p->a + p->b;
}

// A hidden global function is static to the kernel (libbpf marks its FUNC
// static): walked with its caller's state, which passes its stack.
// expect hidden_is_static: accept
SEC("socket")
int hidden_is_static(struct __sk_buff *skb)
{
	struct pair p = { skb->len, 1 };
	return hidden_read(&p) > 7;
}

__global int ctx_tag_pair(struct pair *ctx __ctx)
{
	return ctx ? 1 : 0;
}

// arg:ctx on a pointer to neither `void` nor the context's struct.
// expect ctx_tag_wrong_type: reject "Caller passes invalid args into func#1 ('ctx_tag_pair')"
SEC("socket")
int ctx_tag_wrong_type(struct __sk_buff *skb)
{
	return ctx_tag_pair((struct pair *)skb);
}

__global int raw_tp_first_arg(__u64 *ctx __ctx)
{
	return ctx[0] > 100;
}

// A raw tracepoint's context is an array of u64 arguments: `u64 *` tagged
// arg:ctx is the context.
// expect ctx_tag_u64: accept
SEC("raw_tp/sys_enter")
int ctx_tag_u64(struct bpf_raw_tracepoint_args *args)
{
	return raw_tp_first_arg((__u64 *)args);
}

static int adjust_head(__u32 i, void *ctx)
{
	bpf_xdp_adjust_head(ctx, 0);
	return 1;
}

__global int pull_in_loop(struct xdp_md *xdp)
{
	bpf_loop(1, adjust_head, xdp, 0);
	return 0;
}

// The helper that moves the packet is called by a callback of the global
// function: the caller's packet pointers are gone all the same.
// expect pkt_after_callback_pull: reject "invalid mem access 'scalar'"
SEC("xdp")
int pkt_after_callback_pull(struct xdp_md *xdp)
{
	void *data = (void *)(long)xdp->data, *end = (void *)(long)xdp->data_end;
	if (data + 14 > end)
		return XDP_DROP;
	pull_in_loop(xdp);
	return *(volatile char *)data ? XDP_PASS : XDP_DROP;
}

// Packet bytes checked as long as the pointed type are memory a global
// function may take.
// expect pkt_as_mem: accept
SEC("xdp")
int pkt_as_mem(struct xdp_md *xdp)
{
	void *data = (void *)(long)xdp->data, *end = (void *)(long)xdp->data_end;
	if (data + sizeof(struct pair) > end)
		return XDP_DROP;
	return read_checked(data) > 7 ? XDP_PASS : XDP_DROP;
}

// Only 8 of the 16 bytes checked.
// expect pkt_as_mem_short: reject "Caller passes invalid args into func#1 ('read_checked')"
SEC("xdp")
int pkt_as_mem_short(struct xdp_md *xdp)
{
	void *data = (void *)(long)xdp->data, *end = (void *)(long)xdp->data_end;
	if (data + 8 > end)
		return XDP_DROP;
	return read_checked(data) > 7 ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
