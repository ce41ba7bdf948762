/*
 * program.c - loading programs and running them: the public API's core.
 *
 * Owns: bpfvm_program_load/free (validate, copy, pre-decode for each
 * engine mode, bind helper call sites), bpfvm_program_run (set up the
 * stack and run state, pick the engine), and the calls helpers make back
 * into a run (bpfvm_run_user/stop/fail/check_access).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/program.h"

static int predecode(bpfvm_program *p, bpfvm_error *err)
{
	const void *const *labels[2];
	interp_run_checked(NULL, NULL, NULL, NULL, &labels[BPFVM_CHECKED]);
	interp_run_unchecked(NULL, NULL, NULL, NULL, &labels[BPFVM_UNCHECKED]);

	size_t calls = 0;
	for (size_t pc = 0; pc < p->count; pc++)
		if (p->insns[pc].opcode == 0x85 && p->insns[pc].src == 0)
			calls++;
	p->call_fns = calloc(calls ? calls : 1, sizeof *p->call_fns);
	for (int m = 0; m < 2; m++)
		p->slots[m] = calloc(p->count, sizeof *p->slots[m]);
	if (!p->call_fns || !p->slots[0] || !p->slots[1])
		return isa_error(err, -ENOMEM, -1, "out of memory loading %zu instructions", p->count);

	size_t call_index = 0;
	for (size_t pc = 0; pc < p->count; pc++) {
		const bpfvm_insn *in = &p->insns[pc];
		const struct isa_op *op = isa_decode(in);   /* validated: never NULL */
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
	return 0;
}

int bpfvm_program_load(const bpfvm_insn *insns, size_t count, const bpfvm_load_opts *opts,
                       bpfvm_program **out, bpfvm_error *err)
{
	static const bpfvm_load_opts no_opts;
	if (!opts)
		opts = &no_opts;
	if (!out || (!insns && count))
		return isa_error(err, -EINVAL, -1, "bpfvm_program_load: null argument");
	*out = NULL;
	int rc = isa_validate(insns, count, opts->max_insns, opts->helpers, err);
	if (rc)
		return rc;
	bpfvm_program *p = calloc(1, sizeof *p);
	if (!p)
		return isa_error(err, -ENOMEM, -1, "out of memory");
	p->count = count;
	p->helpers = opts->helpers;
	p->insns = malloc(count * sizeof *insns);
	if (!p->insns) {
		free(p);
		return isa_error(err, -ENOMEM, -1, "out of memory loading %zu instructions", count);
	}
	memcpy(p->insns, insns, count * sizeof *insns);
	rc = predecode(p, err);
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
	free(p->slots[0]);
	free(p->slots[1]);
	jit_free(p->jit[0]);
	jit_free(p->jit[1]);
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

int bpfvm_program_run(const bpfvm_program *prog, const bpfvm_run_opts *opts, uint64_t *r0,
                      bpfvm_error *err)
{
	return program_run_hooked(prog, opts, NULL, r0, err);
}

uint32_t bpfvm_program_type(const bpfvm_program *prog)
{
	return prog->prog_type;
}

int program_run_hooked(const bpfvm_program *prog, const bpfvm_run_opts *opts, struct hook_state *hook,
                       uint64_t *r0, bpfvm_error *err)
{
	static const bpfvm_run_opts no_opts;
	if (!prog || !r0)
		return isa_error(err, -EINVAL, -1, "bpfvm_program_run: null argument");
	if (!opts)
		opts = &no_opts;
	if (opts->region_count && !opts->regions)
		return isa_error(err, -EINVAL, -1, "bpfvm_program_run: region_count without regions");
	/* The frames live on the host stack: 4 KiB, 16-byte aligned like the
	 * kernel's, and zeroed so no host data leaks into a program. */
	uint8_t stack[RUN_STACK_BYTES] __attribute__((aligned(16)));
	memset(stack, 0, sizeof stack);
	struct bpfvm_run run = { .prog = prog, .opts = opts, .stack = stack, .hook = hook };
	if (opts->mode != BPFVM_CHECKED && opts->mode != BPFVM_UNCHECKED)
		return isa_error(err, -EINVAL, -1, "bpfvm_program_run: unknown mode %d", (int)opts->mode);
	const struct jit_code *code = prog->jit[opts->mode];
	switch (opts->engine) {
	case BPFVM_ENGINE_DEFAULT:
		break;
	case BPFVM_ENGINE_INTERP:
		code = NULL;
		break;
	case BPFVM_ENGINE_JIT:
		if (!code)
			return isa_error(err, -EINVAL, -1, "bpfvm_program_run: the program was loaded without jit");
		break;
	default:
		return isa_error(err, -EINVAL, -1, "bpfvm_program_run: unknown engine %d", (int)opts->engine);
	}
	if (code)
		return jit_run(prog, code, &run, r0, err);
	if (opts->mode == BPFVM_UNCHECKED)
		return interp_run_unchecked(prog, &run, r0, err, NULL);
	return interp_run_checked(prog, &run, r0, err, NULL);
}

int bpfvm_program_run_mem(const bpfvm_program *prog, void *mem, size_t len, bpfvm_mode mode,
                          uint64_t *r0, bpfvm_error *err)
{
	bpfvm_region region = { .base = mem, .len = len, .writable = true };
	bpfvm_run_opts opts = {
		.args = { (uint64_t)(uintptr_t)mem, len },
		.mode = mode,
		.regions = &region,
		.region_count = mem ? 1 : 0,
		.packet = mem,
		.packet_len = len,
	};
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

const char *bpfvm_strerror(int code)
{
	switch (-code) {
	case 0: return "success";
	case EINVAL: return "invalid program or argument";
	case E2BIG: return "too large";
	case ENOMEM: return "out of memory";
	case EFAULT: return "memory access violation or helper failure";
	case ELOOP: return "execution budget exhausted";
	case ENOENT: return "not found";
	case EIO: return "input/output error";
	default: return "error";
	}
}
