#!/usr/bin/env bash
# cli_trace_special.sh - `bpfvm trace` on the syscalls its interceptor
# treats specially (trace_target special N: a thread, a fork(2), a vfork
# whose child's exec fails, SIGSYS's action set and raised, everything
# blocked around a getppid, a SIGUSR1 handler returning, N rounds): the
# target runs to its end with its own checks passing (its SIGSYS handler
# kept and run, SIGSYS never really blocked), and every event is counted
# exactly, the children's included: a clone's, fork's or vfork's sys_exit
# in the parent and, returning 0, in the child.
# Usage: cli_trace_special.sh BPFVM TRACE_DIR plain|sanitized
set -u
bpfvm=$1 dir=$2 build=$3
source "$(dirname "$0")/cli_lib.sh"
skip_in_sanitized_build "$build"
target=$dir/trace_target
rounds=20

timeout 40 "$bpfvm" trace "$dir/trace_special.bpf.o" -j --dump-maps --stats -- "$target" special $rounds \
	>"$tmp/special.out" 2>&1
check "trace exits 0 (the target's checks passed)" [ $? = 0 ]
check "the target ran to its end" grep -q "^special $rounds\$" "$tmp/special.out"

# value MAP NR: map MAP's count for syscall NR (0 when absent)
value() {
	local v
	v=$(grep -o "\"map\":\"$1\",\"key\":$2,\"value\":[0-9]*" "$tmp/special.out" | sed 's/.*://')
	echo "${v:-0}"
}
# events NAME NR ENTERS EXITS [ZERO_EXITS]
events() {
	local in out zero
	in=$(value enters "$2") out=$(value exits "$2") zero=$(value zero_exits "$2")
	check "$1: enter $in exit $out, want $3 and $4" [ "$in" = "$3" -a "$out" = "$4" ]
	[ $# -lt 5 ] || check "$1: $zero exits returned 0, want $5" [ "$zero" = "$5" ]
}
n=$rounds
# clone3: one more child side, the agent's control thread's (made once
# the hooks are attached: the agent quiets its own call, but not the new
# thread's first event, made before that thread knows it is the agent's)
events clone3 435 $n $((2 * n + 1)) $((n + 1))
events fork 57 $n $((2 * n)) $n
events vfork 58 $n $((2 * n)) $n
events "execve (failing)" 59 $n $n
events rt_sigaction 13 $((5 * n)) $((5 * n))
events rt_sigreturn 15 $n 0
events getppid 110 $((2 * n)) $((2 * n))
events "exit (threads)" 60 $n 0
events "exit_group (children and the end)" 231 $((2 * n + 1)) 0

summary
