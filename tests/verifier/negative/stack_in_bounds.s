# Negative suite, safe twin of stack_read_oob/stack_write_oob: the bottom
# and top slots of the frame, written then read.
# type: socket_filter
# expect stack_in_bounds: accept
stdw [%r10-512], 1
stdw [%r10-8], 2
ldxdw %r0, [%r10-512]
ldxdw %r1, [%r10-8]
add %r0, %r1
exit
