#!/usr/bin/env bash
# cli_map_pinned.sh - `bpfvm map` on pinned maps and their BTF sidecars:
# tests/objects/pinned_types.c is run with a private --pin-dir, then its
# maps are dumped and looked up, plain and -j, with the sidecar intact,
# missing, and damaged in many ways (each must give one warning line and
# the bytes, exit 0).  Usage: cli_map_pinned.sh BPFVM OBJECT
set -u
bpfvm=$1 obj=$2
base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
dir=$(mktemp -d "$base/bpfvm-test-XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
fails=0 passes=0
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }

head -c 64 /dev/zero >"$dir/packet"
if ! "$bpfvm" run "$obj" --data-in "$dir/packet" --pin-dir "$dir/pins" >"$dir/run.out" 2>&1; then
	cat "$dir/run.out"
	echo "FAIL: bpfvm run"
	exit 1
fi
pins=$dir/pins
stats=$pins/pinned_stats percpu=$pins/pinned_percpu raw=$pins/pinned_raw

# the sidecars: next to typed pins only, with the pin's permissions
check "sidecar of pinned_stats" test -s "$stats.btf"
check "sidecar of pinned_percpu" test -s "$percpu.btf"
check "no sidecar for a map without types" test ! -e "$raw.btf"
check "sidecar mode is the pin's" test "$(stat -c %a "$stats.btf")" = "$(stat -c %a "$stats")"
check "no temporary files left" test -z "$(ls "$pins" | grep -v -E '^pinned_(stats|percpu|raw)(\.btf)?$')"

# run: out err -- bpfvm args; fails the check if bpfvm exits non-zero
run() {
	local out=$1 err=$2; shift 2
	"$bpfvm" "$@" >"$out" 2>"$err"
}
json_ok() { python3 -m json.tool "$1" >/dev/null 2>&1; }
# py FILE EXPR: EXPR over the parsed JSON as `d` must be true
py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"; }

# typed text, as run --dump-maps prints
check "dump typed" run "$dir/o" "$dir/e" map dump pinned "$stats"
check "dump: key fields" grep -qF 'key: (struct flow){.proto = (__u32)6,.port = (__u16)80,.pad = (__u16)0,}' "$dir/o"
check "dump: value fields" grep -qF '.packets = (__u64)3,.bytes = (__u64)180,' "$dir/o"
check "dump: enum by name" grep -qF '.color = (enum color)GREEN' "$dir/o"
check "dump: bitfields" grep -qF '.flags = (__u32)0x5,.level = (__u32)0x11' "$dir/o"
check "dump: count" grep -qx 'Found 1 element' "$dir/o"
check "dump: nothing on stderr" test ! -s "$dir/e"

# JSON: bytes as before, plus bpftool's "formatted"
check "dump -j" run "$dir/o" "$dir/e" map dump pinned "$stats" -j
check "dump -j is JSON" json_ok "$dir/o"
check "dump -j: bytes kept" py "$dir/o" 'd[0]["key"][:2] == ["0x06","0x00"] and len(d[0]["value"]) == 32'
check "dump -j: formatted key" py "$dir/o" 'd[0]["formatted"]["key"] == {"proto":6,"port":80,"pad":0}'
check "dump -j: formatted value" py "$dir/o" \
	'd[0]["formatted"]["value"] == {"packets":3,"bytes":180,"tag":"web","color":"GREEN","flags":5,"level":17}'

# lookup, typed
check "lookup" run "$dir/o" "$dir/e" map lookup pinned "$stats" key 06 00 00 00 50 00 00 00
check "lookup: typed" grep -qF '.tag = (char[8])' "$dir/o"
check "lookup -j" run "$dir/o" "$dir/e" map lookup pinned "$stats" key hex 06 00 00 00 50 00 00 00 -j
check "lookup -j: formatted" py "$dir/o" 'd["formatted"]["value"]["level"] == 17'

# per-CPU: one typed value per CPU, the run's single hit on one of them
check "percpu dump" run "$dir/o" "$dir/e" map dump pinned "$percpu"
check "percpu: CPU 00 typed" grep -qE '^value \(CPU 00\): \(struct hits\)\{\.hits = \(__u64\)[01],\}$' "$dir/o"
check "percpu dump -j" run "$dir/o" "$dir/e" map dump pinned "$percpu" -j
check "percpu -j: formatted values" py "$dir/o" \
	'[v["cpu"] for v in d[0]["formatted"]["values"]] == [v["cpu"] for v in d[0]["values"]] and sum(v["value"]["hits"] for v in d[0]["formatted"]["values"]) == 1 and d[0]["formatted"]["key"] == 0'

