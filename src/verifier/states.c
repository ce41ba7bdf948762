/*
 * states.c - the verifier's abstract states: as values (duplicating,
 * copying, freeing, and printing registers and stack the way the
 * kernel's verifier log does, so that the two logs can be read side by
 * side), compared with one another, and stored at prune points so that
 * a path reaching a state already covered is not walked again; plus the
 * stack of branches still to walk.
 *
 * Owns: state_dup(), state_copy(), state_free(), state_scratch(),
 * state_release(), reg_type_name(),
 * reg_format(), state_format(), push_pending(), path_done(), visit(),
 * free_search_states(), widen_callback_return().  Comparison follows the
 * kernel's regsafe(): imprecise scalars (precision.c) match any number
 * once the stored state's paths are all walked, and its loop's walk has
 * no paths pruned at a fixed point (scc.c); such a state's dead stack
 * slots (stack_live.c) are cleared once, before it is compared.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps/map_internal.h"
#include "verifier/internal.h"

/* ---- states as values ---------------------------------------------------- */

/* The bytes of f in use: its registers and fields, then the slots in use
 * (most programs touch little stack).  Copied in one memcpy() of a size
 * known only at run time, for which the library's is faster than the
 * string instructions the compiler makes for a copy of known size. */
static size_t frame_used(const struct vframe *f)
{
	return offsetof(struct vframe, stack) + f->slots * sizeof f->stack[0];
}

/* The bytes of st in use, but its frames: up to the references held. */
static size_t state_used(const struct vstate *st)
{
	return offsetof(struct vstate, refs) + st->ref_count * sizeof st->refs[0];
}

/* A copy of f with room for every slot (for walked states, whose stack
 * may grow). */
static struct vframe *frame_dup(const struct vframe *f)
{
	struct vframe *n = malloc(sizeof *n);
	if (!n)
		return NULL;
	memcpy(n, f, frame_used(f));
	return n;
}

struct vstate *state_dup(const struct vstate *st)
{
	struct vstate *n = malloc(sizeof *n);
	if (!n)
		return NULL;
	memcpy(n, st, sizeof *n);
	n->pack_class = 0;
	memset(n->frames, 0, sizeof n->frames);
	for (uint32_t i = 0; i <= st->curframe; i++) {
		n->frames[i] = frame_dup(st->frames[i]);
		if (!n->frames[i]) {
			state_free(n);
			return NULL;
		}
	}
	return n;
}

struct vstate *state_scratch(struct verifier_env *env, const struct vstate *st)
{
	if (!env->scratch && !(env->scratch = calloc(1, sizeof *env->scratch)))
		return NULL;
	return state_copy(env->scratch, st) ? NULL : env->scratch;
}

/* ---- packed states: kept at prune points and queued ----------------------
 *
 * A state kept or queued never grows: it holds only the stack slots in
 * use (a walk of 1M instructions may keep tens of thousands of states),
 * its frames in the same block as itself (one allocation, and one run of
 * memory for the comparisons at each prune point to read).  Blocks go
 * back to a free list of their size in env, for the next state queued or
 * kept: a branch is queued and taken again at every other jump.  The
 * blocks are the arena's (given back when the verification ends). */

#define PACK_UNIT 128
#define PACK_HEAD ((sizeof(struct vstate) + 15) & ~(size_t)15)

static size_t frame_bytes(const struct vframe *f)
{
	return (frame_used(f) + 15) & ~(size_t)15;
}

/* The size class of st packed: its size in PACK_UNITs. */
static uint32_t pack_class_of(const struct vstate *st)
{
	size_t size = PACK_HEAD;
	for (uint32_t i = 0; i <= st->curframe; i++)
		size += frame_bytes(st->frames[i]);
	return (uint32_t)((size + PACK_UNIT - 1) / PACK_UNIT);
}

static struct vstate *state_pack(struct verifier_env *env, const struct vstate *st)
{
	uint32_t cls = pack_class_of(st);
	_Static_assert((PACK_HEAD + MAX_FRAMES * (sizeof(struct vframe) + 15) + PACK_UNIT - 1) / PACK_UNIT < PACK_CLASSES,
	               "every packed state has a size class");
	struct vstate *n = env->packed_free[cls];
	if (n)
		env->packed_free[cls] = (struct vstate *)(void *)n->frames[0];
	else if (!(n = arena_alloc(&env->arena, (size_t)cls * PACK_UNIT)))
		return NULL;
	memcpy(n, st, state_used(st));
	n->pack_class = (uint16_t)cls;
	memset(n->frames, 0, sizeof n->frames);
	char *at = (char *)n + PACK_HEAD;
	for (uint32_t i = 0; i <= st->curframe; i++) {
		const struct vframe *f = st->frames[i];
		struct vframe *c = (struct vframe *)(void *)at;
		memcpy(c, f, frame_used(f));
		n->frames[i] = c;
		at += frame_bytes(f);
	}
	return n;
}

void state_release(struct verifier_env *env, struct vstate *st)
{
	if (!st || !st->pack_class) {
		state_free(st);
		return;
	}
	/* the list's link: the first frame pointer, of no use any more */
	st->frames[0] = (struct vframe *)(void *)env->packed_free[st->pack_class];
	env->packed_free[st->pack_class] = st;
}

int state_copy(struct vstate *dst, const struct vstate *src)
{
	struct vframe *keep[MAX_FRAMES];
	memcpy(keep, dst->frames, sizeof keep);
	for (uint32_t i = 0; i < MAX_FRAMES; i++) {
		if (i <= src->curframe) {
			if (!keep[i]) {
				keep[i] = malloc(sizeof *keep[i]);
				if (!keep[i])
					return -1;
			}
			memcpy(keep[i], src->frames[i], frame_used(src->frames[i]));
		} else if (keep[i]) {
			free(keep[i]);
			keep[i] = NULL;
		}
	}
	memcpy(dst, src, state_used(src));
	memcpy(dst->frames, keep, sizeof keep);
	dst->pack_class = 0;
	return 0;
}

void state_free(struct vstate *st)
{
	/* a packed state is the arena's */
	if (!st || st->pack_class)
		return;
	for (uint32_t i = 0; i < MAX_FRAMES; i++)
		free(st->frames[i]);
	free(st);
}

/* ---- printing ------------------------------------------------------------ */

