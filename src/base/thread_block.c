/*
 * thread_block.c - the pool of per-thread blocks (thread_block.h).
 *
 * Blocks are mapped one at a time (mmap is a system call: a signal
 * handler may make it) and linked, with a compare-and-swap, into a list
 * that only grows: readers walk it without a lock, and a block is never
 * unmapped.  A thread's block is taken back, for a later thread, once its
 * thread is gone: not when its key's destructor runs (the thread may
 * still make system calls a syscall hook runs on, and a new thread taking
 * the block then would share its state), but once tgkill(2) finds no
 * thread of that id.  The key's destructor marks the block exiting, and
 * only a block so marked is taken back: taking one asks only about threads
 * that ended, and a fork()ed child never takes its parent's threads'
 * blocks (nor its own thread's, whose owner is the parent's id).  A
 * process that already has 32 keys gets a key whose value glibc may
 * allocate room for (not in a signal handler): then blocks are not
 * marked, nor taken back.
 *
 * Taking a block calls no function of the C library before the block is
 * the thread's (its system calls are made here, its zeroing a loop): the
 * trace agent takes one at a thread's first event, before that thread
 * has a recursion guard, so a probe on getpid, mmap or madvise would
 * otherwise meet its own event inside it and take a block again, until
 * the stack ran out.
 *
 * Owns: thread_block_current, the list of blocks, the exit key.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/thread_block.h"

__thread struct thread_block *thread_block_current THREAD_BLOCK_TLS_MODEL;

static _Atomic(struct thread_block *) blocks;
static pthread_key_t exit_key;
/* The key exists and is one whose value glibc keeps in the thread's
 * descriptor (below PTHREAD_KEY_2NDLEVEL_SIZE, 32): setting it allocates
 * nothing. */
static bool exit_key_marks;

static void thread_ended(void *block)
{
	struct thread_block *b = block;
	atomic_store_explicit(&b->exiting, true, memory_order_release);
}

/* At load: the key is made here, not at a thread's first block, which
 * may be taken in a signal handler. */
__attribute__((constructor)) static void thread_block_init(void)
{
	exit_key_marks = pthread_key_create(&exit_key, thread_ended) == 0 && exit_key < 32;
}

/* A library unloaded must not leave its destructor to a thread's exit. */
__attribute__((destructor)) static void thread_block_fini(void)
{
	if (exit_key_marks) {
		exit_key_marks = false;
		pthread_key_delete(exit_key);
	}
}

/* A system call made here, not through the C library (see the header). */
static long block_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	register long r10 __asm__("r10") = a3, r8 __asm__("r8") = a4, r9 __asm__("r9") = a5;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

struct thread_block *thread_block_first(void)
{
	return atomic_load_explicit(&blocks, memory_order_acquire);
}

/* Whether the thread b was taken for is gone (its exit marked, and no
 * thread has its id). */
static bool owner_gone(struct thread_block *b, pid_t owner)
{
	return atomic_load_explicit(&b->exiting, memory_order_acquire) &&
	       block_syscall(SYS_tgkill, block_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0), owner, 0, 0, 0, 0) == -ESRCH;
}

/* Takes b for me if it is free; its parts zeroed. */
static bool block_take(struct thread_block *b, pid_t me)
{
	pid_t owner = atomic_load_explicit(&b->owner, memory_order_relaxed);
	if (!owner || !owner_gone(b, owner) ||
	    !atomic_compare_exchange_strong(&b->owner, &owner, me))
		return false;
	atomic_store_explicit(&b->exiting, false, memory_order_relaxed);
	volatile unsigned char *small = (unsigned char *)&b->trace_ctx;   /* volatile: no call of memset */
	for (size_t i = 0; i < offsetof(struct thread_block, hook) - offsetof(struct thread_block, trace_ctx); i++)
		small[i] = 0;
	block_syscall(SYS_madvise, (long)b->hook, (long)(sizeof *b - offsetof(struct thread_block, hook)), MADV_DONTNEED,
		      0, 0, 0);
	return true;
}

static struct thread_block *block_new(pid_t me)
{
	long addr = block_syscall(SYS_mmap, 0, sizeof(struct thread_block), PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (addr < 0 && addr > -4096)
		return NULL;
	struct thread_block *b = (struct thread_block *)addr;
	atomic_init(&b->owner, me);
	atomic_init(&b->exiting, false);
	struct thread_block *head = atomic_load_explicit(&blocks, memory_order_relaxed);
	do
		b->next = head;
	while (!atomic_compare_exchange_weak_explicit(&blocks, &head, b, memory_order_release, memory_order_relaxed));
	return b;
}

struct thread_block *thread_block_take(void)
{
	int saved_errno = errno;   /* a signal handler's caller keeps its errno */
	pid_t me = (pid_t)block_syscall(SYS_gettid, 0, 0, 0, 0, 0, 0);
	struct thread_block *b;
	for (b = thread_block_first(); b; b = b->next)
		if (block_take(b, me))
			break;
	if (!b)
		b = block_new(me);
	if (b) {
		thread_block_current = b;   /* before the C library's pthread_setspecific: the block is the thread's */
		if (exit_key_marks)
			pthread_setspecific(exit_key, b);
	}
	errno = saved_errno;
	return b;
}
