# Negative suite: reading a stack slot never written.  The unprivileged
# kernel rejects this; a privileged loader (CAP_PERFMON, which bpfvm's
# verifier models) is allowed to read uninitialised stack, so the verdict
# is accept.
# type: socket_filter
# expect uninit_stack_read: accept
ldxdw %r0, [%r10-8]
exit
