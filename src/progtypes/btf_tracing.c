/*
 * btf_tracing.c - the program types whose context is typed by the
 * kernel's BTF: tracing (tp_btf, fentry, fexit, fmod_ret, iter) and lsm.
 * The context is an array of at most 12 u64 arguments (the kernel's
 * MAX_BPF_FUNC_ARGS), read-only; what each argument is (a number or a
 * typed pointer) the verifier takes from the attach target's prototype
 * (src/verifier/btf_ptr.c).
 *
 * A test run takes ctx_in as those u64 arguments, as the kernel's
 * raw_tp test run does.  bpfvm's own addition: with data_in, an
 * argument from BPFVM_TEST_RUN_DATA_ARG to BPFVM_TEST_RUN_DATA_ARG +
 * data_size_in - 1 becomes the address of that byte of a copy of
 * data_in, so that pointer arguments point at a struct the caller lays
 * out (README, "run").
 *
 * Owns: the tracing and lsm descriptors and their test-run builders.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

#include "progtypes/progtypes.h"

#define BTF_ARGS_SIZE 96     /* 12 u64 arguments */

static bool btf_args_ctx_access(int off, int size, bool write, bool sx, uint8_t *field)
{
	(void)sx; (void)field;
	return off >= 0 && off < BTF_ARGS_SIZE && !write && off % size == 0;
}

/* The arguments from ctx_in, tagged ones pointed into the data. */
static int btf_args_prepare(struct hook_state *h, const bpfvm_test_run *t, bpfvm_error *err)
{
	const char *name = bpfvm_prog_type_name(h->prog_type);
	if (t->ctx_size_in > BTF_ARGS_SIZE || t->ctx_size_in % 8)
		return error_set(err, -EINVAL, -1, "%s test run: ctx_in must be at most 12 u64 arguments (got %u bytes)",
		                 name, t->ctx_size_in);
	h->ctx_len = BTF_ARGS_SIZE;
	h->ctx = calloc(1, BTF_ARGS_SIZE);
	h->frame_len = t->data_size_in ? t->data_size_in : 1;
	if (!h->ctx || !frame_map(h))
		return error_set(err, -ENOMEM, -1, "%s test run: out of memory", name);
	if (t->data_size_in)
		memcpy(h->frame, t->data_in, t->data_size_in);
	h->pkt = h->frame;
	h->pkt_len = t->data_size_in;
	uint64_t *args = h->ctx;
	if (t->ctx_in)
		memcpy(args, t->ctx_in, t->ctx_size_in);
	for (uint32_t i = 0; i < t->ctx_size_in / 8; i++) {
		uint64_t off = args[i] - BPFVM_TEST_RUN_DATA_ARG;
		if (args[i] >= BPFVM_TEST_RUN_DATA_ARG && off < t->data_size_in)
			args[i] = (uint64_t)(uintptr_t)(h->frame + off);
	}
	return 0;
}

/* ctx_out gives back the arguments as the program left them (it cannot
 * write them), data_out the data the arguments pointed at. */
static void btf_args_finish(struct hook_state *h, bpfvm_test_run *t)
{
	if (t->data_out) {
		uint32_t n = h->pkt_len < t->data_size_out ? h->pkt_len : t->data_size_out;
		memcpy(t->data_out, h->frame, n);
	}
	t->data_size_out = h->pkt_len;
	t->ctx_size_out = 0;
}

const struct progtype_desc progtype_tracing = {
	.type = BPF_PROG_TYPE_TRACING, .name = "tracing",
	.ctx_size = BTF_ARGS_SIZE, .ctx_access = btf_args_ctx_access,
	.prepare = btf_args_prepare, .finish = btf_args_finish,
	.checked_runs = true,
};
const struct progtype_desc progtype_lsm = {
	.type = BPF_PROG_TYPE_LSM, .name = "lsm",
	.ctx_size = BTF_ARGS_SIZE, .ctx_access = btf_args_ctx_access,
	.prepare = btf_args_prepare, .finish = btf_args_finish,
	.checked_runs = true,
};
