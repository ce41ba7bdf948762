/*
 * precision.c - precision tracking, as the kernel's verifier does it
 * (mark_chain_precision, backtrack_insn): a scalar is "precise" only
 * when a later safety check depends on its range (a pointer's offset, a
 * helper's size argument, a branch the walk decided from it).  Stored
 * states keep imprecise scalars as they are, and state comparison
 * (states.c) lets any number match them, so that loops whose iterations
 * differ only in numbers nothing checks converge.
 *
 * Each path keeps the instructions it walked since its last checkpoint
 * (struct hist, with the stack slot a load or store touched; without -vv,
 * not the instructions no walk back changes anything at: jumps,
 * arithmetic with a number, stores off the stack); a check
 * walks that history backwards from the instruction that needs the
 * value, following which registers and stack slots the value came from,
 * and marks them precise in each checkpoint on the way, until nothing
 * is left to follow or a checkpoint already has them precise (through
 * callbacks too, as the kernel's backtrack_insn).  Where the walk cannot
 * follow (a callback's own stack at its start, an atomic on the stack), every
 * scalar of every checkpoint on the path becomes precise: the
 * comparison is then the full one, as before precision tracking.
 *
 * Beside its entries a history keeps a summary of that walk over all of
 * them (hist_note()), for registers of one frame: per register at the
 * end, the registers it comes from at the start, or that it needs more
 * (a stack slot, a give-up, another frame).  Without -vv a walk of
 * registers alone steps over a whole segment with it (walk_regs(),
 * walk_summary()), entry by entry only where it does not serve; the
 * marks are the same, as the -vv log (always entry by entry) shows.
 *
 * A kept state's summary (struct skel: which registers and spilled slots
 * hold numbers, which of those are precise) is made when it is kept and
 * marked with it, and stands in for it once it leaves the search: a walk
 * back reads a few words where the state's registers are a cache line
 * each.
 *
 * Owns: hist_push(), hist_add_linked_slots(), hist_copy(),
 * hist_move_exact(), hist_append_all(), hist_summarize(), hist_free(),
 * skel_summarize(), skel_make(), mark_precise(), mark_precise_slot(),
 * propagate_precision(), propagate_backedges(), live_regs(),
 * walk_touch_compute(); the -vv "mark_precise:" lines.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verifier/internal.h"

/* ---- history ------------------------------------------------------------- */

/* Histories' arrays that grow hold 16 << k entries, and go back to env's
 * pool of their size when freed (a branch's history is copied at every
 * branch queued, and freed when it is taken).  A kept state's is copied
 * to one of a size just large enough, a multiple of 4 entries up to
 * HIST_FINE_MAX (hist_move_exact), with pools of its own.  The pools'
 * arrays are taken from the arena; those larger than the largest pool's
 * (rare) from malloc.  (The paths pruned at a loop's fixed point keep
 * theirs in scc.c's chunks.) */
static uint32_t hist_class(uint32_t cap)
{
	return 31u - (uint32_t)__builtin_clz(cap / 16);
}

/* Whether an array of cap entries is malloc's (past the pools). */
static bool hist_mallocd(uint32_t cap)
{
	return cap > HIST_FINE_MAX && hist_class(cap) >= HIST_POOLS;
}

/* The pool of arrays of cap entries (not malloc's). */
static struct hist_entry **hist_pool_of(struct verifier_env *env, uint32_t cap)
{
	return cap <= HIST_FINE_MAX ? &env->hist_fine_pool[cap / 4 - 1] : &env->hist_pool[hist_class(cap)];
}

/* An array of cap entries from its pool, or the arena (not malloc's). */
static struct hist_entry *hist_pool_take(struct verifier_env *env, uint32_t cap)
{
	struct hist_entry **pool = hist_pool_of(env, cap);
	struct hist_entry *e = *pool;
	if (!e)
		return arena_alloc(&env->arena, cap * sizeof *e);
	/* the pool's link: the first entry's bytes */
	*pool = *(struct hist_entry **)(void *)e;
	return e;
}

static void hist_array_release(struct verifier_env *env, struct hist_entry *e, uint32_t cap)
{
	if (!e)
		return;
	if (hist_mallocd(cap)) {
		free(e);
		env->hist_large--;
		return;
	}
	struct hist_entry **pool = hist_pool_of(env, cap);
	*(struct hist_entry **)(void *)e = *pool;
	*pool = e;
}

static int hist_reserve(struct verifier_env *env, struct hist *h, uint32_t n)
{
	if (n <= h->cap)
		return 0;
	/* (from 16 up, whatever h's: a copy made exact grows into the
	 * growing arrays' sizes) */
	uint32_t ncap = 16;
	while (ncap < n)
		ncap *= 2;
	struct hist_entry *e;
	if (h->cap && hist_mallocd(h->cap)) {
		/* malloc's already: grown in place, if malloc can */
		if (!(e = realloc(h->e, ncap * sizeof *e)))
			return -1;
	} else {
		if (!hist_mallocd(ncap))
			e = hist_pool_take(env, ncap);
		else if ((e = malloc(ncap * sizeof *e)))
			env->hist_large++;
		if (!e)
			return -1;
		if (h->n)
			memcpy(e, h->e, h->n * sizeof *e);
		hist_array_release(env, h->e, h->cap);
	}
	h->e = e;
	h->cap = ncap;
	return 0;
}

/* What backtrack_insn() does at an instruction, for registers of its
 * frame alone (struct walk_step's kind). */
enum walk_step_kind {
	STEP_SAME,       /* nothing */
	STEP_CLEAR,      /* dst comes from nothing (a constant, memory) */
	STEP_COPY,       /* dst comes from src */
	STEP_OR,         /* dst comes from itself and src */
	STEP_CALL,       /* r1-r5 give up, r0 comes from nothing */
	STEP_LDX,        /* dst comes from nothing, or from a stack slot */
	STEP_ATOMIC,     /* src comes from nothing, or gives up on the stack */
	STEP_JMP,        /* dst, src and the linked ones come from all of them */
	STEP_UNSURE,     /* every register needs backtrack_insn() */
	STEP_KIND = 0x0f,
	/* beside the kind: a jump point (CFG_JMP_POINT), and an instruction
	 * whose entry is left out where it has no flags and no linked
	 * registers (insn_never_walked) */
	STEP_JMP_POINT = 0x40,
	STEP_NEVER_WALKED = 0x80,
};

