/*
 * mem.c - the verifier's memory accesses: loads and stores through each
 * kind of pointer (stack, context, map value, packet, memory), their
 * bounds and alignment, and the stack byte by byte, with spilled
 * registers kept whole so that a fill gives back what was spilled (as
 * the kernel's check_stack_write_fixed_off and check_stack_read_fixed_off
 * do, narrow spills and fills included).
 *
 * Owns: check_mem_insn(), check_mem(), stack_range(), stack_write_var(),
 * map_rdonly_prog().
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>

#include "maps/map_internal.h"
#include "verifier/internal.h"

/* ---- stack --------------------------------------------------------------- */

static int grow_stack(struct vframe *f, uint32_t slots)
{
	if (slots > STACK_SLOTS)
		slots = STACK_SLOTS;
	for (uint32_t s = f->slots; s < slots; s++)
		memset(&f->stack[s], 0, sizeof f->stack[s]);
	if (slots > f->slots)
		f->slots = slots;
	return 0;
}

static uint8_t *stack_byte(struct vframe *f, int off)
{
	int s = (-off - 1) / 8;
	int b = off + 8 * (s + 1);
	return &f->stack[s].type[b];
}

static void note_depth(struct verifier_env *env, struct vstate *st, uint32_t frameno, int lowest)
{
	uint32_t sp = st->frames[frameno]->subprog;
	fastcall_stack_access(env, sp, lowest);
	if ((uint32_t)-lowest > env->subprog_depth[sp])
		env->subprog_depth[sp] = (uint32_t)-lowest;
}

/* A spilled register partly overwritten loses its identity: its bytes
 * and the plain ones beside them become plain data (the kernel's
 * scrub_special_slot; bytes never written stay so). */
static void unspill(struct stack_slot *sl)
{
	for (int b = 0; b < 8; b++)
		if (sl->type[b] != SLOT_INVALID)
			sl->type[b] = SLOT_MISC;
	mark_not_init(&sl->spilled);
}

/* Which stack slot the instruction being checked spills to or fills
 * from: the kernel's jump history records these accesses only, for
 * precision tracking's walk back (precision.c). */
static void note_stack_slot(struct verifier_env *env, uint32_t frameno, int lo, int size)
{
	int first = (-lo - 1) / 8, last = (-(lo + size - 1) - 1) / 8;
	env->cur.slot_frame = (uint8_t)frameno;
	env->cur.slot = (uint8_t)last;
	env->cur.flags |= first == last ? HIST_STACK : HIST_STACK_WIDE;
}

/* Whether a spill of `size` bytes holds all of value: its bits above
 * are zero (the kernel's get_reg_width). */
static bool value_fits(const struct vreg *value, int size)
{
	return size == 8 || (value->v.umax >> (8 * size)) == 0;
}

/* A register spilled to the low `size` bytes of slot sl (the kernel's
 * save_register_state): the whole register is kept, as it was; the
 * bytes above become plain data but for zeros and bytes never written. */
static void spill(struct stack_slot *sl, const struct vreg *value, int size)
{
	sl->spilled = *value;
	memset(sl->type, SLOT_SPILL, (size_t)size);
	for (int b = size; b < 8; b++)
		if (sl->type[b] != SLOT_ZERO && sl->type[b] != SLOT_INVALID)
			sl->type[b] = SLOT_MISC;
}

/* A store of `size` bytes at fixed offset off (aligned to its size, so
 * within one slot) of frame frameno's stack, as the kernel's
 * check_stack_write_fixed_off: a number stored at the start of a slot is
 * a spill of any width, kept whole (its id dropped when it does not fit,
 * as a later fill could not give back the same number); a pointer is
 * spilled whole or not at all; anything else is plain data, zeros if a
 * known zero.  value is what is stored, NULL if not known. */
