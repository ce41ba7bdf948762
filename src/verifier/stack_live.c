/*
 * stack_live.c - which stack slots a kept state's future may still read,
 * as the kernel's stack liveness (6.18, kernel/bpf/liveness.c): kept
 * states have their dead slots cleared (states.c), so that a slot whose
 * contents no path reads again does not keep two states apart.
 *
 * Owns: the stack_live_*() functions.  The walk records, per call chain
 * (the call sites of the frames leading to a subprogram, and that
 * subprogram) and per instruction, which slots of each frame of the
 * chain the instruction may read (a union over the paths walked through
 * it: fixed and variable-offset loads, a helper's memory read, an
 * iterator's use) and which it writes whole on every path walked (an
 * intersection: an aligned 8-byte store, an iterator made or destroyed).
 * A slot read through a pointer into another frame's stack (a subprogram
 * or callback given a pointer to its caller's stack) is recorded against
 * that frame.  Then a backward data flow over the subprogram's control
 * flow gives what is live before each instruction:
 *
 *     live_before(i) = (U live_before(s) for s after i) - must_write(i) + may_read(i)
 *
 * and what the subprogram writes whole on every way from its entry, which
 * the call site of its caller takes as its own write (and its entry's
 * live slots of the caller's frames as its own reads).  Slot s of frame f
 * in a state at pc is live if it is live before pc in the state's own
 * chain, or after the call (at the call, for a helper calling back, which
 * calls again) in the chain of any frame between f and the state's.
 *
 * Why a state may be cleaned by this: the reads recorded only grow and
 * the writes only shrink as more paths are walked; the flow is updated
 * when a path ends and when a subprogram returns, so once every path from
 * a kept state has ended (and its loop's walk has no path pruned against
 * a state still being walked, scc.c), every read its future makes is in.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verifier/internal.h"

/* What is known of the slots of one frame at one instruction of a chain. */
struct slot_masks {
	uint64_t may_read;        /* read here on some path walked */
	uint64_t must_write;      /* written whole here on every path walked */
	uint64_t must_write_acc;  /* written whole here or after, on every way to the subprogram's exit */
	uint64_t live_before;     /* read here or after before being written */
};

/* What is known of an instruction's writes: not yet committed, committed
 * and none (the most common: a commit of none again changes nothing),
 * committed and some. */
enum { WRITES_UNSEEN, WRITES_NONE, WRITES_SOME };

/* One subprogram under one call chain. */
struct live_func {
	uint32_t callsites[MAX_FRAMES]; /* callsites[i], i < depth: the call in frame i */
	uint32_t starts[MAX_FRAMES];    /* starts[i]: the first instruction of frame i's subprogram */
	uint32_t depth;                 /* this subprogram's frame */
	uint32_t len;                   /* its instructions, from starts[depth] */
	bool updated;                   /* marks changed since the last flow */
	bool write_dropped;             /* a must_write shrank: must_write_acc from scratch */
	uint8_t *write_seen;            /* per instruction: WRITES_* */
	struct slot_masks *frames[MAX_FRAMES]; /* per frame 0..depth, per instruction; NULL: nothing */
};

struct stack_live {
	struct live_func **funcs;
	uint32_t count, cap;
	struct live_func *cur;          /* the walked state's chain; NULL: look it up again */
	/* the writes of the instruction being checked, per frame, committed
	 * to cur when it is checked (not if it called or returned) */
	uint64_t write_acc[MAX_FRAMES];
	bool write_any;                 /* write_acc is not all zero */
	uint32_t write_pc;
	/* each subprogram's instructions in the order the flow visits them
	 * (postorder_compute): subprogram s's from po_start[s] on */
	uint32_t *postorder, *po_start;
};

int stack_live_init(struct verifier_env *env)
{
	env->slive = calloc(1, sizeof *env->slive);
	return env->slive ? 0 : -1;
}

void stack_live_free(struct verifier_env *env)
{
	struct stack_live *sl = env->slive;
	if (!sl)
		return;
	for (uint32_t i = 0; i < sl->count; i++) {
		struct live_func *fn = sl->funcs[i];
		for (uint32_t f = 0; f <= fn->depth; f++)
			free(fn->frames[f]);
		free(fn->write_seen);
		free(fn);
	}
	free(sl->funcs);
	free(sl->postorder);
	free(sl->po_start);
	free(sl);
	env->slive = NULL;
}

