# Negative suite, safe twin of helper_size_unbounded: the size masked to
# 0..7, within the 8-byte slot (the helper takes a size of zero).
# type: socket_filter
# expect helper_size_bounded: accept
ldxw %r2, [%r1+0]
and %r2, 7
mov %r1, %r10
add %r1, -8
mov %r3, 0
call 113
mov %r0, 0
exit
