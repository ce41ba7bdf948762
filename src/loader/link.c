/*
 * link.c - from functions to programs: the entry programs' descriptions
 * (name, section, type) and, for each, one self-contained instruction
 * array, the way libbpf 1.1's bpf_object__relocate() builds it.
 *
 * Linking a program walks its code; at the first call (or callback
 * address) that reaches a subprogram not yet in this program, the
 * subprogram is appended and walked before the caller goes on -- libbpf's
 * depth-first order, so the arrays match libbpf's instruction for
 * instruction.  An explicit stack replaces libbpf's recursion, so a
 * hostile call chain cannot exhaust ours.  Then:
 *   call / lddw of a function: imm = target - (pc + 1); lddw gets
 *                              src = BPF_PSEUDO_FUNC;
 *   lddw of a map:             src = BPF_PSEUDO_MAP_FD, imm = map index;
 *   lddw of global data:       src = BPF_PSEUDO_MAP_VALUE, imm = map
 *                              index, next imm = addend + symbol offset;
 *   externs:                   see link_extern().
 * Finally each instruction gets the line record that covers it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"

/* Cap on all programs' linked instructions together: appending a big
 * .text to many programs must not let a small file take gigabytes. */
#define LDR_MAX_TOTAL_INSNS (16u * BPFVM_MAX_INSNS)

struct linker {
	struct ldr *l;
	const struct ldr_func *main;
	bpfvm_insn *insns;
	size_t count, cap;
	bpfvm_object_func *copies;   /* .start/.count; .name, .section set at the end */
	uint32_t *copy_func;         /* function index of each copy */
	size_t copy_count, copy_cap;
	uint32_t *placed;            /* per function: copy index + 1, 0 = not yet */
	struct frame { uint32_t copy, next; } *stack;
	size_t depth, stack_cap;
	size_t *total;
};

static int link_fail_nomem(struct linker *k)
{
	return ldr_nomem(k->l, "linked program");
}

static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t ncap = *cap ? *cap : 16;
	while (ncap < need)
		ncap *= 2;
	void *n = realloc(*arr, ncap * elem);
	if (!n)
		return false;
	*arr = n;
	*cap = ncap;
	return true;
}

/* Appends function `fi` as a new copy; pushes it for walking. */
static int append_func(struct linker *k, uint32_t fi)
{
	struct ldr *l = k->l;
	const struct ldr_func *f = &l->funcs[fi];
	if (k->count + f->count > BPFVM_MAX_INSNS || *k->total + f->count > LDR_MAX_TOTAL_INSNS)
		return ldr_fail(l, -E2BIG, "program '%.64s': with subprogram '%.64s' it exceeds %u "
		                "instructions (or the object's total exceeds %u)", k->main->name,
		                f->name, BPFVM_MAX_INSNS, LDR_MAX_TOTAL_INSNS);
	size_t copy_cap = k->copy_cap;
	if (!grow((void **)&k->insns, &k->cap, k->count + f->count, sizeof(bpfvm_insn)) ||
	    !grow((void **)&k->copies, &copy_cap, k->copy_count + 1, sizeof(*k->copies)) ||
	    !grow((void **)&k->copy_func, &k->copy_cap, k->copy_count + 1, sizeof(uint32_t)) ||
	    !grow((void **)&k->stack, &k->stack_cap, k->depth + 1, sizeof(*k->stack)))
		return link_fail_nomem(k);
	memcpy(k->insns + k->count, l->secs[f->sec].data + (size_t)f->off * LDR_INSN_SIZE,
	       (size_t)f->count * LDR_INSN_SIZE);
	uint32_t ci = (uint32_t)k->copy_count++;
	k->copies[ci] = (bpfvm_object_func){ .start = (uint32_t)k->count, .count = f->count };
	k->copy_func[ci] = fi;
	k->placed[fi] = ci + 1;
	k->count += f->count;
	*k->total += f->count;
	k->stack[k->depth++] = (struct frame){ .copy = ci, .next = 0 };
	return 0;
}

static const struct ldr_rel *find_rel(const struct ldr_sec *s, uint32_t insn)
{
	size_t lo = 0, hi = s->rel_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->rels[mid].insn < insn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->rel_count && s->rels[lo].insn == insn ? &s->rels[lo] : NULL;
}

