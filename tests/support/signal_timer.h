/*
 * signal_timer.h - what the map signal tests share: the interrupting
 * timer (SIGALRM sent to the calling thread at a fixed interval, so that
 * a handler runs inside whatever that thread is doing), the monotonic
 * clock they time their runs with, the run of a program from the
 * handler, and the handler's tally of its runs.
 */
#ifndef BPFVM_TEST_SIGNAL_TIMER_H
#define BPFVM_TEST_SIGNAL_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <bpfvm/bpfvm.h>

/* A timer sending SIGALRM to this thread every interval_ns (first one
 * interval_ns from now); failures are CHECK()ed. */
timer_t signal_timer_start(long interval_ns);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t monotonic_ns(void);

/* Runs prog with the JIT, unchecked (as a verified program runs in a
 * hook), on ctx, a region of size bytes (writable or not): the run's
 * error, or its r0.  -ENOEXEC for no program (its load failed, and said
 * so). */
long signal_run_program(const bpfvm_program *prog, void *ctx, size_t size, bool writable);

/* The handler's runs: how many, how many answered -EBUSY (a lock its own
 * interrupted thread held), and how many failed otherwise (the first
 * failure kept). */
struct handler_tally {
	uint64_t runs, busy, bad;
	long first_bad;
};

/* Counts one run's answer: 0, -EBUSY, or a failure. */
void handler_tally_note(struct handler_tally *t, long rc);

/* CHECK()s that no run failed and that the handler ran often enough to
 * prove anything (more than 1000 runs); what names the case. */
void handler_tally_check(const struct handler_tally *t, const char *what);

#endif
