/*
 * hook_internal.h - what the hooks layer's other modules (the hook host,
 * the trace agent) use of a hook beyond the public API: the context its
 * programs get, and runs on a thread registration the caller keeps.
 */
#ifndef BPFVM_HOOKS_HOOK_INTERNAL_H
#define BPFVM_HOOKS_HOOK_INTERNAL_H

#include "bpfvm/hook.h"

struct hook_ctx_info {
	bpfvm_hook_ctx_kind kind;
	uint32_t ctx_size;            /* MEM */
	uint32_t prog_type;           /* PROG_TYPE; BPFVM_PROG_TYPE_RAW for MEM, TRACING for BTF */
	const struct btf *btf;        /* BTF */
	uint32_t btf_id;
};

void hook_ctx_info(const bpfvm_hook *hook, struct hook_ctx_info *out);

/* The calling thread's registration for hook runs, made (allocating, as
 * bpfvm_hook_thread_prepare) if it had none; NULL if out of memory. */
struct hook_thread;
struct hook_thread *hook_thread_self(void);

/* bpfvm_hook_run on self, the calling thread's hook_thread_self(), which
 * the caller kept: the run skips looking it up (a thread-local lookup,
 * a call when the runtime is a shared library that was dlopen()ed). */
int hook_run_on(struct hook_thread *self, bpfvm_hook *hook, void *ctx, uint64_t *result);

#endif
