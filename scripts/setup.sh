#!/usr/bin/env bash
# setup.sh - the first command for a fresh Debian 12 machine: installs
# what is missing (as root), builds bpfvm, and runs the bundled example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
echo "== bpfvm run examples/fnv1a.s --mem-file examples/fnv1a.input"
build/tools/bpfvm run examples/fnv1a.s --mem-file examples/fnv1a.input
