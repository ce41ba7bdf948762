/*
 * tracing.c - the tracing program types whose context is plain bytes:
 * kprobe (struct pt_regs), tracepoint (the record) and raw_tracepoint
 * (the u64 arguments).  Read-only contexts for the verifier; a test run's
 * context is ctx_in's bytes.
 *
 * Owns: the tracing descriptors' functions (progtypes.h).
 */
#include <errno.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <stdlib.h>
#include <string.h>

#include "progtypes/progtypes.h"

#define PT_REGS_SIZE 168        /* x86-64 struct pt_regs */
#define TRACE_RECORD_MAX 2048   /* the kernel's PERF_MAX_TRACE_SIZE */
#define RAW_TP_ARGS_SIZE 96     /* 12 u64 arguments */

static bool kprobe_ctx_access(int off, int size, bool write, bool sx, uint8_t *field)
{
	(void)sx; (void)field;
	return off >= 0 && off < PT_REGS_SIZE && !write && off % size == 0 && off + size <= PT_REGS_SIZE;
}

static bool tracepoint_ctx_access(int off, int size, bool write, bool sx, uint8_t *field)
{
	(void)sx; (void)field;
	return off >= 8 && off < TRACE_RECORD_MAX && !write && off % size == 0;
}

static bool raw_tracepoint_ctx_access(int off, int size, bool write, bool sx, uint8_t *field)
{
	(void)sx; (void)field;
	return off >= 0 && off < RAW_TP_ARGS_SIZE && !write && off % size == 0;
}

/* kprobe, tracepoint, raw_tracepoint: the context is ctx_in's bytes. */
static int prepare_ctx_bytes(struct hook_state *h, const bpfvm_test_run *t, size_t exact, bpfvm_error *err)
{
	const char *name = bpfvm_prog_type_name(h->prog_type);
	if (t->data_in && t->data_size_in)
		return error_set(err, -EINVAL, -1, "%s test run takes no data_in, only ctx_in", name);
	if (exact && t->ctx_in && t->ctx_size_in != exact)
		return error_set(err, -EINVAL, -1, "%s test run: ctx_in must be %zu bytes (got %u)", name, exact,
		                 t->ctx_size_in);
	h->ctx_len = exact ? exact : t->ctx_size_in;
	h->ctx = calloc(1, h->ctx_len ? h->ctx_len : 1);
	if (!h->ctx)
		return error_set(err, -ENOMEM, -1, "%s test run: out of memory", name);
	if (t->ctx_in)
		memcpy(h->ctx, t->ctx_in, t->ctx_size_in < h->ctx_len ? t->ctx_size_in : h->ctx_len);
	return 0;
}

static void ctx_bytes_finish(struct hook_state *h, bpfvm_test_run *t)
{
	if (t->ctx_out) {
		uint32_t n = t->ctx_size_out < h->ctx_len ? t->ctx_size_out : (uint32_t)h->ctx_len;
		memcpy(t->ctx_out, h->ctx, n);
	}
	t->ctx_size_out = (uint32_t)h->ctx_len;
	t->data_size_out = 0;
}


static int kprobe_prepare(struct hook_state *h, const bpfvm_test_run *t, bpfvm_error *err)
{
	return prepare_ctx_bytes(h, t, sizeof(struct pt_regs), err);
}

static int tracepoint_prepare(struct hook_state *h, const bpfvm_test_run *t, bpfvm_error *err)
{
	return prepare_ctx_bytes(h, t, 0, err);
}

const struct progtype_desc progtype_kprobe = {
	.type = BPF_PROG_TYPE_KPROBE, .name = "kprobe",
	.ctx_btf_name = "bpf_user_pt_regs_t", .ctx_btf_kernel_name = "pt_regs",
	.ctx_size = PT_REGS_SIZE, .ctx_access = kprobe_ctx_access,
	.prepare = kprobe_prepare, .finish = ctx_bytes_finish,
};
const struct progtype_desc progtype_tracepoint = {
	.type = BPF_PROG_TYPE_TRACEPOINT, .name = "tracepoint",
	.ctx_size = TRACE_RECORD_MAX, .ctx_access = tracepoint_ctx_access,
	.prepare = tracepoint_prepare, .finish = ctx_bytes_finish,
};
const struct progtype_desc progtype_raw_tracepoint = {
	.type = BPF_PROG_TYPE_RAW_TRACEPOINT, .name = "raw_tracepoint",
	.ctx_btf_name = "bpf_raw_tracepoint_args",
	.ctx_size = RAW_TP_ARGS_SIZE, .ctx_access = raw_tracepoint_ctx_access,
	.prepare = tracepoint_prepare, .finish = ctx_bytes_finish,
};
