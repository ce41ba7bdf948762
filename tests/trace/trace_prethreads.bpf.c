/* trace_prethreads.bpf.c - the programs of tests/cli_trace_prethreads.sh:
 * tiny_work() of tests/trace/prethreads_target.c (an int3 probe) and
 * getppid's entry and exit (the SIGSYS path there) counted, with a
 * helper that reads the tracing context (bpf_get_func_ip) and one that
 * keeps per-thread state (bpf_get_prandom_u32) on the way. */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

enum { TINY, TINY_IP_SET, ENTER, EXIT, SLOTS };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &slot);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("uprobe/prethreads_target:tiny_work")
int BPF_KPROBE(tiny_enter, long i)
{
	bump(TINY);
	if (bpf_get_func_ip(ctx) != 0)
		bump(TINY_IP_SET);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int getppid_enter(void *ctx)
{
	bump(ENTER);
	return bpf_get_prandom_u32() & 0;
}

SEC("tracepoint/syscalls/sys_exit_getppid")
int getppid_exit(void *ctx)
{
	bump(EXIT);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
