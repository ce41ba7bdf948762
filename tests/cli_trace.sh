#!/usr/bin/env bash
# cli_trace.sh - `bpfvm trace` end to end on tests/trace/trace_target.c:
# the launched command traced at every hook kind (counts, argument and
# result sums exact, one ring buffer record per return), children
# followed through fork and exec and not with --no-follow, a running
# process attached by --pid and detached by SIGINT (counts exact, the
# function's bytes patched while attached and restored after, the target
# running on; killing the tracer detaches too), the tracing context
# (override, func ip, signals), --duration, --interval, --hist, and errors naming
# what cannot attach.
# Usage: cli_trace.sh BPFVM TRACE_DIR plain|sanitized
set -u
bpfvm=$1 dir=$2 build=$3
source "$(dirname "$0")/cli_lib.sh"
skip_in_sanitized_build "$build"
target=$dir/trace_target counts=$dir/trace_counts.bpf.o bad=$dir/trace_bad.bpf.o libc=$dir/trace_libc.bpf.o

# slot N of map `counts` in the JSON lines of file F
slot() { grep -o "\"map\":\"counts\",\"key\":$2,\"value\":[0-9]*" "$1" | sed 's/.*://'; }
# expect_slots F N1 N2 ...: slots 0.. hold N1 N2 ...
expect_slots() {
	local f=$1 k=0
	shift
	for want in "$@"; do
		check "$f slot $k: $(slot "$f" $k), want $want" [ "$(slot "$f" $k)" = "$want" ]
		k=$((k + 1))
	done
}

# launched, every hook kind: 200 calls of trace_work(i, 2i) and of getppid
timeout 30 "$bpfvm" trace "$counts" -j --dump-maps -- "$target" run 200 >"$tmp/run.out" 2>&1
check "trace run exits 0" [ $? = 0 ]
# entries returns sum(i) sum(5i) tp_enter tp_exit ksyscall kretsyscall raw raw_tp
expect_slots "$tmp/run.out" 200 200 19900 99500 200 200 200 200 200 200
check "8 programs attached" [ "$(grep -c '"type":"attach".*"error":0' "$tmp/run.out")" = 8 ]
check "probes on the trampoline path" [ "$(grep -c '"path":"trampoline"' "$tmp/run.out")" = 2 ]
check "200 ring buffer records" [ "$(grep -c '"type":"ringbuf","map":"events"' "$tmp/run.out")" = 200 ]
check "the last record: result 5*199" grep -q '"bytes":"[0-9a-f ]* e3 03 00 00 00 00 00 00"' "$tmp/run.out"

# 4 threads: probes and syscall hooks in every thread
timeout 30 "$bpfvm" trace "$counts" -j --dump-maps -- "$target" threads 300 >"$tmp/threads.out" 2>&1
expect_slots "$tmp/threads.out" 1200 1200 179400 897000 1200 1200 1200 1200 1200 1200

# text output: attach lines on stderr, maps typed
expect 0 'work_enter: uprobe .*trace_target:trace_work\+0 \(trampoline\)' \
	"$bpfvm" trace "$counts" --prog work_enter --dump-maps -- "$target" run 3
expect 0 'key: \(__u32\)0  value: \(__u64\)3' "$bpfvm" trace "$counts" --prog work_enter --dump-maps -- "$target" run 3

# children: fork followed (both halves counted), not with --no-follow; exec
timeout 30 "$bpfvm" trace "$counts" -j --dump-maps --prog work_enter --prog tp_enter -- "$target" fork 50 >"$tmp/fork.out" 2>&1
expect_slots "$tmp/fork.out" 100 0 2450 0 100
check "the forked child's agent reported in" grep -q '"type":"process".*"forked":true' "$tmp/fork.out"
timeout 30 "$bpfvm" trace "$counts" -j --dump-maps --no-follow --prog work_enter --prog tp_enter -- "$target" fork 50 \
	>"$tmp/nofollow.out" 2>&1
