// globals_subprog.c - global data (.data, .rodata, .bss) and subprograms:
// a raw-memory program that checksums its input with a configurable
// seed, remembers the last result and counts its runs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u64 seed = 0x9e3779b97f4a7c15ULL;   /* .rodata */
__u64 runs = 0;                                       /* .bss */
__u64 last = 1;                                       /* .data */
char greeting[16] = "hello";                          /* .data */

static __attribute__((noinline)) __u64 mix(__u64 h, __u64 v)
{
	h ^= v;
	h *= 0x100000001b3ULL;
	return h ^ (h >> 29);
}

static __attribute__((noinline)) __u64 fold(const __u8 *p, __u64 len)
{
	__u64 h = seed;
	for (__u64 i = 0; i < len && i < 1024; i++)
		h = mix(h, p[i]);
	return h;
}

SEC("bpfvm")
__u64 checksum(__u8 *mem, __u64 len)
{
	__u64 h = fold(mem, len);
	h = mix(h, greeting[0]);
	runs++;
	last = h;
	return h;
}

char LICENSE[] SEC("license") = "GPL";
