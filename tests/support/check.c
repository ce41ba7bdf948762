/*
 * check.c - the counters and the failure line of check.h's CHECK.
 */
#include <stdarg.h>
#include <stdio.h>

#include "check.h"

int passed, failed;

void check_fail(const char *file, int line, const char *fmt, ...)
{
	failed++;
	printf("FAIL %s:%d: ", file, line);
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

int check_summary(void)
{
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
