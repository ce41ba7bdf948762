# Negative suite: a store above the frame pointer, outside the frame.
# type: socket_filter
# expect stack_write_oob: reject "invalid write to stack"
stdw [%r10+8], 0
mov %r0, 0
exit
