/*
 * syscall_sud.h - what the interceptor's three parts share: the code
 * range Syscall User Dispatch lets through (syscall_entry.S), the block a
 * new thread's first instructions restore its registers from, the
 * rewritten path's entry, and the site rewriter (syscall_rewrite.c).
 *
 * Owns: the declarations of syscall_entry.S's routines and of the
 * rewriter; struct sud_child_block's layout, which the assembly reads.
 */
#ifndef BPFVM_HOOKS_SYSCALL_SUD_H
#define BPFVM_HOOKS_SYSCALL_SUD_H

#include <asm/ptrace.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* syscall_entry.S: everything between sud_code_start and sud_code_end is
 * the range the kernel lets make syscalls without a SIGSYS. */
extern const char sud_code_start[], sud_code_end[];
long sud_raw_syscall(long nr, const unsigned long args[6]);
void sud_restore_rt(void);  /* rt_sigreturn, from inside the range */

/* A thread created by clone/clone3 with a stack of its own starts in
 * sud_raw_clone's child path, which calls sud_child_entry(block) and then
 * loads the registers the parent had at its syscall from the block (placed
 * at the top of the child's stack) and jumps to the parent's rip. */
struct sud_child_block {
	unsigned char fxsave[512];  /* offset 0, 64-aligned: fxrstor64 */
	struct pt_regs regs;        /* offset SUD_BLOCK_REGS */
	uint64_t sigmask;           /* restored by sud_child_entry */
	long nr;
	unsigned long args[6];      /* as the caller passed them: reported as sys_exit's */
	unsigned long flags;        /* the clone flags performed */
	uintptr_t parent_tp;        /* the parent thread's pointer: a child without CLONE_SETTLS shares it */
} __attribute__((aligned(64)));
#define SUD_BLOCK_REGS 512
long sud_raw_clone(long nr, const unsigned long args[6], struct sud_child_block *block);
void sud_child_entry(struct sud_child_block *block);

/* The rewritten path: a site's stub jumps to sud_fast_entry, or to
 * sud_fast_entry_lean where the site needs neither xmm0-15 nor its flags
 * kept (assembly), which saves the registers as a pt_regs and the
 * syscall's arguments as an array in a struct sud_fast_frame, calls
 * sud_fast_enter, makes the system call itself unless that made it
 * (SUD_FAST_DONE, result in regs.rax), puts the result in regs.rax and
 * calls sud_fast_exit if the call was reported (SUD_FAST_REPORTED).
 * SUD_FAST_SIGRETURN: rt_sigreturn, made on the caller's own rsp (it
 * takes the stack as a signal frame), never returning. */
#define SUD_FAST_REPORTED 1
#define SUD_FAST_DONE 2
#define SUD_FAST_SIGRETURN 4
struct sud_fast_frame {
	struct pt_regs regs;         /* offset 0 */
	unsigned long args[6];       /* offset SUD_FRAME_ARGS, in the syscall's order */
	void *self;                  /* the thread's state, from sud_fast_enter to sud_fast_exit */
	const unsigned char *xmm;    /* offset SUD_FRAME_XMM: xmm0-15 as the full entry saved them; NULL (lean) */
};
#define SUD_FRAME_ARGS 168
#define SUD_FRAME_XMM 224
#define SUD_FRAME_SIZE 232
void sud_fast_entry(void);
void sud_fast_entry_lean(void);
unsigned sud_fast_enter(struct sud_fast_frame *frame);
void sud_fast_exit(struct sud_fast_frame *frame);
/* Whether the rewritten path serves every syscall itself, with no
 * reliance on Syscall User Dispatch: false while it sends the ones that
 * need a signal frame (rt_sigreturn, rt_sigaction, the clones) back to
 * the site's own syscall instruction to trap.  Dispatch may go off only
 * when true.  The fallback is off unless sud_fast_set_fallback(true)
 * (tests comparing both paths). */
bool sud_fast_fallback_free(void);
void sud_fast_set_fallback(bool on);

/* syscall_trace.c, for the SIGTRAP handler (probe_trap.c): serves a
 * syscall whose int3 (the sweep's) the thread met, as the SIGSYS path
 * does; false when the trap is no such int3's. */
bool sud_serve_int3(void *ucontext);

/* syscall_rewrite.c.  Called at start, before any site is rewritten:
 * registers for membarrier's SYNC_CORE (the breakpoint-first patch). */
void sud_rewrite_prepare(void);
/* Called from the SIGSYS handler after a trap at the syscall instruction
 * ending at `after`: rewrites the site if it can be proven safe (once per
 * site; waits for another thread's rewrite at most 250 ms).  Returns
 * true if the site is now rewritten. */
