#!/usr/bin/env bash
# xdp_live.sh - `bpfvm xdp attach` on live interfaces: two network
# namespaces joined by a veth pair; xdp_traffic (tests/xdp/xdp_traffic.c)
# sends known frames from one end, bpfvm runs a program on the other, and
# what the programs counted (their `counts` map) and what came back are
# compared with the same object attached by the kernel to the same veth.
# An xskmap left empty (the command fills none) drops by the program's
# fallback.  Then the PASS path carries a TCP handshake, a router between two veth
# pairs forwards through a devmap (ping through it answered), receive
# coalescing is checked off and at 1 ms (every TX reply of a flood sent), a
# switch broadcasts through a devmap and a devmap_hash and redirects to a
# device bpfvm is not attached to (up, down, missing), and attach's refusals
# and its recovery from a kill -9 are checked.
#
# usage: xdp_live.sh BPFVM XDP_TRAFFIC OBJ_DIR BAD_OBJ
# Skips (77) without root, network namespaces, veth or AF_XDP.
set -u
BPFVM=$1 TRAFFIC=$2 OBJS=$3 BAD_OBJ=$4
NSA=bpfvm-xdpa-$$ NSB=bpfvm-xdpb-$$ NSR=bpfvm-xdpr-$$ NSC=bpfvm-xdpc-$$ NSS=bpfvm-xdps-$$ NSP=bpfvm-xdpp-$$
A=xa$$ B=xb$$
IPA=10.77.0.1 IPB=10.77.0.2
TMP=$(mktemp -d)
ATTACH_PID=
fails=0

skip() { echo "SKIP: $*"; exit 77; }
cleanup() {
	[ -n "$ATTACH_PID" ] && kill -9 "$ATTACH_PID" 2>/dev/null
	umount "$TMP/bpffs" 2>/dev/null
	for ns in "$NSA" "$NSB" "$NSR" "$NSC" "$NSS" "$NSP"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

check() {   # WHAT GOT WANT
	if [ "$2" = "$3" ]; then
		echo "ok: $1: $2"
	else
		echo "FAIL: $1: got '$2', want '$3'"
		fails=$((fails + 1))
	fi
}
check_grep() {   # WHAT PATTERN FILE
	if grep -qE "$2" "$3"; then
		echo "ok: $1"
	else
		echo "FAIL: $1: no '$2' in:"; cat "$3"
		fails=$((fails + 1))
	fi
}
inb() { ip netns exec "$NSB" "$@"; }
ina() { ip netns exec "$NSA" "$@"; }
inr() { ip netns exec "$NSR" "$@"; }

# ---- the namespaces ------------------------------------------------------
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, XDP)"
# those of an earlier run that was killed (a ctest timeout) go first
for ns in $(ip netns list 2>/dev/null | sed -n 's/^\(bpfvm-xdp[abrcsp]-\([0-9]*\)\).*/\1 \2/p' | \
            while read -r name pid; do kill -0 "$pid" 2>/dev/null || echo "$name"; done); do
	ip netns del "$ns"
done
ip netns add "$NSA" 2>/dev/null && ip netns add "$NSB" 2>/dev/null || skip "no network namespaces here"
# two queues each way: attach serves both, a worker each (the cpumap case
# hands frames between them)
ip link add "$A" netns "$NSA" numtxqueues 2 numrxqueues 2 type veth \
	peer name "$B" netns "$NSB" numtxqueues 2 numrxqueues 2 2>/dev/null || skip "no veth here"
for ns in "$NSA" "$NSB"; do
	# no IPv6 chatter (router solicitations, MLD) among the counted frames
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link set lo up
done
ip -n "$NSA" addr add $IPA/24 dev "$A"
ip -n "$NSB" addr add $IPB/24 dev "$B"
ip -n "$NSA" link set "$A" up
ip -n "$NSB" link set "$B" up
# veth takes its peer's XDP_TX frames only where it runs XDP itself; and
# its TCP must carry finished checksums (xdp_traffic.c, csum-off)
ip -n "$NSA" link set dev "$A" xdp obj "$OBJS/xdp_pass.bpf.o" sec xdp || skip "the kernel does not attach XDP here"
ina "$TRAFFIC" csum-off "$A" || exit 1
BMAC=$(ip -n "$NSB" -j link show "$B" | jq -r '.[0].address')