const char *reg_type_name(const struct vreg *r)
{
	static const char *const plain[REG_TYPE_COUNT] = {
		[REG_NOT_INIT] = "?", [REG_SCALAR] = "scalar", [REG_CTX] = "ctx", [REG_STACK] = "fp",
		[REG_MAP_PTR] = "map_ptr", [REG_MAP_VALUE] = "map_value", [REG_PACKET] = "pkt",
		[REG_PACKET_META] = "pkt_meta", [REG_PACKET_END] = "pkt_end", [REG_MEM] = "mem",
		[REG_FUNC] = "func", [REG_BTF_ID] = "ptr_",
	};
	static const char *const or_null[REG_TYPE_COUNT] = {
		[REG_MAP_VALUE] = "map_value_or_null", [REG_MEM] = "ringbuf_mem_or_null",
		[REG_MAP_PTR] = "map_ptr_or_null", [REG_BTF_ID] = "ptr_or_null_",
	};
	if (r->type >= REG_TYPE_COUNT)
		return "invalid";
	if (r->maybe_null && or_null[r->type])
		/* (a global function's memory argument is no ringbuf record) */
		return r->type == REG_MEM && !r->ref_id ? "mem_or_null" : or_null[r->type];
	if (r->type == REG_MEM && r->ref_id)
		return "ringbuf_mem";
	return plain[r->type];
}

/* The variable part of a pointer, if any: ",smin=...,var_off=(...)". */
static int var_format(const struct scalar *v, char *buf, size_t size)
{
	if (scalar_is_const(v) && v->var.value == 0)
		return snprintf(buf, size, "%s", "");
	char tmp[192];
	scalar_format(v, tmp, sizeof tmp);
	/* scalar_format gives "scalar(a,b)"; keep the inside */
	const char *open = strchr(tmp, '(');
	if (!open)
		return snprintf(buf, size, ",var=%s", tmp);
	size_t len = strlen(open + 1);
	if (len && open[len] == ')')
		len--;
	return snprintf(buf, size, ",%.*s", (int)len, open + 1);
}

int reg_format(const struct vreg *r, char *buf, size_t size)
{
	char var[200];
	switch (r->type) {
	case REG_NOT_INIT:
		return snprintf(buf, size, "?");
	case REG_SCALAR:
		if (r->id && !scalar_is_const(&r->v)) {
			char tmp[192];
			scalar_format(&r->v, tmp, sizeof tmp);
			if (!strncmp(tmp, "scalar(", 7))
				return snprintf(buf, size, "scalar(id=%u%s%s", r->id, tmp[7] == ')' ? "" : ",", tmp + 7);
			return snprintf(buf, size, "%s", tmp);
		}
		return scalar_format(&r->v, buf, size);
	case REG_STACK:
		var_format(&r->v, var, sizeof var);
		if (var[0])
			return snprintf(buf, size, "fp(frame=%u,off=%d%s)", r->frameno, r->off, var);
		return snprintf(buf, size, "fp%d", r->off);
	case REG_MAP_PTR:
		return snprintf(buf, size, "%s(map=%s,ks=%u,vs=%u)", reg_type_name(r), r->map ? r->map->name : "?",
		                r->map ? r->map->key_size : 0, r->map ? r->map->value_size : 0);
	case REG_MAP_VALUE: {
		char offs[24] = "";
		var_format(&r->v, var, sizeof var);
		if (r->off)
			snprintf(offs, sizeof offs, ",off=%d", r->off);
		return snprintf(buf, size, "%s(id=%u,map=%s,ks=%u,vs=%u%s%s)", reg_type_name(r), r->id,
		                r->map ? r->map->name : "?", r->map ? r->map->key_size : 0,
		                r->map ? r->map->value_size : 0, offs, var);
	}
	case REG_PACKET:
	case REG_PACKET_META:
		var_format(&r->v, var, sizeof var);
		return snprintf(buf, size, "%s(id=%u,off=%d,r=%u%s)", reg_type_name(r), r->id, r->off, r->range, var);
	case REG_MEM:
		var_format(&r->v, var, sizeof var);
		return snprintf(buf, size, "%s(id=%u,ref_obj_id=%u,off=%d,sz=%u%s)", reg_type_name(r), r->id, r->ref_id,
		                r->off, r->mem_size, var);
	case REG_FUNC:
		return snprintf(buf, size, "func(subprog=%u)", r->subprog);
	default:
		var_format(&r->v, var, sizeof var);
		if (r->off || var[0])
			return snprintf(buf, size, "%s(off=%d%s)", reg_type_name(r), r->off, var);
		return snprintf(buf, size, "%s()", reg_type_name(r));
	}
}

static char slot_char(uint8_t t)
{
	switch (t) {
	case SLOT_MISC: return 'm';
	case SLOT_ZERO: return '0';
	case SLOT_SPILL: return 'r';
	case SLOT_ITER: return 'i';
	default: return '?';
	}
}

int state_format(const struct vstate *st, char *buf, size_t size)
{
	const struct vframe *f = st->frames[st->curframe];
	size_t n = 0;
#define ADD(...) do { int k_ = snprintf(buf + n, n < size ? size - n : 0, __VA_ARGS__); \
		if (k_ > 0) n += (size_t)k_; } while (0)
	buf[0] = 0;
	if (st->curframe)
		ADD("frame%u: ", st->curframe);
	for (int i = 0; i < 10; i++) {
		const struct vreg *r = &f->regs[i];
		if (r->type == REG_NOT_INIT)
			continue;
		char tmp[320];
		reg_format(r, tmp, sizeof tmp);
		ADD("%sR%d=%s", n && buf[n - 1] != ' ' ? " " : "", i, tmp);
	}
	ADD("%sR10=fp0", n ? " " : "");
	for (uint32_t s = 0; s < f->slots; s++) {
		const struct stack_slot *sl = &f->stack[s];
		bool any = false, iter = true;
		for (int b = 0; b < 8; b++) {
			any |= sl->type[b] != SLOT_INVALID;
			iter &= sl->type[b] == SLOT_ITER;
		}
		if (!any)
			continue;
		if (iter) {
			/* as the kernel prints an iterator */
			static const char *const states[] = { "invalid", "active", "drained" };
			ADD(" fp%d=iter_%s(ref_id=%u,state=%s,depth=%u)", -8 * (int)(s + 1), sl->spilled.iter_type,
			    sl->spilled.ref_id, states[sl->spilled.iter_state % 3], sl->spilled.iter_depth);
		} else if (sl->type[0] == SLOT_SPILL) {
			/* a narrow spill: the bytes above it first, as the
			 * kernel prints them */
			char tmp[320], above[9];
			int n_above = 0;
			for (int b = 7; b >= 0 && sl->type[b] != SLOT_SPILL; b--)
				above[n_above++] = slot_char(sl->type[b]);
			above[n_above] = 0;
			reg_format(&sl->spilled, tmp, sizeof tmp);
			ADD(" fp%d=%s%s", -8 * (int)(s + 1), above, tmp);
		} else {
			char t[9];
			/* the kernel prints the highest address first */
			for (int b = 0; b < 8; b++)
				t[b] = slot_char(sl->type[7 - b]);
			t[8] = 0;
			ADD(" fp%d=%s", -8 * (int)(s + 1), t);
		}
	}
	if (st->ref_count) {
		ADD(" refs=");
		for (uint32_t i = 0; i < st->ref_count; i++)
			ADD("%s%u", i ? "," : "", st->refs[i].id);
	}
