/* trace_libc.bpf.c - probes in a library named as libbpf allows: getppid
 * of the C library by its short name ("libc") at entry and by its file
 * name ("libc.so.6") at return. */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} libc_calls SEC(".maps");

static void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&libc_calls, &slot);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("uprobe/libc:getppid")
int getppid_enter(struct pt_regs *ctx)
{
	bump(0);
	return 0;
}

SEC("uretprobe/libc.so.6:getppid")
int BPF_KRETPROBE(getppid_exit, long ret)
{
	if (ret > 0)
		bump(1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
