/*
 * prethreads_target.c - the program tests/cli_trace_prethreads.sh traces
 * (built without sanitizers, as any traced program): threads made before
 * any tracer came, asleep in read(), whose events then come only from
 * signal handlers of the agent injected meanwhile.
 *
 *   prethreads_target serve [W]  makes W workers (8 if not given, at most
 *                             512) and one more ("the leaver"), each asleep
 *                             in read() on its own pipe, prints "ready PID",
 *                             then reads commands from stdin:
 *     go N     each of the workers makes N getppid through a syscall site
 *              no tracer can rewrite (the SIGSYS path) and N calls of
 *              tiny_work(), too short for a trampoline (the int3 path);
 *              then "done"
 *     new N    the same in a thread made now; then "done"
 *     leave N  the same in the leaver, which then returns (its thread
 *              ends while the tracer is attached); then "done"
 *     quit
 *
 * Nothing else calls getppid or tiny_work.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_WORKERS 512

/* mov, ret: 4 bytes, where a jump needs 5, so its probe is an int3 */
__asm__(".text\n"
        ".globl tiny_work\n"
        ".type tiny_work, @function\n"
        "tiny_work:\n"
        "	mov %rdi, %rax\n"
        "	ret\n"
        ".size tiny_work, .-tiny_work\n");
long tiny_work(long i);

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

static int done_pipe[2];

static void events(long n)
{
	for (long i = 0; i < n; i++)
		if (unrewritable_getppid() < 0 || tiny_work(i) != i)
			exit(2);
}

/* A worker: sleeps in read() on its pipe until a count comes; once only
 * (once) for the leaver. */
struct worker {
	int pipe[2];
	bool once;
	pthread_t thread;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	long n;
	while (read(w->pipe[0], &n, sizeof n) == sizeof n) {
		events(n);
		char c = 1;
		if (write(done_pipe[1], &c, 1) != 1)
			exit(3);
		if (w->once)
			break;
	}
	return NULL;
}

static int start(struct worker *w, bool once)
{
	w->once = once;
	return pipe(w->pipe) || pthread_create(&w->thread, NULL, work, w);
}

static int wait_done(int count)
{
	for (int k = 0; k < count; k++) {
		char c;
		if (read(done_pipe[0], &c, 1) != 1)
			return 5;
	}
	return 0;
}

static int tell(struct worker *w, long n)
{
	return write(w->pipe[1], &n, sizeof n) != sizeof n;
}

int main(int argc, char **argv)
{
	static struct worker workers[MAX_WORKERS], leaver, newcomer;
	char line[128];
	int count = argc == 3 ? atoi(argv[2]) : 8;
	if (argc < 2 || argc > 3 || strcmp(argv[1], "serve") || count < 1 || count > MAX_WORKERS)
		return fprintf(stderr, "usage: prethreads_target serve [WORKERS]\n"), 2;
	if (pipe(done_pipe) || start(&leaver, true))
		return 5;
	for (int i = 0; i < count; i++)
		if (start(&workers[i], false))
			return 5;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (fgets(line, sizeof line, stdin)) {
		int rc = 0;
		if (!strncmp(line, "go ", 3)) {
			for (int i = 0; i < count; i++)
				rc |= tell(&workers[i], atol(line + 3));
			rc = rc ? 5 : wait_done(count);
		} else if (!strncmp(line, "new ", 4)) {
			rc = start(&newcomer, true) || tell(&newcomer, atol(line + 4)) ? 5 : wait_done(1);
			pthread_join(newcomer.thread, NULL);
		} else if (!strncmp(line, "leave ", 6)) {
			rc = tell(&leaver, atol(line + 6)) ? 5 : wait_done(1);
			pthread_join(leaver.thread, NULL);
		} else if (!strncmp(line, "quit", 4)) {
			break;
		}
		if (rc)
			return rc;
		printf("done\n");   /* a thread that ended is gone by now: joined */
		fflush(stdout);
	}
	return 0;
}
