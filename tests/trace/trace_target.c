/*
 * trace_target.c - the program `bpfvm trace`'s tests trace (built without
 * sanitizers, as any traced program): it calls trace_work() and getppid()
 * a known number of times and nothing else calls them.
 *
 *   trace_target run N      N calls of each, then exits
 *   trace_target threads N  4 threads make N calls of each
 *   trace_target fork N     N calls, then a child makes N more after 0.3 s
 *                           (its agent reports in meanwhile; waited for)
 *   trace_target exec N     execs itself as `run N`
 *   trace_target signals N  N calls, then prints "signals K": the SIGUSR1s
 *                           it got meanwhile
 *   trace_target sum N      prints "sum S at ADDR": S the sum of N results
 *                           of trace_work(i, 2i), ADDR trace_work's address
 *   trace_target malloc N   N malloc(16)s, each freed, then prints
 *                           "mallocs N"
 *   trace_target pids N     4 threads make N getpid()s each, all at
 *                           once, then prints "pids 4N"
 *   trace_target burst N    N calls, a 0.2 s pause, one more call
 *   trace_target stack N    prints "stack main ADDR" (main's address), then
 *                           calls stack_outer() N times, which calls
 *                           stack_inner() (both keep frame pointers)
 *   trace_target usdt N     N hits of the USDT probe bpfvmtrace:step
 *                           (i, -3i, the short 7i), each printed
 *                           "step I A B"
 *   trace_target special N  N rounds of the syscalls the interceptor
 *                           treats specially: a thread (pthread_create),
 *                           a fork(2), a vfork whose child's exec fails,
 *                           sigaction of SIGSYS and a raise of it (its
 *                           own handler runs), everything blocked
 *                           around a getppid (SIGSYS still unblocked), a
 *                           SIGUSR1 handler returning; then prints
 *                           "special N" (exits 3 if a check failed)
 *   trace_target greet N    N calls of trace_greet("hello from greet"),
 *                           then one with an unmapped address (trace_greet
 *                           never reads it): a sleepable probe copies
 *                           the string out of this process's memory
 *   trace_target serve      prints "ready PID", then reads commands from
 *                           stdin: "go N" (N calls of each, then "done"),
 *                           "tgo N" (the same in each of 4 new threads),
 *                           "mgo N" (as `malloc N`), "ugo N" (as `usdt N`),
 *                           "xgo N" (a thread made at start, before any
 *                           tracer came, makes N getppid through a
 *                           syscall site no tracer can rewrite, then
 *                           N through getppid(); then "xdone"),
 *                           "bytes" (trace_work's first 16 bytes in hex,
 *                           read through /proc/self/mem), "quit"
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sdt.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

volatile long sink;

/* Long enough for a trampoline (its first bytes move), never inlined. */
__attribute__((noinline)) long trace_work(long a, long b)
{
	long r = a * 3 + b;
	sink += r;
	if (sink == 0x7fffffff)
		sink = 0;
	return r;
}

/* Takes a string it does not read: what a probe reads at its entry is
 * the caller's memory, whatever the address. */
__attribute__((noinline)) long trace_greet(const char *text)
{
	sink += (long)(uintptr_t)text & 1;
	return 0;
}

static void calls(long n)
{
	for (long i = 0; i < n; i++) {
		trace_work(i, 2 * i);
		if (getppid() < 0)
			exit(2);
	}
}

#define THREADS 4

static volatile sig_atomic_t signals_seen;

static void on_usr1(int sig)
{
	(void)sig;
	signals_seen++;
}

static void *thread_calls(void *n)
{
	calls((long)n);
	return NULL;
}

static void threaded_calls(long n)
{
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, thread_calls, (void *)n))
			exit(5);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
}

static void mallocs(long n)
{
	long got = 0;
	for (long i = 0; i < n; i++) {
		void *volatile p = malloc(16);
		got += p != NULL;
		free(p);
	}
	printf("mallocs %ld\n", got);
}

static pthread_barrier_t pids_start;

