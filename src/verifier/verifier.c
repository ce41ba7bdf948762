/*
 * verifier.c - the static verifier: walks every path of a program over
 * abstract states, in the kernel's style, and proves each instruction
 * safe on each path.
 *
 * Owns: bpfvm_verify().  The steps: structural validation (src/isa) and
 * the control-flow checks (subprograms, reachability); a backward
 * liveness pass, so that pruning compares only registers still to be
 * read; then depth-first abstract execution with a stack of pending
 * branches, where a state reaching a prune point already covered by a
 * stored state is not explored again.  Register types, stack bytes,
 * acquired references and held locks follow the kernel's model; scalars
 * are tracked by src/verifier/scalar.c.  Messages use the kernel's words.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/opts.h"
#include "helpers/helpers.h"
#include "maps/map_internal.h"
#include "progtypes/progtypes.h"
#include "verifier/verifier.h"

#define PSEUDO_MAP_FD 1
#define PSEUDO_MAP_VALUE 2
#define PSEUDO_CALL 1
#define PSEUDO_FUNC 4
#define MAX_SUBPROGS 256
#define MAX_STATES_PER_INSN 64
#define MAX_PACKET_OFF 0xffff
#define MAX_VAR_OFF (1 << 29)
#define DEFAULT_COMPLEXITY 1000000u

/* A stored state at a prune point. */
struct explored {
	struct explored *next;
	struct explored *all_next; /* every record, for freeing */
	struct explored *parent;  /* the checkpoint before it on its path */
	struct vstate *st;
	uint32_t branches;        /* paths from here still being explored */
	uint32_t hits, misses;
	uint32_t pc;
};

struct pending {
	struct vstate *st;
	struct explored *parent;
	uint32_t pc;
};

struct verifier_env {
	const bpfvm_insn *insns;
	size_t count;
	const struct isa_op **ops;
	const bpfvm_verify_opts *opts;
	uint32_t prog_type;
	bool raw;                 /* BPFVM_PROG_TYPE_RAW */
	uint8_t *prune;           /* prune point? */
	uint16_t *live;           /* registers live on entry */
	uint32_t *subprog_of;
	uint32_t subprog_count;
	uint32_t subprog_start[MAX_SUBPROGS];
	uint32_t subprog_depth[MAX_SUBPROGS];  /* deepest stack byte used */
	struct explored **explored;
	struct explored *all;
	uint32_t *state_count;
	struct pending *stack;
	size_t sp, cap;
	struct explored *parent;  /* the current path's last checkpoint */
	uint64_t processed, prev_processed;
	uint64_t jmps, prev_jmps;        /* jumps walked, for when to keep a state */
	uint64_t limit;
	uint32_t total_states, cur_states, peak_states, max_states_per_insn;
	uint32_t next_id;
	uint32_t cur_helper;      /* the helper whose arguments are being checked */
	bool strict_alignment;    /* BPF_F_STRICT_ALIGNMENT */
	bpfvm_error *err;
	int log_level;
	char linebuf[1024];
};

/* ---- messages --------------------------------------------------------- */

static void vlog(struct verifier_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vlog(struct verifier_env *env, const char *fmt, ...)
{
	if (!env->opts->log)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(env->linebuf, sizeof env->linebuf, fmt, ap);
	va_end(ap);
	env->opts->log(env->opts->log_user, env->linebuf);
}

/* Records why the program is rejected; the caller adds where. */
static int reject(struct verifier_env *env, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int reject(struct verifier_env *env, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(env->err->msg, sizeof env->err->msg, fmt, ap);
	va_end(ap);
	env->err->code = code;
	return code;
}

static void disasm(const struct verifier_env *env, uint32_t pc, char *buf, size_t size)
{
	const bpfvm_insn *in = &env->insns[pc];
	if (in->opcode == 0x18 && in->src == PSEUDO_MAP_FD) {
		snprintf(buf, size, "r%u = map[id:%d] ll", in->dst, in->imm);
		return;
	}
	if (in->opcode == 0x18 && in->src == PSEUDO_MAP_VALUE) {
		snprintf(buf, size, "r%u = map[id:%d][0]+%d ll", in->dst, in->imm, in[1].imm);
		return;
	}
	if (in->opcode == 0x18 && in->src == PSEUDO_FUNC) {
		snprintf(buf, size, "r%u = subprog[%+d] ll", in->dst, in->imm);
		return;
	}
	if (bpfvm_disasm_insn(env->insns, env->count, pc, BPFVM_SYNTAX_LLVM, buf, size) < 0)
		snprintf(buf, size, "(%02x)", in->opcode);
}

/* ---- registers ---------------------------------------------------------- */

static struct vframe *cur_frame(struct vstate *st)
{
	return st->frames[st->curframe];
}

static void mark_unknown(struct vreg *r)
{
	memset(r, 0, sizeof *r);
	r->type = REG_SCALAR;
	scalar_unknown(&r->v);
}

static void mark_known(struct vreg *r, uint64_t v)
{
	memset(r, 0, sizeof *r);
	r->type = REG_SCALAR;
	scalar_known(&r->v, v);
}

static void mark_not_init(struct vreg *r)
{
	memset(r, 0, sizeof *r);
}

static void mark_ptr(struct vreg *r, uint8_t type)
{
	memset(r, 0, sizeof *r);
	r->type = type;
	scalar_known(&r->v, 0);
}

/* What a load of `size` bytes from memory of unknown contents gives:
 * any number of that width, sign-extended for a signed load. */
static void mark_loaded(struct vreg *r, int size, bool sx)
{
	mark_unknown(r);
	if (sx)
		scalar_unknown_signed(&r->v, (unsigned)size);
	else
		scalar_unknown_size(&r->v, (unsigned)size);
}

static bool is_ptr(const struct vreg *r)
{
	return r->type != REG_SCALAR && r->type != REG_NOT_INIT;
}

static bool is_pkt(const struct vreg *r)
{
	return r->type == REG_PACKET || r->type == REG_PACKET_META;
}

static bool var_is_zero(const struct vreg *r)
{
	return scalar_is_const(&r->v) && r->v.var.value == 0;
}

/* Calls fn on every register and spilled register of every frame. */
#define FOR_EACH_REG(st, r, body)                                                  \
	do {                                                                       \
		for (uint32_t fi_ = 0; fi_ <= (st)->curframe; fi_++) {             \
			struct vframe *f_ = (st)->frames[fi_];                     \
			for (int ri_ = 0; ri_ < 11; ri_++) {                       \
				struct vreg *r = &f_->regs[ri_];                   \
				body;                                              \
			}                                                          \
			for (uint32_t si_ = 0; si_ < f_->slots; si_++) {           \
				if (f_->stack[si_].type[0] != SLOT_SPILL &&        \
				    f_->stack[si_].type[7] != SLOT_SPILL)          \
					continue;                                  \
				struct vreg *r = &f_->stack[si_].spilled;          \
				body;                                              \
			}                                                          \
		}                                                                  \
	} while (0)

static int check_reg_read(struct verifier_env *env, struct vstate *st, int regno)
{
	if (regno < 0 || regno > 10)
		return reject(env, -EINVAL, "R%d is invalid", regno);
	if (cur_frame(st)->regs[regno].type == REG_NOT_INIT)
		return reject(env, -EACCES, "R%d !read_ok", regno);
	return 0;
}

static int check_reg_write(struct verifier_env *env, int regno)
{
	if (regno == 10)
		return reject(env, -EACCES, "frame pointer is read only");
	return 0;
}

/* ---- stack -------------------------------------------------------------- */

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
	if ((uint32_t)-lowest > env->subprog_depth[sp])
		env->subprog_depth[sp] = (uint32_t)-lowest;
}

/* A spilled register partly overwritten loses its identity: the bytes
 * still holding it become plain data. */
static void unspill(struct stack_slot *sl)
{
	for (int b = 0; b < 8; b++)
		if (sl->type[b] == SLOT_SPILL)
			sl->type[b] = SLOT_MISC;
}

static int stack_write(struct verifier_env *env, struct vstate *st, uint32_t frameno, int off, int size,
                       const struct vreg *value)
{
	struct vframe *f = st->frames[frameno];
	grow_stack(f, (uint32_t)((-off + 7) / 8));
	note_depth(env, st, frameno, off);
	int s = (-off - 1) / 8;
	struct stack_slot *sl = &f->stack[s];
	bool aligned_full = size == 8 && (off % 8) == 0;
	if (value && aligned_full) {
		sl->spilled = *value;
		memset(sl->type, SLOT_SPILL, 8);
		return 0;
	}
	/* a narrower store of a scalar: remember it when it fills whole
	 * naturally aligned bytes of one slot */
	int first = off + 8 * (s + 1);
	bool in_one_slot = first + size <= 8;
	if (in_one_slot) {
		bool touches_spill = false;
		for (int b = 0; b < 8; b++)
			touches_spill |= sl->type[b] == SLOT_SPILL;
		if (touches_spill)
			unspill(sl);
	}
	for (int i = 0; i < size; i++) {
		int o = off + i;
		int si = (-o - 1) / 8;
		struct stack_slot *t = &f->stack[si];
		uint8_t *bt = stack_byte(f, o);
		if (*bt == SLOT_SPILL)
			unspill(t);
		*bt = SLOT_MISC;
		if (value && value->type == REG_SCALAR && scalar_is_const(&value->v) && value->v.var.value == 0)
			*bt = SLOT_ZERO;
	}
	if (value && value->type == REG_SCALAR && in_one_slot && first == 0 && (size == 4 || size == 2 || size == 1) &&
	    !(scalar_is_const(&value->v) && value->v.var.value == 0)) {
		/* a narrow spill at the slot's low bytes keeps the scalar */
		bool low_free = true;
		for (int b = size; b < 8; b++)
			low_free &= sl->type[b] != SLOT_SPILL;
		if (low_free) {
			sl->spilled = *value;
			if (size < 8) {
				/* the low bytes only */
				struct scalar mask;
				scalar_known(&mask, size == 4 ? 0xffffffffu : size == 2 ? 0xffffu : 0xffu);
				scalar_alu(&sl->spilled.v, &mask, 0x50, true, 0);
			}
			if ((value->v.umax >> (8 * size)) != 0)
				sl->spilled.id = 0;
			memset(sl->type, SLOT_SPILL, (size_t)size);
		}
	}
	return 0;
}

/* Variable-offset write: everything it may touch becomes plain data. */
static void stack_write_var(struct verifier_env *env, struct vstate *st, uint32_t frameno, int lo, int hi)
{
	struct vframe *f = st->frames[frameno];
	grow_stack(f, (uint32_t)((-lo + 7) / 8));
	note_depth(env, st, frameno, lo);
	for (int o = lo; o < hi; o++) {
		int si = (-o - 1) / 8;
		uint8_t *bt = stack_byte(f, o);
		if (*bt == SLOT_SPILL)
			unspill(&f->stack[si]);
		if (*bt != SLOT_ZERO)
			*bt = SLOT_MISC;
	}
}

static int stack_read(struct verifier_env *env, struct vstate *st, uint32_t frameno, int off, int size,
                      struct vreg *out, int regno, bool sx)
{
	struct vframe *f = st->frames[frameno];
	bool zero = true, spill = true;
	/* a privileged loader may read stack never written (the kernel's
	 * allow_uninit_stack): it reads as an unknown number */
	(void)regno;
	grow_stack(f, (uint32_t)((-off + 7) / 8));
	for (int i = 0; i < size; i++) {
		uint8_t t = *stack_byte(f, off + i);
		zero &= t == SLOT_ZERO;
		spill &= t == SLOT_SPILL;
	}
	if (!out)
		return 0;
	int s = (-off - 1) / 8;
	int first = off + 8 * (s + 1);
	struct stack_slot *sl = &f->stack[s];
	if (spill && first == 0 && size == 8) {
		*out = sl->spilled;
		return 0;
	}
	if (spill && sl->spilled.type != REG_SCALAR)
		return reject(env, -EACCES, "invalid size of register fill");
	if (spill) {
		/* bytes of a spilled number: its bits shifted down and cut to
		 * the width read; still the same number (keeping its id) when
		 * read from its first byte and it fits */
		*out = sl->spilled;
		bool same = first == 0 && (size == 8 || (out->v.umax >> (8 * size)) == 0);
		if (first) {
			struct scalar sh;
			scalar_known(&sh, (uint64_t)(8 * first));
			scalar_alu(&out->v, &sh, 0x70, true, 0);
		}
		if (size < 8 && !same) {
			struct scalar mask;
			scalar_known(&mask, (1ull << (8 * size)) - 1);
			scalar_alu(&out->v, &mask, 0x50, true, 0);
		}
		if (!same)
			out->id = 0;
		if (sx && size < 8) {
			scalar_alu(&out->v, &out->v, 0xb0, true, (int16_t)(8 * size));
			out->id = 0;
		}
		return 0;
	}
	if (zero) {
		mark_known(out, 0);
		return 0;
	}
	mark_loaded(out, size, sx);
	return 0;
}

/* ---- memory accesses ---------------------------------------------------- */

enum access { ACC_READ, ACC_WRITE };

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

static bool map_rdonly_prog(const struct bpfvm_map *m)
{
	return m && (m->map_flags & BPF_F_RDONLY_PROG);
}

/* Whether [off, off+size) of the stack (fixed or variable offset) may be
 * read; marks it written for writes.  off is from the frame pointer. */
static int stack_range(struct verifier_env *env, struct vstate *st, const struct vreg *r, int regno, int off,
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
		stack_write_var(env, st, r->frameno, (int)lo, (int)hi);
		return 0;
	}
	note_depth(env, st, r->frameno, (int)lo);
	if (uninit_ok) {
		stack_write_var(env, st, r->frameno, (int)lo, (int)hi);
		return 0;
	}
	if (fixed && out && size <= 8)
		return stack_read(env, st, r->frameno, (int)lo, size, out, regno, sx);
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
	char tn[64];
	var_string(&r->v, tn, sizeof tn);
	uint64_t mask = (uint64_t)size - 1;
	if (is_pkt(r)) {
		struct tnum t = tnum_add(r->v.var, tnum_const((uint64_t)(2 + r->off + off)));
		if ((t.value | t.mask) & mask)
			return reject(env, -EACCES, "misaligned packet access off %d+%s+%d+%d size %d", 2, tn, r->off, off,
			              size);
		return 0;
	}
	struct tnum t = tnum_add(r->v.var, tnum_const((uint64_t)(int64_t)(r->off + off)));
	if (!((t.value | t.mask) & mask))
		return 0;
	const char *desc = r->type == REG_MAP_VALUE ? "value " : r->type == REG_CTX ? "context "
	                 : r->type == REG_STACK ? "stack " : "";
	return reject(env, -EACCES, "misaligned %saccess off %s+%d+%d size %d", desc, tn, r->off, off, size);
}

