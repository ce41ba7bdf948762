/* xdp_redirect.c - `bpfvm run`'s redirect line (tests/cli_xdp_redirect.sh):
 * XDP programs redirecting through a pinned devmap (one entry, and a
 * broadcast), a pinned cpumap, and bpf_redirect to an ifindex. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tx_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cpus SEC(".maps");

SEC("xdp")
int to_port(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tx_ports, 1, XDP_PASS);
}

SEC("xdp")
int to_all_ports(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tx_ports, 0, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
}

SEC("xdp")
int to_cpu(struct xdp_md *ctx)
{
	return bpf_redirect_map(&cpus, 0, XDP_DROP);
}

SEC("xdp")
int to_ifindex(struct xdp_md *ctx)
{
	return bpf_redirect(1, 0);
}

char LICENSE[] SEC("license") = "GPL";