static void *thread_pids(void *arg)
{
	pthread_barrier_wait(&pids_start);   /* all at once: each one's runs overlap the others' */
	for (long i = 0, n = (long)arg; i < n; i++)
		sink += getpid();
	return NULL;
}

static void pids(long n)
{
	pthread_t t[THREADS];
	pthread_barrier_init(&pids_start, NULL, THREADS);
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, thread_pids, (void *)n))
			exit(5);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	printf("pids %ld\n", THREADS * n);
}

/* A caller whose return a uretprobe swaps, and its callee, whose probe
 * walks the stack through it: frame pointers kept for the walk (the
 * file is built with -fno-omit-frame-pointer; clang has no per-function
 * optimize attribute). */
__attribute__((noinline)) void stack_inner(void)
{
	sink++;
}

__attribute__((noinline)) void stack_outer(void)
{
	sink++;   /* the call lies past the bytes the probe's jump displaces */
	stack_inner();
	sink++;   /* not a tail call */
}

static void usdt_steps(long n)
{
	for (long i = 0; i < n; i++) {
		long a = -3 * i;
		short b = (short)(7 * i);
		DTRACE_PROBE3(bpfvmtrace, step, i, a, b);
		printf("step %ld %ld %d\n", i, a, b);
	}
}

static void print_bytes(void)
{
	uint8_t b[16];
	int fd = open("/proc/self/mem", O_RDONLY);
	if (fd < 0 || pread(fd, b, sizeof b, (off_t)(uintptr_t)trace_work) != sizeof b) {
		printf("bytes unreadable\n");
	} else {
		printf("bytes");
		for (size_t i = 0; i < sizeof b; i++)
			printf(" %02x", b[i]);
		printf("\n");
	}
	if (fd >= 0)
		close(fd);
}

/* getppid through a syscall instruction no tracer can rewrite: in its
 * basic block (a jump target) only a 3-byte mov precedes it, and a jump
 * needs 5 bytes of one instruction. */
static long unrewritable_getppid(void)
{
	long ret;
	__asm__ volatile("mov %1, %%rdx\n jmp 1f\n1: mov %%rdx, %%rax\n syscall"
			 : "=a"(ret) : "i"((long)SYS_getppid) : "rcx", "r11", "rdx", "memory");
	return ret;
}

/* serve's worker, made before anything attaches: waits for a count on
 * its pipe, then makes that many getppid both ways. */
static int worker_pipe[2];

static void *worker(void *unused)
{
	(void)unused;
	long n;
	while (read(worker_pipe[0], &n, sizeof n) == sizeof n) {
		for (long i = 0; i < n; i++)
			if (unrewritable_getppid() < 0)
				exit(2);
		for (long i = 0; i < n; i++)
			if (getppid() < 0)
				exit(2);
		printf("xdone\n");
		fflush(stdout);
	}
	return NULL;
}

/* ---- `special`: each round's syscalls (see the header) ---- */

static volatile sig_atomic_t special_handled;
static void special_handler(int sig) { (void)sig; special_handled++; }
static void *special_thread(void *unused) { getppid(); return unused; }

static int sigsys_really_blocked(void)
{
	char line[256];
	unsigned long long blocked = 0;
	FILE *f = fopen("/proc/thread-self/status", "r");
	if (!f)
		return 1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "SigBlk: %llx", &blocked) == 1)
			break;
	fclose(f);
	return (blocked >> (SIGSYS - 1)) & 1;
}

