/*
 * usdt.c - USDT probes (see usdt.h): the .note.stapsdt reader (libelf),
 * the argument spec parser (libbpf's usdt.c rules, plus symbolic
 * rip-relative operands), libbpf's spec maps, and attaching a site
 * through the probe engine with its semaphore counted, alone or all the
 * sites of a name at once (usdt_link).
 */
#define _GNU_SOURCE   /* dl_iterate_phdr */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <link.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "hooks/usdt.h"

#define STAPSDT_NOTE_NAME "stapsdt"
#define STAPSDT_NOTE_TYPE 3

_Static_assert(sizeof(struct usdt_arg_spec) == 16, "libbpf's struct __bpf_usdt_arg_spec is 16 bytes");
_Static_assert(sizeof(struct usdt_spec) == 208, "libbpf's struct __bpf_usdt_spec is 208 bytes");

/* ---- argument specs -------------------------------------------------- */

/* libbpf's calc_pt_regs_off (x86-64): every name of a register's low
 * parts reads the whole register, the spec's size truncating it. */
static int pt_regs_off(const char *reg)
{
	static const struct {
		const char *names[4];
		short off;
	} map[] = {
		{ { "rip", "eip", "", "" }, offsetof(struct pt_regs, rip) },
		{ { "rax", "eax", "ax", "al" }, offsetof(struct pt_regs, rax) },
		{ { "rbx", "ebx", "bx", "bl" }, offsetof(struct pt_regs, rbx) },
		{ { "rcx", "ecx", "cx", "cl" }, offsetof(struct pt_regs, rcx) },
		{ { "rdx", "edx", "dx", "dl" }, offsetof(struct pt_regs, rdx) },
		{ { "rsi", "esi", "si", "sil" }, offsetof(struct pt_regs, rsi) },
		{ { "rdi", "edi", "di", "dil" }, offsetof(struct pt_regs, rdi) },
		{ { "rbp", "ebp", "bp", "bpl" }, offsetof(struct pt_regs, rbp) },
		{ { "rsp", "esp", "sp", "spl" }, offsetof(struct pt_regs, rsp) },
		{ { "r8", "r8d", "r8w", "r8b" }, offsetof(struct pt_regs, r8) },
		{ { "r9", "r9d", "r9w", "r9b" }, offsetof(struct pt_regs, r9) },
		{ { "r10", "r10d", "r10w", "r10b" }, offsetof(struct pt_regs, r10) },
		{ { "r11", "r11d", "r11w", "r11b" }, offsetof(struct pt_regs, r11) },
		{ { "r12", "r12d", "r12w", "r12b" }, offsetof(struct pt_regs, r12) },
		{ { "r13", "r13d", "r13w", "r13b" }, offsetof(struct pt_regs, r13) },
		{ { "r14", "r14d", "r14w", "r14b" }, offsetof(struct pt_regs, r14) },
		{ { "r15", "r15d", "r15w", "r15b" }, offsetof(struct pt_regs, r15) },
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		for (int j = 0; j < 4; j++)
			if (map[i].names[j][0] && strcmp(reg, map[i].names[j]) == 0)
				return map[i].off;
	return -ENOENT;
}

struct parse_site {
	uint64_t pc;
	usdt_symbol_fn *resolve;
	void *resolve_user;
	char *why;
	size_t why_size;
};

static int set_reg(struct usdt_arg_spec *arg, const char *reg, const struct parse_site *at)
{
	int off = pt_regs_off(reg);
	if (off < 0) {
		snprintf(at->why, at->why_size, "unrecognized register '%s'", reg);
		return off;
	}
	arg->reg_off = (short)off;
	return 0;
}

/* `SYM(%rip)`, `SYM+N(%rip)`, `SYM-N(%rip)` (gcc's operand for a global
 * in position-independent code): a dereference of rip, whose value at
 * the handler is the site, with the symbol's distance from it as offset.
 * Returns the characters read, or -EINVAL. */
static int parse_symbolic(const char *s, int *size, struct usdt_arg_spec *arg, const struct parse_site *at)
{
	char sym[128];
	long addend = 0;
	int len = 0, n = 0;
	if (sscanf(s, " %d @ %127[A-Za-z0-9_.$]%n", size, sym, &len) != 2)
		return -EINVAL;
	if ((s[len] == '+' || s[len] == '-') && sscanf(s + len, "%ld%n", &addend, &n) == 1)
		len += n;
	n = 0;
	if (sscanf(s + len, " ( %%rip ) %n", &n) != 0 || n == 0)
		return -EINVAL;
	uint64_t vaddr;
	if (!at->resolve || at->resolve(at->resolve_user, sym, &vaddr) < 0) {
		snprintf(at->why, at->why_size, "symbol '%s' not found", sym);
		return -ENOENT;
	}
	arg->arg_type = USDT_ARG_REG_DEREF;
	arg->val_off = vaddr + (uint64_t)addend - at->pc;
	arg->reg_off = offsetof(struct pt_regs, rip);
	return len + n;
}

/* libbpf's parse_usdt_arg: one "SIZE@LOCATION"; returns the characters
 * read, or a negative errno. */
static int parse_arg(const char *s, int *size, struct usdt_arg_spec *arg, const struct parse_site *at)
{
	char reg[16];
	long off;
	int len = 0, rc;
	if (sscanf(s, " %d @ %ld ( %%%15[^)] ) %n", size, &off, reg, &len) == 3) {
		arg->arg_type = USDT_ARG_REG_DEREF;
		arg->val_off = (uint64_t)off;
		rc = set_reg(arg, reg, at);
	} else if (sscanf(s, " %d @ ( %%%15[^)] ) %n", size, reg, &len) == 2) {
		arg->arg_type = USDT_ARG_REG_DEREF;
		arg->val_off = 0;
		rc = set_reg(arg, reg, at);
	} else if (sscanf(s, " %d @ %%%15s %n", size, reg, &len) == 2) {
		arg->arg_type = USDT_ARG_REG;
		arg->val_off = 0;
		rc = set_reg(arg, reg, at);
	} else if (sscanf(s, " %d @ $%ld %n", size, &off, &len) == 2) {
		arg->arg_type = USDT_ARG_CONST;
		arg->val_off = (uint64_t)off;
		arg->reg_off = 0;
		rc = 0;
	} else {
		rc = len = parse_symbolic(s, size, arg, at);
		if (rc == -EINVAL)
			snprintf(at->why, at->why_size, "unrecognized argument spec '%s'", s);
	}
	return rc < 0 ? rc : len;
}

int usdt_parse_args(const char *args, uint64_t pc, usdt_symbol_fn *resolve, void *resolve_user,
		    struct usdt_spec *spec, char *why, size_t why_size)
{
	const struct parse_site at = { pc, resolve, resolve_user, why, why_size };
	memset(spec, 0, sizeof *spec);
	for (const char *s = args; *s;) {
		if (spec->arg_cnt >= USDT_MAX_ARG_CNT) {
			snprintf(why, why_size, "more than %d arguments", USDT_MAX_ARG_CNT);
			return -E2BIG;
		}
		struct usdt_arg_spec *arg = &spec->args[spec->arg_cnt];
		int size, len = parse_arg(s, &size, arg, &at);
		if (len < 0)
			return len;
		arg->arg_signed = size < 0;
		size = size < 0 ? -size : size;
		if (size != 1 && size != 2 && size != 4 && size != 8) {
			snprintf(why, why_size, "argument %d has size %d", spec->arg_cnt, size);
			return -EINVAL;
		}
		arg->arg_bitshift = (char)(64 - size * 8);
		s += len;
		spec->arg_cnt++;
	}
	return 0;
}

/* ---- reading the notes ---------------------------------------------- */

struct elf_file {
	int fd;
	Elf *elf;
	const char *path;
};

/* The symbol's value in .symtab, else .dynsym: a usdt_symbol_fn. */
static int elf_symbol(void *user, const char *sym, uint64_t *vaddr)
{
	Elf *elf = user;
	for (int pass = 0; pass < 2; pass++) {
		Elf_Scn *scn = NULL;
		GElf_Shdr sh;
		while ((scn = elf_nextscn(elf, scn))) {
			if (!gelf_getshdr(scn, &sh) || sh.sh_type != (pass ? SHT_DYNSYM : SHT_SYMTAB) || !sh.sh_entsize)
				continue;
			Elf_Data *d = elf_getdata(scn, NULL);
			for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
				GElf_Sym s;
				const char *name;
				if (gelf_getsym(d, (int)i, &s) && s.st_shndx != SHN_UNDEF &&
				    (name = elf_strptr(elf, sh.sh_link, s.st_name)) && strcmp(name, sym) == 0) {
					*vaddr = s.st_value;
					return 0;
				}
			}
		}
	}
	return -ENOENT;
}

