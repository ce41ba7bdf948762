/* trace_multi.bpf.c - uprobe.multi programs of tests/cli_trace_multi.sh
 * over tests/trace/multi_target.c's work_* functions: calls counted by
 * bpf_get_func_ip (each function's address) with the first argument
 * summed, results summed at return (PT_REGS_RC), a '?' pattern and a
 * sleepable exact name, attach cookies (0: a section gives none), and
 * libc's str*len in a real command. */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define BY_IP(NAME)                            \
	struct {                               \
		__uint(type, BPF_MAP_TYPE_HASH); \
		__uint(max_entries, 64);       \
		__type(key, __u64);            \
		__type(value, __u64);          \
	} NAME SEC(".maps")

BY_IP(calls);       /* entries by function */
BY_IP(args);        /* the first arguments' sum by function */
BY_IP(rets);        /* the results' sum by function */
BY_IP(returns);     /* returns by function */
BY_IP(calls_q);     /* entries by function, pattern work_? */
BY_IP(calls_s);     /* entries by function, sleepable, work_c */
BY_IP(libc_calls);  /* entries by function, libc's str*len */
BY_IP(cookies);     /* key 0: calls whose attach cookie was not 0 */

static void add(void *map, __u64 key, __u64 by)
{
	__u64 *v = bpf_map_lookup_elem(map, &key);
	if (v) {
		__sync_fetch_and_add(v, by);
		return;
	}
	if (bpf_map_update_elem(map, &key, &by, BPF_NOEXIST) == 0)
		return;
	v = bpf_map_lookup_elem(map, &key);   /* another thread made it first */
	if (v)
		__sync_fetch_and_add(v, by);
}

SEC("uprobe.multi/multi_target:work_*")
int count_entry(struct pt_regs *ctx)
{
	__u64 ip = bpf_get_func_ip(ctx);
	add(&calls, ip, 1);
	add(&args, ip, PT_REGS_PARM1(ctx));
	if (bpf_get_attach_cookie(ctx))
		add(&cookies, 0, 1);
	return 0;
}

SEC("uretprobe.multi/multi_target:work_*")
int sum_return(struct pt_regs *ctx)
{
	__u64 ip = bpf_get_func_ip(ctx);
	add(&returns, ip, 1);
	add(&rets, ip, PT_REGS_RC(ctx));
	return 0;
}

SEC("uprobe.multi/multi_target:work_?")
int count_one_char(struct pt_regs *ctx)
{
	add(&calls_q, bpf_get_func_ip(ctx), 1);
	return 0;
}

SEC("uprobe.multi.s/multi_target:work_c")
int count_sleepable(struct pt_regs *ctx)
{
	add(&calls_s, bpf_get_func_ip(ctx), 1);
	return 0;
}

SEC("uprobe.multi/libc:str*len")
int count_libc(struct pt_regs *ctx)
{
	add(&libc_calls, bpf_get_func_ip(ctx), 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
