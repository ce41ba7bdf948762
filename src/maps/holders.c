/*
 * holders.c - who holds what in a map, and cleaning up after the dead.
 *
 * Owns: the arena's users table (the processes that have a map open,
 * by owner token), the reclaim an open makes when it finds one of them
 * dead, bpfvm_map_reclaim() and bpfvm_map_holders() over the types'
 * reclaim and holders operations, and the reporting of lock words inside
 * values (struct bpf_spin_lock), which several types share.
 */
#include <stdlib.h>

#include "maps/map_internal.h"

static struct arena_users *users_of(const bpfvm_map *map)
{
	size_t off = (sizeof(struct arena_header) + 63) & ~(size_t)63;
	return (struct arena_users *)(void *)(map->base + off);
}

/* Clears the slots of dead users; true if there were any. */
static bool users_forget_dead(struct arena_users *u)
{
	bool found = false;
	for (unsigned i = 0; i < ARENA_USERS; i++) {
		uint32_t t = __atomic_load_n(&u->token[i], __ATOMIC_RELAXED);
		if (t && !owner_alive(t) &&
		    __atomic_compare_exchange_n(&u->token[i], &t, 0, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			found = true;
	}
	return found;
}

void map_users_attach(bpfvm_map *map)
{
	if (!map->base)
		return;
	struct arena_users *u = users_of(map);
	map->users = u;
	uint32_t self = owner_self();
	if (users_forget_dead(u) && map->ops->reclaim)
		map->ops->reclaim(map);
	for (unsigned i = 0; i < ARENA_USERS; i++)
		if (__atomic_load_n(&u->token[i], __ATOMIC_RELAXED) == self)
			return;   /* this process has it open already */
	for (unsigned i = 0; i < ARENA_USERS; i++) {
		uint32_t free_slot = 0;
		if (__atomic_compare_exchange_n(&u->token[i], &free_slot, self, false, __ATOMIC_RELAXED,
		                                __ATOMIC_RELAXED))
			return;
	}
}

/* The process lets go of the map.  If it has the map open more than once
 * its slot goes with the first close: the slot is a hint for opens, not
 * a reference count (locks are taken over whether or not it is there). */
void map_users_detach(bpfvm_map *map)
{
	uint32_t self = owner_self();
	for (unsigned i = 0; i < ARENA_USERS; i++) {
		uint32_t t = self;
		if (__atomic_compare_exchange_n(&map->users->token[i], &t, 0, false, __ATOMIC_RELAXED,
		                                __ATOMIC_RELAXED))
			return;
	}
}

void map_report_value_locks(const bpfvm_map *map, const uint8_t *first, uint64_t count, size_t stride,
                            map_holder_fn report, void *ctx)
{
	if (map->spin_lock_off < 0)
		return;
	for (uint64_t i = 0; i < count; i++) {
		const uint32_t *word = (const uint32_t *)(const void *)(first + i * stride + map->spin_lock_off);
		uint32_t t = spin_holder(word);
		if (t)
			report(ctx, "value lock", i, t);
	}
}

void map_release_dead_value_locks(const bpfvm_map *map, uint8_t *first, uint64_t count, size_t stride)
{
	if (map->spin_lock_off < 0)
		return;
	uint32_t dead[8];
	unsigned ndead = 0;
	for (uint64_t i = 0; i < count; i++) {
		uint32_t *word = (uint32_t *)(void *)(first + i * stride + map->spin_lock_off);
		uint32_t t = spin_holder(word);
		if (!t)
			continue;
		bool known_dead = false;
		for (unsigned k = 0; k < ndead && !known_dead; k++)
			known_dead = dead[k] == t;
		if (!known_dead) {
			if (owner_alive(t))
				continue;
			if (ndead < 8)
				dead[ndead++] = t;
		}
		__atomic_compare_exchange_n(word, &t, 0, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
	}
}

int bpfvm_map_reclaim(bpfvm_map *map, bpfvm_error *err)
{
	if (!map)
		return map_error(err, -EINVAL, "map_reclaim: no map");
	if (map->users)
		users_forget_dead(map->users);
	if (map->ops->reclaim)
		map->ops->reclaim(map);
	if (err)
		err->code = 0;
	return 0;
}

struct holders_ctx {
	bpfvm_map_holder_fn fn;
	void *ctx;
	uint32_t memo_token[16];
	bool memo_alive[16];
	unsigned memo_n;
};

static bool alive_cached(struct holders_ctx *h, uint32_t token)
{
	for (unsigned i = 0; i < h->memo_n; i++)
		if (h->memo_token[i] == token)
			return h->memo_alive[i];
	bool alive = owner_alive(token);
	if (h->memo_n < 16) {
		h->memo_token[h->memo_n] = token;
		h->memo_alive[h->memo_n++] = alive;
	}
	return alive;
}

static void report_one(void *ctx, const char *what, uint64_t index, uint32_t token)
{
	struct holders_ctx *h = ctx;
	bpfvm_map_holder holder = {
		.what = what,
		.index = index,
		.pid = (int32_t)owner_pid(token),
		.alive = alive_cached(h, token),
	};
	h->fn(&holder, h->ctx);
}

int bpfvm_map_holders(bpfvm_map *map, bpfvm_map_holder_fn fn, void *ctx, bpfvm_error *err)
{
	if (!map || !fn)
		return map_error(err, -EINVAL, "map_holders: no map or no callback");
	struct holders_ctx h = { .fn = fn, .ctx = ctx };
	if (map->ops->holders)
		map->ops->holders(map, report_one, &h);
	if (err)
		err->code = 0;
	return 0;
}
