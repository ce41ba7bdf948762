/*
 * check.h - the one assertion the self-checking test programs share:
 * CHECK(cond, fmt, ...) counts a pass or prints the failure with its
 * place, and the program ends with "N passed, M failed".
 */
#ifndef BPFVM_TESTS_CHECK_H
#define BPFVM_TESTS_CHECK_H

#include <stdio.h>

static int passed, failed;

#define CHECK(cond, ...)                                                  \
	do {                                                              \
		if (cond) {                                               \
			passed++;                                         \
		} else {                                                  \
			failed++;                                         \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);       \
			printf(__VA_ARGS__);                              \
			printf("\n");                                     \
		}                                                         \
	} while (0)

#endif
