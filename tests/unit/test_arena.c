/*
 * test_arena.c - tests of the verifier's arena (src/verifier/arena.c).
 *
 * Owns the checks that
 *   1. every allocation is 16-byte aligned, writable, and apart from every
 *      other, across blocks of every size (malloc'd ones, mapped ones,
 *      and those made ahead on a thread of their own), and an allocation
 *      larger than a block gets a block of its own;
 *   2. an arena growing past a few large blocks takes blocks made ahead
 *      (none kept in the process yet), and after it is given back the
 *      next arena takes the kept ones instead;
 *   3. an arena given back while a block is still being made ahead, and
 *      arenas used by several threads at once, leave nothing behind
 *      (the sanitizer build checks for leaks).
 *
 * A plain program: one line per failure, then "N passed, M failed".
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "support/check.h"
#include "verifier/arena.h"

struct piece {
	unsigned char *p;
	size_t size;
	unsigned char mark;
};

/* Allocates pieces of varied sizes (some larger than any block) until
 * total bytes, writing each with its own mark; then checks every mark
 * is intact, which fails if two pieces overlap.  NULL if all held, else
 * what failed (in why, of why_size bytes).  Counts nothing itself: the
 * worker threads call it too. */
static const char *fill_and_check(struct arena *a, size_t total, struct piece *pieces, size_t cap, char *why,
                                  size_t why_size)
{
	size_t n = 0, done = 0;
	uint32_t seed = 12345;
	while (done < total && n < cap) {
		seed = seed * 1103515245u + 12345u;
		size_t size = 1 + (seed >> 8) % 3000;
		if (n % 997 == 500)
			size = (5u << 20) + 3;   /* more than a 4 MiB block */
		unsigned char *p = arena_alloc(a, size);
		if (!p) {
			snprintf(why, why_size, "arena_alloc(%zu) failed after %zu bytes", size, done);
			return why;
		}
		if ((uintptr_t)p & 15) {
			snprintf(why, why_size, "piece %zu at %p is not 16-byte aligned", n, (void *)p);
			return why;
		}
		pieces[n] = (struct piece){ .p = p, .size = size, .mark = (unsigned char)(n * 37 + 1) };
		memset(p, pieces[n].mark, size);
		done += size;
		n++;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < pieces[i].size; j += 509)
			if (pieces[i].p[j] != pieces[i].mark || pieces[i].p[pieces[i].size - 1] != pieces[i].mark) {
				snprintf(why, why_size, "piece %zu (%zu bytes) was overwritten by another", i,
				         pieces[i].size);
				return why;
			}
	return NULL;
}

#define PIECES 60000

static struct piece pieces_main[PIECES];

static void test_fill_and_made_ahead(void)
{
	/* the process keeps no block yet: past the first few megabytes each
	 * large block is made ahead */
	char why[160];
	const char *failed_at;
	struct arena a = { 0 };
	failed_at = fill_and_check(&a, 60u << 20, pieces_main, PIECES, why, sizeof why);
	CHECK(!failed_at, "an arena of 60 MiB: %s", failed_at);
	CHECK(a.made_ahead >= 5, "an arena of 60 MiB took %u blocks made ahead, wants at least 5", a.made_ahead);
	arena_free_all(&a);
	CHECK(!a.blocks && !a.filler && !a.at && !a.end, "arena_free_all left the arena non-empty");

	/* its blocks are kept now: the next arena of that size takes those,
	 * none made ahead */
	struct arena b = { 0 };
	failed_at = fill_and_check(&b, 40u << 20, pieces_main, PIECES, why, sizeof why);
	CHECK(!failed_at, "an arena of 40 MiB after one given back: %s", failed_at);
	CHECK(b.made_ahead == 0, "with blocks kept, an arena took %u made ahead", b.made_ahead);
	arena_free_all(&b);
}

static void test_given_back_while_making(void)
{
	/* 3 MiB: the 2 MiB block is in use and the 4 MiB one being made */
	for (int round = 0; round < 20; round++) {
		char why[160];
		struct arena a = { 0 };
		const char *failed_at = fill_and_check(&a, 3u << 20, pieces_main, PIECES, why, sizeof why);
		CHECK(!failed_at, "round %d: %s", round, failed_at);
		arena_free_all(&a);
		CHECK(!a.filler, "round %d: a block being made ahead outlived its arena", round);
		/* the arena is usable again after being given back */
		void *p = arena_alloc(&a, 100);
		CHECK(p != NULL, "round %d: an arena given back gives nothing more", round);
		arena_free_all(&a);
	}
}

struct worker {
	pthread_t thread;
	struct piece pieces[PIECES / 4];
	char why[160];
	const char *failed_at;       /* NULL: every round held */
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	w->failed_at = NULL;
	for (int round = 0; round < 3 && !w->failed_at; round++) {
		struct arena a = { 0 };
		w->failed_at = fill_and_check(&a, 24u << 20, w->pieces, PIECES / 4, w->why, sizeof w->why);
		arena_free_all(&a);
	}
	return NULL;
}

static struct worker workers[3];

static void test_threads(void)
{
	for (int i = 0; i < 3; i++)
		CHECK(pthread_create(&workers[i].thread, NULL, worker_run, &workers[i]) == 0, "thread %d not made", i);
	for (int i = 0; i < 3; i++) {
		pthread_join(workers[i].thread, NULL);
		CHECK(!workers[i].failed_at, "thread %d: %s", i, workers[i].failed_at);
	}
}

int main(void)
{
	test_fill_and_made_ahead();
	test_given_back_while_making();
	test_threads();
	return check_summary();
}