# a map without types: bytes, no "formatted", no warning
check "raw dump" run "$dir/o" "$dir/e" map dump pinned "$raw"
check "raw: hex" grep -qxF 'key: 00 00 00 00  value: 88 77 66 55 44 33 22 11' "$dir/o"
check "raw: no warning" test ! -s "$dir/e"
check "raw -j" run "$dir/o" "$dir/e" map dump pinned "$raw" -j
check "raw -j: no formatted" py "$dir/o" '"formatted" not in d[0]'

# reopening the pins rewrites the sidecar; still valid
check "second run" run "$dir/o" "$dir/e" run "$obj" --data-in "$dir/packet" --pin-dir "$pins"
check "after reopen: typed" run "$dir/o" "$dir/e" map dump pinned "$stats"
check "after reopen: fields" grep -qF '.level = (__u32)0x11' "$dir/o"

cp "$stats.btf" "$dir/good.btf"
hexline='key: 06 00 00 00 50 00 00 00  value: 03 00 00 00 00 00 00 00 b4 00'
# a damaged sidecar: exit 0, one warning line, bytes
damaged() {
	local what=$1
	if ! run "$dir/o" "$dir/e" map dump pinned "$stats"; then bad "$what: exit status"; return; fi
	if [ "$(wc -l <"$dir/e")" != 1 ] || ! grep -q 'warning' "$dir/e"; then bad "$what: stderr: $(cat "$dir/e")"; return; fi
	if ! grep -qF "$hexline" "$dir/o"; then bad "$what: no hex output"; return; fi
	if ! run "$dir/o" "$dir/e" map dump pinned "$stats" -j || ! py "$dir/o" '"formatted" not in d[0]'; then
		bad "$what: -j"; return
	fi
	ok
}
# patch FILE OFFSET HEXBYTES
patch() { printf "$(echo "$3" | sed 's/\(..\)/\\x\1/g')" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
size=$(stat -c %s "$dir/good.btf")

head -c 20 "$dir/good.btf" >"$stats.btf"; damaged "shorter than a header"
head -c $((size - 1)) "$dir/good.btf" >"$stats.btf"; damaged "one byte short"
: >"$stats.btf"; damaged "empty"
cp "$dir/good.btf" "$stats.btf"; patch "$stats.btf" 0 58; damaged "bad magic"
cp "$dir/good.btf" "$stats.btf"; patch "$stats.btf" 8 02; damaged "version 2"
cp "$dir/good.btf" "$stats.btf"; patch "$stats.btf" 20 ffff0000; damaged "value type id out of range"
cp "$dir/good.btf" "$stats.btf"; patch "$stats.btf" 16 "$(od -An -tx1 -j 20 -N4 "$dir/good.btf" | tr -d ' ')"
damaged "key type of the wrong size"
cp "$dir/good.btf" "$stats.btf"; patch "$stats.btf" 28 00000000; damaged "another pin's sidecar"
cp "$dir/good.btf" "$stats.btf"; patch "$stats.btf" 32 0000; damaged "BTF magic"
cp "$percpu.btf" "$stats.btf"; damaged "the sidecar of another map"

# every 7th byte of the BTF flipped: never a crash, a non-zero exit or more
# than one line on stderr; typed or bytes, each a valid dump (the JSON is
# checked at the end, in one python run)
mkdir "$dir/flips"
for ((off = 32; off < size; off += 7)); do
	cp "$dir/good.btf" "$stats.btf"
	byte=$(od -An -tu1 -j "$off" -N1 "$stats.btf" | tr -d ' ')
	patch "$stats.btf" "$off" "$(printf %02x $((byte ^ 0xff)))"
	if ! run "$dir/flips/$off.json" "$dir/e" map dump pinned "$stats" -j || [ "$(wc -l <"$dir/e")" -gt 1 ]; then
		bad "byte $off flipped: $(head -c 300 "$dir/e")"
		break
	fi
done
check "flipped bytes: every dump is JSON" python3 -c '
import json, sys
for f in sys.argv[1:]:
    d = json.load(open(f))
    assert d[0]["key"][0] == "0x06", f' "$dir"/flips/*.json

# no sidecar at all: bytes as before, silently
rm -f "$stats.btf"
check "no sidecar" run "$dir/o" "$dir/e" map dump pinned "$stats"
check "no sidecar: hex" grep -qF "$hexline" "$dir/o"
check "no sidecar: no warning" test ! -s "$dir/e"

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
