/*
 * relocs.c - relocations of executable sections, checked and classified
 * as libbpf 1.1's bpf_object__collect_prog_relos() and
 * bpf_program__record_reloc() do:
 *
 *   call (src = BPF_PSEUDO_CALL) against a function      -> LDR_REL_CALL
 *   lddw against a subprogram (a callback's address)     -> LDR_REL_FUNC_ADDR
 *   lddw against a map symbol in .maps or maps           -> LDR_REL_MAP
 *   lddw against .data/.rodata/.bss(.*) (+ addend)       -> LDR_REL_DATA
 *   lddw or call against an extern (externs.c)           -> LDR_REL_EXTERN
 *
 * Subprograms live in .text (libbpf's rule); bpfvm also accepts a call to
 * a global function of the caller's own section.  Relocations of
 * instructions that belong to no function are skipped, as libbpf does.
 * Relocations of .maps (initial slots) go to maps.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"

#define PSEUDO_CALL 1

static int cmp_rels(const void *a, const void *b)
{
	const struct ldr_rel *x = a, *y = b;
	return x->insn < y->insn ? -1 : x->insn > y->insn;
}

static bool sym_is_extern(const Elf64_Sym *sym)
{
	int bind = ELF64_ST_BIND(sym->st_info);
	return sym->st_shndx == SHN_UNDEF && (bind == STB_GLOBAL || bind == STB_WEAK) &&
	       ELF64_ST_TYPE(sym->st_info) == STT_NOTYPE;
}

/* A function's address: a section symbol (static functions, addend in
 * imm) or a global function symbol, in .text or the code's own section. */
static bool sym_is_subprog(const struct ldr *l, const Elf64_Sym *sym, uint32_t code_sec)
{
	int bind = ELF64_ST_BIND(sym->st_info), type = ELF64_ST_TYPE(sym->st_info);
	if (!sym->st_shndx || (sym->st_shndx != l->text_sec && sym->st_shndx != code_sec))
		return false;
	if (bind == STB_LOCAL && type == STT_SECTION)
		return true;
	return bind == STB_GLOBAL && type == STT_FUNC;
}

/* Where one relocation is, for messages. */
struct rel_where {
	const char *rel_sec, *code_sec, *sym;
	size_t index;
	uint32_t insn;
};

#define WHERE_FMT "section '%.48s' relocation #%zu (instruction %u of '%.48s', symbol '%.48s')"
#define WHERE_ARGS(w) (w)->rel_sec, (w)->index, (w)->insn, (w)->code_sec, (w)->sym

static int rel_fail(struct ldr *l, const struct rel_where *w, int code, const char *why)
{
	int rc = ldr_fail(l, code, WHERE_FMT ": %s", WHERE_ARGS(w), why);
	if (l->err)
		l->err->insn = (int)w->insn;
	return rc;
}

/* libbpf's record of an extern relocation: a call is a kfunc call, an
 * lddw a variable's address (externs.c resolved both). */
static int classify_extern(struct ldr *l, const struct rel_where *w, const struct ldr_func *func,
                           const Elf64_Sym *sym, bool is_call, struct ldr_rel *out)
{
	int ext = ldr_extern_of_sym(l, (uint32_t)(sym - l->syms));
	if (ext < 0)
		return rel_fail(l, w, -EINVAL, "an extern with no name or no BTF description");
	const struct ldr_extern *e = &l->externs[ext];
	if (is_call != (e->kind == LDR_EXTERN_KFUNC))
		return rel_fail(l, w, -EINVAL, is_call ? "a call of an extern variable"
		                                       : "an lddw of an extern function");
	if (!is_call && w->insn + 1 >= func->off + func->count)
		return rel_fail(l, w, -EINVAL, "the lddw has no second half inside its function");
	*out = (struct ldr_rel){ .kind = LDR_REL_EXTERN, .map = (uint32_t)ext };
	return 0;
}