/* Checks a load or store of `size` bytes at r + off; for loads fills
 * *out with what is read. */
static int check_mem(struct verifier_env *env, struct vstate *st, int regno, int off, int size, enum access acc,
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
	case REG_CTX: {
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
		if (out) {
			if (ca.type != REG_SCALAR) {
				mark_ptr(out, ca.type);
			} else {
				mark_loaded(out, size, sx);
			}
		}
		return 0;
	}
	case REG_MAP_VALUE: {
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
			return reject(env, -EACCES, "invalid access to map value, value_size=%u off=%" PRId64 " size=%d", vs,
			              lo, size);
		}
		if (acc == ACC_READ && (r->map->map_flags & BPF_F_WRONLY_PROG))
			return reject(env, -EACCES, "read from map forbidden, value_size=%u off=%" PRId64 " size=%d", vs, lo,
			              size);
		if (acc == ACC_WRITE && (map_rdonly_prog(r->map) || r->rdonly))
			return reject(env, -EACCES, "write into map forbidden, value_size=%u off=%" PRId64 " size=%d", vs, lo,
			              size);
		if (r->map->spin_lock_off >= 0 && lo < r->map->spin_lock_off + 4 && hi > r->map->spin_lock_off)
			return reject(env, -EACCES, "bpf_spin_lock cannot be accessed directly by load/store");
		if (out && !rdonly_map_read(r, off, size, out, sx)) {
			mark_loaded(out, size, sx);
		}
		return 0;
	}
	case REG_PACKET:
	case REG_PACKET_META: {
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
	case REG_MEM: {
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
	default:
		return reject(env, -EACCES, "R%d invalid mem access '%s'", regno, reg_type_name(r));
	}
}

/* ---- ALU ---------------------------------------------------------------- */

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

static int check_alu(struct verifier_env *env, struct vstate *st, const bpfvm_insn *in)
{
	struct vframe *f = cur_frame(st);
	bool alu64 = ISA_CLASS(in->opcode) == CLS_ALU64;
	uint8_t op = in->opcode & 0xf0;
	bool use_reg = in->opcode & 0x08;
	struct vreg *dst = &f->regs[in->dst];
	int rc;

	if (op == 0xd0) { /* byte swap */
		if ((rc = check_reg_read(env, st, in->dst)) || (rc = check_reg_write(env, in->dst)))
			return rc;
		if (dst->type != REG_SCALAR)
			mark_unknown(dst);
		else
			scalar_endian(&dst->v, alu64, use_reg, (unsigned)in->imm);
		dst->id = 0;
		return 0;
	}
	if (op == 0x80) { /* neg */
		if ((rc = check_reg_read(env, st, in->dst)) || (rc = check_reg_write(env, in->dst)))
			return rc;
		if (dst->type != REG_SCALAR)
			mark_unknown(dst);
		else
			scalar_alu(&dst->v, &dst->v, op, alu64, 0);
		dst->id = 0;
		return 0;
	}
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
		if (in->off) { /* sign-extending move */
			if (src->type != REG_SCALAR) {
				mark_unknown(dst);
				if (!alu64)
					scalar_zext32(&dst->v);
				return 0;
			}
			struct vreg v = *src;
			scalar_alu(&v.v, &src->v, op, alu64, in->off);
			v.id = 0;
			*dst = v;
			return 0;
		}
		if (!alu64) {
			if (src->type != REG_SCALAR) {
				mark_unknown(dst);
				scalar_zext32(&dst->v);
				return 0;
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
			return 0;
		}
		if (use_reg && src->type == REG_SCALAR && !scalar_is_const(&src->v)) {
			/* copies share an id: a bound learnt on one holds for both */
			struct vreg *s = &f->regs[in->src];
			if (!s->id)
				s->id = ++env->next_id;
		}
		*dst = *src;
		return 0;
	}
	if (!use_reg && (op == 0x30 || op == 0x90) && in->imm == 0)
		return reject(env, -EINVAL, "div by zero");
	if (!use_reg && (op == 0x60 || op == 0x70 || op == 0xc0) && (uint32_t)in->imm >= (alu64 ? 64u : 32u))
		return reject(env, -EINVAL, "invalid shift %d", in->imm);
	if ((rc = check_reg_read(env, st, in->dst)))
		return rc;

	bool dptr = is_ptr(dst), sptr = is_ptr(src);
	if (dptr || sptr) {
		if (dptr && sptr) {
			if (op == 0x10 && alu64) {
				mark_unknown(dst);
				return 0;
			}
			return reject(env, -EACCES, "R%d pointer %s pointer prohibited", in->dst, alu_name(op));
		}
		if (!alu64) {
			if (dptr && op == 0x10) {
				mark_unknown(dst);
				scalar_zext32(&dst->v);
				return 0;
			}
			if (dptr)
				return reject(env, -EACCES, "R%d 32-bit pointer arithmetic prohibited", in->dst);
			/* scalar op= pointer in 32 bits: the pointer is a number now */
			mark_unknown(dst);
			scalar_zext32(&dst->v);
			return 0;
		}
		if (op != 0x00 && op != 0x10) {
			if (op == 0x40 || op == 0x50 || op == 0xa0)
				return reject(env, -EACCES, "R%d bitwise operator %s on pointer prohibited", in->dst,
				              alu_name(op));
			return reject(env, -EACCES, "R%d pointer arithmetic with %s operator prohibited", in->dst,
			              alu_name(op));
		}
		if (sptr) {
			if (op == 0x10)
				return reject(env, -EACCES, "R%d tried to subtract pointer from scalar", in->dst);
			struct vreg sc = *dst;
			return ptr_arith(env, dst, src, &sc, op, in->dst);
		}
		struct vreg sc = *src;
		struct vreg p = *dst;
		return ptr_arith(env, dst, &p, &sc, op, in->dst);
	}
	scalar_alu(&dst->v, &src->v, op, alu64, in->off);
	dst->id = 0;
	return 0;
}

/* ---- branches ----------------------------------------------------------- */

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

/* ---- helper calls ------------------------------------------------------- */

static bool map_func_ok(const struct bpfvm_map *m, uint32_t func)
{
	uint32_t t = m->type;
	switch (func) {
	case BPF_FUNC_tail_call:
		return t == BPF_MAP_TYPE_PROG_ARRAY;
	case BPF_FUNC_perf_event_output:
		return t == BPF_MAP_TYPE_PERF_EVENT_ARRAY;
	case BPF_FUNC_ringbuf_output:
	case BPF_FUNC_ringbuf_reserve:
	case BPF_FUNC_ringbuf_query:
		return t == BPF_MAP_TYPE_RINGBUF;
	case BPF_FUNC_map_push_elem:
		return t == BPF_MAP_TYPE_QUEUE || t == BPF_MAP_TYPE_STACK || t == BPF_MAP_TYPE_BLOOM_FILTER;
	case BPF_FUNC_map_pop_elem:
		return t == BPF_MAP_TYPE_QUEUE || t == BPF_MAP_TYPE_STACK;
	case BPF_FUNC_map_peek_elem:
		return t == BPF_MAP_TYPE_QUEUE || t == BPF_MAP_TYPE_STACK || t == BPF_MAP_TYPE_BLOOM_FILTER;
	case BPF_FUNC_for_each_map_elem:
		return t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_LRU_HASH || t == BPF_MAP_TYPE_ARRAY ||
		       t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY ||
		       t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	case BPF_FUNC_map_lookup_percpu_elem:
		return t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH ||
		       t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	case BPF_FUNC_map_lookup_elem:
		return t != BPF_MAP_TYPE_PROG_ARRAY && t != BPF_MAP_TYPE_PERF_EVENT_ARRAY && t != BPF_MAP_TYPE_RINGBUF &&
		       t != BPF_MAP_TYPE_QUEUE && t != BPF_MAP_TYPE_STACK && t != BPF_MAP_TYPE_BLOOM_FILTER;
	case BPF_FUNC_map_update_elem:
	case BPF_FUNC_map_delete_elem:
		return t != BPF_MAP_TYPE_PROG_ARRAY && t != BPF_MAP_TYPE_PERF_EVENT_ARRAY && t != BPF_MAP_TYPE_RINGBUF &&
		       t != BPF_MAP_TYPE_QUEUE && t != BPF_MAP_TYPE_STACK && t != BPF_MAP_TYPE_BLOOM_FILTER &&
		       t != BPF_MAP_TYPE_ARRAY_OF_MAPS && t != BPF_MAP_TYPE_HASH_OF_MAPS;
	default:
		return false;
	}
}

