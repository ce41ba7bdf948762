# Negative suite: a legacy packet load in an XDP program.
# type: xdp
# expect ld_abs_xdp: reject "BPF_LD_[ABS|IND] instructions not allowed for this program type"
mov %r6, %r1
ldabsb 0
exit
