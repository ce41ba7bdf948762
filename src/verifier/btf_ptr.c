/*
 * btf_ptr.c - BTF-typed program types (tracing: tp_btf, fentry, fexit,
 * fmod_ret, iter; lsm) and the typed pointers their context gives: the
 * kernel's btf_ctx_access(), btf_struct_walk(), check_ptr_to_btf_access()
 * and, for these types, the attach checks and check_return_code().
 *
 * The context is an array of u64 arguments typed by the attach target's
 * FUNC_PROTO (opts->attach_btf, attach_func_proto): integers, enums and
 * structs passed by value read as numbers, pointers to void or to
 * integers as numbers, and a pointer to a struct as REG_BTF_ID (the
 * kernel's PTR_TO_BTF_ID) whose fields may be read with direct loads,
 * checked against the member layout (nested structs and arrays walked;
 * a pointer member to a struct gives another REG_BTF_ID, any other
 * member a number).  No writes; no access at all through an untrusted
 * pointer (bpf_rdonly_cast's), which may point anywhere.  fexit and lsm see the return value
 * after the arguments; fmod_ret only when the function returns an int.
 *
 * Owns: the rules above.  mem.c calls them for REG_CTX and REG_BTF_ID
 * accesses, verifier.c at the start (attach checks) and at the main
 * program's exit (return ranges); global_func.c names BTF kinds in its
 * messages with btf_kind_str().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/btf.h>
#include <linux/bpf.h>

#include "verifier/internal.h"

#define MAX_ERRNO 4095

/* The name the kernel gives the attach target in messages
 * (prog->aux->attach_func_name): a tracepoint without "btf_trace_". */
static const char *attach_func_name(const struct verifier_env *env)
{
	const char *n = env->opts->attach_name ? env->opts->attach_name : "?";
	if (env->opts->attach_btf_trace && !strncmp(n, "btf_trace_", 10))
		n += 10;
	return n;
}

static const struct btf_type *skip_mods(const struct btf *btf, uint32_t id, uint32_t *res_id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	while (t && (btf_is_mod(t) || btf_is_typedef(t))) {
		id = t->type;
		t = btf__type_by_id(btf, id);
	}
	if (res_id)
		*res_id = id;
	return t;
}

static bool is_small_int(const struct btf_type *t)
{
	return t && btf_is_int(t) && t->size <= 8;
}

static bool is_struct(const struct btf_type *t)
{
	return t && (btf_is_struct(t) || btf_is_union(t));
}

const char *btf_kind_str(const struct btf_type *t)
{
	static const char *const names[] = {
		[BTF_KIND_UNKN] = "UNKNOWN", [BTF_KIND_INT] = "INT", [BTF_KIND_PTR] = "PTR",
		[BTF_KIND_ARRAY] = "ARRAY", [BTF_KIND_STRUCT] = "STRUCT", [BTF_KIND_UNION] = "UNION",
		[BTF_KIND_ENUM] = "ENUM", [BTF_KIND_FWD] = "FWD", [BTF_KIND_TYPEDEF] = "TYPEDEF",
		[BTF_KIND_VOLATILE] = "VOLATILE", [BTF_KIND_CONST] = "CONST", [BTF_KIND_RESTRICT] = "RESTRICT",
		[BTF_KIND_FUNC] = "FUNC", [BTF_KIND_FUNC_PROTO] = "FUNC_PROTO", [BTF_KIND_VAR] = "VAR",
		[BTF_KIND_DATASEC] = "DATASEC", [BTF_KIND_FLOAT] = "FLOAT", [BTF_KIND_DECL_TAG] = "DECL_TAG",
		[BTF_KIND_TYPE_TAG] = "TYPE_TAG", [BTF_KIND_ENUM64] = "ENUM64",
	};
	unsigned k = t ? btf_kind(t) : BTF_KIND_UNKN;
	return k < sizeof names / sizeof names[0] && names[k] ? names[k] : "UNKNOWN";
}

static const char *type_name(const struct btf *btf, uint32_t id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const char *n = t ? btf__name_by_offset(btf, t->name_off) : NULL;
	return n ? n : "";
}

/* ---- the context: typed arguments ------------------------------------------- */

/* The type of argument `arg` (or of the return value, arg == nr_args)
 * as the kernel's btf_ctx_access() finds it; 0 with *t set, or <0
 * (rejected). */
