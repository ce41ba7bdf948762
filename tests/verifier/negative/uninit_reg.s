# Negative suite: r2 is not an argument of a socket filter; reading it.
# type: socket_filter
# expect uninit_reg: reject "R2 !read_ok"
mov %r0, %r2
exit
