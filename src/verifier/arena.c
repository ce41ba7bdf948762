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
 * long walk's pages cost as much as a quarter of the walk).
 *
 * Owns: arena_alloc(), arena_free_all(), the process's kept blocks.
 */
#include "verifier/arena.h"

#include <pthread.h>
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

static struct arena_block *block_new(size_t size)
{
	struct arena_block *b;
	bool mapped = size >= ARENA_MAPPED;
	if (mapped && (b = kept_take(size)))
		return b;
	if (mapped) {
		void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (m == MAP_FAILED)
			return NULL;
		b = m;
	} else if (!(b = malloc(size))) {
		return NULL;
	}
	b->size = size;
	b->mapped = mapped;
	return b;
}

void *arena_alloc(struct arena *a, size_t size)
{
	size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if ((size_t)(a->end - a->at) < size) {
		size_t want = a->next_size ? a->next_size : ARENA_FIRST;
		while (want - BLOCK_HEAD < size)
			want *= 2;
		struct arena_block *b = block_new(want);
		if (!b)
			return NULL;
		b->next = a->blocks;
		a->blocks = b;
		a->at = (char *)b + BLOCK_HEAD;
		a->end = (char *)b + want;
		a->next_size = want < ARENA_LAST ? want * 2 : want;
	}
	void *p = a->at;
	a->at += size;
	return p;
}

void arena_free_all(struct arena *a)
{
	for (struct arena_block *b = a->blocks, *next; b; b = next) {
		next = b->next;
		if (!b->mapped)
			free(b);
		else if (!kept_give(b))
			munmap(b, b->size);
	}
	a->blocks = NULL;
	a->at = a->end = NULL;
	a->next_size = 0;
}
