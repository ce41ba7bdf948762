#!/usr/bin/env bash
# cli_trace_sleepable.sh - `bpfvm trace` with a sleepable uprobe
# (tests/trace/trace_sleepable.bpf.c, section uprobe.s: loaded and verified
# with BPF_F_SLEEPABLE): bpf_copy_from_user copies trace_greet's string out
# of the traced process (trace_target greet N), and for an address never
# mapped returns -EFAULT (-14) with the buffer zeroed, as the kernel's does.
# The agent runs it JIT-compiled (tests/unit/test_sleepable.c runs the
# helper in both engines).  The same program in a plain uprobe section is refused:
# tests/verifier/negative/sleepable.c.
# Usage: cli_trace_sleepable.sh BPFVM TRACE_DIR plain|sanitized
set -u
bpfvm=$1 dir=$2 build=$3
source "$(dirname "$0")/cli_lib.sh"
skip_in_sanitized_build "$build"
target=$dir/trace_target obj=$dir/trace_sleepable.bpf.o
n=25
# "hello fr" and "om greet" as little-endian u64s
head=8243311830880773480 tail=8387221423078272367

"$bpfvm" verify "$obj" >"$tmp/verify.out" 2>&1
check "bpfvm verify accepts the sleepable uprobe" grep -q "greet_enter: accepted" "$tmp/verify.out"

for engine in jit; do
	timeout 30 "$bpfvm" trace "$obj" -j --dump-maps -- "$target" greet $n >"$tmp/$engine.out" 2>&1
	check "$engine: trace exits 0" [ $? = 0 ]
	check "$engine: the target ran to its end" grep -q "^greet $n\$" "$tmp/$engine.out"
	check "$engine: the string copied $n times, result 0" \
		grep -q "\"map\":\"copies\",\"key\":0,\"value\":{\"head\":$head,\"tail\":$tail,\"rc\":0,\"count\":$n}" \
		"$tmp/$engine.out"
	check "$engine: an unmapped address: -EFAULT, the buffer zeroed" \
		grep -q '"map":"copies","key":1,"value":{"head":0,"tail":0,"rc":-14,"count":1}' "$tmp/$engine.out"
done
summary
