#!/usr/bin/env bash
# verifier-selftests.sh - bpfvm's verifier against the kernel's own verifier
# selftests (issue 5, item 4): same verdict as the running kernel?
#
# Owns: fetching Debian's linux-source-6.12 (apt-get, idempotent), extracting
# tools/testing/selftests/bpf (and the headers it needs) into the build
# directory, compiling every progs/verifier_*.c with the machine's clang
# (failures are counted and listed, not hidden), asking the running kernel
# for its verdict on each program (build/tests/verifier/kernel_verdict, via
# libbpf, as root), asking `bpfvm verify OBJ --prog NAME -v` for bpfvm's,
# and printing the comparison.  Nothing of the kernel's sources is kept in
# the project: they are read from the package at run time.
#
# Usage: scripts/verifier-selftests.sh [--only PATTERN] [--bpfvm PATH]
#            [--require-no-unsafe] [--out DIR] [--jobs N] [--timeout SEC]
#   --only PATTERN   only selftest files whose name matches the shell
#                    pattern (e.g. 'verifier_ringbuf*' or '*ctx*')
#   --bpfvm PATH     the bpfvm command (default: build/tools/bpfvm)
#   --require-no-unsafe  exit 1 if bpfvm accepts a program the kernel rejects
#   --out DIR        work and result directory (default: build/selftests)
#   --timeout SEC    per-program limit for bpfvm verify (default 20)
#
# Classes (results.tsv column `class`):
#   agree-accept, agree-reject   both give the same verdict
#   UNSAFE-ACCEPTED               bpfvm accepts what the kernel rejects (must be 0)
#   false-positive                bpfvm rejects what the kernel accepts
#   unsupported                   bpfvm says the program type or a helper is
#                                 unsupported (exit 2, "unsupported"): left out
#                                 of the supported subset
#   bpfvm-error                   bpfvm failed otherwise (exit 2, a crash or a
#                                 timeout): left out of the agreement, listed
#   kernel-error                  libbpf could not bring the program to the
#                                 kernel's verifier: no reference verdict
#   no-bpfvm                      `bpfvm verify` is not available yet
#
# Exit status: 0 after a complete measurement (whatever the agreement), 1
# on a harness error, or with --require-no-unsafe if UNSAFE-ACCEPTED > 0.
#
# Environment: BPFVM_BUILD_LOCK=FILE makes every compile and run batch take
# `flock FILE` (held a short while at a time), for machines shared by
# several builds; CLANG (default clang).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

only='verifier_*'
bpfvm=$root/build/tools/bpfvm
require_no_unsafe=0
out=$root/build/selftests
jobs=2
timeout_s=20
while [ $# -gt 0 ]; do
  case $1 in
    --only) only=$2; shift 2 ;;
    --bpfvm) bpfvm=$2; shift 2 ;;
    --require-no-unsafe) require_no_unsafe=1; shift ;;
    --out) out=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "verifier-selftests: unknown option '$1' (see --help)" >&2; exit 1 ;;
  esac
