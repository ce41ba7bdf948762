/*
 * spawn.c - child processes for the benches that drive `bpfvm trace`
 * (spawn.h).
 *
 * Owns: bench_spawn, bench_read_line, bench_reap, bench_now_ms.
 */
#include "spawn.h"

#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double bench_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

bool bench_spawn(char *const argv[], bool with_stdin, struct bench_child *c)
{
	int in[2] = { -1, -1 }, out[2];
	if ((with_stdin && pipe(in)) || pipe(out))
		return false;
	fflush(stdout);
	c->pid = fork();
	if (c->pid < 0)
		return false;
	if (c->pid == 0) {
		if (with_stdin)
			dup2(in[0], 0), close(in[1]);
		dup2(out[1], 1);
		close(out[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	if (with_stdin)
		close(in[0]);
	close(out[1]);
	c->to = in[1];
	c->from = out[0];
	return true;
}

bool bench_read_line(struct bench_child *c, char *buf, size_t len)
{
	size_t n = 0;
	char ch;
	while (n + 1 < len && read(c->from, &ch, 1) == 1) {
		if (ch == '\n') {
			buf[n] = 0;
			return true;
		}
		buf[n++] = ch;
	}
	buf[n] = 0;
	return n > 0;
}

int bench_reap(struct bench_child *c)
{
	int st = 0;
	if (c->to >= 0)
		close(c->to);
	close(c->from);
	c->to = -1;
	waitpid(c->pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
