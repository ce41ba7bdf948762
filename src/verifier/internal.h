/*
 * internal.h - what the verifier's own files share beyond the abstract
 * state (verifier.h): the verification environment, the store of
 * explored states and pending branches, small register helpers, and the
 * functions one file of the walk calls in another.
 *
 * Owns: struct verifier_env, struct explored, struct pending, and the
 * declarations between verifier.c (the walk, messages), mem.c (memory
 * accesses), alu.c (arithmetic and conditional jumps), call.c (helper
 * and subprogram calls), btf_ptr.c (BTF-typed contexts and pointers) and
 * states.c (states, comparison, pruning).  What the walk keeps and drops
 * by the thousand is taken from env->arena (arena.h).
 */
#ifndef BPFVM_VERIFIER_WALK_INTERNAL_H
#define BPFVM_VERIFIER_WALK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "analysis/liveness.h"
#include "verifier/arena.h"
#include "verifier/cfg.h"
#include "verifier/verifier.h"

/* internal to the library: not exported from libbpfvm.so */
#pragma GCC visibility push(hidden)

#define MAX_PACKET_OFF 0xffff
#define MAX_VAR_OFF (1 << 29)

_Static_assert(MAX_FRAMES == CFG_MAX_CALL_FRAMES, "the walk and the call graph agree on the frame limit");

/* One instruction walked on a path, for precision tracking's walk back
 * (precision.c): where it was, in which frame, and which stack slot a
 * load or store at a fixed offset touched.  16 bytes: histories are
 * most of what a long walk keeps (the rare stack slots a jump narrowed
 * are in a table beside them). */
struct hist_entry {
	uint32_t pc;
	uint8_t frame;            /* the current frame when it ran */
	uint8_t flags;            /* HIST_* */
	uint8_t slot_frame;       /* HIST_STACK: whose stack */
	uint8_t slot;             /* HIST_STACK: which 8-byte slot */
	/* a conditional jump: the registers and stack slots of the frame
	 * sharing an id with its operands, which the jump narrowed too (the
	 * slots, under HIST_LINKED_SLOTS: env->linked_slots[linked_slots_at]) */
	uint16_t linked_regs;
	/* precision walks that passed here, just after this entry, in
	 * frame done_frame with registers of that frame only: the union of
	 * their registers (precision.c; 0: none) */
	uint16_t done_regs;
	uint32_t done_frame : 8;
	uint32_t linked_slots_at : 24;
};
_Static_assert(sizeof(struct hist_entry) == 16, "a history entry is 16 bytes");
#define HIST_LINKED_SLOTS_MAX (1u << 24)
#define HIST_STACK 1          /* a fixed-offset stack access within one slot */
#define HIST_STACK_WIDE 2     /* a fixed-offset stack access over two slots */
#define HIST_CALLBACK 4       /* an exit from a callback */
#define HIST_LINKED_OTHER 8   /* the jump narrowed values of other frames too */
#define HIST_LINKED_SLOTS 16  /* and stack slots of its own (linked_slots_at) */

/* What backtrack_insn() does at an instruction to registers of the
 * instruction's frame alone (precision.c; kind: enum walk_step_kind). */
struct walk_step {
	uint8_t kind;
	uint8_t dst, src;
	bool fetch_r0;            /* an atomic writing r0 */
};

/* The instructions of a path since its last checkpoint, oldest first. */
struct hist {
	struct hist_entry *e;
	uint32_t n, cap;
	/* the entries the kernel's jump history would hold (at prune
	 * points, stack accesses): past HIST_FORCE_CHECKPOINT of them the
	 * next prune point keeps a state, as the kernel's does */
	uint32_t marks;
	/* A walk back over every entry at once, for registers of the
	 * entries' frame alone (precision.c): register r at the end comes
	 * from the registers from[r] ^ (1 << r) at the start; registers in
	 * unsure need more (a stack slot, a give-up), and so does every
	 * register once frames is set. */
	uint16_t from[11];
	uint16_t unsure;
	uint8_t frame;            /* the frame of its first entry */
	/* an entry is of another frame, or narrowed values of another */
	bool frames;
};
#define HIST_FORCE_CHECKPOINT 40
#define HIST_POOLS 16
/* arrays of up to this many entries also come in sizes of every
 * multiple of 4 (a kept state's history is copied to one as long as it
 * needs: precision.c) */
#define HIST_FINE_MAX 256

/* What a loop head (the target of a jump backwards) saw, for -v. */
struct loop_stats {
	uint32_t head, back_from;  /* the loop's first instruction and its back-edge */
	uint64_t visits;           /* iterations walked: paths reaching the head */
	uint32_t kept, pruned;     /* states stored there, paths ended there */
};

