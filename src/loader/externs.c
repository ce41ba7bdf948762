/*
 * externs.c - extern symbols of an object, as libbpf 1.1.2 collects and
 * resolves them (bpf_object__collect_externs, bpf_object__resolve_externs):
 *
 *   __kconfig (DATASEC .kconfig): laid out in one internal map, ".kconfig"
 *     (read-only to programs, so the verifier reads its values as
 *     constants), sorted as libbpf sorts them (alignment descending, size
 *     ascending, name) and each placed at its alignment.  Values: the
 *     virtual LINUX_* externs, then CONFIG_* lines of the caller's extra
 *     Kconfig text (bpfvm_object_open_opts.kconfig, libbpf's kconfig
 *     option), then /boot/config-$(uname -r) or /proc/config.gz for what
 *     is still unset.  Typing as libbpf: bool (y/n, 0/1), enum
 *     libbpf_tristate (y/n/m), char (y/n/m or a number), char arrays
 *     ("string"), integers of 1, 2, 4 or 8 bytes (range-checked).
 *   __ksym (DATASEC .ksyms): kernel variables, typed or typeless, which
 *     bpfvm (in user space) never has: a weak one reads as 0 (the lddw
 *     becomes a plain 0, as libbpf's unresolved weak ksym), a strong one
 *     is refused naming it.  Extern functions (kfuncs) stay symbolic: a
 *     call with src BPFVM_PSEUDO_KFUNC_CALL and imm = the extern's index,
 *     resolved by name when an instance loads the program.
 *
 * Weak externs libbpf cannot resolve default to zero; a strong one is an
 * error naming it.  One difference: libbpf fails when no system Kconfig
 * can be read even if every CONFIG_ extern is weak; bpfvm reads them as 0
 * then and fails only for a strong one, naming it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <linux/btf.h>
#include <bpf/btf.h>
#include <zlib.h>

#include "loader/loader.h"

#define KCONFIG_SEC ".kconfig"
#define KSYMS_SEC ".ksyms"
#define MAX_MODS_DEPTH 32

/* libbpf's enum libbpf_tristate */
enum { TRI_NO = 0, TRI_YES = 1, TRI_MODULE = 2 };

/* The answers bpfvm gives libbpf's virtual externs. */
/* LINUX_HAS_BPF_COOKIE: libbpf probes for bpf_get_attach_cookie; bpfvm has
 * no such helper (nothing attaches a cookie), so usdt.bpf.h takes its
 * path that does not need one. */
#define BPFVM_HAS_BPF_COOKIE 0
/* LINUX_HAS_SYSCALL_WRAPPER: with a wrapper the kernel passes a syscall's
 * handler a pt_regs pointer whose PARM1 points at the user's registers;
 * bpfvm's kprobe test runs pass the syscall's arguments in the context's
 * own pt_regs, as a kernel without wrappers does. */
#define BPFVM_HAS_SYSCALL_WRAPPER 0

static const struct btf_type *skip_mods(const struct btf *btf, uint32_t id, uint32_t *res_id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	for (int depth = 0; t && (btf_is_mod(t) || btf_is_typedef(t)); depth++) {
		if (depth >= MAX_MODS_DEPTH)
			return NULL;
		id = t->type;
		t = btf__type_by_id(btf, id);
	}
	if (res_id)
		*res_id = id;
	return t;
}