static Elf_Scn *section_named(Elf *elf, const char *name, GElf_Shdr *sh)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;
		if (gelf_getshdr(scn, sh) && (n = elf_strptr(elf, shstrndx, sh->sh_name)) && strcmp(n, name) == 0)
			return scn;
	}
	return NULL;
}

/* libbpf's parse_usdt_note: three addresses, then provider, name and
 * args, each NUL-terminated.  -EINVAL for a malformed note. */
static int parse_note(const char *desc, size_t len, struct usdt_probe *p)
{
	uint64_t addrs[3];
	if (len < sizeof addrs + 3)
		return -EINVAL;
	memcpy(addrs, desc, sizeof addrs);
	const char *end = desc + len, *provider = desc + sizeof addrs;
	const char *name = memchr(provider, '\0', (size_t)(end - provider));
	if (!name || ++name >= end || !*name)
		return -EINVAL;
	const char *args = memchr(name, '\0', (size_t)(end - name));
	if (!args || ++args >= end)
		return -EINVAL;
	if (*args == ':')
		args = "";
	p->provider = strndup(provider, (size_t)(name - 1 - provider));
	p->name = strndup(name, (size_t)(args - 1 - name));
	p->args = strndup(args, (size_t)(end - args));
	if (!p->provider || !p->name || !p->args)
		return -ENOMEM;
	p->note_pc = addrs[0];
	p->note_base = addrs[1];
	p->note_sema = addrs[2];
	return 0;
}