static int classify(struct ldr *l, const struct rel_where *w, uint32_t code_sec,
                    const struct ldr_func *func, const Elf64_Sym *sym, struct ldr_rel *out)
{
	const struct ldr_sec *cs = &l->secs[code_sec];
	bpfvm_insn insn;
	memcpy(&insn, cs->data + (size_t)w->insn * LDR_INSN_SIZE, sizeof insn);
	bool is_call = insn.opcode == ISA_OPCODE_CALL, is_lddw = isa_is_lddw(&insn);
	char why[200];

	if (!is_call && !is_lddw) {
		snprintf(why, sizeof why, "opcode %#x is neither a call nor an lddw", insn.opcode);
		return rel_fail(l, w, -EINVAL, why);
	}
	if (sym_is_extern(sym))
		return classify_extern(l, w, func, sym, is_call, out);
	if (is_lddw && w->insn + 1 >= func->off + func->count)
		return rel_fail(l, w, -EINVAL, "the lddw has no second half inside its function");

	if (is_call) {
		if (insn.src != PSEUDO_CALL) {
			snprintf(why, sizeof why, "a call with src_reg %u, not a BPF-to-BPF call",
			         insn.src);
			return rel_fail(l, w, -EINVAL, why);
		}
		if (!sym->st_shndx || (sym->st_shndx != l->text_sec && sym->st_shndx != code_sec) ||
		    l->secs[sym->st_shndx].kind != LDR_SEC_PROG) {
			snprintf(why, sizeof why, "the call's target is in section #%u, neither .text nor "
			         "the caller's own section", sym->st_shndx);
			return rel_fail(l, w, -EINVAL, why);
		}
		if (sym->st_value % LDR_INSN_SIZE)
			return rel_fail(l, w, -EINVAL, "the call's target offset is not a whole "
			                "instruction");
		*out = (struct ldr_rel){ .kind = LDR_REL_CALL, .target_sec = sym->st_shndx,
		                         .sym_off = sym->st_value, .map = LDR_NONE };
		return 0;
	}

	if (!sym->st_shndx || sym->st_shndx >= SHN_LORESERVE)
		return rel_fail(l, w, -EINVAL, "the symbol is in no section (an uninitialised "
		                "global variable?)");
	if (sym_is_subprog(l, sym, code_sec)) {
		if (sym->st_value % LDR_INSN_SIZE || insn.imm % (int32_t)LDR_INSN_SIZE)
			return rel_fail(l, w, -EINVAL, "the function address is not a whole instruction");
		*out = (struct ldr_rel){ .kind = LDR_REL_FUNC_ADDR, .target_sec = sym->st_shndx,
		                         .sym_off = sym->st_value, .map = LDR_NONE };
		return 0;
	}

	const struct ldr_sec *ts = &l->secs[sym->st_shndx];
	if (ts->kind == LDR_SEC_DATA || ts->kind == LDR_SEC_RODATA || ts->kind == LDR_SEC_BSS) {
		if (ts->map == LDR_NONE)
			return rel_fail(l, w, -EINVAL, "its data section has no map (it is empty)");
		*out = (struct ldr_rel){ .kind = LDR_REL_DATA, .map = ts->map,
		                         .sym_off = sym->st_value };
		return 0;
	}
	if (sym->st_shndx != l->maps_sec && sym->st_shndx != l->legacy_maps_sec) {
		snprintf(why, sizeof why, "an lddw of section '%.48s', which is neither a map "
		         "section nor global data", ts->name);
		return rel_fail(l, w, -EINVAL, why);
	}
	/* libbpf takes the first map (in table order) at that section and offset. */
	size_t lo = 0, hi = l->obj->map_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ldr_map_place *p = &l->places[l->maps_by_place[mid]];
		if (p->sec < sym->st_shndx || (p->sec == sym->st_shndx && p->off < sym->st_value))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < l->obj->map_count) {
		uint32_t i = l->maps_by_place[lo];
		if (l->places[i].sec == sym->st_shndx && l->places[i].off == sym->st_value) {
			*out = (struct ldr_rel){ .kind = LDR_REL_MAP, .map = i };
			return 0;
		}
	}
	snprintf(why, sizeof why, "no map starts at offset %#llx of section '%.48s'",
	         (unsigned long long)sym->st_value, ts->name);
	return rel_fail(l, w, -EINVAL, why);
}