#undef ADD
	return (int)n;
}

/* ---- comparison ---------------------------------------------------------- */

/* How strictly a stored state must cover the current one: NOT_EXACT
 * lets any number match an imprecise scalar (pruning a path against a
 * state whose paths were all walked), RANGE_WITHIN compares every
 * scalar's range (against a state still being walked, whose precision
 * marks are not complete yet), EXACT wants equal states (an endless loop). */
enum cover { NOT_EXACT, RANGE_WITHIN, EXACT };

struct idmap {
	uint32_t n;
	uint32_t tmp;             /* ids given to scalars that have none */
	uint32_t old[64], cur[64];
};

static bool ids_match(struct idmap *m, uint32_t old, uint32_t cur)
{
	if (!old)
		return true;
	if (!cur)
		return false;
	for (uint32_t i = 0; i < m->n; i++) {
		if (m->old[i] == old)
			return m->cur[i] == cur;
		if (m->cur[i] == cur)
			return false;
	}
	if (m->n >= 64)
		return false;
	m->old[m->n] = old;
	m->cur[m->n++] = cur;
	return true;
}

/* The kernel's check_scalar_ids: a precise number linked to others in
 * old must be linked the same way in cur; one alone in cur (id 0) gets
 * an id of its own, so old's id may map to nothing else. */
static bool scalar_ids_match(struct idmap *m, uint32_t old, uint32_t cur)
{
	if (!old)
		return true;
	if (!cur)
		cur = 0x80000000u + ++m->tmp;
	return ids_match(m, old, cur);
}

/* reg_covered() of two numbers in a mode other than EXACT, inline where
 * a state's registers and slots are compared in turn: most hold
 * numbers, and a call each cost more than the comparison. */
static inline __attribute__((always_inline)) bool number_covered(const struct vreg *old, const struct vreg *cur,
                                                                 struct idmap *m, enum cover mode)
{
	if (mode == NOT_EXACT && !old->precise)
		return true;
	if (!scalar_within(&old->v, &cur->v))
		return false;
	/* equal copies in old may have narrowed each other */
	return scalar_ids_match(m, old->id, cur->id);
}

static bool reg_covered(const struct vreg *old, const struct vreg *cur, struct idmap *m, enum cover mode)
{
	bool exact = mode == EXACT;
	if (old->type == REG_NOT_INIT)
		return !exact || cur->type == REG_NOT_INIT;
	if (old->type != cur->type)
		return false;
	if (old->type == REG_SCALAR) {
		if (exact)
			return !memcmp(&old->v, &cur->v, sizeof old->v) && ids_match(m, old->id, cur->id);
		if (mode == NOT_EXACT && !old->precise)
			return true;
		if (!scalar_within(&old->v, &cur->v))
			return false;
		/* equal copies in old may have narrowed each other */
		return scalar_ids_match(m, old->id, cur->id);
	}
	if (old->maybe_null != cur->maybe_null || old->off != cur->off || old->map != cur->map ||
	    old->frameno != cur->frameno || old->mem_size != cur->mem_size || old->subprog != cur->subprog ||
	    old->rdonly != cur->rdonly || old->untrusted != cur->untrusted)
		return false;
	if (exact ? memcmp(&old->v, &cur->v, sizeof old->v) != 0 : !scalar_within(&old->v, &cur->v))
		return false;
	if (is_pkt(old) && (exact ? old->range != cur->range : old->range > cur->range))
		return false;
	if (!ids_match(m, old->id, cur->id) || !ids_match(m, old->ref_id, cur->ref_id))
		return false;
	return true;
}

/* What a slot reads as in the kernel's scalar_reg_for_stack: the number
 * spilled in all 8 bytes, an unknown number if every byte is plain data
 * or never written (a privileged loader's), else NULL. */
static const struct vreg *slot_scalar(const struct stack_slot *sl, struct vreg *unknown)
{
	if (sl->type[7] == SLOT_SPILL && sl->spilled.type == REG_SCALAR)
		return &sl->spilled;
	for (int b = 0; b < 8; b++)
		if (sl->type[b] != SLOT_MISC && sl->type[b] != SLOT_INVALID)
			return NULL;
	mark_unknown(unknown);
	return unknown;
}

/* Whether old's slot os covers cur's cs (NULL: cur has none there), as
 * the kernel's stacksafe for a privileged loader (allow_uninit_stack):
 * bytes never written or plain data in old cover anything; the others
 * must be of the same kind in cur, but a number spilled whole in old is
 * compared as a number with what cur reads there (a number spilled whole
 * or plain bytes).  Bytes in the kernel's order, the slot's last byte
 * first.  EXACT wants the same kinds of bytes everywhere.  The kernel's
 * RANGE_WITHIN does too; here it is NOT_EXACT's rule for bytes (the same
 * kinds everywhere made for_each_bucket of the loop suite walk 2
 * instructions more than the kernel, with the kernel's stack liveness,
 * stack_live.c, as without).  Dead slots of a state whose paths are all
 * walked were cleared before (clean_live_states). */
static bool slot_covered(const struct stack_slot *os, const struct stack_slot *cs, struct idmap *m, enum cover mode)
{
	if (mode == EXACT && (!cs || memcmp(os->type, cs->type, sizeof os->type)))
		return false;
	for (int b = 7; b >= 0; b--) {
		uint8_t ot = os->type[b];
		if (ot == SLOT_INVALID || ot == SLOT_MISC)
			continue;
		if (!cs)
			return false;
		struct vreg unknown;
		const struct vreg *oreg = slot_scalar(os, &unknown), *creg = oreg ? slot_scalar(cs, &unknown) : NULL;
		if (oreg && creg)
			return mode == EXACT ? reg_covered(oreg, creg, m, mode) : number_covered(oreg, creg, m, mode);
		if (ot != cs->type[b])
			return false;
	}
	/* every byte of the same kind: the slot's first says what it holds */
	if (os->type[0] == SLOT_SPILL)
		return reg_covered(&os->spilled, &cs->spilled, m, mode);
	if (os->type[0] == SLOT_ITER)
		return iter_slots_covered(&os->spilled, &cs->spilled, mode == EXACT) &&
		       ids_match(m, os->spilled.ref_id, cs->spilled.ref_id);
	return true;
}

/* Whether old's stack covers cur's; if not, *failed is the slot of old
 * that did not (unchanged if it is a slot only cur uses). */
static bool stack_covered(const struct vframe *old, const struct vframe *cur, struct idmap *m, enum cover mode,
                          uint32_t *failed)
{
	for (uint32_t s = 0; s < old->slots; s++)
		if (!slot_covered(&old->stack[s], s < cur->slots ? &cur->stack[s] : NULL, m, mode)) {
			*failed = s;
			return false;
		}
	return true;
}

