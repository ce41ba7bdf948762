/*
 * loops.h - what the loop suite's programs share (the .c files of tests/loops): the
 * headers, a loop the compiler keeps as a loop (clang -O2 unrolls small
 * fixed-bound loops, and the suite is about the verifier walking real
 * back-edges), and the packet's bounds.
 *
 * Programs whose name starts with "bad_" are ones the kernel rejects
 * (an unbounded loop, a bound it cannot prove, an access past an array);
 * test_loops checks that it does, and that bpfvm agrees.
 */
#ifndef LOOPS_H
#define LOOPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define NO_UNROLL _Pragma("clang loop unroll(disable)")

#define PKT(ctx) ((unsigned char *)(long)(ctx)->data)
#define PKT_END(ctx) ((unsigned char *)(long)(ctx)->data_end)

#endif