/* Whether the kernel's jump history would hold an entry for e. */
static inline bool hist_marked(const struct verifier_env *env, const struct hist_entry *e)
{
	return (env->walk_steps[e->pc].kind & STEP_JMP_POINT) || (e->flags & (HIST_STACK | HIST_STACK_WIDE));
}

static struct walk_step walk_step_of(const struct verifier_env *env, uint32_t pc)
{
	const struct isa_op *op = env->cfg.ops[pc];
	const bpfvm_insn *in = &env->insns[pc];
	struct walk_step s = { .kind = STEP_UNSURE, .dst = in->dst, .src = in->src };
	if (!op)
		return s;
	switch (op->format) {
	case FMT_ALU_IMM:
	case FMT_ALU_REG:
	case FMT_NEG:
	case FMT_END:
		if (op->alu == ALU_MOV || op->alu == ALU_MOVSX)
			s.kind = op->src_kind == SRC_REG ? STEP_COPY : STEP_CLEAR;
		else
			s.kind = op->format == FMT_ALU_REG ? STEP_OR : STEP_SAME;
		break;
	case FMT_LDDW:
		s.kind = STEP_CLEAR;
		break;
	case FMT_LDABS:
	case FMT_LDIND:
	case FMT_CALL:
	case FMT_CALL_LOCAL:
		s.kind = STEP_CALL;
		break;
	case FMT_LDX:
		s.kind = STEP_LDX;
		break;
	case FMT_ST:
	case FMT_STX:
	case FMT_JA:
	case FMT_JA32:
		/* a store changes only what a stack slot comes from */
		s.kind = STEP_SAME;
		break;
	case FMT_ATOMIC:
		s.kind = STEP_ATOMIC;
		s.fetch_r0 = (op->regs & ISA_REG_WRITES_R0) != 0;
		break;
	case FMT_JMP_IMM:
		s.kind = STEP_JMP;
		s.src = in->dst; /* no second operand */
		break;
	case FMT_JMP_REG:
		s.kind = STEP_JMP;
		break;
	default:
		break;
	}
	return s;
}

#define ALL_REGS ((uint16_t)0x7ff)

/* Where register r at the end of h comes from at its start (struct
 * hist's from[] holds it xor r's own bit: all zero, each register comes
 * from itself). */
static inline uint16_t hist_from(const struct hist *h, uint32_t r)
{
	return (uint16_t)(h->from[r] ^ (1u << r));
}

/* Register r at the end of h (entry e just added) comes from the
 * registers from before e, unsure where any of those is. */
static inline void hist_set_from(struct hist *h, uint32_t r, uint16_t from, bool unsure)
{
	uint16_t bit = (uint16_t)(1u << r);
	h->from[r] = from ^ bit;
	h->unsure = unsure ? h->unsure | bit : h->unsure & (uint16_t)~bit;
}

/* Adds entry e, just appended to h, to h's summary (struct hist): the
 * walk back over it for each register, as backtrack_insn() steps with
 * registers of e's frame alone. */
static inline __attribute__((always_inline)) void hist_note(const struct verifier_env *env, struct hist *h,
                                                             const struct hist_entry *e)
{
	if (h->n == 1)
		h->frame = e->frame;
	if (e->frame != h->frame || (e->flags & (HIST_LINKED_OTHER | HIST_CALLBACK)))
		h->frames = true;
	if (h->frames)
		return;
	struct walk_step s = env->walk_steps[e->pc];
	uint32_t dst = s.dst, src = s.src;
	switch (s.kind & STEP_KIND) {
	case STEP_SAME:
		break;
	case STEP_CLEAR:
		hist_set_from(h, dst, 0, false);
		break;
	case STEP_COPY:
		hist_set_from(h, dst, hist_from(h, src), (h->unsure >> src) & 1u);
		break;
	case STEP_OR:
		hist_set_from(h, dst, hist_from(h, dst) | hist_from(h, src), ((h->unsure >> dst) | (h->unsure >> src)) & 1u);
		break;
	case STEP_CALL:
		h->unsure |= LIVENESS_ARGS;
		hist_set_from(h, 0, 0, false);
		break;
	case STEP_LDX:
		if (e->flags & (HIST_STACK | HIST_STACK_WIDE))
			h->unsure |= (uint16_t)(1u << dst);
		else
			hist_set_from(h, dst, 0, false);
		break;
	case STEP_ATOMIC:
		/* src (and r0 for a fetch) from nothing; on the stack, src and
		 * r0 give up */
		if (e->flags & (HIST_STACK | HIST_STACK_WIDE)) {
			h->unsure |= (uint16_t)((1u << src) | 1u);
		} else {
			hist_set_from(h, src, 0, false);
			if (s.fetch_r0)
				hist_set_from(h, 0, 0, false);
		}
		break;
	case STEP_JMP: {
		/* the jump narrowed them all: each comes from all of them */
		uint16_t group = (uint16_t)((1u << dst) | (1u << src) | e->linked_regs);
		if (e->flags & HIST_LINKED_SLOTS) {
			h->unsure |= group;
		} else if (group & (group - 1)) {
			uint16_t from = 0;
			for (uint16_t left = group; left; left &= (uint16_t)(left - 1))
				from |= hist_from(h, (uint32_t)__builtin_ctz(left));
			bool unsure = (h->unsure & group) != 0;
			for (uint16_t left = group; left; left &= (uint16_t)(left - 1))
				hist_set_from(h, (uint32_t)__builtin_ctz(left), from, unsure);
		}
		break;
	}
	default:
		h->unsure = ALL_REGS;
		break;
	}
}

/* The registers of its frame backtrack_insn() could change at pc, for
 * an entry with no flags and no linked registers or stack slots
 * (0xffff: it may do more). */
static uint16_t insn_touch(const struct verifier_env *env, uint32_t pc)
{
	const struct isa_op *op = env->cfg.ops[pc];
	const bpfvm_insn *in = &env->insns[pc];
	if (!op)
		return 0xffff;
	switch (op->format) {
	case FMT_ALU_IMM:
	case FMT_ALU_REG:
	case FMT_NEG:
	case FMT_END:
	case FMT_LDDW:
	case FMT_LDX:
		return (uint16_t)(1u << in->dst);
	case FMT_LDABS:
	case FMT_LDIND:
	case FMT_CALL:
		return LIVENESS_ARGS | 1u;
	case FMT_ST:
	case FMT_STX:
	case FMT_JA:
	case FMT_JA32:
		return 0;
	case FMT_JMP_IMM:
		return (uint16_t)(1u << in->dst);
	case FMT_JMP_REG:
		return (uint16_t)((1u << in->dst) | (1u << in->src));
	default:
		return 0xffff;
	}
}

