/*
 * arena.h - one verification's memory for what its walk makes by the
 * ten thousand (packed states, histories' arrays, records of kept
 * states, paths pruned at a loop's fixed point): taken from large blocks
 * in order and given back all at once when the verification ends.
 *
 * Owns: struct arena, arena_alloc(), arena_free_all().  What is freed
 * during the walk goes to the owners' own free lists (states.c,
 * precision.c, scc.c), never back to the arena.
 */
#ifndef BPFVM_VERIFIER_ARENA_H
#define BPFVM_VERIFIER_ARENA_H

#include <stddef.h>

struct arena_block;
struct arena_filler;

struct arena {
	struct arena_block *blocks;  /* newest first */
	char *at, *end;              /* the newest block's free part */
	size_t next_size;            /* the next block's size */
	/* the next large block, made on a thread of its own while the walk
	 * fills this one (arena.c); NULL if none is being made */
	struct arena_filler *filler;
	unsigned made_ahead;         /* blocks taken from it (tests read it) */
};

/* size bytes aligned to 16, uninitialised; NULL when out of memory. */
void *arena_alloc(struct arena *a, size_t size);
/* Gives back every block; the arena is empty again. */
void arena_free_all(struct arena *a);

#endif
