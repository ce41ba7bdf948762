/* hash.c - hash and checksum loops: FNV-1a, djb2 and a CRC over packet
 * bytes, the Internet checksum over 16-bit words, Adler-32 and a
 * Fletcher sum over a stack buffer. */
#include "loops.h"

SEC("xdp")
int hash_fnv1a(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	__u32 h = 2166136261u;
	NO_UNROLL
	for (int i = 0; i < 64; i++) {
		if (p + i + 1 > end)
			break;
		h ^= p[i];
		h *= 16777619u;
	}
	return h & 1 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int hash_djb2(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	__u64 h = 5381;
	NO_UNROLL
	for (int i = 0; i < 100; i++) {
		if (p + i + 1 > end)
			break;
		h = (h << 5) + h + p[i];
	}
	return h & 2 ? XDP_PASS : XDP_DROP;
}

/* a CRC-32 step per bit, written with a branch on the low bit */
SEC("xdp")
int bad_crc32_bits(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	__u32 crc = 0xffffffff;
	NO_UNROLL
	for (int i = 0; i < 8; i++) {
		if (p + i + 1 > end)
			break;
		crc ^= p[i];
		NO_UNROLL
		for (int b = 0; b < 8; b++) {
			if (crc & 1)
				crc = (crc >> 1) ^ 0xedb88320;
			else
				crc >>= 1;
		}
	}
	return ~crc & 1 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int inet_checksum(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	__u32 sum = 0;
	NO_UNROLL
	for (int i = 0; i < 40; i++) {
		if (p + 2 * i + 2 > end)
			break;
		sum += (__u32)p[2 * i] << 8 | p[2 * i + 1];
	}
	NO_UNROLL
	for (int i = 0; i < 4 && (sum >> 16); i++)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int adler32_stack(struct xdp_md *ctx)
{
	__u8 buf[48];
	NO_UNROLL
	for (int i = 0; i < 48; i++)
		buf[i] = bpf_get_prandom_u32();
	__u32 a = 1, b = 0;
	NO_UNROLL
	for (int i = 0; i < 48; i++) {
		a = (a + buf[i]) % 65521;
		b = (b + a) % 65521;
	}
	return (b << 16 | a) & 1 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int fletcher16(struct xdp_md *ctx)
{
	unsigned char *p = PKT(ctx), *end = PKT_END(ctx);
	__u32 s1 = 0, s2 = 0;
	NO_UNROLL
	for (int i = 0; i < 80; i++) {
		if (p + i + 1 > end)
			break;
		s1 = (s1 + p[i]) % 255;
		s2 = (s2 + s1) % 255;
	}
	return (s2 << 8 | s1) > 0x100 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
