/*
 * program.c - loading programs and running them: the public API's core.
 *
 * Owns: bpfvm_program_load/free (make the dead writes to r10 of a
 * verified program no-ops, check the encoding, the helpers called
 * and, through src/analysis, the control flow; copy, bind callbacks and
 * helper call sites, have each engine prepare each mode), and
 * bpfvm_program_run (set up the stack and run state, pick the engine,
 * follow tail calls), and the direct runs of api.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/maps.h"
#include "bpfvm/object.h"
#include "base/opts.h"
#include "base/thread_block.h"
#include "api/api.h"
#include "helpers/helper_desc.h"
#include "helpers/kfunc_desc.h"
#include "interp/interp.h"
#include "jit/jit.h"
#include "progtypes/progtypes.h"

_Static_assert(THREAD_BLOCK_RUN_STACK_BYTES == RUN_STACK_BYTES, "a thread block holds one run stack");

/* The engines, by enum engine_id. */
static const struct engine_ops *const engines[ENGINE_COUNT] = {
	[ENGINE_INTERP] = &engine_interp,
	[ENGINE_JIT] = &engine_jit,
};

/* At load: copies the subprograms lddw of BPF_PSEUDO_FUNC name (the
 * analysis found them) into p->callbacks, and rewrites those lddw into
 * plain ones of their callback value (CALLBACK_TAG | first instruction),
 * so the engines see ordinary 64-bit immediates. */
static int callbacks_bind(bpfvm_program *p, bpfvm_error *err)
{
	const struct analysis *a = p->analysis;
	if (a->callback_count == 0)
		return 0;
	p->callbacks = malloc(a->callback_count * sizeof *p->callbacks);
	if (!p->callbacks)
		return error_set(err, -ENOMEM, -1, "out of memory loading %zu instructions", p->count);
	memcpy(p->callbacks, a->callbacks, a->callback_count * sizeof *p->callbacks);
	p->callback_count = a->callback_count;
	for (size_t pc = 0; pc + 1 < p->count; pc++) {
		bpfvm_insn *in = &p->insns[pc];
		if (!isa_is_lddw(in))
			continue;
		if (isa_is_func_ref(in)) {
			uint32_t target = (uint32_t)((int64_t)pc + 1 + in->imm);   /* validated */
			uint64_t value = CALLBACK_TAG | target;
			in->src = 0;
			in[0].imm = (int32_t)(uint32_t)value;
			in[1].imm = (int32_t)(uint32_t)(value >> 32);
		}
		pc++;
	}
	return 0;
}

/* A call the loader left for a CO-RE relocation it could not apply
 * (BPFVM_CORE_POISON_HELPER, while the table has no helper of that ID):
 * loading accepts it, reaching it ends the run.  The verifier refuses it
 * where it is reachable. */
static bool is_core_poison(const bpfvm_insn *insn, const bpfvm_helpers *helpers)
{
	return isa_is_helper_call(insn) && (uint32_t)insn->imm == BPFVM_CORE_POISON_HELPER &&
	       !bpfvm_helpers_find(helpers, BPFVM_CORE_POISON_HELPER, NULL);
}

static uint64_t core_poison_reached(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                                    bpfvm_run *run)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5;
	bpfvm_run_fail(run, "reached an instruction poisoned by a CO-RE relocation that could not be "
	               "applied (call 0xbad2310; `-v` lists the relocations)");
	return 0;
}

static const struct helper_desc core_poison_desc = {
	.proto = { .id = BPFVM_CORE_POISON_HELPER, .name = "core_poison" },
	.fn = core_poison_reached,
};

/* A kfunc call with ID 0: a weak kfunc bpfvm does not provide, left
 * unresolved as libbpf leaves it.  Loading accepts it; the verifier
 * refuses it where it is reachable, and reaching it ends the run. */
static uint64_t missing_kfunc_reached(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                                      bpfvm_run *run)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5;
	bpfvm_run_fail(run, "reached a call of a weak kfunc that bpfvm does not provide (kfunc ID 0)");
	return 0;
}

static const struct helper_desc missing_kfunc_desc = {
	.proto = { .id = 0, .name = "missing_kfunc" },
	.fn = missing_kfunc_reached,
};

