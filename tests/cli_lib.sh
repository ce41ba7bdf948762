# cli_lib.sh - what the command-line tests (tests/cli_*.sh) share, sourced
# by each: a scratch directory ($tmp, removed at exit), pass/fail counts,
# expect and check, a target served commands and traced by --pid, and the
# closing summary.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bpfvm-cli-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0
# wait_for FILE PATTERN [COUNT]: up to 10 s for COUNT lines of FILE
# matching PATTERN (the file may not be made yet)
wait_for() {
	for _ in $(seq 100); do
		local n
		n=$(grep -cE -- "$2" "$1" 2>/dev/null)
		[ "${n:-0}" -ge "${3:-1}" ] && return 0
		sleep 0.1
	done
	return 1
}
# serve OUT CMD...: CMD, a target reading commands from its stdin, run in
# the background on a fifo this shell holds as descriptor 7 (`echo go 5
# >&7` sends one), its output in OUT, its pid in $served_pid; true once it
# printed "ready".  serve_end: "quit" sent, 7 closed; the target's status
serve() {
	local out=$1 fifo
	shift
	fifo=$(mktemp -u "$tmp/fifo-XXXXXX")
	mkfifo "$fifo" || return 1
	"$@" <"$fifo" >"$out" 2>&1 &
	served_pid=$!
	exec 7>"$fifo"
	wait_for "$out" '^ready'
}
serve_end() {
	echo quit >&7
	exec 7>&-
	wait "$served_pid"
}
# trace_attach OUT ARGS...: `$bpfvm trace ARGS` (with -j and --pid) in the
# background, its output in OUT, its pid in $tracer_pid; true once it is
# attached.  trace_detach: SIGINT to it; its status
trace_attach() {
	local out=$1
	shift
	"$bpfvm" trace "$@" >"$out" 2>&1 &
	tracer_pid=$!
	wait_for "$out" '"type":"ready"'
}
trace_detach() {
	kill -INT "$tracer_pid"
	wait "$tracer_pid"
}
# skip_in_sanitized_build BUILD [WHICH]: a test of traced targets skips
# (exit 77) in the sanitizer build, where the agent it loads into them is
# not built; WHICH names the test that runs it in the plain build instead
skip_in_sanitized_build() {
	[ "$1" = sanitized ] || return 0
	echo "skipped: the sanitizer build (the traced target and its agent are built without sanitizers;"
	echo "the plain build runs this test${2:+, $2})"
	exit 77
}
# expect STATUS PATTERN CMD...: the command exits STATUS within 20 seconds
# (a timeout is status 124) and prints PATTERN
expect() {
	local want=$1 pat=$2
	shift 2
	timeout 20 "$@" >"$tmp/out" 2>&1
	local rc=$?
	if [ "$rc" != "$want" ] || ! grep -qE -- "$pat" "$tmp/out"; then
		echo "FAIL: $* -> exit $rc (want $want), output lacks /$pat/:"
		sed 's/^/    /' "$tmp/out" | head -20
		fails=$((fails + 1))
	else
		passes=$((passes + 1))
	fi
}
# check WHAT CONDITION...: a plain assertion
check() {
	local what=$1
	shift
	if "$@"; then
		passes=$((passes + 1))
	else
		echo "FAIL: $what"
		fails=$((fails + 1))
	fi
}
# summary: prints the counts; its status is the test's
summary() {
	echo "$passes passed, $fails failed"
	[ "$fails" = 0 ]
}
