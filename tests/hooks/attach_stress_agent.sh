#!/usr/bin/env bash
# attach_stress_agent.sh - `bpfvm trace --pid` attached to and detached
# (--duration 0.1 each time) from a running target again and again while
# its 4 threads call kc_spin() in a tight loop (kernel_compare_target
# spin; the counting programs of attach_stress.bpf.c): the target never
# crashes and every call returns its own value; each attachment is on the
# trampoline path; per thread, the calls counted at entry and at return
# run without a gap or a repeat (each counted exactly once between the
# first and the last), the last counted at entry at most one past the
# last counted at return (a return pending when the probe came off goes
# uncounted); kc_spin's bytes are restored at the end.  attach_stress.c
# checks the instants exactly, in process.  Skips in the sanitizer build,
# as cli_trace.sh.
# Usage: attach_stress_agent.sh BPFVM TARGET OBJ plain|sanitized [CYCLES]
#   CYCLES: else BPFVM_ATTACH_STRESS_AGENT_CYCLES, else 100, or 20 where CI is set
set -u
bpfvm=$1 target=$2 obj=$3 build=$4
cycles=${5:-${BPFVM_ATTACH_STRESS_AGENT_CYCLES:-$([ -n "${CI:-}" ] && echo 20 || echo 100)}}
source "$(dirname "$0")/../cli_lib.sh"
skip_in_sanitized_build "$build"

# check_slots FILE: the seen map's slots (0-3 entries, 4-7 returns of
# threads 0-3) as the header says; prints what is wrong, and the calls
# counted at entry; one process, as the busy target leaves little CPU
check_slots() {
	awk -F'[{}:,]' '/"map":"seen"/ {
		for (i = 1; i < NF; i++) {
			if ($i == "\"key\"") k = $(i + 1)
			if ($i ~ /^"(count|last|errors)"$/) { f = $i; gsub(/"/, "", f); v[k, f] = $(i + 1) }
		}
	}
	END {
		for (t = 0; t < 4; t++) {
			r = t + 4
			if (v[t, "errors"] != 0 || v[r, "errors"] != 0)
				print "FAIL: thread " t ": calls counted out of order: " v[t, "errors"] " at entry, " v[r, "errors"] " at return"
			if (v[t, "count"] > 0 && v[r, "count"] > 0 && (v[r, "last"] > v[t, "last"] || v[t, "last"] - v[r, "last"] > 1))
				print "FAIL: thread " t ": last entry counted " v[t, "last"] ", last return " v[r, "last"]
			n += v[t, "count"]
		}
		print "counted " n
	}' "$1"
}

mkfifo "$tmp/in"
"$target" spin <"$tmp/in" >"$tmp/target.out" 2>&1 &
target_pid=$!
exec 7>"$tmp/in"
check "target ready" wait_for "$tmp/target.out" '^ready'
echo bytes >&7
check "bytes before" wait_for "$tmp/target.out" '^[0-9a-f]{32}$'

counted=0 bad=0
for c in $(seq "$cycles"); do
	out=$tmp/cycle$c.out
	ok=1
	timeout 30 "$bpfvm" trace "$obj" -j --dump-maps --duration 0.1 --pid "$target_pid" >"$out" 2>&1
	rc=$?
	[ $rc = 0 ] || { echo "FAIL: cycle $c: bpfvm trace exited $rc"; ok=0; }
	[ "$(grep -c '"type":"attach".*"error":0.*"path":"trampoline"' "$out")" = 2 ] ||
		{ echo "FAIL: cycle $c: not 2 probes attached on the trampoline path"; ok=0; }
	kill -0 "$target_pid" 2>/dev/null || { echo "FAIL: cycle $c: the target died"; ok=0; }
	check_slots "$out" >"$tmp/slots"
	grep FAIL "$tmp/slots" && ok=0
	counted=$((counted + $(sed -n 's/^counted //p' "$tmp/slots")))
	[ $ok = 1 ] || { bad=$((bad + 1)); sed 's/^/    /' "$out" | head -20; }
	[ $ok = 1 ] && kill -0 "$target_pid" 2>/dev/null || break
done
check "$cycles attach/detach cycles, $bad failed" test "$bad" = 0 -a "$c" = "$cycles"
check "calls counted at entry: $counted" [ "$counted" -gt 0 ]
echo bytes >&7
check "bytes after" wait_for "$tmp/target.out" '^[0-9a-f]{32}$' 2
check "kc_spin's bytes restored" test "$(grep -cE '^[0-9a-f]{32}$' "$tmp/target.out")" = 2 -a \
	"$(grep -E '^[0-9a-f]{32}$' "$tmp/target.out" | sort -u | wc -l)" = 1
echo quit >&7
exec 7>&-
wait "$target_pid"
check "the target exits 0" [ $? = 0 ]
check "every call returned its own value" grep -q '^calls [1-9][0-9]* wrong 0$' "$tmp/target.out"
echo "$cycles cycles on 4 busy threads; $counted calls counted at entry; target: $(grep '^calls' "$tmp/target.out")"
summary
