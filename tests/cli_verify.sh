#!/usr/bin/env bash
# cli_verify.sh - `bpfvm verify` and `bpfvm run`'s verification as a user
# meets them: exit status (0 accepted, 1 rejected, 2 usage or unreadable
# input), the verdict lines, a rejection's reason, source line and state,
# the -v summary line, bad input, and that `verify` and `prog show` of an
# object with a pinned map leave the pin directory as they found it.
# Usage: cli_verify.sh BPFVM BUILD_DIR
set -u
bpfvm=$1 build=$2
. "$(dirname "$0")/cli_lib.sh"

ex=$build/examples/xdp_proto_count.bpf.o
neg=$build/tests/verifier/negative/maps.bpf.o
expect 0 '^xdp_count: accepted \(processed [0-9]+ insns' "$bpfvm" verify "$ex"
expect 0 'processed [0-9]+ insns \(limit 1000000\) max_states_per_insn' "$bpfvm" verify "$ex" -v
expect 1 "map_value_no_null_check: rejected: .*insn 7: .*maps\.c:29.*R0 invalid mem access 'map_value_or_null'" \
	"$bpfvm" verify "$neg"
expect 1 'state: R0=map_value_or_null' "$bpfvm" verify "$neg" --prog map_value_no_null_check
expect 0 'map_value_null_checked: accepted' "$bpfvm" verify "$neg" --prog map_value_null_checked
expect 2 'no program named' "$bpfvm" verify "$ex" --prog nosuch
expect 2 'cannot open' "$bpfvm" verify "$tmp/missing.o"
printf 'not an object' >"$tmp/junk.o"
expect 2 'not an ELF file' "$bpfvm" verify "$tmp/junk.o"
printf 'mov %%r0, 0\nexit\n' >"$tmp/ok.s"
expect 0 'accepted' "$bpfvm" verify "$tmp/ok.s"
expect 2 "not a size" "$bpfvm" verify "$tmp/ok.s" --mem-size 12x
expect 2 "unknown program type" "$bpfvm" verify "$tmp/ok.s" --type nosuch
# --sleepable: BPF_F_SLEEPABLE for a raw program (a kprobe may be, an xdp not)
printf 'mov %%r1, %%r10\nadd %%r1, -8\nmov %%r2, 8\nmov %%r3, 0\ncall 148\nmov %%r0, 0\nexit\n' >"$tmp/copy.s"
expect 1 'helper call might sleep in a non-sleepable prog' "$bpfvm" verify "$tmp/copy.s" --type kprobe
expect 0 'accepted' "$bpfvm" verify "$tmp/copy.s" --type kprobe --sleepable
expect 1 'Only fentry/fexit/fmod_ret, lsm, iter, uprobe, and struct_ops programs can be sleepable' \
	"$bpfvm" verify "$tmp/copy.s" --type xdp --sleepable
expect 2 'sleepable is for assembly files' "$bpfvm" verify "$build/tests/verifier/negative/sleepable.bpf.o" --sleepable
printf 'ldxdw %%r0, [%%r1+4]\nexit\n' >"$tmp/oob.s"
expect 1 'invalid access to memory, mem_size=8 off=4 size=8' "$bpfvm" verify "$tmp/oob.s" --mem-size 8
# a write to r10 is shown as written, and the rejected instruction's line
# is in the -v log once, as in the kernel's
printf 'mov %%r0, 0\nmov %%r10, 5\nexit\n' >"$tmp/fp.s"
expect 1 'rejected: insn 1: r10 = 5: frame pointer is read only' "$bpfvm" verify "$tmp/fp.s"
expect 1 '^1: \(b7\) r10 = 5$' "$bpfvm" verify "$tmp/fp.s" -v
check "the rejected instruction is logged once" test "$(grep -c '^1: (b7) r10 = 5$' "$tmp/out")" = 1
# a write to r10 no path reaches: accepted, and run (a no-op once loaded);
# without the verification, refused at load
printf 'mov %%r0, 0\njeq %%r0, 1, +1\nexit\nmov %%r10, 5\nexit\n' >"$tmp/deadfp.s"
expect 0 'accepted' "$bpfvm" verify "$tmp/deadfp.s"
expect 0 'Return value: 0' "$bpfvm" run "$tmp/deadfp.s"
expect 0 'Return value: 0' "$bpfvm" run "$tmp/deadfp.s" --jit
expect 1 'instruction 3: r10 \(the frame pointer\) is read-only' "$bpfvm" run "$tmp/deadfp.s" --no-verify
printf 'mov %%r0,\nexit\n' >"$tmp/bad.s"
expect 2 'bad\.s: line 1: missing operand' "$bpfvm" verify "$tmp/bad.s"
# run: verified first; an unsafe program is refused unless --no-verify
expect 1 'rejected by the verifier: .*invalid access to memory' "$bpfvm" run "$tmp/oob.s" --mem '01 02 03 04 05 06 07 08'
expect 1 'instruction 0: out-of-bounds read of 8 bytes' "$bpfvm" run "$tmp/oob.s" --no-verify --mem '01 02 03 04 05 06 07 08'
expect 0 'Return value: 0' "$bpfvm" run "$tmp/ok.s"

