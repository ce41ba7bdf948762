/*
 * hook_prog.h - what the hook benches (probes.c, syscall_bench.c) run at
 * their hooks: a trivial program (one load from the context, exit), JIT
 * compiled, verified and attached to a hook of its program type through
 * the public hook API, as `bpfvm trace` attaches its programs.
 *
 * Owns: bench_trivial_hook().
 */
#ifndef BENCH_HOOK_PROG_H
#define BENCH_HOOK_PROG_H

#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/hook.h"

/* A hook of prog_type with the program of source (bpfvm assembly)
 * attached; NULL with a message on stderr.  *prog must outlive the hook. */
static inline bpfvm_hook *bench_trivial_hook(uint32_t prog_type, const char *source, bpfvm_program **prog)
{
	bpfvm_insn *insns = NULL;
	size_t count = 0;
	bpfvm_error err = { 0 };
	bpfvm_hook *hook = NULL;
	uint64_t link;
	BPFVM_OPTS(bpfvm_load_opts, lo, .jit = true, .prog_type = prog_type);
	BPFVM_OPTS(bpfvm_hook_opts, ho, .name = "bench", .ctx_kind = BPFVM_HOOK_CTX_PROG_TYPE, .prog_type = prog_type);
	int rc = bpfvm_asm(source, &insns, &count, &err);
	if (rc == 0)
		rc = bpfvm_program_load(insns, count, &lo, prog, &err);
	free(insns);
	if (rc == 0)
		rc = bpfvm_hook_new(&ho, &hook, &err);
	if (rc == 0 && (rc = bpfvm_hook_attach(hook, *prog, &link, &err)) < 0)
		bpfvm_hook_free(hook);
	if (rc < 0) {
		fprintf(stderr, "bench hook: %s\n", err.msg);
		return NULL;
	}
	return hook;
}

#endif