static int stack_write(struct verifier_env *env, struct vstate *st, uint32_t frameno, int off, int size,
                       const struct vreg *value)
{
	struct vframe *f = st->frames[frameno];
	grow_stack(f, (uint32_t)((-off + 7) / 8));
	note_depth(env, st, frameno, off);
	int s = (-off - 1) / 8;
	struct stack_slot *sl = &f->stack[s];
	bool slot_start = off % 8 == 0;
	/* only a whole slot written ends what was there before (the kernel's
	 * rule: a narrower write leaves bytes a later read may see) */
	if (slot_start && size == 8)
		stack_live_write(env, frameno, 1ull << s);
	if (value && value->type == REG_SCALAR && slot_start) {
		spill(sl, value, size);
		if (!value_fits(value, size))
			sl->spilled.id = 0;
		note_stack_slot(env, frameno, off, size);
		return 0;
	}
	if (value && is_ptr(value)) {
		if (size != 8)
			return reject(env, -EACCES, "invalid size of register spill");
		if (frameno != st->curframe && value->type == REG_STACK)
			return reject(env, -EINVAL, "cannot spill pointers to stack into stack frame of the caller");
		spill(sl, value, 8);
		note_stack_slot(env, frameno, off, size);
		return 0;
	}
	if (sl->type[0] == SLOT_SPILL)
		unspill(sl);
	bool zero = value && value->type == REG_SCALAR && var_is_zero(value);
	for (int i = 0; i < size; i++)
		*stack_byte(f, off + i) = zero ? SLOT_ZERO : SLOT_MISC;
	return 0;
}

/* A write of bytes in [lo, hi) of frame frameno's stack, which ones not
 * known (a variable offset), as the kernel's check_stack_write_var_off:
 * every byte it may touch becomes plain data, but zeros and spilled
 * zeros stay so where a zero is written (zero). */
static void write_var_bytes(struct verifier_env *env, struct vstate *st, uint32_t frameno, int lo, int hi,
                            bool zero)
{
	struct vframe *f = st->frames[frameno];
	grow_stack(f, (uint32_t)((-lo + 7) / 8));
	note_depth(env, st, frameno, lo);
	for (int o = lo; o < hi; o++) {
		struct stack_slot *sl = &f->stack[(-o - 1) / 8];
		uint8_t *bt = stack_byte(f, o);
		if (zero && *bt == SLOT_SPILL && sl->spilled.type == REG_SCALAR && var_is_zero(&sl->spilled))
			continue;
		if (sl->type[0] == SLOT_SPILL)
			unspill(sl);
		if (!zero || *bt != SLOT_ZERO)
			*bt = SLOT_MISC;
	}
}

/* A helper's write: what it writes is not known, zeros included. */
void stack_write_var(struct verifier_env *env, struct vstate *st, uint32_t frameno, int lo, int hi)
{
	write_var_bytes(env, st, frameno, lo, hi, false);
}

/* A zero-extending fill of `size` bytes keeps the low bytes of the
 * number spilled (the kernel's coerce_reg_to_size); a sign-extending one
 * (sx) their sign-extension, no longer that number. */
static void narrow_loaded(struct vreg *out, int size, bool sx)
{
	if (size == 8)
		return;
	struct scalar *s = &out->v;
	if (sx) {
		scalar_alu(s, s, ALU_MOVSX, true, (unsigned)(8 * size));
		out->id = 0;
		return;
	}
	uint64_t mask = (1ull << (8 * size)) - 1;
	s->var = tnum_cast(s->var, (unsigned)size);
	if ((s->umin & ~mask) == (s->umax & ~mask)) {
		s->umin &= mask;
		s->umax &= mask;
	} else {
		s->umin = 0;
		s->umax = mask;
	}
	s->smin = (int64_t)s->umin;
	s->smax = (int64_t)s->umax;
	if (size < 4) {
		s->s32_min = INT32_MIN;
		s->s32_max = INT32_MAX;
		s->u32_min = 0;
		s->u32_max = UINT32_MAX;
	}
	scalar_sync(s);
}

/* A load from a slot holding a spilled register (the kernel's
 * check_stack_read_fixed_off): the whole register back from a fill of
 * its width; a number back from a narrower fill at its start (its id
 * dropped when it does not fit the fill); else what the bytes read are,
 * zero only if all are. */
