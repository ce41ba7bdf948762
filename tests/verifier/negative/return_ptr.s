# Negative suite: returning a pointer from a socket filter.  The kernel
# refuses this to unprivileged loaders only ("leaks addr as return
# value"); a privileged loader may, so the verdict is accept.
# type: socket_filter
# expect return_ptr: accept
mov %r0, %r10
exit
