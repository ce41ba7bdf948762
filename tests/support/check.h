/*
 * check.h - the one assertion every self-checking test program uses:
 * CHECK(cond, fmt, ...) counts a pass, or a failure printed with its
 * place; the program ends with check_summary(), "N passed, M failed".
 * The counters live in check.c (the test support library), so support
 * code that checks (maps_test.c) counts into the same totals.
 */
#ifndef BPFVM_TESTS_CHECK_H
#define BPFVM_TESTS_CHECK_H

#include <stdbool.h>
#include <stdio.h>  /* the tests print their summaries */

extern int passed, failed;

/* Counts a failure and prints "FAIL file:line: message". */
void check_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Evaluates cond once, and the message's arguments only if it failed (as
 * a bare printf would); a GNU statement expression, so it also yields
 * whether cond held: `if (!CHECK(p, "no p")) return;`. */
#define CHECK(cond, ...)                                                  \
	({                                                                \
		bool check_ok_ = (cond) ? true : false;                   \
		if (check_ok_)                                            \
			passed++;                                         \
		else                                                      \
			check_fail(__FILE__, __LINE__, __VA_ARGS__);      \
		check_ok_;                                                \
	})

/* An operation's return code must be `want`. */
#define CHECK_RC(got, want, what)                                                        \
	do {                                                                             \
		long got_ = (long)(got), want_ = (long)(want);                           \
		CHECK(got_ == want_, "%s: got %ld, want %ld", (what), got_, want_);       \
	} while (0)

/* Prints "N passed, M failed"; returns the exit status (1 if any failed). */
int check_summary(void);

#endif