static int collect_code_relocs(struct ldr *l, uint32_t rel_sec, uint32_t code_sec)
{
	const struct ldr_sec *rs = &l->secs[rel_sec];
	struct ldr_sec *cs = &l->secs[code_sec];
	size_t count = rs->size / sizeof(Elf64_Rel);
	if (count == 0)
		return 0;
	if (cs->rels)
		return ldr_fail(l, -EINVAL, "section '%.64s': a second relocation section for "
		                "'%.64s'", rs->name, cs->name);
	struct ldr_rel *rels = calloc(count, sizeof(*rels));
	if (!rels)
		return ldr_nomem(l, "relocations");
	cs->rels = rels;

	size_t n = 0;
	for (size_t i = 0; i < count; i++) {
		Elf64_Rel rel;
		memcpy(&rel, rs->data + i * sizeof rel, sizeof rel);
		size_t sym_idx = ELF64_R_SYM(rel.r_info);
		if (sym_idx >= l->sym_count)
			return ldr_fail(l, -ENOEXEC, "section '%.64s' relocation #%zu: symbol #%zu does "
			                "not exist (%zu symbols)", rs->name, i, sym_idx, l->sym_count);
		const Elf64_Sym *sym = &l->syms[sym_idx];
		if (sym->st_shndx >= l->sec_count && sym->st_shndx != SHN_UNDEF)
			return ldr_fail(l, -ENOEXEC, "section '%.64s' relocation #%zu: symbol #%zu lies "
			                "in section #%u, which does not exist", rs->name, i, sym_idx,
			                sym->st_shndx);
		if (rel.r_offset % LDR_INSN_SIZE || rel.r_offset >= cs->size)
			return ldr_fail(l, -ENOEXEC, "section '%.64s' relocation #%zu: offset %#llx is "
			                "not an instruction of '%.64s' (%zu bytes)", rs->name, i,
			                (unsigned long long)rel.r_offset, cs->name, cs->size);
		uint32_t insn = (uint32_t)(rel.r_offset / LDR_INSN_SIZE);
		const struct ldr_func *func = ldr_func_at(l, code_sec, insn);
		if (!func)
			continue;   /* outside every function: libbpf skips it too */
		const char *label = ldr_sym_label(l, sym);
		struct rel_where w = { .rel_sec = rs->name, .code_sec = cs->name,
		                       .sym = label ? label : "<?>", .index = i, .insn = insn };
		int rc = classify(l, &w, code_sec, func, sym, &rels[n]);
		if (rc)
			return rc;
		rels[n].insn = insn;
		rels[n].index = (uint32_t)i;
		n++;
	}
	cs->rel_count = n;
	qsort(rels, n, sizeof(*rels), cmp_rels);
	for (size_t i = 1; i < n; i++)
		if (rels[i].insn == rels[i - 1].insn)
			return ldr_fail(l, -EINVAL, "section '%.64s': relocations #%u and #%u both "
			                "relocate instruction %u of '%.64s'", rs->name, rels[i - 1].index,
			                rels[i].index, rels[i].insn, cs->name);
	return 0;
}

/* A stable merge sort (qsort has no context argument, and equal places
 * must keep table order: libbpf takes the first). */
static int index_map_places(struct ldr *l)
{
	size_t n = l->obj->map_count;
	l->maps_by_place = malloc((n ? n : 1) * sizeof(uint32_t));
	if (!l->maps_by_place)
		return ldr_nomem(l, "map index");
	for (size_t i = 0; i < n; i++)
		l->maps_by_place[i] = (uint32_t)i;
	uint32_t *tmp = malloc((n ? n : 1) * sizeof(uint32_t));
	if (!tmp)
		return ldr_nomem(l, "map index");
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t a = lo, b = mid, k = lo;
			while (a < mid && b < hi) {
				const struct ldr_map_place *p = &l->places[l->maps_by_place[a]];
				const struct ldr_map_place *q = &l->places[l->maps_by_place[b]];
				bool take_b = q->sec < p->sec || (q->sec == p->sec && q->off < p->off);
				tmp[k++] = take_b ? l->maps_by_place[b++] : l->maps_by_place[a++];
			}
			while (a < mid)
				tmp[k++] = l->maps_by_place[a++];
			while (b < hi)
				tmp[k++] = l->maps_by_place[b++];
		}
		memcpy(l->maps_by_place, tmp, n * sizeof(uint32_t));
	}
	free(tmp);
	return 0;
}

int ldr_relocs_collect(struct ldr *l)
{
	int rc0 = index_map_places(l);
	if (rc0)
		return rc0;
	for (uint32_t i = 1; i < l->sec_count; i++) {
		const struct ldr_sec *s = &l->secs[i];
		if (s->kind != LDR_SEC_RELO)
			continue;
		uint32_t target = s->shdr.sh_info;
		if (s->size && !s->data)
			return ldr_fail(l, -ENOEXEC, "section '%.64s' has no contents", s->name);
		int rc = 0;
		if (target == l->maps_sec && l->maps_sec)
			rc = ldr_maps_collect_slots(l, i);
		else if (l->secs[target].shdr.sh_flags & SHF_EXECINSTR)
			rc = collect_code_relocs(l, i, target);
		if (rc)
			return rc;
	}
	return 0;
}