static int fill(struct verifier_env *env, uint32_t frameno, struct stack_slot *sl, int off, int size,
                struct vreg *out, bool sx)
{
	int first = off & 7, spill_size = 0;
	while (spill_size < 8 && sl->type[spill_size] == SLOT_SPILL)
		spill_size++;
	const struct vreg *sp = &sl->spilled;
	if (size == 8 && spill_size == 8) {
		*out = *sp;
		note_stack_slot(env, frameno, off, size);
		return 0;
	}
	if (sp->type != REG_SCALAR)
		return reject(env, -EACCES, "invalid size of register fill");
	if (size <= spill_size && first == 0) {
		*out = *sp;
		if (!value_fits(sp, size))
			out->id = 0;
		narrow_loaded(out, size, sx);
		note_stack_slot(env, frameno, off, size);
		return 0;
	}
	int spilled = 0, zeros = 0;
	for (int b = first; b < first + size; b++) {
		spilled += sl->type[b] == SLOT_SPILL;
		zeros += sl->type[b] == SLOT_ZERO;
	}
	if (spilled == size && var_is_zero(sp)) {
		mark_known(out, 0);
		note_stack_slot(env, frameno, off, size);
	} else if (zeros == size) {
		mark_known(out, 0);
	} else {
		mark_loaded(out, size, sx);
	}
	return 0;
}

static int stack_read(struct verifier_env *env, struct vstate *st, uint32_t frameno, int off, int size,
                      struct vreg *out, bool sx)
{
	struct vframe *f = st->frames[frameno];
	bool zero = true;
	/* a privileged loader may read stack never written (the kernel's
	 * allow_uninit_stack): it reads as an unknown number */
	grow_stack(f, (uint32_t)((-off + 7) / 8));
	for (int i = 0; i < size; i++) {
		uint8_t t = *stack_byte(f, off + i);
		/* an iterator's bytes are the kfuncs' alone (iter.c) */
		if (t == SLOT_ITER)
			return reject(env, -EACCES, "invalid read from stack off %d+%d size %d", off, i, size);
		zero &= t == SLOT_ZERO;
	}
	struct stack_slot *sl = &f->stack[(-off - 1) / 8];
	if (sl->type[0] == SLOT_SPILL)
		return fill(env, frameno, sl, off, size, out, sx);
	if (zero)
		mark_known(out, 0);
	else
		mark_loaded(out, size, sx);
	return 0;
}

/* ---- memory accesses ----------------------------------------------------- */

static int check_var_bounds(struct verifier_env *env, const struct vreg *r, int regno)
{
	if (r->v.smin < 0 && r->type != REG_STACK)
		return reject(env, -EACCES,
		              "R%d min value is negative, either use unsigned index or do a if (index >=0) check.",
		              regno);
	if (r->v.umax >= MAX_VAR_OFF && r->type != REG_STACK)
		return reject(env, -EACCES, "R%d unbounded memory access, make sure to bounds check any such access",
		              regno);
	return 0;
}

bool map_rdonly_prog(const struct bpfvm_map *m)
{
	return m && (m->map_flags & BPF_F_RDONLY_PROG);
}

/* Whether [off, off+size) of the stack (fixed or variable offset) may be
 * read; marks it written for writes.  off is from the frame pointer. */
