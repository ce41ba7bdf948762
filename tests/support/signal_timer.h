/*
 * signal_timer.h - the signal tests' interrupting timer: SIGALRM sent to
 * the calling thread at a fixed interval (so that a handler runs inside
 * whatever that thread is doing), and the monotonic clock they time
 * their runs with.
 */
#ifndef BPFVM_TEST_SIGNAL_TIMER_H
#define BPFVM_TEST_SIGNAL_TIMER_H

#include <stdint.h>
#include <time.h>

/* A timer sending SIGALRM to this thread every interval_ns (first one
 * interval_ns from now); failures are CHECK()ed. */
timer_t signal_timer_start(long interval_ns);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t monotonic_ns(void);

#endif
