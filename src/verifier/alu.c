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

static const char *alu_name(uint8_t op)
{
	static const char *const names[16] = { "+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=", "neg", "%=", "^=",
	                                       "=", "s>>=", "endian", "?", "?" };
	return names[op >> 4];
}

/* Pointer +/- scalar: the kernel's adjust_ptr_min_max_vals. */
static int ptr_arith(struct verifier_env *env, struct vreg *dst, const struct vreg *ptr, const struct vreg *sc,
                     uint8_t op, int regno)
{
	if (ptr->maybe_null)
		return reject(env, -EACCES, "R%d pointer arithmetic on %s prohibited, null-check it first", regno,
		              reg_type_name(ptr));
	switch (ptr->type) {
	case REG_PACKET_END:
	case REG_FUNC:
		return reject(env, -EACCES, "R%d pointer arithmetic on %s prohibited", regno, reg_type_name(ptr));
	case REG_MAP_PTR:
		if (scalar_is_const(&sc->v) && sc->v.var.value == 0 && op == 0x00)
			break;
		return reject(env, -EACCES, "R%d pointer arithmetic on %s prohibited", regno, reg_type_name(ptr));
	default:
		break;
	}
	if (op == 0x10 && ptr->type == REG_STACK)
		return reject(env, -EACCES, "R%d subtraction from stack pointer prohibited", regno);
	struct vreg res = *ptr;
	if (scalar_is_const(&sc->v)) {
		int64_t c = (int64_t)sc->v.var.value;
		int64_t noff = op == 0x00 ? (int64_t)ptr->off + c : (int64_t)ptr->off - c;
		if (c >= MAX_VAR_OFF || c <= -MAX_VAR_OFF || noff >= MAX_VAR_OFF || noff <= -MAX_VAR_OFF)
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
static int check_alu_unary(struct verifier_env *env, struct vstate *st, const bpfvm_insn *in, uint8_t op, bool alu64)
{
	struct vreg *dst = &cur_frame(st)->regs[in->dst];
	int rc;
	if ((rc = check_reg_read(env, st, in->dst)) || (rc = check_reg_write(env, in->dst)))
		return rc;
	if (dst->type != REG_SCALAR)
		mark_unknown(dst);
	else if (op == 0xd0) /* byte swap */
		scalar_endian(&dst->v, alu64, (in->opcode & 0x08) != 0, (unsigned)in->imm);
	else
		scalar_alu(&dst->v, &dst->v, op, alu64, 0);
	dst->id = 0;
	return 0;
}

/* mov, plain or sign-extending, of src (a register or the immediate). */
static void check_mov(struct verifier_env *env, struct vframe *f, const bpfvm_insn *in, const struct vreg *src,
                      bool alu64, bool use_reg)
{
	struct vreg *dst = &f->regs[in->dst];
	uint8_t op = in->opcode & 0xf0;
	if (in->off) { /* sign-extending move */
		if (src->type != REG_SCALAR) {
			mark_unknown(dst);
			if (!alu64)
				scalar_zext32(&dst->v);
			return;
		}
		struct vreg v = *src;
		scalar_alu(&v.v, &src->v, op, alu64, in->off);
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
		scalar_alu(&v.v, &src->v, op, false, 0);
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

/* dst op= src where either is a pointer. */
static int check_ptr_alu(struct verifier_env *env, struct vreg *dst, const struct vreg *src, uint8_t op, bool alu64,
                         int regno)
{
	bool dptr = is_ptr(dst), sptr = is_ptr(src);
	if (dptr && sptr) {
		if (op == 0x10 && alu64) {
			mark_unknown(dst);
			return 0;
		}
		return reject(env, -EACCES, "R%d pointer %s pointer prohibited", regno, alu_name(op));
	}
	if (!alu64) {
		if (dptr && op == 0x10) {
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
	if (op != 0x00 && op != 0x10) {
		if (op == 0x40 || op == 0x50 || op == 0xa0)
			return reject(env, -EACCES, "R%d bitwise operator %s on pointer prohibited", regno, alu_name(op));
		return reject(env, -EACCES, "R%d pointer arithmetic with %s operator prohibited", regno, alu_name(op));
	}
	if (sptr) {
		if (op == 0x10)
			return reject(env, -EACCES, "R%d tried to subtract pointer from scalar", regno);
		struct vreg sc = *dst;
		return ptr_arith(env, dst, src, &sc, op, regno);
	}
	struct vreg sc = *src;
	struct vreg p = *dst;
	return ptr_arith(env, dst, &p, &sc, op, regno);
}

int check_alu(struct verifier_env *env, struct vstate *st, const bpfvm_insn *in)
{
	struct vframe *f = cur_frame(st);
	bool alu64 = ISA_CLASS(in->opcode) == CLS_ALU64;
	uint8_t op = in->opcode & 0xf0;
	bool use_reg = in->opcode & 0x08;
	struct vreg *dst = &f->regs[in->dst];
	int rc;

	if (op == 0xd0 || op == 0x80) /* byte swap, neg */
		return check_alu_unary(env, st, in, op, alu64);
	struct vreg imm;
	const struct vreg *src;
	if (use_reg) {
		if ((rc = check_reg_read(env, st, in->src)))
			return rc;
		src = &f->regs[in->src];
	} else {
		mark_known(&imm, alu64 ? (uint64_t)(int64_t)in->imm : (uint32_t)in->imm);
		src = &imm;
	}
	if ((rc = check_reg_write(env, in->dst)))
		return rc;
	if (op == 0xb0) { /* mov */
		check_mov(env, f, in, src, alu64, use_reg);
		return 0;
	}
	if (!use_reg && (op == 0x30 || op == 0x90) && in->imm == 0)
		return reject(env, -EINVAL, "div by zero");
	if (!use_reg && (op == 0x60 || op == 0x70 || op == 0xc0) && (uint32_t)in->imm >= (alu64 ? 64u : 32u))
		return reject(env, -EINVAL, "invalid shift %d", in->imm);
	if ((rc = check_reg_read(env, st, in->dst)))
		return rc;
	if (is_ptr(dst) || is_ptr(src))
		return check_ptr_alu(env, dst, src, op, alu64, in->dst);
	scalar_alu(&dst->v, &src->v, op, alu64, in->off);
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
                        uint8_t op)
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
		op = jmp_swap(op);
	if (pkt->off < 0 || pkt->v.umax > MAX_PACKET_OFF || (int64_t)pkt->v.umax + pkt->off > MAX_PACKET_OFF)
		return;
	/* now: pkt OP end */
	struct vstate *good = NULL;
	uint32_t range = (uint32_t)pkt->off;
	switch (op) {
	case 0x20: /* pkt > end: the fall-through knows pkt <= end */
		good = fall;
		break;
	case 0xb0: /* pkt <= end */
		good = taken;
		break;
	case 0xa0: /* pkt < end */
		good = taken;
		range++;
		break;
	case 0x30: /* pkt >= end: the fall-through knows pkt < end */
		good = fall;
		range++;
		break;
	default:
		return;
	}
	if (range == 1 && pkt->off == 0 && (op == 0xa0 || op == 0x30))
		return;
	if (good)
		set_pkt_range(good, pkt->type, pkt->id, range);
}

static void path_note(struct vstate *st, uint32_t from, bool taken)
{
	st->path[st->path_total % PATH_LEN] = from << 1 | (taken ? 1 : 0);
	st->path_total++;
}

/* Whether a op b is known: 1 always taken, 0 never, -1 either way. */
static int branch_known(const struct vreg *a, const struct vreg *b, uint8_t op, bool is32)
{
	if (a->type == REG_SCALAR && b->type == REG_SCALAR)
		return scalar_branch_taken(&a->v, &b->v, op, is32);
	if (!is32 && (op == 0x10 || op == 0x50)) {
		/* a non-NULL pointer compared with 0 */
		const struct vreg *p = is_ptr(a) ? a : b, *z = is_ptr(a) ? b : a;
		/* only the pointers the kernel knows are never NULL (a map
		 * value, memory) decide it; the context or a stack pointer
		 * do not */
		bool not_null = (p->type == REG_MAP_VALUE || p->type == REG_MEM || p->type == REG_MAP_PTR) &&
		                !p->maybe_null && p->v.smin > -MAX_VAR_OFF && p->v.smax < MAX_VAR_OFF;
		if (not_null && z->type == REG_SCALAR && scalar_is_const(&z->v) && z->v.var.value == 0)
			return op == 0x50;
	}
	return -1;
}

/* What each side of an undecided jump learns: `taken` (a copy of the
 * state) that a op b holds, `fall` (the state a and b are in) that it
 * does not.  Clears *taken_ok or *fall_ok for a side that cannot be. */
static void refine_sides(struct vstate *taken, struct vstate *fall, const bpfvm_insn *in, struct vreg *a,
                         struct vreg *b, bool *taken_ok, bool *fall_ok)
{
	bool is32 = ISA_CLASS(in->opcode) == CLS_JMP32;
	uint8_t op = in->opcode & 0xf0;
	bool use_reg = in->opcode & 0x08;
	struct vframe *of = cur_frame(taken);
	struct vreg *oa = &of->regs[in->dst];
	struct vreg same2 = *b;
	struct vreg *ob = use_reg && in->src != in->dst ? &of->regs[in->src] : &same2;
	*taken_ok = *fall_ok = true;
	if (a->type == REG_SCALAR && b->type == REG_SCALAR) {
		*taken_ok = scalar_refine(&oa->v, &ob->v, op, is32);
		uint8_t neg = jmp_negate(op);
		*fall_ok = scalar_refine(&a->v, &b->v, neg, is32);
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
	} else if (!is32 && (op == 0x10 || op == 0x50)) {
		const struct vreg *p = is_ptr(a) ? a : b, *z = is_ptr(a) ? b : a;
		if (p->maybe_null && z->type == REG_SCALAR && scalar_is_const(&z->v) && z->v.var.value == 0 && p->id) {
			uint32_t id = p->id;
			mark_null_checked(taken, id, op == 0x10);
			mark_null_checked(fall, id, op != 0x10);
		}
	} else if (!is32) {
		pkt_compare(taken, fall, a, b, op);
	}
}

/* Conditional jump at pc; continues on one side, queues the other. */
int check_cond_jmp(struct verifier_env *env, struct vstate *st, uint32_t pc, const bpfvm_insn *in, uint32_t *next)
{
	struct vframe *f = cur_frame(st);
	bool is32 = ISA_CLASS(in->opcode) == CLS_JMP32;
	bool use_reg = in->opcode & 0x08;
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
	int taken = branch_known(a, b, in->opcode & 0xf0, is32);
	if (taken >= 0) {
		*next = taken ? target : pc + 1;
		return 0;
	}
	struct vstate *other = state_dup(st);
	if (!other)
		return reject(env, -ENOMEM, "out of memory");
	bool fall_ok, taken_ok;
	/* other = taken side, st = fall-through side */
	refine_sides(other, st, in, a, b, &taken_ok, &fall_ok);
	if (taken_ok && fall_ok) {
		path_note(other, pc, true);
		path_note(st, pc, false);
		if (env->log_level >= 1) {
			char buf[2048];
			state_format(other, buf, sizeof buf);
			vlog(env, "from %u to %u: %s\n", pc, target, buf);
		}
		rc = push_pending(env, other, target);
		state_free(other);
		*next = pc + 1;
		return rc;
	}
	if (taken_ok) {
		state_copy(st, other);
		*next = target;
	} else {
		*next = pc + 1;
	}
	state_free(other);
	return 0;
}
