#!/usr/bin/env bash
# cli_pins.sh - who `bpfvm run` and `bpfvm map` trust with a pin (issue 11,
# item 3): a pin directory writable by others or a symbolic link is
# refused, a pin another user planted (run reusing it, map dump opening
# it) is refused naming its owner, and a pin of another format version is
# refused naming the pin.  The planted pin needs root (chown); skipped
# otherwise.  Usage: cli_pins.sh BPFVM OBJECT (tests/objects/pinned_types)
set -u
bpfvm=$1 obj=$2
. "$(dirname "$0")/cli_lib.sh"
base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
dir=$(mktemp -d "$base/bpfvm-pins-XXXXXX") || exit 1
trap 'rm -rf "$tmp" "$dir"' EXIT
head -c 64 /dev/zero >"$tmp/packet"
runargs=(run "$obj" --data-in "$tmp/packet")

expect 0 'Return value' env BPFVM_PIN_DIR="$dir/good" "$bpfvm" "${runargs[@]}"
check "pin directory made 0700" test "$(stat -c %a "$dir/good")" = 700
check "pins made 0600" test "$(stat -c %a "$dir/good/pinned_stats")" = 600
expect 0 'Found 1 element' "$bpfvm" map dump pinned "$dir/good/pinned_stats"

mkdir -m 700 "$dir/world" && chmod 1777 "$dir/world"
expect 1 "pin directory $dir/world is writable by others \(mode 1777\); make it 0700" env BPFVM_PIN_DIR="$dir/world" "$bpfvm" "${runargs[@]}"
check "nothing pinned in it" test -z "$(ls "$dir/world")"
ln -s "$dir/good" "$dir/link"
expect 1 'is a symbolic link' env BPFVM_PIN_DIR="$dir/link" "$bpfvm" "${runargs[@]}"
expect 1 'is a symbolic link' "$bpfvm" map dump pinned "$dir/link/pinned_stats"
ln -s "$dir/good/pinned_stats" "$dir/good/alias"
expect 1 "pin $dir/good/alias is a symbolic link" "$bpfvm" map dump pinned "$dir/good/alias"

# another format version: the version field follows the 8-byte magic
cp "$dir/good/pinned_raw" "$dir/good/old"
printf '\x63\x00\x00\x00' | dd of="$dir/good/old" bs=1 seek=8 conv=notrunc status=none
expect 1 "$dir/good/old is a bpfvm map of format version 99" "$bpfvm" map dump pinned "$dir/good/old"
head -c 100 "$dir/good/pinned_raw" >"$dir/good/short"
expect 1 "$dir/good/short is not a bpfvm map \(100 bytes: too short" "$bpfvm" map show pinned "$dir/good/short"

if [ "$(id -u)" = 0 ]; then
	# a pin planted by another user before root's process starts
	mkdir -m 700 "$dir/planted"
	expect 0 'Return value' env BPFVM_PIN_DIR="$dir/planted" "$bpfvm" "${runargs[@]}"
	chown 65534:65534 "$dir/planted/pinned_stats"
	expect 1 "pin $dir/planted/pinned_stats belongs to uid 65534.*not to you \(uid 0\)" env BPFVM_PIN_DIR="$dir/planted" "$bpfvm" "${runargs[@]}"
	expect 1 "belongs to uid 65534" "$bpfvm" map dump pinned "$dir/planted/pinned_stats"
	expect 1 "belongs to uid 65534" "$bpfvm" map update pinned "$dir/planted/pinned_stats" \
		key 0x06 0 0 0 0x50 0 0 0 value hex 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
else
	echo "not root: the planted pin (chown to another user) is skipped"
fi
summary