int stack_range(struct verifier_env *env, struct vstate *st, const struct vreg *r, int regno, int off,
                       int size, enum access acc, bool uninit_ok, struct vreg *out, bool sx,
                       const struct vreg *value)
{
	int64_t lo = (int64_t)r->off + off + r->v.smin;
	int64_t hi = (int64_t)r->off + off + r->v.smax + size;
	bool fixed = scalar_is_const(&r->v);
	if (r->v.smin < -MAX_VAR_OFF || r->v.smax > MAX_VAR_OFF || lo < -(int64_t)BPFVM_STACK_SIZE || hi > 0 ||
	    size <= 0) {
		char tn[200];
		scalar_format(&r->v, tn, sizeof tn);
		if (scalar_is_const(&r->v))
			return reject(env, -EACCES, "invalid %s stack R%d off=%" PRId64 " size=%d",
			              acc == ACC_WRITE || uninit_ok ? "write to" : "read from", regno, lo, size);
		return reject(env, -EACCES, "invalid variable-offset %s stack R%d var_off=%s off=%d size=%d",
		              acc == ACC_WRITE || uninit_ok ? "write to" : "read from", regno, tn, off, size);
	}
	if (acc == ACC_WRITE) {
		if (fixed && size <= 8)
			return stack_write(env, st, r->frameno, (int)lo, size, value);
		bool zero = value && value->type == REG_SCALAR && var_is_zero(value);
		write_var_bytes(env, st, r->frameno, (int)lo, (int)hi, zero);
		return 0;
	}
	note_depth(env, st, r->frameno, (int)lo);
	if (uninit_ok) {
		stack_write_var(env, st, r->frameno, (int)lo, (int)hi);
		return 0;
	}
	/* every slot the read may touch is live before it (stack_live.c) */
	int rc = stack_live_read(env, st, r->frameno, env->cur.pc, stack_live_range(lo, hi));
	if (rc)
		return rc;
	if (fixed && out && size <= 8)
		return stack_read(env, st, r->frameno, (int)lo, size, out, sx);
	/* variable offset or a helper's buffer: bytes never written read as
	 * unknown (allowed to a privileged loader); spilled pointers are read
	 * as plain bytes */
	if (out) {
		mark_unknown(out);
		scalar_unknown_size(&out->v, (unsigned)size);
	}
	return 0;
}

/* A load from a read-only map's value at a known offset is the map's
 * bytes (the kernel does this for frozen maps, such as .rodata). */
static bool rdonly_map_read(const struct vreg *r, int off, int size, struct vreg *out, bool sx)
{
	if (!map_rdonly_prog(r->map) || r->map->type != BPF_MAP_TYPE_ARRAY || !scalar_is_const(&r->v) || size > 8)
		return false;
	uint32_t zero = 0;
	uint8_t *base = bpfvm_map_lookup_elem(r->map, &zero);
	if (!base)
		return false;
	uint64_t v = 0;
	memcpy(&v, base + r->off + off + (int64_t)r->v.var.value, (size_t)size);
	if (sx && size < 8) {
		unsigned shift = 64 - 8 * (unsigned)size;
		v = (uint64_t)((int64_t)(v << shift) >> shift);
	}
	mark_known(out, v);
	return true;
}

/* "0x.." for a known offset, "(value; mask)" otherwise, as the kernel
 * prints a var_off in alignment messages. */
static void var_string(const struct scalar *v, char *buf, size_t size)
{
	if (tnum_is_const(v->var))
		snprintf(buf, size, "%#" PRIx64, v->var.value);
	else
		snprintf(buf, size, "(%#" PRIx64 "; %#" PRIx64 ")", v->var.value, v->var.mask);
}

/* Whether r + off is aligned to size.  Only checked when strict: the
 * load flag, atomics, and the stack (whose spill tracking needs it).
 * The packet counts from a 2-byte IP alignment, as the kernel does. */
static int check_alignment(struct verifier_env *env, const struct vreg *r, int off, int size, bool strict)
{
	if (!strict || size <= 1)
		return 0;
	/* the offset's text only for a message: most accesses are aligned */
	char tn[64];
	uint64_t mask = (uint64_t)size - 1;
	if (is_pkt(r)) {
		struct tnum t = tnum_add(r->v.var, tnum_const((uint64_t)(2 + r->off + off)));
		if (!((t.value | t.mask) & mask))
			return 0;
		var_string(&r->v, tn, sizeof tn);
		return reject(env, -EACCES, "misaligned packet access off %d+%s+%d+%d size %d", 2, tn, r->off, off, size);
	}
	struct tnum t = tnum_add(r->v.var, tnum_const((uint64_t)(int64_t)(r->off + off)));
	if (!((t.value | t.mask) & mask))
		return 0;
	const char *desc = r->type == REG_MAP_VALUE ? "value " : r->type == REG_CTX ? "context "
	                 : r->type == REG_STACK ? "stack " : "";
	var_string(&r->v, tn, sizeof tn);
	return reject(env, -EACCES, "misaligned %saccess off %s+%d+%d size %d", desc, tn, r->off, off, size);
}

