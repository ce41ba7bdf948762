/*
 * fuzz_exec.c - libFuzzer target: load arbitrary programs and run them in
 * checked mode, which must end every run in a result or an error.
 *
 * Owns: the fuzz_exec input format, the structure-aware program generator
 * that turns fuzz bytes into programs the validator accepts, the test
 * helpers, and the oracles checked after each run.
 *
 * Input format:
 *
 *   byte 0      flags (FX_*)
 *   byte 1      input memory length, 0..255
 *   next len    input memory contents (zero-filled if the input ends early)
 *   rest        the program: raw mode takes it as instructions (truncated
 *               to a multiple of 8); structured mode reads one 8-byte
 *               record per slot and maps it onto a valid instruction
 *
 * Raw mode exercises the validator with anything at all, but random bytes
 * rarely pass it; structured mode (most of the fuzzing) picks every opcode
 * from isa_ops[], clears reserved fields, keeps jumps inside their function
 * and ends every function with exit, so nearly every input loads and runs.
 *
 * Oracles, beyond "no crash, hang or sanitizer report":
 *   - the input memory and the read-only region are heap blocks of exactly
 *     their length, so ASan reports any access checked mode lets through
 *     past them (the run stack is bpfvm's own thread-local array, which
 *     ASan does not surround with redzones: past it, only accesses far
 *     enough to fault are caught);
 *   - an optional read-only region must be unchanged after the run;
 *   - errors are negative with a NUL-terminated message;
 *   - FX_DIFF: the checked run is repeated and must end the same way
 *     (runs are independent: nothing of one run may leak into the next);
 *     a run that checked mode completed is also repeated unchecked and
 *     must give the same r0 and memory (the two interpreter builds share
 *     one body, so they must agree);
 *   - environment BPFVM_FUZZ_JIT=1: the program is also JIT-compiled and
 *     the checked JIT run must agree with the checked interpreter, unless
 *     the program reads r1..r5 after a call clobbered them (unspecified in
 *     eBPF, see reads_clobbered()); such programs still run, they must
 *     just not crash.  Off by default: compiled code is not instrumented,
 *     so ASan cannot watch it, and the JIT is younger than the interpreter.
 *
 *   - the verifier (raw memory of the input's length): a program it
 *     accepts must never fault in the checked run (running out of the
 *     back-edge budget is allowed: the verifier proves safety, and its
 *     loops may be longer than the budget), and must then give the same
 *     r0 and memory unchecked.
 *
 * Environment BPFVM_FUZZ_VERBOSE=1 prints each input's load and run
 * outcome (for triage: `fuzz_exec -runs=0 DIR` replays a corpus).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/verifier.h"
#include "isa/isa.h"

enum {
	FX_STRUCTURED = 1 << 0,  /* generate a valid program from records */
	FX_NO_PACKET = 1 << 1,   /* LD_ABS/LD_IND get no packet */
	FX_RO_REGION = 1 << 2,   /* add a read-only region: r3 = base, r4 = len */
	FX_DIFF = 1 << 3,        /* compare with an unchecked run */
	FX_FUNCS_SHIFT = 4,      /* bits 4-5: extra functions (structured) */
};

#define MAX_BACK_EDGES 10000
#define MAX_SLOTS 2048           /* structured programs; keeps offsets int16 */
#define RO_LEN 32

/* ---- helpers ------------------------------------------------------------ */

static uint64_t h_add(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, bpfvm_run *run)
{
	(void)r3; (void)r4; (void)r5; (void)run;
	return r1 + r2;
}

/* Writes r2 bytes at r1 only if the run may: checks bpfvm_run_check_access
 * (ASan reports the write if it lets through a bad range). */
static uint64_t h_fill(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, bpfvm_run *run)
{
	(void)r4; (void)r5;
	if (r2 > 4096 || !bpfvm_run_check_access(run, r1, r2, true))
		return (uint64_t)-1;
	memset((void *)(uintptr_t)r1, (int)r3, (size_t)r2);
	return 0;
}

