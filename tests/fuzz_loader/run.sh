#!/bin/sh
# run.sh [SECONDS] - builds fuzz_loader (loader sources instrumented with
# libFuzzer, ASan and UBSan) in /tmp/fuzz_loader, seeds it from
# tests/objects/ and fuzzes for SECONDS (default 600).  Findings land in
# /tmp/fuzz_loader/crash-* (reproduce: /tmp/fuzz_loader/fuzz_loader FILE).
set -eu
secs=${1:-600}
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
work=/tmp/fuzz_loader
mkdir -p "$work/corpus" "$work/seeds"
"$here/make_corpus.sh" "$work/seeds" >/dev/null
${CC:-clang} -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-I"$root/include" -I"$root/src" "$root"/src/loader/*.c "$root/src/isa/opcodes.c" \
	"$here/fuzz_loader.c" -lelf -lbpf -lz -o "$work/fuzz_loader"
cd "$work"
exec ./fuzz_loader -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
	-dict="$here/fuzz_loader.dict" -print_final_stats=1 corpus seeds
