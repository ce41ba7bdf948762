# Negative suite: storing a pointer (the frame pointer) into the context's
# cb[0].  The kernel refuses this to unprivileged loaders only ("leaks addr
# into ctx"); a privileged loader may, so the verdict is accept.
# type: socket_filter
# expect ctx_store_ptr: accept
stxw [%r1+48], %r10
mov %r0, 0
exit