/* libbpf's find_kcfg_type(). */
static enum ldr_kcfg_type kcfg_type_of(const struct btf *btf, uint32_t id, bool *is_signed, int depth)
{
	const struct btf_type *t = skip_mods(btf, id, NULL);
	if (is_signed)
		*is_signed = false;
	if (!t || depth > MAX_MODS_DEPTH)
		return KCFG_UNKNOWN;
	const char *name = btf__name_by_offset(btf, t->name_off);
	switch (btf_kind(t)) {
	case BTF_KIND_INT: {
		int enc = btf_int_encoding(t);
		if (enc & BTF_INT_BOOL)
			return t->size == 1 ? KCFG_BOOL : KCFG_UNKNOWN;
		if (is_signed)
			*is_signed = enc & BTF_INT_SIGNED;
		if (t->size == 1)
			return KCFG_CHAR;
		if (t->size < 1 || t->size > 8 || (t->size & (t->size - 1)))
			return KCFG_UNKNOWN;
		return KCFG_INT;
	}
	case BTF_KIND_ENUM:
		return t->size == 4 && name && !strcmp(name, "libbpf_tristate") ? KCFG_TRISTATE : KCFG_UNKNOWN;
	case BTF_KIND_ENUM64:
		return name && !strcmp(name, "libbpf_tristate") ? KCFG_TRISTATE : KCFG_UNKNOWN;
	case BTF_KIND_ARRAY:
		if (btf_array(t)->nelems == 0 || kcfg_type_of(btf, btf_array(t)->type, NULL, depth + 1) != KCFG_CHAR)
			return KCFG_UNKNOWN;
		return KCFG_CHAR_ARR;
	default:
		return KCFG_UNKNOWN;
	}
}

/* libbpf's find_extern_btf_id(): the VAR or FUNC of that name, which must
 * be extern.  0 if none, -1 if it is not extern. */
static int64_t extern_btf_id(const struct btf *btf, const char *name)
{
	uint32_t n = btf__type_cnt(btf);
	for (uint32_t id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!btf_is_var(t) && !btf_is_func(t))
			continue;
		const char *tn = btf__name_by_offset(btf, t->name_off);
		if (!tn || strcmp(tn, name))
			continue;
		if (btf_is_var(t) && btf_var(t)->linkage != BTF_VAR_GLOBAL_EXTERN)
			return -1;
		if (btf_is_func(t) && BTF_INFO_VLEN(t->info) != BTF_FUNC_EXTERN)
			return -1;
		return id;
	}
	return 0;
}

/* libbpf's find_extern_sec_btf_id(): the DATASEC listing type `id`. */
static uint32_t extern_datasec(const struct btf *btf, uint32_t id)
{
	uint32_t n = btf__type_cnt(btf);
	for (uint32_t i = 1; i < n; i++) {
		const struct btf_type *t = btf__type_by_id(btf, i);
		if (!btf_is_datasec(t))
			continue;
		const struct btf_var_secinfo *vs = btf_var_secinfos(t);
		for (uint16_t k = 0; k < btf_vlen(t); k++)
			if (vs[k].type == id)
				return i;
	}
	return 0;
}

static bool sym_is_extern(const Elf64_Sym *sym)
{
	int bind = ELF64_ST_BIND(sym->st_info);
	return sym->st_shndx == SHN_UNDEF && (bind == STB_GLOBAL || bind == STB_WEAK) &&
	       ELF64_ST_TYPE(sym->st_info) == STT_NOTYPE;
}

static int describe_kcfg(struct ldr *l, struct ldr_extern *e, const struct btf_type *var)
{
	const struct btf *btf = l->obj->btf;
	if (btf_is_func(var))
		return ldr_fail(l, -ENOTSUP, "extern function '%.64s' is unsupported under the %s section", e->name,
		                KCONFIG_SEC);
	int64_t size = btf__resolve_size(btf, var->type);
	int align = btf__align_of(btf, var->type);
	if (size <= 0 || size > 4096 || align <= 0)
		return ldr_fail(l, -EINVAL, "extern (kcfg) '%.64s': cannot resolve its size or alignment", e->name);
	e->kind = LDR_EXTERN_KCFG;
	e->size = (uint32_t)size;
	e->align = (uint32_t)align;
	e->kcfg_type = kcfg_type_of(btf, var->type, &e->is_signed, 0);
	if (e->kcfg_type == KCFG_UNKNOWN)
		return ldr_fail(l, -ENOTSUP, "extern (kcfg) '%.64s': type is unsupported (bool, enum "
		                "libbpf_tristate, char, char[N] or an integer of 1, 2, 4 or 8 bytes)", e->name);
	return 0;
}

