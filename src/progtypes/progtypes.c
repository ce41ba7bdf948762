/*
 * progtypes.c - the program type table, and test runs after the kernel's
 * BPF_PROG_TEST_RUN: building the context from data_in/ctx_in, running,
 * and giving back the packet and context.
 *
 * Owns: the one list of program types (each a struct progtype_desc,
 * progtypes.h), their names as bpftool prints them, the raw-memory type
 * (r1 = data, r2 = length), and bpfvm_program_test_run().
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/opts.h"
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
	NAME_ONLY(BPF_PROG_TYPE_TRACING, "tracing"),
	NAME_ONLY(BPF_PROG_TYPE_LSM, "lsm"),
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


static void release(struct hook_state *h)
{
	if (h->frame) {
		if (h->prog_type == BPFVM_PROG_TYPE_RAW || h->prog_type == 0)
			free(h->frame);
		else
			frame_unmap(h->frame, h->alloc_len);
	}
	free(h->ctx);
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int test_run(const bpfvm_program *prog, bpfvm_test_run *t, bpfvm_error *err);

/* A caller built against other headers than the library's gets its
 * struct read and written back within its own sz. */
int bpfvm_program_test_run(const bpfvm_program *prog, bpfvm_test_run *t, bpfvm_error *err)
{
	if (!prog || !t)
		return error_set(err, -EINVAL, -1, "bpfvm_program_test_run: null argument");
	if (t->sz == sizeof *t)
		return test_run(prog, t, err);
	bpfvm_test_run known;
	int rc = opts_known(bpfvm_test_run, t, &known, err);
	if (rc)
		return rc;
	rc = test_run(prog, &known, err);
	memcpy(t, &known, t->sz < sizeof known ? t->sz : sizeof known);
	return rc;
}

static int test_run(const bpfvm_program *prog, bpfvm_test_run *t, bpfvm_error *err)
{
	if ((t->data_size_in && !t->data_in) || (t->ctx_size_in && !t->ctx_in) ||
	    (t->region_count && !t->regions))
		return error_set(err, -EINVAL, -1, "bpfvm_program_test_run: a size without its buffer");
	struct hook_state h = { .prog_type = prog->prog_type };
	int rc;
	bool raw = prog->prog_type == BPFVM_PROG_TYPE_RAW || prog->prog_type == 0;
	const struct progtype_desc *desc = progtype_desc(prog->prog_type);
	if (!desc || !desc->prepare) {
		const char *name = bpfvm_prog_type_name(prog->prog_type);
		return error_set(err, -ENOTSUP, -1, "test runs of %s programs (type %u) are not supported",
		                 name ? name : "unknown", prog->prog_type);
	}
	rc = desc->prepare(&h, t, err);
	if (rc) {
		release(&h);
		return rc;
	}

	size_t nregions = t->region_count + 2;
	bpfvm_region *regions = calloc(nregions, sizeof *regions);
	if (!regions) {
		release(&h);
		return error_set(err, -ENOMEM, -1, "test run: out of memory");
	}
	size_t k = 0;
	if (h.ctx)
		regions[k++] = (bpfvm_region){ .base = h.ctx, .len = h.ctx_len, .writable = true };
	if (h.frame)
		regions[k++] = (bpfvm_region){ .base = h.frame, .len = h.frame_len, .writable = true };
	for (size_t i = 0; i < t->region_count; i++)
		regions[k++] = t->regions[i];
	bpfvm_run_opts ro = {
		.sz = sizeof ro,
		.mode = t->mode,
		.engine = t->engine,
		.regions = regions,
		.region_count = k,
		.packet = h.pkt,
		.packet_len = h.pkt_len,
		.user = t->user,
	};
	if (raw) {
		ro.args[0] = (uint64_t)(uintptr_t)h.frame;
		ro.args[1] = h.pkt_len;
	} else {
		ro.args[0] = (uint64_t)(uintptr_t)h.ctx;
	}
	uint32_t repeat = t->repeat ? t->repeat : 1;
	uint64_t r0 = 0;
	double start = now_ns();
	for (uint32_t i = 0; i < repeat && rc == 0; i++)
		rc = program_run_hooked(prog, &ro, &h, &r0, err);
	double elapsed = now_ns() - start;
	if (rc == 0) {
		t->retval = r0;
		t->duration_ns = (uint64_t)(elapsed / repeat);
		desc->finish(&h, t);
	}
	free(regions);
	release(&h);
	return rc;
}
