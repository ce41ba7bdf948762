/*
 * alu.c - the verifier's arithmetic and comparisons: ALU instructions on
 * numbers and pointers (the kernel's adjust_*_min_max_vals), and
 * conditional jumps, which decide a branch when they can and otherwise
 * narrow each side's registers (bounds, null checks, packet ranges).
 *
 * Owns: check_alu(), check_cond_jmp().
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "verifier/internal.h"

/* ---- ALU ----------------------------------------------------------------- */

/* The kernel's names (bpf_alu_string): the signed forms of div and mod
 * print as the unsigned ones. */
static const char *alu_name(enum isa_alu op)
{
	static const char *const names[] = {
		[ALU_ADD] = "+=", [ALU_SUB] = "-=", [ALU_MUL] = "*=", [ALU_DIV] = "/=", [ALU_SDIV] = "/=",
		[ALU_OR] = "|=", [ALU_AND] = "&=", [ALU_LSH] = "<<=", [ALU_RSH] = ">>=", [ALU_NEG] = "neg",
		[ALU_MOD] = "%=", [ALU_SMOD] = "%=", [ALU_XOR] = "^=", [ALU_MOV] = "=", [ALU_MOVSX] = "=",
		[ALU_ARSH] = "s>>=", [ALU_END_LE] = "endian", [ALU_END_BE] = "endian", [ALU_BSWAP] = "endian",
	};
	return (size_t)op < sizeof(names) / sizeof(names[0]) && names[op] ? names[op] : "?";
}

/* Pointer +/- scalar: the kernel's adjust_ptr_min_max_vals. */
static int ptr_arith(struct verifier_env *env, struct vreg *dst, const struct vreg *ptr, const struct vreg *sc,
                     enum isa_alu op, int regno)
{
	if (ptr->maybe_null)
		return reject(env, -EACCES, "R%d pointer arithmetic on %s prohibited, null-check it first", regno,
		              reg_type_name(ptr));
	switch (ptr->type) {
	case REG_PACKET_END:
	case REG_FUNC:
		return reject(env, -EACCES, "R%d pointer arithmetic on %s prohibited", regno, reg_type_name(ptr));
	case REG_MAP_PTR:
		if (scalar_is_const(&sc->v) && sc->v.var.value == 0 && op == ALU_ADD)
			break;
		return reject(env, -EACCES, "R%d pointer arithmetic on %s prohibited", regno, reg_type_name(ptr));
	default:
		break;
	}
	if (op == ALU_SUB && ptr->type == REG_STACK)
		return reject(env, -EACCES, "R%d subtraction from stack pointer prohibited", regno);
	struct vreg res = *ptr;
	if (scalar_is_const(&sc->v)) {
		int64_t c = (int64_t)sc->v.var.value;
		/* the constant first, as the kernel's check_reg_sane_offset:
		 * then off +/- c cannot overflow */
		if (c >= MAX_VAR_OFF || c <= -MAX_VAR_OFF)
			return reject(env, -EACCES, "math between %s pointer and %" PRId64 " is not allowed",
			              reg_type_name(ptr), c);
		int64_t noff = op == ALU_ADD ? (int64_t)ptr->off + c : (int64_t)ptr->off - c;
		if (noff >= MAX_VAR_OFF || noff <= -MAX_VAR_OFF)
			return reject(env, -EACCES, "R%d pointer offset %" PRId64 " is not allowed", regno, noff);
		res.off = (int32_t)noff;
	} else {
		if (sc->v.smin <= -MAX_VAR_OFF || sc->v.smax >= MAX_VAR_OFF) {
			if (is_pkt(ptr) || ptr->type == REG_STACK)
				return reject(env, -EACCES, "R%d unbounded memory access, make sure to bounds check any such access",
				              regno);
		}
		scalar_alu(&res.v, &sc->v, op, true, 0);
		if (is_pkt(ptr)) {
			/* a new packet pointer: its range must be proved again */
			res.id = ++env->next_id;
			res.range = 0;
			if (res.v.umax > MAX_PACKET_OFF || (int64_t)res.v.umax + res.off > MAX_PACKET_OFF)
				return reject(env, -EACCES, "value %" PRIu64 " makes pkt pointer be out of bounds", res.v.umax);
		}
	}
	if (is_pkt(ptr) && scalar_is_const(&sc->v) && res.off > MAX_PACKET_OFF)
		return reject(env, -EACCES, "value %d makes pkt pointer be out of bounds", res.off);
	*dst = res;
	return 0;
}

