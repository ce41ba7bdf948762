/*
 * call.c - the verifier's calls: a helper call's arguments checked
 * against its prototype, the references and locks it takes or releases,
 * what it returns, the callbacks it enters, and frames for subprogram
 * calls.
 *
 * Owns: check_helper(), helper_calls_back(), helper_is_tail_call(),
 * invalidate_pkt(), enter_frame().  Every fact
 * about one helper (the maps it takes, its callback, its lock, a tail
 * call) comes from its descriptor, never from its ID.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/object.h"
#include "helpers/helper_desc.h"
#include "helpers/helpers.h"
#include "maps/map_internal.h"
#include "progtypes/progtypes.h"
#include "verifier/internal.h"

/* ---- helper calls -------------------------------------------------------- */

/* Memory a helper reads or writes: [r, r + size) where size may be a
 * range; every kind of memory pointer is accepted except the context. */
int check_helper_mem(struct verifier_env *env, struct vstate *st, int regno, uint64_t size, bool write,
                     bool uninit_ok, bool null_ok)
{
	struct vreg *r = &cur_frame(st)->regs[regno];
	if (null_ok && r->type == REG_SCALAR && scalar_is_const(&r->v) && r->v.var.value == 0)
		return 0;
	/* (no helper: a global function's argument) */
	if (is_pkt(r) && env->cur_desc && !env->cur_desc->pkt_access)
		return reject(env, -EACCES, "helper access to the packet is not allowed");
	if (size == 0) {
		if (r->type == REG_SCALAR && !null_ok)
			return reject(env, -EACCES, "R%d type=scalar expected=fp", regno);
		if (r->type == REG_STACK) {
			/* even an empty range must lie in the frame */
			int64_t lo = (int64_t)r->off + r->v.smin, hi = (int64_t)r->off + r->v.smax;
			if (lo < -(int64_t)BPFVM_STACK_SIZE || hi > 0) {
				char tn[200];
				scalar_format(&r->v, tn, sizeof tn);
				return reject(env, -EACCES, "invalid variable-offset write to stack R%d var_off=%s off=%d size=0",
				              regno, tn, r->off);
			}
		}
		return 0;
	}
	switch (r->type) {
	case REG_STACK: {
		int rc = stack_range(env, st, r, regno, 0, (int)size, ACC_READ, uninit_ok, NULL, false, NULL);
		if (!rc && write && !uninit_ok) {
			/* initialised bytes the helper overwrites: no longer spills */
			int64_t lo = (int64_t)r->off + r->v.smin;
			int64_t hi = (int64_t)r->off + r->v.smax + (int64_t)size;
			stack_write_var(env, st, r->frameno, (int)lo, (int)hi);
		}
		return rc;
	}
	case REG_MAP_VALUE:
	case REG_MEM:
	case REG_PACKET:
	case REG_PACKET_META:
		if (r->maybe_null)
			return reject(env, -EACCES, "R%d type=%s expected=fp, pkt, pkt_meta, map_key, map_value, mem", regno,
			              reg_type_name(r));
		if (is_pkt(r) || size <= 8) {
			if (size <= 8)
				return check_mem(env, st, regno, 0, (int)size, write ? ACC_WRITE : ACC_READ, NULL, false, NULL,
				                 false, false);
		}
		{
			/* larger than one access: test the two ends */
			int rc = check_mem(env, st, regno, 0, 1, write ? ACC_WRITE : ACC_READ, NULL, false, NULL, false, false);
			if (rc)
				return rc;
			int64_t lim = is_pkt(r) ? (int64_t)r->range
			              : r->type == REG_MAP_VALUE ? (int64_t)r->map->value_size : (int64_t)r->mem_size;
			int64_t hi = (int64_t)r->off + (int64_t)r->v.umax + (int64_t)size;
			if (hi > lim) {
				if (r->type == REG_MAP_VALUE)
					return reject(env, -EACCES, "invalid access to map value, value_size=%u off=%d size=%" PRIu64,
					              r->map->value_size, r->off, size);
				if (is_pkt(r))
					return reject(env, -EACCES, "invalid access to packet, off=%d size=%" PRIu64
					              ", R%d(id=%u,off=%d,r=%u)", 0, size, regno, r->id, r->off, r->range);
				return reject(env, -EACCES, "invalid access to memory, mem_size=%u off=%d size=%" PRIu64,
				              r->mem_size, r->off, size);
			}
			return 0;
		}
	default:
		return reject(env, -EACCES, "R%d type=%s expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem",
		              regno, reg_type_name(r));
	}
}

