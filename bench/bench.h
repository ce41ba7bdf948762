/*
 * bench.h - what the parts of bpfvm-bench share.
 *
 * Owns: the table of programs the build generates (bench_table.c: each
 * program's native descriptor from progs/NAME.c and its bytecode cut out
 * of progs/NAME.bpf.o), and the interface of kernel.c, which runs a
 * program in the running kernel through BPF_PROG_TEST_RUN, and of maps.c,
 * the map operations and examples (--maps).
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
	uint32_t jited_len;    /* bytes of machine code (all functions), 0 if unknown */
	uint32_t xlated_insns; /* instructions after the verifier's rewrites, 0 if unknown */
	uint32_t verified_insns;   /* instructions the verifier walked, 0 if unknown */
	char detail[256];      /* why, when status is not KERNEL_OK */
};

/* The XDP program kernel_load() hands the kernel: a wrapper of
 * KERNEL_WRAP_INSNS instructions, then `insns` unchanged as a bpf-to-bpf
 * subprogram.  malloc'd (free()), *total instructions; NULL when out of
 * memory.  bpfvm compiles the same array for a like-for-like code size. */
#define KERNEL_WRAP_INSNS 14
void *kernel_wrap(const void *insns, size_t count, uint32_t len, size_t *total);

/* Loads `insns` (count instructions, entry r1 = mem, r2 = len, r3 = end,
 * result r0) as the body of an XDP program that passes it the packet,
 * `len` and data_end, and stores r0 in the packet's first 8 bytes.
 * Fills *kp; returns its status. */
enum kernel_status kernel_load(const void *insns, size_t count, uint32_t len,
                               struct kernel_prog *kp);

/* One BPF_PROG_TEST_RUN with repeat = 1 on a copy of `in` (kp->len
 * bytes): *r0 gets the program's 64-bit result, *ns the kernel's own
 * measure of the run.  Returns 0, or -1 with kp->status and kp->detail
 * set. */
int kernel_run(struct kernel_prog *kp, const void *in, uint64_t *r0, uint64_t *ns);

/* The kernel's machine code for a loaded program: all functions, one
 * after the other, into buf (size bytes), their lengths into func_lens.
 * Returns the byte count, or -1. */
int kernel_jited_image(const struct kernel_prog *kp, void *buf, uint32_t size, uint32_t *func_lens,
                       uint32_t max_funcs, uint32_t *nfuncs);

void kernel_close(struct kernel_prog *kp);

/* ---- maps.c ----------------------------------------------------------- */

struct maps_options {
	int quick;    /* one sample each: checks results, times nothing useful */
	int kernel;   /* also the kernel's column (libbpf, BPF_PROG_TEST_RUN) */
	const char *filter;   /* only operations (and examples) whose program name contains it */
};

/* The map-operation and example tables; returns 0, or 1 if a run failed
 * or an engine left a wrong result. */
int maps_bench(const struct maps_options *o);

#endif
