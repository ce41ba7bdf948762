#!/usr/bin/env bash
# kv_server_swap.sh - a filter loaded, swapped and removed in a running
# server under load, with no request lost or counted twice (issue 15,
# item 2).  Usage: kv_server_swap.sh BPFVM KV_SERVER KV_CLIENT FILTER_V1
# FILTER_V2 BAD_FILTER BTF_FILTER
#
# How it is exact.  kv_server (examples/kv_server) answers every request
# with what its hook decided: F or D when a filter ran (passed, dropped),
# U when none was attached (the hook's empty result).  Every filter version
# counts each request it sees in the same pinned hash kv_requests (client
# id -> count), and itself in the pinned array kv_versions.  A hook run
# runs the old program or the new one during a replace, never neither or
# both, and a detach returns only once no run is in the program; so the
# count a client's id has in kv_requests must equal the F and D answers it
# received, exactly, whenever the attach, the replaces and the detach
# happened.  The clients run through all of it (each must see U, then F/D,
# then U again: one attach and one detach), finish the request in flight
# when told to stop, and report their counts; kv_versions says every
# version ran and adds up to the same total.  Meanwhile a filter the
# verifier refuses is sent, and its refusal must carry the verifier's
# message; `bpfvm map dump` reads the counts live while clients run, and
# the maps sent as descriptors (`bpfvm hook pin`) are the same maps.
# Then the same server with --btf, whose hook is typed by its own BTF
# (gcc -gbtf): the BTF filter counts as exactly, a raw one is refused.
set -u
bpfvm=$1 server=$2 client=$3 v1=$4 v2=$5 bad=$6 btf_filter=$7
. "$(dirname "$0")/../cli_lib.sh"
base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
pins=$(mktemp -d "$base/bpfvm-kv-XXXXXX") || exit 1
sock=$tmp/hooks.sock
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp" "$pins"
}
trap cleanup EXIT
CLIENTS=4
# wait_clients WHAT: every client has said "WHAT" (its output), within 20 s
wait_clients() {
	for _ in $(seq 200); do
		[ "$(cat "$tmp"/client*.out | grep -c "$1$")" = $CLIENTS ] && return 0
		sleep 0.1
	done
	echo "FAIL: not every client said '$1'"
	fails=$((fails + 1))
}

"$server" --socket "$sock" --pin-dir "$pins" --jit --workers 2 >"$tmp/server.out" 2>&1 &
server_pid=$!
pids+=("$server_pid")
for _ in $(seq 50); do grep -q '^kv_server: port' "$tmp/server.out" && break; sleep 0.1; done
port=$(awk '/^kv_server: port/ { print $3 }' "$tmp/server.out")
[ -n "$port" ] || { echo "FAIL: the server did not start:"; cat "$tmp/server.out"; exit 1; }
expect 0 '^hook kv_request  ctx mem  size 48$' "$bpfvm" hook list --socket "$sock"

for i in $(seq $CLIENTS); do
	"$client" "$port" "$i" >"$tmp/client$i.out" 2>&1 &
	pids+=("$!")
done
wait_clients started

expect 1 'kv_request: program refused by the verifier: .*invalid' \
	"$bpfvm" hook attach --socket "$sock" kv_request "$bad"
expect 0 '^link [0-9]+  prog kv_filter  load_ns [0-9]+  swap_ns [0-9]+$' \
	"$bpfvm" hook attach --socket "$sock" kv_request "$v1"
link=$(awk '{ print $2 }' "$tmp/out")
expect 0 "link $link  prog kv_filter  object kv_filter  origin socket" "$bpfvm" hook list --socket "$sock"
expect 0 '"ctx":"mem","size":48,"links":\[\{"id":[0-9]+' "$bpfvm" hook list --socket "$sock" -j
wait_clients "saw attach"
mkdir -m 700 "$pins/received"
expect 0 "^map kv_requests  pinned $pins/received/kv_requests" "$bpfvm" hook pin --socket "$sock" "$link" "$pins/received"
expect 0 "Found [1-9] element" "$bpfvm" map dump pinned "$pins/kv_requests"
live=$(cat "$tmp/out")

swaps=()
for round in 1 2 3 4 5 6; do
	obj=$v2
	[ $((round % 2)) = 0 ] && obj=$v1
	expect 0 "^link $link  prog kv_filter  load_ns" \
		"$bpfvm" hook replace --socket "$sock" "$link" "$obj"
	swaps+=("$(awk '{ print $8 }' "$tmp/out")")
	sleep 0.05
done
sleep 0.2
expect 0 "^link $link  swap_ns [0-9]+$" "$bpfvm" hook detach --socket "$sock" "$link"
expect 1 'no link of that id' "$bpfvm" hook detach --socket "$sock" "$link"
expect 1 '^\{"error":"no link of that id' "$bpfvm" hook detach --socket "$sock" "$link" -j
wait_clients "saw detach"
for p in "${pids[@]:1}"; do kill -TERM "$p"; done
for p in "${pids[@]:1}"; do wait "$p"; done
pids=("$server_pid")