int check_size_arg(struct verifier_env *env, struct vstate *st, int regno, bool zero_ok, uint64_t *max)
{
	struct vreg *r = &cur_frame(st)->regs[regno];
	if (r->type != REG_SCALAR)
		return reject(env, -EACCES, "R%d type=%s expected=scalar", regno, reg_type_name(r));
	if (r->v.smin < 0)
		return reject(env, -EACCES, "R%d min value is negative, either use unsigned or 'var &= const'", regno);
	if (r->v.umin == 0 && !zero_ok)
		return reject(env, -EACCES, "R%d invalid zero-sized read: u64=[%" PRIu64 ",%" PRIu64 "]", regno, r->v.umin,
		              r->v.umax);
	if (r->v.umax >= MAX_VAR_OFF)
		return reject(env, -EACCES, "R%d unbounded memory access, use 'var &= const' or 'if (var < const)'", regno);
	*max = r->v.umax;
	return 0;
}

static void release_ref(struct vstate *st, uint32_t ref)
{
	for (uint32_t i = 0; i < st->ref_count; i++)
		if (st->refs[i].id == ref) {
			st->refs[i] = st->refs[--st->ref_count];
			break;
		}
	FOR_EACH_REG(st, r, {
		if (r->ref_id == ref)
			mark_unknown(r);
	});
}

void invalidate_pkt(struct vstate *st)
{
	FOR_EACH_REG(st, r, {
		if (r->type == REG_PACKET || r->type == REG_PACKET_META || r->type == REG_PACKET_END)
			mark_unknown(r);
	});
}

/* Where the callback's first instruction is, from a REG_FUNC, and what
 * the helper passes it, by the kind of callback it makes. */
static int setup_callback(struct verifier_env *env, struct vstate *st, uint32_t pc, const struct helper_desc *d,
                          const struct vreg *fn, const struct vreg *map, const struct vreg *ctx)
{
	struct vreg args[5];
	memset(args, 0, sizeof args);
	switch (d->callback) {
	case CALLBACK_LOOP:       /* (index, ctx) */
		mark_unknown(&args[0]);
		args[1] = *ctx;
		break;
	case CALLBACK_MAP_ELEM:   /* (map, key, value, ctx) */
		args[0] = *map;
		mark_ptr(&args[1], REG_MEM);
		args[1].mem_size = map->map->key_size;
		args[1].rdonly = true;
		mark_ptr(&args[2], REG_MAP_VALUE);
		args[2].map = map->map;
		args[3] = *ctx;
		break;
	default:
		return reject(env, -ENOTSUP, "unsupported: %s takes a callback of no known kind", d->proto.name);
	}
	int rc = enter_frame(env, st, pc, cfg_subprog_start(&env->cfg, fn->subprog), (int32_t)d->proto.id);
	if (rc)
		return rc;
	struct vframe *f = cur_frame(st);
	for (int i = 0; i < 5; i++)
		f->regs[1 + i] = args[i];
	return 0;
}

/* The kernel's license_is_gpl_compatible(). */
bool license_is_gpl_compatible(const char *license)
{
	static const char *const gpl[] = { "GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL",
	                                   "Dual MIT/GPL", "Dual MPL/GPL" };
	for (size_t i = 0; i < sizeof gpl / sizeof gpl[0]; i++)
		if (!strcmp(license, gpl[i]))
			return true;
	return false;
}