/* Whether backtrack_insn() passes an entry at pc with no flags and no
 * linked registers whatever the walk holds: a jump, a conditional jump
 * against a number (it narrowed its operand, which the walk holds or not
 * the same before as after), arithmetic on a register with a number (the
 * register depends on what it did before), a store off the stack (no
 * flags: nothing the walk follows).  Loop heads are kept: the rejection
 * message counts a path's passes there in its history. */
static bool insn_never_walked(const struct verifier_env *env, uint32_t pc)
{
	const struct isa_op *op = env->cfg.ops[pc];
	if (!op || (env->loop_of && env->loop_of[pc]))
		return false;
	switch (op->format) {
	case FMT_JA:
	case FMT_JA32:
	case FMT_JMP_IMM:
	case FMT_NEG:
	case FMT_END:
	case FMT_ST:
	case FMT_STX:
		return true;
	case FMT_ALU_IMM:
		return op->alu != ALU_MOV && op->alu != ALU_MOVSX;
	default:
		return false;
	}
}

int walk_touch_compute(struct verifier_env *env)
{
	env->walk_touch = malloc(env->count * sizeof *env->walk_touch);
	env->walk_steps = arena_alloc(&env->arena, env->count * sizeof *env->walk_steps);
	if (!env->walk_touch || !env->walk_steps)
		return -ENOMEM;
	for (uint32_t pc = 0; pc < env->count; pc++) {
		struct walk_step *s = &env->walk_steps[pc];
		*s = walk_step_of(env, pc);
		if (env->cfg.prune[pc] & CFG_JMP_POINT)
			s->kind |= STEP_JMP_POINT;
		if (insn_never_walked(env, pc))
			s->kind |= STEP_NEVER_WALKED;
		env->walk_touch[pc] = insn_touch(env, pc);
	}
	return 0;
}

/* Whether history entry e is left out of the history: no walk back
 * changes anything at it (so a walk passes it the same as where it is
 * not).  Its mark is counted all the same.  With -vv every entry is
 * kept: the log prints each one a walk passes. */
static bool hist_leaves_out(const struct verifier_env *env, const struct hist_entry *e)
{
	return env->log_level < 2 && (env->walk_steps[e->pc].kind & STEP_NEVER_WALKED) && !e->flags && !e->linked_regs;
}

/* hist_push() of an entry kept: out of line, so that the test of
 * whether it is (most are left out) inlines where step() asks it. */
static __attribute__((noinline)) int hist_append(struct verifier_env *env, struct hist *h,
                                                 const struct hist_entry *e)
{
	if (h->n >= h->cap && hist_reserve(env, h, h->n + 1))
		return reject(env, -ENOMEM, "out of memory");
	h->e[h->n++] = *e;
	hist_note(env, h, e);
	return 0;
}

int hist_push(struct verifier_env *env)
{
	struct hist *h = &env->hist;
	const struct hist_entry *e = &env->cur;
	h->marks += hist_marked(env, e);
	if (hist_leaves_out(env, e))
		return 0;
	return hist_append(env, h, e);
}

int hist_add_linked_slots(struct verifier_env *env, uint64_t slots)
{
	if (env->cur.flags & HIST_LINKED_SLOTS) {
		env->linked_slots[env->cur.linked_slots_at] |= slots;
		return 0;
	}
	if (!env->linked_slots_count)
		env->linked_slots_count = 1;
	if (env->linked_slots_count >= env->linked_slots_cap) {
		uint32_t ncap = env->linked_slots_cap ? env->linked_slots_cap * 2 : 64;
		uint64_t *n = ncap <= HIST_LINKED_SLOTS_MAX ? realloc(env->linked_slots, ncap * sizeof *n) : NULL;
		if (!n)
			return reject(env, -ENOMEM, "out of memory");
		env->linked_slots = n;
		env->linked_slots_cap = ncap;
	}
	env->linked_slots[env->linked_slots_count] = slots;
	env->cur.linked_slots_at = env->linked_slots_count++;
	env->cur.flags |= HIST_LINKED_SLOTS;
	return 0;
}

int hist_copy(struct verifier_env *env, struct hist *dst, const struct hist *src, const struct hist_entry *extra)
{
	memset(dst, 0, sizeof *dst);
	if (extra && hist_leaves_out(env, extra)) {
		dst->marks = hist_marked(env, extra);
		extra = NULL;
	}
	uint32_t n = src->n + (extra ? 1 : 0);
	if (hist_reserve(env, dst, n ? n : 1))
		return -1;
	if (src->n)
		memcpy(dst->e, src->e, src->n * sizeof *dst->e);
	dst->marks += src->marks;
	memcpy(dst->from, src->from, sizeof dst->from);
	dst->unsure = src->unsure;
	dst->frame = src->frame;
	dst->frames = src->frames;
	dst->n = n;
	if (extra) {
		dst->e[src->n] = *extra;
		dst->marks += hist_marked(env, extra);
		hist_note(env, dst, extra);
	}
	return 0;
}

int hist_append_all(struct verifier_env *env, struct hist *h, const struct hist_entry *e, uint32_t n)
{
	if (hist_reserve(env, h, h->n + n))
		return -1;
	if (n)
		memcpy(h->e + h->n, e, n * sizeof *e);
	h->n += n;
	return 0;
}

void hist_summarize(const struct verifier_env *env, struct hist *h, struct hist_entry *e, uint32_t n)
{
	memset(h, 0, sizeof *h);
	h->e = e;
	h->cap = n;
	while (h->n < n) {
		h->n++;
		hist_note(env, h, &e[h->n - 1]);
	}
}

int hist_move_exact(struct verifier_env *env, struct hist *dst, struct hist *src)
{
	*dst = *src;
	dst->e = NULL;
	dst->cap = 0;
	if (src->n > HIST_FINE_MAX) {
		dst->n = 0;
		if (hist_reserve(env, dst, src->n))
			return -1;
		dst->n = src->n;
	} else if (src->n) {
		dst->cap = (src->n + 3) & ~3u;
		if (!(dst->e = hist_pool_take(env, dst->cap))) {
			dst->cap = 0;
			return -1;
		}
	}
	if (src->n)
		memcpy(dst->e, src->e, src->n * sizeof *dst->e);
	struct hist_entry *keep = src->e;
	uint32_t keep_cap = src->cap;
	memset(src, 0, sizeof *src);
	src->e = keep;
	src->cap = keep_cap;
	return 0;
}

