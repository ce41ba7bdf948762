# Negative suite: a subprogram spilling a pointer to its own stack into
# its caller's frame (the kernel's check_stack_write_fixed_off: the
# pointer would outlive the frame it points into).
# type: socket_filter
# expect spill_caller_stack: reject "cannot spill pointers to stack into stack frame of the caller"
mov %r1, %r10
add %r1, -8
call local sub
mov %r0, 0
exit
sub:
mov %r2, %r10
stxdw [%r1], %r2
mov %r0, 0
exit
