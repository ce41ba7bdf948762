/* trace_displaced_call.bpf.c - a stack taken in a function called from
 * among a probe's displaced instructions (tests/cli_trace_displaced.sh):
 * nest_caller's first instruction calls nest_leaf, and nest_caller's
 * probe moves that call into its trampoline, so the return address the
 * call pushes lies there; bpf_get_stack and bpf_get_stackid must show
 * the return into nest_caller itself, as the kernel's uprobes (which
 * emulate the call) do. */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} frames SEC(".maps");   /* 0: the walk's return into the caller; 1: nest_caller's entries; 2: the stack id */

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 2 * sizeof(__u64));
} stacks SEC(".maps");

SEC("uprobe/multi_target:nest_leaf")
int leaf_enter(struct pt_regs *ctx)
{
	__u64 ips[2] = { 0 };
	if (bpf_get_stack(ctx, ips, sizeof ips, BPF_F_USER_STACK) != sizeof ips)
		return 0;
	__u32 k0 = 0, k2 = 2;
	bpf_map_update_elem(&frames, &k0, &ips[1], BPF_ANY);
	__u64 id = (__u64)bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	bpf_map_update_elem(&frames, &k2, &id, BPF_ANY);
	return 0;
}

SEC("uprobe/multi_target:nest_caller")
int caller_enter(struct pt_regs *ctx)
{
	__u32 k = 1;
	__u64 *n = bpf_map_lookup_elem(&frames, &k);
	if (n)
		__sync_fetch_and_add(n, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
