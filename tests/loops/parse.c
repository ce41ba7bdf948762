/* parse.c - parsers walking packet bytes, each access checked inside the
 * loop: TLV options, a decimal number, IPv6-style extension headers,
 * a line of text, and varints. */
#include "loops.h"

SEC("xdp")
int bad_parse_tlv(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	__u32 off = 0, seen = 0;
	NO_UNROLL
	for (int i = 0; i < 16; i++) {
		if (off > 200)
			break;
		if (p + off + 2 > end)
			break;
		__u8 type = p[off], len = p[off + 1];
		if (type == 0)
			break;
		seen |= 1u << (type & 31);
		off += 2 + (len & 15);
	}
	return seen & 4 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int parse_decimal(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	__u64 value = 0;
	NO_UNROLL
	for (int i = 0; i < 20; i++) {
		if (p + i + 1 > end)
			break;
		__u8 c = p[i];
		if (c < '0' || c > '9')
			break;
		value = value * 10 + (c - '0');
	}
	return value > 1000 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int bad_parse_ext_headers(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	__u32 off = 0;
	__u8 next = 0;
	if (p + 1 > end)
		return XDP_DROP;
	next = p[0];
	off = 1;
	NO_UNROLL
	for (int i = 0; i < 8; i++) {
		if (next != 0 && next != 43 && next != 60)
			break;
		if (off > 256)
			break;
		if (p + off + 2 > end)
			return XDP_DROP;
		next = p[off];
		off += 8 + p[off + 1] * 8;
	}
	return next == 6 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int bad_parse_line(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	__u32 words = 0, in_word = 0;
	NO_UNROLL
	for (int i = 0; i < 128; i++) {
		if (p + i + 1 > end)
			break;
		__u8 c = p[i];
		if (c == '\n')
			break;
		if (c == ' ' || c == '\t') {
			in_word = 0;
		} else if (!in_word) {
			in_word = 1;
			words++;
		}
	}
	return words > 3 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int parse_varints(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	__u32 off = 0;
	__u64 total = 0;
	NO_UNROLL
	for (int n = 0; n < 4; n++) {
		__u64 v = 0;
		NO_UNROLL
		for (int shift = 0; shift < 35; shift += 7) {
			if (off > 64 || p + off + 1 > end)
				goto done;
			__u8 b = p[off++];
			v |= (__u64)(b & 0x7f) << shift;
			if (!(b & 0x80))
				break;
		}
		total += v;
	}
done:
	return total & 1 ? XDP_PASS : XDP_DROP;
}

/* the payload of a length-prefixed record copied to the stack */
SEC("xdp")
int parse_copy_payload(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	__u8 buf[32];
	if (p + 1 > end)
		return XDP_DROP;
	__u32 len = p[0] & 31;
	__u32 sum = 0;
	NO_UNROLL
	for (__u32 i = 0; i < len; i++) {
		if (p + 1 + i + 1 > end)
			break;
		buf[i] = p[1 + i];
		sum += buf[i];
	}
	return sum > 100 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