/* The descriptor a call instruction reaches: its helper's, or its kfunc's. */
static const struct helper_desc *call_desc(const bpfvm_program *p, const bpfvm_insn *insn)
{
	if (isa_is_kfunc_call(insn)) {
		const struct kfunc_desc *k = kfunc_desc_by_id((uint32_t)insn->imm);
		return insn->imm == 0 ? &missing_kfunc_desc : k ? &k->call : NULL;
	}
	if (is_core_poison(insn, p->helpers))
		return &core_poison_desc;
	return helpers_desc(p->helpers, (uint32_t)insn->imm);
}

/* Every kfunc a program calls is one bpfvm provides (or ID 0, a weak
 * one left unresolved), and a sleepable one is called only by a
 * sleepable program. */
static int check_kfuncs_allowed(const bpfvm_insn *insns, size_t count, const bpfvm_load_opts *opts, bpfvm_error *err)
{
	for (size_t pc = 0; pc < count; pc++) {
		if (isa_is_lddw(&insns[pc])) {
			pc++;
			continue;
		}
		if (!isa_is_kfunc_call(&insns[pc]) || insns[pc].imm == 0)
			continue;
		const struct kfunc_desc *k = kfunc_desc_by_id((uint32_t)insns[pc].imm);
		if (!k)
			return error_set(err, -EINVAL, (int)pc, "call to unknown kfunc %u", (uint32_t)insns[pc].imm);
		if ((k->flags & KF_SLEEPABLE) && !opts->sleepable)
			return error_set(err, -EINVAL, (int)pc, "a program that is not sleepable (bpfvm_load_opts.sleepable) "
			                 "may not call %s: it might sleep", k->call.proto.name);
	}
	return 0;
}

/* Gives each helper and kfunc call its descriptor (prog->helper_at), and
 * freezes the table: the program now points into it. */
static int bind_helpers(bpfvm_program *p, bpfvm_error *err)
{
	p->helper_at = calloc(p->count ? p->count : 1, sizeof *p->helper_at);
	if (!p->helper_at)
		return error_set(err, -ENOMEM, -1, "out of memory loading %zu instructions", p->count);
	for (size_t pc = 0; pc < p->count; pc++) {
		const struct isa_op *op = isa_decode(&p->insns[pc]);
		if (op && op->format == FMT_CALL)
			p->helper_at[pc] = call_desc(p, &p->insns[pc]);
		else if (op && op->format == FMT_LDDW)
			pc++;
	}
	helpers_freeze(p->helpers);
	return 0;
}

/* References the program's maps and notes their storage for checked runs. */
static int take_maps(bpfvm_program *p, const bpfvm_load_opts *opts, bpfvm_error *err)
{
	if (!opts->maps)
		return error_set(err, -EINVAL, -1, "bpfvm_program_load: map_count without maps");
	p->maps = calloc(opts->map_count, sizeof *p->maps);
	p->map_regions = calloc(opts->map_count, sizeof *p->map_regions);
	if (!p->maps || !p->map_regions)
		return error_set(err, -ENOMEM, -1, "out of memory");
	for (size_t i = 0; i < opts->map_count; i++) {
		if (!opts->maps[i])
			return error_set(err, -EINVAL, -1, "bpfvm_program_load: map %zu is NULL", i);
		p->maps[p->map_count++] = bpfvm_map_get(opts->maps[i]);
		struct run_map_region *r = &p->map_regions[p->map_region_count];
		run_map_region_make(r, opts->maps[i]);
		if (r->len)
			p->map_region_count++;
	}
	return 0;
}

/* Every helper a program calls exists in its table. */
static int check_helpers_exist(const bpfvm_insn *insns, size_t count, const bpfvm_helpers *helpers,
                               bpfvm_error *err)
{
	for (size_t pc = 0; pc < count; pc++) {
		if (isa_is_lddw(&insns[pc]))
			pc++;
		else if (isa_is_helper_call(&insns[pc]) && !is_core_poison(&insns[pc], helpers) &&
		         !bpfvm_helpers_find(helpers, (uint32_t)insns[pc].imm, NULL))
			return error_set(err, -EINVAL, (int)pc, "call to unknown helper %u", (uint32_t)insns[pc].imm);
	}
	return 0;
}

