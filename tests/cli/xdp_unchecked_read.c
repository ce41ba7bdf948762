/* xdp_unchecked_read.c - command-line test object (tests/cli_bounded_io.sh):
 * an XDP program that reads byte 4000 - len of the packet without checking
 * the packet's length.  The verifier refuses it; run with --no-verify
 * (checked mode) it passes packets of about 3000 bytes (a byte inside them)
 * and faults on a short one (past the 4 KiB frame a short packet gets), so
 * a capture can make it fail on a later packet. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int read_past_short(struct xdp_md *ctx)
{
	volatile __u8 *data = (volatile __u8 *)(long)ctx->data;
	__u32 len = ctx->data_end - ctx->data;
	return data[4000 - len] == 0xff ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