static int add_probe(struct usdt_list *list, size_t *cap, struct usdt_probe **out)
{
	if (list->count == *cap) {
		size_t n = *cap ? *cap * 2 : 16;
		struct usdt_probe *grown = realloc(list->probes, n * sizeof *grown);
		if (!grown)
			return -ENOMEM;
		list->probes = grown;
		*cap = n;
	}
	*out = memset(&list->probes[list->count++], 0, sizeof **out);
	return 0;
}

/* The note's probe: its site and semaphore adjusted by .stapsdt.base as
 * libbpf does, its arguments parsed. */
static void finish_probe(Elf *elf, struct usdt_probe *p, uint64_t base_addr)
{
	p->pc = p->note_pc;
	if (base_addr)
		p->pc += base_addr - p->note_base;
	p->sema = p->note_sema;
	p->spec_error = usdt_parse_args(p->args, p->pc, elf_symbol, elf, &p->spec, p->spec_why, sizeof p->spec_why);
}

static int read_notes(Elf *elf, Elf_Scn *scn, uint64_t base_addr, struct usdt_list *list, size_t *cap)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	GElf_Nhdr nh;
	size_t off = 0, name_off, desc_off;
	while (d && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		const char *buf = d->d_buf;
		if (nh.n_type != STAPSDT_NOTE_TYPE || nh.n_namesz != sizeof STAPSDT_NOTE_NAME ||
		    memcmp(buf + name_off, STAPSDT_NOTE_NAME, sizeof STAPSDT_NOTE_NAME) != 0)
			continue;
		struct usdt_probe *p;
		int rc = add_probe(list, cap, &p);
		if (rc == 0)
			rc = parse_note(buf + desc_off, nh.n_descsz, p);
		if (rc == -EINVAL) {
			list->count--;   /* malformed: skipped, as libbpf skips it */
			free(p->provider), free(p->name), free(p->args);
			continue;
		}
		if (rc < 0)
			return rc;
		finish_probe(elf, p, base_addr);
	}
	return 0;
}