/* Sums r2 bytes at r1 if readable; the read-side twin of h_fill. */
static uint64_t h_sum(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, bpfvm_run *run)
{
	(void)r3; (void)r4; (void)r5;
	if (r2 > 4096 || !bpfvm_run_check_access(run, r1, r2, false))
		return (uint64_t)-1;
	uint64_t sum = 0;
	const uint8_t *p = (const uint8_t *)(uintptr_t)r1;
	for (uint64_t i = 0; i < r2; i++)
		sum += p[i];
	return sum;
}

/* The conformance suite's "unwind": stops the program when r1 == 0. */
static uint64_t h_unwind(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, bpfvm_run *run)
{
	(void)r2; (void)r3; (void)r4; (void)r5;
	if (r1 == 0)
		bpfvm_run_stop(run, 0);
	return r1;
}

static uint64_t h_fail(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, bpfvm_run *run)
{
	(void)r1; (void)r2; (void)r3; (void)r4; (void)r5;
	bpfvm_run_fail(run, "helper 7 always fails");
	return 0;
}

static const struct {
	uint32_t id;
	const char *name;
	bpfvm_helper_fn fn;
	uint16_t reads;      /* mask of the argument registers it uses */
} helper_table[] = {
	{ 1, "add", h_add, 0x06 },
	{ 3, "fill", h_fill, 0x0e },
	{ 4, "sum", h_sum, 0x06 },
	{ 5, "unwind", h_unwind, 0x02 },
	{ 7, "fail", h_fail, 0x00 },
};
#define HELPER_COUNT (sizeof helper_table / sizeof helper_table[0])

static bpfvm_helpers *helpers;
static bool jit_diff;
static bool verbose;
static bpfvm_program *scrubber;   /* zeroes the run stack, see one_run() */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	helpers = bpfvm_helpers_new();
	if (!helpers)
		abort();
	for (size_t i = 0; i < HELPER_COUNT; i++)
		if (bpfvm_helpers_add(helpers, helper_table[i].id, helper_table[i].name,
		                      helper_table[i].fn, NULL))
			abort();
	const char *env = getenv("BPFVM_FUZZ_JIT");
	jit_diff = env && strcmp(env, "1") == 0;
	env = getenv("BPFVM_FUZZ_VERBOSE");
	verbose = env && strcmp(env, "1") == 0;
	/* r1 = r10 - 4096; do { *(u64 *)r1 = 0; r1 += 8; } while (r1 != r10) */
	static const bpfvm_insn scrub[] = {
		{ .opcode = 0xbf, .dst = 1, .src = 10 },
		{ .opcode = 0x07, .dst = 1, .imm = -4096 },
		{ .opcode = 0x7a, .dst = 1 },
		{ .opcode = 0x07, .dst = 1, .imm = 8 },
		{ .opcode = 0x5d, .dst = 1, .src = 10, .off = -3 },
		{ .opcode = 0x95 },
	};
	if (bpfvm_program_load(scrub, sizeof scrub / sizeof scrub[0], NULL, &scrubber, NULL))
		abort();
	return 0;
}

/* ---- structured program generation ------------------------------------ */

static bool writes_dst(const struct isa_op *op)
{
	switch (op->format) {
	case FMT_ALU_IMM: case FMT_ALU_REG: case FMT_NEG: case FMT_END:
	case FMT_LDDW: case FMT_LDX:
		return true;
	default:
		return false;
	}
}

static bool is_jump(const struct isa_op *op)
{
	return op->format == FMT_JA || op->format == FMT_JA32 ||
	       op->format == FMT_JMP_IMM || op->format == FMT_JMP_REG || op->format == FMT_MAY_GOTO;
}

/* Memory offsets: mostly within -520..520, which covers the 512-byte frame
 * below r10, the input memory above r1 and a few bytes past both edges;
 * raw 16-bit values now and then for the far-away cases. */
