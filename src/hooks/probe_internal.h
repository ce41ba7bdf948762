/*
 * probe_internal.h - what the probe engine's files share: a patch site
 * (one per function ever probed, kept for the process lifetime with its
 * generated code, so a thread still inside that code is never left
 * without it), a probe, and the entry points the generated code calls.
 */
#ifndef BPFVM_HOOKS_PROBE_INTERNAL_H
#define BPFVM_HOOKS_PROBE_INTERNAL_H

#include <stdatomic.h>

#include "hooks/probe.h"
#include "hooks/x86_relocate.h"

#define PROBE_JUMP_LEN 5

enum probe_site_mode {
	SITE_IDLE,            /* original bytes in place */
	SITE_JUMP,            /* jmp rel32 to the trampoline (or int3 while patching: redirected) */
	SITE_TRAP_REDIRECT,   /* int3 at byte 0, hits sent to the trampoline (threads could not be moved) */
	SITE_TRAP_EMULATE     /* int3 at byte 0, first instruction run out of line */
};

struct probe_site {
	uint8_t *func;
	uint8_t orig[X86_RELOC_MAX_INSNS];   /* the bytes a jump or int3 replaces, as they were */
	uint8_t *trampoline;                 /* NULL: the bytes cannot move */
	uint8_t *trampoline_resume;          /* where the moved instructions start in it */
	struct x86_reloc jump_reloc;         /* the moved instructions */
	uint8_t *out_of_line;                /* the first instruction and a jump back; NULL: none */
	struct x86_reloc out_of_line_reloc;  /* that instruction, moved */
	char no_trampoline[X86_RELOC_REASON_SIZE];
	_Atomic int mode;
	_Atomic(struct probe *) current;
	atomic_uint inside;                  /* threads in a handler call of this site */
	atomic_uint_fast64_t trap_redirects;
	atomic_uint_fast64_t threads_moved;
};

struct probe {
	struct probe_site *site;
	uint64_t id;
	struct probe_handlers h;
	void *user;
	enum probe_path path;
	uint64_t redirects_before, moved_before;
	atomic_uint_fast64_t entries[PROBE_PATH_COUNT];
	atomic_uint_fast64_t returns;
	atomic_uint_fast64_t missed_returns;
};

/* probe.c: called by the generated code and the trap handler.  Returns 1
 * when the entry handler overrides the call (regs->rax then holds the
 * value to return). */
int probe_entry_dispatch(struct probe_site *site, struct pt_regs *regs, int path);
/* Called by the return trampoline: runs the return handler, returns the
 * real return address. */
uintptr_t probe_return_dispatch(struct pt_regs *regs);
struct probe_site *probe_site_find(uintptr_t func);

/* probe_tramp.c */
extern const uint8_t probe_return_trampoline[];
/* Generates the site's trampoline and out-of-line copy near its function
 * (fn_size 0: unknown).  Returns 0, or -1 when neither can be built. */
int probe_tramp_build(struct probe_site *site, size_t fn_size, char reason[X86_RELOC_REASON_SIZE]);

/* probe_trap.c */
int probe_trap_install(bpfvm_error *err);
/* Moves every other thread stopped inside site's displaced bytes to the
 * same place in its trampoline.  Returns 0, or -1 when some thread did not
 * answer in time (the site must then stay on a breakpoint). */
int probe_trap_move_threads(struct probe_site *site);

#endif
