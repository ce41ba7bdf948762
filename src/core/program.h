/*
 * program.h - the loaded program object and the state of one run, shared
 * by the engines (src/interp, later src/jit) and the public API.
 *
 * Owns: struct bpfvm_program (immutable after load), struct bpfvm_run
 * (one execution: stack, regions, stop/fail status), and the checked-mode
 * access test every engine and helper uses.
 */
#ifndef BPFVM_CORE_PROGRAM_H
#define BPFVM_CORE_PROGRAM_H

#include "isa/isa.h"

/* One pre-decoded instruction for the threaded interpreter: the address of
 * the code that runs it, then its fields unpacked.  The second slot of an
 * lddw holds the whole 64-bit immediate instead. */
struct interp_slot {
	union {
		const void *handler;
		uint64_t imm64;
	};
	uint8_t dst;
	uint8_t src;
	int16_t off;
	int32_t imm;     /* for helper calls: index into prog->call_fns */
};

struct bpfvm_program {
	bpfvm_insn *insns;
	size_t count;
	const bpfvm_helpers *helpers;
	bpfvm_helper_fn *call_fns;              /* one per helper call site */
	struct interp_slot *slots[2];           /* per bpfvm_mode */
	struct jit_code *jit[2];                /* per bpfvm_mode, if compiled */
	char perf_name[64];                     /* set when perf_map is on */
	struct bpfvm_map **maps;                /* referenced, for helpers and checks */
	size_t map_count;
	bpfvm_region *map_regions;              /* their storage, for checked runs */
	size_t map_region_count;
	uint32_t prog_type;
	bool jit_harden;                        /* constant blinding */
};

#define RUN_STACK_BYTES (BPFVM_STACK_SIZE * BPFVM_MAX_CALL_DEPTH)

/* RUN_TAIL_CALL: a tail call replaced the program (tail_target), which the
 * run loop then starts; like RUN_STOPPED it unwinds the current engine. */
enum run_status { RUN_OK = 0, RUN_STOPPED, RUN_FAILED, RUN_TAIL_CALL };

#define MAX_TAIL_CALLS 33      /* the kernel's MAX_TAIL_CALL_CNT */
#define RUN_EXTRA_REGIONS 16   /* inner maps met during a run */

/* Why JIT-compiled code left early (the interpreter reports directly). */
enum run_fault {
	FAULT_NONE = 0, FAULT_ACCESS, FAULT_MISALIGNED, FAULT_BUDGET, FAULT_DEPTH,
	FAULT_HELPER, FAULT_CALLX,
};

struct bpfvm_run {
	const bpfvm_program *prog;
	const bpfvm_run_opts *opts;
	uint8_t *stack;                         /* RUN_STACK_BYTES */
	int status;                             /* enum run_status */
	uint64_t stop_value;
	/* State that JIT-compiled code reads and writes at fixed offsets. */
	uint64_t jit_saved_rsp;                 /* to unwind from any depth */
	uint64_t jit_budget;                    /* checked: back edges left */
	uint32_t jit_depth;                     /* local call frames in use */
	/* Checked JIT code tests the first region inline: an access of size
	 * 1 << (k & 3), a write if k >= 4, is in it if addr - base < limit[k]
	 * (0 when it cannot be: too small, or read-only for writes). */
	uint64_t jit_region_base;
	uint64_t jit_region_limit[8];
	int32_t fault_insn;
	int32_t fault_kind;                     /* enum run_fault */
	uint32_t fault_size;
	uint64_t fault_addr;
	bool fault_write;
	struct hook_state *hook;                /* the program type's run state, if any */
	const bpfvm_program *tail_target;       /* RUN_TAIL_CALL: what runs next */
	uint64_t tail_ctx;                      /* its r1 */
	unsigned tail_calls;                    /* taken so far in this run */
	/* Map storage a checked run may touch besides opts->regions: the
	 * program's maps, and inner maps its lookups returned. */
	const bpfvm_region *map_regions;        /* the program's, made at load */
	size_t map_region_count;
	struct bpfvm_map *inner_maps[RUN_EXTRA_REGIONS];
	bpfvm_region inner_regions[RUN_EXTRA_REGIONS];
	size_t inner_count;
	char fail_msg[160];
};

/* Runs prog with a program type's state attached (src/progtypes). */
int program_run_hooked(const bpfvm_program *prog, const bpfvm_run_opts *opts, struct hook_state *hook,
                       uint64_t *r0, bpfvm_error *err);

/* Checked-mode access test: [addr, addr+len) inside the stack or one
 * region of opts (writable if write). */
/* Looks for [addr, addr+len) in regions: 1 allowed, 0 there but not
 * writable, -1 not there. */
static inline int regions_allow(const bpfvm_region *regions, size_t count, uint64_t addr, uint64_t len,
                                bool write)
{
	for (size_t i = 0; i < count; i++) {
		uint64_t rb = (uint64_t)(uintptr_t)regions[i].base;
		if (len <= regions[i].len && addr - rb <= regions[i].len - len)
			return !write || regions[i].writable;
	}
	return -1;
}

static inline bool run_access_ok(const struct bpfvm_run *run, uint64_t addr,
                                 uint64_t len, bool write)
{
	uint64_t base = (uint64_t)(uintptr_t)run->stack;
	if (addr - base <= RUN_STACK_BYTES - len && len <= RUN_STACK_BYTES)
		return true;
	int r = regions_allow(run->opts->regions, run->opts->region_count, addr, len, write);
	if (r < 0)
		r = regions_allow(run->map_regions, run->map_region_count, addr, len, write);
	if (r < 0)
		r = regions_allow(run->inner_regions, run->inner_count, addr, len, write);
	return r > 0;
}

struct jit_code;
/* JIT-compiled code of one mode (src/jit); NULL when not compiled. */
int jit_compile(const bpfvm_program *prog, bpfvm_mode mode, struct jit_code **out,
                bpfvm_error *err);
void jit_free(struct jit_code *code);
int jit_run(const bpfvm_program *prog, const struct jit_code *code, struct bpfvm_run *run,
            uint64_t *r0, bpfvm_error *err);
const void *jit_code_bytes(const struct jit_code *code, size_t *len);

/* Superinstructions of the interpreter, fused at pre-decode: clang's
 * address idiom `A = B; A += C (or imm)`, alone or followed by the load
 * `A = *(size *)(A + off)`.  Their handlers follow the ISA_OPS ones. */
enum interp_fused {
	FUSED_LEA_REG = ISA_OP_COUNT, FUSED_LEA_IMM,
	FUSED_LDX_REG_B, FUSED_LDX_REG_H, FUSED_LDX_REG_W, FUSED_LDX_REG_DW,
	FUSED_LDX_REG_SB, FUSED_LDX_REG_SH, FUSED_LDX_REG_SW,
	FUSED_LDX_IMM_B, FUSED_LDX_IMM_H, FUSED_LDX_IMM_W, FUSED_LDX_IMM_DW,
	FUSED_LDX_IMM_SB, FUSED_LDX_IMM_SH, FUSED_LDX_IMM_SW,
	INTERP_HANDLER_COUNT
};

/* The interpreter: runs prog in mode; with prog == NULL returns, through
 * *labels, the table of handler addresses used to pre-decode slots. */
int interp_run_checked(const bpfvm_program *prog, struct bpfvm_run *run,
                       uint64_t *r0, bpfvm_error *err, const void *const **labels);
int interp_run_unchecked(const bpfvm_program *prog, struct bpfvm_run *run,
                         uint64_t *r0, bpfvm_error *err, const void *const **labels);

#endif
