/* trace_usdt.bpf.c - a USDT probe attached by bpfvm trace: at every site
 * of trace_target's bpfvmtrace:step (TRACE_TARGET, the target's path, is
 * defined by the build), what libbpf's usdt.bpf.h reads there: the
 * arguments by bpf_usdt_arg, their count, the spec's cookie, and whether
 * bpf_get_func_ip is the site. */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

struct step {
	long a, b;
	long arg_cnt;
	long cookie;
	long ip_is_site;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, long);   /* the first argument */
	__type(value, struct step);
} steps SEC(".maps");

SEC("usdt/" TRACE_TARGET ":bpfvmtrace:step")
int step(struct pt_regs *ctx)
{
	long i = 0;
	struct step s = { 0 };
	if (bpf_usdt_arg(ctx, 0, &i) || bpf_usdt_arg(ctx, 1, &s.a) ||
	    bpf_usdt_arg(ctx, 2, &s.b))
		return 0;
	s.arg_cnt = bpf_usdt_arg_cnt(ctx);
	s.cookie = bpf_usdt_cookie(ctx);
	s.ip_is_site = bpf_get_func_ip(ctx) == PT_REGS_IP(ctx);
	bpf_map_update_elem(&steps, &i, &s, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
