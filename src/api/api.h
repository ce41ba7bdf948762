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
	bpfvm_run_opts opts;          /* unchecked; user set per run, args when a tail call needs them */
	bpfvm_run_opts tail_opts;     /* after a tail call */
	bpfvm_error err;
	uint64_t stamp;               /* of the program run set up for (run_direct_enter) */
	uint8_t stack[RUN_STACK_BYTES] __attribute__((aligned(16)));
};

void run_direct_init(struct run_direct *d);
/* prog's unchecked compiled code (for jit_code_entry()), or NULL when it
 * was loaded without jit. */
const void *run_direct_state(const bpfvm_program *prog);

/* Runs prog's compiled code (state, entry: from run_direct_state) with
 * r1, r2.  stamp: a number the caller gives only this (prog, state) pair,
 * never 0 and never reused, so that a run of the same pair as the last
 * one skips setting them (an address could be reused by the next
 * program).  Its result is r0 if run_direct_clean(), else give it to
 * run_direct_finish(). */
static inline uint64_t run_direct_enter(struct run_direct *d, uint64_t stamp, const bpfvm_program *prog,
                                        const void *state, jit_entry_fn entry, uint64_t r1, uint64_t r2,
                                        void *user)
{
	struct bpfvm_run *run = &d->run;
	/* status, fault_kind, jit_depth and tail_calls are as a clean run
	 * leaves them; run_direct_finish() resets them after any other */
	if (__builtin_expect(d->stamp != stamp, 0)) {
		d->stamp = stamp;
		run->prog = prog;
		run->engine_state = state;
		run->map_regions = prog->map_regions;
		run->map_region_count = prog->map_region_count;
	}
	run->may_goto_left = RUN_MAX_LOOPS;
	run->inner_count = 0;
	d->opts.user = user;
	return entry(r1, r2, 0, 0, 0, run);
}

/* Whether the run ended by returning.  A verified program that reaches
 * its exit holds no lock and no ring buffer record (the verifier proved
 * it), so nothing else needs checking. */
static inline bool run_direct_clean(const struct run_direct *d)
{
	return (d->run.status | d->run.fault_kind) == 0;
}

/* A run that was not clean (r1, r2: its arguments): follows its tail
 * calls, releases what it left held; 0 with *r0, or the error (in *err if
 * not NULL). */
int run_direct_finish(struct run_direct *d, uint64_t result, uint64_t r1, uint64_t r2, uint64_t *r0,
                      bpfvm_error *err);

#endif
