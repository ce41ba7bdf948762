/*
 * global_func.c - global (non-static) subprograms, as the kernel 6.18
 * verifies them: a global function is walked once, on its own, from an
 * entry state its BTF FUNC_PROTO types (btf_prepare_func_args: a number,
 * the context, or a pointer to memory of the pointed type's size, NULL
 * unless tagged `arg:nonnull`; the other `arg:` tags' combinations checked
 * as the kernel checks them, `arg:trusted`, `arg:untrusted` and
 * `arg:arena` arguments unsupported), and a call to it only checks the caller's
 * arguments against those types (btf_check_func_arg_match) and returns
 * an unknown number.  Static subprograms are walked at each call with
 * the caller's state (verifier.c), as before.
 *
 * Owns: the per-subprogram table of env->gfuncs (from
 * bpfvm_verify_opts.prog_btf and func_info), global_funcs_init(),
 * is_global_func(), check_global_call(), global_entry_state(),
 * global_needs_walk(), global_walked() and the kernel's log lines about
 * global functions.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include <linux/bpf.h>
#include <linux/btf.h>

#include "analysis/analysis.h"
#include "helpers/helper_desc.h"
#include "helpers/helpers.h"
#include "verifier/internal.h"

/* The `arg:` tags the kernel 6.18 knows (btf_decl_tag on a parameter). */
#define TAG_CTX 1u
#define TAG_NONNULL 2u
#define TAG_TRUSTED 4u
#define TAG_NULLABLE 8u
#define TAG_ARENA 16u
#define TAG_UNTRUSTED 32u

static const struct btf *prog_btf(const struct verifier_env *env)
{
	return env->opts->prog_btf;
}

/* The BTF FUNC of the subprogram starting at start, or 0. */
static uint32_t func_type_at(const struct verifier_env *env, uint32_t start)
{
	for (size_t i = 0; i < env->opts->func_info_count; i++)
		if (env->opts->func_info[i].insn_off == start)
			return env->opts->func_info[i].type_id;
	return 0;
}

/* Records why the prototype cannot be used (the kernel's log line). */
static int proto_fail(struct global_func *g, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int proto_fail(struct global_func *g, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g->proto_msg, sizeof g->proto_msg, fmt, ap);
	va_end(ap);
	g->proto_rc = code;
	return code;
}

/* Type id past const, volatile, restrict, typedef and type tags; with
 * typedef_name, stops at a typedef of that name instead (the kernel
 * checks kprobes' bpf_user_pt_regs_t before skipping typedefs). */
static uint32_t type_id_past_mods(const struct btf *btf, uint32_t id, const char *typedef_name)
{
	for (int n = 0; n < 32; n++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!t || !(btf_is_mod(t) || btf_is_typedef(t) || btf_is_type_tag(t)))
			return id;
		if (typedef_name && btf_is_typedef(t) && !strcmp(btf__name_by_offset(btf, t->name_off), typedef_name))
			return id;
		id = t->type;
	}
	return id;
}

/* Whether pointer type ptr points to the program type's context struct
 * (the kernel's btf_is_prog_ctx_type): its name, the kernel struct it
 * projects, or (kprobes) the typedef naming it. */
static bool is_ctx_ptr(const struct verifier_env *env, const struct btf_type *ptr)
{
	const struct btf *btf = prog_btf(env);
	const struct progtype_desc *d = progtype_desc(env->prog_type);
	if (env->raw || !d || !d->ctx_btf_name)
		return false;
	const struct btf_type *t = btf__type_by_id(btf, type_id_past_mods(btf, ptr->type, d->ctx_btf_name));
	if (t && btf_is_typedef(t))
		return true;
	t = btf__type_by_id(btf, type_id_past_mods(btf, ptr->type, NULL));
	if (!t || !(btf_is_struct(t) || btf_is_union(t)))
		return false;
	const char *name = btf__name_by_offset(btf, t->name_off);
	return name && (!strcmp(name, d->ctx_btf_name) ||
	                (d->ctx_btf_kernel_name && !strcmp(name, d->ctx_btf_kernel_name)));
}

/* Whether an argument tagged arg:ctx may be the context (the kernel's
 * btf_validate_prog_ctx_type): `void *`, the context's struct (a kprobe's
 * bpf_user_pt_regs_t or struct pt_regs), a u64 * where the context is an
 * array of u64 arguments, anything for a tracepoint. */
