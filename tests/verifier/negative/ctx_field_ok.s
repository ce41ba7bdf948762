# Negative suite, safe twin of the ctx cases: __sk_buff.len read, cb[0]
# (offset 48) written and read.
# type: socket_filter
# expect ctx_field_ok: accept
ldxw %r0, [%r1+0]
stw [%r1+48], 7
ldxw %r2, [%r1+48]
add %r0, %r2
exit