/* What the kept state holds at the register or stack slot where a
 * comparison against it last failed (struct explored's miss_at), copied
 * beside the record so that the next comparison's quick no reads no
 * more of the state (states.c).  A precision mark added to the state
 * later is not copied: the copy then says "not precise", and the quick
 * test leaves the answer to the full comparison. */
struct miss_copy {
	uint64_t umin, umax;      /* a scalar's (or a spilled scalar's) ranges */
	int64_t smin, smax;
	uint8_t slot_type[8];     /* a stack slot: the types of its bytes */
	/* how the quick test reads the state met (states.c's enum
	 * quick_kind: none, a register whose liveness is known already, one
	 * of an outer frame, a stack slot), found once when copied */
	uint8_t kind;
	uint8_t frame, at;        /* where: a frame, and a register or MISS_SLOT0 + slot */
	uint8_t reg_type;         /* the register's, or the spilled register's */
	bool precise;
	uint8_t curframe;         /* the state's */
	bool slot_spill;          /* a byte of slot_type is SLOT_SPILL */
	/* the state's frames + 1 for a live register of the innermost frame
	 * (the commonest kind) and for a stack slot, the quick test's first
	 * questions; else 0 */
	uint8_t live_frames, slot_frames;
	uint16_t reg_off;         /* the register's bytes from the start of its frame */
};

/* What precision tracking reads and marks in a kept state: per frame,
 * which registers and spilled slots hold numbers and which of those are
 * precise, and what live_regs() reads.  A few dozen bytes where the
 * state takes kilobytes, made when the state is kept and marked with it
 * (its summary), and all that is left of it once it has left the search
 * while a walk back may still pass it (its paths still being walked, or
 * a loop's walk with pruned paths going on: its skeleton).  precision.c
 * makes, reads and marks it. */
struct skel_frame {
	uint16_t scalars, precise;        /* registers holding a number; those precise */
	uint64_t spilled, spilled_precise; /* slots holding a spilled number; those precise */
	uint32_t callsite;
	int32_t callback_helper;
};

struct skel {
	uint32_t curframe;
	struct skel_frame frames[];       /* curframe + 1 */
};

/* A stored state at a prune point.  The fields a comparison at a prune
 * point reads come first, together (most end in a quick no on them). */
struct explored {
	struct explored *next;
	struct vstate *st;
	uint32_t branches;        /* paths from here still being explored */
	uint32_t hits, misses;
	bool cleaned;             /* its dead stack slots were cleared (stack_live.c) */
	/* its state's call sites, hashed: the state is read to compare
	 * them only where the hashes agree (states.c) */
	uint32_t callsites_hash;
	/* its call chain's visit (scc.c): 1 + its index in env->visits, 0
	 * if it is in no loop; found once, when it is kept (its frames'
	 * call sites and pc never change) */
	uint32_t visit;
	/* the walk through a loop it was kept in (beside visit: the scan of
	 * the states kept at an instruction reads both, scc_incomplete(),
	 * in the record's first cache line) */
	struct scc_instance *inst;
	/* where comparing it with a state last failed, checked first next
	 * time (states.c), and what the state holds there */
	struct miss_copy miss_copy;
	/* where it failed the time before, and what it holds there: the
	 * states met at a loop's head often fail at one of two places in
	 * turn */
	struct miss_copy miss2_copy;
	struct explored *all_next; /* every record, for freeing */
	struct explored *parent;  /* the checkpoint before it on its path */
	struct hist hist;         /* the path from the parent checkpoint to here */
	uint32_t pc;
	bool all_precise;         /* every scalar here and before is precise */
	bool dropped;             /* out of the search (rarely helped) */
	/* its paths are done but its history is kept while a loop's walk
	 * with paths pruned at its fixed points goes on (they are walked
	 * back through it when the walk ends) */
	bool hist_kept;
	bool hist_freed;          /* its history is gone: no walk back through it */
	struct explored *kept_next; /* env->kept: the list of those */
	/* out of the search with st gone: what precision tracking needs of
	 * it (NULL while st is kept, and once no walk back needs it) */
	struct skel *skel;
	/* while st is kept: the same of st, made when it is kept and marked
	 * with it (precision.c), so that a walk back reads a few words where
	 * st's registers are a cache line each; it becomes skel */
	struct skel *summary;
};

/* A path pruned at a loop's fixed point (the kernel's bpf_scc_backedge):
 * where it was, its checkpoint and history then, and the state it met,
 * whose precision marks it takes again when the loop's walk ends.  40
 * bytes and the entries of its own: a long walk prunes paths by the ten
 * thousand and keeps each until its loop's walk ends; the history's
 * summary (struct hist) is made again from the entries then (scc.c). */
