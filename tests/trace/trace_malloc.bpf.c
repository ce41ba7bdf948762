/* trace_malloc.bpf.c - a program at the C library's malloc that counts
 * calls by size in a hash map, replacing the entry each time; a
 * replacement gives the thread a spare element, whose bookkeeping the
 * runtime once malloc()ed inside the run (a re-entry of this probe, then
 * a recursion miss); now taken from mmap()ed memory, so the program never
 * re-enters its own probe. */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);   /* the size asked for */
	__type(value, __u64); /* calls */
} sizes SEC(".maps");

SEC("uprobe/libc:malloc")
int BPF_KPROBE(malloc_enter, __u64 size)
{
	__u64 calls = 1, *seen = bpf_map_lookup_elem(&sizes, &size);
	if (seen)
		calls = *seen + 1;
	bpf_map_update_elem(&sizes, &size, &calls, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
