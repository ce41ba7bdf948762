# Negative suite: a division by the constant zero.
# type: socket_filter
# expect div_imm_zero: reject "div by zero"
mov %r0, 1
div %r0, 0
exit
