/*
 * verifier.h - what the verifier's files share: the abstract state of a
 * program (registers, stack, call frames, acquired references), helper
 * prototypes, context layouts and the verification environment.
 *
 * Owns: the types and the functions between the walk (verifier.c and
 * the files internal.h names) and states.c (copying, printing and
 * comparing states).  Helper prototypes are the helpers' descriptors'
 * (src/helpers/helper_desc.h); each program type's context rules are
 * its descriptor's (src/progtypes).
 */
#ifndef BPFVM_VERIFIER_INTERNAL_H
#define BPFVM_VERIFIER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "bpfvm/verifier.h"
#include "helpers/helper_desc.h"
#include "isa/isa.h"
#include "progtypes/progtypes.h"
#include "verifier/scalar.h"

/* What a register holds.  Pointers carry a fixed offset (off) plus a
 * variable one (the scalar part, v). */
enum reg_type {
	REG_NOT_INIT = 0,
	REG_SCALAR,
	REG_CTX,          /* the program's context */
	REG_STACK,        /* a call frame's stack (frameno) */
	REG_MAP_PTR,      /* a map itself, for helpers (map) */
	REG_MAP_VALUE,    /* a map value of map's value_size bytes */
	REG_PACKET,       /* packet data; range bytes past off are checked */
	REG_PACKET_META,
	REG_PACKET_END,
	REG_MEM,          /* memory of mem_size bytes (ringbuf record, raw input) */
	REG_FUNC,         /* a callback: subprogram `subprog` */
	REG_BTF_ID,       /* a kernel struct typed by BTF (btf_id in opts->attach_btf): read-only */
	REG_TYPE_COUNT
};

/* 104 bytes, no padding: states kept at prune points are mostly
 * registers (a long walk keeps tens of thousands of states).  The
 * spilled part of an iterator's stack slot is a REG_NOT_INIT register:
 * its fields share room with those of pointers it never has. */
struct vreg {
	uint8_t type;
	bool maybe_null;          /* pointer that may be NULL (until checked) */
	uint8_t frameno;          /* REG_STACK: whose stack */
	bool rdonly;              /* REG_MEM / REG_MAP_VALUE: not writable */
	/* a scalar of a stored state whose range a later check depends on
	 * (precision.c); imprecise ones match any number in pruning */
	bool precise;
	/* the spilled part of an iterator's stack slot (SLOT_ITER): its
	 * kind (a kfunc's iter_type), state (enum iter_state) and how many
	 * next calls gave an element on this path (the kernel's iter.depth,
	 * compared only to tell loops from repeated states); ref_id is the
	 * reference bpf_iter_*_new acquired (src/verifier/iter.c) */
	uint8_t iter_state;
	/* REG_BTF_ID: bpf_rdonly_cast's (the kernel's PTR_UNTRUSTED), which
	 * may point anywhere: bpfvm's engines cannot read through it safely */
	bool untrusted;
	int32_t off;
	uint32_t id;              /* shared by copies: a null check or bound on one holds for all */
	uint32_t ref_id;          /* acquired reference this pointer is (ringbuf record) */
	uint32_t range;           /* REG_PACKET*: bytes from off known inside the packet */
	union {                   /* one field: states compare them as mem_size */
		uint32_t mem_size;        /* REG_MEM */
		uint32_t btf_id;          /* REG_BTF_ID: the struct or union it points to */
	};
	union {
		uint32_t subprog;         /* REG_FUNC */
		uint32_t iter_depth;      /* an iterator's */
	};
	union {
		struct bpfvm_map *map;    /* REG_MAP_PTR, REG_MAP_VALUE */
		const char *iter_type;    /* an iterator's */
	};
	struct scalar v;          /* scalar value, or a pointer's variable offset */
};
_Static_assert(sizeof(struct vreg) == 104, "a register is 104 bytes");

enum iter_state { ITER_INVALID = 0, ITER_ACTIVE, ITER_DRAINED };

/* Each stack byte is one of these; a spilled register fills a whole
 * aligned 8-byte slot (or its low bytes for a narrower spill of a scalar). */
enum { SLOT_INVALID = 0, SLOT_MISC, SLOT_ZERO, SLOT_SPILL, SLOT_ITER /* an open-coded iterator */ };

struct stack_slot {
	uint8_t type[8];
	struct vreg spilled;      /* valid where type[] says SLOT_SPILL or SLOT_ITER */
};