static int tagged_ctx_ok(struct verifier_env *env, struct global_func *g, uint32_t i, const struct btf_type *ptr)
{
	const struct btf *btf = prog_btf(env);
	const struct progtype_desc *d = progtype_desc(env->prog_type);
	uint32_t type = env->prog_type;
	if (type == BPF_PROG_TYPE_TRACEPOINT)
		return 0;
	const struct btf_type *t = btf__type_by_id(btf, type_id_past_mods(btf, ptr->type, "bpf_user_pt_regs_t"));
	if (type == BPF_PROG_TYPE_KPROBE && t && btf_is_typedef(t))
		return 0;
	t = btf__type_by_id(btf, type_id_past_mods(btf, ptr->type, NULL));
	if (!t || btf_is_void(t))
		return 0;
	const char *name = btf__name_by_offset(btf, t->name_off);
	const char *want = type == BPF_PROG_TYPE_KPROBE ? "pt_regs" : d ? d->ctx_btf_name : NULL;
	if (want && btf_is_struct(t) && name && !strcmp(name, want))
		return 0;
	bool u64_args = type == BPF_PROG_TYPE_RAW_TRACEPOINT || type == BPF_PROG_TYPE_TRACING ||
	                type == BPF_PROG_TYPE_LSM;
	if (u64_args && btf_is_int(t) && t->size == 8)
		return 0;
	if (want)
		return proto_fail(g, -EINVAL, "arg#%u should be `struct %s *`", i, want);
	return proto_fail(g, -EINVAL, "arg#%u should be void pointer", i);
}

/* The `arg:` tags of parameter i of FUNC fn (BTF_KIND_DECL_TAG); one the
 * kernel does not know makes the prototype unusable. */
static int arg_tags(struct global_func *g, const struct btf *btf, uint32_t fn, uint32_t i, uint32_t *tags)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} known[] = {
		{ "ctx", TAG_CTX }, { "nonnull", TAG_NONNULL }, { "trusted", TAG_TRUSTED },
		{ "nullable", TAG_NULLABLE }, { "arena", TAG_ARENA }, { "untrusted", TAG_UNTRUSTED },
	};
	*tags = 0;
	uint32_t n = btf__type_cnt(btf);
	for (uint32_t id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!btf_is_decl_tag(t) || t->type != fn || btf_decl_tag(t)->component_idx != (int)i)
			continue;
		const char *tag = btf__name_by_offset(btf, t->name_off);
		if (!tag || strncmp(tag, "arg:", 4))
			continue;
		size_t k = 0;
		while (k < sizeof known / sizeof known[0] && strcmp(tag + 4, known[k].name))
			k++;
		if (k == sizeof known / sizeof known[0])
			return proto_fail(g, -EINVAL, "arg#%u has unsupported set of tags", i);
		*tags |= known[k].bit;
	}
	return 0;
}

/* The tags of a pointer argument that is neither the context nor a
 * dynptr, in the kernel's order: arg:trusted (maybe arg:nullable, never
 * arg:nonnull), arg:arena alone, arg:untrusted alone, else memory
 * (arg:nonnull, never arg:nullable).  0: memory; the kinds bpfvm does
 * not model are unsupported. */
static int check_ptr_tags(struct global_func *g, uint32_t i, uint32_t tags)
{
	if (tags & TAG_TRUSTED) {
		if (tags & TAG_NONNULL)
			return proto_fail(g, -EINVAL, "arg#%u has invalid combination of tags", i);
		return proto_fail(g, -ENOTSUP, "unsupported: arg#%u of %s() is tagged arg:trusted (a trusted kernel "
		                  "object, which bpfvm's global functions do not take)", i, g->name);
	}
	if (tags & TAG_ARENA) {
		if (tags & ~TAG_ARENA)
			return proto_fail(g, -EINVAL, "arg#%u arena cannot be combined with any other tags", i);
		return proto_fail(g, -ENOTSUP, "unsupported: arg#%u of %s() is tagged arg:arena", i, g->name);
	}
	if (tags & TAG_UNTRUSTED) {
		if (tags & ~TAG_UNTRUSTED)
			return proto_fail(g, -EINVAL, "arg#%u untrusted cannot be combined with any other tags", i);
		/* reading through it needs fault-safe loads */
		return proto_fail(g, -ENOTSUP, "unsupported: arg#%u of %s() is tagged arg:untrusted (reads through "
		                  "it need fault-safe loads, which bpfvm's engines do not make)", i, g->name);
	}
	if (tags & TAG_NULLABLE)
		return proto_fail(g, -EINVAL, "arg#%u has invalid combination of tags", i);
	return 0;
}

