# Negative suite: exit without setting r0.
# type: socket_filter
# expect no_return_value: reject "R0 !read_ok"
exit