/* The chain of frame `depth` of st: its call sites and subprograms' starts. */
static void chain_of(const struct verifier_env *env, const struct vstate *st, uint32_t depth,
                     struct live_func *key)
{
	memset(key->callsites, 0, sizeof key->callsites);
	key->depth = depth;
	for (uint32_t i = 0; i <= depth; i++) {
		key->starts[i] = cfg_subprog_start(&env->cfg, st->frames[i]->subprog);
		if (i < depth)
			key->callsites[i] = st->frames[i + 1]->callsite;
	}
}

static bool same_chain(const struct live_func *a, const struct live_func *b)
{
	if (a->depth != b->depth || a->starts[a->depth] != b->starts[b->depth])
		return false;
	/* (a loop, not memcmp: a chain is a call or two deep) */
	for (uint32_t i = 0; i < a->depth; i++)
		if (a->callsites[i] != b->callsites[i])
			return false;
	return true;
}

static uint32_t subprog_len(const struct verifier_env *env, uint32_t start)
{
	uint32_t s = analysis_subprog_of(env->cfg.a, start);
	uint32_t end = s + 1 < env->cfg.a->subprog_count ? cfg_subprog_start(&env->cfg, s + 1) : (uint32_t)env->count;
	return end - start;
}

/* The record of chain key, made if there is none yet (NULL: out of
 * memory, or none and !make). */
static struct live_func *func_lookup(struct verifier_env *env, const struct live_func *key, bool make)
{
	struct stack_live *sl = env->slive;
	for (uint32_t i = 0; i < sl->count; i++)
		if (same_chain(sl->funcs[i], key))
			return sl->funcs[i];
	if (!make)
		return NULL;
	if (sl->count == sl->cap) {
		uint32_t ncap = sl->cap ? sl->cap * 2 : 8;
		struct live_func **n = realloc(sl->funcs, ncap * sizeof *n);
		if (!n)
			return NULL;
		sl->funcs = n;
		sl->cap = ncap;
	}
	struct live_func *fn = calloc(1, sizeof *fn);
	if (!fn)
		return NULL;
	memcpy(fn->callsites, key->callsites, sizeof fn->callsites);
	memcpy(fn->starts, key->starts, sizeof fn->starts);
	fn->depth = key->depth;
	fn->len = subprog_len(env, fn->starts[fn->depth]);
	fn->write_seen = calloc(fn->len, sizeof *fn->write_seen);
	if (!fn->write_seen) {
		free(fn);
		return NULL;
	}
	sl->funcs[sl->count++] = fn;
	return fn;
}

static struct live_func *func_of(struct verifier_env *env, const struct vstate *st, uint32_t depth, bool make)
{
	struct live_func key;
	chain_of(env, st, depth, &key);
	return func_lookup(env, &key, make);
}

/* fn's masks of frame f at pc (NULL if none were ever recorded). */
static struct slot_masks *masks_at(const struct live_func *fn, uint32_t f, uint32_t pc)
{
	return fn->frames[f] ? &fn->frames[f][pc - fn->starts[fn->depth]] : NULL;
}

static struct slot_masks *masks_make(struct live_func *fn, uint32_t f, uint32_t pc)
{
	if (!fn->frames[f] && !(fn->frames[f] = calloc(fn->len, sizeof *fn->frames[f])))
		return NULL;
	return masks_at(fn, f, pc);
}

/* The walked state's chain, looked up after a call, a return or a new path. */
static int ensure_cur(struct verifier_env *env, const struct vstate *st)
{
	struct stack_live *sl = env->slive;
	if (!sl->cur && !(sl->cur = func_of(env, st, st->curframe, true)))
		return reject(env, -ENOMEM, "out of memory");
	return 0;
}

void stack_live_new_chain(struct verifier_env *env)
{
	env->slive->cur = NULL;
}

static int add_reads(struct live_func *fn, uint32_t f, uint32_t pc, uint64_t mask)
{
	struct slot_masks *m = masks_make(fn, f, pc);
	if (!m)
		return -1;
	uint64_t now = m->may_read | mask;
	if (now != m->may_read && (now | m->live_before) != m->live_before)
		fn->updated = true;
	m->may_read = now;
	return 0;
}

