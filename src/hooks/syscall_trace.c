/*
 * syscall_trace.c - the interceptor's SIGSYS side and its lifecycle (see
 * syscall_trace.h for the picture).
 *
 * Per thread, in a slot of a table (below): a selector byte (BLOCK while
 * traced; ALLOW inside the SIGSYS handler, whose signals are all blocked,
 * so nothing the handler does traps; BLOCK again, with the thread's own
 * mask, while the handler performs the syscall, which may block) and a
 * depth count: while a handler (or start/stop) runs, the thread's own
 * syscalls are performed without being reported.
 *
 * The syscalls the handler cannot simply perform in its own frame:
 * - rt_sigreturn (a signal handler's return through libc's restorer):
 *   the SIGSYS frame is left with rip at sud_restore_rt, which performs
 *   it from inside the allowed range on the frame it was meant for;
 * - rt_sigaction for SIGSYS: virtualised; the target's handler is kept as
 *   the one SIGSYS's of other origins (seccomp's SYS_SECCOMP, kill) are
 *   passed on to, with the signal's own siginfo and ucontext;
 * - clone and clone3 with a new stack (threads, posix_spawn): the child
 *   must not return through the parent's signal frame, so the parent's
 *   registers and FPU state go in a block at the top of the child's stack
 *   and the child starts in sud_raw_clone's child path, which switches
 *   dispatch on for it, reports its exit (0) and resumes the parent's
 *   interrupted context there;
 * - a fork (no shared memory) returns through the handler in both
 *   processes; the child switches dispatch on for itself first (the kernel
 *   does not carry it over fork);
 * - vfork, and any CLONE_VM without a stack, runs as fork (as valgrind
 *   does): a child sharing the parent's stack would overwrite the
 *   parent's signal frame.
 *
 * The rewritten path learns the number only at run time, and serves
 * these itself, with no reliance on dispatch (sud_fast_enter): its frame
 * holds what the signal frame does (registers, xmm0-15 at a full entry's
 * site; the FPU control words and the mask are the thread's own there),
 * so a new thread's block is filled from it and the same rules apply;
 * rt_sigreturn is made by the assembly on the caller's own rsp.  Its
 * fallback (sud_fast_set_fallback, for tests) sends rt_sigreturn,
 * rt_sigaction and the clones back to the site's own syscall
 * instruction, which traps.
 *
 * - SIGSYS must never be blocked: a dispatch trap while it is kills the
 *   process (the kernel resets a blocked forced signal to SIG_DFL).  So
 *   rt_sigprocmask never blocks it (the thread is shown the mask it
 *   asked for), rt_sigaction drops it from every handler's mask, and
 *   the calls that wait with a mask of their own (rt_sigsuspend, ppoll,
 *   pselect6, epoll_pwait(2)) wait with it unblocked; the
 *   same for the request signal below, so that stop reaches every thread
 *   (one of that number from elsewhere is delivered even while the
 *   thread believes it blocked).
 *
 * Threads that exist at start are asked with a queued real-time signal
 * (SUD_REQUEST_SIGNAL, SI_QUEUE, a magic value) to switch themselves on,
 * and at stop off; start waits for every one to answer.  Not SIGSYS: a
 * standard signal does not queue, so a request pending when the thread
 * trapped at a dispatched syscall swallowed the trap's SIGSYS (the
 * syscall skipped, rax left holding its number) and a trap's SIGSYS
 * pending swallowed the request (start or stop timing out).  Its handler
 * stays installed once installed (a request may still be pending after
 * stop gave up waiting), passing other signals of that number on to the
 * action it found.
 *
 * Dispatch off (SYSCALL_TRACE_DISPATCH_OFF): at start every site is
 * swept (syscall_sweep.c); if no syscall instruction can run unrewritten,
 * each thread first keeps SIGTRAP unblocked (a request round: the int3s'
 * trap, blocked, would kill), the int3s go in, and every thread switches
 * dispatch off (a thread made later, or a fork's child, stays off).  A
 * syscall met at its int3 is served by sud_serve_int3 from the SIGTRAP
 * handler as a trap is from SIGSYS's.  A call of the target's that may
 * make code the sweep never saw run (mmap, mprotect or pkey_mprotect with
 * PROT_EXEC, shmat with SHM_EXEC, mremap of swept code) or that sets
 * SIGTRAP's action switches dispatch back on in every thread, the int3s
 * out, before it is made.  The handlers' own calls are not watched.
 * With SYSCALL_TRACE_SWEEP_NEW_CODE, only until the new code is swept: a
 * file mapping made executable (a dlopen()'s) waits, noted by the thread
 * that made it after its call returned, until ld.so has registered its
 * object (_dl_find_object); after any later call of the target's (its
 * way out of perform(): on the rewritten path too, while something
 * waits) the thread that gets the lock sweeps that object alone
 * (syscall_sweep.c's sud_sweep_new_code: no malloc, no loader lock, so
 * also inside malloc, dlopen or the SIGSYS handler's frame) and, once
 * nothing waits and no watched call is in flight, switches dispatch off
 * again as start did.  Threads running the new code meanwhile trap (SUD).
 * An munmap (or a MAP_FIXED mmap) of swept code puts dispatch back on
 * too, and after it the code's sites, patches and int3s are forgotten,
 * their table slots and stubs given back (syscall_rewrite.c); the request
 * round of the next switch off is the stubs' grace: a thread answering
 * from inside a stub given back before it keeps that stub out of use.
 * So a process that dlopen()s and dlclose()s for ever finds room every
 * time.
 * Anonymous executable memory (JIT-style), a writable and executable
 * mapping, executable shared memory, code moved or SIGTRAP's action set
 * keep dispatch on for good ("kept on: ...").  A file mapped executable
 * by hand (not by ld.so) waits for an object that never comes: dispatch
 * stays on, the mode saying so, until it is unmapped (its FDEs would have
 * to be found without _dl_find_object, and its code may need relocations
 * nobody applies: not swept).
 *
 * Not preserved: the upper halves of ymm registers and the x87 stack on
 * the rewritten path (xmm0-15 and the flags are, except at sites whose
 * function uses no vector register and no std, and whose status flags
 * are dead after the syscall, as syscall_rewrite.c proves: nothing there
 * can see them);
 * a SIGSYS handler of the target's own runs with its syscalls unreported.
 *
 * Owns: syscall_trace_start/stop/get_stats/get_mode, the SIGSYS handler,
 * the threads' slots, the per-thread switch, the mode (dispatch off, back
 * on, the new code waiting for its sweep and off again), sud_serve_int3,
 * sud_fast_enter/exit and sud_child_entry.
 */
#define _GNU_SOURCE
#include "hooks/syscall_trace.h"
#include "hooks/syscall_sud.h"
#include "hooks/syscall_sweep.h"
#include "hooks/probe_internal.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <errno.h>
#include <link.h>
#include <stdarg.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_OFF 0
#define PR_SYS_DISPATCH_ON 1
#endif
#define SUD_SELECTOR_ALLOW 0
#define SUD_SELECTOR_BLOCK 1
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH 2
#endif
/* The queued signal that asks a thread to switch itself, and its si_value. */
#define SUD_REQUEST_SIGNAL 61    /* SIGRTMAX - 3: the kernel's SIGRTMAX is 64 */
#define SUD_THREAD_REQUEST 0x73756421

/* The kernel's struct sigaction (rt_sigaction), with its restorer. */
struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};
#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

/* The thread's state lives in a table keyed by the thread pointer
 * (%fs:0, which the x86-64 TLS ABI makes point to itself), not in
 * thread-local storage: built into a library that is dlopen()ed (the
 * agent injected into a running process), a thread-local variable is made
 * by glibc, with malloc, at a thread's first access, and that access would
 * come inside the SIGSYS handler (a thread asked to switch on, or trapping
 * at a syscall made inside malloc itself).  Taking a slot allocates
 * nothing and takes no lock; a thread gives its slot back as it exits
 * (SYS_exit), and every slot is given back at stop.  64 bytes a slot: the
 * threads' hot fields in lines of their own. */
struct sud_thread {
	_Atomic uintptr_t owner; /* the thread pointer; SLOT_EMPTY or SLOT_FREED */
	volatile char selector;  /* read by the kernel at each syscall */
	char on;                 /* dispatch switched on for this thread */
	uint64_t kept_blocked;   /* what the thread believes of KEPT_UNBLOCKED's mask bits */
	bool in_handler;         /* reporting from the SIGSYS handler */
	int depth;               /* > 0: inside a handler, start or stop */
	pid_t tid;               /* the owner's, for the sweep at start */
	void *user_word;         /* syscall_trace_thread_word(), NULL at each start */
} __attribute__((aligned(64)));

#define SUD_THREAD_SLOTS 8192    /* a power of two */
#define SLOT_EMPTY 0             /* never taken: a search ends here */
#define SLOT_FREED 1             /* given back: a search goes on */
static struct sud_thread sud_threads[SUD_THREAD_SLOTS];

