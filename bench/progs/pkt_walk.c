/*
 * pkt_walk.c - benchmark "pkt_walk": walking packet headers.
 *
 * Owns: a parser over a buffer of length-prefixed Ethernet frames (a
 * big-endian u16 record length, then the frame): it skips VLAN tags,
 * checks and skips the IPv4 header by its IHL, reads TCP or UDP ports
 * and the TCP data offset, and folds a flow hash and per-protocol counts
 * into a checksum, 8 passes of at most MAX_FRAMES frames.  Every field
 * is read byte by byte in network order, every length is checked before
 * it is trusted.  (8 passes, not more: the kernel's verifier walks every
 * frame of every pass, each path through the parser apart, and stops at
 * a million instructions; 8 take it to about 650,000.)
 */
#include "bench_prog.h"

#define ROUNDS 8
#define MAX_FRAMES 24            /* frames per pass: the input has 21 */

BENCH_ENTRY(pkt_walk)
{
	const uint8_t *p = mem, *e = end;
	uint64_t flows = 0, tcp = 0, udp = 0, other = 0, bytes = 0, bad = 0;
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t off = 0;
		/* The tests against e never fire: each follows a length check
		 * that implies it (f + flen <= p + len = e).  They are there for
		 * the kernel's verifier, which cannot relate two lengths and
		 * needs a packet pointer with a variable offset compared with
		 * the packet's end before it is read (bench_prog.h). */
		for (int k = 0; k < MAX_FRAMES && off + 2 <= len; k++) {
			const uint8_t *rp = p + off;
			if (rp + 2 > e)
				break;
			uint64_t rec = bench_be16(rp);
			if (rec < 2 || rec > len - off)
				break;                          /* end marker or truncated */
			const uint8_t *f = rp + 2;
			uint64_t flen = rec - 2;
			off += rec;
			if (flen < 14) {
				bad++;
				continue;
			}
			if (f + 14 > e)
				break;
			uint64_t l3 = 14;
			uint32_t type = bench_be16(f + 12);
			if (type == 0x8100 && flen >= 18) {    /* one VLAN tag */
				if (f + 18 > e)
					break;
				type = bench_be16(f + 16);
				l3 = 18;
			}
			if (type != 0x0800) {
				other++;
				continue;
			}
			if (flen < l3 + 20) {
				bad++;
				continue;
			}
			const uint8_t *ip = f + l3;
			if (ip + 20 > e)
				break;
			if ((ip[0] >> 4) != 4) {
				bad++;
				continue;
			}
			uint64_t ihl = (uint64_t)(ip[0] & 15) * 4;
			uint32_t total = bench_be16(ip + 2);
			if (ihl < 20 || total < ihl || flen < l3 + total) {
				bad++;
				continue;
			}
			uint32_t proto = ip[9];
			uint64_t saddr = bench_be32(ip + 12), daddr = bench_be32(ip + 16);
			const uint8_t *l4 = ip + ihl;
			uint64_t ports = 0;
			if (proto == 6 && total >= ihl + 20) {
				if (l4 + 20 > e)
					break;
				ports = bench_be32(l4);
				uint64_t doff = (uint64_t)(l4[12] >> 4) * 4;
				bytes += doff <= total - ihl ? total - ihl - doff : 0;
				tcp++;
			} else if (proto == 17 && total >= ihl + 8) {
				if (l4 + 8 > e)
					break;
				ports = bench_be32(l4);
				bytes += bench_be16(l4 + 4);
				udp++;
			} else {
				other++;
			}
			flows += bench_fmix64(saddr << 32 ^ daddr ^ ports << 7 ^ proto);
		}
	}
	return flows ^ (tcp << 48 | udp << 32 | other << 16 | bad) ^ bytes * 0x9e3779b97f4a7c15ull;
}

#ifndef __bpf__
/* Frames of 60 to 250 bytes: mostly IPv4 TCP or UDP (IHL 5 to 7), some
 * with a VLAN tag, some ARP or ICMP, a few with a broken IPv4 header.  A
 * zero record length ends the buffer (if MAX_FRAMES frames do not). */
static void fill_packets(uint8_t *mem, size_t len, uint64_t seed)
{
	uint64_t s = seed;
	size_t off = 0;
	for (size_t i = 0; i < len; i++)
		mem[i] = (uint8_t)bench_rand(&s);
	for (int frames = 0; frames < MAX_FRAMES; frames++) {
		uint64_t r = bench_rand(&s);
		size_t flen = 60 + (size_t)(r % 191);
		if (off + 2 + flen + 2 > len)
			break;
		uint8_t *f = mem + off + 2;
		mem[off] = (uint8_t)((flen + 2) >> 8);
		mem[off + 1] = (uint8_t)(flen + 2);
		size_t l3 = 14;
		unsigned kind = (unsigned)((r >> 8) % 20);
		if (kind == 0) {                        /* ARP */
			f[12] = 0x08, f[13] = 0x06;
		} else {
			if (kind <= 3) {                /* VLAN-tagged IPv4 */
				f[12] = 0x81, f[13] = 0x00, f[16] = 0x08, f[17] = 0x00;
				l3 = 18;
			} else {
				f[12] = 0x08, f[13] = 0x00;
			}
			size_t ihl = 20 + 4 * (size_t)((r >> 16) % 3);
			size_t total = flen - l3;
			f[l3] = (uint8_t)(0x40 | ihl / 4);
			if (kind == 19)
				f[l3] = 0x65;           /* not IPv4: counted as bad */
			f[l3 + 2] = (uint8_t)(total >> 8), f[l3 + 3] = (uint8_t)total;
			unsigned proto_pick = (unsigned)((r >> 24) % 10);
			f[l3 + 9] = proto_pick < 5 ? 6 : proto_pick < 9 ? 17 : 1;
			size_t l4 = l3 + ihl;
			if (f[l3 + 9] == 6)
				f[l4 + 12] = (uint8_t)((5 + (r >> 32) % 4) << 4);
			else if (f[l3 + 9] == 17)
				f[l4 + 4] = (uint8_t)((total - ihl) >> 8), f[l4 + 5] = (uint8_t)(total - ihl);
		}
		off += 2 + flen;
	}
	mem[off] = 0, mem[off + 1] = 0;
}

BENCH_DESC(pkt_walk, "byte parsing: Ethernet/VLAN/IPv4/TCP/UDP header walk over framed packets, 8 passes",
           3072, 0, fill_packets, 8);
#endif
