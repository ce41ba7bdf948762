/*
 * elf.c - the ELF layer of the loader: header checks, the section table,
 * the symbol table, and the function symbols that become programs and
 * subprograms; also the "license" and "version" sections.
 *
 * Mirrors libbpf 1.1's bpf_object__elf_init() and bpf_object__elf_collect():
 * the same sections are recognised, ignored or rejected.  Every offset and
 * size from the file is checked against the file (libelf checks the rest).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"

int ldr_elf_open(struct ldr *l)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return ldr_fail(l, -EINVAL, "libelf is unusable: %s", elf_errmsg(-1));
	if (l->image_len < SELFMAG || memcmp(l->image, ELFMAG, SELFMAG) != 0)
		return ldr_fail(l, -ENOEXEC, "not an ELF file (no \\x7fELF magic at offset 0)");
	if (l->image_len < EI_NIDENT || l->image[EI_CLASS] != ELFCLASS64)
		return ldr_fail(l, -ENOEXEC, "not a 64-bit ELF file (EI_CLASS at offset 4 is %u); "
		                "eBPF objects are ELF64",
		                l->image_len > EI_CLASS ? l->image[EI_CLASS] : 0);
	if (l->image[EI_DATA] != ELFDATA2LSB)
		return ldr_fail(l, -ENOEXEC, "not a little-endian ELF file (EI_DATA at offset 5 is %u)",
		                l->image[EI_DATA]);
	if (l->image_len < sizeof(Elf64_Ehdr))
		return ldr_fail(l, -ENOEXEC, "truncated: %zu bytes, less than an ELF64 header (%zu)",
		                l->image_len, sizeof(Elf64_Ehdr));

	l->elf = elf_memory((char *)l->image, l->image_len);
	if (!l->elf)
		return ldr_fail(l, -ENOEXEC, "libelf cannot read it: %s", elf_errmsg(-1));
	if (elf_kind(l->elf) != ELF_K_ELF)
		return ldr_fail(l, -ENOEXEC, "not an ELF object");
	Elf64_Ehdr *eh = elf64_getehdr(l->elf);
	if (!eh)
		return ldr_fail(l, -ENOEXEC, "bad ELF header: %s", elf_errmsg(-1));
	if (eh->e_type != ET_REL)
		return ldr_fail(l, -ENOEXEC, "not a relocatable object (e_type %u at offset 16; "
		                "expected ET_REL = 1)", eh->e_type);
	/* Old LLVM wrote EM_NONE; libbpf accepts both. */
	if (eh->e_machine != EM_BPF && eh->e_machine != EM_NONE)
		return ldr_fail(l, -ENOEXEC, "built for machine %u (e_machine at offset 18), "
		                "not eBPF (EM_BPF = 247)", eh->e_machine);

	/* libelf reads a section table past the end as "no sections"; say where. */
	uint64_t shnum_hdr = eh->e_shnum ? eh->e_shnum : 1;
	if (eh->e_shoff > l->image_len ||
	    shnum_hdr * sizeof(Elf64_Shdr) > l->image_len - eh->e_shoff || eh->e_shoff == 0)
		return ldr_fail(l, -ENOEXEC, "section header table at offset %#llx (%llu entries) "
		                "lies outside the file (%zu bytes)", (unsigned long long)eh->e_shoff,
		                (unsigned long long)eh->e_shnum, l->image_len);
	if (eh->e_shentsize != sizeof(Elf64_Shdr))
		return ldr_fail(l, -ENOEXEC, "section header entry size %u (e_shentsize at offset 58), "
		                "expected %zu", eh->e_shentsize, sizeof(Elf64_Shdr));

	size_t shnum = 0, shstrndx = 0;
	if (elf_getshdrnum(l->elf, &shnum) != 0)
		return ldr_fail(l, -ENOEXEC, "bad section count: %s", elf_errmsg(-1));
	if (elf_getshdrstrndx(l->elf, &shstrndx) != 0)
		return ldr_fail(l, -ENOEXEC, "bad section name table index: %s", elf_errmsg(-1));
	if (shnum < 2)
		return ldr_fail(l, -ENOEXEC, "no sections (e_shnum %zu)", shnum);
	if (shstrndx == SHN_UNDEF || shstrndx >= shnum)
		return ldr_fail(l, -ENOEXEC, "section name table index %zu out of range (%zu sections)",
		                shstrndx, shnum);

	l->secs = calloc(shnum, sizeof(*l->secs));
	if (!l->secs)
		return ldr_nomem(l, "section table");
	l->sec_count = shnum;
	for (size_t i = 0; i < shnum; i++)
		l->secs[i].map = LDR_NONE;

	for (size_t i = 1; i < shnum; i++) {
		struct ldr_sec *s = &l->secs[i];
		Elf_Scn *scn = elf_getscn(l->elf, i);
		Elf64_Shdr *sh = scn ? elf64_getshdr(scn) : NULL;
		if (!sh)
			return ldr_fail(l, -ENOEXEC, "section #%zu: unreadable header: %s", i, elf_errmsg(-1));
		memcpy(&s->shdr, sh, sizeof s->shdr);   /* libelf may hand out unaligned headers */
		s->name = elf_strptr(l->elf, shstrndx, s->shdr.sh_name);
		if (!s->name)
			return ldr_fail(l, -ENOEXEC, "section #%zu: name offset %u is outside the "
			                "section name table", i, s->shdr.sh_name);
		if (s->shdr.sh_type != SHT_NOBITS && s->shdr.sh_type != SHT_NULL &&
		    (s->shdr.sh_offset > l->image_len ||
		     s->shdr.sh_size > l->image_len - s->shdr.sh_offset))
			return ldr_fail(l, -ENOEXEC, "section #%zu '%.64s': bytes %#llx..%#llx lie outside "
			                "the file (%zu bytes)", i, s->name,
			                (unsigned long long)s->shdr.sh_offset,
			                (unsigned long long)s->shdr.sh_offset + s->shdr.sh_size,
			                l->image_len);
		s->size = s->shdr.sh_size;
	}
	return 0;
}