/* Index of the function of `sec` starting exactly at instruction `insn`. */
static int64_t func_starting_at(struct ldr *l, uint32_t sec, int64_t insn)
{
	if (insn < 0 || insn > UINT32_MAX)
		return -1;
	const struct ldr_func *f = ldr_func_at(l, sec, (uint32_t)insn);
	if (!f || f->off != insn)
		return -1;
	return f - l->funcs;
}

static int insn_fail(struct linker *k, const struct ldr_func *f, uint32_t i, int code,
                     const char *why)
{
	const struct ldr_sec *s = &k->l->secs[f->sec];
	int rc = ldr_fail(k->l, code, "program '%.48s': instruction %u of section '%.48s' (in "
	                  "function '%.48s'): %s", k->main->name, f->off + i, s->name, f->name, why);
	if (k->l->err)
		k->l->err->insn = (int)(f->off + i);
	return rc;
}

/* libbpf's relocation of an extern: a __kconfig value's address in the
 * .kconfig map (the offset replaces the addend, as libbpf's), 0 for an
 * absent weak __ksym, a kfunc call left naming its extern. */
static void link_extern(struct ldr *l, const struct ldr_extern *e, bpfvm_insn *insn)
{
	if (e->kind == LDR_EXTERN_KFUNC) {
		insn->src = BPFVM_PSEUDO_KFUNC_CALL;
		insn->imm = (int32_t)(e - l->externs);
		insn->off = 0;
	} else if (e->kind == LDR_EXTERN_KCFG) {
		insn->src = BPFVM_PSEUDO_MAP_VALUE;
		insn->imm = (int32_t)l->kcfg_map;
		insn[1].imm = (int32_t)e->off;
	} else {
		insn->src = 0;
		insn->imm = 0;
		insn[1].imm = 0;
	}
}