static int describe_extern(struct ldr *l, uint32_t sym_idx, struct ldr_extern *e)
{
	const struct btf *btf = l->obj->btf;
	const Elf64_Sym *sym = &l->syms[sym_idx];
	const char *name = ldr_sym_name(l, sym);
	if (!btf)
		return ldr_fail(l, -ENOENT, "extern '%.64s' needs BTF to describe it, but the object has no .BTF", name);
	int64_t id = extern_btf_id(btf, name);
	if (id <= 0)
		return ldr_fail(l, id ? -EINVAL : -ENOENT, "extern '%.64s': %s", name,
		                id ? "its BTF VAR or FUNC is not extern" : "no BTF VAR or FUNC describes it");
	const struct btf_type *t = btf__type_by_id(btf, (uint32_t)id);
	*e = (struct ldr_extern){ .sym = sym_idx, .btf_id = (uint32_t)id,
	                          .weak = ELF64_ST_BIND(sym->st_info) == STB_WEAK };
	if (!(e->name = ldr_strdup(l, name)))
		return ldr_nomem(l, "extern name");
	uint32_t sec_id = extern_datasec(btf, (uint32_t)id);
	const char *sec_name = sec_id ? btf__name_by_offset(btf, btf__type_by_id(btf, sec_id)->name_off) : NULL;
	if (!sec_name)
		return ldr_fail(l, -ENOENT, "extern '%.64s': no DATASEC lists it", name);
	if (!strcmp(sec_name, KCONFIG_SEC)) {
		l->kcfg_datasec = sec_id;
		return describe_kcfg(l, e, t);
	}
	if (strcmp(sec_name, KSYMS_SEC))
		return ldr_fail(l, -ENOTSUP, "extern '%.64s': unrecognized extern section '%.64s'", name, sec_name);
	e->kind = btf_is_func(t) ? LDR_EXTERN_KFUNC : LDR_EXTERN_KSYM;
	uint32_t type_id = 0;
	skip_mods(btf, t->type, &type_id);
	e->typed = type_id != 0 && !btf_is_void(btf__type_by_id(btf, type_id));
	return 0;
}

/* libbpf's cmp_externs(): kconfig before ksyms; kconfig ones by alignment
 * (descending), then size (ascending); ties by name. */
static int cmp_externs(const void *a, const void *b)
{
	const struct ldr_extern *x = a, *y = b;
	bool xk = x->kind == LDR_EXTERN_KCFG, yk = y->kind == LDR_EXTERN_KCFG;
	if (xk != yk)
		return xk ? -1 : 1;
	if (xk) {
		if (x->align != y->align)
			return x->align > y->align ? -1 : 1;
		if (x->size != y->size)
			return x->size < y->size ? -1 : 1;
	}
	return strcmp(x->name, y->name);
}

static int cmp_secinfo_off(const void *a, const void *b)
{
	const struct btf_var_secinfo *x = a, *y = b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* As libbpf: the .kconfig DATASEC describes the map's value (each VAR now
 * allocated at its offset, sorted by offset). */
static void fix_kcfg_datasec(struct ldr *l)
{
	struct btf *btf = l->obj->btf;
	struct btf_type *sec = (struct btf_type *)btf__type_by_id(btf, l->kcfg_datasec);
	struct btf_var_secinfo *vs = btf_var_secinfos(sec);
	sec->size = l->kcfg_size;
	for (uint16_t i = 0; i < btf_vlen(sec); i++) {
		struct btf_type *var = (struct btf_type *)btf__type_by_id(btf, vs[i].type);
		const char *name = btf__name_by_offset(btf, var->name_off);
		for (size_t k = 0; k < l->extern_count; k++)
			if (l->externs[k].kind == LDR_EXTERN_KCFG && !strcmp(l->externs[k].name, name)) {
				vs[i].offset = l->externs[k].off;
				vs[i].size = l->externs[k].size;
				if (btf_is_var(var))
					btf_var(var)->linkage = BTF_VAR_GLOBAL_ALLOCATED;
			}
	}
	qsort(vs, btf_vlen(sec), sizeof *vs, cmp_secinfo_off);
}

