/*
 * progtypes.c - the program type table.
 *
 * Owns: the one list of program types (each a struct progtype_desc,
 * progtypes.h), their names as bpftool prints them, and the raw-memory
 * type (r1 = data, r2 = length; its test run: data in, data out).  The
 * test run itself is the API's (src/api/test_run.c).
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

#include "progtypes/progtypes.h"

static int memory_prepare(struct hook_state *h, const bpfvm_test_run *t, bpfvm_error *err)
{
	h->frame_len = t->data_size_in ? t->data_size_in : 1;
	h->frame = malloc(h->frame_len);
	if (!h->frame)
		return error_set(err, -ENOMEM, -1, "test run: out of memory for %u bytes of data", t->data_size_in);
	if (t->data_size_in)
		memcpy(h->frame, t->data_in, t->data_size_in);
	h->pkt = h->frame;
	h->pkt_len = t->data_size_in;
	return 0;
}

static void memory_finish(struct hook_state *h, bpfvm_test_run *t)
{
	if (t->data_out) {
		uint32_t n = h->pkt_len < t->data_size_out ? h->pkt_len : t->data_size_out;
		memcpy(t->data_out, h->frame, n);
	}
	t->data_size_out = h->pkt_len;
	t->ctx_size_out = 0;
}


/* Raw memory, bpfvm's own type: the input bytes are r1 and r2; no
 * context for the verifier (the caller says how much memory r1 holds). */
static const struct progtype_desc progtype_raw = {
	.type = BPFVM_PROG_TYPE_RAW, .name = "raw", .prepare = memory_prepare, .finish = memory_finish,
};

/* Types bpfvm knows by name only: objects may hold them; the verifier
 * calls them unsupported and they have no test run. */
#define NAME_ONLY(TYPE, NAME) (&(const struct progtype_desc){ .type = TYPE, .name = NAME })

static const struct progtype_desc *const progtypes[] = {
	&progtype_raw,
	&progtype_socket_filter,
	&progtype_kprobe,
	&progtype_sched_cls,
	&progtype_sched_act,
	&progtype_tracepoint,
	&progtype_xdp,
	NAME_ONLY(BPF_PROG_TYPE_PERF_EVENT, "perf_event"),
	NAME_ONLY(BPF_PROG_TYPE_CGROUP_SKB, "cgroup_skb"),
	&progtype_raw_tracepoint,
	&progtype_tracing,
	&progtype_lsm,
	NAME_ONLY(BPF_PROG_TYPE_SYSCALL, "syscall"),
};

const struct progtype_desc *progtype_desc(uint32_t type)
{
	if (type == 0)
		type = BPFVM_PROG_TYPE_RAW;
	for (size_t i = 0; i < sizeof progtypes / sizeof progtypes[0]; i++)
		if (progtypes[i]->type == type)
			return progtypes[i];
	return NULL;
}

const char *bpfvm_prog_type_name(uint32_t type)
{
	const struct progtype_desc *d = type ? progtype_desc(type) : NULL;
	return d ? d->name : NULL;
}
