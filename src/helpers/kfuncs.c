/*
 * kfuncs.c - the kernel functions (kfuncs) bpfvm provides, with the
 * kernel's semantics and results: the open-coded number iterator
 * (kernel/bpf/bpf_iter.c: bpf_iter_num_new/next/destroy),
 * bpf_rdonly_cast (its first argument, which the verifier types) and
 * bpf_copy_from_user_str (sleepable programs only).
 *
 * Owns: the kfunc descriptors (struct kfunc_desc, kfunc_desc.h) and their
 * lookups by bpfvm's ID and by the kernel's name.
 *
 * An iterator lives in an 8-byte stack slot of the program (struct
 * bpf_iter_num), laid out as the kernel's struct bpf_iter_num_kern: the
 * current value, then the end.  In checked mode the slot is checked like
 * any helper argument; the verifier proves it in unchecked mode.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "helpers/helpers.h"
#include "helpers/kfunc_desc.h"

/* The kernel's BPF_MAX_LOOPS: the longest range an iterator may cover
 * (bpf_loop's cap and the may_goto budget are the same number). */
#define MAX_ITER_NUM_RANGE (8 * 1024 * 1024)

struct iter_num {
	int32_t cur;
	int32_t end;
};

_Static_assert(sizeof(struct iter_num) == 8, "struct bpf_iter_num is 8 bytes");

/* The iterator r1 points to; NULL (the run failed) when a checked run
 * finds it outside the program's memory. */
static struct iter_num *iter_num_arg(bpfvm_run *run, const char *kfunc, uint64_t it)
{
	if (it & 7) {
		/* a stack slot in verified programs; a checked one may pass
		 * anything */
		char msg[96];
		snprintf(msg, sizeof msg, "%s: the iterator at 0x%llx is not 8-byte aligned", kfunc,
		         (unsigned long long)it);
		bpfvm_run_fail(run, msg);
		return NULL;
	}
	if (!helper_check(run, kfunc, it, sizeof(struct iter_num), true))
		return NULL;
	return (struct iter_num *)(uintptr_t)it;
}

static uint64_t k_iter_num_new(uint64_t it, uint64_t start_arg, uint64_t end_arg, uint64_t r4, uint64_t r5,
                               bpfvm_run *run)
{
	(void)r4, (void)r5;
	struct iter_num *s = iter_num_arg(run, "bpf_iter_num_new", it);
	if (!s)
		return 0;
	int32_t start = (int32_t)start_arg, end = (int32_t)end_arg;
	/* start == end is an empty range: the first next gives NULL */
	if (start > end) {
		s->cur = s->end = 0;
		return (uint64_t)(int64_t)-EINVAL;
	}
	if ((int64_t)end - start > MAX_ITER_NUM_RANGE) {
		s->cur = s->end = 0;
		return (uint64_t)(int64_t)-E2BIG;
	}
	/* next adds one before giving the value; INT_MIN - 1 wraps as in
	 * the kernel, and next undoes it */
	s->cur = (int32_t)((uint32_t)start - 1);
	s->end = end;
	return 0;
}

static uint64_t k_iter_num_next(uint64_t it, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, bpfvm_run *run)
{
	(void)r2, (void)r3, (void)r4, (void)r5;
	struct iter_num *s = iter_num_arg(run, "bpf_iter_num_next", it);
	if (!s)
		return 0;
	/* the kernel's test, (s64)(s->cur + 1) >= s->end, with its 32-bit
	 * wrap of cur + 1: a failed or finished iterator (0, 0) stays done */
	int32_t next = (int32_t)((uint32_t)s->cur + 1);
	if ((int64_t)next >= s->end) {
		s->cur = s->end = 0;
		return 0;
	}
	s->cur = next;
	return (uint64_t)(uintptr_t)&s->cur;
}

static uint64_t k_iter_num_destroy(uint64_t it, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                                   bpfvm_run *run)
{
	(void)r2, (void)r3, (void)r4, (void)r5;
	struct iter_num *s = iter_num_arg(run, "bpf_iter_num_destroy", it);
	if (s)
		s->cur = s->end = 0;
	return 0;
}

/* The kernel makes the call a move of r1 into r0 (fixup_kfunc_call); the
 * verifier gives r0 the type the constant BTF ID names. */
static uint64_t k_rdonly_cast(uint64_t obj, uint64_t btf_id, uint64_t r3, uint64_t r4, uint64_t r5, bpfvm_run *run)
{
	(void)btf_id, (void)r3, (void)r4, (void)r5, (void)run;
	return obj;
}