int stack_live_read(struct verifier_env *env, const struct vstate *st, uint32_t frameno, uint32_t pc,
                    uint64_t mask)
{
	int rc = ensure_cur(env, st);
	if (rc)
		return rc;
	if (add_reads(env->slive->cur, frameno, pc, mask))
		return reject(env, -ENOMEM, "out of memory");
	return 0;
}

/* The slots [lo, hi) of the stack (offsets from the frame pointer) cover. */
uint64_t stack_live_range(int64_t lo, int64_t hi)
{
	uint64_t mask = 0;
	if (hi > 0)
		hi = 0;
	for (int64_t s = (-hi) / 8; lo < hi && s <= (-lo - 1) / 8 && s < STACK_SLOTS; s++)
		mask |= 1ull << s;
	return mask;
}

void stack_live_write(struct verifier_env *env, uint32_t frameno, uint64_t mask)
{
	env->slive->write_acc[frameno] |= mask;
	env->slive->write_any = true;
}

int stack_live_chain(struct verifier_env *env, const struct vstate *st)
{
	return ensure_cur(env, st);
}

int stack_live_insn_start(struct verifier_env *env, const struct vstate *st, uint32_t pc)
{
	struct stack_live *sl = env->slive;
	int rc = ensure_cur(env, st);
	if (rc)
		return rc;
	sl->write_pc = pc;
	if (sl->write_any)
		memset(sl->write_acc, 0, sizeof sl->write_acc);
	sl->write_any = false;
	return 0;
}

/* The writes `acc` (per frame 0..fn->depth) of the instruction at pc of
 * fn, taken on one more path: intersected with the others'. */
static int commit_writes(struct live_func *fn, uint32_t pc, const uint64_t *acc, bool any)
{
	uint32_t idx = pc - fn->starts[fn->depth];
	if (!any && fn->write_seen[idx] == WRITES_NONE)
		return 0;
	bool some = false;
	for (uint32_t f = 0; f <= fn->depth; f++) {
		uint64_t mask = acc[f];
		if (!mask && !fn->frames[f])
			continue;  /* nothing written, and 0 already */
		struct slot_masks *m = masks_make(fn, f, pc);
		if (!m)
			return -1;
		if (fn->write_seen[idx])
			mask &= m->must_write;
		if (mask != m->must_write)
			fn->updated = true;
		if (m->must_write & ~mask)
			fn->write_dropped = true;
		m->must_write = mask;
		some |= mask != 0;
	}
	fn->write_seen[idx] = some ? WRITES_SOME : WRITES_NONE;
	return 0;
}

int stack_live_insn_end(struct verifier_env *env)
{
	struct stack_live *sl = env->slive;
	/* a call or a return changed the chain: the instruction's own
	 * writes, if any, stay unknown (the kernel's choice) */
	if (!sl->cur)
		return 0;
	if (commit_writes(sl->cur, sl->write_pc, sl->write_acc, sl->write_any))
		return reject(env, -ENOMEM, "out of memory");
	return 0;
}

/* ---- the flow ------------------------------------------------------------ */

static void format_chain(const struct live_func *fn, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "(");
	for (uint32_t i = 0; i <= fn->depth && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%u", i ? "," : "",
		                      i < fn->depth ? fn->callsites[i] : fn->starts[i]);
	if (n < size)
		snprintf(buf + n, size - n, ")");
}

/* "-8,-24": the slots of mask, as the kernel prints them. */
static void format_slots(uint64_t mask, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = 0;
	for (uint32_t s = 0; s < 64 && n < size; s++)
		if (mask & (1ull << s))
			n += (size_t)snprintf(buf + n, size - n, "%s-%u", n ? "," : "", 8 * (s + 1));
}

static void log_change(struct verifier_env *env, const struct live_func *fn, const char *what, uint32_t f,
                       uint32_t pc, uint64_t old, uint64_t now)
{
	uint64_t changed = old ^ now;
	if (!changed)
		return;
	char chain[128], line[800], slots[320];
	format_chain(fn, chain, sizeof chain);
	int n = snprintf(line, sizeof line, "%s frame %u insn %u ", chain, f, pc);
	if (now & changed) {
		format_slots(now & changed, slots, sizeof slots);
		n += snprintf(line + n, sizeof line - (size_t)n, "+%s %s ", what, slots);
	}
	if (~now & changed) {
		format_slots(~now & changed, slots, sizeof slots);
		snprintf(line + n, sizeof line - (size_t)n, "-%s %s", what, slots);
	}
	vlog(env, "%s\n", line);
}