static int ctx_arg_type(struct verifier_env *env, int arg, const struct btf_type **t)
{
	const struct btf *btf = env->opts->attach_btf;
	const struct btf_type *proto = btf__type_by_id(btf, env->opts->attach_func_proto);
	const struct btf_param *args = btf_params(proto);
	int nr_args = btf_vlen(proto);
	const char *tname = attach_func_name(env);
	if (env->opts->attach_btf_trace) {
		args++;   /* the tracepoint's first argument, void *__data, is not the program's */
		nr_args--;
	}
	if (arg > nr_args)
		return reject(env, -EACCES, "func '%s' doesn't have %d-th argument", tname, arg + 1);
	if (arg < nr_args) {
		*t = skip_mods(btf, args[arg].type, NULL);
		return 0;
	}
	switch (env->opts->expected_attach_type) {
	case BPF_LSM_MAC:
	case BPF_LSM_CGROUP:
	case BPF_TRACE_FEXIT:
		*t = skip_mods(btf, proto->type, NULL);
		return 0;
	case BPF_MODIFY_RETURN:
		*t = skip_mods(btf, proto->type, NULL);
		if (!is_small_int(*t))
			return reject(env, -EACCES, "ret type %s not allowed for fmod_ret", btf_kind_str(*t));
		return 0;
	default:
		return reject(env, -EACCES, "func '%s' doesn't have %d-th argument", tname, arg + 1);
	}
}

/* Whether the argument's name ends in "__nullable" (the kernel's
 * btf_param_match_suffix). */
static bool arg_nullable(struct verifier_env *env, int arg)
{
	const struct btf *btf = env->opts->attach_btf;
	const struct btf_type *proto = btf__type_by_id(btf, env->opts->attach_func_proto);
	int skip = env->opts->attach_btf_trace ? 1 : 0;
	if (arg + skip >= btf_vlen(proto))
		return false;
	const char *n = btf__name_by_offset(btf, btf_params(proto)[arg + skip].name_off);
	size_t len = n ? strlen(n) : 0;
	return len >= 10 && !strcmp(n + len - 10, "__nullable");
}

int btf_ctx_load(struct verifier_env *env, int off, int size, struct vreg *out, bool sx)
{
	const struct btf *btf = env->opts->attach_btf;
	const char *tname = attach_func_name(env);
	const struct btf_type *t = NULL;
	int arg = off / 8, rc;
	if (off % 8)
		return reject(env, -EACCES, "func '%s' offset %d is not multiple of 8", tname, off);
	if ((rc = ctx_arg_type(env, arg, &t)))
		return rc;
	if (is_small_int(t) || (t && (btf_is_any_enum(t) || is_struct(t)))) {
		if (out)
			mark_loaded(out, size, sx);
		return 0;
	}
	if (!t || !btf_is_ptr(t))
		return reject(env, -EACCES, "func '%s' arg%d '%s' has type %s. Only pointer access is allowed", tname,
		              arg, t ? btf__name_by_offset(btf, t->name_off) : "", btf_kind_str(t));
	if (size != 8)
		return reject(env, -EACCES, "func '%s' size %d must be 8", tname, size);
	uint32_t id;
	const struct btf_type *target = skip_mods(btf, t->type, &id);
	if (t->type == 0 || is_small_int(target)) {
		/* void * or an integer pointer: a number, walked no further */
		if (out)
			mark_loaded(out, size, sx);
		return 0;
	}
	if (!is_struct(target))
		return reject(env, -EACCES, "func '%s' arg%d type %s is not a struct", tname, arg, btf_kind_str(target));
	if (out) {
		mark_ptr(out, REG_BTF_ID);
		out->btf_id = id;
		/* an iterator's objects (past its bpf_iter_meta) are NULL at the
		 * end of the walk: the kernel's ctx_arg_info says PTR_TO_BTF_ID_OR_NULL */
		bool iter_object = env->opts->expected_attach_type == BPF_TRACE_ITER && arg > 0;
		if (arg_nullable(env, arg) || iter_object) {
			out->maybe_null = true;
			out->id = ++env->next_id;
		}
	}
	return 0;
}

/* ---- typed pointers: the struct walk ------------------------------------------ */

