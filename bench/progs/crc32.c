/*
 * crc32.c - benchmark "crc32": table-free CRC-32.
 *
 * Owns: the reflected CRC-32 of IEEE 802.3 / zlib (polynomial 0xEDB88320),
 * computed a bit at a time, branch-free: the polynomial times the low bit,
 * so eight dependent shift/and/multiply/xor steps per byte, a long serial
 * chain on either side.  (Not `POLY & -(crc & 1)`: that mask idiom makes
 * the kernel's verifier fork a state per bit, and oopsed this machine's
 * kernel; see kernel.c.)
 */
#include "bench_prog.h"

BENCH_ENTRY(crc32)
{
	const uint8_t *p = mem;
	uint32_t crc = 0xffffffffu;
	for (uint64_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u * (crc & 1));
	}
	return ~crc;
}

#ifndef __bpf__
BENCH_DESC(crc32, "checksum: bitwise CRC-32 (zlib polynomial), no table", 3072, 0, bench_fill_random, 10);
#endif
