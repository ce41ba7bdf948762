/*
 * helpers.h - prototypes for an embedder's own helpers, so that the
 * verifier can check calls to them as it checks the kernel's.
 *
 * Owns: the argument and result kinds a prototype may use and
 * bpfvm_helpers_set_proto().  A helper registered with bpfvm_helpers_add()
 * and no prototype still runs (checked mode, `--no-verify`), but the
 * verifier refuses a program that calls it, naming the helper.
 */
#ifndef BPFVM_API_HELPERS_H
#define BPFVM_API_HELPERS_H

#include "bpfvm/api.h"
#include "bpfvm/bpfvm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What an argument must be, in the kernel's terms (enum bpf_arg_type). */
typedef enum bpfvm_arg_type {
	BPFVM_ARG_NONE = 0,           /* no more arguments */
	BPFVM_ARG_ANYTHING,           /* any initialised value */
	BPFVM_ARG_SCALAR,             /* a number, not a pointer */
	BPFVM_ARG_MAP,                /* a map of the program (lddw of a map) */
	BPFVM_ARG_MAP_KEY,            /* readable key_size bytes of the previous BPFVM_ARG_MAP */
	BPFVM_ARG_MAP_VALUE,          /* readable value_size bytes of it */
	BPFVM_ARG_MAP_VALUE_UNINIT,   /* writable value_size bytes of it */
	BPFVM_ARG_MEM,                /* readable memory of the size the next argument gives */
	BPFVM_ARG_MEM_MAYBE_NULL,     /* the same, or NULL with size 0 */
	BPFVM_ARG_MEM_UNINIT,         /* writable memory of the size the next argument gives */
	BPFVM_ARG_SIZE,               /* a size with a known bound, above 0 */
	BPFVM_ARG_SIZE_OR_ZERO,       /* the same, or 0 */
	BPFVM_ARG_CTX,                /* the program's context */
	BPFVM_ARG_CONST_STR,          /* a nul-terminated string in read-only map memory */
	BPFVM_ARG_PUBLIC_COUNT
} bpfvm_arg_type;

typedef enum bpfvm_ret_type {
	BPFVM_RET_INTEGER = 0,        /* a number */
	BPFVM_RET_VOID,               /* nothing: r0 is unreadable after the call */
	BPFVM_RET_MAP_VALUE_OR_NULL,  /* a value of the BPFVM_ARG_MAP argument's map, or NULL */
	BPFVM_RET_PUBLIC_COUNT
} bpfvm_ret_type;

/* Bits of bpfvm_helper_proto.prog_types: 1 << the kernel's enum
 * bpf_prog_type (BPF_PROG_TYPE_XDP is 6, ...). */
#define BPFVM_PROG_TYPE_BIT(type) (1ull << (type))

typedef struct bpfvm_helper_proto {
	size_t sz;                    /* sizeof(bpfvm_helper_proto) */
	bpfvm_ret_type ret;
	bpfvm_arg_type args[5];       /* r1..r5; BPFVM_ARG_NONE after the last */
	/* Which of the kernel's program types may call it; 0: every type.
	 * Raw-memory programs (BPFVM_PROG_TYPE_RAW) may call every helper. */
	uint64_t prog_types;
	bool gpl_only;                /* needs a GPL-compatible license */
	bool pkt_access;              /* memory arguments may point into the packet */
	bool changes_pkt_data;        /* the packet may move: packet pointers die */
} bpfvm_helper_proto;

/* Declares the prototype of helper `id`, already added to `helpers` with
 * bpfvm_helpers_add() (which drops any earlier prototype).  Refused with
 * a message when the prototype is inconsistent (a size argument not after
 * a memory argument, a map key without a map, ...), when id is not in the
 * table, or when the table is in use by a loaded program. */
BPFVM_API int bpfvm_helpers_set_proto(bpfvm_helpers *helpers, uint32_t id, const bpfvm_helper_proto *proto,
                            bpfvm_error *err);

#ifdef __cplusplus
}
#endif
#endif