/* What one helper call's arguments establish, for the checks after them. */
struct call_args {
	uint32_t id;
	const struct helper_desc *d;
	const struct helper_proto *p;  /* d's */
	const struct vreg *map;   /* the ARG_MAP argument */
	const struct vreg *func;  /* the ARG_FUNC argument */
	uint64_t alloc_size;      /* the ARG_ALLOC_SIZE argument */
	uint64_t size_max;        /* the largest value a size argument may hold */
	uint32_t release;         /* the reference an ARG_RINGBUF_MEM releases */
	int64_t const_key;        /* the ARG_MAP_KEY's known value in an array (-1: none) */
};

/* Whether the program may call helper id at all; fills *desc. */
static int check_helper_allowed(struct verifier_env *env, const struct vstate *st, uint32_t id,
                                const struct helper_desc **desc)
{
	const struct helper_desc *d = helpers_desc(env->opts->helpers, id);
	if (!d && id == BPFVM_CORE_POISON_HELPER)
		return reject(env, -EINVAL, "invalid func unknown#%u: this instruction was poisoned by a CO-RE "
		              "relocation that could not be applied (no matching field or type in the target "
		              "BTF; `-v` lists the relocations)", id);
	if (!d)
		return reject(env, -EINVAL, "invalid func unknown#%u", id);
	if (!d->has_proto)
		return reject(env, -ENOTSUP,
		              "unsupported: helper %s#%u has no prototype (declare one with bpfvm_helpers_set_proto)",
		              d->proto.name, id);
	const struct helper_proto *p = &d->proto;
	env->cur_helper = id;
	env->cur_desc = d;
	if (!env->raw && helper_allowed_for(d, env->prog_type) == 0)
		return reject(env, -EINVAL, "program of this type cannot use helper %s#%u", p->name, id);
	if (p->gpl_only && env->opts->license && !license_is_gpl_compatible(env->opts->license))
		return reject(env, -EINVAL, "cannot call GPL-restricted function from non-GPL compatible program");
	if (st->lock_id && d->lock != LOCK_RELEASE)
		return reject(env, -EINVAL, "function calls are not allowed while holding a lock");
	if (d->might_sleep && !env->opts->sleepable)
		return reject(env, -EINVAL, "helper call might sleep in a non-sleepable prog");
	*desc = d;
	return 0;
}

static int check_arg_map(struct verifier_env *env, struct call_args *c, const struct vreg *r, int regno)
{
	if (r->type != REG_MAP_PTR || r->maybe_null)
		return reject(env, -EACCES, "R%d type=%s expected=map_ptr", regno, reg_type_name(r));
	if (!helper_takes_map(c->d, r->map))
		return reject(env, -EINVAL, "cannot pass map_type %u into func %s#%u", r->map->type, c->p->name, c->id);
	c->map = r;
	return 0;
}

/* Whether a lookup in map m with a key known in range cannot fail (the
 * kernel's can_elide_value_nullness): an array's elements always exist.
 * Not a template of inner maps (BPF_F_INNER_MAP), whose inner arrays may
 * be smaller than it. */
static bool lookup_never_fails(const struct bpfvm_map *m)
{
	return (m->type == BPF_MAP_TYPE_ARRAY || m->type == BPF_MAP_TYPE_PERCPU_ARRAY) &&
	       !(m->map_flags & BPFVM_F_INNER_MAP);
}

/* The value of a key of key_size bytes at stack pointer key, if the
 * stack holds a known one there (the kernel's get_constant_map_key):
 * key_size zero bytes, or a number spilled in exactly key_size bytes
 * from there to the end of its slot, made precise since the call relies
 * on it.  -1 if not known. */
static int constant_map_key(struct verifier_env *env, struct vstate *st, const struct vreg *key, uint32_t key_size,
                            int64_t *value)
{
	*value = -1;
	if (key->type != REG_STACK || !scalar_is_const(&key->v))
		return 0;
	int64_t at = (int64_t)key->off + (int64_t)key->v.var.value;
	uint32_t s = (uint32_t)((-at - 1) / 8);
	const struct vframe *f = st->frames[key->frameno];
	if (s >= f->slots)
		return 0;
	const struct stack_slot *sl = &f->stack[s];
	uint32_t first = (uint32_t)(at & 7), zeros = 0, spilled = 0;
	for (uint32_t b = first; b < 8 && sl->type[b] == SLOT_ZERO; b++)
		zeros++;
	if (zeros >= key_size) {
		*value = 0;
		return 0;
	}
	if (sl->type[0] != SLOT_SPILL || sl->spilled.type != REG_SCALAR)
		return 0;
	for (uint32_t b = first; b < 8 && sl->type[b] == SLOT_SPILL; b++)
		spilled++;
	if (spilled != key_size || !scalar_is_const(&sl->spilled.v))
		return 0;
	int rc = mark_precise_slot(env, st, key->frameno, s);
	if (!rc)
		*value = (int64_t)sl->spilled.v.var.value;
	return rc;
}

