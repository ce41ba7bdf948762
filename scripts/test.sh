#!/usr/bin/env bash
# test.sh - the whole test suite: a normal build, an AddressSanitizer +
# UndefinedBehaviorSanitizer build, and bounded libFuzzer runs, each
# through ctest.  Exits non-zero if anything fails.
# Environment: BPFVM_FUZZ_SECONDS (per fuzzer, default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)

echo "== normal build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j 1)

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBPFVM_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs"
# the normal build ran the full 100,000-program JIT differential; here a
# fifth of it, under the sanitizers
(cd build-asan && BPFVM_JITDIFF_COUNT=${BPFVM_JITDIFF_COUNT:-20000} BPFVM_VFUZZ_COUNT=${BPFVM_VFUZZ_COUNT:-4000} ASAN_OPTIONS=detect_leaks=1 \
  UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j 1)

if [ -f tests/fuzz/CMakeLists.txt ]; then
  echo "== libFuzzer, bounded"
  CC=clang cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBPFVM_FUZZ=ON \
    -DBPFVM_BENCH=OFF -DBPFVM_FUZZ_SECONDS="${BPFVM_FUZZ_SECONDS:-60}" >/dev/null
  cmake --build build-fuzz -j "$jobs"
  (cd build-fuzz && ctest --output-on-failure -R '^fuzz_')
fi
echo "== all tests passed"
