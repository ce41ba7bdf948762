/*
 * callback.c - callbacks: subprograms a helper calls back
 * (bpf_loop, bpf_for_each_map_elem), as BPF_PSEUDO_FUNC defines them.
 *
 * Owns: running a callback (a value CALLBACK_TAG | first instruction,
 * bound at load by the API) from inside a helper: checking the value, giving it the frame
 * below the helper's caller (a call depth counted as the kernel does),
 * one unit of the checked budget, the run's engine (through its
 * struct engine_ops) and mode, and turning
 * whatever ends it early into the run's status for the helper and the
 * engines below to unwind through.  Nothing jumps over C frames: each
 * engine returns to this function, which returns to the helper.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/run.h"

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Index of fn in prog->callbacks, or -1 if fn is not one of them. */
static long callback_index(const bpfvm_program *prog, uint64_t fn)
{
	if ((fn & ~(uint64_t)UINT32_MAX) != CALLBACK_TAG || prog->callback_count == 0)
		return -1;
	uint32_t pc = (uint32_t)fn;
	const uint32_t *hit = bsearch(&pc, prog->callbacks, prog->callback_count, sizeof pc, cmp_u32);
	return hit ? hit - prog->callbacks : -1;
}

/* Ends the run with an error of the callback machinery; the engine that
 * called the helper names its instruction. */
static int callback_error(struct bpfvm_run *run, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int callback_error(struct bpfvm_run *run, int code, const char *fmt, ...)
{
	bpfvm_error *err = run->err;
	err->code = code;
	err->insn = -1;
	err->line = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	run->status = RUN_ERROR;
	run->error_code = code;
	return code;
}

int run_callback(struct bpfvm_run *run, const char *helper, uint64_t fn, const uint64_t args[5], uint64_t *r0)
{
	*r0 = 0;
	if (run->status != RUN_OK)
		return -1;
	const bpfvm_program *prog = run->prog;
	long index = callback_index(prog, fn);
	if (index < 0)
		return callback_error(run, -EINVAL, "%s: 0x%llx is not a callback of this program", helper,
		                      (unsigned long long)fn);
	/* the callback's frame: the one below its caller's, if there is one */
	uint64_t bottom = (uint64_t)(uintptr_t)run->stack;
	uint64_t caller = run->helper_frame;
	if (caller < bottom + 2 * BPFVM_STACK_SIZE || caller > bottom + RUN_STACK_BYTES)
		return callback_error(run, -E2BIG, "%s: a callback would nest deeper than %u frames", helper,
		                      BPFVM_MAX_CALL_DEPTH);
	uint64_t frame = caller - BPFVM_STACK_SIZE;
	/* like a local call, each callback spends one unit of the budget */
	if (run->opts->mode == BPFVM_CHECKED && --run->jit_budget == 0)
		return callback_error(run, -ELOOP, "%s: gave up after %llu backward jumps and calls (endless loop?)",
		                      helper, (unsigned long long)run->opts->max_back_edges);
	int rc = run->engine->call_callback(prog, run->engine_state, run, (size_t)index, args, frame, r0, run->err);
	/* the helper's caller may call more helpers after this one */
	run->helper_frame = caller;
	if (rc) {
		run->status = RUN_ERROR;
		run->error_code = rc;
		return rc;
	}
	if (run->status == RUN_TAIL_CALL)
		return callback_error(run, -EOPNOTSUPP, "%s: a tail call inside a callback is not supported", helper);
	return run->status != RUN_OK;
}

bool run_lend(struct bpfvm_run *run, const void *base, size_t len)
{
	/* one lend a frame at most, as each precedes a callback one frame
	 * deeper: never full, but a bug must not write past the array */
	if (run->lent_count == BPFVM_MAX_CALL_DEPTH) {
		callback_error(run, -E2BIG, "more than %u lent regions", BPFVM_MAX_CALL_DEPTH);
		return false;
	}
	run->lent[run->lent_count++] = (bpfvm_region){ (void *)base, len, false };
	return true;
}

void run_unlend(struct bpfvm_run *run)
{
	run->lent_count--;
}
