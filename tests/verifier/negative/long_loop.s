# Negative suite: a loop that terminates but takes more iterations than
# the complexity limit (1,000,000 instructions) lets the verifier walk.
# type: socket_filter
# expect long_loop: reject "BPF program is too large"
mov %r0, 0
loop:
add %r0, 1
jlt %r0, 10000000, loop
exit