# ---- one run under bpfvm, one under the kernel ----------------------------------
# Starts `bpfvm xdp attach` in the background; waits until it serves,
# which its "attached to" line says: from then on no frame is lost, and
# traffic starts at once.  (The log goes first: a background job truncates
# it only once it runs, and the last run's line, read before that, once
# started traffic early, which looked like a veth losing its first frames.)
attach_start() {   # PROG [OPTIONS]
	rm -f "$TMP/err"
	# not through inb: $! is then bpfvm itself (ip netns exec execs it),
	# which takes the SIGINT a background job of a script would ignore
	ip netns exec "$NSB" "$BPFVM" xdp attach "$B" "$OBJS/$1.bpf.o" --dump-maps -j "${@:2}" >"$TMP/out" \
		2>"$TMP/err" &
	ATTACH_PID=$!
	for _ in $(seq 100); do
		grep -qs "attached to" "$TMP/err" && return 0
		kill -0 $ATTACH_PID 2>/dev/null || break
		sleep 0.05
	done
	wait $ATTACH_PID 2>/dev/null
	ATTACH_PID=
	if grep -qE "AF_XDP socket.*(not supported|Address family)" "$TMP/err"; then
		cat "$TMP/err"; skip "no AF_XDP sockets here"
	fi
	echo "FAIL: bpfvm xdp attach $1 did not start:"; cat "$TMP/err"
	fails=$((fails + 1))
	return 1
}
attach_stop() {
	kill -INT $ATTACH_PID
	wait $ATTACH_PID
	local rc=$?
	ATTACH_PID=
	[ $rc = 0 ] || { echo "FAIL: bpfvm xdp attach exited $rc"; cat "$TMP/err"; fails=$((fails + 1)); }
}
# The traffic's results, without the unsolicited frames (other=).
send() {   # KIND COUNT
	ina "$TRAFFIC" send "$A" "$BMAC" $IPA $IPB "$1" "$2" | sed 's/ other=.*//'
}
# udp icmp tcp done (xdp_counts.h's kinds; not "other": ARP's timing differs)
bpfvm_counts() {
	jq -r 'select(.type == "map" and .map == "counts" and .key != 3) | .value' "$TMP/out" | paste -sd' '
}
# The kernel's map NAME of the XDP program on NS's DEV, as "id N": by name,
# bpftool would take every map of that name on the machine (another test's
# or bench's programs loaded meanwhile included).
kernel_map() {   # NS DEV NAME
	local prog m
	prog=$(ip -n "$1" -j link show dev "$2" | jq -r '.[0].xdp.prog.id // empty')
	for m in $([ -n "$prog" ] && bpftool prog show id "$prog" -j | jq -r '.map_ids[]?'); do
		[ "$(bpftool map show id "$m" -j | jq -r .name)" = "$3" ] && { echo "id $m"; return; }
	done
	echo "no map '$3' in the XDP program of $1/$2" >&2
	echo "id 0"
}
kernel_counts() {   # [NS DEV]
	bpftool map dump $(kernel_map "${1:-$NSB}" "${2:-$B}" counts) -j |
		jq -r '.[] | select(.formatted.key != 3) | .formatted.value' | paste -sd' '
}

