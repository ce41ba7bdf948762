// perf_events.c - sends the first bytes of every packet to user space
// through a perf event array (the older channel ring buffers replaced).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} samples SEC(".maps");

struct sample {
	__u32 len;
	__u8 head[12];
};

SEC("xdp")
int xdp_sample(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct sample s = { .len = (__u32)(end - data) };
	if (data + sizeof s.head > end)
		return XDP_PASS;
	__builtin_memcpy(s.head, data, sizeof s.head);
	bpf_perf_event_output(ctx, &samples, BPF_F_CURRENT_CPU, &s, sizeof s);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
