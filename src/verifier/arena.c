/*
 * arena.c - the verification's arena (arena.h): blocks from 64 KiB,
 * doubling up to 4 MiB, so that a small program's verification takes
 * one small block and a walk to the 1M-instruction limit a few dozen
 * large ones.  Blocks of 2 MiB and more are mapped apart with their
 * pages made at once (MAP_POPULATE): a long walk's hundred megabytes
 * would otherwise fault in 4 KiB at a time.  Not as huge pages: on a
 * machine whose memory is fragmented, the kernel compacts memory to
 * make them, which took longer than the faults it saved.  Given back,
 * they are kept mapped for the next verification in the process, up to
 * ARENA_KEEP bytes, their pages marked free (MADV_FREE): the kernel
 * takes them back when it needs memory, and until then the next
 * verification writes them without a fault (making and clearing a
 * long walk's pages cost as much as a quarter of the walk).  With none
 * kept, the next large block is made on a thread of its own while the
 * walk fills the current one: making a 4 MiB block's pages takes
 * 1.2-1.4 ms here, which a first verification in a process otherwise
 * waits for block after block (bad_for_each_elem of the loop suite: 26
 * MiB, ~8 ms of its ~112).
 *
 * Owns: arena_alloc(), arena_free_all(), the process's kept blocks, the
 * block made ahead (struct arena_filler).
 */
#include "verifier/arena.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define ARENA_FIRST (64u << 10)
#define ARENA_LAST (4u << 20)
#define ARENA_MAPPED (2u << 20)   /* blocks this large are mmap()ed */
#define ARENA_ALIGN 16
#define ARENA_KEEP (128u << 20)   /* mapped blocks kept between verifications */

struct arena_block {
	struct arena_block *next;
	size_t size;                 /* the whole block, this header too */
	bool mapped;
	/* the block's memory follows, from the next 16-byte boundary */
};

#define BLOCK_HEAD ((sizeof(struct arena_block) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))

/* Mapped blocks given back, for the next verification.  Taken and given
 * only if the lock is free at once: a child forked while another thread
 * held it goes on without them rather than wait for ever. */
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
static struct arena_block *kept_blocks;
static size_t kept_bytes;

static struct arena_block *kept_take(size_t size)
{
	struct arena_block *b = NULL;
	if (pthread_mutex_trylock(&kept_lock))
		return NULL;
	for (struct arena_block **pp = &kept_blocks; *pp; pp = &(*pp)->next)
		if ((*pp)->size == size) {
			b = *pp;
			*pp = b->next;
			kept_bytes -= size;
			break;
		}
	pthread_mutex_unlock(&kept_lock);
	return b;
}

/* Whether b (mapped) is kept; its pages but the first (its header) are
 * the kernel's to take back. */
static bool kept_give(struct arena_block *b)
{
	if (pthread_mutex_trylock(&kept_lock))
		return false;
	bool keep = kept_bytes + b->size <= ARENA_KEEP;
	if (keep) {
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		madvise((char *)b + page, b->size - page, MADV_FREE);
		b->next = kept_blocks;
		kept_blocks = b;
		kept_bytes += b->size;
	}
	pthread_mutex_unlock(&kept_lock);
	return keep;
}

/* Whether a block of size is kept (a hint: another thread may take it). */
static bool kept_has(size_t size)
{
	bool has = false;
	if (pthread_mutex_trylock(&kept_lock))
		return false;
	for (struct arena_block *b = kept_blocks; b && !has; b = b->next)
		has = b->size == size;
	pthread_mutex_unlock(&kept_lock);
	return has;
}

/* A block given back: kept, or unmapped (mapped ones), or freed. */
static void block_give(struct arena_block *b)
{
	if (!b->mapped)
		free(b);
	else if (!kept_give(b))
		munmap(b, b->size);
}

static struct arena_block *block_map(size_t size)
{
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	struct arena_block *b = m;
	b->size = size;
	b->mapped = true;
	return b;
}

static struct arena_block *block_new(size_t size)
{
	if (size >= ARENA_MAPPED) {
		struct arena_block *b = kept_take(size);
		return b ? b : block_map(size);
	}
	struct arena_block *b = malloc(size);
	if (b) {
		b->size = size;
		b->mapped = false;
	}
	return b;
}

/* ---- the block made ahead ------------------------------------------------ */

struct arena_filler {
	pthread_t thread;
	size_t size;
	struct arena_block *made;    /* NULL: out of memory */
};

static void *filler_run(void *arg)
{
	struct arena_filler *f = arg;
	f->made = block_map(f->size);
	return NULL;
}

/* Starts making a block of size on a thread of its own, if none is
 * being made and none is kept to take instead.  The thread takes no
 * signal (an embedding program's handlers expect its own threads). */
static void filler_start(struct arena *a, size_t size)
{
	if (a->filler || kept_has(size))
		return;
	struct arena_filler *f = calloc(1, sizeof *f);
	if (!f)
		return;
	f->size = size;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&f->thread, NULL, filler_run, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		/* (the block is then made when it is needed) */
		free(f);
		return;
	}
	a->filler = f;
}

/* The block being made, once made (NULL if none was started or it
 * could not be made). */
static struct arena_block *filler_take(struct arena *a)
{
	struct arena_filler *f = a->filler;
	if (!f)
		return NULL;
	pthread_join(f->thread, NULL);
	struct arena_block *b = f->made;
	free(f);
	a->filler = NULL;
	return b;
}

void *arena_alloc(struct arena *a, size_t size)
{
	size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if ((size_t)(a->end - a->at) < size) {
		size_t want = a->next_size ? a->next_size : ARENA_FIRST;
		while (want - BLOCK_HEAD < size)
			want *= 2;
		struct arena_block *b = NULL;
		if (a->filler && a->filler->size == want && !kept_has(want)) {
			b = filler_take(a);
			if (b)
				a->made_ahead++;
		}
		if (!b && !(b = block_new(want)))
			return NULL;
		b->next = a->blocks;
		a->blocks = b;
		a->at = (char *)b + BLOCK_HEAD;
		a->end = (char *)b + want;
		a->next_size = want < ARENA_LAST ? want * 2 : want;
		/* the next one, while this one fills */
		if (a->next_size >= ARENA_MAPPED)
			filler_start(a, a->next_size);
	}
	void *p = a->at;
	a->at += size;
	return p;
}

void arena_free_all(struct arena *a)
{
	struct arena_block *ahead = filler_take(a);
	if (ahead)
		block_give(ahead);
	for (struct arena_block *b = a->blocks, *next; b; b = next) {
		next = b->next;
		block_give(b);
	}
	a->blocks = NULL;
	a->at = a->end = NULL;
	a->next_size = 0;
}
