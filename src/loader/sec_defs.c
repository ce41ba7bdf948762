/*
 * sec_defs.c - program type and expected attach type from the section
 * name, by libbpf 1.1's SEC() conventions (its section_defs[] table, in
 * the same order, matched the same way), plus bpfvm's own "bpfvm" and
 * "bpfvm/NAME" for raw-memory programs.
 *
 * Matching, as libbpf's sec_def_matches():
 *   "name"   the section is exactly "name";
 *   "name+"  exactly "name", or "name/anything";
 *   "name/"  "name/anything" (unused in 1.1's table).
 * The first entry that matches wins.  An unknown section is not an error:
 * the program gets BPF_PROG_TYPE_UNSPEC, as libbpf leaves it.
 *
 * The uprobe.multi entries are libbpf 1.3's (after kretprobe.multi, in
 * its order), so an object written for a newer libbpf loads with the
 * attach type the kernel verifies it with.
 *
 * The sections libbpf marks SEC_SLEEPABLE (the ".s" ones and "syscall")
 * load their programs with BPF_F_SLEEPABLE, which the verifier's rules
 * depend on: the entry says so.
 */
#include <string.h>
#include <linux/bpf.h>

#include "loader/loader.h"

struct sec_def {
	const char *sec;
	uint32_t prog_type;
	uint32_t attach_type;
	bool sleepable;     /* libbpf's SEC_SLEEPABLE */
};

/* after BPF_LSM_CGROUP, the last the 6.1 headers have: STRUCT_OPS,
 * NETFILTER, TCX_INGRESS, TCX_EGRESS, then UPROBE_MULTI */
_Static_assert(BPF_LSM_CGROUP + 5 == BPFVM_TRACE_UPROBE_MULTI, "the kernel's BPF_TRACE_UPROBE_MULTI");

#define DEF(sec, type, attach) { sec, BPF_PROG_TYPE_##type, attach, false }
#define DEF_SLEEPABLE(sec, type, attach) { sec, BPF_PROG_TYPE_##type, attach, true }

