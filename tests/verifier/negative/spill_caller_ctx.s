# Negative suite, safe twin of spill_caller_stack: a subprogram spilling
# the context pointer into its caller's frame.
# type: socket_filter
# expect spill_caller_ctx: accept
mov %r2, %r1
mov %r1, %r10
add %r1, -8
call local sub
mov %r0, 0
exit
sub:
stxdw [%r1], %r2
mov %r0, 0
exit
