/*
 * test_syscall_dlopen.c - the sweep of syscall sites beyond the one at
 * start (syscall_sweep.c, SYSCALL_TRACE_SWEEP_NEW_CODE): a library
 * dlopen()ed after start puts dispatch back on only until its object is
 * swept, then off again, and every call through it is counted exactly
 * (libc's, its raw syscall with a jump, its raw syscall served by an int3
 * alone); dlclose forgets its sites, and the library dlopen()ed again at
 * another address is swept there; 4 threads calling into one library
 * while another is dlopen()ed miss no call and count none twice;
 * anonymous executable memory keeps dispatch on for good, the mode says
 * why; without that sweep, a dlclose() of a library swept at start
 * puts dispatch back on for good before its code goes.  And the lazy decoding of objects proves the same sites, with the
 * same jumps, as decoding every FDE did.  A library of 128 sites
 * (two files) dlopen()ed, called and dlclose()d 160 times, each at a new
 * place, each copy closed after the next one opened (more sites than the
 * rewriter's tables and stub pools hold, were nothing given back): every
 * cycle's sites get their jumps, every call is counted once, dispatch
 * ends off, the tables end as they began, while threads block
 * in read() and call into another library meanwhile.  A file mapped
 * executable by hand keeps dispatch on, the mode saying why, until it is
 * unmapped.  Skips (77) where
 * Syscall User Dispatch is missing.
 */
#define _GNU_SOURCE
#include "hooks/syscall_trace.h"
#include "hooks/syscall_sites.h"
#include "hooks/syscall_sud.h"
#include "support/check.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SWEEP_FLAGS (SYSCALL_TRACE_DISPATCH_OFF | SYSCALL_TRACE_SWEEP_NEW_CODE)

/* getppid's enters and exits of the thread counting (between its two
 * marker calls), and each thread's own enters whatever the marker. */
static struct {
	_Atomic long enter, exit, bad_ret;
	pid_t ppid;
} seen;
static __thread volatile long my_enters;
static __thread volatile bool my_counting;

static void marker(bool on)
{
	my_counting = on;
}

static void count_enter(void *user, long nr, const unsigned long a[6], const struct pt_regs *regs)
{
	(void)user, (void)a, (void)regs;
	if (nr != SYS_getppid)
		return;
	my_enters++;
	if (my_counting)
		seen.enter++;
}

static void count_exit(void *user, long nr, const unsigned long a[6], const struct pt_regs *regs, long ret)
{
	(void)user, (void)a, (void)regs;
	if (nr != SYS_getppid || !my_counting)
		return;
	seen.exit++;
	seen.bad_ret += ret != seen.ppid;
}

static const struct syscall_handlers counting = {.enter = count_enter, .exit = count_exit};

/* A dlopen()ed sud_sweep_lib. */
struct lib {
	void *handle;
	long (*libc_getppid)(void), (*raw_getppid)(void), (*raw_branch_in)(long);
	uintptr_t base;
};

static bool lib_open(const char *path, struct lib *l)
{
	*l = (struct lib){.handle = dlopen(path, RTLD_NOW)};
	if (!CHECK(l->handle, "dlopen %s: %s", path, dlerror()))
		return false;
	l->libc_getppid = (long (*)(void))dlsym(l->handle, "sweep_lib_libc_getppid");
	l->raw_getppid = (long (*)(void))dlsym(l->handle, "sweep_lib_raw_getppid");
	l->raw_branch_in = (long (*)(long))dlsym(l->handle, "sweep_lib_raw_getppid_branch_in");
	struct link_map *lm = NULL;
	dlinfo(l->handle, RTLD_DI_LINKMAP, &lm);
	l->base = lm ? lm->l_addr : 0;
	return CHECK(l->libc_getppid && l->raw_getppid && l->raw_branch_in, "%s: its functions", path);
}

/* Each of the library's three ways, n times. */
static void lib_calls(const struct lib *l, int n)
{
	for (int i = 0; i < n; i++) {
		long a = l->libc_getppid(), b = l->raw_getppid(), c = l->raw_branch_in(i & 1);
		if (a != seen.ppid || b != seen.ppid || c != seen.ppid)
			seen.bad_ret++;
	}
}