/* Where a comparison against a kept state failed (struct miss_copy's
 * at): a register, or stack slot MISS_SLOT0 + s, of its frame. */
#define MISS_SLOT0 10
_Static_assert(MISS_SLOT0 + STACK_SLOTS <= UINT8_MAX, "every slot has a miss_copy.at");

/* Whether the register or slot where old last failed to cover a state
 * fails on cur too.  Only a quick no: each part of the comparison holds
 * or fails alone (the renaming of ids too: a pair clashing here clashes
 * among all of them), so a part failing makes the whole fail, and the
 * next state at a loop's head usually fails where the last one did. */
static bool fails_where_last(const struct verifier_env *env, uint32_t pc, const struct vstate *old,
                             const struct vstate *cur, enum cover mode, uint32_t fi, uint32_t what)
{
	if (fi > old->curframe)
		return false;
	const struct vframe *of = old->frames[fi], *cf = cur->frames[fi];
	struct idmap m;
	m.n = m.tmp = 0;
	if (what < MISS_SLOT0) {
		if (mode != EXACT && !(live_regs(env, pc, old, fi) & (1u << what)))
			return false;
		return !reg_covered(&of->regs[what], &cf->regs[what], &m, mode);
	}
	uint32_t s = what - MISS_SLOT0;
	return s < of->slots && !slot_covered(&of->stack[s], s < cf->slots ? &cf->stack[s] : NULL, &m, mode);
}

/* How the quick test reads the state met where a miss copy was taken
 * (struct miss_copy's kind).  Which registers the comparisons read at
 * the kept state's instruction is known once, when the copy is taken,
 * for its innermost frame (an outer frame's depends on the call sites of
 * the state met: read then). */
enum quick_kind {
	QUICK_NONE,               /* no copy yet (or one of a state changed since) */
	QUICK_LIVE_REG,           /* a register of the innermost frame, live there */
	QUICK_DEAD_REG,           /* one dead there: read by EXACT alone */
	QUICK_OUTER_REG,          /* a register of an outer frame */
	QUICK_SLOT,               /* a stack slot */
};

/* The quick test's first questions (struct miss_copy's live_frames and
 * slot_frames), kept in step with the copy's kind. */
static void copy_note_kind(struct miss_copy *c)
{
	c->live_frames = c->kind == QUICK_LIVE_REG ? (uint8_t)(c->curframe + 1) : 0;
	c->slot_frames = c->kind == QUICK_SLOT ? (uint8_t)(c->curframe + 1) : 0;
}

/* A copy no test reads any more (of a state changed since). */
static void copy_forget(struct miss_copy *c)
{
	c->kind = QUICK_NONE;
	copy_note_kind(c);
}

/* Notes where old failed to cover a state, and what old holds there;
 * where it failed before becomes the second place checked. */
static void note_miss(const struct verifier_env *env, struct explored *e, uint32_t fi, uint32_t what)
{
	const struct vframe *of = e->st->frames[fi];
	struct miss_copy *c = &e->miss_copy;
	const struct vreg *r = what < MISS_SLOT0 ? &of->regs[what] : &of->stack[what - MISS_SLOT0].spilled;
	if (c->kind != QUICK_NONE)
		e->miss2_copy = *c;
	memset(c, 0, sizeof *c);
	c->frame = (uint8_t)fi;
	c->at = (uint8_t)what;
	c->curframe = (uint8_t)e->st->curframe;
	if (what < MISS_SLOT0 && fi == e->st->curframe)
		c->kind = env->liveness.live_in[e->pc] & (1u << what) ? QUICK_LIVE_REG : QUICK_DEAD_REG;
	else
		c->kind = what < MISS_SLOT0 ? QUICK_OUTER_REG : QUICK_SLOT;
	copy_note_kind(c);
	c->reg_off = (uint16_t)((const char *)r - (const char *)of);
	if (what >= MISS_SLOT0) {
		memcpy(c->slot_type, of->stack[what - MISS_SLOT0].type, sizeof c->slot_type);
		for (int b = 0; b < 8; b++)
			c->slot_spill |= c->slot_type[b] == SLOT_SPILL;
	}
	/* a slot's spilled part is copied whatever its bytes: only read
	 * where one of them says SLOT_SPILL */
	c->reg_type = r->type;
	c->precise = r->precise;
	c->umin = r->v.umin;
	c->umax = r->v.umax;
	c->smin = r->v.smin;
	c->smax = r->v.smax;
}

/* What comparing a state with the copy of what a kept one holds at its
 * miss_at shows: nothing sure, a number out of the copied one's range
 * (a failure unless the copied number is imprecise and the mode
 * NOT_EXACT: the copy's precise may be older than the state's), or a
 * failure in any mode. */
enum copy_result { COPY_NOT_SURE, COPY_OUT_OF_RANGE, COPY_FAILS };

/* reg_covered() of cur against the register copied in c. */
static inline __attribute__((always_inline)) enum copy_result copied_reg_fails(const struct miss_copy *c,
                                                                            const struct vreg *cur, enum cover mode)
{
	/* a number first: most copies are of one */
	if (c->reg_type != REG_SCALAR) {
		if (c->reg_type == REG_NOT_INIT)
			return mode == EXACT && cur->type != REG_NOT_INIT ? COPY_FAILS : COPY_NOT_SURE;
		return c->reg_type != cur->type ? COPY_FAILS : COPY_NOT_SURE;
	}
	if (cur->type != REG_SCALAR)
		return COPY_FAILS;
	/* the four tests at once, not one branch each: which one fails
	 * differs from state to state */
	if (mode == EXACT)
		return ((cur->v.umin != c->umin) | (cur->v.umax != c->umax) | (cur->v.smin != c->smin) |
		        (cur->v.smax != c->smax)) ? COPY_FAILS : COPY_NOT_SURE;
	if ((cur->v.umin < c->umin) | (cur->v.umax > c->umax) | (cur->v.smin < c->smin) | (cur->v.smax > c->smax))
		return c->precise ? COPY_FAILS : COPY_OUT_OF_RANGE;
	return COPY_NOT_SURE;
}

/* slot_covered() of cur's slot cs (NULL: none) against the slot copied
 * in c. */
static inline __attribute__((always_inline)) enum copy_result copied_slot_fails(const struct miss_copy *c,
                                                                             const struct stack_slot *cs,
                                                                             enum cover mode)
{
	bool exact = mode == EXACT;
	bool ospill = false;
	if (cs && !memcmp(c->slot_type, cs->type, sizeof c->slot_type))
		/* the same bytes (most often): only a spill is left to compare */
		return c->slot_spill ? copied_reg_fails(c, &cs->spilled, mode) : COPY_NOT_SURE;
	for (int b = 0; b < 8; b++) {
		uint8_t ot = c->slot_type[b];
		uint8_t ct = cs ? cs->type[b] : SLOT_INVALID;
		if (ot == SLOT_INVALID && !exact)
			continue;
		if (ot == ct) {
			ospill |= ot == SLOT_SPILL;
			continue;
		}
		if (exact)
			return COPY_FAILS;
		if (ot == SLOT_MISC && (ct == SLOT_ZERO || (ct == SLOT_SPILL && cs->spilled.type == REG_SCALAR)))
			continue;
		return COPY_FAILS;
	}
	return ospill ? copied_reg_fails(c, &cs->spilled, mode) : COPY_NOT_SURE;
}

