# Negative suite, safe twin of the loop cases: ten iterations.
# type: socket_filter
# expect bounded_loop: accept
mov %r0, 0
mov %r1, 10
loop:
add %r0, %r1
sub %r1, 1
jne %r1, 0, loop
exit
