#!/usr/bin/env bash
# install_embed.sh - bpfvm as an embedder gets it: installs the build into a
# temporary prefix, then builds embedder.c against the installed library
# twice, with `pkg-config --cflags --libs bpfvm` and with a CMake project
# using find_package(bpfvm), and runs both (each loads and runs a small
# program and checks r0).  Usage: install_embed.sh BUILD_DIR CC
set -u
build=$1 cc=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bpfvm-install-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() {
	echo "FAIL: $*"
	exit 1
}

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "cmake --install"; }
libdir=$(dirname "$(find "$prefix" -name 'libbpfvm.so.0' | head -1)")
[ -n "$libdir" ] || fail "no libbpfvm.so.0 installed"
[ -f "$prefix/include/bpfvm/bpfvm.h" ] || fail "no public headers installed"
[ -f "$libdir/libbpfvm.a" ] || fail "no static library installed"

# pkg-config, from the installed bpfvm.pc only
export PKG_CONFIG_PATH=$libdir/pkgconfig
flags=$(pkg-config --cflags --libs bpfvm) || fail "pkg-config bpfvm"
case "$flags" in *"$prefix"*|*"$libdir"*) ;; *) fail "pkg-config flags do not name the prefix: $flags" ;; esac
# shellcheck disable=SC2086
"$cc" -std=gnu11 -Wall -Wextra -Werror "$here/embedder.c" $flags -o "$tmp/embedder-pc" || fail "build with pkg-config"
LD_LIBRARY_PATH=$libdir "$tmp/embedder-pc" || fail "run the pkg-config build"
LD_LIBRARY_PATH=$libdir ldd "$tmp/embedder-pc" | grep -q "libbpfvm.so.0 => $libdir" || fail "the pkg-config build does not use the installed libbpfvm.so.0"

# find_package(bpfvm)
cmake -S "$here/find_package" -B "$tmp/fp" -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$prefix" \
	-DEMBEDDER_SOURCE="$here/embedder.c" >"$tmp/fp.log" 2>&1 || { cat "$tmp/fp.log"; fail "configure with find_package"; }
cmake --build "$tmp/fp" >>"$tmp/fp.log" 2>&1 || { cat "$tmp/fp.log"; fail "build with find_package"; }
LD_LIBRARY_PATH=$libdir "$tmp/fp/embedder" || fail "run the find_package build"
echo "ok: installed, built with pkg-config and find_package(bpfvm), both ran"