static inline uintptr_t thread_pointer(void)
{
	uintptr_t tp;
	__asm__("mov %%fs:0, %0" : "=r"(tp));
	return tp;
}

static long raw0(long nr);

static void slot_reset(struct sud_thread *s)
{
	s->selector = 0, s->on = 0, s->kept_blocked = 0, s->in_handler = false, s->depth = 0;
	s->tid = (pid_t)raw0(SYS_gettid);
	s->user_word = NULL;
}

/* At start: the slots of threads that ended while nothing was traced
 * (they gave nothing back) are freed; a slot is taken from a live thread
 * never (a reused thread id keeps a dead thread's slot: harmless), but
 * its user word is forgotten (it may be a dead thread's whose thread
 * pointer a new one got). */
static void sweep_dead_threads(void)
{
	long pid = raw0(SYS_getpid);
	for (size_t i = 0; i < SUD_THREAD_SLOTS; i++) {
		struct sud_thread *s = &sud_threads[i];
		uintptr_t owner = atomic_load_explicit(&s->owner, memory_order_relaxed);
		if (owner <= SLOT_FREED)
			continue;
		s->user_word = NULL;
		if (syscall(SYS_tgkill, pid, s->tid, 0) != 0 && errno == ESRCH)
			atomic_compare_exchange_strong(&s->owner, &owner, SLOT_FREED);
	}
}

/* The calling thread's slot, taken if it had none (a new slot starts with
 * everything off); NULL only if every slot is taken.  Only the thread
 * itself takes or gives back its slot; other threads take theirs
 * meanwhile, hence the compare-and-swap, and a new search if it loses. */
static inline size_t slot_index(uintptr_t tp)
{
	return (size_t)((tp * 0x9e3779b97f4a7c15ull) >> 51) & (SUD_THREAD_SLOTS - 1);
}

static __attribute__((noinline)) struct sud_thread *thread_slot_search(uintptr_t tp)
{
	size_t first = slot_index(tp);
	for (int attempt = 0; attempt < 64; attempt++) {
		struct sud_thread *free_slot = NULL;
		for (size_t n = 0, i = first; n < SUD_THREAD_SLOTS; n++, i = (i + 1) & (SUD_THREAD_SLOTS - 1)) {
			uintptr_t owner = atomic_load_explicit(&sud_threads[i].owner, memory_order_relaxed);
			if (owner == tp)
				return &sud_threads[i];
			if ((owner == SLOT_FREED || owner == SLOT_EMPTY) && !free_slot)
				free_slot = &sud_threads[i];
			if (owner == SLOT_EMPTY)
				break;
		}
		if (!free_slot)
			return NULL;
		uintptr_t was = atomic_load_explicit(&free_slot->owner, memory_order_relaxed);
		if ((was == SLOT_EMPTY || was == SLOT_FREED) &&
		    atomic_compare_exchange_strong_explicit(&free_slot->owner, &was, tp, memory_order_acquire,
		                                            memory_order_relaxed)) {
			slot_reset(free_slot);
			return free_slot;
		}
	}
	return NULL;
}

static inline struct sud_thread *thread_slot(void)
{
	uintptr_t tp = thread_pointer();
	struct sud_thread *s = &sud_threads[slot_index(tp)];
	if (__builtin_expect(atomic_load_explicit(&s->owner, memory_order_relaxed) == tp, 1))
		return s;
	return thread_slot_search(tp);
}

static struct {
	pthread_mutex_t lock;               /* start and stop */
	_Atomic bool active;                /* report calls */
	bool rewrite;
	bool user_is_word;                  /* SYSCALL_TRACE_USER_IS_THREAD_WORD */
	struct syscall_handlers handlers;
	void *user;
	struct kernel_sigaction previous;   /* SIGSYS's action before start */
	struct kernel_sigaction chained;    /* the target's own, virtualised */
	_Atomic int request_on;             /* what a queued request asks */
	_Atomic int acks;
	/* A round's answers from threads interrupted inside the stub pools:
	 * where (a forgotten stub's grace waits for a round none is in) */
	_Atomic int acks_in_stub;
	uintptr_t rips_in_stub[64];
	_Atomic uint64_t sud_calls, rewritten_calls, int3_calls;
	/* Dispatch off (SYSCALL_TRACE_DISPATCH_OFF, once the sweep proved
	 * every site covered): a thread switching itself on stays off. */
	_Atomic bool dispatch_off;
	/* Calls that change code are watched (dispatch off, or, with
	 * SYSCALL_TRACE_SWEEP_NEW_CODE, back on until new code is swept), and
	 * new code waits for its sweep (read on the rewritten path: next to
	 * dispatch_off). */
	_Atomic bool watching, resweep_pending;
	bool sweep_new;                     /* SYSCALL_TRACE_SWEEP_NEW_CODE */
	int changes_in_flight;              /* watched calls made but not yet noted (sud.lock) */
	uintptr_t pending[16][2];           /* new executable ranges waiting for their object's sweep */
	int pending_count;
	struct syscall_trace_mode mode;
} sud = { .lock = PTHREAD_MUTEX_INITIALIZER };

static long raw0(long nr) { unsigned long a[6] = {0}; return sud_raw_syscall(nr, a); }
static void raw0_close(int fd) { unsigned long a[6] = {(unsigned long)fd}; sud_raw_syscall(SYS_close, a); }
static long raw2(long nr, unsigned long a0, unsigned long a1)
{
	unsigned long a[6] = {a0, a1};
	return sud_raw_syscall(nr, a);
}
static long raw4(long nr, unsigned long a0, unsigned long a1, unsigned long a2, unsigned long a3)
{
	unsigned long a[6] = {a0, a1, a2, a3};
	return sud_raw_syscall(nr, a);
}

/* ---- the per-thread switch ---- */

static long thread_switch(struct sud_thread *self, bool on)
{
	unsigned long a[6] = {PR_SET_SYSCALL_USER_DISPATCH, on ? PR_SYS_DISPATCH_ON : PR_SYS_DISPATCH_OFF};
	if (!self)
		return on ? -ENOMEM : 0;   /* every slot taken: the thread is not switched on */
	if (on && atomic_load_explicit(&sud.dispatch_off, memory_order_acquire))
		on = false, a[1] = PR_SYS_DISPATCH_OFF;   /* every site is covered: the thread needs no dispatch */
	if (on) {
		a[2] = (unsigned long)sud_code_start;
		a[3] = (unsigned long)(sud_code_end - sud_code_start);
		a[4] = (unsigned long)&self->selector;
	}
	self->selector = SUD_SELECTOR_ALLOW;
	long rc = sud_raw_syscall(SYS_prctl, a);
	self->on = on && rc == 0;
	return rc;
}

/* A thread leaving by SYS_exit gives its slot back first: signals
 * blocked (it runs nothing more of its own) and dispatch off, so that the
 * kernel reads its selector no more, then the exit itself.  Not a slot
 * it only shares: a CLONE_VM child made without CLONE_SETTLS (posix_spawn's)
 * has its parent's thread pointer, so its parent's slot. */
static void exit_thread(struct sud_thread *self, const unsigned long a[6])
{
	static const uint64_t all = ~0ull;
#if defined(__SANITIZE_ADDRESS__)
	/* glibc gives a dead thread's stack to the next thread, whose first
	 * syscalls, before the sanitizer knows it, would meet the marks of
	 * the frames this one leaves: cleared first, while the slot is still
	 * the thread's (the sanitizer's own syscalls, through rewritten sites,
	 * would take another), unreported */
	self->depth++;
	__asan_handle_no_return();
	self->depth--;
#endif
	raw4(SYS_rt_sigprocmask, SIG_BLOCK, (unsigned long)&all, 0, sizeof all);
	if (self->tid == (pid_t)raw0(SYS_gettid)) {
		thread_switch(self, false);
		atomic_store_explicit(&self->owner, SLOT_FREED, memory_order_release);
	}
	sud_raw_syscall(SYS_exit, a);
}

/* ---- reporting ---- */

static void regs_from_ucontext(struct pt_regs *r, const ucontext_t *uc, long nr)
{
	const greg_t *g = uc->uc_mcontext.gregs;
	*r = (struct pt_regs){
		.r15 = g[REG_R15], .r14 = g[REG_R14], .r13 = g[REG_R13], .r12 = g[REG_R12],
		.rbp = g[REG_RBP], .rbx = g[REG_RBX], .r11 = g[REG_R11], .r10 = g[REG_R10],
		.r9 = g[REG_R9], .r8 = g[REG_R8], .rax = (unsigned long)-ENOSYS, .rcx = g[REG_RCX],
		.rdx = g[REG_RDX], .rsi = g[REG_RSI], .rdi = g[REG_RDI], .orig_rax = nr,
		.rip = g[REG_RIP], .cs = 0x33, .eflags = g[REG_EFL], .rsp = g[REG_RSP], .ss = 0x2b,
	};
}

