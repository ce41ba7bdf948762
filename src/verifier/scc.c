/*
 * scc.c - the program's loops as the kernel's verifier (6.16 on) sees
 * them: strongly connected components of each subprogram's control-flow
 * graph, and the "visits" of those components during the walk.
 *
 * Owns: scc_compute(), scc_enter(), scc_exit(), scc_add_backedge() (and
 * where the paths pruned at a fixed point keep their histories),
 * scc_free(), and internal.h's scc_incomplete() and
 * scc_walk_has_backedges() (inline there).  The kernel's rule
 * (compute_scc, maybe_enter_scc, maybe_exit_scc,
 * incomplete_read_marks): a state kept
 * inside a loop belongs to the visit of its call chain (the call sites
 * of its frames down to the outermost frame that is in a loop, and that
 * loop); the visit starts with the first state kept in it and ends when
 * every path from that state is walked.  Once a path of the visit was
 * pruned against a state still being walked (a loop's fixed point: a
 * "backedge"), the precision marks of the visit's states are not final
 * until the visit ends, so until then a state of the visit covers
 * another only if every number of it covers the other's, precise or not.
 * A helper calling back (bpf_loop) is a loop of its own call.  Where the
 * kernel completes those marks when the visit ends (propagate_backedges),
 * bpfvm does the same, and also keeps comparing the states kept in such
 * a walk in full.
 */
#include <stdlib.h>
#include <string.h>

#include "verifier/internal.h"

/* ---- components (Tarjan's algorithm, without recursion) ------------------ */

/* The instructions pc may go to next within its subprogram; calls
 * return to the next instruction. */
static uint32_t loop_successors(const struct verifier_env *env, uint32_t pc, uint32_t succ[2])
{
	const struct isa_op *op = env->cfg.ops[pc];
	uint32_t n = 0;
	uint32_t next = pc + (isa_is_lddw(&env->insns[pc]) ? 2 : 1);
	if (op->branch == BRANCH_EXIT)
		return 0;
	if (op->branch != BRANCH_ALWAYS && next < env->count)
		succ[n++] = next;
	if (op->branch == BRANCH_COND || op->branch == BRANCH_ALWAYS) {
		int64_t t = isa_branch_target(op, &env->insns[pc], pc);
		if (t >= 0 && (uint64_t)t < env->count && (n == 0 || (uint32_t)t != succ[0]))
			succ[n++] = (uint32_t)t;
	}
	return n;
}

struct tarjan {
	uint32_t *index, *low;    /* 0: not visited yet */
	uint32_t *stack, sp;      /* the component being built */
	bool *on_stack;
	uint32_t *walk, *next_succ, wp;  /* the depth-first walk */
	uint32_t counter, sccs;
};

/* pc is the root of a component: numbers it, if it is a loop (more than
 * one instruction, one that jumps to itself, or a helper calling back). */
static void close_component(struct verifier_env *env, struct tarjan *t, uint32_t pc)
{
	uint32_t succ[2], n = loop_successors(env, pc, succ);
	bool loop = t->stack[t->sp - 1] != pc || (n > 0 && succ[0] == pc) || (n > 1 && succ[1] == pc) ||
	            (isa_is_helper_call(&env->insns[pc]) &&
	             helper_calls_back(env->opts->helpers, (uint32_t)env->insns[pc].imm));
	uint32_t id = loop ? ++t->sccs : 0;
	uint32_t w;
	do {
		w = t->stack[--t->sp];
		t->on_stack[w] = false;
		env->scc[w] = id;
	} while (w != pc);
}