/* The helpers the program type allows, as in the kernel. */
static int check_helpers_allowed(const bpfvm_insn *insns, size_t count, const bpfvm_load_opts *opts,
                                 bpfvm_error *err)
{
	for (size_t pc = 0; pc < count; pc++) {
		if (isa_is_lddw(&insns[pc])) {
			pc++;
			continue;
		}
		if (!isa_is_helper_call(&insns[pc]) || is_core_poison(&insns[pc], opts->helpers))
			continue;
		uint32_t id = (uint32_t)insns[pc].imm;
		if (helper_allowed_for(helpers_desc(opts->helpers, id), opts->prog_type) == 0) {
			const char *name = NULL;
			bpfvm_helpers_find(opts->helpers, id, &name);
			const char *type = bpfvm_prog_type_name(opts->prog_type);
			return error_set(err, -EINVAL, (int)pc, "a %s program may not call %s (helper %u)",
			                 type ? type : "?", name ? name : "this helper", id);
		}
		const struct helper_desc *d = helpers_desc(opts->helpers, id);
		if (d && d->might_sleep && !opts->sleepable) {
			const char *type = bpfvm_prog_type_name(opts->prog_type);
			return error_set(err, -EINVAL, (int)pc, "a %s program may not call %s (helper %u): it might sleep, "
			                 "and the program is not sleepable (bpfvm_load_opts.sleepable)",
			                 type ? type : "raw", d->proto.name, id);
		}
	}
	return 0;
}

/* A write to r10 that no path of the verified program reaches is dead
 * code, which the kernel removes once it has verified a program
 * (opt_remove_dead_code).  bpfvm keeps the instructions where they are
 * and makes such a write (both slots of an lddw) a jump to the next
 * instruction, which the encoding checks accept. */
static void clear_dead_fp_writes(bpfvm_insn *insns, size_t count, const uint8_t *walked)
{
	for (size_t pc = 0; pc < count; pc++) {
		const struct isa_op *op = isa_decode(&insns[pc]);
		size_t width = op && op->format == FMT_LDDW ? 2 : 1;
		if (op && !walked[pc] && isa_writes_fp(op, &insns[pc]))
			for (size_t k = 0; k < width && pc + k < count; k++)
				insns[pc + k] = (bpfvm_insn){ .opcode = isa_ops[ISA_JA].opcode };
		pc += width - 1;
	}
}

static int load_insns(const bpfvm_insn *insns, size_t count, const bpfvm_load_opts *opts, bpfvm_program **out,
                      bpfvm_error *err);

int bpfvm_program_load(const bpfvm_insn *insns, size_t count, const bpfvm_load_opts *opts,
                       bpfvm_program **out, bpfvm_error *err)
{
	bpfvm_load_opts known;
	int rc = opts_known(bpfvm_load_opts, opts, &known, err);
	if (rc)
		return rc;
	opts = &known;
	if (!out || (!insns && count))
		return error_set(err, -EINVAL, -1, "bpfvm_program_load: null argument");
	*out = NULL;
	if (!opts->walked || !count)
		return load_insns(insns, count, opts, out, err);
	bpfvm_insn *cleared = malloc(count * sizeof *cleared);
	if (!cleared)
		return error_set(err, -ENOMEM, -1, "out of memory loading %zu instructions", count);
	memcpy(cleared, insns, count * sizeof *cleared);
	clear_dead_fp_writes(cleared, count, opts->walked);
	rc = load_insns(cleared, count, opts, out, err);
	free(cleared);
	return rc;
}