/* The handlers' user argument for the thread of slot self. */
static inline void *handler_user(struct sud_thread *self)
{
	return sud.user_is_word ? (void *)&self->user_word : sud.user;
}

/* The handlers run with the thread's depth raised: what they do is not
 * reported.  self is the thread's slot, which each path finds once. */
static void report_enter_of(struct sud_thread *self, long nr, const unsigned long args[6], const struct pt_regs *regs)
{
	if (!sud.handlers.enter)
		return;
	self->depth++;
	sud.handlers.enter(handler_user(self), nr, args, regs);
	self->depth--;
}

static void report_exit_of(struct sud_thread *self, long nr, const unsigned long args[6], const struct pt_regs *regs,
                           long ret)
{
	if (!sud.handlers.exit)
		return;
	self->depth++;
	sud.handlers.exit(handler_user(self), nr, args, regs, ret);
	self->depth--;
}

static bool reporting(const struct sud_thread *self)
{
	return atomic_load_explicit(&sud.active, memory_order_acquire) && self->depth == 0;
}

/* ---- the syscalls that need more than performing ---- */

/* SUD_REQUEST_SIGNAL's action before the first start, or as the target
 * set it since (virtualised as SIGSYS's is). */
static struct kernel_sigaction request_previous;

/* rt_sigaction(sig, act, oldact, sigsetsize) of SIGSYS or of the request
 * signal: the target's own handler becomes the kept one, which other
 * origins' signals are passed on to; the interceptor's stays installed. */
static long virtual_sigsys_action(const unsigned long a[6], struct kernel_sigaction *kept)
{
	if (a[3] != sizeof(uint64_t))
		return -EINVAL;
	struct kernel_sigaction old = *kept;
	if (a[1])
		memcpy(kept, (const void *)a[1], sizeof *kept);
	if (a[2])
		memcpy((void *)a[2], &old, sizeof old);
	return 0;
}

/* Passes a signal the interceptor took but was not meant for on to the
 * action kept for it (the target's own), as the kernel would have run it. */
static void chain_to(struct kernel_sigaction *kept, int sig, siginfo_t *info, void *uc)
{
	struct kernel_sigaction a = *kept;
	if (a.handler == SIG_IGN)
		return;
	if (a.handler == SIG_DFL) {
		/* the default (a core dump for SIGSYS, the end of the process
		 * for a real-time signal): let it happen once this handler
		 * returns and the signal is unblocked. */
		struct kernel_sigaction dfl = {.handler = SIG_DFL};
		raw4(SYS_rt_sigaction, sig, (unsigned long)&dfl, 0, sizeof dfl.mask);
		raw2(SYS_tgkill, raw0(SYS_getpid), raw0(SYS_gettid));
		return;
	}
	if (a.flags & SA_RESETHAND)
		kept->handler = SIG_DFL;
	if (a.flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))a.handler)(sig, info, uc);
	else
		((void (*)(int))a.handler)(sig);
}

#define SIGSYS_BIT (1ull << (SIGSYS - 1))
#define SIGTRAP_BIT (1ull << (SIGTRAP - 1))
/* SIGTRAP_BIT while an int3 of the interceptor's may be met (SIGTRAP is
 * then kept unblocked as SIGSYS is), else 0: the sweep's int3s while
 * dispatch is off, and with rewriting on, in both modes, the int3 a
 * breakpoint-first patch leaves for a moment at a site (a thread that
 * blocked everything -- pthread_create's new thread before start_thread
 * restores its mask -- meeting one was killed).  A word of its own: read as an atomic
 * field of sud, the ASan build reported a bad stack access in the SIGSYS
 * handler of a new thread (test_syscall_trace's threads; not understood). */
static volatile uint64_t kept_trap_bit;
/* Signals a traced thread never really blocks: SIGSYS (a dispatch trap
 * while blocked kills), the request (so that stop reaches it), and while
 * the sweep's int3s may be met, SIGTRAP (an int3's, blocked, kills). */
#define KEPT_UNBLOCKED \
	(SIGSYS_BIT | 1ull << (SUD_REQUEST_SIGNAL - 1) | kept_trap_bit)

/* rt_sigprocmask(how, set, oldset, sigsetsize), KEPT_UNBLOCKED kept unblocked. */
static long sigprocmask_keeping_sigsys(struct sud_thread *self, const unsigned long a[6])
{
	uint64_t set, old;
	unsigned long b[6] = {a[0], 0, a[2] ? (unsigned long)&old : 0, a[3]};
	uint64_t was_blocked = self->kept_blocked;
	if (a[3] != sizeof set)
		return sud_raw_syscall(SYS_rt_sigprocmask, a);
	if (a[1]) {
		memcpy(&set, (const void *)a[1], sizeof set);
		if (a[0] == SIG_BLOCK)
			self->kept_blocked |= set & KEPT_UNBLOCKED;
		else if (a[0] == SIG_UNBLOCK)
			self->kept_blocked &= ~(set & KEPT_UNBLOCKED);
		else if (a[0] == SIG_SETMASK)
			self->kept_blocked = set & KEPT_UNBLOCKED;
		set &= ~KEPT_UNBLOCKED;
		b[1] = (unsigned long)&set;
	}
	long ret = sud_raw_syscall(SYS_rt_sigprocmask, b);
	if (ret < 0)
		self->kept_blocked = was_blocked;
	else if (a[2])
		old |= was_blocked, memcpy((void *)a[2], &old, sizeof old);
	return ret;
}

/* rt_sigprocmask trapped into the SIGSYS handler: the mask to change is
 * the one the handler's return restores (changing the current one would
 * last only until then, and deliver signals inside the handler). */
static long sigprocmask_in_frame(struct sud_thread *self, const unsigned long a[6], ucontext_t *uc)
{
	uint64_t mask, set;
	if (a[3] != sizeof mask || (a[0] > SIG_SETMASK && a[1]))
		return -EINVAL;
	memcpy(&mask, &uc->uc_sigmask, sizeof mask);
	uint64_t old = mask | self->kept_blocked;
	if (a[1]) {
		memcpy(&set, (const void *)a[1], sizeof set);
		uint64_t want = a[0] == SIG_BLOCK ? old | set : a[0] == SIG_UNBLOCK ? old & ~set : set;
		want &= ~(1ull << (SIGKILL - 1) | 1ull << (SIGSTOP - 1));
		self->kept_blocked = want & KEPT_UNBLOCKED;
		mask = want & ~KEPT_UNBLOCKED;
		memcpy(&uc->uc_sigmask, &mask, sizeof mask);
	}
	if (a[2])
		memcpy((void *)a[2], &old, sizeof old);
	return 0;
}

/* rt_sigaction(sig, act, oldact, sigsetsize) of another signal than
 * SIGSYS: its handler will not block KEPT_UNBLOCKED. */
static long sigaction_keeping_sigsys(const unsigned long a[6])
{
	struct kernel_sigaction act;
	unsigned long b[6] = {a[0], a[1], a[2], a[3]};
	if (a[1] && a[3] == sizeof act.mask) {
		memcpy(&act, (const void *)a[1], sizeof act);
		act.mask &= ~KEPT_UNBLOCKED;
		b[1] = (unsigned long)&act;
	}
	return sud_raw_syscall(SYS_rt_sigaction, b);
}

static void dispatch_back_on(struct sud_thread *self, long nr, const unsigned long a[6]);
static long perform_call(struct sud_thread *self, long nr, const unsigned long a[6]);
static void code_changed(struct sud_thread *self, long nr, const unsigned long a[6], long ret);
static void try_resweep(struct sud_thread *self);

/* Whether [lo, hi) overlaps a range waiting for its sweep (read without
 * the lock: a stale answer leaves a range waiting for an object that
 * never comes, dispatch on). */
static bool pending_overlaps(uintptr_t lo, uintptr_t hi)
{
	for (int i = 0; i < sud.pending_count && i < 16; i++)
		if (lo < sud.pending[i][1] && hi > sud.pending[i][0])
			return true;
	return false;
}

/* Whether the call unmaps or maps over code swept or waiting for its
 * sweep: its int3s must leave the list before the memory goes, whether
 * new code is swept or not (without SYSCALL_TRACE_SWEEP_NEW_CODE,
 * dispatch goes back on for good first: a later switch would otherwise
 * write the int3s' bytes back into memory unmapped, or into another
 * object mapped there since). */
static bool code_goes(long nr, const unsigned long a[6])
{
	if (nr != SYS_munmap && !(nr == SYS_mmap && (a[3] & MAP_FIXED)))
		return false;
	uintptr_t lo = a[0], hi = a[0] + a[1];
	return sud_sweep_is_code(lo, hi) || pending_overlaps(lo, hi);
}

/* With dispatch off (or back on, new code waiting for its sweep): whether
 * the call may make code the sweep never saw run (a mapping made or made
 * executable, code moved or unmapped), or take SIGTRAP from the int3s'
 * handler. */
