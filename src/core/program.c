/*
 * program.c - loading programs and running them: the public API's core.
 *
 * Owns: bpfvm_program_load/free (check the encoding, the helpers called
 * and, through src/analysis, the control flow; copy, pre-decode for each
 * engine mode, bind helper call sites), bpfvm_program_run (set up the
 * stack and run state, pick the engine), and the calls helpers make back
 * into a run (bpfvm_run_user/stop/fail/check_access).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/maps.h"
#include "base/opts.h"
#include "core/program.h"
#include "helpers/helper_desc.h"
#include "progtypes/progtypes.h"

/* The superinstruction the analysis found at pc (enum interp_fused), or
 * -1: the interpreter fuses the 64-bit idioms only. */
static int fused_handler(const struct analysis *a, size_t pc)
{
	if (a->idiom[pc] == IDIOM_NONE || a->ops[pc]->bits != 64)
		return -1;
	bool add_reg = a->ops[pc + 1]->src_kind == SRC_REG;
	if (a->idiom[pc] == IDIOM_LEA)
		return add_reg ? FUSED_LEA_REG : FUSED_LEA_IMM;
	static const struct { uint16_t load; int reg, imm; } loads[] = {
		{ ISA_LDXB, FUSED_LDX_REG_B, FUSED_LDX_IMM_B }, { ISA_LDXH, FUSED_LDX_REG_H, FUSED_LDX_IMM_H },
		{ ISA_LDXW, FUSED_LDX_REG_W, FUSED_LDX_IMM_W }, { ISA_LDXDW, FUSED_LDX_REG_DW, FUSED_LDX_IMM_DW },
		{ ISA_LDXSB, FUSED_LDX_REG_SB, FUSED_LDX_IMM_SB }, { ISA_LDXSH, FUSED_LDX_REG_SH, FUSED_LDX_IMM_SH },
		{ ISA_LDXSW, FUSED_LDX_REG_SW, FUSED_LDX_IMM_SW },
	};
	uint16_t load = a->ops[pc + 2]->id;
	for (size_t i = 0; i < sizeof loads / sizeof loads[0]; i++)
		if (loads[i].load == load)
			return add_reg ? loads[i].reg : loads[i].imm;
	return -1;
}

/* Gives each helper call its descriptor (prog->helper_at), and freezes
 * the table: the program now points into it. */
static int bind_helpers(bpfvm_program *p, bpfvm_error *err)
{
	p->helper_at = calloc(p->count ? p->count : 1, sizeof *p->helper_at);
	if (!p->helper_at)
		return error_set(err, -ENOMEM, -1, "out of memory loading %zu instructions", p->count);
	for (size_t pc = 0; pc < p->count; pc++) {
		const struct isa_op *op = isa_decode(&p->insns[pc]);
		if (op && op->format == FMT_CALL)
			p->helper_at[pc] = helpers_desc(p->helpers, (uint32_t)p->insns[pc].imm);
		else if (op && op->format == FMT_LDDW)
			pc++;
	}
	helpers_freeze(p->helpers);
	return 0;
}

