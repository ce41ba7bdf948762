/* usdt_args.c - test object of test_usdt: at a USDT site, records what
 * libbpf's usdt.bpf.h reads there (the argument count, every argument
 * through bpf_usdt_arg and its error, the spec's cookie) into a map. */
#define __TARGET_ARCH_x86
#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

struct usdt_seen {
	long hits;
	long arg_cnt;
	long cookie;
	long args[BPF_USDT_MAX_ARG_CNT];
	long errors[BPF_USDT_MAX_ARG_CNT];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, int);
	__type(value, struct usdt_seen);
} seen SEC(".maps");

SEC("usdt")
int record_args(struct pt_regs *ctx)
{
	int zero = 0;
	struct usdt_seen *s = bpf_map_lookup_elem(&seen, &zero);
	if (!s)
		return 0;
	s->hits++;
	s->arg_cnt = bpf_usdt_arg_cnt(ctx);
	s->cookie = bpf_usdt_cookie(ctx);
	for (int i = 0; i < BPF_USDT_MAX_ARG_CNT; i++)
		s->errors[i] = bpf_usdt_arg(ctx, i, &s->args[i]);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