/* The map types only some helpers may take. */
static bool map_needs_func(const struct bpfvm_map *m)
{
	switch (m->type) {
	case BPF_MAP_TYPE_PROG_ARRAY:
	case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
	case BPF_MAP_TYPE_RINGBUF:
	case BPF_MAP_TYPE_QUEUE:
	case BPF_MAP_TYPE_STACK:
	case BPF_MAP_TYPE_BLOOM_FILTER:
		return true;
	default:
		return false;
	}
}

/* Memory a helper reads or writes: [r, r + size) where size may be a
 * range; every kind of memory pointer is accepted except the context. */
static int check_helper_mem(struct verifier_env *env, struct vstate *st, int regno, uint64_t size, bool write,
                            bool uninit_ok, bool null_ok)
{
	struct vreg *r = &cur_frame(st)->regs[regno];
	if (null_ok && r->type == REG_SCALAR && scalar_is_const(&r->v) && r->v.var.value == 0)
		return 0;
	if (is_pkt(r) && !helper_takes_packet(env->cur_helper))
		return reject(env, -EACCES, "helper access to the packet is not allowed");
	if (size == 0) {
		if (r->type == REG_SCALAR && !null_ok)
			return reject(env, -EACCES, "R%d type=scalar expected=fp", regno);
		if (r->type == REG_STACK) {
			/* even an empty range must lie in the frame */
			int64_t lo = (int64_t)r->off + r->v.smin, hi = (int64_t)r->off + r->v.smax;
			if (lo < -(int64_t)BPFVM_STACK_SIZE || hi > 0) {
				char tn[200];
				scalar_format(&r->v, tn, sizeof tn);
				return reject(env, -EACCES, "invalid variable-offset write to stack R%d var_off=%s off=%d size=0",
				              regno, tn, r->off);
			}
		}
		return 0;
	}
	switch (r->type) {
	case REG_STACK: {
		int rc = stack_range(env, st, r, regno, 0, (int)size, ACC_READ, uninit_ok, NULL, false, NULL);
		if (!rc && write && !uninit_ok) {
			/* initialised bytes the helper overwrites: no longer spills */
			int64_t lo = (int64_t)r->off + r->v.smin;
			int64_t hi = (int64_t)r->off + r->v.smax + (int64_t)size;
			stack_write_var(env, st, r->frameno, (int)lo, (int)hi);
		}
		return rc;
	}
	case REG_MAP_VALUE:
	case REG_MEM:
	case REG_PACKET:
	case REG_PACKET_META:
		if (r->maybe_null)
			return reject(env, -EACCES, "R%d type=%s expected=fp, pkt, pkt_meta, map_key, map_value, mem", regno,
			              reg_type_name(r));
		if (is_pkt(r) || size <= 8) {
			if (size <= 8)
				return check_mem(env, st, regno, 0, (int)size, write ? ACC_WRITE : ACC_READ, NULL, false, NULL,
				                 false, false);
		}
		{
			/* larger than one access: test the two ends */
			int rc = check_mem(env, st, regno, 0, 1, write ? ACC_WRITE : ACC_READ, NULL, false, NULL, false, false);
			if (rc)
				return rc;
			int64_t lim = is_pkt(r) ? (int64_t)r->range
			              : r->type == REG_MAP_VALUE ? (int64_t)r->map->value_size : (int64_t)r->mem_size;
			int64_t hi = (int64_t)r->off + (int64_t)r->v.umax + (int64_t)size;
			if (hi > lim) {
				if (r->type == REG_MAP_VALUE)
					return reject(env, -EACCES, "invalid access to map value, value_size=%u off=%d size=%" PRIu64,
					              r->map->value_size, r->off, size);
				if (is_pkt(r))
					return reject(env, -EACCES, "invalid access to packet, off=%d size=%" PRIu64
					              ", R%d(id=%u,off=%d,r=%u)", 0, size, regno, r->id, r->off, r->range);
				return reject(env, -EACCES, "invalid access to memory, mem_size=%u off=%d size=%" PRIu64,
				              r->mem_size, r->off, size);
			}
			return 0;
		}
	default:
		return reject(env, -EACCES, "R%d type=%s expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem",
		              regno, reg_type_name(r));
	}
}

static int check_size_arg(struct verifier_env *env, struct vstate *st, int regno, bool zero_ok, uint64_t *max)
{
	struct vreg *r = &cur_frame(st)->regs[regno];
	if (r->type != REG_SCALAR)
		return reject(env, -EACCES, "R%d type=%s expected=scalar", regno, reg_type_name(r));
	if (r->v.smin < 0)
		return reject(env, -EACCES, "R%d min value is negative, either use unsigned or 'var &= const'", regno);
	if (r->v.umin == 0 && !zero_ok)
		return reject(env, -EACCES, "R%d invalid zero-sized read: u64=[%" PRIu64 ",%" PRIu64 "]", regno, r->v.umin,
		              r->v.umax);
	if (r->v.umax >= MAX_VAR_OFF)
		return reject(env, -EACCES, "R%d unbounded memory access, use 'var &= const' or 'if (var < const)'", regno);
	*max = r->v.umax;
	return 0;
}

static void release_ref(struct vstate *st, uint32_t ref)
{
	for (uint32_t i = 0; i < st->ref_count; i++)
		if (st->refs[i].id == ref) {
			st->refs[i] = st->refs[--st->ref_count];
			break;
		}
	FOR_EACH_REG(st, r, {
		if (r->ref_id == ref)
			mark_unknown(r);
	});
}

static void invalidate_pkt(struct vstate *st)
{
	FOR_EACH_REG(st, r, {
		if (r->type == REG_PACKET || r->type == REG_PACKET_META || r->type == REG_PACKET_END)
			mark_unknown(r);
	});
}

static int push_pending(struct verifier_env *env, const struct vstate *st, uint32_t pc);
static int enter_frame(struct verifier_env *env, struct vstate *st, uint32_t callsite, uint32_t target,
                       int32_t callback_helper);

/* Where the callback's first instruction is, from a REG_FUNC. */
static int setup_callback(struct verifier_env *env, struct vstate *st, uint32_t pc, uint32_t helper,
                          const struct vreg *fn, const struct vreg *map, const struct vreg *ctx)
{
	struct vreg args[5];
	memset(args, 0, sizeof args);
	if (helper == BPF_FUNC_loop) {
		mark_unknown(&args[0]);
		args[1] = *ctx;
	} else {
		/* for_each_map_elem: (map, key, value, ctx) */
		args[0] = *map;
		mark_ptr(&args[1], REG_MEM);
		args[1].mem_size = map->map->key_size;
		args[1].rdonly = true;
		mark_ptr(&args[2], REG_MAP_VALUE);
		args[2].map = map->map;
		args[3] = *ctx;
	}
	int rc = enter_frame(env, st, pc, env->subprog_start[fn->subprog], (int32_t)helper);
	if (rc)
		return rc;
	struct vframe *f = cur_frame(st);
	for (int i = 0; i < 5; i++)
		f->regs[1 + i] = args[i];
	return 0;
}

/* The kernel's license_is_gpl_compatible(). */
static bool license_is_gpl_compatible(const char *license)
{
	static const char *const gpl[] = { "GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL",
	                                   "Dual MIT/GPL", "Dual MPL/GPL" };
	for (size_t i = 0; i < sizeof gpl / sizeof gpl[0]; i++)
		if (!strcmp(license, gpl[i]))
			return true;
	return false;
}