/* One instruction of the copy on top of the stack. */
static int link_insn(struct linker *k, uint32_t ci, uint32_t i)
{
	struct ldr *l = k->l;
	const struct ldr_func *f = &l->funcs[k->copy_func[ci]];
	const struct ldr_sec *s = &l->secs[f->sec];
	size_t pc = k->copies[ci].start + i;
	bpfvm_insn *insn = &k->insns[pc];
	const struct ldr_rel *rel = find_rel(s, f->off + i);
	bool is_call = insn->opcode == ISA_OPCODE_CALL && insn->src == BPFVM_PSEUDO_CALL &&
	               !(rel && rel->kind == LDR_REL_EXTERN);
	bool is_func_addr = isa_is_lddw(insn) &&
	                    (insn->src == BPFVM_PSEUDO_FUNC || (rel && rel->kind == LDR_REL_FUNC_ADDR));
	char why[160];

	if (!is_call && !is_func_addr) {
		if (!rel) {
			/* Map and data references come from relocations.  One
			 * without (a literal fd in inline assembly) reaches the
			 * kernel as libbpf leaves it, which refuses it at load:
			 * its imm is kept past the object's maps, no map of
			 * them (the verifier's check_map_refs names the fd);
			 * any other pseudo lddw carries an id from nowhere. */
			uint64_t past = (uint64_t)l->obj->map_count + (uint32_t)insn->imm;
			if (isa_is_lddw(insn) && (insn->src == BPFVM_PSEUDO_MAP_FD || insn->src == BPFVM_PSEUDO_MAP_VALUE) &&
			    insn->imm >= 0 && past <= INT32_MAX) {
				insn->imm = (int32_t)past;
				return 0;
			}
			if (isa_is_lddw(insn) && insn->src != 0) {
				snprintf(why, sizeof why, "an lddw with src_reg %u but no relocation",
				         insn->src);
				return insn_fail(k, f, i, -EINVAL, why);
			}
			return 0;
		}
		/* relocs.c left only lddw for MAP and DATA, inside the function. */
		if (rel->kind == LDR_REL_MAP) {
			insn->src = BPFVM_PSEUDO_MAP_FD;
			insn->imm = (int32_t)rel->map;
		} else if (rel->kind == LDR_REL_EXTERN) {
			link_extern(l, &l->externs[rel->map], insn);
		} else if (rel->kind == LDR_REL_DATA) {
			/* Addend + symbol offset, wrapping like libbpf's int sum. */
			insn[1].imm = (int32_t)((uint32_t)insn->imm + (uint32_t)rel->sym_off);
			insn->src = BPFVM_PSEUDO_MAP_VALUE;
			insn->imm = (int32_t)rel->map;
		} else {
			return insn_fail(k, f, i, -EINVAL, "a call relocation on an instruction that "
			                 "is not a BPF-to-BPF call");
		}
		return 0;
	}

	uint32_t target_sec;
	int64_t target;
	if (rel && rel->kind != LDR_REL_CALL && rel->kind != LDR_REL_FUNC_ADDR)
		return insn_fail(k, f, i, -EINVAL, "a map or data relocation on a call or function "
		                 "address");
	if (rel) {
		target_sec = rel->target_sec;
		/* A call's imm is relative (global functions: -1 from the symbol);
		 * a function address's imm is a byte offset from the symbol. */
		if (rel->kind == LDR_REL_CALL)
			target = (int64_t)(rel->sym_off / LDR_INSN_SIZE) + insn->imm + 1;
		else
			target = ((int64_t)rel->sym_off + insn->imm) / (int64_t)LDR_INSN_SIZE;
	} else if (is_func_addr) {
		return insn_fail(k, f, i, -EINVAL, "an lddw of a function (src_reg 4) without a "
		                 "relocation naming the function");
	} else {
		/* A call inside one section needs no relocation. */
		target_sec = f->sec;
		target = (int64_t)f->off + i + insn->imm + 1;
	}
	int64_t target_func = func_starting_at(l, target_sec, target);
	if (target_func < 0) {
		snprintf(why, sizeof why, "%s instruction %lld of section '%.48s', which is not the "
		         "start of a function", is_call ? "calls" : "takes the address of",
		         (long long)target, l->secs[target_sec].name);
		return insn_fail(k, f, i, -EINVAL, why);
	}
	uint32_t placed = k->placed[target_func];
	if (!placed) {
		int rc = append_func(k, (uint32_t)target_func);
		if (rc)
			return rc;
		placed = k->placed[target_func];
		insn = &k->insns[pc];   /* appending may have moved the array */
	}
	insn->imm = (int32_t)((int64_t)k->copies[placed - 1].start - (int64_t)pc - 1);
	if (is_func_addr)
		insn->src = BPFVM_PSEUDO_FUNC;
	return 0;
}

/* The nearest line record at or before each instruction of each copy,
 * not reaching back before the function's first instruction. */
static int assign_lines(struct linker *k, struct ldr_prog_extra *extra)
{
	struct ldr *l = k->l;
	extra->line_of_insn = malloc((k->count ? k->count : 1) * sizeof(uint32_t));
	if (!extra->line_of_insn)
		return link_fail_nomem(k);
	for (size_t c = 0; c < k->copy_count; c++) {
		const struct ldr_func *f = &l->funcs[k->copy_func[c]];
		const struct ldr_sec *s = &l->secs[f->sec];
		size_t r = 0;
		while (r < s->line_count && s->lines[r].insn < f->off)
			r++;
		uint32_t current = LDR_NONE;
		for (uint32_t i = 0; i < f->count; i++) {
			while (r < s->line_count && s->lines[r].insn <= f->off + i) {
				current = (uint32_t)(s->lines + r - l->obj->lines);
				r++;
			}
			extra->line_of_insn[k->copies[c].start + i] = current;
		}
	}
	return 0;
}

/* The program's func info, as libbpf gives the kernel: each function
 * copied in, by its first instruction, with its BTF FUNC. */
static int func_info_make(struct linker *k, bpfvm_object_prog *p)
{
	bpfvm_func_info *fi = calloc(k->copy_count ? k->copy_count : 1, sizeof *fi);
	if (!fi)
		return link_fail_nomem(k);
	for (size_t c = 0; c < k->copy_count; c++)
		fi[c] = (bpfvm_func_info){ .insn_off = k->copies[c].start,
		                           .type_id = k->l->funcs[k->copy_func[c]].btf_id };
	p->func_info = fi;
	p->func_info_count = k->copy_count;
	return 0;
}

