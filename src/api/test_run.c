/*
 * test_run.c - test runs after the kernel's BPF_PROG_TEST_RUN: the
 * program type's descriptor builds the context from data_in/ctx_in, the
 * program runs `repeat` times, and the descriptor gives back the packet
 * and context.
 *
 * Owns: bpfvm_program_test_run(); its repeated runs of a verified,
 * compiled program go straight into the code (api.h's direct runs).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "base/opts.h"
#include "progtypes/progtypes.h"

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

/* Whether the runs can enter the program's compiled code directly:
 * unchecked, with the JIT's code (a verified program). */
static bool runs_direct(const bpfvm_program *prog, const bpfvm_run_opts *ro)
{
	return ro->mode == BPFVM_UNCHECKED && run_direct_state(prog) &&
	       (ro->engine == BPFVM_ENGINE_DEFAULT || ro->engine == BPFVM_ENGINE_JIT);
}

/* `repeat` runs on one direct run (api.h), set up once: what a run of
 * bpfvm_program_run sets up each time is then not in the time measured. */
static int run_repeated_direct(const bpfvm_program *prog, const bpfvm_run_opts *ro, struct hook_state *h,
                               uint32_t repeat, uint64_t *r0, bpfvm_error *err)
{
	struct run_direct *d = aligned_alloc(64, (sizeof *d + 63) & ~(size_t)63);
	if (!d)
		return error_set(err, -ENOMEM, -1, "test run: out of memory");
	run_direct_init(d);
	d->opts = *ro;
	d->run.hook = h;
	const void *state = run_direct_state(prog);
	jit_entry_fn entry = jit_code_entry(state);
	int rc = 0;
	for (uint32_t i = 0; i < repeat && rc == 0; i++) {
		*r0 = run_direct_enter(d, 1, prog, state, entry, ro->args[0], ro->args[1], ro->user);
		/* run unchecked without being verified (--no-verify
		 * --unchecked), a program may also end holding a lock */
		if (!run_direct_clean(d) || d->run.held_lock || d->run.reserved_count)
			rc = run_direct_finish(d, *r0, ro->args[0], ro->args[1], r0, err);
	}
	free(d);
	return rc;
}

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
		.mode = desc->checked_runs ? BPFVM_CHECKED : t->mode,
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
	if (runs_direct(prog, &ro))
		rc = run_repeated_direct(prog, &ro, &h, repeat, &r0, err);
	else
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