static const struct sec_def sec_defs[] = {
	/* bpfvm's own, first so no libbpf entry can shadow it. */
	{ "bpfvm+", BPFVM_PROG_TYPE_RAW_MEMORY, 0, false },

	DEF("socket", SOCKET_FILTER, 0),
	DEF("sk_reuseport/migrate", SK_REUSEPORT, BPF_SK_REUSEPORT_SELECT_OR_MIGRATE),
	DEF("sk_reuseport", SK_REUSEPORT, BPF_SK_REUSEPORT_SELECT),
	DEF("kprobe+", KPROBE, 0),
	DEF("uprobe+", KPROBE, 0),
	DEF_SLEEPABLE("uprobe.s+", KPROBE, 0),
	DEF("kretprobe+", KPROBE, 0),
	DEF("uretprobe+", KPROBE, 0),
	DEF_SLEEPABLE("uretprobe.s+", KPROBE, 0),
	DEF("kprobe.multi+", KPROBE, BPF_TRACE_KPROBE_MULTI),
	DEF("kretprobe.multi+", KPROBE, BPF_TRACE_KPROBE_MULTI),
	DEF("uprobe.multi+", KPROBE, BPFVM_TRACE_UPROBE_MULTI),
	DEF("uretprobe.multi+", KPROBE, BPFVM_TRACE_UPROBE_MULTI),
	DEF_SLEEPABLE("uprobe.multi.s+", KPROBE, BPFVM_TRACE_UPROBE_MULTI),
	DEF_SLEEPABLE("uretprobe.multi.s+", KPROBE, BPFVM_TRACE_UPROBE_MULTI),
	DEF("ksyscall+", KPROBE, 0),
	DEF("kretsyscall+", KPROBE, 0),
	DEF("usdt+", KPROBE, 0),
	DEF("tc", SCHED_CLS, 0),
	DEF("classifier", SCHED_CLS, 0),
	DEF("action", SCHED_ACT, 0),
	DEF("tracepoint+", TRACEPOINT, 0),
	DEF("tp+", TRACEPOINT, 0),
	DEF("raw_tracepoint+", RAW_TRACEPOINT, 0),
	DEF("raw_tp+", RAW_TRACEPOINT, 0),
	DEF("raw_tracepoint.w+", RAW_TRACEPOINT_WRITABLE, 0),
	DEF("raw_tp.w+", RAW_TRACEPOINT_WRITABLE, 0),
	DEF("tp_btf+", TRACING, BPF_TRACE_RAW_TP),
	DEF("fentry+", TRACING, BPF_TRACE_FENTRY),
	DEF("fmod_ret+", TRACING, BPF_MODIFY_RETURN),
	DEF("fexit+", TRACING, BPF_TRACE_FEXIT),
	DEF_SLEEPABLE("fentry.s+", TRACING, BPF_TRACE_FENTRY),
	DEF_SLEEPABLE("fmod_ret.s+", TRACING, BPF_MODIFY_RETURN),
	DEF_SLEEPABLE("fexit.s+", TRACING, BPF_TRACE_FEXIT),
	DEF("freplace+", EXT, 0),
	DEF("lsm+", LSM, BPF_LSM_MAC),
	DEF_SLEEPABLE("lsm.s+", LSM, BPF_LSM_MAC),
	DEF("lsm_cgroup+", LSM, BPF_LSM_CGROUP),
	DEF("iter+", TRACING, BPF_TRACE_ITER),
	DEF_SLEEPABLE("iter.s+", TRACING, BPF_TRACE_ITER),
	DEF_SLEEPABLE("syscall", SYSCALL, 0),
	DEF("xdp.frags/devmap", XDP, BPF_XDP_DEVMAP),
	DEF("xdp/devmap", XDP, BPF_XDP_DEVMAP),
	DEF("xdp.frags/cpumap", XDP, BPF_XDP_CPUMAP),
	DEF("xdp/cpumap", XDP, BPF_XDP_CPUMAP),
	DEF("xdp.frags", XDP, BPF_XDP),
	DEF("xdp", XDP, BPF_XDP),
	DEF("perf_event", PERF_EVENT, 0),
	DEF("lwt_in", LWT_IN, 0),
	DEF("lwt_out", LWT_OUT, 0),
	DEF("lwt_xmit", LWT_XMIT, 0),
	DEF("lwt_seg6local", LWT_SEG6LOCAL, 0),
	DEF("sockops", SOCK_OPS, BPF_CGROUP_SOCK_OPS),
	DEF("sk_skb/stream_parser", SK_SKB, BPF_SK_SKB_STREAM_PARSER),
	DEF("sk_skb/stream_verdict", SK_SKB, BPF_SK_SKB_STREAM_VERDICT),
	DEF("sk_skb", SK_SKB, 0),
	DEF("sk_msg", SK_MSG, BPF_SK_MSG_VERDICT),
	DEF("lirc_mode2", LIRC_MODE2, BPF_LIRC_MODE2),
	DEF("flow_dissector", FLOW_DISSECTOR, BPF_FLOW_DISSECTOR),
	DEF("cgroup_skb/ingress", CGROUP_SKB, BPF_CGROUP_INET_INGRESS),
	DEF("cgroup_skb/egress", CGROUP_SKB, BPF_CGROUP_INET_EGRESS),
	DEF("cgroup/skb", CGROUP_SKB, 0),
	DEF("cgroup/sock_create", CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE),
	DEF("cgroup/sock_release", CGROUP_SOCK, BPF_CGROUP_INET_SOCK_RELEASE),
	DEF("cgroup/sock", CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE),
	DEF("cgroup/post_bind4", CGROUP_SOCK, BPF_CGROUP_INET4_POST_BIND),
	DEF("cgroup/post_bind6", CGROUP_SOCK, BPF_CGROUP_INET6_POST_BIND),
	DEF("cgroup/bind4", CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_BIND),
	DEF("cgroup/bind6", CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_BIND),
	DEF("cgroup/connect4", CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT),
	DEF("cgroup/connect6", CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_CONNECT),
	DEF("cgroup/sendmsg4", CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_SENDMSG),
	DEF("cgroup/sendmsg6", CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_SENDMSG),
	DEF("cgroup/recvmsg4", CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_RECVMSG),
	DEF("cgroup/recvmsg6", CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_RECVMSG),
	DEF("cgroup/getpeername4", CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_GETPEERNAME),
	DEF("cgroup/getpeername6", CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_GETPEERNAME),
	DEF("cgroup/getsockname4", CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_GETSOCKNAME),
	DEF("cgroup/getsockname6", CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_GETSOCKNAME),
	DEF("cgroup/sysctl", CGROUP_SYSCTL, BPF_CGROUP_SYSCTL),
	DEF("cgroup/getsockopt", CGROUP_SOCKOPT, BPF_CGROUP_GETSOCKOPT),
	DEF("cgroup/setsockopt", CGROUP_SOCKOPT, BPF_CGROUP_SETSOCKOPT),
	DEF("cgroup/dev", CGROUP_DEVICE, BPF_CGROUP_DEVICE),
	DEF("struct_ops+", STRUCT_OPS, 0),
	DEF("sk_lookup", SK_LOOKUP, BPF_SK_LOOKUP),
};

/* On a match, *target is what follows "name/" for a "name+" entry. */
static bool sec_def_matches(const char *def, const char *sec, const char **target)
{
	size_t len = strlen(def);
	*target = NULL;
	if (def[len - 1] == '/')
		return strncmp(sec, def, len) == 0;
	if (def[len - 1] == '+') {
		len--;
		if (strncmp(sec, def, len) != 0)
			return false;
		if (sec[len] == '/')
			*target = sec + len + 1;
		return sec[len] == '\0' || sec[len] == '/';
	}
	return strcmp(sec, def) == 0;
}

void ldr_sec_def_lookup(const char *sec_name, struct ldr_sec_def_result *res)
{
	memset(res, 0, sizeof *res);
	for (size_t i = 0; i < sizeof sec_defs / sizeof sec_defs[0]; i++) {
		const char *target;
		if (!sec_def_matches(sec_defs[i].sec, sec_name, &target))
			continue;
		res->prog_type = sec_defs[i].prog_type;
		res->attach_type = sec_defs[i].attach_type;
		res->sleepable = sec_defs[i].sleepable;
		res->target = target;
		res->known = true;
		return;
	}
}
