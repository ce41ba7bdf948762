/*
 * hook.h - hook points: the places a host runs eBPF programs, and the
 * programs attached to them.
 *
 * Owns: bpfvm_hook (a named point with the context its programs get and a
 * rule combining their results), links (one attached program each:
 * attached, detached and replaced while other threads run the hook), and
 * bpfvm_hook_run().  `bpfvm trace`'s probes and syscall hooks, the live
 * packet host and an embedder's own hooks all go through this API.
 *
 * Concurrency.  bpfvm_hook_run() takes no lock, allocates nothing and
 * makes no system call (but on a thread's first run, which registers the
 * thread: call bpfvm_hook_thread_prepare() first where that matters, as
 * in a signal handler); it may run on any number of threads at once, and
 * nested (from a helper, or a signal handler, of a run in progress).
 * Attach, detach and replace publish a new list of links with one store
 * and return once no thread can still be running what they took out:
 * after bpfvm_hook_detach() or bpfvm_hook_replace() returns, the program
 * taken out may be freed.  They are serialised per hook, and must not be
 * called from inside a run of a hook on the same thread (-EDEADLK).
 */
#ifndef BPFVM_HOOK_H
#define BPFVM_HOOK_H

#include "bpfvm/api.h"
#include "bpfvm/bpfvm.h"
#include "bpfvm/instance.h"

struct btf; /* libbpf's, from <bpf/btf.h> */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bpfvm_hook bpfvm_hook;

/* What r1 is for the hook's programs. */
typedef enum bpfvm_hook_ctx_kind {
	/* Raw memory of ctx_size bytes: r1 = ctx, r2 = ctx_size, as
	 * BPFVM_PROG_TYPE_RAW programs (SEC("bpfvm")) take it. */
	BPFVM_HOOK_CTX_MEM = 0,
	/* A program type's context (prog_type: struct xdp_md, __sk_buff,
	 * pt_regs, a tracepoint's record, ...), laid out as the kernel's. */
	BPFVM_HOOK_CTX_PROG_TYPE = 1,
	/* A BTF type of btf: a FUNC_PROTO, whose arguments the context holds
	 * as u64s as for fmod_ret programs (BPF_PROG_TYPE_TRACING, a result
	 * of any value), then one u64 more, which fmod_ret reads as the
	 * function's return value (0, or what the host sets); pointers to
	 * structs among them are typed, and the host must pass real ones. */
	BPFVM_HOOK_CTX_BTF = 2,
} bpfvm_hook_ctx_kind;

/* How the results of several attached programs make the hook's result.
 * Programs run in the order they were attached. */
typedef enum bpfvm_hook_combine {
	/* Run every program; the result is the last one's. */
	BPFVM_HOOK_RUN_ALL = 0,
	/* Stop at the first program whose result is stop_value (the result
	 * then); else the last one's. */
	BPFVM_HOOK_STOP_AT = 1,
	/* After each program, combine_fn(user, link, r0, &result): it sets
	 * the result as it likes (it starts as empty_result) and returns true
	 * to stop. */
	BPFVM_HOOK_CALLBACK = 2,
} bpfvm_hook_combine;

typedef bool (*bpfvm_hook_combine_fn)(void *user, uint64_t link, uint64_t r0, uint64_t *result);

typedef struct bpfvm_hook_opts {
	/* sizeof this struct as the caller was built: set by BPFVM_OPTS. */
	size_t sz;
	const char *name;                 /* copied; in messages and bpfvm_hook_name() */
	bpfvm_hook_ctx_kind ctx_kind;
	uint32_t ctx_size;                /* MEM: the bytes at ctx */
	uint32_t prog_type;               /* PROG_TYPE: the kernel's enum bpf_prog_type */
	const struct btf *btf;            /* BTF: must outlive the hook */
	uint32_t btf_id;
	bpfvm_hook_combine combine;
	uint64_t stop_value;              /* STOP_AT */
	bpfvm_hook_combine_fn combine_fn; /* CALLBACK */
	void *combine_user;
	uint64_t empty_result;            /* the result when no program is attached */
	void *user;                       /* for helpers: bpfvm_run_user() */
} bpfvm_hook_opts;