void hist_free(struct verifier_env *env, struct hist *h)
{
	hist_array_release(env, h->e, h->cap);
	memset(h, 0, sizeof *h);
}

/* ---- liveness ------------------------------------------------------------ */

uint16_t live_regs(const struct verifier_env *env, uint32_t pc, const struct vstate *st, uint32_t fi)
{
	if (fi == st->curframe)
		return env->liveness.live_in[pc];
	const struct vframe *callee = st->frames[fi + 1];
	if (callee->callback_helper >= 0)
		/* a helper calling back may call again: it reads its
		 * arguments once more */
		return (env->liveness.live_in[callee->callsite] & LIVENESS_ARGS) |
		       (env->liveness.live_in[callee->callsite + 1] & LIVENESS_CALLEE_SAVED);
	/* after the call returns only the callee-saved registers matter */
	return env->liveness.live_in[callee->callsite + 1] & LIVENESS_CALLEE_SAVED;
}

/* ---- skeletons of states out of the search -------------------------------- */

static bool is_spilled_scalar(const struct vframe *f, uint32_t s);

static void skel_frame_of(const struct vframe *f, struct skel_frame *k)
{
	memset(k, 0, sizeof *k);
	for (uint32_t i = 0; i < 11; i++) {
		if (f->regs[i].type != REG_SCALAR)
			continue;
		k->scalars |= (uint16_t)(1u << i);
		if (f->regs[i].precise)
			k->precise |= (uint16_t)(1u << i);
	}
	for (uint32_t s = 0; s < f->slots && s < 64; s++) {
		if (!is_spilled_scalar(f, s))
			continue;
		k->spilled |= 1ull << s;
		if (f->stack[s].spilled.precise)
			k->spilled_precise |= 1ull << s;
	}
	k->callsite = f->callsite;
	k->callback_helper = f->callback_helper;
}

int skel_summarize(struct verifier_env *env, struct explored *e)
{
	const struct vstate *st = e->st;
	struct skel *sk = arena_alloc(&env->arena, sizeof *sk + (st->curframe + 1) * sizeof sk->frames[0]);
	if (!sk)
		return -1;
	sk->curframe = st->curframe;
	for (uint32_t fi = 0; fi <= st->curframe; fi++)
		skel_frame_of(st->frames[fi], &sk->frames[fi]);
	e->summary = sk;
	return 0;
}

void skel_make(struct verifier_env *env, struct explored *e)
{
	state_release(env, e->st);
	e->st = NULL;
	e->skel = e->summary;
	e->summary = NULL;
}

/* live_regs() of a skeleton. */
static uint16_t skel_live_regs(const struct verifier_env *env, uint32_t pc, const struct skel *sk, uint32_t fi)
{
	if (fi == sk->curframe)
		return env->liveness.live_in[pc];
	const struct skel_frame *callee = &sk->frames[fi + 1];
	if (callee->callback_helper >= 0)
		return (env->liveness.live_in[callee->callsite] & LIVENESS_ARGS) |
		       (env->liveness.live_in[callee->callsite + 1] & LIVENESS_CALLEE_SAVED);
	return env->liveness.live_in[callee->callsite + 1] & LIVENESS_CALLEE_SAVED;
}

/* ---- the walk back ------------------------------------------------------- */

/* What is still to be followed: registers and stack slots per frame. */
struct backtrack {
	uint16_t regs[MAX_FRAMES];
	uint64_t slots[MAX_FRAMES];
	uint32_t frame;           /* the frame the walk is in */
	uint32_t deepest;         /* no frame deeper has anything to follow */
};

/* Enters frame fr (a callee, walking back from its exit, or back out). */
static void bt_enter(struct backtrack *bt, uint32_t fr)
{
	bt->frame = fr;
	if (fr > bt->deepest)
		bt->deepest = fr;
}

/* Asked after every instruction walked back: only the frames the walk
 * has been in are looked at. */
static bool bt_empty(const struct backtrack *bt)
{
	for (uint32_t i = 0; i <= bt->deepest; i++)
		if (bt->regs[i] || bt->slots[i])
			return false;
	return true;
}

static bool is_spilled_scalar(const struct vframe *f, uint32_t s)
{
	return s < f->slots && f->stack[s].type[0] == SLOT_SPILL && f->stack[s].spilled.type == REG_SCALAR;
}

static void mask_text(const struct backtrack *bt, uint32_t fi, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = 0;
	n += (size_t)snprintf(buf + n, size - n, "regs=");
	for (int i = 0; i < 11 && n < size; i++)
		if (bt->regs[fi] & (1u << i))
			n += (size_t)snprintf(buf + n, size - n, "r%d,", i);
	if (n < size && buf[n - 1] == ',')
		buf[--n] = 0;
	n += (size_t)snprintf(buf + n, n < size ? size - n : 0, " stack=");
	for (int s = 0; s < 64 && n < size; s++)
		if (bt->slots[fi] & (1ull << s))
			n += (size_t)snprintf(buf + n, size - n, "-%d,", 8 * (s + 1));
	if (n < size && buf[n - 1] == ',')
		buf[--n] = 0;
}

#define SET(m, r) ((m) |= (uint16_t)(1u << (r)))
#define CLR(m, r) ((m) &= (uint16_t) ~(1u << (r)))
#define HAS(m, r) (((m) >> (r)) & 1u)

/* Steps back over instruction e: what was needed after it becomes what
 * was needed before it.  Returns false where the walk cannot follow. */