bool sud_rewrite_site(uintptr_t after);
/* In the child of a fork, its one thread: a rewrite another thread of
 * the parent had under way is dropped, and the rewriter freed (the child
 * would otherwise wait on it for ever). */
void sud_rewrite_after_fork(void);
/* Puts back every rewritten site's bytes. */
void sud_rewrite_restore_all(void);
/* Sites rewritten (of them, to the lean entry) and refused since the last restore. */
void sud_rewrite_counts(uint64_t *rewritten, uint64_t *lean, uint64_t *refused);
/* For the SIGTRAP handler: the stub a thread that met the breakpoint at
 * `at` (a site's first byte, while its jump was being written or undone)
 * continues in, or 0 when `at` is no site's. */
uintptr_t sud_rewrite_trap_target(uintptr_t at);

/* Whether the bytes at `at` are a patch of this process's (a syscall
 * site's jump, an int3 over a syscall, a function probe's jump or int3)
 * and not what they were: if so, how many (SUD_PATCH_LEN, or 1 for an
 * int3 over a syscall) with what they were in original; else 0. */
#define SUD_PATCH_LEN 5
size_t sud_rewrite_original_at(uintptr_t at, uint8_t original[SUD_PATCH_LEN]);

/* For the SIGTRAP handler: whether `at` is a syscall's first byte the
 * sweep covered with an int3: 1 while the int3 is there, 0 once it was
 * taken out again (the thread re-runs the syscall), -1 when no such site. */
int sud_rewrite_int3_at(uintptr_t at);

/* The sweep (syscall_sweep.c), with dispatch still on.  cover_begin
 * forgets the last sweep's int3 list (taking its int3s out);
 * cover_object decodes the object holding pc FDE by FDE, decides every
 * syscall instruction's site now (its jump where it can be proven) and
 * notes each for an int3 over its first byte; false, with bad and why
 * set, at a sysenter, an int $0x80, a byte capstone cannot decode or a
 * syscall under a probe's patch (or when pc's object has no unwind
 * table).  int3_write writes (true) or takes out (false) every int3 so
 * noted; a thread meeting one is served by the SIGTRAP handler. */
struct sud_cover {
	uint64_t syscalls, jumps, int3_only;
	uintptr_t bad;
	const char *why;
};
void sud_rewrite_cover_begin(void);
bool sud_rewrite_cover_object(uintptr_t pc, struct sud_cover *out);
/* The same over [begin, begin + size), code outside every FDE, decoded
 * from its start as if it were one function. */
bool sud_rewrite_cover_range(uintptr_t begin, size_t size, struct sud_cover *out);
bool sud_rewrite_int3_write(bool on);
/* The rewriter held across a sweep of new code (taken within 250 ms, or
 * false: another thread's rewrite may wait for a lock this thread holds),
 * the sweep's own takes nesting inside; sites without an FDE then get no
 * jump (their bounds would come from dladdr, which takes the loader's
 * lock). */
bool sud_rewrite_hold(void);
void sud_rewrite_unhold(void);
/* Code about to go (unmapped, or mapped over): its int3s leave the list
 * (taken out already), its sites and patch records and what was decoded
 * of its object are forgotten. */
void sud_rewrite_forget(uintptr_t lo, uintptr_t hi);
/* Whether [lo, hi) lies in the rewriter's own stub pools. */
bool sud_rewrite_owns(uintptr_t lo, uintptr_t hi);
/* The grace of forgotten stubs (syscall_rewrite.c's header says why it
 * is enough): grace_begin before a request round that asks every thread,
 * grace_end after every thread answered, with the n interrupted rips
 * found inside the stub pools; the stubs forgotten before the round are
 * then reusable, unless one of those rips lies in one of them. */
uint64_t sud_rewrite_grace_begin(void);
void sud_rewrite_grace_end(uint64_t round, const uintptr_t *in_pools, size_t n);
/* How much of the rewriter's tables is in use (for tests): sites and
 * patch records held, those a search from their home would not find (0
 * unless a deletion broke a probe run), stubs ever made, stubs given back
 * and reusable, stubs given back and waiting for their grace. */
struct sud_rewrite_use {
	uint64_t sites, patches, misplaced, stubs_made, stubs_spare, stubs_waiting;
};
void sud_rewrite_use(struct sud_rewrite_use *out);

/* Of the object holding pc, decoded FDE by FDE: its syscall instructions,
 * how many would be rewritten if they trapped (of them, to the lean
 * entry), and the first that would not.  Patches nothing. */
struct sud_rewrite_survey {
	uint64_t syscalls, rewritable, lean;
	uintptr_t first_refused;
};
bool sud_rewrite_survey(uintptr_t pc, struct sud_rewrite_survey *out);

#endif
