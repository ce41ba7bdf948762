/*
 * test_syscall_special.c - the syscalls the interceptor's SIGSYS path
 * treats specially, served by rewritten sites without it (so that
 * dispatch can go off): threads from pthread_create and from a raw clone,
 * fork, vfork then exec (one that fails, one that succeeds), posix_spawn,
 * sigaction of SIGSYS by the target, sigprocmask blocking everything, a
 * signal handler returning (rt_sigreturn), ppoll with a mask blocking
 * everything.  Dispatch stays on, so a call the rewritten path sent back
 * is still seen: each scenario runs once to have its sites trap and be
 * rewritten, then again counted, and then every special syscall must
 * have been reported from the rewritten path (none from the SIGSYS
 * handler), with exact counts of enter and exit events, the children's
 * included (the counts live in shared memory).  Skips (77) where Syscall
 * User Dispatch is missing.
 */
#define _GNU_SOURCE
#include "hooks/syscall_trace.h"
#include "hooks/syscall_sud.h"
#include "support/check.h"
#include "support/syscall_counting.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NR_MAX SYSCALL_COUNTS_NR_MAX

extern char **environ;

/* Shared with every child: their events count too. */
struct counts {
	struct syscall_counts calls;
	_Atomic long via_sigsys[NR_MAX];
	_Atomic long child_exit_zero[NR_MAX];   /* sys_exit events returning 0 */
	_Atomic long thread_starts;
	_Atomic uintptr_t sigsys_site[NR_MAX];   /* the last site a call came from through SIGSYS */
};
static struct counts *seen;

static void on_enter(void *user, long nr, const unsigned long a[6], const struct pt_regs *regs)
{
	(void)user;
	if (!syscall_counts_enter(&seen->calls, nr, a))
		return;
	if (syscall_trace_in_signal_handler()) {
		seen->via_sigsys[nr]++;
		seen->sigsys_site[nr] = regs->rip;
	}
}

static void on_exit_(void *user, long nr, const unsigned long a[6], const struct pt_regs *regs, long ret)
{
	(void)user, (void)a, (void)regs;
	if (!syscall_counts_exit(&seen->calls, nr))
		return;
	if (ret == 0)
		seen->child_exit_zero[nr]++;
	if (syscall_trace_in_signal_handler())
		seen->via_sigsys[nr]++;
}

static void on_thread_start(void *user)
{
	(void)user;
	if (seen->calls.counting)
		seen->thread_starts++;
}

static const struct syscall_handlers handlers = {.enter = on_enter, .exit = on_exit_,
                                                 .thread_start = on_thread_start};

static void reset_counts(void)
{
	memset(seen, 0, sizeof *seen);
}

/* The special syscalls a scenario makes (a fork's child traps at sites
 * its parent never ran, for ever: its own rewrites are lost with it). */
#define SPECIAL(...) (const long[]){__VA_ARGS__, -1}

/* Whether the site of the syscall instruction ending at `after` is
 * rewritten (the rewriter decided at its first trap; a site it had not
 * decided yet, rewritten by this very question, was not). */
static bool site_was_rewritten(uintptr_t after)
{
	uint64_t before, now, lean, refused;
	sud_rewrite_counts(&before, &lean, &refused);
	bool patched = sud_rewrite_site(after);
	sud_rewrite_counts(&now, &lean, &refused);
	return patched && now == before;
}

/* Runs a scenario twice for its sites to trap and be rewritten, then
 * once counted.  Of its special syscalls (a list ending in -1), none may
 * have been seen from the SIGSYS handler at a rewritten site (the
 * rewritten path sent it back), and with every_site_rewritable none at
 * all; one at a site the rewriter refuses is shown.  Returns false on a
 * failure. */
static bool run_counted(const char *what, void (*scenario)(void), const long *special_nrs, bool every_site_rewritable)
{
	scenario();
	scenario();
	reset_counts();
	struct syscall_trace_stats before, after;
	syscall_trace_get_stats(&before);
	syscall_counts_marker();
	scenario();
	syscall_counts_marker();
	syscall_trace_get_stats(&after);
	printf("%s: %lu calls via SIGSYS, %lu via rewritten sites in this process\n", what,
	       (unsigned long)(after.sud_calls - before.sud_calls),
	       (unsigned long)(after.rewritten_calls - before.rewritten_calls));
	bool ok = true;
	for (const long *nr = special_nrs; *nr >= 0; nr++) {
		if (!seen->via_sigsys[*nr])
			continue;
		uintptr_t site = seen->sigsys_site[*nr];
		Dl_info info = {0};
		dladdr((void *)site, &info);
		const char *object = info.dli_fname ? info.dli_fname : "?";
		unsigned long offset = (unsigned long)(site - (uintptr_t)info.dli_fbase);
		bool rewritten = site_was_rewritten(site);
		ok &= CHECK(!rewritten && !every_site_rewritable,
			    "%s: syscall %ld: %ld events from the SIGSYS handler, the last at %s+%#lx (%s)", what, *nr,
			    (long)seen->via_sigsys[*nr], object, offset, rewritten ? "a rewritten site" : "refused");
		if (!rewritten)
			printf("  syscall %ld: %ld events on SIGSYS at %s+%#lx, a site the rewriter refuses\n", *nr,
			       (long)seen->via_sigsys[*nr], object, offset);
	}
	return ok;
}

