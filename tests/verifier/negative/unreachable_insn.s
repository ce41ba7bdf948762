# Negative suite: instructions no path reaches.
# type: socket_filter
# expect unreachable_insn: reject "unreachable insn 2"
mov %r0, 0
exit
mov %r0, 1
exit
