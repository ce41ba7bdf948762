#!/usr/bin/env bash
# cli_trace_edges.sh - `bpfvm trace` where it used to break: a malloc
# probe's map update allocates nothing, so never re-enters it; a program
# that does re-enter its own probe (a getpid probe asking for its pid) is
# skipped there as a recursion miss, exactly once a run, counted and
# reported, and the target runs to its end (a syscall hook's own syscalls
# are no events at all); --stats reports each
# program's runs, misses and the path serving its probe; a usdt/PATH:PROVIDER:NAME program reads the
# arguments the target passed at every hit (libbpf's bpf_usdt_arg);
# perf event array samples, which each agent forwards from its own
# rings, arrive once each (a forked child's too, ended by _exit) and the
# samples full rings dropped are counted; `trace -- COMMAND` exits with
# the command's status (128 + the signal that killed it); bpf_get_stack
# through a frame whose return a uretprobe swapped shows the real caller.
# Usage: cli_trace_edges.sh BPFVM TRACE_DIR plain|sanitized
set -u
bpfvm=$1 dir=$2 build=$3
source "$(dirname "$0")/cli_lib.sh"
skip_in_sanitized_build "$build"
target=$dir/trace_target

# malloc probed by a program updating a hash map: every malloc(16) of the
# target counted once; the runtime allocates nothing inside a run (a map
# update in a signal handler must not either), so no entry is a miss
timeout 30 "$bpfvm" trace "$dir/trace_malloc.bpf.o" -j --dump-maps --stats -- "$target" malloc 1000 \
	>"$tmp/malloc.out" 2>&1
check "malloc: trace exits 0" [ $? = 0 ]
check "malloc: the target ran to its end" grep -q '^mallocs 1000$' "$tmp/malloc.out"
check "malloc: 1000 calls of 16 bytes" grep -q '"map":"sizes","key":16,"value":1000}' "$tmp/malloc.out"
stats=$(grep '"type":"stats"' "$tmp/malloc.out")
misses=$(sed -n 's/.*"recursion_misses":\([0-9]*\).*/\1/p' <<<"$stats")
runs=$(sed -n 's/.*"runs":\([0-9]*\).*/\1/p' <<<"$stats")
tramp=$(sed -n 's/.*"trampoline":\([0-9]*\).*/\1/p' <<<"$stats")
check "malloc: no recursion miss, the run allocates nothing ($misses)" [ "${misses:-x}" = 0 ]
check "malloc: runs ($runs) at least the target's calls" [ "${runs:-0}" -ge 1000 ]
check "malloc: every entry ($tramp) a run or a miss" [ "${tramp:-x}" = "$((${runs:-0} + ${misses:-0}))" ]
check "malloc: served by the trampoline" grep -q '"path":"trampoline"' <<<"$stats"
# the same in a running process the agent is injected into (dlopen)
check "serve: ready" serve "$tmp/serve.out" "$target" serve
check "--pid malloc: attached" trace_attach "$tmp/pid.out" "$dir/trace_malloc.bpf.o" -j --dump-maps --stats --pid "$served_pid"
echo "mgo 500" >&7
check "--pid malloc: the target's mallocs done" wait_for "$tmp/serve.out" '^mallocs 500$'
check "--pid malloc: trace exits 0" trace_detach
check "--pid malloc: 500 calls of 16 bytes" grep -q '"map":"sizes","key":16,"value":500}' "$tmp/pid.out"
check "--pid malloc: stats" grep -q '"type":"stats".*"prog":"malloc_enter"' "$tmp/pid.out"
check "--pid malloc: the target lives on and exits 0" serve_end