/* The kernel's BPF_F_PAD_ZEROS, bpf_copy_from_user_str's only flag. */
#define COPY_STR_PAD_ZEROS 1u

/* The kernel's: at most dst_size - 1 bytes of the string at src and a
 * NUL; the string's length with its NUL, or -EFAULT where src cannot be
 * read before a NUL (the bytes read stay in dst), -EINVAL for an unknown
 * flag.  BPF_F_PAD_ZEROS fills the rest of dst with zeros, all of it on
 * failure. */
static uint64_t k_copy_from_user_str(uint64_t dst, uint64_t dst_size, uint64_t src, uint64_t flags, uint64_t r5,
                                     bpfvm_run *run)
{
	(void)r5;
	uint32_t size = (uint32_t)dst_size;
	if (flags & ~(uint64_t)COPY_STR_PAD_ZEROS)
		return (uint64_t)(int64_t)-EINVAL;
	if (!size)
		return 0;
	if (!helper_check(run, "bpf_copy_from_user_str", dst, size, true))
		return 0;
	char *out = (char *)(uintptr_t)dst;
	long len = helper_read_str_nofault(out, src, size - 1);
	if (len < 0) {
		if (flags & COPY_STR_PAD_ZEROS)
			memset(out, 0, size);
		return (uint64_t)(int64_t)-EFAULT;
	}
	if (flags & COPY_STR_PAD_ZEROS)
		memset(out + len, 0, size - (size_t)len);
	else
		out[len] = 0;
	return (uint64_t)len + 1;
}

#define A(...) { __VA_ARGS__ }
/* Every program type may call them, as the kernel registers the number
 * iterator's kfuncs and bpf_rdonly_cast for BPF_PROG_TYPE_UNSPEC.  FASTCALL:
 * bpf_fastcall, as the kernel's is_fastcall_kfunc_call. */
#define KFUNC(ID, NAME, FN, RET, ARGS, FLAGS, FASTCALL, ...) \
	[ID] = { .call = { .proto = { .id = ID, .name = NAME, .ret = RET, .args = ARGS }, \
	                   .fn = FN, .has_proto = true, .prog_types = PROGS_ALL, .fastcall = FASTCALL }, \
	         .flags = FLAGS, __VA_ARGS__ }

static const struct kfunc_desc kfunc_descs[KFUNC_ID_END] = {
	KFUNC(KFUNC_ITER_NUM_NEW, "bpf_iter_num_new", k_iter_num_new, RET_INTEGER,
	      A(ARG_ITER, ARG_SCALAR, ARG_SCALAR), KF_ITER_NEW, false, .iter_size = 8, .iter_type = "num"),
	KFUNC(KFUNC_ITER_NUM_NEXT, "bpf_iter_num_next", k_iter_num_next, RET_KFUNC_MEM, A(ARG_ITER),
	      KF_ITER_NEXT | KF_RET_NULL, false, .ret_size = sizeof(int32_t), .iter_size = 8, .iter_type = "num"),
	KFUNC(KFUNC_ITER_NUM_DESTROY, "bpf_iter_num_destroy", k_iter_num_destroy, RET_VOID, A(ARG_ITER),
	      KF_ITER_DESTROY, false, .iter_size = 8, .iter_type = "num"),
	KFUNC(KFUNC_RDONLY_CAST, "bpf_rdonly_cast", k_rdonly_cast, RET_KFUNC_UNTRUSTED_BTF_ID,
	      A(ARG_KFUNC_IGNORED, ARG_KFUNC_BTF_ID), 0, true),
	/* (void *dst, u32 dst__sz, const void __user *unsafe_ptr__ign, u64 flags) */
	KFUNC(KFUNC_COPY_FROM_USER_STR, "bpf_copy_from_user_str", k_copy_from_user_str, RET_INTEGER,
	      A(ARG_MEM, ARG_SIZE_OR_ZERO, ARG_KFUNC_IGNORED, ARG_SCALAR), KF_SLEEPABLE, false),
};

const struct kfunc_desc *kfunc_desc_by_id(uint32_t id)
{
	if (id == 0 || id >= KFUNC_ID_END)
		return NULL;
	return &kfunc_descs[id];
}

const struct kfunc_desc *kfunc_desc_by_name(const char *name)
{
	for (uint32_t id = 1; name && id < KFUNC_ID_END; id++)
		if (strcmp(kfunc_descs[id].call.proto.name, name) == 0)
			return &kfunc_descs[id];
	return NULL;
}
