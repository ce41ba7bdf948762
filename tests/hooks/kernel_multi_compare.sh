#!/usr/bin/env bash
# kernel_multi_compare.sh - uprobe.multi compared with the kernel's: the
# same object's uprobe.multi/ and uretprobe.multi/ programs over work_* and
# work_? of
# tests/trace/multi_target.c (10,000 calls with varying arguments) attached
# once by the kernel (kernel_multi_load: a raw uprobe_multi link) and once
# by `bpfvm trace`: per function, the calls, argument sums, returns and
# result sums counted by bpf_get_func_ip must be equal.  Addresses differ
# between the runs (PIE, ASLR), so each run's are named by the target's
# own "addr NAME ADDRESS" lines.  Skips where bpf() or the link type is
# missing, and in the sanitizer build (the agent cannot load there).
# Usage: kernel_multi_compare.sh BPFVM LOADER TARGET OBJ plain|sanitized
set -u
bpfvm=$1 loader=$2 target=$3 obj=$4 build=$5
source "$(dirname "$0")/../cli_lib.sh"
skip_in_sanitized_build "$build"
calls=(1000 2000 3000 4000)

# run A: the kernel
timeout 60 "$loader" "$obj" "$target" run "${calls[@]}" >"$tmp/kernel.out" 2>"$tmp/kernel.err"
rc=$?
if [ $rc = 77 ]; then
	cat "$tmp/kernel.out"
	exit 77
fi
check "kernel run exits 0 (got $rc: $(head -c 2000 "$tmp/kernel.err"))" [ $rc = 0 ]

# run B: bpfvm
timeout 60 "$bpfvm" trace "$obj" -j --dump-maps --prog count_entry --prog sum_return --prog count_one_char -- "$target" run "${calls[@]}" \
	>"$tmp/bpfvm.out" 2>&1
check "bpfvm trace exits 0 (got $?)" [ $? = 0 ]
check "3 programs attached at 4, 4 and 3 functions" \
	[ "$(grep -o '"error":0.*"functions":[0-9]' "$tmp/bpfvm.out" | sed 's/.*://' | tr -d '\n')" = 443 ]

# table F: "MAP FUNCTION VALUE" for every map and work_* function
table() {
	local f=$1 name map a
	for name in work_a work_b work_c work_tiny; do
		a=$(sed -n "s/^addr $name \([0-9]*\)$/\1/p" "$f")
		for map in calls calls_q args returns rets cookies; do
			echo "$map $name $(sed -n "s/.*\"map\":\"$map\",\"key\":$a,\"value\":\([0-9]*\)}.*/\1/p" "$f")"
		done
	done
	echo "entries $(grep -c '"type":"map"' "$f")"
}
table "$tmp/kernel.out" >"$tmp/kernel.table"
table "$tmp/bpfvm.out" >"$tmp/bpfvm.table"
check "the kernel counted every call" grep -q '^calls work_tiny 4000$' "$tmp/kernel.table"
if diff "$tmp/kernel.table" "$tmp/bpfvm.table" >"$tmp/diff"; then
	passes=$((passes + 1))
else
	echo "FAIL: the counts differ (< kernel, > bpfvm):"
	head -40 "$tmp/diff"
	fails=$((fails + 1))
fi
echo "compared per function (kernel):"
sed 's/^/    /' "$tmp/kernel.table"
summary
