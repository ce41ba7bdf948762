/*
 * test_syscall_dlopen.c - the sweep of syscall sites beyond the one at
 * start (syscall_sweep.c): the lazy decoding of objects proves the same
 * sites, with the same jumps, as decoding every FDE did.  Skips (77) where
 * Syscall User Dispatch is missing.
 */
#define _GNU_SOURCE
#include "hooks/syscall_trace.h"
#include "hooks/syscall_sites.h"
#include "hooks/syscall_sud.h"
#include "support/check.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void no_enter(void *user, long nr, const unsigned long a[6], const struct pt_regs *regs)
{
	(void)user, (void)nr, (void)a, (void)regs;
}

static const struct syscall_handlers quiet = {.enter = no_enter};

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* One start with dispatch off and its stop: the mode, and how long the start took. */
static bool start_off(const struct syscall_handlers *h, struct syscall_trace_mode *mode, double *ms)
{
	char err[SYSCALL_TRACE_ERRLEN] = "";
	double t0 = now_ms();
	int rc = syscall_trace_start(h, NULL, SYSCALL_TRACE_DISPATCH_OFF, err);
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
	printf("sweep at start: lazily %.1f ms, every FDE decoded %.1f ms; %lu sites in %lu objects, %lu jumps, "
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
	test_lazy_same_as_whole();
	return check_summary();
}
