/*
 * syscall_counting.c - counts of syscall events between markers for the
 * interceptor's tests (syscall_counting.h).  The counting functions run
 * in the interceptor's handlers, in its SIGSYS handler too: they only
 * load and add.
 */
#include "syscall_counting.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "progtypes/syscall_tp.h"

void syscall_counts_marker(void)
{
	close(SYSCALL_COUNTS_MARKER_FD);
}

void syscall_counts_reset(struct syscall_counts *c)
{
	for (int i = 0; i < SYSCALL_COUNTS_NR_MAX; i++)
		c->enter[i] = c->exit[i] = 0;
}

static bool counted(const struct syscall_counts *c, long nr)
{
	return c->counting && nr >= 0 && nr < SYSCALL_COUNTS_NR_MAX;
}

bool syscall_counts_enter(struct syscall_counts *c, long nr, const unsigned long args[6])
{
	if (nr == SYS_close && (int)args[0] == SYSCALL_COUNTS_MARKER_FD)
		c->counting = !c->counting;
	if (!counted(c, nr))
		return false;
	c->enter[nr]++;
	return true;
}

bool syscall_counts_exit(struct syscall_counts *c, long nr)
{
	if (!counted(c, nr))
		return false;
	c->exit[nr]++;
	return true;
}

bool syscall_counts_libc_round(int i, int fd)
{
	getppid();
	getpid();
	if (write(fd, "hello", 5) != 5)
		return false;
	if (i % 2 == 0)
		close(open("/dev/null", O_RDONLY));
	return true;
}

bool syscall_counts_check(const struct syscall_counts *c, const char *what, long nr, long enter, long exit)
{
	const char *name = syscall_name((int)nr);
	return CHECK(c->enter[nr] == enter && c->exit[nr] == exit, "%s: %s (%ld): enter %ld exit %ld, want %ld and %ld",
		     what, name ? name : "?", nr, (long)c->enter[nr], (long)c->exit[nr], enter, exit);
}

bool syscall_counts_start(const struct syscall_handlers *handlers, unsigned flags)
{
	char err[SYSCALL_TRACE_ERRLEN] = "";
	int rc = syscall_trace_start(handlers, NULL, flags, err);
	return CHECK(rc == 0, "syscall_trace_start: %d %s", rc, err);
}

bool syscall_counts_tracing_missing(const struct syscall_handlers *handlers)
{
	char err[SYSCALL_TRACE_ERRLEN] = "";
	int rc = syscall_trace_start(handlers, NULL, 0, err);
	if (rc == -EINVAL || rc == -ENOSYS || rc == -EPERM) {
		printf("SKIP: %s\n", err);
		return true;
	}
	syscall_trace_stop();
	return false;
}
