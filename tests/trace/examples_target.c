/* examples_target.c - the command examples/trace's tools are tested on
 * (tests/cli_examples_trace.sh): known sleeps in a named function
 * (funclatency), getppid N times (syscount), open() of given paths
 * (opensnoop), and malloc/free with some blocks kept (memleak).
 * Usage: examples_target latency SHORT LONG | getppid N | open PATH... | leak */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Sleeps US microseconds: the function funclatency times.  noinline and
 * external, so that it is a call with a symbol of its own. */
__attribute__((noinline)) int nap_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = us % 1000000 * 1000 };
	return nanosleep(&ts, NULL);
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int log2_slot(uint64_t v)
{
	int slot = 0;
	while (v > 1) {
		v >>= 1;
		slot++;
	}
	return slot;
}

/* A sleep never ends early, so each lies just above the start of its
 * log2 slot of nanoseconds: 4.3 ms in slot 22 (4.19-8.39 ms), 17 ms in
 * slot 24 (16.8-33.6 ms); a wake-up late by up to 4 ms and 16 ms keeps
 * each call in its slot.  The slot each call took by the clock
 * bpf_ktime_get_ns() reads is printed too ("slots 22 22 ... 24"), so
 * that a wake-up later still, on a loaded machine, is seen by the test. */
static int latency(int shorts, int longs)
{
	char line[4096] = "slots";
	size_t used = strlen(line);
	for (int i = 0; i < shorts + longs && used < sizeof line; i++) {
		uint64_t start = monotonic_ns();
		nap_us(i < shorts ? 4300 : 17000);
		used += (size_t)snprintf(line + used, sizeof line - used, " %d", log2_slot(monotonic_ns() - start));
	}
	/* one write: bpfvm trace's own lines share the output */
	printf("%s\nnapped %d x 4.3 ms, %d x 17 ms\n", line, shorts, longs);
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
 * keep_5000() stay allocated; 10 blocks of 777 bytes are freed.  kept is
 * external so that the compiler keeps the allocations. */
void *kept[8];
int nkept;

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
