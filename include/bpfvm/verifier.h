/*
 * verifier.h - the static verifier: proves, before a program runs, that
 * every path through it only touches memory it may touch, reads only
 * initialised registers and stack, calls helpers with the arguments their
 * prototypes ask for, releases what it acquires and terminates.  A
 * verified program may then run unchecked (BPFVM_UNCHECKED).
 *
 * Owns: the options, statistics and entry point of verification.  The
 * rules follow the Linux kernel's verifier for a privileged loader
 * (CAP_BPF + CAP_PERFMON): programs the kernel accepts are accepted, and
 * rejections carry a message in the kernel's words plus the instruction,
 * its source line and the register state that made it unsafe.
 */
#ifndef BPFVM_VERIFIER_H
#define BPFVM_VERIFIER_H

#include "bpfvm/api.h"
#include "bpfvm/bpfvm.h"
#include "bpfvm/maps.h"

struct btf; /* libbpf's, from <bpf/btf.h> */

#ifdef __cplusplus
extern "C" {
#endif

/* Receives the verifier's log, a line or more at a time. */
typedef void (*bpfvm_log_fn)(void *user, const char *text);

/* Names the source of instruction `insn`: 0 and *file, *line (and the
 * line's text, or NULL) if known, else non-zero. */
typedef int (*bpfvm_line_fn)(void *user, size_t insn, const char **file, uint32_t *line, const char **text);

/* The name of the kfunc the call at instruction `insn` names, or NULL. */
typedef const char *(*bpfvm_kfunc_name_fn)(void *user, size_t insn);

typedef struct bpfvm_verify_opts {
	/* sizeof this struct as the caller was built: set by BPFVM_OPTS. */
	size_t sz;
	/* The kernel's enum bpf_prog_type, or BPFVM_PROG_TYPE_RAW (r1 points
	 * to r2 bytes of memory). */
	uint32_t prog_type;
	/* Helpers that exist; a call to one not here is rejected.  NULL: the
	 * kernel's table.  Only helpers with a known prototype can be
	 * verified; others are rejected as unsupported. */
	const bpfvm_helpers *helpers;
	/* Maps referenced by lddw: src 1 (BPF_PSEUDO_MAP_FD) and 2
	 * (BPF_PSEUDO_MAP_VALUE) with imm = index here, as the loader leaves
	 * them before binding. */
	struct bpfvm_map *const *maps;
	size_t map_count;
	/* BPFVM_PROG_TYPE_RAW: the size of the memory r1 points to (0: no
	 * access through r1 is provable). */
	uint32_t mem_size;
	/* Optional: source lines for messages. */
	bpfvm_line_fn line_info;
	void *line_user;
	/* 0: the verdict only; 1: the path to a rejection and the kernel's
	 * summary line ("processed N insns ..."); 2: also every instruction
	 * with the register state after it. */
	int log_level;
	bpfvm_log_fn log;
	void *log_user;
	/* Every access aligned to its size, as the kernel's
	 * BPF_F_STRICT_ALIGNMENT load flag asks (atomics and the stack
	 * always are). */
	bool strict_alignment;
	/* Instructions processed before giving up (the kernel's
	 * BPF_COMPLEXITY_LIMIT_INSNS); 0: 1,000,000. */
	uint32_t complexity_limit;
	/* The program's license (an object's "license" section).  As in the
	 * kernel, GPL-only helpers (bpf_trace_printk, bpf_probe_read_*,
	 * bpf_perf_event_output, bpf_snprintf) need a GPL-compatible one:
	 * "GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL",
	 * "Dual MIT/GPL" or "Dual MPL/GPL".  NULL: not checked (raw programs
	 * have no license). */
	const char *license;
	/* BTF-typed program types (BPF_PROG_TYPE_TRACING: tp_btf, fentry,
	 * fexit, fmod_ret, iter; BPF_PROG_TYPE_LSM): the attach target as the
	 * kernel's prog->aux holds it.  The context is an array of u64
	 * arguments typed by the FUNC_PROTO attach_func_proto of attach_btf:
	 * a pointer to a struct becomes a typed pointer whose fields may be
	 * read (the kernel's PTR_TO_BTF_ID).  attach_btf_trace: the proto is
	 * a tracepoint's btf_trace_NAME, whose first argument (void *__data)
	 * the program does not see.  attach_name: the FUNC or typedef's name
	 * (as "bpf_lsm_file_open", "btf_trace_sched_switch").  NULL
	 * attach_btf: none (the kernel refuses such a tracing program). */
	const struct btf *attach_btf;
	uint32_t attach_func_proto;
	uint32_t expected_attach_type;
	bool attach_btf_trace;
	const char *attach_name;
	/* The program's BTF and func info (an object's: bpfvm_object_btf()
	 * and bpfvm_object_prog's func_info), as the kernel's BPF_PROG_LOAD
	 * takes them.  A subprogram whose BTF FUNC is global (not static)
	 * is verified as the kernel 6.18 verifies it: once, on its own, its
	 * arguments typed by its FUNC_PROTO (a number; the context; a
	 * pointer to memory of the pointed type's size, maybe NULL); a call
	 * to it checks the caller's arguments against those types and
	 * returns an unknown number.  NULL: every subprogram is static,
	 * walked with its caller's state at each call. */
	const struct btf *prog_btf;
	const bpfvm_func_info *func_info;
	size_t func_info_count;
	/* The kernel's BPF_F_SLEEPABLE (an object's bpfvm_object_prog.sleepable;
	 * `bpfvm verify --sleepable`): the program may call helpers that may
	 * sleep (bpf_copy_from_user), may use only array, hash, ringbuf,
	 * queue/stack and local storage maps (also as inner maps), and its
	 * type must be one that can sleep: a kprobe (for uprobes), or fentry,
	 * fexit, fmod_ret, iter and lsm, whose targets' sleepability bpfvm
	 * cannot check (fentry, fexit, fmod_ret and lsm are refused as
	 * unsupported). */
	bool sleepable;
	/* Optional, out: `count` bytes, set to 1 for each instruction some
	 * path of the walk reached and to 0 for the others: code the kernel
	 * removes once a program is verified (a write to r10 there is no
	 * error; bpfvm_load_opts.walked makes it a no-op at load). */
	uint8_t *walked;
	/* Optional: names the kfunc of a call with ID 0, one bpfvm does not
	 * provide (a weak extern, which the loader leaves as libbpf leaves
	 * one the kernel lacks).  A path reaching such a call is refused as
	 * unsupported, by the kfunc's name: the kernel may well have it.
	 * NULL: refused in the kernel's words for a kfunc it lacks ("invalid
	 * kernel function call not eliminated in verifier pass"). */
	bpfvm_kfunc_name_fn kfunc_name;
	void *kfunc_user;
	/* The kernel's BTF, whose type IDs kfunc arguments name (the type
	 * bpf_rdonly_cast casts to, as bpf_core_type_id_kernel() relocated
	 * it against the object's kernel BTF: bpfvm_object_kernel_btf()).
	 * NULL: attach_btf; neither: such a call is unsupported. */
	const struct btf *kernel_btf;
} bpfvm_verify_opts;

typedef struct bpfvm_verify_stats {
	uint64_t processed_insns;     /* as the kernel's "processed N insns" */
	uint32_t total_states;        /* states kept for pruning */
	uint32_t peak_states;
	uint32_t max_states_per_insn;
	uint64_t nanoseconds;         /* time spent verifying */
} bpfvm_verify_stats;

/* Verifies `insns`.  Returns 0 if the program is safe; -EACCES if some
 * path is unsafe, -EINVAL if it is malformed, -E2BIG if it is too complex
 * to prove, -ENOTSUP if it uses something the verifier cannot reason
 * about (a helper without a prototype, an unknown program type).  err
 * then names the instruction and why.  stats may be NULL. */
BPFVM_API int bpfvm_verify(const bpfvm_insn *insns, size_t count, const bpfvm_verify_opts *opts,
                 bpfvm_verify_stats *stats, bpfvm_error *err);

#ifdef __cplusplus
}
#endif
#endif