/* fails_where_last() on c, the copy of what a kept state holds at a
 * register or slot, without reading the state. */
static inline enum copy_result copy_compare_at(const struct verifier_env *env, uint32_t pc,
                                               const struct miss_copy *c, const struct vstate *cur, enum cover mode)
{
	/* the commonest copies first: a live register of the innermost
	 * frame, and a stack slot, the state met having as many frames */
	if (c->live_frames == cur->curframe + 1u)
		return copied_reg_fails(c, (const struct vreg *)(const void *)((const char *)cur->frames[cur->curframe] +
		                                                               c->reg_off), mode);
	if (c->slot_frames == cur->curframe + 1u) {
		const struct vframe *f = cur->frames[c->frame];
		uint32_t s = c->at - MISS_SLOT0;
		return copied_slot_fails(c, s < f->slots ? &f->stack[s] : NULL, mode);
	}
	if (c->kind == QUICK_NONE)
		return COPY_NOT_SURE;
	if (c->curframe != cur->curframe)
		return COPY_FAILS;
	const struct vframe *cf = cur->frames[c->frame];
	const struct vreg *r = (const struct vreg *)(const void *)((const char *)cf + c->reg_off);
	switch (c->kind) {
	case QUICK_LIVE_REG:
		return copied_reg_fails(c, r, mode);
	case QUICK_DEAD_REG:
		return mode == EXACT ? copied_reg_fails(c, r, mode) : COPY_NOT_SURE;
	case QUICK_OUTER_REG:
		/* cur's frames' call sites decide which registers are live:
		 * if they are not old's, old covers cur in no case */
		if (mode != EXACT && !(live_regs(env, pc, cur, c->frame) & (1u << c->at)))
			return COPY_NOT_SURE;
		return copied_reg_fails(c, r, mode);
	default: {
		uint32_t s = c->at - MISS_SLOT0;
		return copied_slot_fails(c, s < cf->slots ? &cf->stack[s] : NULL, mode);
	}
	}
}

/* The quick no on the copies of what e's state holds where it failed
 * last and the time before (each a sure failure or not alone: the
 * surer answer of the two). */
/* copy_compare() once the first copy said r (not a sure failure). */
static inline enum copy_result copy_compare_second(const struct verifier_env *env, uint32_t pc,
                                                   const struct explored *e, const struct vstate *cur,
                                                   enum cover mode, enum copy_result r)
{
	_Static_assert(COPY_NOT_SURE < COPY_OUT_OF_RANGE && COPY_OUT_OF_RANGE < COPY_FAILS, "surer is greater");
	enum copy_result r2 = copy_compare_at(env, pc, &e->miss2_copy, cur, mode);
	return r2 > r ? r2 : r;
}

static inline enum copy_result copy_compare(const struct verifier_env *env, uint32_t pc, const struct explored *e,
                                            const struct vstate *cur, enum cover mode)
{
	enum copy_result r = copy_compare_at(env, pc, &e->miss_copy, cur, mode);
	return r == COPY_FAILS ? r : copy_compare_second(env, pc, e, cur, mode, r);
}

static bool copy_fails(enum copy_result r, enum cover mode)
{
	return r == COPY_FAILS || (r == COPY_OUT_OF_RANGE && mode != NOT_EXACT);
}

/* states_covered() once the quick test on the copy was not sure;
 * recheck: read in full first where e failed last (the copy holds
 * only part of what is compared there). */
static bool states_covered_in_full(const struct verifier_env *env, uint32_t pc, struct explored *e,
                                   const struct vstate *cur, enum cover mode, bool recheck);

static bool states_covered(const struct verifier_env *env, uint32_t pc, struct explored *e, const struct vstate *cur,
                           enum cover mode)
{
	return !copy_fails(copy_compare(env, pc, e, cur, mode), mode) &&
	       states_covered_in_full(env, pc, e, cur, mode, true);
}

static bool states_covered_in_full(const struct verifier_env *env, uint32_t pc, struct explored *e,
                                   const struct vstate *cur, enum cover mode, bool recheck)
{
	const struct vstate *old = e->st;
	bool exact = mode == EXACT;
	if (old->curframe != cur->curframe || old->ref_count != cur->ref_count || old->lock_map != cur->lock_map ||
	    !old->lock_id != !cur->lock_id ||
	    (exact && (old->may_goto_depth != cur->may_goto_depth || old->callback_depth != cur->callback_depth)))
		return false;
	if (recheck && e->miss_copy.kind != QUICK_NONE &&
	    fails_where_last(env, pc, old, cur, mode, e->miss_copy.frame, e->miss_copy.at))
		return false;
	/* only the pairs in use are read: clearing the arrays costs more than
	 * the comparison (this runs for every state kept at a prune point) */
	struct idmap m;
	m.n = m.tmp = 0;
	for (uint32_t fi = 0; fi <= old->curframe; fi++) {
		const struct vframe *of = old->frames[fi], *cf = cur->frames[fi];
		if (of->callsite != cf->callsite || of->callback_helper != cf->callback_helper)
			return false;
		/* as the kernel's func_states_equal: a state after more calls
		 * back from this frame's call covers none after fewer */
		if (of->callbacks_queued > cf->callbacks_queued)
			return false;
		/* the live registers in turn, lowest first (a loop over all
		 * ten would branch on each one's liveness, which differs from
		 * one instruction to the next) */
		uint32_t regs = exact ? 0x3ffu : live_regs(env, pc, old, fi) & 0x3ffu;
		for (; regs; regs &= regs - 1) {
			uint32_t i = (uint32_t)__builtin_ctz(regs);
			const struct vreg *o = &of->regs[i], *c = &cf->regs[i];
			if (!(!exact && o->type == REG_SCALAR && c->type == REG_SCALAR ? number_covered(o, c, &m, mode)
			                                                              : reg_covered(o, c, &m, mode))) {
				note_miss(env, e, fi, i);
				return false;
			}
		}
		uint32_t slot = STACK_SLOTS;
		if (!stack_covered(of, cf, &m, mode, &slot)) {
			if (slot < STACK_SLOTS)
				note_miss(env, e, fi, MISS_SLOT0 + slot);
			return false;
		}
	}
	for (uint32_t i = 0; i < old->ref_count; i++)
		if (!ids_match(&m, old->refs[i].id, cur->refs[i].id))
			return false;
	/* the lock held must be the same value's, under the same renaming
	 * of ids as the registers */
	return ids_match(&m, old->lock_id, cur->lock_id);
}

