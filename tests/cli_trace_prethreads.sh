#!/usr/bin/env bash
# cli_trace_prethreads.sh - `bpfvm trace --pid` into a process whose
# threads were all made before it and sleep in read(): woken, their
# events come only from the agent's signal handlers (getppid from a
# syscall site no tracer can rewrite: SIGSYS; a function too short for a
# trampoline: int3), and every one runs its program, none a miss; so do
# those of a thread made while attached and of one that ends meanwhile,
# and of 100 such threads.  The first process is traced with dispatch
# kept on (--dispatch-on: the SIGSYS path is what it checks); the second
# with dispatch off, its unrewritable site served by its int3.
# Usage: cli_trace_prethreads.sh BPFVM TRACE_DIR plain|sanitized
set -u
bpfvm=$1 dir=$2 build=$3
source "$(dirname "$0")/cli_lib.sh"
skip_in_sanitized_build "$build"

# stat PROG FIELD: a number from PROG's stats line in $out
stat() {
	grep "\"type\":\"stats\".*\"prog\":\"$1\"" "$out" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}
# count SLOT: the counts map's value at SLOT (tiny, tiny_ip, enter, exit) in $out
count() {
	grep "\"map\":\"counts\",\"key\":$1," "$out" | sed -n 's/.*"value":\([0-9]*\).*/\1/p'
}

n=300
out=$tmp/trace.out
check "serve: ready" serve "$tmp/serve.out" "$dir/prethreads_target" serve || { summary; exit 1; }
serve_pid=$served_pid
check "serve: 10 threads before the tracer" [ "$(ls "/proc/$serve_pid/task" | wc -l)" = 10 ]
"$bpfvm" trace "$dir/trace_prethreads.bpf.o" -j --stats --dump-maps --dispatch-on --pid "$serve_pid" >"$out" 2>&1 &
trace_pid=$!
if ! wait_for "$out" '"type":"ready"'; then
	check "attached" false
	sed 's/^/    /' "$out" | head
	kill "$serve_pid" "$trace_pid"
	summary
	exit 1
fi
check "tiny_work on the int3 path" grep -q '"type":"attach".*"prog":"tiny_enter","error":0,"path":"int3"' "$out"
echo "go $n" >&7
check "8 workers done" wait_for "$tmp/serve.out" '^done$' 1
echo "new $n" >&7
check "a new thread done" wait_for "$tmp/serve.out" '^done$' 2
attached_tasks=$(ls "/proc/$serve_pid/task" | wc -l)   # the agent's control thread among them
echo "leave $n" >&7
check "the leaver done" wait_for "$tmp/serve.out" '^done$' 3
# tasks: up to 2 s for the target to have $1 threads (a joined thread
# leaves /proc a moment after)
tasks() {
	for _ in $(seq 20); do
		[ "$(ls "/proc/$serve_pid/task" | wc -l)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
check "the leaver ended" tasks $((attached_tasks - 1))
kill -INT "$trace_pid"
wait "$trace_pid"
check "trace exits 0" [ $? = 0 ]
events=$((10 * n))
for prog in tiny_enter getppid_enter getppid_exit; do
	check "$prog: no miss ($(stat $prog recursion_misses))" [ "$(stat $prog recursion_misses)" = 0 ]
	check "$prog: $events runs ($(stat $prog runs))" [ "$(stat $prog runs)" = "$events" ]
done
check "tiny_enter: every entry by int3 ($(stat tiny_enter int3))" [ "$(stat tiny_enter int3)" = "$events" ]
check "getppid: by SUD ($(stat getppid_enter sud))" [ "$(stat getppid_enter sud)" -ge "$events" ]
check "tiny_work counted $events times ($(count 0))" [ "$(count 0)" = "$events" ]
check "bpf_get_func_ip at each ($(count 1))" [ "$(count 1)" = "$events" ]
check "getppid entries counted ($(count 2))" [ "$(count 2)" = "$events" ]
check "getppid exits counted ($(count 3))" [ "$(count 3)" = "$events" ]
check "the target exits 0" serve_end
if [ "$fails" != 0 ]; then
	sed 's/^/    /' "$out" | grep -v '"type":"map"' | head -30
fi

# the same into a process of 100 threads: the agent's one initial-exec
# pointer is set up in each of them at dlopen
check "100 workers: ready" serve "$tmp/serve2.out" "$dir/prethreads_target" serve 100 || { summary; exit 1; }
out=$tmp/trace2.out
check "100 workers: attached" trace_attach "$out" "$dir/trace_prethreads.bpf.o" -j --stats --dump-maps --pid "$served_pid"
echo "go 20" >&7
check "100 workers: done" wait_for "$tmp/serve2.out" '^done$'
trace_detach
for prog in tiny_enter getppid_enter getppid_exit; do
	check "100 workers: $prog: 2000 runs, no miss ($(stat $prog runs), $(stat $prog recursion_misses))" \
		[ "$(stat $prog runs)" = 2000 -a "$(stat $prog recursion_misses)" = 0 ]
done
check "100 workers: every event counted ($(count 0) $(count 2) $(count 3))" [ "$(count 0)$(count 2)$(count 3)" = 200020002000 ]
check "100 workers: the target exits 0" serve_end
summary
