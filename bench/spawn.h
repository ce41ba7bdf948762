/*
 * spawn.h - what the benches that drive `bpfvm trace` (attach_bench.c,
 * trace_bench.c) share: a child process with its stdout (and stdin)
 * piped to the bench, read line by line.
 *
 * Owns: struct bench_child, bench_spawn, bench_read_line, bench_reap,
 * bench_now_ms.
 */
#ifndef BENCH_SPAWN_H
#define BENCH_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct bench_child {
	pid_t pid;
	int to, from;   /* its stdin (-1: not piped), its stdout */
};

/* Starts argv (argv[0] a path) with its stdout piped to us, and its stdin
 * from us if with_stdin; stderr stays ours.  false if fork or pipe failed. */
bool bench_spawn(char *const argv[], bool with_stdin, struct bench_child *c);

/* The next line of c's stdout into buf, without its newline; false at
 * its end. */
bool bench_read_line(struct bench_child *c, char *buf, size_t len);

/* Closes the pipes, waits: the exit status, or 128 + the signal. */
int bench_reap(struct bench_child *c);

double bench_now_ms(void);

#endif