static bool unswept_code(long nr, const unsigned long a[6])
{
	if (!atomic_load_explicit(&sud.watching, memory_order_relaxed))
		return false;
	switch (nr) {
	case SYS_mmap:
		return (a[2] & PROT_EXEC) || code_goes(nr, a);
	case SYS_munmap:
		return code_goes(nr, a);
	case SYS_mprotect: case SYS_pkey_mprotect:
		return a[2] & PROT_EXEC;
	case SYS_mremap:
		return sud_sweep_is_code(a[0], a[0] + a[1]);
	case SYS_rt_sigaction:
		return a[0] == SIGTRAP && a[1];
	case SYS_shmat:
		return a[2] & SHM_EXEC;
	default:
		return false;
	}
}

/* rt_sigaction on either path: SIGSYS's and the request's virtualised.
 * A child sharing its parent's memory and slot (posix_spawn's, which sets
 * every handled signal to SIG_DFL before its exec) has actions of its
 * own: what it sets is not the parent's kept action. */
static long perform_sigaction(struct sud_thread *self, const unsigned long a[6])
{
	struct kernel_sigaction *kept = a[0] == SIGSYS ? &sud.chained
				      : a[0] == SUD_REQUEST_SIGNAL ? &request_previous : NULL, own;
	if (!kept)
		return sigaction_keeping_sigsys(a);
	if (self && self->tid != (pid_t)raw0(SYS_gettid)) {
		own = *kept;
		kept = &own;
	}
	return virtual_sigsys_action(a, kept);
}

/* The syscalls that wait with a signal mask of their own (rt_sigsuspend,
 * ppoll, pselect6, epoll_pwait(2)): it does not block KEPT_UNBLOCKED
 * either, or a dispatch trap in a signal handler run meanwhile would kill
 * and a stop's request would wait for the end of the wait. */
static long perform_waiting(long nr, const unsigned long a[6])
{
	unsigned long b[6], pselect_data[2], *set_arg;
	uint64_t mask;
	memcpy(b, a, sizeof b);
	if (nr == SYS_pselect6) {
		if (!a[5])
			return sud_raw_syscall(nr, a);
		memcpy(pselect_data, (const void *)a[5], sizeof pselect_data);   /* {sigset pointer, size} */
		b[5] = (unsigned long)pselect_data;
		set_arg = pselect_data;
	} else {
		set_arg = &b[nr == SYS_rt_sigsuspend ? 0 : nr == SYS_ppoll ? 3 : 4];
	}
	if (*set_arg && set_arg[1] == sizeof mask) {
		memcpy(&mask, (const void *)*set_arg, sizeof mask);
		mask &= ~KEPT_UNBLOCKED;
		*set_arg = (unsigned long)&mask;
	}
	return sud_raw_syscall(nr, b);
}

/* Performs a syscall that needs no signal frame, on either path: one
 * that may change code with dispatch back on first (another thread may
 * run the code at once) and, sweeping new code, noted after; new code
 * waiting for its sweep is tried after any call of the target's. */
static long perform(struct sud_thread *self, long nr, const unsigned long a[6])
{
	bool watched = self->depth == 0 && unswept_code(nr, a);
	if (watched)
		dispatch_back_on(self, nr, a);
	long ret = perform_call(self, nr, a);
	if (watched && sud.sweep_new)
		code_changed(self, nr, a, ret);
	if (atomic_load_explicit(&sud.resweep_pending, memory_order_relaxed) && self->depth == 0)
		try_resweep(self);
	return ret;
}

static long perform_call(struct sud_thread *self, long nr, const unsigned long a[6])
{
	switch (nr) {
	case SYS_rt_sigprocmask:
		return sigprocmask_keeping_sigsys(self, a);
	case SYS_exit:
		exit_thread(self, a);
		break;
	case SYS_rt_sigaction:
		return perform_sigaction(self, a);
	case SYS_rt_sigsuspend: case SYS_ppoll: case SYS_pselect6: case SYS_epoll_pwait: case SYS_epoll_pwait2:
		return perform_waiting(nr, a);
	}
	return sud_raw_syscall(nr, a);
}

/* Where a new thread's block goes: the top of its stack, 64-aligned. */
static struct sud_child_block *child_block_at(unsigned long stack_top)
{
	return (struct sud_child_block *)((stack_top - sizeof(struct sud_child_block)) & ~63ul);
}

/* Where a clone was made: its registers and arguments, and the SIGSYS
 * frame (uc) or the rewritten path's (fast), for the FPU state and mask. */
struct clone_origin {
	const struct pt_regs *regs;
	const unsigned long *args;   /* as the caller passed them */
	const ucontext_t *uc;
	const struct sud_fast_frame *fast;
};

static void child_state_from(struct sud_child_block *b, const struct clone_origin *o)
{
	if (o->uc) {
		memcpy(b->fxsave, o->uc->uc_mcontext.fpregs, sizeof b->fxsave);
		memcpy(&b->sigmask, &o->uc->uc_sigmask, sizeof b->sigmask);
	} else {
		/* the x87 and SSE control words as the caller left them (C
		 * changes neither); xmm0-15 as the full entry saved them (a
		 * lean site's function uses none, and they are the caller's
		 * to save across a call) */
		__asm__ volatile("fxsave64 %0" : "=m"(*(unsigned char(*)[sizeof b->fxsave])b->fxsave));
		if (o->fast->xmm)
			memcpy(b->fxsave + 160, o->fast->xmm, 256);
		raw4(SYS_rt_sigprocmask, SIG_BLOCK, 0, (unsigned long)&b->sigmask, sizeof b->sigmask);
	}
	b->regs = *o->regs;
}

/* Any clone with a new stack (a thread, posix_spawn's child, even one
 * without CLONE_VM): the child must not return through the parent's
 * frames, so it starts in sud_raw_clone's child path. */
static long clone_with_stack(long nr, const unsigned long a[6], unsigned long flags, unsigned long stack_top,
			     const struct clone_origin *o)
{
	struct sud_child_block *b = child_block_at(stack_top);
	child_state_from(b, o);
	b->regs.rsp = stack_top;
	b->nr = nr;
	memcpy(b->args, o->args, sizeof b->args);
	b->flags = flags;
	b->parent_tp = thread_pointer();
	/* The child starts on its new stack right under the block, until it
	 * moves below it: a signal (a request round's, which finds a new
	 * thread at once) delivered there would write its frame over the
	 * block.  So it starts with every signal but SIGTRAP blocked (as in
	 * the SIGSYS handler), and sud_child_entry gives it its mask once it
	 * runs below the block. */
	uint64_t quiet = ~SIGTRAP_BIT, was;
	raw4(SYS_rt_sigprocmask, SIG_SETMASK, (unsigned long)&quiet, (unsigned long)&was, sizeof quiet);
	long ret = sud_raw_clone(nr, a, b);
	raw4(SYS_rt_sigprocmask, SIG_SETMASK, (unsigned long)&was, 0, sizeof was);
	return ret;
}

/* The child of a fork, its one thread, keeps the parent thread's slot
 * (under its own thread id) and switches dispatch on for itself (the
 * kernel does not carry it over fork). */
static void fork_child_switch_on(struct sud_thread *self)
{
	if (self)
		self->tid = (pid_t)raw0(SYS_gettid);
	thread_switch(self, true);
	sud_rewrite_after_fork();
}

/* fork, vfork, clone, clone3, on either path. */
static long perform_clone(struct sud_thread *self, long nr, const struct clone_origin *o)
{
	unsigned long a[6], flags = 0, stack_top = 0;
	struct clone_args ca = {0};
	memcpy(a, o->args, sizeof a);
	if (nr == SYS_vfork) {
		nr = SYS_fork;
	} else if (nr == SYS_clone) {
		flags = a[0], stack_top = a[1];
	} else if (nr == SYS_clone3) {
		if (a[1] < CLONE_ARGS_SIZE_VER0 || a[1] > sizeof ca)
			return sud_raw_syscall(nr, a);  /* the kernel's own answer */
		memcpy(&ca, (const void *)a[0], a[1]);
		flags = ca.flags, stack_top = ca.stack ? ca.stack + ca.stack_size : 0;
		a[0] = (unsigned long)&ca;
	}
	if ((flags & CLONE_VM) && !stack_top) {
		flags &= ~(unsigned long)(CLONE_VM | CLONE_VFORK);
		if (nr == SYS_clone)
			a[0] = flags;
		else
			ca.flags = flags;
	}
	if (stack_top)
		return clone_with_stack(nr, a, flags, stack_top, o);
	long ret = sud_raw_syscall(nr, a);
	if (ret == 0)
		fork_child_switch_on(self);
	return ret;
}

/* A slot found by the new thread's pointer is reset: one left by a
 * thread of a fork()ed parent may carry it.  Not its parent's, which a
 * CLONE_VM child without CLONE_SETTLS shares (posix_spawn's, while the
 * parent waits for its exec). */
