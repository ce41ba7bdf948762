/*
 * helper_desc.h - one descriptor per helper, as the kernel's struct
 * bpf_func_proto: everything bpfvm knows about a helper in one place.
 *
 * Owns: struct helper_desc (id, name, function, prototype, GPL-only,
 * which program types may call it, whether it changes packet data or may
 * take packet pointers, how an engine may inline it, the map types its map
 * argument takes, the callback it makes, the lock it takes or releases,
 * whether it is a tail call, whether it may sleep), the argument and result kinds of
 * prototypes, and the lookups by ID.  The kernel's
 * helpers are static descriptors beside their functions (kernel.c,
 * map_helpers.c, callback_helpers.c, trace_helpers.c, xdp_helpers.c,
 * fib_lookup.c); an embedder's helper gets one built from
 * bpfvm_helpers_add() and bpfvm_helpers_set_proto() (registry.c).
 * The verifier, the loader's checks and the engines read only these:
 * none of them names a helper ID.
 */
#ifndef BPFVM_HELPERS_HELPER_DESC_H
#define BPFVM_HELPERS_HELPER_DESC_H

#include <stdbool.h>
#include <stdint.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/helpers.h"
#include "maps/map_internal.h"

/* The argument kinds of a prototype: the public ones (bpfvm/helpers.h),
 * which embedders may use, and the kernel-only ones after them. */
enum arg_kind {
	ARG_NONE = BPFVM_ARG_NONE,
	ARG_ANYTHING = BPFVM_ARG_ANYTHING,
	ARG_SCALAR = BPFVM_ARG_SCALAR,               /* a number, not a pointer */
	ARG_MAP = BPFVM_ARG_MAP,                     /* const map pointer */
	ARG_MAP_KEY = BPFVM_ARG_MAP_KEY,             /* readable key_size bytes */
	ARG_MAP_VALUE = BPFVM_ARG_MAP_VALUE,         /* readable value_size bytes */
	ARG_MAP_VALUE_UNINIT = BPFVM_ARG_MAP_VALUE_UNINIT, /* writable value_size bytes */
	ARG_MEM = BPFVM_ARG_MEM,                     /* readable memory of the size in the next argument */
	ARG_MEM_MAYBE_NULL = BPFVM_ARG_MEM_MAYBE_NULL, /* the same, or NULL with size 0 */
	ARG_MEM_UNINIT = BPFVM_ARG_MEM_UNINIT,       /* writable memory of the size in the next argument */
	ARG_SIZE = BPFVM_ARG_SIZE,                   /* constant-bounded size > 0 */
	ARG_SIZE_OR_ZERO = BPFVM_ARG_SIZE_OR_ZERO,
	ARG_CTX = BPFVM_ARG_CTX,
	ARG_CONST_STR = BPFVM_ARG_CONST_STR,         /* nul-terminated string in a read-only map */
	ARG_FUNC = BPFVM_ARG_PUBLIC_COUNT,           /* callback subprogram */
	ARG_RINGBUF_MEM,     /* a reserved ringbuf record, released by the call */
	ARG_SPIN_LOCK,       /* the bpf_spin_lock in a map value */
	ARG_ALLOC_SIZE,      /* known constant size of what the helper returns */
	ARG_STACK_OR_NULL,   /* callback context: stack pointer or NULL */
	ARG_MEM_MAYBE_NULL_OUT, /* initialised memory (or NULL) the helper overwrites */
	ARG_ITER,            /* kfuncs: an iterator on the stack (struct kfunc_desc's KF_ITER_* say how) */
	ARG_KFUNC_IGNORED,   /* kfuncs: anything, not even read (the kernel's __ign suffix) */
	ARG_KFUNC_BTF_ID,    /* kfuncs: a known constant, a type ID of the kernel's BTF (__k) */
};

enum ret_kind {
	RET_INTEGER = BPFVM_RET_INTEGER,
	RET_VOID = BPFVM_RET_VOID,
	RET_MAP_VALUE_OR_NULL = BPFVM_RET_MAP_VALUE_OR_NULL,
	RET_MEM_OR_NULL = BPFVM_RET_PUBLIC_COUNT,   /* ringbuf reserve: acquired record or NULL */
	RET_KFUNC_MEM,       /* kfuncs: memory of the kfunc's ret_size bytes (or NULL with KF_RET_NULL) */
	/* An integer from -MAX_ERRNO up to the largest size the call's size
	 * argument may hold (the bytes written): the kernel's
	 * do_refine_retval_range for bpf_get_stack and the probe_read_*_str. */
	RET_INTEGER_UPTO_SIZE,
	/* kfuncs: bpf_rdonly_cast's untrusted pointer, of the struct or union
	 * its ARG_KFUNC_BTF_ID argument names */
	RET_KFUNC_UNTRUSTED_BTF_ID,
};

/* A helper's prototype as the verifier checks calls against it. */
struct helper_proto {
	uint32_t id;
	const char *name;
	uint8_t ret;              /* enum ret_kind */
	uint8_t args[5];          /* enum arg_kind, ARG_NONE after the last */
	bool changes_pkt;         /* invalidates packet pointers */
	bool gpl_only;            /* needs a GPL-compatible license */
};