/* neg and byte swap: a pointer becomes an unknown number. */
static int check_alu_unary(struct verifier_env *env, struct vstate *st, const bpfvm_insn *in,
                           const struct isa_op *op)
{
	struct vreg *dst = &cur_frame(st)->regs[in->dst];
	int rc;
	if ((rc = check_reg_read(env, st, in->dst)) || (rc = check_reg_write(env, in->dst)))
		return rc;
	if (dst->type != REG_SCALAR)
		mark_unknown(dst);
	else if (op->alu == ALU_NEG)
		scalar_alu(&dst->v, &dst->v, ALU_NEG, op->bits == 64, 0);
	else
		scalar_endian(&dst->v, op->alu, (unsigned)op->select_value);
	dst->id = 0;
	return 0;
}

/* mov, plain or sign-extending, of src (a register or the immediate). */
static void check_mov(struct verifier_env *env, struct vframe *f, const bpfvm_insn *in, const struct isa_op *op,
                      const struct vreg *src)
{
	struct vreg *dst = &f->regs[in->dst];
	bool alu64 = op->bits == 64, use_reg = op->src_kind == SRC_REG;
	if (op->alu == ALU_MOVSX) {
		if (src->type != REG_SCALAR) {
			mark_unknown(dst);
			if (!alu64)
				scalar_zext32(&dst->v);
			return;
		}
		struct vreg v = *src;
		scalar_alu(&v.v, &src->v, ALU_MOVSX, alu64, (unsigned)op->select_value);
		v.id = 0;
		*dst = v;
		return;
	}
	if (!alu64) {
		if (src->type != REG_SCALAR) {
			mark_unknown(dst);
			scalar_zext32(&dst->v);
			return;
		}
		struct vreg v = *src;
		scalar_alu(&v.v, &src->v, ALU_MOV, false, 0);
		v.id = 0;
		if (use_reg && src->v.umax <= 0xffffffffu && !scalar_is_const(&src->v)) {
			/* the upper half is zero: the copy equals the source */
			struct vreg *s = &f->regs[in->src];
			if (!s->id)
				s->id = ++env->next_id;
			v.id = s->id;
		}
		*dst = v;
		return;
	}
	if (use_reg && src->type == REG_SCALAR && !scalar_is_const(&src->v)) {
		/* copies share an id: a bound learnt on one holds for both */
		struct vreg *s = &f->regs[in->src];
		if (!s->id)
			s->id = ++env->next_id;
	}
	*dst = *src;
}

static bool is_div_or_mod(enum isa_alu op)
{
	return op == ALU_DIV || op == ALU_SDIV || op == ALU_MOD || op == ALU_SMOD;
}

static bool is_shift(enum isa_alu op)
{
	return op == ALU_LSH || op == ALU_RSH || op == ALU_ARSH;
}

/* dst op= src where either is a pointer. */
static int check_ptr_alu(struct verifier_env *env, struct vreg *dst, const struct vreg *src, enum isa_alu op,
                         bool alu64, int regno)
{
	bool dptr = is_ptr(dst), sptr = is_ptr(src);
	if (dptr && sptr) {
		if (op == ALU_SUB && alu64) {
			mark_unknown(dst);
			return 0;
		}
		return reject(env, -EACCES, "R%d pointer %s pointer prohibited", regno, alu_name(op));
	}
	if (!alu64) {
		if (dptr && op == ALU_SUB) {
			mark_unknown(dst);
			scalar_zext32(&dst->v);
			return 0;
		}
		if (dptr)
			return reject(env, -EACCES, "R%d 32-bit pointer arithmetic prohibited", regno);
		/* scalar op= pointer in 32 bits: the pointer is a number now */
		mark_unknown(dst);
		scalar_zext32(&dst->v);
		return 0;
	}
	if (op != ALU_ADD && op != ALU_SUB) {
		if (op == ALU_OR || op == ALU_AND || op == ALU_XOR)
			return reject(env, -EACCES, "R%d bitwise operator %s on pointer prohibited", regno, alu_name(op));
		return reject(env, -EACCES, "R%d pointer arithmetic with %s operator prohibited", regno, alu_name(op));
	}
	if (sptr) {
		if (op == ALU_SUB)
			return reject(env, -EACCES, "R%d tried to subtract pointer from scalar", regno);
		struct vreg sc = *dst;
		return ptr_arith(env, dst, src, &sc, op, regno);
	}
	struct vreg sc = *src;
	struct vreg p = *dst;
	return ptr_arith(env, dst, &p, &sc, op, regno);
}

