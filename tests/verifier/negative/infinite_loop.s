# Negative suite: a jump to itself.
# type: socket_filter
# expect infinite_loop: reject "infinite loop detected"
mov %r0, 0
loop:
ja loop