/* The mode once new code had its chance to be swept: a call of the
 * target's (getpid) after the dlopen() or dlclose() tries the sweep, or
 * finds another thread's under way; waited for up to 2 s while dispatch
 * is on and the reason is new code (not a reason to stay on). */
static void mode_now(struct syscall_trace_mode *m)
{
	struct timespec ms1 = {0, 1000000};
	for (int waited = 0; waited < 2000; waited++) {
		getpid();
		syscall_trace_get_mode(m);
		if (m->dispatch_off || strncmp(m->why, "back on:", 8) != 0)
			return;
		nanosleep(&ms1, NULL);
	}
}

/* n calls of each way through l counted exactly, none through SIGSYS
 * (dispatch off), and the int3-only site through its int3. */
static void check_lib_counts(const struct lib *l, int n, const char *what)
{
	struct syscall_trace_stats before, after;
	seen.enter = seen.exit = seen.bad_ret = 0;
	syscall_trace_get_stats(&before);
	marker(true);
	lib_calls(l, n);
	marker(false);
	syscall_trace_get_stats(&after);
	CHECK(seen.enter == 3 * n && seen.exit == 3 * n && !seen.bad_ret, "%s: getppid enter %ld exit %ld (want %d), %ld bad results",
	      what, (long)seen.enter, (long)seen.exit, 3 * n, (long)seen.bad_ret);
	CHECK(after.sud_calls == before.sud_calls && after.int3_calls - before.int3_calls >= (uint64_t)n / 2,
	      "%s: %lu calls through SIGSYS (want 0: dispatch off), %lu through int3s (want >= %d)", what,
	      (unsigned long)(after.sud_calls - before.sud_calls), (unsigned long)(after.int3_calls - before.int3_calls),
	      n / 2);
}

static void no_enter(void *user, long nr, const unsigned long a[6], const struct pt_regs *regs)
{
	(void)user, (void)nr, (void)a, (void)regs;
}

static const struct syscall_handlers quiet = {.enter = no_enter};

/* CPU time of this thread (the sweep runs in the thread that starts):
 * steady on a loaded machine, where wall-clock time is not. */
static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* One start with dispatch off and its stop: the mode, and how long the start took. */
static bool start_off(const struct syscall_handlers *h, struct syscall_trace_mode *mode, double *ms)
{
	char err[SYSCALL_TRACE_ERRLEN] = "";
	double t0 = now_ms();
	int rc = syscall_trace_start(h, NULL, SWEEP_FLAGS, err);
	*ms = now_ms() - t0;
	if (!CHECK(rc == 0, "syscall_trace_start: %d %s", rc, err))
		return false;
	syscall_trace_get_mode(mode);
	return true;
}

/* ---- the lazy decoding proves what decoding every FDE proved ---- */

