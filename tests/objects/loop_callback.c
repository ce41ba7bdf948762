/* loop_callback.c - loader test object: bpf_loop and
 * bpf_for_each_map_elem with static callbacks, which clang references
 * through ld_imm64 (BPF_PSEUDO_FUNC). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} values SEC(".maps");

struct loop_ctx {
	__u64 sum;
};

static int add_index(__u32 index, void *data)
{
	struct loop_ctx *c = data;
	c->sum += index;
	return 0;
}

static __u64 add_value(void *map, __u32 *key, __u64 *val, struct loop_ctx *c)
{
	c->sum += *val;
	return 0;
}

/* A subprogram that itself passes a callback: the reference is relocated
 * inside the appended copy. */
static __noinline __u64 nested_loop(__u32 n)
{
	struct loop_ctx c = {};
	bpf_loop(n, add_index, &c, 0);
	return c.sum;
}

SEC("xdp")
int loop_prog(struct xdp_md *ctx)
{
	struct loop_ctx c = {};
	bpf_loop(10, add_index, &c, 0);
	bpf_for_each_map_elem(&values, add_value, &c, 0);
	c.sum += nested_loop(ctx->rx_queue_index & 7);
	return c.sum > 100 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
