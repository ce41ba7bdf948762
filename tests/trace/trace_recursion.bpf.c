/* trace_recursion.bpf.c - a program that re-enters its own probe: at
 * getpid's entry it asks for its pid (bpf_get_current_pid_tgid, which
 * calls getpid() in the traced process), so every run meets its own probe
 * once more on the same thread.  That event is skipped and counted as a
 * recursion miss, as the kernel's prog->active does; the program's count
 * of its runs sees only the runs that were not skipped. */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} runs SEC(".maps");

SEC("uprobe/libc:getpid")
int getpid_enter(struct pt_regs *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&runs, &key);
	if (v && bpf_get_current_pid_tgid() >> 32)
		__sync_fetch_and_add(v, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