expect_slots "$tmp/nofollow.out" 50 0 1225 0 50
timeout 30 "$bpfvm" trace "$counts" -j --dump-maps --prog work_enter -- "$target" exec 30 >"$tmp/exec.out" 2>&1
expect_slots "$tmp/exec.out" 30 0 435
check "the exec'd image's agent connected again" [ "$(grep -c '"type":"ready"' "$tmp/exec.out")" = 2 ]

# a library by name: libc's getppid at entry ("libc") and return ("libc.so.6")
timeout 30 "$bpfvm" trace "$libc" -j --dump-maps -- "$target" run 40 >"$tmp/libc.out" 2>&1
check "libc probes attached" [ "$(grep -c '"type":"attach".*"error":0.*libc' "$tmp/libc.out")" = 2 ]
check "libc getppid entries" grep -q '"map":"libc_calls","key":0,"value":40}' "$tmp/libc.out"
check "libc getppid returns" grep -q '"map":"libc_calls","key":1,"value":40}' "$tmp/libc.out"

# the tracing context: bpf_override_return skips trace_work (10 calls
# return 1 each), bpf_get_func_ip is its address
timeout 30 "$bpfvm" trace "$dir/trace_override.bpf.o" -j --dump-maps -- "$target" sum 10 >"$tmp/override.out" 2>&1
check "overridden results" grep -q '^sum 10 at ' "$tmp/override.out"
addr=$(sed -n 's/^sum 10 at 0x\([0-9a-f]*\)$/\1/p' "$tmp/override.out")
check "bpf_get_func_ip is the function's address" \
	grep -q "\"map\":\"func_ip\",\"key\":0,\"value\":$((16#${addr:-0}))}" "$tmp/override.out"

# bpf_send_signal_thread, sent once the program has run: 10 calls with
# a = 0, 4, 8 signal
expect 0 '^signals 3$' "$bpfvm" trace "$dir/trace_signal.bpf.o" -- "$target" signals 10

# --hist: log2 slots of the first argument (0..15: 0-1 twice, 2-3 twice, 4-7 four times, 8-15 eight times)
expect 0 ' 8 -> 15 +: 8 +\|\*{40}\|' "$bpfvm" trace "$counts" --prog work_enter --hist arg_hist -- "$target" run 16

# errors: a missing function is named, the rest attaches, the command runs; exit 1
expect 1 'program missing not attached: .*has no function no_such_function' \
	"$bpfvm" trace "$bad" --dump-maps -- "$target" run 7
expect 1 'value: \(__u64\)7' "$bpfvm" trace "$bad" --dump-maps -- "$target" run 7
expect 1 "no program named 'nope'" "$bpfvm" trace "$counts" --prog nope -- "$target" run 1
expect 1 'give a command after -- or --pid' "$bpfvm" trace "$counts"
expect 1 'cannot load the agent' "$bpfvm" trace "$counts" --pid 999999999
# a perf event array is no longer refused: each agent forwards its rings' samples (cli_trace_edges.sh)
expect 0 '^perf samples pid [0-9]+ cpu [0-9]+: 12 bytes: 00 00' "$bpfvm" trace "$dir/trace_perf.bpf.o" -- "$target" run 1

# a running process: attach, count, detach on SIGINT, bytes restored
check "target ready" serve "$tmp/target.out" "$target" serve
target_pid=$served_pid
echo bytes >&7
check "bytes before" wait_for "$tmp/target.out" '^bytes'
check "attached to the running target" trace_attach "$tmp/pid.out" "$counts" -j --dump-maps --pid "$target_pid"
echo bytes >&7
echo "go 500" >&7
check "calls done" wait_for "$tmp/target.out" '^done'
echo "tgo 100" >&7
check "threaded calls done" wait_for "$tmp/target.out" '^done' 2
check "trace --pid exits 0 on SIGINT" trace_detach
# 500 calls, then 4 threads x 100: sum(i<500) + 4 sum(i<100) = 124750 + 19800
expect_slots "$tmp/pid.out" 900 900 144550 722750 900 900 900 900 900 900
echo bytes >&7
echo "go 5" >&7
check "the target runs on after detach" wait_for "$tmp/target.out" '^done' 3
mapfile -t bytes < <(grep '^bytes' "$tmp/target.out")
check "patched while attached" [ "${bytes[0]}" != "${bytes[1]}" ]
check "every byte restored after detach" [ "${bytes[0]}" = "${bytes[2]}" ]
original=${bytes[0]}
# attached again (the agent is loaded, idle); --duration ends the trace
# by itself, --interval prints the maps meanwhile
timeout 20 "$bpfvm" trace "$counts" -j --prog tp_enter --duration 1 --interval 0.3 --pid "$target_pid" \
	>"$tmp/dur.out" 2>&1