/* A key or value of the map passed before it. */
static int check_arg_map_mem(struct verifier_env *env, struct vstate *st, struct call_args *c, int regno,
                             uint8_t kind)
{
	if (kind == ARG_MAP_KEY) {
		if (!c->map)
			return reject(env, -EACCES, "invalid map_ptr to access map->key");
		int rc = check_helper_mem(env, st, regno, c->map->map->key_size, false, false, false);
		if (rc || !lookup_never_fails(c->map->map))
			return rc;
		return constant_map_key(env, st, &cur_frame(st)->regs[regno], c->map->map->key_size, &c->const_key);
	}
	if (!c->map)
		return reject(env, -EACCES, "invalid map_ptr to access map->value");
	return check_helper_mem(env, st, regno, c->map->map->value_size, kind == ARG_MAP_VALUE_UNINIT,
	                        kind == ARG_MAP_VALUE_UNINIT, false);
}

/* Memory and its size in the next argument, checked together. */
static int check_arg_mem_size(struct verifier_env *env, struct vstate *st, struct call_args *c, int a)
{
	struct vframe *f = cur_frame(st);
	int regno = a + 1;
	uint8_t kind = c->p->args[a];
	const struct vreg *r = &f->regs[regno];
	const struct vreg *sz = &f->regs[regno + 1];
	bool out_mem = kind == ARG_MEM_UNINIT || kind == ARG_MEM_MAYBE_NULL_OUT;
	bool zero_ok = c->p->args[a + 1] == ARG_SIZE_OR_ZERO;
	uint64_t size;
	int rc;
	if (sz->type == REG_NOT_INIT)
		return reject(env, -EACCES, "R%d !read_ok", regno + 1);
	if ((rc = check_size_arg(env, st, regno + 1, zero_ok, &size)))
		return rc;
	c->size_max = size;
	if (r->type == REG_SCALAR && (kind == ARG_MEM_MAYBE_NULL || kind == ARG_MEM_MAYBE_NULL_OUT) &&
	    scalar_is_const(&r->v) && r->v.var.value == 0) {
		if (sz->v.umax != 0)
			return reject(env, -EACCES, "R%d type=scalar expected=fp", regno);
		return 0;
	}
	return check_helper_mem(env, st, regno, size, out_mem, kind == ARG_MEM_UNINIT, false);
}

static int check_arg_ctx(struct verifier_env *env, const struct vreg *r, int regno)
{
	if (env->raw || r->type != REG_CTX)
		return reject(env, -EACCES, "R%d type=%s expected=ctx", regno, reg_type_name(r));
	if (r->off || !var_is_zero(r))
		return reject(env, -EACCES, "dereference of modified ctx ptr R%d off=%d disallowed", regno, r->off);
	return 0;
}

/* A reserved ringbuf record, released by the call. */
static int check_arg_ringbuf_mem(struct verifier_env *env, struct call_args *c, const struct vreg *r, int regno)
{
	if (r->type != REG_MEM || r->maybe_null || !r->ref_id)
		return reject(env, -EACCES, "R%d type=%s expected=ringbuf_mem", regno, reg_type_name(r));
	if (r->off || !var_is_zero(r))
		return reject(env, -EACCES, "R%d must have zero offset when passed to release func", regno);
	c->release = r->ref_id;
	return 0;
}

