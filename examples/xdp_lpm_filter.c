// xdp_lpm_filter.c - drops IPv4 packets whose source address falls in a
// blocked prefix (a longest-prefix-match trie), counting drops per rule.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct ipv4_lpm_key {
	__u32 prefixlen;
	__u32 addr;             /* network byte order */
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ipv4_lpm_key);
	__type(value, __u64);   /* packets dropped by this rule */
} blocked SEC(".maps");

/* The rules: a user fills `blocked`; these defaults make the example
 * self-contained (10.0.0.0/8 and 192.168.1.0/24). */
const volatile __u32 default_rules = 1;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} installed SEC(".maps");

static __always_inline void install_defaults(void)
{
	__u32 zero = 0, *done = bpf_map_lookup_elem(&installed, &zero);
	if (!done || *done)
		return;
	*done = 1;
	__u64 none = 0;
	struct ipv4_lpm_key k1 = { 8, bpf_htonl(0x0a000000) }, k2 = { 24, bpf_htonl(0xc0a80100) };
	bpf_map_update_elem(&blocked, &k1, &none, BPF_ANY);
	bpf_map_update_elem(&blocked, &k2, &none, BPF_ANY);
}

SEC("xdp")
int xdp_lpm(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if (default_rules)
		install_defaults();
	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end)
		return XDP_DROP;
	struct ipv4_lpm_key key = { 32, ip->saddr };
	__u64 *hits = bpf_map_lookup_elem(&blocked, &key);
	if (!hits)
		return XDP_PASS;
	__sync_fetch_and_add(hits, 1);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
