/*
 * trace_ctx.c - the delivery of the signal a program asked for at a live
 * hook (trace_ctx.h).
 *
 * Owns: trace_ctx_send_signal() (the context itself is in the thread's
 * block: trace_ctx.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "run/trace_ctx.h"

int trace_ctx_send_signal(struct trace_ctx *ctx)
{
	int sig = ctx->signal;
	if (!sig)
		return 0;
	ctx->signal = 0;
	/* tgkill for the thread (the kernel's PIDTYPE_PID), kill for the
	 * process (PIDTYPE_TGID: any of its threads may take it) */
	long rc = ctx->signal_thread ? syscall(SYS_tgkill, getpid(), gettid(), sig) : kill(getpid(), sig);
	return rc == 0 ? 0 : -errno;
}
