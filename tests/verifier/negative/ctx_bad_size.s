# Negative suite: a 1-byte load of xdp_md.data (offset 0), a 4-byte field.
# type: xdp
# expect ctx_bad_size: reject "invalid bpf_context access"
ldxb %r0, [%r1+0]
exit
