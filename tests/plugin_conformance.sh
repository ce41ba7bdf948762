#!/usr/bin/env bash
# plugin_conformance.sh PLUGIN SHARED_DIR - drives bpfvm-conformance-plugin
# as the bpf_conformance runner does (program as hex on stdin, memory as
# the first argument, r0 in hex on stdout) over every test of hex/, with
# the interpreter and the JIT (checked, and unchecked); then feeds it
# malformed input, which must end in a clean error (exit 1), never a
# crash or a hang.
set -u
plugin=$1
dir=$2/bpf-conformance/hex
if [ ! -d "$dir" ]; then
  echo "skipped: no conformance suite at $dir"
  exit 77
fi
passed=0
failed=0
for f in "$dir"/*.hex; do
  prog= mem= want=
  while IFS= read -r line; do
    case "$line" in
      prog:*) prog=${line#prog: } ;;
      mem:*) mem=${line#mem:}; mem=${mem# }; mem=${mem% } ;;
      result:*) want=${line#result: }; want=${want// /} ;;
    esac
  done < "$f"
  printf -v want '%x' "$want"
  for mode in "--interpret" "--jit" "--jit --unchecked"; do
    if [ -n "$mem" ]; then
      got=$(printf '%s\n' "$prog" | timeout 10 "$plugin" "$mem" $mode 2>&1)
    else
      got=$(printf '%s\n' "$prog" | timeout 10 "$plugin" $mode 2>&1)
    fi
    if [ "$got" = "$want" ]; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
      echo "FAIL $(basename "$f") ($mode): got '$got', want '$want'"
    fi
  done
done
# malformed input: each must exit 1 with a message, within the timeout
check_error() {
  local what=$1; shift
  out=$(printf '%b' "$INPUT" | timeout 10 "$plugin" "$@" 2>&1 >/dev/null)
  rc=$?
  if [ $rc -eq 1 ] && [ -n "$out" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL malformed input '$what': exit $rc, stderr '$out'"
  fi
}
INPUT='zz 00\n' check_error "not hex"
INPUT='b7 00 00\n' check_error "partial instruction"
INPUT='' check_error "empty program"
INPUT='8f 00 00 00 00 00 00 00\n' check_error "unknown opcode"
INPUT='05 00 ff ff 00 00 00 00\n' check_error "endless loop" --interpret
INPUT='05 00 ff ff 00 00 00 00\n' check_error "endless loop, JIT" --jit
INPUT='79 10 00 00 00 00 00 00 95 00 00 00 00 00 00 00\n' check_error "wild load" --jit
INPUT='b7 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00\n' check_error "bad memory" "zz"
INPUT='b7 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00\n' check_error "unknown option" --frobnicate
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