void sud_child_entry(struct sud_child_block *b)
{
	struct sud_thread *self = thread_slot();
	bool shares_parent_slot = (b->flags & CLONE_VM) && thread_pointer() == b->parent_tp;
	if (self && !shares_parent_slot)
		slot_reset(self);
	if (!(b->flags & CLONE_VM))
		sud_rewrite_after_fork();
	thread_switch(self, true);
	if (self && reporting(self)) {
		self->depth++;
		if (sud.handlers.thread_start)   /* no lock is held by a thread that has run nothing */
			sud.handlers.thread_start(handler_user(self));
		self->depth--;
		b->regs.rax = 0;   /* the child's result */
		report_exit_of(self, b->nr, b->args, &b->regs, 0);
	}
	raw4(SYS_rt_sigprocmask, SIG_SETMASK, (unsigned long)&b->sigmask, 0, sizeof b->sigmask);
	if (self && self->on)
		self->selector = SUD_SELECTOR_BLOCK;
}

static bool is_clone(long nr)
{
	return nr == SYS_clone || nr == SYS_clone3 || nr == SYS_fork || nr == SYS_vfork;
}

/* Syscalls the SIGSYS path performs from its signal frame; the
 * rewritten path's fallback (sud_fast_set_fallback) sends them there. */
static bool needs_signal_frame(long nr)
{
	return is_clone(nr) || nr == SYS_rt_sigreturn || nr == SYS_rt_sigaction;
}

static _Atomic bool fast_fallback;

bool sud_fast_fallback_free(void)
{
	return !atomic_load(&fast_fallback);
}

void sud_fast_set_fallback(bool on)
{
	atomic_store(&fast_fallback, on);
}

/* ---- the SIGSYS handler ---- */

/* A syscall performed in the handler may block (a read of an idle
 * pipe): with the handler's mask (every signal) nothing could interrupt
 * it, not even the request that switches the thread off at stop.  So it
 * runs with the thread's own mask and the selector at BLOCK: a signal
 * meanwhile is handled as anywhere in the thread's code (its handler's
 * syscalls trap into a nested SIGSYS and are reported). */
static long perform_interruptible(struct sud_thread *self, long nr, const unsigned long a[6], const ucontext_t *uc)
{
	uint64_t user_mask, handler_mask;
	memcpy(&user_mask, &uc->uc_sigmask, sizeof user_mask);
	user_mask &= ~KEPT_UNBLOCKED;
	raw4(SYS_rt_sigprocmask, SIG_SETMASK, (unsigned long)&user_mask, (unsigned long)&handler_mask, sizeof user_mask);
	bool was_in_handler = self->in_handler;
	self->in_handler = false;
	if (self->on)
		self->selector = SUD_SELECTOR_BLOCK;
	long ret = perform(self, nr, a);
	self->selector = SUD_SELECTOR_ALLOW;
	self->in_handler = was_in_handler;
	raw4(SYS_rt_sigprocmask, SIG_SETMASK, (unsigned long)&handler_mask, 0, sizeof handler_mask);
	return ret;
}

static long perform_trapped(struct sud_thread *self, long nr, const unsigned long a[6], ucontext_t *uc,
			    const struct pt_regs *regs)
{
	if (nr == SYS_rt_sigaction)
		return perform_sigaction(self, a);
	if (is_clone(nr)) {
		struct clone_origin o = {.regs = regs, .args = a, .uc = uc};
		long ret = perform_clone(self, nr, &o);
		self->selector = SUD_SELECTOR_ALLOW;   /* the handler's; a child sharing the slot left it BLOCK */
		return ret;
	}
	if (nr == SYS_rt_sigprocmask)
		return sigprocmask_in_frame(self, a, uc);
	return perform_interruptible(self, nr, a, uc);
}

static void dispatch_trap(struct sud_thread *self, long nr, ucontext_t *uc, bool may_rewrite, _Atomic uint64_t *counter)
{
	greg_t *g = uc->uc_mcontext.gregs;
	unsigned long a[6] = {g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10], g[REG_R8], g[REG_R9]};
	bool report = reporting(self);
	struct pt_regs regs;
	regs_from_ucontext(&regs, uc, nr);
	if (report) {
		atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
		report_enter_of(self, nr, a, &regs);
	}
	/* The site is rewritten before the call is made: exit and a
	 * successful execve do not come back, and a fork's child inherits it.
	 * Not one whose calls the rewritten path's fallback would send back
	 * here.  The rewriter's own syscalls (mprotect, membarrier, through
	 * sites rewritten already) are not the target's: not reported. */
	if (report && may_rewrite && !(needs_signal_frame(nr) && atomic_load(&fast_fallback))) {
		self->depth++;
		sud_rewrite_site((uintptr_t)g[REG_RIP]);
		self->depth--;
	}
	if (nr == SYS_rt_sigreturn) {
		g[REG_RIP] = (greg_t)sud_restore_rt;
		return;
	}
	long ret = perform_trapped(self, nr, a, uc, &regs);
	g[REG_RAX] = ret;
	if (report) {
		regs.rax = (unsigned long)ret;
		report_exit_of(self, nr, a, &regs, ret);
	}
}

/* While the int3s may be met, SIGTRAP unblocked in the mask the thread
 * returns to (the thread believes it as it set it: kept_blocked); after,
 * blocked again if the thread had blocked it. */
static void keep_trap_unblocked(struct sud_thread *self, void *ucontext)
{
	ucontext_t *uc = ucontext;
	uint64_t mask;
	memcpy(&mask, &uc->uc_sigmask, sizeof mask);
	if (kept_trap_bit && (mask & SIGTRAP_BIT)) {
		self->kept_blocked |= SIGTRAP_BIT;
		mask &= ~SIGTRAP_BIT;
	} else if (!kept_trap_bit && (self->kept_blocked & SIGTRAP_BIT)) {
		self->kept_blocked &= ~SIGTRAP_BIT;
		mask |= SIGTRAP_BIT;
	}
	memcpy(&uc->uc_sigmask, &mask, sizeof mask);
}

/* Its syscalls are all made from inside the range (thread_switch, the
 * slot's making): the thread's selector may be BLOCK throughout. */
static void on_request(int sig, siginfo_t *info, void *uc)
{
	if (info->si_code != SI_QUEUE || info->si_value.sival_int != SUD_THREAD_REQUEST ||
	    info->si_pid != raw0(SYS_getpid)) {
		chain_to(&request_previous, sig, info, uc);  /* not a request */
		return;
	}
	struct sud_thread *self = thread_slot();
	thread_switch(self, atomic_load(&sud.request_on));
	uintptr_t rip = (uintptr_t)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
	if (sud_rewrite_owns(rip, rip + 1)) {
		int k = atomic_fetch_add(&sud.acks_in_stub, 1);
		if (k < (int)(sizeof sud.rips_in_stub / sizeof sud.rips_in_stub[0]))
			sud.rips_in_stub[k] = rip;   /* read once acks (below) counts this answer */
	}
	if (self)
		keep_trap_unblocked(self, uc);
	if (self && self->on)
		self->selector = SUD_SELECTOR_BLOCK;
	atomic_fetch_add(&sud.acks, 1);
}

/* self is NULL only for a thread that could not take a slot (all taken):
 * it has dispatch off, so only another origin's SIGSYS reaches it. */
static void on_sigsys(int sig, siginfo_t *info, void *uc)
{
	struct sud_thread *self = thread_slot();
	if (self) {
		self->selector = SUD_SELECTOR_ALLOW;
		self->in_handler = true;
	}
	if (self && info->si_code == SYS_USER_DISPATCH)
		dispatch_trap(self, info->si_syscall, uc, sud.rewrite, &sud.sud_calls);
	else
		chain_to(&sud.chained, sig, info, uc);
	if (self) {
		self->in_handler = false;
		if (self->on)
			self->selector = SUD_SELECTOR_BLOCK;
	}
}

/* A syscall whose first byte the sweep covered with an int3, met (the
 * site had no jump, the thread was between its jump and the syscall, or
 * the stub sent a call needing the signal frame back to it): served as
 * the SIGSYS path serves a trap, with every signal but SIGTRAP blocked
 * meanwhile (SIGTRAP's handler runs with none blocked), rip past the
 * syscall. */