/* ---- explored states and pending branches -------------------------------- */

struct vstate *state_branch(struct verifier_env *env, const struct vstate *st)
{
	return state_pack(env, st);
}

int push_pending(struct verifier_env *env, const struct vstate *st, uint32_t pc)
{
	/* (the limit checked before the copy is made) */
	if (env->sp + 1 > 8192)
		return reject(env, -E2BIG, "The sequence of %zu jumps is too complex.", env->sp + 1);
	struct vstate *copy = state_pack(env, st);
	if (!copy)
		return reject(env, -ENOMEM, "out of memory");
	return push_branch(env, copy, pc);
}

int push_branch(struct verifier_env *env, struct vstate *copy, uint32_t pc)
{
	if (env->sp == env->cap) {
		size_t ncap = env->cap ? env->cap * 2 : 64;
		struct pending *n = realloc(env->stack, ncap * sizeof *n);
		if (!n) {
			state_release(env, copy);
			return reject(env, -ENOMEM, "out of memory");
		}
		env->stack = n;
		env->cap = ncap;
	}
	/* the kernel counts the branch being queued */
	if (env->sp + 1 > 8192) {
		state_release(env, copy);
		return reject(env, -E2BIG, "The sequence of %zu jumps is too complex.", env->sp + 1);
	}
	/* made in its place on the stack: made aside and copied there, it
	 * was read back 16 bytes at a time just after hist_copy() wrote it
	 * a field at a time, and waited for those stores to reach the cache */
	struct pending *p = &env->stack[env->sp];
	p->st = copy;
	p->parent = env->parent;
	p->pc = pc;
	/* the branch's history ends with the instruction queueing it */
	if (hist_copy(env, &p->hist, &env->hist, &env->cur)) {
		state_release(env, copy);
		hist_free(env, &p->hist);
		return reject(env, -ENOMEM, "out of memory");
	}
	env->sp++;
	if (env->parent)
		env->parent->branches++;
	return 0;
}

/* A path ended (exit, or pruned): the checkpoints it passed have one
 * branch fewer in progress. */
void path_done(struct verifier_env *env)
{
	for (struct explored *e = env->parent; e; e = e->parent) {
		if (--e->branches)
			break;
		if (!e->dropped) {
			env->to_clean[e->pc].left++;
			env->to_clean[e->pc].added++;
		}
		scc_exit(env, e);
		/* a path pruned in a loop's walk going on may be walked back
		 * through it when the walk ends (scc.c): kept till then */
		if (env->visits_with_backedges) {
			e->hist_kept = true;
			e->kept_next = env->kept;
			env->kept = e;
			continue;
		}
		/* no path walks back through it any more: only a state still
		 * in the search is kept, without its history */
		hist_free(env, &e->hist);
		e->hist_freed = true;
		if (e->dropped) {
			state_release(env, e->st);
			e->st = NULL;
			e->skel = NULL;
		}
	}
	env->parent = NULL;
}

static bool is_ancestor(const struct explored *anc, const struct explored *from)
{
	for (const struct explored *e = from; e; e = e->parent)
		if (e == anc)
			return true;
	return false;
}

/* Widening at an iterator's next call or may_goto: numbers that changed
 * since the last visit become unknown, so that the states at the loop
 * head settle (the kernel reaches the same end by ignoring numbers that
 * no safety check depends on). */
static void widen(struct vstate *cur, const struct vstate *old)
{
	if (cur->curframe != old->curframe)
		return;
	for (uint32_t fi = 0; fi <= cur->curframe; fi++) {
		struct vframe *cf = cur->frames[fi];
		const struct vframe *of = old->frames[fi];
		for (int i = 0; i < 10; i++) {
			struct vreg *c = &cf->regs[i];
			const struct vreg *o = &of->regs[i];
			if (c->type == REG_SCALAR && o->type == REG_SCALAR && !scalar_within(&o->v, &c->v)) {
				scalar_unknown(&c->v);
				c->id = 0;
			}
		}
		for (uint32_t sl = 0; sl < cf->slots && sl < of->slots; sl++) {
			struct stack_slot *c = &cf->stack[sl];
			const struct stack_slot *o = &of->stack[sl];
			for (int b = 0; b < 8; b++)
				if (c->type[b] == SLOT_ZERO && o->type[b] == SLOT_MISC)
					c->type[b] = SLOT_MISC;
			if (c->type[0] == SLOT_SPILL && o->type[0] == SLOT_SPILL && c->spilled.type == REG_SCALAR &&
			    o->spilled.type == REG_SCALAR && !scalar_within(&o->spilled.v, &c->spilled.v)) {
				scalar_unknown(&c->spilled.v);
				c->spilled.id = 0;
			}
		}
	}
}

/* st at pc is covered by e in full (every number), e's precision marks
 * not being final (e is still being walked, or its loop's walk had
 * paths pruned so): what e marked precise so far is precise on st's
 * path too, and the walk through the loop has a backedge (scc.c, which
 * keeps the comparisons in full until the rest is sure).  Whether the
 * path may end (precision propagated). */
static bool fixed_point(struct verifier_env *env, uint32_t pc, struct vstate *st, struct explored *e)
{
	e->hits++;
	if ((e->branches || scc_incomplete(env, e)) && scc_add_backedge(env, e, pc, st->curframe))
		return false;
	return propagate_precision(env, st, e, pc, false) == 0;
}

/* The kernel's maybe_widen_reg: a number neither precise in old or cur
 * nor equal in both becomes unknown. */
static void widen_imprecise(const struct vreg *old, struct vreg *cur, struct idmap *m)
{
	if (old->type != REG_SCALAR || cur->type != REG_SCALAR || old->precise || cur->precise)
		return;
	if (!memcmp(&old->v, &cur->v, sizeof old->v) && !old->id == !cur->id && ids_match(m, old->id, cur->id))
		return;
	mark_unknown(cur);
}

/* A hash of st's frames' call sites, for a quick no before
 * same_callsites() reads a kept state. */
static uint32_t callsites_hash(const struct vstate *st)
{
	uint32_t h = (st->curframe + 1) * 0x9e3779b1u;
	for (uint32_t fi = 1; fi <= st->curframe; fi++)
		h = (h ^ st->frames[fi]->callsite) * 0x01000193u;
	return h;
}

static bool same_callsites(const struct vstate *a, const struct vstate *b)
{
	if (a->curframe != b->curframe)
		return false;
	for (uint32_t fi = 1; fi <= a->curframe; fi++)
		if (a->frames[fi]->callsite != b->frames[fi]->callsite)
			return false;
	return true;
}