# no side effects: verify and prog show neither pin nor make the pin
# directory (run does both, as before); on tmpfs like the default
shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=$tmp
pins=$(mktemp -d "$shm/bpfvm-verify-pins-XXXXXX") || exit 1
trap 'rm -rf "$tmp" "$pins"' EXIT
pinned=$build/tests/objects/pinned_types.bpf.o
# empty_dir WHAT: the pin directory has no entries
empty_dir() {
	if [ -n "$(ls -A "$pins")" ]; then
		echo "FAIL: $1 left in $pins: $(ls -A "$pins" | tr '\n' ' ')"
		fails=$((fails + 1))
	else
		passes=$((passes + 1))
	fi
}
expect 0 ': accepted' env BPFVM_PIN_DIR="$pins" "$bpfvm" verify "$pinned"
empty_dir "bpfvm verify"
expect 0 'pinned_stats' env BPFVM_PIN_DIR="$pins" "$bpfvm" prog show "$pinned"
empty_dir "bpfvm prog show"
expect 0 ': accepted' env BPFVM_PIN_DIR="$pins/missing" "$bpfvm" verify "$pinned"
empty_dir "bpfvm verify with a missing pin directory"
head -c 64 /dev/zero >"$tmp/packet"
expect 0 'Return value' env BPFVM_PIN_DIR="$pins" "$bpfvm" run "$pinned" --data-in "$tmp/packet"
if [ -e "$pins/pinned_stats" ]; then passes=$((passes + 1)); else
	echo "FAIL: bpfvm run did not pin pinned_stats in $pins"; fails=$((fails + 1)); fi

# options of every command that loads an object: --kconfig FILE, --map NAME.FIELD=N
ext=$build/tests/externs
printf 'CONFIG_BPFVM_TEST_U8=7\n' >"$tmp/kconfig"
head -c 64 /dev/zero >"$tmp/packet64"
expect 0 'CONFIG_BPFVM_TEST_U8 = \(unsigned char\)7' "$bpfvm" run "$ext/kconfig.bpf.o" --kconfig "$tmp/kconfig" \
	--data-in "$tmp/packet64" --dump-maps
printf 'CONFIG_BPFVM_TEST_S16=m\n' >"$tmp/kconfig"
expect 2 "'CONFIG_BPFVM_TEST_S16': value 'm' implies bool" "$bpfvm" verify "$ext/kconfig.bpf.o" --kconfig "$tmp/kconfig"
expect 1 "map 'counts' has max_entries 0: set it with --map counts.max_entries=N" "$bpfvm" run "$ext/map_sizes.bpf.o"
expect 0 'max_entries 16' "$bpfvm" prog show "$ext/map_sizes.bpf.o" --map counts.max_entries=16
expect 0 'accepted' "$bpfvm" verify "$ext/map_sizes.bpf.o" --map counts.max_entries=16 \
	--map outer.inner.max_entries=2 --map events.max_entries=4096
expect 1 "no map named 'nosuch'" "$bpfvm" prog show "$ext/map_sizes.bpf.o" --map nosuch.max_entries=1
expect 1 "unknown field 'entries'" "$bpfvm" prog show "$ext/map_sizes.bpf.o" --map counts.entries=1
expect 1 "extern 'bpf_prog_active' \(__ksym, strong\)" "$bpfvm" run "$ext/ksym_strong.bpf.o"
expect 0 "Return value: 45" "$bpfvm" run "$ext/kfunc_iter.bpf.o"
expect 1 "calls kfunc 'bpf_kfunc_bpfvm_lacks', which bpfvm does not provide" "$bpfvm" run "$ext/kfunc_unknown.bpf.o"

summary