/* The bpf_spin_lock of a map value: taken or released by the call. */
static int check_arg_spin_lock(struct verifier_env *env, struct vstate *st, uint8_t lock, const struct vreg *r,
                               int regno)
{
	if (r->type != REG_MAP_VALUE || r->maybe_null)
		return reject(env, -EACCES, "R%d type=%s expected=map_value", regno, reg_type_name(r));
	if (r->map->spin_lock_off < 0)
		return reject(env, -EINVAL, "map '%s' has no valid bpf_spin_lock", r->map->name);
	if (!var_is_zero(r) || r->off != r->map->spin_lock_off)
		return reject(env, -EINVAL, "off %d doesn't point to 'struct bpf_spin_lock' that is at %d", r->off,
		              r->map->spin_lock_off);
	if (lock == LOCK_ACQUIRE) {
		if (st->lock_id)
			return reject(env, -EINVAL, "Locking two bpf_spin_locks are not allowed");
		st->lock_id = r->id ? r->id : 1;
		st->lock_map = r->map;
		return 0;
	}
	if (!st->lock_id)
		return reject(env, -EINVAL, "bpf_spin_unlock without taking a lock");
	if (st->lock_map != r->map || (r->id && st->lock_id != r->id))
		return reject(env, -EINVAL, "bpf_spin_unlock of different lock");
	st->lock_id = 0;
	st->lock_map = NULL;
	return 0;
}

/* A nul-terminated string at a known place in a read-only array map. */
static int check_arg_const_str(struct verifier_env *env, const struct vreg *r, int regno)
{
	if (r->type != REG_MAP_VALUE || r->maybe_null || !map_rdonly_prog(r->map) || r->map->type != BPF_MAP_TYPE_ARRAY)
		return reject(env, -EACCES, "R%d does not point to a readonly map'", regno);
	if (!scalar_is_const(&r->v))
		return reject(env, -EACCES, "R%d is not a constant address'", regno);
	uint32_t zero = 0;
	const char *base = bpfvm_map_lookup_elem(r->map, &zero);
	int64_t o = r->off + (int64_t)r->v.var.value;
	if (!base || o < 0 || o >= r->map->value_size || !memchr(base + o, 0, r->map->value_size - (size_t)o))
		return reject(env, -EINVAL, "string is not zero-terminated");
	return 0;
}

/* Argument a (register a + 1) against its kind; *took_size when it
 * checked the next argument, its size, as well. */
static int check_arg(struct verifier_env *env, struct vstate *st, struct call_args *c, int a, bool *took_size)
{
	int regno = a + 1;
	const struct vreg *r = &cur_frame(st)->regs[regno];
	uint64_t size;
	*took_size = false;
	if (r->type == REG_NOT_INIT)
		return reject(env, -EACCES, "R%d !read_ok", regno);
	switch (c->p->args[a]) {
	case ARG_ANYTHING:
		return 0;
	case ARG_MAP:
		return check_arg_map(env, c, r, regno);
	case ARG_MAP_KEY:
	case ARG_MAP_VALUE:
	case ARG_MAP_VALUE_UNINIT:
		return check_arg_map_mem(env, st, c, regno, c->p->args[a]);
	case ARG_SCALAR:
		if (r->type != REG_SCALAR)
			return reject(env, -EACCES, "R%d type=%s expected=scalar", regno, reg_type_name(r));
		return 0;
	case ARG_MEM:
	case ARG_MEM_MAYBE_NULL:
	case ARG_MEM_MAYBE_NULL_OUT:
	case ARG_MEM_UNINIT:
		*took_size = true;
		return check_arg_mem_size(env, st, c, a);
	case ARG_SIZE:
	case ARG_SIZE_OR_ZERO: {
		int rc = check_size_arg(env, st, regno, c->p->args[a] == ARG_SIZE_OR_ZERO, &size);
		c->size_max = size;
		return rc;
	}
	case ARG_CTX:
		return check_arg_ctx(env, r, regno);
	case ARG_FUNC:
		if (r->type != REG_FUNC)
			return reject(env, -EACCES, "R%d type=%s expected=func", regno, reg_type_name(r));
		c->func = r;
		return 0;
	case ARG_STACK_OR_NULL:
		if (r->type == REG_SCALAR && scalar_is_const(&r->v) && r->v.var.value == 0)
			return 0;
		if (r->type != REG_STACK)
			return reject(env, -EACCES, "R%d type=%s expected=fp", regno, reg_type_name(r));
		return 0;
	case ARG_RINGBUF_MEM:
		return check_arg_ringbuf_mem(env, c, r, regno);
	case ARG_SPIN_LOCK:
		return check_arg_spin_lock(env, st, c->d->lock, r, regno);
	case ARG_CONST_STR:
		return check_arg_const_str(env, r, regno);
	case ARG_ALLOC_SIZE:
		if (r->type != REG_SCALAR || !scalar_is_const(&r->v))
			return reject(env, -EACCES, "R%d is not a known constant'", regno);
		c->alloc_size = r->v.var.value;
		return 0;
	default:
		return reject(env, -ENOTSUP, "unsupported: argument kind %u of %s", c->p->args[a], c->p->name);
	}
}