static int check_ctx_access(struct verifier_env *env, const struct vreg *r, int regno, int off, int size,
                            enum access acc, struct vreg *out, bool sx)
{
	if (!var_is_zero(r)) {
		char tn[200];
		scalar_format(&r->v, tn, sizeof tn);
		return reject(env, -EACCES, "variable ctx access var_off=%s disallowed", tn);
	}
	if (r->off)
		return reject(env, -EACCES, "dereference of modified ctx ptr R%d off=%d disallowed", regno, r->off);
	struct ctx_access ca;
	if (!ctx_access_ok(env->prog_type, off, size, acc == ACC_WRITE, sx, &ca))
		return reject(env, -EACCES, "invalid bpf_context access off=%d size=%d", off, size);
	if (btf_typed_prog(env))
		return btf_ctx_load(env, off, size, out, sx);
	if (out) {
		if (ca.type != REG_SCALAR) {
			mark_ptr(out, ca.type);
		} else {
			mark_loaded(out, size, sx);
		}
	}
	return 0;
}

static int check_map_value_access(struct verifier_env *env, const struct vreg *r, int regno, int off, int size,
                                  enum access acc, struct vreg *out, bool sx)
{
	int rc;
	if ((rc = check_var_bounds(env, r, regno)))
		return rc;
	uint32_t vs = r->map->value_size;
	int64_t lo = (int64_t)r->off + off + r->v.smin;
	int64_t hi = (int64_t)r->off + off + (int64_t)r->v.umax + size;
	if (lo < 0 || hi > vs) {
		if (!scalar_is_const(&r->v))
			return reject(env, -EACCES,
			              "invalid access to map value, value_size=%u off=%" PRId64 " size=%d (R%d max value "
			              "is outside of the allowed memory range)", vs, hi - size, size, regno);
		return reject(env, -EACCES, "invalid access to map value, value_size=%u off=%" PRId64 " size=%d", vs, lo,
		              size);
	}
	/* an xskmap's lookup is the kernel's PTR_TO_XDP_SOCK, a struct
	 * bpf_xdp_sock of which only the u32 queue_id may be read */
	if (r->map->type == BPF_MAP_TYPE_XSKMAP && (acc != ACC_READ || size != 4 || lo != 0 || !scalar_is_const(&r->v)))
		return reject(env, -EACCES, "R%d invalid xdp_sock access off=%" PRId64 " size=%d", regno, lo, size);
	if (acc == ACC_READ && (r->map->map_flags & BPF_F_WRONLY_PROG))
		return reject(env, -EACCES, "read from map forbidden, value_size=%u off=%" PRId64 " size=%d", vs, lo,
		              size);
	if (acc == ACC_WRITE && (map_rdonly_prog(r->map) || r->rdonly))
		return reject(env, -EACCES, "write into map forbidden, value_size=%u off=%" PRId64 " size=%d", vs, lo,
		              size);
	if (r->map->spin_lock_off >= 0 && lo < r->map->spin_lock_off + 4 && hi > r->map->spin_lock_off)
		return reject(env, -EACCES, "bpf_spin_lock cannot be accessed directly by load/store");
	if (r->map->timer_off >= 0 && lo < r->map->timer_off + 16 && hi > r->map->timer_off)
		return reject(env, -EACCES, "bpf_timer cannot be accessed directly by load/store");
	if (r->map->wq_off >= 0 && lo < r->map->wq_off + 16 && hi > r->map->wq_off)
		return reject(env, -EACCES, "bpf_wq cannot be accessed directly by load/store");
	if (out && !rdonly_map_read(r, off, size, out, sx)) {
		mark_loaded(out, size, sx);
	}
	return 0;
}