static int open_elf(struct elf_file *f, const char *path, bpfvm_error *err)
{
	f->path = path;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return error_set(err, -errno, -1, "usdt: %s: %s", path, strerror(errno));
	elf_version(EV_CURRENT);
	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF) {
		if (f->elf)
			elf_end(f->elf);
		close(f->fd);
		return error_set(err, -EINVAL, -1, "usdt: %s: not an ELF file", path);
	}
	return 0;
}

int usdt_list_read(const char *path, struct usdt_list *out, bpfvm_error *err)
{
	struct elf_file f = { .fd = -1 };
	*out = (struct usdt_list){ 0 };
	int rc = open_elf(&f, path, err);
	if (rc < 0)
		return rc;
	GElf_Shdr sh;
	uint64_t base_addr = section_named(f.elf, ".stapsdt.base", &sh) ? sh.sh_addr : 0;
	Elf_Scn *notes = section_named(f.elf, ".note.stapsdt", &sh);
	size_t cap = 0;
	if (notes && sh.sh_type == SHT_NOTE)
		rc = read_notes(f.elf, notes, base_addr, out, &cap);
	elf_end(f.elf);
	close(f.fd);
	if (rc < 0) {
		usdt_list_free(out);
		return error_set(err, rc, -1, "usdt: %s: reading .note.stapsdt: %s", path, strerror(-rc));
	}
	return 0;
}

void usdt_list_free(struct usdt_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		free(list->probes[i].provider);
		free(list->probes[i].name);
		free(list->probes[i].args);
	}
	free(list->probes);
	*list = (struct usdt_list){ 0 };
}

const struct usdt_probe *usdt_list_next(const struct usdt_list *list, const char *provider, const char *name,
					size_t *from)
{
	for (size_t i = *from; i < list->count; i++) {
		const struct usdt_probe *p = &list->probes[i];
		if (strcmp(p->provider, provider) == 0 && strcmp(p->name, name) == 0) {
			*from = i + 1;
			return p;
		}
	}
	*from = list->count;
	return NULL;
}

/* ---- libbpf's spec maps ---------------------------------------------- */

int usdt_spec_ids_init(struct usdt_spec_ids *ids, bpfvm_map *specs, bpfvm_map *ip_to_spec_id, bpfvm_error *err)
{
	bpfvm_map_info si, ii;
	*ids = (struct usdt_spec_ids){ 0 };
	bpfvm_map_info_get(specs, &si);
	if (si.type != BPFVM_MAP_TYPE_ARRAY || si.key_size != 4 || si.value_size != sizeof(struct usdt_spec))
		return error_set(err, -EINVAL, -1, "usdt: map %s is not libbpf's __bpf_usdt_specs", si.name);
	if (ip_to_spec_id) {
		bpfvm_map_info_get(ip_to_spec_id, &ii);
		if (ii.type != BPFVM_MAP_TYPE_HASH || ii.key_size != 8 || ii.value_size != 4)
			return error_set(err, -EINVAL, -1, "usdt: map %s is not libbpf's __bpf_usdt_ip_to_spec_id",
					 ii.name);
	}
	ids->used = calloc(si.max_entries, 1);
	if (!ids->used)
		return error_set(err, -ENOMEM, -1, "usdt: out of memory");
	ids->specs = specs;
	ids->ip_to_spec_id = ip_to_spec_id;
	ids->max_ids = si.max_entries;
	return 0;
}

void usdt_spec_ids_free(struct usdt_spec_ids *ids)
{
	free(ids->used);
	*ids = (struct usdt_spec_ids){ 0 };
}

