/*
 * run.h - the run layer: a loaded program's data and one execution of it,
 * shared by the helpers, the engines and the public API.
 *
 * Owns: struct bpfvm_program (immutable after load), struct bpfvm_run
 * (one execution: stack, regions, stop/fail status), the engine interface
 * (struct engine_ops: how the run layer and the API reach an engine
 * without knowing which), the checked-mode access test every engine and
 * helper uses, the value that stands for a callback (see CALLBACK_TAG),
 * and the run ABI helpers call back into (run.c, callback.c).
 */
#ifndef BPFVM_RUN_RUN_H
#define BPFVM_RUN_RUN_H

#include "analysis/analysis.h"
#include "isa/isa.h"
#include "maps/map_region.h"

/* A map's values window as a checked run sees it: the program's parts of
 * it (maps/map_region.h), and the map, to name it in errors. */
struct run_map_region {
	uint64_t base, len;
	struct map_region_desc shape;
	bool whole;                   /* every byte the program's: no per-stride test */
	const bpfvm_map *map;
};

/* The engines (src/interp, src/jit), by index into a program's states. */
enum engine_id { ENGINE_INTERP = 0, ENGINE_JIT, ENGINE_COUNT };

struct bpfvm_program {
	bpfvm_insn *insns;
	size_t count;
	const bpfvm_helpers *helpers;
	/* Per instruction: the descriptor of the helper a call there calls
	 * (src/helpers/helper_desc.h), else NULL.  What the engines and the
	 * inlining rules read about helpers. */
	const struct helper_desc **helper_at;
	/* What each engine prepared, per bpfvm_mode (struct engine_ops'
	 * prepare); NULL where it did not.  Only that engine reads it. */
	void *engine_state[ENGINE_COUNT][2];
	char perf_name[64];                     /* set when perf_map is on */
	struct bpfvm_map **maps;                /* referenced, for helpers and checks */
	size_t map_count;
	struct run_map_region *map_regions;     /* their storage, for checked runs */
	size_t map_region_count;
	uint32_t prog_type;
	bool sleepable;                         /* loaded with BPF_F_SLEEPABLE */
	bool jit_harden;                        /* constant blinding */
	struct analysis *analysis;              /* control flow and idioms, made at load */
	/* Subprograms an lddw of BPF_PSEUDO_FUNC names: their first
	 * instructions, ascending, each once.  Only these may be called back. */
	uint32_t *callbacks;
	size_t callback_count;
	/* The context a verifier proved the program safe for, when whoever
	 * loaded it verified it first (an instance with verify): hooks run
	 * it unchecked on that context without verifying it again. */
	struct program_verified {
		bool done;
		uint32_t prog_type;
		const struct btf *attach_btf;     /* BTF-typed types */
		uint32_t attach_func_proto;
		bool mem_verified;                /* raw programs: proved for mem_size bytes */
		uint32_t mem_size;
	} verified;
};

/* What an lddw of BPF_PSEUDO_FUNC loads: CALLBACK_TAG | the callback's
 * first instruction.  The same in every engine, and never a usable host
 * address (bits 63..48 are not a sign extension of bit 47), so a checked
 * run that dereferences it faults; only the callback helpers accept it,
 * after finding the instruction in prog->callbacks. */
#define CALLBACK_TAG 0xcbcb000000000000ULL

#define RUN_STACK_BYTES (BPFVM_STACK_SIZE * BPFVM_MAX_CALL_DEPTH)

/* RUN_TAIL_CALL: a tail call replaced the program (tail_target), which the
 * run loop then starts; like RUN_STOPPED it unwinds the current engine.
 * RUN_ERROR: an engine error inside a callback (or in calling one) ends the
 * run with run->error_code; *run->err already says why, and each engine it
 * unwinds through leaves it alone but for naming its call instruction when
 * err->insn is still -1. */
enum run_status { RUN_OK = 0, RUN_STOPPED, RUN_FAILED, RUN_TAIL_CALL, RUN_ERROR };

#define MAX_TAIL_CALLS 33      /* the kernel's MAX_TAIL_CALL_CNT */
#define RUN_EXTRA_REGIONS 16   /* inner maps met during a run */
#define RUN_MAX_RESERVED 8     /* ring buffer records a checked run holds at once */

/* Why JIT-compiled code left early (the interpreter reports directly). */
enum run_fault {
	FAULT_NONE = 0, FAULT_ACCESS, FAULT_MISALIGNED, FAULT_BUDGET, FAULT_DEPTH,
	FAULT_HELPER, FAULT_CALLX,
};

