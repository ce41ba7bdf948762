/* attach_stress.bpf.c - the counting programs of the attach/detach stress
 * tests: tests/hooks/attach_stress.c runs them in process on its own
 * stress_work(), attach_stress_agent.sh through `bpfvm trace --pid` on
 * kc_spin() of kernel_compare_target (the sections name it).  Each call
 * F(thread, seq) is recorded in its thread's slot at
 * entry (slots 0..THREADS-1) and at return (THREADS..2*THREADS-1; the result
 * is thread << 48 | seq).  A thread's calls come in order of seq, so a slot
 * holds the first and last seq counted and their count, and counts an error
 * whenever a seq is not the one after the last (a call counted twice, or
 * one missed between two counted). */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define THREADS 4
#define SEQ_BITS 48

struct slot {
	__u64 count, first, last, errors;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * THREADS);
	__type(key, __u32);
	__type(value, struct slot);
} seen SEC(".maps");

/* Only the calling thread writes its slot: no atomics needed. */
static void record(__u32 key, __u64 seq)
{
	struct slot *s = bpf_map_lookup_elem(&seen, &key);
	if (!s)
		return;
	if (!s->count)
		s->first = seq;
	else if (seq != s->last + 1)
		s->errors++;
	s->last = seq;
	s->count++;
}

SEC("uprobe/kernel_compare_target:kc_spin")
int BPF_KPROBE(count_entry, __u64 thread, __u64 seq)
{
	if (thread < THREADS)
		record(thread, seq);
	return 0;
}

SEC("uretprobe/kernel_compare_target:kc_spin")
int BPF_KRETPROBE(count_return, __u64 result)
{
	__u64 thread = result >> SEQ_BITS;
	if (thread < THREADS)
		record(THREADS + thread, result & ((1ull << SEQ_BITS) - 1));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
