// xdp_cpu_pass.c - counts every packet by IP protocol and hands it to CPU 1
// through a cpumap (which passes it to the host's stack there; bpfvm: the
// worker of queue 1); a cpumap with no CPU 1 entry aborts it.  The test
// fills the entry.
#include "xdp_counts.h"

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);   /* the queue size (struct bpf_cpumap_val's first field) */
} cpus SEC(".maps");

SEC("xdp")
int cpu_pass(struct xdp_md *ctx)
{
	count_packet((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	count(COUNT_DONE);
	return bpf_redirect_map(&cpus, 1, 0);
}
