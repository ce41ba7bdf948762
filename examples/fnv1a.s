# fnv1a.s - 64-bit FNV-1a hash of the input memory.
# Entry: r1 = memory, r2 = its length.  Returns the hash in r0.
# Run:  bpfvm run examples/fnv1a.s --mem-file examples/fnv1a.input
        lddw %r0, 0xcbf29ce484222325    # offset basis
        lddw %r4, 0x100000001b3         # FNV prime
        mov %r3, %r1
        add %r3, %r2                    # r3 = end of memory
loop:
        jge %r1, %r3, done
        ldxb %r5, [%r1]
        xor %r0, %r5
        mul %r0, %r4
        add %r1, 1
        ja loop
done:
        exit