static void test_lazy_same_as_whole(void)
{
	struct syscall_trace_mode lazy, whole;
	struct sud_rewrite_survey lazy_libc, whole_libc;
	double lazy_ms, whole_ms;
	sud_code_set_whole(false);
	if (!start_off(&quiet, &lazy, &lazy_ms))
		return;
	syscall_trace_stop();
	sud_code_set_whole(false);   /* the cache emptied: the survey indexes libc again */
	CHECK(sud_rewrite_survey((uintptr_t)getppid, &lazy_libc), "survey of libc, lazily");
	sud_code_set_whole(true);
	if (!start_off(&quiet, &whole, &whole_ms))
		return;
	syscall_trace_stop();
	sud_code_set_whole(true);
	CHECK(sud_rewrite_survey((uintptr_t)getppid, &whole_libc), "survey of libc, whole");
	sud_code_set_whole(false);
	printf("sweep at start (CPU): lazily %.1f ms, every FDE decoded %.1f ms; %lu sites in %lu objects, %lu jumps, "
	       "%lu by int3 alone; libc %lu syscalls, %lu rewritable (%lu lean)\n", lazy_ms, whole_ms,
	       (unsigned long)lazy.sites, (unsigned long)lazy.objects, (unsigned long)lazy.jumps,
	       (unsigned long)lazy.int3_only, (unsigned long)lazy_libc.syscalls, (unsigned long)lazy_libc.rewritable,
	       (unsigned long)lazy_libc.lean);
	CHECK(lazy.dispatch_off && whole.dispatch_off, "off both ways (%s / %s)", lazy.why, whole.why);
	CHECK(lazy.sites == whole.sites && lazy.objects == whole.objects && lazy.jumps == whole.jumps &&
	      lazy.int3_only == whole.int3_only,
	      "lazily %lu sites in %lu objects, %lu jumps, %lu int3 alone; whole %lu, %lu, %lu, %lu",
	      (unsigned long)lazy.sites, (unsigned long)lazy.objects, (unsigned long)lazy.jumps,
	      (unsigned long)lazy.int3_only, (unsigned long)whole.sites, (unsigned long)whole.objects,
	      (unsigned long)whole.jumps, (unsigned long)whole.int3_only);
	CHECK(lazy_libc.syscalls == whole_libc.syscalls && lazy_libc.rewritable == whole_libc.rewritable &&
	      lazy_libc.lean == whole_libc.lean && lazy_libc.first_refused == whole_libc.first_refused,
	      "libc's survey: lazily %lu/%lu/%lu, whole %lu/%lu/%lu", (unsigned long)lazy_libc.syscalls,
	      (unsigned long)lazy_libc.rewritable, (unsigned long)lazy_libc.lean, (unsigned long)whole_libc.syscalls,
	      (unsigned long)whole_libc.rewritable, (unsigned long)whole_libc.lean);
}

/* ---- a library dlopen()ed after start, dlclose()d, dlopen()ed again ---- */

