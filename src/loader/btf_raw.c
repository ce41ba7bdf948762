/*
 * btf_raw.c - the object's .BTF: checked byte by byte, fixed up the way
 * libbpf 1.1 does at open, then handed to libbpf's btf__new().
 *
 * Why check ourselves: libbpf 1.1's btf__new() checks sizes but not that
 * type ids and string offsets stay in range, and the rest of the loader
 * (and later the pretty-printer) follow those ids.  After this pass every
 * type id in the BTF names an existing type and every name offset points
 * into the string section, whose last byte is NUL.
 *
 * Why fix up: clang leaves DATASEC sizes and global variables' offsets at
 * zero (they are link-time values); libbpf's btf_fixup_datasec() fills
 * them from the ELF section sizes and symbol values, marks hidden globals
 * static and sorts each DATASEC's variables by offset; a hidden global
 * function's FUNC becomes static too (libbpf's mark_btf_static).  .maps definitions
 * are found through those offsets, so this must happen before maps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/btf.h>
#include <bpf/btf.h>

#include "loader/loader.h"

struct raw_btf {
	uint8_t *buf;        /* our writable copy */
	size_t size;
	struct btf_header hdr;
	uint8_t *types;      /* start of the type section */
	const char *strs;    /* start of the string section */
	uint32_t type_count; /* ids 1..type_count */
	uint32_t *offsets;   /* offsets[id] = byte offset in the type section */
};

static int btf_fail(struct ldr *l, const char *what, uint32_t id, const char *fmt, uint64_t a,
                    uint64_t b)
{
	char detail[128];
	snprintf(detail, sizeof detail, fmt, (unsigned long long)a, (unsigned long long)b);
	if (id)
		return ldr_fail(l, -EINVAL, "section '.BTF': %s of type [%u]: %s", what, id, detail);
	return ldr_fail(l, -EINVAL, "section '.BTF': %s: %s", what, detail);
}

/* Bytes that follow struct btf_type for this kind, or -1 if unknown. */
static int64_t extra_size(uint32_t kind, uint32_t vlen)
{
	switch (kind) {
	case BTF_KIND_INT: return 4;
	case BTF_KIND_PTR: case BTF_KIND_FWD: case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC: case BTF_KIND_FLOAT: case BTF_KIND_TYPE_TAG:
		return 0;
	case BTF_KIND_ARRAY: return sizeof(struct btf_array);
	case BTF_KIND_STRUCT: case BTF_KIND_UNION:
		return (int64_t)vlen * sizeof(struct btf_member);
	case BTF_KIND_ENUM: return (int64_t)vlen * sizeof(struct btf_enum);
	case BTF_KIND_FUNC_PROTO: return (int64_t)vlen * sizeof(struct btf_param);
	case BTF_KIND_VAR: return sizeof(struct btf_var);
	case BTF_KIND_DATASEC: return (int64_t)vlen * sizeof(struct btf_var_secinfo);
	case BTF_KIND_DECL_TAG: return sizeof(struct btf_decl_tag);
	case BTF_KIND_ENUM64: return (int64_t)vlen * sizeof(struct btf_enum64);
	default: return -1;
	}
}