# One case: the same object and traffic under bpfvm, then under the kernel.
compare() {   # PROG KIND COUNT WANT_TRAFFIC WANT_COUNTS WANT_VERDICT
	local prog=$1 kind=$2 n=$3
	attach_start "$prog" || return
	local got
	got=$(send "$kind" "$n")
	attach_stop
	check "$prog: bpfvm: traffic" "$got" "$4"
	check "$prog: bpfvm: counts" "$(bpfvm_counts)" "$5"
	check "$prog: bpfvm: verdicts" "$(jq -r "select(.final) | .$6" "$TMP/out")" "$n"
	ip -n "$NSB" link set dev "$B" xdp obj "$OBJS/$prog.bpf.o" sec xdp
	got=$(send "$kind" "$n")
	check "$prog: kernel: traffic" "$got" "$4"
	check "$prog: kernel: counts" "$(kernel_counts)" "$5"
	ip -n "$NSB" link set dev "$B" xdp off
}

compare xdp_count_drop udp 30 "sent=30 udp7000=0 udp7001=0 echo_reply=0" "30 0 0 0" drop
compare xdp_count_drop icmp 20 "sent=20 udp7000=0 udp7001=0 echo_reply=0" "0 20 0 0" drop
compare xdp_udp_rewrite udp 40 "sent=40 udp7000=0 udp7001=40 echo_reply=0" "40 0 0 40" tx
compare xdp_icmp_echo icmp 40 "sent=40 udp7000=0 udp7001=0 echo_reply=40" "0 40 0 40" tx
# into an xskmap nothing fills (the command has no AF_XDP consumer: it says
# so): the program's fallback, XDP_DROP, as in the kernel with the map empty
compare xdp_to_xsk udp 20 "sent=20 udp7000=0 udp7001=0 echo_reply=0" "20 0 0 0" drop
check_grep "xdp_to_xsk: bpfvm says what becomes of xskmap redirects" \
           "map 'xsks' is an xskmap.*returns the action in its flags" "$TMP/err"

# ---- receive coalescing (--coalesce-us) -------------------------------------------
# off: a wake-up for every frame, as before it existed
if attach_start xdp_icmp_echo --coalesce-us 0; then
	got=$(send icmp 40)
	attach_stop
	check "no coalescing: traffic" "$got" "sent=40 udp7000=0 udp7001=0 echo_reply=40"
fi
# 1 ms at 100,000 echo requests a second: some 100 frames a wake-up, more
# replies than one kick of a copy-mode socket sends (32); every reply the
# responder sent reaches A
a_rx() { ip -n "$NSA" -j -s link show "$A" | jq -r '.[0].stats64.rx.packets'; }
if attach_start xdp_icmp_echo --coalesce-us 1000; then
	rx_before=$(a_rx)
	ina "$TRAFFIC" flood "$A" "$BMAC" $IPA $IPB icmp 100000 1 >/dev/null
	sleep 0.2
	arrived=$(( $(a_rx) - rx_before ))
	attach_stop
	replies=$(jq -r 'select(.final) | .tx' "$TMP/out")
	check "coalescing: the $replies replies sent (at least 50,000) reached $A ($arrived frames)" \
		"$(( replies >= 50000 && arrived >= replies ))" 1
fi

