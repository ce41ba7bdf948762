/*
 * kfunc.c - the verifier's checks of kfunc calls (call with src
 * BPF_PSEUDO_KFUNC_CALL, imm = bpfvm's kfunc ID), as the kernel's
 * check_kfunc_call: the kfunc exists, a sleepable one is called only by
 * a sleepable program, its arguments match its prototype (memory and its
 * size as a pair, the kernel's __sz suffix), r1-r5 are clobbered and r0
 * is what it returns (for bpf_rdonly_cast, a pointer of the type its
 * constant argument names).
 *
 * Owns: check_kfunc(), kfunc_arg_count().  Iterator arguments and the
 * fork at an iterator's next call are iter.c's.
 */
#include <errno.h>
#include <stdint.h>
#include <bpf/btf.h>

#include "helpers/kfunc_desc.h"
#include "verifier/internal.h"

unsigned kfunc_arg_count(uint32_t id)
{
	const struct kfunc_desc *k = kfunc_desc_by_id(id);
	unsigned n = 0;
	if (!k)
		return 5;
	while (n < 5 && k->call.proto.args[n])
		n++;
	return n;
}

/* The kfunc a call names.  ID 0 is a weak kfunc left unresolved: a
 * reachable call is refused (an unreachable one is never walked), as
 * unsupported when the caller names the kfunc bpfvm lacks, else in the
 * kernel's words. */
static int kfunc_of(struct verifier_env *env, uint32_t pc, const bpfvm_insn *in, const struct kfunc_desc **out)
{
	const bpfvm_verify_opts *o = env->opts;
	const char *name = in->imm == 0 && o->kfunc_name ? o->kfunc_name(o->kfunc_user, pc) : NULL;
	if (name)
		return reject(env, -ENOTSUP, "unsupported: kfunc %s is not provided by bpfvm (a weak extern, left "
		              "unresolved)", name);
	if (in->imm == 0)
		return reject(env, -EINVAL, "invalid kernel function call not eliminated in verifier pass");
	*out = kfunc_desc_by_id((uint32_t)in->imm);
	if (!*out)
		return reject(env, -EINVAL, "kernel btf_id %d is not a function", in->imm);
	return 0;
}

/* The one constant argument (ARG_KFUNC_BTF_ID) at regno: a number known
 * exactly, which the call depends on (marked precise). */
static int const_arg(struct verifier_env *env, struct vstate *st, int regno, uint64_t *value)
{
	const struct vreg *r = &cur_frame(st)->regs[regno];
	if (r->type != REG_SCALAR)
		return reject(env, -EINVAL, "R%d is not a scalar", regno);
	if (!scalar_is_const(&r->v))
		return reject(env, -EINVAL, "R%d must be a known constant", regno);
	*value = r->v.var.value;
	return mark_precise(env, st, regno);
}

/* Memory at regno and its size in the next register (the kernel's
 * KF_ARG_PTR_TO_MEM_SIZE): the kfunc may read and write all of it; a
 * failure says so after the reason, as the kernel's log does. */
static int mem_size_pair(struct verifier_env *env, struct vstate *st, int arg, bool zero_ok)
{
	int regno = arg + 1;
	uint64_t size;
	int rc = check_size_arg(env, st, regno + 1, zero_ok, &size);
	if (!rc)
		rc = check_helper_mem(env, st, regno, size, true, false, false);
	if (!rc)
		rc = mark_precise(env, st, regno + 1);
	if (rc && rc != -ENOMEM)
		vlog(env, "arg#%d arg#%d memory, len pair leads to invalid memory access\n", arg, arg + 1);
	return rc;
}

