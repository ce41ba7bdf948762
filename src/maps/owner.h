/*
 * owner.h - who holds what in shared memory: the calling process's owner
 * token, whether the process behind a token still lives, waiting on a
 * word another process holds, and the cross-process spin locks built on
 * them.
 *
 * Every lock word in an arena holds its holder's token while held (0 when
 * free), and every element or record a process has taken out of a shared
 * structure and not yet published records the token too.  A process
 * killed at any instruction therefore leaves behind words naming a dead
 * process, which a waiter recognises (after a bounded spin, never on an
 * uncontended operation) and takes over; the structure's code then
 * repairs what the dead holder left half-done.
 *
 * A token is the process id (22 bits: Linux's PID_MAX_LIMIT) and the low
 * 10 bits of the process's start time in clock ticks, so a reused pid is
 * not mistaken for the holder unless the new process started a multiple
 * of 1024 ticks (10.24 s at 100 Hz) after the old one; even then the only
 * effect is that a takeover waits until that process has exited.  Tokens
 * are pids of the holder's pid namespace: processes sharing maps must
 * share one.
 */
#ifndef BPFVM_MAPS_OWNER_H
#define BPFVM_MAPS_OWNER_H

#include <stdbool.h>
#include <stdint.h>

#define OWNER_PID_BITS 22u
#define OWNER_PID_MASK ((1u << OWNER_PID_BITS) - 1)

/* A page of the process's own, marked MADV_WIPEONFORK: a fork()ed child
 * reads its token as 0 and makes its own, with no getpid() on the hot
 * path.  NULL until the first token is asked for. */
extern uint32_t *owner_token_page;
uint32_t owner_token_slow(void);

/* The calling process's token (never 0). */
static inline uint32_t owner_self(void)
{
	uint32_t *page = __atomic_load_n(&owner_token_page, __ATOMIC_ACQUIRE);
	uint32_t token = page ? __atomic_load_n(page, __ATOMIC_RELAXED) : 0;
	return token ? token : owner_token_slow();
}

static inline uint32_t owner_pid(uint32_t token) { return token & OWNER_PID_MASK; }

/* Whether the process behind token lives (and is not a zombie).  A token
 * of the caller is alive; 0 or a token whose pid is not running is not.
 * System calls: for use after a bounded spin, never on a fast path. */
bool owner_alive(uint32_t token);

/* Waiting for a word held by another process.  Spins, then yields; from
 * OWNER_CHECK_AFTER_NS of waiting on, checks now and then whether the
 * holder is alive.  deadline_ns (CLOCK_MONOTONIC, 0: none) bounds the wait
 * for callers that must give up (checked-mode programs). */
#define OWNER_CHECK_AFTER_NS 1000000ull      /* 1 ms: far above any hold time */
#define OWNER_CHECK_EVERY_NS 10000000ull     /* then every 10 ms */

enum owner_wait_result { OWNER_WAIT_AGAIN, OWNER_WAIT_DEAD, OWNER_WAIT_TIMEOUT };

struct owner_wait {
	unsigned spins;
	uint64_t started_ns, next_check_ns;
	uint64_t deadline_ns;
	uint32_t checked_token;    /* last token seen alive with a start-time check */
};

static inline void owner_wait_init(struct owner_wait *w, uint64_t deadline_ns)
{
	*w = (struct owner_wait){ .deadline_ns = deadline_ns };
}

/* One round of waiting on a word held by token: DEAD when the holder is
 * found dead (the caller then tries to take the word over), TIMEOUT past
 * the deadline, AGAIN otherwise. */
enum owner_wait_result owner_wait_step(struct owner_wait *w, uint32_t token);

uint64_t owner_now_ns(void);

/* ---- spin locks: the word is the holder's token, 0 when free ---------- */

/* The contended path of spin_lock(): waits, taking the lock over from a
 * dead holder.  Returns 1 if it was taken over, 0 if taken normally, or
 * -ETIMEDOUT past deadline_ns (0: never). */
int spin_lock_wait(uint32_t *lock, uint32_t self, uint64_t deadline_ns);

/* Takes the lock; true if it was taken over from a dead holder, in which
 * case what it guards may be half-updated and the caller repairs it. */
static inline bool spin_lock(uint32_t *lock)
{
	uint32_t self = owner_self(), free_word = 0;
	if (__builtin_expect(__atomic_compare_exchange_n(lock, &free_word, self, false, __ATOMIC_ACQUIRE,
	                                                 __ATOMIC_RELAXED), 1))
		return false;
	return spin_lock_wait(lock, self, 0) == 1;
}

static inline bool spin_trylock(uint32_t *lock)
{
	uint32_t free_word = 0;
	return __atomic_compare_exchange_n(lock, &free_word, owner_self(), false, __ATOMIC_ACQUIRE,
	                                   __ATOMIC_RELAXED);
}

static inline void spin_unlock(uint32_t *lock)
{
	__atomic_store_n(lock, 0u, __ATOMIC_RELEASE);
}

/* The holder's token, 0 if free. */
static inline uint32_t spin_holder(const uint32_t *lock)
{
	return __atomic_load_n(lock, __ATOMIC_RELAXED);
}

#endif