/* A helper taking a callback, as the kernel walks it (push_callback_call):
 * the callback's walk is queued, and this one goes on past the call, as
 * if the helper returned without calling back.  The callback's exit
 * comes back to the call (check_exit), which queues it again until the
 * states at the call settle. */
static int call_back(struct verifier_env *env, struct vstate *st, uint32_t pc, const struct call_args *c)
{
	struct vframe *f = cur_frame(st);
	int rc;
	/* bpf_loop calls back at most its count of times: the kernel queues
	 * the callback that many times on a path, then only goes on */
	bool more = true;
	if (c->d->callback == CALLBACK_LOOP) {
		if ((rc = mark_precise(env, st, 1)))
			return rc;
		more = f->callbacks_queued < f->regs[1].v.umax;
		if (!more && env->log_level >= 2)
			vlog(env, "frame%u bpf_loop iteration limit reached\n", st->curframe);
	}
	if (more) {
		struct vstate *cb = state_scratch(env, st);
		if (!cb)
			return reject(env, -ENOMEM, "out of memory");
		struct vreg fn = *c->func, mp = c->map ? *c->map : (struct vreg){ 0 }, cx = f->regs[3];
		rc = setup_callback(env, cb, pc, c->d, &fn, &mp, &cx);
		cb->callback_depth++;
		cb->frames[cb->curframe - 1]->callbacks_queued++;
		if (!rc)
			rc = push_pending(env, cb, cfg_subprog_start(&env->cfg, fn.subprog));
		if (rc)
			return rc;
	}
	f->callbacks_queued = 0;
	for (int i = 1; i <= 5; i++)
		mark_not_init(&f->regs[i]);
	mark_unknown(&f->regs[0]);
	return 0;
}

/* Whether the call is a lookup of a key known to be in an array (the
 * kernel's check_helper_call for bpf_map_lookup_elem): its value exists. */
static bool lookup_cannot_fail(const struct call_args *c)
{
	return c->d->map_kind == MAP_HELPER_LOOKUP && lookup_never_fails(c->map->map) && c->const_key >= 0 &&
	       c->const_key < (int64_t)c->map->map->max_entries;
}

/* What the helper returns in r0 (an acquired reference for a ringbuf
 * reservation); r1-r5 are clobbered. */