/* Parameter i of type id: what the global function's walk starts with
 * and what a call must pass (the kernel's btf_prepare_func_args). */
static int prepare_arg(struct verifier_env *env, struct global_func *g, uint32_t fn, uint32_t i, uint32_t id)
{
	const struct btf *btf = prog_btf(env);
	struct global_arg *a = &g->args[i];
	uint32_t tags;
	int rc = arg_tags(g, btf, fn, i, &tags);
	if (rc)
		return rc;
	const struct btf_type *t = btf__type_by_id(btf, type_id_past_mods(btf, id, NULL));
	if (t && btf_is_ptr(t)) {
		if ((tags & TAG_CTX) || is_ctx_ptr(env, t)) {
			if (tags & ~TAG_CTX)
				return proto_fail(g, -EINVAL, "arg#%u has invalid combination of tags", i);
			if (env->raw)
				return proto_fail(g, -ENOTSUP, "unsupported: a context argument of a raw program's global "
				                  "function");
			if ((tags & TAG_CTX) && (rc = tagged_ctx_ok(env, g, i, t)))
				return rc;
			a->kind = GARG_CTX;
			return 0;
		}
		uint32_t pointee = type_id_past_mods(btf, t->type, NULL);
		const struct btf_type *p = btf__type_by_id(btf, pointee);
		const char *pname = p ? btf__name_by_offset(btf, p->name_off) : NULL;
		if (p && btf_is_struct(p) && pname && !strcmp(pname, "bpf_dynptr")) {
			if (tags)
				return proto_fail(g, -EINVAL, "arg#%u has invalid combination of tags", i);
			/* the kernel's ARG_PTR_TO_DYNPTR: an initialised dynptr,
			 * which bpfvm's verifier does not model */
			return proto_fail(g, -ENOTSUP, "unsupported: arg#%u of %s() is a struct bpf_dynptr *", i, g->name);
		}
		if ((rc = check_ptr_tags(g, i, tags)))
			return rc;
		long long size = btf__resolve_size(btf, pointee);
		if (size < 0 || !p || btf_is_void(p) || btf_is_func_proto(p))
			return proto_fail(g, -EINVAL, "arg#%u reference type('%s %s') size cannot be determined: %d", i,
			                  btf_kind_str(p), p ? btf__name_by_offset(btf, p->name_off) : "", -EINVAL);
		a->kind = GARG_MEM;
		a->maybe_null = !(tags & TAG_NONNULL);
		a->mem_size = (uint32_t)size;
		return 0;
	}
	if (tags)
		return proto_fail(g, -EINVAL, "arg#%u has pointer tag, but is not a pointer type", i);
	if (t && (btf_is_int(t) || btf_is_any_enum(t))) {
		a->kind = GARG_SCALAR;
		return 0;
	}
	return proto_fail(g, -EINVAL, "Arg#%u type %s in %s() is not supported yet.", i, btf_kind_str(t), g->name);
}

/* The FUNC_PROTO of global function g (FUNC fn) into g->args. */
static int prepare_proto(struct verifier_env *env, struct global_func *g, uint32_t fn)
{
	const struct btf *btf = prog_btf(env);
	const struct btf_type *f = btf__type_by_id(btf, fn);
	const struct btf_type *proto = btf__type_by_id(btf, f->type);
	if (!proto || !btf_is_func_proto(proto))
		return proto_fail(g, -EINVAL, "Invalid type of function %s()", g->name);
	uint32_t nargs = btf_vlen(proto);
	if (nargs > 5)
		return proto_fail(g, -EINVAL, "Global function %s() with %u > 5 args. Buggy compiler.", g->name, nargs);
	const struct btf_type *ret = btf__type_by_id(btf, type_id_past_mods(btf, proto->type, NULL));
	if (!ret || !(btf_is_int(ret) || btf_is_any_enum(ret)))
		return proto_fail(g, -EINVAL, "Global function %s() doesn't return scalar. Only those are supported.",
		                  g->name);
	const struct btf_param *params = btf_params(proto);
	for (uint32_t i = 0; i < nargs; i++) {
		int rc = prepare_arg(env, g, fn, i, params[i].type);
		if (rc)
			return rc;
	}
	g->nargs = nargs;
	return 0;
}