done
case $only in verifier_*) ;; *) only="verifier_$only" ;; esac
case $only in *.c) ;; *) only="$only.c" ;; esac
case $bpfvm in /*) ;; *) bpfvm=$root/$bpfvm ;; esac
mkdir -p "$out"
out=$(cd "$out" && pwd)
clang=${CLANG:-clang}
t_start=$(date +%s)

die() { echo "verifier-selftests: $*" >&2; exit 1; }
# Runs a command under the shared build lock, if one is configured.
locked() {
  if [ -n "${BPFVM_BUILD_LOCK:-}" ]; then flock "$BPFVM_BUILD_LOCK" "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] || die "must run as root (the kernel's verdicts need a privileged BPF_PROG_LOAD)"

# ---- 1. packages -----------------------------------------------------------
need=()
dpkg -s linux-source-6.12 >/dev/null 2>&1 || need+=(linux-source-6.12)
command -v bpftool >/dev/null 2>&1 || need+=(bpftool)
[ -f /usr/include/bpf/bpf_helpers.h ] || need+=(libbpf-dev)
command -v "$clang" >/dev/null 2>&1 || need+=(clang)
if [ ${#need[@]} -gt 0 ]; then
  echo "== apt-get install ${need[*]}"
  apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null || die "apt-get install ${need[*]} failed"
fi
tarball=$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -1)
[ -n "$tarball" ] || die "linux-source-6.12 is installed but /usr/src/linux-source-6.12.tar.* is missing"

# ---- 2. the selftests, extracted into the build directory ------------------
src=$out/linux
stamp=$src/.extracted-$(stat -c %Y "$tarball")
if [ ! -f "$stamp" ]; then
  echo "== extracting selftests from $tarball"
  rm -rf "$src"
  mkdir -p "$src"
  tar -xf "$tarball" -C "$src" --strip-components=1 \
    --wildcards 'linux-source-6.12/tools/testing/selftests/bpf/*' \
    'linux-source-6.12/tools/include/*' \
    || die "cannot extract $tarball"
  touch "$stamp"
fi
st=$src/tools/testing/selftests/bpf
[ -d "$st/progs" ] || die "$st/progs is missing after extraction"

# vmlinux.h from the running kernel's BTF, for the sources that include it
gen=$out/include
mkdir -p "$gen"
if [ ! -s "$gen/vmlinux.h" ]; then
  [ -r /sys/kernel/btf/vmlinux ] || die "/sys/kernel/btf/vmlinux is missing: cannot generate vmlinux.h"
  bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$gen/vmlinux.h.tmp" || die "bpftool btf dump failed"
  mv "$gen/vmlinux.h.tmp" "$gen/vmlinux.h"
fi

# ---- 3. compile -------------------------------------------------------------
# As the selftests' Makefile: its flags for the default flavour (-mcpu=v3,
# the target architecture), the selftests' own directory for bpf_misc.h and
# friends, the tree's UAPI headers (the tests are written against 6.12's
# <linux/bpf.h>), then libbpf-dev's <bpf/*.h> and the multiarch directory.
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
cflags=(-O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -mlittle-endian
        -I"$st" -I"$st/progs" -I"$gen" -I"$src/tools/include/uapi" -I/usr/include -I"/usr/include/$multiarch"
        -Wno-compare-distinct-pointer-types -Wno-unknown-attributes)
objdir=$out/obj
mkdir -p "$objdir"
mapfile -t sources < <(cd "$st/progs" && ls $only 2>/dev/null | sort)
[ ${#sources[@]} -gt 0 ] || die "no selftest file matches '$only'"
todo=()
for f in "${sources[@]}"; do
  o=$objdir/${f%.c}.bpf.o fl=$objdir/${f%.c}.failed
  if [ -f "$o" ]; then
    [ "$st/progs/$f" -nt "$o" ] && todo+=("$f")
  elif [ -f "$fl" ]; then
    [ "$st/progs/$f" -nt "$fl" ] && todo+=("$f")
  else
    todo+=("$f")
  fi
done
compile_one() {  # compile_one FILE   (used through xargs)
  local f=$1 base=${1%.c}
  if "$clang" "${cflags[@]}" -c "$st/progs/$f" -o "$objdir/$base.bpf.o.tmp" 2>"$objdir/$base.log"; then
    mv "$objdir/$base.bpf.o.tmp" "$objdir/$base.bpf.o"
    rm -f "$objdir/$base.failed"
  else
    rm -f "$objdir/$base.bpf.o.tmp"
    touch "$objdir/$base.failed"
  fi
}
export -f compile_one
export clang st objdir
export CFLAGS_SERIAL
CFLAGS_SERIAL=$(printf '%q ' "${cflags[@]}")
if [ ${#todo[@]} -gt 0 ]; then
  echo "== compiling ${#todo[@]} selftest files with $($clang --version | head -1)"
  # batches of 16 files, the lock taken per batch
  for ((i = 0; i < ${#todo[@]}; i += 16)); do
    printf '%s\n' "${todo[@]:i:16}" |
      locked xargs -P "$jobs" -I{} bash -c 'eval "cflags=($CFLAGS_SERIAL)"; compile_one "$1"' _ {}
  done
fi
compiled=() failed_files=()
for f in "${sources[@]}"; do
  if [ -f "$objdir/${f%.c}.bpf.o" ] && [ ! -f "$objdir/${f%.c}.failed" ]; then compiled+=("$f"); else failed_files+=("$f"); fi
done
t_compiled=$(date +%s)

# ---- 4. the kernel's verdicts ------------------------------------------------
kv=$root/build/tests/kernel_verdict
if [ ! -x "$kv" ] || [ "$root/tests/verifier/kernel_verdict.c" -nt "$kv" ] || [ "$root/tests/support/kload.c" -nt "$kv" ]; then
  echo "== building kernel_verdict"
  if [ ! -f "$root/build/build.ninja" ]; then
    locked cmake -S "$root" -B "$root/build" -G Ninja -DBPFVM_BENCH=OFF >/dev/null || die "cmake configure failed"
  fi
  locked cmake --build "$root/build" --target kernel_verdict -j "$jobs" >/dev/null || die "cannot build kernel_verdict"
fi
ktsv=$out/kernel.tsv
: >"$ktsv"
echo "== kernel verdicts (${#compiled[@]} objects)"
for ((i = 0; i < ${#compiled[@]}; i += 45)); do
  batch=()
  for f in "${compiled[@]:i:45}"; do batch+=("$objdir/${f%.c}.bpf.o"); done
  locked "$kv" "${batch[@]}" >>"$ktsv" 2>>"$out/kernel_verdict.stderr" \
    || die "kernel_verdict failed on ${batch[*]} (see $out/kernel_verdict.stderr)"
done
t_kernel=$(date +%s)

# ---- 5. bpfvm's verdicts ------------------------------------------------------
have_bpfvm=0
if [ -x "$bpfvm" ] && "$bpfvm" verify --help >/dev/null 2>&1; then
  have_bpfvm=1
else
  echo "bpfvm verify not available ($bpfvm): only the kernel's side is measured"
fi
bdir=$out/bpfvm
rm -rf "$bdir"
mkdir -p "$bdir"
bpfvm_one() {  # bpfvm_one OBJ PROG FLAGS   -> $bdir/OBJBASE.PROG.{out,rc}
  local obj=$1 prog=$2 flags=$3 base extra=()
  base=$(basename "$obj" .bpf.o).$prog
  # the load flags that change the verifier's rules
  case $flags in *BPF_F_STRICT_ALIGNMENT*) extra+=(--strict-alignment) ;; esac
  local rc=0
  timeout "$timeout_s" "$bpfvm" verify "$obj" --prog "$prog" "${extra[@]}" -v >"$bdir/$base.out" 2>&1 || rc=$?
  echo "$rc" >"$bdir/$base.rc"
}
export -f bpfvm_one
export bpfvm bdir timeout_s
if [ "$have_bpfvm" = 1 ]; then
  echo "== bpfvm verify ($(wc -l <"$ktsv") programs)"
  awk -F'\t' -v d="$objdir" '{ sub(/\.bpf\.o$/, "", $1); print d "/" $1 ".bpf.o " $2 " " $6 }' "$ktsv" >"$bdir/list"
  split -l 250 "$bdir/list" "$bdir/batch."
  for b in "$bdir"/batch.*; do
    locked xargs -P "$jobs" -n 3 bash -c 'bpfvm_one "$1" "$2" "$3"' _ <"$b"
  done
fi
t_bpfvm=$(date +%s)

# ---- 6. classification and summary --------------------------------------------
res=$out/results.tsv
printf 'file\tprog\tsection\tprog_type\texpected\tflags\tkernel\tkernel_errno\tkernel_insns\tbpfvm\tbpfvm_rc\tbpfvm_insns\tclass\tkernel_msg\tbpfvm_msg\n' >"$res"
while IFS=$'\t' read -r file prog section ptype expected flags emsgs kverdict kerr kinsns kmsg; do
  base=${file%.bpf.o}.$prog
  bverdict=- brc=- binsns=- bmsg=- class=
  if [ "$kverdict" = error ]; then
    class=kernel-error
  elif [ "$have_bpfvm" = 0 ]; then
    class=no-bpfvm
  else
    brc=$(cat "$bdir/$base.rc" 2>/dev/null || echo missing)
    bout=$bdir/$base.out
    binsns=$(sed -n 's/^processed \([0-9]*\) insns.*/\1/p' "$bout" 2>/dev/null | tail -1)
    binsns=${binsns:--}
    # the last line that is not the summary: the verdict or the reason
    bmsg=$(grep -v '^processed ' "$bout" 2>/dev/null | grep -v '^[[:space:]]*$' | tail -1 | tr '\t' ' ' | cut -c1-300)
    bmsg=${bmsg:--}
    case $brc in
      0) bverdict=accept ;;
      1) bverdict=reject ;;
      2) if grep -qi unsupported "$bout"; then bverdict=unsupported; else bverdict=error; fi ;;
      124) bverdict=error; bmsg="timeout after ${timeout_s}s" ;;
      *) bverdict=error ;;
    esac
    case $kverdict/$bverdict in
      accept/accept) class=agree-accept ;;
      reject/reject) class=agree-reject ;;
      reject/accept) class=UNSAFE-ACCEPTED ;;
      accept/reject) class=false-positive ;;
      */unsupported) class=unsupported ;;
      *) class=bpfvm-error ;;
    esac
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$file" "$prog" "$section" "$ptype" \
    "$expected" "$flags" "$kverdict" "$kerr" "$kinsns" "$bverdict" "$brc" "$binsns" "$class" "$kmsg" "$bmsg" >>"$res"
