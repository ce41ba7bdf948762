# Negative suite (tests/verifier/README.md): a load below the 512-byte frame.
# type: socket_filter
# expect stack_read_oob: reject "invalid read from stack"
ldxdw %r0, [%r10-520]
exit