# USDT sites (the int3 path, a signal handler) in a running process's
# main thread: its block was made when the agent was injected, so no hit
# is a miss
check "serve: ready" serve "$tmp/serve2.out" "$target" serve
check "--pid usdt: attached" trace_attach "$tmp/pid_usdt.out" "$dir/trace_usdt.bpf.o" -j --dump-maps --stats --pid "$served_pid"
echo "ugo 6" >&7
check "--pid usdt: the target's hits done" wait_for "$tmp/serve2.out" '^step 5 -15 35$'
trace_detach
check "--pid usdt: 6 runs, no miss" grep -q '"type":"stats".*"prog":"step".*"recursion_misses":0,"runs":6,' "$tmp/pid_usdt.out"
check "--pid usdt: the last hit's arguments" grep -q '"map":"steps","key":5,"value":{"a":-15,"b":35,' "$tmp/pid_usdt.out"
check "--pid usdt: the target exits 0" serve_end

# syscalls of a thread that ran before the agent was injected: its
# state is a thread block taken without malloc, in the SIGSYS handler
# too, so its events on that path (a raw syscall no tracer can rewrite)
# run as those of a rewritten site (getppid()'s) do: no miss
check "serve: ready" serve "$tmp/serve3.out" "$target" serve
check "--pid syscalls: attached" \
	trace_attach "$tmp/pid_sys.out" "$dir/trace_counts.bpf.o" --prog tp_enter -j --stats --pid "$served_pid"
echo "xgo 200" >&7
check "--pid syscalls: the worker's calls done" wait_for "$tmp/serve3.out" '^xdone$'
check "--pid syscalls: trace exits 0" trace_detach
stats=$(grep '"type":"stats".*"prog":"tp_enter"' "$tmp/pid_sys.out")
misses=$(sed -n 's/.*"recursion_misses":\([0-9]*\).*/\1/p' <<<"$stats")
runs=$(sed -n 's/.*"runs":\([0-9]*\).*/\1/p' <<<"$stats")
check "--pid syscalls: the SIGSYS path's calls are no misses ($misses)" [ "${misses:-x}" = 0 ]
check "--pid syscalls: every call a run ($runs)" [ "${runs:-0}" = 400 ]
check "--pid syscalls: the target exits 0" serve_end

# text: runs and misses with --stats (a malloc probe's map update no
# longer re-enters it, so there is no miss to report without --stats)
expect 0 'malloc_enter: .*: runs [0-9]+, recursion_misses 0; entries: [0-9]+ by trampoline, 0 by int3' \
	"$bpfvm" trace "$dir/trace_malloc.bpf.o" --stats -- "$target" malloc 10
# --stats on a syscall hook: the interceptor's paths, no misses
expect 0 'tp_enter: tracepoint/syscalls/sys_enter_getppid \(syscall\): runs 5, recursion_misses 0; the process.s syscalls' \
	"$bpfvm" trace "$dir/trace_counts.bpf.o" --prog tp_enter --stats -- "$target" run 5

# recursion: the getpid probe's program calls bpf_get_current_pid_tgid,
# which calls getpid() on the same thread: that event is skipped and
# counted as a miss (the kernel's recursion_misses), so every run is one
# miss, and the program's own count of its runs leaves the misses out.
# In 4 new threads at once: a thread's first event takes its state
# without calling getpid (which recursed until the stack ran out), and a
# run on one thread is no miss on another.
rec=$dir/trace_recursion.bpf.o
timeout 30 "$bpfvm" trace "$rec" --prog getpid_enter -j --dump-maps --stats -- "$target" pids 500 >"$tmp/rec.out" 2>&1
check "recursion: trace exits 0" [ $? = 0 ]
check "recursion: the target ran to its end" grep -q '^pids 2000$' "$tmp/rec.out"
check "recursion: the program counted 2000 runs of its own" grep -q '"map":"runs","key":0,"value":2000}' "$tmp/rec.out"
check "recursion: --stats -j: 2000 runs, 2000 misses, 4000 entries" \
	grep -q '"type":"stats".*"prog":"getpid_enter".*"recursion_misses":2000,"runs":2000,"served":{"trampoline":4000,"int3":0}' \
	"$tmp/rec.out"
expect 0 'getpid_enter: uprobe .*:getpid\+0 \(trampoline\): runs 2000, recursion_misses 2000; entries: 4000 by trampoline, 0 by int3' \
	"$bpfvm" trace "$rec" --prog getpid_enter --stats -- "$target" pids 500