bool sud_serve_int3(void *ucontext)
{
	ucontext_t *uc = ucontext;
	greg_t *g = uc->uc_mcontext.gregs;
	uintptr_t at = (uintptr_t)g[REG_RIP] - 1;
	int state = sud_rewrite_int3_at(at);
	if (state < 0)
		return false;
	if (state == 0) {
		g[REG_RIP] = (greg_t)at;   /* taken out meanwhile: the syscall runs as it is, dispatch on */
		return true;
	}
	uint64_t all = ~SIGTRAP_BIT, was;   /* a handler meeting another int3 is served, unreported */
	raw4(SYS_rt_sigprocmask, SIG_SETMASK, (unsigned long)&all, (unsigned long)&was, sizeof all);
	g[REG_RIP] = (greg_t)(at + 2);
	struct sud_thread *self = thread_slot();
	if (self) {
		/* met inside a handler of the interceptor's (selector ALLOW with
		 * dispatch on): back to it with ALLOW; else BLOCK if dispatch is
		 * on now (it may have come back on during the call) */
		bool was_in_handler = self->in_handler, nested = self->on && self->selector == SUD_SELECTOR_ALLOW;
		self->selector = SUD_SELECTOR_ALLOW;
		self->in_handler = true;
		dispatch_trap(self, (long)g[REG_RAX], uc, false, &sud.int3_calls);
		self->in_handler = was_in_handler;
		if (self->on && !nested)
			self->selector = SUD_SELECTOR_BLOCK;
	} else if (g[REG_RAX] == SYS_rt_sigreturn) {
		g[REG_RIP] = (greg_t)sud_restore_rt;   /* every slot taken: performed unreported */
	} else {
		unsigned long a[6] = {g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10], g[REG_R8], g[REG_R9]};
		g[REG_RAX] = sud_raw_syscall((long)g[REG_RAX], a);
	}
	raw4(SYS_rt_sigprocmask, SIG_SETMASK, (unsigned long)&was, 0, sizeof was);
	return true;
}

void **syscall_trace_thread_word(void)
{
	struct sud_thread *self = thread_slot();
	return self ? &self->user_word : NULL;
}

bool syscall_trace_in_signal_handler(void)
{
	struct sud_thread *self = thread_slot();
	return self && self->in_handler;
}

/* ---- the rewritten path ---- */

/* syscall_entry.S builds the frame with these offsets (FAST_FRAME). */
_Static_assert(offsetof(struct sud_fast_frame, args) == SUD_FRAME_ARGS, "sud_fast_frame: args");
_Static_assert(sizeof(struct sud_fast_frame) == SUD_FRAME_SIZE, "sud_fast_frame: size");
_Static_assert(offsetof(struct sud_fast_frame, xmm) == SUD_FRAME_XMM, "sud_fast_frame: xmm");

/* The syscalls the rewritten path performs in C (or, rt_sigreturn, in
 * the assembly), not as a plain syscall: the SIGSYS path's special ones. */
static bool fast_special(long nr)
{
	switch (nr) {
	case SYS_rt_sigaction: case SYS_rt_sigprocmask: case SYS_rt_sigreturn: case SYS_exit:
	case SYS_clone: case SYS_clone3: case SYS_fork: case SYS_vfork:
	case SYS_rt_sigsuspend: case SYS_ppoll: case SYS_pselect6: case SYS_epoll_pwait: case SYS_epoll_pwait2:
		return true;
	}
	return false;
}

/* A special syscall on the rewritten path, reported or not (self NULL:
 * every slot taken): performed here, its result in regs.rax, as the
 * SIGSYS path would (a new thread starts in sud_raw_clone's child path
 * with the registers of the frame; a fork's child returns through here). */
static unsigned fast_perform(struct sud_thread *self, long nr, struct sud_fast_frame *f)
{
	long ret;
	if (nr == SYS_rt_sigreturn)
		return SUD_FAST_SIGRETURN;
	if (is_clone(nr)) {
		struct clone_origin o = {.regs = &f->regs, .args = f->args, .fast = f};
		ret = perform_clone(self, nr, &o);
		if (ret == 0 && self && self->on)
			self->selector = SUD_SELECTOR_BLOCK;   /* a fork's child, switched on */
	} else if (self) {
		ret = perform(self, nr, f->args);
	} else {
		ret = nr == SYS_rt_sigaction ? perform_sigaction(NULL, f->args) : sud_raw_syscall(nr, f->args);
	}
	f->regs.rax = (unsigned long)ret;
	return SUD_FAST_DONE;
}

/* The thread's slot is found once, here, and kept in the frame for
 * sud_fast_exit. */