/* Whether subprogram s calls a helper that changes the packet (a tail
 * call may too) or such a subprogram, or names such a callback: the
 * kernel's changes_pkt_data, which makes a call to a global s forget the
 * caller's packet pointers.  (Chains deeper than the frame limit are
 * refused after the walk.) */
static bool subprog_changes_pkt(const struct verifier_env *env, uint32_t s, uint32_t depth)
{
	const struct analysis *a = env->cfg.a;
	uint32_t end = s + 1 < a->subprog_count ? a->subprogs[s + 1] : (uint32_t)env->count;
	for (uint32_t pc = a->subprogs[s]; pc < end && depth < CFG_MAX_CALL_FRAMES; pc++) {
		const struct isa_op *op = env->cfg.ops[pc];
		const bpfvm_insn *in = &env->insns[pc];
		if (!op)
			continue;
		if (op->branch == BRANCH_CALL_HELPER && !isa_is_kfunc_call(in)) {
			const struct helper_desc *d = helpers_desc(env->opts->helpers, (uint32_t)in->imm);
			if (d && (d->proto.changes_pkt || d->tail_call))
				return true;
		}
		if (op->branch == BRANCH_CALL_LOCAL &&
		    subprog_changes_pkt(env, analysis_subprog_of(a, (size_t)isa_branch_target(op, in, pc)), depth + 1))
			return true;
		if (isa_is_func_ref(in) && subprog_changes_pkt(env, analysis_subprog_of(a, (size_t)(pc + 1 + in->imm)),
		                                               depth + 1))
			return true;
	}
	return false;
}

int global_funcs_init(struct verifier_env *env)
{
	const struct btf *btf = prog_btf(env);
	size_t n = env->cfg.a->subprog_count;
	if (!btf || !env->opts->func_info || !env->opts->func_info_count || n < 2)
		return 0;
	env->gfuncs = calloc(n, sizeof *env->gfuncs);
	if (!env->gfuncs)
		return error_set(env->err, -ENOMEM, -1, "out of memory");
	for (uint32_t s = 1; s < n; s++) {
		struct global_func *g = &env->gfuncs[s];
		uint32_t fn = func_type_at(env, cfg_subprog_start(&env->cfg, s));
		const struct btf_type *t = fn ? btf__type_by_id(btf, fn) : NULL;
		if (!t || !btf_is_func(t) || btf_vlen(t) != BTF_FUNC_GLOBAL)
			continue;
		g->global = true;
		g->name = btf__name_by_offset(btf, t->name_off);
		if (!g->name)
			g->name = "";
		prepare_proto(env, g, fn);
		g->changes_pkt = subprog_changes_pkt(env, s, 0);
	}
	return 0;
}

bool is_global_func(const struct verifier_env *env, uint32_t subprog)
{
	return env->gfuncs && env->gfuncs[subprog].global;
}

/* Memory argument i in regno: NULL, or memory of the pointed type's
 * size the function may read and write (the kernel's check_mem_reg);
 * a pointer that may be NULL only where the argument may be. */
static int check_mem_arg(struct verifier_env *env, struct vstate *st, const struct global_arg *a, uint32_t i,
                         int regno)
{
	struct vreg *r = &cur_frame(st)->regs[regno];
	if (r->type == REG_SCALAR && scalar_is_const(&r->v) && r->v.var.value == 0)
		return 0;
	/* checked as if not NULL, as the kernel does */
	bool maybe_null = r->maybe_null;
	r->maybe_null = false;
	int rc = check_helper_mem(env, st, regno, a->mem_size, true, false, false);
	r->maybe_null = maybe_null;
	if (rc)
		return rc;
	if (!a->maybe_null && maybe_null)
		return reject(env, -EINVAL, "arg#%u is expected to be non-NULL", i);
	return 0;
}

