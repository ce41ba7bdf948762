/*
 * thread_block.h - the runtime's per-thread state, all of it in one block
 * per thread: the calling thread's block is reached through one
 * initial-exec thread-local pointer, and blocks come from a pool of the
 * library's own, made with mmap(2) (thread_block.c).
 *
 * Why not __thread variables: the trace agent (a copy of the runtime) is
 * dlopen()ed into running processes, where glibc gives a library's
 * general-dynamic thread-local data to each thread at its first access,
 * with malloc, which a signal handler (the agent's SIGSYS and SIGTRAP
 * handlers run programs) must not call.  A library's initial-exec data
 * glibc places at dlopen in every thread's static block, already made;
 * it has little room for that (a few hundred bytes for every library), so
 * the runtime keeps one pointer there, and every block is handed out and
 * taken back without malloc, a lock or anything a signal handler may not
 * do.  Only the agent's copy (compiled with
 * BPFVM_THREAD_BLOCK_INITIAL_EXEC) does: libbpfvm.so uses no static TLS,
 * so that it can be dlopen()ed anywhere and dlclose()d (tests/
 * lib_exports.sh); there the pointer is general-dynamic, made on a
 * thread's first access (bpfvm_hook_thread_prepare() before a signal
 * handler's runs), and in an executable linked with libbpfvm.a it is a
 * constant offset all the same.
 *
 * Owns: struct thread_block, thread_block_self(), the pool, the walk over
 * every block (for hook runs' grace periods).
 */
#ifndef BPFVM_BASE_THREAD_BLOCK_H
#define BPFVM_BASE_THREAD_BLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct trace_ctx;
struct spare_table;

/* The byte sizes of the parts of layers above (each checked where it is
 * used: a part that outgrows its room does not compile). */
#define THREAD_BLOCK_HOOK_BYTES 6656      /* hooks/hook.c: struct hook_thread */
#define THREAD_BLOCK_SHADOW_BYTES 4160    /* hooks/probe.c: the return probes' shadow stack */
#define THREAD_BLOCK_AGENT_BYTES 64       /* hooks/agent_attach.c: struct agent_thread_state */
#define THREAD_BLOCK_RUN_STACK_BYTES 4096 /* api/program.c: the thread's eBPF stack */
#define THREAD_BLOCK_MEMO_BYTES 34816     /* verifier/scalar.c: its memo of scalar_sync() answers */

#define THREAD_BLOCK_PAGE 4096

struct thread_block {
	/* the pool's */
	struct thread_block *next;    /* every block ever made, never unmapped (a walk may be on it) */
	_Atomic pid_t owner;          /* the thread's id; 0: never taken */
	atomic_bool exiting;          /* the owner's key destructor ran: taken back once it is gone */
	/* the small parts, zeroed when the block is taken */
	struct trace_ctx *trace_ctx;          /* run/trace_ctx.h: the tracing context */
	struct spare_table *hash_spares;      /* maps/hash.c: the thread's spare entries */
	uint64_t prandom_state;               /* helpers/kernel.c: bpf_get_prandom_u32 */
	uint32_t hash_locks;                  /* maps/hash.c: hash map locks the thread holds */
	uint32_t map_locks;                   /* maps/map_lock.h: other maps' locks the thread holds */
	bool run_stack_busy;                  /* api/program.c: run_stack is in use */
	bool hook_ready;                      /* hooks/hook.c: hook is set up */
	/* the large parts, from the second page on: zeroed by giving the
	 * pages back (MADV_DONTNEED), so a thread's block costs memory only
	 * for what it touches */
	_Alignas(THREAD_BLOCK_PAGE) unsigned char hook[THREAD_BLOCK_HOOK_BYTES];
	_Alignas(64) unsigned char shadow[THREAD_BLOCK_SHADOW_BYTES];
	_Alignas(64) unsigned char agent[THREAD_BLOCK_AGENT_BYTES];
	_Alignas(64) uint8_t run_stack[THREAD_BLOCK_RUN_STACK_BYTES];
	_Alignas(64) unsigned char memo[THREAD_BLOCK_MEMO_BYTES];
};

/* The calling thread's block, NULL until it takes one.  Initial-exec in
 * the agent (see the header): one load at a constant offset from the
 * thread pointer, even in a dlopen()ed library. */
#ifdef BPFVM_THREAD_BLOCK_INITIAL_EXEC
#define THREAD_BLOCK_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define THREAD_BLOCK_TLS_MODEL
#endif
extern __thread struct thread_block *thread_block_current THREAD_BLOCK_TLS_MODEL;

/* Takes a block for the calling thread (a free one, or a new mapping);
 * NULL if none can be mapped.  Async-signal-safe. */
struct thread_block *thread_block_take(void);

/* The calling thread's block, taken at its first call; NULL only if the
 * process is out of memory.  Async-signal-safe. */
static inline __attribute__((always_inline)) struct thread_block *thread_block_self(void)
{
	struct thread_block *b = thread_block_current;
	return __builtin_expect(b != NULL, 1) ? b : thread_block_take();
}

/* The first of every block made (then ->next): blocks are never unmapped,
 * and a free one's parts read as zero. */
struct thread_block *thread_block_first(void);

#endif
