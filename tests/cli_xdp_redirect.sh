#!/usr/bin/env bash
# cli_xdp_redirect.sh - `bpfvm run` names where an XDP program redirects a
# frame (tests/cli/xdp_redirect.c): a devmap entry (missing first: the
# flags' XDP_PASS; then filled through `bpfvm map update pinned`), a devmap
# broadcast, a cpumap entry and bpf_redirect's ifindex; in text, with -j,
# and counted per target over a capture.  Usage: cli_xdp_redirect.sh BPFVM OBJECT
set -u
bpfvm=$1 obj=$2
base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
dir=$(mktemp -d "$base/bpfvm-test-XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
fails=0 passes=0
pins=$dir/pins
head -c 64 /dev/zero >"$dir/packet"

# expect TEXT PROG [ARGS]: bpfvm run of PROG succeeds and prints TEXT
expect() {
	local want=$1 prog=$2; shift 2
	local out
	out=$("$bpfvm" run "$obj" --prog "$prog" --data-in "$dir/packet" --pin-dir "$pins" "$@" 2>&1)
	if [ $? -eq 0 ] && grep -qF -- "$want" <<<"$out"; then
		passes=$((passes + 1))
	else
		echo "FAIL: $prog $*: want '$want', got:"
		echo "$out"
		fails=$((fails + 1))
	fi
}
update() {
	if "$bpfvm" map update pinned "$pins/$1" key $2 value $3 >/dev/null; then
		passes=$((passes + 1))
	else
		echo "FAIL: map update $*"
		fails=$((fails + 1))
	fi
}

expect 'Return value: 2,' to_port
update tx_ports "hex 01 00 00 00" "hex 01 00 00 00 ff ff ff ff"
expect 'XDP_REDIRECT, redirect: devmap tx_ports[1] -> ifindex 1 (lo)' to_port
expect '"redirect":{"kind":"devmap","map":"tx_ports","map_type":"devmap","key":1,"ifindex":1,"ifname":"lo"}' to_port -j
expect 'XDP_REDIRECT, redirect: devmap tx_ports broadcast (excluding the ingress device)' to_all_ports
expect 'Return value: 1,' to_cpu
update cpus "hex 00 00 00 00" "hex 40 00 00 00"
expect 'XDP_REDIRECT, redirect: cpumap cpus[0] -> cpu 0 (qsize 64)' to_cpu
expect 'XDP_REDIRECT, redirect: ifindex 1 (lo)' to_ifindex
expect '"verdict":"XDP_REDIRECT","redirect":{"kind":"ifindex","ifindex":1,"ifname":"lo","flags":0}' to_ifindex -j

# a capture of three packets: each redirected to the same port
python3 - "$dir/three.pcap" <<'PY'
import struct, sys
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(3):
        pkt = bytes(12) + b'\x08\x00' + bytes(50)
        f.write(struct.pack('<IIII', i, 0, len(pkt), len(pkt)) + pkt)
PY
out=$("$bpfvm" run "$obj" --prog to_port --pcap "$dir/three.pcap" --pin-dir "$pins" 2>&1)
if grep -qF 'redirect: devmap tx_ports[1] -> ifindex 1 (lo) 3' <<<"$out"; then
	passes=$((passes + 1))
else
	echo "FAIL: capture's redirect count:"
	echo "$out"
	fails=$((fails + 1))
fi

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