int ldr_externs_collect(struct ldr *l)
{
	size_t n = 0;
	for (size_t i = 0; i < l->sym_count; i++) {
		const char *name = ldr_sym_name(l, &l->syms[i]);
		if (sym_is_extern(&l->syms[i]) && name && *name)
			n++;
	}
	if (n == 0)
		return 0;
	l->externs = calloc(n, sizeof *l->externs);
	if (!l->externs)
		return ldr_nomem(l, "externs");
	l->obj->externs = l->externs;   /* kfunc calls name them after opening */
	for (size_t i = 0; i < l->sym_count; i++) {
		const char *name = ldr_sym_name(l, &l->syms[i]);
		if (!sym_is_extern(&l->syms[i]) || !name || !*name)
			continue;
		int rc = describe_extern(l, (uint32_t)i, &l->externs[l->extern_count]);
		if (rc)
			return rc;
		l->extern_count++;
	}
	l->obj->extern_count = l->extern_count;
	qsort(l->externs, l->extern_count, sizeof *l->externs, cmp_externs);
	uint64_t off = 0;
	for (size_t i = 0; i < l->extern_count; i++) {
		struct ldr_extern *e = &l->externs[i];
		if (e->kind != LDR_EXTERN_KCFG)
			continue;
		off = (off + e->align - 1) / e->align * e->align;
		e->off = (uint32_t)off;
		off += e->size;
	}
	l->kcfg_size = (uint32_t)off;
	if (l->kcfg_size)
		fix_kcfg_datasec(l);
	return 0;
}

int ldr_extern_of_sym(const struct ldr *l, uint32_t sym_idx)
{
	for (size_t i = 0; i < l->extern_count; i++)
		if (l->externs[i].sym == sym_idx)
			return (int)i;
	return -1;
}

/* ---- values ---------------------------------------------------------- */

static struct ldr_extern *find_kcfg(struct ldr *l, const char *name)
{
	for (size_t i = 0; i < l->extern_count; i++)
		if (l->externs[i].kind == LDR_EXTERN_KCFG && !strcmp(l->externs[i].name, name))
			return &l->externs[i];
	return NULL;
}

/* libbpf's is_kcfg_value_in_range(). */
static bool fits(const struct ldr_extern *e, uint64_t v)
{
	unsigned bits = e->size * 8;
	if (e->size == 8)
		return true;
	if (e->is_signed)
		return v + (1ull << (bits - 1)) < (1ull << bits);
	return (v >> bits) == 0;
}

/* libbpf's set_kcfg_value_num(). */
static int set_num(struct ldr *l, struct ldr_extern *e, uint64_t v)
{
	if (e->kcfg_type != KCFG_INT && e->kcfg_type != KCFG_CHAR && e->kcfg_type != KCFG_BOOL)
		return ldr_fail(l, -EINVAL, "extern (kcfg) '%.64s': value '%llu' implies integer, char, or boolean "
		                "type", e->name, (unsigned long long)v);
	if (e->kcfg_type == KCFG_BOOL && v > 1)
		return ldr_fail(l, -EINVAL, "extern (kcfg) '%.64s': value '%llu' isn't boolean compatible", e->name,
		                (unsigned long long)v);
	if (e->kcfg_type != KCFG_BOOL && !fits(e, v))
		return ldr_fail(l, -ERANGE, "extern (kcfg) '%.64s': value '%llu' doesn't fit in %u bytes", e->name,
		                (unsigned long long)v, e->size);
	uint8_t *dst = l->kcfg_data + e->off;
	switch (e->size) {
	case 1: { uint8_t x = (uint8_t)v; memcpy(dst, &x, 1); break; }
	case 2: { uint16_t x = (uint16_t)v; memcpy(dst, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)v; memcpy(dst, &x, 4); break; }
	case 8: memcpy(dst, &v, 8); break;
	default:
		return ldr_fail(l, -ERANGE, "extern (kcfg) '%.64s': %u bytes is no integer size", e->name, e->size);
	}
	e->is_set = true;
	return 0;
}

/* libbpf's set_kcfg_value_tri(). */
static int set_tri(struct ldr *l, struct ldr_extern *e, char v)
{
	uint8_t *dst = l->kcfg_data + e->off;
	switch (e->kcfg_type) {
	case KCFG_BOOL:
		if (v == 'm')
			return ldr_fail(l, -EINVAL, "extern (kcfg) '%.64s': value 'm' implies tristate or char type",
			                e->name);
		*dst = v == 'y';
		break;
	case KCFG_TRISTATE: {
		uint32_t tri = v == 'y' ? TRI_YES : v == 'm' ? TRI_MODULE : TRI_NO;
		memcpy(dst, &tri, sizeof tri);
		break;
	}
	case KCFG_CHAR:
		*dst = (uint8_t)v;
		break;
	default:
		return ldr_fail(l, -EINVAL, "extern (kcfg) '%.64s': value '%c' implies bool, tristate, or char type",
		                e->name, v);
	}
	e->is_set = true;
	return 0;
}

