/*
 * api.h - what the public API's files share.
 *
 * Owns: program_run_hooked(), the run every entry point ends in, and
 * direct runs: the way hosts that run one verified, compiled program many
 * times on a thread (hooks) enter its code.
 */
#ifndef BPFVM_API_API_H
#define BPFVM_API_API_H

#include "jit/jit.h"
#include "run/run.h"

struct hook_state;
/* Runs prog with a program type's state attached (NULL: none), following
 * tail calls (program.c). */
int program_run_hooked(const bpfvm_program *prog, const bpfvm_run_opts *opts, struct hook_state *hook,
                       uint64_t *r0, bpfvm_error *err);

/* A run set up once per thread and reused for unchecked runs of JIT code:
 * what bpfvm_program_run does on every run (option checks, the engine's
 * choice, the whole run state's set-up, the region tests checked code
 * needs) is done once, and a run stores only the fields a run changes.
 * Not for nesting: a run inside a helper of a run in progress on d takes
 * program_run_hooked(). */
struct run_direct {
	struct bpfvm_run run;
	bpfvm_run_opts opts;          /* unchecked; args and user set per run */
	bpfvm_run_opts tail_opts;     /* after a tail call */
	bpfvm_error err;
	uint8_t stack[RUN_STACK_BYTES] __attribute__((aligned(16)));
};

void run_direct_init(struct run_direct *d);
/* prog's unchecked compiled code (for jit_code_entry()), or NULL when it
 * was loaded without jit. */
const void *run_direct_state(const bpfvm_program *prog);

/* Runs prog's compiled code (state, entry: from run_direct_state) with
 * r1, r2.  Its result is r0 if run_direct_clean(), else give it to
 * run_direct_finish(). */
static inline uint64_t run_direct_enter(struct run_direct *d, const bpfvm_program *prog, const void *state,
                                        jit_entry_fn entry, uint64_t r1, uint64_t r2, void *user)
{
	struct bpfvm_run *run = &d->run;
	run->prog = prog;
	run->engine_state = state;
	run->map_regions = prog->map_regions;
	run->map_region_count = prog->map_region_count;
	run->status = RUN_OK;
	run->fault_kind = FAULT_NONE;
	run->jit_depth = 0;
	run->may_goto_left = RUN_MAX_LOOPS;
	run->tail_calls = 0;
	run->inner_count = 0;
	d->opts.args[0] = r1;
	d->opts.args[1] = r2;
	d->opts.user = user;
	return entry(r1, r2, 0, 0, 0, run);
}

/* Whether the run ended by returning, with nothing left held. */
static inline bool run_direct_clean(const struct run_direct *d)
{
	return (d->run.status | d->run.fault_kind) == 0 && !d->run.held_lock && !d->run.reserved_count;
}

/* A run that was not clean: follows its tail calls, releases what it
 * left held; 0 with *r0, or the error (in *err if not NULL). */
int run_direct_finish(struct run_direct *d, uint64_t result, uint64_t *r0, bpfvm_error *err);

#endif
