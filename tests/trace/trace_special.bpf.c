/* trace_special.bpf.c - every syscall counted by number at
 * raw_syscalls' sys_enter and sys_exit, and the sys_exit events that
 * returned 0 (a new thread's or child's clone, fork or vfork). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define NR_SLOTS 512

struct counts_by_nr {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
};
struct counts_by_nr enters SEC(".maps"), exits SEC(".maps"), zero_exits SEC(".maps");

struct raw_enter_record {
	__u64 common;
	long id;
	unsigned long args[6];
};

struct raw_exit_record {
	__u64 common;
	long id;
	long ret;
};

static void bump(void *map, long nr)
{
	__u32 key = (__u32)nr;
	if (nr < 0 || nr >= NR_SLOTS)
		return;
	__u64 *v = bpf_map_lookup_elem(map, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("tracepoint/raw_syscalls/sys_enter")
int count_enter(struct raw_enter_record *ctx)
{
	bump(&enters, ctx->id);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int count_exit(struct raw_exit_record *ctx)
{
	bump(&exits, ctx->id);
	if (ctx->ret == 0)
		bump(&zero_exits, ctx->id);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