static int check_header(struct ldr *l, struct raw_btf *b)
{
	if (b->size < sizeof(struct btf_header))
		return btf_fail(l, "header", 0, "%llu bytes, less than a BTF header (%llu)", b->size,
		                sizeof(struct btf_header));
	memcpy(&b->hdr, b->buf, sizeof b->hdr);
	const struct btf_header *h = &b->hdr;
	if (h->magic != BTF_MAGIC)
		return btf_fail(l, "header", 0, "magic %#llx, expected %#llx (little-endian BTF)",
		                h->magic, BTF_MAGIC);
	if (h->version != BTF_VERSION || h->flags != 0)
		return btf_fail(l, "header", 0, "version %llu / flags %llu unsupported", h->version,
		                h->flags);
	if (h->hdr_len < sizeof(struct btf_header) || h->hdr_len > b->size)
		return btf_fail(l, "header", 0, "hdr_len %llu out of range (section is %llu bytes)",
		                h->hdr_len, b->size);
	uint64_t meta = b->size - h->hdr_len;
	if ((uint64_t)h->type_off + h->type_len > meta)
		return btf_fail(l, "type section", 0, "ends at %llu, past the data (%llu bytes)",
		                (uint64_t)h->type_off + h->type_len, meta);
	if ((uint64_t)h->str_off + h->str_len > meta)
		return btf_fail(l, "string section", 0, "ends at %llu, past the data (%llu bytes)",
		                (uint64_t)h->str_off + h->str_len, meta);
	if ((uint64_t)h->type_off + h->type_len > h->str_off)
		return btf_fail(l, "type section", 0, "overlaps the string section at %llu (%llu)",
		                (uint64_t)h->type_off + h->type_len, h->str_off);
	if (h->type_off % 4 || h->hdr_len % 4)
		return btf_fail(l, "type section", 0, "offset %llu (header %llu) not 4-byte aligned",
		                h->type_off, h->hdr_len);
	b->types = b->buf + h->hdr_len + h->type_off;
	b->strs = (const char *)b->buf + h->hdr_len + h->str_off;
	if (h->str_len == 0 || h->str_len - 1 > BTF_MAX_NAME_OFFSET || b->strs[0] != 0 ||
	    b->strs[h->str_len - 1] != 0)
		return btf_fail(l, "string section", 0, "length %llu; it must start and end with NUL "
		                "(first byte %llu)", h->str_len,
		                h->str_len ? (uint8_t)b->strs[0] : 0);
	return 0;
}

/* First pass: sizes.  Records each type's offset. */
static int index_types(struct ldr *l, struct raw_btf *b)
{
	uint32_t len = b->hdr.type_len, pos = 0, cap = 0;
	while (pos < len) {
		uint32_t id = b->type_count + 1;
		if (len - pos < sizeof(struct btf_type))
			return btf_fail(l, "type section", id, "truncated at offset %llu (%llu bytes left)",
			                pos, len - pos);
		if (id > BTF_MAX_TYPE)
			return btf_fail(l, "type section", 0, "more than %llu types (at offset %llu)", BTF_MAX_TYPE, pos);
		struct btf_type t;
		memcpy(&t, b->types + pos, sizeof t);
		int64_t extra = extra_size(BTF_INFO_KIND(t.info), BTF_INFO_VLEN(t.info));
		if (extra < 0)
			return btf_fail(l, "kind", id, "unknown kind %llu at offset %llu",
			                BTF_INFO_KIND(t.info), pos);
		if ((uint64_t)sizeof t + (uint64_t)extra > len - pos)
			return btf_fail(l, "type section", id, "type at offset %llu needs %llu bytes",
			                pos, sizeof t + (uint64_t)extra);
		if (id >= cap) {
			uint32_t ncap = cap ? cap * 2 : 256;
			uint32_t *n = realloc(b->offsets, (size_t)ncap * sizeof(*n));
			if (!n)
				return ldr_nomem(l, "BTF index");
			b->offsets = n;
			cap = ncap;
		}
		b->offsets[id] = pos;
		b->type_count = id;
		pos += (uint32_t)(sizeof t + (uint64_t)extra);
	}
	return 0;
}

static struct btf_type *type_at(struct raw_btf *b, uint32_t id)
{
	return (struct btf_type *)(void *)(b->types + b->offsets[id]);
}

/* Second pass: every reference in range.  Reads through memcpy: the type
 * section is only 4-byte aligned, as are all its fields. */