/* The last exit of the subprogram holding pc (the kernel's exit_idx). */
static uint32_t subprog_last_exit(const struct verifier_env *env, uint32_t pc)
{
	uint32_t start = cfg_subprog_start(&env->cfg, analysis_subprog_of(env->cfg.a, pc));
	uint32_t exit = pc;
	for (uint32_t i = start + subprog_len(env, start); i-- > start;)
		if (env->cfg.ops[i] && env->cfg.ops[i]->branch == BRANCH_EXIT) {
			exit = i;
			break;
		}
	return exit;
}

/* The instructions control may reach right after pc within its
 * subprogram (a call returns to the next one; a tail call taken leaves
 * the subprogram as its exit does, the kernel 6.18's successors). */
static uint32_t flow_successors(const struct verifier_env *env, uint32_t pc, uint32_t succ[2])
{
	const struct isa_op *op = env->cfg.ops[pc];
	uint32_t n = 0;
	if (op->branch == BRANCH_EXIT)
		return 0;
	if (op->branch != BRANCH_ALWAYS)
		succ[n++] = pc + (isa_is_lddw(&env->insns[pc]) ? 2 : 1);
	if (op->branch == BRANCH_COND || op->branch == BRANCH_ALWAYS)
		succ[n++] = (uint32_t)isa_branch_target(op, &env->insns[pc], pc);
	else if (op->branch == BRANCH_CALL_HELPER &&
	         helper_is_tail_call(env->opts->helpers, (uint32_t)env->insns[pc].imm))
		succ[n++] = subprog_last_exit(env, pc);
	return n;
}

/* One step of the flow at pc for frame f of fn: whether anything changed. */
static bool flow_insn(struct verifier_env *env, struct live_func *fn, uint32_t f, uint32_t pc)
{
	uint32_t succ[2];
	uint32_t n = flow_successors(env, pc, succ);
	if (!n)
		return false;
	struct slot_masks *m = masks_at(fn, f, pc);
	uint64_t after = 0, acc = UINT64_MAX;
	for (uint32_t k = 0; k < n; k++) {
		/* (the analysis keeps every jump inside its subprogram) */
		if (succ[k] < fn->starts[fn->depth] || succ[k] - fn->starts[fn->depth] >= fn->len)
			return false;
		const struct slot_masks *s = masks_at(fn, f, succ[k]);
		after |= s->live_before;
		acc &= s->must_write_acc;
	}
	acc |= m->must_write;
	uint64_t before = (after & ~m->must_write) | m->may_read;
	bool changed = before != m->live_before || acc != m->must_write_acc;
	if (env->log_level >= 2 && (m->may_read || m->must_write || pc == fn->starts[fn->depth] ||
	                            (env->cfg.prune[pc] & CFG_PRUNE_POINT))) {
		log_change(env, fn, "live", f, pc, m->live_before, before);
		log_change(env, fn, "written", f, pc, m->must_write_acc, acc);
	}
	m->live_before = before;
	m->must_write_acc = acc;
	return changed;
}

/* The subprogram's entry as seen from its caller's call site: what it
 * reads of the caller's frames and what it writes whole on every way. */
static int flow_to_caller(struct verifier_env *env, struct live_func *fn)
{
	struct live_func key = *fn;
	key.depth = fn->depth - 1;
	struct live_func *outer = func_lookup(env, &key, true);
	if (!outer)
		return -1;
	uint32_t callsite = fn->callsites[fn->depth - 1], start = fn->starts[fn->depth];
	uint64_t acc[MAX_FRAMES] = { 0 };
	bool any = false;
	for (uint32_t f = 0; f < fn->depth; f++) {
		const struct slot_masks *entry = masks_at(fn, f, start);
		if (!entry)
			continue;
		acc[f] = entry->must_write_acc;
		any |= acc[f] != 0;
		if (add_reads(outer, f, callsite, entry->live_before))
			return -1;
	}
	return commit_writes(outer, callsite, acc, any);
}

/* Each subprogram's instructions reachable from its start in the order
 * of the kernel's compute_postorder (a depth-first walk that pushes an
 * instruction's successors not met yet, the fall-through first, and
 * emits an instruction when the walk is back at it), so that the flow
 * takes the kernel's rounds and logs the kernel's -vv lines. */
