#!/usr/bin/env bash
# cli_examples_trace.sh - the tracing tools of examples/trace run by
# `bpfvm trace` on tests/trace/examples_target.c, whose behaviour is
# known: funclatency's histogram of known sleeps, syscount's counts by
# syscall name, opensnoop's records of known opens, memleak's outstanding
# bytes by the stacks that allocated them.
# Usage: cli_examples_trace.sh BPFVM EXAMPLES_TRACE_DIR TARGET plain|sanitized
set -u
bpfvm=$1 dir=$2 target=$3 build=$4
source "$(dirname "$0")/cli_lib.sh"
skip_in_sanitized_build "$build" "as cli_trace"

# funclatency: 5 naps of 4.3 ms, 3 of 17 ms.  A nap is never shorter, so
# the 4.3 ms ones are in slot 22 (2^22..2^23-1 ns) or above, the 17 ms
# ones in slot 24 or above; the target prints the slot of each call by its
# own clock (the histogram's clock, read around the call: in a quiet
# machine 22 and 24; a wake-up late enough moves a call up a slot), and
# the histogram must hold exactly those.
# target_slots F: the slot numbers the target printed in F
target_slots() { sed -n 's/^slots //p' "$1"; }
# hist_of SLOT...: a JSON array of the count of each slot 0..the last given
hist_of() {
	printf '%s\n' "$@" | awk '{ n[$1]++; if ($1 > last) last = $1 }
		END { for (i = 0; i <= last; i++) printf "%s%d", i ? "," : "[", n[i] + 0; print "]" }'
}
timeout 30 "$bpfvm" trace "$dir/funclatency.bpf.o" -j --hist latency_ns -- "$target" latency 5 3 \
	>"$tmp/lat.out" 2>&1
check "funclatency exits 0" [ $? = 0 ]
check "funclatency: both probes attached" [ "$(grep -c '"type":"attach".*"error":0' "$tmp/lat.out")" = 2 ]
read -r -a slots < <(target_slots "$tmp/lat.out")
check "funclatency: the target timed 8 naps: ${slots[*]}" [ "${#slots[@]}" = 8 ]
lowest() { printf '%s\n' "$@" | sort -n | head -1; }
check "funclatency: the short naps in slot 22 or above" [ "$(lowest "${slots[@]:0:5}")" -ge 22 ]
check "funclatency: the long naps in slot 24 or above" [ "$(lowest "${slots[@]:5}")" -ge 24 ]
want='{"type":"hist","map":"latency_ns","slots":'$(hist_of "${slots[@]}")'}'
check "funclatency: the histogram $(grep '"type":"hist"' "$tmp/lat.out"), want $want" grep -qxF "$want" "$tmp/lat.out"
# text: each slot's line, e.g. "4194304 -> 8388607 : 5 |****...|"
timeout 30 "$bpfvm" trace "$dir/funclatency.bpf.o" --hist latency_ns -- "$target" latency 5 3 >"$tmp/lat.txt" 2>&1
check "funclatency text exits 0" [ $? = 0 ]
check "funclatency text: the header" grep -qE '^ +value : count +distribution$' "$tmp/lat.txt"
read -r -a slots < <(target_slots "$tmp/lat.txt")
for slot in $(printf '%s\n' "${slots[@]}" | sort -nu); do
	count=$(printf '%s\n' "${slots[@]}" | grep -cx "$slot")
	check "funclatency text: $count calls in slot $slot" \
		grep -qE "^ +$((1 << slot)) -> $(((1 << (slot + 1)) - 1)) +: $count +\|[* ]{40}\|$" "$tmp/lat.txt"
done

# syscount: 37 getppid calls, exactly, and one exit_group, named from the
# key's enum in JSON and in text
timeout 30 "$bpfvm" trace "$dir/syscount.bpf.o" -j --dump-maps -- "$target" getppid 37 >"$tmp/sys.out" 2>&1
check "syscount exits 0" [ $? = 0 ]
check "syscount: getppid 37 times" grep -q '"map":"syscalls","key":"getppid","value":37}' "$tmp/sys.out"
check "syscount: exit_group once" grep -q '"map":"syscalls","key":"exit_group","value":1}' "$tmp/sys.out"
expect 0 'key: \(enum x86_64_syscall\)getppid  value: \(__u64\)37$' \
	"$bpfvm" trace "$dir/syscount.bpf.o" --dump-maps -- "$target" getppid 37

