/* trace_multi_bad.bpf.c - uprobe.multi sections bpfvm trace refuses
 * (tests/cli_trace_multi.sh): a pattern nothing matches, a character
 * class (libbpf's glob has only '*' and '?'), no PATH:PATTERN, more
 * functions than the agent probes (every one of libc's). */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u64 hits;

SEC("uprobe.multi/multi_target:nomatch_*")
int no_match(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("uprobe.multi/multi_target:work_[ab]")
int bad_class(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("uretprobe.multi/multi_target")
int no_pattern(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("uprobe.multi/libc:*")
int too_many(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