static void tarjan_from(struct verifier_env *env, struct tarjan *t, uint32_t root)
{
	t->wp = 0;
	t->walk[t->wp] = root;
	t->next_succ[t->wp++] = 0;
	t->index[root] = t->low[root] = ++t->counter;
	t->stack[t->sp++] = root;
	t->on_stack[root] = true;
	while (t->wp) {
		uint32_t v = t->walk[t->wp - 1], succ[2];
		uint32_t n = loop_successors(env, v, succ);
		if (t->next_succ[t->wp - 1] < n) {
			uint32_t w = succ[t->next_succ[t->wp - 1]++];
			if (!t->index[w]) {
				t->index[w] = t->low[w] = ++t->counter;
				t->stack[t->sp++] = w;
				t->on_stack[w] = true;
				t->walk[t->wp] = w;
				t->next_succ[t->wp++] = 0;
			} else if (t->on_stack[w] && t->index[w] < t->low[v]) {
				t->low[v] = t->index[w];
			}
			continue;
		}
		t->wp--;
		if (t->low[v] == t->index[v])
			close_component(env, t, v);
		if (t->wp) {
			uint32_t u = t->walk[t->wp - 1];
			if (t->low[v] < t->low[u])
				t->low[u] = t->low[v];
		}
	}
}

int scc_compute(struct verifier_env *env)
{
	size_t n = env->count;
	struct tarjan t = { 0 };
	env->scc = calloc(n, sizeof *env->scc);
	t.index = calloc(n, sizeof *t.index);
	t.low = calloc(n, sizeof *t.low);
	t.stack = calloc(n, sizeof *t.stack);
	t.walk = calloc(n, sizeof *t.walk);
	t.next_succ = calloc(n, sizeof *t.next_succ);
	t.on_stack = calloc(n, sizeof *t.on_stack);
	int rc = 0;
	if (!env->scc || !t.index || !t.low || !t.stack || !t.walk || !t.next_succ || !t.on_stack)
		rc = error_set(env->err, -ENOMEM, -1, "out of memory");
	for (uint32_t pc = 0; !rc && pc < n; pc++)
		if (env->cfg.ops[pc] && !t.index[pc])
			tarjan_from(env, &t, pc);
	free(t.index);
	free(t.low);
	free(t.stack);
	free(t.walk);
	free(t.next_succ);
	free(t.on_stack);
	return rc;
}

/* ---- visits -------------------------------------------------------------- */

/* A state's call chain: the call sites of its frames down to the first
 * frame whose instruction is in a loop, and that loop; false if none is. */
static bool callchain(const struct verifier_env *env, const struct vstate *st, uint32_t pc,
                      struct scc_visit *key)
{
	memset(key, 0, sizeof *key);
	for (uint32_t i = 0; i <= st->curframe; i++) {
		uint32_t at = i < st->curframe ? st->frames[i + 1]->callsite : pc;
		if (env->scc[at]) {
			key->scc = env->scc[at];
			key->depth = i;
			return true;
		}
		key->callsites[i] = at;
	}
	return false;
}

static struct scc_visit *visit_lookup(const struct verifier_env *env, const struct scc_visit *key)
{
	/* the key's parts read as they were written, a word each: read
	 * back wider (its numbers compared as one word, its call sites by
	 * memcmp()), they waited at every state kept for the stores that
	 * made them to reach the cache */
	uint32_t scc = key->scc, depth = key->depth;
	for (uint32_t i = 0; i < env->visit_count; i++) {
		struct scc_visit *v = &env->visits[i];
		if (v->scc != scc || v->depth != depth)
			continue;
		uint32_t d = 0;
		while (d < depth && v->callsites[d] == key->callsites[d])
			d++;
		if (d == depth)
			return v;
	}
	return NULL;
}

int scc_enter(struct verifier_env *env, struct explored *e)
{
	struct scc_visit key;
	if (!callchain(env, e->st, e->pc, &key))
		return 0;
	struct scc_visit *v = visit_lookup(env, &key);
	if (!v) {
		if (env->visit_count == env->visit_cap) {
			uint32_t ncap = env->visit_cap ? env->visit_cap * 2 : 16;
			struct scc_visit *nv = realloc(env->visits, ncap * sizeof *nv);
			if (!nv)
				return reject(env, -ENOMEM, "out of memory");
			env->visits = nv;
			env->visit_cap = ncap;
		}
		v = &env->visits[env->visit_count++];
		*v = key;
	}
	e->visit = (uint32_t)(v - env->visits) + 1;
	if (!v->entry) {
		struct scc_instance *inst = arena_alloc(&env->arena, sizeof *inst);
		if (!inst)
			return reject(env, -ENOMEM, "out of memory");
		memset(inst, 0, sizeof *inst);
		inst->next = env->instances;
		env->instances = inst;
		v->entry = e;
		v->inst = inst;
		if (env->log_level >= 2)
			vlog(env, "SCC enter (%u)\n", v->scc);
	}
	e->inst = v->inst;
	return 0;
}