struct backedge {
	struct backedge *next;
	struct explored *equal;   /* the state that covered it */
	struct explored *parent;  /* its newest checkpoint */
	uint32_t n;               /* entries on its path since that checkpoint */
	uint32_t pc, curframe;
	/* the first `shared` entries are those of the path pruned before it
	 * in the same walk (next), bit for bit: most paths pruned in turn
	 * come from the same branches; the others follow */
	uint32_t shared;
	struct hist_entry entries[];
};

/* One walk through a loop (scc.c): from the first state kept in it to
 * the end of every path from that state. */
struct scc_instance {
	struct scc_instance *next; /* every one, for freeing */
	uint32_t backedges;       /* paths pruned at a fixed point in it */
	struct backedge *pruned;  /* those paths */
	/* their records and histories' entries (scc.c), given back
	 * together when the walk ends */
	struct backedge_chunk *chunks;
	bool done;                /* the walk ended */
};

/* A loop under a call chain (scc.c): the states kept in it share it. */
struct scc_visit {
	uint32_t callsites[MAX_FRAMES]; /* the call sites of frames 0..depth-1 */
	uint32_t depth;           /* the frame whose instruction is in the loop */
	uint32_t scc;             /* the loop (a component of the CFG) */
	struct explored *entry;   /* the first state kept in it; NULL: not in it */
	struct scc_instance *inst; /* the walk through it going on, if any */
};

/* Size classes of packed states (states.c): 128-byte units up to a
 * state of MAX_FRAMES frames with every stack slot. */
#define PACK_CLASSES (((sizeof(struct vstate) + MAX_FRAMES * (sizeof(struct vframe) + 16) + 16) / 128) + 2)

/* The kept states of one instruction in the search whose paths are all
 * walked and whose dead slots are not cleared yet: clean_live_states
 * (states.c) looks at none where there are none, nor where the last look
 * found each held back by its loop's walk having paths pruned at a fixed
 * point, and since then no state was added and no loop's visit ended. */
struct to_clean {
	uint32_t left;
	uint32_t added;           /* ever */
	bool all_held;            /* the last look found each held back */
	uint32_t held_added, held_exits;  /* added and env->scc_exits then */
};

struct pending {
	struct vstate *st;
	struct explored *parent;
	struct hist hist;
	uint32_t pc;
};

/* A global function's argument, typed by its BTF (global_func.c). */
enum global_arg_kind { GARG_SCALAR = 1, GARG_CTX, GARG_MEM };
struct global_arg {
	uint8_t kind;             /* enum global_arg_kind */
	bool maybe_null;          /* GARG_MEM: NULL allowed (not arg:nonnull) */
	uint32_t mem_size;        /* GARG_MEM: the pointed type's size */
};

/* What the verifier knows of one subprogram from the program's BTF. */
struct global_func {
	bool global;              /* its BTF FUNC is BTF_FUNC_GLOBAL */
	bool called;              /* a walk passed a call to it */
	bool verified;            /* its own walk is done */
	bool changes_pkt;         /* it (or what it calls) may change the packet */
	const char *name;
	int proto_rc;             /* 0, or why its prototype cannot be used */
	char proto_msg[160];
	uint32_t nargs;
	struct global_arg args[5];
};

/* A subprogram's bpf_fastcall spills and fills (fastcall.c). */
struct fastcall_sub {
	int16_t off;              /* the lowest slot above the pairs' (0: no pairs) */
	bool removed;             /* pairs around a fastcall helper: their slots need not count */
	bool keep;                /* pairs around another call: every slot counts */
	bool disabled;            /* the pairs' slots accessed otherwise: every slot counts */
};