/* How an engine may replace a call when its map argument is a constant
 * map of the program, in an unchecked run (src/jit/inline_lookup.c). */
enum helper_inline {
	INLINE_NONE = 0,
	INLINE_MAP_LOOKUP,        /* the map type's lookup (or its open-coded layout) */
	INLINE_MAP_UPDATE,        /* the map type's update */
	INLINE_MAP_DELETE,        /* the map type's delete */
	INLINE_RINGBUF_OUTPUT,    /* bpfvm_map_ringbuf_output(map, data, size, flags) */
};

/* The callback a helper taking an ARG_FUNC makes, which says what the
 * verifier passes the callback; either returns 0 (go on) or 1 (stop). */
enum helper_callback {
	CALLBACK_NONE = 0,
	CALLBACK_LOOP,            /* callback(index, ctx), as bpf_loop */
	CALLBACK_MAP_ELEM,        /* callback(map, key, value, ctx), as bpf_for_each_map_elem */
};

/* What a helper does to the program's bpf_spin_lock (ARG_SPIN_LOCK). */
enum helper_lock {
	LOCK_NONE = 0,
	LOCK_ACQUIRE,             /* takes it: no other call until it is released */
	LOCK_RELEASE,             /* releases it: the one call allowed while it is held */
};

/* Map types as bits of helper_desc.map_types (the kernel's enum
 * bpf_map_type numbers, all below 64 for the types bpfvm models). */
#define MAP_TYPE_BIT(type) (1ull << (type))
#define MAP_TYPES_ANY (~0ull)     /* any type not restricted to other helpers (map_ops.only_helpers) */

/* Program types as bits of helper_desc.prog_types (the kernel's enum
 * bpf_prog_type numbers, all below 64 for the types bpfvm models). */
#define PROG_BIT(type) (1ull << (type))
#define PROGS_SOCKET_FILTER PROG_BIT(1)
#define PROGS_TC (PROG_BIT(3) | PROG_BIT(4))          /* sched_cls, sched_act */
#define PROGS_XDP PROG_BIT(6)
/* kprobe, tracepoint, raw_tracepoint; tracing and lsm (whose helpers the
 * kernel's tracing_prog_func_proto and bpf_lsm_func_proto build on the same
 * base) */
#define PROGS_TRACING (PROG_BIT(2) | PROG_BIT(5) | PROG_BIT(17) | PROG_BIT(26) | PROG_BIT(29))
#define PROGS_ALL (~0ull)

struct helper_desc {
	struct helper_proto proto;    /* id and name are the prototype's */
	bpfvm_helper_fn fn;
	bool has_proto;               /* false: an embedder's helper declared without one */
	bool pkt_access;              /* may take packet pointers as memory (the kernel's pkt_access) */
	uint64_t prog_types;          /* PROG_BIT()s of the types that may call it */
	uint8_t inline_kind;          /* enum helper_inline */
	/* its ARG_MAP: which kind of map helper it is (enum
	 * map_helper_kind, what a map type restricted to some helpers names)
	 * and the MAP_TYPE_BIT()s of the types it takes; 0: none */
	uint8_t map_kind;
	uint64_t map_types;
	uint8_t callback;             /* enum helper_callback, with an ARG_FUNC */
	uint8_t lock;                 /* enum helper_lock, with an ARG_SPIN_LOCK */
	bool tail_call;               /* may jump to another program: no reference may be held */
	/* the kernel's allow_fastcall, for a helper its x86-64 JIT inlines:
	 * spills and fills of registers around a call to it take no stack
	 * (src/verifier/fastcall.c) */
	bool fastcall;
	/* the kernel's might_sleep: only a sleepable program (BPF_F_SLEEPABLE)
	 * may call it */
	bool might_sleep;
};

/* Adds the kernel's descriptors of one module to a table. */
int helpers_add_descs(bpfvm_helpers *h, const struct helper_desc *descs, size_t count, bpfvm_error *err);
/* The descriptor of helper id in table h, or NULL. */
const struct helper_desc *helpers_desc(const bpfvm_helpers *h, uint32_t id);
/* The kernel's descriptor of helper id (whatever a table holds), or NULL. */
const struct helper_desc *helper_kernel_desc(uint32_t id);
/* 1 if a program of prog_type may call the helper d describes, 0 if not,
 * -1 if bpfvm models no rule for prog_type (raw memory, unknown types:
 * whatever the table holds goes). */
int helper_allowed_for(const struct helper_desc *d, uint32_t prog_type);
/* Whether a program may pass map m to the helper d describes: d takes
 * maps of its type, and m's type is not restricted to other helpers (the
 * kernel's check_map_func_compatibility, from both sides). */
bool helper_takes_map(const struct helper_desc *d, const bpfvm_map *m);
/* Marks h in use by a loaded program: from then on it cannot change. */
void helpers_freeze(const bpfvm_helpers *h);

/* The kernel's helper descriptors of each module. */
extern const struct helper_desc helper_descs_kernel[], helper_descs_maps[], helper_descs_callbacks[],
	helper_descs_trace[], helper_descs_xdp[], helper_descs_fib[];
extern const size_t helper_descs_kernel_count, helper_descs_maps_count, helper_descs_callbacks_count,
	helper_descs_trace_count, helper_descs_xdp_count, helper_descs_fib_count;

#endif
