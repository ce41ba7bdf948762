/*
 * agent_symbols.c - where a function probe lands in the agent's process:
 * the file a probe's PATH names among /proc/self/maps' mappings, the
 * function's symbol in that file's ELF symbol tables (libelf), and its
 * address where the file is mapped; for uprobe.multi, every function
 * whose name matches a glob.
 *
 * Owns: agent_resolve(), agent_resolve_pattern(), agent_find_file().
 */
#define _GNU_SOURCE   /* RTLD_NOLOAD */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hooks/agent.h"

struct mapping {
	uint64_t start, end, offset;
};

/* A library name ("libc", "libc.so.6") matches a file whose base name is
 * it, or starts with it followed by '.' or '-' (libc.so.6, libc-2.36.so). */
static bool name_matches(const char *want, const char *file)
{
	if (strchr(want, '/')) {
		char real[PATH_MAX];
		return realpath(want, real) && !strcmp(real, file);
	}
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	size_t n = strlen(want);
	return !strncmp(base, want, n) && (base[n] == '\0' || base[n] == '.' || base[n] == '-');
}

/* The first mapped file PATH names into file; every mapping of it into
 * maps (up to cap).  Returns how many mappings. */
static size_t find_file(const char *want, char file[AGENT_TEXT_MAX], struct mapping *maps, size_t cap)
{
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return 0;
	char line[PATH_MAX + 128];
	size_t n = 0;
	file[0] = '\0';
	while (fgets(line, sizeof line, f)) {
		struct mapping m;
		char path[PATH_MAX] = "";
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %" SCNx64 " %*s %*s %4095[^\n]", &m.start, &m.end, &m.offset,
		           path) != 4 || path[0] != '/')
			continue;
		if (!file[0] && name_matches(want, path))
			snprintf(file, AGENT_TEXT_MAX, "%.399s", path);   /* AGENT_TEXT_MAX - 1 */
		if (file[0] && !strcmp(file, path) && n < cap)
			maps[n++] = m;
	}
	fclose(f);
	return n;
}

/* The function's value and size from .symtab, else .dynsym. */
static bool find_symbol(Elf *e, const char *func, uint64_t *value, uint64_t *size)
{
	for (int want = SHT_SYMTAB; ; want = SHT_DYNSYM) {
		Elf_Scn *scn = NULL;
		while ((scn = elf_nextscn(e, scn))) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh) || sh.sh_type != (unsigned)want || !sh.sh_entsize)
				continue;
			Elf_Data *data = elf_getdata(scn, NULL);
			for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
				GElf_Sym sym;
				if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
				    GELF_ST_TYPE(sym.st_info) != STT_FUNC)
					continue;
				const char *name = elf_strptr(e, sh.sh_link, sym.st_name);
				if (name && !strcmp(name, func)) {
					*value = sym.st_value;
					*size = sym.st_size;
					return true;
				}
			}
		}
		if (want == SHT_DYNSYM)
			return false;
	}
}

/* The file offset of address vaddr of the file, through its PT_LOAD
 * segments. */
static bool file_offset(Elf *e, uint64_t vaddr, uint64_t *off)
{
	size_t count;
	if (elf_getphdrnum(e, &count))
		return false;
	for (size_t i = 0; i < count; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && vaddr >= ph.p_vaddr &&
		    vaddr < ph.p_vaddr + ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return true;
		}
	}
	return false;
}

static int locate(Elf *e, const char *func, uint64_t off, const struct mapping *maps, size_t nmaps,
                  struct agent_target *out, char *err)
{
	uint64_t value = 0, size = 0, foff;
	if (func[0] && !find_symbol(e, func, &value, &size)) {
		snprintf(err, AGENT_TEXT_MAX, "%.200s has no function %.100s in its symbol tables", out->file, func);
		return -ENOENT;
	}
	if (off && size && off >= size) {
		snprintf(err, AGENT_TEXT_MAX, "%.100s+%#" PRIx64 " is past the function's %" PRIu64 " bytes", func, off, size);
		return -EINVAL;
	}
	if (!file_offset(e, value + off, &foff)) {
		snprintf(err, AGENT_TEXT_MAX, "%.200s: address %#" PRIx64 " is in no loaded segment", out->file, value + off);
		return -ENOENT;
	}
	for (size_t i = 0; i < nmaps; i++)
		if (foff >= maps[i].offset && foff < maps[i].offset + (maps[i].end - maps[i].start)) {
			out->addr = maps[i].start + (foff - maps[i].offset);
			out->size = size ? size - off : 0;
			return 0;
		}
	snprintf(err, AGENT_TEXT_MAX, "%.200s: offset %#" PRIx64 " of the file is not mapped", out->file, foff);
	return -ENOENT;
}

/* libbpf's glob_match(): '*' any run of characters, '?' any one, the
 * rest literally. */
static bool glob_match(const char *str, const char *pat)
{
	for (; *str && *pat && *pat != '*'; str++, pat++)
		if (*pat != '?' && *str != *pat)
			return false;
	if (*pat != '*')
		return !*str && !*pat;
	while (*pat == '*')
		pat++;
	if (!*pat)
		return true;
	for (; *str; str++)
		if (glob_match(str, pat))
			return true;
	return false;
}