#define MAX_FRAMES 8
#define STACK_SLOTS (BPFVM_STACK_SIZE / 8)

struct vframe {
	struct vreg regs[11];
	uint32_t callsite;        /* instruction that called this frame (frame > 0) */
	uint32_t subprog;
	uint32_t slots;           /* stack slots allocated (deepest touched) */
	/* a callback frame: the helper that called back (bpf_loop, ...) */
	int32_t callback_helper;  /* helper id, or -1 */
	/* callbacks the call this frame is at queued on this path (the
	 * kernel's callback_depth: bpf_loop queues at most its count) */
	uint32_t callbacks_queued;
	/* last, so that copies can stop after the slots in use */
	struct stack_slot stack[STACK_SLOTS]; /* slot i covers fp-8*(i+1) .. fp-8*i-1 */
};

struct vref {
	uint32_t id;
	uint32_t insn;            /* where it was acquired */
};

#define MAX_REFS 16
#define PATH_LEN 24

struct vstate {
	uint32_t curframe;
	struct vframe *frames[MAX_FRAMES];
	uint32_t may_goto_depth;  /* may_goto fall-throughs taken on this path */
	/* callbacks called again on this path (the kernel's
	 * callback_unroll_depth): a callback's iterations, nested bpf_loop
	 * ones too, are not a loop that never ends */
	uint32_t callback_depth;
	uint32_t lock_id;         /* nonzero while a spin lock is held */
	struct bpfvm_map *lock_map;
	/* the last branch decisions on this path, for messages */
	uint32_t path[PATH_LEN];  /* (from << 1 | taken), a ring */
	uint32_t path_total;
	/* nonzero: a packed state (kept or queued), its frames in its own
	 * block of this many 128-byte units (states.c) */
	uint16_t pack_class;
	/* last, so that copies can stop after the references held */
	uint32_t ref_count;
	struct vref refs[MAX_REFS];
};

/* Context access of a program type: its descriptor's rules
 * (src/progtypes), in the verifier's register types. */
struct ctx_access {
	uint8_t type;        /* register type a load yields (REG_SCALAR if plain) */
};

/* Whether a program of prog_type may access its context at [off, off+size)
 * (write or read; sign-extending load if sx).  On success fills *out;
 * otherwise returns false. */
static inline bool ctx_access_ok(uint32_t prog_type, int off, int size, bool write, bool sx, struct ctx_access *out)
{
	static const uint8_t reg_of[] = { [CTX_FIELD_SCALAR] = REG_SCALAR, [CTX_FIELD_PACKET] = REG_PACKET,
	                                  [CTX_FIELD_PACKET_META] = REG_PACKET_META,
	                                  [CTX_FIELD_PACKET_END] = REG_PACKET_END };
	const struct progtype_desc *d = progtype_desc(prog_type);
	uint8_t field = CTX_FIELD_SCALAR;
	if (!d || !d->ctx_access || !d->ctx_access(off, size, write, sx, &field))
		return false;
	out->type = reg_of[field];
	return true;
}
/* The context's size, 0 for a type bpfvm's verifier does not model. */
static inline uint32_t ctx_size(uint32_t prog_type)
{
	const struct progtype_desc *d = progtype_desc(prog_type);
	return d ? d->ctx_size : 0;
}
/* Whether the type's programs may read (direct_read) or write the packet
 * through REG_PACKET pointers. */
static inline bool ctx_packet_access(uint32_t prog_type, bool write)
{
	const struct progtype_desc *d = progtype_desc(prog_type);
	return d && (write ? d->pkt_write : d->pkt_read);
}
/* Whether bpfvm's verifier knows the program type. */
static inline bool ctx_known_type(uint32_t prog_type)
{
	return ctx_size(prog_type) != 0;
}

/* The log: kernel-style register names and state printing (states.c). */
const char *reg_type_name(const struct vreg *r);
int reg_format(const struct vreg *r, char *buf, size_t size);
/* Appends the registers and stack of the current frame of st, as the
 * kernel prints them ("R1=ctx() R10=fp0 fp-8=mmmmmmmm"). */
int state_format(const struct vstate *st, char *buf, size_t size);

/* Copying and freeing states (states.c). */
struct vstate *state_dup(const struct vstate *st);
void state_free(struct vstate *st);
int state_copy(struct vstate *dst, const struct vstate *src);


#endif
