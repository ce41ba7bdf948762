// Negative suite (tests/verifier/README.md): direct packet access in XDP --
// without a data_end check, past the checked range -- and the safe twin.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

// expect packet_no_check: reject "invalid access to packet"
SEC("xdp")
int packet_no_check(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;
	return data[0] == 1 ? XDP_DROP : XDP_PASS;
}

// expect packet_beyond_check: reject "invalid access to packet"
SEC("xdp")
int packet_beyond_check(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if ((void *)(data + 14) > end)
		return XDP_PASS;
	return data[20] == 1 ? XDP_DROP : XDP_PASS;
}

// expect packet_checked: accept
SEC("xdp")
int packet_checked(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if ((void *)(data + 14) > end)
		return XDP_PASS;
	return data[13] == 1 ? XDP_DROP : XDP_PASS;
}

// The end pointer itself is not memory.
// expect packet_end_deref: reject "R1 invalid mem access 'pkt_end'"
SEC("xdp")
int packet_end_deref(struct xdp_md *ctx)
{
	__u8 *end = (void *)(long)ctx->data_end;
	return end[0];
}

char _license[] SEC("license") = "GPL";
