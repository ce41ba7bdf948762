/*
 * maps.c - the object's map table, built as libbpf 1.1 builds it at open:
 *
 *   1. legacy struct bpf_map_def entries of SEC("maps"), in symbol order
 *      (libbpf 1.x refuses these; this follows libbpf 0.x);
 *   2. BTF-defined maps of SEC(".maps"), in the order of the .maps
 *      DATASEC's variables (sorted by offset by the BTF fix-up);
 *   3. one internal array map per non-empty global data section, by
 *      section index, named by libbpf's internal_map_name().
 *
 * Also the initial slots of prog_array and map-in-map maps, from the
 * relocations of .maps (libbpf's bpf_object__collect_map_relos()).
 * Map definitions stay definitions: nothing is created here.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <bpf/btf.h>
#include <unistd.h>

#include "base/error.h"
#include "loader/loader.h"

/* Which fields a BTF map definition set (libbpf's enum map_def_parts). */
struct btf_map_def {
	bool has_type, has_inner;
	uint32_t map_type;
	uint32_t key_type_id, key_size;
	uint32_t value_type_id, value_size;
	uint32_t max_entries, map_flags, numa_node, pinning;
	uint64_t map_extra;
};

#define MAX_MODS_DEPTH 32

/* The kernel's array maps refuse values over KMALLOC_MAX_SIZE (4 MiB on
 * x86-64); a .bss claiming more (it costs no file bytes) is refused here
 * rather than allocated. */
#define LDR_MAX_DATA_SECTION (4u << 20)

/* libbpf's skip_mods_and_typedefs(), bounded: hostile BTF may loop. */
static const struct btf_type *skip_mods(const struct btf *btf, uint32_t id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	for (int depth = 0; t && (btf_is_mod(t) || btf_is_typedef(t)); depth++) {
		if (depth >= MAX_MODS_DEPTH)
			return NULL;
		t = btf__type_by_id(btf, t->type);
	}
	return t;
}

static const char *kind_name(const struct btf_type *t)
{
	static const char *const names[] = {
		"UNKNOWN", "INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "FWD", "TYPEDEF",
		"VOLATILE", "CONST", "RESTRICT", "FUNC", "FUNC_PROTO", "VAR", "DATASEC", "FLOAT",
		"DECL_TAG", "TYPE_TAG", "ENUM64",
	};
	if (!t)
		return "unresolvable type";
	return btf_kind(t) < sizeof names / sizeof names[0] ? names[btf_kind(t)] : "UNKNOWN";
}

static uint32_t add_map(struct ldr *l, int *rc)
{
	struct bpfvm_object *o = l->obj;
	size_t n = o->map_count;
	bpfvm_object_map *maps = realloc(o->maps, (n + 1) * sizeof(*maps));
	if (maps)
		o->maps = maps;
	struct ldr_map_place *places = realloc(l->places, (n + 1) * sizeof(*places));
	if (places)
		l->places = places;
	if (!maps || !places) {
		*rc = ldr_nomem(l, "map table");
		return LDR_NONE;
	}
	memset(&maps[n], 0, sizeof maps[n]);
	memset(&places[n], 0, sizeof places[n]);
	maps[n].attrs.spin_lock_off = -1;
	maps[n].inner.spin_lock_off = -1;
	maps[n].attrs.fields = maps[n].inner.fields = (bpfvm_map_fields){ .timer_off = -1, .wq_off = -1 };
	o->map_count = n + 1;
	*rc = 0;
	return (uint32_t)n;
}

/* Offset of a struct `kind` (bpf_spin_lock, bpf_timer, bpf_wq) among the
 * value struct's own members (where the kernel looks), -1 if none, -2 if
 * more than one. */
static int32_t find_field(const struct btf *btf, uint32_t value_type_id, const char *kind)
{
	if (!btf || !value_type_id)
		return -1;
	const struct btf_type *t = skip_mods(btf, value_type_id);
	if (!t || !btf_is_struct(t))
		return -1;
	int32_t found = -1;
	const struct btf_member *m = btf_members(t);
	for (uint16_t i = 0; i < btf_vlen(t); i++, m++) {
		const struct btf_type *mt = skip_mods(btf, m->type);
		if (!mt || !btf_is_struct(mt))
			continue;
		const char *name = btf__name_by_offset(btf, mt->name_off);
		if (!name || strcmp(name, kind) != 0)
			continue;
		if (found >= 0)
			return -2;
		found = (int32_t)(btf_member_bit_offset(t, i) / 8);
	}
	return found;
}

/* The fields of the value the kernel treats specially (btf_parse_fields),
 * each at most once. */
