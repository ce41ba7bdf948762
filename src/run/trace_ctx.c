/*
 * trace_ctx.c - the calling thread's tracing context (trace_ctx.h) and
 * the delivery of the signal a program asked for.
 *
 * Owns: trace_ctx_current, trace_ctx_send_signal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "run/trace_ctx.h"

__thread struct trace_ctx *trace_ctx_current;

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