enum walk { WALK_SCALAR, WALK_PTR, WALK_STRUCT };

/* The size of type id, arrays flattened: *elem is the innermost
 * element type of an array (else id itself) and *nelems their count. */
static int64_t resolved_size(const struct btf *btf, uint32_t id, uint32_t *elem, uint32_t *nelems)
{
	const struct btf_type *t = skip_mods(btf, id, &id);
	uint32_t n = 1;
	while (t && btf_is_array(t)) {
		n *= btf_array(t)->nelems;
		id = btf_array(t)->type;
		t = skip_mods(btf, id, &id);
	}
	*elem = id;
	*nelems = n;
	int64_t size = btf__resolve_size(btf, id);
	return size < 0 ? size : size * n;
}

/* A flexible array as the struct's last member: what the kernel walks
 * past the struct's end; *off becomes the offset in its element. */
static int walk_flex(struct verifier_env *env, const struct btf *btf, const struct btf_type *t, uint32_t *id,
                     int *off, int size, enum walk *res)
{
	const char *tname = btf__name_by_offset(btf, t->name_off);
	int vlen = btf_vlen(t);
	if (vlen) {
		const struct btf_member *m = btf_members(t) + vlen - 1;
		const struct btf_type *mt = skip_mods(btf, m->type, NULL);
		uint32_t moff = btf_member_bit_offset(t, (uint32_t)vlen - 1) / 8;
		if (mt && btf_is_array(mt) && btf_array(mt)->nelems == 0 && (uint32_t)*off >= moff) {
			uint32_t eid;
			const struct btf_type *et = skip_mods(btf, btf_array(mt)->type, &eid);
			if (et && btf_is_int(et)) {
				*res = WALK_SCALAR;
				return 1;
			}
			if (is_struct(et) && et->size) {
				*off = (int)((uint32_t)(*off - (int)moff) % et->size);
				*id = eid;
				return 0;
			}
		}
	}
	return reject(env, -EACCES, "access beyond struct %s at off %u size %u", tname ? tname : "", (unsigned)*off,
	              (unsigned)size);
}

/* One member at moff of struct `t` holding [off, off+size): the kernel's
 * btf_struct_walk() body for it.  1 with *res when done, 0 to walk on in
 * *id at *off, <0 rejected. */
static int walk_member(struct verifier_env *env, const struct btf *btf, const struct btf_type *t, int i,
                       uint32_t *id, int *off, int size, enum walk *res)
{
	const struct btf_member *m = btf_members(t) + i;
	const char *tname = btf__name_by_offset(btf, t->name_off), *mname = btf__name_by_offset(btf, m->name_off);
	uint32_t moff = btf_member_bit_offset(t, (uint32_t)i) / 8, elem, nelems;
	int64_t msize = resolved_size(btf, m->type, &elem, &nelems);
	if (msize < 0)
		return reject(env, -EFAULT, "field %s doesn't have size", mname);
	uint32_t mend = moff + (uint32_t)msize, mid = elem;
	const struct btf_type *mt = skip_mods(btf, m->type, NULL);
	if (mt && btf_is_array(mt)) {
		if (!nelems)
			return 2;   /* an empty array: the next member */
		msize /= nelems;
		moff += (uint32_t)(*off - (int)moff) / (uint32_t)msize * (uint32_t)msize;
	}
	mt = skip_mods(btf, mid, &mid);
	if (is_struct(mt)) {
		if ((uint32_t)*off == moff) {
			*id = mid;
			*off = 0;
			*res = WALK_STRUCT;
			return 0;
		}
		*off -= (int)moff;
		*id = mid;
		return 0;
	}
	if (mt && btf_is_ptr(mt)) {
		if (msize != size || (uint32_t)*off != moff)
			return reject(env, -EACCES,
			              "cannot access ptr member %s with moff %u in struct %s with off %u size %u", mname, moff,
			              tname, (unsigned)*off, (unsigned)size);
		uint32_t sid;
		const struct btf_type *st = skip_mods(btf, mt->type, &sid);
		if (is_struct(st)) {
			*id = sid;
			*res = WALK_PTR;
			return 1;
		}
	}
	if ((uint32_t)(*off + size) > mend)
		return reject(env, -EACCES, "access beyond the end of member %s (mend:%u) in struct %s with off %u size %u",
		              mname, mend, tname, (unsigned)*off, (unsigned)size);
	*res = WALK_SCALAR;
	return 1;
}

