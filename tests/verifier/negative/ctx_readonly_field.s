# Negative suite: a store to __sk_buff.len (offset 0), a read-only field.
# type: socket_filter
# expect ctx_readonly_field: reject "invalid bpf_context access"
stw [%r1+0], 1
mov %r0, 0
exit
