/* raw_mem.c - loader test object: bpfvm raw-memory programs (r1 = memory,
 * r2 = length), with a subprogram, runnable by bpfvm without helpers. */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

static __noinline __u64 mix(__u64 h, __u8 byte)
{
	return (h ^ byte) * 0x100000001b3ULL;
}

/* FNV-1a over the first 64 bytes of the input. */
SEC("bpfvm")
__u64 fnv1a(__u8 *mem, __u64 len)
{
	__u64 h = 0xcbf29ce484222325ULL;
	for (int i = 0; i < 64; i++) {
		if (i >= len)
			break;
		h = mix(h, mem[i]);
	}
	return h;
}

SEC("bpfvm/sum")
__u64 sum_bytes(__u8 *mem, __u64 len)
{
	__u64 s = 0;
	for (int i = 0; i < 64 && i < len; i++)
		s += mem[i];
	return s;
}

char LICENSE[] SEC("license") = "GPL";