struct verifier_env {
	const bpfvm_insn *insns;
	size_t count;
	const bpfvm_verify_opts *opts;
	uint32_t prog_type;
	bool raw;                 /* BPFVM_PROG_TYPE_RAW */
	struct cfg cfg;           /* subprograms, prune points, decoding */
	struct liveness liveness;
	struct stack_live *slive; /* stack slots' liveness (stack_live.c) */
	uint32_t subprog_depth[CFG_MAX_SUBPROGS];  /* deepest stack byte used */
	struct explored **explored;
	struct explored *all;
	struct pending *stack;
	size_t sp, cap;
	struct explored *parent;  /* the current path's last checkpoint */
	struct hist hist;         /* the current path since that checkpoint */
	struct hist_entry cur;    /* the instruction being checked */
	uint32_t *scc;            /* per instruction: its loop (scc.c), 0 if none */
	/* per instruction: the registers of its frame a walk back through
	 * it could change, beside a jump's linked ones (0xffff: it may do
	 * more), for the walk's quick pass over the others (precision.c) */
	uint16_t *walk_touch;
	/* per instruction: WALK_* (verifier.c), what step() asks of it at
	 * every visit, found once before the walk */
	uint8_t *walk_flags;
	/* per instruction: what a walk back through it does to its frame's
	 * registers, for the histories' summaries, and whether its history
	 * entries count for the checkpoints' spacing or are left out
	 * (precision.c) */
	struct walk_step *walk_steps;
	struct scc_visit *visits;
	uint32_t visit_count, visit_cap;
	struct scc_instance *instances;
	uint32_t visits_with_backedges;  /* walks going on with backedges */
	struct explored *kept;    /* states done whose histories are kept for them */
	struct loop_stats *loops; /* one per loop head, by head */
	uint32_t loop_count;
	uint32_t *loop_of;        /* per instruction: loop index + 1 if a head */
	/* a copy of the walked state being made into a branch to queue
	 * (state_scratch), and packed states' blocks free for reuse, by
	 * size class (states.c) */
	struct vstate *scratch;
	struct vstate *packed_free[PACK_CLASSES];
	/* histories' arrays free for reuse, by size: 16 << k entries */
	struct hist_entry *hist_pool[HIST_POOLS];
	struct hist_entry *hist_fine_pool[HIST_FINE_MAX / 4];
	/* the stack slots conditional jumps narrowed with their operands
	 * (struct hist_entry's linked_slots_at; entry 0 unused) */
	uint64_t *linked_slots;
	uint32_t linked_slots_count, linked_slots_cap;
	/* histories' arrays too large for the pools, malloc()ed: while
	 * there are none, nothing but the arena is left to free at the end */
	uint32_t hist_large;
	/* the memory of paths pruned at a fixed point (scc.c) whose loop's
	 * walk ended, free for reuse */
	struct backedge_chunk *backedge_chunks_free;
	/* the entries of the last path pruned at a fixed point, whole, and
	 * its walk's; and the arrays the entries of a walk's pruned paths
	 * are made whole in when the walk ends (scc.c) */
	struct hist backedge_last;
	const struct scc_instance *backedge_last_inst;
	struct hist_entry *backedge_whole;
	size_t backedge_whole_cap;
	/* and their histories, newest first, made whole (scc.c) */
	struct hist *backedge_hists;
	size_t backedge_hists_cap;
	/* packed states, records of kept states, histories' arrays,
	 * backedges: given back at once when the verification ends */
	struct arena arena;
	uint64_t precise_walks;   /* backtracking walks, for the log */
	uint64_t precise_marks;   /* numbers marked precise in checkpoints */
	uint64_t processed, prev_processed;
	uint64_t jmps, prev_jmps;        /* jumps walked, for when to keep a state */
	uint64_t limit;
	uint32_t total_states, cur_states, peak_states, max_states_per_insn;
	/* states kept per bucket of the kernel's table of them (its
	 * max_states_per_insn counts a bucket: instruction ^ call site) */
	uint32_t *bucket_states;
	/* the reciprocal of the program's length, for the bucket's modulo
	 * without a division at every prune point (states.c's bucket_of) */
	uint64_t bucket_magic;
	/* per instruction: its kept states left to clean (states.c) */
	struct to_clean *to_clean;
	uint32_t scc_exits;       /* visits of loops ended so far (scc.c) */
	uint32_t next_id;
	uint32_t cur_helper;      /* the helper whose arguments are being checked */
	const struct helper_desc *cur_desc;   /* and its descriptor */
	bool strict_alignment;    /* BPF_F_STRICT_ALIGNMENT */
	bpfvm_error *err;
	int log_level;
	char linebuf[1024];
	/* per subprogram, from the program's BTF func info; NULL without
	 * one (every subprogram static) */
	struct global_func *gfuncs;
	/* per subprogram and per instruction (part of a pair), fastcall.c */
	struct fastcall_sub *fastcall;
	bool *fastcall_pattern;
};

/* ---- messages (verifier.c) ----------------------------------------------- */

