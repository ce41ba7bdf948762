/*
 * iter.c - open-coded loops in the verifier, as the kernel verifies
 * them: iterators (bpf_iter_*_new/next/destroy kfuncs) and may_goto.
 *
 * Owns: the iterator stack slot (SLOT_ITER: 8 bytes holding the
 * iterator; its spilled vreg says its kind, state and depth, and the
 * reference _new acquired), iter_check_arg(), iter_next_fork(),
 * check_may_goto(), and the loop-head rules states.c asks about
 * (is_loop_head_insn(), loop_head_may_prune()).
 *
 * The kernel's model (kernel/bpf/verifier.c: process_iter_arg,
 * process_iter_next_call, is_state_visited):
 *  - _new takes a pointer to an uninitialised 8-byte-aligned stack slot
 *    at a constant offset, and makes it an ACTIVE iterator holding a new
 *    reference (so an iterator never destroyed is an "Unreleased
 *    reference" at exit); _next and _destroy take an initialised one;
 *    _destroy releases it.  A plain store over the slot destroys the
 *    iterator without releasing it.
 *  - _next forks: the path walked on sees the iterator DRAINED and r0 =
 *    NULL (after the loop); the queued one sees it ACTIVE one level
 *    deeper and r0 pointing to the element (the loop's body).
 *  - The next call is a loop head: a state there whose iterator is
 *    ACTIVE and that a stored state covers (one still being walked too)
 *    is pruned, the depth ignored.  That is the fixed point of the loop.
 *  - may_goto forks likewise: the jump is walked on, the fall-through is
 *    queued one may_goto level deeper; at the may_goto a state covered by
 *    a stored one of another depth is pruned.
 * bpfvm's states.c widens numbers that changed between visits of a loop
 * head, where the kernel forgets the imprecise ones (for a callback's
 * loop bpfvm does as the kernel: widen_callback_return): a body that
 * counts converges either way, but one whose safety needs a count kept
 * exact waits for precision tracking.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "helpers/kfunc_desc.h"
#include "verifier/internal.h"

/* The slot an iterator pointer names: rejects what the kernel's
 * stack_slot_obj_get_spi rejects. */
static int iter_slot_of(struct verifier_env *env, const struct vreg *r, int64_t *off)
{
	if (!scalar_is_const(&r->v))
		return reject(env, -EINVAL, "iter has to be at a constant offset");
	*off = (int64_t)r->off + (int64_t)r->v.var.value;
	if (*off % 8 || *off >= 0)
		return reject(env, -EINVAL, "cannot pass in iter at an offset=%" PRId64, *off);
	return 0;
}

static struct stack_slot *slot_at(struct vstate *st, uint32_t frameno, int64_t off)
{
	struct vframe *f = st->frames[frameno];
	uint32_t s = (uint32_t)((-off - 1) / 8);
	return s < f->slots ? &f->stack[s] : NULL;
}

static bool slot_is_iter(const struct stack_slot *sl)
{
	if (!sl)
		return false;
	for (int b = 0; b < 8; b++)
		if (sl->type[b] != SLOT_ITER)
			return false;
	return true;
}

/* _new: the slot must hold no iterator; it becomes an ACTIVE one with a
 * new reference. */
static int iter_new(struct verifier_env *env, struct vstate *st, uint32_t pc, const struct kfunc_desc *k,
                    int regno, int64_t off)
{
	const struct vreg *r = &cur_frame(st)->regs[regno];
	struct stack_slot *sl = slot_at(st, r->frameno, off);
	for (int b = 0; sl && b < 8; b++)
		if (sl->type[b] == SLOT_ITER)
			return reject(env, -EINVAL, "expected uninitialized iter_%s as arg #%d", k->iter_type, regno - 1);
	/* the kernel checks the slot's bytes as a write of the iterator */
	struct vreg at = *r;
	int rc = stack_range(env, st, &at, regno, 0, (int)k->iter_size, ACC_WRITE, false, NULL, false, NULL);
	if (rc)
		return rc;
	if (st->ref_count >= MAX_REFS)
		return reject(env, -EINVAL, "too many acquired references");
	sl = slot_at(st, r->frameno, off);
	if (!sl)   /* the write above made the slot */
		return reject(env, -EFAULT, "verifier bug: iterator slot at %" PRId64 " not allocated", off);
	memset(&sl->spilled, 0, sizeof sl->spilled);
	sl->spilled.ref_id = ++env->next_id;
	sl->spilled.iter_type = k->iter_type;
	sl->spilled.iter_state = ITER_ACTIVE;
	memset(sl->type, SLOT_ITER, 8);
	st->refs[st->ref_count++] = (struct vref){ .id = sl->spilled.ref_id, .insn = pc };
	/* the iterator's slots are made whole (stack_live.c) */
	stack_live_write(env, r->frameno, stack_live_range(off, off + (int64_t)k->iter_size));
	return 0;
}

/* _destroy: the iterator's reference is released and its slot is no
 * longer initialised. */
static void iter_destroy(struct vstate *st, struct stack_slot *sl)
{
	uint32_t ref = sl->spilled.ref_id;
	for (uint32_t i = 0; i < st->ref_count; i++)
		if (st->refs[i].id == ref) {
			st->refs[i] = st->refs[--st->ref_count];
			break;
		}
	memset(&sl->spilled, 0, sizeof sl->spilled);
	memset(sl->type, SLOT_INVALID, 8);
}