# without --stats the misses alone, in text and in JSON
expect 0 'getpid_enter: uprobe .*:getpid\+0 \(trampoline\): recursion_misses 2000$' \
	"$bpfvm" trace "$rec" --prog getpid_enter -- "$target" pids 500
expect 0 '"type":"stats".*"prog":"getpid_enter".*"recursion_misses":2000}$' \
	"$bpfvm" trace "$rec" --prog getpid_enter -j -- "$target" pids 500
# a syscall hook's own syscalls (bpf_printk's writev to stderr) are no
# events: writev_enter never runs, and nothing is a miss
timeout 30 "$bpfvm" trace "$rec" --prog getppid_printk --prog writev_enter -j --dump-maps --stats -- "$target" run 5 \
	>"$tmp/rec_sys.out" 2>&1
check "syscall hook: trace exits 0" [ $? = 0 ]
check "syscall hook: 5 lines printed" [ "$(grep -c '^getppid seen$' "$tmp/rec_sys.out")" = 5 ]
check "syscall hook: 5 getppid runs" grep -q '"map":"runs","key":1,"value":5}' "$tmp/rec_sys.out"
check "syscall hook: no writev run" grep -q '"map":"runs","key":2,"value":0}' "$tmp/rec_sys.out"
check "syscall hook: getppid_printk: 5 runs, no miss" \
	grep -q '"type":"stats".*"prog":"getppid_printk".*"recursion_misses":0,"runs":5,' "$tmp/rec_sys.out"
check "syscall hook: writev_enter: no run, no miss" \
	grep -q '"type":"stats".*"prog":"writev_enter".*"recursion_misses":0,"runs":0,' "$tmp/rec_sys.out"

# usdt: every hit's arguments as the target printed them, read by
# bpf_usdt_arg through libbpf's spec maps the agent filled
timeout 30 "$bpfvm" trace "$dir/trace_usdt.bpf.o" -j --dump-maps --stats -- "$target" usdt 20 >"$tmp/usdt.out" 2>&1
check "usdt: trace exits 0" [ $? = 0 ]
check "usdt: attached on the int3 path" grep -q '"type":"attach".*"error":0,"path":"int3","hook":"usdt .*trace_target:bpfvmtrace:step"' "$tmp/usdt.out"
check "usdt: 20 hits" [ "$(grep -c '^step ' "$tmp/usdt.out")" = 20 ]
bad=0
while read -r _ i a b; do
	grep -q "\"map\":\"steps\",\"key\":$i,\"value\":{\"a\":$a,\"b\":$b,\"arg_cnt\":3,\"cookie\":0,\"ip_is_site\":1}" \
		"$tmp/usdt.out" || { echo "usdt: hit $i $a $b not seen so"; bad=$((bad + 1)); }
done < <(grep '^step ' "$tmp/usdt.out")
check "usdt: every hit's arguments, count and ip as passed" [ "$bad" = 0 ]
check "usdt: 20 runs" grep -q '"type":"stats".*"prog":"step".*"recursion_misses":0,"runs":20,' "$tmp/usdt.out"
expect 1 "program step not attached: no file mapped in this process matches '.*trace_target'" \
	"$bpfvm" trace "$dir/trace_usdt.bpf.o" -- /bin/true

# perf: trace_work's first argument sent at every call; the parent's 50
# and the forked child's 50 (the child's copy of unsent records dropped)
timeout 30 "$bpfvm" trace "$dir/trace_perf.bpf.o" -j --stats -- "$target" fork 50 >"$tmp/perf.out" 2>&1
check "perf: trace exits 0" [ $? = 0 ]
mapfile -t pids < <(grep '"type":"perf"' "$tmp/perf.out" | sed 's/.*"pid":\([0-9]*\).*/\1/' | sort | uniq -c |
	awk '{ print $1 }')
check "perf: 50 samples from each of 2 processes (${pids[*]})" [ "${pids[*]}" = "50 50" ]
for k in 0 31 49; do
	hex=$(printf '%02x' $k)
	check "perf: the sample of call $k from both" \
		[ "$(grep -c "\"type\":\"perf\",\"map\":\"samples\".*\"size\":12,\"bytes\":\"$hex 00 00 00 00 00 00 00 " "$tmp/perf.out")" = 2 ]
