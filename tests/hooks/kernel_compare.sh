#!/usr/bin/env bash
# kernel_compare.sh - the same object (kernel_compare.bpf.c) attached to the
# same deterministic target (kernel_compare_target.c: N calls of kc_work and
# N write()s between two markers) once by the kernel (kernel_compare_load:
# the uprobe PMU, the syscall tracepoints) and once by `bpfvm trace`: every
# map entry, counts and log2 histograms, must be equal.  Skips where the
# kernel's bpf() or uprobe PMU is missing, and in the sanitizer build (the
# agent cannot load there).
# Usage: kernel_compare.sh BPFVM LOADER TARGET OBJ plain|sanitized [N]
set -u
bpfvm=$1 loader=$2 target=$3 obj=$4 build=$5 n=${6:-10000}
source "$(dirname "$0")/../cli_lib.sh"
skip_in_sanitized_build "$build"

# run A: the kernel
timeout 60 "$loader" "$obj" "$target" "$n" >"$tmp/kernel.out" 2>"$tmp/kernel.err"
rc=$?
if [ $rc = 77 ]; then
	cat "$tmp/kernel.out"
	exit 77
fi
check "kernel run exits 0 (got $rc: $(head -c 2000 "$tmp/kernel.err"))" [ $rc = 0 ]

# run B: bpfvm
timeout 60 "$bpfvm" trace "$obj" -j --dump-maps -- "$target" "$n" >"$tmp/bpfvm.out" 2>&1
rc=$?
check "bpfvm trace exits 0 (got $rc)" [ $rc = 0 ]
check "6 programs attached" [ "$(grep -c '"type":"attach".*"error":0' "$tmp/bpfvm.out")" = 6 ]
check "the probes on the trampoline path" [ "$(grep -c '"path":"trampoline"' "$tmp/bpfvm.out")" = 4 ]

grep '"type":"map"' "$tmp/kernel.out" | sort >"$tmp/kernel.maps"
grep '"type":"map"' "$tmp/bpfvm.out" | sort >"$tmp/bpfvm.maps"
# total SLOT of FILE: the totals map's slot (kernel_compare.bpf.c's enum)
total() { sed -n "s/.*\"map\":\"totals\",\"key\":$2,\"value\":\([0-9]*\)}/\1/p" "$1"; }
# every call and write of the target seen, in both runs, so equal maps say something
for run in kernel bpfvm; do
	f=$tmp/$run.maps
	check "$run: $n calls, returns, writes, write exits" \
		[ "$(total "$f" 0) $(total "$f" 1) $(total "$f" 4) $(total "$f" 5)" = "$n $n $n $n" ]
done
if diff "$tmp/kernel.maps" "$tmp/bpfvm.maps" >"$tmp/diff"; then
	passes=$((passes + 1))
else
	echo "FAIL: the maps differ (< kernel, > bpfvm):"
	head -40 "$tmp/diff"
	fails=$((fails + 1))
fi
# buckets of map M that counted something
nonzero() { grep -c "\"map\":\"$1\".*\"value\":[1-9]" "$tmp/kernel.maps"; }
check "arguments over 48 buckets, write lengths over 20" [ "$(nonzero arg_hist) $(nonzero write_hist)" = "48 20" ]
echo "compared $(wc -l <"$tmp/kernel.maps") map entries: kc_work calls $(total "$tmp/kernel.maps" 0)" \
	"(argument sum $(total "$tmp/kernel.maps" 2), result sum $(total "$tmp/kernel.maps" 3))," \
	"write()s $(total "$tmp/kernel.maps" 4) ($(total "$tmp/kernel.maps" 6) bytes);" \
	"buckets: arguments $(nonzero arg_hist), results $(nonzero ret_hist), write lengths $(nonzero write_hist)"
summary
