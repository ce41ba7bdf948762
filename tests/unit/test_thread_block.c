/*
 * test_thread_block.c - the per-thread blocks of src/base/thread_block.c:
 * one per thread, kept for its life; a thread that ended gives its block
 * to a later one (the pool does not grow with threads made one after
 * another), zeroed; a thread's first block taken in a signal handler; a
 * fork()ed child keeps its thread's block and never takes its parent's
 * threads'; and hook runs (which keep their state in the block) on a
 * thread whose block was taken back from one that ended.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/thread_block.h"
#include "bpfvm/bpfvm.h"
#include "bpfvm/hook.h"
#include "support/check.h"

static size_t block_count(void)
{
	size_t n = 0;
	for (struct thread_block *b = thread_block_first(); b; b = b->next)
		n++;
	return n;
}

/* A thread that takes its block, marks every part, and reports what it
 * found there first (zero: a fresh or a cleared block). */
struct marker {
	struct thread_block *block;
	bool found_zero;
};

static bool part_zero(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static void *mark(void *arg)
{
	struct marker *m = arg;
	struct thread_block *b = thread_block_self();
	m->block = b;
	if (!b)
		return NULL;
	m->found_zero = !b->trace_ctx && !b->hash_spares && !b->prandom_state && !b->run_stack_busy && !b->hook_ready &&
	                part_zero(b->hook, sizeof b->hook) && part_zero(b->agent, sizeof b->agent) &&
	                part_zero(b->run_stack, sizeof b->run_stack) && part_zero(b->memo, sizeof b->memo);
	b->prandom_state = 42;
	b->run_stack_busy = true;
	memset(b->hook, 0xa5, sizeof b->hook);
	memset(b->agent, 0xa5, sizeof b->agent);
	memset(b->run_stack, 0xa5, sizeof b->run_stack);
	memset(b->memo, 0xa5, sizeof b->memo);
	/* the block is this thread's for its life */
	CHECK(thread_block_self() == b && thread_block_current == b, "a thread's block changed");
	return NULL;
}

/* mark(), then wait for the other marker: both alive at once */
static pthread_barrier_t both;

static void *mark_together(void *arg)
{
	mark(arg);
	pthread_barrier_wait(&both);
	return NULL;
}

static void test_one_per_thread(void)
{
	struct thread_block *mine = thread_block_self();
	CHECK(mine && thread_block_self() == mine, "the main thread's block: %p", (void *)mine);
	struct marker a = { 0 }, b = { 0 };
	pthread_t ta, tb;
	pthread_barrier_init(&both, NULL, 2);
	pthread_create(&ta, NULL, mark_together, &a);
	pthread_create(&tb, NULL, mark_together, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_barrier_destroy(&both);
	CHECK(a.block && b.block && a.block != b.block && a.block != mine && b.block != mine,
	      "threads running at once share a block: %p %p %p", (void *)a.block, (void *)b.block, (void *)mine);
}

/* 200 threads one after another: the ended one's block is taken again,
 * cleared. */
static void test_reuse(void)
{
	struct marker first = { 0 };
	pthread_t t;
	pthread_create(&t, NULL, mark, &first);
	pthread_join(t, NULL);
	size_t before = block_count();
	int reused = 0, dirty = 0;
	for (int i = 0; i < 200; i++) {
		struct marker m = { 0 };
		pthread_create(&t, NULL, mark, &m);
		pthread_join(t, NULL);
		reused += m.block == first.block;
		dirty += !m.found_zero;
	}
	CHECK(block_count() <= before + 1, "the pool grew from %zu to %zu blocks over 200 threads made in turn", before,
	      block_count());
	CHECK(dirty == 0, "%d threads found a block of an ended thread not cleared", dirty);
	CHECK(reused > 0, "no ended thread's block was taken again");
}

/* A thread's very first use of its block, in a signal handler. */
static atomic_bool handler_took;

static void on_usr1(int sig)
{
	(void)sig;
	struct thread_block *b = thread_block_self();
	atomic_store(&handler_took, b != NULL && thread_block_current == b);
}

static void *raise_first(void *arg)
{
	(void)arg;
	bool had = thread_block_current != NULL;
	pthread_kill(pthread_self(), SIGUSR1);
	CHECK(!had, "a new thread had a block before its first use");
	return NULL;
}

static void test_in_signal_handler(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 }, old;
	sigaction(SIGUSR1, &sa, &old);
	pthread_t t;
	pthread_create(&t, NULL, raise_first, NULL);
	pthread_join(t, NULL);
	sigaction(SIGUSR1, &old, NULL);
	CHECK(atomic_load(&handler_took), "a thread's first block, taken in a signal handler");
}

/* A fork()ed child: its thread keeps the block it had (its contents too),
 * and a thread it makes takes none of its parent's threads' blocks. */
struct held {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ready, release;
	struct thread_block *block;
};

static void *hold(void *arg)
{
	struct held *h = arg;
	pthread_mutex_lock(&h->lock);
	h->block = thread_block_self();
	h->ready = true;
	pthread_cond_broadcast(&h->cond);
	while (!h->release)
		pthread_cond_wait(&h->cond, &h->lock);
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

static void *report_block(void *arg)
{
	*(struct thread_block **)arg = thread_block_self();
	return NULL;
}

static void test_fork(void)
{
	struct held h = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	pthread_t t;
	pthread_create(&t, NULL, hold, &h);
	pthread_mutex_lock(&h.lock);
	while (!h.ready)
		pthread_cond_wait(&h.cond, &h.lock);
	pthread_mutex_unlock(&h.lock);
	struct thread_block *mine = thread_block_self();
	mine->prandom_state = 7;
	pid_t child = fork();
	if (child == 0) {
		int bad = thread_block_self() != mine || mine->prandom_state != 7;
		for (int i = 0; i < 20; i++) {
			struct thread_block *got = NULL;
			pthread_t c;
			pthread_create(&c, NULL, report_block, &got);
			pthread_join(c, NULL);
			bad |= (got == mine || got == h.block || !got) << 1;
		}
		_exit(bad);
	}
	int st = 0;
	waitpid(child, &st, 0);
	CHECK(WIFEXITED(st) && !(WEXITSTATUS(st) & 1), "the child's thread lost its block or its contents");
	CHECK(WIFEXITED(st) && !(WEXITSTATUS(st) & 2), "a child's thread took its parent's threads' blocks");
	pthread_mutex_lock(&h.lock);
	h.release = true;
	pthread_cond_broadcast(&h.cond);
	pthread_mutex_unlock(&h.lock);
	pthread_join(t, NULL);
}

/* Hook runs keep their registration in the block: a thread on a block
 * taken back from an ended thread that ran hooks runs them right. */
static const char *count_text =
	"mov %r2, 1\n"
	"lock add [%r1], %r2\n"
	"mov %r0, 7\n"
	"exit\n";

struct runner {
	bpfvm_hook *hook;
	uint64_t counter;
	int bad;
};

static void *run_hooks(void *arg)
{
	struct runner *r = arg;
	for (int i = 0; i < 100; i++) {
		uint64_t result = 0;
		if (bpfvm_hook_run(r->hook, &r->counter, &result, NULL) || result != 7)
			r->bad++;
	}
	return NULL;
}

static void test_hook_runs_on_reused_blocks(void)
{
	bpfvm_error err = { 0 };
	bpfvm_insn *insns = NULL;
	size_t count = 0;
	bpfvm_program *prog = NULL;
	bpfvm_hook *hook = NULL;
	BPFVM_OPTS(bpfvm_hook_opts, ho, .name = "count", .ctx_kind = BPFVM_HOOK_CTX_MEM, .ctx_size = 8);
	BPFVM_OPTS(bpfvm_load_opts, lo, .jit = true, .prog_type = BPFVM_PROG_TYPE_RAW);
	uint64_t link;
	if (!CHECK(bpfvm_asm(count_text, &insns, &count, &err) == 0, "assemble: %s", err.msg) ||
	    !CHECK(bpfvm_program_load(insns, count, &lo, &prog, &err) == 0, "load: %s", err.msg) ||
	    !CHECK(bpfvm_hook_new(&ho, &hook, &err) == 0, "hook: %s", err.msg) ||
	    !CHECK(bpfvm_hook_attach(hook, prog, &link, &err) == 0, "attach: %s", err.msg))
		goto out;
	struct runner r = { .hook = hook };
	for (int i = 0; i < 50; i++) {
		pthread_t t;
		pthread_create(&t, NULL, run_hooks, &r);
		pthread_join(t, NULL);
	}
	CHECK(r.bad == 0 && r.counter == 5000, "hook runs over reused blocks: %d bad, counter %lu", r.bad,
	      (unsigned long)r.counter);
	CHECK(bpfvm_hook_detach(hook, link, &err) == 0, "detach (a grace period over every block): %s", err.msg);
out:
	bpfvm_hook_free(hook);
	bpfvm_program_free(prog);
	free(insns);
}

int main(void)
{
	test_one_per_thread();
	test_reuse();
	test_in_signal_handler();
	test_fork();
	test_hook_runs_on_reused_blocks();
	return check_summary();
}