/* The caller's r1..r(nargs) against g's argument types. */
static int check_args(struct verifier_env *env, struct vstate *st, const struct global_func *g)
{
	for (uint32_t i = 0; i < g->nargs; i++) {
		const struct global_arg *a = &g->args[i];
		int regno = (int)i + 1;
		const struct vreg *r = &cur_frame(st)->regs[regno];
		int rc = 0;
		switch (a->kind) {
		case GARG_SCALAR:
			if (r->type != REG_SCALAR)
				rc = reject(env, -EINVAL, "R%d is not a scalar", regno);
			break;
		case GARG_CTX:
			if (r->type == REG_CTX && (r->off || !var_is_zero(r)))
				rc = reject(env, -EACCES, "dereference of modified ctx ptr R%d off=%d disallowed", regno,
				            r->off);
			else if (r->type != REG_CTX)
				rc = reject(env, -EINVAL, "arg#%u expects pointer to ctx", i);
			break;
		case GARG_MEM:
			rc = check_mem_arg(env, st, a, i, regno);
			break;
		}
		if (rc)
			return rc;
	}
	return 0;
}

int check_global_call(struct verifier_env *env, struct vstate *st, uint32_t subprog)
{
	struct global_func *g = &env->gfuncs[subprog];
	if (st->lock_id)
		return reject(env, -EINVAL, "global function calls are not allowed while holding a lock,\n"
		              "use static function instead");
	int rc = g->proto_rc;
	if (rc == -ENOTSUP)
		return reject(env, rc, "%s", g->proto_msg);
	if (rc)
		reject(env, rc, "%s", g->proto_msg);
	else {
		/* the helpers' restriction on packet pointers is not a
		 * global function's */
		env->cur_desc = NULL;
		rc = check_args(env, st, g);
	}
	if (rc) {
		/* the kernel logs why, then refuses the call */
		vlog(env, "%s\n", env->err->msg);
		return reject(env, -EINVAL, "Caller passes invalid args into func#%u ('%s')", subprog, g->name);
	}
	if (env->log_level >= 1)
		vlog(env, "Func#%u ('%s') is global and assumed valid.\n", subprog, g->name);
	if (g->changes_pkt)
		invalidate_pkt(st);
	g->called = true;
	struct vframe *f = cur_frame(st);
	for (int i = 1; i <= 5; i++)
		mark_not_init(&f->regs[i]);
	mark_unknown(&f->regs[0]);
	return 0;
}

int global_entry_state(struct verifier_env *env, struct vstate *st, uint32_t subprog)
{
	const struct global_func *g = &env->gfuncs[subprog];
	if (env->log_level >= 1)
		vlog(env, "Validating %s() func#%u...\n", g->name, subprog);
	memset(st, 0, sizeof *st);
	st->frames[0] = calloc(1, sizeof *st->frames[0]);
	if (!st->frames[0])
		return reject(env, -ENOMEM, "out of memory");
	struct vframe *f = st->frames[0];
	f->callback_helper = -1;
	f->subprog = subprog;
	mark_ptr(&f->regs[10], REG_STACK);
	for (uint32_t i = 0; i < g->nargs; i++) {
		const struct global_arg *a = &g->args[i];
		struct vreg *r = &f->regs[i + 1];
		if (a->kind == GARG_SCALAR) {
			mark_unknown(r);
		} else if (a->kind == GARG_CTX) {
			mark_ptr(r, REG_CTX);
		} else {
			mark_ptr(r, REG_MEM);
			r->mem_size = a->mem_size;
			r->maybe_null = a->maybe_null;
			if (a->maybe_null)
				r->id = ++env->next_id;
		}
	}
	return 0;
}

bool global_needs_walk(const struct verifier_env *env, uint32_t subprog)
{
	const struct global_func *g = env->gfuncs ? &env->gfuncs[subprog] : NULL;
	return g && g->global && g->called && !g->verified;
}

void global_walked(struct verifier_env *env, uint32_t subprog)
{
	struct global_func *g = &env->gfuncs[subprog];
	g->verified = true;
	if (env->log_level >= 1)
		vlog(env, "Func#%u ('%s') is safe for any args that match its prototype\n", subprog, g->name);
}
