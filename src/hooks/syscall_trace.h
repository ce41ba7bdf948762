/*
 * syscall_trace.h - the in-process syscall interceptor (issue 14, item 3):
 * every system call the process's threads make is reported to a pair of
 * handlers, as the kernel's raw_syscalls sys_enter / sys_exit tracepoints
 * report them, entirely in user space.
 *
 * How: Syscall User Dispatch (PR_SET_SYSCALL_USER_DISPATCH) with a selector
 * byte per thread sends each syscall made outside this module's own code
 * range (syscall_entry.S) to a SIGSYS handler, which reports it, performs
 * it from inside the range, and reports its result.  A site whose
 * instructions before the `syscall` (in its basic block, from one of 5
 * bytes or more) can be moved, and that nothing jumps into, is rewritten
 * the first time it traps into a jump to a stub that runs them and does
 * the same without a signal, the number taken from rax at run time
 * (syscall_rewrite.c); syscall_trace_stop() restores every byte.
 * Threads running at start are switched on by a queued real-time signal
 * (SIGRTMAX - 3) each handles itself; threads created later are switched on by the interceptor's own
 * handling of clone and clone3.  The details, and what is not preserved,
 * are in syscall_trace.c.  The interceptor keeps no thread-local state
 * (a table keyed by the thread pointer): built into a library that is
 * dlopen()ed (an agent injected into a running process), nothing is
 * allocated on any thread's behalf inside the SIGSYS handler.  Limit:
 * 8192 threads traced at once; a thread beyond them is not switched on
 * (its syscalls are not reported).
 *
 * Owns: struct syscall_handlers, syscall_trace_start/stop/stats.
 */
#ifndef BPFVM_HOOKS_SYSCALL_TRACE_H
#define BPFVM_HOOKS_SYSCALL_TRACE_H

#include <asm/ptrace.h>  /* struct pt_regs, the kernel's x86-64 layout */
#include <stdbool.h>
#include <stdint.h>

#define SYSCALL_TRACE_ERRLEN 256

/* Both are called in the thread that made the syscall, with every signal
 * blocked (SUD path) or not (rewritten path); syscalls they make
 * themselves are performed without being reported.  enter sees the
 * registers as sys_enter's pt_regs shows them (rax -ENOSYS, orig_rax the
 * number, rip after the syscall instruction); it cannot change them, as a
 * BPF program cannot.  exit sees them as sys_exit's pt_regs shows them
 * (the user's registers after the syscall, rax the result: rdi, rsi, rdx,
 * r10, r8 and r9 still hold args[0..5], which the syscall leaves alone;
 * the agent relies on it).  exit is not
 * called for rt_sigreturn, nor for exit and exit_group (they do not
 * return), as in the kernel. */
struct syscall_handlers {
	void (*enter)(void *user, long nr, const unsigned long args[6], const struct pt_regs *regs);
	void (*exit)(void *user, long nr, const unsigned long args[6], const struct pt_regs *regs, long ret);
	/* Optional: called first in each thread created while traced, before
	 * its clone's exit is reported, where the thread holds no lock (it
	 * has run nothing): the place to make a thread's own state safely. */
	void (*thread_start)(void *user);
};

/* Whether the calling thread, in enter or exit, was reported from the
 * SIGSYS handler (true) or a rewritten site's stub (false, a plain call):
 * a handler that would allocate a thread's state may do so only then. */
bool syscall_trace_in_signal_handler(void);

/* A word of the calling thread's for the handlers' own use (their
 * per-thread state, found without thread-local storage, which costs a
 * call in a shared library), NULL until they set it and again at each
 * start; valid in enter, exit and thread_start (NULL elsewhere if the
 * thread was never traced). */
void **syscall_trace_thread_word(void);

enum syscall_trace_flags {
	SYSCALL_TRACE_NO_REWRITE = 1 << 0, /* every site stays on the SUD path */
	/* the handlers' user argument is the calling thread's word
	 * (syscall_trace_thread_word(), a void **), not start's user: the
	 * interceptor found it already, so a handler needs no call for it */
	SYSCALL_TRACE_USER_IS_THREAD_WORD = 1 << 1,
	/* at start, every site of every object is rewritten at once (a jump,
	 * else an int3 over the syscall), and if no syscall instruction is
	 * left that could run unrewritten, dispatch is switched off in every
	 * thread (a thread on it pays the kernel's slow syscall path on every
	 * syscall); new code mapped while off switches it back on */
	SYSCALL_TRACE_DISPATCH_OFF = 1 << 2,
	/* with SYSCALL_TRACE_DISPATCH_OFF: new code mapped after start (a
	 * dlopen()) switches dispatch back on only until its object is
	 * swept (once ld.so has loaded it, after a later call of any thread),
	 * then off again; unmapped code is forgotten.  Anonymous executable
	 * memory (JIT-style), a writable and executable mapping, executable
	 * shared memory, code moved, or the target setting SIGTRAP's action
	 * keep it on for good, the mode says why */
	SYSCALL_TRACE_SWEEP_NEW_CODE = 1 << 3,
};

/* Starts intercepting every thread's syscalls.  Returns 0, or a negative
 * errno with a message in errbuf (SYSCALL_TRACE_ERRLEN bytes): -ENOSYS or
 * -EINVAL where the kernel has no Syscall User Dispatch, -EBUSY if already
 * started, -ETIMEDOUT if a running thread did not switch on in time (every
 * thread is then switched off again). */
int syscall_trace_start(const struct syscall_handlers *h, void *user, unsigned flags, char *errbuf);

/* Stops: every rewritten site gets its bytes back, every thread's dispatch
 * is switched off, the previous SIGSYS action is restored.  The stubs stay
 * mapped (a thread may still be returning through one). */
void syscall_trace_stop(void);

struct syscall_trace_stats {
	uint64_t sud_calls;        /* reported through the SIGSYS handler */
	uint64_t rewritten_calls;  /* reported through a rewritten site's stub (calls of
	                            * threads at the same instant may count once) */
	uint64_t sites_rewritten;  /* sites patched since start */
	uint64_t sites_lean;       /* of them, served by the lean entry (no xmm or flags kept) */
	uint64_t sites_refused;    /* sites examined and left on the SUD path */
	uint64_t int3_calls;       /* reported through the SIGTRAP of an int3 over a syscall */
};
void syscall_trace_get_stats(struct syscall_trace_stats *out);

/* How syscalls are caught since start: dispatch off (every one of `sites`
 * syscall instructions in `objects` objects rewritten, `jumps` of them
 * into a jump and `int3_only` served by an int3 alone), or on, `why`. */
struct syscall_trace_mode {
	bool dispatch_off;
	uint64_t objects, sites, jumps, int3_only;
	uint64_t swept_later;   /* objects swept after start (SYSCALL_TRACE_SWEEP_NEW_CODE), in the counts above */
	char why[200];
};
void syscall_trace_get_mode(struct syscall_trace_mode *out);

#endif