static int check_helper(struct verifier_env *env, struct vstate *st, uint32_t pc, const bpfvm_insn *in,
                        bool *entered_callback)
{
	uint32_t id = (uint32_t)in->imm;
	const char *name = NULL;
	*entered_callback = false;
	if (!env->opts->helpers || !bpfvm_helpers_find(env->opts->helpers, id, &name))
		return reject(env, -EINVAL, "invalid func unknown#%u", id);
	const struct helper_proto *p = helper_proto(id);
	if (!p)
		return reject(env, -ENOTSUP, "unsupported: helper %s#%u has no prototype in bpfvm's verifier", name, id);
	env->cur_helper = id;
	if (!env->raw && progtype_helper_allowed(env->prog_type, id) == 0)
		return reject(env, -EINVAL, "program of this type cannot use helper %s#%u", p->name, id);
	if (p->gpl_only && env->opts->license && !license_is_gpl_compatible(env->opts->license))
		return reject(env, -EINVAL, "cannot call GPL-restricted function from non-GPL compatible program");
	if (st->lock_id && id != BPF_FUNC_spin_unlock)
		return reject(env, -EINVAL, "function calls are not allowed while holding a lock");

	struct vframe *f = cur_frame(st);
	const struct vreg *map = NULL;
	const struct vreg *func = NULL;
	uint64_t alloc_size = 0;
	uint32_t release = 0;
	int rc;
	for (int a = 0; a < 5 && p->args[a]; a++) {
		int regno = a + 1;
		struct vreg *r = &f->regs[regno];
		if (r->type == REG_NOT_INIT)
			return reject(env, -EACCES, "R%d !read_ok", regno);
		uint64_t size;
		switch (p->args[a]) {
		case ARG_ANYTHING:
			break;
		case ARG_MAP:
			if (r->type != REG_MAP_PTR || r->maybe_null)
				return reject(env, -EACCES, "R%d type=%s expected=map_ptr", regno, reg_type_name(r));
			if (!map_func_ok(r->map, id))
				return reject(env, -EINVAL, "cannot pass map_type %u into func %s#%u", r->map->type, p->name, id);
			map = r;
			break;
		case ARG_MAP_KEY:
			if (!map)
				return reject(env, -EACCES, "invalid map_ptr to access map->key");
			if ((rc = check_helper_mem(env, st, regno, map->map->key_size, false, false, false)))
				return rc;
			break;
		case ARG_MAP_VALUE:
		case ARG_MAP_VALUE_UNINIT:
			if (!map)
				return reject(env, -EACCES, "invalid map_ptr to access map->value");
			if ((rc = check_helper_mem(env, st, regno, map->map->value_size, p->args[a] == ARG_MAP_VALUE_UNINIT,
			                           p->args[a] == ARG_MAP_VALUE_UNINIT, false)))
				return rc;
			break;
		case ARG_SCALAR:
			if (r->type != REG_SCALAR)
				return reject(env, -EACCES, "R%d type=%s expected=scalar", regno, reg_type_name(r));
			break;
		case ARG_MEM:
		case ARG_MEM_MAYBE_NULL:
		case ARG_MEM_MAYBE_NULL_OUT:
		case ARG_MEM_UNINIT: {
			const struct vreg *sz = &f->regs[regno + 1];
			bool out_mem = p->args[a] == ARG_MEM_UNINIT || p->args[a] == ARG_MEM_MAYBE_NULL_OUT;
			bool zero_ok = p->args[a + 1] == ARG_SIZE_OR_ZERO;
			if (sz->type == REG_NOT_INIT)
				return reject(env, -EACCES, "R%d !read_ok", regno + 1);
			if ((rc = check_size_arg(env, st, regno + 1, zero_ok, &size)))
				return rc;
			if (r->type == REG_SCALAR &&
			    (p->args[a] == ARG_MEM_MAYBE_NULL || p->args[a] == ARG_MEM_MAYBE_NULL_OUT) &&
			    scalar_is_const(&r->v) && r->v.var.value == 0) {
				if (sz->v.umax != 0)
					return reject(env, -EACCES, "R%d type=scalar expected=fp", regno);
				a++;
				break;
			}
			if ((rc = check_helper_mem(env, st, regno, size, out_mem, p->args[a] == ARG_MEM_UNINIT, false)))
				return rc;
			a++; /* the size was checked with it */
			break;
		}
		case ARG_SIZE:
		case ARG_SIZE_OR_ZERO:
			if ((rc = check_size_arg(env, st, regno, p->args[a] == ARG_SIZE_OR_ZERO, &size)))
				return rc;
			break;
		case ARG_CTX:
			if (env->raw || r->type != REG_CTX)
				return reject(env, -EACCES, "R%d type=%s expected=ctx", regno, reg_type_name(r));
			if (r->off || !var_is_zero(r))
				return reject(env, -EACCES, "dereference of modified ctx ptr R%d off=%d disallowed", regno, r->off);
			break;
		case ARG_FUNC:
			if (r->type != REG_FUNC)
				return reject(env, -EACCES, "R%d type=%s expected=func", regno, reg_type_name(r));
			func = r;
			break;
		case ARG_STACK_OR_NULL:
			if (r->type == REG_SCALAR && scalar_is_const(&r->v) && r->v.var.value == 0)
				break;
			if (r->type != REG_STACK)
				return reject(env, -EACCES, "R%d type=%s expected=fp", regno, reg_type_name(r));
			break;
		case ARG_RINGBUF_MEM:
			if (r->type != REG_MEM || r->maybe_null || !r->ref_id)
				return reject(env, -EACCES, "R%d type=%s expected=ringbuf_mem", regno, reg_type_name(r));
			if (r->off || !var_is_zero(r))
				return reject(env, -EACCES, "R%d must have zero offset when passed to release func", regno);
			release = r->ref_id;
			break;
		case ARG_SPIN_LOCK: {
			if (r->type != REG_MAP_VALUE || r->maybe_null)
				return reject(env, -EACCES, "R%d type=%s expected=map_value", regno, reg_type_name(r));
			if (r->map->spin_lock_off < 0)
				return reject(env, -EINVAL, "map '%s' has no valid bpf_spin_lock", r->map->name);
			if (!var_is_zero(r) || r->off != r->map->spin_lock_off)
				return reject(env, -EINVAL, "off %d doesn't point to 'struct bpf_spin_lock' that is at %d", r->off,
				              r->map->spin_lock_off);
			if (id == BPF_FUNC_spin_lock) {
				if (st->lock_id)
					return reject(env, -EINVAL, "Locking two bpf_spin_locks are not allowed");
				st->lock_id = r->id ? r->id : 1;
				st->lock_map = r->map;
			} else {
				if (!st->lock_id)
					return reject(env, -EINVAL, "bpf_spin_unlock without taking a lock");
				if (st->lock_map != r->map || (r->id && st->lock_id != r->id))
					return reject(env, -EINVAL, "bpf_spin_unlock of different lock");
				st->lock_id = 0;
				st->lock_map = NULL;
			}
			break;
		}
		case ARG_CONST_STR: {
			if (r->type != REG_MAP_VALUE || r->maybe_null || !map_rdonly_prog(r->map) ||
			    r->map->type != BPF_MAP_TYPE_ARRAY)
				return reject(env, -EACCES, "R%d does not point to a readonly map'", regno);
			if (!scalar_is_const(&r->v))
				return reject(env, -EACCES, "R%d is not a constant address'", regno);
			uint32_t zero = 0;
			const char *base = bpfvm_map_lookup_elem(r->map, &zero);
			int64_t o = r->off + (int64_t)r->v.var.value;
			if (!base || o < 0 || o >= r->map->value_size || !memchr(base + o, 0, r->map->value_size - (size_t)o))
				return reject(env, -EINVAL, "string is not zero-terminated");
			break;
		}
		case ARG_ALLOC_SIZE:
			if (r->type != REG_SCALAR || !scalar_is_const(&r->v))
				return reject(env, -EACCES, "R%d is not a known constant'", regno);
			alloc_size = r->v.var.value;
			break;
		default:
			return reject(env, -ENOTSUP, "unsupported: argument kind %u of %s", p->args[a], p->name);
		}
	}
	if (id == BPF_FUNC_tail_call && st->ref_count)
		return reject(env, -EINVAL, "tail_call would lead to reference leak");
	if (map && map_needs_func(map->map) && !map_func_ok(map->map, id))
		return reject(env, -EINVAL, "cannot pass map_type %u into func %s#%u", map->map->type, p->name, id);
	if (release)
		release_ref(st, release);
	if (p->changes_pkt)
		invalidate_pkt(st);

	if (func) {
		/* the helper may return without calling back: continue from
		 * the next instruction in a pending state; this one enters
		 * the callback (calls again are explored from its exit) */
		struct vstate *after = state_dup(st);
		if (!after)
			return reject(env, -ENOMEM, "out of memory");
		struct vframe *af = cur_frame(after);
		for (int i = 1; i <= 5; i++)
			mark_not_init(&af->regs[i]);
		mark_unknown(&af->regs[0]);
		rc = push_pending(env, after, pc + 1);
		state_free(after);
		if (rc)
			return rc;
		struct vreg fn = *func, mp = map ? *map : (struct vreg){ 0 }, cx = f->regs[3];
		rc = setup_callback(env, st, pc, id, &fn, &mp, &cx);
		if (rc)
			return rc;
		*entered_callback = true;
		return 0;
	}

	struct vreg r0;
	switch (p->ret) {
	case RET_VOID:
		mark_not_init(&r0);
		break;
	case RET_MAP_VALUE_OR_NULL:
		if (map->map->type == BPF_MAP_TYPE_ARRAY_OF_MAPS || map->map->type == BPF_MAP_TYPE_HASH_OF_MAPS) {
			mark_ptr(&r0, REG_MAP_PTR);
			r0.map = map->map->inner_template;
			if (!r0.map)
				return reject(env, -ENOTSUP, "unsupported: map-in-map %s without an inner map template",
				              map->map->name);
		} else {
			mark_ptr(&r0, REG_MAP_VALUE);
			r0.map = map->map;
		}
		r0.maybe_null = true;
		r0.id = ++env->next_id;
		break;
	case RET_MEM_OR_NULL:
		if (st->ref_count >= MAX_REFS)
			return reject(env, -EINVAL, "too many acquired references");
		mark_ptr(&r0, REG_MEM);
		r0.mem_size = (uint32_t)alloc_size;
		r0.maybe_null = true;
		r0.id = ++env->next_id;
		r0.ref_id = ++env->next_id;
		st->refs[st->ref_count++] = (struct vref){ .id = r0.ref_id, .insn = pc };
		break;
	default:
		mark_unknown(&r0);
		break;
	}
	for (int i = 1; i <= 5; i++)
		mark_not_init(&f->regs[i]);
	f->regs[0] = r0;
	return 0;
}

/* ---- frames ------------------------------------------------------------- */

static int enter_frame(struct verifier_env *env, struct vstate *st, uint32_t callsite, uint32_t target,
                       int32_t callback_helper)
{
	if (st->curframe + 1 >= MAX_FRAMES)
		return reject(env, -E2BIG, "the call stack of %u frames is too deep !", st->curframe + 2);
	struct vframe *nf = malloc(sizeof *nf);
	if (!nf)
		return reject(env, -ENOMEM, "out of memory");
	memset(nf, 0, offsetof(struct vframe, stack));
	struct vframe *cf = cur_frame(st);
	for (int i = 1; i <= 5; i++)
		nf->regs[i] = cf->regs[i];
	st->curframe++;
	nf->callsite = callsite;
	nf->subprog = env->subprog_of[target];
	nf->callback_helper = callback_helper;
	mark_ptr(&nf->regs[10], REG_STACK);
	nf->regs[10].frameno = (uint8_t)st->curframe;
	free(st->frames[st->curframe]);
	st->frames[st->curframe] = nf;
	return 0;
}

/* ---- pruning ------------------------------------------------------------ */

struct idmap {
	uint32_t n;
	uint32_t old[64], cur[64];
};

static bool ids_match(struct idmap *m, uint32_t old, uint32_t cur)
{
	if (!old)
		return true;
	if (!cur)
		return false;
	for (uint32_t i = 0; i < m->n; i++) {
		if (m->old[i] == old)
			return m->cur[i] == cur;
		if (m->cur[i] == cur)
			return false;
	}
	if (m->n >= 64)
		return false;
	m->old[m->n] = old;
	m->cur[m->n++] = cur;
	return true;
}

static bool reg_covered(const struct vreg *old, const struct vreg *cur, struct idmap *m, bool exact)
{
	if (old->type == REG_NOT_INIT)
		return !exact || cur->type == REG_NOT_INIT;
	if (old->type != cur->type)
		return false;
	if (old->type == REG_SCALAR) {
		if (exact)
			return !memcmp(&old->v, &cur->v, sizeof old->v) && ids_match(m, old->id, cur->id);
		if (!scalar_within(&old->v, &cur->v))
			return false;
		/* equal copies in old may have narrowed each other */
		return !old->id || ids_match(m, old->id, cur->id);
	}
	if (old->maybe_null != cur->maybe_null || old->off != cur->off || old->map != cur->map ||
	    old->frameno != cur->frameno || old->mem_size != cur->mem_size || old->subprog != cur->subprog ||
	    old->rdonly != cur->rdonly)
		return false;
	if (exact ? memcmp(&old->v, &cur->v, sizeof old->v) != 0 : !scalar_within(&old->v, &cur->v))
		return false;
	if (is_pkt(old) && (exact ? old->range != cur->range : old->range > cur->range))
		return false;
	if (!ids_match(m, old->id, cur->id) || !ids_match(m, old->ref_id, cur->ref_id))
		return false;
	return true;
}

