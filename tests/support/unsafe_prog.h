/*
 * unsafe_prog.h - a seeded, reproducible generator of random eBPF programs
 * that are OFTEN UNSAFE, for fuzzing the verifier's soundness
 * (test_verifier_fuzz.c); the generator itself is in unsafe_prog.c.
 *
 * Owns: struct uprog (a generated program, with map references left as the
 * loader leaves them: lddw src 1, imm = map index), uprog_generate(), and
 * the layout of the maps the programs expect (UP_MAP_*).
 *
 * Unlike randprog.h, whose programs are safe by construction, these are
 * built from snippets that each do something plausible (a bounded index
 * into memory, a packet range check, a map lookup with a null check, a
 * ringbuf reservation and its submit, a helper with a stack buffer, a
 * bounded loop, a call with a stack pointer) and that, with some
 * probability, get it slightly wrong (an off-by-one bound, a missing null
 * check, a leaked reservation, an uninitialised stack read, an offset past
 * the frame).  The verifier must reject the wrong ones; the harness runs
 * the ones it accepts under a checked engine and a reference executor.
 *
 * Every program passes structural validation: jumps go forward within
 * their function (or back to a loop head), never into the second slot of
 * an lddw; every function ends with "r0 = K; exit"; calls target the first
 * instruction of a subprogram placed after the main function.
 *
 * Register conventions (the generator's belief; mistakes break it on
 * purpose): r6 = the entry pointer (raw memory or the XDP context), r7 =
 * raw: a scalar, xdp: packet data, r8 = raw: a scalar, xdp: packet end,
 * r9 = a map value pointer (or a scalar); r0..r5 are temporaries.
 */
#ifndef BPFVM_TESTS_UNSAFE_PROG_H
#define BPFVM_TESTS_UNSAFE_PROG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfvm/bpfvm.h"

#define UP_MAX_INSNS 512u


/* The maps every program may reference, by index. */
enum {
	UP_MAP_ARRAY = 0, /* array: key 4, value 24, 4 entries */
	UP_MAP_HASH = 1,  /* hash: key 8, value 12, 16 entries, keys 0..3 present */
	UP_MAP_RINGBUF = 2, /* ringbuf of 4096 bytes */
	UP_MAP_COUNT = 3,
};
#define UP_ARRAY_KEY 4
#define UP_ARRAY_VALUE 24
#define UP_ARRAY_ENTRIES 4
#define UP_HASH_KEY 8
#define UP_HASH_VALUE 12
#define UP_HASH_ENTRIES 16

/* Helper IDs (the kernel's). */
enum {
	UP_H_LOOKUP = 1, UP_H_UPDATE = 2, UP_H_KTIME = 5, UP_H_PRINTK = 6, UP_H_PRANDOM = 7,
	UP_H_PROBE_READ = 113, UP_H_RB_RESERVE = 131, UP_H_RB_SUBMIT = 132, UP_H_RB_DISCARD = 133,
};

/* Program types the generator makes. */
#define UP_RAW BPFVM_PROG_TYPE_RAW
#define UP_XDP 6u /* BPF_PROG_TYPE_XDP */

struct uprog {
	bpfvm_insn insns[UP_MAX_INSNS];
	size_t count;
	uint32_t type;
	uint32_t mem_size;     /* raw: the memory r1 points to */
	bool nondet;           /* calls helpers whose results vary run to run */
	bool has_loop;         /* has a backward jump */
	bool overflow;         /* ran out of room: an instruction was dropped */
	unsigned subs;         /* subprograms after the main function */
};


/* Program `index` of run `seed`: reproducible from those two alone. */
void uprog_generate(struct uprog *p, uint64_t seed, uint64_t index);

#endif
