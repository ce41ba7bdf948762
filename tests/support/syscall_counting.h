/*
 * syscall_counting.h - what the syscall interceptor's tests
 * (tests/unit/test_syscall_*.c) share: each syscall's enter and exit
 * events counted between two marker calls, checked exactly, and the
 * start of tracing, or the test's skip where Syscall User Dispatch is
 * missing.
 *
 * A test's handlers pass every event here first and look further only at
 * the counted ones.  Where the counts live is the test's: in its own
 * memory (a fork()ed child counts into its copy) or in memory shared with
 * its children (their events count too).
 */
#ifndef BPFVM_TESTS_SYSCALL_COUNTING_H
#define BPFVM_TESTS_SYSCALL_COUNTING_H

#include <stdatomic.h>
#include <stdbool.h>

#include "hooks/syscall_trace.h"

#define SYSCALL_COUNTS_NR_MAX 512
#define SYSCALL_COUNTS_MARKER_FD (-4242)   /* close() of it starts and ends counting: no file has it */

struct syscall_counts {
	_Atomic bool counting;
	_Atomic long enter[SYSCALL_COUNTS_NR_MAX], exit[SYSCALL_COUNTS_NR_MAX];
};

/* Starts (or ends) counting: the marker call, made by the test. */
void syscall_counts_marker(void);

/* Every event zero (counting as it was: off, between two markers). */
void syscall_counts_reset(struct syscall_counts *c);

/* An enter event: the marker's turns counting on or off; while on, nr is
 * counted.  Whether it was counted (a marker that ends counting is not). */
bool syscall_counts_enter(struct syscall_counts *c, long nr, const unsigned long args[6]);

/* An exit event, counted while counting is on; whether it was. */
bool syscall_counts_exit(struct syscall_counts *c, long nr);

/* Round i of the C library calls the tests count: getppid, getpid, a
 * write of the 5 bytes "hello" to fd, and in even rounds an open (openat)
 * of /dev/null and its close.  false if the write failed. */
bool syscall_counts_libc_round(int i, int fd);

/* CHECKs nr's counts, `what` naming the case. */
bool syscall_counts_check(const struct syscall_counts *c, const char *what, long nr, long enter, long exit);

/* syscall_trace_start with a CHECK of its success. */
bool syscall_counts_start(const struct syscall_handlers *handlers, unsigned flags);

/* Whether tracing cannot start here (no Syscall User Dispatch, or not
 * allowed): then says SKIP with why; else it started and stopped. */
bool syscall_counts_tracing_missing(const struct syscall_handlers *handlers);

#endif