static int check_kfunc_args(struct verifier_env *env, struct vstate *st, uint32_t pc, const struct kfunc_desc *k,
                            struct iter_call *ic, uint64_t *constant)
{
	const struct helper_proto *p = &k->call.proto;
	for (int a = 0; a < 5 && p->args[a]; a++) {
		int regno = a + 1;
		const struct vreg *r = &cur_frame(st)->regs[regno];
		int rc;
		if (p->args[a] == ARG_KFUNC_IGNORED)
			continue;
		if (r->type == REG_NOT_INIT)
			return reject(env, -EACCES, "R%d !read_ok", regno);
		switch (p->args[a]) {
		case ARG_SCALAR:
			if (r->type != REG_SCALAR)
				return reject(env, -EINVAL, "R%d is not a scalar", regno);
			break;
		case ARG_ITER:
			if ((rc = iter_check_arg(env, st, pc, k, regno, ic)))
				return rc;
			break;
		case ARG_KFUNC_BTF_ID:
			if ((rc = const_arg(env, st, regno, constant)))
				return rc;
			break;
		case ARG_MEM:
			if (a + 1 >= 5 || (p->args[a + 1] != ARG_SIZE && p->args[a + 1] != ARG_SIZE_OR_ZERO))
				return reject(env, -EFAULT, "kfunc %s: memory argument %d has no size after it", p->name, a);
			/* a kfunc's pointer arguments are trusted: not NULL */
			if (r->maybe_null)
				return reject(env, -EACCES, "Possibly NULL pointer passed to trusted arg%d", a);
			if ((rc = mem_size_pair(env, st, a, p->args[a + 1] == ARG_SIZE_OR_ZERO)))
				return rc;
			a++;   /* the size, checked with it */
			break;
		default:
			return reject(env, -ENOTSUP, "unsupported: argument kind %u of kfunc %s", p->args[a], p->name);
		}
	}
	return 0;
}

/* bpf_rdonly_cast's result (the kernel's check_kfunc_call): an untrusted
 * pointer to the struct or union type id of the kernel's BTF names.  A
 * cast to void (untrusted read-only memory, 6.18) bpfvm does not model. */
static int type_untrusted(struct verifier_env *env, const struct kfunc_desc *k, uint64_t id, struct vreg *r0)
{
	const struct btf *btf = env->opts->kernel_btf ? env->opts->kernel_btf : env->opts->attach_btf;
	if (!btf)
		return reject(env, -ENOTSUP, "unsupported: %s needs the kernel's BTF, which the loader did not give",
		              k->call.proto.name);
	const struct btf_type *t = id <= UINT32_MAX ? btf__type_by_id(btf, (uint32_t)id) : NULL;
	if (t && btf_is_void(t))
		return reject(env, -ENOTSUP, "unsupported: %s to void (untrusted read-only memory)", k->call.proto.name);
	if (!t || !(btf_is_struct(t) || btf_is_union(t)))
		return reject(env, -EINVAL, "kfunc %s type ID argument must be of a struct or void", k->call.proto.name);
	mark_ptr(r0, REG_BTF_ID);
	r0->btf_id = (uint32_t)id;
	r0->untrusted = true;
	return 0;
}

int check_kfunc(struct verifier_env *env, struct vstate *st, uint32_t pc, const bpfvm_insn *in)
{
	const struct kfunc_desc *k;
	struct iter_call ic = { 0 };
	int rc;
	if ((rc = kfunc_of(env, pc, in, &k)))
		return rc;
	if (st->lock_id)
		return reject(env, -EINVAL, "function calls are not allowed while holding a lock");
	if ((k->flags & KF_SLEEPABLE) && !env->opts->sleepable)
		return reject(env, -EACCES, "program must be sleepable to call sleepable kfunc %s", k->call.proto.name);
	uint64_t constant = 0;
	if ((rc = check_kfunc_args(env, st, pc, k, &ic, &constant)))
		return rc;
	struct vframe *f = cur_frame(st);
	for (int i = 1; i <= 5; i++)
		mark_not_init(&f->regs[i]);
	switch (k->call.proto.ret) {
	case RET_VOID:
		mark_not_init(&f->regs[0]);
		break;
	case RET_KFUNC_UNTRUSTED_BTF_ID:
		if ((rc = type_untrusted(env, k, constant, &f->regs[0])))
			return rc;
		break;
	case RET_KFUNC_MEM:
		mark_ptr(&f->regs[0], REG_MEM);
		f->regs[0].mem_size = k->ret_size;
		f->regs[0].maybe_null = (k->flags & KF_RET_NULL) != 0;
		f->regs[0].id = f->regs[0].maybe_null ? ++env->next_id : 0;
		break;
	default:
		mark_unknown(&f->regs[0]);
		break;
	}
	if (k->flags & KF_ITER_NEXT)
		return iter_next_fork(env, st, pc, &ic);
	return 0;
}
