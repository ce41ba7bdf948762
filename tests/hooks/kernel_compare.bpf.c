/* kernel_compare.bpf.c - the object tests/hooks/kernel_compare.sh attaches
 * once in the kernel (kernel_compare_load.c) and once with `bpfvm trace`
 * to tests/hooks/kernel_compare_target.c, whose maps must then be equal.
 *
 * Only what happens between the target's marker calls counts: the probe on
 * kc_marker_start records the caller's tgid in `active`, the one on
 * kc_marker_stop clears it, and every other program counts only in that
 * tgid while it is recorded (the kernel sees every process's write()s and
 * the target's start-up; bpfvm sees neither). */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

enum { CALLS, RETURNS, ARG_SUM, RET_SUM, WRITES, WRITE_EXITS, WRITE_BYTES, TOTAL_SLOTS };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TOTAL_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} totals SEC(".maps");

/* log2 buckets: of kc_work's first argument, of its result */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} arg_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} ret_hist SEC(".maps");

/* write()s by log2 bucket of their count: only the buckets seen */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} write_hist SEC(".maps");

static __u32 log2_bucket(__u64 v)
{
	__u32 b = 0;
	for (int i = 0; i < 63 && v > 1; i++) {
		v >>= 1;
		b++;
	}
	return b;
}

/* The caller is the target, between its markers. */
static int in_window(void)
{
	__u32 zero = 0;
	__u64 *tgid = bpf_map_lookup_elem(&active, &zero);
	return tgid && *tgid && *tgid == bpf_get_current_pid_tgid() >> 32;
}

static void add(void *map, __u32 key, __u64 by)
{
	__u64 *v = bpf_map_lookup_elem(map, &key);
	if (v)
		__sync_fetch_and_add(v, by);
}

static void set_active(__u64 tgid)
{
	__u32 zero = 0;
	bpf_map_update_elem(&active, &zero, &tgid, BPF_ANY);
}

SEC("uprobe/kernel_compare_target:kc_marker_start")
int BPF_KPROBE(marker_start)
{
	set_active(bpf_get_current_pid_tgid() >> 32);
	return 0;
}

SEC("uprobe/kernel_compare_target:kc_marker_stop")
int BPF_KPROBE(marker_stop)
{
	if (in_window())
		set_active(0);
	return 0;
}

SEC("uprobe/kernel_compare_target:kc_work")
int BPF_KPROBE(work_enter, __u64 size, __u64 salt)
{
	if (!in_window())
		return 0;
	add(&totals, CALLS, 1);
	add(&totals, ARG_SUM, size);
	add(&arg_hist, log2_bucket(size), 1);
	return 0;
}

SEC("uretprobe/kernel_compare_target:kc_work")
int BPF_KRETPROBE(work_exit, __u64 ret)
{
	if (!in_window())
		return 0;
	add(&totals, RETURNS, 1);
	add(&totals, RET_SUM, ret);
	add(&ret_hist, log2_bucket(ret), 1);
	return 0;
}

/* The records as tracefs's format files lay them out. */
struct sys_enter_write_record {
	__u64 common;
	int nr;
	__u64 fd;
	__u64 buf;
	__u64 count;
};

struct sys_exit_record {
	__u64 common;
	int nr;
	long ret;
};

SEC("tracepoint/syscalls/sys_enter_write")
int write_enter(struct sys_enter_write_record *ctx)
{
	if (!in_window())
		return 0;
	add(&totals, WRITES, 1);
	__u32 bucket = log2_bucket(ctx->count);
	__u64 one = 1, *n = bpf_map_lookup_elem(&write_hist, &bucket);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&write_hist, &bucket, &one, BPF_NOEXIST);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_write")
int write_exit(struct sys_exit_record *ctx)
{
	if (!in_window())
		return 0;
	add(&totals, WRITE_EXITS, 1);
	if (ctx->ret > 0)
		add(&totals, WRITE_BYTES, ctx->ret);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