/* The section's bytes through libelf (checked against the header). */
static int load_section_data(struct ldr *l, uint32_t idx)
{
	struct ldr_sec *s = &l->secs[idx];
	if (s->data || s->shdr.sh_type == SHT_NOBITS || s->size == 0)
		return 0;
	Elf_Data *d = elf_getdata(elf_getscn(l->elf, idx), NULL);
	if (!d || d->d_size != s->size || (s->size && !d->d_buf))
		return ldr_fail(l, -ENOEXEC, "section #%u '%.64s': unreadable contents: %s", idx,
		                s->name, d ? "size mismatch" : elf_errmsg(-1));
	s->data = d->d_buf;
	return 0;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Sections libbpf never looks at (libbpf's ignore_elf_section()). */
static bool ignored_section(const struct ldr_sec *s)
{
	if (s->shdr.sh_type == SHT_STRTAB || s->shdr.sh_type == SHT_LLVM_ADDRSIG)
		return true;
	/* No subprograms: an empty .text. */
	if (s->shdr.sh_type == SHT_PROGBITS && s->size == 0 && strcmp(s->name, ".text") == 0)
		return true;
	if (has_prefix(s->name, ".debug_"))
		return true;
	if (has_prefix(s->name, ".rel")) {
		const char *target = s->name + 4;
		if (has_prefix(target, ".debug_") || strcmp(target, ".BTF") == 0 ||
		    strcmp(target, ".BTF.ext") == 0)
			return true;
	}
	return false;
}

static int collect_symtab(struct ldr *l)
{
	for (uint32_t i = 1; i < l->sec_count; i++) {
		struct ldr_sec *s = &l->secs[i];
		if (s->shdr.sh_type != SHT_SYMTAB)
			continue;
		if (l->symtab_sec)
			return ldr_fail(l, -ENOEXEC, "two symbol tables (sections #%u and #%u)",
			                l->symtab_sec, i);
		l->symtab_sec = i;
	}
	if (!l->symtab_sec)
		return ldr_fail(l, -ENOENT, "no symbol table (a stripped object?)");

	struct ldr_sec *st = &l->secs[l->symtab_sec];
	uint32_t link = st->shdr.sh_link;
	if (link == 0 || link >= l->sec_count || l->secs[link].shdr.sh_type != SHT_STRTAB)
		return ldr_fail(l, -ENOEXEC, "symbol table '%.64s': its string table (sh_link %u) "
		                "is not a string table section", st->name, link);
	l->strtab_sec = link;
	int rc = load_section_data(l, l->symtab_sec);
	if (rc)
		return rc;
	l->sym_count = st->size / sizeof(Elf64_Sym);
	if (l->sym_count == 0)
		return ldr_fail(l, -ENOEXEC, "symbol table '%.64s' is empty", st->name);
	l->syms = malloc(l->sym_count * sizeof(Elf64_Sym));
	if (!l->syms)
		return ldr_nomem(l, "symbol table");
	memcpy(l->syms, st->data, l->sym_count * sizeof(Elf64_Sym));
	return 0;
}

static int add_func(struct ldr *l, struct ldr_func *f, size_t *cap)
{
	if (l->func_count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct ldr_func *n = realloc(l->funcs, ncap * sizeof(*n));
		if (!n)
			return ldr_nomem(l, "function table");
		l->funcs = n;
		*cap = ncap;
	}
	l->funcs[l->func_count++] = *f;
	return 0;
}

/* Every STT_FUNC symbol of an executable section (libbpf's
 * bpf_object__add_programs()), in one pass over the symbols. */
static int collect_functions(struct ldr *l)
{
	size_t cap = 0;
	for (size_t i = 0; i < l->sym_count; i++) {
		const Elf64_Sym *sym = &l->syms[i];
		uint32_t idx = sym->st_shndx;
		if (ELF64_ST_TYPE(sym->st_info) != STT_FUNC || idx == 0 || idx >= l->sec_count ||
		    l->secs[idx].kind != LDR_SEC_PROG)
			continue;
		const struct ldr_sec *s = &l->secs[idx];
		const char *name = ldr_sym_name(l, sym);
		if (!name)
			return ldr_fail(l, -ENOEXEC, "section '%.64s': function symbol #%zu: name offset "
			                "%u is outside the string table", s->name, i, sym->st_name);
		if (sym->st_value % LDR_INSN_SIZE || sym->st_size % LDR_INSN_SIZE)
			return ldr_fail(l, -ENOEXEC, "section '%.64s': function '%.64s' (offset %#llx, "
			                "size %llu) is not made of whole 8-byte instructions", s->name,
			                name, (unsigned long long)sym->st_value,
			                (unsigned long long)sym->st_size);
		if (sym->st_value > s->size || sym->st_size > s->size - sym->st_value)
			return ldr_fail(l, -ENOEXEC, "section '%.64s': function '%.64s' at offset %#llx "
			                "(%llu bytes) crosses the end of the section (%zu bytes)", s->name,
			                name, (unsigned long long)sym->st_value,
			                (unsigned long long)sym->st_size, s->size);
		if (sym->st_size == 0)
			return ldr_fail(l, -ENOEXEC, "section '%.64s': function '%.64s' at offset %#llx "
			                "has size 0", s->name, name, (unsigned long long)sym->st_value);
		if (strcmp(s->name, ".text") != 0 && ELF64_ST_BIND(sym->st_info) == STB_LOCAL)
			return ldr_fail(l, -EOPNOTSUPP, "section '%.64s': program '%.64s' is static; "
			                "programs must be global (as libbpf requires)", s->name, name);
		struct ldr_func f = {
			.name = name, .sec = idx,
			.off = (uint32_t)(sym->st_value / LDR_INSN_SIZE),
			.count = (uint32_t)(sym->st_size / LDR_INSN_SIZE),
			.sym = (uint32_t)i, .prog = LDR_NONE,
		};
		int rc = add_func(l, &f, &cap);
		if (rc)
			return rc;
	}
	return 0;
}

static int cmp_funcs(const void *a, const void *b)
{
	const struct ldr_func *x = a, *y = b;
	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->sym < y->sym ? -1 : x->sym > y->sym;
}

static int index_functions(struct ldr *l)
{
	if (l->func_count)
		qsort(l->funcs, l->func_count, sizeof(*l->funcs), cmp_funcs);
	for (size_t i = 0; i < l->func_count; i++) {
		struct ldr_func *f = &l->funcs[i];
		struct ldr_sec *s = &l->secs[f->sec];
		if (i > 0 && l->funcs[i - 1].sec == f->sec &&
		    l->funcs[i - 1].off + l->funcs[i - 1].count > f->off)
			return ldr_fail(l, -ENOEXEC, "section '%.64s': functions '%.64s' and '%.64s' "
			                "overlap at instruction %u", s->name, l->funcs[i - 1].name,
			                f->name, f->off);
		if (s->func_count == 0)
			s->first_func = (uint32_t)i;
		s->func_count++;
	}
	/* libbpf's prog_is_subprog(): .text functions are subprograms, unless
	 * the object's only function is in .text (a legacy SEC-less program). */
	for (size_t i = 0; i < l->func_count; i++)
		l->funcs[i].entry = !(l->funcs[i].sec == l->text_sec && l->func_count > 1);
	return 0;
}

int ldr_elf_collect(struct ldr *l)
{
	int rc = collect_symtab(l);
	if (rc)
		return rc;

	for (uint32_t i = 1; i < l->sec_count; i++) {
		struct ldr_sec *s = &l->secs[i];
		const Elf64_Shdr *sh = &s->shdr;
		if (ignored_section(s) || i == l->symtab_sec)
			continue;
		if (sh->sh_type != SHT_NOBITS && (rc = load_section_data(l, i)) != 0)
			return rc;

		if (strcmp(s->name, "license") == 0) {
			/* Up to the first NUL, at most 63 bytes, as libbpf. */
			size_t n = 0, max = sizeof(l->obj->license) - 1;
			while (s->data && n < s->size && n < max && s->data[n])
				n++;
			memcpy(l->obj->license, s->data ? (const char *)s->data : "", n);
			l->obj->license[n] = 0;
		} else if (strcmp(s->name, "version") == 0) {
			if (s->size != sizeof(uint32_t) || !s->data)
				return ldr_fail(l, -ENOEXEC, "section 'version' is %zu bytes, "
				                "expected a 4-byte kernel version", s->size);
			memcpy(&l->obj->kern_version, s->data, sizeof(uint32_t));
		} else if (strcmp(s->name, "maps") == 0) {
			/* libbpf 1.x refuses these; bpfvm reads them as libbpf 0.x did. */
			s->kind = LDR_SEC_MAPS_LEGACY;
			l->legacy_maps_sec = i;
		} else if (strcmp(s->name, ".maps") == 0) {
			s->kind = LDR_SEC_MAPS_BTF;
			l->maps_sec = i;
		} else if (strcmp(s->name, ".BTF") == 0) {
			if (sh->sh_type != SHT_PROGBITS)
				return ldr_fail(l, -ENOEXEC, "section '.BTF' has type %u, not PROGBITS",
				                sh->sh_type);
			l->btf_sec = i;
		} else if (strcmp(s->name, ".BTF.ext") == 0) {
			if (sh->sh_type != SHT_PROGBITS)
				return ldr_fail(l, -ENOEXEC, "section '.BTF.ext' has type %u, not PROGBITS",
				                sh->sh_type);
			l->btf_ext_sec = i;
		} else if (sh->sh_type == SHT_PROGBITS && s->size > 0) {
			if (sh->sh_flags & SHF_EXECINSTR) {
				if (strcmp(s->name, ".text") == 0)
					l->text_sec = i;
				s->kind = LDR_SEC_PROG;
			} else if (strcmp(s->name, ".data") == 0 || has_prefix(s->name, ".data.")) {
				s->kind = LDR_SEC_DATA;
			} else if (strcmp(s->name, ".rodata") == 0 || has_prefix(s->name, ".rodata.")) {
				s->kind = LDR_SEC_RODATA;
			} else if (strcmp(s->name, ".struct_ops") == 0) {
				return ldr_fail(l, -EOPNOTSUPP, "section '.struct_ops' (#%u): struct_ops "
				                "maps are not supported", i);
			}
		} else if (sh->sh_type == SHT_REL) {
			uint32_t target = sh->sh_info;
			if (sh->sh_entsize != sizeof(Elf64_Rel) || target == 0 || target >= l->sec_count)
				return ldr_fail(l, -ENOEXEC, "relocation section '%.64s' (#%u): entry size "
				                "%llu (expected %zu) or target section #%u (of %zu) is wrong",
				                s->name, i, (unsigned long long)sh->sh_entsize,
				                sizeof(Elf64_Rel), target, l->sec_count);
			/* Only code and .maps (initial slots) are relocated. */
			if ((l->secs[target].shdr.sh_flags & SHF_EXECINSTR) ||
			    strcmp(s->name, ".rel.maps") == 0)
				s->kind = LDR_SEC_RELO;
		} else if (sh->sh_type == SHT_NOBITS && strcmp(s->name, ".bss") == 0) {
			s->kind = LDR_SEC_BSS;
		}
	}
	if ((rc = collect_functions(l)) != 0)
		return rc;
	return index_functions(l);
}
