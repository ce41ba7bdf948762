/*
 * bpfvm.h - the public embedding API of bpfvm, a userspace eBPF runtime.
 *
 * Owns: the types and entry points a host program uses to load eBPF bytecode
 * into an immutable program object, register helpers by 32-bit ID, and run
 * the program (checked or unchecked) to get r0.
 *
 * Conventions: every fallible function returns 0 on success or a negative
 * errno-style code, and fills a caller-supplied bpfvm_error with a message
 * that names the instruction or input position.  Nothing here prints,
 * exits or aborts.
 */
#ifndef BPFVM_BPFVM_H
#define BPFVM_BPFVM_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "bpfvm/api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One eBPF instruction, laid out exactly as in RFC 9669 and the kernel's
 * struct bpf_insn (little-endian host). */
typedef struct bpfvm_insn {
	uint8_t opcode;
	uint8_t dst : 4;
	uint8_t src : 4;
	int16_t off;
	int32_t imm;
} bpfvm_insn;

/* One function of a program and its BTF FUNC, as the kernel's struct
 * bpf_func_info (BPF_PROG_LOAD's func_info), but insn_off counts
 * instructions, not bytes: the function's first. */
typedef struct bpfvm_func_info {
	uint32_t insn_off;
	uint32_t type_id;
} bpfvm_func_info;

#define BPFVM_STACK_SIZE 512u          /* bytes per call frame */
#define BPFVM_MAX_CALL_DEPTH 8u        /* frames, the entry function included */
#define BPFVM_MAX_INSNS (1u << 20)     /* default cap on program length */

/* Where an error happened and why.  insn is the instruction index, or -1
 * when the error is not about one instruction; line is the 1-based source
 * line for errors from the assembler, else 0. */
typedef struct bpfvm_error {
	int code;
	int insn;
	int line;
	char msg[256];
} bpfvm_error;

/* ---- helpers -------------------------------------------------------- */

typedef struct bpfvm_run bpfvm_run;   /* one execution in progress */

/* A helper receives r1..r5 and the execution it serves; its result is r0. */
typedef uint64_t (*bpfvm_helper_fn)(uint64_t r1, uint64_t r2, uint64_t r3,
                                    uint64_t r4, uint64_t r5, bpfvm_run *run);

typedef struct bpfvm_helpers bpfvm_helpers;

BPFVM_API bpfvm_helpers *bpfvm_helpers_new(void);
BPFVM_API void bpfvm_helpers_free(bpfvm_helpers *helpers);
/* Registers (or replaces) helper `id`.  `name` is copied.  A table is
 * frozen once a program is loaded with it: adding to it (or changing it
 * in any way) is then refused with -EBUSY.  The verifier checks calls to
 * a helper against its prototype: the kernel's helpers have theirs; give
 * yours one with bpfvm_helpers_set_proto() (<bpfvm/helpers.h>). */
BPFVM_API int bpfvm_helpers_add(bpfvm_helpers *helpers, uint32_t id, const char *name,
                      bpfvm_helper_fn fn, bpfvm_error *err);
/* Returns the function for `id`, or NULL; `name` (optional) gets its name. */
BPFVM_API bpfvm_helper_fn bpfvm_helpers_find(const bpfvm_helpers *helpers, uint32_t id,
                                   const char **name);

/* A table holding the kernel's helpers that bpfvm implements, by the
 * kernel's IDs (bpf_ktime_get_ns is 5, ...); add your own beside them. */
BPFVM_API bpfvm_helpers *bpfvm_helpers_new_kernel(bpfvm_error *err);

/* Where bpf_trace_printk lines go (default: stderr, one line each).
 * -EBUSY once a program has been loaded with the table. */
typedef void (*bpfvm_trace_fn)(void *user, const char *line);
BPFVM_API int bpfvm_helpers_set_trace(bpfvm_helpers *helpers, bpfvm_trace_fn fn, void *user);

/* From inside a helper: the embedder's pointer given in bpfvm_run_opts. */
BPFVM_API void *bpfvm_run_user(const bpfvm_run *run);
/* From inside a helper: stop the program now; the run returns r0 = value. */
BPFVM_API void bpfvm_run_stop(bpfvm_run *run, uint64_t value);
/* From inside a helper: fail the run with a message (copied). */
BPFVM_API void bpfvm_run_fail(bpfvm_run *run, const char *msg);
/* From inside a helper: true if [addr, addr+len) lies within one region
 * the program may access (its stack, input memory, embedder regions),
 * and is writable when `write` is set. */
BPFVM_API bool bpfvm_run_check_access(const bpfvm_run *run, uint64_t addr, uint64_t len,
                            bool write);

