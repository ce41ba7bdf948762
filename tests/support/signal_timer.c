/*
 * signal_timer.c - what the map signal tests share (signal_timer.h).
 */
#define _GNU_SOURCE
#include "signal_timer.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

/* glibc 2.36 names the thread id of SIGEV_THREAD_ID only as the union member */
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

timer_t signal_timer_start(long interval_ns)
{
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGALRM;
	sev.sigev_notify_thread_id = (pid_t)syscall(SYS_gettid);
	timer_t t = 0;
	CHECK(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0, "timer_create: %s", strerror(errno));
	struct itimerspec its = { .it_interval = { 0, interval_ns }, .it_value = { 0, interval_ns } };
	CHECK(timer_settime(t, 0, &its, NULL) == 0, "timer_settime: %s", strerror(errno));
	return t;
}

uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

long signal_run_program(const bpfvm_program *prog, void *ctx, size_t size, bool writable)
{
	if (!prog)
		return -ENOEXEC;
	bpfvm_region region = { ctx, size, writable };
	BPFVM_OPTS(bpfvm_run_opts, o, .args = { (uint64_t)(uintptr_t)ctx, size }, .mode = BPFVM_UNCHECKED,
	           .engine = BPFVM_ENGINE_JIT, .regions = &region, .region_count = 1);
	uint64_t r0 = 0;
	int rc = bpfvm_program_run(prog, &o, &r0, NULL);
	return rc ? rc : (long)r0;
}

void handler_tally_note(struct handler_tally *t, long rc)
{
	if (rc == -EBUSY)
		t->busy++;
	else if (rc != 0 && !t->bad++)
		t->first_bad = rc;
}

void handler_tally_check(const struct handler_tally *t, const char *what)
{
	CHECK(t->bad == 0, "%s: the handler's program failed %" PRIu64 " times (first: %ld)", what, t->bad,
	      t->first_bad);
	CHECK(t->runs > 1000, "%s: only %" PRIu64 " handler runs", what, t->runs);
}