# ---- PASS: a TCP handshake through the TAP standing in for the veth ----------
tcp_hello() {
	inb "$TRAFFIC" tcp-server $IPB 8080 >"$TMP/server" 2>&1 &
	local server=$!
	for _ in $(seq 50); do grep -q listening "$TMP/server" && break; sleep 0.05; done
	ina "$TRAFFIC" tcp-client $IPB 8080
	local rc=$?
	wait $server || rc=1
	return $rc
}
bpfvm_map_update() { local name=$1; shift; BPFVM_PIN_DIR=$TMP/pins "$BPFVM" map update pinned "$name" "$@"; }
kernel_map_update_b() { local name=$1; shift; inb bpftool map update $(kernel_map "$NSB" "$B" "$name") "$@"; }
# The same through a cpumap: frames handed to another worker, which passes them.
pass_case() {   # PROG FILL-MAPS-COMMAND...
	local prog=$1
	shift
	ip -n "$NSA" neigh flush dev "$A"
	mkdir -p -m 700 "$TMP/pins"
	BPFVM_PIN_DIR=$TMP/pins attach_start "$prog" --pin-maps || return
	"$@" bpfvm_map_update
	ip -n "$NSB" addr del $IPB/24 dev "$B"
	ip -n "$NSB" addr add $IPB/24 dev "xdp-$B"
	tcp_hello; check "$prog: bpfvm: TCP handshake and hello" "$?" 0
	attach_stop
	check "$prog: bpfvm: frames the stack sent out" "$(jq -r 'select(.final) | .stack_tx > 0' "$TMP/out")" true
	local bpfvm_tcp
	bpfvm_tcp=$(jq -r 'select(.type == "map" and .map == "counts" and .key == 2) | .value' "$TMP/out")
	check "$prog: bpfvm: every frame counted passed" "$(jq -r 'select(.final) | .pass + .redirect' "$TMP/out")" \
	      "$(jq -r 'select(.type == "map" and .map == "counts" and .key != 4) | .value' "$TMP/out" | jq -s add)"
	ip -n "$NSB" addr add $IPB/24 dev "$B"
	ip -n "$NSA" neigh flush dev "$A"
	ip -n "$NSB" link set dev "$B" xdp obj "$OBJS/$prog.bpf.o" sec xdp
	"$@" kernel_map_update_b
	tcp_hello; check "$prog: kernel: TCP handshake and hello" "$?" 0
	# A's TCP frames: SYN, the ACKs, FIN: 4 or 5 as delayed ACKs and the
	# two closes fall (seen either way under each), so both at least 3
	local kernel_tcp
	kernel_tcp=$(bpftool map dump $(kernel_map "$NSB" "$B" counts) -j | jq -r '.[] | select(.formatted.key == 2) | .formatted.value')
	check "$prog: TCP frames counted (bpfvm $bpfvm_tcp, kernel $kernel_tcp), each at least 3" \
	      "$([ "$bpfvm_tcp" -ge 3 ] && [ "$kernel_tcp" -ge 3 ] && echo yes)" yes
	ip -n "$NSB" link set dev "$B" xdp off
}
no_maps() { :; }
cpu1_queue() { "$1" cpus key hex 01 00 00 00 value hex c0 00 00 00; }
pass_case xdp_count_pass no_maps
pass_case xdp_cpu_pass cpu1_queue