/* libbpf's set_kcfg_value_str(): "text" into a char array, truncated to
 * fit with its terminating NUL. */
static int set_str(struct ldr *l, struct ldr_extern *e, const char *v)
{
	size_t len = strlen(v);
	if (e->kcfg_type != KCFG_CHAR_ARR)
		return ldr_fail(l, -EINVAL, "extern (kcfg) '%.64s': value '%.64s' implies char array type", e->name, v);
	if (len < 2 || v[len - 1] != '"')
		return ldr_fail(l, -EINVAL, "extern (kcfg) '%.64s': invalid string config '%.64s'", e->name, v);
	len -= 2;
	if (len >= e->size)
		len = e->size - 1;
	memcpy(l->kcfg_data + e->off, v + 1, len);
	l->kcfg_data[e->off + len] = 0;
	e->is_set = true;
	return 0;
}

/* libbpf's bpf_object__process_kconfig_line(). */
static int kconfig_line(struct ldr *l, char *buf, const char *from)
{
	if (strncmp(buf, "CONFIG_", 7))
		return 0;
	char *sep = strchr(buf, '=');
	if (!sep)
		return ldr_fail(l, -EINVAL, "%s: failed to parse '%.64s': no separator", from, buf);
	size_t len = strlen(buf);
	if (buf[len - 1] == '\n')
		buf[len - 1] = 0;
	*sep = 0;
	if (!sep[1])
		return ldr_fail(l, -EINVAL, "%s: failed to parse '%.64s': no value", from, buf);
	struct ldr_extern *e = find_kcfg(l, buf);
	if (!e || e->is_set)
		return 0;
	const char *value = sep + 1;
	if (*value == 'y' || *value == 'n' || *value == 'm')
		return set_tri(l, e, *value);
	if (*value == '"')
		return set_str(l, e, value);
	char *end;
	errno = 0;
	unsigned long long num = strtoull(value, &end, 0);
	if (errno || *end)
		return ldr_fail(l, -EINVAL, "extern (kcfg) '%.64s': value '%.64s' isn't a valid integer", e->name, value);
	if (e->kcfg_type != KCFG_INT && e->kcfg_type != KCFG_CHAR)
		return ldr_fail(l, -EINVAL, "extern (kcfg) '%.64s': value '%.64s' implies integer type", e->name, value);
	return set_num(l, e, num);
}

static int read_kconfig_text(struct ldr *l, const char *text)
{
	char buf[4096];
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) + 1 : strlen(text);
		size_t take = len < sizeof buf - 1 ? len : sizeof buf - 1;   /* as fgets: a long line is cut */
		memcpy(buf, text, take);
		buf[take] = 0;
		text += take;
		int rc = kconfig_line(l, buf, "kconfig option");
		if (rc)
			return rc;
	}
	return 0;
}

/* /boot/config-RELEASE, else /proc/config.gz (gzopen reads either);
 * *found false if neither opens. */
static int read_system_kconfig(struct ldr *l, bool *found)
{
	struct utsname u;
	char path[128 + sizeof u.release];
	gzFile f = NULL;
	if (uname(&u) == 0) {
		snprintf(path, sizeof path, "/boot/config-%s", u.release);
		f = gzopen(path, "re");
	}
	if (!f) {
		snprintf(path, sizeof path, "/proc/config.gz");
		f = gzopen(path, "re");
	}
	*found = f != NULL;
	if (!f)
		return 0;
	char buf[4096];
	int rc = 0;
	while (!rc && gzgets(f, buf, sizeof buf))
		rc = kconfig_line(l, buf, path);
	gzclose(f);
	return rc;
}

/* libbpf 1.1.2's get_kernel_version(): Ubuntu's /proc/version_signature,
 * else uname's release as MAJOR.MINOR.PATCH (patch capped at 255). */
static uint32_t kernel_version(void)
{
	unsigned major, minor, patch;
	FILE *f = fopen("/proc/version_signature", "re");
	if (f) {
		int got = fscanf(f, "%*s %*s %u.%u.%u\n", &major, &minor, &patch);
		fclose(f);
		if (got == 3)
			return (major << 16) + (minor << 8) + (patch > 255 ? 255 : patch);
	}
	struct utsname u;
	if (uname(&u) || sscanf(u.release, "%u.%u.%u", &major, &minor, &patch) != 3)
		return 0;
	return (major << 16) + (minor << 8) + (patch > 255 ? 255 : patch);
}

/* LINUX_* externs, which libbpf fills itself; unknown ones are 0 when
 * weak, else an error. */
static int set_virtual(struct ldr *l, struct ldr_extern *e)
{
	uint64_t value = 0;
	if (!strcmp(e->name, "LINUX_KERNEL_VERSION")) {
		value = kernel_version();
		if (!value)
			return ldr_fail(l, -EINVAL, "extern (kcfg) '%.64s': failed to get kernel version", e->name);
	} else if (!strcmp(e->name, "LINUX_HAS_BPF_COOKIE")) {
		value = BPFVM_HAS_BPF_COOKIE;
	} else if (!strcmp(e->name, "LINUX_HAS_SYSCALL_WRAPPER")) {
		value = BPFVM_HAS_SYSCALL_WRAPPER;
	} else if (strncmp(e->name, "LINUX_", 6) || !e->weak) {
		return ldr_fail(l, -EINVAL, "extern (kcfg) '%.64s': unrecognized virtual extern (only CONFIG_* and "
		                "libbpf's LINUX_* externs are known)", e->name);
	}
	return set_num(l, e, value);
}

static int resolve_kconfig(struct ldr *l)
{
	bool need_config = false;
	for (size_t i = 0; i < l->extern_count; i++) {
		struct ldr_extern *e = &l->externs[i];
		if (e->kind != LDR_EXTERN_KCFG)
			continue;
		if (!strncmp(e->name, "CONFIG_", 7)) {
			need_config = true;
			continue;
		}
		int rc = set_virtual(l, e);
		if (rc)
			return rc;
	}
	if (need_config && l->kconfig_text) {
		int rc = read_kconfig_text(l, l->kconfig_text);
		if (rc)
			return rc;
		need_config = false;
		for (size_t i = 0; i < l->extern_count; i++)
			need_config |= l->externs[i].kind == LDR_EXTERN_KCFG && !l->externs[i].is_set;
	}
	bool found = true;
	if (need_config) {
		int rc = read_system_kconfig(l, &found);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < l->extern_count; i++) {
		const struct ldr_extern *e = &l->externs[i];
		if (e->kind == LDR_EXTERN_KCFG && !e->is_set && !e->weak)
			return ldr_fail(l, -ESRCH, "extern (kcfg) '%.64s' (strong): not resolved: %s", e->name,
			                found ? "not set in the Kconfig (give it with --kconfig FILE)"
			                      : "no Kconfig (/boot/config-RELEASE, /proc/config.gz); give one with "
			                        "--kconfig FILE");
	}
	return 0;
}

/* bpfvm runs in user space: no kernel variable exists to point at. */
static int resolve_ksyms(struct ldr *l)
{
	for (size_t i = 0; i < l->extern_count; i++) {
		const struct ldr_extern *e = &l->externs[i];
		if (e->kind == LDR_EXTERN_KSYM && !e->weak)
			return ldr_fail(l, -ESRCH, "extern '%.64s' (__ksym, strong): a kernel %s variable, which bpfvm (in "
			                "user space) does not provide; declare it __weak to read it as 0", e->name,
			                e->typed ? "typed" : "typeless");
	}
	return 0;
}

int ldr_externs_resolve(struct ldr *l)
{
	if (l->kcfg_size && l->kcfg_map == LDR_NONE)
		return ldr_fail(l, -EINVAL, "the .kconfig map was not made");
	int rc = resolve_kconfig(l);
	if (!rc)
		rc = resolve_ksyms(l);
	return rc;
}
