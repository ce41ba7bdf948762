#!/usr/bin/env bash
# module-graph.sh - prints the library's module graph (which src/
# directory includes which) and fails on a cycle or on an edge that goes
# up the layer list of src/layers.txt (includes of the public API,
# "bpfvm/...", are every layer's).  Usage: module-graph.sh [SRC_DIR]
set -euo pipefail
src=${1:-$(dirname "$0")/../src}
declare -A layer_of rank_of
rank=0
while read -r name dirs; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  for d in $dirs; do d=${d%%:*}; layer_of[$d]=$name; rank_of[$d]=$rank; done   # DIR:FILES is DIR's
  rank=$((rank + 1))
done < "$src/layers.txt"

edges=$(cd "$src" && grep -rHoE '^#include "[a-z_0-9]+/' --include='*.c' --include='*.h' . |
  sed -E 's|^\./([a-z_0-9]+)/.*#include "([a-z_0-9]+)/$|\1 \2|' | awk '$1 != $2 && $2 != "bpfvm"' | sort -u)
status=0
echo "module graph (directory -> directory it includes):"
while read -r from to; do
  [ -z "$from" ] && continue
  mark=""
  if [ -z "${rank_of[$from]:-}" ] || [ -z "${rank_of[$to]:-}" ]; then
    mark="  <- not in src/layers.txt"; status=1
  elif [ "${rank_of[$to]}" -gt "${rank_of[$from]}" ]; then
    mark="  <- UPWARD: ${layer_of[$from]} may not use ${layer_of[$to]}"; status=1
  fi
  echo "  $from -> $to$mark"
done <<< "$edges"
if ! printf '%s\n' "$edges" | grep . | tsort >/dev/null 2>/tmp/module-graph.$$; then
  echo "CYCLE: $(cat /tmp/module-graph.$$)"; status=1
fi
rm -f /tmp/module-graph.$$
[ $status -eq 0 ] && echo "no cycle; every edge goes down the layers" || echo "module graph check FAILED"
exit $status
