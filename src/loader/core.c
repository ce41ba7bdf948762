/*
 * core.c - CO-RE relocations: the object's .BTF.ext "core_relo" records
 * (collected by btf_ext.c) resolved against a target BTF and applied to
 * the executable sections' instructions, before the programs are linked.
 *
 * Owns: the target BTF (a custom file, else the running kernel's
 * /sys/kernel/btf/vmlinux, then its modules' BTF for types vmlinux lacks),
 * the rules that decide a relocation's value, the patching, and the list
 * of applied relocations per program that bpfvm_object_core_relo_at()
 * shows.
 *
 * The rules are libbpf 1.1's (relo_core.c), written here from their
 * description: an access string "0:1:2" walks the local type from its
 * root; candidate target types are those of the same kind whose name
 * without a "___flavor" suffix equals the local one's; a candidate
 * matches if every named field of the access is found in it by name
 * (through anonymous structs and unions), with a compatible type, and
 * every array index is within bounds; all matching candidates must give
 * the same value (else the object is refused as ambiguous), and the
 * candidates that matched replace the list the next relocation of the
 * same root type starts from.  A relocation with no matching candidate
 * that needs one poisons its instruction: it becomes
 * `call 0xbad2310` (both halves of an lddw), which the verifier refuses
 * only if it is reachable.  Records are processed in libbpf's order:
 * by section group and record, programs that load (not "?" sections)
 * first, so the candidate lists evolve as libbpf's do.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "loader/loader.h"

#define CORE_SPEC_MAX 64   /* libbpf's BPF_CORE_SPEC_MAX_LEN */
#define CORE_MAX_DEPTH 32  /* nesting libbpf follows when comparing types */

/* One step of an access: a named field, or an array index (name NULL). */
struct core_acc {
	uint32_t type_id;  /* the struct/union holding the field, or the element type */
	uint32_t idx;
	const char *name;
};

/* An access resolved in one BTF: the named steps, the raw indices and the
 * bit offset reached. */
struct core_spec {
	const struct btf *btf;
	uint32_t root_id;
	uint32_t kind;
	struct core_acc acc[CORE_SPEC_MAX];
	int len;
	int raw[CORE_SPEC_MAX];
	int raw_len;
	uint32_t bit_off;
};

/* A relocation's decision: the value the compiler assumed, the target's. */
struct core_res {
	uint64_t orig, val;
	uint32_t orig_sz, new_sz;        /* field sizes, for loads and stores */
	uint32_t orig_type, new_type;    /* field types, for the same */
	bool poison, validate, bad_memsz;
};

struct core_cand {
	const struct btf *btf;
	uint32_t id;
};

/* Candidates for one local root type, shared by its relocations. */
struct core_cands {
	uint32_t local_id;
	struct core_cand *v;
	size_t n;
};

struct core_ctx {
	struct ldr *l;
	const struct btf *local;
	struct btf *vmlinux;          /* or the custom target */
	bool custom;                  /* no module search with a custom target */
	struct btf **modules;
	size_t module_count;
	bool modules_loaded;
	struct core_cands *cache;
	size_t cache_count;
};

static const char *const kind_names[] = {
	[BPF_CORE_FIELD_BYTE_OFFSET] = "byte_off",
	[BPF_CORE_FIELD_BYTE_SIZE] = "byte_sz",
	[BPF_CORE_FIELD_EXISTS] = "field_exists",
	[BPF_CORE_FIELD_SIGNED] = "signed",
	[BPF_CORE_FIELD_LSHIFT_U64] = "lshift_u64",
	[BPF_CORE_FIELD_RSHIFT_U64] = "rshift_u64",
	[BPF_CORE_TYPE_ID_LOCAL] = "local_type_id",
	[BPF_CORE_TYPE_ID_TARGET] = "target_type_id",
	[BPF_CORE_TYPE_EXISTS] = "type_exists",
	[BPF_CORE_TYPE_MATCHES] = "type_matches",
	[BPF_CORE_TYPE_SIZE] = "type_size",
	[BPF_CORE_ENUMVAL_EXISTS] = "enumval_exists",
	[BPF_CORE_ENUMVAL_VALUE] = "enumval_value",
};

const char *ldr_core_kind_name(uint32_t kind)
{
	return kind < sizeof kind_names / sizeof kind_names[0] && kind_names[kind] ? kind_names[kind]
	                                                                            : "unknown";
}

static bool is_field_kind(uint32_t k)
{
	return k <= BPF_CORE_FIELD_RSHIFT_U64;
}

static bool is_type_kind(uint32_t k)
{
	return (k >= BPF_CORE_TYPE_ID_LOCAL && k <= BPF_CORE_TYPE_SIZE) || k == BPF_CORE_TYPE_MATCHES;
}

static bool is_enumval_kind(uint32_t k)
{
	return k == BPF_CORE_ENUMVAL_EXISTS || k == BPF_CORE_ENUMVAL_VALUE;
}

static bool empty(const char *s)
{
	return !s || !*s;
}

/* Strips const/volatile/restrict/type tags and typedefs. */
static const struct btf_type *skip_mods(const struct btf *btf, uint32_t id, uint32_t *res_id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	for (int guard = 0; t && guard < 1024 && (btf_is_mod(t) || btf_is_typedef(t)); guard++) {
		id = t->type;
		t = btf__type_by_id(btf, id);
	}
	if (res_id)
		*res_id = id;
	return t;
}

/* Length of a name without its "___flavor" suffix: the last "X___Y" with
 * X and Y not underscores splits it. */
static size_t essential_len(const char *name)
{
	size_t n = strlen(name);
	for (long i = (long)n - 5; i >= 0; i--) {
		const char *s = name + i;
		if (s[0] != '_' && s[1] == '_' && s[2] == '_' && s[3] == '_' && s[4] != '_')
			return (size_t)i + 1;
	}
	return n;
}

