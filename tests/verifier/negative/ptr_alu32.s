# Negative suite: 32-bit arithmetic on a pointer (it would truncate the
# address into a scalar).
# type: socket_filter
# expect ptr_alu32: reject "32-bit pointer arithmetic prohibited"
mov %r0, %r10
add32 %r0, 1
exit