/* Appends a line to the verifier log, if there is one. */
void vlog(struct verifier_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records why the program is rejected; the caller adds where. */
int reject(struct verifier_env *env, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- registers ----------------------------------------------------------- */

static inline struct vframe *cur_frame(struct vstate *st)
{
	return st->frames[st->curframe];
}

static inline void mark_unknown(struct vreg *r)
{
	memset(r, 0, sizeof *r);
	r->type = REG_SCALAR;
	scalar_unknown(&r->v);
}

static inline void mark_known(struct vreg *r, uint64_t v)
{
	memset(r, 0, sizeof *r);
	r->type = REG_SCALAR;
	scalar_known(&r->v, v);
}

static inline void mark_not_init(struct vreg *r)
{
	memset(r, 0, sizeof *r);
}

static inline void mark_ptr(struct vreg *r, uint8_t type)
{
	memset(r, 0, sizeof *r);
	r->type = type;
	scalar_known(&r->v, 0);
}

/* What a load of `size` bytes from memory of unknown contents gives:
 * any number of that width, sign-extended for a signed load. */
static inline void mark_loaded(struct vreg *r, int size, bool sx)
{
	mark_unknown(r);
	if (sx)
		scalar_unknown_signed(&r->v, (unsigned)size);
	else
		scalar_unknown_size(&r->v, (unsigned)size);
}

static inline bool is_ptr(const struct vreg *r)
{
	return r->type != REG_SCALAR && r->type != REG_NOT_INIT;
}

static inline bool is_pkt(const struct vreg *r)
{
	return r->type == REG_PACKET || r->type == REG_PACKET_META;
}

static inline bool var_is_zero(const struct vreg *r)
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

/* Whether regno may be read (is initialised) or written (is not r10):
 * 0, or the rejection.  Inline, asked for every operand of every
 * instruction walked; the rejections are reg_read_refused() and
 * reg_write_refused() (verifier.c). */
int reg_read_refused(struct verifier_env *env, struct vstate *st, int regno);
int reg_write_refused(struct verifier_env *env);

static inline int check_reg_read(struct verifier_env *env, struct vstate *st, int regno)
{
	if (regno < 0 || regno > 10 || cur_frame(st)->regs[regno].type == REG_NOT_INIT)
		return reg_read_refused(env, st, regno);
	return 0;
}

static inline int check_reg_write(struct verifier_env *env, int regno)
{
	return regno == 10 ? reg_write_refused(env) : 0;
}

/* ---- memory (mem.c) ------------------------------------------------------ */

enum access { ACC_READ, ACC_WRITE };

/* A load, store or atomic instruction (FMT_LDX, FMT_ST, FMT_STX, FMT_ATOMIC). */
int check_mem_insn(struct verifier_env *env, struct vstate *st, const bpfvm_insn *in, const struct isa_op *op);
/* Checks a load or store of `size` bytes at register regno + off; for
 * loads fills *out with what is read, for stores value is what is
 * written (if known). */
int check_mem(struct verifier_env *env, struct vstate *st, int regno, int off, int size, enum access acc,
              struct vreg *out, bool sx, const struct vreg *value, bool imm_store, bool atomic);
/* Whether [off, off+size) of the stack r points into may be accessed. */
int stack_range(struct verifier_env *env, struct vstate *st, const struct vreg *r, int regno, int off, int size,
                enum access acc, bool uninit_ok, struct vreg *out, bool sx, const struct vreg *value);
/* Stack bytes [lo, hi) of frame frameno become plain data. */
void stack_write_var(struct verifier_env *env, struct vstate *st, uint32_t frameno, int lo, int hi);
/* Whether the program may only read map m (BPF_F_RDONLY_PROG). */
bool map_rdonly_prog(const struct bpfvm_map *m);

/* ---- BTF-typed program types and pointers (btf_ptr.c) -------------------- */

/* Whether the program's context is typed by its attach target's BTF
 * (BPF_PROG_TYPE_TRACING, BPF_PROG_TYPE_LSM). */
bool btf_typed_prog(const struct verifier_env *env);
/* Before the walk: the attach target exists and may be attached to. */
int btf_attach_check(struct verifier_env *env);
/* A load of [off, off+size) of a BTF-typed program's context (its u64
 * arguments): *out a number or a REG_BTF_ID. */
int btf_ctx_load(struct verifier_env *env, int off, int size, struct vreg *out, bool sx);
/* An access through a REG_BTF_ID register r (regno) at r + off. */
int check_btf_ptr_access(struct verifier_env *env, const struct vreg *r, int regno, int off, int size,
                         enum access acc, struct vreg *out, bool sx);
/* At the main program's exit: r0 in the range the attach type allows. */
int btf_check_return(struct verifier_env *env, struct vstate *st);
/* A BTF type's kind as the kernel's btf_type_str() prints it ("STRUCT",
 * "PTR", ...; "UNKNOWN" for NULL). */
struct btf_type;
const char *btf_kind_str(const struct btf_type *t);

/* The kernel's license_is_gpl_compatible() (call.c). */
bool license_is_gpl_compatible(const char *license);

/* ---- arithmetic and jumps (alu.c) ---------------------------------------- */

int check_alu(struct verifier_env *env, struct vstate *st, const bpfvm_insn *in, const struct isa_op *op);
/* Conditional jump at pc: continues on one side (*next), queues the other. */
int check_cond_jmp(struct verifier_env *env, struct vstate *st, uint32_t pc, const bpfvm_insn *in,
                   const struct isa_op *op, uint32_t *next);

/* ---- calls (call.c) ------------------------------------------------------ */

/* A helper call (one calling back queues the callback's walk). */
int check_helper(struct verifier_env *env, struct vstate *st, uint32_t pc, const bpfvm_insn *in);
/* Whether helper id of table `helpers` calls back (its descriptor names a
 * kind of callback): the helper's call is a loop head. */
bool helper_calls_back(const void *helpers, uint32_t id);
/* Whether helper id of table `helpers` is a tail call (may jump to
 * another program). */
bool helper_is_tail_call(const void *helpers, uint32_t id);
/* Packet pointers of every frame become unknown numbers (a helper may
 * have changed the packet). */
void invalidate_pkt(struct vstate *st);
/* Pushes a frame for a call from callsite to target (a callback of
 * helper callback_helper, or -1 for a subprogram call). */
int enter_frame(struct verifier_env *env, struct vstate *st, uint32_t callsite, uint32_t target,
                int32_t callback_helper);

/* Memory a helper (or a global function) reads, or writes when write,
 * through register regno: [r, r + size); uninit_ok: stack bytes never
 * written may be passed; null_ok: a NULL constant may. */
int check_helper_mem(struct verifier_env *env, struct vstate *st, int regno, uint64_t size, bool write,
                     bool uninit_ok, bool null_ok);
/* The size of a memory argument in register regno: a number, not
 * negative, bounded, and above zero unless zero_ok; *max its largest. */
int check_size_arg(struct verifier_env *env, struct vstate *st, int regno, bool zero_ok, uint64_t *max);

/* ---- global functions (global_func.c) ------------------------------------ */

/* Before the walk: which subprograms are global, their arguments' types. */
int global_funcs_init(struct verifier_env *env);
bool is_global_func(const struct verifier_env *env, uint32_t subprog);
/* A call to global function subprog from st: arguments checked, r0 an
 * unknown number, r1-r5 clobbered; the function is to be walked. */
int check_global_call(struct verifier_env *env, struct vstate *st, uint32_t subprog);
/* The state a global function's own walk starts from. */
int global_entry_state(struct verifier_env *env, struct vstate *st, uint32_t subprog);
/* Whether subprog is global, called, and not walked yet. */
bool global_needs_walk(const struct verifier_env *env, uint32_t subprog);
/* Its walk found it safe. */
void global_walked(struct verifier_env *env, uint32_t subprog);

/* ---- bpf_fastcall (fastcall.c) ------------------------------------------- */

/* Before the walk: the spill and fill pairs around calls. */
int fastcall_init(struct verifier_env *env);
/* The instruction being checked touches subprogram subprog's stack down
 * to offset lowest. */
void fastcall_stack_access(struct verifier_env *env, uint32_t subprog, int lowest);
/* After the walk: the stack depths the kernel counts. */
void fastcall_depths(struct verifier_env *env);

/* ---- precision (precision.c) --------------------------------------------- */

/* Appends the instruction just checked (env->cur) to the path's history. */
int hist_push(struct verifier_env *env);
/* The instruction being checked, a conditional jump, narrowed stack
 * slots `slots` of the current frame with its operands. */
int hist_add_linked_slots(struct verifier_env *env, uint64_t slots);
static inline uint64_t hist_linked_slots(const struct verifier_env *env, const struct hist_entry *e)
{
	/* (the flag, not the index: the index shares a word with
	 * done_frame, which a walk back has just written) */
	return e->flags & HIST_LINKED_SLOTS ? env->linked_slots[e->linked_slots_at] : 0;
}
int hist_copy(struct verifier_env *env, struct hist *dst, const struct hist *src, const struct hist_entry *extra);
/* Appends e[0, n) to h's entries as they are (no summary: an array of
 * entries only).  -1: out of memory. */
int hist_append_all(struct verifier_env *env, struct hist *h, const struct hist_entry *e, uint32_t n);
/* Makes h the history of the n entries at e (not h's to free), its
 * summary made from them as hist_push() made it entry by entry (but the
 * count of marks, read only on the current path). */
void hist_summarize(const struct verifier_env *env, struct hist *h, struct hist_entry *e, uint32_t n);
/* Moves src's entries and summary to dst in an array no longer than
 * they need (a state kept takes the path's history: a long walk keeps
 * tens of thousands); src keeps its array, emptied.  -1: out of memory. */
int hist_move_exact(struct verifier_env *env, struct hist *dst, struct hist *src);
/* Gives h's array back to env's pool (precision.c). */
void hist_free(struct verifier_env *env, struct hist *h);
/* A safety check at the current instruction depends on scalar register
 * regno of the current frame: marks the values it came from precise in
 * the checkpoints of the path (the kernel's mark_chain_precision). */
int mark_precise(struct verifier_env *env, struct vstate *st, int regno);
/* The same for the number spilled in stack slot `slot` of frame frameno
 * (the kernel's bt_set_frame_slot + mark_chain_precision_batch). */
int mark_precise_slot(struct verifier_env *env, struct vstate *st, uint32_t frameno, uint32_t slot);
/* The path in st was pruned at pc against old: what old's future relied
 * on (its precise scalars, or every scalar when all_scalars) becomes
 * precise on this path too. */
int propagate_precision(struct verifier_env *env, struct vstate *st, const struct explored *old, uint32_t pc,
                        bool all_scalars);
/* Fills env->walk_touch and env->walk_steps (after the loop heads). */
int walk_touch_compute(struct verifier_env *env);
/* Registers of frame fi of a state at pc whose values matter later. */
uint16_t live_regs(const struct verifier_env *env, uint32_t pc, const struct vstate *st, uint32_t fi);
/* e's summary (struct explored's), made from its state just kept; -1
 * when out of memory. */
int skel_summarize(struct verifier_env *env, struct explored *e);
/* e's state goes (e left the search): its summary stands in for it. */
void skel_make(struct verifier_env *env, struct explored *e);
/* Disassembles instruction pc as the log prints it. */
void insn_text(const struct verifier_env *env, uint32_t pc, char *buf, size_t size);

/* ---- kfunc calls (kfunc.c) ---------------------------------------------- */

/* A kfunc call (src BPF_PSEUDO_KFUNC_CALL). */
int check_kfunc(struct verifier_env *env, struct vstate *st, uint32_t pc, const bpfvm_insn *in);
/* How many arguments kfunc id reads (5 for an unknown one). */
unsigned kfunc_arg_count(uint32_t id);

/* ---- open-coded loops: iterators and may_goto (iter.c) -------------------- */

struct kfunc_desc;
/* The iterator a _next or _destroy call took: its frame and offset. */
struct iter_call {
	uint32_t frameno;
	int64_t off;
};

/* An ARG_ITER argument in register regno of kfunc k (making, checking
 * or destroying the iterator, as k's flags say); fills *ic. */
int iter_check_arg(struct verifier_env *env, struct vstate *st, uint32_t pc, const struct kfunc_desc *k, int regno,
                   struct iter_call *ic);
/* After a _next call: queues the body (an element), goes on drained. */
int iter_next_fork(struct verifier_env *env, struct vstate *st, uint32_t pc, const struct iter_call *ic);
/* may_goto at pc: queues the fall-through, goes on at the target (*next). */
int check_may_goto(struct verifier_env *env, struct vstate *st, uint32_t pc, const bpfvm_insn *in, uint32_t *next);
/* Whether `in` heads a loop the verifier closes by a fixed point: a
 * helper calling back, an iterator's next call, may_goto. */
bool is_loop_head_insn(const void *helpers, const bpfvm_insn *in);
/* Whether pc is an iterator's next call or a may_goto. */
bool is_open_coded_loop_head(const struct verifier_env *env, uint32_t pc);
/* At such a loop head: whether old, covering cur, may prune it (the
 * kernel's extra conditions: an ACTIVE iterator, another may_goto depth). */
bool loop_head_may_prune(const struct verifier_env *env, uint32_t pc, const struct vstate *old,
                         const struct vstate *cur);
/* A loop's walk ended: the paths pruned at its fixed points take again
 * the precision marks of the states they met, walked back through their
 * checkpoints, until no mark is added (the kernel's propagate_backedges). */
int propagate_backedges(struct verifier_env *env, struct scc_instance *inst);

/* Whether iterator slot old covers cur (their spilled parts). */
bool iter_slots_covered(const struct vreg *old, const struct vreg *cur, bool exact);

/* ---- stack slots' liveness (stack_live.c) -------------------------------- */

struct stack_live;
int stack_live_init(struct verifier_env *env);
void stack_live_free(struct verifier_env *env);
/* The walked state changed its call chain (a call, a return, a new path). */
void stack_live_new_chain(struct verifier_env *env);
/* Around each instruction checked that may write stack slots: its
 * whole-slot writes are collected between the two, and kept as what it
 * writes on every path. */
int stack_live_insn_start(struct verifier_env *env, const struct vstate *st, uint32_t pc);
int stack_live_insn_end(struct verifier_env *env);
/* Before any other instruction checked but those on registers alone:
 * the walked state's chain looked up if a call, a return or a new path
 * changed it (the start above does it too). */
int stack_live_chain(struct verifier_env *env, const struct vstate *st);
/* The instruction at pc of st's chain may read slots `mask` of frame frameno. */
int stack_live_read(struct verifier_env *env, const struct vstate *st, uint32_t frameno, uint32_t pc,
                    uint64_t mask);
/* The instruction being checked writes slots `mask` of frame frameno whole. */
void stack_live_write(struct verifier_env *env, uint32_t frameno, uint64_t mask);
/* The slots the stack bytes [lo, hi) (offsets from the frame pointer) touch. */
uint64_t stack_live_range(int64_t lo, int64_t hi);
/* A path ended or a subprogram returns: the flow of st's chains, deepest
 * first, is brought up to date with what was recorded. */
int stack_live_update(struct verifier_env *env, const struct vstate *st);
/* The slots of frame frameno a state st at pc may still read. */
uint64_t stack_live_slots(struct verifier_env *env, const struct vstate *st, uint32_t pc, uint32_t frameno);

/* ---- loops as components of the control flow (scc.c) --------------------- */

/* Numbers the loops of the program into env->scc. */
int scc_compute(struct verifier_env *env);
/* A state was kept: the visit of its loop starts with it if none is on. */
int scc_enter(struct verifier_env *env, struct explored *e);
/* Every path from e is walked: the visit it started ends; the paths
 * pruned at a fixed point in it take the final precision marks of the
 * states they met (propagate_backedges). */
void scc_exit(struct verifier_env *env, struct explored *e);
/* The current path (at pc, frame curframe) was pruned against e at a
 * fixed point of its loop: recorded for scc_exit(). */
int scc_add_backedge(struct verifier_env *env, const struct explored *e, uint32_t pc, uint32_t curframe);
/* Whether the walk going on through e's loop has paths pruned at a fixed
 * point: e's future is not all walked (the kernel's incomplete_read_marks).
 * Inline: asked for most kept states met at a prune point. */
static inline bool scc_walk_has_backedges(const struct verifier_env *env, const struct explored *e)
{
	if (!env->visits_with_backedges || !e->visit)
		return false;
	const struct scc_visit *v = &env->visits[e->visit - 1];
	return v->inst && v->inst->backedges;
}
/* Whether e's precision marks are not final, so that only a state all
 * of whose numbers cover another's may prune it: e was kept in a walk
 * through a loop that had paths pruned at a fixed point, or the walk
 * going on through e's loop has. */
static inline bool scc_incomplete(const struct verifier_env *env, const struct explored *e)
{
	return (e->inst && e->inst->backedges) || scc_walk_has_backedges(env, e);
}
/* Frees what the walks through loops hold outside the arena. */
void scc_free(struct verifier_env *env);

/* ---- explored states and pending branches (states.c) --------------------- */

/* Queues st to be walked from pc later. */
int push_pending(struct verifier_env *env, const struct vstate *st, uint32_t pc);
/* A copy of st to make into a branch (packed: it cannot grow its
 * stack), which push_branch() queues or state_release() frees; NULL when
 * out of memory. */
struct vstate *state_branch(struct verifier_env *env, const struct vstate *st);
/* Queues a copy state_branch() made (taken over, freed on failure). */
int push_branch(struct verifier_env *env, struct vstate *copy, uint32_t pc);
/* A path ended: its checkpoints have one branch fewer in progress. */
void path_done(struct verifier_env *env);
/* At a prune point: 1 if a stored state covers st (prune), 0 to go on
 * (st stored), <0 on error. */
int visit(struct verifier_env *env, uint32_t pc, struct vstate *st);
/* Back at the call of a helper calling back, from the callback at st:
 * the kernel's widening of numbers against the state kept at the call. */
void widen_callback_return(struct verifier_env *env, struct vstate *st, uint32_t callsite);
/* A copy of st in env's one scratch state (no allocation after the
 * first), for a branch the caller queues or takes at once: not freed,
 * overwritten by the next call. */
struct vstate *state_scratch(struct verifier_env *env, const struct vstate *st);
/* Frees st; a packed one (queued, kept) goes to env's free list. */
void state_release(struct verifier_env *env, struct vstate *st);
/* Frees every stored state and every pending branch. */
void free_search_states(struct verifier_env *env);

#pragma GCC visibility pop

#endif
