/*
 * syscall_sweep.h - the whole process's syscall sites at once: every
 * syscall instruction of every loaded object rewritten (a jump where one
 * can be proven) and noted for an int3, and the proof that no other code
 * can make a system call, on which Syscall User Dispatch may be switched
 * off (syscall_trace.c).  The details are in syscall_sweep.c.
 *
 * Owns: struct sud_sweep, sud_sweep(), sud_sweep_is_code().
 */
#ifndef BPFVM_HOOKS_SYSCALL_SWEEP_H
#define BPFVM_HOOKS_SYSCALL_SWEEP_H

#include <stdbool.h>
#include <stdint.h>

struct sud_sweep {
	bool proven;
	uint64_t objects;    /* objects holding a syscall instruction */
	uint64_t syscalls;   /* syscall instructions, each noted for an int3 */
	uint64_t jumps;      /* of them, rewritten into a jump */
	uint64_t int3_only;  /* of them, served by their int3 alone */
	char why[200];       /* the first unprovable place (object+offset: why); "" when proven */
};

/* Sweeps every object and executable mapping (with dispatch on; not in a
 * signal handler).  Returns out->proven.  The int3s are noted, not
 * written: sud_rewrite_int3_write() writes them. */
bool sud_sweep(struct sud_sweep *out);

/* Whether [lo, hi) overlaps an executable mapping the last sweep saw. */
bool sud_sweep_is_code(uintptr_t lo, uintptr_t hi);

#endif