static int set_value_fields(struct ldr *l, const char *map_name, bpfvm_map_attrs *a)
{
	static const char *const kinds[] = { "bpf_spin_lock", "bpf_timer", "bpf_wq" };
	int32_t *offs[] = { &a->spin_lock_off, &a->fields.timer_off, &a->fields.wq_off };
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		*offs[i] = find_field(l->obj->btf, a->btf_value_type_id, kinds[i]);
		if (*offs[i] == -2)
			return ldr_fail(l, -EINVAL, "map '%.64s': its value type [%u] holds more than one "
			                "struct %s", map_name, a->btf_value_type_id, kinds[i]);
	}
	return 0;
}

/* ---- legacy maps ---------------------------------------------------- */

/* libbpf 0.x's BPF_ANNOTATE_KV_PAIR lookup: struct ____btf_map_<name>
 * { key; value; } gives the key and value types, if sizes agree.
 * Failure only leaves the ids at 0, as in libbpf. */
static void legacy_btf_ids(struct ldr *l, const char *name, bpfvm_map_attrs *a)
{
	const struct btf *btf = l->obj->btf;
	char container[256];
	if (!btf || snprintf(container, sizeof container, "____btf_map_%s", name) >=
	            (int)sizeof container)
		return;
	int id = btf__find_by_name(btf, container);
	const struct btf_type *t = id > 0 ? btf__type_by_id(btf, (uint32_t)id) : NULL;
	if (!t || !btf_is_struct(t) || btf_vlen(t) < 2)
		return;
	const struct btf_member *key = btf_members(t), *value = key + 1;
	if (btf__resolve_size(btf, key->type) != a->key_size ||
	    btf__resolve_size(btf, value->type) != a->value_size)
		return;
	a->btf_key_type_id = key->type;
	a->btf_value_type_id = value->type;
}

static int collect_legacy_maps(struct ldr *l)
{
	if (!l->legacy_maps_sec)
		return 0;
	uint32_t sec = l->legacy_maps_sec;
	const struct ldr_sec *s = &l->secs[sec];
	size_t nr = 0;
	for (size_t i = 0; i < l->sym_count; i++)
		if (l->syms[i].st_shndx == sec && ELF64_ST_TYPE(l->syms[i].st_info) != STT_SECTION)
			nr++;
	if (s->size == 0 || !s->data || nr == 0 || s->size % nr)
		return ldr_fail(l, -EINVAL, "section 'maps': %zu bytes for %zu map symbols; cannot "
		                "tell the size of one legacy map definition", s->size, nr);
	size_t def_size = s->size / nr;
	const size_t known = 5 * sizeof(uint32_t); /* type, key, value, max_entries, flags */

	for (size_t i = 0; i < l->sym_count; i++) {
		const Elf64_Sym *sym = &l->syms[i];
		if (sym->st_shndx != sec || ELF64_ST_TYPE(sym->st_info) == STT_SECTION)
			continue;
		const char *name = ldr_sym_name(l, sym);
		if (!name)
			return ldr_fail(l, -ENOEXEC, "section 'maps': symbol #%zu: name offset %u is "
			                "outside the string table", i, sym->st_name);
		if (ELF64_ST_BIND(sym->st_info) == STB_LOCAL)
			return ldr_fail(l, -EOPNOTSUPP, "section 'maps': map '%.64s' is static; legacy "
			                "maps must be global", name);
		if (sym->st_value > s->size || def_size > s->size - sym->st_value)
			return ldr_fail(l, -EINVAL, "section 'maps': map '%.64s' at offset %#llx "
			                "(%zu bytes) runs past the section (%zu bytes)", name,
			                (unsigned long long)sym->st_value, def_size, s->size);
		const uint8_t *def = s->data + sym->st_value;
		uint32_t fields[5] = { 0 };
		memcpy(fields, def, def_size < known ? def_size : known);
		for (size_t b = known; b < def_size; b++)
			if (def[b])
				return ldr_fail(l, -EINVAL, "section 'maps': map '%.64s' has non-zero "
				                "unknown fields at byte %zu of its %zu-byte definition",
				                name, b, def_size);
		int rc;
		uint32_t idx = add_map(l, &rc);
		if (rc)
			return rc;
		bpfvm_object_map *m = &l->obj->maps[idx];
		m->origin = BPFVM_MAP_LEGACY;
		m->section = "maps";
		if (!(m->name = ldr_strdup(l, name)))
			return ldr_nomem(l, "map name");
		m->attrs.type = fields[0];
		m->attrs.key_size = fields[1];
		m->attrs.value_size = fields[2];
		m->attrs.max_entries = fields[3];
		m->attrs.flags = fields[4];
		legacy_btf_ids(l, name, &m->attrs);
		if ((rc = set_value_fields(l, name, &m->attrs)) != 0)
			return rc;
		l->places[idx] = (struct ldr_map_place){ .sec = sec, .off = sym->st_value,
		                                         .size = (uint32_t)def_size, .var = LDR_NONE };
	}
	return 0;
}

/* ---- BTF-defined maps ----------------------------------------------- */