/* ---- programs ------------------------------------------------------- */

typedef struct bpfvm_program bpfvm_program;

typedef struct bpfvm_load_opts {
	/* sizeof this struct as the caller was built: set by BPFVM_OPTS. */
	size_t sz;
	/* Helpers the program may call.  A call to an ID not registered here
	 * is rejected at load.  NULL: no helpers. The table must outlive
	 * the program. */
	const bpfvm_helpers *helpers;
	/* Reject longer programs; 0 means BPFVM_MAX_INSNS. */
	uint32_t max_insns;
	/* Also compile to x86-64 machine code (both modes) at load. */
	bool jit;
	/* With jit: constant blinding, so no immediate of the program appears
	 * in the machine code (off by default, like the kernel's
	 * bpf_jit_harden). */
	bool jit_harden;
	/* A name for the program (profilers, messages); copied. */
	const char *name;
	/* With jit: list the code in /tmp/perf-PID.map so `perf report`
	 * names it.  Also turned on by the environment BPFVM_PERF_MAP=1. */
	bool perf_map;
	/* The kernel's enum bpf_prog_type (BPF_PROG_TYPE_XDP, ...), or
	 * BPFVM_PROG_TYPE_RAW: what the program sees as its context. */
	uint32_t prog_type;
	/* The maps the program uses (<bpfvm/maps.h>): the program keeps a
	 * reference to each; map helpers accept only these (and inner maps
	 * they hold), and checked runs may touch their storage. */
	struct bpfvm_map *const *maps;
	size_t map_count;
	/* The kernel's BPF_F_SLEEPABLE: the program may call helpers that may
	 * sleep (bpf_copy_from_user); a call to one is refused at load
	 * without it, as the kernel refuses it (bpfvm_verify_opts.sleepable
	 * has the verifier's other rules). */
	bool sleepable;
	/* Optional: `count` bytes from a verification of these instructions
	 * (bpfvm_verify_opts.walked), nonzero where a path of the walk
	 * reached.  A write to r10 outside them is dead code, which the
	 * kernel removes once a program is verified: the loaded program has
	 * a jump to the next instruction there instead.  Without it (or where
	 * the walk reached) a write to r10 is refused at load. */
	const uint8_t *walked;
} bpfvm_load_opts;

/* Raw memory: r1 = memory, r2 = its length (the conformance suite's and
 * uBPF's convention), for SEC("bpfvm") programs.  A number outside the
 * kernel's range; plain loads (prog_type 0) behave the same. */
#define BPFVM_PROG_TYPE_RAW 0x10000u

/* Validates `insns` (structure only: opcodes, encodings, registers, jump
 * and call targets, fall-through off the end) and builds an immutable
 * program.  Many threads may run one program at once. */
BPFVM_API int bpfvm_program_load(const bpfvm_insn *insns, size_t count,
                       const bpfvm_load_opts *opts, bpfvm_program **out,
                       bpfvm_error *err);
BPFVM_API void bpfvm_program_free(bpfvm_program *prog);
BPFVM_API size_t bpfvm_program_insn_count(const bpfvm_program *prog);
/* The machine code compiled for mode, if the program was loaded with jit;
 * returns -ENOENT otherwise. */
BPFVM_API int bpfvm_program_jited(const bpfvm_program *prog, int mode, const void **code, size_t *len);
BPFVM_API const bpfvm_insn *bpfvm_program_insns(const bpfvm_program *prog);

/* ---- running -------------------------------------------------------- */

/* A span of host memory the program may touch in checked mode. */
typedef struct bpfvm_region {
	void *base;
	size_t len;
	bool writable;
} bpfvm_region;

typedef enum bpfvm_mode {
	BPFVM_CHECKED = 0,   /* every access checked; safe for any program */
	BPFVM_UNCHECKED = 1, /* for programs a verifier has proved safe */
} bpfvm_mode;

typedef enum bpfvm_engine {
	BPFVM_ENGINE_DEFAULT = 0,  /* the JIT if the program has one, else the interpreter */
	BPFVM_ENGINE_INTERP = 1,
	BPFVM_ENGINE_JIT = 2,      /* an error if the program was loaded without jit */
} bpfvm_engine;

typedef struct bpfvm_run_opts {
	/* sizeof this struct as the caller was built: set by BPFVM_OPTS. */
	size_t sz;
	uint64_t args[5];          /* r1..r5 at entry */
	bpfvm_mode mode;
	bpfvm_engine engine;
	/* Memory the program may access besides its stack (checked mode). */
	const bpfvm_region *regions;
	size_t region_count;
	/* Packet for the legacy LD_ABS/LD_IND loads; NULL: none (they then
	 * end the program with r0 = 0, as the kernel does out of bounds). */
	const void *packet;
	size_t packet_len;
	/* Checked mode: stop with an error after this many taken backward
	 * jumps and calls (a guard against endless loops); 0: no limit. */
	uint64_t max_back_edges;
	void *user;                /* returned by bpfvm_run_user() */
} bpfvm_run_opts;