static int special_round(void)
{
	int bad = 0, status;
	pthread_t t;
	bad |= pthread_create(&t, NULL, special_thread, NULL) || pthread_join(t, NULL);
	/* fork(2) itself, not glibc's fork(): its atfork handlers would start
	 * the agent's session thread in the child, whose clone3 counts too */
	pid_t child = (pid_t)syscall(SYS_fork);
	if (child == 0)
		_exit(0);
	bad |= waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status);
	child = vfork();
	if (child == 0) {
		execl("/nonexistent/bpfvm-trace-target", "none", (char *)NULL);
		_exit(0);
	}
	bad |= waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status);
	struct sigaction own = {.sa_handler = special_handler}, old, now;
	sigaction(SIGSYS, &own, &old);
	sigaction(SIGSYS, NULL, &now);
	int before = special_handled;
	raise(SIGSYS);
	bad |= now.sa_handler != special_handler || special_handled != before + 1;
	sigaction(SIGSYS, &old, NULL);
	sigset_t all, prev;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &prev);
	getppid();
	bad |= sigsys_really_blocked();
	sigprocmask(SIG_SETMASK, &prev, NULL);
	sigaction(SIGUSR1, &own, &old);
	raise(SIGUSR1);
	sigaction(SIGUSR1, &old, NULL);
	return bad || special_handled != before + 2;
}

static int serve(void)
{
	char line[128];
	pthread_t w;
	if (pipe(worker_pipe) || pthread_create(&w, NULL, worker, NULL))
		return 5;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (fgets(line, sizeof line, stdin)) {
		if (!strncmp(line, "go ", 3)) {
			calls(atol(line + 3));
			printf("done\n");
		} else if (!strncmp(line, "tgo ", 4)) {
			threaded_calls(atol(line + 4));
			printf("done\n");
		} else if (!strncmp(line, "mgo ", 4)) {
			mallocs(atol(line + 4));
		} else if (!strncmp(line, "xgo ", 4)) {
			long n = atol(line + 4);
			if (write(worker_pipe[1], &n, sizeof n) != sizeof n)
				return 5;
		} else if (!strncmp(line, "ugo ", 4)) {
			usdt_steps(atol(line + 4));
		} else if (!strncmp(line, "bytes", 5)) {
			print_bytes();
		} else if (!strncmp(line, "quit", 4)) {
			break;
		}
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "serve"))
		return serve();
	if (argc != 3)
		return fprintf(stderr, "usage: trace_target run|threads|fork|exec|signals|special|sum|malloc|pids|burst|stack|usdt|greet N | serve\n"), 2;
	long n = atol(argv[2]);
	if (!strcmp(argv[1], "run")) {
		calls(n);
	} else if (!strcmp(argv[1], "threads")) {
		threaded_calls(n);
	} else if (!strcmp(argv[1], "fork")) {
		calls(n);
		pid_t child = fork();
		if (child == 0) {
			usleep(300000);
			calls(n);
			_exit(0);
		}
		int status;
		waitpid(child, &status, 0);
		return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
	} else if (!strcmp(argv[1], "signals")) {
		signal(SIGUSR1, on_usr1);
		calls(n);
		printf("signals %d\n", (int)signals_seen);
	} else if (!strcmp(argv[1], "sum")) {
		long sum = 0;
		for (long i = 0; i < n; i++)
			sum += trace_work(i, 2 * i);
		printf("sum %ld at %p\n", sum, (void *)trace_work);
	} else if (!strcmp(argv[1], "malloc")) {
		mallocs(n);
	} else if (!strcmp(argv[1], "pids")) {
		pids(n);
	} else if (!strcmp(argv[1], "burst")) {
		calls(n);
		usleep(200000);
		calls(1);
	} else if (!strcmp(argv[1], "stack")) {
		printf("stack main %p\n", (void *)main);
		for (long i = 0; i < n; i++)
			stack_outer();
	} else if (!strcmp(argv[1], "usdt")) {
		usdt_steps(n);
	} else if (!strcmp(argv[1], "greet")) {
		static const char hello[] = "hello from greet";
		for (long i = 0; i < n; i++)
			trace_greet(hello);
		trace_greet((const char *)(uintptr_t)8);   /* never mapped */
		printf("greet %ld\n", n);
	} else if (!strcmp(argv[1], "special")) {
		for (long i = 0; i < n; i++)
			if (special_round())
				return 3;
		printf("special %ld\n", n);
	} else if (!strcmp(argv[1], "exec")) {
		execl("/proc/self/exe", argv[0], "run", argv[2], (char *)NULL);
		return 4;
	} else {
		return 2;
	}
	return 0;
}