# ---- a router: two veth pairs, A - R - C, forwarding through a devmap -------------
# A and C route each other's subnet through R's ports (static neighbours);
# ICMP echo requests from A reach C's stack and its replies come back.
mac_of() { ip -n "$1" -j link show "$2" | jq -r '.[0].address'; }
index_bytes() {   # NS IFACE -> its ifindex as 4 little-endian hex bytes
	local i
	i=$(ip -n "$1" -j link show "$2" | jq -r '.[0].ifindex')
	printf '%02x %02x %02x %02x' $((i & 255)) $((i >> 8 & 255)) $((i >> 16 & 255)) $((i >> 24))
}
mac_bytes() { mac_of "$1" "$2" | tr ':' ' '; }
router_setup() {
	ip netns add "$NSR" && ip netns add "$NSC" || return 1
	ip link add r0 netns "$NSR" type veth peer name a1 netns "$NSA" || return 1
	ip link add r1 netns "$NSR" type veth peer name c1 netns "$NSC" || return 1
	for ns in "$NSR" "$NSC"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	done
	ip -n "$NSR" link set r0 up && ip -n "$NSR" link set r1 up
	ip -n "$NSA" addr add 10.80.1.1/24 dev a1 && ip -n "$NSA" link set a1 up
	ip -n "$NSC" addr add 10.80.2.1/24 dev c1 && ip -n "$NSC" link set c1 up
	ip -n "$NSA" neigh add 10.80.1.254 lladdr "$(mac_of "$NSR" r0)" dev a1
	ip -n "$NSC" neigh add 10.80.2.254 lladdr "$(mac_of "$NSR" r1)" dev c1
	ip -n "$NSA" route add 10.80.2.0/24 via 10.80.1.254
	ip -n "$NSC" route add 10.80.1.0/24 via 10.80.2.254
	# the kernel's devmap sends to a veth whose peer runs XDP (as XDP_TX)
	ip -n "$NSA" link set dev a1 xdp obj "$OBJS/xdp_pass.bpf.o" sec xdp
	ip -n "$NSC" link set dev c1 xdp obj "$OBJS/xdp_pass.bpf.o" sec xdp
}
router_maps() {   # MAP-UPDATE-COMMAND...: fills ports and next_hop
	local r0 r1
	r0=$(index_bytes "$NSR" r0) r1=$(index_bytes "$NSR" r1)
	"$@" ports key hex $r0 value hex $r1 &&
	"$@" ports key hex $r1 value hex $r0 &&
	"$@" next_hop key hex $r0 value hex $(mac_bytes "$NSC" c1) $(mac_bytes "$NSR" r1) &&
	"$@" next_hop key hex $r1 value hex $(mac_bytes "$NSA" a1) $(mac_bytes "$NSR" r0)
}
# in the router's namespace: a devmap takes its ifindexes from the caller's
kernel_map_update() { local name=$1; shift; inr bpftool map update $(kernel_map "$NSR" r0 "$name") "$@"; }
router_ping() {
	ina "$TRAFFIC" send a1 "$(mac_of "$NSR" r0)" 10.80.1.1 10.80.2.1 icmp 20 | sed 's/ other=.*//'
}
if router_setup; then
	rm -f "$TMP/pins/"* "$TMP/err"
	BPFVM_PIN_DIR=$TMP/pins ip netns exec "$NSR" "$BPFVM" xdp attach r0,r1 "$OBJS/xdp_router.bpf.o" --pin-maps \
		--dump-maps -j >"$TMP/out" 2>"$TMP/err" &
	ATTACH_PID=$!
	for _ in $(seq 100); do [ "$(grep -cs "attached to" "$TMP/err")" = 2 ] && break; sleep 0.05; done
	router_maps bpfvm_map_update; check "router: bpfvm: maps filled" "$?" 0
	got=$(router_ping)
	attach_stop
	check "router: bpfvm: ping through it" "$got" "sent=20 udp7000=0 udp7001=0 echo_reply=20"
	check "router: bpfvm: counts" "$(bpfvm_counts)" "0 40 0 40"
	check "router: bpfvm: redirects" "$(jq -r 'select(.final) | .redirect' "$TMP/out" | paste -sd' ')" "20 20"
	ip -n "$NSR" link set dev r0 xdp obj "$OBJS/xdp_router.bpf.o" sec xdp
	# the same program on r1, so that both ports share its maps
	id=$(ip -n "$NSR" -j link show r0 | jq -r '.[0].xdp.prog.id')
	mkdir "$TMP/bpffs" && mount -t bpf bpf "$TMP/bpffs" &&
		inr bpftool prog pin id "$id" "$TMP/bpffs/router" && inr bpftool net attach xdpdrv pinned "$TMP/bpffs/router" dev r1
	router_maps kernel_map_update; check "router: kernel: maps filled" "$?" 0
	got=$(router_ping)
	check "router: kernel: ping through it" "$got" "sent=20 udp7000=0 udp7001=0 echo_reply=20"
	check "router: kernel: counts" "$(kernel_counts "$NSR" r0)" "0 40 0 40"
	umount "$TMP/bpffs"
else
	echo "FAIL: router: its namespaces could not be set up"
	fails=$((fails + 1))
fi