check "--duration ends the trace with 0" [ $? = 0 ]
check "attached a second time" grep -q '"type":"ready"' "$tmp/dur.out"
check "--interval printed the maps" [ "$(grep -c '"map":"counts","key":0,' "$tmp/dur.out")" -ge 2 ]
# the tracer killed outright: each agent sees its socket close and detaches
# (its socket's directory, left behind, in $tmp)
TMPDIR=$tmp "$bpfvm" trace "$counts" -j --prog work_enter --pid "$target_pid" >"$tmp/kill.out" 2>&1 &
trace_pid=$!
check "attached a third time" wait_for "$tmp/kill.out" '"type":"ready"'
echo bytes >&7
check "patched again" wait_for "$tmp/target.out" '^bytes' 4
{ kill -KILL "$trace_pid" && wait "$trace_pid"; } 2>/dev/null
sleep 0.5
echo bytes >&7
check "bytes read after the tracer died" wait_for "$tmp/target.out" '^bytes' 5
mapfile -t bytes < <(grep '^bytes' "$tmp/target.out")
check "patched while the tracer lived" [ "${bytes[0]}" != "${bytes[3]}" ]
check "restored once the tracer was killed" [ "${bytes[0]}" = "${bytes[4]}" ]
check "the target exits cleanly" serve_end

# two running processes at once: one set of maps counts both
for k in 1 2; do
	mkfifo "$tmp/two$k"
	"$target" serve <"$tmp/two$k" >"$tmp/two$k.out" 2>&1 &
	eval "two_pid$k=\$!"
done
exec 5>"$tmp/two1" 6>"$tmp/two2"
check "two targets ready" wait_for "$tmp/two2.out" '^ready'
"$bpfvm" trace "$counts" -j --dump-maps --prog work_enter --pid "$two_pid1" --pid "$two_pid2" >"$tmp/two.out" 2>&1 &
trace_pid=$!
check "both attached" wait_for "$tmp/two.out" '"type":"ready"' 2
echo "go 30" >&5
echo "go 12" >&6
check "both called" wait_for "$tmp/two1.out" '^done' && check "both called" wait_for "$tmp/two2.out" '^done'
kill -INT "$trace_pid"
wait "$trace_pid"
check "two targets: 42 calls counted" grep -q '"map":"counts","key":0,"value":42}' "$tmp/two.out"
echo quit >&5
echo quit >&6
exec 5>&- 6>&-
wait "$two_pid1" "$two_pid2"

# a launched command outlives a trace ended by SIGTERM: it runs on unpatched
fifo2=$tmp/in2
mkfifo "$fifo2"
"$bpfvm" trace "$counts" -j --dump-maps --prog work_enter -- "$target" serve <"$fifo2" >"$tmp/launched.out" 2>&1 &
trace_pid=$!
exec 8>"$fifo2"
check "launched target ready" wait_for "$tmp/launched.out" '^ready'
echo bytes >&8
echo "go 10" >&8
check "launched target called" wait_for "$tmp/launched.out" '^done'
kill -TERM "$trace_pid"
wait "$trace_pid"
check "trace exits 0 on SIGTERM" [ $? = 0 ]
check "counted before SIGTERM" grep -q '"map":"counts","key":0,"value":10}' "$tmp/launched.out"
echo bytes >&8
echo "go 1" >&8
check "the launched target runs on" wait_for "$tmp/launched.out" '^done' 2
mapfile -t bytes < <(grep '^bytes' "$tmp/launched.out")
check "launched target patched" [ "${bytes[0]:-x}" != "$original" ]
check "launched target restored" [ "${bytes[1]:-x}" = "$original" ]
echo quit >&8
exec 8>&-
summary