static void test_dlopen_off_again(void)
{
	struct syscall_trace_mode start_mode, mode;
	double ms;
	struct lib a;
	if (!start_off(&counting, &start_mode, &ms) || !CHECK(start_mode.dispatch_off, "off at start (%s)", start_mode.why))
		return syscall_trace_stop();
	if (!lib_open(SUD_SWEEP_LIB_A, &a))
		return syscall_trace_stop();
	mode_now(&mode);
	printf("after dlopen: dispatch %s (%s), %lu sites in %lu objects (%lu at start), %lu swept later\n",
	       mode.dispatch_off ? "off" : "on", mode.why, (unsigned long)mode.sites, (unsigned long)mode.objects,
	       (unsigned long)start_mode.sites, (unsigned long)mode.swept_later);
	CHECK(mode.dispatch_off && mode.swept_later == 1 && mode.sites == start_mode.sites + 2 &&
	      mode.objects == start_mode.objects + 1 && mode.int3_only == start_mode.int3_only + 1,
	      "dlopen: dispatch %s (%s), %lu sites (want %lu + 2), %lu by int3 alone (want %lu + 1), %lu swept later",
	      mode.dispatch_off ? "off" : "on", mode.why, (unsigned long)mode.sites, (unsigned long)start_mode.sites,
	      (unsigned long)mode.int3_only, (unsigned long)start_mode.int3_only, (unsigned long)mode.swept_later);
	check_lib_counts(&a, 20, "the library dlopen()ed after start");

	/* dlclose: its sites forgotten, dispatch off again; dlopen()ed again
	 * elsewhere (its old place held by a mapping of no code) */
	uintptr_t old_base = a.base;
	dlclose(a.handle);
	mode_now(&mode);
	CHECK(mode.dispatch_off, "after dlclose: dispatch %s (%s)", mode.dispatch_off ? "off" : "on", mode.why);
	void *hold = mmap((void *)old_base, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (!lib_open(SUD_SWEEP_LIB_A, &a))
		return syscall_trace_stop();
	mode_now(&mode);
	CHECK(a.base != old_base && mode.dispatch_off && mode.swept_later == 2,
	      "dlopen again: at %#lx (was %#lx), dispatch %s (%s), %lu swept later", (unsigned long)a.base,
	      (unsigned long)old_base, mode.dispatch_off ? "off" : "on", mode.why, (unsigned long)mode.swept_later);
	check_lib_counts(&a, 20, "the library dlopen()ed again elsewhere");

	/* JIT-style memory: on for good, and why; every call still counted */
	void *jit = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mode_now(&mode);
	CHECK(!mode.dispatch_off && strstr(mode.why, "anonymous executable"), "JIT-style memory: dispatch %s (%s)",
	      mode.dispatch_off ? "off" : "on", mode.why);
	seen.enter = seen.exit = seen.bad_ret = 0;
	marker(true);
	lib_calls(&a, 10);
	marker(false);
	CHECK(seen.enter == 30 && seen.exit == 30 && !seen.bad_ret, "dispatch kept on: getppid enter %ld exit %ld (want 30)",
	      (long)seen.enter, (long)seen.exit);
	syscall_trace_stop();
	munmap(jit, 4096);
	dlclose(a.handle);
	if (hold != MAP_FAILED)
		munmap(hold, 4096);
}

/* ---- without the sweep of new code: a library swept at start dlclose()d ---- */

/* Dispatch off alone (the library's default): the dlclose() of a library
 * swept at start puts dispatch back on for good before its code goes
 * (its int3s out while their memory is there), and every call is still
 * counted, through SIGSYS; another library dlopen()ed after that runs
 * unharmed. */
static void test_dlclose_without_new_code_sweep(void)
{
	struct lib a, b;
	struct syscall_trace_mode mode;
	char err[SYSCALL_TRACE_ERRLEN] = "";
	if (!lib_open(SUD_SWEEP_LIB_A, &a))
		return;
	int rc = syscall_trace_start(&counting, NULL, SYSCALL_TRACE_DISPATCH_OFF, err);
	if (!CHECK(rc == 0, "syscall_trace_start: %d %s", rc, err))
		return (void)dlclose(a.handle);
	syscall_trace_get_mode(&mode);
	CHECK(mode.dispatch_off, "off at start with the library loaded (%s)", mode.why);
	check_lib_counts(&a, 20, "a library swept at start");
	dlclose(a.handle);
	syscall_trace_get_mode(&mode);
	CHECK(!mode.dispatch_off && strstr(mode.why, "code unmapped"), "after dlclose: dispatch %s (%s)",
	      mode.dispatch_off ? "off" : "on", mode.why);
	if (lib_open(SUD_SWEEP_LIB_A, &b)) {
		seen.enter = seen.exit = seen.bad_ret = 0;
		marker(true);
		lib_calls(&b, 10);
		marker(false);
		CHECK(seen.enter == 30 && seen.exit == 30 && !seen.bad_ret,
		      "dlopen()ed again, dispatch on: getppid enter %ld exit %ld (want 30), %ld bad results",
		      (long)seen.enter, (long)seen.exit, (long)seen.bad_ret);
	}
	syscall_trace_stop();
	if (b.handle)
		dlclose(b.handle);
}

/* ---- threads calling into one library while another is dlopen()ed ---- */

static struct lib shared_lib;
static _Atomic bool callers_done;
static _Atomic long caller_calls, caller_missed, caller_twice;

static void *caller(void *unused)
{
	while (!callers_done) {
		long before = my_enters;
		shared_lib.raw_getppid();
		long raw = my_enters - before;
		before = my_enters;
		shared_lib.libc_getppid();
		long libc = my_enters - before;
		caller_calls += 2;
		caller_missed += (raw < 1) + (libc < 1);
		caller_twice += (raw > 1) + (libc > 1);
	}
	return unused;
}

static void test_threads_while_dlopen(void)
{
	struct syscall_trace_mode start_mode, mode;
	double ms;
	struct lib b;
	if (!start_off(&counting, &start_mode, &ms))
		return;
	if (!lib_open(SUD_SWEEP_LIB_A, &shared_lib))
		return syscall_trace_stop();
	mode_now(&mode);
	callers_done = false;
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, caller, NULL);
	struct timespec ms20 = {0, 20000000};
	nanosleep(&ms20, NULL);
	bool opened = lib_open(SUD_SWEEP_LIB_B, &b);
	mode_now(&mode);
	if (opened)
		check_lib_counts(&b, 10, "the second library, 4 threads calling into the first");
	nanosleep(&ms20, NULL);
	callers_done = true;
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	mode_now(&mode);
	printf("4 threads calling while a second library is dlopen()ed: %ld calls, %ld missed, %ld counted twice; "
	       "dispatch %s, %lu swept later\n", (long)caller_calls, (long)caller_missed, (long)caller_twice,
	       mode.dispatch_off ? "off" : "on", (unsigned long)mode.swept_later);
	CHECK(caller_calls > 0 && caller_missed == 0 && caller_twice == 0, "threads: %ld calls, %ld missed, %ld twice",
	      (long)caller_calls, (long)caller_missed, (long)caller_twice);
	CHECK(mode.dispatch_off && mode.swept_later == 2, "threads: dispatch %s (%s), %lu swept later (want 2)",
	      mode.dispatch_off ? "off" : "on", mode.why, (unsigned long)mode.swept_later);
	syscall_trace_stop();
	if (opened)
		dlclose(b.handle);
	dlclose(shared_lib.handle);
}

