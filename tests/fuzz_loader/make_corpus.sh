#!/bin/sh
# make_corpus.sh DIR - seed corpus for fuzz_loader: every eBPF test object
# of tests/objects/ compiled as the loader's users compile them
# (clang -O2 -g -target bpf), plus a copy without debug info (-g0: no
# .BTF.ext line info) and one with BTF only for maps.
set -eu
out=${1:?usage: make_corpus.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
clang=${BPFVM_CLANG:-clang}
inc=/usr/include/$(uname -m)-linux-gnu
mkdir -p "$out"
for src in "$here"/../objects/*.c; do
	name=$(basename "$src" .c)
	"$clang" -O2 -g -target bpf -I"$inc" -c "$src" -o "$out/$name.o"
	"$clang" -O2 -target bpf -I"$inc" -c "$src" -o "$out/$name.nodebug.o" 2>/dev/null || true
	"$clang" -O0 -g -target bpf -I"$inc" -c "$src" -o "$out/$name.O0.o" 2>/dev/null || true
done
ls "$out" | wc -l