done <"$ktsv"
t_end=$(date +%s)

{
  echo "== kernel's verifier selftests (linux-source-6.12) vs bpfvm, kernel $(uname -r)"
  echo "source files:      ${#sources[@]} matching '$only'; compiled by clang: ${#compiled[@]}; failed to compile: ${#failed_files[@]}"
  if [ ${#failed_files[@]} -gt 0 ]; then
    echo "  not compiled (see $objdir/NAME.log): ${failed_files[*]}"
  fi
  awk -F'\t' -v unsafe_file="$out/unsafe.txt" '
    NR == 1 { next }
    $2 == "(object)" { objerr++; objs = objs " " $1; next }
    { n++; k[$7]++; c[$13]++; t[$4]++; tk[$4 SUBSEP $7]++; tc[$4 SUBSEP $13]++
      if ($5 == "accept" || $5 == "reject") { lab++; if ($5 == $7) labok++ }
      if ($13 == "agree-accept" && $9 > 0 && $12 > 0) { g += log($12 / $9); gn++ }
      if ($13 == "UNSAFE-ACCEPTED") print $1 " " $2 ": " $14 > unsafe_file }
    END {
      if (objerr > 0) printf "not opened:        %d compiled objects libbpf cannot open (their programs are not counted):%s\n", objerr, objs
      printf "programs:          %d\n", n
      printf "kernel verdicts:   %d accept, %d reject, %d not loadable by libbpf (kernel-error)\n", k["accept"], k["reject"], k["error"]
      printf "selftest labels:   %d of %d labelled programs behave as annotated on this kernel\n", labok, lab
      printf "by program type:   (programs: kernel accept/reject/error; bpfvm agree/unsafe/false-positive/unsupported/error)\n"
      fflush()
      for (ty in t)
        printf "  %-18s %4d: %d/%d/%d; %d/%d/%d/%d/%d\n", ty, t[ty], tk[ty, "accept"], tk[ty, "reject"], tk[ty, "error"],
          tc[ty, "agree-accept"] + tc[ty, "agree-reject"], tc[ty, "UNSAFE-ACCEPTED"], tc[ty, "false-positive"],
          tc[ty, "unsupported"], tc[ty, "bpfvm-error"] | "sort -k2 -rn"
      close("sort -k2 -rn"); fflush()
      if (c["no-bpfvm"] > 0) { print "bpfvm:             bpfvm verify not available"; exit }
      sup = c["agree-accept"] + c["agree-reject"] + c["UNSAFE-ACCEPTED"] + c["false-positive"]
      printf "bpfvm:             %d agree-accept, %d agree-reject, %d false-positive, %d UNSAFE-ACCEPTED\n", c["agree-accept"], c["agree-reject"], c["false-positive"], c["UNSAFE-ACCEPTED"]
      printf "                   %d unsupported, %d bpfvm-error (excluded)\n", c["unsupported"], c["bpfvm-error"]
      if (sup > 0) printf "agreement:         %.1f%% of %d supported programs\n", 100 * (c["agree-accept"] + c["agree-reject"]) / sup, sup
      else print "agreement:         no supported program"
      printf "unsafe accepted:   %d\n", c["UNSAFE-ACCEPTED"]
      if (gn > 0) printf "processed insns:   geometric mean of bpfvm/kernel = %.3f over %d programs both accept\n", exp(g / gn), gn
    }' "$res"
  # programs the kernel cannot load here (fentry/fexit/fmod_ret/lsm are
  # refused with EPERM before verifying): bpfvm against the selftests' own
  # __success/__failure labels, apart from the agreement above
  awk -F'\t' -v d="$bdir" '
    NR > 1 && $7 == "error" && ($5 == "accept" || $5 == "reject") {
      rcf = d "/" substr($1, 1, length($1) - 6) "." $2 ".rc"; rc = "missing"
      if ((getline rc < rcf) > 0) close(rcf)
      n++
      if (rc == 0 || rc == 1) { v = rc == 0 ? "accept" : "reject"; if (v == $5) ok++; else { bad++; badl = badl " " $2 } }
      else other++
    }
    END { if (n) printf "not loadable:      %d labelled programs the kernel cannot load: bpfvm as labelled %d, " \
                        "against the label %d%s, unsupported or error %d\n", n, ok, bad, bad ? " (" substr(badl, 2) ")" : "", other }' "$res"
  # the commonest reasons behind each kind of disagreement, for whoever fixes them
  for cls in false-positive unsupported bpfvm-error; do
    awk -F'\t' -v cls=$cls 'NR > 1 && $13 == cls { m = $15; sub(/^[^:]*: /, "", m); print substr(m, 1, 100) }' "$res" |
      sort | uniq -c | sort -rn | head -5 | sed "s/^/  $cls: /"
  done
  echo "time:              $((t_end - t_start))s (compile $((t_compiled - t_start))s, kernel $((t_kernel - t_compiled))s, bpfvm $((t_bpfvm - t_kernel))s)"
  echo "per program:       $res"
} | tee "$out/summary.txt"

unsafe=$(awk -F'\t' 'NR > 1 && $13 == "UNSAFE-ACCEPTED"' "$res" | wc -l)
if [ "$unsafe" -gt 0 ]; then
  echo "UNSAFE-ACCEPTED programs:"
  sed 's/^/  /' "$out/unsafe.txt"
  [ "$require_no_unsafe" = 1 ] && exit 1
fi
rm -f "$out/unsafe.txt"
exit 0