static bool stack_covered(const struct vframe *old, const struct vframe *cur, struct idmap *m, bool exact)
{
	for (uint32_t s = 0; s < old->slots; s++) {
		const struct stack_slot *os = &old->stack[s];
		const struct stack_slot *cs = s < cur->slots ? &cur->stack[s] : NULL;
		bool ospill = false;
		for (int b = 0; b < 8; b++) {
			uint8_t ot = os->type[b];
			uint8_t ct = cs ? cs->type[b] : SLOT_INVALID;
			if (ot == SLOT_INVALID && !exact)
				continue;
			if (ot == ct) {
				ospill |= ot == SLOT_SPILL;
				continue;
			}
			if (exact)
				return false;
			/* plain data covers zeros and spilled numbers */
			if (ot == SLOT_MISC && (ct == SLOT_ZERO || (ct == SLOT_SPILL && cs->spilled.type == REG_SCALAR)))
				continue;
			return false;
		}
		if (ospill && !reg_covered(&os->spilled, &cs->spilled, m, exact))
			return false;
	}
	if (exact) {
		for (uint32_t s = old->slots; s < cur->slots; s++)
			for (int b = 0; b < 8; b++)
				if (cur->stack[s].type[b] != SLOT_INVALID)
					return false;
	}
	return true;
}

static bool states_covered(const struct verifier_env *env, uint32_t pc, const struct vstate *old, const struct vstate *cur,
                    bool exact)
{
	if (old->curframe != cur->curframe || old->ref_count != cur->ref_count || old->lock_map != cur->lock_map ||
	    !old->lock_id != !cur->lock_id)
		return false;
	struct idmap m = { 0 };
	for (uint32_t fi = 0; fi <= old->curframe; fi++) {
		const struct vframe *of = old->frames[fi], *cf = cur->frames[fi];
		if (of->callsite != cf->callsite || of->callback_helper != cf->callback_helper)
			return false;
		uint16_t live;
		if (fi == old->curframe)
			live = env->live[pc];
		else if (old->frames[fi + 1]->callback_helper >= 0)
			/* a helper calling back may call again: it reads its
			 * arguments once more */
			live = (env->live[old->frames[fi + 1]->callsite] & 0x3e) |
			       (env->live[old->frames[fi + 1]->callsite + 1] & 0x3c0);
		else /* after the call returns only the callee-saved registers matter */
			live = env->live[old->frames[fi + 1]->callsite + 1] & 0x3c0;
		for (int i = 0; i < 10; i++) {
			if (!(live & (1u << i)) && !exact)
				continue;
			if (!reg_covered(&of->regs[i], &cf->regs[i], &m, exact))
				return false;
		}
		if (!stack_covered(of, cf, &m, exact))
			return false;
	}
	for (uint32_t i = 0; i < old->ref_count; i++)
		if (!ids_match(&m, old->refs[i].id, cur->refs[i].id))
			return false;
	/* the lock held must be the same value's, under the same renaming
	 * of ids as the registers */
	return ids_match(&m, old->lock_id, cur->lock_id);
}

/* ---- the walk ----------------------------------------------------------- */

static int push_pending(struct verifier_env *env, const struct vstate *st, uint32_t pc)
{
	if (env->sp == env->cap) {
		size_t ncap = env->cap ? env->cap * 2 : 64;
		struct pending *n = realloc(env->stack, ncap * sizeof *n);
		if (!n)
			return reject(env, -ENOMEM, "out of memory");
		env->stack = n;
		env->cap = ncap;
	}
	if (env->sp > 8192)
		return reject(env, -E2BIG, "The sequence of %zu jumps is too complex.", env->sp);
	struct vstate *copy = state_dup(st);
	if (!copy)
		return reject(env, -ENOMEM, "out of memory");
	env->stack[env->sp++] = (struct pending){ .st = copy, .parent = env->parent, .pc = pc };
	if (env->parent)
		env->parent->branches++;
	return 0;
}

/* A path ended (exit, or pruned): the checkpoints it passed have one
 * branch fewer in progress. */
static void path_done(struct verifier_env *env)
{
	for (struct explored *e = env->parent; e; e = e->parent)
		if (--e->branches)
			break;
	env->parent = NULL;
}

static bool is_ancestor(const struct explored *anc, const struct explored *from)
{
	for (const struct explored *e = from; e; e = e->parent)
		if (e == anc)
			return true;
	return false;
}

/* 1: covered by a stored state (prune), 0: go on (stored), <0: error. */
/* Widening for a helper that calls back an unknown number of times:
 * numbers that changed since the last visit become unknown, so that the
 * states at the call settle (the kernel reaches the same end by ignoring
 * numbers that no safety check depends on). */
static void widen(struct vstate *cur, const struct vstate *old)
{
	if (cur->curframe != old->curframe)
		return;
	for (uint32_t fi = 0; fi <= cur->curframe; fi++) {
		struct vframe *cf = cur->frames[fi];
		const struct vframe *of = old->frames[fi];
		for (int i = 0; i < 10; i++) {
			struct vreg *c = &cf->regs[i];
			const struct vreg *o = &of->regs[i];
			if (c->type == REG_SCALAR && o->type == REG_SCALAR && !scalar_within(&o->v, &c->v)) {
				scalar_unknown(&c->v);
				c->id = 0;
			}
		}
		for (uint32_t sl = 0; sl < cf->slots && sl < of->slots; sl++) {
			struct stack_slot *c = &cf->stack[sl];
			const struct stack_slot *o = &of->stack[sl];
			for (int b = 0; b < 8; b++)
				if (c->type[b] == SLOT_ZERO && o->type[b] == SLOT_MISC)
					c->type[b] = SLOT_MISC;
			if (c->type[0] == SLOT_SPILL && o->type[0] == SLOT_SPILL && c->spilled.type == REG_SCALAR &&
			    o->spilled.type == REG_SCALAR && !scalar_within(&o->spilled.v, &c->spilled.v)) {
				scalar_unknown(&c->spilled.v);
				c->spilled.id = 0;
			}
		}
	}
}

/* 1: covered by a stored state (prune), 0: go on (stored), <0: error. */
static int visit(struct verifier_env *env, uint32_t pc, struct vstate *st)
{
	/* A helper calling back (bpf_loop, ...) makes a loop: its call is
	 * met again after each callback; there, as the kernel does, a state
	 * covered by one still being walked is a fixed point, and ends the
	 * path. */
	bool calls_back = env->insns[pc].opcode == 0x85 && env->insns[pc].src == 0 &&
	                  (env->insns[pc].imm == BPF_FUNC_loop || env->insns[pc].imm == BPF_FUNC_for_each_map_elem);
	if (calls_back) {
		uint32_t seen = 0;
		for (struct explored *e = env->explored[pc]; e; e = e->next) {
			if (states_covered(env, pc, e->st, st, false)) {
				e->hits++;
				return 1;
			}
			seen++;
		}
		if (seen >= 2 && env->explored[pc]->st) {
			widen(st, env->explored[pc]->st);
			for (struct explored *e = env->explored[pc]; e; e = e->next)
				if (states_covered(env, pc, e->st, st, false)) {
					e->hits++;
					return 1;
				}
		}
	}
	/* keep a state at every prune point (as the running kernel appears
	 * to: its processed counts match this, not the older heuristic of
	 * two jumps and eight instructions between states) */
	bool add = true;
	for (struct explored **pp = &env->explored[pc]; *pp;) {
		struct explored *e = *pp;
		if (e->branches) {
			/* a state whose paths are still being walked proves
			 * nothing yet; meeting it again unchanged on its own
			 * path is a loop that never ends */
			if (!calls_back && is_ancestor(e, env->parent) && states_covered(env, pc, e->st, st, true))
				return reject(env, -EINVAL, "infinite loop detected at insn %u", pc);
			/* in a loop, iterations differ: keep states rarely */
			if (!calls_back && env->jmps - env->prev_jmps < 20 && env->processed - env->prev_processed < 100)
				add = false;
		} else if (states_covered(env, pc, e->st, st, false)) {
			e->hits++;
			return 1;
		}
		e->misses++;
		if (e->misses > e->hits * 3 + 3) {
			/* a state that rarely helps is dropped from the search;
			 * its record stays on env->all for the parent links */
			*pp = e->next;
			state_free(e->st);
			e->st = NULL;
			e->next = NULL;
			env->state_count[pc]--;
			env->cur_states--;
			continue;
		}
		pp = &e->next;
	}
	if (!add)
		return 0;
	env->prev_jmps = env->jmps;
	env->prev_processed = env->processed;
	struct explored *n = calloc(1, sizeof *n);
	if (!n)
		return reject(env, -ENOMEM, "out of memory");
	n->st = state_dup(st);
	if (!n->st) {
		free(n);
		return reject(env, -ENOMEM, "out of memory");
	}
	n->pc = pc;
	n->parent = env->parent;
	n->branches = 1;
	n->next = env->explored[pc];
	env->explored[pc] = n;
	n->all_next = env->all;
	env->all = n;
	env->parent = n;
	env->state_count[pc]++;
	if (env->state_count[pc] > env->max_states_per_insn)
		env->max_states_per_insn = env->state_count[pc];
	env->total_states++;
	env->cur_states++;
	if (env->cur_states > env->peak_states)
		env->peak_states = env->cur_states;
	return 0;
}

static void path_note(struct vstate *st, uint32_t from, bool taken)
{
	st->path[st->path_total % PATH_LEN] = from << 1 | (taken ? 1 : 0);
	st->path_total++;
}

