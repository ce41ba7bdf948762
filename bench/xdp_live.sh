#!/usr/bin/env bash
# xdp_live.sh - bpfvm xdp attach beside the kernel's own XDP on the same
# veth pair: CPU time per frame at a fixed offered load, below both
# ceilings (issue 15, item 5; BENCHMARKS.md, "Live XDP").
#
# usage (root, from build/): ../bench/xdp_live.sh [PPS] [SECONDS] [ATTACH OPTION...]
#        (defaults 20000 frames/s for 4 s; the options go to every
#        `bpfvm xdp attach`, e.g. --coalesce-us 0)
#
# The generator (tests/xdp/xdp_traffic flood) sends from one namespace,
# paced, in batches of 32; the program runs on the peer veth in another.
# This kernel has no IRQ time accounting, so the receiving veth's NAPI
# (where the kernel's XDP runs, and where the steering program hands
# frames to AF_XDP) is charged to the generator, whose softirq runs it on
# its way out of sendmmsg: "generator" is the generator's CPU per frame,
# the veth's XDP work included.  Kernel: that, and the program's own run
# time (kernel.bpf_stats_enabled, as BPF_ENABLE_STATS).  bpfvm: that
# (steering and the copy into the UMEM), and bpfvm's process (every
# thread's CPU, /proc/PID/task/*/schedstat) per frame it received.
# Totals: generator + process.  Programs: drop, a per-CPU counter that
# drops, an ICMP echo responder (XDP_TX); the generator's ceiling (as fast
# as it sends, the kernel dropping) beside.  Last, what receive coalescing
# costs in latency: ping's round trip through the responder, kernel and
# bpfvm, idle (a ping each 5 ms) and under the same offered load of echo
# requests: median, 90th percentile and worst of 200 pings.
set -u
BUILD=$(pwd)
BPFVM=$BUILD/tools/bpfvm TRAFFIC=$BUILD/tests/xdp/xdp_traffic
OBJS=$BUILD/bench/xdp_live ECHO=$BUILD/tests/xdp/xdp_icmp_echo.bpf.o PASS=$BUILD/tests/xdp/xdp_pass.bpf.o
PPS=${1:-20000} SECONDS_=${2:-4}
shift $(( $# < 2 ? $# : 2 ))
ATTACH_OPTIONS=("$@")
NSA=bpfvm-benchxa-$$ NSB=bpfvm-benchxb-$$
TMP=$(mktemp -d)
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
ATTACH_PID=
cleanup() {
	[ -n "$ATTACH_PID" ] && kill -9 "$ATTACH_PID" 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS" 2>/dev/null
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
for f in "$BPFVM" "$TRAFFIC" "$OBJS/xdp_drop.bpf.o" "$ECHO" "$(command -v ping)"; do
	[ -e "$f" ] || { echo "xdp_live.sh: no $f (run from build/ after building)"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "xdp_live.sh: needs root"; exit 1; }

ip netns add "$NSA" && ip netns add "$NSB" || exit 1
ip link add xa0 netns "$NSA" type veth peer name xb0 netns "$NSB" || exit 1
for ns in "$NSA" "$NSB"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$NSA" addr add 10.77.0.1/24 dev xa0 && ip -n "$NSA" link set xa0 up
ip -n "$NSB" addr add 10.77.0.2/24 dev xb0 && ip -n "$NSB" link set xb0 up
# the kernel's XDP_TX reaches xa0 only while xa0 runs XDP itself
ip -n "$NSA" link set dev xa0 xdp obj "$PASS" sec xdp
BMAC=$(ip -n "$NSB" -j link show xb0 | jq -r '.[0].address')
sysctl -qw kernel.bpf_stats_enabled=1

flood() {   # KIND PPS SECONDS -> "sent=.. seconds=.. pps=.. cpu_ns=.."
	ip netns exec "$NSA" "$TRAFFIC" flood xa0 "$BMAC" 10.77.0.1 10.77.0.2 "$1" "$2" "$3"
}
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
task_ns() {   # PID: every thread's CPU time, ns
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'
}
prog_stats() {   # -> "run_time_ns run_cnt" of xb0's XDP program
	local id
	id=$(ip -n "$NSB" -j link show xb0 | jq -r '.[0].xdp.prog.id')
	bpftool prog show id "$id" -j | jq -r '"\(.run_time_ns // 0) \(.run_cnt // 0)"'
}

kernel_case() {   # OBJ KIND -> "generator_ns prog_ns"
	ip -n "$NSB" link set dev xb0 xdp obj "$1" sec xdp
	local before after out
	before=$(prog_stats)
	out=$(flood "$2" "$PPS" "$SECONDS_")
	after=$(prog_stats)
	ip -n "$NSB" link set dev xb0 xdp off
	set -- $before $after
	echo "$(field cpu_ns <<<"$out") $(awk -v t="$(( $3 - $1 ))" -v n="$(( $4 - $2 ))" 'BEGIN { printf "%.1f", n ? t / n : 0 }')"
}

bpfvm_start() {   # OBJ: attached, in the background (ATTACH_PID)
	ip netns exec "$NSB" "$BPFVM" xdp attach xb0 "$1" -j "${ATTACH_OPTIONS[@]}" >"$TMP/out" 2>"$TMP/err" &
	ATTACH_PID=$!
	for _ in $(seq 100); do grep -q "attached to" "$TMP/err" && break; sleep 0.05; done
	sleep 0.3
}

bpfvm_stop() {
	kill -INT $ATTACH_PID
	wait $ATTACH_PID
	ATTACH_PID=
}

bpfvm_case() {   # OBJ KIND -> "generator_ns process_ns received sent lost_at_the_socket"
	bpfvm_start "$1"
	local t0 t1 out rx
	t0=$(task_ns $ATTACH_PID)
	out=$(flood "$2" "$PPS" "$SECONDS_")
	sleep 0.2
	t1=$(task_ns $ATTACH_PID)
	bpfvm_stop
	rx=$(jq -r 'select(.final) | .rx' "$TMP/out")
	lost=$(jq -r 'select(.final) | .rx_dropped + .rx_ring_full' "$TMP/out")
	echo "$(field cpu_ns <<<"$out") $(awk -v t="$((t1 - t0))" -v n="$rx" 'BEGIN { printf "%.0f", n ? t / n : 0 }') $rx $(field sent <<<"$out") $lost"
}

ceiling=$(ip -n "$NSB" link set dev xb0 xdp obj "$OBJS/xdp_drop.bpf.o" sec xdp && flood udp 0 2)
ip -n "$NSB" link set dev xb0 xdp off
echo "generator ceiling (kernel XDP dropping): $(field pps <<<"$ceiling") frames/s, $(field cpu_ns <<<"$ceiling") ns CPU a frame"
echo "offered: $PPS frames/s for $SECONDS_ s; ns of CPU per frame"
echo
echo "| program | kernel: generator (its XDP in softirq) | kernel: program run | bpfvm: generator (steering, AF_XDP copy) | bpfvm: process | bpfvm total / kernel total |"
echo "|---|---|---|---|---|---|"
for c in "drop:$OBJS/xdp_drop.bpf.o:udp" "per-CPU count:$OBJS/xdp_percpu_count.bpf.o:udp" "ICMP echo (TX):$ECHO:icmp"; do
	IFS=: read -r name obj kind <<<"$c"
	read -r kgen kprog <<<"$(kernel_case "$obj" "$kind")"
	read -r bgen bproc brx bsent blost <<<"$(bpfvm_case "$obj" "$kind")"
	ratio=$(awk -v b=$((bgen + bproc)) -v k="$kgen" 'BEGIN { printf "%.1f", k ? b / k : 0 }')
	echo "| $name | $kgen | $kprog | $bgen | $bproc ($brx of $bsent frames; the socket lost $blost) | $ratio |"
done

rtt() {   # INTERVAL -> "median p90 max" of 200 pings' round trips, us
	ip netns exec "$NSA" ping -n -c 200 -i "$1" -W 1 10.77.0.2 |
		sed -n 's/.*time=\([0-9.]*\) ms/\1/p' | sort -g |
		awk '{ t[NR] = $1 * 1000 } END { if (NR) printf "%.0f %.0f %.0f", t[int(NR / 2) + 1], t[int(NR * 0.9)], t[NR] }'
}
rtt_case() {   # -> "idle: median/p90/max, loaded: median/p90/max" (us)
	local idle loaded
	idle=$(rtt 0.005)
	flood icmp "$PPS" 3 >/dev/null &   # the 200 pings take 2 s
	sleep 0.3
	loaded=$(rtt 0.01)
	wait $!
	echo "idle ${idle// //} us, under $PPS echo requests/s ${loaded// //} us"
}
ip -n "$NSA" neigh replace 10.77.0.2 lladdr "$BMAC" dev xa0
echo
echo "ping's round trip through the ICMP responder (median/p90/max of 200):"
ip -n "$NSB" link set dev xb0 xdp obj "$ECHO" sec xdp
echo "  kernel: $(rtt_case)"
ip -n "$NSB" link set dev xb0 xdp off
bpfvm_start "$ECHO"
echo "  bpfvm:  $(rtt_case)"
bpfvm_stop
