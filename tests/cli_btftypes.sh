#!/usr/bin/env bash
# cli_btftypes.sh - BTF-typed program types (tp_btf, fentry, fexit,
# fmod_ret, lsm, iter) as `bpfvm verify` and `bpfvm run` give them, against
# tests/btftypes/btf_target.c's BTF (--btf): every accept_* program
# accepted, every reject_* one rejected for the kernel's reason, a missing
# attach target named, and a test run whose pointer argument points into
# --data-in.
# Usage: cli_btftypes.sh BPFVM BUILD_DIR
set -u
bpfvm=$1 build=$2
. "$(dirname "$0")/cli_lib.sh"

obj=$build/tests/btftypes/btf_progs.bpf.o
target=$build/tests/btftypes/btf_target.bpf.o
run=$build/tests/btftypes/btf_run.bpf.o
for p in accept_fentry_fields accept_fexit_ret accept_probe_read_void accept_fmod_ret accept_fexit_ret_ptr \
         accept_lsm_errno accept_lsm_bool accept_lsm_void accept_tp_btf accept_iter; do
	expect 0 "^$p: accepted" "$bpfvm" verify "$obj" --btf "$target" --prog "$p"
done
expect 1 'invalid bpf_context access off=0 size=8' "$bpfvm" verify "$obj" --btf "$target" --prog reject_ctx_write
expect 1 'only read is supported' "$bpfvm" verify "$obj" --btf "$target" --prog reject_field_write
expect 1 'access beyond struct task at off 72 size 4' "$bpfvm" verify "$obj" --btf "$target" --prog reject_beyond_struct
expect 1 'cannot access ptr member parent with moff 48 in struct task with off 48 size 4' "$bpfvm" verify "$obj" --btf "$target" --prog reject_ptr_member_half
expect 1 "func 'target_fn' doesn't have 3-th argument" "$bpfvm" verify "$obj" --btf "$target" --prog reject_no_such_arg
expect 1 "func 'target_fn' size 4 must be 8" "$bpfvm" verify "$obj" --btf "$target" --prog reject_ptr_arg_narrow
expect 1 'At program exit the register R0 has smin=1 smax=1 should have been in \[0, 0\]' "$bpfvm" verify "$obj" --btf "$target" --prog reject_fentry_return_1
expect 1 "R1 invalid mem access 'scalar'" "$bpfvm" verify "$obj" --btf "$target" --prog reject_deref_void_member
expect 1 'ret type PTR not allowed for fmod_ret' "$bpfvm" verify "$obj" --btf "$target" --prog reject_fmod_ret_ptr
expect 1 'should have been in \[-4095, 0\]' "$bpfvm" verify "$obj" --btf "$target" --prog reject_lsm_positive
expect 1 'points to disabled hook bpf_lsm_ismaclabel' "$bpfvm" verify "$obj" --btf "$target" --prog reject_lsm_disabled
expect 1 "func 'task_event' doesn't have 3-th argument" "$bpfvm" verify "$obj" --btf "$target" --prog reject_tp_btf_third
expect 1 "R1 invalid mem access 'ptr_or_null_'" "$bpfvm" verify "$obj" --btf "$target" --prog reject_iter_no_null_check
expect 1 'should have been in \[0, 1\]' "$bpfvm" verify "$obj" --btf "$target" --prog reject_iter_return_2
expect 2 "no function 'no_such_function' in the target BTF" "$bpfvm" verify "$obj" --btf "$target" --prog reject_missing_target

# a test run: ctx_in is (a = 5, t = data byte 0, ret = 3); data_in holds a
# struct task with pid 7 and in.b[1] 11 (offset 14)
printf '\x05\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x80\x03\0\0\0\0\0\0\0' >"$tmp/args.bin"
head -c 72 /dev/zero >"$tmp/task.bin"
printf '\x07' | dd of="$tmp/task.bin" bs=1 seek=0 conv=notrunc status=none
printf '\x0b' | dd of="$tmp/task.bin" bs=1 seek=14 conv=notrunc status=none
expect 0 'Return value: 26' "$bpfvm" run "$run" --btf "$target" --prog run_fmod_ret_pid \
	--ctx-in "$tmp/args.bin" --data-in "$tmp/task.bin"
# the same task with its cred pointer (offset 40) garbage: a verified
# program following it fails the run on that access instead of crashing
cp "$tmp/task.bin" "$tmp/bad_task.bin"
printf 'AAAAAAAA' | dd of="$tmp/bad_task.bin" bs=1 seek=40 conv=notrunc status=none
expect 1 'out-of-bounds read of 4 bytes at 0x4141414141414141' "$bpfvm" run "$run" --btf "$target" --prog run_follow_cred \
	--ctx-in "$tmp/args.bin" --data-in "$tmp/bad_task.bin"
printf '%0200d' 0 >"$tmp/long.bin"
expect 1 'ctx_in must be at most 12 u64 arguments' "$bpfvm" run "$run" --btf "$target" --prog run_fmod_ret_pid \
	--ctx-in "$tmp/long.bin"
summary