static int check_packet_access(struct verifier_env *env, const struct vreg *r, int regno, int off, int size,
                               enum access acc, struct vreg *out, bool sx, bool atomic)
{
	if (!ctx_packet_access(env->prog_type, acc == ACC_WRITE))
		return reject(env, -EACCES, acc == ACC_WRITE ? "cannot write into packet" : "cannot read packet");
	if (atomic)
		return reject(env, -EACCES, "BPF_ATOMIC stores into R%d %s is not allowed", regno, reg_type_name(r));
	if (r->v.smin < 0)
		return reject(env, -EACCES,
		              "R%d min value is negative, either use unsigned index or do a if (index >=0) check.",
		              regno);
	int64_t o = (int64_t)r->off + off;
	if (o < 0 || o + size > (int64_t)r->range)
		return reject(env, -EACCES, "invalid access to packet, off=%d size=%d, R%d(id=%u,off=%d,r=%u)", off,
		              size, regno, r->id, r->off, r->range);
	if (out)
		mark_loaded(out, size, sx);
	return 0;
}

/* REG_MEM: a ringbuf record or the raw program's input. */
static int check_sized_mem_access(struct verifier_env *env, const struct vreg *r, int regno, int off, int size,
                                  enum access acc, struct vreg *out, bool sx)
{
	int rc;
	if ((rc = check_var_bounds(env, r, regno)))
		return rc;
	int64_t lo = (int64_t)r->off + off + r->v.smin;
	int64_t hi = (int64_t)r->off + off + (int64_t)r->v.umax + size;
	if (lo < 0 || hi > r->mem_size)
		return reject(env, -EACCES, "invalid access to memory, mem_size=%u off=%" PRId64 " size=%d", r->mem_size,
		              lo, size);
	if (acc == ACC_WRITE && r->rdonly)
		return reject(env, -EACCES, "cannot write into rdonly mem");
	if (out)
		mark_loaded(out, size, sx);
	return 0;
}

/* Checks a load or store of `size` bytes at r + off; for loads fills
 * *out with what is read. */
int check_mem(struct verifier_env *env, struct vstate *st, int regno, int off, int size, enum access acc,
              struct vreg *out, bool sx, const struct vreg *value, bool imm_store, bool atomic)
{
	struct vreg *r = &cur_frame(st)->regs[regno];
	int rc;
	(void)imm_store; /* the kernel once refused BPF_ST into the context; 6.x allows it */
	if (r->type == REG_NOT_INIT)
		return reject(env, -EACCES, "R%d !read_ok", regno);
	if (r->type == REG_MAP_PTR && !r->maybe_null)
		return reject(env, -ENOTSUP, "unsupported: R%d reads a field of struct bpf_map (needs the kernel's BTF)",
		              regno);
	if (r->maybe_null || r->type == REG_SCALAR || r->type == REG_PACKET_END || r->type == REG_MAP_PTR ||
	    r->type == REG_FUNC)
		return reject(env, -EACCES, "R%d invalid mem access '%s'", regno, reg_type_name(r));
	if (atomic && r->type != REG_STACK && r->type != REG_MAP_VALUE && r->type != REG_MEM)
		return reject(env, -EACCES, "BPF_ATOMIC stores into R%d %s is not allowed", regno, reg_type_name(r));
	if ((rc = check_alignment(env, r, off, size, env->strict_alignment || atomic || r->type == REG_STACK)))
		return rc;
	switch (r->type) {
	case REG_STACK:
		return stack_range(env, st, r, regno, off, size, acc, false, out, sx, value);
	case REG_CTX:
		return check_ctx_access(env, r, regno, off, size, acc, out, sx);
	case REG_MAP_VALUE:
		return check_map_value_access(env, r, regno, off, size, acc, out, sx);
	case REG_PACKET:
	case REG_PACKET_META:
		return check_packet_access(env, r, regno, off, size, acc, out, sx, atomic);
	case REG_MEM:
		return check_sized_mem_access(env, r, regno, off, size, acc, out, sx);
	case REG_BTF_ID:
		return check_btf_ptr_access(env, r, regno, off, size, acc, out, sx);
	default:
		return reject(env, -EACCES, "R%d invalid mem access '%s'", regno, reg_type_name(r));
	}
}

/* ---- memory instructions ------------------------------------------------- */

