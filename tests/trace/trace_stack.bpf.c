/* trace_stack.bpf.c - bpf_get_stack through a frame whose return address
 * a uretprobe swapped: at stack_inner's entry the user stack is the
 * function, the return into stack_outer, then stack_outer's return into
 * main -- which stack_outer's return probe keeps as its trampoline's
 * address while the call runs.  frames[0..2] keep the last walk. */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} frames SEC(".maps");   /* 0..2: the walk's addresses; 3: stack_outer's returns */

SEC("uprobe/trace_target:stack_inner")
int inner_enter(struct pt_regs *ctx)
{
	__u64 ips[3] = { 0 };
	if (bpf_get_stack(ctx, ips, sizeof ips, BPF_F_USER_STACK) != sizeof ips)
		return 0;
	__u32 k0 = 0, k1 = 1, k2 = 2;
	bpf_map_update_elem(&frames, &k0, &ips[0], BPF_ANY);
	bpf_map_update_elem(&frames, &k1, &ips[1], BPF_ANY);
	bpf_map_update_elem(&frames, &k2, &ips[2], BPF_ANY);
	return 0;
}

SEC("uretprobe/trace_target:stack_outer")
int outer_return(struct pt_regs *ctx)
{
	__u32 k = 3;
	__u64 *returns = bpf_map_lookup_elem(&frames, &k);
	if (returns)
		__sync_fetch_and_add(returns, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