# the counts: kv_requests[id] == F + D answers of client id, for every client
"$bpfvm" map dump pinned "$pins/kv_requests" -j >"$tmp/requests.json"
"$bpfvm" map dump pinned "$pins/kv_versions" -j >"$tmp/versions.json"
total=0
for i in $(seq $CLIENTS); do
	read -r sent filtered dropped unfiltered errors attaches detaches rate < <(
		awk '{ print $4, $6, $8, $10, $12, $14, $16, $18 }' <(tail -1 "$tmp/client$i.out"))
	counted=$(jq ".[] | select(.formatted.key == $i) | .formatted.value" "$tmp/requests.json")
	echo "client $i: sent $sent, filter answers $((filtered + dropped)) ($dropped dropped), counted ${counted:-none}," \
	     "unfiltered $unfiltered, $rate requests/s"
	check "client $i: counted == filtered + dropped" test "${counted:-x}" = $((filtered + dropped))
	check "client $i: one attach and one detach seen under load" test "$attaches/$detaches" = 1/1
	check "client $i: no errors, some dropped" test "$errors" = 0 -a "$dropped" -gt 0
	live_count=$(sed -n "s/^key: (__u32)$i  value: (__u64)\([0-9]*\)$/\1/p" <<<"$live")
	check "client $i: the live dump (${live_count:-none}) is at most the final count" \
		test "${live_count:-0}" -gt 0 -a "${live_count:-0}" -le "${counted:-0}"
	total=$((total + ${counted:-0}))
done
bytes() { "$bpfvm" map dump pinned "$1" -j | jq -c 'map({key, value}) | sort'; }
check "the maps sent as descriptors are the host's, live" \
	test "$(bytes "$pins/received/kv_requests")" = "$(bytes "$pins/kv_requests")"
by_version() { jq ".[] | select(.formatted.key == $1) | .formatted.value" "$tmp/versions.json"; }
echo "version 1 saw $(by_version 1), version 2 saw $(by_version 2); swap_ns ${swaps[*]}"
check "both versions ran" test "$(by_version 1)" -gt 0 -a "$(by_version 2)" -gt 0
check "the versions' counts add up" test $(($(by_version 1) + $(by_version 2))) = "$total"

expect 0 '^hook kv_request  ctx mem  size 48$' "$bpfvm" hook list --socket "$sock"
check "no link left" test "$(grep -c link "$tmp/out")" = 0
kill -TERM "$server_pid"
wait "$server_pid"
check "the server ends on SIGTERM and removes its socket" test ! -e "$sock"
pids=()

# the hook typed by the server's own BTF: clients with a known number of requests
if ! readelf -S "$server" | grep -q '\.BTF'; then
	echo "skipped: the BTF hook: $server has no .BTF (built by a compiler without -gbtf)"
	summary
	exit
fi
rm -f "$pins"/kv_*
"$server" --socket "$sock" --pin-dir "$pins" --btf >"$tmp/server.out" 2>&1 &
pids=("$!")
for _ in $(seq 50); do grep -q '^kv_server: port' "$tmp/server.out" && break; sleep 0.1; done
port=$(awk '/^kv_server: port/ { print $3 }' "$tmp/server.out")
expect 0 '^hook kv_request  ctx btf  type kv_request_check  btf_id [0-9]+$' "$bpfvm" hook list --socket "$sock"
expect 1 'takes tracing programs; kv_filter is a raw memory program' \
	"$bpfvm" hook attach --socket "$sock" kv_request "$v1"
expect 0 '^link [0-9]+  prog kv_btf_filter' "$bpfvm" hook attach --socket "$sock" kv_request "$btf_filter"
clients=()
for i in $(seq $CLIENTS); do
	"$client" "$port" "$i" --requests 2000 >"$tmp/client$i.out" 2>&1 &
	clients+=("$!")
done
wait "${clients[@]}"
expect 0 'Found 4 elements' "$bpfvm" map dump pinned "$pins/kv_requests"
for i in $(seq $CLIENTS); do
	check "btf hook: client $i's 2000 requests counted, 200 dropped" \
		grep -q "^client $i sent 2000 filtered 1800 dropped 200 unfiltered 0 errors 0" "$tmp/client$i.out"
	check "btf hook: client $i counted 2000" grep -q "^key: (__u32)$i  value: (__u64)2000$" "$tmp/out"
done
kill -TERM "${pids[0]}"
wait "${pids[0]}"

# a host's default socket, found by its pid
XDG_RUNTIME_DIR=$tmp "$server" >"$tmp/server2.out" 2>&1 &
pids=("$!")
for _ in $(seq 50); do grep -q '^kv_server: port' "$tmp/server2.out" && break; sleep 0.1; done
check "the default socket is in \$XDG_RUNTIME_DIR" grep -q "hooks $tmp/bpfvm-hooks-${pids[0]}.sock$" "$tmp/server2.out"
expect 0 '^hook kv_request' env XDG_RUNTIME_DIR="$tmp" "$bpfvm" hook list --pid "${pids[0]}"
kill -TERM "${pids[0]}"
wait "${pids[0]}"
pids=()
summary
