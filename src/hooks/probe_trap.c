/*
 * probe_trap.c - the probe engine's SIGTRAP handler and its uses: the
 * int3 path (the entry handler called from the trap, the first
 * instruction run out of line), a breakpoint hit while a jump is being
 * written (sent into the trampoline), and moving threads out of the
 * displaced bytes before they are overwritten (each thread that may be
 * stopped there gets PROBE_MOVE_SIGNAL queued with our token; its handler
 * moves its own rip to the same instruction in the trampoline's copy and
 * answers).  The request is a real-time signal, not a SIGTRAP: a pending
 * SIGTRAP swallows another (standard signals do not queue), and a
 * breakpoint trap lost that way would run the byte after the int3.  A
 * breakpoint of a syscall site being rewritten goes to the site's stub, an
 * int3 over a syscall (the sweep's, dispatch off) to the interceptor.  A
 * signal that is none of these goes to the handler that was there before.
 */
#define _GNU_SOURCE   /* REG_RIP and the other ucontext register names */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "base/error.h"
#include "hooks/probe_internal.h"
#include "hooks/syscall_sud.h"

#define MOVE_MAX_THREADS 4096
#define MOVE_TIMEOUT_NS 2000000000ll

static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int install_errno;
static struct sigaction previous_trap, previous_move;

static int move_token;                          /* its address marks our queued SIGTRAPs */
static struct probe_site *_Atomic moving_site;
static struct {
	pid_t tid;
	atomic_int answered;
} move_list[MOVE_MAX_THREADS];
static atomic_uint move_count;

static pid_t current_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void chain(const struct sigaction *previous, int sig, siginfo_t *si, void *ctx)
{
	if (previous->sa_flags & SA_SIGINFO) {
		previous->sa_sigaction(sig, si, ctx);
	} else if (previous->sa_handler == SIG_DFL) {
		signal(sig, SIG_DFL);
		raise(sig);
	} else if (previous->sa_handler != SIG_IGN) {
		previous->sa_handler(sig);
	}
}

static void regs_from_context(struct pt_regs *r, const greg_t *g)
{
	*r = (struct pt_regs){
		.r15 = g[REG_R15], .r14 = g[REG_R14], .r13 = g[REG_R13], .r12 = g[REG_R12],
		.rbp = g[REG_RBP], .rbx = g[REG_RBX], .r11 = g[REG_R11], .r10 = g[REG_R10],
		.r9 = g[REG_R9], .r8 = g[REG_R8], .rax = g[REG_RAX], .rcx = g[REG_RCX],
		.rdx = g[REG_RDX], .rsi = g[REG_RSI], .rdi = g[REG_RDI], .orig_rax = g[REG_RAX],
		.rip = g[REG_RIP] - 1, .cs = 0x33, .eflags = g[REG_EFL], .rsp = g[REG_RSP], .ss = 0x2b,
	};
}

/* The int3 path: the handlers, then the function's first instruction out
 * of line, or straight back to the caller when overridden. */
static void emulate_entry(struct probe_site *s, greg_t *g)
{
	struct pt_regs regs;
	regs_from_context(&regs, g);
	if (probe_entry_dispatch(s, &regs, PROBE_PATH_INT3)) {
		g[REG_RAX] = (greg_t)regs.rax;
		g[REG_RIP] = *(greg_t *)g[REG_RSP];
		g[REG_RSP] += 8;
	} else {
		g[REG_RIP] = (greg_t)s->out_of_line;
	}
}

static void on_breakpoint(struct probe_site *s, greg_t *g)
{
	int mode = atomic_load(&s->mode);
	if (mode == SITE_TRAP_EMULATE || !s->trampoline) {
		emulate_entry(s, g);
		return;
	}
	atomic_fetch_add_explicit(&s->trap_redirects, 1, memory_order_relaxed);
	g[REG_RIP] = (greg_t)s->trampoline;
}

static void answer_move(greg_t *g)
{
	struct probe_site *s = atomic_load(&moving_site);
	if (s) {
		uintptr_t rip = (uintptr_t)g[REG_RIP], f = (uintptr_t)s->func;
		const struct x86_reloc *r = &s->jump_reloc;
		for (unsigned i = 1; rip > f && rip < f + r->src_len && i < r->count; i++)
			if (rip - f == r->src_off[i]) {
				g[REG_RIP] = (greg_t)(s->trampoline_resume + r->out_off[i]);
				atomic_fetch_add_explicit(&s->threads_moved, 1, memory_order_relaxed);
			}
	}
	pid_t me = current_tid();
	unsigned n = atomic_load(&move_count);
	for (unsigned i = 0; i < n; i++)
		if (move_list[i].tid == me)
			atomic_store(&move_list[i].answered, 1);
}