static bool backtrack_insn(const struct verifier_env *env, const struct hist_entry *e, struct backtrack *bt)
{
	const bpfvm_insn *in = &env->insns[e->pc];
	const struct isa_op *op = env->cfg.ops[e->pc];
	uint32_t fr = bt->frame;
	uint16_t *m = &bt->regs[fr];
	if (e->frame != fr) {
		if (op->format == FMT_EXIT && e->frame == fr + 1 && !(e->flags & HIST_CALLBACK)) {
			/* back into the callee at its exit: the caller's r0 is
			 * the callee's; r1-r5 were clobbered by the call */
			if (*m & LIVENESS_ARGS)
				return false;
			if (HAS(*m, 0)) {
				CLR(*m, 0);
				SET(bt->regs[fr + 1], 0);
			}
			bt_enter(bt, fr + 1);
			return true;
		}
		if (op->format == FMT_EXIT && e->frame == fr + 1) {
			/* back into a callback at its exit (the kernel's
			 * backtrack_insn): the caller's r1-r5 are the helper's
			 * arguments, the same as at the call that queued the
			 * callback, which marked what its checks needed; the
			 * callback's r0 is not the caller's */
			*m &= (uint16_t)~(LIVENESS_ARGS | 1u);
			bt_enter(bt, fr + 1);
			return true;
		}
		if (op->format == FMT_CALL && e->frame == fr + 1 &&
		    helper_is_tail_call(env->opts->helpers, (uint32_t)in->imm)) {
			/* back into a subprogram at the tail call it returned
			 * from (the kernel's backtrack_insn): the caller's r0
			 * is the called program's, from nothing followed */
			if (*m & LIVENESS_ARGS)
				return false;
			CLR(*m, 0);
			bt_enter(bt, fr + 1);
			return true;
		}
		if (op->format == FMT_CALL && (uint32_t)e->frame + 1 == fr) {
			/* back out of a callback at its start: the helper set
			 * its r1-r5, from nothing the walk follows */
			if ((*m & (uint16_t)~LIVENESS_ARGS) || bt->slots[fr])
				return false;
			*m = 0;
			bt_enter(bt, fr - 1);
			return true;
		}
		if (op->format == FMT_CALL_LOCAL && (uint32_t)e->frame + 1 == fr) {
			/* back out of the callee at its entry: its r1-r5 are the
			 * caller's; nothing else of it existed before the call */
			if ((*m & (uint16_t)~LIVENESS_ARGS) || bt->slots[fr])
				return false;
			bt->regs[fr - 1] |= *m;
			*m = 0;
			bt_enter(bt, fr - 1);
			return true;
		}
		return false;
	}
	uint16_t dst = in->dst, src = in->src;
	switch (op->format) {
	case FMT_ALU_IMM:
	case FMT_ALU_REG:
	case FMT_NEG:
	case FMT_END:
		if (!HAS(*m, dst))
			return true;
		if (op->alu == ALU_MOV || op->alu == ALU_MOVSX) {
			CLR(*m, dst);
			if (op->src_kind == SRC_REG)
				SET(*m, src);
		} else if (op->format == FMT_ALU_REG) {
			SET(*m, src);
		}
		return true;
	case FMT_LDDW:
		CLR(*m, dst);
		return true;
	case FMT_LDABS:
	case FMT_LDIND:
		if (*m & LIVENESS_ARGS)
			return false;
		CLR(*m, 0);
		return true;
	case FMT_LDX:
		if (!HAS(*m, dst))
			return true;
		CLR(*m, dst);
		if (e->flags & HIST_STACK_WIDE)
			return false;
		if (e->flags & HIST_STACK)
			bt->slots[e->slot_frame] |= 1ull << e->slot;
		return true;
	case FMT_ST:
	case FMT_STX:
		if (e->flags & HIST_STACK_WIDE)
			return !(bt->slots[e->slot_frame] & (3ull << e->slot));
		if (!(e->flags & HIST_STACK) || !(bt->slots[e->slot_frame] & (1ull << e->slot)))
			return true;
		bt->slots[e->slot_frame] &= ~(1ull << e->slot);
		if (op->format == FMT_STX)
			SET(*m, src);
		return true;
	case FMT_ATOMIC:
		/* a fetch from memory gives an unknown number; anything to
		 * follow through an atomic on the stack is not followed */
		if ((e->flags & (HIST_STACK | HIST_STACK_WIDE)) &&
		    (bt->slots[e->slot_frame] & (3ull << e->slot) || HAS(*m, src) || HAS(*m, 0)))
			return false;
		CLR(*m, src);
		if (op->regs & ISA_REG_WRITES_R0)
			CLR(*m, 0);
		return true;
	case FMT_JMP_IMM:
	case FMT_JMP_REG: {
		/* dst <cond> src narrowed dst, src and every copy of them:
		 * what any of them became depends on all of them before */
		uint16_t group = (uint16_t)(e->linked_regs | (1u << dst) | (op->format == FMT_JMP_REG ? 1u << src : 0));
		uint64_t linked_slots = hist_linked_slots(env, e);
		bool touched = (*m & group) || (bt->slots[fr] & linked_slots);
		if (!touched && !(e->flags & HIST_LINKED_OTHER))
			return true;
		if (e->flags & HIST_LINKED_OTHER) {
			for (uint32_t fi = 0; fi < MAX_FRAMES; fi++)
				if (fi != fr && (bt->regs[fi] || bt->slots[fi]))
					return false;
			if (touched)
				return false;
			return true;
		}
		*m |= group;
		bt->slots[fr] |= linked_slots;
		return true;
	}
	case FMT_JA:
	case FMT_JA32:
		return true;
	case FMT_CALL:
	case FMT_CALL_LOCAL:
		/* a helper's result depends on nothing the walk follows; its
		 * arguments were clobbered (so are a global function's, whose
		 * call the history follows in the caller's frame) */
		if (*m & LIVENESS_ARGS)
			return false;
		CLR(*m, 0);
		return true;
	default:
		return false;
	}
}

/* Whether a checkpoint whose innermost frame is curframe can take bt's
 * marks: bt is in that frame, and has nothing in a deeper one (bt_enter). */
static bool checkpoint_takes(uint32_t curframe, const struct backtrack *bt)
{
	if (curframe != bt->frame)
		return false;
	for (uint32_t fi = curframe + 1; fi <= bt->deepest; fi++)
		if (bt->regs[fi] || bt->slots[fi])
			return false;
	return true;
}

/* Marks precise the registers of *regs that hold numbers not precise yet
 * in skeleton frame k, and leaves in *regs only those: the others need no
 * more following (as mark_in_checkpoint() on a whole state). */
static void skel_mark_regs(struct verifier_env *env, struct skel_frame *k, uint16_t *regs)
{
	uint16_t mark = *regs & k->scalars & (uint16_t)~k->precise;
	k->precise |= mark;
	env->precise_marks += (uint64_t)__builtin_popcount(mark);
	*regs = mark;
}

/* mark_in_checkpoint() on a skeleton. */
static bool mark_in_skel(struct verifier_env *env, struct skel *sk, struct backtrack *bt)
{
	if (!checkpoint_takes(sk->curframe, bt))
		return false;
	for (uint32_t fi = 0; fi <= sk->curframe; fi++) {
		struct skel_frame *k = &sk->frames[fi];
		skel_mark_regs(env, k, &bt->regs[fi]);
		uint64_t mark = bt->slots[fi] & k->spilled & ~k->spilled_precise;
		k->spilled_precise |= mark;
		env->precise_marks += (uint64_t)__builtin_popcountll(mark);
		bt->slots[fi] = mark;
	}
	return true;
}

