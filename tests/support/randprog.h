/*
 * randprog.h - a seeded, reproducible generator of random straight-line
 * eBPF programs for differential tests (kernel vs interpreter, JIT vs
 * interpreter); the generator itself is in randprog.c.
 *
 * Owns: struct randprog (a generated program body), randprog_generate(),
 * the standard epilogue that reports the body's full r0 and stack through
 * memory, randprog_wrap_mem() (a complete program for bpfvm), the self
 * check randprog_check(), and randprog_delete() / randprog_drop_slot()
 * for minimisers.
 *
 * What a body is.  It first sets r0..r9 with lddw to "interesting" 64-bit
 * values and initialises every byte of its stack area, then runs random
 * operations: ALU64/ALU32 (every op, v4 sdiv/smod, movsx, bswap, le/be,
 * neg, shifts), lddw, stack loads of every size (sign-extending ones too),
 * st imm and stx, stack atomics (every op, 32 and 64 bit), conditional
 * jumps (JMP/JMP32, every condition, imm and reg forms) and if/else
 * diamonds that use ja / gotol.  The body never exits: it falls off its end
 * into the epilogue, and every jump in it goes forward to at most that end.
 *
 * It stays inside what the Linux verifier accepts (the kernel is one of
 * the oracles): every instruction reachable, shift immediates in range, no
 * division by an immediate 0, stack accesses aligned to their size (the
 * kernel demands that of stack pointers), no stack byte read before it is
 * written, r10 used only as the base of stack accesses.  It also steers
 * clear of three Linux 6.18 verifier bugs that make the kernel compute
 * wrong results ("workaround 1..3" below): a fetching atomic or a
 * sign-extending load always comes right after a plain atomic on the same
 * bytes, and a 32-bit cmpxchg right before a 64-bit read of r0; no jump
 * lands inside such a pair.  With the default size (max_ops 64) the
 * verifier's 1M-instruction complexity limit is never reached; from a few
 * hundred operations on, some programs hit it.
 *
 * The frame: the body uses the S = stack_bytes bytes [r10-8-S, r10-8);
 * the slot at r10-8 belongs to the harness, which keeps the pointer to its
 * output buffer there (the kernel's packet pointer, a bpfvm memory region).
 * The epilogue (randprog_epilogue) reloads that pointer into r1 and writes
 *
 *   out[0..8)      the body's r0 (little-endian)
 *   out[8..8+S)    the body's stack bytes, from r10-8-S upwards
 *
 * then sets r0 to a caller-chosen value and exits; RANDPROG_OUT_LEN(S)
 * bytes in all.
 */
#ifndef BPFVM_TESTS_RANDPROG_H
#define BPFVM_TESTS_RANDPROG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bpfvm/bpfvm.h"

#define RANDPROG_MAX_BODY 2048u                     /* slots in a body */
#define RANDPROG_RESERVED 8                         /* harness slot at r10-8 */
#define RANDPROG_MAX_STACK (BPFVM_STACK_SIZE - RANDPROG_RESERVED)
#define RANDPROG_OUT_LEN(stack_bytes) (8u + (stack_bytes))
/* Slots the epilogue adds after a body of S stack bytes. */
#define RANDPROG_EPILOGUE_LEN(stack_bytes) (2u + 2u * ((stack_bytes) / 8u) + 2u)

struct randprog {
	bpfvm_insn insns[RANDPROG_MAX_BODY];
	size_t count;          /* slots in the body */
	size_t init_count;     /* leading slots that set registers and stack */
	unsigned stack_bytes;  /* S, a multiple of 8 in [8, RANDPROG_MAX_STACK] */
};

struct randprog_opts {
	unsigned max_ops;          /* random operations after the init; 0: 64 */
	unsigned max_stack_slots;  /* 8-byte slots of stack; 0: all 63 */
};

/* ---- random numbers: splitmix64, one independent stream per index ---- */

struct randprog_rng {
	uint64_t state;
};

/* Program `index` of run `seed` depends on nothing else, so one failing
 * program can be regenerated alone. */
struct randprog_rng randprog_rng_init(uint64_t seed, uint64_t index);

uint64_t randprog_rand(struct randprog_rng *r);

/* Uniform in [0, n), n >= 1. */
uint32_t randprog_below(struct randprog_rng *r, uint32_t n);

bool randprog_chance(struct randprog_rng *r, uint32_t percent);

/* ---- the generator --------------------------------------------------- */

/* Generates program `index` of run `seed` into *p. */
void randprog_generate(struct randprog *p, uint64_t seed, uint64_t index,
                       const struct randprog_opts *opts);

/* ---- assembling complete programs ----------------------------------- */

/* Appends the epilogue for a body using stack_bytes: r0 and the stack to
 * the output pointer kept at r10-8, then r0 = ret; exit.  Returns the
 * number of slots written (RANDPROG_EPILOGUE_LEN). */
size_t randprog_epilogue(bpfvm_insn *out, unsigned stack_bytes, int32_t ret);

/* Slots a complete program built from p with a prologue of n slots needs. */
size_t randprog_full_len(const struct randprog *p, size_t prologue_len);

/* prologue (which must leave the output pointer at r10-8 and fall through),
 * body, epilogue into out (randprog_full_len slots).  Returns the count. */
size_t randprog_assemble(const struct randprog *p, const bpfvm_insn *prologue,
                         size_t prologue_len, int32_t ret, bpfvm_insn *out);

#define RANDPROG_MEM_PROLOGUE_LEN 1u

/* The program for an engine given r1 = a writable buffer of at least
 * RANDPROG_OUT_LEN(stack_bytes) bytes (bpfvm_program_run_mem): the
 * prologue just keeps r1 at r10-8.  Returns r0 = 0. */
size_t randprog_wrap_mem(const struct randprog *p, bpfvm_insn *out);

/* Checks the rules the generator promises (see the top of this file).
 * Returns true if they hold, else false with a reason in why. */
bool randprog_check(const struct randprog *p, char *why, size_t why_len);

/* Removes the instruction at pc (both slots of an lddw), keeping every
 * other jump's target: a jump over it gets shorter.  For minimisers; the
 * result may break the rules (an unreachable block), which
 * randprog_check() then reports. */
void randprog_delete(struct randprog *p, size_t pc);

/* Removes 8-byte stack slot k (0: the lowest address) for minimisers, if
 * no instruction after the init touches it: deletes the stores that
 * initialise it, moves accesses below it up by 8 and shrinks the area.
 * Returns false, p unchanged, if the slot is in use or the only one. */
bool randprog_drop_slot(struct randprog *p, unsigned k);

#endif