void widen_callback_return(struct verifier_env *env, struct vstate *st, uint32_t callsite)
{
	/* the kernel's find_prev_entry: the newest state kept at the call
	 * still being walked, under the same calls */
	const struct vstate *old = NULL;
	for (struct explored *e = env->explored[callsite]; e && !old; e = e->next)
		if (e->branches && e->st && same_callsites(e->st, st))
			old = e->st;
	if (!old)
		return;
	struct idmap m;
	m.n = m.tmp = 0;
	for (uint32_t fi = st->curframe + 1; fi-- > 0;) {
		const struct vframe *of = old->frames[fi];
		struct vframe *cf = st->frames[fi];
		for (int i = 0; i < 11; i++)
			widen_imprecise(&of->regs[i], &cf->regs[i], &m);
		/* spilled registers only where the slot's lowest byte holds
		 * one (the kernel's is_spilled_reg) */
		for (uint32_t sl = 0; sl < of->slots && sl < cf->slots; sl++)
			if (of->stack[sl].type[0] == SLOT_SPILL && cf->stack[sl].type[0] == SLOT_SPILL)
				widen_imprecise(&of->stack[sl].spilled, &cf->stack[sl].spilled, &m);
	}
}

/* At a loop head (a helper calling back, an iterator's next call,
 * may_goto): whether a stored state covers st, after widening st once
 * the head has been met with two states kept. */
static bool covered_at_loop_head(struct verifier_env *env, uint32_t pc, struct vstate *st, bool widens)
{
	uint32_t seen = 0;
	for (struct explored *e = env->explored[pc]; e; e = e->next) {
		if (states_covered(env, pc, e, st, RANGE_WITHIN) && loop_head_may_prune(env, pc, e->st, st))
			return fixed_point(env, pc, st, e);
		seen++;
	}
	if (widens && seen >= 2 && env->explored[pc]->st) {
		widen(st, env->explored[pc]->st);
		for (struct explored *e = env->explored[pc]; e; e = e->next)
			if (states_covered(env, pc, e, st, RANGE_WITHIN) && loop_head_may_prune(env, pc, e->st, st))
				return fixed_point(env, pc, st, e);
	}
	return false;
}

/* The loop whose head is pc, if it is one (for -v's statistics). */
static struct loop_stats *loop_at(struct verifier_env *env, uint32_t pc)
{
	return env->loop_of && env->loop_of[pc] ? &env->loops[env->loop_of[pc] - 1] : NULL;
}

static void note_pruned(struct verifier_env *env, uint32_t pc)
{
	struct loop_stats *l = loop_at(env, pc);
	if (l)
		l->pruned++;
}

/* The kernel's bucket for states at pc whose innermost frame is st's
 * (explored_state(): the instruction xor the frame's call site, -1 for
 * the program's own frame, modulo the program's length). */
static uint32_t bucket_of(const struct verifier_env *env, uint32_t pc, const struct vstate *st)
{
	uint32_t callsite = st->curframe ? st->frames[st->curframe]->callsite : UINT32_MAX;
	/* (pc ^ callsite) % count, exact for every 32-bit dividend: the
	 * fraction's bits times the divisor (Lemire's "faster remainder by
	 * direct computation") */
	uint64_t fraction = env->bucket_magic * (pc ^ callsite);
	return (uint32_t)(((unsigned __int128)fraction * (uint32_t)env->count) >> 64);
}

/* Keeps a copy of st at pc, the current path's newest checkpoint. */
static int store_state(struct verifier_env *env, uint32_t pc, const struct vstate *st)
{
	env->prev_jmps = env->jmps;
	env->prev_processed = env->processed;
	struct explored *n = arena_alloc(&env->arena, sizeof *n);
	if (!n || !(n->st = state_pack(env, st)))
		return reject(env, -ENOMEM, "out of memory");
	struct vstate *packed = n->st;
	memset(n, 0, sizeof *n);
	n->st = packed;
	n->pc = pc;
	n->callsites_hash = callsites_hash(st);
	if (skel_summarize(env, n))
		return reject(env, -ENOMEM, "out of memory");
	if (hist_move_exact(env, &n->hist, &env->hist))
		return reject(env, -ENOMEM, "out of memory");
	n->parent = env->parent;
	n->branches = 1;
	n->next = env->explored[pc];
	env->explored[pc] = n;
	n->all_next = env->all;
	env->all = n;
	env->parent = n;
	if (scc_enter(env, n))
		return -ENOMEM;
	struct loop_stats *l = loop_at(env, pc);
	if (l)
		l->kept++;
	env->total_states++;
	env->cur_states++;
	env->bucket_states[bucket_of(env, pc, st)]++;
	if (env->cur_states > env->peak_states)
		env->peak_states = env->cur_states;
	return 0;
}

/* How many times (per hit, and once more) state e may fail to cover
 * the states met at its instruction before it leaves the search: the
 * kernel's 3, or 64 at a loop head (its forced checkpoints: a helper
 * calling back, an iterator's next call, may_goto) for a state still
 * being walked, which the loop needs to converge against. */
static uint32_t miss_limit(bool loop_head, const struct explored *e)
{
	return loop_head && e->branches ? 64 : 3;
}

/* The kernel's clean_live_states: the states kept at pc under st's calls
 * whose every path is walked (and whose loop's walk has no path pruned
 * against a state still being walked) have the stack slots no path from
 * them reads cleared, once: never written, they cover anything. */
static void clean_live_states(struct verifier_env *env, uint32_t pc, const struct vstate *st)
{
	struct to_clean *tc = &env->to_clean[pc];
	/* a state held back stays so until a loop's visit ends */
	if (!tc->left || (tc->all_held && tc->held_added == tc->added && tc->held_exits == env->scc_exits))
		return;
	uint32_t hash = callsites_hash(st), held = 0;
	/* the record's fields first: most states are passed over unread */
	for (struct explored *e = env->explored[pc]; e; e = e->next) {
		if (e->branches || e->cleaned || !e->st)
			continue;
		if (scc_walk_has_backedges(env, e)) {
			held++;
			continue;
		}
		if (e->callsites_hash != hash || !same_callsites(e->st, st))
			continue;
		for (uint32_t fi = 0; fi <= e->st->curframe; fi++) {
			struct vframe *f = e->st->frames[fi];
			uint64_t live = stack_live_slots(env, e->st, pc, fi);
			struct skel_frame *k = &e->summary->frames[fi];
			for (uint32_t s = 0; s < f->slots; s++)
				if (!(live & (1ull << s))) {
					memset(f->stack[s].type, SLOT_INVALID, sizeof f->stack[s].type);
					mark_not_init(&f->stack[s].spilled);
					if (s < 64) {
						k->spilled &= ~(1ull << s);
						k->spilled_precise &= ~(1ull << s);
					}
				}
		}
		e->cleaned = true;
		tc->left--;
		/* the copies of where it failed are of the state before */
		copy_forget(&e->miss_copy);
		copy_forget(&e->miss2_copy);
	}
	tc->all_held = held == tc->left;
	tc->held_added = tc->added;
	tc->held_exits = env->scc_exits;
}