# ---- a switch: broadcasts, and a device bpfvm is not attached to -------------------
# Switch S's ports s0-s2 are veths to p0-p2 in P.  Frames sent on p0 go to
# every port of a devmap but s0 (UDP: BPF_F_EXCLUDE_INGRESS) and of a
# devmap_hash, s0 too (ICMP), and arrive on each peer as they were sent;
# bpfvm serves s0 and s1 and reaches s2, which it is not attached to,
# through AF_PACKET.  Then (bc_mode 1) all to s2 alone: it arrives; with s2
# down it is a redirect error, as is (bc_mode 2) bpf_redirect to an
# ifindex no device has.  Frames grown past s1's MTU (bc_mode 4 and 6) do
# not go out of s1: a broadcast skips it, a redirect to it is an error.
# Last, s2 deleted: its devmap entry goes with it, and the program gets
# its fallback (XDP_DROP); s2 and p2 are made again for the next run.
ins() { ip netns exec "$NSS" "$@"; }
switch_port() {   # I: s$I in S joined to p$I in P, both up
	ip link add s$1 netns "$NSS" type veth peer name p$1 netns "$NSP" &&
	ip -n "$NSS" link set s$1 up && ip -n "$NSP" link set p$1 up &&
	# the kernel's devmap sends to a veth whose peer runs XDP
	ip -n "$NSP" link set dev p$1 xdp obj "$OBJS/xdp_pass.bpf.o" sec xdp
}
switch_setup() {
	ip netns add "$NSS" && ip netns add "$NSP" || return 1
	for ns in "$NSS" "$NSP"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	done
	for i in 0 1 2; do
		switch_port $i || return 1
	done
}
switch_maps() {   # MAP-UPDATE-COMMAND...: bc_ports and bc_ports_hash hold s0-s2, bc_mode 0
	for i in 0 1 2; do
		"$@" bc_ports key hex "0$i" 00 00 00 value hex $(index_bytes "$NSS" s$i) &&
		"$@" bc_ports_hash key hex "0$i" 00 00 00 value hex $(index_bytes "$NSS" s$i) || return 1
	done
	"$@" bc_mode key hex 00 00 00 00 value hex 00 00 00 00
}
switch_mode() {   # MODE IFINDEX MAP-UPDATE-COMMAND...
	local mode=$1 ifindex=$2
	shift 2
	"$@" bc_mode key hex 01 00 00 00 value hex $(printf '%02x %02x %02x %02x' $((ifindex & 255)) \
		$((ifindex >> 8 & 255)) $((ifindex >> 16 & 255)) $((ifindex >> 24))) &&
	"$@" bc_mode key hex 00 00 00 00 value hex "0$mode" 00 00 00
}
# What each of p0-p2 (or the ports given) received of 20 frames of KIND sent on p0.
switch_send() {   # KIND [PORTS]
	local i receivers= ports=${2:-0 1 2}
	rm -f "$TMP"/recv[012]   # (their last "listening" would not wait for these)
	for i in $ports; do
		ip netns exec "$NSP" "$TRAFFIC" recv p$i 10.90.0.1 10.90.0.2 2500 >"$TMP/recv$i" &
		receivers="$receivers $!"
	done
	for _ in $(seq 50); do
		[ "$(cat "$TMP"/recv[012] 2>/dev/null | grep -c listening)" = "$(echo $ports | wc -w)" ] && break
		sleep 0.05
	done
	ip netns exec "$NSP" "$TRAFFIC" send p0 "$(mac_of "$NSS" s0)" 10.90.0.1 10.90.0.2 "$1" 20 >/dev/null
	wait $receivers
	for i in $ports; do sed -n 's/ other=.*//; s/^udp/p'$i': udp/p' "$TMP/recv$i"; done | paste -sd' '
}
ifindex_of() { ip -n "$1" -j link show "$2" | jq -r '.[0].ifindex'; }
switch_cases() {   # WHO MAP-UPDATE-COMMAND...
	local who=$1
	shift
	check "switch: $who: UDP to all ports but the ingress one" "$(switch_send udp)" \
	      "p0: udp7000=0 echo_request=0 p1: udp7000=20 echo_request=0 p2: udp7000=20 echo_request=0"
	check "switch: $who: ICMP to all ports" "$(switch_send icmp)" \
	      "p0: udp7000=0 echo_request=20 p1: udp7000=0 echo_request=20 p2: udp7000=0 echo_request=20"
	switch_mode 1 0 "$@"
	check "switch: $who: to s2 alone" "$(switch_send udp)" \
	      "p0: udp7000=0 echo_request=0 p1: udp7000=0 echo_request=0 p2: udp7000=20 echo_request=0"
	ip -n "$NSS" link set s2 down
	check "switch: $who: to s2, down" "$(switch_send udp)" \
	      "p0: udp7000=0 echo_request=0 p1: udp7000=0 echo_request=0 p2: udp7000=0 echo_request=0"
	ip -n "$NSS" link set s2 up
	switch_mode 2 $((0x7ffffff0)) "$@"
	check "switch: $who: to a missing ifindex" "$(switch_send udp)" \
	      "p0: udp7000=0 echo_request=0 p1: udp7000=0 echo_request=0 p2: udp7000=0 echo_request=0"
	# 74-byte frames grown to 138: more than s1's MTU 68 and Ethernet header
	ip -n "$NSS" link set s1 mtu 68
	switch_mode 4 0 "$@"
	check "switch: $who: grown UDP to all ports but the ingress one, past s1's MTU" "$(switch_send udp)" \
	      "p0: udp7000=0 echo_request=0 p1: udp7000=0 echo_request=0 p2: udp7000=20 echo_request=0"
	switch_mode 6 "$(ifindex_of "$NSS" s1)" "$@"
	check "switch: $who: grown, to s1, past its MTU" "$(switch_send udp)" \
	      "p0: udp7000=0 echo_request=0 p1: udp7000=0 echo_request=0 p2: udp7000=0 echo_request=0"
	ip -n "$NSS" link set s1 mtu 1500
	check "switch: $who: grown, to s1, within its MTU" "$(switch_send udp)" \
	      "p0: udp7000=0 echo_request=0 p1: udp7000=20 echo_request=0 p2: udp7000=0 echo_request=0"
	switch_mode 1 0 "$@"
	ip -n "$NSS" link del s2
	check "switch: $who: to s2, deleted" "$(switch_send udp "0 1")" \
	      "p0: udp7000=0 echo_request=0 p1: udp7000=0 echo_request=0"
	switch_port 2
}
kernel_map_update_s() { local name=$1; shift; ins bpftool map update $(kernel_map "$NSS" s0 "$name") "$@"; }
# (in S: a devmap's update checks the device in the caller's namespace)
bpfvm_map_update_s() { local name=$1; shift; BPFVM_PIN_DIR=$TMP/pins ins "$BPFVM" map update pinned "$name" "$@"; }
if switch_setup; then
	mkdir -p -m 700 "$TMP/pins"
	rm -f "$TMP/err"
	BPFVM_PIN_DIR=$TMP/pins ip netns exec "$NSS" "$BPFVM" xdp attach s0,s1 "$OBJS/xdp_broadcast.bpf.o" --pin-maps \
		--dump-maps -j >"$TMP/out" 2>"$TMP/err" &
	ATTACH_PID=$!
	for _ in $(seq 100); do [ "$(grep -cs "attached to" "$TMP/err")" = 2 ] && break; sleep 0.05; done
	switch_maps bpfvm_map_update_s; check "switch: bpfvm: maps filled" "$?" 0
	switch_cases bpfvm bpfvm_map_update_s
	attach_stop
	# s0's 180 frames: 100 redirected (UDP and ICMP broadcast, to s2, grown
	# broadcast, grown to s1 within its MTU), 60 redirect errors (s2 down,
	# no device, past s1's MTU), 20 dropped (s2 deleted: the fallback)
	check "switch: bpfvm: s0's redirects, errors and drops" \
	      "$(jq -r 'select(.final and .ifname == "s0") | "\(.rx) \(.redirect) \(.redirect_errors) \(.drop)"' \
	         "$TMP/out")" "180 100 60 20"
	# udp icmp tcp redirected: the deleted s2's frames are not redirected
	check "switch: bpfvm: counts" "$(bpfvm_counts)" "160 20 0 160"
	ip -n "$NSS" link set dev s0 xdp obj "$OBJS/xdp_broadcast.bpf.o" sec xdp
	switch_maps kernel_map_update_s; check "switch: kernel: maps filled" "$?" 0
	switch_cases kernel kernel_map_update_s
	check "switch: kernel: counts" "$(kernel_counts "$NSS" s0)" "160 20 0 160"
	ip -n "$NSS" link set dev s0 xdp off
