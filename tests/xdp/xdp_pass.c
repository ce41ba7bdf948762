// xdp_pass.c - passes everything: on the generator's end of a veth pair
// in the kernel runs, where a native XDP program makes veth take the
// frames its peer's XDP_TX sends (without one, veth drops them).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
