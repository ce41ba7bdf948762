/* xdp_unchecked_read.c - command-line test object (tests/cli_bounded_io.sh):
 * an XDP program that reads byte 5000 of the packet without checking the
 * packet's length.  The verifier refuses it; run with --no-verify (checked
 * mode) it passes packets longer than 5000 bytes and faults on a short one
 * (past the 4 KiB frame a short packet gets), so a capture can make it fail
 * on a later packet. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int read_byte_5000(struct xdp_md *ctx)
{
	volatile __u8 *data = (volatile __u8 *)(long)ctx->data;
	return data[5000] == 0xff ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