/* libbpf's get_map_field_int(): __uint(name, N) is int (*name)[N]. */
static int map_field_int(struct ldr *l, const char *map_name, const struct btf_member *m,
                         uint32_t *res)
{
	const struct btf *btf = l->obj->btf;
	const char *name = btf__name_by_offset(btf, m->name_off);
	const struct btf_type *t = skip_mods(btf, m->type);
	if (!t || !btf_is_ptr(t))
		return ldr_fail(l, -EINVAL, "map '%.64s': field '%.32s': expected PTR, got %s",
		                map_name, name, kind_name(t));
	const struct btf_type *arr = btf__type_by_id(btf, t->type);
	if (!arr || !btf_is_array(arr))
		return ldr_fail(l, -EINVAL, "map '%.64s': field '%.32s': expected ARRAY, got %s",
		                map_name, name, kind_name(arr));
	*res = btf_array(arr)->nelems;
	return 0;
}

/* __type(key, T) / __type(value, T): a pointer to T; returns T's id and size. */
static int map_field_type(struct ldr *l, const char *map_name, const char *what,
                          const struct btf_member *m, uint32_t *type_id, uint32_t *size)
{
	const struct btf *btf = l->obj->btf;
	const struct btf_type *t = btf__type_by_id(btf, m->type);
	if (!t || !btf_is_ptr(t))
		return ldr_fail(l, -EINVAL, "map '%.64s': %s spec is not a PTR but %s", map_name,
		                what, kind_name(t));
	int64_t sz = btf__resolve_size(btf, t->type);
	if (sz < 0 || sz > UINT32_MAX)
		return ldr_fail(l, -EINVAL, "map '%.64s': cannot tell the size of %s type [%u]",
		                map_name, what, t->type);
	*type_id = t->type;
	*size = (uint32_t)sz;
	return 0;
}

static int set_size(struct ldr *l, const char *map_name, const char *what, uint32_t *dst,
                    uint32_t size)
{
	if (*dst && *dst != size)
		return ldr_fail(l, -EINVAL, "map '%.64s': conflicting %s size %u != %u", map_name,
		                what, *dst, size);
	*dst = size;
	return 0;
}

