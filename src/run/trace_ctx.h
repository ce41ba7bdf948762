/*
 * trace_ctx.h - the tracing context of one program run at a live hook:
 * what the kernel keeps in its bpf_trace_run_ctx and the probe's state
 * (the probed address, the link's cookie, the event's registers), and
 * what the tracing helpers leave for the hook to act on after the run
 * (an override of the probed function's result, a signal to send).
 *
 * Owns: struct trace_ctx and the calling thread's current one.
 *
 * Who sets it: the hook runner of a live hook (function probes, syscall
 * hooks; src/hooks) fills a struct trace_ctx on its own stack, calls
 * trace_ctx_enter() just before running the attached programs and
 * trace_ctx_leave() right after, then reads `override` and calls
 * trace_ctx_send_signal().  Runs nest (a hook run inside another's
 * helper): leaving gives the outer run its context back.  Nothing is
 * allocated: a pointer in the thread's block (base/thread_block.h) is the
 * only state.  Outside a hook (test runs) it is NULL and
 * the tracing helpers (src/helpers/trace_helpers.c) behave as the
 * kernel's do with no event behind them: bpf_get_func_ip and
 * bpf_get_attach_cookie give 0, bpf_override_return fails with -EINVAL,
 * bpf_send_signal sends at once, and the stack helpers walk the pt_regs a
 * kprobe program's context holds.
 */
#ifndef BPFVM_RUN_TRACE_CTX_H
#define BPFVM_RUN_TRACE_CTX_H

#include <linux/ptrace.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/thread_block.h"

struct trace_ctx {
	/* bpf_get_func_ip: the probed address (the function's, plus the
	 * probe's offset; a return probe gives the function's), 0 at hooks
	 * that are not function probes */
	uint64_t func_ip;
	uint64_t cookie;              /* bpf_get_attach_cookie: the link's cookie */
	/* The event's user registers (the probed thread's at the probe, the
	 * syscall's at a syscall hook), NULL if the hook has none: the stack
	 * helpers walk the user stack from rip/rbp/rsp, and
	 * bpf_override_return sets rax. */
	struct pt_regs *regs;
	/* regs are at a function's first instruction, before its frame is
	 * pushed: the caller's return address is at rsp (the kernel's
	 * is_uprobe_at_func_entry()) */
	bool at_func_entry;
	/* a function entry probe that can skip the function: only then may
	 * bpf_override_return act (the kernel's error-injection list) */
	bool may_override;
	/* set by bpf_override_return: the probe engine returns
	 * override_value from the function instead of running it */
	bool override;
	uint64_t override_value;
	/* set by bpf_send_signal(_thread): sent by trace_ctx_send_signal()
	 * once the run is over, as the kernel's irq_work defers it */
	int signal;
	bool signal_thread;           /* to the thread, not the whole process */
	/* A return probe engine swaps return addresses on the stack for its
	 * return trampoline's: given where a return address lies (slot) and
	 * what is there (ret), the real one (ret itself if not swapped; a
	 * return into a probe's moved copy of a function's first
	 * instructions as the function's own), so that the stack helpers
	 * show the caller, as the kernel's do.  NULL: nothing is swapped. */
	uint64_t (*real_return)(uint64_t slot, uint64_t ret);
	/* the run this one interrupted on the same thread (a hook run from a
	 * helper of another, or from a signal handler), restored on leaving */
	struct trace_ctx *outer;
	/* the hook runner's name for what runs (NULL if it keeps none): a
	 * runner finds whether the thread is inside a hook already by the
	 * chain of outer contexts (the agent's recursion guard) */
	const void *hook;
};

/* The calling thread's context while a hook runs its programs, else NULL. */
static inline struct trace_ctx *trace_ctx_current(void)
{
	struct thread_block *b = thread_block_current;
	return b ? b->trace_ctx : NULL;
}

/* Where the calling thread's context is kept (NULL: the process is out
 * of memory for a thread block, and the thread runs no hook). */
static inline struct trace_ctx **trace_ctx_slot(void)
{
	struct thread_block *b = thread_block_self();
	return b ? &b->trace_ctx : NULL;
}

static inline void trace_ctx_enter(struct trace_ctx *ctx)
{
	struct trace_ctx **slot = trace_ctx_slot();
	ctx->outer = slot ? *slot : NULL;
	if (slot)
		*slot = ctx;
}

static inline void trace_ctx_leave(void)
{
	struct trace_ctx **slot = trace_ctx_slot();
	if (slot && *slot)
		*slot = (*slot)->outer;
}

/* Sends the signal a program asked for (to the calling thread or its
 * process) and clears it; 0, or -errno from the system call. */
int trace_ctx_send_signal(struct trace_ctx *ctx);

#endif
