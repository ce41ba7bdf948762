/*
 * bench_prog.h - what every benchmark program in bench/progs/ includes.
 *
 * Owns: BENCH_ENTRY (the entry function's signature, and its own ELF
 * section when compiled for BPF), BENCH_INLINE, BENCH_OPAQUE, the
 * little-endian/big-endian helpers the programs share, and, natively
 * only, the descriptor each program exports so the runner can find it,
 * size its input and build that input.
 *
 * Each program is one C file compiled twice: with `clang -target bpf` into
 * an object whose section "bench/NAME" becomes the bytecode bpfvm and the
 * kernel run, and natively into bpfvm-bench as the baseline.  The BPF side
 * must need no relocations (no globals, no static arrays, no string
 * constants, no calls that stay calls), which is why every helper here is
 * always_inline and why the descriptor exists only natively.
 */
#ifndef BENCH_PROG_H
#define BENCH_PROG_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_INLINE static inline __attribute__((always_inline))

/* Entry r1 = mem, r2 = len, r3 = end (mem + len); r0 is the result.
 * end is there for the kernel's verifier: in the XDP wrapper it is the
 * packet's data_end, and after `if (ptr + K > end)` the verifier lets the
 * program read K bytes at a pointer whose offset it cannot bound (a
 * packet pointer plus a variable loses its proven range).  Everywhere
 * else it is a plain pointer, and such a test never fires where the
 * program's own length checks already imply it.  For BPF, the entry has
 * its own section so the build can cut exactly its bytes out of the
 * object. */
#ifdef __bpf__
#define BENCH_ENTRY(name) \
	__attribute__((section("bench/" #name), used)) \
	uint64_t bench_##name(void *mem, uint64_t len, const void *end __attribute__((unused)))
#else
#define BENCH_ENTRY(name) uint64_t bench_##name(void *mem, uint64_t len, const void *end __attribute__((unused)))
#endif

/* Hides from the compiler that v is, say, 0 or 1, so that `v * x` stays a
 * multiply instead of becoming a select, which BPF can only do with a
 * branch: a data-dependent branch in a long loop leaves the kernel's
 * verifier one more state to come back to each time (see README.md).
 * An empty asm: it emits nothing, but v must be in a register there, and
 * natively it keeps clang from vectorising the loop around it. */
#define BENCH_OPAQUE(v) __asm__("" : "+r"(v))

BENCH_INLINE uint64_t bench_rotl64(uint64_t x, unsigned r)
{
	return (x << r) | (x >> (64 - r));
}

BENCH_INLINE uint32_t bench_rotl32(uint32_t x, unsigned r)
{
	return (x << r) | (x >> (32 - r));
}

/* Byte-wise big-endian loads: packet fields sit at odd offsets, and BPF
 * has no unaligned access, so the programs never cast them to wider types. */
BENCH_INLINE uint32_t bench_be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

BENCH_INLINE uint32_t bench_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The murmur3 / splitmix finaliser: every input bit reaches every output bit. */
BENCH_INLINE uint64_t bench_fmix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

#ifndef __bpf__
/* ---- native only: how the runner sees a program ---------------------- */

/* The deterministic input generator all programs use (splitmix64), so an
 * input depends only on the program's seed. */
static inline uint64_t bench_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

struct bench_desc {
	const char *name;
	const char *what;        /* one line for the README and --list */
	uint64_t (*native)(void *mem, uint64_t len, const void *end);
	size_t len;              /* input bytes: at most 3520, what an XDP test run takes */
	int mutates;             /* the program writes its input: reset it before every run */
	void (*fill)(uint8_t *mem, size_t len, uint64_t seed);
	uint64_t seed;
};

#define BENCH_DESC(name_, what_, len_, mutates_, fill_, seed_)          \
	const struct bench_desc bench_desc_##name_ = {                   \
		.name = #name_, .what = what_, .native = bench_##name_,  \
		.len = len_, .mutates = mutates_, .fill = fill_, .seed = seed_, \
	}

/* Most programs want plain random bytes. */
static inline void bench_fill_random(uint8_t *mem, size_t len, uint64_t seed)
{
	uint64_t s = seed;
	for (size_t i = 0; i < len; i++)
		mem[i] = (uint8_t)bench_rand(&s);
}
#endif

#endif
