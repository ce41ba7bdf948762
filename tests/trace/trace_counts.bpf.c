/* trace_counts.bpf.c - the programs of `bpfvm trace`'s tests: trace_work()
 * of tests/trace/trace_target.c counted at entry and return with its
 * arguments and results, getppid counted at every syscall hook kind, a
 * log2 histogram of the first argument, and one ring buffer record per
 * return (pid, result). */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define NR_GETPPID 110

enum { ENTRIES, RETURNS, ARG_SUM, RET_SUM, TP_ENTER, TP_EXIT, KSYSCALL, KRETSYSCALL, RAW_ENTER, RAW_TP_ENTER, SLOTS };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} arg_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} events SEC(".maps");

struct event {
	__u32 pid;
	__u32 pad;
	__s64 ret;
};

static void bump(__u32 slot, __u64 by)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &slot);
	if (v)
		__sync_fetch_and_add(v, by);
}

static __u32 log2_slot(__u64 v)
{
	__u32 s = 0;
	for (int i = 0; i < 63 && v > 1; i++) {
		v >>= 1;
		s++;
	}
	return s;
}

SEC("uprobe/trace_target:trace_work")
int BPF_KPROBE(work_enter, long a, long b)
{
	bump(ENTRIES, 1);
	bump(ARG_SUM, a);
	__u32 slot = log2_slot(a);
	__u64 *h = bpf_map_lookup_elem(&arg_hist, &slot);
	if (h)
		__sync_fetch_and_add(h, 1);
	return 0;
}

SEC("uretprobe/trace_target:trace_work")
int BPF_KRETPROBE(work_exit, long ret)
{
	bump(RETURNS, 1);
	bump(RET_SUM, ret);
	struct event *e = bpf_ringbuf_reserve(&events, sizeof *e, 0);
	if (e) {
		e->pid = bpf_get_current_pid_tgid() >> 32;
		e->pad = 0;
		e->ret = ret;
		bpf_ringbuf_submit(e, 0);
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int tp_enter(void *ctx)
{
	bump(TP_ENTER, 1);
	return 0;
}

struct sys_exit_record {
	__u64 common;
	long id;
	long ret;
};

SEC("tracepoint/syscalls/sys_exit_getppid")
int tp_exit(struct sys_exit_record *ctx)
{
	if (ctx->ret > 0)
		bump(TP_EXIT, 1);
	return 0;
}

/* BPF_KSYSCALL of a syscall without arguments leaves its regs unused */
#pragma clang diagnostic ignored "-Wunused-variable"
SEC("ksyscall/getppid")
int BPF_KSYSCALL(ks_getppid)
{
	bump(KSYSCALL, 1);
	return 0;
}

SEC("kretsyscall/getppid")
int BPF_KRETPROBE(kret_getppid, long ret)
{
	if (ret > 0)
		bump(KRETSYSCALL, 1);
	return 0;
}

struct raw_enter_record {
	__u64 common;
	long id;
	unsigned long args[6];
};

SEC("tracepoint/raw_syscalls/sys_enter")
int raw_enter(struct raw_enter_record *ctx)
{
	if (ctx->id == NR_GETPPID)
		bump(RAW_ENTER, 1);
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int raw_tp_enter(struct bpf_raw_tracepoint_args *ctx)
{
	if (ctx->args[1] == NR_GETPPID)
		bump(RAW_TP_ENTER, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
