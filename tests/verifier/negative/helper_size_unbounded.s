# Negative suite: bpf_probe_read_kernel (#113) with a size (the packet
# length) that has no upper bound.
# type: socket_filter
# expect helper_size_unbounded: reject "R2 unbounded memory access"
ldxw %r2, [%r1+0]
mov %r1, %r10
add %r1, -8
mov %r3, 0
call 113
mov %r0, 0
exit