/* No walk with pruned paths goes on: the histories kept for them go. */
static void release_kept(struct verifier_env *env)
{
	for (struct explored *e = env->kept; e;) {
		struct explored *next = e->kept_next;
		hist_free(env, &e->hist);
		e->hist_kept = false;
		e->hist_freed = true;
		e->kept_next = NULL;
		if (e->dropped) {
			state_release(env, e->st);
			e->st = NULL;
			e->skel = NULL;
		}
		e = next;
	}
	env->kept = NULL;
}

/* The records of one walk's pruned paths, each with its history's
 * entries just after it (as many as it has: a long walk keeps tens of
 * thousands), are in chunks of the arena of their own.  A walk's chunks
 * go to env's free list together when it ends (but a chunk made for one
 * large history). */
#define BACKEDGE_CHUNK (16u << 10)

struct backedge_chunk {
	struct backedge_chunk *next;
	uint32_t size, used;      /* bytes in all, and from the start in use */
};

#define CHUNK_HEAD ((sizeof(struct backedge_chunk) + 15) & ~(size_t)15)

static void *backedge_alloc(struct verifier_env *env, struct scc_instance *inst, size_t bytes)
{
	bytes = (bytes + 15) & ~(size_t)15;
	struct backedge_chunk *c = inst->chunks;
	if (!c || c->size - c->used < bytes) {
		size_t size = CHUNK_HEAD + bytes > BACKEDGE_CHUNK ? CHUNK_HEAD + bytes : BACKEDGE_CHUNK;
		if (size > UINT32_MAX)
			return NULL;
		if (size == BACKEDGE_CHUNK && env->backedge_chunks_free) {
			c = env->backedge_chunks_free;
			env->backedge_chunks_free = c->next;
		} else if (!(c = arena_alloc(&env->arena, size))) {
			return NULL;
		}
		c->size = (uint32_t)size;
		c->used = CHUNK_HEAD;
		c->next = inst->chunks;
		inst->chunks = c;
	}
	void *p = (char *)c + c->used;
	c->used += (uint32_t)bytes;
	return p;
}

/* The chunks go to env's free list (they are the arena's). */
static void free_backedges(struct verifier_env *env, struct scc_instance *inst)
{
	inst->pruned = NULL;
	for (struct backedge_chunk *c = inst->chunks, *next; c; c = next) {
		next = c->next;
		if (c->size == BACKEDGE_CHUNK) {
			c->next = env->backedge_chunks_free;
			env->backedge_chunks_free = c;
		}
	}
	inst->chunks = NULL;
}

static struct backedge *backedges_reversed(struct backedge *b)
{
	struct backedge *r = NULL;
	while (b) {
		struct backedge *next = b->next;
		b->next = r;
		r = b;
		b = next;
	}
	return r;
}

/* Makes whole the entries of inst's pruned paths (each the entries it
 * shares with the one before it and its own), in env's array, oldest
 * first, and their histories (env->backedge_hists, in the list's order):
 * their walks back read and mark them there (propagate_backedges).
 * -1: out of memory. */
static int backedges_whole(struct verifier_env *env, struct scc_instance *inst)
{
	size_t total = 0, count = 0;
	for (struct backedge *b = inst->pruned; b; b = b->next, count++)
		total += b->n;
	if (count > env->backedge_hists_cap) {
		struct hist *n = realloc(env->backedge_hists, count * sizeof *n);
		if (!n)
			return -1;
		env->backedge_hists = n;
		env->backedge_hists_cap = count;
	}
	if (total > env->backedge_whole_cap) {
		struct hist_entry *n = realloc(env->backedge_whole, total * sizeof *n);
		if (!n)
			return -1;
		env->backedge_whole = n;
		env->backedge_whole_cap = total;
	}
	/* the list is newest first: turned oldest first for the while, so
	 * that each is made whole after the one before it */
	struct hist_entry *at = env->backedge_whole;
	const struct hist_entry *prev = NULL;
	size_t i = count;
	inst->pruned = backedges_reversed(inst->pruned);
	for (struct backedge *b = inst->pruned; b; b = b->next) {
		if (b->shared)
			memcpy(at, prev, b->shared * sizeof *at);
		memcpy(at + b->shared, b->entries, (b->n - b->shared) * sizeof *at);
		hist_summarize(env, &env->backedge_hists[--i], b->n ? at : NULL, b->n);
		prev = at;
		at += b->n;
	}
	inst->pruned = backedges_reversed(inst->pruned);
	return 0;
}