/* libbpf's parse_btf_map_def(); inner == NULL while parsing an inner def. */
static int parse_map_def(struct ldr *l, const char *map_name, const struct btf_type *def_t,
                         struct btf_map_def *def, struct btf_map_def *inner)
{
	const struct btf *btf = l->obj->btf;
	bool is_inner = inner == NULL;
	uint16_t vlen = btf_vlen(def_t);
	const struct btf_member *m = btf_members(def_t);
	int rc = 0;
	for (uint16_t i = 0; i < vlen && !rc; i++, m++) {
		const char *name = btf__name_by_offset(btf, m->name_off);
		uint32_t v = 0, id = 0;
		if (!name)
			return ldr_fail(l, -EINVAL, "map '%.64s': field #%u has no name", map_name, i);
		if (strcmp(name, "type") == 0) {
			rc = map_field_int(l, map_name, m, &def->map_type);
			def->has_type = true;
		} else if (strcmp(name, "max_entries") == 0) {
			rc = map_field_int(l, map_name, m, &def->max_entries);
		} else if (strcmp(name, "map_flags") == 0) {
			rc = map_field_int(l, map_name, m, &def->map_flags);
		} else if (strcmp(name, "numa_node") == 0) {
			rc = map_field_int(l, map_name, m, &def->numa_node);
		} else if (strcmp(name, "key_size") == 0) {
			if (!(rc = map_field_int(l, map_name, m, &v)))
				rc = set_size(l, map_name, "key", &def->key_size, v);
		} else if (strcmp(name, "key") == 0) {
			if (!(rc = map_field_type(l, map_name, "key", m, &id, &v)) &&
			    !(rc = set_size(l, map_name, "key", &def->key_size, v)))
				def->key_type_id = id;
		} else if (strcmp(name, "value_size") == 0) {
			if (!(rc = map_field_int(l, map_name, m, &v)))
				rc = set_size(l, map_name, "value", &def->value_size, v);
		} else if (strcmp(name, "value") == 0) {
			if (!(rc = map_field_type(l, map_name, "value", m, &id, &v)) &&
			    !(rc = set_size(l, map_name, "value", &def->value_size, v)))
				def->value_type_id = id;
		} else if (strcmp(name, "values") == 0) {
			uint32_t type = def->map_type;
			bool in_map = type == BPF_MAP_TYPE_ARRAY_OF_MAPS || type == BPF_MAP_TYPE_HASH_OF_MAPS;
			bool prog_array = type == BPF_MAP_TYPE_PROG_ARRAY;
			if (is_inner)
				return ldr_fail(l, -EOPNOTSUPP, "map '%.64s': multi-level inner maps are "
				                "not supported", map_name);
			if (i != vlen - 1)
				return ldr_fail(l, -EINVAL, "map '%.64s': 'values' must be the last field",
				                map_name);
			if (!in_map && !prog_array)
				return ldr_fail(l, -EOPNOTSUPP, "map '%.64s': 'values' needs a map-in-map "
				                "or prog_array type (type is %u)", map_name, type);
			if ((rc = set_size(l, map_name, "value", &def->value_size, 4)) != 0)
				return rc;
			const struct btf_type *t = btf__type_by_id(btf, m->type);
			if (!t || !btf_is_array(t) || btf_array(t)->nelems)
				return ldr_fail(l, -EINVAL, "map '%.64s': 'values' is not a zero-sized "
				                "array", map_name);
			t = skip_mods(btf, btf_array(t)->type);
			if (!t || !btf_is_ptr(t))
				return ldr_fail(l, -EINVAL, "map '%.64s': 'values' elements are %s, not "
				                "pointers", map_name, kind_name(t));
			t = skip_mods(btf, t->type);
			if (prog_array) {
				if (!t || !btf_is_func_proto(t))
					return ldr_fail(l, -EINVAL, "map '%.64s': prog_array values point "
					                "to %s, not a function", map_name, kind_name(t));
				continue;
			}
			if (!t || !btf_is_struct(t))
				return ldr_fail(l, -EINVAL, "map '%.64s': inner map definition is %s, not "
				                "a struct", map_name, kind_name(t));
			char inner_name[128];
			snprintf(inner_name, sizeof inner_name, "%s.inner", map_name);
			if ((rc = parse_map_def(l, inner_name, t, inner, NULL)) != 0)
				return rc;
			def->has_inner = true;
		} else if (strcmp(name, "pinning") == 0) {
			if (is_inner)
				return ldr_fail(l, -EINVAL, "map '%.64s': an inner map cannot be pinned",
				                map_name);
			if ((rc = map_field_int(l, map_name, m, &v)) != 0)
				return rc;
			if (v != BPFVM_PIN_NONE && v != BPFVM_PIN_BY_NAME)
				return ldr_fail(l, -EINVAL, "map '%.64s': invalid pinning value %u",
				                map_name, v);
			def->pinning = v;
		} else if (strcmp(name, "map_extra") == 0) {
			if (!(rc = map_field_int(l, map_name, m, &v)))
				def->map_extra = v;
		} else {
			/* libbpf is strict unless opened with relaxed_maps. */
			return ldr_fail(l, -EOPNOTSUPP, "map '%.64s': unknown field '%.32s'", map_name,
			                name);
		}
	}
	if (rc)
		return rc;
	if (def->map_type == BPF_MAP_TYPE_UNSPEC)
		return ldr_fail(l, -EINVAL, "map '%.64s': map type isn't specified", map_name);
	return 0;
}

/* libbpf rounds a ring buffer up to a power-of-two number of pages. */
static uint32_t adjust_ringbuf_size(uint32_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t page_sz = page > 0 ? (uint64_t)page : 4096;
	if (size == 0)
		return 0;
	if (size % page_sz == 0) {
		uint64_t pages = size / page_sz;
		if ((pages & (pages - 1)) == 0)
			return size;
	}
	for (uint64_t mul = 1; mul <= UINT32_MAX / page_sz; mul <<= 1)
		if (mul * page_sz > size)
			return (uint32_t)(mul * page_sz);
	return size;
}

static void fill_attrs(bpfvm_map_attrs *a, const struct btf_map_def *def)
{
	a->type = def->map_type;
	a->key_size = def->key_size;
	a->value_size = def->value_size;
	a->max_entries = def->max_entries;
	a->flags = def->map_flags;
	a->map_extra = def->map_extra;
	a->numa_node = def->numa_node;
	a->btf_key_type_id = def->key_type_id;
	a->btf_value_type_id = def->value_type_id;
	if (a->type == BPF_MAP_TYPE_RINGBUF)
		a->max_entries = adjust_ringbuf_size(a->max_entries);
}