/* Where the file's address vaddr is mapped in this process, or 0. */
static uint64_t mapped_address(Elf *e, uint64_t vaddr, const struct mapping *maps, size_t nmaps)
{
	uint64_t foff;
	if (!file_offset(e, vaddr, &foff))
		return 0;
	for (size_t i = 0; i < nmaps; i++)
		if (foff >= maps[i].offset && foff < maps[i].offset + (maps[i].end - maps[i].start))
			return maps[i].start + (foff - maps[i].offset);
	return 0;
}

/* An indirect function's symbol is its resolver, which runs once, when
 * the dynamic linker binds it; the calls go to what it chose, which the
 * dynamic linker's own lookup gives (the size of that code is unknown). */
static uint64_t ifunc_target(const char *file, const char *name)
{
	void *lib = dlopen(file, RTLD_NOW | RTLD_NOLOAD);
	if (!lib)
		return 0;
	void *impl = dlsym(lib, name);
	dlclose(lib);
	return (uint64_t)(uintptr_t)impl;
}

struct pattern_walk {
	const char *pattern, *file;
	const struct mapping *maps;
	size_t nmaps;
	struct agent_func *out;
	size_t cap, count;
	bool overflow;
};

/* Adds the function sym of the symbol table to w, once per address. */
static void add_match(struct pattern_walk *w, Elf *e, const GElf_Sym *sym, const char *name)
{
	bool ifunc = GELF_ST_TYPE(sym->st_info) == STT_GNU_IFUNC;
	uint64_t addr = ifunc ? ifunc_target(w->file, name) : mapped_address(e, sym->st_value, w->maps, w->nmaps);
	if (!addr)
		return;
	for (size_t i = 0; i < w->count; i++)
		if (w->out[i].addr == addr)
			return;
	if (w->count == w->cap) {
		w->overflow = true;
		return;
	}
	struct agent_func *f = &w->out[w->count++];
	f->addr = addr;
	f->size = ifunc ? 0 : sym->st_size;
	snprintf(f->name, sizeof f->name, "%s", name);
}

/* Every defined function of .symtab, then .dynsym, matching w->pattern. */
static void walk_symbols(Elf *e, struct pattern_walk *w)
{
	static const unsigned tables[] = { SHT_SYMTAB, SHT_DYNSYM };
	for (size_t t = 0; t < 2; t++) {
		Elf_Scn *scn = NULL;
		while ((scn = elf_nextscn(e, scn))) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh) || sh.sh_type != tables[t] || !sh.sh_entsize)
				continue;
			Elf_Data *data = elf_getdata(scn, NULL);
			for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
				GElf_Sym sym;
				if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
				    (GELF_ST_TYPE(sym.st_info) != STT_FUNC && GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC))
					continue;
				const char *name = elf_strptr(e, sh.sh_link, sym.st_name);
				if (name && name[0] && glob_match(name, w->pattern))
					add_match(w, e, &sym, name);
			}
		}
	}
}

int agent_resolve_pattern(const char *path, const char *pattern, struct agent_func *out, size_t cap, size_t *count,
                          char file[AGENT_TEXT_MAX], char *err)
{
	struct mapping maps[64];
	struct pattern_walk w = { .pattern = pattern, .file = file, .maps = maps, .out = out, .cap = cap };
	*count = 0;
	w.nmaps = find_file(path, file, maps, sizeof maps / sizeof maps[0]);
	if (!w.nmaps) {
		snprintf(err, AGENT_TEXT_MAX, "no file mapped in this process matches '%.200s'", path);
		return -ENOENT;
	}
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, AGENT_TEXT_MAX, "cannot open %.200s: %s", file, strerror(errno));
		return -errno;
	}
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	int rc = 0;
	if (!e) {
		snprintf(err, AGENT_TEXT_MAX, "%.200s: not an ELF file: %s", file, elf_errmsg(-1));
		rc = -ENOEXEC;
	} else {
		walk_symbols(e, &w);
		elf_end(e);
	}
	close(fd);
	if (!rc && w.overflow) {
		snprintf(err, AGENT_TEXT_MAX, "'%.100s' matches more than %zu functions of %.200s", pattern, cap, file);
		rc = -E2BIG;
	} else if (!rc && !w.count) {
		snprintf(err, AGENT_TEXT_MAX, "no function of %.200s matches '%.100s'", file, pattern);
		rc = -ENOENT;
	}
	*count = w.count;
	return rc;
}

int agent_find_file(const char *path, char file[AGENT_TEXT_MAX], char *err)
{
	struct mapping one;
	if (find_file(path, file, &one, 1))
		return 0;
	snprintf(err, AGENT_TEXT_MAX, "no file mapped in this process matches '%.200s'", path);
	return -ENOENT;
}

int agent_resolve(const char *path, const char *func, uint64_t off, struct agent_target *out, char *err)
{
	struct mapping maps[64];
	memset(out, 0, sizeof *out);
	size_t nmaps = find_file(path, out->file, maps, sizeof maps / sizeof maps[0]);
	if (!nmaps) {
		snprintf(err, AGENT_TEXT_MAX, "no file mapped in this process matches '%.200s'", path);
		return -ENOENT;
	}
	int fd = open(out->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, AGENT_TEXT_MAX, "cannot open %.200s: %s", out->file, strerror(errno));
		return -errno;
	}
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	int rc;
	if (!e) {
		snprintf(err, AGENT_TEXT_MAX, "%.200s: not an ELF file: %s", out->file, elf_errmsg(-1));
		rc = -ENOEXEC;
	} else {
		rc = locate(e, func, off, maps, nmaps, out, err);
		elf_end(e);
	}
	close(fd);
	return rc;
}
