#!/usr/bin/env bash
# cli_bounded_io.sh - the bpfvm command's inputs and outputs as a user meets
# them: every input is read up to a cap (64 MiB, --max-input SIZE,
# BPFVM_MAX_INPUT), so /dev/zero fails promptly naming the input and the cap
# while pipes still work; an output file appears only when the command
# succeeds.  Usage: cli_bounded_io.sh BPFVM XDP_UNCHECKED_READ_OBJ
set -u
bpfvm=$1 xdp_obj=$2
. "$(dirname "$0")/cli_lib.sh"

cap64='/dev/zero: larger than the 64 MiB input cap \(raise it with --max-input'
printf 'mov %%r0, 7\nexit\n' >"$tmp/seven.s"
"$bpfvm" asm "$tmp/seven.s" -o "$tmp/seven.bin" || echo "setup: asm failed"

# /dev/zero, wherever an input is read
expect 1 "$cap64" "$bpfvm" run /dev/zero
expect 1 "$cap64" "$bpfvm" asm /dev/zero
expect 1 "$cap64" "$bpfvm" disasm /dev/zero
expect 1 "$cap64" "$bpfvm" run "$tmp/seven.bin" --mem-file /dev/zero
expect 1 "$cap64" "$bpfvm" run "$xdp_obj" --no-verify --data-in /dev/zero
expect 1 "$cap64" "$bpfvm" run "$xdp_obj" --no-verify --data-in "$tmp/seven.bin" --ctx-in /dev/zero

# small inputs through a pipe still work
expect 0 'b7 00 00 00 07 00 00 00' sh -c "cat '$tmp/seven.s' | '$bpfvm' asm /dev/stdin"
expect 0 'Return value: 7' sh -c "cat '$tmp/seven.bin' | '$bpfvm' run /dev/stdin"
expect 0 'Return value: 7' sh -c "printf '\\001\\002' | '$bpfvm' run '$tmp/seven.bin' --mem-file /dev/stdin"

# the cap is raised or lowered by --max-input (anywhere) and BPFVM_MAX_INPUT
head -c 2097152 /dev/zero >"$tmp/two-mib"
expect 0 'Return value: 7' "$bpfvm" run "$tmp/seven.bin" --mem-file "$tmp/two-mib"
expect 1 'two-mib: larger than the 1 MiB input cap' "$bpfvm" --max-input 1M run "$tmp/seven.bin" --mem-file "$tmp/two-mib"
expect 1 'two-mib: larger than the 1 MiB input cap' "$bpfvm" run "$tmp/seven.bin" --mem-file "$tmp/two-mib" --max-input 1m
expect 1 'two-mib: larger than the 1 MiB input cap' env BPFVM_MAX_INPUT=1M "$bpfvm" run "$tmp/seven.bin" --mem-file "$tmp/two-mib"
expect 0 'Return value: 7' env BPFVM_MAX_INPUT=1M "$bpfvm" --max-input 3M run "$tmp/seven.bin" --mem-file "$tmp/two-mib"
expect 1 "--max-input: '12x' is not a size" "$bpfvm" --max-input 12x run "$tmp/seven.bin"
# an ELF object is checked before the library reads it
expect 1 'xdp_unchecked_read.bpf.o: larger than the 1 KiB input cap' "$bpfvm" --max-input 1K prog show "$xdp_obj"

# --pcap-out: a program that faults on the second packet (3100 bytes, then
# 20) leaves the earlier
# file byte-identical and no temporary beside it
{
	printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00'
	printf '\x00\x00\x00\x00\x00\x00\x00\x00\x1c\x0c\x00\x00\x1c\x0c\x00\x00'
	head -c 3100 /dev/zero
	printf '\x00\x00\x00\x00\x00\x00\x00\x00\x14\x00\x00\x00\x14\x00\x00\x00'
	head -c 20 /dev/zero
} >"$tmp/in.pcap"
mkdir "$tmp/outdir"
printf 'an earlier capture\n' >"$tmp/outdir/old.pcap"
cp "$tmp/outdir/old.pcap" "$tmp/expected"
expect 1 'in\.pcap: packet 2: .*out-of-bounds' "$bpfvm" run "$xdp_obj" --no-verify --pcap "$tmp/in.pcap" \
	--pcap-out "$tmp/outdir/old.pcap"
check "--pcap-out: the earlier file is left byte-identical" cmp -s "$tmp/expected" "$tmp/outdir/old.pcap"
check "--pcap-out: no temporary left behind" [ "$(ls -A "$tmp/outdir")" = old.pcap ]
# ... and is replaced when the run succeeds (the first packet alone)
head -c 3140 "$tmp/in.pcap" >"$tmp/one.pcap"
expect 0 'Packets: 1' "$bpfvm" run "$xdp_obj" --no-verify --pcap "$tmp/one.pcap" --pcap-out "$tmp/outdir/old.pcap"
check "--pcap-out: a successful run writes the capture" cmp -s "$tmp/one.pcap" "$tmp/outdir/old.pcap"
check "--pcap-out: no temporary left after success" [ "$(ls -A "$tmp/outdir")" = old.pcap ]

summary