int check_alu(struct verifier_env *env, struct vstate *st, const bpfvm_insn *in, const struct isa_op *op)
{
	struct vframe *f = cur_frame(st);
	bool alu64 = op->bits == 64;
	bool use_reg = op->src_kind == SRC_REG;
	struct vreg *dst = &f->regs[in->dst];
	int rc;

	if (op->format == FMT_NEG || op->format == FMT_END)
		return check_alu_unary(env, st, in, op);
	uint64_t imm_value = alu64 ? (uint64_t)(int64_t)in->imm : (uint32_t)in->imm;
	bool mov = op->alu == ALU_MOV || op->alu == ALU_MOVSX;
	if (!use_reg && !mov) {
		/* a number moved by a constant, the most common ALU
		 * instruction: the constant as a scalar alone, not a whole
		 * register (the checks in the order of the general path) */
		if ((rc = check_reg_write(env, in->dst)))
			return rc;
		if (is_div_or_mod(op->alu) && in->imm == 0)
			return reject(env, -EINVAL, "div by zero");
		if (is_shift(op->alu) && (uint32_t)in->imm >= op->bits)
			return reject(env, -EINVAL, "invalid shift %d", in->imm);
		if ((rc = check_reg_read(env, st, in->dst)))
			return rc;
		if (dst->type == REG_SCALAR) {
			struct scalar k;
			scalar_known(&k, imm_value);
			scalar_alu(&dst->v, &k, op->alu, alu64, 0);
			dst->id = 0;
			return 0;
		}
	}
	struct vreg imm;
	const struct vreg *src;
	if (use_reg) {
		if ((rc = check_reg_read(env, st, in->src)))
			return rc;
		src = &f->regs[in->src];
	} else {
		mark_known(&imm, imm_value);
		src = &imm;
	}
	if ((rc = check_reg_write(env, in->dst)))
		return rc;
	if (mov) {
		check_mov(env, f, in, op, src);
		return 0;
	}
	if (!use_reg && is_div_or_mod(op->alu) && in->imm == 0)
		return reject(env, -EINVAL, "div by zero");
	if (!use_reg && is_shift(op->alu) && (uint32_t)in->imm >= op->bits)
		return reject(env, -EINVAL, "invalid shift %d", in->imm);
	if ((rc = check_reg_read(env, st, in->dst)))
		return rc;
	if (is_ptr(dst) || is_ptr(src)) {
		/* the number moves a pointer: its range is checked now */
		if (use_reg && is_ptr(dst) && (rc = mark_precise(env, st, in->src)))
			return rc;
		if (!is_ptr(dst) && (rc = mark_precise(env, st, in->dst)))
			return rc;
		return check_ptr_alu(env, dst, src, op->alu, alu64, in->dst);
	}
	scalar_alu(&dst->v, &src->v, op->alu, alu64, 0);
	dst->id = 0;
	return 0;
}

/* ---- branches ------------------------------------------------------------ */

static void set_id_scalar(struct vstate *st, uint32_t id, const struct scalar *v)
{
	if (!id)
		return;
	FOR_EACH_REG(st, r, {
		if (r->type == REG_SCALAR && r->id == id)
			r->v = *v;
	});
}

