/*
 * owner.c - owner tokens, liveness of the process behind one, and the
 * waiting and taking over of words held in shared memory (see owner.h).
 *
 * Owns: making the process's token (pid and start time, read once per
 * process and again in a fork()ed child), the MADV_WIPEONFORK page that
 * lets the hot path notice a fork without a system call, the liveness
 * check (kill(pid, 0), then /proc/PID/stat for zombies and reused pids),
 * and the contended path of the spin locks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "maps/owner.h"

uint32_t *owner_token_page;
static pthread_once_t page_once = PTHREAD_ONCE_INIT;

struct proc_facts {
	char state;                /* R, S, D, Z, X, ... */
	unsigned long long start;  /* start time, clock ticks after boot */
};

/* Reads state and start time of a process from /proc/PID/stat; -errno. */
static int read_proc_stat(pid_t pid, struct proc_facts *out)
{
	char path[40], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	int saved = errno;
	close(fd);
	if (n <= 0)
		return n < 0 ? -saved : -EIO;
	buf[n] = '\0';
	/* "pid (comm) state ppid ..."; comm may hold anything, so parse
	 * from the last ')'.  The start time is field 22. */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EIO;
	p += 2;
	out->state = *p;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EIO;
		p++;
	}
	out->start = strtoull(p, NULL, 10);
	return 0;
}

static uint32_t start_tag(unsigned long long start)
{
	return (uint32_t)(start & ((1u << (32 - OWNER_PID_BITS)) - 1));
}

static uint32_t make_token(void)
{
	pid_t pid = getpid();
	struct proc_facts f = { 0 };
	uint32_t tag = read_proc_stat(pid, &f) == 0 ? start_tag(f.start) : 0;
	uint32_t token = (tag << OWNER_PID_BITS) | ((uint32_t)pid & OWNER_PID_MASK);
	return token ? token : 1u << OWNER_PID_BITS;   /* never 0 */
}

static void page_setup(void)
{
	uint32_t *page = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE,
	                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return;
	if (madvise(page, (size_t)sysconf(_SC_PAGESIZE), MADV_WIPEONFORK) != 0) {
		munmap(page, (size_t)sysconf(_SC_PAGESIZE));
		return;
	}
	__atomic_store_n(&owner_token_page, page, __ATOMIC_RELEASE);
}

uint32_t owner_token_slow(void)
{
	pthread_once(&page_once, page_setup);
	uint32_t token = make_token();
	uint32_t *page = __atomic_load_n(&owner_token_page, __ATOMIC_ACQUIRE);
	if (page)
		__atomic_store_n(page, token, __ATOMIC_RELAXED);
	/* Without the page (no MADV_WIPEONFORK) every call lands here:
	 * correct across fork(), at the price of a getpid() per lock. */
	return token;
}

bool owner_alive(uint32_t token)
{
	if (token == 0)
		return false;
	if (token == owner_self())
		return true;
	pid_t pid = (pid_t)owner_pid(token);
	if (pid <= 0)
		return false;
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return false;
	struct proc_facts f;
	int rc = read_proc_stat(pid, &f);
	if (rc == -ENOENT || rc == -ESRCH)
		return false;      /* gone between the two checks */
	if (rc < 0)
		return true;       /* /proc hidden from us: trust kill() */
	if (f.state == 'Z' || f.state == 'X')
		return false;      /* exited, not yet reaped: holds nothing */
	return start_tag(f.start) == token >> OWNER_PID_BITS;
}

uint64_t owner_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

enum owner_wait_result owner_wait_step(struct owner_wait *w, uint32_t token)
{
	if (++w->spins < 64) {
		relax();
		return OWNER_WAIT_AGAIN;
	}
	w->spins = 0;
	sched_yield();
	uint64_t now = owner_now_ns();
	if (!w->started_ns) {
		w->started_ns = now;
		w->next_check_ns = now + OWNER_CHECK_AFTER_NS;
	}
	if (w->deadline_ns && now >= w->deadline_ns)
		return OWNER_WAIT_TIMEOUT;
	if (now < w->next_check_ns)
		return OWNER_WAIT_AGAIN;
	w->next_check_ns = now + OWNER_CHECK_EVERY_NS;
	if (token == w->checked_token) {
		/* Seen alive before: kill() alone tells whether it still is. */
		pid_t pid = (pid_t)owner_pid(token);
		if (pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH)) {
			struct proc_facts f;
			if (read_proc_stat(pid, &f) != 0 || (f.state != 'Z' && f.state != 'X'))
				return OWNER_WAIT_AGAIN;
		}
		return OWNER_WAIT_DEAD;
	}
	if (owner_alive(token)) {
		w->checked_token = token;
		return OWNER_WAIT_AGAIN;
	}
	return OWNER_WAIT_DEAD;
}

int spin_lock_wait(uint32_t *lock, uint32_t self, uint64_t deadline_ns)
{
	struct owner_wait w;
	owner_wait_init(&w, deadline_ns);
	for (;;) {
		uint32_t holder = __atomic_load_n(lock, __ATOMIC_RELAXED);
		if (holder == 0) {
			if (__atomic_compare_exchange_n(lock, &holder, self, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				return 0;
			continue;
		}
		switch (owner_wait_step(&w, holder)) {
		case OWNER_WAIT_AGAIN:
			break;
		case OWNER_WAIT_TIMEOUT:
			return -ETIMEDOUT;
		case OWNER_WAIT_DEAD:
			/* Only one waiter wins the takeover; the others see the
			 * word changed and wait on the new holder. */
			if (__atomic_compare_exchange_n(lock, &holder, self, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				return 1;
			break;
		}
	}
}