int usdt_spec_add(struct usdt_spec_ids *ids, const struct usdt_probe *probe, uint64_t usdt_cookie, uint64_t ip,
		  uint32_t *spec_id, uint64_t *attach_cookie, bpfvm_error *err)
{
	if (probe->spec_error)
		return error_set(err, probe->spec_error, -1, "usdt %s:%s: %s", probe->provider, probe->name,
				 probe->spec_why);
	uint32_t id = 0;
	while (id < ids->max_ids && ids->used[id])
		id++;
	if (id == ids->max_ids)
		return error_set(err, -ENOSPC, -1, "usdt %s:%s: all %u spec ids in use", probe->provider, probe->name,
				 ids->max_ids);
	struct usdt_spec spec = probe->spec;
	spec.usdt_cookie = usdt_cookie;
	int rc = bpfvm_map_update(ids->specs, &id, &spec, BPFVM_ANY, err);
	if (rc == 0 && ids->ip_to_spec_id)
		rc = bpfvm_map_update(ids->ip_to_spec_id, &ip, &id, BPFVM_ANY, err);
	if (rc < 0)
		return rc;
	ids->used[id] = 1;
	*spec_id = id;
	*attach_cookie = id;
	return 0;
}

void usdt_spec_remove(struct usdt_spec_ids *ids, uint32_t spec_id, uint64_t ip)
{
	if (ids->ip_to_spec_id)
		bpfvm_map_delete(ids->ip_to_spec_id, &ip, NULL);
	if (spec_id < ids->max_ids)
		ids->used[spec_id] = 0;
}

/* ---- where the file is loaded ---------------------------------------- */

struct bias_search {
	struct stat want;
	uintptr_t bias;
	int found;
};

static int same_file(const char *path, const struct stat *want)
{
	struct stat st;
	return stat(path, &st) == 0 && st.st_dev == want->st_dev && st.st_ino == want->st_ino;
}

static int match_module(struct dl_phdr_info *info, size_t size, void *user)
{
	(void)size;
	struct bias_search *s = user;
	const char *name = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : NULL;
	if (!name && info->dlpi_phnum && !s->found)
		name = "/proc/self/exe";   /* the main program has no name */
	if (name && same_file(name, &s->want)) {
		s->bias = info->dlpi_addr;
		s->found = 1;
		return 1;
	}
	return 0;
}

int usdt_load_bias(const char *path, uintptr_t *bias, bpfvm_error *err)
{
	struct bias_search s = { .found = 0 };
	if (stat(path, &s.want) < 0)
		return error_set(err, -errno, -1, "usdt: %s: %s", path, strerror(errno));
	dl_iterate_phdr(match_module, &s);
	if (!s.found)
		return error_set(err, -ENOENT, -1, "usdt: %s is not loaded in this process", path);
	*bias = s.bias;
	return 0;
}

/* ---- attaching -------------------------------------------------------- */

struct usdt_attachment {
	struct probe *probe;
	uintptr_t ip;
	unsigned short *semaphore;   /* NULL: none */
	struct probe_handlers h;
	void *user;
};

/* The engine's entry handler: the caller's, whose result cannot make a
 * site "return" (it is not a function's entry). */
static int usdt_entry(struct pt_regs *regs, void *user, uint64_t *override_rc)
{
	struct usdt_attachment *a = user;
	(void)override_rc;
	uint64_t ignored;
	a->h.entry(regs, a->user, &ignored);
	return 0;
}

int usdt_attach(const struct usdt_probe *probe, uintptr_t bias, const struct probe_handlers *h, void *user,
		struct usdt_attachment **out, bpfvm_error *err)
{
	if (!h || !h->entry || h->ret)
		return error_set(err, -EINVAL, -1, "usdt %s:%s: an entry handler and no return handler",
				 probe->provider, probe->name);
	struct usdt_attachment *a = calloc(1, sizeof *a);
	if (!a)
		return error_set(err, -ENOMEM, -1, "usdt: out of memory");
	a->ip = bias + probe->pc;
	a->semaphore = probe->sema ? (unsigned short *)(bias + probe->sema) : NULL;
	a->h = *h;
	a->user = user;
	const struct probe_attach_opts opts = { .force_int3 = 1 };
	const struct probe_handlers engine = { usdt_entry, NULL };
	int rc = probe_attach((void *)a->ip, &opts, &engine, a, &a->probe, err);
	if (rc < 0) {
		free(a);
		return rc;
	}
	if (a->semaphore)
		__atomic_fetch_add(a->semaphore, 1, __ATOMIC_RELAXED);
	*out = a;
	return 0;
}

