/* xdp_counts.h - what the live XDP tests' programs share: an array of
 * counters by kind of packet, which the tests read from bpfvm (--dump-maps)
 * and from the kernel (bpftool) and compare. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

enum { COUNT_UDP, COUNT_ICMP, COUNT_TCP, COUNT_OTHER, COUNT_DONE, COUNT_KINDS };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, COUNT_KINDS);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline void count(__u32 kind)
{
	__u64 *n = bpf_map_lookup_elem(&counts, &kind);
	if (n)
		__sync_fetch_and_add(n, 1);
}

/* The IPv4 header after the Ethernet header, or NULL. */
static __always_inline struct iphdr *ipv4(void *data, void *end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5)
		return 0;
	return ip;
}

/* Counts the packet by its IP protocol. */
static __always_inline void count_packet(void *data, void *end)
{
	struct iphdr *ip = ipv4(data, end);
	count(!ip ? COUNT_OTHER : ip->protocol == IPPROTO_UDP ? COUNT_UDP : ip->protocol == IPPROTO_ICMP ?
	      COUNT_ICMP : ip->protocol == IPPROTO_TCP ? COUNT_TCP : COUNT_OTHER);
}

/* The packet back where it came from: Ethernet and IP addresses swapped. */
static __always_inline void swap_addresses(struct ethhdr *eth, struct iphdr *ip)
{
	unsigned char mac[ETH_ALEN];
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	__be32 a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
}

/* A 16-bit field of a checksummed header changed from `from` to `to`
 * (RFC 1624: HC' = ~(~HC + ~m + m')). */
static __always_inline __u16 csum_replace(__u16 csum, __u16 from, __u16 to)
{
	__u32 sum = (__u16)~csum + (__u16)~from + to;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

char LICENSE[] SEC("license") = "GPL";