static int collect_btf_map(struct ldr *l, const struct btf_type *sec_t, uint16_t var_idx)
{
	const struct btf *btf = l->obj->btf;
	const struct ldr_sec *s = &l->secs[l->maps_sec];
	const struct btf_var_secinfo *vi = btf_var_secinfos(sec_t) + var_idx;
	const struct btf_type *var = btf__type_by_id(btf, vi->type);
	const char *name = var ? btf__name_by_offset(btf, var->name_off) : NULL;

	if (!name || !*name)
		return ldr_fail(l, -EINVAL, "section '.maps': map #%u has no name", var_idx);
	if ((uint64_t)vi->offset + vi->size > s->size)
		return ldr_fail(l, -EINVAL, "section '.maps': map '%.64s' at offset %u (%u bytes) runs "
		                "past the section (%zu bytes)", name, vi->offset, vi->size, s->size);
	if (!btf_is_var(var))
		return ldr_fail(l, -EINVAL, "section '.maps': map '%.64s' is a %s, not a VAR", name,
		                kind_name(var));
	if (btf_var(var)->linkage != BTF_VAR_GLOBAL_ALLOCATED)
		return ldr_fail(l, -EOPNOTSUPP, "section '.maps': map '%.64s' has linkage %u; maps "
		                "must be global, allocated variables", name, btf_var(var)->linkage);
	const struct btf_type *def_t = skip_mods(btf, var->type);
	if (!def_t || !btf_is_struct(def_t))
		return ldr_fail(l, -EINVAL, "section '.maps': map '%.64s' is a %s, not a struct",
		                name, kind_name(def_t));
	if (def_t->size > vi->size)
		return ldr_fail(l, -EINVAL, "section '.maps': map '%.64s': definition (%u bytes) is "
		                "larger than its variable (%u bytes)", name, def_t->size, vi->size);

	int rc;
	uint32_t idx = add_map(l, &rc);
	if (rc)
		return rc;
	bpfvm_object_map *m = &l->obj->maps[idx];
	m->origin = BPFVM_MAP_BTF;
	m->section = ".maps";
	l->places[idx] = (struct ldr_map_place){ .sec = l->maps_sec, .off = vi->offset,
	                                         .size = vi->size, .var = var_idx };
	if (!(m->name = ldr_strdup(l, name)))
		return ldr_nomem(l, "map name");

	struct btf_map_def def = { 0 }, inner = { 0 };
	if ((rc = parse_map_def(l, m->name, def_t, &def, &inner)) != 0)
		return rc;
	fill_attrs(&m->attrs, &def);
	m->pinning = def.pinning;
	if ((rc = set_value_fields(l, m->name, &m->attrs)) != 0)
		return rc;
	if (def.has_inner) {
		char inner_name[128];
		snprintf(inner_name, sizeof inner_name, "%s.inner", m->name);
		m->has_inner = true;
		if (!(m->inner_name = ldr_strdup(l, inner_name)))
			return ldr_nomem(l, "map name");
		fill_attrs(&m->inner, &inner);
		if ((rc = set_value_fields(l, m->inner_name, &m->inner)) != 0)
			return rc;
	}
	return 0;
}