/* The kernel's BPF_MAX_LOOPS: the may_goto budget, and bpf_loop's cap. */
#define RUN_MAX_LOOPS (8u * 1024 * 1024)

struct bpfvm_run {
	const bpfvm_program *prog;
	const bpfvm_run_opts *opts;
	uint8_t *stack;                         /* RUN_STACK_BYTES */
	int status;                             /* enum run_status */
	uint64_t stop_value;
	/* State that JIT-compiled code reads and writes at fixed offsets. */
	uint64_t jit_saved_rsp;                 /* to unwind from any depth */
	/* checked: back edges left.  The interpreter loads it at entry and
	 * stores it around helper calls, so callbacks share one budget. */
	uint64_t jit_budget;
	uint32_t jit_depth;                     /* local call frames in use */
	/* may_goto falls through this many more times, then jumps: the
	 * kernel's hidden per-program budget, BPF_MAX_LOOPS at each
	 * program's start (a tail call's target starts afresh); callbacks
	 * spend from their program's */
	uint32_t may_goto_left;
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
	const struct run_map_region *map_regions;   /* the program's, made at load */
	size_t map_region_count;
	struct bpfvm_map *inner_maps[RUN_EXTRA_REGIONS];
	size_t inner_count;
	char fail_msg[160];
	/* Callbacks (src/run/callback.c); last, so that the fields above
	 * keep the short offsets compiled code uses. */
	bpfvm_error *err;                       /* where the run's error goes; never NULL */
	int error_code;                         /* RUN_ERROR: what the run returns */
	/* r10 of the frame whose helper call is in progress, stored by the
	 * engines before each helper call (the JIT only in programs with
	 * callbacks): a callback runs in the frame below it. */
	uint64_t helper_frame;
	const void *engine_state;               /* the running engine's state for prog and mode */
	/* Read-only memory a helper lends the callback it is calling (an array
	 * map's key), one a callback level, for checked runs. */
	bpfvm_region lent[BPFVM_MAX_CALL_DEPTH];
	unsigned lent_count;
	uint64_t jit_cb_entry;                  /* JIT callback trampoline: what it calls */
	uint64_t jit_cb_frame;                  /* and the r10 it gives it */
	const struct engine_ops *engine;        /* the engine running (callbacks run in it too) */
	/* Checked runs: the inner maps' windows (as inner_maps), ... */
	struct run_map_region inner_regions[RUN_EXTRA_REGIONS];
	/* ... the bpf_spin_lock the program holds (NULL: none; the kernel
	 * lets a program hold one at a time), named for errors, ... */
	void *held_lock;
	char held_lock_name[64];
	/* ... and the ring buffer samples it reserved and has not yet
	 * submitted or discarded: lent to it writable, their headers not. */
	bpfvm_region reserved[RUN_MAX_RESERVED];
	const bpfvm_map *reserved_maps[RUN_MAX_RESERVED];
	unsigned reserved_count;
};

/* An engine: one way to run a loaded program (the interpreter, the JIT).
 * The API prepares each engine's state at load and picks one per run; a
 * callback runs in the engine of the run it is called from. */
struct engine_ops {
	const char *name;
	/* At load, per mode: what run() and call_callback() need, in *state
	 * (freed with free_state). */
	int (*prepare)(const bpfvm_program *prog, bpfvm_mode mode, void **state, bpfvm_error *err);
	/* Runs prog from its entry: r1..r5 = run->opts->args, r10 = the top
	 * of run->stack. */
	int (*run)(const bpfvm_program *prog, const void *state, struct bpfvm_run *run, uint64_t *r0,
	           bpfvm_error *err);
	/* Runs callback number `index` (of prog->callbacks) with r1..r5 =
	 * args and r10 = frame, inside a run already going. */
	int (*call_callback)(const bpfvm_program *prog, const void *state, struct bpfvm_run *run, size_t index,
	                     const uint64_t args[5], uint64_t frame, uint64_t *r0, bpfvm_error *err);
	void (*free_state)(void *state);
};


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

/* Whether [off, off+len) of a map's window is the program's (a write
 * also keeps off its lock word). */