/* After ptr (of id) compared against its end: `range` bytes are inside. */
static void set_pkt_range(struct vstate *st, uint8_t type, uint32_t id, uint32_t range)
{
	FOR_EACH_REG(st, r, {
		if (r->type == type && r->id == id && r->range < range)
			r->range = range;
	});
}

/* A null check on a pointer of `id`: on one side all copies are NULL, on
 * the other none is. */
static void mark_null_checked(struct vstate *st, uint32_t id, bool is_null)
{
	uint32_t ref = 0;
	FOR_EACH_REG(st, r, {
		if (r->maybe_null && r->id == id) {
			if (r->ref_id)
				ref = r->ref_id;
			if (is_null) {
				mark_known(r, 0);
			} else {
				r->maybe_null = false;
			}
		}
	});
	if (is_null && ref) {
		/* a NULL reservation needs no release */
		for (uint32_t i = 0; i < st->ref_count; i++)
			if (st->refs[i].id == ref) {
				st->refs[i] = st->refs[--st->ref_count];
				break;
			}
	}
}

/* Packet pointer comparisons: which side learns a range, per the
 * kernel's try_match_pkt_pointers. */
static void pkt_compare(struct vstate *taken, struct vstate *fall, const struct vreg *a, const struct vreg *b,
                        uint8_t cond)
{
	const struct vreg *pkt;
	bool swapped;
	if (a->type == REG_PACKET && b->type == REG_PACKET_END) {
		pkt = a;
		swapped = false;
	} else if (a->type == REG_PACKET_END && b->type == REG_PACKET) {
		pkt = b;
		swapped = true;
	} else if (a->type == REG_PACKET_META && b->type == REG_PACKET && b->off == 0 && var_is_zero(b)) {
		/* metadata ends where the packet starts: only the packet's
		 * own start bounds it */
		pkt = a;
		swapped = false;
	} else if (a->type == REG_PACKET && b->type == REG_PACKET_META && a->off == 0 && var_is_zero(a)) {
		pkt = b;
		swapped = true;
	} else {
		return;
	}
	if (swapped)
		cond = cond_swap(cond);
	if (pkt->off < 0 || pkt->v.umax > MAX_PACKET_OFF || (int64_t)pkt->v.umax + pkt->off > MAX_PACKET_OFF)
		return;
	/* now: pkt COND end */
	struct vstate *good = NULL;
	uint32_t range = (uint32_t)pkt->off;
	switch (cond) {
	case COND_GT: /* pkt > end: the fall-through knows pkt <= end */
		good = fall;
		break;
	case COND_LE: /* pkt <= end */
		good = taken;
		break;
	case COND_LT: /* pkt < end */
		good = taken;
		range++;
		break;
	case COND_GE: /* pkt >= end: the fall-through knows pkt < end */
		good = fall;
		range++;
		break;
	default:
		return;
	}
	if (range == 1 && pkt->off == 0 && (cond == COND_LT || cond == COND_GE))
		return;
	if (good)
		set_pkt_range(good, pkt->type, pkt->id, range);
}

static void path_note(struct vstate *st, uint32_t from, bool taken)
{
	st->path[st->path_total % PATH_LEN] = from << 1 | (taken ? 1 : 0);
	st->path_total++;
}

/* Whether the kernel knows the pointer is never NULL (reg_not_null): a
 * map value, memory or a map, not maybe NULL, its offset too small to
 * wrap it to 0.  The context and stack pointers are not among them. */
static bool never_null(const struct vreg *p)
{
	return (p->type == REG_MAP_VALUE || p->type == REG_MEM || p->type == REG_MAP_PTR) && !p->maybe_null &&
	       p->v.smin > -MAX_VAR_OFF && p->v.smax < MAX_VAR_OFF;
}

/* Two pointers compared for (in)equality, the kernel's check_cond_jmp_op:
 * on the side where they are equal, a maybe-NULL one equal to one never
 * NULL is not NULL; that register only, not its copies.  Typed kernel
 * pointers (REG_BTF_ID) may be NULL unmarked: they tell nothing. */
