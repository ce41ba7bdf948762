#!/usr/bin/env bash
# setup.sh - the first command for a fresh Debian 12 machine: installs
# what is missing (as root), builds bpfvm, and runs an example XDP program
# (a packet counter per protocol, built from C by clang) over the bundled
# capture.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
echo "== bpfvm run build/examples/xdp_proto_count.bpf.o --pcap examples/traffic.pcap --dump-maps"
build/tools/bpfvm run build/examples/xdp_proto_count.bpf.o --pcap examples/traffic.pcap --dump-maps