static int predecode(bpfvm_program *p, bpfvm_error *err)
{
	const void *const *labels[2];
	interp_run_checked(NULL, NULL, 0, NULL, 0, NULL, NULL, &labels[BPFVM_CHECKED]);
	interp_run_unchecked(NULL, NULL, 0, NULL, 0, NULL, NULL, &labels[BPFVM_UNCHECKED]);

	size_t calls = 0;
	for (size_t pc = 0; pc < p->count; pc++)
		if (isa_is_helper_call(&p->insns[pc]))
			calls++;
	p->call_fns = calloc(calls ? calls : 1, sizeof *p->call_fns);
	for (int m = 0; m < 2; m++)
		p->slots[m] = calloc(p->count, sizeof *p->slots[m]);
	if (!p->call_fns || !p->slots[0] || !p->slots[1])
		return error_set(err, -ENOMEM, -1, "out of memory loading %zu instructions", p->count);

	size_t call_index = 0;
	for (size_t pc = 0; pc < p->count; pc++) {
		const bpfvm_insn *in = &p->insns[pc];
		const struct isa_op *op = p->analysis->ops[pc];   /* validated: never NULL */
		struct interp_slot s = {
			.dst = in->dst, .src = in->src, .off = in->off, .imm = in->imm,
		};
		if (op->format == FMT_CALL) {
			p->call_fns[call_index] = bpfvm_helpers_find(p->helpers, (uint32_t)in->imm, NULL);
			s.imm = (int32_t)call_index++;
		}
		for (int m = 0; m < 2; m++) {
			s.handler = labels[m][op->id];
			p->slots[m][pc] = s;
		}
		if (op->format == FMT_LDDW) {
			pc++;
			uint64_t value = (uint32_t)in->imm | (uint64_t)(uint32_t)p->insns[pc].imm << 32;
			for (int m = 0; m < 2; m++)
				p->slots[m][pc].imm64 = value;
		}
	}
	/* superinstructions: none of the covered slots but the first may be
	 * jumped to */
	for (size_t pc = 0; pc + 1 < p->count; pc++) {
		int fused = fused_handler(p->analysis, pc);
		if (fused >= 0)
			for (int m = 0; m < 2; m++)
				p->slots[m][pc].handler = labels[m][fused];
	}
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
		void *base;
		size_t len;
		bpfvm_map_arena(opts->maps[i], &base, &len);
		if (len)
			p->map_regions[p->map_region_count++] = (bpfvm_region){ base, len, true };
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
		else if (isa_is_helper_call(&insns[pc]) && !bpfvm_helpers_find(helpers, (uint32_t)insns[pc].imm, NULL))
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
		if (!isa_is_helper_call(&insns[pc]))
			continue;
		uint32_t id = (uint32_t)insns[pc].imm;
		if (helper_allowed_for(helpers_desc(opts->helpers, id), opts->prog_type) == 0) {
			const char *name = NULL;
			bpfvm_helpers_find(opts->helpers, id, &name);
			const char *type = bpfvm_prog_type_name(opts->prog_type);
			return error_set(err, -EINVAL, (int)pc, "a %s program may not call %s (helper %u)",
			                 type ? type : "?", name ? name : "this helper", id);
		}
	}
	return 0;
}

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
	rc = isa_check_encoding(insns, count, opts->max_insns, err);
	if (!rc)
		rc = check_helpers_exist(insns, count, opts->helpers, err);
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
	if (!rc)
		rc = predecode(p, err);
	if (!rc && opts->map_count)
		rc = take_maps(p, opts, err);
	p->jit_harden = opts->jit_harden;
	p->prog_type = opts->prog_type;
	const char *env = getenv("BPFVM_PERF_MAP");
	if (opts->jit && (opts->perf_map || (env && !strcmp(env, "1"))))
		snprintf(p->perf_name, sizeof p->perf_name, "%s", opts->name ? opts->name : "prog");
	for (int m = 0; !rc && opts->jit && m < 2; m++)
		rc = jit_compile(p, (bpfvm_mode)m, &p->jit[m], err);
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
	free(p->call_fns);
	free(p->helper_at);
	free(p->slots[0]);
	free(p->slots[1]);
	jit_free(p->jit[0]);
	jit_free(p->jit[1]);
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
	if (!p->jit[mode])
		return -ENOENT;
	*code = jit_code_bytes(p->jit[mode], len);
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
	const struct jit_code *code = prog->jit[opts->mode];
	switch (opts->engine) {
	case BPFVM_ENGINE_DEFAULT:
		break;
	case BPFVM_ENGINE_INTERP:
		code = NULL;
		break;
	case BPFVM_ENGINE_JIT:
		if (!code)
			return error_set(err, -EINVAL, -1, "bpfvm_program_run: the program was loaded without jit");
		break;
	default:
		return error_set(err, -EINVAL, -1, "bpfvm_program_run: unknown engine %d", (int)opts->engine);
	}
	run->prog = prog;
	run->map_regions = prog->map_regions;
	run->map_region_count = prog->map_region_count;
	run->jit = code;
	run->jit_budget = opts->max_back_edges ? opts->max_back_edges : UINT64_MAX;
	if (code)
		return jit_run(prog, code, run, r0, err);
	uint64_t top = (uint64_t)(uintptr_t)(run->stack + RUN_STACK_BYTES);
	if (opts->mode == BPFVM_UNCHECKED)
		return interp_run_unchecked(prog, run, 0, opts->args, top, r0, err, NULL);
	return interp_run_checked(prog, run, 0, opts->args, top, r0, err, NULL);
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
	 * written. */
	static __thread uint8_t thread_stack[RUN_STACK_BYTES] __attribute__((aligned(16)));
	static __thread bool thread_stack_busy;
	uint8_t nested_stack[thread_stack_busy ? RUN_STACK_BYTES : 1] __attribute__((aligned(16)));
	uint8_t *stack = thread_stack;
	bool owner = !thread_stack_busy;
	if (owner) {
		thread_stack_busy = true;
		if (opts->mode == BPFVM_CHECKED)
			memset(thread_stack, 0, sizeof thread_stack);
	} else {
		memset(nested_stack, 0, sizeof nested_stack);
		stack = nested_stack;
	}
	struct bpfvm_run run;
	run.prog = prog;
	run.opts = opts;
	run.stack = stack;
	run.status = RUN_OK;
	run.stop_value = 0;
	run.jit_saved_rsp = 0;
	run.jit_budget = 0;
	run.jit_depth = 0;
	run.fault_insn = -1;
	run.fault_kind = FAULT_NONE;
	run.fault_size = 0;
	run.fault_addr = 0;
	run.fault_write = false;
	run.hook = hook;
	run.tail_target = NULL;
	run.tail_ctx = 0;
	run.tail_calls = 0;
	run.inner_count = 0;
	run.fail_msg[0] = 0;
	run.err = err;
	run.error_code = 0;
	run.helper_frame = 0;
	run.jit = NULL;
	run.lent_count = 0;
	run.jit_cb_entry = 0;
	run.jit_cb_frame = 0;
	bpfvm_run_opts tail_opts;
	for (;;) {
		int rc = run_engine(prog, &run, r0, err);
		if (rc || run.status != RUN_TAIL_CALL) {
			if (owner)
				thread_stack_busy = false;
			return rc;
		}
		/* a tail call: the target starts afresh with r1 = the context */
		prog = run.tail_target;
		tail_opts = *opts;
		tail_opts.args[0] = run.tail_ctx;
		run.opts = &tail_opts;
		run.status = RUN_OK;
		run.jit_depth = 0;
		run.fault_kind = FAULT_NONE;
	}
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

void *bpfvm_run_user(const bpfvm_run *run)
{
	return run->opts->user;
}

void bpfvm_run_stop(bpfvm_run *run, uint64_t value)
{
	if (run->status == RUN_OK) {
		run->status = RUN_STOPPED;
		run->stop_value = value;
	}
}

void bpfvm_run_fail(bpfvm_run *run, const char *msg)
{
	if (run->status == RUN_FAILED)
		return;
	run->status = RUN_FAILED;
	snprintf(run->fail_msg, sizeof run->fail_msg, "%s", msg ? msg : "(no message)");
}

bool bpfvm_run_check_access(const bpfvm_run *run, uint64_t addr, uint64_t len, bool write)
{
	return run_access_ok(run, addr, len, write);
}

