// xdp_percpu_count.c - counts frames and bytes in a per-CPU array, then
// drops them: the XDP bench's map-updating program.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct totals {
	__u64 frames, bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct totals);
} totals SEC(".maps");

SEC("xdp")
int percpu_count(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct totals *t = bpf_map_lookup_elem(&totals, &zero);
	if (t) {
		t->frames++;
		t->bytes += ctx->data_end - ctx->data;
	}
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
