# Negative suite: a loop whose condition never changes (the packet length
# is tested, nothing in the loop moves): the same state comes back.
# type: socket_filter
# expect stuck_loop: reject "infinite loop detected"
ldxw %r2, [%r1+0]
mov %r0, 0
loop:
jne %r2, 0, loop
exit