static void check_events(const char *what, long nr, long enter, long exit)
{
	syscall_counts_check(&seen->calls, what, nr, enter, exit);
}

/* ---- threads ---- */

#define THREADS 4

static void *one_getppid(void *unused)
{
	getppid();
	return unused;
}

static void threads_scenario(void)
{
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, one_getppid, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
}

static void test_pthreads(void)
{
	if (!run_counted("pthread_create", threads_scenario, SPECIAL(SYS_clone3, SYS_rt_sigprocmask, SYS_exit), false))
		return;
	/* clone3: the parent's exit (the thread id) and each child's (0) */
	check_events("pthread_create", SYS_clone3, THREADS, 2 * THREADS);
	CHECK(seen->child_exit_zero[SYS_clone3] == THREADS, "pthread_create: %ld children's clone3 returned 0, want %d",
	      (long)seen->child_exit_zero[SYS_clone3], THREADS);
	check_events("pthread_create", SYS_getppid, THREADS, THREADS);
	check_events("pthread_create", SYS_exit, THREADS, 0);
	CHECK(seen->thread_starts == THREADS, "pthread_create: %ld thread starts, want %d", (long)seen->thread_starts,
	      THREADS);
}

/* A raw clone of the test's own (exported, so the rewriter finds the
 * function's bounds): sc_raw_clone(flags, stack, ptid, ctid, tls, fn);
 * the child calls fn() on its stack and exits with its result. */
__asm__(".pushsection .text\n"
	".globl sc_raw_clone\n.type sc_raw_clone, @function\n.p2align 4\n"
	"sc_raw_clone: mov %rcx, %r10\n mov $56, %eax\n syscall\n test %rax, %rax\n jnz 1f\n"
	" call *%r9\n mov %eax, %edi\n mov $60, %eax\n syscall\n hlt\n1: ret\n"
	".size sc_raw_clone, . - sc_raw_clone\n"
	".popsection\n");
long sc_raw_clone(unsigned long flags, void *stack, pid_t *ptid, pid_t *ctid, void *tls, int (*fn)(void));

#define RAW_STACK (64 * 1024)
static _Atomic int raw_child_ran;

static int raw_child(void)
{
	getppid();
	raw_child_ran++;
	return 0;
}

/* The child gets a thread pointer of its own (CLONE_SETTLS, a block
 * whose first word points to itself, as the TLS ABI has it), so a slot
 * of its own; the parent waits on the child's cleared tid. */
static void raw_clone_scenario(void)
{
	static _Alignas(64) uintptr_t tls_block[64];
	char *stack = mmap(NULL, RAW_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stack == MAP_FAILED)
		abort();
	tls_block[0] = (uintptr_t)tls_block;
	_Atomic pid_t child_tid = 0;
	unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
			      CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
	long tid = sc_raw_clone(flags, stack + RAW_STACK, (pid_t *)&child_tid, (pid_t *)&child_tid, tls_block,
				raw_child);
	if (tid > 0)
		for (pid_t t; (t = child_tid) != 0;)
			syscall(SYS_futex, &child_tid, FUTEX_WAIT, t, NULL, NULL, 0);
	munmap(stack, RAW_STACK);
}

static void test_raw_clone(void)
{
#if defined(__SANITIZE_ADDRESS__)
	/* the child's thread pointer is a block of the test's, not glibc's:
	 * the sanitizer's runtime, finding its thread-local state through
	 * it, faults */
	printf("raw clone: skipped in the sanitizer build\n");
	return;
#endif
	raw_child_ran = 0;
	if (!run_counted("raw clone", raw_clone_scenario, SPECIAL(SYS_clone, SYS_exit), true))
		return;
	CHECK(raw_child_ran == 3, "raw clone: the child ran %d times, want 3", (int)raw_child_ran);
	check_events("raw clone", SYS_clone, 1, 2);
	CHECK(seen->child_exit_zero[SYS_clone] == 1, "raw clone: the child's clone did not return 0");
	check_events("raw clone", SYS_getppid, 1, 1);
	check_events("raw clone", SYS_exit, 1, 0);
	CHECK(seen->thread_starts == 1, "raw clone: %ld thread starts, want 1", (long)seen->thread_starts);
}