/* ---- a file mapped executable by hand ---- */

/* An ELF object mapped with mmap(PROT_EXEC), not through ld.so: never
 * swept (only ld.so's objects are), so dispatch stays on and the mode
 * says why, every call still counted; unmapped, dispatch goes off again. */
static void test_mapped_by_hand(void)
{
	struct syscall_trace_mode start_mode, mode;
	double ms;
	if (!start_off(&counting, &start_mode, &ms))
		return;
	int fd = open(SUD_SWEEP_LIB_A, O_RDONLY | O_CLOEXEC);
	void *code = fd >= 0 ? mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0) : MAP_FAILED;
	if (fd >= 0)
		close(fd);
	if (!CHECK(code != MAP_FAILED, "mmap of %s: %s", SUD_SWEEP_LIB_A, strerror(errno)))
		return syscall_trace_stop();
	mode_now(&mode);
	CHECK(!mode.dispatch_off && strstr(mode.why, "mapped by hand"), "a file mapped by hand: dispatch %s (%s)",
	      mode.dispatch_off ? "off" : "on", mode.why);
	seen.enter = seen.exit = seen.bad_ret = 0;
	marker(true);
	for (int i = 0; i < 10; i++)
		seen.bad_ret += getppid() != seen.ppid;
	marker(false);
	CHECK(seen.enter == 10 && seen.exit == 10 && !seen.bad_ret, "dispatch on meanwhile: getppid enter %ld exit %ld (want 10)",
	      (long)seen.enter, (long)seen.exit);
	munmap(code, 4096);
	mode_now(&mode);
	CHECK(mode.dispatch_off, "the file unmapped: dispatch %s (%s)", mode.dispatch_off ? "off" : "on", mode.why);
	syscall_trace_stop();
}

/* ---- dlopen/dlclose over and over: slots and stubs given back ---- */

/* More sites in all than the rewriter's tables hold (4096 slots) and
 * than its pools make stubs (32 pools of 512), were nothing given back. */
#define MANY_CYCLES 160

static int reader_pipes[2][2];
static _Atomic long reader_bad;

/* Blocked in read() (libc's site, through its stub) while the loop below
 * dlopen()s and dlclose()s: comes back with the byte written at the end,
 * and its next call is counted once. */
static void *reader(void *arg)
{
	int *fds = arg;
	char byte = 0;
	ssize_t n = read(fds[0], &byte, 1);
	long before = my_enters;
	long ppid = shared_lib.raw_getppid();
	reader_bad += n != 1 || byte != 'x' || ppid != seen.ppid || my_enters - before != 1;
	return NULL;
}

