/* trace_perf.bpf.c - a perf event array, which `bpfvm trace` refuses
 * with a message (its rings are per process; a ring buffer is shared). */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, 4);
	__uint(value_size, 4);
} samples SEC(".maps");

SEC("uprobe/trace_target:trace_work")
int sample(struct pt_regs *ctx)
{
	long a = ctx->rdi;
	bpf_perf_event_output(ctx, &samples, BPF_F_CURRENT_CPU, &a, sizeof a);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