static bool same_essential(const char *a, const char *b)
{
	size_t la = essential_len(a), lb = essential_len(b);
	return la == lb && strncmp(a, b, la) == 0;
}

static const char *type_name(const struct btf *btf, const struct btf_type *t)
{
	return btf__name_by_offset(btf, t->name_off);
}

/* ---- type compatibility ------------------------------------------------- */

/* Root types of a type-based relocation: kinds agree, then by kind. */
static int types_compat(const struct btf *lb, uint32_t lid, const struct btf *tb, uint32_t tid,
                        int level)
{
	const struct btf_type *lt = btf__type_by_id(lb, lid), *tt = btf__type_by_id(tb, tid);
	if (!lt || !tt || !btf_kind_core_compat(lt, tt))
		return 0;
	for (int depth = CORE_MAX_DEPTH; depth > 0; depth--) {
		lt = skip_mods(lb, lid, &lid);
		tt = skip_mods(tb, tid, &tid);
		if (!lt || !tt)
			return -EINVAL;
		if (!btf_kind_core_compat(lt, tt))
			return 0;
		switch (btf_kind(lt)) {
		case BTF_KIND_UNKN: case BTF_KIND_STRUCT: case BTF_KIND_UNION:
		case BTF_KIND_ENUM: case BTF_KIND_FWD: case BTF_KIND_ENUM64:
			return 1;
		case BTF_KIND_INT:
			return btf_int_offset(lt) == 0 && btf_int_offset(tt) == 0;
		case BTF_KIND_PTR:
			lid = lt->type;
			tid = tt->type;
			continue;
		case BTF_KIND_ARRAY:
			lid = btf_array(lt)->type;
			tid = btf_array(tt)->type;
			continue;
		case BTF_KIND_FUNC_PROTO: {
			if (btf_vlen(lt) != btf_vlen(tt))
				return 0;
			const struct btf_param *lp = btf_params(lt), *tp = btf_params(tt);
			for (int i = 0; i < btf_vlen(lt); i++) {
				if (level <= 0)
					return -EINVAL;
				uint32_t la, ta;
				skip_mods(lb, lp[i].type, &la);
				skip_mods(tb, tp[i].type, &ta);
				int rc = types_compat(lb, la, tb, ta, level - 1);
				if (rc <= 0)
					return rc;
			}
			skip_mods(lb, lt->type, &lid);
			skip_mods(tb, tt->type, &tid);
			continue;
		}
		default:
			return 0;
		}
	}
	return -EINVAL;
}

/* A field found by name: are the local and target field types the same
 * sort of thing? */
static int fields_compat(const struct btf *lb, uint32_t lid, const struct btf *tb, uint32_t tid)
{
	for (int depth = CORE_MAX_DEPTH; depth > 0; depth--) {
		const struct btf_type *lt = skip_mods(lb, lid, &lid), *tt = skip_mods(tb, tid, &tid);
		if (!lt || !tt)
			return -EINVAL;
		if (btf_is_composite(lt) && btf_is_composite(tt))
			return 1;
		if (!btf_kind_core_compat(lt, tt))
			return 0;
		switch (btf_kind(lt)) {
		case BTF_KIND_PTR: case BTF_KIND_FLOAT:
			return 1;
		case BTF_KIND_FWD: case BTF_KIND_ENUM: case BTF_KIND_ENUM64: {
			const char *ln = type_name(lb, lt), *tn = type_name(tb, tt);
			return essential_len(ln) == 0 || essential_len(tn) == 0 || same_essential(ln, tn);
		}
		case BTF_KIND_INT:
			return btf_int_offset(lt) == 0 && btf_int_offset(tt) == 0;
		case BTF_KIND_ARRAY:
			lid = btf_array(lt)->type;
			tid = btf_array(tt)->type;
			continue;
		default:
			return 0;
		}
	}
	return -EINVAL;
}

/* Names for bpf_core_type_matches: both empty, or equal without flavors. */
static bool names_match(const struct btf *lb, uint32_t loff, const struct btf *tb, uint32_t toff)
{
	const char *ln = btf__name_by_offset(lb, loff), *tn = btf__name_by_offset(tb, toff);
	if (empty(tn))
		return empty(ln);
	return !empty(ln) && same_essential(ln, tn);
}

static uint32_t enum_name_off(const struct btf_type *t, int i)
{
	return btf_is_enum(t) ? btf_enum(t)[i].name_off : btf_enum64(t)[i].name_off;
}

static int enums_match(const struct btf *lb, const struct btf_type *lt, const struct btf *tb,
                       const struct btf_type *tt)
{
	if (lt->size != tt->size || btf_vlen(lt) > btf_vlen(tt))
		return 0;
	for (int i = 0; i < btf_vlen(lt); i++) {
		bool found = false;
		for (int j = 0; j < btf_vlen(tt) && !found; j++)
			found = names_match(lb, enum_name_off(lt, i), tb, enum_name_off(tt, j));
		if (!found)
			return 0;
	}
	return 1;
}

static int types_match(const struct btf *lb, uint32_t lid, const struct btf *tb, uint32_t tid,
                       bool behind_ptr, int level);

static int composites_match(const struct btf *lb, const struct btf_type *lt, const struct btf *tb,
                            const struct btf_type *tt, bool behind_ptr, int level)
{
	if (btf_vlen(lt) > btf_vlen(tt))
		return 0;
	const struct btf_member *lm = btf_members(lt);
	for (int i = 0; i < btf_vlen(lt); i++) {
		const struct btf_member *tm = btf_members(tt);
		int found = 0;
		for (int j = 0; j < btf_vlen(tt) && !found; j++) {
			if (!names_match(lb, lm[i].name_off, tb, tm[j].name_off))
				continue;
			found = types_match(lb, lm[i].type, tb, tm[j].type, behind_ptr, level - 1);
			if (found < 0)
				return found;
		}
		if (!found)
			return 0;
	}
	return 1;
}