/* dlclose()s h, its place then held by a mapping of no code: the next
 * object is loaded elsewhere, at new addresses, not the old ones again.
 * The hold, or MAP_FAILED. */
static void *close_elsewhere(void *h)
{
	struct link_map *lm = NULL;
	dlinfo(h, RTLD_DI_LINKMAP, &lm);
	uintptr_t base = lm ? lm->l_addr : 0;
	dlclose(h);
	void *hold = base ? mmap((void *)base, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)
			  : MAP_FAILED;
	if (hold != MAP_FAILED && (uintptr_t)hold != base)
		munmap(hold, 4096), hold = MAP_FAILED;
	return hold;
}

static void test_many_dlopen_cycles(void)
{
	struct syscall_trace_mode mode, opened;
	double ms;
	if (!start_off(&counting, &mode, &ms))
		return;
	if (!lib_open(SUD_SWEEP_LIB_A, &shared_lib))
		return syscall_trace_stop();
	/* made while the library waits for its sweep: a request round may
	 * find each new thread the moment it starts */
	pthread_t callers[2], readers[2];
	callers_done = false;
	caller_calls = caller_missed = caller_twice = reader_bad = 0;
	for (int i = 0; i < 2; i++) {
		CHECK(pipe(reader_pipes[i]) == 0, "pipe");
		pthread_create(&readers[i], NULL, reader, reader_pipes[i]);
		pthread_create(&callers[i], NULL, caller, NULL);
	}
	long bad_cycles = 0, first_bad = -1, calls = 0, distinct = 0;
	void *holds[MANY_CYCLES], *previous = NULL;
	struct sud_rewrite_use first = {0}, use = {0};
	uint64_t misplaced = 0;
	char why[sizeof mode.why + 200] = "";
	for (int cycle = 0; cycle < MANY_CYCLES; cycle++) {
		mode_now(&mode);
		const char *path = cycle & 1 ? SUD_MANY_SITES_LIB_B : SUD_MANY_SITES_LIB_A;
		void *h = dlopen(path, RTLD_NOW);
		int count = 0;
		long (*const *(*table)(int *))(void) = h ? (long (*const *(*)(int *))(void))dlsym(h, "sweep_many_sites") : NULL;
		if (!CHECK(table, "dlopen %s: %s", path, dlerror()))
			break;
		long (*const *site)(void) = table(&count);
		mode_now(&opened);
		seen.enter = seen.exit = seen.bad_ret = 0;
		marker(true);
		for (int i = 0; i < count; i++)
			if (site[i]() != seen.ppid)
				seen.bad_ret++;
		marker(false);
		calls += seen.enter;
		/* every site of the library got its jump (a stub), and none went
		 * through SIGSYS: dispatch stayed off */
		bool good = seen.enter == count && seen.exit == count && !seen.bad_ret && opened.dispatch_off &&
			    opened.jumps - mode.jumps == (uint64_t)count && opened.int3_only == mode.int3_only;
		if (!good && bad_cycles++ == 0) {
			first_bad = cycle;
			snprintf(why, sizeof why, "enter %ld exit %ld of %d, %ld bad, dispatch %s (%s), %lu jumps and %lu int3 alone added",
				 (long)seen.enter, (long)seen.exit, count, (long)seen.bad_ret, opened.dispatch_off ? "off" : "on",
				 opened.why, (unsigned long)(opened.jumps - mode.jumps),
				 (unsigned long)(opened.int3_only - mode.int3_only));
		}
		/* the previous cycle's copy (the other file) goes only now: the two
		 * copies' records share probe runs, and forgetting the older must
		 * leave the newer's found */
		holds[cycle] = previous ? close_elsewhere(previous) : MAP_FAILED;
		distinct += holds[cycle] != MAP_FAILED;
		previous = h;
		mode_now(&mode);
		sud_rewrite_use(&use);
		misplaced += use.misplaced;
		if (cycle == 1)
			first = use;
	}
	if (previous)
		holds[0] = close_elsewhere(previous);
	distinct += holds[0] != MAP_FAILED;
	mode_now(&mode);
	for (int cycle = 0; cycle < MANY_CYCLES; cycle++)
		if (holds[cycle] != MAP_FAILED)
			munmap(holds[cycle], 4096);
	for (int i = 0; i < 2; i++)
		CHECK(write(reader_pipes[i][1], "x", 1) == 1, "write");
	for (int i = 0; i < 2; i++)
		pthread_join(readers[i], NULL);
	callers_done = true;
	for (int i = 0; i < 2; i++) {
		pthread_join(callers[i], NULL);
		close(reader_pipes[i][0]), close(reader_pipes[i][1]);
	}
	printf("%d dlopen/dlclose cycles of a library of 128 sites (%ld places held after): %ld calls counted, %ld bad cycles; "
	       "dispatch %s (%s); one copy loaded, after the 2nd cycle %lu sites, %lu patch records, %lu stubs made; after "
	       "the last %lu, %lu, %lu (%lu spare, %lu waiting); 2 threads calling: %ld calls, %ld missed, %ld twice\n",
	       MANY_CYCLES, distinct, calls, bad_cycles, mode.dispatch_off ? "off" : "on", mode.why,
	       (unsigned long)first.sites, (unsigned long)first.patches, (unsigned long)first.stubs_made,
	       (unsigned long)use.sites, (unsigned long)use.patches, (unsigned long)use.stubs_made,
	       (unsigned long)use.stubs_spare, (unsigned long)use.stubs_waiting, (long)caller_calls, (long)caller_missed,
	       (long)caller_twice);
	CHECK(bad_cycles == 0 && calls == 128l * MANY_CYCLES, "%ld of %d cycles bad, the first (%ld): %s", bad_cycles,
	      MANY_CYCLES, first_bad, why);
	CHECK(distinct == MANY_CYCLES, "%ld of %d places held after their dlclose (want each)", distinct, MANY_CYCLES);
	CHECK(mode.dispatch_off, "after %d cycles: dispatch %s (%s)", MANY_CYCLES, mode.dispatch_off ? "off" : "on", mode.why);
	/* what each copy held was given back: with one copy loaded the tables
	 * hold no more than after the 2nd cycle (less where a copy was loaded
	 * over records of code unmapped before the loop), and the copies'
	 * stubs are those of the first two; no entry was ever cut off from
	 * its home by a deletion (each checked with the newer copy loaded) */
	CHECK(misplaced == 0, "%lu table entries a search from their home missed", (unsigned long)misplaced);
	CHECK(use.sites <= first.sites && use.patches <= first.patches && use.stubs_made <= first.stubs_made + 128,
	      "tables after %d cycles: %lu sites, %lu patch records, %lu stubs made (after 2: %lu, %lu, %lu)", MANY_CYCLES,
	      (unsigned long)use.sites, (unsigned long)use.patches, (unsigned long)use.stubs_made,
	      (unsigned long)first.sites, (unsigned long)first.patches, (unsigned long)first.stubs_made);
	CHECK(reader_bad == 0, "threads blocked in read() meanwhile: %ld came back wrong or miscounted", (long)reader_bad);
	CHECK(caller_calls > 0 && caller_missed == 0 && caller_twice == 0, "callers meanwhile: %ld calls, %ld missed, %ld twice",
	      (long)caller_calls, (long)caller_missed, (long)caller_twice);
	syscall_trace_stop();
	dlclose(shared_lib.handle);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	char err[SYSCALL_TRACE_ERRLEN] = "";
	int rc = syscall_trace_start(&quiet, NULL, 0, err);
	if (rc == -EINVAL || rc == -ENOSYS || rc == -EPERM) {
		printf("SKIP: %s\n", err);
		return 77;
	}
	syscall_trace_stop();
	seen.ppid = getppid();
	test_lazy_same_as_whole();
	test_dlopen_off_again();
	test_threads_while_dlopen();
	test_dlclose_without_new_code_sweep();
	test_mapped_by_hand();
	test_many_dlopen_cycles();
	return check_summary();
}