static inline bool map_shape_allows(const struct map_region_desc *shape, uint64_t off, uint64_t len, bool write)
{
	uint64_t stride = shape->stride;
	/* most strides are powers of two (a 4- or 8-byte key and value):
	 * a mask, not a division */
	uint64_t in = !stride ? off : (stride & (stride - 1)) ? off % stride : off & (stride - 1);
	if (in < shape->value_off || in - shape->value_off > shape->value_len ||
	    len > shape->value_len - (in - shape->value_off))
		return false;
	uint64_t lock = (uint64_t)(int64_t)shape->lock_off;
	return !write || shape->lock_off < 0 || in + len <= lock || in >= lock + 4;
}

/* As regions_allow, over map windows: an access that touches a window
 * at all is the window's to decide, whatever other region covers it. */
static inline int map_regions_allow(const struct run_map_region *maps, size_t count, uint64_t addr, uint64_t len,
                                    bool write)
{
	for (size_t i = 0; i < count; i++) {
		uint64_t off = addr - maps[i].base;
		if (off >= maps[i].len) {
			if (maps[i].base - addr < len)
				return 0;   /* begins before the window, ends in it */
			continue;
		}
		if (len > maps[i].len - off)
			return 0;
		return maps[i].whole || map_shape_allows(&maps[i].shape, off, len, write);
	}
	return -1;
}

/* Checked-mode access test: [addr, addr+len) inside the stack, memory a
 * helper lent (callback keys, reserved ring buffer samples), the
 * program's parts of a map window, or else one region of opts (writable
 * if write).  Map windows come before opts: an embedder that passes a
 * whole window as a region (bpfvm_instance_regions) still leaves keys,
 * lock words and record headers out of reach. */
static inline bool run_access_ok(const struct bpfvm_run *run, uint64_t addr,
                                 uint64_t len, bool write)
{
	uint64_t base = (uint64_t)(uintptr_t)run->stack;
	if (addr - base <= RUN_STACK_BYTES - len && len <= RUN_STACK_BYTES)
		return true;
	int r = -1;
	if (run->lent_count)
		r = regions_allow(run->lent, run->lent_count, addr, len, write);
	if (r < 0 && run->reserved_count)
		r = regions_allow(run->reserved, run->reserved_count, addr, len, write);
	if (r < 0)
		r = map_regions_allow(run->map_regions, run->map_region_count, addr, len, write);
	if (r < 0 && run->inner_count)
		r = map_regions_allow(run->inner_regions, run->inner_count, addr, len, write);
	if (r < 0)
		r = regions_allow(run->opts->regions, run->opts->region_count, addr, len, write);
	return r > 0;
}

/* Whether a region overlaps one of the run's map windows (the JIT then
 * leaves it to run_access_ok rather than testing it inline). */
static inline bool run_region_meets_maps(const struct bpfvm_run *run, const bpfvm_region *r)
{
	uint64_t base = (uint64_t)(uintptr_t)r->base;
	for (size_t i = 0; i < run->map_region_count; i++) {
		const struct run_map_region *m = &run->map_regions[i];
		if (base < m->base + m->len && m->base < base + r->len)
			return true;
	}
	return false;
}

/* The program's map window holding addr (its own maps', then inner
 * maps'), or NULL. */
const struct run_map_region *run_map_region_at(const struct bpfvm_run *run, uint64_t addr);
/* Describes map's window for checked runs (len 0 when it has none). */
void run_map_region_make(struct run_map_region *out, const bpfvm_map *map);
/* At the end of a checked run: releases the bpf_spin_lock the program
 * still holds and discards the ring buffer records it still has
 * reserved.  Either fails a run that had not failed (rc 0) with an error
 * naming what was left; returns the run's result. */
int run_release_leftovers(struct bpfvm_run *run, int rc, bpfvm_error *err);

/* Calls the program's callback `fn` (a value an lddw of BPF_PSEUDO_FUNC
 * loaded) with r1..r5 = args, in the run's engine and mode, on a fresh
 * frame below the helper's caller (callback.c).  Returns 0 with
 * *r0 = its result; non-zero when the run must end (it stopped, or
 * failed: run->status says so), and the helper must then return at once.
 * `helper` names the caller in errors. */
int run_callback(struct bpfvm_run *run, const char *helper, uint64_t fn, const uint64_t args[5],
                 uint64_t *r0);
/* Lends [base, base+len) read-only to the callbacks the helper calls until
 * the matching run_unlend(); false (the run failed) if nested too deep. */
bool run_lend(struct bpfvm_run *run, const void *base, size_t len);
void run_unlend(struct bpfvm_run *run);

#endif