unsigned sud_fast_enter(struct sud_fast_frame *f)
{
	struct sud_thread *self = thread_slot();
	long nr = (long)f->regs.orig_rax;
	unsigned how = 0;
	bool special = fast_special(nr);
	f->self = self;
	if (__builtin_expect(special, 0) && atomic_load_explicit(&fast_fallback, memory_order_relaxed) &&
	    needs_signal_frame(nr)) {
		/* back to the site's own syscall instruction, with the number in
		 * rax: it traps, and the SIGSYS path performs it */
		f->regs.rax = (unsigned long)nr;
		f->regs.rip -= 2;
		return SUD_FAST_DONE;
	}
	if (__builtin_expect(self != NULL, 1) && atomic_load_explicit(&sud.active, memory_order_acquire) &&
	    self->depth == 0) {
		/* A plain increment, not a locked one (a locked add costs more
		 * than the rest of this path): calls of several threads at once
		 * may be counted as one. */
		atomic_store_explicit(&sud.rewritten_calls,
				      atomic_load_explicit(&sud.rewritten_calls, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		report_enter_of(self, nr, f->args, &f->regs);
		how |= SUD_FAST_REPORTED;
	}
	if (__builtin_expect(special, 0) || unswept_code(nr, f->args) ||
	    atomic_load_explicit(&sud.resweep_pending, memory_order_relaxed))
		how |= fast_perform(self, nr, f);   /* new code waiting: perform() tries its sweep after the call */
	return how;
}

void sud_fast_exit(struct sud_fast_frame *f)
{
	report_exit_of(f->self, (long)f->regs.orig_rax, f->args, &f->regs, (long)f->regs.rax);
}

/* ---- switching every thread ---- */

#define SUD_ANSWER_WAIT_MS 2000

static bool wait_for_answers(int expected)
{
	struct timespec ms = {0, 1000000};
	for (int waited = 0; atomic_load(&sud.acks) < expected; waited++) {
		if (waited >= SUD_ANSWER_WAIT_MS)
			return false;
		nanosleep(&ms, NULL);
	}
	return true;
}

static bool ask_thread(pid_t pid, pid_t tid)
{
	siginfo_t si = {0};
	si.si_signo = SUD_REQUEST_SIGNAL;
	si.si_code = SI_QUEUE;
	si.si_pid = pid;
	si.si_uid = getuid();
	si.si_value.sival_int = SUD_THREAD_REQUEST;
	return syscall(SYS_rt_tgsigqueueinfo, pid, tid, SUD_REQUEST_SIGNAL, &si) == 0;
}

/* The threads asked in this switch (the caller holds sud.lock): a table
 * of its own, not the heap, for the switch back on may be asked from
 * inside malloc (an mmap of code). */
static pid_t asked_tids[SUD_THREAD_SLOTS];
static int asked_count;

static bool already_asked(pid_t tid)
{
	for (int i = 0; i < asked_count; i++)
		if (asked_tids[i] == tid)
			return true;
	return false;
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* One pass over /proc/self/task (read with raw system calls): asks every
 * thread not asked yet, waits for their answers.  Returns the number
 * asked, or -1 on a timeout or when the list cannot be read. */
static int ask_new_threads(void)
{
	unsigned long open_args[6] = {(unsigned long)AT_FDCWD, (unsigned long)"/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC};
	long fd = sud_raw_syscall(SYS_openat, open_args);
	if (fd < 0)
		return -1;
	pid_t pid = (pid_t)raw0(SYS_getpid), me = (pid_t)raw0(SYS_gettid);
	int sent = 0;
	bool full = false;
	atomic_store(&sud.acks, 0);
	_Alignas(8) char buf[4096];
	for (;;) {
		unsigned long a[6] = {(unsigned long)fd, (unsigned long)buf, sizeof buf};
		long n = sud_raw_syscall(SYS_getdents64, a);
		if (n <= 0)
			break;
		for (long off = 0; off < n;) {
			const struct linux_dirent64 *d = (const void *)(buf + off);
			off += d->d_reclen;
			pid_t tid = (pid_t)atoi(d->d_name);
			if (tid <= 0 || tid == me || already_asked(tid))
				continue;
			if (asked_count == SUD_THREAD_SLOTS) {
				full = true;
				continue;
			}
			asked_tids[asked_count++] = tid;
			sent += ask_thread(pid, tid);
		}
	}
	raw0_close((int)fd);
	return wait_for_answers(sent) && !full ? sent : -1;
}

/* Switches every other thread on or off; new threads found in a pass (made
 * by a thread not yet switched) are asked in the next. */
static int switch_other_threads(bool on, char *errbuf)
{
	int sent;
	asked_count = 0;
	atomic_store(&sud.request_on, on);
	do
		sent = ask_new_threads();
	while (sent > 0);
	if (sent < 0 && errbuf)
		snprintf(errbuf, SYSCALL_TRACE_ERRLEN, "a thread did not switch syscall dispatch %s within %d ms",
			 on ? "on" : "off", SUD_ANSWER_WAIT_MS);
	return sent < 0 ? -ETIMEDOUT : 0;
}

/* ---- start and stop ---- */

static bool sud_started;

static long set_sigsys_action(const struct kernel_sigaction *act, struct kernel_sigaction *old)
{
	return raw4(SYS_rt_sigaction, SIGSYS, (unsigned long)act, (unsigned long)old, sizeof act->mask);
}

/* Once: the request's handler, with every signal but SIGSYS blocked
 * while it runs. */
static int install_request_handler(char *errbuf)
{
	static bool installed;
	if (installed)
		return 0;
	struct kernel_sigaction act = {
		.handler = (void *)on_request,
		.flags = SA_SIGINFO | SA_RESTORER | SA_RESTART,
		.restorer = sud_restore_rt,
		.mask = ~SIGSYS_BIT,
	};
	long rc = raw4(SYS_rt_sigaction, SUD_REQUEST_SIGNAL, (unsigned long)&act, (unsigned long)&request_previous,
		       sizeof act.mask);
	if (rc < 0) {
		snprintf(errbuf, SYSCALL_TRACE_ERRLEN, "rt_sigaction(SIGRTMAX-3): %s", strerror((int)-rc));
		return (int)rc;
	}
	installed = true;
	return 0;
}

static int install_handler(char *errbuf)
{
	/* SA_RESTART: the queued request that switches a running thread on
	 * must not make a read(2) it is blocked in fail with EINTR */
	int request_rc = install_request_handler(errbuf);
	if (request_rc < 0)
		return request_rc;
	struct kernel_sigaction act = {
		.handler = (void *)on_sigsys,
		.flags = SA_SIGINFO | SA_RESTORER | SA_RESTART,
		.restorer = sud_restore_rt,
		.mask = ~SIGTRAP_BIT,   /* an int3 met in the handler (a probe's, the sweep's) must not kill */
	};
	long rc = set_sigsys_action(&act, &sud.previous);
	if (rc < 0) {
		snprintf(errbuf, SYSCALL_TRACE_ERRLEN, "rt_sigaction(SIGSYS): %s", strerror((int)-rc));
		return (int)rc;
	}
	sud.chained = sud.previous;
	return 0;
}

static void stop_locked(void);
static void dispatch_back_on_locked(struct sud_thread *self, const char *why);

/* Every syscall site swept (jumps written now, outside any signal
 * handler) and, if that proves no syscall instruction can run
 * unrewritten, dispatch off in every thread: first every thread keeps
 * SIGTRAP unblocked (a request round), then the int3s go in, then the
 * threads switch off.  Otherwise dispatch stays on, the reason kept. */
static void switch_off_locked(struct sud_thread *self);

static void go_dispatch_off(void)
{
	struct sud_sweep sw;
	struct syscall_trace_mode *m = &sud.mode;
	bool proven = sud_sweep(&sw);
	*m = (struct syscall_trace_mode){.objects = sw.objects, .sites = sw.syscalls, .jumps = sw.jumps,
					 .int3_only = sw.int3_only};
	if (!proven) {
		snprintf(m->why, sizeof m->why, "%s", sw.why);
		return;
	}
	switch_off_locked(thread_slot());
}

/* Every site covered (the sweep's word): each thread keeps SIGTRAP
 * unblocked (a request round), the int3s go in, every thread switches
 * dispatch off; calls changing code are watched from then on. */
static void switch_off_locked(struct sud_thread *self)
{
	struct syscall_trace_mode *m = &sud.mode;
	kept_trap_bit = SIGTRAP_BIT;
	/* the round is also the grace of the stubs forgotten before it */
	uint64_t round = sud_rewrite_grace_begin();
	atomic_store(&sud.acks_in_stub, 0);
	bool answered = switch_other_threads(true, NULL) == 0;
	size_t in_stub = (size_t)atomic_load(&sud.acks_in_stub), listed = sizeof sud.rips_in_stub / sizeof sud.rips_in_stub[0];
	if (answered && in_stub <= listed)   /* more than listed: nothing known, the grace waits */
		sud_rewrite_grace_end(round, sud.rips_in_stub, in_stub);
	if (!answered || !sud_rewrite_int3_write(true)) {
		sud_rewrite_int3_write(false);
		snprintf(m->why, sizeof m->why, "a thread did not answer, or an int3 could not be written");
		atomic_store(&sud.watching, false);
		return;
	}
	atomic_store(&sud.dispatch_off, true);
	atomic_store(&sud.watching, true);
	if (switch_other_threads(false, NULL) < 0) {
		dispatch_back_on_locked(self, "a thread did not switch dispatch off in time");
		atomic_store(&sud.watching, false);
		return;
	}
	thread_switch(self, false);
	m->dispatch_off = true;
	m->why[0] = 0;
}

static int start_locked(const struct syscall_handlers *h, void *user, unsigned flags, char *errbuf)
{
	if (sud_started) {
		snprintf(errbuf, SYSCALL_TRACE_ERRLEN, "syscall tracing is already started");
		return -EBUSY;
	}
	sud.handlers = *h;
	sud.user = user;
	sud.rewrite = !(flags & SYSCALL_TRACE_NO_REWRITE);
	sud.sweep_new = (flags & SYSCALL_TRACE_SWEEP_NEW_CODE) && sud.rewrite;
	sud.pending_count = sud.changes_in_flight = 0;
	atomic_store(&sud.resweep_pending, false);
	sud.user_is_word = flags & SYSCALL_TRACE_USER_IS_THREAD_WORD;
	if (sud.rewrite) {
		sud_rewrite_prepare();
		probe_trap_install(NULL);   /* its SIGTRAP handler sends a thread meeting a patch's int3 on */
	}
	atomic_store(&sud.sud_calls, 0);
	atomic_store(&sud.rewritten_calls, 0);
	atomic_store(&sud.int3_calls, 0);
	sud.mode = (struct syscall_trace_mode){0};
	sweep_dead_threads();
	int rc = install_handler(errbuf);
	if (rc < 0)
		return rc;
	long on = thread_switch(thread_slot(), true);
	if (on < 0) {
		set_sigsys_action(&sud.previous, NULL);
		snprintf(errbuf, SYSCALL_TRACE_ERRLEN, "Syscall User Dispatch unavailable: prctl(PR_SET_SYSCALL_USER_DISPATCH): %s",
			 strerror((int)-on));
		return (int)on;
	}
	sud_started = true;
	atomic_store(&sud.active, true);
	if (sud.rewrite)
		kept_trap_bit = SIGTRAP_BIT;   /* the request round below applies it */
	rc = switch_other_threads(true, errbuf);
	if (rc < 0)
		stop_locked();
	else if (flags & SYSCALL_TRACE_DISPATCH_OFF)
		go_dispatch_off();
	else
		snprintf(sud.mode.why, sizeof sud.mode.why, "kept on as asked: sites rewritten as they trap");
	return rc;
}

int syscall_trace_start(const struct syscall_handlers *h, void *user, unsigned flags, char *errbuf)
{
	pthread_mutex_lock(&sud.lock);
	struct sud_thread *self = thread_slot();
	if (!self) {
		pthread_mutex_unlock(&sud.lock);
		snprintf(errbuf, SYSCALL_TRACE_ERRLEN, "syscall tracing: every one of %d thread slots is taken",
		         SUD_THREAD_SLOTS);
		return -ENOMEM;
	}
	self->depth++;
	int rc = start_locked(h, user, flags, errbuf);
	if (self->on)
		self->selector = SUD_SELECTOR_BLOCK;
	self->depth--;
	pthread_mutex_unlock(&sud.lock);
	return rc;
}

static void stop_locked(void)
{
	if (!sud_started)
		return;
	atomic_store(&sud.active, false);
	atomic_store(&sud.watching, false);
	atomic_store(&sud.resweep_pending, false);
	sud_rewrite_restore_all();
	atomic_store(&sud.dispatch_off, false);
	kept_trap_bit = 0;   /* the off round gives each thread its SIGTRAP block back */
	sud.mode = (struct syscall_trace_mode){0};
	int rc = switch_other_threads(false, NULL);
	thread_switch(thread_slot(), false);
	/* A thread that did not answer still traps: it keeps the (now inert)
	 * handler.  Otherwise SIGSYS gets the action the target last set. */
	if (rc == 0)
		set_sigsys_action(&sud.chained, NULL);
	sud_started = false;
}

void syscall_trace_stop(void)
{
	pthread_mutex_lock(&sud.lock);
	struct sud_thread *self = thread_slot();
	if (self)
		self->depth++;
	stop_locked();
	if (self)
		self->depth--;
	pthread_mutex_unlock(&sud.lock);
}

/* ---- dispatch back on ---- */

/* sud.lock held: the int3s out, then every thread on (a thread sent back
 * to a syscall whose int3 is gone runs it, dispatch then on: trapped). */
static void dispatch_back_on_locked(struct sud_thread *self, const char *why)
{
	snprintf(sud.mode.why, sizeof sud.mode.why, "%s", why);
	sud.mode.dispatch_off = false;
	sud_rewrite_int3_write(false);
	atomic_store(&sud.dispatch_off, false);
	switch_other_threads(true, NULL);
	thread_switch(self, true);
	if (!sud.rewrite)
		kept_trap_bit = 0;
	if (self && self->on)
		self->selector = SUD_SELECTOR_BLOCK;
}

/* Called before a call that may make code the sweep never saw run (or,
 * sweeping new code, unmap code): dispatch back on, and the call counted
 * in flight until code_changed() notes what it did (no sweep of new code
 * goes off meanwhile). */
static void dispatch_back_on(struct sud_thread *self, long nr, const unsigned long a[6])
{
	char why[128];
	if (nr == SYS_rt_sigaction)
		snprintf(why, sizeof why, "back on: the target set SIGTRAP's action");
	else if (!(a[2] & PROT_EXEC) && (nr == SYS_munmap || nr == SYS_mmap))
		snprintf(why, sizeof why, "back on: %s of %#lx (%lu bytes), code unmapped", nr == SYS_mmap ? "mmap" : "munmap",
			 a[0], a[1]);
	else
		snprintf(why, sizeof why, "back on: %s of %#lx (%lu bytes)%s",
			 nr == SYS_mmap ? "mmap" : nr == SYS_mremap ? "mremap" : nr == SYS_shmat ? "shmat" : "mprotect",
			 a[0], a[1], nr == SYS_mremap ? ", code moved" : " with PROT_EXEC");
	self->depth++;
	pthread_mutex_lock(&sud.lock);
	if (sud_started && atomic_load(&sud.dispatch_off))
		dispatch_back_on_locked(self, why);
	if (sud_started && sud.sweep_new)
		sud.changes_in_flight++;
	else
		atomic_store(&sud.watching, false);   /* back on for good */
	pthread_mutex_unlock(&sud.lock);
	self->depth--;
}

/* Sweeping new code: dispatch stays on for good, and why. */
static void keep_on_locked(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void keep_on_locked(const char *fmt, ...)
{
	char why[sizeof sud.mode.why - 16];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	snprintf(sud.mode.why, sizeof sud.mode.why, "kept on: %s", why);
	atomic_store(&sud.watching, false);
	atomic_store(&sud.resweep_pending, false);
	sud.pending_count = 0;
}

/* Drops [lo, hi) from the ranges waiting for their sweep. */
static void pending_forget(uintptr_t lo, uintptr_t hi)
{
	for (int i = 0; i < sud.pending_count; i++) {
		uintptr_t a = sud.pending[i][0], b = sud.pending[i][1];
		if (b <= lo || a >= hi)
			continue;
		sud.pending[i][0] = a < lo ? a : hi, sud.pending[i][1] = a < lo ? lo : b;
		if (a < lo && b > hi && sud.pending_count < 16)
			sud.pending[sud.pending_count][0] = hi, sud.pending[sud.pending_count++][1] = b;
		if (sud.pending[i][0] >= sud.pending[i][1])
			sud.pending[i][0] = sud.pending[i][1] = 0;   /* empty: overlaps nothing, swept as nothing */
	}
}

static void pending_add(uintptr_t lo, uintptr_t hi)
{
	if (sud.pending_count == 16)
		return keep_on_locked("more than 16 new executable ranges waiting for their objects");
	sud.pending[sud.pending_count][0] = lo, sud.pending[sud.pending_count++][1] = hi;
}

/* What a watched call did (sud.lock held): new code waits for its sweep,
 * unmapped code is forgotten; memory of no object (JIT-style), writable
 * and executable, shared or moved keeps dispatch on. */
static void note_change_locked(long nr, const unsigned long a[6], long ret)
{
	bool failed = ret < 0 && ret > -4096;
	uintptr_t lo = a[0], hi = a[0] + a[1];
	struct dl_find_object found;
	if ((nr == SYS_munmap || (nr == SYS_mmap && (a[3] & MAP_FIXED))) && !failed) {
		sud_rewrite_forget(lo, hi);   /* its int3s are out: dispatch went back on */
		sud_sweep_forget(lo, hi);
		pending_forget(lo, hi);
	}
	if (nr == SYS_munmap || (nr == SYS_mmap && (failed || !(a[2] & PROT_EXEC))))
		return;
	if (nr == SYS_mmap)
		lo = (uintptr_t)ret, hi = lo + a[1];
	if (nr == SYS_rt_sigaction)
		keep_on_locked("the target set SIGTRAP's action");
	else if (nr == SYS_mremap || nr == SYS_shmat)
		keep_on_locked("%s", nr == SYS_mremap ? "code moved by mremap" : "shared memory attached executable");
	else if (a[2] & PROT_WRITE)
		keep_on_locked("%#lx-%#lx made writable and executable", (unsigned long)lo, (unsigned long)hi);
	else if (nr == SYS_mmap && (a[3] & MAP_ANONYMOUS))
		keep_on_locked("%#lx-%#lx: anonymous executable memory (JIT-style: code of no object)", (unsigned long)lo,
			       (unsigned long)hi);
	else if (nr != SYS_mmap && _dl_find_object((void *)lo, &found) != 0)
		keep_on_locked("%#lx-%#lx made executable: memory of no loaded object (JIT-style)", (unsigned long)lo,
			       (unsigned long)hi);
	else
		pending_add(lo, hi);
}

static void code_changed(struct sud_thread *self, long nr, const unsigned long a[6], long ret)
{
	self->depth++;
	pthread_mutex_lock(&sud.lock);
	if (sud_started && sud.changes_in_flight > 0) {
		sud.changes_in_flight--;
		if (atomic_load(&sud.watching)) {
			note_change_locked(nr, a, ret);
			atomic_store(&sud.resweep_pending, atomic_load(&sud.watching));
		}
	}
	pthread_mutex_unlock(&sud.lock);
	self->depth--;
}

/* The ranges waiting whose objects are loaded now swept; once none
 * waits, dispatch off again (as at start).  An object still being loaded
 * (ld.so registers it after mapping it) waits for a later call.  The
 * rewriter is held throughout, taken with a timeout: a thread trapping
 * meanwhile may hold it while it waits for the loader's lock, which this
 * thread may hold (inside dlopen). */
static void resweep_held(struct sud_thread *self);

static void resweep_locked(struct sud_thread *self)
{
	if (!sud_rewrite_hold())
		return;   /* another thread's rewrite: tried again after a later call */
	resweep_held(self);
	sud_rewrite_unhold();
}

static void resweep_held(struct sud_thread *self)
{
	struct syscall_trace_mode *m = &sud.mode;
	for (int i = 0; i < sud.pending_count;) {
		struct sud_sweep sw;
		enum sud_new_code r = sud_sweep_new_code(sud.pending[i][0], sud.pending[i][1], &sw);
		if (r == SUD_NEW_CODE_WAIT && sud.pending[i][0] < sud.pending[i][1]) {
			i++;
			continue;
		}
		if (r == SUD_NEW_CODE_UNPROVABLE)
			return keep_on_locked("%s", sw.why);
		m->objects += sw.objects, m->sites += sw.syscalls, m->jumps += sw.jumps, m->int3_only += sw.int3_only;
		m->swept_later += r == SUD_NEW_CODE_PROVEN;
		sud.pending[i][0] = sud.pending[--sud.pending_count][0];
		sud.pending[i][1] = sud.pending[sud.pending_count][1];
	}
	if (sud.pending_count) {
		/* said, since a file mapped executable by hand waits so for good */
		snprintf(m->why, sizeof m->why, "back on: %#lx-%#lx executable in no object ld.so loaded (yet; a file "
			 "mapped by hand never is: new code is swept only in ld.so's objects)",
			 (unsigned long)sud.pending[0][0], (unsigned long)sud.pending[0][1]);
		return;
	}
	atomic_store(&sud.resweep_pending, false);
	switch_off_locked(self);
}

/* After a call of the target's, new code waiting: its sweep, unless
 * another thread holds the lock (it tries after its own next call) or a
 * call changing code is under way.  Not in a child sharing its parent's
 * slot and thread pointer (posix_spawn's, before its exec): the lock
 * would be taken in the parent's name. */
static void try_resweep(struct sud_thread *self)
{
	if (self->tid != (pid_t)raw0(SYS_gettid))
		return;
	self->depth++;
	if (pthread_mutex_trylock(&sud.lock) == 0) {
		if (sud_started && sud.changes_in_flight == 0 && atomic_load(&sud.resweep_pending))
			resweep_locked(self);
		pthread_mutex_unlock(&sud.lock);
	}
	self->depth--;
}

void syscall_trace_get_mode(struct syscall_trace_mode *out)
{
	pthread_mutex_lock(&sud.lock);
	*out = sud.mode;
	pthread_mutex_unlock(&sud.lock);
}

void syscall_trace_get_stats(struct syscall_trace_stats *out)
{
	out->sud_calls = atomic_load(&sud.sud_calls);
	out->rewritten_calls = atomic_load(&sud.rewritten_calls);
	out->int3_calls = atomic_load(&sud.int3_calls);
	sud_rewrite_counts(&out->sites_rewritten, &out->sites_lean, &out->sites_refused);
}