BPFVM_API int bpfvm_hook_new(const bpfvm_hook_opts *opts, bpfvm_hook **out, bpfvm_error *err);
/* Detaches every program (waiting as bpfvm_hook_detach does) and frees
 * the hook; no thread may run it any more. */
BPFVM_API void bpfvm_hook_free(bpfvm_hook *hook);
BPFVM_API const char *bpfvm_hook_name(const bpfvm_hook *hook);

/* Attaches prog (which must outlive its link) after the last program
 * attached.  The program is verified for the hook's context first, and
 * refused with the verifier's message if unsafe; one whose instance
 * verified it for the same context (bpfvm_instance_opts.verify) is not
 * verified again, and a program that uses maps or callbacks must be
 * verified so, since its loaded instructions have them bound.  Verified,
 * it runs unchecked, by the JIT if it was loaded with jit.  *link: an id
 * unique in the process. */
BPFVM_API int bpfvm_hook_attach(bpfvm_hook *hook, const bpfvm_program *prog, uint64_t *link, bpfvm_error *err);
/* Takes the link's program out; returns once no thread runs it. */
BPFVM_API int bpfvm_hook_detach(bpfvm_hook *hook, uint64_t link, bpfvm_error *err);
/* Puts prog in the link's place (verified as by attach); each run runs
 * the old program or the new one, never neither.  Returns once no thread
 * runs the old one. */
BPFVM_API int bpfvm_hook_replace(bpfvm_hook *hook, uint64_t link, const bpfvm_program *prog, bpfvm_error *err);

/* For a program that uses maps or callbacks (bound at load) whose
 * instance could not verify it for the hook: a raw program, which an
 * instance proves for no context memory at all, or a BTF-typed one
 * whose object resolved its attach target in a copy of the hook's BTF.
 * Load it unverified (bpfvm_instance_opts.verify false), then this
 * verifies program `index` of inst for the hook's context with the
 * instance's maps and records it, so that bpfvm_hook_attach and
 * bpfvm_hook_replace on this hook take it; refused with the verifier's
 * message as by attach. */
BPFVM_API int bpfvm_hook_verify_prog(bpfvm_hook *hook, const bpfvm_instance *inst, size_t index, bpfvm_error *err);

typedef struct bpfvm_hook_link_info {
	uint64_t link;
	const bpfvm_program *prog;
} bpfvm_hook_link_info;

/* The links in run order: fills up to cap of out, returns how many there are. */
BPFVM_API size_t bpfvm_hook_links(const bpfvm_hook *hook, bpfvm_hook_link_info *out, size_t cap);

/* Runs the attached programs over ctx and combines their results into
 * *result.  0, or the first failing program's error (in *err if not NULL;
 * the programs after it do not run). */
BPFVM_API int bpfvm_hook_run(bpfvm_hook *hook, void *ctx, uint64_t *result, bpfvm_error *err);

struct xdp_md; /* the kernel's, from <linux/bpf.h> */

/* Runs an XDP hook's programs (a BPFVM_HOOK_CTX_PROG_TYPE hook of
 * BPF_PROG_TYPE_XDP) over one frame, as bpfvm_hook_run does, with the
 * frame known to the packet helpers: bpf_xdp_adjust_head, _tail and _meta
 * then move the packet within it as the kernel's do (a bpfvm_hook_run of
 * an XDP hook has no frame, and they fail).  ctx's data_meta, data and
 * data_end point into frame[0, frame_size), which must lie below 4 GiB
 * (xdp_md's packet fields are u32 addresses, as in the kernel's UAPI),
 * with the kernel's room around the packet: 256 bytes of headroom before
 * data (XDP_PACKET_HEADROOM) and 320 after data_end.  After the run, ctx
 * holds the packet as the programs left it. */
BPFVM_API int bpfvm_hook_run_xdp(bpfvm_hook *hook, struct xdp_md *ctx, void *frame, size_t frame_size,
                                 uint64_t *result, bpfvm_error *err);

/* Registers the calling thread for hook runs (a thread's first run does
 * otherwise, allocating): for threads whose first run may come from a
 * signal handler. */
BPFVM_API int bpfvm_hook_thread_prepare(bpfvm_error *err);

#ifdef __cplusplus
}
#endif
#endif
