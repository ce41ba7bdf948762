# Negative suite: bpf_xdp_adjust_head (#44), an XDP helper, from a socket
# filter.
# type: socket_filter
# expect helper_not_allowed: reject "program of this type cannot use helper bpf_xdp_adjust_head#44"
mov %r2, 0
call 44
exit
