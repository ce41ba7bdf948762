/* trace_recursion.bpf.c - programs whose own work would meet their hooks
 * again.  getpid_enter, at getpid's entry, asks for its pid
 * (bpf_get_current_pid_tgid, which calls getpid() in the traced process),
 * so every run meets its own probe once more on the same thread: that
 * event is skipped and counted as a recursion miss, as the kernel's
 * prog->active does, and the program's count of its runs sees only the
 * runs that were not skipped.  getppid_printk prints a line at every
 * getppid, a writev(2) to stderr made inside a syscall hook: the
 * interceptor reports no syscall of its handlers', so writev_enter never
 * runs for it (as in the kernel, where bpf_trace_printk makes no
 * syscall), and that is no miss either. */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

enum { GETPID_RUNS, GETPPID_RUNS, WRITEV_RUNS, SLOTS };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} runs SEC(".maps");

static void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&runs, &slot);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("uprobe/libc:getpid")
int getpid_enter(struct pt_regs *ctx)
{
	if (bpf_get_current_pid_tgid() >> 32)
		bump(GETPID_RUNS);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int getppid_printk(void *ctx)
{
	bump(GETPPID_RUNS);
	bpf_printk("getppid seen");
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_writev")
int writev_enter(void *ctx)
{
	bump(WRITEV_RUNS);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