/* Marks what bt holds precise in the checkpoint e (the state at the
 * start of the segment walked); drops what needs no more following. */
static bool mark_in_checkpoint(struct verifier_env *env, struct explored *e, struct backtrack *bt)
{
	struct vstate *st = e->st;
	if (!st && e->skel)
		return mark_in_skel(env, e->skel, bt);
	if (!st)
		return true; /* dropped from the search: nothing to mark, go on */
	if (!checkpoint_takes(st->curframe, bt))
		return false;
	for (uint32_t fi = 0; fi <= st->curframe; fi++) {
		struct vframe *f = st->frames[fi];
		for (uint16_t left = bt->regs[fi]; left; left &= (uint16_t)(left - 1)) {
			int i = __builtin_ctz(left);
			struct vreg *r = &f->regs[i];
			if (r->type != REG_SCALAR || r->precise) {
				CLR(bt->regs[fi], i);
			} else {
				r->precise = true;
				e->summary->frames[fi].precise |= (uint16_t)(1u << i);
				env->precise_marks++;
			}
		}
		/* the slots to follow only (this runs at every checkpoint a
		 * walk reaches, mostly with none) */
		for (uint64_t left = bt->slots[fi]; left; left &= left - 1) {
			uint32_t s = (uint32_t)__builtin_ctzll(left);
			if (!is_spilled_scalar(f, s) || f->stack[s].spilled.precise) {
				bt->slots[fi] &= ~(1ull << s);
			} else {
				f->stack[s].spilled.precise = true;
				e->summary->frames[fi].spilled_precise |= 1ull << s;
				env->precise_marks++;
			}
		}
	}
	return true;
}

static void mark_all_in(struct explored *e)
{
	if (e->skel)
		for (uint32_t fi = 0; fi <= e->skel->curframe; fi++)
			e->skel->frames[fi].precise |= e->skel->frames[fi].scalars;
	if (!e->st)
		return;
	FOR_EACH_REG(e->st, r, {
		if (r->type == REG_SCALAR)
			r->precise = true;
	});
	for (uint32_t fi = 0; fi <= e->summary->curframe; fi++) {
		struct skel_frame *k = &e->summary->frames[fi];
		k->precise |= k->scalars;
		k->spilled_precise |= k->spilled;
	}
}

/* Where the walk cannot follow: every scalar of every checkpoint on the
 * path is precise (the kernel's mark_all_scalars_precise). */
static void mark_all_on_path(struct verifier_env *env)
{
	if (env->log_level >= 2)
		vlog(env, "mark_precise: frame%u: falling back to forcing all scalars precise\n", env->cur.frame);
	/* a checkpoint marked so already had its own checkpoints marked */
	for (struct explored *e = env->parent; e && !e->all_precise; e = e->parent) {
		mark_all_in(e);
		e->all_precise = true;
		env->precise_marks++;
	}
}

static void log_segment(struct verifier_env *env, const struct backtrack *bt, const struct hist *h, int subseq)
{
	if (env->log_level < 2 || !h->n)
		return;
	vlog(env, "mark_precise: frame%u: last_idx %u first_idx %u subseq_idx %d\n", bt->frame, h->e[h->n - 1].pc,
	     h->e[0].pc, subseq);
}

static void log_step(struct verifier_env *env, const struct backtrack *bt, uint32_t pc)
{
	if (env->log_level < 2)
		return;
	char mask[256], dis[128];
	mask_text(bt, bt->frame, mask, sizeof mask);
	insn_text(env, pc, dis, sizeof dis);
	vlog(env, "mark_precise: frame%u: %s before %u: (%02x) %s\n", bt->frame, mask, pc, env->insns[pc].opcode, dis);
}

/* Whether bt holds registers of its current frame alone. */
static bool bt_regs_only(const struct backtrack *bt)
{
	uint32_t fr = bt->frame;
	if (bt->deepest != fr)
		return false;
	for (uint32_t fi = 0; fi <= fr; fi++)
		if (bt->slots[fi] || (fi != fr && bt->regs[fi]))
			return false;
	return true;
}

/* Walks bt back over all of h at once, from its summary (struct hist),
 * where h's entries are all of bt's frame and bt holds no stack slot
 * and none of the registers the summary is unsure of: what
 * backtrack_insn() entry by entry would leave (it changes nothing of
 * other frames' registers at those entries).  Whether it did.  A loop's
 * counter, asked for at every decided branch, then costs a few steps
 * per checkpoint, not one per instruction since. */
static bool walk_summary(const struct hist *h, struct backtrack *bt)
{
	uint32_t fr = bt->frame;
	uint16_t m = bt->regs[fr];
	if (h->frames || (h->n && h->frame != fr) || (m & h->unsure))
		return false;
	for (uint32_t fi = 0; fi <= bt->deepest; fi++)
		if (bt->slots[fi])
			return false;
	uint16_t from = 0;
	for (uint16_t left = m; left; left &= (uint16_t)(left - 1))
		from |= hist_from(h, (uint32_t)__builtin_ctz(left));
	bt->regs[fr] = from;
	return true;
}

/* Whether a walk passed just after entry e with at least what bt holds
 * (registers of its frame alone): it marked in the path's checkpoints
 * all that bt would, and gave up (marking everything) wherever bt would.
 * Marks are never taken back, and the states of checkpoints on a path
 * still being walked are never freed, so the rest of bt's walk would
 * change nothing.  A loop's counter, asked for at every decided branch,
 * is then followed over the instructions since the last such walk only,
 * not back to the checkpoint each time.  Not with -vv (each step is
 * printed). */
static bool walked_before(const struct verifier_env *env, const struct hist_entry *e, const struct backtrack *bt)
{
	uint32_t fr = bt->frame;
	return (bt->regs[fr] & ~e->done_regs) == 0 && e->done_frame == fr && env->log_level < 2 && bt_regs_only(bt);
}

/* bt passes just after e: a later walk with no more than bt has nothing
 * to do from here on (once this one ends: a walk goes back only). */
static void note_walked(struct hist_entry *e, const struct backtrack *bt)
{
	uint32_t fr = bt->frame;
	if (!bt_regs_only(bt))
		return;
	if (e->done_frame != fr)
		e->done_regs = 0;
	e->done_frame = (uint8_t)fr;
	e->done_regs |= bt->regs[fr];
}

/* walk_back's pass, for registers m of frame fr alone (most walks), back
 * over entries [0, n) of a history from its end: walked_before() and
 * note_walked() at each entry, and the entries touching none of m passed.
 * Returns 1 + the index of the first entry met that needs
 * backtrack_insn(), 0 when none does, or QUICK_WALKED_BEFORE where an
 * earlier walk passed with at least m. */
