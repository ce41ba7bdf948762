/*
 * inject_target.c - a process for test_inject to load a library into:
 * prints "ready" on stdout, then computes in floating point (so that
 * clobbered SSE registers would show) and blocks in read() on stdin,
 * alternately.  A line "quit" on stdin ends it with status 0 if every
 * computation agreed and every read returned what was written, else 1.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static double spin(double x, int n)
{
	for (int i = 0; i < n; i++)
		x = x * 1.0000001 + 0.5;
	return x;
}

int main(void)
{
	const double want = spin(1.0, 200000);
	printf("ready\n");
	fflush(stdout);
	int bad = 0;
	char line[64];
	for (;;) {
		double a = 1.0, b;
		register double keep = 3.25;   /* lives in a register across the read */
		a = spin(a, 200000);
		ssize_t n = read(0, line, sizeof line - 1);
		b = spin(1.0, 200000);
		if (a != want || b != want || keep * 2 != 6.5)
			bad = 1;
		if (n <= 0)
			return 2;
		line[n] = 0;
		/* lines written apart may arrive in one read */
		for (char *save, *l = strtok_r(line, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			if (!strcmp(l, "quit"))
				return bad;
			if (strcmp(l, "ping"))
				bad = 1;
		}
	}
}