static int check_ldx(struct verifier_env *env, struct vstate *st, const bpfvm_insn *in, const struct isa_op *op)
{
	int rc;
	if ((rc = check_reg_read(env, st, in->src)) || (rc = check_reg_write(env, in->dst)))
		return rc;
	bool sx = op->sign_extend;
	struct vreg v;
	if ((rc = check_mem(env, st, in->src, in->off, (int)isa_access_size(op), ACC_READ, &v, sx, NULL, false,
	                    false)))
		return rc;
	cur_frame(st)->regs[in->dst] = v;
	return 0;
}

static int check_st(struct verifier_env *env, struct vstate *st, const bpfvm_insn *in, const struct isa_op *op)
{
	int rc;
	if ((rc = check_reg_read(env, st, in->dst)))
		return rc;
	/* the immediate as a number, sign-extended whatever the width (a
	 * spill of it keeps it so, as the kernel's __mark_reg_known(imm)) */
	struct vreg v;
	mark_known(&v, (uint64_t)(int64_t)in->imm);
	return check_mem(env, st, in->dst, in->off, (int)isa_access_size(op), ACC_WRITE, NULL, false, &v, true, false);
}

static int check_stx(struct verifier_env *env, struct vstate *st, const bpfvm_insn *in, const struct isa_op *op)
{
	struct vframe *f = cur_frame(st);
	int rc;
	if ((rc = check_reg_read(env, st, in->dst)) || (rc = check_reg_read(env, st, in->src)))
		return rc;
	struct vreg *src = &f->regs[in->src];
	const struct vreg *ptr = &f->regs[in->dst];
	int size = (int)isa_access_size(op);
	if (src->type == REG_SCALAR && ptr->type == REG_STACK && scalar_is_const(&ptr->v)) {
		int64_t at = (int64_t)ptr->off + in->off + (int64_t)ptr->v.var.value;
		if (at % 8 == 0 && !scalar_is_const(&src->v) && !src->id && value_fits(src, size))
			src->id = ++env->next_id; /* a spill: a bound learnt on either holds for the other */
		/* a zero stored off a slot's start makes zero bytes: states
		 * pruned here later must store a zero too */
		if (at % 8 != 0 && var_is_zero(src) && (rc = mark_precise(env, st, in->src)))
			return rc;
	}
	struct vreg v = *src;
	return check_mem(env, st, in->dst, in->off, (int)isa_access_size(op), ACC_WRITE, NULL, false, &v, false,
	                 false);
}

/* An atomic read-modify-write: a read and a write of the same bytes,
 * the old value to src (fetch) or r0 (cmpxchg). */
static int check_atomic(struct verifier_env *env, struct vstate *st, const bpfvm_insn *in, const struct isa_op *op)
{
	struct vframe *f = cur_frame(st);
	int rc;
	if ((rc = check_reg_read(env, st, in->dst)) || (rc = check_reg_read(env, st, in->src)))
		return rc;
	int size = (int)isa_access_size(op);
	bool cmpxchg = op->alu == ALU_CMPXCHG;
	bool fetch = op->fetch;   /* cmpxchg among them */
	if (cmpxchg && (rc = check_reg_read(env, st, 0)))
		return rc;
	struct vreg rd;
	if ((rc = check_mem(env, st, in->dst, in->off, size, ACC_READ, &rd, false, NULL, false, true)))
		return rc;
	struct vreg unknown;
	mark_unknown(&unknown);
	scalar_unknown_size(&unknown.v, (unsigned)size);
	if ((rc = check_mem(env, st, in->dst, in->off, size, ACC_WRITE, NULL, false, &unknown, false, true)))
		return rc;
	if (cmpxchg) {
		f->regs[0] = unknown;
	} else if (fetch) {
		if ((rc = check_reg_write(env, in->src)))
			return rc;
		f->regs[in->src] = unknown;
	}
	return 0;
}

int check_mem_insn(struct verifier_env *env, struct vstate *st, const bpfvm_insn *in, const struct isa_op *op)
{
	switch (op->format) {
	case FMT_LDX:
		return check_ldx(env, st, in, op);
	case FMT_ST:
		return check_st(env, st, in, op);
	case FMT_STX:
		return check_stx(env, st, in, op);
	default:
		return check_atomic(env, st, in, op);
	}
}