static void pointers_compared(struct vstate *equal_side, const bpfvm_insn *in, const struct vreg *a,
                              const struct vreg *b)
{
	if (!is_ptr(a) || !is_ptr(b) || a->type == REG_BTF_ID || b->type == REG_BTF_ID)
		return;
	/* decided before either changes: a or b may be equal_side's */
	bool src_not_null = never_null(a) && b->maybe_null, dst_not_null = never_null(b) && a->maybe_null;
	struct vreg *regs = cur_frame(equal_side)->regs;
	if (src_not_null)
		regs[in->src].maybe_null = false;
	if (dst_not_null)
		regs[in->dst].maybe_null = false;
}

/* Whether a cond b is known: 1 always taken, 0 never, -1 either way. */
static int branch_known(const struct vreg *a, const struct vreg *b, uint8_t cond, bool is32)
{
	if (a->type == REG_SCALAR && b->type == REG_SCALAR)
		return scalar_branch_taken(&a->v, &b->v, cond, is32);
	if (!is32 && (cond == COND_EQ || cond == COND_NE)) {
		/* a non-NULL pointer compared with 0 */
		const struct vreg *p = is_ptr(a) ? a : b, *z = is_ptr(a) ? b : a;
		/* only the pointers the kernel knows are never NULL (a map
		 * value, memory) decide it; the context or a stack pointer
		 * do not */
		if (never_null(p) && z->type == REG_SCALAR && scalar_is_const(&z->v) && z->v.var.value == 0)
			return cond == COND_NE;
	}
	return -1;
}

/* What each side of an undecided jump learns: `taken` (a copy of the
 * state) that a cond b holds, `fall` (the state a and b are in) that it
 * does not.  Clears *taken_ok or *fall_ok for a side that cannot be. */
static void refine_sides(struct vstate *taken, struct vstate *fall, const bpfvm_insn *in, const struct isa_op *op,
                         struct vreg *a, struct vreg *b, bool *taken_ok, bool *fall_ok)
{
	bool is32 = op->bits == 32;
	uint8_t cond = op->cond;
	bool use_reg = op->src_kind == SRC_REG;
	struct vframe *of = cur_frame(taken);
	struct vreg *oa = &of->regs[in->dst];
	struct vreg same2 = *b;
	struct vreg *ob = use_reg && in->src != in->dst ? &of->regs[in->src] : &same2;
	*taken_ok = *fall_ok = true;
	if (a->type == REG_SCALAR && b->type == REG_SCALAR) {
		/* (branch_known() found the jump undecided) */
		/* (oa and ob hold a's and b's numbers: read those) */
		*taken_ok = scalar_refine_undecided_from(&a->v, &b->v, &oa->v, &ob->v, cond, is32);
		*fall_ok = scalar_refine_undecided(&a->v, &b->v, cond_negate(cond), is32);
		if (*taken_ok) {
			set_id_scalar(taken, oa->id, &oa->v);
			if (use_reg)
				set_id_scalar(taken, ob->id, &ob->v);
		}
		if (*fall_ok) {
			set_id_scalar(fall, a->id, &a->v);
			if (use_reg)
				set_id_scalar(fall, b->id, &b->v);
		}
	} else if (!is32 && (cond == COND_EQ || cond == COND_NE)) {
		/* only the immediate 0 checks for NULL, not a register
		 * holding 0 */
		if (!use_reg && a->maybe_null && in->imm == 0 && a->id) {
			uint32_t id = a->id;
			mark_null_checked(taken, id, cond == COND_EQ);
			mark_null_checked(fall, id, cond != COND_EQ);
		} else if (use_reg) {
			pointers_compared(cond == COND_EQ ? taken : fall, in, a, b);
		}
	} else if (!is32) {
		pkt_compare(taken, fall, a, b, cond);
	}
}

/* A jump decided by its operands' values marks them precise. */
static int mark_jump_operands(struct verifier_env *env, struct vstate *st, const bpfvm_insn *in, bool use_reg)
{
	int rc = mark_precise(env, st, in->dst);
	if (!rc && use_reg)
		rc = mark_precise(env, st, in->src);
	return rc;
}

