/* xdp_hash.c - loader test object: one XDP program counting packets per
 * protocol in a BTF-defined hash map (struct key, struct value). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct flow_key {
	__u32 proto;
	__u16 port;
	__u16 pad;
};

struct flow_stats {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 16);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_counters SEC(".maps");

/* map_extra (the bloom filter's hash count) and numa_node pass through. */
struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 256);
	__type(value, __u32);
	__uint(map_extra, 3);
	__uint(numa_node, 1);
	__uint(map_flags, BPF_F_NUMA_NODE);
} seen SEC(".maps");

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct flow_key key = { .proto = (__u32)(data_end - data) & 0xff };
	struct flow_stats zero = {}, *stats;

	stats = bpf_map_lookup_elem(&flows, &key);
	if (!stats) {
		bpf_map_update_elem(&flows, &key, &zero, BPF_NOEXIST);
		return XDP_PASS;
	}
	stats->packets += 1; /* LINE_MARKER: packets */
	stats->bytes += data_end - data;
	bpf_map_push_elem(&seen, &key.proto, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
