/* pinned_types.c - `bpfvm map` test object (tests/cli_map_pinned.sh): one
 * XDP program filling three pinned maps, a hash with a struct key and a
 * struct value (integers, a string, an enum, bitfields), a per-CPU array
 * with a struct value, and an array declared by sizes only (no BTF types,
 * so no sidecar). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum color { RED = 1, GREEN = 2, BLUE = 3 };

struct flow {
	__u32 proto;
	__u16 port;
	__u16 pad;
};

struct stats {
	__u64 packets;
	__u64 bytes;
	char tag[8];
	enum color color;
	__u32 flags : 3;
	__u32 level : 5;
};

struct hits {
	__u64 hits;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct flow);
	__type(value, struct stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hits);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u64));
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_raw SEC(".maps");

SEC("xdp")
int fill(struct xdp_md *ctx)
{
	struct flow k = { .proto = 6, .port = 80 };
	struct stats v = { .packets = 3, .bytes = 180, .tag = "web", .color = GREEN, .flags = 5, .level = 17 };
	__u32 zero = 0;
	struct hits *h;
	__u64 *raw;

	bpf_map_update_elem(&pinned_stats, &k, &v, BPF_ANY);
	h = bpf_map_lookup_elem(&pinned_percpu, &zero);
	if (h)
		h->hits += 1;
	raw = bpf_map_lookup_elem(&pinned_raw, &zero);
	if (raw)
		*raw = 0x1122334455667788ULL;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