void usdt_detach(struct usdt_attachment *a)
{
	if (a->semaphore)
		__atomic_fetch_sub(a->semaphore, 1, __ATOMIC_RELAXED);
	probe_detach(a->probe);
	free(a);
}

uintptr_t usdt_attachment_ip(const struct usdt_attachment *a)
{
	return a->ip;
}

const struct probe *usdt_attachment_probe(const struct usdt_attachment *a)
{
	return a->probe;
}

/* ---- every site of a name ------------------------------------------- */

struct usdt_link_site {
	struct usdt_attachment *attachment;   /* NULL: not attached */
	uint32_t spec_id;
	bool spec_stored;
	uint64_t ip;
};

struct usdt_link {
	struct usdt_spec_ids *ids;
	size_t count;
	struct usdt_link_site sites[];
};

static size_t count_sites(const struct usdt_list *list, const char *provider, const char *name)
{
	size_t n = 0, from = 0;
	while (usdt_list_next(list, provider, name, &from))
		n++;
	return n;
}

static int link_site(struct usdt_link_site *site, const struct usdt_probe *p, uintptr_t bias, uint64_t usdt_cookie,
		     struct usdt_spec_ids *ids, const struct probe_handlers *h, void *user, bpfvm_error *err)
{
	uint64_t attach_cookie;
	site->ip = bias + p->pc;
	int rc = usdt_spec_add(ids, p, usdt_cookie, site->ip, &site->spec_id, &attach_cookie, err);
	if (rc < 0)
		return rc;
	site->spec_stored = true;
	return usdt_attach(p, bias, h, user, &site->attachment, err);
}

int usdt_link_attach(const char *path, const char *provider, const char *name, uint64_t usdt_cookie,
		     struct usdt_spec_ids *ids, const struct probe_handlers *h, void *user, struct usdt_link **out,
		     bpfvm_error *err)
{
	struct usdt_list list;
	uintptr_t bias;
	int rc = usdt_list_read(path, &list, err);
	if (rc < 0)
		return rc;
	size_t n = count_sites(&list, provider, name);
	struct usdt_link *link = NULL;
	if (!n)
		rc = error_set(err, -ENOENT, -1, "usdt: %s has no probe %s:%s", path, provider, name);
	else if ((rc = usdt_load_bias(path, &bias, err)) == 0 &&
		 !(link = calloc(1, sizeof *link + n * sizeof link->sites[0])))
		rc = error_set(err, -ENOMEM, -1, "usdt: out of memory");
	const struct usdt_probe *p;
	for (size_t from = 0; rc == 0 && (p = usdt_list_next(&list, provider, name, &from));) {
		link->ids = ids;
		rc = link_site(&link->sites[link->count++], p, bias, usdt_cookie, ids, h, user, err);
	}
	usdt_list_free(&list);
	if (rc < 0 && link) {
		usdt_link_detach(link);
		link = NULL;
	}
	*out = link;
	return rc;
}

static void detach_sites(struct usdt_link *link)
{
	for (size_t i = 0; i < link->count; i++)
		if (link->sites[i].attachment)
			usdt_detach(link->sites[i].attachment);
}

void usdt_link_detach(struct usdt_link *link)
{
	detach_sites(link);
	for (size_t i = 0; i < link->count; i++)
		if (link->sites[i].spec_stored)
			usdt_spec_remove(link->ids, link->sites[i].spec_id, link->sites[i].ip);
	free(link);
}

void usdt_link_detach_sites(struct usdt_link *link)
{
	detach_sites(link);
	free(link);
}

size_t usdt_link_sites(const struct usdt_link *link)
{
	return link->count;
}

const struct probe *usdt_link_site_probe(const struct usdt_link *link, size_t i)
{
	return i < link->count && link->sites[i].attachment ? usdt_attachment_probe(link->sites[i].attachment) : NULL;
}

uint64_t usdt_link_cookie(const struct usdt_link *link, uint64_t ip)
{
	for (size_t i = 0; link && i < link->count; i++)
		if (link->sites[i].ip == ip && link->sites[i].spec_stored)
			return link->sites[i].spec_id;
	return 0;
}
