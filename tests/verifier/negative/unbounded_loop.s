# Negative suite: a loop whose bound comes from the packet length: the
# verifier walks iteration after iteration until its complexity limit.
# type: socket_filter
# expect unbounded_loop: reject "BPF program is too large"
ldxw %r2, [%r1+0]
mov %r0, 0
loop:
add %r0, 1
jne %r0, %r2, loop
exit
