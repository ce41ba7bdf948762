# Negative suite, safe twin of div_imm_zero: dividing by a register that
# holds zero is defined (the result is 0) and accepted.
# type: socket_filter
# expect div_reg_zero: accept
mov %r0, 1
mov %r1, 0
div %r0, %r1
exit
