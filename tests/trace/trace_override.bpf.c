/* trace_override.bpf.c - the tracing context an entry probe's program
 * gets: bpf_override_return makes trace_work() return 1 without running,
 * bpf_get_func_ip gives its address (kept in `func_ip`). */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} func_ip SEC(".maps");

SEC("uprobe/trace_target:trace_work")
int override_work(struct pt_regs *ctx)
{
	__u32 k = 0;
	__u64 ip = bpf_get_func_ip(ctx);
	bpf_map_update_elem(&func_ip, &k, &ip, BPF_ANY);
	bpf_override_return(ctx, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
