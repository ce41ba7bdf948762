/*
 * bench.h - what the parts of bpfvm-bench share.
 *
 * Owns: the table of programs the build generates (bench_table.c: each
 * program's native descriptor from progs/NAME.c and its bytecode cut out
 * of progs/NAME.bpf.o), and the interface of kernel.c, which runs a
 * program in the running kernel through BPF_PROG_TEST_RUN.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "progs/bench_prog.h"

struct bench_prog {
	const struct bench_desc *desc;
	const unsigned char *bytecode;   /* little-endian struct bpf_insn, 8 bytes each */
	const size_t *bytecode_len;
};

extern const struct bench_prog bench_progs[];
extern const size_t bench_prog_count;

/* ---- kernel.c -------------------------------------------------------- */

enum kernel_status {
	KERNEL_OK = 0,
	KERNEL_UNAVAILABLE,   /* no bpf(), not permitted, ... : says nothing about the program */
	KERNEL_REJECTED,      /* the verifier refused it; detail is its reason */
	KERNEL_FAILED,        /* loaded, but a test run failed */
};

struct kernel_prog {
	int fd;
	enum kernel_status status;
	uint32_t len;          /* the input length the wrapper was built for */
	uint32_t jited_len;    /* bytes of machine code, 0 if unknown */
	uint32_t verified_insns;   /* instructions the verifier walked, 0 if unknown */
	char detail[256];      /* why, when status is not KERNEL_OK */
};

/* Loads `insns` (count instructions, entry r1 = mem, r2 = len, result r0)
 * as the body of an XDP program that passes it the packet and `len`,
 * and stores r0 in the packet's first 8 bytes.  Fills *kp; returns its
 * status. */
enum kernel_status kernel_load(const void *insns, size_t count, uint32_t len,
                               struct kernel_prog *kp);

/* One BPF_PROG_TEST_RUN with repeat = 1 on a copy of `in` (kp->len
 * bytes): *r0 gets the program's 64-bit result, *ns the kernel's own
 * measure of the run.  Returns 0, or -1 with kp->status and kp->detail
 * set. */
int kernel_run(struct kernel_prog *kp, const void *in, uint64_t *r0, uint64_t *ns);

void kernel_close(struct kernel_prog *kp);

#endif