/* Conditional jump at pc; continues on one side, queues the other. */
static int check_cond_jmp(struct verifier_env *env, struct vstate *st, uint32_t pc, const bpfvm_insn *in,
                          uint32_t *next)
{
	struct vframe *f = cur_frame(st);
	bool is32 = ISA_CLASS(in->opcode) == CLS_JMP32;
	uint8_t op = in->opcode & 0xf0;
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
	int taken = -1;
	if (a->type == REG_SCALAR && b->type == REG_SCALAR) {
		taken = scalar_branch_taken(&a->v, &b->v, op, is32);
	} else if (!is32 && (op == 0x10 || op == 0x50)) {
		/* a non-NULL pointer compared with 0 */
		const struct vreg *p = is_ptr(a) ? a : b, *z = is_ptr(a) ? b : a;
		/* only the pointers the kernel knows are never NULL (a map
		 * value, memory) decide it; the context or a stack pointer
		 * do not */
		bool not_null = (p->type == REG_MAP_VALUE || p->type == REG_MEM || p->type == REG_MAP_PTR) &&
		                !p->maybe_null && p->v.smin > -MAX_VAR_OFF && p->v.smax < MAX_VAR_OFF;
		if (not_null && z->type == REG_SCALAR && scalar_is_const(&z->v) && z->v.var.value == 0)
			taken = op == 0x50;
	}
	if (taken == 1) {
		*next = target;
		return 0;
	}
	if (taken == 0) {
		*next = pc + 1;
		return 0;
	}
	struct vstate *other = state_dup(st);
	if (!other)
		return reject(env, -ENOMEM, "out of memory");
	struct vframe *of = cur_frame(other);
	struct vreg *oa = &of->regs[in->dst];
	struct vreg same2 = *b;
	struct vreg *ob = use_reg && in->src != in->dst ? &of->regs[in->src] : &same2;
	bool fall_ok = true, taken_ok = true;
	if (a->type == REG_SCALAR && b->type == REG_SCALAR) {
		/* other = taken side, st = fall-through side */
		taken_ok = scalar_refine(&oa->v, &ob->v, op, is32);
		uint8_t neg = jmp_negate(op);
		fall_ok = scalar_refine(&a->v, &b->v, neg, is32);
		if (taken_ok) {
			set_id_scalar(other, oa->id, &oa->v);
			if (use_reg)
				set_id_scalar(other, ob->id, &ob->v);
		}
		if (fall_ok) {
			set_id_scalar(st, a->id, &a->v);
			if (use_reg)
				set_id_scalar(st, b->id, &b->v);
		}
	} else if (!is32 && (op == 0x10 || op == 0x50)) {
		const struct vreg *p = is_ptr(a) ? a : b, *z = is_ptr(a) ? b : a;
		if (p->maybe_null && z->type == REG_SCALAR && scalar_is_const(&z->v) && z->v.var.value == 0 && p->id) {
			uint32_t id = p->id;
			mark_null_checked(other, id, op == 0x10);
			mark_null_checked(st, id, op != 0x10);
		}
	} else if (!is32) {
		pkt_compare(other, st, a, b, op);
	}
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

static int check_exit(struct verifier_env *env, struct vstate *st, uint32_t *next, bool *path_end)
{
	struct vframe *f = cur_frame(st);
	int rc;
	/* a static subprogram may return without setting r0 (the kernel
	 * passes the caller whatever r0 holds, even nothing) */
	if ((st->curframe == 0 || f->callback_helper >= 0) && (rc = check_reg_read(env, st, 0)))
		return rc;
	if (st->curframe == 0) {
		if (st->ref_count)
			return reject(env, -EINVAL, "Unreleased reference id=%u alloc_insn=%u", st->refs[0].id,
			              st->refs[0].insn);
		if (st->lock_id)
			return reject(env, -EINVAL,
			              "BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region");
		*path_end = true;
		return 0;
	}
	struct vreg r0 = f->regs[0];
	if (f->callback_helper >= 0) {
		if (r0.type != REG_SCALAR)
			return reject(env, -EINVAL, "At callback return the register R0 is not a known value (%s)",
			              reg_type_name(&r0));
		if (r0.v.umax > 1 || r0.v.smin < 0) {
			char tn[200];
			scalar_format(&r0.v, tn, sizeof tn);
			return reject(env, -EINVAL, "At callback return the register R0 has %s should have been in [0, 1]",
			              tn);
		}
		if (st->ref_count) {
			/* references taken inside the callback must not leak */
			for (uint32_t i = 0; i < st->ref_count; i++)
				if (st->refs[i].insn >= env->subprog_start[f->subprog])
					return reject(env, -EINVAL, "Unreleased reference id=%u alloc_insn=%u", st->refs[i].id,
					              st->refs[i].insn);
		}
	} else if (r0.type == REG_STACK && r0.frameno == st->curframe) {
		return reject(env, -EINVAL, "cannot return stack pointer to the caller");
	}
	uint32_t callsite = f->callsite;
	int32_t cb = f->callback_helper;
	free(st->frames[st->curframe]);
	st->frames[st->curframe] = NULL;
	st->curframe--;
	struct vframe *cf = cur_frame(st);
	/* a pointer into the callee's stack is gone with it */
	FOR_EACH_REG(st, r, {
		if (r->type == REG_STACK && r->frameno > st->curframe)
			mark_unknown(r);
	});
	if (cb >= 0) {
		/* back at the helper: it may call again (explored from the
		 * helper's instruction), or return */
		struct vstate *again = state_dup(st);
		if (!again)
			return reject(env, -ENOMEM, "out of memory");
		rc = push_pending(env, again, callsite);
		state_free(again);
		if (rc)
			return rc;
		for (int i = 1; i <= 5; i++)
			mark_not_init(&cf->regs[i]);
		mark_unknown(&cf->regs[0]);
		*next = callsite + 1;
		return 0;
	}
	for (int i = 1; i <= 5; i++)
		mark_not_init(&cf->regs[i]);
	cf->regs[0] = r0;
	*next = callsite + 1;
	return 0;
}

static int check_ld_abs(struct verifier_env *env, struct vstate *st, const bpfvm_insn *in, unsigned size)
{
	struct vframe *f = cur_frame(st);
	int rc;
	if (env->prog_type != BPF_PROG_TYPE_SOCKET_FILTER && env->prog_type != BPF_PROG_TYPE_SCHED_CLS &&
	    env->prog_type != BPF_PROG_TYPE_SCHED_ACT && !env->raw)
		return reject(env, -EINVAL, "BPF_LD_[ABS|IND] instructions not allowed for this program type");
	if (st->ref_count)
		return reject(env, -EINVAL, "BPF_LD_[ABS|IND] cannot be mixed with socket references");
	if (st->lock_id)
		return reject(env, -EINVAL, "BPF_LD_[ABS|IND] cannot be used inside bpf_spin_lock-ed region");
	/* the kernel lets a subprogram's failed load return 0 from the
	 * subprogram; bpfvm's engines end the program, so the two differ */
	if (st->curframe)
		return reject(env, -ENOTSUP, "unsupported: BPF_LD_[ABS|IND] in a subprogram");
	if ((rc = check_reg_read(env, st, 6)))
		return rc;
	if (!env->raw && f->regs[6].type != REG_CTX)
		return reject(env, -EINVAL, "at the time of BPF_LD_ABS|IND R6 != pointer to skb");
	if ((in->opcode & 0xe0) == 0x40 && (rc = check_reg_read(env, st, in->src)))
		return rc;
	for (int i = 1; i <= 5; i++)
		mark_not_init(&f->regs[i]);
	mark_unknown(&f->regs[0]);
	scalar_unknown_size(&f->regs[0].v, size);
	return 0;
}

static int check_insn(struct verifier_env *env, struct vstate *st, uint32_t pc, uint32_t *next, bool *path_end)
{
	const bpfvm_insn *in = &env->insns[pc];
	const struct isa_op *op = env->ops[pc];
	struct vframe *f = cur_frame(st);
	int rc;
	*next = pc + 1;
	switch (op->format) {
	case FMT_ALU_IMM:
	case FMT_ALU_REG:
	case FMT_NEG:
	case FMT_END:
		return check_alu(env, st, in);
	case FMT_LDDW: {
		if ((rc = check_reg_write(env, in->dst)))
			return rc;
		struct vreg *d = &f->regs[in->dst];
		*next = pc + 2;
		switch (in->src) {
		case 0:
			mark_known(d, (uint32_t)in->imm | (uint64_t)(uint32_t)in[1].imm << 32);
			return 0;
		case PSEUDO_MAP_FD:
		case PSEUDO_MAP_VALUE: {
			if ((uint32_t)in->imm >= env->opts->map_count || !env->opts->maps[in->imm])
				return reject(env, -EINVAL, "fd %d is not pointing to valid bpf_map", in->imm);
			struct bpfvm_map *m = env->opts->maps[in->imm];
			if (in->src == PSEUDO_MAP_FD) {
				mark_ptr(d, REG_MAP_PTR);
			} else {
				if (m->type != BPF_MAP_TYPE_ARRAY || m->max_entries != 1 ||
				    (uint32_t)in[1].imm >= m->value_size)
					return reject(env, -EINVAL, "invalid access to map value pointer, value_size=%u off=%d",
					              m->value_size, in[1].imm);
				mark_ptr(d, REG_MAP_VALUE);
				d->off = in[1].imm;
			}
			d->map = m;
			return 0;
		}
		case PSEUDO_FUNC: {
			int64_t t = (int64_t)pc + 1 + in->imm;
			if (t < 0 || (size_t)t >= env->count || env->subprog_start[env->subprog_of[t]] != (uint32_t)t)
				return reject(env, -EINVAL, "invalid subprog target %" PRId64, t);
			mark_ptr(d, REG_FUNC);
			d->subprog = env->subprog_of[t];
			return 0;
		}
		default:
			return reject(env, -EINVAL, "unsupported lddw src %u", in->src);
		}
	}
	case FMT_LDABS:
	case FMT_LDIND:
		return check_ld_abs(env, st, in, isa_access_size(op));
	case FMT_LDX: {
		if ((rc = check_reg_read(env, st, in->src)) || (rc = check_reg_write(env, in->dst)))
			return rc;
		bool sx = (in->opcode & 0xe0) == 0x80;
		struct vreg v;
		if ((rc = check_mem(env, st, in->src, in->off, (int)isa_access_size(op), ACC_READ, &v, sx, NULL, false,
		                    false)))
			return rc;
		f->regs[in->dst] = v;
		return 0;
	}
	case FMT_ST: {
		if ((rc = check_reg_read(env, st, in->dst)))
			return rc;
		struct vreg v;
		unsigned size = isa_access_size(op);
		mark_known(&v, size == 8 ? (uint64_t)(int64_t)in->imm : (uint64_t)(uint32_t)in->imm & (size == 4 ? 0xffffffffu : size == 2 ? 0xffffu : 0xffu));
		return check_mem(env, st, in->dst, in->off, (int)size, ACC_WRITE, NULL, false, &v, true, false);
	}
	case FMT_STX: {
		if ((rc = check_reg_read(env, st, in->dst)) || (rc = check_reg_read(env, st, in->src)))
			return rc;
		struct vreg *src = &f->regs[in->src];
		unsigned size = isa_access_size(op);
		if (f->regs[in->dst].type == REG_STACK && src->type == REG_SCALAR && !scalar_is_const(&src->v) && !src->id &&
		    (size == 8 || (src->v.umax >> (8 * size)) == 0))
			src->id = ++env->next_id; /* a bound learnt on either holds for the other */
		struct vreg v = *src;
		return check_mem(env, st, in->dst, in->off, (int)isa_access_size(op), ACC_WRITE, NULL, false, &v, false,
		                 false);
	}
	case FMT_ATOMIC: {
		if ((rc = check_reg_read(env, st, in->dst)) || (rc = check_reg_read(env, st, in->src)))
			return rc;
		int size = (int)isa_access_size(op);
		bool cmpxchg = in->imm == 0xf1;
		bool fetch = (in->imm & 0x01) || in->imm == 0xe1 || cmpxchg;
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
	case FMT_JA:
	case FMT_JA32:
		*next = (uint32_t)isa_branch_target(op, in, pc);
		return 0;
	case FMT_JMP_IMM:
	case FMT_JMP_REG:
		return check_cond_jmp(env, st, pc, in, next);
	case FMT_CALL: {
		bool entered;
		rc = check_helper(env, st, pc, in, &entered);
		if (rc)
			return rc;
		/* a tail call that fails goes on with the next instruction */
		if (entered)
			*next = env->subprog_start[cur_frame(st)->subprog];
		return 0;
	}
	case FMT_CALL_LOCAL: {
		uint32_t target = (uint32_t)isa_branch_target(op, in, pc);
		/* the kernel allows calling subprograms with a lock held */
		if ((rc = enter_frame(env, st, pc, target, -1)))
			return rc;
		*next = target;
		return 0;
	}
	case FMT_CALLX:
		return reject(env, -ENOTSUP, "unsupported: callx (indirect call)");
	case FMT_EXIT:
		return check_exit(env, st, next, path_end);
	}
	return reject(env, -EINVAL, "unknown instruction");
}

/* ---- before the walk: structure, subprograms, liveness --------------------- */

static int find_subprogs(struct verifier_env *env)
{
	uint8_t *is_start = calloc(env->count, 1);
	if (!is_start)
		return reject(env, -ENOMEM, "out of memory");
	is_start[0] = 1;
	for (size_t pc = 0; pc < env->count; pc++) {
		const bpfvm_insn *in = &env->insns[pc];
		if (in->opcode == 0x85 && in->src == PSEUDO_CALL)
			is_start[pc + 1 + in->imm] = 1; /* validated in range */
		if (in->opcode == 0x18 && in->src == PSEUDO_FUNC) {
			int64_t t = (int64_t)pc + 1 + in->imm;
			if (t < 0 || (size_t)t >= env->count) {
				free(is_start);
				env->err->insn = (int)pc;
				return reject(env, -EINVAL, "invalid subprog target %" PRId64, t);
			}
			is_start[t] = 1;
		}
		if (in->opcode == 0x18)
			pc++;
	}
	env->subprog_count = 0;
	for (size_t pc = 0; pc < env->count; pc++) {
		if (is_start[pc]) {
			if (env->subprog_count == MAX_SUBPROGS) {
				free(is_start);
				return reject(env, -E2BIG, "too many subprograms");
			}
			env->subprog_start[env->subprog_count++] = (uint32_t)pc;
		}
		env->subprog_of[pc] = env->subprog_count - 1;
	}
	free(is_start);
	return 0;
}

/* Registers an instruction reads (use) and writes (def). */
static void insn_regs(const struct verifier_env *env, uint32_t pc, uint16_t *use, uint16_t *def)
{
	const bpfvm_insn *in = &env->insns[pc];
	const struct isa_op *op = env->ops[pc];
	uint16_t u = 0, d = 0;
	uint16_t dst = (uint16_t)(1u << in->dst), src = (uint16_t)(1u << in->src);
	switch (op->format) {
	case FMT_ALU_IMM:
		d = dst;
		if ((in->opcode & 0xf0) != 0xb0)
			u = dst;
		break;
	case FMT_ALU_REG:
		d = dst;
		u = src | ((in->opcode & 0xf0) != 0xb0 ? dst : 0);
		break;
	case FMT_NEG:
	case FMT_END:
		u = d = dst;
		break;
	case FMT_LDDW:
		d = dst;
		break;
	case FMT_LDABS:
		u = 1u << 6;
		d = 0x3f;
		break;
	case FMT_LDIND:
		u = (uint16_t)(1u << 6) | src;
		d = 0x3f;
		break;
	case FMT_LDX:
		u = src;
		d = dst;
		break;
	case FMT_ST:
		u = dst;
		break;
	case FMT_STX:
		u = dst | src;
		break;
	case FMT_ATOMIC:
		u = dst | src;
		if (in->imm == 0xf1) {
			u |= 1;
			d = 1;
		} else if ((in->imm & 1) || in->imm == 0xe1) {
			d = src;
		}
		break;
	case FMT_JMP_IMM:
		u = dst;
		break;
	case FMT_JMP_REG:
		u = dst | src;
		break;
	case FMT_CALL: {
		const struct helper_proto *p = helper_proto((uint32_t)in->imm);
		int nargs = 5;
		if (p)
			for (nargs = 0; nargs < 5 && p->args[nargs]; nargs++)
				;
		u = (uint16_t)(((1u << nargs) - 1) << 1);
		d = 0x3f;
		break;
	}
	case FMT_CALL_LOCAL:
		u = 0x3e;
		d = 0x3f;
		break;
	case FMT_CALLX:
		u = dst | 0x3e;
		d = 0x3f;
		break;
	case FMT_EXIT:
		u = 1;
		break;
	default:
		break;
	}
	*use = u & 0x3ff;
	*def = d & 0x3ff;
}

static int compute_liveness(struct verifier_env *env)
{
	bool changed = true;
	memset(env->live, 0, env->count * sizeof env->live[0]);
	while (changed) {
		changed = false;
		for (size_t i = env->count; i-- > 0;) {
			const struct isa_op *op = env->ops[i];
			if (!op)
				continue; /* second half of lddw */
			uint16_t use, def, out = 0;
			insn_regs(env, (uint32_t)i, &use, &def);
			size_t len = op->format == FMT_LDDW ? 2 : 1;
			bool falls = op->format != FMT_EXIT && op->format != FMT_JA && op->format != FMT_JA32;
			if (falls && i + len < env->count)
				out |= env->live[i + len];
			if (op->format == FMT_JA || op->format == FMT_JA32 || op->format == FMT_JMP_IMM ||
			    op->format == FMT_JMP_REG) {
				int64_t t = isa_branch_target(op, &env->insns[i], i);
				if (t >= 0 && (size_t)t < env->count)
					out |= env->live[t];
			}
			if (op->format == FMT_CALL && env->insns[i].imm == BPF_FUNC_tail_call)
				out |= 0; /* a taken tail call ends the program */
			uint16_t in = (uint16_t)(use | (out & (uint16_t)~def));
			if (in != env->live[i]) {
				env->live[i] = in;
				changed = true;
			}
		}
	}
	return 0;
}

static int check_structure(struct verifier_env *env)
{
	/* reachability over jumps, fall-through and calls from every subprogram
	 * reached; every instruction must be reachable */
	uint8_t *seen = calloc(env->count, 1);
	uint32_t *work = malloc(env->count * sizeof *work);
	if (!seen || !work) {
		free(seen);
		free(work);
		return reject(env, -ENOMEM, "out of memory");
	}
	size_t n = 0;
	work[n++] = 0;
	seen[0] = 1;
	int rc = 0;
	while (n) {
		uint32_t pc = work[--n];
		const struct isa_op *op = env->ops[pc];
		uint32_t succ[3];
		int ns = 0;
		size_t len = op->format == FMT_LDDW ? 2 : 1;
		bool falls = op->format != FMT_EXIT && op->format != FMT_JA && op->format != FMT_JA32;
		if (falls && pc + len < env->count)
			succ[ns++] = (uint32_t)(pc + len);
		if (op->format == FMT_JA || op->format == FMT_JA32 || op->format == FMT_JMP_IMM || op->format == FMT_JMP_REG ||
		    op->format == FMT_CALL_LOCAL)
			succ[ns++] = (uint32_t)isa_branch_target(op, &env->insns[pc], pc);
		if (op->format == FMT_LDDW && env->insns[pc].src == PSEUDO_FUNC)
			succ[ns++] = (uint32_t)((int64_t)pc + 1 + env->insns[pc].imm);
		for (int k = 0; k < ns; k++)
			if (!seen[succ[k]]) {
				seen[succ[k]] = 1;
				work[n++] = succ[k];
			}
		if (len == 2)
			seen[pc + 1] = 1;
	}
	for (size_t pc = 0; pc < env->count; pc++)
		if (!seen[pc]) {
			env->err->insn = (int)pc;
			rc = reject(env, -EINVAL, "unreachable insn %zu", pc);
			break;
		}
	free(seen);
	free(work);
	return rc;
}

static void mark_prune_points(struct verifier_env *env)
{
	for (size_t pc = 0; pc < env->count; pc++) {
		const struct isa_op *op = env->ops[pc];
		if (!op)
			continue;
		switch (op->format) {
		case FMT_JA:
		case FMT_JA32:
			env->prune[isa_branch_target(op, &env->insns[pc], pc)] = 1;
			break;
		case FMT_JMP_IMM:
		case FMT_JMP_REG:
			env->prune[isa_branch_target(op, &env->insns[pc], pc)] = 1;
			env->prune[pc + 1] = 1;
			break;
		case FMT_CALL_LOCAL:
			env->prune[pc + 1] = 1;
			env->prune[isa_branch_target(op, &env->insns[pc], pc)] = 1;
			break;
		case FMT_CALL:
			if (pc + 1 < env->count)
				env->prune[pc + 1] = 1;
			/* a helper calling back is a loop head */
			if (env->insns[pc].imm == BPF_FUNC_loop || env->insns[pc].imm == BPF_FUNC_for_each_map_elem)
				env->prune[pc] = 1;
			break;
		default:
			break;
		}
	}
	for (uint32_t s = 0; s < env->subprog_count; s++)
		env->prune[env->subprog_start[s]] = 1;
}

/* The deepest stack of a call chain from subprogram s (callbacks count
 * as calls); memo[s] == UINT32_MAX while s is on the chain. */
static uint32_t chain_depth(struct verifier_env *env, uint32_t s, uint32_t *memo, uint32_t frames, bool *too_deep)
{
	/* the kernel walks the static call graph: a cycle (recursion, even
	 * bounded) or a chain of more than 8 frames is refused */
	if (memo[s] == UINT32_MAX || frames > MAX_FRAMES) {
		*too_deep = true;
		return 0;
	}
	if (memo[s])
		return memo[s];
	memo[s] = UINT32_MAX;
	uint32_t own = (env->subprog_depth[s] + 31) & ~31u;
	if (!own)
		own = 32;
	uint32_t deepest = 0;
	uint32_t end = s + 1 < env->subprog_count ? env->subprog_start[s + 1] : (uint32_t)env->count;
	for (uint32_t pc = env->subprog_start[s]; pc < end; pc++) {
		const bpfvm_insn *in = &env->insns[pc];
		int64_t t = -1;
		if (in->opcode == 0x85 && in->src == PSEUDO_CALL)
			t = (int64_t)pc + 1 + in->imm;
		if (in->opcode == 0x18 && in->src == PSEUDO_FUNC)
			t = (int64_t)pc + 1 + in->imm;
		if (t >= 0) {
			uint32_t d = chain_depth(env, env->subprog_of[t], memo, frames + 1, too_deep);
			if (d > deepest)
				deepest = d;
		}
	}
	memo[s] = own + deepest;
	return memo[s];
}

/* The kernel limits the stack of a whole call chain to 512 bytes. */
static int check_stack_depth(struct verifier_env *env)
{
	uint32_t memo[MAX_SUBPROGS] = { 0 };
	bool too_deep = false;
	uint32_t total = chain_depth(env, 0, memo, 1, &too_deep);
	if (too_deep)
		return reject(env, -E2BIG, "the call stack of %u frames is too deep !", MAX_FRAMES);
	if (total > BPFVM_STACK_SIZE)
		return reject(env, -EACCES, "combined stack size of %u calls is %u. Too large", env->subprog_count, total);
	return 0;
}

/* ---- entry -------------------------------------------------------------- */

static void report(struct verifier_env *env, const struct vstate *st, uint32_t pc)
{
	bpfvm_error *err = env->err;
	char dis[128], where[200] = "", reason[sizeof err->msg];
	snprintf(reason, sizeof reason, "%s", err->msg);
	disasm(env, pc, dis, sizeof dis);
	const char *file = NULL, *text = NULL;
	uint32_t line = 0;
	if (env->opts->line_info && env->opts->line_info(env->opts->line_user, pc, &file, &line, &text) == 0 && file) {
		const char *base = strrchr(file, '/');
		snprintf(where, sizeof where, " (%s:%u)", base ? base + 1 : file, line);
	}
	err->insn = (int)pc;
	snprintf(err->msg, sizeof err->msg, "insn %u: %.50s%.60s: %.120s", pc, dis, where, reason);
	if (!env->opts->log)
		return;
	vlog(env, "%u: (%02x) %s\n", pc, env->insns[pc].opcode, dis);
	vlog(env, "%s\n", reason);
	if (file)
		vlog(env, "; %s%s%s:%u\n", text ? text : "", text ? " @ " : "", file, line);
	if (st) {
		char buf[4096];
		state_format(st, buf, sizeof buf);
		vlog(env, "state: %s\n", buf);
		if (st->path_total) {
			char p[1024];
			size_t n = 0;
			uint32_t first = st->path_total > PATH_LEN ? st->path_total - PATH_LEN : 0;
			n += (size_t)snprintf(p, sizeof p, "%s", first ? "... " : "");
			for (uint32_t i = first; i < st->path_total && n < sizeof p; i++) {
				uint32_t e = st->path[i % PATH_LEN];
				n += (size_t)snprintf(p + n, sizeof p - n, "%s%u %s", i > first ? ", " : "", e >> 1,
				                      e & 1 ? "taken" : "not taken");
			}
			vlog(env, "path: branches at %s\n", p);
		}
	}
}

static void free_env(struct verifier_env *env)
{
	for (struct explored *e = env->all; e;) {
		struct explored *nx = e->all_next;
		state_free(e->st);
		free(e);
		e = nx;
	}
	for (size_t i = 0; i < env->sp; i++)
		state_free(env->stack[i].st);
	free(env->stack);
	free(env->explored);
	free(env->state_count);
	free(env->prune);
	free(env->live);
	free(env->subprog_of);
	free(env->ops);
}

/* The two structural errors the kernel words differently from the
 * loader's validator: a jump out of the program, a write to r10. */
static int kernel_structure_words(const bpfvm_insn *insns, size_t count, bpfvm_error *err)
{
	for (size_t pc = 0; pc < count; pc++) {
		const struct isa_op *op = isa_decode(&insns[pc]);
		if (!op)
			continue; /* the validator explains */
		switch (op->format) {
		case FMT_JA:
		case FMT_JA32:
		case FMT_JMP_IMM:
		case FMT_JMP_REG: {
			int64_t t = isa_branch_target(op, &insns[pc], pc);
			if (t < 0 || (size_t)t >= count)
				return isa_error(err, -EINVAL, (int)pc, "insn %zu: jump out of range from insn %zu to %" PRId64, pc,
				                 pc, t);
			break;
		}
		case FMT_ALU_IMM:
		case FMT_ALU_REG:
		case FMT_NEG:
		case FMT_END:
		case FMT_LDX:
		case FMT_LDDW:
			if (insns[pc].dst == 10)
				return isa_error(err, -EACCES, (int)pc, "insn %zu: frame pointer is read only", pc);
			break;
		default:
			break;
		}
		if (op->format == FMT_LDDW)
			pc++;
	}
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int init_state(struct verifier_env *env, struct vstate *st)
{
	memset(st, 0, sizeof *st);
	st->frames[0] = calloc(1, sizeof *st->frames[0]);
	if (!st->frames[0])
		return reject(env, -ENOMEM, "out of memory");
	struct vframe *f = st->frames[0];
	f->callback_helper = -1;
	mark_ptr(&f->regs[10], REG_STACK);
	if (env->raw) {
		mark_ptr(&f->regs[1], REG_MEM);
		f->regs[1].mem_size = env->opts->mem_size;
		mark_known(&f->regs[2], env->opts->mem_size);
	} else {
		mark_ptr(&f->regs[1], REG_CTX);
	}
	return 0;
}

int bpfvm_verify(const bpfvm_insn *insns, size_t count, const bpfvm_verify_opts *opts, bpfvm_verify_stats *stats,
                 bpfvm_error *err)
{
	bpfvm_error scratch;
	if (!err)
		err = &scratch;
	memset(err, 0, sizeof *err);
	err->insn = -1;
	bpfvm_verify_opts known;
	int opts_rc = opts_known(bpfvm_verify_opts, opts, &known, err);
	if (opts_rc)
		return opts_rc;
	opts = &known;
	if (stats)
		memset(stats, 0, sizeof *stats);
	if (!insns || !count)
		return isa_error(err, -EINVAL, -1, "empty program");
	uint64_t t0 = now_ns();

	struct verifier_env env = { 0 };
	env.insns = insns;
	env.count = count;
	env.opts = opts;
	env.err = err;
	env.log_level = opts->log ? opts->log_level : 0;
	env.prog_type = opts->prog_type;
	env.raw = opts->prog_type == BPFVM_PROG_TYPE_RAW || opts->prog_type == 0;
	env.limit = opts->complexity_limit ? opts->complexity_limit : DEFAULT_COMPLEXITY;
	env.strict_alignment = opts->strict_alignment;
	bpfvm_helpers *own_helpers = NULL;
	bpfvm_verify_opts local = *opts;
	if (!opts->helpers) {
		own_helpers = bpfvm_helpers_new_kernel(err);
		if (!own_helpers)
			return err->code ? err->code : -ENOMEM;
		local.helpers = own_helpers;
		env.opts = &local;
	}
	int rc = 0;
	struct vstate *st = NULL;
	if (!env.raw && !ctx_known_type(env.prog_type)) {
		rc = isa_error(err, -ENOTSUP, -1, "unsupported: program type %u is not known to bpfvm's verifier",
		               env.prog_type);
		goto out;
	}

	/* structure: the same checks as loading, with symbolic lddw sources
	 * (maps, functions) seen as plain constants */
	bpfvm_insn *plain = malloc(count * sizeof *plain);
	if (!plain) {
		rc = isa_error(err, -ENOMEM, -1, "out of memory");
		goto out;
	}
	memcpy(plain, insns, count * sizeof *plain);
	for (size_t pc = 0; pc + 1 < count; pc++)
		if (plain[pc].opcode == 0x18) {
			if (plain[pc].src == PSEUDO_MAP_FD || plain[pc].src == PSEUDO_MAP_VALUE || plain[pc].src == PSEUDO_FUNC)
				plain[pc].src = 0;
			pc++;
		}
	rc = kernel_structure_words(plain, count, err);
	for (size_t pc = 0; !rc && pc < count; pc++)
		if (plain[pc].opcode == 0x85 && plain[pc].src == 0 &&
		    !bpfvm_helpers_find(env.opts->helpers, (uint32_t)plain[pc].imm, NULL))
			rc = isa_error(err, -ENOTSUP, (int)pc, "insn %zu: unsupported: helper #%d is not implemented by bpfvm",
			               pc, plain[pc].imm);
	if (!rc)
		rc = isa_validate(plain, count, 0, env.opts->helpers, err);
	if (rc) {
		free(plain);
		goto out;
	}

	env.ops = calloc(count, sizeof *env.ops);
	env.prune = calloc(count, 1);
	env.live = calloc(count, sizeof *env.live);
	env.subprog_of = calloc(count, sizeof *env.subprog_of);
	env.explored = calloc(count, sizeof *env.explored);
	env.state_count = calloc(count, sizeof *env.state_count);
	if (!env.ops || !env.prune || !env.live || !env.subprog_of || !env.explored || !env.state_count) {
		free(plain);
		rc = isa_error(err, -ENOMEM, -1, "out of memory");
		goto out;
	}
	for (size_t pc = 0; pc < count; pc++) {
		env.ops[pc] = isa_decode(&plain[pc]);
		if (env.ops[pc] && env.ops[pc]->format == FMT_LDDW)
			pc++;
	}
	free(plain);
	if ((rc = find_subprogs(&env)) || (rc = check_structure(&env))) {
		if (err->insn >= 0)
			report(&env, NULL, (uint32_t)err->insn);
		goto out;
	}
	compute_liveness(&env);
	mark_prune_points(&env);

	st = calloc(1, sizeof *st);
	if (!st) {
		rc = isa_error(err, -ENOMEM, -1, "out of memory");
		goto out;
	}
	if ((rc = init_state(&env, st)))
		goto out;
	uint32_t pc = 0;
	bool have_state = true;
	for (;;) {
		if (!have_state) {
			if (!env.sp)
				break;
			struct pending p = env.stack[--env.sp];
			state_free(st);
			st = p.st;
			pc = p.pc;
			env.parent = p.parent;
			have_state = true;
			if (env.log_level >= 1)
				vlog(&env, "from pending to %u\n", pc);
		}
		if (++env.processed > env.limit) {
			rc = reject(&env, -E2BIG, "BPF program is too large. Processed %" PRIu64 " insn", env.processed - 1);
			report(&env, st, pc);
			goto out;
		}
		if (env.prune[pc]) {
			rc = visit(&env, pc, st);
			if (rc < 0) {
				report(&env, st, pc);
				goto out;
			}
			if (rc == 1) {
				if (env.log_level >= 1)
					vlog(&env, "%u: safe\n", pc);
				rc = 0;
				path_done(&env);
				have_state = false;
				continue;
			}
		}
		if (env.log_level >= 1) {
			char dis[128];
			disasm(&env, pc, dis, sizeof dis);
			if (env.log_level >= 2) {
				char buf[4096];
				state_format(st, buf, sizeof buf);
				vlog(&env, "%u: (%02x) %s ; %s\n", pc, insns[pc].opcode, dis, buf);
			} else {
				vlog(&env, "%u: (%02x) %s\n", pc, insns[pc].opcode, dis);
			}
		}
		uint32_t next = pc + 1;
		bool path_end = false;
		if (ISA_CLASS(insns[pc].opcode) == CLS_JMP || ISA_CLASS(insns[pc].opcode) == CLS_JMP32)
			env.jmps++;
		rc = check_insn(&env, st, pc, &next, &path_end);
		if (rc) {
			report(&env, st, pc);
			goto out;
		}
		if (path_end) {
			path_done(&env);
			have_state = false;
			continue;
		}
		pc = next;
	}
	if ((rc = check_stack_depth(&env))) {
		err->insn = -1;
		goto out;
	}
	if (env.log_level >= 1)
		vlog(&env, "processed %" PRIu64 " insns (limit %" PRIu64 ") max_states_per_insn %u total_states %u "
		     "peak_states %u mark_read 0\n", env.processed, env.limit, env.max_states_per_insn, env.total_states,
		     env.peak_states);
out:
	if (rc && env.log_level >= 1 && env.processed)
		vlog(&env, "processed %" PRIu64 " insns (limit %" PRIu64 ") max_states_per_insn %u total_states %u "
		     "peak_states %u mark_read 0\n", env.processed, env.limit, env.max_states_per_insn, env.total_states,
		     env.peak_states);
	if (stats) {
		stats->processed_insns = env.processed;
		stats->total_states = env.total_states;
		stats->peak_states = env.peak_states;
		stats->max_states_per_insn = env.max_states_per_insn;
		stats->nanoseconds = now_ns() - t0;
	}
	state_free(st);
	free_env(&env);
	bpfvm_helpers_free(own_helpers);
	if (rc && !err->code)
		err->code = rc;
	return rc;
}