/* ---- processes ---- */

static void fork_scenario(void)
{
	pid_t child = fork();
	if (child == 0) {
		getppid();
		_exit(0);
	}
	int status;
	waitpid(child, &status, 0);
}

static void test_fork(void)
{
	if (!run_counted("fork", fork_scenario, SPECIAL(SYS_clone), true))
		return;
	check_events("fork", SYS_clone, 1, 2);
	CHECK(seen->child_exit_zero[SYS_clone] == 1, "fork: the child's clone did not return 0");
	check_events("fork", SYS_getppid, 1, 1);
	check_events("fork", SYS_exit_group, 1, 0);
}

static void vfork_exec_scenario(void)
{
	char *argv[] = {"true", NULL};
	pid_t child = vfork();
	if (child == 0) {
		execve("/nonexistent/bpfvm-test", argv, environ);   /* fails: its exit is reported */
		execve("/bin/true", argv, environ);
		_exit(127);
	}
	int status = -1;
	waitpid(child, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		abort();
}

static void test_vfork_exec(void)
{
	/* vfork is made a fork (a child on its parent's stack would overwrite
	 * the frames the parent returns through): the parent traps at the
	 * execve site once, the children's rewrites being their own */
	char *argv[] = {"true", NULL};
	execve("/nonexistent/bpfvm-test", argv, environ);
	if (!run_counted("vfork and exec", vfork_exec_scenario, SPECIAL(SYS_vfork, SYS_execve), true))
		return;
	check_events("vfork and exec", SYS_vfork, 1, 2);
	CHECK(seen->child_exit_zero[SYS_vfork] == 1, "vfork: the child's vfork did not return 0");
	check_events("vfork and exec", SYS_execve, 2, 1);
}

static void spawn_scenario(void)
{
	char *argv[] = {"true", NULL};
	pid_t child;
	int status = -1;
	if (posix_spawn(&child, "/bin/true", NULL, NULL, argv, environ) != 0 || waitpid(child, &status, 0) != child ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		abort();
}

static void test_spawn(void)
{
	if (!run_counted("posix_spawn", spawn_scenario,
			 SPECIAL(SYS_clone, SYS_clone3, SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_execve), false))
		return;
	long clones_in = seen->calls.enter[SYS_clone3] + seen->calls.enter[SYS_clone];
	long clones_out = seen->calls.exit[SYS_clone3] + seen->calls.exit[SYS_clone];
	CHECK(clones_in == 1 && clones_out == 2, "posix_spawn: clone enter %ld exit %ld, want 1 and 2", clones_in,
	      clones_out);
	check_events("posix_spawn", SYS_execve, 1, 0);
}

/* ---- signals ---- */

static _Atomic int own_sigsys_runs;
static void own_sigsys(int sig) { (void)sig; own_sigsys_runs++; }

/* sc_jump_into: getpid at a site with a jump into it, which stays on the
 * SIGSYS path: the interceptor's SIGSYS handler must still be there. */
__asm__(".pushsection .text\n"
	".globl sc_special_jump_into\n.type sc_special_jump_into, @function\n.p2align 4\n"
	"sc_special_jump_into: test %rdi, %rdi\n jnz 2f\n mov $39, %eax\n1: nop\n syscall\n ret\n"
	"2: mov $39, %eax\n jmp 1b\n"
	".size sc_special_jump_into, . - sc_special_jump_into\n"
	".popsection\n");
long sc_special_jump_into(long jump);

static void sigsys_action_scenario(void)
{
	struct sigaction own = {.sa_handler = own_sigsys}, old, now;
	sigaction(SIGSYS, &own, &old);
	sigaction(SIGSYS, NULL, &now);
	if (now.sa_handler != own_sigsys)
		abort();
	raise(SIGSYS);   /* not a dispatch trap: the target's own handler */
	if (sc_special_jump_into(0) != getpid())   /* a dispatch trap: the interceptor's */
		abort();
	sigaction(SIGSYS, &old, NULL);
}

static void test_sigsys_action(void)
{
	own_sigsys_runs = 0;
	if (!run_counted("sigaction(SIGSYS)", sigsys_action_scenario, SPECIAL(SYS_rt_sigaction), true))
		return;
	CHECK(own_sigsys_runs == 3, "the test's own SIGSYS handler ran %d times, want 3", (int)own_sigsys_runs);
	check_events("sigaction(SIGSYS)", SYS_rt_sigaction, 3, 3);
	CHECK(seen->via_sigsys[SYS_getpid] == 2, "the site with a jump into it: %ld events from the SIGSYS handler, want 2",
	      (long)seen->via_sigsys[SYS_getpid]);
}

/* The mask the kernel holds for a thread (SIGSYS and the interceptor's
 * request signal are never really blocked; the thread is shown the mask
 * it asked for). */
static unsigned long long blocked_of(pid_t tid)
{
	char path[64], line[256];
	unsigned long long blocked = 0;
	snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		abort();
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "SigBlk: %llx", &blocked) == 1)
			break;
	fclose(f);
	return blocked;
}