static int check_refs(struct ldr *l, struct raw_btf *b)
{
	uint32_t n = b->type_count, slen = b->hdr.str_len;
#define NAME_OK(off) ((off) < slen)
#define TYPE_OK(ref) ((ref) <= n)
	for (uint32_t id = 1; id <= n; id++) {
		const struct btf_type *t = type_at(b, id);
		uint32_t kind = BTF_INFO_KIND(t->info), vlen = BTF_INFO_VLEN(t->info);
		const uint8_t *extra = (const uint8_t *)(t + 1);
		if (!NAME_OK(t->name_off))
			return btf_fail(l, "name", id, "string offset %llu past the strings (%llu)",
			                t->name_off, slen);
		switch (kind) {
		case BTF_KIND_PTR: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE:
		case BTF_KIND_CONST: case BTF_KIND_RESTRICT: case BTF_KIND_FUNC:
		case BTF_KIND_VAR: case BTF_KIND_DECL_TAG: case BTF_KIND_TYPE_TAG:
			if (!TYPE_OK(t->type))
				return btf_fail(l, "reference", id, "type id %llu out of range (%llu types)",
				                t->type, n);
			break;
		case BTF_KIND_ARRAY: {
			struct btf_array a;
			memcpy(&a, extra, sizeof a);
			if (!TYPE_OK(a.type) || !TYPE_OK(a.index_type))
				return btf_fail(l, "array", id, "element type %llu or index type out of "
				                "range (%llu types)", a.type, n);
			break;
		}
		case BTF_KIND_STRUCT: case BTF_KIND_UNION:
			for (uint32_t i = 0; i < vlen; i++) {
				struct btf_member m;
				memcpy(&m, extra + i * sizeof m, sizeof m);
				if (!NAME_OK(m.name_off) || !TYPE_OK(m.type))
					return btf_fail(l, "member", id, "member #%llu: name offset or "
					                "type id %llu out of range", i, m.type);
			}
			break;
		case BTF_KIND_ENUM:
			for (uint32_t i = 0; i < vlen; i++) {
				struct btf_enum e;
				memcpy(&e, extra + i * sizeof e, sizeof e);
				if (!NAME_OK(e.name_off))
					return btf_fail(l, "enumerator", id, "#%llu: name offset %llu out of "
					                "range", i, e.name_off);
			}
			break;
		case BTF_KIND_ENUM64:
			for (uint32_t i = 0; i < vlen; i++) {
				struct btf_enum64 e;
				memcpy(&e, extra + i * sizeof e, sizeof e);
				if (!NAME_OK(e.name_off))
					return btf_fail(l, "enumerator", id, "#%llu: name offset %llu out of "
					                "range", i, e.name_off);
			}
			break;
		case BTF_KIND_FUNC_PROTO:
			if (!TYPE_OK(t->type))
				return btf_fail(l, "return type", id, "type id %llu out of range (%llu types)",
				                t->type, n);
			for (uint32_t i = 0; i < vlen; i++) {
				struct btf_param p;
				memcpy(&p, extra + i * sizeof p, sizeof p);
				if (!NAME_OK(p.name_off) || !TYPE_OK(p.type))
					return btf_fail(l, "parameter", id, "#%llu: name offset or type id "
					                "%llu out of range", i, p.type);
			}
			break;
		case BTF_KIND_DATASEC:
			for (uint32_t i = 0; i < vlen; i++) {
				struct btf_var_secinfo v;
				memcpy(&v, extra + i * sizeof v, sizeof v);
				if (!TYPE_OK(v.type))
					return btf_fail(l, "DATASEC entry", id, "#%llu: type id %llu out of "
					                "range", i, v.type);
			}
			break;
		default:
			break;
		}
	}
#undef NAME_OK
#undef TYPE_OK
	return 0;
}

/* Global and weak STT_OBJECT symbols sorted by (name, index), for
 * libbpf's find_elf_var_sym() (the first such symbol of a name) without
 * a scan of the symbol table per variable. */
struct var_sym {
	const char *name;
	uint32_t idx;
};

