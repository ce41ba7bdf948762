#!/usr/bin/env bash
# cli_trace_multi.sh - uprobe.multi in `bpfvm trace` on tests/trace/multi_target.c:
# one program at every work_* function (a trampoline each, work_tiny by
# int3), its calls counted by bpf_get_func_ip exact per function, the
# first arguments at entry and the results at return (PT_REGS_RC) summed,
# attach cookies 0, a '?' pattern and a sleepable exact name; how many
# functions matched (text and -j), --stats per function; a running process
# through --pid; libc's str*len in a real command; a pattern that matches
# nothing, bad patterns and one matching too many refused with the target
# running untouched.
# Usage: cli_trace_multi.sh BPFVM TRACE_DIR plain|sanitized
set -u
bpfvm=$1 dir=$2 build=$3
source "$(dirname "$0")/cli_lib.sh"
skip_in_sanitized_build "$build"
target=$dir/multi_target obj=$dir/trace_multi.bpf.o bad=$dir/trace_multi_bad.bpf.o

# value of MAP at KEY in the JSON lines of file F: value F MAP KEY
value() { sed -n "s/.*\"map\":\"$2\",\"key\":$3,\"value\":\([0-9]*\)}.*/\1/p" "$1"; }
# addr F NAME: the function's address as the target printed it
addr() { sed -n "s/^addr $2 \([0-9]*\)$/\1/p" "$1"; }
# expect_by_func F MAP A B C T: MAP holds A for work_a, ... T for work_tiny ("" : no entry)
expect_by_func() {
	local f=$1 map=$2 k=0
	shift 2
	local names=(work_a work_b work_c work_tiny)
	for want in "$@"; do
		local got
		got=$(value "$f" "$map" "$(addr "$f" "${names[$k]}")")
		check "$f $map ${names[$k]}: '$got', want '$want'" [ "$got" = "$want" ]
		k=$((k + 1))
	done
}

check "every program verifies (bpf_get_func_ip, bpf_get_attach_cookie)" \
	"$bpfvm" verify "$obj" >"$tmp/verify.out" 2>&1
check "5 accepted" [ "$(grep -c ': accepted' "$tmp/verify.out")" = 5 ]

# launched: work_a 10 calls, work_b 20, work_c 30, work_tiny 40
timeout 30 "$bpfvm" trace "$obj" -j --dump-maps --stats --prog count_entry --prog sum_return --prog count_one_char \
	--prog count_sleepable -- "$target" run 10 20 30 40 >"$tmp/run.out" 2>&1
check "trace run exits 0" [ $? = 0 ]
f=$tmp/run.out
check "4 programs attached" [ "$(grep -c '"type":"attach".*"error":0' "$f")" = 4 ]
check "functions matched: 4, 4, 3, 1" [ "$(grep -o '"functions":[0-9]*' "$f" | tr '\n' ' ')" = \
	'"functions":4 "functions":4 "functions":3 "functions":1 ' ]
check "work_* on int3 for work_tiny" grep -q '"prog":"count_entry".*"path":"int3".*work_\*: 4 functions (1 by int3)' "$f"
check "work_? on trampolines" grep -q '"prog":"count_one_char".*"path":"trampoline".*work_?: 3 functions (0 by int3)' "$f"
expect_by_func "$f" calls 10 20 30 40
# sum(i < n): 45 190 435 780
expect_by_func "$f" args 45 190 435 780
expect_by_func "$f" returns 10 20 30 40
# results: i + 1, 2i, 3i + 1, i
expect_by_func "$f" rets 55 380 1335 780
expect_by_func "$f" calls_q 10 20 30 ""
expect_by_func "$f" calls_s "" "" 30 ""
check "attach cookies all 0" [ -z "$(value "$f" cookies 0)" ]
check "no entries but the work_* functions'" [ "$(grep -c '"map":"calls"' "$f")" = 4 ]
# --stats: a line per function and program, with its path
check "stats per function" [ "$(grep -c '"type":"stats","pid":[0-9]*,"prog":"count_entry"' "$f")" = 4 ]
check "stats: work_tiny by int3" \
	grep -q '"prog":"count_entry","hook":"uprobe.multi [^"]*:work_tiny","path":"int3".*"runs":40,"served":{"trampoline":0,"int3":40}' "$f"
check "stats: work_c by trampoline" \
	grep -q '"prog":"sum_return","hook":"uretprobe.multi [^"]*:work_c","path":"trampoline".*"runs":30,"served":{"trampoline":30,' "$f"

# text: how many functions, each function's stats
expect 0 'count_entry: uprobe.multi .*multi_target:work_\*: 4 functions \(1 by int3\) \(int3\)' \
	"$bpfvm" trace "$obj" --prog count_entry -- "$target" run 1 1 1 1
expect 0 'count_entry: uprobe.multi .*multi_target:work_b \(trampoline\): runs 7' \
	"$bpfvm" trace "$obj" --stats --prog count_entry -- "$target" run 1 7 1 1

# a real command: libc's str*len (strlen, strnlen: indirect functions, probed where they resolve)
timeout 30 "$bpfvm" trace "$obj" -j --stats --prog count_libc -- ls / >"$tmp/ls.out" 2>&1
check "ls traced, exits 0" [ $? = 0 ]
check "libc: 2 functions" grep -q '"prog":"count_libc","error":0,.*libc[^"]*:str\*len: 2 functions.*"functions":2' "$tmp/ls.out"
check "ls calls strlen" grep -qE '"hook":"uprobe.multi [^"]*libc[^"]*:strlen",.*"runs":[1-9]' "$tmp/ls.out"
check "ls printed" grep -q '^usr$' "$tmp/ls.out"

# errors: the pattern and the file named, nothing attached, the target runs
expect 1 "program no_match not attached: no function of .*/multi_target matches 'nomatch_\*'" \
	"$bpfvm" trace "$bad" --prog no_match -- "$target" run 1 1 1 1
check "the target ran" grep -q '^addr work_tiny' "$tmp/out"
expect 1 "program bad_class not attached: bad pattern 'work_\[ab\]'" \
	"$bpfvm" trace "$bad" --prog bad_class -- "$target" run 1 1 1 1
expect 1 "program no_pattern not attached: 'multi_target' is not PATH:PATTERN" \
	"$bpfvm" trace "$bad" --prog no_pattern -- "$target" run 1 1 1 1
expect 1 "program too_many not attached: '\*' matches more than 256 functions of .*libc" \
	"$bpfvm" trace "$bad" --prog too_many -- "$target" run 1 1 1 1
check "the target ran" grep -q '^addr work_tiny' "$tmp/out"

# a running process: attach, count, detach on SIGINT, the target runs on
check "target ready" serve "$tmp/target.out" "$target" serve
check "attached to the running target" \
	trace_attach "$tmp/pid.out" "$obj" -j --dump-maps --prog count_entry --prog sum_return --pid "$served_pid"
echo "go 5 6 7 8" >&7
check "calls done" wait_for "$tmp/target.out" '^done'
check "trace --pid exits 0 on SIGINT" trace_detach
cat "$tmp/target.out" "$tmp/pid.out" >"$tmp/pid.all"
expect_by_func "$tmp/pid.all" calls 5 6 7 8
expect_by_func "$tmp/pid.all" rets 15 30 70 28
echo "go 1 1 1 1" >&7
check "the target runs on after detach" wait_for "$tmp/target.out" '^done' 2
check "the target exits 0" serve_end
summary