/* Runs `prog`; on success *r0 holds the result. */
BPFVM_API int bpfvm_program_run(const bpfvm_program *prog, const bpfvm_run_opts *opts,
                      uint64_t *r0, bpfvm_error *err);

/* One test run, as the kernel's BPF_PROG_TEST_RUN: the program type
 * builds its context (xdp_md, __sk_buff, pt_regs, ...) from data_in and
 * ctx_in, runs the program `repeat` times, and gives back the packet and
 * context afterwards.  Supported types: BPFVM_PROG_TYPE_RAW (data is the
 * memory), socket_filter, sched_cls, sched_act, xdp, kprobe (ctx_in is a
 * struct pt_regs), tracepoint and raw_tracepoint (ctx_in is the record
 * or the u64 arguments), tracing and lsm (ctx_in is at most 12 u64
 * arguments; with data_in, an argument BPFVM_TEST_RUN_DATA_ARG + N,
 * N < data_size_in, becomes the address of byte N of a copy of data_in,
 * which data_out gives back).  As in the kernel, an xdp run takes at
 * most 3520 bytes in its one page, and ctx_in's data_end must be the
 * packet's size: bpfvm refuses (-ENOTSUP) the multi-buffer frames the
 * kernel makes of more (fragments are not supported). */
#define BPFVM_TEST_RUN_DATA_ARG 0x8000000000000000ull
typedef struct bpfvm_test_run {
	/* sizeof this struct as the caller was built: set by BPFVM_OPTS. */
	size_t sz;
	const void *data_in;
	uint32_t data_size_in;
	void *data_out;            /* may be NULL */
	uint32_t data_size_out;    /* in: capacity of data_out; out: bytes */
	const void *ctx_in;        /* may be NULL */
	uint32_t ctx_size_in;
	void *ctx_out;             /* may be NULL */
	uint32_t ctx_size_out;     /* in: capacity of ctx_out; out: bytes */
	uint32_t repeat;           /* 0 counts as 1 */
	bpfvm_mode mode;
	bpfvm_engine engine;
	/* Memory the program may touch besides its context and packet, such
	 * as map storage (checked mode). */
	const bpfvm_region *regions;
	size_t region_count;
	void *user;                /* for helpers: bpfvm_run_user() */
	uint64_t retval;           /* out: r0 of the last run */
	uint64_t duration_ns;      /* out: mean time of one run */
} bpfvm_test_run;

BPFVM_API int bpfvm_program_test_run(const bpfvm_program *prog, bpfvm_test_run *run, bpfvm_error *err);

/* The program type given at load. */
BPFVM_API uint32_t bpfvm_program_type(const bpfvm_program *prog);
/* The kernel's name of a program type ("xdp", "sched_cls", ...), or NULL. */
BPFVM_API const char *bpfvm_prog_type_name(uint32_t prog_type);

/* Convenience: r1 = mem (writable), r2 = len, and mem is also the packet
 * for LD_ABS/LD_IND, as the conformance suite and uBPF do. */
BPFVM_API int bpfvm_program_run_mem(const bpfvm_program *prog, void *mem, size_t len,
                          bpfvm_mode mode, uint64_t *r0, bpfvm_error *err);

/* ---- assembler and disassembler ------------------------------------- */

/* Assembles the text syntax of the bpf_conformance suite's `-- asm`
 * sections.  On success *insns (malloc'd, free with free()) and *count. */
BPFVM_API int bpfvm_asm(const char *text, bpfvm_insn **insns, size_t *count,
              bpfvm_error *err);

typedef enum bpfvm_syntax {
	BPFVM_SYNTAX_ASM = 0,  /* the conformance suite's syntax; reassembles */
	BPFVM_SYNTAX_LLVM = 1, /* llvm-objdump's form: r0 = 1, if r1 > r2 goto +3 */
} bpfvm_syntax;

/* Disassembles instruction `pc` of `insns` into buf; returns the number of
 * slots it used (2 for lddw, else 1), or a negative code for an invalid
 * instruction (buf then holds a description). */
BPFVM_API int bpfvm_disasm_insn(const bpfvm_insn *insns, size_t count, size_t pc,
                      bpfvm_syntax syntax, char *buf, size_t buflen);

/* Human-readable name of an error code returned by this API. */
BPFVM_API const char *bpfvm_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif
