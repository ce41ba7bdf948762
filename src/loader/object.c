/*
 * object.c - the loader's public face (include/bpfvm/object.h): opening a
 * file or a buffer, the pipeline of stages, the accessors, and the shared
 * little tools of the stages (errors, the string arena, symbol and
 * section lookups).
 *
 * The pipeline follows libbpf 1.1's bpf_object_open(): ELF, then BTF and
 * its fix-ups, then maps, then programs and their relocations -- plus the
 * linking libbpf does only at load time, since bpfvm's programs are used
 * straight from the object.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/btf.h>

#include "base/opts.h"
#include "isa/isa.h"
#include "loader/loader.h"

/* Larger files are refused rather than read: no eBPF object is near. */
#define LDR_MAX_FILE_SIZE ((size_t)1 << 30)

struct ldr_arena_block {
	struct ldr_arena_block *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

/* ---- shared tools ---------------------------------------------------- */

int ldr_fail(struct ldr *l, int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* A long path keeps its end: the file name matters most. */
	size_t len = strlen(l->display);
	const char *shown = len > 60 ? l->display + len - 57 : l->display;
	return error_set(l->err, code, -1, "%s%s: %s", len > 60 ? "..." : "", shown, msg);
}

int ldr_nomem(struct ldr *l, const char *what)
{
	return ldr_fail(l, -ENOMEM, "out of memory (%s)", what);
}

void *ldr_arena_alloc(struct ldr *l, size_t size)
{
	struct bpfvm_object *o = l->obj;
	struct ldr_arena_block *b = o->arena;
	size_t need = (size + 15) & ~(size_t)15;
	if (need < size)
		return NULL;
	if (!b || b->cap - b->used < need) {
		size_t cap = need > 4096 ? need : 4096;
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = o->arena;
		b->used = 0;
		b->cap = cap;
		o->arena = b;
	}
	void *p = b->data + b->used;
	b->used += need;
	return p;
}

char *ldr_strdup(struct ldr *l, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = ldr_arena_alloc(l, n);
	if (p)
		memcpy(p, s, n);
	return p;
}

const char *ldr_sym_name(struct ldr *l, const Elf64_Sym *sym)
{
	return elf_strptr(l->elf, l->strtab_sec, sym->st_name);
}

const char *ldr_sym_label(struct ldr *l, const Elf64_Sym *sym)
{
	if (ELF64_ST_TYPE(sym->st_info) == STT_SECTION && sym->st_name == 0)
		return sym->st_shndx && sym->st_shndx < l->sec_count ? l->secs[sym->st_shndx].name
		                                                      : NULL;
	return ldr_sym_name(l, sym);
}

int ldr_find_sec_by_name(const struct ldr *l, const char *name)
{
	for (size_t i = 1; i < l->sec_count; i++)
		if (l->secs[i].name && strcmp(l->secs[i].name, name) == 0)
			return (int)i;
	return -1;
}

struct ldr_func *ldr_func_at(struct ldr *l, uint32_t sec, uint32_t insn)
{
	if (sec >= l->sec_count)
		return NULL;
	const struct ldr_sec *s = &l->secs[sec];
	size_t lo = s->first_func, hi = (size_t)s->first_func + s->func_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct ldr_func *f = &l->funcs[mid];
		if (insn < f->off)
			hi = mid;
		else if (insn - f->off >= f->count)
			lo = mid + 1;
		else
			return f;
	}
	return NULL;
}

/* ---- opening ---------------------------------------------------------- */

static void ldr_cleanup(struct ldr *l)
{
	if (l->elf)
		elf_end(l->elf);
	for (size_t i = 0; l->secs && i < l->sec_count; i++)
		free(l->secs[i].rels);
	free(l->secs);
	free(l->syms);
	free(l->funcs);
	free(l->places);
	free(l->maps_by_place);
	free(l->core_relos);
	free(l->image);
}

/* libbpf's object name: at most 15 characters, cut at the first '.'. */
static void set_object_name(struct bpfvm_object *o, const char *name)
{
	snprintf(o->name, sizeof o->name, "%s", name);
	char *dot = strchr(o->name, '.');
	if (dot)
		*dot = 0;
}

static int run_pipeline(struct ldr *l)
{
	int rc = ldr_elf_open(l);
	if (!rc)
		rc = ldr_elf_collect(l);
	if (!rc)
		rc = ldr_btf_load(l);
	if (!rc)
		rc = ldr_btf_ext_load(l);
	if (!rc)
		rc = ldr_programs_init(l);
	if (!rc)
		rc = ldr_externs_collect(l);
	if (!rc)
		rc = ldr_core_apply(l);
	if (!rc)
		rc = ldr_maps_collect(l);
	if (!rc)
		rc = ldr_externs_resolve(l);
	if (!rc)
		rc = ldr_relocs_collect(l);
	if (!rc)
		rc = ldr_link_programs(l);
	if (!rc)
		rc = ldr_core_place(l);
	if (!rc)
		rc = ldr_attach_resolve(l);
	return rc;
}

/* Takes ownership of image (malloc'd). */
static int open_image(uint8_t *image, size_t len, const char *display, const char *obj_name,
                      const char *kconfig, const char *btf_custom_path, bpfvm_object **out, bpfvm_error *err)
{
	struct ldr l = { .err = err, .display = display, .image = image, .image_len = len,
	                 .kconfig_text = kconfig, .btf_custom_path = btf_custom_path };
	*out = NULL;
	l.obj = calloc(1, sizeof(*l.obj));
	if (!l.obj) {
		free(image);
		return ldr_nomem(&l, "object");
	}
	set_object_name(l.obj, obj_name);
	int rc = run_pipeline(&l);
	ldr_cleanup(&l);
	if (rc) {
		bpfvm_object_free(l.obj);
		return rc;
	}
	if (err)
		memset(err, 0, sizeof *err);
	*out = l.obj;
	return 0;
}

int bpfvm_object_open_mem(const void *buf, size_t len, const char *name, bpfvm_object **out,
                          bpfvm_error *err)
{
	char default_name[64];
	if (!out || (!buf && len))
		return error_set(err, -EINVAL, -1, "bpfvm_object_open_mem: NULL argument");
	*out = NULL;
	if (!name) {
		/* libbpf names an unnamed buffer after its address and size. */
		snprintf(default_name, sizeof default_name, "%lx-%lx", (unsigned long)(uintptr_t)buf,
		         (unsigned long)len);
		name = default_name;
	}
	uint8_t *image = malloc(len ? len : 1);
	if (!image)
		return error_set(err, -ENOMEM, -1, "%.60s: out of memory copying %zu bytes", name, len);
	if (len)
		memcpy(image, buf, len);
	return open_image(image, len, name, name, NULL, NULL, out, err);
}

/* Reads `path` and opens it as an object named obj_name (NULL: the
 * file's name), with extra Kconfig text (may be NULL), relocated against
 * btf_path (NULL: the kernel's BTF). */
static int open_file(const char *path, const char *obj_name, const char *kconfig, const char *btf_path,
                     bpfvm_object **out, bpfvm_error *err)
{
	if (!path || !out)
		return error_set(err, -EINVAL, -1, "bpfvm_object_open: NULL argument");
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return error_set(err, -errno, -1, "%.60s: cannot open: %s", path, strerror(errno));
	struct stat st;
	int code = 0;
	if (fstat(fileno(f), &st) != 0)
		code = -errno;
	else if (!S_ISREG(st.st_mode))
		code = -EINVAL;
	else if (st.st_size < 0 || (uint64_t)st.st_size > LDR_MAX_FILE_SIZE)
		code = -EFBIG;
	if (code) {
		fclose(f);
		return error_set(err, code, -1, "%.60s: not a regular file of at most %zu bytes", path,
		                 LDR_MAX_FILE_SIZE);
	}
	size_t len = (size_t)st.st_size;
	uint8_t *image = malloc(len ? len : 1);
	if (!image) {
		fclose(f);
		return error_set(err, -ENOMEM, -1, "%.60s: out of memory reading %zu bytes", path, len);
	}
	size_t got = len ? fread(image, 1, len, f) : 0;
	int read_err = ferror(f);
	fclose(f);
	if (got != len || read_err) {
		free(image);
		return error_set(err, -EIO, -1, "%.60s: read %zu of %zu bytes", path, got, len);
	}
	const char *base = strrchr(path, '/');
	if (!obj_name)
		obj_name = base ? base + 1 : path;
	return open_image(image, len, path, obj_name, kconfig, btf_path, out, err);
}

int bpfvm_object_open(const char *path, bpfvm_object **out, bpfvm_error *err)
{
	return open_file(path, NULL, NULL, NULL, out, err);
}

int bpfvm_object_open_file(const char *path, const bpfvm_object_open_opts *opts, bpfvm_object **out,
                           bpfvm_error *err)
{
	int rc = opts_check(opts, opts ? opts->sz : 0, sizeof *opts, "bpfvm_object_open_opts", err);
	if (rc)
		return rc;
	return open_file(path, OPTS_GET(opts, object_name, NULL), OPTS_GET(opts, kconfig, NULL),
	                 OPTS_GET(opts, btf_custom_path, NULL), out, err);
}

void bpfvm_object_free(bpfvm_object *obj)
{
	if (!obj)
		return;
	for (size_t i = 0; i < obj->prog_count; i++) {
		free((void *)obj->progs[i].insns);
		free((void *)obj->progs[i].funcs);
		free((void *)obj->progs[i].func_info);
		if (obj->prog_extra)
			free(obj->prog_extra[i].line_of_insn);
	}
	free(obj->progs);
	free(obj->prog_extra);
	for (size_t i = 0; i < obj->map_count; i++)
		free((void *)obj->maps[i].slots);
	free(obj->maps);
	free(obj->lines);
	free(obj->externs);
	free(obj->core_relos);
	btf__free(obj->btf);
	btf__free(obj->attach_btf);
	while (obj->arena) {
		struct ldr_arena_block *next = obj->arena->next;
		free(obj->arena);
		obj->arena = next;
	}
	free(obj);
}

/* ---- accessors -------------------------------------------------------- */

const char *bpfvm_object_name(const bpfvm_object *obj)
{
	return obj ? obj->name : NULL;
}

bpfvm_map_def bpfvm_object_map_def(const bpfvm_map_attrs *a)
{
	bpfvm_map_def d = BPFVM_MAP_DEF_INIT;
	d.type = a->type;
	d.key_size = a->key_size;
	d.value_size = a->value_size;
	d.max_entries = a->max_entries;
	d.flags = a->flags;
	d.map_extra = a->map_extra;
	d.spin_lock_off = a->spin_lock_off;
	d.fields = &a->fields;
	return d;
}

const char *bpfvm_object_license(const bpfvm_object *obj)
{
	return obj ? obj->license : NULL;
}

uint32_t bpfvm_object_kern_version(const bpfvm_object *obj)
{
	return obj ? obj->kern_version : 0;
}

size_t bpfvm_object_prog_count(const bpfvm_object *obj)
{
	return obj ? obj->prog_count : 0;
}

const bpfvm_object_prog *bpfvm_object_prog_at(const bpfvm_object *obj, size_t index)
{
	return obj && index < obj->prog_count ? &obj->progs[index] : NULL;
}

int bpfvm_object_find_prog(const bpfvm_object *obj, const char *name)
{
	for (size_t i = 0; obj && name && i < obj->prog_count; i++)
		if (obj->progs[i].name && strcmp(obj->progs[i].name, name) == 0)
			return (int)i;
	return -ENOENT;
}

size_t bpfvm_object_map_count(const bpfvm_object *obj)
{
	return obj ? obj->map_count : 0;
}

const bpfvm_object_map *bpfvm_object_map_at(const bpfvm_object *obj, size_t index)
{
	return obj && index < obj->map_count ? &obj->maps[index] : NULL;
}

int bpfvm_object_find_map(const bpfvm_object *obj, const char *name)
{
	for (size_t i = 0; obj && name && i < obj->map_count; i++)
		if (obj->maps[i].name && strcmp(obj->maps[i].name, name) == 0)
			return (int)i;
	return -ENOENT;
}

size_t bpfvm_object_core_relo_count(const bpfvm_object *obj)
{
	return obj ? obj->core_relo_count : 0;
}

const bpfvm_object_core_relo *bpfvm_object_core_relo_at(const bpfvm_object *obj, size_t index)
{
	return obj && index < obj->core_relo_count ? &obj->core_relos[index] : NULL;
}

struct btf *bpfvm_object_btf(const bpfvm_object *obj)
{
	return obj ? obj->btf : NULL;
}

const struct btf *bpfvm_object_kernel_btf(const bpfvm_object *obj)
{
	return obj ? obj->attach_btf : NULL;
}

int bpfvm_object_line_info(const bpfvm_object *obj, size_t prog, size_t insn,
                           const char **file, uint32_t *line, uint32_t *col,
                           const char **text)
{
	if (!obj || prog >= obj->prog_count || insn >= obj->progs[prog].insn_count)
		return -EINVAL;
	uint32_t idx = obj->prog_extra[prog].line_of_insn[insn];
	if (idx == LDR_NONE || idx >= obj->line_count)
		return -ENOENT;
	const struct ldr_line *ln = &obj->lines[idx];
	if (file)
		*file = ln->file;
	if (line)
		*line = ln->line;
	if (col)
		*col = ln->col;
	if (text)
		*text = ln->text;
	return 0;
}

const char *bpfvm_object_kfunc_name(const bpfvm_object *obj, uint32_t index, bool *weak)
{
	if (!obj || index >= obj->extern_count || obj->externs[index].kind != LDR_EXTERN_KFUNC)
		return NULL;
	if (weak)
		*weak = obj->externs[index].weak;
	return obj->externs[index].name;
}