static int postorder_compute(struct verifier_env *env)
{
	enum { MET = 1, DONE = 2 };
	struct stack_live *sl = env->slive;
	size_t count = env->count, nsub = env->cfg.a->subprog_count;
	uint32_t *stack = malloc(count * sizeof *stack);
	uint8_t *state = calloc(count, sizeof *state);
	sl->postorder = malloc(count * sizeof *sl->postorder);
	sl->po_start = malloc((nsub + 1) * sizeof *sl->po_start);
	if (!stack || !state || !sl->postorder || !sl->po_start) {
		free(stack);
		free(state);
		return -1;
	}
	uint32_t n = 0;
	for (uint32_t sub = 0; sub < nsub; sub++) {
		sl->po_start[sub] = n;
		/* each instruction is pushed once, when first met */
		uint32_t sp = 0, succ[2];
		stack[sp++] = cfg_subprog_start(&env->cfg, sub);
		state[stack[0]] |= MET;
		while (sp) {
			uint32_t top = stack[sp - 1];
			if (state[top] & DONE) {
				sl->postorder[n++] = top;
				sp--;
				continue;
			}
			uint32_t k = flow_successors(env, top, succ);
			for (uint32_t i = 0; i < k; i++)
				if (succ[i] < count && !state[succ[i]]) {
					stack[sp++] = succ[i];
					state[succ[i]] |= MET;
				}
			state[top] |= DONE;
		}
	}
	sl->po_start[nsub] = n;
	free(stack);
	free(state);
	return 0;
}

/* The flow over fn until nothing changes, then into its caller's chain. */
static int flow_func(struct verifier_env *env, struct live_func *fn)
{
	struct stack_live *sl = env->slive;
	if (!sl->postorder && postorder_compute(env))
		return -1;
	uint32_t sub = analysis_subprog_of(env->cfg.a, fn->starts[fn->depth]);
	if (fn->write_dropped)
		for (uint32_t f = 0; f <= fn->depth; f++)
			for (uint32_t i = 0; fn->frames[f] && i < fn->len; i++)
				fn->frames[f][i].must_write_acc = 0;
	uint32_t rounds = 0;
	bool changed;
	do {
		rounds++;
		changed = false;
		for (uint32_t f = 0; f <= fn->depth; f++)
			for (uint32_t i = sl->po_start[sub]; fn->frames[f] && i < sl->po_start[sub + 1]; i++)
				changed |= flow_insn(env, fn, f, sl->postorder[i]);
	} while (changed);
	if (env->log_level >= 2) {
		char chain[128];
		format_chain(fn, chain, sizeof chain);
		vlog(env, "%s live stack update done in %u iterations\n", chain, rounds);
	}
	fn->updated = false;
	fn->write_dropped = false;
	return fn->depth ? flow_to_caller(env, fn) : 0;
}

int stack_live_update(struct verifier_env *env, const struct vstate *st)
{
	/* the current frame's chain, if looked up since it last changed */
	struct live_func *cur = env->slive->cur;
	env->slive->cur = NULL;
	for (uint32_t d = st->curframe + 1; d-- > 0;) {
		struct live_func *fn = d == st->curframe && cur ? cur : func_of(env, st, d, true);
		if (!fn || (fn->updated && flow_func(env, fn)))
			return reject(env, -ENOMEM, "out of memory");
	}
	return 0;
}

/* ---- queries ------------------------------------------------------------- */

static uint64_t live_before(const struct live_func *fn, uint32_t f, uint32_t pc)
{
	const struct slot_masks *m = fn ? masks_at(fn, f, pc) : NULL;
	return m ? m->live_before : 0;
}

uint64_t stack_live_slots(struct verifier_env *env, const struct vstate *st, uint32_t pc, uint32_t frameno)
{
	uint64_t live = live_before(func_of(env, st, st->curframe, false), frameno, pc);
	for (uint32_t i = frameno; i < st->curframe; i++) {
		const struct vframe *callee = st->frames[i + 1];
		/* a helper calling back calls again: live at its call */
		uint32_t at = callee->callback_helper >= 0 ? callee->callsite : callee->callsite + 1;
		live |= live_before(func_of(env, st, i, false), frameno, at);
	}
	return live;
}