static int cmp_var_sym(const void *a, const void *b)
{
	const struct var_sym *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

static int build_var_index(struct ldr *l, struct var_sym **out, size_t *count)
{
	struct var_sym *v = malloc((l->sym_count ? l->sym_count : 1) * sizeof(*v));
	if (!v)
		return ldr_nomem(l, "symbol index");
	size_t n = 0;
	for (size_t i = 0; i < l->sym_count; i++) {
		const Elf64_Sym *sym = &l->syms[i];
		int bind = ELF64_ST_BIND(sym->st_info);
		if (ELF64_ST_TYPE(sym->st_info) != STT_OBJECT ||
		    (bind != STB_GLOBAL && bind != STB_WEAK))
			continue;
		const char *name = ldr_sym_name(l, sym);
		if (!name) {
			free(v);
			return ldr_fail(l, -ENOEXEC, "symbol #%zu: name offset %u is outside the string "
			                "table", i, sym->st_name);
		}
		v[n++] = (struct var_sym){ .name = name, .idx = (uint32_t)i };
	}
	qsort(v, n, sizeof(*v), cmp_var_sym);
	*out = v;
	*count = n;
	return 0;
}

static const Elf64_Sym *find_var_sym(struct ldr *l, const struct var_sym *index, size_t n,
                                     const char *name)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(index[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strcmp(index[lo].name, name) == 0 ? &l->syms[index[lo].idx] : NULL;
}

struct vsi_sort {
	struct btf_var_secinfo v;
	uint32_t pos;
};

static int cmp_vsi(const void *a, const void *b)
{
	const struct vsi_sort *x = a, *y = b;
	if (x->v.offset != y->v.offset)
		return x->v.offset < y->v.offset ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* libbpf's btf_fixup_datasec() for DATASEC [id]. */
static int fixup_datasec(struct ldr *l, struct raw_btf *b, uint32_t id,
                         struct var_sym **index, size_t *index_len)
{
	struct btf_type *t = type_at(b, id);
	const char *sec_name = b->strs + t->name_off;
	uint32_t vlen = BTF_INFO_VLEN(t->info);
	uint8_t *vars = (uint8_t *)(t + 1);

	/* Extern-backed sections have no ELF counterpart. */
	if (strcmp(sec_name, ".kconfig") != 0 && strcmp(sec_name, ".ksyms") != 0) {
		bool fix_offsets = false;
		if (t->size == 0) {
			int sec = ldr_find_sec_by_name(l, sec_name);
			uint64_t size = sec > 0 ? l->secs[sec].size : 0;
			if (size == 0 || size > UINT32_MAX)
				return ldr_fail(l, -ENOENT, "section '.BTF': DATASEC '%.64s' [%u] has no "
				                "non-empty ELF section of that name to take its size from",
				                sec_name, id);
			t->size = (uint32_t)size;
			fix_offsets = true;
		}
		for (uint32_t i = 0; i < vlen; i++) {
			struct btf_var_secinfo v;
			memcpy(&v, vars + i * sizeof v, sizeof v);
			if (v.type == 0 || BTF_INFO_KIND(type_at(b, v.type)->info) != BTF_KIND_VAR)
				return ldr_fail(l, -EINVAL, "section '.BTF': DATASEC '%.64s' [%u] entry "
				                "#%u is type [%u], not a VAR", sec_name, id, i, v.type);
			struct btf_type *var_t = type_at(b, v.type);
			struct btf_var var;
			memcpy(&var, var_t + 1, sizeof var);
			if (var.linkage == BTF_VAR_STATIC || var.linkage == BTF_VAR_GLOBAL_EXTERN)
				continue;
			const char *var_name = b->strs + var_t->name_off;
			if (!*index) {
				int rc = build_var_index(l, index, index_len);
				if (rc)
					return rc;
			}
			const Elf64_Sym *sym = find_var_sym(l, *index, *index_len, var_name);
			if (!sym)
				return ldr_fail(l, -ENOENT, "section '.BTF': DATASEC '%.64s': variable "
				                "'%.64s' has no global ELF symbol", sec_name, var_name);
			if (fix_offsets) {
				if (sym->st_value > UINT32_MAX)
					return ldr_fail(l, -EINVAL, "symbol '%.64s': value %#llx too large "
					                "for a BTF variable offset", var_name,
					                (unsigned long long)sym->st_value);
				v.offset = (uint32_t)sym->st_value;
				memcpy(vars + i * sizeof v, &v, sizeof v);
			}
			/* Hidden globals count as static (libbpf: fewer guarantees needed). */
			int vis = ELF64_ST_VISIBILITY(sym->st_other);
			if (vis == STV_HIDDEN || vis == STV_INTERNAL) {
				var.linkage = BTF_VAR_STATIC;
				memcpy(var_t + 1, &var, sizeof var);
			}
		}
	}

	/* Sort by offset; equal offsets keep their order (as glibc's qsort,
	 * a merge sort, does for libbpf). */
	if (vlen > 1) {
		struct vsi_sort *tmp = malloc(vlen * sizeof(*tmp));
		if (!tmp)
			return ldr_nomem(l, "DATASEC sort");
		for (uint32_t i = 0; i < vlen; i++) {
			memcpy(&tmp[i].v, vars + i * sizeof tmp[i].v, sizeof tmp[i].v);
			tmp[i].pos = i;
		}
		qsort(tmp, vlen, sizeof(*tmp), cmp_vsi);
		for (uint32_t i = 0; i < vlen; i++)
			memcpy(vars + i * sizeof tmp[i].v, &tmp[i].v, sizeof tmp[i].v);
		free(tmp);
	}
	return 0;
}

/* libbpf's mark_btf_static: a global subprogram hidden from other
 * objects (STV_HIDDEN, __hidden) is a static FUNC to the kernel. */
static void hidden_func_static(struct ldr *l, struct raw_btf *b, uint32_t id)
{
	struct btf_type *t = type_at(b, id);
	if (BTF_INFO_VLEN(t->info) != BTF_FUNC_GLOBAL)
		return;
	const char *name = b->strs + t->name_off;
	for (size_t i = 0; i < l->func_count; i++) {
		const struct ldr_func *f = &l->funcs[i];
		if (f->entry || strcmp(f->name, name) != 0)
			continue;
		int vis = ELF64_ST_VISIBILITY(l->syms[f->sym].st_other);
		if (vis == STV_HIDDEN || vis == STV_INTERNAL)
			t->info = (uint32_t)BTF_KIND_FUNC << 24 | BTF_FUNC_STATIC;
		return;
	}
}

int ldr_btf_load(struct ldr *l)
{
	if (!l->btf_sec)
		return 0;
	const struct ldr_sec *s = &l->secs[l->btf_sec];
	if (s->size > UINT32_MAX)
		return ldr_fail(l, -EINVAL, "section '.BTF': %zu bytes, too large", s->size);
	struct raw_btf b = { .size = s->size };
	b.buf = malloc(s->size ? s->size : 1);
	if (!b.buf)
		return ldr_nomem(l, "BTF copy");
	if (s->size)
		memcpy(b.buf, s->data, s->size);

	int rc = check_header(l, &b);
	if (!rc)
		rc = index_types(l, &b);
	if (!rc)
		rc = check_refs(l, &b);
	struct var_sym *index = NULL;
	size_t index_len = 0;
	for (uint32_t id = 1; !rc && id <= b.type_count; id++)
		if (BTF_INFO_KIND(type_at(&b, id)->info) == BTF_KIND_DATASEC)
			rc = fixup_datasec(l, &b, id, &index, &index_len);
		else if (BTF_INFO_KIND(type_at(&b, id)->info) == BTF_KIND_FUNC)
			hidden_func_static(l, &b, id);
	free(index);
	if (!rc) {
		errno = 0;
		struct btf *btf = btf__new(b.buf, (uint32_t)b.size);
		if (!btf)
			rc = ldr_fail(l, errno ? -errno : -EINVAL, "section '.BTF': libbpf rejects it "
			              "(btf__new: %s)", strerror(errno ? errno : EINVAL));
		else {
			btf__set_pointer_size(btf, 8);
			l->obj->btf = btf;
		}
	}
	free(b.offsets);
	free(b.buf);
	return rc;
}