else
	echo "FAIL: switch: its namespaces could not be set up"
	fails=$((fails + 1))
fi

# ---- refusals --------------------------------------------------------------------
xdp_name() { ip -n "$NSB" -j link show "$B" | jq -r '.[0].xdp.prog.name // "none"'; }
expect_refusal() {   # WHAT PATTERN ATTACH-ARGS...
	local what=$1 pattern=$2
	shift 2
	inb timeout 10 "$BPFVM" xdp attach "$B" "$@" --duration 1 >/dev/null 2>"$TMP/err"
	check "$what: exit status" "$?" 1
	check_grep "$what: message" "$pattern" "$TMP/err"
}
expect_refusal "verifier" "refused|verif|invalid" "$BAD_OBJ"
expect_refusal "coalescing" "xdp: --coalesce-us: '1001' is not a number of microseconds \\(0 to 1000\\)" \
	"$OBJS/xdp_count_drop.bpf.o" --coalesce-us 1001
# (XDP on its peer caps a veth's MTU below the UMEM frame's limit: off a moment)
ip -n "$NSA" link set dev "$A" xdp off
ip -n "$NSB" link set dev "$B" mtu 4000
expect_refusal "mtu" "MTU 4000 is larger than [0-9]+" "$OBJS/xdp_count_drop.bpf.o"
ip -n "$NSB" link set dev "$B" mtu 1500
ip -n "$NSA" link set dev "$A" xdp obj "$OBJS/xdp_pass.bpf.o" sec xdp
ip -n "$NSB" link set dev "$B" xdp obj "$OBJS/xdp_pass.bpf.o" sec xdp
expect_refusal "foreign program" "already has XDP program 'pass'" "$OBJS/xdp_count_drop.bpf.o"
inb "$BPFVM" xdp detach "$B" 2>"$TMP/err"
check "foreign program: detach refuses" "$?" 1
check "foreign program: left in place" "$(xdp_name)" pass
ip -n "$NSB" link set dev "$B" xdp off