/* bpfvm_program_load() of insns as they are, opts known. */
static int load_insns(const bpfvm_insn *insns, size_t count, const bpfvm_load_opts *opts, bpfvm_program **out,
                      bpfvm_error *err)
{
	int rc = isa_check_encoding(insns, count, opts->max_insns, ISA_RULES_ALL, err);
	if (!rc)
		rc = check_helpers_exist(insns, count, opts->helpers, err);
	if (!rc)
		rc = check_kfuncs_allowed(insns, count, opts, err);
	struct analysis *analysis = NULL;
	if (!rc)
		rc = analysis_build(insns, count, &analysis, err);
	if (!rc)
		rc = check_helpers_allowed(insns, count, opts, err);
	if (rc) {
		analysis_free(analysis);
		return rc;
	}
	bpfvm_program *p = calloc(1, sizeof *p);
	if (!p) {
		analysis_free(analysis);
		return error_set(err, -ENOMEM, -1, "out of memory");
	}
	p->analysis = analysis;
	p->count = count;
	p->helpers = opts->helpers;
	p->insns = malloc(count * sizeof *insns);
	if (!p->insns) {
		analysis_free(analysis);
		free(p);
		return error_set(err, -ENOMEM, -1, "out of memory loading %zu instructions", count);
	}
	memcpy(p->insns, insns, count * sizeof *insns);
	rc = callbacks_bind(p, err);
	if (!rc)
		rc = bind_helpers(p, err);
	if (!rc && opts->map_count)
		rc = take_maps(p, opts, err);
	p->jit_harden = opts->jit_harden;
	p->prog_type = opts->prog_type;
	p->sleepable = opts->sleepable;
	const char *env = getenv("BPFVM_PERF_MAP");
	if (opts->jit && (opts->perf_map || (env && !strcmp(env, "1"))))
		snprintf(p->perf_name, sizeof p->perf_name, "%s", opts->name ? opts->name : "prog");
	/* every program can be interpreted; the JIT compiles when asked */
	for (int m = 0; !rc && m < 2; m++)
		rc = engine_interp.prepare(p, (bpfvm_mode)m, &p->engine_state[ENGINE_INTERP][m], err);
	for (int m = 0; !rc && opts->jit && m < 2; m++)
		rc = engine_jit.prepare(p, (bpfvm_mode)m, &p->engine_state[ENGINE_JIT][m], err);
	if (rc) {
		bpfvm_program_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void bpfvm_program_free(bpfvm_program *p)
{
	if (!p)
		return;
	free(p->insns);
	free(p->helper_at);
	for (int e = 0; e < ENGINE_COUNT; e++)
		for (int m = 0; m < 2; m++)
			if (p->engine_state[e][m])
				engines[e]->free_state(p->engine_state[e][m]);
	for (size_t i = 0; i < p->map_count; i++)
		bpfvm_map_put(p->maps[i]);
	free(p->maps);
	free(p->map_regions);
	free(p->callbacks);
	analysis_free(p->analysis);
	free(p);
}

size_t bpfvm_program_insn_count(const bpfvm_program *p)
{
	return p->count;
}

int bpfvm_program_jited(const bpfvm_program *p, int mode, const void **code, size_t *len)
{
	if (mode != BPFVM_CHECKED && mode != BPFVM_UNCHECKED)
		return -EINVAL;
	if (!p->engine_state[ENGINE_JIT][mode])
		return -ENOENT;
	*code = jit_code_bytes(p->engine_state[ENGINE_JIT][mode], len);
	return 0;
}

const bpfvm_insn *bpfvm_program_insns(const bpfvm_program *p)
{
	return p->insns;
}

/* bpfvm_program_run for NULL options, or a caller built against other
 * headers: runs with a full-size copy.  Apart, so that the hot path stays
 * a plain tail call. */
static __attribute__((noinline)) int run_with_known_opts(const bpfvm_program *prog, const bpfvm_run_opts *opts,
                                                         uint64_t *r0, bpfvm_error *err)
{
	bpfvm_run_opts known;
	int rc = opts_known(bpfvm_run_opts, opts, &known, err);
	if (rc)
		return rc;
	return program_run_hooked(prog, opts ? &known : NULL, NULL, r0, err);
}

int bpfvm_program_run(const bpfvm_program *prog, const bpfvm_run_opts *opts, uint64_t *r0,
                      bpfvm_error *err)
{
	/* The hot path: a caller built with these headers; one compare. */
	if (__builtin_expect(opts && opts->sz == sizeof *opts, 1))
		return program_run_hooked(prog, opts, NULL, r0, err);
	return run_with_known_opts(prog, opts, r0, err);
}

uint32_t bpfvm_program_type(const bpfvm_program *prog)
{
	return prog->prog_type;
}

/* One program's run in the chosen engine, on a fresh stack. */
static int run_engine(const bpfvm_program *prog, struct bpfvm_run *run, uint64_t *r0, bpfvm_error *err)
{
	const bpfvm_run_opts *opts = run->opts;
	int engine = ENGINE_INTERP;
	switch (opts->engine) {
	case BPFVM_ENGINE_DEFAULT:   /* the JIT if the program has it */
		if (prog->engine_state[ENGINE_JIT][opts->mode])
			engine = ENGINE_JIT;
		break;
	case BPFVM_ENGINE_INTERP:
		break;
	case BPFVM_ENGINE_JIT:
		if (!prog->engine_state[ENGINE_JIT][opts->mode])
			return error_set(err, -EINVAL, -1, "bpfvm_program_run: the program was loaded without jit");
		engine = ENGINE_JIT;
		break;
	default:
		return error_set(err, -EINVAL, -1, "bpfvm_program_run: unknown engine %d", (int)opts->engine);
	}
	run->prog = prog;
	run->map_regions = prog->map_regions;
	run->map_region_count = prog->map_region_count;
	run->engine = engines[engine];
	run->engine_state = prog->engine_state[engine][opts->mode];
	run->jit_budget = opts->max_back_edges ? opts->max_back_edges : UINT64_MAX;
	return run->engine->run(prog, run->engine_state, run, r0, err);
}

/* The fields of a run that every run starts from. */
static void run_state_init(struct bpfvm_run *run, const bpfvm_program *prog, const bpfvm_run_opts *opts,
                           uint8_t *stack, struct hook_state *hook, bpfvm_error *err)
{
	run->prog = prog;
	run->opts = opts;
	run->stack = stack;
	run->status = RUN_OK;
	run->stop_value = 0;
	run->jit_saved_rsp = 0;
	run->jit_budget = 0;
	run->jit_depth = 0;
	run->may_goto_left = RUN_MAX_LOOPS;
	run->fault_insn = -1;
	run->fault_kind = FAULT_NONE;
	run->fault_size = 0;
	run->fault_addr = 0;
	run->fault_write = false;
	run->hook = hook;
	run->tail_target = NULL;
	run->tail_ctx = 0;
	run->tail_calls = 0;
	run->inner_count = 0;
	run->fail_msg[0] = 0;
	run->err = err;
	run->error_code = 0;
	run->helper_frame = 0;
	run->engine = NULL;
	run->engine_state = NULL;
	run->lent_count = 0;
	run->jit_cb_entry = 0;
	run->jit_cb_frame = 0;
	run->held_lock = NULL;
	run->reserved_count = 0;
}

/* After a tail call: the target starts afresh with r1 = the context
 * (tail_opts, which lives as long as the run, holds its options). */
static const bpfvm_program *tail_call_next(struct bpfvm_run *run, bpfvm_run_opts *tail_opts)
{
	*tail_opts = *run->opts;
	tail_opts->args[0] = run->tail_ctx;
	run->opts = tail_opts;
	run->status = RUN_OK;
	run->jit_depth = 0;
	run->may_goto_left = RUN_MAX_LOOPS;
	run->fault_kind = FAULT_NONE;
	return run->tail_target;
}

/* Runs prog, then each program it tail-calls. */
static int run_follow(const bpfvm_program *prog, struct bpfvm_run *run, bpfvm_run_opts *tail_opts, uint64_t *r0,
                      bpfvm_error *err)
{
	for (;;) {
		int rc = run_engine(prog, run, r0, err);
		if (rc || run->status != RUN_TAIL_CALL)
			return rc;
		prog = tail_call_next(run, tail_opts);
	}
}

int program_run_hooked(const bpfvm_program *prog, const bpfvm_run_opts *opts, struct hook_state *hook,
                       uint64_t *r0, bpfvm_error *err)
{
	static const bpfvm_run_opts no_opts;
	if (!prog || !r0)
		return error_set(err, -EINVAL, -1, "bpfvm_program_run: null argument");
	if (!opts)
		opts = &no_opts;
	/* callbacks' engines report through run.err: make it always there */
	bpfvm_error no_err;
	if (!err)
		err = &no_err;
	if (opts->region_count && !opts->regions)
		return error_set(err, -EINVAL, -1, "bpfvm_program_run: region_count without regions");
	if (opts->mode != BPFVM_CHECKED && opts->mode != BPFVM_UNCHECKED)
		return error_set(err, -EINVAL, -1, "bpfvm_program_run: unknown mode %d", (int)opts->mode);
	/* The frames: 4 KiB, 16-byte aligned like the kernel's.  Each thread
	 * keeps one such stack, so a program never sees host data; a run
	 * nested inside a helper gets a fresh one of its own.  Checked runs
	 * (unverified programs) start from zeroes, so nothing one program left
	 * there reaches the next.  Unchecked runs are of verified programs and
	 * skip the 4 KiB memset: as the kernel's verifier does for a
	 * privileged loader, bpfvm's lets them read stack never written, which
	 * then holds what an earlier run on this thread left (bytes of eBPF
	 * programs only, never host data; the kernel leaks its own stack the
	 * same way).  The unchecked JIT may keep a slot in a register instead
	 * (translate.c, find_register_slots): such a slot reads 0 until
	 * written.  The thread's stack is in its block (base/thread_block.h);
	 * a thread without one (out of memory) runs on a fresh one. */
	struct thread_block *block = thread_block_self();
	bool owner = block && !block->run_stack_busy;
	uint8_t nested_stack[owner ? 1 : RUN_STACK_BYTES] __attribute__((aligned(16)));
	uint8_t *stack = owner ? block->run_stack : nested_stack;
	if (owner) {
		block->run_stack_busy = true;
		if (opts->mode == BPFVM_CHECKED)
			memset(stack, 0, RUN_STACK_BYTES);
	} else {
		memset(nested_stack, 0, sizeof nested_stack);
		stack = nested_stack;
	}
	struct bpfvm_run run;
	run_state_init(&run, prog, opts, stack, hook, err);
	bpfvm_run_opts tail_opts;
	int rc = run_follow(prog, &run, &tail_opts, r0, err);
	if (owner)
		block->run_stack_busy = false;
	if (run.held_lock || run.reserved_count)
		rc = run_release_leftovers(&run, rc, err);
	return rc;
}

/* ---- direct runs (api.h) ------------------------------------------------ */

const void *run_direct_state(const bpfvm_program *prog)
{
	return prog->engine_state[ENGINE_JIT][BPFVM_UNCHECKED];
}

void run_direct_init(struct run_direct *d)
{
	memset(d, 0, sizeof *d);
	d->opts.sz = sizeof d->opts;
	d->opts.mode = BPFVM_UNCHECKED;
	run_state_init(&d->run, NULL, &d->opts, d->stack, NULL, &d->err);
	d->run.jit_budget = UINT64_MAX;
	d->run.engine = &engine_jit;
}

int run_direct_finish(struct run_direct *d, uint64_t result, uint64_t r1, uint64_t r2, uint64_t *r0,
                      bpfvm_error *err)
{
	struct bpfvm_run *run = &d->run;
	d->opts.args[0] = r1;
	d->opts.args[1] = r2;
	int rc = jit_result(run, result, r0, &d->err);
	if (!rc && run->status == RUN_TAIL_CALL)
		rc = run_follow(tail_call_next(run, &d->tail_opts), run, &d->tail_opts, r0, &d->err);
	if (run->held_lock || run->reserved_count)
		rc = run_release_leftovers(run, rc, &d->err);
	/* the next direct run starts from the engine and options it expects */
	run->opts = &d->opts;
	run->engine = &engine_jit;
	run->jit_budget = UINT64_MAX;
	run->lent_count = 0;
	run->status = RUN_OK;
	run->fault_kind = FAULT_NONE;
	run->jit_depth = 0;
	run->tail_calls = 0;
	d->stamp = 0;   /* a tail call changed run->prog */
	if (rc && err)
		*err = d->err;
	return rc;
}

int bpfvm_program_run_mem(const bpfvm_program *prog, void *mem, size_t len, bpfvm_mode mode,
                          uint64_t *r0, bpfvm_error *err)
{
	bpfvm_region region = { .base = mem, .len = len, .writable = true };
	BPFVM_OPTS(bpfvm_run_opts, opts,
		.args = { (uint64_t)(uintptr_t)mem, len },
		.mode = mode,
		.regions = &region,
		.region_count = mem ? 1 : 0,
		.packet = mem,
		.packet_len = len,
	);
	return bpfvm_program_run(prog, &opts, r0, err);
}


