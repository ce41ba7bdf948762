#!/usr/bin/env bash
# bench.sh - kv_server's throughput with and without a filter, and how long
# a swap takes: 4 clients for SECONDS each way, then ROUNDS replaces timed
# by the host (load_ns: open, load, verify; swap_ns: bpfvm_hook_replace,
# until no run is in the old program).  Usage, from the build directory:
#   ../examples/kv_server/bench.sh [SECONDS] [ROUNDS] [--jit]
set -u
seconds=${1:-3} rounds=${2:-20} jit=${3:-}
kv=examples/kv_server bpfvm=tools/bpfvm
tmp=$(mktemp -d) pins=$(mktemp -d /dev/shm/bpfvm-kvbench-XXXXXX)
"$kv/kv_server" --socket "$tmp/s" --pin-dir "$pins" $jit >"$tmp/out" &
server=$!
trap 'kill $server; wait; rm -rf "$tmp" "$pins"' EXIT
sleep 0.3
port=$(awk '{ print $3 }' "$tmp/out")
load() {
	local clients=()
	for i in 1 2 3 4; do
		"$kv/kv_client" "$port" "$i" --seconds "$seconds" >"$tmp/c$i" &
		clients+=("$!")
	done
	wait "${clients[@]}"
	awk '/ rate / { sum += $NF } END { printf "%.0f requests/s (4 clients)\n", sum }' "$tmp"/c?
}
echo "no filter:   $(load)"
link=$("$bpfvm" hook attach --socket "$tmp/s" kv_request "$kv/kv_filter.bpf.o" | awk '{ print $2 }')
echo "with filter: $(load)"
for r in $(seq "$rounds"); do
	obj=$kv/kv_filter_v2.bpf.o
	[ $((r % 2)) = 0 ] && obj=$kv/kv_filter.bpf.o
	"$bpfvm" hook replace --socket "$tmp/s" "$link" "$obj"
done >"$tmp/swaps"
median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] / 1000 }'; }
echo "$rounds replaces: load+verify median $(awk '{ print $6 }' "$tmp/swaps" | median) us," \
     "swap median $(awk '{ print $8 }' "$tmp/swaps" | median) us," \
     "max $(awk '{ print $8 }' "$tmp/swaps" | sort -n | tail -1 | median) us"
echo "detach: $("$bpfvm" hook detach --socket "$tmp/s" "$link" | awk '{ printf "%.1f", $4 / 1000 }') us"