done
check "perf: the child's stats came at its _exit" [ "$(grep -c '"type":"stats".*"runs":50,' "$tmp/perf.out")" = 2 ]
# a burst that overflows the ring, a pause (forwarded meanwhile), one
# more call: its sample carries the count dropped before it (on one CPU:
# a ring's drops are told by that ring's next sample)
timeout 60 taskset -c 0 "$bpfvm" trace "$dir/trace_perf.bpf.o" -j -- "$target" burst 100000 >"$tmp/burst.out" 2>&1
samples=$(grep -c '"type":"perf"' "$tmp/burst.out")
lost=$(grep '"type":"perf_lost"' "$tmp/burst.out" | sed 's/.*"lost":\([0-9]*\).*/\1/' | awk '{ s += $1 } END { print s + 0 }')
total=$(sed -n 's/.*"type":"perf_lost_total","lost":\([0-9]*\).*/\1/p' "$tmp/burst.out")
check "perf: samples dropped ($lost), counted" [ "${lost:-0}" -ge 1 ]
check "perf: samples ($samples) and dropped ($lost) are every call" [ "$((samples + ${lost:-0}))" = 100001 ]
check "perf: the total dropped ($total) said at the end" [ "${total:-x}" = "${lost:-0}" ]

# the command's status: its exit code, 128 + a killing signal, 127 when it
# cannot run; 1 for a program not attached when the command's is 0
counts=$dir/trace_counts.bpf.o
expect 7 'tp_enter: tracepoint/syscalls/sys_enter_getppid' "$bpfvm" trace "$counts" --prog tp_enter -- sh -c 'exit 7'
expect 143 'tp_enter' "$bpfvm" trace "$counts" --prog tp_enter -- sh -c 'kill -TERM $$'
expect 137 'tp_enter' "$bpfvm" trace "$counts" --prog tp_enter -- sh -c 'kill -KILL $$'
expect 127 'cannot run /no/such/command' "$bpfvm" trace "$counts" --prog tp_enter -- /no/such/command
expect 0 'tp_enter' "$bpfvm" trace "$counts" --prog tp_enter -- "$target" run 3
expect 1 'program missing not attached' "$bpfvm" trace "$dir/trace_bad.bpf.o" -- "$target" run 2
expect 2 'program missing not attached' "$bpfvm" trace "$dir/trace_bad.bpf.o" -- "$target" no-such-mode 2

# stack: at stack_inner's entry, the walk is stack_inner, the return into
# stack_outer, then stack_outer's return into main, which its uretprobe
# swapped for the return trampoline's address (addresses less the load
# base that main's printed address gives)
timeout 30 "$bpfvm" trace "$dir/trace_stack.bpf.o" -j --dump-maps -- "$target" stack 3 >"$tmp/stack.out" 2>&1
check "stack: stack_outer's 3 returns seen" grep -q '"map":"frames","key":3,"value":3}' "$tmp/stack.out"
# in_function N FUNCTION: frame N's address lies in FUNCTION
in_function() {
	local main start size v base
	main=$(sed -n 's/^stack main 0x//p' "$tmp/stack.out")
	read -r start size < <(nm -S "$target" | awk -v f="$2" '$4 == f { print $1, $2 }')
	base=$((16#${main:-0} - 16#$(nm "$target" | awk '$3 == "main" { print $1 }')))
	v=$(sed -n "s/.*\"map\":\"frames\",\"key\":$1,\"value\":\([0-9]*\)}/\1/p" "$tmp/stack.out")
	[ -n "$v" ] && [ $((v - base)) -ge $((16#$start)) ] && [ $((v - base)) -lt $((16#$start + 16#$size)) ]
}
check "stack: frame 0 in stack_inner" in_function 0 stack_inner
check "stack: frame 1 in stack_outer" in_function 1 stack_outer
check "stack: frame 2, the swapped return, in main" in_function 2 main

summary
