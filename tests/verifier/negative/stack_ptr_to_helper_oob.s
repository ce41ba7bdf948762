# Negative suite: bpf_probe_read_kernel (#113) told to write 16 bytes into
# an 8-byte slot at the top of the frame.
# type: socket_filter
# expect stack_ptr_to_helper_oob: reject "invalid write to stack R1 off=-8 size=16"
mov %r1, %r10
add %r1, -8
mov %r2, 16
mov %r3, 0
call 113
mov %r0, 0
exit
