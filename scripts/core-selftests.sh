#!/usr/bin/env bash
# core-selftests.sh - the kernel selftests' CO-RE programs relocated by
# bpfvm and by libbpf, compared (tests/core/test_core_libbpf).
#
# Owns: pairing each progs/test_core_reloc_NAME.c with the target BTFs the
# selftests give it (progs/btf__core_reloc_NAME.c and its ___variants, as
# prog_tests/core_reloc.c's table names them: the target's name up to its
# "___" is the program's; test_core_reloc_kernel.c is relocated against the
# running kernel's BTF, test_core_reloc_module.c, which needs the selftests'
# bpf_testmod module, is left out), building both (cached: rebuilt only when the source
# is newer), and running the comparison, which prints the counts.
#
# usage: scripts/core-selftests.sh [--out DIR] [--test PATH]
#   --out DIR    work directory (default build/selftests, shared with
#                verifier-selftests.sh, which extracts the same sources)
#   --test PATH  the comparison program (default build/tests/test_core_libbpf)
# Needs Debian's linux-source-6.12 (not installed: exit 77, skipped), root
# (libbpf's bpf()), clang; programs using bpf_core_type_matches are built
# with clang-16 (left out with a message without it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build/selftests
test_prog=$root/build/tests/test_core_libbpf
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --test) test_prog=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "core-selftests: unknown option '$1'" >&2; exit 1 ;;
  esac
done
skip() { echo "core-selftests: skipped: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "libbpf's load needs bpf() (root)"
tarball=$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -1 || true)
[ -n "$tarball" ] || skip "Debian's linux-source-6.12 is not installed (apt-get install linux-source-6.12)"

# The same extraction (and stamp) as verifier-selftests.sh: either reuses it.
mkdir -p "$out"
src=$out/linux
stamp=$src/.extracted-$(stat -c %Y "$tarball")
if [ ! -f "$stamp" ]; then
  rm -rf "$src"
  mkdir -p "$src"
  tar -xf "$tarball" -C "$src" --strip-components=1 \
    --wildcards 'linux-source-6.12/tools/testing/selftests/bpf/*' 'linux-source-6.12/tools/include/*'
  touch "$stamp"
fi
st=$src/tools/testing/selftests/bpf
gen=$out/include
mkdir -p "$gen"
if [ ! -s "$gen/vmlinux.h" ]; then
  bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$gen/vmlinux.h.tmp"
  mv "$gen/vmlinux.h.tmp" "$gen/vmlinux.h"
fi

multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
cflags=(-O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -mlittle-endian
        -I"$st" -I"$st/progs" -I"$gen" -I"$src/tools/include/uapi" -I/usr/include -I"/usr/include/$multiarch"
        -Wno-compare-distinct-pointer-types -Wno-unknown-attributes)
objdir=$out/core
mkdir -p "$objdir"
clang16=$(command -v clang-16 || true)
left_out=0

# Builds progs/$1.c into $objdir/$1.o unless up to date; 1 if it cannot.
build() {
  local name=$1 c=$st/progs/$1.c o=$objdir/$1.o cc=clang
  if grep -q bpf_core_type_matches "$c"; then
    [ -n "$clang16" ] || return 1
    cc=$clang16
  fi
  [ "$o" -nt "$c" ] && return 0
  "$cc" "${cflags[@]}" -c "$c" -o "$o.tmp" 2>"$o.log" && mv "$o.tmp" "$o"
}

pairs=()
for prog in "$st"/progs/test_core_reloc_*.c; do
  name=$(basename "$prog" .c)
  stem=${name#test_core_reloc_}
  if ! build "$name"; then
    echo "left out: $name (needs clang-16 or does not build: $objdir/$name.o.log)"
    left_out=$((left_out + 1))
    continue
  fi
  # test_core_reloc_module needs the bpf_testmod module's BTF: not here
  [ "$stem" = module ] && continue
  if [ "$stem" = kernel ]; then
    pairs+=("$objdir/$name.o" /sys/kernel/btf/vmlinux)
    continue
  fi
  for target in "$st"/progs/btf__core_reloc_"$stem".c "$st"/progs/btf__core_reloc_"$stem"___*.c; do
    [ -f "$target" ] || continue
    tname=$(basename "$target" .c)
    if ! build "$tname"; then
      echo "left out: $tname (does not build: $objdir/$tname.o.log)"
      left_out=$((left_out + 1))
      continue
    fi
    pairs+=("$objdir/$name.o" "$objdir/$tname.o")
  done
done
[ ${#pairs[@]} -gt 0 ] || { echo "core-selftests: no program built"; exit 1; }
echo "== $(( ${#pairs[@]} / 2 )) program/target pairs, $left_out files left out"
"$test_prog" "${pairs[@]}"