static int link_program(struct ldr *l, uint32_t main_func, size_t *total)
{
	struct linker k = { .l = l, .main = &l->funcs[main_func], .total = total };
	bpfvm_object_prog *p = &l->obj->progs[k.main->prog];
	int rc = 0;
	k.placed = calloc(l->func_count, sizeof(uint32_t));
	if (!k.placed)
		rc = link_fail_nomem(&k);
	if (!rc)
		rc = append_func(&k, main_func);
	while (!rc && k.depth > 0) {
		struct frame *top = &k.stack[k.depth - 1];
		uint32_t ci = top->copy, i = top->next;
		if (i >= k.copies[ci].count) {
			k.depth--;
			continue;
		}
		top->next = i + (isa_is_lddw(&k.insns[k.copies[ci].start + i]) ? 2 : 1);
		rc = link_insn(&k, ci, i);
	}
	if (!rc)
		rc = assign_lines(&k, &l->obj->prog_extra[k.main->prog]);
	if (!rc) {
		for (size_t c = 0; c < k.copy_count; c++) {
			const struct ldr_func *f = &l->funcs[k.copy_func[c]];
			k.copies[c].name = f->name;
			const char *sec = l->secs[f->sec].name;
			k.copies[c].section = sec[0] == '?' ? sec + 1 : sec;
		}
		if (l->has_func_info)
			rc = func_info_make(&k, p);
	}
	if (!rc) {
		p->insns = k.insns;
		p->insn_count = k.count;
		p->funcs = k.copies;
		p->func_count = k.copy_count;
		k.insns = NULL;
		k.copies = NULL;
	}
	free(k.insns);
	free(k.copies);
	free(k.copy_func);
	free(k.placed);
	free(k.stack);
	return rc;
}

int ldr_programs_init(struct ldr *l)
{
	/* Names the linked programs keep must outlive the file image. */
	for (size_t i = 0; i < l->func_count; i++)
		if (!(l->funcs[i].name = ldr_strdup(l, l->funcs[i].name)))
			return ldr_nomem(l, "function names");
	for (size_t i = 1; i < l->sec_count; i++)
		if (l->secs[i].kind == LDR_SEC_PROG && !(l->secs[i].name = ldr_strdup(l, l->secs[i].name)))
			return ldr_nomem(l, "section names");

	size_t n = 0;
	for (size_t i = 0; i < l->func_count; i++)
		if (l->funcs[i].entry)
			n++;
	if (n == 0)
		return 0;
	struct bpfvm_object *o = l->obj;
	o->progs = calloc(n, sizeof(*o->progs));
	o->prog_extra = calloc(n, sizeof(*o->prog_extra));
	if (!o->progs || !o->prog_extra)
		return ldr_nomem(l, "program table");
	o->prog_count = n;

	size_t p = 0;
	for (size_t i = 0; i < l->func_count; i++) {
		struct ldr_func *f = &l->funcs[i];
		if (!f->entry)
			continue;
		bpfvm_object_prog *prog = &o->progs[p];
		f->prog = (uint32_t)p++;
		const char *sec = l->secs[f->sec].name;
		prog->autoload = sec[0] != '?';
		if (!prog->autoload)
			sec++;   /* SEC("?xdp"): xdp, not loaded by default (libbpf) */
		prog->name = ldr_strdup(l, f->name);
		prog->section = ldr_strdup(l, sec);
		if (!prog->name || !prog->section)
			return ldr_nomem(l, "program names");
		struct ldr_sec_def_result def;
		ldr_sec_def_lookup(prog->section, &def);
		prog->type = def.prog_type;
		prog->expected_attach_type = def.attach_type;
		prog->attach_target = def.target;
		prog->sleepable = def.sleepable;
	}
	return 0;
}

int ldr_link_programs(struct ldr *l)
{
	size_t total = 0;
	for (size_t i = 0; i < l->func_count; i++) {
		if (!l->funcs[i].entry)
			continue;
		int rc = link_program(l, (uint32_t)i, &total);
		if (rc)
			return rc;
	}
	return 0;
}
