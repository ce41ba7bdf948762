/* funclatency.bpf.c - a function's latency as a log2 histogram of
 * nanoseconds, as libbpf-tools' funclatency: a uprobe stamps each call's
 * start per thread (a hash map keyed by pid_tgid, so that concurrent and
 * nested-by-thread calls do not mix), the uretprobe adds now - start to
 * slot log2(ns) of `latency_ns`.
 *
 * The function is FUNCLATENCY_PATH:FUNCLATENCY_FUNC, the binary or
 * library's file or base name and the symbol; by default nap_us of
 * tests/trace/examples_target.c.  Another function:
 *   clang -O2 -g -target bpf -D__TARGET_ARCH_x86 \
 *       -DFUNCLATENCY_PATH='"libc"' -DFUNCLATENCY_FUNC='"fsync"' \
 *       -c examples/trace/funclatency.bpf.c -o funclatency.bpf.o
 * Run:
 *   bpfvm trace build/examples/trace/funclatency.bpf.o --hist latency_ns \
 *       -- build/tests/trace/examples_target latency 5 3
 * (slot 22 is 2^22..2^23-1 ns, about 4.2-8.4 ms). */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#ifndef FUNCLATENCY_PATH
#define FUNCLATENCY_PATH "examples_target"
#endif
#ifndef FUNCLATENCY_FUNC
#define FUNCLATENCY_FUNC "nap_us"
#endif

#define MAX_THREADS 10240

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, __u64);   /* pid_tgid */
	__type(value, __u64); /* bpf_ktime_get_ns() at entry */
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);   /* log2 of the latency in ns */
	__type(value, __u64); /* calls */
} latency_ns SEC(".maps");

static __u32 log2_u64(__u64 v)
{
	__u32 slot = 0;
	for (int i = 0; i < 63 && v > 1; i++) {
		v >>= 1;
		slot++;
	}
	return slot;
}

SEC("uprobe/" FUNCLATENCY_PATH ":" FUNCLATENCY_FUNC)
int BPF_KPROBE(func_entry)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns();
	bpf_map_update_elem(&starts, &id, &now, BPF_ANY);
	return 0;
}

SEC("uretprobe/" FUNCLATENCY_PATH ":" FUNCLATENCY_FUNC)
int BPF_KRETPROBE(func_return)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 *start = bpf_map_lookup_elem(&starts, &id);
	if (!start)
		return 0; /* entered before the probe was attached */
	__u32 slot = log2_u64(bpf_ktime_get_ns() - *start);
	bpf_map_delete_elem(&starts, &id);
	__u64 *count = bpf_map_lookup_elem(&latency_ns, &slot);
	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
