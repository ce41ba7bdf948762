/*
 * probe.h - function entry and return probes in the running process, by
 * patching the function's first bytes (x86-64).  The agent of `bpfvm
 * trace` runs them inside a target; anything may use them in-process.
 *
 * A probe calls an entry handler when the function is entered and a
 * return handler when it returns, each with the registers in the
 * kernel's struct pt_regs (what libbpf's PT_REGS_PARM1..6, PT_REGS_RC,
 * PT_REGS_IP and PT_REGS_SP read): at entry rip is the function and rsp
 * points at the return address; at return rax holds the return value,
 * rip the address returned to and rsp the stack pointer after the ret.
 * The entry handler may make the function return a value of its choice
 * without running it (bpf_override_return); such a call has no return
 * handler call.
 *
 * Two paths serve a probe.  The trampoline path replaces the function's
 * first instructions (at least 5 bytes) with a jump to generated code
 * that saves the registers, calls the handler, runs the moved
 * instructions and jumps back.  Where the bytes cannot be moved safely (a
 * branch lands inside them, the function is too short, an instruction
 * cannot be relocated) the int3 path puts a breakpoint on the first byte:
 * its SIGTRAP handler calls the entry handler and runs the first
 * instruction out of line.  Return probes swap the return address for
 * one into a shared return trampoline, the real one kept on a per-thread
 * shadow stack (128 entries, no allocation once a thread has its
 * thread-local block; deeper calls go without a return call and count as
 * missed); entries of frames left by longjmp are dropped by stack pointer,
 * as the kernel's uretprobes do.  Unwinders (C++ exceptions, backtrace())
 * do not know the return trampoline: a return-probed frame cannot be
 * unwound through (the tracing helpers' stack walks ask
 * probe_real_return() for the real address).
 *
 * Generated code is kept for the process lifetime (a thread may still
 * be inside it after detach), one page per function ever probed, reused
 * when the function is probed again.
 *
 * Known limits: a branch into the displaced bytes from outside the
 * scanned extent (a .cold part placed before the function, a jump table)
 * is not seen; a thread whose context inside the displaced bytes is saved
 * in a signal frame (a handler running over it) is not moved; a probed
 * function called on a sigaltstack above the thread's stack drops the
 * shadow entries below it (as the kernel's uretprobes would); patched
 * pages go back to read+exec, whatever they were; in a library loaded
 * by dlopen, a thread's first probe hit allocates its thread-local block.
 *
 * The engine handles SIGTRAP (breakpoints) and PROBE_MOVE_SIGNAL (moving
 * threads out of the bytes being replaced); any other use of these
 * signals goes on to the handler installed before the first attach.
 *
 * The handlers run in the thread that called the function (on the int3
 * path inside a signal handler); they must not detach their own probe.
 * The vector registers that carry arguments and results (xmm0-7) are
 * preserved around them, the upper halves of ymm/zmm are not.
 *
 * Owns: probe_attach(), probe_detach(), probe_path(), probe_stats(),
 * probe_shadow_depth(), probe_real_return().
 */
#ifndef BPFVM_HOOKS_PROBE_H
#define BPFVM_HOOKS_PROBE_H

#include <asm/ptrace.h>
#include <signal.h>
#include <stdint.h>

#include "bpfvm/bpfvm.h"

struct probe;

#define PROBE_MOVE_SIGNAL (SIGRTMAX - 2)

/* Returns 0 to let the function run, 1 to make it return *override_rc
 * at once, or PROBE_ENTRY_NO_RETURN to let it run without a return
 * handler call for this call (the return probe's shadow stack is then
 * not touched: an agent whose thread-local data is not ready yet). */
#define PROBE_ENTRY_NO_RETURN 2
typedef int probe_entry_fn(struct pt_regs *regs, void *user, uint64_t *override_rc);
typedef void probe_return_fn(struct pt_regs *regs, void *user);

struct probe_handlers {
	probe_entry_fn *entry;   /* may be NULL */
	probe_return_fn *ret;    /* NULL: no return probe */
};

enum probe_path {
	PROBE_PATH_TRAMPOLINE,
	PROBE_PATH_INT3,
	PROBE_PATH_COUNT
};

struct probe_attach_opts {
	size_t func_size;        /* the function's size (ELF st_size), 0 when unknown */
	int force_int3;          /* serve by the int3 path even where a trampoline could */
};

struct probe_stats {
	uint64_t entries[PROBE_PATH_COUNT];  /* entry calls served by each path */
	uint64_t returns;                    /* return handler calls */
	uint64_t missed_returns;             /* shadow stack full: no return call */
	uint64_t trap_redirects;             /* breakpoint hits sent into the trampoline while patching */
	uint64_t threads_moved;              /* threads moved from the displaced bytes into the trampoline */
};

/* Attaches a probe to the function at func (one probe per function at a
 * time: the hook API combines programs).  opts may be NULL.  Returns 0 or
 * a negative errno with the reason in err; the function is then left as
 * it was. */
int probe_attach(void *func, const struct probe_attach_opts *opts, const struct probe_handlers *h, void *user,
		 struct probe **out, bpfvm_error *err);

/* Restores the function's exact bytes; once it returns no handler of the
 * probe runs or is running, and p is freed.  A return still pending in
 * some thread goes back to its caller without a handler call. */
void probe_detach(struct probe *p);

enum probe_path probe_path(const struct probe *p);
void probe_stats(const struct probe *p, struct probe_stats *out);

/* Return probes pending in the calling thread (for tests). */
unsigned probe_shadow_depth(void);

/* For a stack walk in the calling thread: the return address that lay at
 * slot before a return probe put its trampoline's there (ret, if ret is
 * not the trampoline's or no pending return probe has that slot); and
 * where a call among a probe's displaced instructions would have
 * returned in the function itself, rather than in their moved copy
 * (the kernel's uprobes emulate such a call, pushing the original
 * address). */
uint64_t probe_real_return(uint64_t slot, uint64_t ret);

#endif