static int collect_btf_maps(struct ldr *l)
{
	if (!l->maps_sec)
		return 0;
	const struct btf *btf = l->obj->btf;
	if (!btf)
		return ldr_fail(l, -ENOENT, "section '.maps' needs BTF to describe its maps, but the "
		                "object has no .BTF section");
	uint32_t n = btf__type_cnt(btf);
	const struct btf_type *sec_t = NULL;
	for (uint32_t id = 1; id < n && !sec_t; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const char *name = t ? btf__name_by_offset(btf, t->name_off) : NULL;
		if (t && btf_is_datasec(t) && name && strcmp(name, ".maps") == 0) {
			sec_t = t;
			l->maps_datasec_id = id;
		}
	}
	if (!sec_t)
		return ldr_fail(l, -ENOENT, "section '.maps': no DATASEC '.maps' in the BTF");
	for (uint16_t i = 0; i < btf_vlen(sec_t); i++) {
		int rc = collect_btf_map(l, sec_t, i);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- internal (global data) maps ------------------------------------ */

/* libbpf's internal_map_name(): as much of the object name as fits
 * before a suffix of at least 7 characters, none for ".rodata.str1.1"-
 * like names (a second '.'), at most 15 characters, and only
 * [A-Za-z0-9_.]. */
static void internal_map_name(const char *obj_name, const char *real_name, char out[16])
{
	size_t real_len = strlen(real_name);
	int sfx_len = real_len > 7 ? (int)(real_len > 15 ? 15 : real_len) : 7;
	int pfx_len = 0;
	if (!strchr(real_name + 1, '.')) {
		size_t room = 16 - (size_t)sfx_len - 1, own = strlen(obj_name);
		pfx_len = (int)(own < room ? own : room);
	}
	snprintf(out, 16, "%.*s%.*s", pfx_len, obj_name, sfx_len, real_name);
	for (char *p = out; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.')
			*p = '_';
}

/* libbpf's map_is_mmapable(): a data section with at least one
 * non-static variable in its DATASEC gets BPF_F_MMAPABLE. */
static bool internal_map_mmapable(const struct btf *btf, uint32_t datasec_id)
{
	const struct btf_type *t = datasec_id ? btf__type_by_id(btf, datasec_id) : NULL;
	if (!t || !btf_is_datasec(t))
		return false;
	const struct btf_var_secinfo *vsi = btf_var_secinfos(t);
	for (uint16_t i = 0; i < btf_vlen(t); i++, vsi++) {
		const struct btf_type *vt = btf__type_by_id(btf, vsi->type);
		if (vt && btf_is_var(vt) && btf_var(vt)->linkage != BTF_VAR_STATIC)
			return true;
	}
	return false;
}

static int collect_internal_maps(struct ldr *l)
{
	for (uint32_t sec = 1; sec < l->sec_count; sec++) {
		struct ldr_sec *s = &l->secs[sec];
		bpfvm_map_origin origin;
		if (s->kind == LDR_SEC_DATA)
			origin = BPFVM_MAP_DATA;
		else if (s->kind == LDR_SEC_RODATA)
			origin = BPFVM_MAP_RODATA;
		else if (s->kind == LDR_SEC_BSS)
			origin = BPFVM_MAP_BSS;
		else
			continue;
		if (s->size == 0)
			continue;
		if (s->size > LDR_MAX_DATA_SECTION)
			return ldr_fail(l, -E2BIG, "section '%.64s': %zu bytes; the kernel refuses array "
			                "map values over %u bytes (KMALLOC_MAX_SIZE)", s->name, s->size,
			                LDR_MAX_DATA_SECTION);
		int rc;
		uint32_t idx = add_map(l, &rc);
		if (rc)
			return rc;
		bpfvm_object_map *m = &l->obj->maps[idx];
		char name[16];
		internal_map_name(l->obj->name, s->name, name);
		m->origin = origin;
		m->name = ldr_strdup(l, name);
		m->section = ldr_strdup(l, s->name);
		uint8_t *init = ldr_arena_alloc(l, s->size);
		if (!m->name || !m->section || !init)
			return ldr_nomem(l, "internal map");
		if (s->data)
			memcpy(init, s->data, s->size);
		else
			memset(init, 0, s->size);
		m->initial_data = init;
		m->attrs.type = BPF_MAP_TYPE_ARRAY;
		m->attrs.key_size = sizeof(uint32_t);
		m->attrs.value_size = (uint32_t)s->size;
		m->attrs.max_entries = 1;
		m->attrs.flags = origin == BPFVM_MAP_RODATA ? BPF_F_RDONLY_PROG : 0;
		if (l->obj->btf) {
			int id = btf__find_by_name(l->obj->btf, s->name);
			m->attrs.btf_value_type_id = id > 0 ? (uint32_t)id : 0;
		}
		if (internal_map_mmapable(l->obj->btf, m->attrs.btf_value_type_id))
			m->attrs.flags |= BPF_F_MMAPABLE;
		s->map = idx;
		l->places[idx] = (struct ldr_map_place){ .sec = sec, .off = 0,
		                                         .size = (uint32_t)s->size, .var = LDR_NONE };
	}
	return 0;
}

/* libbpf's bpf_object__init_kconfig_map(): after the data sections, one
 * read-only array map holding every __kconfig extern (externs.c fills it). */
static int collect_kconfig_map(struct ldr *l)
{
	l->kcfg_map = LDR_NONE;
	if (!l->kcfg_size)
		return 0;
	int rc;
	uint32_t idx = add_map(l, &rc);
	if (rc)
		return rc;
	bpfvm_object_map *m = &l->obj->maps[idx];
	char name[16];
	internal_map_name(l->obj->name, ".kconfig", name);
	m->origin = BPFVM_MAP_KCONFIG;
	m->name = ldr_strdup(l, name);
	m->section = ".kconfig";
	l->kcfg_data = ldr_arena_alloc(l, l->kcfg_size);
	if (!m->name || !l->kcfg_data)
		return ldr_nomem(l, "kconfig map");
	memset(l->kcfg_data, 0, l->kcfg_size);
	m->initial_data = l->kcfg_data;
	m->attrs.type = BPF_MAP_TYPE_ARRAY;
	m->attrs.key_size = sizeof(uint32_t);
	m->attrs.value_size = l->kcfg_size;
	m->attrs.max_entries = 1;
	m->attrs.flags = BPF_F_RDONLY_PROG | BPF_F_MMAPABLE;
	m->attrs.btf_value_type_id = l->kcfg_datasec;
	l->kcfg_map = idx;
	l->places[idx] = (struct ldr_map_place){ .sec = 0, .off = 0, .size = l->kcfg_size, .var = LDR_NONE };
	return 0;
}

int ldr_maps_collect(struct ldr *l)
{
	int rc = collect_legacy_maps(l);
	if (!rc)
		rc = collect_btf_maps(l);
	if (!rc)
		rc = collect_internal_maps(l);
	if (!rc)
		rc = collect_kconfig_map(l);
	return rc;
}

/* ---- initial slots (.rel.maps) -------------------------------------- */

static int add_slot(struct ldr *l, bpfvm_object_map *m, uint32_t key, uint32_t target)
{
	bpfvm_map_slot *slots = (bpfvm_map_slot *)m->slots;
	size_t n = m->slot_count, i = 0;
	while (i < n && slots[i].key < key)
		i++;
	if (i < n && slots[i].key == key) {   /* a later relocation wins, as in libbpf */
		slots[i].target = target;
		return 0;
	}
	slots = realloc(slots, (n + 1) * sizeof(*slots));
	if (!slots)
		return ldr_nomem(l, "map slots");
	memmove(&slots[i + 1], &slots[i], (n - i) * sizeof(*slots));
	slots[i] = (bpfvm_map_slot){ .key = key, .target = target };
	m->slots = slots;
	m->slot_count = n + 1;
	return 0;
}

int ldr_maps_collect_slots(struct ldr *l, uint32_t rel_sec)
{
	const struct ldr_sec *rs = &l->secs[rel_sec];
	const struct btf *btf = l->obj->btf;
	const struct btf_type *sec_t = btf && l->maps_datasec_id ?
	                               btf__type_by_id(btf, l->maps_datasec_id) : NULL;
	if (!sec_t)
		return ldr_fail(l, -EINVAL, "section '%.64s': relocations of .maps without BTF maps",
		                rs->name);
	size_t count = rs->size / sizeof(Elf64_Rel);
	for (size_t i = 0; i < count; i++) {
		Elf64_Rel rel;
		memcpy(&rel, rs->data + i * sizeof rel, sizeof rel);
		size_t sym_idx = ELF64_R_SYM(rel.r_info);
		if (sym_idx >= l->sym_count)
			return ldr_fail(l, -ENOEXEC, "section '%.64s': relocation #%zu: symbol #%zu out "
			                "of range (%zu symbols)", rs->name, i, sym_idx, l->sym_count);
		const Elf64_Sym *sym = &l->syms[sym_idx];
		const char *name = ldr_sym_name(l, sym);
		if (!name)
			name = "<?>";

		/* The BTF map whose variable holds the 8-byte slot. */
		uint32_t map_idx = LDR_NONE;
		for (uint32_t j = 0; j < l->obj->map_count; j++) {
			const struct ldr_map_place *p = &l->places[j];
			if (p->sec != l->maps_sec || p->var == LDR_NONE)
				continue;
			if (p->off <= rel.r_offset && rel.r_offset + 8 <= p->off + p->size) {
				map_idx = j;
				break;
			}
		}
		if (map_idx == LDR_NONE)
			return ldr_fail(l, -EINVAL, "section '%.64s': relocation #%zu against '%.64s': "
			                "no map holds offset %#llx of .maps", rs->name, i, name,
			                (unsigned long long)rel.r_offset);
		bpfvm_object_map *m = &l->obj->maps[map_idx];
		uint32_t type = m->attrs.type, target;
		if (type == BPF_MAP_TYPE_ARRAY_OF_MAPS || type == BPF_MAP_TYPE_HASH_OF_MAPS) {
			if (sym->st_shndx != l->maps_sec)
				return ldr_fail(l, -EINVAL, "map '%.64s': slot value '%.64s' (relocation #%zu "
				                "of '%.64s') is not a BTF-defined map", m->name, name, i,
				                rs->name);
			if (type == BPF_MAP_TYPE_HASH_OF_MAPS && m->attrs.key_size != sizeof(int))
				return ldr_fail(l, -EINVAL, "map '%.64s': a hash of maps with initial values "
				                "needs a 4-byte key, not %u bytes", m->name,
				                m->attrs.key_size);
			int t = bpfvm_object_find_map(l->obj, name);
			if (t < 0)
				return ldr_fail(l, -ESRCH, "map '%.64s': slot value '%.64s' is not a map of "
				                "this object", m->name, name);
			target = (uint32_t)t;
		} else if (type == BPF_MAP_TYPE_PROG_ARRAY) {
			int t = bpfvm_object_find_prog(l->obj, name);
			const struct ldr_func *f = NULL;
			for (size_t k = 0; t >= 0 && k < l->func_count && !f; k++)
				if (l->funcs[k].entry && l->funcs[k].prog == (uint32_t)t)
					f = &l->funcs[k];
			if (t < 0)
				return ldr_fail(l, -ESRCH, "map '%.64s': slot value '%.64s' is not a program "
				                "of this object", m->name, name);
			if (!f || f->sec != sym->st_shndx ||
			    (uint64_t)f->off * LDR_INSN_SIZE != sym->st_value)
				return ldr_fail(l, -EINVAL, "map '%.64s': slot value '%.64s' is not an "
				                "entry-point program", m->name, name);
			target = (uint32_t)t;
		} else {
			return ldr_fail(l, -EINVAL, "map '%.64s' (type %u) has a relocated initial value "
			                "(relocation #%zu of '%.64s'); only prog_array and map-in-map "
			                "maps have initial slots", m->name, type, i, rs->name);
		}

		/* The slot: which pointer of the trailing 'values' array. */
		const struct btf_var_secinfo *vi = btf_var_secinfos(sec_t) + l->places[map_idx].var;
		const struct btf_type *var = btf__type_by_id(btf, vi->type);
		const struct btf_type *def = var ? skip_mods(btf, var->type) : NULL;
		uint16_t vlen = def ? btf_vlen(def) : 0;
		const struct btf_member *last = vlen ? btf_members(def) + vlen - 1 : NULL;
		const char *mname = last ? btf__name_by_offset(btf, last->name_off) : NULL;
		if (!mname || strcmp(mname, "values") != 0)
			return ldr_fail(l, -EINVAL, "map '%.64s': relocated initial value but no "
			                "trailing 'values' field", m->name);
		uint64_t moff = btf_member_bit_offset(def, vlen - 1) / 8;
		uint64_t rel_off = rel.r_offset - vi->offset;
		if (rel_off < moff || (rel_off - moff) % 8)
			return ldr_fail(l, -EINVAL, "map '%.64s': relocation #%zu at offset %#llx is not a "
			                "slot of 'values'", m->name, i, (unsigned long long)rel.r_offset);
		uint64_t key = (rel_off - moff) / 8;
		if (key >= m->attrs.max_entries)
			return ldr_fail(l, -E2BIG, "map '%.64s': initial slot %llu is beyond max_entries "
			                "%u", m->name, (unsigned long long)key, m->attrs.max_entries);
		int rc = add_slot(l, m, (uint32_t)key, target);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- sizes set before creation (libbpf's bpf_map__set_*) --------------- */

enum map_size_field { SIZE_MAX_ENTRIES, SIZE_KEY, SIZE_VALUE };

/* The attributes `name` denotes: a map's, or "NAME.inner" for its inner
 * map's.  NULL (and err set) if none may be changed. */
static bpfvm_map_attrs *sized_attrs(bpfvm_object *obj, const char *name, enum map_size_field field,
                                    bpfvm_error *err)
{
	static const char *const what[] = { "max_entries", "key_size", "value_size" };
	size_t len = name ? strlen(name) : 0;
	bool inner = len > 6 && !strcmp(name + len - 6, ".inner");
	for (size_t i = 0; obj && name && i < obj->map_count; i++) {
		bpfvm_object_map *m = &obj->maps[i];
		if (inner ? !(m->has_inner && !strcmp(m->inner_name, name)) : strcmp(m->name, name))
			continue;
		if (m->origin == BPFVM_MAP_DATA || m->origin == BPFVM_MAP_RODATA || m->origin == BPFVM_MAP_BSS ||
		    m->origin == BPFVM_MAP_KCONFIG || (inner && field != SIZE_MAX_ENTRIES)) {
			error_set(err, -EOPNOTSUPP, -1, "map '%.64s': its %s cannot be set (%s)", name, what[field],
			          inner ? "only an inner map's max_entries can" : "its section's layout fixes it");
			return NULL;
		}
		return inner ? &m->inner : &m->attrs;
	}
	error_set(err, -ENOENT, -1, "no map named '%.64s' in the object", name ? name : "(null)");
	return NULL;
}

static int set_map_size(bpfvm_object *obj, const char *name, enum map_size_field field, uint32_t value,
                        bpfvm_error *err)
{
	bpfvm_error local;
	bpfvm_map_attrs *a = sized_attrs(obj, name, field, err ? err : &local);
	if (!a)
		return err ? err->code : local.code;
	if (value == 0)
		return error_set(err, -EINVAL, -1, "map '%.64s': a size of 0", name);
	if (field == SIZE_MAX_ENTRIES)
		a->max_entries = a->type == BPF_MAP_TYPE_RINGBUF ? adjust_ringbuf_size(value) : value;
	else if (field == SIZE_KEY)
		a->key_size = value;
	else
		a->value_size = value;
	/* the BTF types no longer describe a resized key or value (libbpf
	 * ends the same: the kernel refuses the mismatch and libbpf creates
	 * the map again without BTF) */
	if (field == SIZE_KEY)
		a->btf_key_type_id = 0;
	if (field == SIZE_VALUE) {
		a->btf_value_type_id = 0;
		a->spin_lock_off = -1;
		a->fields = (bpfvm_map_fields){ .timer_off = -1, .wq_off = -1 };
	}
	return 0;
}

int bpfvm_object_map_set_max_entries(bpfvm_object *obj, const char *name, uint32_t max_entries, bpfvm_error *err)
{
	return set_map_size(obj, name, SIZE_MAX_ENTRIES, max_entries, err);
}

int bpfvm_object_map_set_key_size(bpfvm_object *obj, const char *name, uint32_t key_size, bpfvm_error *err)
{
	return set_map_size(obj, name, SIZE_KEY, key_size, err);
}

int bpfvm_object_map_set_value_size(bpfvm_object *obj, const char *name, uint32_t value_size, bpfvm_error *err)
{
	return set_map_size(obj, name, SIZE_VALUE, value_size, err);
}
