# Negative suite: multiplying a pointer (the context).
# type: socket_filter
# expect ptr_mul: reject "pointer arithmetic with *= operator prohibited"
mov %r0, %r1
mul %r0, 2
exit
