#!/usr/bin/env bash
# check.sh - the build's layering holds: with the isa layer's include root
# an #include of a higher layer's header does not compile, and a call
# into a higher layer does not link against the isa layer and those
# below it (-Wl,--no-undefined), while a header and a call of a lower
# layer do (so each refusal is the rule's, not a broken command); and
# scripts/module-graph.sh fails on a tree with a cycle.
# Usage: check.sh CC SOURCE_DIR BUILD_DIR [LINK_FLAGS] (the sanitizers'
# flags, in a sanitizer build, whose objects need their runtime)
set -uo pipefail
cc=$1 src=$2 build=$3
read -r -a ldflags <<<"${4:-}"
here=$src/tests/layers
root=$build/layers/isa
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags=(-std=gnu11 -fPIC -Wall -Wextra -Werror -I"$root" -I"$src/include")
objects=$(cat "$build/layers/base.objects" "$build/layers/isa.objects")
fail=0

if "$cc" "${flags[@]}" -c "$here/upward_include.c" -o "$tmp/inc.o" 2>"$tmp/inc.log"; then
  echo "FAIL: an isa-layer file compiled with #include \"helpers/helpers.h\""; fail=1
elif ! grep -q "helpers/helpers.h" "$tmp/inc.log"; then
  echo "FAIL: the upward include failed for another reason:"; cat "$tmp/inc.log"; fail=1
else
  echo "ok: upward #include refused: $(grep -m1 'helpers/helpers.h' "$tmp/inc.log")"
fi
if ! "$cc" "${flags[@]}" -c -x c - -o "$tmp/down.o" <<<'#include "isa/isa.h"
int down_probe(void); int down_probe(void) { return ISA_OP_COUNT; }' 2>"$tmp/down.log"; then
  echo "FAIL: control: an isa-layer file cannot include isa/isa.h:"; cat "$tmp/down.log"; fail=1
fi

link() {   # link OBJECT OUT: the object with the isa layer and below, no undefined symbols
  # shellcheck disable=SC2086
  "$cc" -shared "${ldflags[@]}" -Wl,--no-undefined -o "$2" "$1" $objects 2>"$2.log"
}
"$cc" "${flags[@]}" -c "$here/upward_call.c" -o "$tmp/up.o" || { echo "FAIL: upward_call.c does not compile"; fail=1; }
"$cc" "${flags[@]}" -DCONTROL -c "$here/upward_call.c" -o "$tmp/ctl.o" || { echo "FAIL: control does not compile"; fail=1; }
if link "$tmp/up.o" "$tmp/up.so"; then
  echo "FAIL: a call from the isa layer to bpfvm_program_load linked"; fail=1
elif ! grep -q "bpfvm_program_load" "$tmp/up.so.log"; then
  echo "FAIL: the upward call failed to link for another reason:"; cat "$tmp/up.so.log"; fail=1
else
  echo "ok: upward call refused: $(grep -m1 'bpfvm_program_load' "$tmp/up.so.log")"
fi
if ! link "$tmp/ctl.o" "$tmp/ctl.so"; then
  echo "FAIL: control: a call from the isa layer to base's error_set does not link:"; cat "$tmp/ctl.so.log"; fail=1
fi
# The module-graph check fails on a tree with a cycle and an upward edge.
mkdir -p "$tmp/tree/low" "$tmp/tree/high"
printf 'low low\nhigh high\n' >"$tmp/tree/layers.txt"
printf '#include "high/h.h"\n' >"$tmp/tree/low/l.h"
printf '#include "low/l.h"\n' >"$tmp/tree/high/h.h"
if bash "$src/scripts/module-graph.sh" "$tmp/tree" >"$tmp/graph.log" 2>&1; then
  echo "FAIL: module-graph.sh accepted a cycle"; fail=1
elif ! grep -q "UPWARD" "$tmp/graph.log" || ! grep -q "CYCLE" "$tmp/graph.log"; then
  echo "FAIL: module-graph.sh did not name the upward edge and the cycle:"; cat "$tmp/graph.log"; fail=1
else
  echo "ok: module-graph.sh refuses a cycle and an upward edge"
fi
[ $fail -eq 0 ] && echo "layering enforced"
exit $fail