/* bpf_core_type_matches: same shape, names and sizes; behind a pointer a
 * struct or union also matches a declaration of the same kind. */
static int types_match(const struct btf *lb, uint32_t lid, const struct btf *tb, uint32_t tid,
                       bool behind_ptr, int level)
{
	if (level <= 0)
		return -EINVAL;
	for (int depth = CORE_MAX_DEPTH; depth > 0; depth--) {
		const struct btf_type *lt = skip_mods(lb, lid, &lid), *tt = skip_mods(tb, tid, &tid);
		if (!lt || !tt)
			return -EINVAL;
		if (!names_match(lb, lt->name_off, tb, tt->name_off))
			return 0;
		uint16_t lk = btf_kind(lt), tk = btf_kind(tt);
		switch (lk) {
		case BTF_KIND_UNKN:
			return lk == tk;
		case BTF_KIND_FWD:
			if (behind_ptr && lk != tk)
				return (tk == BTF_KIND_STRUCT && !btf_kflag(lt)) ||
				       (tk == BTF_KIND_UNION && btf_kflag(lt));
			return lk == tk && btf_kflag(lt) == btf_kflag(tt);
		case BTF_KIND_ENUM: case BTF_KIND_ENUM64:
			return btf_is_any_enum(tt) && enums_match(lb, lt, tb, tt);
		case BTF_KIND_STRUCT: case BTF_KIND_UNION:
			if (behind_ptr)
				return lk == tk || (tk == BTF_KIND_FWD && (lk == BTF_KIND_UNION) == btf_kflag(tt));
			return lk == tk && composites_match(lb, lt, tb, tt, behind_ptr, level);
		case BTF_KIND_INT:
			return lk == tk && lt->size == tt->size &&
			       (btf_int_encoding(lt) & BTF_INT_SIGNED) == (btf_int_encoding(tt) & BTF_INT_SIGNED);
		case BTF_KIND_PTR:
			if (lk != tk)
				return 0;
			behind_ptr = true;
			lid = lt->type;
			tid = tt->type;
			continue;
		case BTF_KIND_ARRAY:
			if (lk != tk || btf_array(lt)->nelems != btf_array(tt)->nelems)
				return 0;
			lid = btf_array(lt)->type;
			tid = btf_array(tt)->type;
			continue;
		case BTF_KIND_FUNC_PROTO: {
			if (lk != tk || btf_vlen(lt) != btf_vlen(tt))
				return 0;
			const struct btf_param *lp = btf_params(lt), *tp = btf_params(tt);
			for (int i = 0; i < btf_vlen(lt); i++) {
				int rc = types_match(lb, lp[i].type, tb, tp[i].type, behind_ptr, level - 1);
				if (rc <= 0)
					return rc;
			}
			lid = lt->type;
			tid = tt->type;
			continue;
		}
		default:
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- access specs ------------------------------------------------------- */

/* A zero-length array that is the last member of the struct holding it. */
static bool is_flex_array(const struct btf *btf, const struct core_acc *holder,
                          const struct btf_array *a)
{
	if (!holder->name || a->nelems > 0)
		return false;
	const struct btf_type *t = btf__type_by_id(btf, holder->type_id);
	return t && holder->idx == (uint32_t)btf_vlen(t) - 1;
}

static int parse_access(const char *s, struct core_spec *spec)
{
	if (empty(s) || *s == ':')
		return -EINVAL;
	while (*s) {
		if (*s == ':')
			s++;
		int v, used;
		if (sscanf(s, "%d%n", &v, &used) != 1)
			return -EINVAL;
		if (spec->raw_len == CORE_SPEC_MAX)
			return -E2BIG;
		s += used;
		spec->raw[spec->raw_len++] = v;
	}
	return spec->raw_len ? 0 : -EINVAL;
}

/* One step of a field access in the local type (after the first). */
static int local_step(const struct btf *btf, struct core_spec *spec, uint32_t *id, int idx)
{
	const struct btf_type *t = skip_mods(btf, *id, id);
	if (!t)
		return -EINVAL;
	struct core_acc *acc = &spec->acc[spec->len];
	if (btf_is_composite(t)) {
		if (idx < 0 || idx >= btf_vlen(t))
			return -EINVAL;
		const struct btf_member *m = btf_members(t) + idx;
		spec->bit_off += btf_member_bit_offset(t, (uint32_t)idx);
		if (m->name_off) {
			const char *name = btf__name_by_offset(btf, m->name_off);
			if (empty(name))
				return -EINVAL;
			*acc = (struct core_acc){ *id, (uint32_t)idx, name };
			spec->len++;
		}
		*id = m->type;
		return 0;
	}
	if (!btf_is_array(t))
		return -EINVAL;
	const struct btf_array *a = btf_array(t);
	if (!skip_mods(btf, a->type, id))
		return -EINVAL;
	if (idx < 0 || (!is_flex_array(btf, acc - 1, a) && (uint32_t)idx >= a->nelems))
		return -EINVAL;
	*acc = (struct core_acc){ *id, (uint32_t)idx, NULL };
	spec->len++;
	long long sz = btf__resolve_size(btf, *id);
	if (sz < 0)
		return (int)sz;
	spec->bit_off += (uint32_t)(idx * sz * 8);
	return 0;
}

/* The local side: libbpf's bpf_core_parse_spec(). */
static int parse_spec(const struct btf *btf, uint32_t root, uint32_t kind, const char *access,
                      struct core_spec *spec)
{
	memset(spec, 0, sizeof *spec);
	spec->btf = btf;
	spec->root_id = root;
	spec->kind = kind;
	if (empty(access) || *access == ':')
		return -EINVAL;
	if (is_type_kind(kind))
		return strcmp(access, "0") ? -EINVAL : 0;
	int rc = parse_access(access, spec);
	if (rc)
		return rc;
	uint32_t id;
	const struct btf_type *t = skip_mods(btf, root, &id);
	if (!t)
		return -EINVAL;
	int first = spec->raw[0];
	spec->acc[0] = (struct core_acc){ id, (uint32_t)first, NULL };
	spec->len = 1;
	if (is_enumval_kind(kind)) {
		if (!btf_is_any_enum(t) || spec->raw_len > 1 || first < 0 || first >= btf_vlen(t))
			return -EINVAL;
		spec->acc[0].name = btf__name_by_offset(btf, enum_name_off(t, first));
		return 0;
	}
	if (!is_field_kind(kind))
		return -EINVAL;
	long long sz = btf__resolve_size(btf, id);
	if (sz < 0)
		return (int)sz;
	spec->bit_off = (uint32_t)(first * sz * 8);
	for (int i = 1; i < spec->raw_len && !rc; i++)
		rc = local_step(btf, spec, &id, spec->raw[i]);
	return rc;
}

/* Finds the local named field in target type tid, through anonymous
 * members, extending the target spec: 1 found, 0 not, < 0 error. */
static int match_member(const struct btf *lb, const struct core_acc *lacc, const struct btf *tb,
                        uint32_t tid, struct core_spec *spec, uint32_t *next_id)
{
	const struct btf_type *tt = skip_mods(tb, tid, &tid);
	if (!tt)
		return -EINVAL;
	if (!btf_is_composite(tt))
		return 0;
	const struct btf_member *lm = btf_members(btf__type_by_id(lb, lacc->type_id)) + lacc->idx;
	const char *lname = btf__name_by_offset(lb, lm->name_off);
	const struct btf_member *m = btf_members(tt);
	for (int i = 0; i < btf_vlen(tt); i++, m++) {
		uint32_t bit_off = btf_member_bit_offset(tt, (uint32_t)i);
		if (spec->raw_len == CORE_SPEC_MAX)
			return -E2BIG;
		spec->bit_off += bit_off;
		spec->raw[spec->raw_len++] = i;
		const char *tname = btf__name_by_offset(tb, m->name_off);
		if (empty(tname)) {
			int found = match_member(lb, lacc, tb, m->type, spec, next_id);
			if (found)
				return found;
		} else if (strcmp(lname, tname) == 0) {
			spec->acc[spec->len++] = (struct core_acc){ tid, (uint32_t)i, tname };
			*next_id = m->type;
			int found = fields_compat(lb, lm->type, tb, m->type);
			if (!found)
				spec->len--;
			return found;
		}
		spec->bit_off -= bit_off;
		spec->raw_len--;
	}
	return 0;
}

static int match_enumval(const struct core_spec *local, uint32_t tid, struct core_spec *ts)
{
	const struct btf_type *tt = skip_mods(ts->btf, tid, &tid);
	if (!tt || !btf_is_any_enum(tt))
		return 0;
	for (int i = 0; i < btf_vlen(tt); i++) {
		const char *tname = btf__name_by_offset(ts->btf, enum_name_off(tt, i));
		if (tname && same_essential(local->acc[0].name, tname)) {
			ts->acc[0] = (struct core_acc){ tid, (uint32_t)i, tname };
			ts->len = 1;
			ts->raw[ts->raw_len++] = i;
			return 1;
		}
	}
	return 0;
}

/* An array step of the access in the target. */
static int match_index(const struct core_spec *local, int i, uint32_t *tid,
                       const struct btf_type *tt, struct core_spec *ts)
{
	const struct core_acc *lacc = &local->acc[i];
	if (i > 0) {
		if (!btf_is_array(tt))
			return 0;
		const struct btf_array *a = btf_array(tt);
		if (!is_flex_array(ts->btf, &ts->acc[i - 1], a) && lacc->idx >= a->nelems)
			return 0;
		if (!skip_mods(ts->btf, a->type, tid))
			return -EINVAL;
	}
	if (ts->raw_len == CORE_SPEC_MAX)
		return -E2BIG;
	ts->acc[ts->len++] = (struct core_acc){ *tid, lacc->idx, NULL };
	ts->raw[ts->raw_len++] = (int)lacc->idx;
	long long sz = btf__resolve_size(ts->btf, *tid);
	if (sz < 0)
		return (int)sz;
	ts->bit_off += (uint32_t)(lacc->idx * sz * 8);
	return 1;
}

/* The local spec in candidate tid: libbpf's bpf_core_spec_match(). */
static int match_spec(const struct core_spec *local, const struct btf *tb, uint32_t tid,
                      struct core_spec *ts)
{
	memset(ts, 0, sizeof *ts);
	ts->btf = tb;
	ts->root_id = tid;
	ts->kind = local->kind;
	if (is_type_kind(local->kind))
		return local->kind == BPF_CORE_TYPE_MATCHES
		       ? types_match(local->btf, local->root_id, tb, tid, false, CORE_MAX_DEPTH)
		       : types_compat(local->btf, local->root_id, tb, tid, CORE_MAX_DEPTH);
	if (is_enumval_kind(local->kind))
		return match_enumval(local, tid, ts);
	for (int i = 0; i < local->len; i++) {
		const struct btf_type *tt = skip_mods(tb, tid, &tid);
		if (!tt)
			return -EINVAL;
		int rc = local->acc[i].name
		         ? match_member(local->btf, &local->acc[i], tb, tid, ts, &tid)
		         : match_index(local, i, &tid, tt, ts);
		if (rc <= 0)
			return rc;
	}
	return 1;
}

/* ---- values ------------------------------------------------------------- */

/* A bitfield's load: the smallest aligned power-of-two load covering it. */
static int bitfield_load(uint32_t bit_off, uint32_t bit_sz, uint32_t *byte_off, uint32_t *byte_sz)
{
	*byte_off = bit_off / 8 / *byte_sz * *byte_sz;
	while (bit_off + bit_sz - *byte_off * 8 > *byte_sz * 8) {
		if (*byte_sz >= 8)
			return -E2BIG;
		*byte_sz *= 2;
		*byte_off = bit_off / 8 / *byte_sz * *byte_sz;
	}
	return 0;
}

/* A field relocation's value in one spec (NULL: no match, poison unless
 * the question is existence). */
static int field_value(const struct core_spec *spec, uint32_t kind, uint64_t *val, uint32_t *fsz,
                       uint32_t *ftype, bool *validate)
{
	*fsz = 0;
	if (kind == BPF_CORE_FIELD_EXISTS) {
		*val = spec != NULL;
		return 0;
	}
	if (!spec)
		return -EUCLEAN;
	const struct core_acc *acc = &spec->acc[spec->len - 1];
	if (!acc->name) {
		long long sz = btf__resolve_size(spec->btf, acc->type_id);
		if (sz < 0 || (kind != BPF_CORE_FIELD_BYTE_OFFSET && kind != BPF_CORE_FIELD_BYTE_SIZE))
			return -EINVAL;
		*val = kind == BPF_CORE_FIELD_BYTE_OFFSET ? spec->bit_off / 8 : (uint64_t)sz;
		if (kind == BPF_CORE_FIELD_BYTE_OFFSET) {
			*fsz = (uint32_t)sz;
			*ftype = acc->type_id;
		}
		if (validate)
			*validate = true;
		return 0;
	}
	const struct btf_type *holder = btf__type_by_id(spec->btf, acc->type_id);
	const struct btf_member *m = btf_members(holder) + acc->idx;
	uint32_t field_type, byte_off, byte_sz;
	const struct btf_type *mt = skip_mods(spec->btf, m->type, &field_type);
	uint32_t bit_off = spec->bit_off, bit_sz = btf_member_bitfield_size(holder, acc->idx);
	bool bitfield = bit_sz > 0;
	if (bitfield) {
		byte_sz = mt->size;
		if (byte_sz == 0 || bitfield_load(bit_off, bit_sz, &byte_off, &byte_sz))
			return -E2BIG;
	} else {
		long long sz = btf__resolve_size(spec->btf, field_type);
		if (sz < 0)
			return -EINVAL;
		byte_sz = (uint32_t)sz;
		byte_off = bit_off / 8;
		bit_sz = byte_sz * 8;
	}
	if (validate)
		*validate = !bitfield || kind == BPF_CORE_FIELD_SIGNED || kind == BPF_CORE_FIELD_RSHIFT_U64;
	switch (kind) {
	case BPF_CORE_FIELD_BYTE_OFFSET:
		*val = byte_off;
		if (!bitfield) {
			*fsz = byte_sz;
			*ftype = field_type;
		}
		return 0;
	case BPF_CORE_FIELD_BYTE_SIZE:
		*val = byte_sz;
		return 0;
	case BPF_CORE_FIELD_SIGNED:
		*val = (btf_is_any_enum(mt) && btf_kflag(mt)) ||
		       (btf_is_int(mt) && (btf_int_encoding(mt) & BTF_INT_SIGNED));
		return 0;
	case BPF_CORE_FIELD_LSHIFT_U64:
		*val = 64 - (bit_off + bit_sz - byte_off * 8);
		return 0;
	case BPF_CORE_FIELD_RSHIFT_U64:
		*val = 64 - bit_sz;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static int type_value(const struct core_spec *spec, uint32_t kind, uint64_t *val)
{
	if (!spec) {
		*val = 0;
		return 0;
	}
	switch (kind) {
	case BPF_CORE_TYPE_ID_TARGET:
		*val = spec->root_id;
		return 0;
	case BPF_CORE_TYPE_EXISTS:
	case BPF_CORE_TYPE_MATCHES:
		*val = 1;
		return 0;
	case BPF_CORE_TYPE_SIZE: {
		long long sz = btf__resolve_size(spec->btf, spec->root_id);
		if (sz < 0)
			return -EINVAL;
		*val = (uint64_t)sz;
		return 0;
	}
	default:
		return -EOPNOTSUPP;
	}
}

static int enumval_value(const struct core_spec *spec, uint32_t kind, uint64_t *val)
{
	if (kind == BPF_CORE_ENUMVAL_EXISTS) {
		*val = spec != NULL;
		return 0;
	}
	if (!spec)
		return -EUCLEAN;
	const struct btf_type *t = btf__type_by_id(spec->btf, spec->acc[0].type_id);
	uint32_t i = spec->acc[0].idx;
	/* a 32-bit enumerator's value is signed, widened as libbpf does */
	*val = btf_is_enum(t) ? (uint64_t)(int64_t)btf_enum(t)[i].val : btf_enum64_value(btf_enum64(t) + i);
	return 0;
}

/* Whether a load or store may change size from the local field to the
 * target's: pointers and unsigned integers only. */
static bool memsz_change_ok(const struct core_spec *local, const struct core_spec *target,
                            const struct core_res *r)
{
	const struct btf_type *ot = btf__type_by_id(local->btf, r->orig_type);
	const struct btf_type *nt = btf__type_by_id(target->btf, r->new_type);
	if (!ot || !nt)
		return false;
	if (btf_is_ptr(ot) && btf_is_ptr(nt))
		return true;
	return btf_is_int(ot) && btf_is_int(nt) && btf_int_encoding(ot) != BTF_INT_SIGNED &&
	       btf_int_encoding(nt) != BTF_INT_SIGNED;
}

/* The relocation's local and target values (target NULL: no candidate). */
static int calc_relo(uint32_t kind, const struct core_spec *local, const struct core_spec *target,
                     struct core_res *r)
{
	memset(r, 0, sizeof *r);
	r->validate = true;
	int rc = -EOPNOTSUPP;
	if (is_field_kind(kind)) {
		rc = field_value(local, kind, &r->orig, &r->orig_sz, &r->orig_type, &r->validate);
		if (!rc)
			rc = field_value(target, kind, &r->val, &r->new_sz, &r->new_type, NULL);
		if (!rc && r->orig_sz != r->new_sz)
			r->bad_memsz = !memsz_change_ok(local, target, r);
	} else if (is_type_kind(kind)) {
		rc = type_value(local, kind, &r->orig);
		if (!rc)
			rc = type_value(target, kind, &r->val);
		/* type ids change when objects are linked: never checked */
		r->validate = kind != BPF_CORE_TYPE_ID_TARGET;
	} else if (is_enumval_kind(kind)) {
		rc = enumval_value(local, kind, &r->orig);
		if (!rc)
			rc = enumval_value(target, kind, &r->val);
	}
	if (rc == -EUCLEAN) {
		r->poison = true;
		rc = 0;
	}
	return rc;
}

/* ---- target BTF and candidates ------------------------------------------ */

static int load_targets(struct core_ctx *c)
{
	struct ldr *l = c->l;
	if (c->vmlinux)
		return 0;
	if (l->btf_custom_path) {
		c->vmlinux = btf__parse(l->btf_custom_path, NULL);
		c->custom = true;
		if (!c->vmlinux)
			return ldr_fail(l, -errno ? -errno : -EINVAL, "target BTF '%.80s' (--btf): cannot "
			                "read it as raw BTF or an ELF file with .BTF: %s",
			                l->btf_custom_path, strerror(errno));
		return 0;
	}
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/vmlinux", ldr_sysfs_btf_dir);
	/* libbpf's search also tries /boot/vmlinux-RELEASE where sysfs lacks it */
	c->vmlinux = strcmp(ldr_sysfs_btf_dir, "/sys/kernel/btf") ? btf__parse(path, NULL) : btf__load_vmlinux_btf();
	if (!c->vmlinux)
		return ldr_fail(l, -errno ? -errno : -ENOENT, "CO-RE relocations need the kernel's BTF: "
		                "%.200s cannot be read (%s); give a target with --btf FILE", path, strerror(errno));
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

const char *ldr_sysfs_btf_dir = "/sys/kernel/btf";

/* The kernel modules' BTF under /sys/kernel/btf (split BTF on vmlinux's),
 * by name; unreadable ones are skipped as libbpf skips modules it cannot
 * load. */
static int load_modules(struct core_ctx *c)
{
	c->modules_loaded = true;
	DIR *d = opendir(ldr_sysfs_btf_dir);
	if (!d)
		return 0;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	int rc = 0;
	while (!rc && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "vmlinux"))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nn = realloc(names, cap * sizeof *nn);
			if (!nn)
				rc = ldr_nomem(c->l, "module BTF names");
			else
				names = nn;
		}
		if (!rc && !(names[n++] = strdup(e->d_name)))
			rc = ldr_nomem(c->l, "module BTF names");
	}
	closedir(d);
	if (!rc && n)
		qsort(names, n, sizeof *names, cmp_names);
	if (!rc && n && !(c->modules = calloc(n, sizeof *c->modules)))
		rc = ldr_nomem(c->l, "module BTF");
	for (size_t i = 0; !rc && i < n; i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", ldr_sysfs_btf_dir, names[i]);
		struct btf *b = btf__parse_split(path, c->vmlinux);
		if (b)
			c->modules[c->module_count++] = b;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int add_cands(struct core_cands *list, const struct btf *lb, const struct btf_type *lt,
                     const struct btf *tb, uint32_t first)
{
	const char *lname = type_name(lb, lt);
	uint32_t n = btf__type_cnt(tb);
	for (uint32_t id = first; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(tb, id);
		if (!btf_kind_core_compat(t, lt))
			continue;
		const char *tname = type_name(tb, t);
		if (empty(tname) || !same_essential(lname, tname))
			continue;
		struct core_cand *v = realloc(list->v, (list->n + 1) * sizeof *v);
		if (!v)
			return -ENOMEM;
		list->v = v;
		v[list->n++] = (struct core_cand){ tb, id };
	}
	return 0;
}

/* The candidates of local root type `id`: cached, vmlinux first, modules
 * only if vmlinux has none (and no custom target was given). */
static int find_cands(struct core_ctx *c, uint32_t id, struct core_cands **out)
{
	for (size_t i = 0; i < c->cache_count; i++)
		if (c->cache[i].local_id == id) {
			*out = &c->cache[i];
			return 0;
		}
	int rc = load_targets(c);
	if (rc)
		return rc;
	struct core_cands *cache = realloc(c->cache, (c->cache_count + 1) * sizeof *cache);
	if (!cache)
		return ldr_nomem(c->l, "CO-RE candidates");
	c->cache = cache;
	struct core_cands *list = &cache[c->cache_count++];
	*list = (struct core_cands){ .local_id = id };
	const struct btf_type *lt = btf__type_by_id(c->local, id);
	rc = add_cands(list, c->local, lt, c->vmlinux, 1);
	if (!rc && !list->n && !c->custom && !c->modules_loaded)
		rc = load_modules(c);
	for (size_t i = 0; !rc && !list->n && !c->custom && i < c->module_count; i++)
		rc = add_cands(list, c->local, lt, c->modules[i], btf__type_cnt(c->vmlinux));
	if (rc)
		return rc == -ENOMEM ? ldr_nomem(c->l, "CO-RE candidates") : rc;
	*out = list;
	return 0;
}

/* ---- one relocation ----------------------------------------------------- */

/* "relocation #N (kind of 'type' access A) in section S instruction I" */
static int relo_fail(struct core_ctx *c, const struct ldr_core_relo *r, int code, const char *why)
{
	const struct btf_type *t = btf__type_by_id(c->local, r->type_id);
	const char *name = t ? type_name(c->local, t) : NULL;
	const char *access = btf__name_by_offset(c->local, r->access_off);
	return ldr_fail(c->l, code, "section '%.48s' instruction %u: CO-RE relocation %s of '%.48s' "
	                "(access %.32s): %s", c->l->secs[r->sec].name, r->insn, ldr_core_kind_name(r->kind),
	                empty(name) ? "<anon>" : name, access ? access : "?", why);
}

/* Every matching candidate must agree; the matching ones are kept. */
static int resolve_cands(struct core_ctx *c, const struct ldr_core_relo *r,
                         const struct core_spec *local, struct core_cands *cands,
                         struct core_res *res)
{
	struct core_spec *cand = malloc(2 * sizeof *cand);
	if (!cand)
		return ldr_nomem(c->l, "CO-RE spec");
	struct core_spec *chosen = cand + 1;
	size_t kept = 0;
	int rc = 0;
	for (size_t i = 0; !rc && i < cands->n; i++) {
		int m = match_spec(local, cands->v[i].btf, cands->v[i].id, cand);
		if (m < 0) {
			rc = relo_fail(c, r, m, "a candidate type could not be compared (malformed or too deep)");
			break;
		}
		if (m == 0)
			continue;
		struct core_res one;
		if (calc_relo(r->kind, local, cand, &one)) {
			rc = relo_fail(c, r, -EINVAL, "its value cannot be computed (a bitfield wider than a "
			               "64-bit load, or an array step for this kind)");
			break;
		}
		if (kept == 0) {
			*res = one;
			*chosen = *cand;
		} else if (cand->bit_off != chosen->bit_off || one.poison != res->poison ||
		           one.val != res->val) {
			rc = relo_fail(c, r, -EINVAL, "ambiguous: target candidates give different values");
			break;
		}
		cands->v[kept++] = cands->v[i];
	}
	if (!rc && kept)
		cands->n = kept;
	if (!rc && !kept && calc_relo(r->kind, local, NULL, res))
		rc = relo_fail(c, r, -EINVAL, "its value cannot be computed");
	free(cand);
	return rc;
}

static int resolve_relo(struct core_ctx *c, const struct ldr_core_relo *r, struct core_res *res)
{
	const struct btf_type *lt = btf__type_by_id(c->local, r->type_id);
	if (!lt)
		return relo_fail(c, r, -EINVAL, "its type id is not in the object's BTF");
	struct core_spec *local = malloc(sizeof *local);
	if (!local)
		return ldr_nomem(c->l, "CO-RE spec");
	int rc = parse_spec(c->local, r->type_id, r->kind, btf__name_by_offset(c->local, r->access_off),
	                    local);
	if (rc) {
		rc = relo_fail(c, r, -EINVAL, "its access string does not fit the type");
	} else if (r->kind == BPF_CORE_TYPE_ID_LOCAL) {
		*res = (struct core_res){ .orig = r->type_id, .val = r->type_id };
	} else if (empty(type_name(c->local, lt))) {
		rc = relo_fail(c, r, -EOPNOTSUPP, "an anonymous type has no target candidates");
	} else {
		struct core_cands *cands = NULL;
		rc = find_cands(c, r->type_id, &cands);
		if (!rc)
			rc = resolve_cands(c, r, local, cands, res);
	}
	free(local);
	return rc;
}

/* ---- patching ----------------------------------------------------------- */

static void poison(bpfvm_insn *insn)
{
	*insn = (bpfvm_insn){ .opcode = BPF_JMP | BPF_CALL, .imm = (int32_t)BPFVM_CORE_POISON_HELPER };
}

static int size_bytes(uint8_t code)
{
	switch (BPF_SIZE(code)) {
	case BPF_DW: return 8;
	case BPF_W: return 4;
	case BPF_H: return 2;
	default: return 1;
	}
}

static int size_code(uint32_t bytes)
{
	return bytes == 8 ? BPF_DW : bytes == 4 ? BPF_W : bytes == 2 ? BPF_H : bytes == 1 ? BPF_B : -1;
}

static int patch_mem(struct core_ctx *c, const struct ldr_core_relo *r, bpfvm_insn *insn,
                     struct core_res *res)
{
	if (res->validate && (uint64_t)(int64_t)insn->off != res->orig)
		return relo_fail(c, r, -EINVAL, "the instruction's offset is not the value the object's BTF gives");
	if (res->val > SHRT_MAX)
		return relo_fail(c, r, -ERANGE, "the target offset does not fit an instruction");
	if (res->bad_memsz) {
		res->poison = true;
		poison(insn);
		return 0;
	}
	insn->off = (int16_t)res->val;
	if (res->new_sz == res->orig_sz)
		return 0;
	int code = size_code(res->new_sz);
	if (size_bytes(insn->opcode) != (int)res->orig_sz || code < 0)
		return relo_fail(c, r, -EINVAL, "the access size cannot follow the field's new size");
	insn->opcode = (uint8_t)(BPF_MODE(insn->opcode) | code | BPF_CLASS(insn->opcode));
	return 0;
}

/* libbpf's bpf_core_patch_insn(): ALU immediates, load/store offsets (and
 * sizes), lddw immediates. */
static int patch_insn(struct core_ctx *c, const struct ldr_core_relo *r, bpfvm_insn *insn,
                      size_t left, struct core_res *res)
{
	bool lddw = insn->opcode == (BPF_LD | BPF_IMM | BPF_DW);
	if (lddw && left < 2)
		return relo_fail(c, r, -EINVAL, "an lddw without its second half");
	if (res->poison) {
		if (lddw)
			poison(insn + 1);
		poison(insn);
		return 0;
	}
	switch (BPF_CLASS(insn->opcode)) {
	case BPF_ALU:
	case BPF_ALU64:
		if (BPF_SRC(insn->opcode) != BPF_K)
			return relo_fail(c, r, -EINVAL, "an ALU instruction without an immediate");
		if (res->validate && (uint64_t)(int64_t)insn->imm != res->orig)
			return relo_fail(c, r, -EINVAL, "the instruction's immediate is not the value the object's BTF gives");
		insn->imm = (int32_t)res->val;
		return 0;
	case BPF_LDX:
	case BPF_ST:
	case BPF_STX:
		return patch_mem(c, r, insn, res);
	case BPF_LD: {
		if (!lddw || insn[0].src || insn[0].off || insn[1].opcode || insn[1].dst || insn[1].src ||
		    insn[1].off)
			return relo_fail(c, r, -EINVAL, "an lddw of unexpected form");
		uint64_t imm = (uint32_t)insn[0].imm | ((uint64_t)(uint32_t)insn[1].imm << 32);
		if (res->validate && imm != res->orig)
			return relo_fail(c, r, -EINVAL, "the lddw's value is not the value the object's BTF gives");
		insn[0].imm = (int32_t)res->val;
		insn[1].imm = (int32_t)(res->val >> 32);
		return 0;
	}
	default:
		return relo_fail(c, r, -EINVAL, "an instruction CO-RE cannot relocate");
	}
}

static bool in_loaded_program(struct ldr *l, const struct ldr_core_relo *r)
{
	return l->secs[r->sec].name[0] != '?';
}

static int apply_one(struct core_ctx *c, struct ldr_core_relo *r)
{
	struct ldr *l = c->l;
	struct ldr_sec *s = &l->secs[r->sec];
	/* as libbpf: a record outside every function is skipped */
	if (!ldr_func_at(l, r->sec, r->insn))
		return 0;
	struct core_res res;
	int rc = resolve_relo(c, r, &res);
	if (rc)
		return rc;
	/* the section's bytes are our copy of the file (the image) */
	bpfvm_insn *insn = (bpfvm_insn *)(uintptr_t)(s->data + (size_t)r->insn * LDR_INSN_SIZE);
	rc = patch_insn(c, r, insn, s->size / LDR_INSN_SIZE - r->insn, &res);
	if (rc)
		return rc;
	r->applied = true;
	r->poisoned = res.poison;
	r->local_value = res.orig;
	r->target_value = res.poison ? 0 : res.val;
	return 0;
}

static void free_ctx(struct core_ctx *c)
{
	for (size_t i = 0; i < c->cache_count; i++)
		free(c->cache[i].v);
	free(c->cache);
	for (size_t i = 0; i < c->module_count; i++)
		btf__free(c->modules[i]);
	free(c->modules);
	/* the object keeps the kernel's BTF: attach targets and kfunc type
	 * IDs (bpf_core_type_id_kernel) name its types */
	if (!c->l->obj->attach_btf)
		c->l->obj->attach_btf = c->vmlinux;
	else
		btf__free(c->vmlinux);
}

int ldr_core_apply(struct ldr *l)
{
	if (!l->core_relo_count)
		return 0;
	struct core_ctx c = { .l = l, .local = l->obj->btf };
	int rc = 0;
	for (int pass = 0; pass < 2 && !rc; pass++)
		for (size_t i = 0; i < l->core_relo_count && !rc; i++)
			if (in_loaded_program(l, &l->core_relos[i]) == (pass == 0))
				rc = apply_one(&c, &l->core_relos[i]);
	free_ctx(&c);
	return rc;
}

/* ---- per program -------------------------------------------------------- */

static const struct ldr_func *func_of_copy(struct ldr *l, const bpfvm_object_func *copy)
{
	for (size_t i = 0; i < l->func_count; i++)
		if (l->funcs[i].name == copy->name)
			return &l->funcs[i];
	return NULL;
}

static void place_copy(struct ldr *l, uint32_t prog, const bpfvm_object_func *copy, size_t *n)
{
	const struct ldr_func *f = func_of_copy(l, copy);
	struct bpfvm_object *o = l->obj;
	for (size_t i = 0; f && i < l->core_relo_count; i++) {
		const struct ldr_core_relo *r = &l->core_relos[i];
		if (!r->applied || r->sec != f->sec || r->insn < f->off || r->insn - f->off >= f->count)
			continue;
		if (o->core_relos) {
			const struct btf_type *t = btf__type_by_id(o->btf, r->type_id);
			const char *name = t ? btf__name_by_offset(o->btf, t->name_off) : NULL;
			const char *access = btf__name_by_offset(o->btf, r->access_off);
			o->core_relos[*n] = (bpfvm_object_core_relo){
				.prog = prog, .insn = copy->start + (r->insn - f->off), .kind = r->kind,
				.kind_name = ldr_core_kind_name(r->kind), .type_name = name ? name : "",
				.access = access ? access : "", .local_value = r->local_value,
				.target_value = r->target_value, .poisoned = r->poisoned,
			};
		}
		(*n)++;
	}
}

/* The applied relocations of each linked program, in program order. */
int ldr_core_place(struct ldr *l)
{
	struct bpfvm_object *o = l->obj;
	if (!l->core_relo_count)
		return 0;
	for (int fill = 0; fill < 2; fill++) {
		size_t n = 0;
		for (size_t p = 0; p < o->prog_count; p++)
			for (size_t k = 0; k < o->progs[p].func_count; k++)
				place_copy(l, (uint32_t)p, &o->progs[p].funcs[k], &n);
		if (fill == 0) {
			if (n == 0)
				return 0;
			o->core_relos = calloc(n, sizeof *o->core_relos);
			if (!o->core_relos)
				return ldr_nomem(l, "CO-RE relocation list");
		}
		o->core_relo_count = n;
	}
	return 0;
}