/* 1: covered by a stored state (prune), 0: go on (stored), <0: error. */
int visit(struct verifier_env *env, uint32_t pc, struct vstate *st)
{
	/* A helper calling back (bpf_loop, ...) makes a loop: its call is
	 * met again after each callback; there, as the kernel does, a state
	 * covered by one still being walked is a fixed point, and ends the
	 * path.  An iterator's next call and may_goto head loops the same
	 * way (iter.c). */
	struct loop_stats *l = loop_at(env, pc);
	if (l)
		l->visits++;
	clean_live_states(env, pc, st);
	const struct isa_op *op = env->cfg.ops[pc];
	bool may_goto = op && op->format == FMT_MAY_GOTO;
	bool helper_loop = isa_is_helper_call(&env->insns[pc]) &&
	                   helper_calls_back(env->opts->helpers, (uint32_t)env->insns[pc].imm);
	bool calls_back = helper_loop || (!may_goto && is_open_coded_loop_head(env, pc));
	/* an iterator's next call and may_goto: compared first, widened;
	 * a helper's call back in the one pass below, as the kernel (its
	 * numbers were widened at the callback's return already) */
	if (((calls_back && !helper_loop) || may_goto) && covered_at_loop_head(env, pc, st, true))
		return 1;
	/* a long history since the last checkpoint is walked back again by
	 * each precision check: the kernel keeps a state then, loop or not,
	 * and at every loop head */
	bool force = calls_back || may_goto || env->hist.marks > HIST_FORCE_CHECKPOINT;
	/* otherwise, as the kernel, a state only two jumps and eight
	 * instructions after the last one kept */
	bool add = force || (env->jmps - env->prev_jmps >= 2 && env->processed - env->prev_processed >= 8);
	uint32_t seen = env->bucket_states[bucket_of(env, pc, st)];
	bool loop_head = calls_back || may_goto;
	for (struct explored **pp = &env->explored[pc]; *pp;) {
		struct explored *e = *pp;
		enum copy_result quick;
		/* the next record's address is known now: its lines are
		 * fetched while this one is tested (a mispredicted branch
		 * below would otherwise restart the fetch after it) */
		if (e->next) {
			__builtin_prefetch(e->next);
			__builtin_prefetch((const char *)e->next + 64);
			__builtin_prefetch((const char *)e->next + 128);
		}
		if (e->branches && helper_loop) {
			/* the call met again with a state still being walked
			 * covering in full: the callback's loop is at its
			 * fixed point */
			if (states_covered(env, pc, e, st, RANGE_WITHIN)) {
				note_pruned(env, pc);
				return fixed_point(env, pc, st, e) ? 1 : -ENOMEM;
			}
		} else if (e->branches) {
			/* a state whose paths are still being walked proves
			 * nothing yet; meeting it again unchanged on its own
			 * path is a loop that never ends (the ancestry walk
			 * last: a path may have tens of thousands of states) */
			if (!calls_back && states_covered(env, pc, e, st, EXACT) && is_ancestor(e, env->parent))
				return reject(env, -EINVAL, "infinite loop detected at insn %u", pc);
			/* in a loop, iterations differ: keep states rarely */
			if (!force && env->jmps - env->prev_jmps < 20 &&
			    env->processed - env->prev_processed < 100)
				add = false;
		} else if ((quick = copy_compare_at(env, pc, &e->miss_copy, st, RANGE_WITHIN)) == COPY_FAILS ||
		           (quick == COPY_OUT_OF_RANGE && scc_incomplete(env, e)) ||
		           (quick = copy_compare_second(env, pc, e, st, RANGE_WITHIN, quick)) == COPY_FAILS) {
			/* e covers st in no mode: RANGE_WITHIN and NOT_EXACT
			 * differ only for imprecise numbers */
		} else if (scc_incomplete(env, e)) {
			/* e's loop is still being walked: its marks are not
			 * final, so every number of e must cover st's */
			if (quick == COPY_NOT_SURE && states_covered_in_full(env, pc, e, st, RANGE_WITHIN, false)) {
				note_pruned(env, pc);
				return fixed_point(env, pc, st, e) ? 1 : -ENOMEM;
			}
		} else if (states_covered_in_full(env, pc, e, st, NOT_EXACT, true)) {
			e->hits++;
			note_pruned(env, pc);
			/* this path's future is e's: what e's relied on is
			 * needed on this path too */
			int rc = propagate_precision(env, st, e, pc, false);
			return rc < 0 ? rc : 1;
		}
		/* as the kernel: a miss counts only when a state is kept
		 * instead, so that a loop's iterations walked between two
		 * kept states do not drop the states of earlier ones.  The
		 * limit is tested after each miss counted; at a loop head it
		 * changes too, when e's paths are done (miss_limit). */
		if (!add && !loop_head) {
			pp = &e->next;
			continue;
		}
		if (add)
			e->misses++;
		uint32_t limit = miss_limit(loop_head, e);
		if (e->misses > e->hits * limit + limit) {
			/* a state that rarely helps is dropped from the search;
			 * its record stays on env->all for the parent links */
			*pp = e->next;
			env->bucket_states[bucket_of(env, pc, e->st)]--;
			if (!e->branches && !e->cleaned)
				env->to_clean[pc].left--;
			/* one still being walked stays for precision tracking's
			 * walk back until its paths are done (path_done) */
			if (!e->branches && !e->hist_kept) {
				state_release(env, e->st);
				e->st = NULL;
				e->summary = NULL;
				hist_free(env, &e->hist);
				e->hist_freed = true;
			} else {
				/* (a walk back may still pass it: it keeps what
				 * that reads, and its block goes to the next
				 * state kept) */
				skel_make(env, e);
			}
			e->dropped = true;
			e->next = NULL;
			env->cur_states--;
			continue;
		}
		pp = &e->next;
	}
	/* the kernel's max_states_per_insn: the most states in the bucket
	 * of a visit that found none covering */
	if (seen > env->max_states_per_insn)
		env->max_states_per_insn = seen;
	return add ? store_state(env, pc, st) : 0;
}

void free_search_states(struct verifier_env *env)
{
	/* kept and queued states, the records and histories are the
	 * arena's: only histories grown past the pools' sizes are not */
	for (struct explored *e = env->all; e && env->hist_large; e = e->all_next)
		hist_free(env, &e->hist);
	for (size_t i = 0; i < env->sp && env->hist_large; i++)
		hist_free(env, &env->stack[i].hist);
	hist_free(env, &env->hist);
	free(env->stack);
	free(env->explored);
	state_free(env->scratch);
	free(env->bucket_states);
	free(env->to_clean);
}
