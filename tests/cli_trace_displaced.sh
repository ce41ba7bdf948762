#!/usr/bin/env bash
# cli_trace_displaced.sh - a stack taken in a function called from among
# a probe's displaced instructions: nest_caller (tests/trace/multi_target.c)
# begins with a call of nest_leaf, which its probe's jump displaces into
# the trampoline, where the call then pushes its return address.  At
# nest_leaf's entry, bpf_get_stack's and bpf_get_stackid's second frame
# must be the return into nest_caller itself (the instruction after the
# call, from objdump), as the kernel's uprobes give it, not the
# trampoline's copy.
# Usage: cli_trace_displaced.sh BPFVM TRACE_DIR plain|sanitized
set -u
bpfvm=$1 dir=$2 build=$3
source "$(dirname "$0")/cli_lib.sh"
skip_in_sanitized_build "$build"
target=$dir/multi_target obj=$dir/trace_displaced_call.bpf.o

# the file address after nest_caller's call of nest_leaf
after_call=$(objdump -d --no-show-raw-insn "$target" | awk '/<nest_caller>:/ { on = 1; next }
	on && /call.*<nest_leaf>/ { want = 1; next } on && want { sub(":", "", $1); print $1; exit }')
check "nest_caller calls nest_leaf (objdump)" [ -n "$after_call" ]
call_at=$(objdump -d --no-show-raw-insn "$target" | awk '/<nest_caller>:/ { on = 1; next }
	on && /call.*<nest_leaf>/ { sub(":", "", $1); print $1; exit }')
nest_caller=$(nm "$target" | awk '$3 == "nest_caller" { print $1 }')
check "the call starts within the 5 bytes a probe's jump takes" [ $((16#${call_at:-ff} - 16#$nest_caller)) -lt 5 ]
work_a=$(nm "$target" | awk '$3 == "work_a" { print $1 }')
# base F: the load base, from the target's printed address of work_a
base() { echo $(($(sed -n 's/^addr work_a \([0-9]*\)$/\1/p' "$1") - 16#$work_a)); }

timeout 30 "$bpfvm" trace "$obj" -j --dump-maps -- "$target" nest 3 >"$tmp/nest.out" 2>&1
check "trace exits 0" [ $? = 0 ]
check "nest_caller on a trampoline (its call displaced)" \
	grep -q '"prog":"caller_enter","error":0,"path":"trampoline"' "$tmp/nest.out"
check "nest_caller entered 3 times" grep -q '"map":"frames","key":1,"value":3}' "$tmp/nest.out"
want=$(($(base "$tmp/nest.out") + 16#$after_call))
got=$(sed -n 's/.*"map":"frames","key":0,"value":\([0-9]*\)}.*/\1/p' "$tmp/nest.out")
check "bpf_get_stack: the return into nest_caller ($(printf %#x "$want")), got $(printf %#x "${got:-0}")" \
	[ "${got:-0}" = "$want" ]

# bpf_get_stackid: the stack map's second address, its 8 bytes little-endian
timeout 30 "$bpfvm" trace "$obj" --dump-maps -- "$target" nest 2 >"$tmp/id.out" 2>&1
check "trace (stackid) exits 0" [ $? = 0 ]
read -r -a bytes < <(sed -n '/^map stacks/,$ s/.*value: //p' "$tmp/id.out" | head -1)
second=0
for i in 15 14 13 12 11 10 9 8; do
	second=$(((second << 8) | 16#${bytes[$i]:-0}))
done
want=$(($(base "$tmp/id.out") + 16#$after_call))
check "bpf_get_stackid: the return into nest_caller ($(printf %#x "$want")), got $(printf %#x "$second")" \
	[ "$second" = "$want" ]
summary