/* The kernel's btf_struct_access() for a read of [off, off+size) of
 * struct *id: what the read gives (*id the pointee for WALK_PTR). */
static int struct_walk(struct verifier_env *env, uint32_t *id, int off, int size, enum walk *res)
{
	const struct btf *btf = env->opts->attach_btf;
	for (int depth = 0; depth < 64; depth++) {
		const struct btf_type *t = skip_mods(btf, *id, id);
		if (!is_struct(t))
			return reject(env, -EINVAL, "Type '%s' is not a struct", t ? btf__name_by_offset(btf, t->name_off) : "");
		if ((uint32_t)(off + size) > t->size) {
			int rc = walk_flex(env, btf, t, id, &off, size, res);
			if (rc)
				return rc < 0 ? rc : 0;
			continue;
		}
		int rc = 2, vlen = btf_vlen(t), i;
		for (i = 0; i < vlen && rc == 2; i++) {
			uint32_t moff = btf_member_bit_offset(t, (uint32_t)i) / 8;
			uint32_t bits = btf_member_bitfield_size(t, (uint32_t)i);
			if ((uint32_t)(off + size) <= moff)
				break;
			if (bits) {
				uint32_t end = btf_member_bit_offset(t, (uint32_t)i) + bits;
				if ((uint32_t)off <= moff && (end + 7) / 8 <= (uint32_t)(off + size)) {
					*res = WALK_SCALAR;
					return 0;
				}
				continue;
			}
			if ((uint32_t)off < moff)
				break;
			uint32_t elem, nelems;
			int64_t msize = resolved_size(btf, btf_members(t)[i].type, &elem, &nelems);
			if (msize >= 0 && (uint32_t)off >= moff + (uint64_t)msize)
				continue;
			rc = walk_member(env, btf, t, i, id, &off, size, res);
		}
		if (rc < 0)
			return rc;
		if (rc == 1)
			return 0;
		if (rc == 2)
			return reject(env, -EINVAL, "struct %s doesn't have field at offset %d",
			              btf__name_by_offset(btf, t->name_off), off);
		if (*res == WALK_STRUCT)
			*res = WALK_SCALAR;   /* walked into a nested struct: go on inside it */
	}
	return reject(env, -EINVAL, "struct nesting too deep");
}

int check_btf_ptr_access(struct verifier_env *env, const struct vreg *r, int regno, int off, int size,
                         enum access acc, struct vreg *out, bool sx)
{
	if (r->untrusted)
		/* the kernel reads through it with loads that cannot fault */
		return reject(env, -ENOTSUP, "unsupported: R%d is an untrusted pointer (bpf_rdonly_cast's): an access "
		              "through it needs a load that cannot fault, which bpfvm's engines do not make", regno);
	const struct btf *btf = env->opts->attach_btf;
	const char *tname = type_name(btf, r->btf_id);
	int total = r->off + off;
	if (env->opts->license && !license_is_gpl_compatible(env->opts->license))
		return reject(env, -EINVAL, "Cannot access kernel 'struct %s' from non-GPL compatible program", tname);
	if (total < 0)
		return reject(env, -EACCES, "R%d is ptr_%s invalid negative access: off=%d", regno, tname, total);
	if (!var_is_zero(r)) {
		char tn[200];
		scalar_format(&r->v, tn, sizeof tn);
		return reject(env, -EACCES, "R%d is ptr_%s invalid variable offset: off=%d, var_off=%s", regno, tname,
		              total, tn);
	}
	if (acc == ACC_WRITE)
		return reject(env, -EACCES, "only read is supported");
	uint32_t id = r->btf_id;
	enum walk res = WALK_SCALAR;
	int rc = struct_walk(env, &id, total, size, &res);
	if (rc)
		return rc;
	if (out) {
		if (res == WALK_PTR) {
			mark_ptr(out, REG_BTF_ID);
			out->btf_id = id;
		} else {
			mark_loaded(out, size, sx);
		}
	}
	return 0;
}

/* ---- attach checks and return values ------------------------------------------ */

/* The kernel's bpf_lsm_disabled_hooks and bool_lsm_hooks. */
static bool name_in(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(name, *list))
			return true;
	return false;
}

