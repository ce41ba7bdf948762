#!/usr/bin/env bash
# install-deps.sh - installs, with apt-get, the Debian 12 packages bpfvm
# needs to build, test and benchmark.  Idempotent: installs only what is
# missing, and does nothing when all is there.  Run as root.
set -euo pipefail

# package: what bpfvm uses it for
PACKAGES=(
  build-essential    # gcc, make: the library and tools
  cmake              # the build
  ninja-build        # fast builds
  clang              # BPF target for bench/ and examples/, libFuzzer builds
  llvm               # llvm-objcopy / llvm-objdump for bench/ bytecode
  libclang-rt-14-dev # libFuzzer and sanitizer runtimes for clang
  libcapstone-dev    # decoding JIT-compiled code for `bpfvm disasm --jited`
  systemtap-sdt-dev  # <sys/sdt.h>: the USDT probe sites test_usdt reads and probes
  pkg-config         # finding libelf and libbpf
  libelf-dev         # reading ELF objects (the object loader)
  libbpf-dev         # BTF API for the loader; headers for the example programs
  libpcap-dev        # reading and writing packet captures
  bpftool            # the kernel oracle's view of programs (tests, benchmarks)
  clang-16           # CO-RE programs using bpf_core_type_matches (clang 14 crashes on it)
  libxdp-dev         # <xdp/xsk.h>: AF_XDP sockets and UMEM for `bpfvm xdp attach`
  jq                 # reading JSON output (bpftool, ip -j, bpfvm -j) in tests/xdp, tests/hooks and bench/
  iproute2           # ip: network namespaces and veth pairs for the live XDP tests and bench
  iputils-ping       # ping: the round trip through bench/xdp_live.sh's TX responder (coalescing latency)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root to install them" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