int iter_check_arg(struct verifier_env *env, struct vstate *st, uint32_t pc, const struct kfunc_desc *k, int regno,
                   struct iter_call *ic)
{
	const struct vreg *r = &cur_frame(st)->regs[regno];
	int64_t off = 0;
	int rc;
	if (r->type != REG_STACK)
		return reject(env, -EINVAL, "arg#%d expected pointer to an iterator on stack", regno - 1);
	if ((rc = iter_slot_of(env, r, &off)))
		return rc;
	if (k->flags & KF_ITER_NEW)
		return iter_new(env, st, pc, k, regno, off);
	struct stack_slot *sl = slot_at(st, r->frameno, off);
	if (!slot_is_iter(sl) || !sl->spilled.ref_id || strcmp(sl->spilled.iter_type, k->iter_type) != 0)
		return reject(env, -EINVAL, "expected an initialized iter_%s as arg #%d", k->iter_type, regno - 1);
	ic->frameno = r->frameno;
	ic->off = off;
	/* next and destroy read the iterator; destroy ends it (stack_live.c) */
	uint64_t slots = stack_live_range(off, off + (int64_t)k->iter_size);
	if ((rc = stack_live_read(env, st, r->frameno, pc, slots)))
		return rc;
	if (k->flags & KF_ITER_DESTROY) {
		iter_destroy(st, sl);
		stack_live_write(env, r->frameno, slots);
	}
	return 0;
}

int iter_next_fork(struct verifier_env *env, struct vstate *st, uint32_t pc, const struct iter_call *ic)
{
	struct stack_slot *sl = slot_at(st, ic->frameno, ic->off);
	if (sl->spilled.iter_state == ITER_ACTIVE) {
		/* the body: an element, one level deeper */
		struct vstate *body = state_scratch(env, st);
		if (!body)
			return reject(env, -ENOMEM, "out of memory");
		struct stack_slot *bsl = slot_at(body, ic->frameno, ic->off);
		bsl->spilled.iter_depth++;
		cur_frame(body)->regs[0].maybe_null = false;
		cur_frame(body)->regs[0].id = 0;
		int rc = push_pending(env, body, pc + 1);
		if (rc)
			return rc;
	}
	/* the loop's end: drained, NULL */
	sl->spilled.iter_state = ITER_DRAINED;
	mark_known(&cur_frame(st)->regs[0], 0);
	return 0;
}

int check_may_goto(struct verifier_env *env, struct vstate *st, uint32_t pc, const bpfvm_insn *in, uint32_t *next)
{
	/* the fall-through, one level deeper, is walked later */
	st->may_goto_depth++;
	int rc = push_pending(env, st, pc + 1);
	st->may_goto_depth--;
	if (rc)
		return rc;
	*next = (uint32_t)((int64_t)pc + 1 + in->off);
	return 0;
}

static bool is_iter_next_call(const bpfvm_insn *in)
{
	const struct kfunc_desc *k = isa_is_kfunc_call(in) ? kfunc_desc_by_id((uint32_t)in->imm) : NULL;
	return k && (k->flags & KF_ITER_NEXT);
}

static bool is_may_goto(const bpfvm_insn *in)
{
	const struct isa_op *op = isa_decode(in);
	return op && op->format == FMT_MAY_GOTO;
}

bool is_loop_head_insn(const void *helpers, const bpfvm_insn *in)
{
	if (isa_is_helper_call(in))
		return helper_calls_back(helpers, (uint32_t)in->imm);
	return is_iter_next_call(in) || is_may_goto(in);
}

bool is_open_coded_loop_head(const struct verifier_env *env, uint32_t pc)
{
	/* asked at every visit: the instruction decoded once (cfg.ops),
	 * and the kfunc table searched only for a kfunc call */
	const struct isa_op *op = env->cfg.ops[pc];
	if (op && op->format == FMT_MAY_GOTO)
		return true;
	return isa_is_kfunc_call(&env->insns[pc]) && is_iter_next_call(&env->insns[pc]);
}

bool loop_head_may_prune(const struct verifier_env *env, uint32_t pc, const struct vstate *old,
                         const struct vstate *cur)
{
	const bpfvm_insn *in = &env->insns[pc];
	if (is_may_goto(in))
		return old->may_goto_depth != cur->may_goto_depth;
	if (!is_iter_next_call(in))
		return true;
	/* the iterator r1 points to (checked when the call was walked
	 * before; a state that did not pass that check is not pruned) */
	const struct vreg *r1 = &cur->frames[cur->curframe]->regs[1];
	if (r1->type != REG_STACK || !scalar_is_const(&r1->v) || r1->frameno > cur->curframe)
		return false;
	int64_t off = (int64_t)r1->off + (int64_t)r1->v.var.value;
	if (off >= 0 || off % 8 || off < -(int64_t)BPFVM_STACK_SIZE)
		return false;
	const struct vframe *f = cur->frames[r1->frameno];
	uint32_t s = (uint32_t)((-off - 1) / 8);
	return s < f->slots && slot_is_iter(&f->stack[s]) && f->stack[s].spilled.iter_state == ITER_ACTIVE;
}

bool iter_slots_covered(const struct vreg *old, const struct vreg *cur, bool exact)
{
	if (old->iter_state != cur->iter_state || !old->iter_type != !cur->iter_type ||
	    (old->iter_type && strcmp(old->iter_type, cur->iter_type) != 0))
		return false;
	/* the depth tells iterations apart only when looking for a loop
	 * that never ends */
	return !exact || old->iter_depth == cur->iter_depth;
}
