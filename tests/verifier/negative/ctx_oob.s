# Negative suite: a load far past the end of struct __sk_buff.
# type: socket_filter
# expect ctx_oob: reject "invalid bpf_context access"
ldxw %r0, [%r1+1000]
exit