/* Records what a jump narrows besides its operands: every number of the
 * frame sharing an id with one (precision.c follows them back). */
static int note_linked(struct verifier_env *env, const struct vstate *st, const struct vreg *a, const struct vreg *b)
{
	uint32_t ida = a->type == REG_SCALAR ? a->id : 0, idb = b && b->type == REG_SCALAR ? b->id : 0;
	uint64_t slots = 0;
	if (!ida && !idb)
		return 0;
	for (uint32_t fi = 0; fi <= st->curframe; fi++) {
		const struct vframe *f = st->frames[fi];
		for (int i = 0; i < 10; i++) {
			const struct vreg *r = &f->regs[i];
			if (r->type != REG_SCALAR || !r->id || (r->id != ida && r->id != idb))
				continue;
			if (fi == st->curframe)
				env->cur.linked_regs |= (uint16_t)(1u << i);
			else
				env->cur.flags |= HIST_LINKED_OTHER;
		}
		for (uint32_t s = 0; s < f->slots; s++) {
			const struct vreg *r = &f->stack[s].spilled;
			if (f->stack[s].type[0] != SLOT_SPILL && f->stack[s].type[7] != SLOT_SPILL)
				continue;
			if (r->type != REG_SCALAR || !r->id || (r->id != ida && r->id != idb))
				continue;
			if (fi == st->curframe && s < 64)
				slots |= 1ull << s;
			else
				env->cur.flags |= HIST_LINKED_OTHER;
		}
	}
	return slots ? hist_add_linked_slots(env, slots) : 0;
}

/* Conditional jump at pc; continues on one side, queues the other. */
int check_cond_jmp(struct verifier_env *env, struct vstate *st, uint32_t pc, const bpfvm_insn *in,
                   const struct isa_op *op, uint32_t *next)
{
	struct vframe *f = cur_frame(st);
	bool is32 = op->bits == 32;
	bool use_reg = op->src_kind == SRC_REG;
	uint32_t target = (uint32_t)((int64_t)pc + 1 + in->off);
	int rc;
	if ((rc = check_reg_read(env, st, in->dst)))
		return rc;
	if (use_reg && (rc = check_reg_read(env, st, in->src)))
		return rc;
	struct vreg immr;
	struct vreg *a = &f->regs[in->dst];
	struct vreg *b;
	struct vreg same;
	if (use_reg && in->src == in->dst) {
		same = *a;
		b = &same;
	} else if (use_reg) {
		b = &f->regs[in->src];
	} else {
		mark_known(&immr, is32 ? (uint32_t)in->imm : (uint64_t)(int64_t)in->imm);
		b = &immr;
	}
	int taken = branch_known(a, b, op->cond, is32);
	if (taken >= 0) {
		*next = taken ? target : pc + 1;
		/* the numbers decided the branch: the other side is never
		 * walked, so they must match in any state pruned later */
		return mark_jump_operands(env, st, in, use_reg);
	}
	if ((rc = note_linked(env, st, a, use_reg ? b : NULL)))
		return rc;
	/* the taken side, made in the block it is queued in if both sides
	 * may be taken (one copy less) */
	struct vstate *other = state_branch(env, st);
	if (!other)
		return reject(env, -ENOMEM, "out of memory");
	bool fall_ok, taken_ok;
	/* other = taken side, st = fall-through side */
	refine_sides(other, st, in, op, a, b, &taken_ok, &fall_ok);
	if (taken_ok && fall_ok) {
		path_note(other, pc, true);
		path_note(st, pc, false);
		if (env->log_level >= 1) {
			char buf[2048];
			state_format(other, buf, sizeof buf);
			vlog(env, "from %u to %u: %s\n", pc, target, buf);
		}
		rc = push_branch(env, other, target);
		*next = pc + 1;
		return rc;
	}
	rc = 0;
	if (taken_ok) {
		rc = state_copy(st, other);
		*next = target;
	} else {
		*next = pc + 1;
	}
	state_release(env, other);
	if (rc)
		return reject(env, -ENOMEM, "out of memory");
	return mark_jump_operands(env, st, in, use_reg);
}