static _Atomic int mask_bad;

static void sigprocmask_scenario(void)
{
	sigset_t all, old, shown;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	sigprocmask(SIG_BLOCK, NULL, &shown);
	if (!sigismember(&shown, SIGSYS) || (blocked_of(gettid()) & 1ull << (SIGSYS - 1)))
		mask_bad++;
	for (int i = 0; i < 10; i++)
		getppid();
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static void test_sigprocmask(void)
{
	mask_bad = 0;
	if (!run_counted("sigprocmask blocking everything", sigprocmask_scenario, SPECIAL(SYS_rt_sigprocmask), true))
		return;
	CHECK(mask_bad == 0, "sigprocmask: SIGSYS blocked, or not shown blocked, %d times", (int)mask_bad);
	check_events("sigprocmask", SYS_rt_sigprocmask, 3, 3);
	check_events("sigprocmask", SYS_getppid, 10, 10);
}

#define HANDLER_RUNS 10
static void usr1(int sig)
{
	(void)sig;
	getppid();
}

static void sigreturn_scenario(void)
{
	struct sigaction sa = {.sa_handler = usr1}, old;
	sigaction(SIGUSR1, &sa, &old);
	for (int i = 0; i < HANDLER_RUNS; i++)
		raise(SIGUSR1);
	sigaction(SIGUSR1, &old, NULL);
}

static void test_sigreturn(void)
{
	if (!run_counted("rt_sigreturn", sigreturn_scenario, SPECIAL(SYS_rt_sigreturn, SYS_rt_sigaction), true))
		return;
	check_events("rt_sigreturn", SYS_getppid, HANDLER_RUNS, HANDLER_RUNS);
	check_events("rt_sigreturn", SYS_rt_sigreturn, HANDLER_RUNS, 0);
}

/* ppoll with a mask blocking everything: while it waits, the thread's
 * mask (read by another thread from /proc) blocks SIGUSR1 but not
 * SIGSYS. */
#define PPOLL_WAIT_NS 100000000l

static _Atomic unsigned long long waiting_mask;

static void *read_mask_midway(void *tid)
{
	struct timespec wait = {0, PPOLL_WAIT_NS / 3};
	nanosleep(&wait, NULL);
	waiting_mask = blocked_of((pid_t)(intptr_t)tid);
	return NULL;
}

static void ppoll_scenario(void)
{
	sigset_t all;
	sigfillset(&all);
	struct timespec wait = {0, PPOLL_WAIT_NS};
	struct pollfd none = {.fd = -1};
	pthread_t reader;
	pthread_create(&reader, NULL, read_mask_midway, (void *)(intptr_t)gettid());
	if (ppoll(&none, 1, &wait, &all) != 0)
		abort();
	pthread_join(reader, NULL);
}

static void test_ppoll(void)
{
	if (!run_counted("ppoll with a full mask", ppoll_scenario, SPECIAL(SYS_ppoll), true))
		return;
	check_events("ppoll", SYS_ppoll, 1, 1);
	unsigned long long m = waiting_mask;
	CHECK((m & 1ull << (SIGUSR1 - 1)) && !(m & 1ull << (SIGSYS - 1)),
	      "ppoll's mask while it waited: %#llx, want SIGUSR1 blocked and SIGSYS not", m);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	seen = mmap(NULL, sizeof *seen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (seen == MAP_FAILED)
		return 1;
	if (syscall_counts_tracing_missing(&handlers))
		return 77;
	syscall_counts_start(&handlers, 0);
	CHECK(sud_fast_fallback_free(), "the rewritten path still sends syscalls back to SIGSYS");
	test_pthreads();
	test_raw_clone();
	test_fork();
	test_vfork_exec();
	test_spawn();
	test_sigsys_action();
	test_sigprocmask();
	test_sigreturn();
	test_ppoll();
	syscall_trace_stop();
	return check_summary();
}