static void on_trap(int sig, siginfo_t *si, void *ctx)
{
	int saved_errno = errno;
	greg_t *g = ((ucontext_t *)ctx)->uc_mcontext.gregs;
	struct probe_site *s;
	uintptr_t stub;
	if (si->si_code == SI_KERNEL && (s = probe_site_find((uintptr_t)g[REG_RIP] - 1)))
		on_breakpoint(s, g);
	else if (si->si_code == SI_KERNEL && (stub = sud_rewrite_trap_target((uintptr_t)g[REG_RIP] - 1)))
		g[REG_RIP] = (greg_t)stub;   /* a syscall site's jump being written (syscall_rewrite.c) */
	else if (si->si_code == SI_KERNEL && sud_serve_int3(ctx))
		;                            /* an int3 over a syscall (syscall_trace.c) */
	else
		chain(&previous_trap, sig, si, ctx);
	errno = saved_errno;
}

static void on_move_request(int sig, siginfo_t *si, void *ctx)
{
	int saved_errno = errno;
	if (si->si_code == SI_QUEUE && si->si_pid == getpid() && si->si_value.sival_ptr == &move_token)
		answer_move(((ucontext_t *)ctx)->uc_mcontext.gregs);
	else
		chain(&previous_move, sig, si, ctx);
	errno = saved_errno;
}

/* SIGTRAP's handler returns through the interceptor's own restorer
 * (sud_restore_rt), not the C library's: that one is a syscall site, and
 * with dispatch off an int3 over it would trap back into this handler. */
static void return_through_interceptor(void)
{
	struct { void *handler; unsigned long flags; void (*restorer)(void); uint64_t mask; } k;
	unsigned long get[6] = {SIGTRAP, 0, (unsigned long)&k, sizeof k.mask};
	if (sud_raw_syscall(SYS_rt_sigaction, get) != 0 || k.handler != (void *)on_trap)
		return;
	k.restorer = sud_restore_rt;
	unsigned long set[6] = {SIGTRAP, (unsigned long)&k, 0, sizeof k.mask};
	sud_raw_syscall(SYS_rt_sigaction, set);
}

static void install(void)
{
	struct sigaction sa = { .sa_sigaction = on_trap, .sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESTART | SA_ONSTACK };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTRAP, &sa, &previous_trap) < 0)
		install_errno = errno;
	else
		return_through_interceptor();
	sa.sa_sigaction = on_move_request;
	if (!install_errno && sigaction(PROBE_MOVE_SIGNAL, &sa, &previous_move) < 0)
		install_errno = errno;
}

int probe_trap_install(bpfvm_error *err)
{
	pthread_once(&install_once, install);
	if (install_errno)
		return error_set(err, -install_errno, -1, "probe: signal handlers: %s", strerror(install_errno));
	return 0;
}

/* ---- moving threads out of the displaced bytes --------------------- */

/* A thread blocked in a system call at a pc outside the displaced bytes
 * cannot be inside them (it can only enter at byte 0, now a breakpoint),
 * so it is left undisturbed; any other may be. */
static int may_be_inside(pid_t tid, const struct probe_site *s)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 1;
	int inside = 1;
	if (fgets(line, sizeof line, f) && strncmp(line, "running", 7) != 0) {
		char *pc = strrchr(line, ' ');
		uintptr_t at = pc ? (uintptr_t)strtoull(pc + 1, NULL, 16) : 0, fn = (uintptr_t)s->func;
		inside = !pc || (at > fn && at < fn + s->jump_reloc.src_len);
	}
	fclose(f);
	return inside;
}

static void ask_to_move(pid_t tid)
{
	unsigned i = atomic_load(&move_count);
	move_list[i].tid = tid;
	atomic_store(&move_list[i].answered, 0);
	atomic_store(&move_count, i + 1);
	siginfo_t si = { .si_signo = PROBE_MOVE_SIGNAL, .si_code = SI_QUEUE };
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_ptr = &move_token;
	if (syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, PROBE_MOVE_SIGNAL, &si) < 0)
		atomic_store(&move_list[i].answered, 1);   /* gone already */
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* 1 once every asked thread answered or exited. */
static int all_answered(void)
{
	unsigned n = atomic_load(&move_count);
	for (unsigned i = 0; i < n; i++) {
		if (atomic_load(&move_list[i].answered))
			continue;
		if (syscall(SYS_tgkill, getpid(), move_list[i].tid, 0) < 0 && errno == ESRCH)
			atomic_store(&move_list[i].answered, 1);
		else
			return 0;
	}
	return 1;
}

int probe_trap_move_threads(struct probe_site *site)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	atomic_store(&move_count, 0);
	atomic_store(&moving_site, site);
	pid_t me = current_tid();
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);
		if (tid <= 0 || tid == me || !may_be_inside(tid, site))
			continue;
		if (atomic_load(&move_count) == MOVE_MAX_THREADS) {
			rc = -1;
			break;
		}
		ask_to_move(tid);
	}
	closedir(d);
	int64_t deadline = now_ns() + MOVE_TIMEOUT_NS;
	while (rc == 0 && !all_answered()) {
		if (now_ns() > deadline)
			rc = -1;
		sched_yield();
	}
	atomic_store(&moving_site, NULL);
	return rc;
}