# opensnoop: one record per open of the target, decoded as its header says
# (pid, ret, comm, filename); a missing file's result is -2 (ENOENT)
# open_records F: each ring buffer record of the JSON lines of F as "pid ret comm filename"
open_records() {
	local hex bin=$tmp/record.bin
	sed -n 's/.*"type":"ringbuf","map":"events","size":280,"bytes":"\([0-9a-f ]*\)"}$/\1/p' "$1" |
	while read -r hex; do
		echo "$hex" | xxd -r -p >"$bin"
		echo "$(od -An -t u4 -N4 "$bin" | tr -d ' ') $(od -An -j4 -t d4 -N4 "$bin" | tr -d ' ')" \
			"$(dd if="$bin" bs=1 skip=8 count=16 status=none | tr -d '\0')" \
			"$(dd if="$bin" bs=1 skip=24 count=256 status=none | tr -d '\0')"
	done
}
: >"$tmp/exists"
timeout 30 "$bpfvm" trace "$dir/opensnoop.bpf.o" -j -- "$target" open "$tmp/exists" "$tmp/missing" >"$tmp/open.out" 2>&1
check "opensnoop exits 0" [ $? = 0 ]
pid=$(sed -n 's/.*"type":"process","pid":\([0-9]*\),.*/\1/p' "$tmp/open.out")
fd=$(sed -n "s|^open $tmp/exists = \([0-9]*\)\$|\1|p" "$tmp/open.out")
open_records "$tmp/open.out" >"$tmp/open.records"
check "opensnoop: the target's 2 opens, nothing else: $(cat "$tmp/open.records")" \
	[ "$(grep -c . "$tmp/open.records")" = 2 ]
check "opensnoop: the file opened as $fd" grep -qx "$pid $fd examples_target $tmp/exists" "$tmp/open.records"
check "opensnoop: the missing file, -ENOENT" grep -qx "$pid -2 examples_target $tmp/missing" "$tmp/open.records"
expect 0 '^ringbuf events: 280 bytes: ([0-9a-f]{2} ){4}fe ff ff ff 65 78 61 6d' \
	"$bpfvm" trace "$dir/opensnoop.bpf.o" -- "$target" open "$tmp/missing"

# memleak: keep_1000() keeps 3 x 1000 bytes, keep_5000() 2 x 5000 (the
# compiler may call each from several sites, so add up by the innermost
# frame, which lies in the function: the target is no PIE, its symbols'
# addresses are the stacks'); the 10 blocks of 777 bytes freed leave 0
timeout 30 "$bpfvm" trace "$dir/memleak.bpf.o" -j --dump-maps -- "$target" leak >"$tmp/leak.out" 2>&1
check "memleak exits 0" [ $? = 0 ]
check "memleak: the target ran" grep -qx 'kept 5 blocks' "$tmp/leak.out"
# bytes_in FUNCTION: "BYTES STACKS", the outstanding bytes and how many
# stacks hold them, of the stacks whose innermost frame is in FUNCTION
bytes_in() {
	local start size
	read -r start size < <(nm -S "$target" | awk -v f="$1" '$4 == f { print $1, $2 }')
	awk -v lo=$((16#$start)) -v hi=$((16#$start + 16#$size)) '
		/"map":"outstanding"/ { match($0, /"key":[0-9]+,"value":[0-9]+/); split(substr($0, RSTART, RLENGTH), kv, /[:,]/); bytes[kv[2]] = kv[4] }
		/"map":"stack_traces"/ { match($0, /"key":[0-9]+,"value":\[[0-9]+/); split(substr($0, RSTART, RLENGTH), kv, /[:,\[]/); top[kv[2]] = kv[5] }
		END { for (k in bytes) if (k in top && top[k] + 0 >= lo && top[k] + 0 < hi) { sum += bytes[k]; n++ }
		      print sum + 0, n + 0 }' "$tmp/leak.out"
}
read -r bytes stacks < <(bytes_in keep_1000)
check "memleak: 3000 bytes outstanding from keep_1000: $bytes in $stacks stacks" [ "$bytes" = 3000 ]
read -r bytes stacks < <(bytes_in keep_5000)
check "memleak: 10000 bytes outstanding from keep_5000: $bytes in $stacks stacks" [ "$bytes" = 10000 ]
read -r bytes stacks < <(bytes_in main)
check "memleak: the 777-byte blocks' stack, main's, seen: $stacks stacks" [ "$stacks" -ge 1 ]
check "memleak: the 777-byte blocks all freed: $bytes bytes" [ "$bytes" = 0 ]

summary
