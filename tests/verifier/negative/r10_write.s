# Negative suite: a write to the frame pointer.
# type: socket_filter
# expect r10_write: reject "frame pointer is read only"
mov %r10, 0
mov %r0, 0
exit
