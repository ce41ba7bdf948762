#!/usr/bin/env bash
# kernel_fib_lookup.sh - bpf_fib_lookup, bpfvm's against the kernel's
# (tests/kernel/fib_compare.c), in a network namespace of its own:
#   veth0 10.1.0.1/24 (forwarding on) - veth1 (no address, forwarding off)
#   veth2 10.2.0.1/24 (forwarding on) - veth3
#   neighbours on veth2: 10.2.0.2 permanent, 10.2.0.5 stale; none for 10.2.0.3, 10.2.0.9
#   routes: 192.0.2.0/25 via 10.2.0.2 metric 7; 192.0.2.128/25 via 10.2.0.2 mtu 1000;
#           192.0.2.64/26 via 10.2.0.2 mtu lock 1000;
#           198.51.100.0/24 via 10.2.0.3 (no neighbour); blackhole 203.0.113.0/24;
#           unreachable 100.64.0.0/16; prohibit 198.18.0.0/16; no default route.
# and for IPv6: veth0 fd00:1::1/64, veth2 fd00:2::1/64 (forwarding on veth0, veth2);
#   neighbour fd00:2::2 permanent; routes 2001:db8:1::/48 via fd00:2::2 metric 9;
#   2001:db8:2::/48 via fd00:2::3 (no neighbour); 2001:db8:3::/48 via fd00:2::2 mtu lock 1300;
#   blackhole 2001:db8:dead::/48, unreachable 2001:db8:beef::/48, prohibit 2001:db8:cafe::/48.
# The namespace is removed however the test ends.  Exit 77 where namespaces,
# veth pairs or bpf() are not available.  Usage: kernel_fib_lookup.sh FIB_COMPARE
set -u
cmp=$1
ns=bpfvm-fib-$$
if ! command -v ip >/dev/null || ! ip netns add "$ns" 2>/dev/null; then
	echo "skipped: cannot create a network namespace here"
	exit 77
fi
trap 'ip netns del "$ns" 2>/dev/null' EXIT
trap 'exit 1' INT TERM
in_ns() { ip -n "$ns" "$@"; }
set -e
in_ns link set lo up
if ! in_ns link add veth0 type veth peer name veth1 2>/dev/null; then
	echo "skipped: cannot create veth pairs here"
	exit 77
fi
in_ns link add veth2 type veth peer name veth3
for d in veth0 veth1 veth2 veth3; do in_ns link set "$d" up; done
in_ns addr add 10.1.0.1/24 dev veth0
in_ns addr add 10.2.0.1/24 dev veth2
in_ns neigh add 10.2.0.2 lladdr 02:00:00:00:00:22 dev veth2 nud permanent
in_ns neigh add 10.2.0.5 lladdr 02:00:00:00:00:25 dev veth2 nud stale
in_ns route add 192.0.2.0/25 via 10.2.0.2 dev veth2 metric 7
in_ns route add 192.0.2.128/25 via 10.2.0.2 dev veth2 mtu 1000
in_ns route add 192.0.2.64/26 via 10.2.0.2 dev veth2 mtu lock 1000
in_ns route add 198.51.100.0/24 via 10.2.0.3 dev veth2
in_ns route add blackhole 203.0.113.0/24
in_ns route add unreachable 100.64.0.0/16
in_ns route add prohibit 198.18.0.0/16
ip netns exec "$ns" sysctl -qw net.ipv4.conf.veth0.forwarding=1 net.ipv4.conf.veth2.forwarding=1
in_ns addr add fd00:1::1/64 dev veth0 nodad
in_ns addr add fd00:2::1/64 dev veth2 nodad
in_ns neigh add fd00:2::2 lladdr 02:00:00:00:00:32 dev veth2 nud permanent
in_ns route add 2001:db8:1::/48 via fd00:2::2 dev veth2 metric 9
in_ns route add 2001:db8:2::/48 via fd00:2::3 dev veth2
in_ns route add 2001:db8:3::/48 via fd00:2::2 dev veth2 mtu lock 1300
in_ns route add blackhole 2001:db8:dead::/48
in_ns route add unreachable 2001:db8:beef::/48
in_ns route add prohibit 2001:db8:cafe::/48
ip netns exec "$ns" sysctl -qw net.ipv6.conf.veth0.forwarding=1 net.ipv6.conf.veth2.forwarding=1
set +e
ip netns exec "$ns" "$cmp"