#define QUICK_WALKED_BEFORE UINT32_MAX
static uint32_t quick_pass(const uint16_t *walk_touch, struct hist_entry *ents, uint32_t n, uint32_t fr, uint16_t m)
{
	for (uint32_t i = n; i-- > 0;) {
		struct hist_entry *e = &ents[i];
		if (e->done_frame != fr) {
			e->done_frame = (uint8_t)fr;
			e->done_regs = m;
		} else if (!(m & ~e->done_regs)) {
			return QUICK_WALKED_BEFORE;
		} else {
			e->done_regs |= m;
		}
		if (e->frame != fr || e->flags || ((walk_touch[e->pc] | e->linked_regs) & m))
			return i + 1;
	}
	return 0;
}

/* walk_back's pass for any other bt (registers of more than one frame,
 * or stack slots), without -vv: back over entries [0, n) from its end,
 * passing those backtrack_insn() would change nothing of bt at: of its
 * frame, touching none of its registers there, and no stack slot it
 * holds (HIST_STACK's slot and the next, for either width).  Two-frame
 * walks (a callback's loop, with its caller's registers) are most of
 * those.  Returns 1 + the index of the first entry met that needs
 * backtrack_insn(), 0 when none does. */
static uint32_t wide_pass(const uint16_t *walk_touch, const struct hist_entry *ents, uint32_t n,
                          const struct backtrack *bt)
{
	uint32_t fr = bt->frame;
	uint16_t m = bt->regs[fr];
	for (uint32_t i = n; i-- > 0;) {
		const struct hist_entry *e = &ents[i];
		if (e->frame != fr || (e->flags & ~(HIST_STACK | HIST_STACK_WIDE)) ||
		    ((walk_touch[e->pc] | e->linked_regs) & m) ||
		    (e->flags && (bt->slots[e->slot_frame] & (3ull << e->slot))))
			return i + 1;
	}
	return 0;
}

/* Before walking back over segment h, whose checkpoint is cp, without
 * -vv: drops from bt the registers of frames outside bt's that cp has
 * precise (or not numbers) where no entry of h is outside bt's frame.
 * Nothing in h can change them, so they would reach cp as they are and
 * be dropped there with no mark: dropping them first changes nothing but
 * that the walk may end sooner, and that a callback's loop walked with
 * its caller's registers (precise since its first pass) passes the
 * entries of the callback's own frame in quick_pass(). */
static void drop_outer_precise(const struct hist *h, const struct explored *cp, struct backtrack *bt)
{
	uint32_t fr = bt->frame;
	if (!h->n || h->frames || h->e[0].frame != fr || !cp || (!cp->st && !cp->skel) ||
	    !checkpoint_takes(cp->st ? cp->st->curframe : cp->skel->curframe, bt))
		return;
	for (uint32_t fi = 0; fi < fr; fi++) {
		const struct skel_frame *k = cp->st ? &cp->summary->frames[fi] : &cp->skel->frames[fi];
		/* only numbers not precise yet are followed on */
		bt->regs[fi] &= k->scalars & (uint16_t)~k->precise;
	}
}

/* Follows bt back from the end of history h (seg_owner's, or the
 * current path's where NULL; subseq: the instruction after it) through
 * the checkpoints before. */
static int walk_back_from(struct verifier_env *env, struct backtrack *bt, struct hist *h, struct explored *seg_owner,
                          int subseq)
{
	for (;;) {
		log_segment(env, bt, h, subseq);
		struct explored *cp = seg_owner ? seg_owner->parent : env->parent;
		if (env->log_level < 2 && bt->frame) {
			drop_outer_precise(h, cp, bt);
			if (bt_empty(bt))
				return 0;
		}
		/* registers of one frame alone (most walks): the summary, or
		 * quick_pass() */
		uint32_t i = h->n;
		if (env->log_level < 2 && walk_summary(h, bt)) {
			if (bt_empty(bt))
				return 0;
			i = 0;
		}
		bool quick = env->log_level < 2 && bt_regs_only(bt);
		while (i-- > 0) {
			if (quick) {
				uint32_t at = quick_pass(env->walk_touch, h->e, i + 1, bt->frame, bt->regs[bt->frame]);
				if (at == QUICK_WALKED_BEFORE)
					return 0;
				if (!at)
					break;
				i = at - 1;
			} else if (env->log_level < 2) {
				uint32_t at = wide_pass(env->walk_touch, h->e, i + 1, bt);
				if (!at)
					break;
				i = at - 1;
			}
			struct hist_entry *e = &h->e[i];
			/* not quick and no -vv: bt holds more than registers of
			 * one frame, for which walked_before() and note_walked()
			 * do nothing */
			if (!quick && env->log_level >= 2) {
				if (walked_before(env, e, bt))
					return 0;
				note_walked(e, bt);
				log_step(env, bt, e->pc);
			}
			if (!backtrack_insn(env, e, bt)) {
				mark_all_on_path(env);
				return 0;
			}
			if (bt_empty(bt))
				return 0;
			quick = env->log_level < 2 && bt_regs_only(bt);
		}
		if (!cp)
			return 0;
		if (!mark_in_checkpoint(env, cp, bt)) {
			mark_all_on_path(env);
			return 0;
		}
		if (bt_empty(bt))
			return 0;
		/* a pruned path walked back after its loop's walk
		 * (propagate_backedges) through a checkpoint whose history
		 * is gone: every number before is precise */
		if (cp->hist_freed) {
			mark_all_on_path(env);
			return 0;
		}
		subseq = (int)cp->pc;
		seg_owner = cp;
		h = &cp->hist;
	}
}

/* Follows bt back from the end of the current path's history. */
static int walk_back(struct verifier_env *env, struct backtrack *bt)
{
	env->precise_walks++;
	return walk_back_from(env, bt, &env->hist, NULL, (int)env->cur.pc);
}

/* walk_back() for registers m of the current frame fr alone, without
 * -vv (most walks: a loop's counter at a decided branch, the precise
 * registers of a state that covered the path): from segment to segment
 * by their summaries, marking in each checkpoint as mark_in_checkpoint()
 * does, while the summaries serve; walk_back_from() from where they do
 * not. */
