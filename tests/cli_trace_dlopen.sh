#!/usr/bin/env bash
# cli_trace_dlopen.sh - `bpfvm trace` on a program that dlopen()s a library
# after attach (dlopen_target LIB N: getppid N times through each of the
# library's libc call, raw syscall with a jump, raw syscall served by its
# int3 alone; dlclose, dlopen again, N more): syscount counts every
# getppid exactly, and the process ends with dispatch off, the library
# swept after attach (twice: once per dlopen).
# Usage: cli_trace_dlopen.sh BPFVM TRACE_DIR EXAMPLES_DIR LIB plain|sanitized
set -u
bpfvm=$1 dir=$2 examples=$3 lib=$4 build=$5
source "$(dirname "$0")/cli_lib.sh"
skip_in_sanitized_build "$build"
n=100
out=$tmp/dlopen.out

timeout 40 "$bpfvm" trace "$examples/syscount.bpf.o" -j --dump-maps --stats -- "$dir/dlopen_target" "$lib" $n \
	>"$out" 2>&1
check "trace exits 0 (the target's results right)" [ $? = 0 ]
check "the target ran to its end" grep -q "^done 0 bad\$" "$out"
getppid=$(grep -o '"key":"getppid","value":[0-9]*' "$out" | sed 's/.*://')
check "getppid counted ${getppid:-0} times, want $((4 * n + 1)) (the library's $((4 * n)) and main's first)" \
	[ "${getppid:-0}" = $((4 * n + 1)) ]
mode=$(grep -o '"mode":"[^"]*"' "$out" | head -1)
check "ends with dispatch off, the library swept twice after attach: $mode" \
	grep -q '"mode":"dispatch off (.*; 2 objects swept after attach)"' "$out"
summary