void scc_exit(struct verifier_env *env, struct explored *e)
{
	if ((!e->st && !e->skel) || !e->visit)
		return;
	struct scc_visit *v = &env->visits[e->visit - 1];
	if (v->entry != e)
		return;
	if (env->log_level >= 2)
		vlog(env, "SCC exit (%u)\n", v->scc);
	/* as the kernel (propagate_backedges): the paths pruned against
	 * states of the walk take their final precision marks; bpfvm also
	 * keeps comparing the walk's states in full (scc_incomplete) */
	v->inst->done = true;
	if (v->inst->backedges) {
		if (backedges_whole(env, v->inst))
			reject(env, -ENOMEM, "out of memory");
		else
			propagate_backedges(env, v->inst);
		free_backedges(env, v->inst);
		if (!--env->visits_with_backedges)
			release_kept(env);
	}
	v->entry = NULL;
	v->inst = NULL;
	/* the states of the visit no longer wait for its walk (states.c) */
	env->scc_exits++;
}

/* Whether two entries are the same, bit for bit (two words: the build
 * makes a call of every memcmp()). */
static bool entries_equal(const struct hist_entry *a, const struct hist_entry *b)
{
	typedef uint64_t __attribute__((may_alias)) word;
	_Static_assert(sizeof *a == 2 * sizeof(word), "an entry is two words");
	const word *x = (const word *)(const void *)a, *y = (const word *)(const void *)b;
	return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

int scc_add_backedge(struct verifier_env *env, const struct explored *e, uint32_t pc, uint32_t curframe)
{
	if (!e->visit)
		return 0;
	struct scc_visit *v = &env->visits[e->visit - 1];
	struct scc_instance *inst = v->inst ? v->inst : e->inst;
	if (!inst)
		return 0;
	if (!inst->backedges++ && v->inst == inst)
		env->visits_with_backedges++;
	if (env->log_level >= 2)
		vlog(env, "SCC backedge (%u)\n", v->scc);
	/* a walk that ended took its marks already: nothing to redo */
	if (inst->done)
		return 0;
	const struct hist *h = &env->hist;
	/* the entries the last one pruned in this walk has too, bit for bit */
	struct hist *last = &env->backedge_last;
	uint32_t shared = 0;
	if (env->backedge_last_inst == inst && inst->pruned)
		while (shared < h->n && shared < last->n && entries_equal(&h->e[shared], &last->e[shared]))
			shared++;
	struct backedge *b = backedge_alloc(env, inst, sizeof *b + (h->n - shared) * sizeof b->entries[0]);
	if (!b)
		return reject(env, -ENOMEM, "out of memory");
	memset(b, 0, sizeof *b);
	b->n = h->n;
	b->shared = shared;
	if (h->n > shared)
		memcpy(b->entries, h->e + shared, (h->n - shared) * sizeof b->entries[0]);
	/* this one's entries are the next one's to share */
	last->n = shared;
	if (hist_append_all(env, last, h->e + shared, h->n - shared))
		return reject(env, -ENOMEM, "out of memory");
	env->backedge_last_inst = inst;
	b->equal = (struct explored *)e;
	b->parent = env->parent;
	b->pc = pc;
	b->curframe = curframe;
	b->next = inst->pruned;
	inst->pruned = b;
	return 0;
}

void scc_free(struct verifier_env *env)
{
	/* the walks, the paths pruned in them and their histories are the
	 * arena's */
	hist_free(env, &env->backedge_last);
	free(env->backedge_whole);
	free(env->backedge_hists);
	free(env->scc);
	free(env->visits);
}
