# Negative suite: a jump past the last instruction.
# type: socket_filter
# expect jump_out_of_range: reject "jump out of range"
mov %r0, 0
ja +5
exit