static int walk_regs(struct verifier_env *env, uint32_t fr, uint16_t m)
{
	env->precise_walks++;
	struct hist *h = &env->hist;
	struct explored *seg_owner = NULL;
	for (;;) {
		if (h->frames || (h->n && h->frame != fr) || (m & h->unsure))
			break;
		uint16_t from = 0;
		for (uint16_t left = m; left; left &= (uint16_t)(left - 1))
			from |= hist_from(h, (uint32_t)__builtin_ctz(left));
		m = from;
		struct explored *cp = seg_owner ? seg_owner->parent : env->parent;
		if (!m || !cp)
			return 0;
		if (!cp->st && cp->skel) {
			if (cp->skel->curframe != fr) {
				mark_all_on_path(env);
				return 0;
			}
			skel_mark_regs(env, &cp->skel->frames[fr], &m);
			if (!m)
				return 0;
		}
		if (cp->st) {
			if (cp->st->curframe != fr) {
				mark_all_on_path(env);
				return 0;
			}
			struct vreg *regs = cp->st->frames[fr]->regs;
			for (uint16_t left = m; left; left &= (uint16_t)(left - 1)) {
				int i = __builtin_ctz(left);
				if (regs[i].type != REG_SCALAR || regs[i].precise) {
					CLR(m, i);
				} else {
					regs[i].precise = true;
					env->precise_marks++;
				}
			}
			cp->summary->frames[fr].precise |= m;
			if (!m)
				return 0;
		}
		if (cp->hist_freed) {
			mark_all_on_path(env);
			return 0;
		}
		seg_owner = cp;
		h = &cp->hist;
	}
	struct backtrack bt;
	memset(&bt, 0, sizeof bt);
	bt_enter(&bt, fr);
	bt.regs[fr] = m;
	return walk_back_from(env, &bt, h, seg_owner, seg_owner ? (int)seg_owner->pc : (int)env->cur.pc);
}

int mark_precise(struct verifier_env *env, struct vstate *st, int regno)
{
	const struct vreg *r = &cur_frame(st)->regs[regno];
	if (r->type != REG_SCALAR || regno < 0 || regno > 9)
		return 0;
	if (env->log_level < 2)
		return walk_regs(env, st->curframe, (uint16_t)(1u << regno));
	struct backtrack bt;
	memset(&bt, 0, sizeof bt);
	bt_enter(&bt, st->curframe);
	SET(bt.regs[bt.frame], regno);
	if (env->log_level >= 2)
		vlog(env, "mark_precise: frame%u: r%d is needed precise at insn %u\n", bt.frame, regno, env->cur.pc);
	return walk_back(env, &bt);
}

int mark_precise_slot(struct verifier_env *env, struct vstate *st, uint32_t frameno, uint32_t slot)
{
	const struct vframe *f = st->frames[frameno];
	if (!is_spilled_scalar(f, slot))
		return 0;
	struct backtrack bt;
	memset(&bt, 0, sizeof bt);
	bt_enter(&bt, st->curframe);
	bt.slots[frameno] |= 1ull << slot;
	return walk_back(env, &bt);
}

/* Puts in bt frame fi's numbers of k that are precise, or all of them,
 * among the registers live. */
static void bt_take_frame(struct backtrack *bt, uint32_t fi, uint16_t live, const struct skel_frame *k,
                          bool all_scalars)
{
	bt->regs[fi] |= (uint16_t)(live & 0x3ff & k->scalars & (all_scalars ? 0xffffu : k->precise));
	bt->slots[fi] |= k->spilled & (all_scalars ? ~0ull : k->spilled_precise);
}

/* Puts in bt the numbers of a state at pc (its skeleton or summary) that
 * are precise, or all of them; whether there are any. */
static bool bt_from_skel(const struct verifier_env *env, struct backtrack *bt, const struct skel *sk, uint32_t pc,
                         bool all_scalars)
{
	for (uint32_t fi = 0; fi <= sk->curframe && fi < MAX_FRAMES; fi++)
		bt_take_frame(bt, fi, skel_live_regs(env, pc, sk, fi), &sk->frames[fi], all_scalars);
	return !bt_empty(bt);
}

int propagate_precision(struct verifier_env *env, struct vstate *st, const struct explored *old, uint32_t pc,
                        bool all_scalars)
{
	struct backtrack bt;
	memset(&bt, 0, sizeof bt);
	bt_enter(&bt, st->curframe);
	if (!bt_from_skel(env, &bt, old->summary, pc, all_scalars))
		return 0;
	if (env->log_level >= 2) {
		char mask[256];
		mask_text(&bt, bt.frame, mask, sizeof mask);
		vlog(env, "propagating %s from the state that covers insn %u\n", mask, pc);
	} else if (bt_regs_only(&bt)) {
		return walk_regs(env, bt.frame, bt.regs[bt.frame]);
	}
	return walk_back(env, &bt);
}

/* The kernel's MAX_BACKEDGE_ITERS: rounds before giving up on a fixed
 * point and making every number on the pruned paths precise. */
#define MAX_BACKEDGE_ROUNDS 64

/* One round over inst's pruned paths, each walked back as the path it
 * was (its history and checkpoint stand in for the current path's). */
static int backedges_round(struct verifier_env *env, struct scc_instance *inst, bool give_up)
{
	int rc = 0;
	size_t i = 0;
	for (struct backedge *b = inst->pruned; b && !rc; b = b->next, i++) {
		env->hist = env->backedge_hists[i];
		env->parent = b->parent;
		env->cur = (struct hist_entry){ .pc = b->pc, .frame = (uint8_t)b->curframe };
		/* what precision tracking reads of the state met, whether
		 * that state is still kept or not */
		const struct skel *old = b->equal->st ? b->equal->summary : b->equal->skel;
		if (give_up || !old) {
			mark_all_on_path(env);
			continue;
		}
		struct backtrack bt;
		memset(&bt, 0, sizeof bt);
		bt_enter(&bt, b->curframe);
		if (bt_from_skel(env, &bt, old, b->pc, false))
			rc = walk_back(env, &bt);
	}
	return rc;
}

int propagate_backedges(struct verifier_env *env, struct scc_instance *inst)
{
	struct hist hist = env->hist;
	struct explored *parent = env->parent;
	struct hist_entry cur = env->cur;
	int rc = 0;
	uint64_t before;
	uint32_t rounds = 0;
	do {
		before = env->precise_marks;
		rc = backedges_round(env, inst, ++rounds > MAX_BACKEDGE_ROUNDS);
	} while (!rc && env->precise_marks != before && rounds <= MAX_BACKEDGE_ROUNDS);
	env->hist = hist;
	env->parent = parent;
	env->cur = cur;
	return rc;
}
