/*
 * syscall_sweep.h - the whole process's syscall sites at once: every
 * syscall instruction of every loaded object rewritten (a jump where one
 * can be proven) and noted for an int3, and the proof that no other code
 * can make a system call, on which Syscall User Dispatch may be switched
 * off (syscall_trace.c).  The details are in syscall_sweep.c.
 *
 * Owns: struct sud_sweep, sud_sweep(), sud_sweep_new_code(),
 * sud_sweep_is_code(), sud_sweep_forget().
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

/* Whether [lo, hi) overlaps an executable mapping a sweep saw. */
bool sud_sweep_is_code(uintptr_t lo, uintptr_t hi);

/* [lo, hi) about to be unmapped or mapped over: no more code. */
void sud_sweep_forget(uintptr_t lo, uintptr_t hi);

/* New code after start: [lo, hi), made executable (a dlopen()'s mmap),
 * swept as the objects were at start if an object loaded now holds it:
 * that object (its sites rewritten, int3s noted), and the executable
 * mappings overlapping the range checked as at start.  WAIT while no
 * loaded object holds lo (ld.so registers an object after mapping it);
 * out says what was found, or why it is not proven.  No malloc, no stdio,
 * no loader lock; callers serialise. */
enum sud_new_code { SUD_NEW_CODE_WAIT, SUD_NEW_CODE_PROVEN, SUD_NEW_CODE_UNPROVABLE };
enum sud_new_code sud_sweep_new_code(uintptr_t lo, uintptr_t hi, struct sud_sweep *out);

#endif
