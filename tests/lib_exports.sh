#!/usr/bin/env bash
# lib_exports.sh - libbpfvm.so exports its public API and nothing else:
# every defined dynamic symbol is a bpfvm_ function (or the version
# node), each under the version node BPFVM_0.1, and the soname is
# libbpfvm.so.0.  It can be dlopen()ed and dlclose()d: no initial-exec
# TLS (the STATIC_TLS flag) and no atexit()/pthread_atfork() hooks.
# Usage: lib_exports.sh LIBBPFVM_SO
set -u
lib=$1
syms=$(nm -D --defined-only "$lib") || { echo "FAIL: nm -D $lib"; exit 1; }
fails=0
others=$(awk '$3 !~ /^bpfvm_/ && $3 !~ /^BPFVM_[0-9.]+$/' <<<"$syms")
if [ -n "$others" ]; then
	echo "FAIL: $lib exports symbols outside the API:"
	head -20 <<<"$others" | sed 's/^/    /'
	fails=$((fails + 1))
fi
count=$(grep -c ' T bpfvm_' <<<"$syms")
if [ "$count" -lt 50 ]; then
	echo "FAIL: only $count bpfvm_ functions exported"
	fails=$((fails + 1))
fi
unversioned=$(objdump -T "$lib" | awk '/ bpfvm_/ && !/BPFVM_0\.1/')
if [ -n "$unversioned" ]; then
	echo "FAIL: bpfvm_ symbols outside the version node BPFVM_0.1:"
	head -5 <<<"$unversioned" | sed 's/^/    /'
	fails=$((fails + 1))
fi
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')
if [ "$soname" != libbpfvm.so.0 ]; then
	echo "FAIL: soname '$soname', want libbpfvm.so.0"
	fails=$((fails + 1))
fi
if readelf -d "$lib" | grep -q 'STATIC_TLS'; then
	echo "FAIL: $lib uses initial-exec TLS (STATIC_TLS)"
	fails=$((fails + 1))
fi
hooks=$(nm -D --undefined-only "$lib" | grep -E ' (atexit|pthread_atfork|__register_atfork)(@|$)')
if [ -n "$hooks" ]; then
	echo "FAIL: $lib registers process hooks: $hooks"
	fails=$((fails + 1))
fi
[ "$fails" = 0 ] && echo "ok: $count bpfvm_ functions exported under BPFVM_0.1, soname $soname"
exit $((fails != 0))