static const char *const lsm_disabled_hooks[] = {
	"bpf_lsm_vm_enough_memory", "bpf_lsm_inode_need_killpriv", "bpf_lsm_inode_getsecurity",
	"bpf_lsm_inode_listsecurity", "bpf_lsm_inode_copy_up_xattr", "bpf_lsm_getselfattr", "bpf_lsm_getprocattr",
	"bpf_lsm_setprocattr", "bpf_lsm_key_getsecurity", "bpf_lsm_audit_rule_match", "bpf_lsm_xfrm_decode_session",
	"bpf_lsm_ismaclabel", NULL,
};

static const char *const lsm_bool_hooks[] = {
	"bpf_lsm_xfrm_state_pol_flow_match", "bpf_lsm_audit_rule_known", "bpf_lsm_inode_xattr_skipcap", NULL,
};

bool btf_typed_prog(const struct verifier_env *env)
{
	return env->prog_type == BPF_PROG_TYPE_TRACING || env->prog_type == BPF_PROG_TYPE_LSM;
}

int btf_attach_check(struct verifier_env *env)
{
	if (!btf_typed_prog(env))
		return 0;
	const struct btf *btf = env->opts->attach_btf;
	const struct btf_type *proto = btf ? btf__type_by_id(btf, env->opts->attach_func_proto) : NULL;
	if (!proto || !btf_is_func_proto(proto))
		return error_set(env->err, -EINVAL, -1, "Tracing programs must provide btf_id");
	const char *name = env->opts->attach_name ? env->opts->attach_name : "";
	if (env->prog_type == BPF_PROG_TYPE_LSM && name_in(name, lsm_disabled_hooks))
		return error_set(env->err, -EINVAL, -1, "attach_btf_id %d points to disabled hook %s",
		                 btf__find_by_name_kind(btf, name, BTF_KIND_FUNC), name);
	return 0;
}

/* The range a BTF-typed program's return value must lie in; false when
 * any value is allowed. */
static bool return_range(const struct verifier_env *env, int32_t *lo, int32_t *hi, bool *bits32)
{
	*bits32 = false;
	*lo = 0;
	*hi = 0;
	if (env->prog_type == BPF_PROG_TYPE_TRACING) {
		switch (env->opts->expected_attach_type) {
		case BPF_TRACE_FENTRY:
		case BPF_TRACE_FEXIT:
			return true;
		case BPF_TRACE_ITER:
			*hi = 1;
			return true;
		default:
			return false;
		}
	}
	if (env->opts->expected_attach_type == BPF_LSM_CGROUP) {
		*hi = 1;
		return true;
	}
	const struct btf_type *proto = btf__type_by_id(env->opts->attach_btf, env->opts->attach_func_proto);
	if (!proto->type)
		return false;   /* a void hook */
	*bits32 = true;
	if (name_in(env->opts->attach_name ? env->opts->attach_name : "", lsm_bool_hooks))
		*hi = 1;
	else
		*lo = -MAX_ERRNO;
	return true;
}

int btf_check_return(struct verifier_env *env, struct vstate *st)
{
	int32_t lo, hi;
	bool bits32;
	if (!btf_typed_prog(env) || !return_range(env, &lo, &hi, &bits32))
		return 0;
	const struct vreg *r0 = &cur_frame(st)->regs[0];
	if (r0->type != REG_SCALAR)
		return reject(env, -EINVAL, "At program exit the register R0 is not a known value (%s)",
		              reg_type_name(r0));
	int64_t smin = bits32 ? r0->v.s32_min : r0->v.smin, smax = bits32 ? r0->v.s32_max : r0->v.smax;
	if (smin >= lo && smax <= hi)
		return 0;
	char have[96] = "";
	size_t n = 0;
	if (r0->v.smin > INT64_MIN)
		n += (size_t)snprintf(have + n, sizeof have - n, " smin=%lld", (long long)r0->v.smin);
	if (r0->v.smax < INT64_MAX && n < sizeof have)
		n += (size_t)snprintf(have + n, sizeof have - n, " smax=%lld", (long long)r0->v.smax);
	return reject(env, -EINVAL, "At program exit the register R0 has%s should have been in [%d, %d]",
	              n ? have : " unknown scalar value", lo, hi);
}
