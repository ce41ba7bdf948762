/* memleak.bpf.c - the C library's outstanding heap bytes by the user
 * stack that allocated them, as a simpler libbpf-tools memleak:
 * malloc's entry keeps the size per thread, its return records the block
 * (address -> size and stack id from bpf_get_stackid with
 * BPF_F_USER_STACK into the STACK_TRACE map `stack_traces`) and adds the
 * size to `outstanding[stack id]`; free subtracts a recorded block's size
 * again.  Blocks from before the attach, and calloc, realloc and
 * aligned allocations, are not seen.
 *
 * Run on a program built with frame pointers (-fno-omit-frame-pointer:
 * the stack is walked by them):
 *   bpfvm trace build/examples/trace/memleak.bpf.o -j --dump-maps \
 *       -- build/tests/trace/examples_target leak
 * then each "outstanding" entry's key is a stack id of "stack_traces",
 * whose value lists the return addresses, innermost first (0 past the
 * end); `addr2line -f -e PROGRAM ADDRESS` names them (a PIE program's
 * addresses less its load address). */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MAX_THREADS 10240
#define MAX_BLOCKS 65536
#define MAX_STACK_DEPTH 127

struct block {
	__u64 size;
	__u32 stack_id;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, __u64);   /* pid_tgid */
	__type(value, __u64); /* the size malloc was asked for */
} pending_sizes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_BLOCKS);
	__type(key, __u64); /* the block's address */
	__type(value, struct block);
} blocks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);   /* stack id in stack_traces */
	__type(value, __u64); /* bytes allocated there and not freed */
} outstanding SEC(".maps");

typedef __u64 stack_trace_t[MAX_STACK_DEPTH];

/* Many buckets: two stacks hashing to one bucket would lose one (-EEXIST). */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, stack_trace_t); /* return addresses, innermost first */
} stack_traces SEC(".maps");

SEC("uprobe/libc:malloc")
int BPF_KPROBE(malloc_enter, __u64 size)
{
	__u64 id = bpf_get_current_pid_tgid();
	/* BPF_NOEXIST, and a delete before each insert below: an update that
	 * replaces an element allocates in bpfvm's agent (its per-thread spare,
	 * with malloc) and, from a malloc probe, would re-enter this probe
	 * without end. */
	bpf_map_update_elem(&pending_sizes, &id, &size, BPF_NOEXIST);
	return 0;
}

SEC("uretprobe/libc:malloc")
int BPF_KRETPROBE(malloc_return, void *address)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 *size = bpf_map_lookup_elem(&pending_sizes, &id);
	if (!size)
		return 0; /* entered before the probe was attached */
	struct block b = { .size = *size };
	bpf_map_delete_elem(&pending_sizes, &id);
	long stack_id = bpf_get_stackid(ctx, &stack_traces, BPF_F_USER_STACK);
	if (!address || stack_id < 0)
		return 0;
	b.stack_id = (__u32)stack_id;
	__u64 addr = (__u64)address;
	bpf_map_delete_elem(&blocks, &addr); /* freed unseen (realloc) */
	bpf_map_update_elem(&blocks, &addr, &b, BPF_NOEXIST);
	__u64 *bytes = bpf_map_lookup_elem(&outstanding, &b.stack_id);
	if (bytes)
		__sync_fetch_and_add(bytes, b.size);
	else
		bpf_map_update_elem(&outstanding, &b.stack_id, &b.size, BPF_NOEXIST);
	return 0;
}

SEC("uprobe/libc:free")
int BPF_KPROBE(free_enter, void *address)
{
	__u64 addr = (__u64)address;
	struct block *b = bpf_map_lookup_elem(&blocks, &addr);
	if (!b)
		return 0; /* not seen allocated */
	__u64 *bytes = bpf_map_lookup_elem(&outstanding, &b->stack_id);
	if (bytes)
		__sync_fetch_and_sub(bytes, b->size);
	bpf_map_delete_elem(&blocks, &addr);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
