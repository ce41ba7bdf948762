/* examples_target.c - the command examples/trace's tools are tested on
 * (tests/cli_examples_trace.sh): known sleeps in a named function
 * (funclatency), getppid N times (syscount), open() of given paths
 * (opensnoop), and malloc/free with some blocks kept (memleak).
 * Usage: examples_target latency SHORT LONG | getppid N | open PATH... | leak */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Sleeps MS milliseconds: the function funclatency times.  noinline and
 * external, so that it is a call with a symbol of its own. */
__attribute__((noinline)) int nap_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	return nanosleep(&ts, NULL);
}

/* 3 ms and 12 ms lie well inside log2 slots 21 (2.1-4.2 ms) and 23
 * (8.4-16.8 ms) of nanoseconds, so a late wake-up of a busy machine
 * (up to 1.1 ms and 4.7 ms) keeps each call in its slot. */
static int latency(int shorts, int longs)
{
	for (int i = 0; i < shorts; i++)
		nap_ms(3);
	for (int i = 0; i < longs; i++)
		nap_ms(12);
	printf("napped %d x 3 ms, %d x 12 ms\n", shorts, longs);
	return 0;
}

static int call_getppid(int n)
{
	long sum = 0;
	for (int i = 0; i < n; i++)
		sum += getppid();
	printf("getppid %d times\n", n);
	return sum ? 0 : 1;
}

static int open_paths(int n, char **paths)
{
	for (int i = 0; i < n; i++) {
		int fd = open(paths[i], O_RDONLY);
		printf("open %s = %d\n", paths[i], fd);
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

/* 3 blocks of 1000 bytes from keep_1000() and 2 of 5000 from
 * keep_5000() stay allocated; 10 blocks of 777 bytes are freed. */
static void *kept[8];
static int nkept;

__attribute__((noinline)) void keep_1000(void)
{
	kept[nkept++] = malloc(1000);
}

__attribute__((noinline)) void keep_5000(void)
{
	kept[nkept++] = malloc(5000);
}

static int leak(void)
{
	for (int i = 0; i < 10; i++) {
		char *volatile p = malloc(777);
		memset(p, 1, 777);
		free(p);
	}
	for (int i = 0; i < 3; i++)
		keep_1000();
	for (int i = 0; i < 2; i++)
		keep_5000();
	printf("kept %d blocks\n", nkept);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 4 && !strcmp(argv[1], "latency"))
		return latency(atoi(argv[2]), atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "getppid"))
		return call_getppid(atoi(argv[2]));
	if (argc >= 2 && !strcmp(argv[1], "open"))
		return open_paths(argc - 2, argv + 2);
	if (argc == 2 && !strcmp(argv[1], "leak"))
		return leak();
	fprintf(stderr, "usage: examples_target latency SHORT LONG | getppid N | open PATH... | leak\n");
	return 2;
}