static int16_t mem_off(uint8_t lo, uint8_t hi)
{
	uint16_t v = (uint16_t)(lo | hi << 8);
	if ((hi & 0xf0) == 0xf0)
		return (int16_t)v;
	return (int16_t)((int)(v % 1041) - 520);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* One record -> one instruction with every reserved field clean.  Jump
 * offsets and call targets are left raw; fix_branches() sets them. */
static const struct isa_op *gen_insn(const uint8_t *rec, bpfvm_insn *in)
{
	const struct isa_op *op = &isa_ops[rec[0] % ISA_OP_COUNT];
	memset(in, 0, sizeof *in);
	in->opcode = op->opcode;
	in->dst = (rec[1] & 0x0f) % 11;
	in->src = (rec[1] >> 4) % 11;
	in->off = (int16_t)(rec[2] | rec[3] << 8);
	in->imm = (int32_t)rd32(rec + 4);
	/* A quarter of the immediates small: loop bounds, helper IDs for
	 * callx, shift counts and offsets are what make programs go places. */
	if (!(rec[7] & 0xc0))
		in->imm = (int8_t)rec[4];
	switch ((enum isa_format)op->format) {
	case FMT_ALU_IMM: in->src = 0; in->off = 0; break;
	case FMT_ALU_REG: in->imm = 0; in->off = 0; break;
	case FMT_NEG: in->src = 0; in->imm = 0; in->off = 0; break;
	case FMT_END: in->src = 0; in->off = 0; break;
	case FMT_LDDW: in->src = 0; in->off = 0; break;
	case FMT_LDABS:
		in->dst = in->src = 0; in->off = 0;
		/* mostly near the packet, so loads hit as often as they miss */
		if (!(rec[7] & 0x80))
			in->imm %= 300;
		break;
	case FMT_LDIND:
		in->dst = 0; in->off = 0;
		if (!(rec[7] & 0x80))
			in->imm %= 300;
		break;
	case FMT_LDX: in->imm = 0; in->off = mem_off(rec[2], rec[3]); break;
	case FMT_ST: in->src = 0; in->off = mem_off(rec[2], rec[3]); break;
	case FMT_STX: in->imm = 0; in->off = mem_off(rec[2], rec[3]); break;
	case FMT_ATOMIC:
		in->off = mem_off(rec[2], rec[3]);
		if ((op->select_value & 0x01) && in->src == 10)
			in->src = 0;
		break;
	case FMT_JA: in->dst = in->src = 0; in->imm = 0; break;
	case FMT_JA32: in->dst = in->src = 0; in->off = 0; break;
	case FMT_JMP_IMM: in->src = 0; break;
	case FMT_JMP_REG: in->imm = 0; break;
	case FMT_CALL:
		in->dst = 0; in->off = 0;
		in->imm = (int32_t)helper_table[rd32(rec + 4) % HELPER_COUNT].id;
		if (op->select_value == ISA_PSEUDO_KFUNC_CALL)   /* bpfvm's kfunc IDs: 1..3 */
			in->imm = (int32_t)(1 + rd32(rec + 4) % 3);
		break;
	case FMT_MAY_GOTO: in->dst = 0; in->imm = 0; break;
	case FMT_CALL_LOCAL: in->dst = 0; in->off = 0; break;
	case FMT_CALLX: in->src = 0; in->off = 0; in->imm = 0; break;
	case FMT_EXIT: memset(in, 0, sizeof *in); in->opcode = op->opcode; break;
	}
	/* The selector field last: it overrides whatever was put there. */
	switch (op->select) {
	case SEL_OFF: in->off = (int16_t)op->select_value; break;
	case SEL_IMM: in->imm = op->select_value; break;
	case SEL_SRC: in->src = (uint8_t)op->select_value; break;
	default: break;
	}
	if (in->dst == 10 && writes_dst(op))
		in->dst = 0;
	return op;
}

/* Builds a program of at most MAX_SLOTS slots from the records in
 * [p, p + n); returns its length (at least 1). */
static size_t gen_program(const uint8_t *p, size_t n, unsigned funcs, bpfvm_insn *out)
{
	size_t count = n / 8;
	if (count > MAX_SLOTS)
		count = MAX_SLOTS;
	if (count == 0) {
		memset(out, 0, sizeof *out);
		out[0].opcode = 0x95;
		return 1;
	}
	/* second[pc]: the slot is the second half of an lddw */
	static bool second[MAX_SLOTS];
	static uint32_t raw[MAX_SLOTS];   /* fuzz bits that choose a target */
	memset(second, 0, count * sizeof *second);
	for (size_t pc = 0; pc < count; pc++) {
		const uint8_t *rec = p + pc * 8;
		const struct isa_op *op = gen_insn(rec, &out[pc]);
		raw[pc] = (uint32_t)(rec[2] | rec[3] << 8) ^ rd32(rec + 4);
		if (op->format == FMT_LDDW) {
			if (pc + 1 == count) {
				/* no room for the high half: a plain exit instead */
				memset(&out[pc], 0, sizeof out[pc]);
				out[pc].opcode = 0x95;
				continue;
			}
			pc++;
			memset(&out[pc], 0, sizeof out[pc]);
			out[pc].imm = (int32_t)rd32(p + pc * 8 + 4);
			second[pc] = true;
		}
	}

	/* Split into 1 + funcs functions at slot boundaries (never inside an
	 * lddw); each ends with exit so none can fall into the next. */
	size_t nfuncs = 1 + funcs;
	if (nfuncs > count)
		nfuncs = count;
	size_t start[4], end[4];
	size_t k = 0;
	for (size_t f = 0; f < nfuncs; f++) {
		size_t s = count * f / nfuncs;
		if (second[s])
			s++;
		if (k && s <= start[k - 1])
			continue;
		if (s >= count)
			break;
		start[k++] = s;
	}
	for (size_t f = 0; f < k; f++) {
		end[f] = f + 1 < k ? start[f + 1] : count;
		size_t last = end[f] - 1;
		if (second[last]) {
			/* the lddw's first half becomes a 32-bit mov of the same dst */
			bpfvm_insn *lo = &out[last - 1];
			lo->opcode = 0xb4;
			second[last] = false;
		}
		const struct isa_op *op = isa_decode(&out[last]);
		if (!op || (op->format != FMT_EXIT && op->format != FMT_JA && op->format != FMT_JA32)) {
			memset(&out[last], 0, sizeof out[last]);
			out[last].opcode = 0x95;
		}
	}

	/* Jumps land inside their own function, never on an lddw's high half;
	 * local calls land on a function start. */
	for (size_t f = 0; f < k; f++) {
		for (size_t pc = start[f]; pc < end[f]; pc++) {
			if (second[pc])
				continue;
			const struct isa_op *op = isa_decode(&out[pc]);
			if (op->format == FMT_CALL_LOCAL) {
				size_t t = start[raw[pc] % k];
				out[pc].imm = (int32_t)((int64_t)t - (int64_t)pc - 1);
			} else if (is_jump(op)) {
				size_t t = start[f] + raw[pc] % (end[f] - start[f]);
				if (second[t])
					t--;
				int64_t d = (int64_t)t - (int64_t)pc - 1;
				if (op->format == FMT_MAY_GOTO && d == 0)
					out[pc] = (bpfvm_insn){ .opcode = 0x05 };   /* may_goto +0 is invalid: ja +0 */
				else if (op->format == FMT_JA32)
					out[pc].imm = (int32_t)d;
				else
					out[pc].off = (int16_t)d;
			}
		}
	}
	return count;
}

/* ---- which programs the engines must agree on ------------------------ */

#define ARG_REGS 0x3eu   /* r1..r5 */

/* Registers `in` reads (bit n: rN). */
static unsigned insn_reads(const struct isa_op *op, const bpfvm_insn *in)
{
	unsigned d = 1u << in->dst, s = 1u << in->src;
	switch ((enum isa_format)op->format) {
	case FMT_ALU_IMM:
		return op->id == ISA_MOV_IMM || op->id == ISA_MOV32_IMM ? 0 : d;
	case FMT_ALU_REG:
		if (op->id == ISA_MOV_REG || op->id == ISA_MOV32_REG || op->id == ISA_MOVSX8 ||
		    op->id == ISA_MOVSX16 || op->id == ISA_MOVSX32 || op->id == ISA_MOVSX8_32 ||
		    op->id == ISA_MOVSX16_32)
			return s;
		return d | s;
	case FMT_NEG: case FMT_END: case FMT_ST: case FMT_JMP_IMM:
		return d;
	case FMT_LDIND: case FMT_LDX:
		return s;
	case FMT_STX: case FMT_JMP_REG:
		return d | s;
	case FMT_ATOMIC:
		return d | s | (op->select_value == 0xf1 ? 1u : 0);   /* cmpxchg reads r0 */
	case FMT_CALL:
		for (size_t i = 0; i < HELPER_COUNT; i++)
			if (helper_table[i].id == (uint32_t)in->imm)
				return helper_table[i].reads;
		return ARG_REGS;
	case FMT_CALLX:
		return d | ARG_REGS;
	case FMT_EXIT:
		return 1;
	default:
		return 0;
	}
}

/* True if some path may read r1..r5 after a helper call, local call or
 * legacy packet load has clobbered them.  eBPF leaves their values
 * unspecified there (the kernel's verifier rejects such reads); the
 * interpreter happens to keep them and compiled code does not, so the
 * JIT comparison skips these programs.  Path-insensitive, so it may
 * skip a few programs that never really do it. */
static bool reads_clobbered(const bpfvm_insn *insns, size_t count)
{
	const unsigned watch = ARG_REGS;
	/* state[pc]: registers that may be clobbered on entry; 0x8000 marks
	 * an instruction reached at all. */
	uint16_t *state = calloc(count, sizeof *state);
	size_t *work = malloc(count * 2 * sizeof *work + sizeof *work);
	if (!state || !work)
		abort();
	size_t nwork = 0;
	bool bad = false;
	state[0] = 0x8000;
	work[nwork++] = 0;
	while (nwork && !bad) {
		size_t pc = work[--nwork];
		const bpfvm_insn *in = &insns[pc];
		const struct isa_op *op = isa_decode(in);   /* the program loaded */
		unsigned st = state[pc] & watch;
		if (insn_reads(op, in) & st) {
			bad = true;
			break;
		}
		/* out: what flows on; writes make a register defined again */
		unsigned out = st;
		switch ((enum isa_format)op->format) {
		case FMT_ALU_IMM: case FMT_ALU_REG: case FMT_NEG: case FMT_END:
		case FMT_LDDW: case FMT_LDX:
			out &= ~(1u << in->dst);
			break;
		case FMT_ATOMIC:
			if (op->select_value == 0xf1)
				out &= ~1u;
			else if (op->select_value & 0x01)
				out &= ~(1u << in->src);
			break;
		case FMT_CALL: case FMT_CALLX: case FMT_CALL_LOCAL: case FMT_LDABS: case FMT_LDIND:
			out |= ARG_REGS;
			break;
		default:
			break;
		}
		size_t succ[2];
		unsigned succ_state[2];
		size_t nsucc = 0;
		size_t next = pc + (op->format == FMT_LDDW ? 2 : 1);
		switch ((enum isa_format)op->format) {
		case FMT_EXIT:
			break;
		case FMT_JA: case FMT_JA32:
			succ[nsucc] = (size_t)isa_branch_target(op, in, pc);
			succ_state[nsucc++] = out;
			break;
		case FMT_JMP_IMM: case FMT_JMP_REG: case FMT_MAY_GOTO:
			succ[nsucc] = (size_t)isa_branch_target(op, in, pc);
			succ_state[nsucc++] = out;
			succ[nsucc] = next;
			succ_state[nsucc++] = out;
			break;
		case FMT_CALL_LOCAL:
			/* the callee starts with the caller's registers */
			succ[nsucc] = (size_t)isa_branch_target(op, in, pc);
			succ_state[nsucc++] = st;
			succ[nsucc] = next;
			succ_state[nsucc++] = out;
			break;
		default:
			succ[nsucc] = next;
			succ_state[nsucc++] = out;
			break;
		}
		for (size_t i = 0; i < nsucc; i++) {
			size_t t = succ[i];
			if (t >= count)
				continue;   /* cannot happen for a loaded program */
			uint16_t merged = (uint16_t)(state[t] | succ_state[i] | 0x8000);
			if (merged != state[t]) {
				state[t] = merged;
				work[nwork++] = t;
			}
		}
	}
	free(state);
	free(work);
	return bad;
}

/* ---- running ------------------------------------------------------------ */

static void check_error(int rc, const bpfvm_error *err, const char *what)
{
	if (rc == 0)
		return;
	if (rc > 0 || err->code != rc || memchr(err->msg, '\0', sizeof err->msg) == NULL) {
		fprintf(stderr, "fuzz_exec: %s: bad error report rc=%d code=%d\n", what, rc, err->code);
		abort();
	}
}

struct run_state {
	uint8_t *mem;            /* exactly mem_len bytes, heap */
	const uint8_t *mem_init;
	size_t mem_len;
	uint8_t *ro;             /* RO_LEN bytes, read-only region */
	bpfvm_region regions[2];
	bpfvm_run_opts opts;
};

/* One run on freshly reset memory.  Not inlined, and every run of an
 * input is called from the same frame, so the run's stack (a local array
 * in bpfvm_program_run) sits at the same address each time: a program
 * that computes with r10 gets the same r0 in every engine and mode. */
__attribute__((noinline))
static int one_run(const bpfvm_program *prog, struct run_state *s, bpfvm_mode mode,
                   bpfvm_engine engine, uint64_t *r0, bpfvm_error *err, const char *what)
{
	/* Checked runs must not see what earlier runs left on the stack; the
	 * "repeated" oracle checks that (regressions/fuzz_exec/
	 * stack-leaks-between-runs.bin).  Unchecked runs may: they are meant
	 * for verified programs, which never read a slot before writing it,
	 * and bpfvm skips zeroing the stack for them.  So the harness zeroes
	 * it itself before an unchecked run, with a program of its own, and
	 * compares engines from the same start. */
	if (mode == BPFVM_UNCHECKED) {
		uint64_t ignored;
		BPFVM_OPTS(bpfvm_run_opts, so, .mode = BPFVM_CHECKED);
		if (bpfvm_program_run(scrubber, &so, &ignored, NULL))
			abort();
	}
	if (s->mem_len)
		memcpy(s->mem, s->mem_init, s->mem_len);
	for (size_t i = 0; i < RO_LEN; i++)
		s->ro[i] = (uint8_t)(0xa5 ^ i);
	s->opts.mode = mode;
	s->opts.engine = engine;
	memset(err, 0, sizeof *err);
	*r0 = 0xdeadbeefdeadbeefull;
	int rc = bpfvm_program_run(prog, &s->opts, r0, err);
	check_error(rc, err, what);
	for (size_t i = 0; i < RO_LEN; i++) {
		if (s->ro[i] != (uint8_t)(0xa5 ^ i)) {
			fprintf(stderr, "fuzz_exec: %s run wrote the read-only region at +%zu\n", what, i);
			abort();
		}
	}
	return rc;
}

/* A repeat of a checked-interpreter run (rc0, r0_0, memory mem0) with
 * another engine or mode must end the same way. */
static void compare_outcome(const struct run_state *s, int rc, uint64_t r0, const bpfvm_error *err,
                            int rc0, uint64_t r0_0, const uint8_t *mem0, const char *what)
{
	if (rc != rc0) {
		fprintf(stderr, "fuzz_exec: %s run returned %d, the checked interpreter %d (%s)\n", what,
		        rc, rc0, rc ? err->msg : "");
		abort();
	}
	if (rc == 0 && r0 != r0_0) {
		fprintf(stderr, "fuzz_exec: %s run gave r0=0x%llx, the checked interpreter 0x%llx\n", what,
		        (unsigned long long)r0, (unsigned long long)r0_0);
		abort();
	}
	if (rc == 0 && s->mem_len && memcmp(s->mem, mem0, s->mem_len) != 0) {
		fprintf(stderr, "fuzz_exec: %s run left different memory than the checked interpreter\n",
		        what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t flags = data[0];
	size_t mem_len = data[1];
	data += 2;
	size -= 2;

	static uint8_t mem_init[256];
	memset(mem_init, 0, sizeof mem_init);
	size_t take = mem_len < size ? mem_len : size;
	memcpy(mem_init, data, take);
	data += take;
	size -= take;

	/* The program */
	static bpfvm_insn gen[MAX_SLOTS];
	const bpfvm_insn *insns;
	size_t count;
	bpfvm_insn *raw_copy = NULL;
	if (flags & FX_STRUCTURED) {
		count = gen_program(data, size, (flags >> FX_FUNCS_SHIFT) & 3, gen);
		insns = gen;
	} else {
		count = size / 8;
		/* an aligned copy of exactly the program (ASan sees overreads) */
		raw_copy = malloc(count ? count * sizeof *raw_copy : 1);
		if (!raw_copy)
			return 0;
		memcpy(raw_copy, data, count * sizeof *raw_copy);
		insns = raw_copy;
	}

	bpfvm_program *prog = NULL;
	bpfvm_error err;
	memset(&err, 0, sizeof err);
	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = helpers);
	int rc = bpfvm_program_load(insns, count, &lo, &prog, &err);
	check_error(rc, &err, "load");
	if (verbose) {
		fprintf(stderr, "fuzz_exec: %s program of %zu slots (mem %zu bytes, flags 0x%02x): load %d %s\n",
		        (flags & FX_STRUCTURED) ? "structured" : "raw", count, mem_len, flags, rc,
		        rc ? err.msg : "");
		for (size_t pc = 0; pc < count; pc++) {
			char text[256];
			int n = bpfvm_disasm_insn(insns, count, pc, BPFVM_SYNTAX_ASM, text, sizeof text);
			fprintf(stderr, "  %4zu: %s\n", pc, text);
			if (n == 2)
				pc++;
		}
	}
	if (rc) {
		if (prog) {
			fprintf(stderr, "fuzz_exec: load failed but returned a program\n");
			abort();
		}
		free(raw_copy);
		return 0;
	}
	if (bpfvm_program_insn_count(prog) != count ||
	    memcmp(bpfvm_program_insns(prog), insns, count * sizeof *insns) != 0) {
		fprintf(stderr, "fuzz_exec: the loaded program is not the one given\n");
		abort();
	}

	/* Memory of exactly mem_len bytes on the heap: one byte past it is
	 * an ASan redzone. */
	struct run_state s = { .mem_init = mem_init, .mem_len = mem_len };
	s.mem = mem_len ? malloc(mem_len) : NULL;
	s.ro = malloc(RO_LEN);
	uint8_t *mem_after = malloc(mem_len ? mem_len : 1);
	if ((mem_len && !s.mem) || !s.ro || !mem_after)
		abort();
	size_t nregions = 0;
	if (mem_len)
		s.regions[nregions++] = (bpfvm_region){ .base = s.mem, .len = mem_len, .writable = true };
	if (flags & FX_RO_REGION)
		s.regions[nregions++] = (bpfvm_region){ .base = s.ro, .len = RO_LEN, .writable = false };
	s.opts = (bpfvm_run_opts){ .sz = sizeof(bpfvm_run_opts),
		.args = { (uint64_t)(uintptr_t)s.mem, mem_len },
		.regions = nregions ? s.regions : NULL,
		.region_count = nregions,
		.packet = (flags & FX_NO_PACKET) ? NULL : s.mem,
		.packet_len = (flags & FX_NO_PACKET) ? 0 : mem_len,
		.max_back_edges = MAX_BACK_EDGES,
	};
	if (flags & FX_RO_REGION) {
		s.opts.args[2] = (uint64_t)(uintptr_t)s.ro;
		s.opts.args[3] = RO_LEN;
	}

	uint64_t r0;
	rc = one_run(prog, &s, BPFVM_CHECKED, BPFVM_ENGINE_INTERP, &r0, &err, "checked");
	if (rc != 0 && rc != -EFAULT && rc != -ELOOP && rc != -E2BIG && rc != -EINVAL) {
		fprintf(stderr, "fuzz_exec: unexpected error %d from a checked run: %s\n", rc, err.msg);
		abort();
	}
	if (verbose)
		fprintf(stderr, "fuzz_exec: checked run %d r0=0x%llx %s\n", rc, (unsigned long long)r0,
		        rc ? err.msg : "");
	int rc0 = rc;
	uint64_t r0_0 = r0;
	bpfvm_error err0 = err;
	if (mem_len)
		memcpy(mem_after, s.mem, mem_len);

	/* The same run again must end the same way: runs are independent. */
	if (flags & FX_DIFF) {
		rc = one_run(prog, &s, BPFVM_CHECKED, BPFVM_ENGINE_INTERP, &r0, &err, "repeated checked");
		compare_outcome(&s, rc, r0, &err, rc0, r0_0, mem_after, "repeated checked");
	}

	/* Unchecked mode may only run what checked mode completed: anything
	 * else could really be out of bounds. */
	if ((flags & FX_DIFF) && rc0 == 0) {
		rc = one_run(prog, &s, BPFVM_UNCHECKED, BPFVM_ENGINE_INTERP, &r0, &err, "unchecked");
		compare_outcome(&s, rc, r0, &err, rc0, r0_0, mem_after, "unchecked");
	}

	/* The verifier's soundness: what it accepts runs without a fault.
	 * Only for programs without helper calls: this target's helpers are
	 * test doubles under the kernel's numbers (one always fails), not the
	 * functions the verifier's prototypes describe; test_verifier_fuzz
	 * covers the real helpers. */
	bool calls_helper = false;
	for (size_t pc = 0; pc < count; pc++)
		calls_helper |= insns[pc].opcode == 0x85 && insns[pc].src == 0;
	BPFVM_OPTS(bpfvm_verify_opts, vo, .prog_type = BPFVM_PROG_TYPE_RAW, .mem_size = (uint32_t)mem_len, .helpers = helpers);
	bpfvm_error verr;
	int vrc = calls_helper ? -ENOTSUP : bpfvm_verify(insns, count, &vo, NULL, &verr);
	if (verbose)
		fprintf(stderr, "fuzz_exec: verifier %d %s\n", vrc,
		        calls_helper ? "(not asked: helper calls)" : vrc ? verr.msg : "accepted");
	if (vrc == 0 && rc0 != 0 && rc0 != -ELOOP) {
		fprintf(stderr, "fuzz_exec: the verifier accepted a program whose checked run failed (%d): %s\n", rc0,
		        err0.msg);
		abort();
	}
	if (vrc == 0 && rc0 == 0) {
		rc = one_run(prog, &s, BPFVM_UNCHECKED, BPFVM_ENGINE_INTERP, &r0, &err, "verified unchecked");
		compare_outcome(&s, rc, r0, &err, rc0, r0_0, mem_after, "verified unchecked");
	}

	bool unspecified = jit_diff && reads_clobbered(insns, count);
	if (verbose && unspecified)
		fprintf(stderr, "fuzz_exec: no JIT comparison: reads a register whose value is unspecified\n");
	if (jit_diff) {
		bpfvm_program *jprog = NULL;
		BPFVM_OPTS(bpfvm_load_opts, jlo, .helpers = helpers, .jit = true);
		rc = bpfvm_program_load(insns, count, &jlo, &jprog, &err);
		check_error(rc, &err, "jit load");
		if (rc == -ENOTSUP)
			goto no_jit;   /* not an x86-64 host */
		if (rc) {
			fprintf(stderr, "fuzz_exec: the JIT rejects a valid program: %s\n", err.msg);
			abort();
		}
		/* Run it even when the outcome may differ: it must not crash. */
		rc = one_run(jprog, &s, BPFVM_CHECKED, BPFVM_ENGINE_JIT, &r0, &err, "checked JIT");
		if (!unspecified)
			compare_outcome(&s, rc, r0, &err, rc0, r0_0, mem_after, "checked JIT");
		bpfvm_program_free(jprog);
	}
no_jit:

	bpfvm_program_free(prog);
	free(s.mem);
	free(s.ro);
	free(mem_after);
	free(raw_copy);
	return 0;
}