static int set_return(struct verifier_env *env, struct vstate *st, uint32_t pc, const struct call_args *c)
{
	const struct vreg *map = c->map;
	struct vframe *f = cur_frame(st);
	struct vreg r0;
	switch (c->p->ret) {
	case RET_VOID:
		mark_not_init(&r0);
		break;
	case RET_MAP_VALUE_OR_NULL:
		if (map->map->type == BPF_MAP_TYPE_ARRAY_OF_MAPS || map->map->type == BPF_MAP_TYPE_HASH_OF_MAPS) {
			mark_ptr(&r0, REG_MAP_PTR);
			r0.map = map->map->inner_template;
			if (!r0.map)
				return reject(env, -ENOTSUP, "unsupported: map-in-map %s without an inner map template",
				              map->map->name);
		} else {
			mark_ptr(&r0, REG_MAP_VALUE);
			r0.map = map->map;
			if (lookup_cannot_fail(c)) {
				/* as if null-checked: an id only to tell its
				 * spin lock from another value's */
				r0.id = map->map->spin_lock_off >= 0 ? ++env->next_id : 0;
				break;
			}
		}
		r0.maybe_null = true;
		r0.id = ++env->next_id;
		break;
	case RET_MEM_OR_NULL:
		if (st->ref_count >= MAX_REFS)
			return reject(env, -EINVAL, "too many acquired references");
		mark_ptr(&r0, REG_MEM);
		r0.mem_size = (uint32_t)c->alloc_size;
		r0.maybe_null = true;
		r0.id = ++env->next_id;
		r0.ref_id = ++env->next_id;
		st->refs[st->ref_count++] = (struct vref){ .id = r0.ref_id, .insn = pc };
		break;
	case RET_INTEGER_UPTO_SIZE:
		mark_unknown(&r0);
		r0.v.smin = r0.v.s32_min = -4095;   /* -MAX_ERRNO */
		r0.v.smax = (int64_t)c->size_max;
		r0.v.s32_max = (int32_t)c->size_max;
		scalar_sync(&r0.v);
		break;
	default:
		mark_unknown(&r0);
		break;
	}
	for (int i = 1; i <= 5; i++)
		mark_not_init(&f->regs[i]);
	f->regs[0] = r0;
	return 0;
}

int check_helper(struct verifier_env *env, struct vstate *st, uint32_t pc, const bpfvm_insn *in)
{
	struct call_args c = { .id = (uint32_t)in->imm, .const_key = -1 };
	int rc;
	if ((rc = check_helper_allowed(env, st, c.id, &c.d)))
		return rc;
	c.p = &c.d->proto;
	for (int a = 0; a < 5 && c.p->args[a]; a++) {
		bool took_size;
		if ((rc = check_arg(env, st, &c, a, &took_size)))
			return rc;
		if (took_size)
			a++;
	}
	/* a number checked against its argument's kind (a size, NULL, a
	 * constant) must be the same in any state pruned later */
	for (int a = 0; a < 5 && c.p->args[a]; a++)
		if (c.p->args[a] != ARG_ANYTHING && c.p->args[a] != ARG_SCALAR && (rc = mark_precise(env, st, a + 1)))
			return rc;
	if (c.d->tail_call && st->ref_count)
		return reject(env, -EINVAL, "tail_call would lead to reference leak");
	if (c.release)
		release_ref(st, c.release);
	if (c.p->changes_pkt)
		invalidate_pkt(st);
	if (c.func)
		return call_back(env, st, pc, &c);
	return set_return(env, st, pc, &c);
}

bool helper_calls_back(const void *helpers, uint32_t id)
{
	const struct helper_desc *d = helpers_desc(helpers, id);
	return d && d->callback != CALLBACK_NONE;
}

bool helper_is_tail_call(const void *helpers, uint32_t id)
{
	const struct helper_desc *d = helpers_desc(helpers, id);
	return d && d->tail_call;
}

/* ---- frames -------------------------------------------------------------- */

int enter_frame(struct verifier_env *env, struct vstate *st, uint32_t callsite, uint32_t target,
                       int32_t callback_helper)
{
	if (st->curframe + 1 >= MAX_FRAMES)
		return reject(env, -E2BIG, "the call stack of %u frames is too deep !", st->curframe + 2);
	struct vframe *nf = malloc(sizeof *nf);
	if (!nf)
		return reject(env, -ENOMEM, "out of memory");
	memset(nf, 0, offsetof(struct vframe, stack));
	struct vframe *cf = cur_frame(st);
	for (int i = 1; i <= 5; i++)
		nf->regs[i] = cf->regs[i];
	st->curframe++;
	nf->callsite = callsite;
	nf->subprog = analysis_subprog_of(env->cfg.a, target);
	nf->callback_helper = callback_helper;
	mark_ptr(&nf->regs[10], REG_STACK);
	nf->regs[10].frameno = (uint8_t)st->curframe;
	free(st->frames[st->curframe]);
	st->frames[st->curframe] = nf;
	return 0;
}
