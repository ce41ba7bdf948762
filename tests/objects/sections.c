/* sections.c - loader test object: one program in each of the section
 * kinds libbpf knows and bpfvm cares about, so program types, expected
 * attach types and attach targets can be checked against libbpf. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp") int p_xdp(struct xdp_md *ctx) { return XDP_PASS; }
SEC("socket") int p_socket(struct __sk_buff *skb) { return 0; }
SEC("tc") int p_tc(struct __sk_buff *skb) { return 0; }
SEC("classifier") int p_classifier(struct __sk_buff *skb) { return 0; }
SEC("kprobe/do_sys_openat2") int p_kprobe(void *ctx) { return 0; }
SEC("kretprobe/do_sys_openat2") int p_kretprobe(void *ctx) { return 0; }
SEC("uprobe/libc.so.6:malloc") int p_uprobe(void *ctx) { return 0; }
SEC("uretprobe/libc.so.6:malloc") int p_uretprobe(void *ctx) { return 0; }
SEC("uprobe.s/libc.so.6:malloc") int p_uprobe_s(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_openat") int p_tracepoint(void *ctx) { return 0; }
SEC("tp/sched/sched_switch") int p_tp(void *ctx) { return 0; }
SEC("raw_tracepoint/sys_enter") int p_raw_tracepoint(void *ctx) { return 0; }
SEC("raw_tp/sys_exit") int p_raw_tp(void *ctx) { return 0; }
SEC("cgroup_skb/ingress") int p_cgroup_skb(struct __sk_buff *skb) { return 1; }
SEC("perf_event") int p_perf_event(void *ctx) { return 0; }
SEC("?xdp") int p_xdp_noautoload(struct xdp_md *ctx) { return XDP_DROP; }
SEC("unknown_section") int p_unknown(void *ctx) { return 0; }

char LICENSE[] SEC("license") = "GPL";