# ---- kill -9, and what is left removed --------------------------------------------
orphan() {
	attach_start xdp_count_drop || return 1
	kill -9 $ATTACH_PID
	wait $ATTACH_PID 2>/dev/null
	ATTACH_PID=
	check "orphan: steering program left by kill -9" "$(xdp_name)" bpfvm_steer
}
if orphan; then
	inb timeout 10 "$BPFVM" xdp attach "$B" "$OBJS/xdp_count_drop.bpf.o" --duration 0.5 >/dev/null 2>"$TMP/err"
	check "orphan: the next attach runs" "$?" 0
	check_grep "orphan: the next attach removed it" "removed the steering program" "$TMP/err"
	check "orphan: nothing left after that attach" "$(xdp_name)" none
fi
if orphan; then
	inb "$BPFVM" xdp detach "$B" 2>"$TMP/err"
	check "orphan: bpfvm xdp detach" "$?" 0
	check "orphan: nothing left after detach" "$(xdp_name)" none
fi
if attach_start xdp_count_drop; then
	inb "$BPFVM" xdp detach "$B" 2>"$TMP/err"
	check "live: bpfvm xdp detach stops the attach" "$?" 0
	wait $ATTACH_PID
	check "live: the attach exits cleanly" "$?" 0
	ATTACH_PID=
	check "live: nothing left" "$(xdp_name)" none
	check "live: its TAP is gone" "$(ip -n "$NSB" link show "xdp-$B" >/dev/null 2>&1; echo $?)" 1
fi

echo "xdp_live: $fails failed"
[ $fails = 0 ]
