/*
 * map_lock.h - the spin locks of every map type but the hash family
 * (hash.c counts its own), safe when a program runs in a signal handler
 * that interrupted its own thread inside a map operation (the trace
 * agent's SIGSYS and SIGTRAP hooks run programs there).
 *
 * A lock word names its holding process (owner.h), not its thread, so a
 * thread waiting for a word its own interrupted code holds would wait
 * forever.  As hash.c does, every lock taken here is counted in the
 * thread's block (base/thread_block.h: map_locks) before it is tried (a
 * signal between the take and the count must find it counted) and
 * uncounted after it is released.  A try that finds the word held while
 * the count was already non-zero fails with -EBUSY instead of waiting:
 * no map operation takes one of these locks while holding another, so
 * only a signal handler that interrupted the thread in a map operation
 * (or a handler interrupting that handler) gets there -- the kernel's
 * in_nmi() raw_spin_trylock() of queue/stack maps and ring buffers, the
 * -EBUSY of its resilient spin locks since 6.15.  Like the kernel's
 * trylock it may fail on a lock another thread holds; it never waits on
 * its own.  The uncontended path is one compare-and-swap, as spin_lock()'s,
 * and two stores to the thread's block.
 *
 * Owns: map_lock(), map_unlock().
 */
#ifndef BPFVM_MAPS_MAP_LOCK_H
#define BPFVM_MAPS_MAP_LOCK_H

#include <errno.h>

#include "base/thread_block.h"
#include "maps/owner.h"

/* The contended path of map_lock(): *lock was found held, and the
 * thread's count includes this try.  Out of line, so that the fast path
 * keeps nothing live across its compare-and-swap. */
static __attribute__((unused, noinline, cold)) int map_lock_contended(uint32_t *lock, uint32_t self)
{
	struct thread_block *tb = thread_block_current;
	if (tb != NULL && tb->map_locks > 1) {
		__atomic_store_n(&tb->map_locks, tb->map_locks - 1, __ATOMIC_RELAXED);
		return -EBUSY;
	}
	return spin_lock_wait(lock, self, 0) == 1;
}

/* Takes *lock: 0 if taken, 1 if taken over from a dead holder (what it
 * guards may be half-updated: the caller repairs it), -EBUSY if it is
 * held and the thread holds a map lock already (see the top). */
static inline __attribute__((always_inline)) int map_lock(uint32_t *lock)
{
	struct thread_block *tb = thread_block_self();
	if (__builtin_expect(tb != NULL, 1))
		__atomic_store_n(&tb->map_locks, tb->map_locks + 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	uint32_t self = owner_self(), free_word = 0;
	if (__builtin_expect(__atomic_compare_exchange_n(lock, &free_word, self, false, __ATOMIC_ACQUIRE,
	                                                 __ATOMIC_RELAXED), 1))
		return 0;
	return map_lock_contended(lock, self);
}

static inline __attribute__((always_inline)) void map_unlock(uint32_t *lock)
{
	spin_unlock(lock);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	struct thread_block *tb = thread_block_current;
	if (__builtin_expect(tb != NULL, 1))
		__atomic_store_n(&tb->map_locks, tb->map_locks - 1, __ATOMIC_RELAXED);
}

#endif
