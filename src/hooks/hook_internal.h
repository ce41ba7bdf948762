/*
 * hook_internal.h - what the hooks layer's other modules (the hook host)
 * read of a hook beyond the public API: the context its programs get.
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

#endif
