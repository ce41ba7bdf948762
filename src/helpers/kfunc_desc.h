/*
 * kfunc_desc.h - one descriptor per kernel function (kfunc) bpfvm
 * provides, as the kernel keeps a kfunc's BTF prototype and its
 * BTF_ID_FLAGS: what a call with src BPF_PSEUDO_KFUNC_CALL reaches.
 *
 * Owns: struct kfunc_desc (a helper_desc's name, function and prototype,
 * plus the kernel's KF_* flags and the size of the memory a pointer
 * result points to), bpfvm's kfunc IDs, and the lookups by ID and by
 * name.  A program's kfunc call carries bpfvm's ID in imm (the kernel's
 * carries a BTF ID): the object loader binds an extern's name to it
 * (src/api/instance.c), and `call kfunc ID` writes it in assembly.  The
 * engines call call.fn through prog->helper_at as for a helper; the
 * verifier reads the prototype and the flags (src/verifier/kfunc.c,
 * iter.c).
 */
#ifndef BPFVM_HELPERS_KFUNC_DESC_H
#define BPFVM_HELPERS_KFUNC_DESC_H

#include <stdint.h>

#include "helpers/helper_desc.h"

/* The kernel's KF_* flags (include/linux/btf.h) that bpfvm's kfuncs use,
 * with the kernel's values. */
#define KF_RET_NULL     (1u << 2)   /* the result may be NULL and must be checked */
#define KF_SLEEPABLE    (1u << 5)   /* may sleep: only sleepable programs may call it */
#define KF_ITER_NEW     (1u << 8)   /* initialises the iterator its first argument points to */
#define KF_ITER_NEXT    (1u << 9)   /* the iterator's next element, NULL once it is drained */
#define KF_ITER_DESTROY (1u << 10)  /* ends the iterator's life */

/* bpfvm's kfunc IDs (0 is a weak kfunc left unresolved, as libbpf does). */
enum kfunc_id {
	KFUNC_ITER_NUM_NEW = 1,
	KFUNC_ITER_NUM_NEXT,
	KFUNC_ITER_NUM_DESTROY,
	KFUNC_RDONLY_CAST,
	KFUNC_COPY_FROM_USER_STR,
	KFUNC_ID_END
};

struct kfunc_desc {
	struct helper_desc call;      /* proto.id: enum kfunc_id; proto.name: the kernel's name */
	uint32_t flags;               /* KF_* */
	uint32_t ret_size;            /* RET_KFUNC_MEM: bytes the result points to */
	uint32_t iter_size;           /* ARG_ITER: the iterator's bytes on the stack (its struct) */
	const char *iter_type;        /* ARG_ITER: the iterator's kind ("num"), for messages and matching */
};

/* The descriptor of kfunc id, or NULL. */
const struct kfunc_desc *kfunc_desc_by_id(uint32_t id);
/* The descriptor of the kfunc the kernel names `name`, or NULL. */
const struct kfunc_desc *kfunc_desc_by_name(const char *name);

#endif
