/*
 * agent.h - the parts of the trace agent (libbpfvm-agent.so) that talk to
 * each other: the session (agent.c: the socket, the object, the maps),
 * attaching programs at their hooks (agent_attach.c) and finding a
 * probe's function, or a uprobe.multi's functions, in the process
 * (agent_symbols.c).
 *
 * Perf event arrays (agent_perf.c) are the agent's own, forwarded.
 *
 * Owns: struct agent_target, struct agent_func, agent_resolve(),
 * agent_resolve_pattern(), agent_attach_all(),
 * agent_detach_all(), agent_send_stats(), agent_stats_rebase(),
 * agent_watch_exit(),
 * agent_thread().
 */
#ifndef BPFVM_HOOKS_AGENT_H
#define BPFVM_HOOKS_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfvm/instance.h"
#include "base/thread_block.h"
#include "hooks/agent_proto.h"

struct trace_ctx;

/* The calling thread's state in the agent. */
struct agent_thread_state {
	/* Set on the agent's own threads while they make system calls (its
	 * socket, its set-up): syscall hooks do not report them, as the
	 * kernel would not see an agent that is not there. */
	bool quiet;
	/* Where this thread's tracing context is (run/trace_ctx.h), set by
	 * agent_thread(): an event sets the tracing context, and with it the
	 * recursion guard (agent_attach.c), through it without another
	 * lookup. */
	struct trace_ctx **trace_slot;
	/* The thread's registration for hook runs (hook_internal.h), made on
	 * its first run: runs are made on it without a lookup. */
	struct hook_thread *hook_thread;
};

/* The calling thread's state, in its thread block (base/thread_block.h:
 * taken without malloc, so also in a signal handler, and for threads that
 * ran before the agent was dlopen()ed); NULL only if the process is out
 * of memory (an event is then a miss). */
struct agent_thread_state *agent_thread_make(void);
static inline __attribute__((always_inline)) struct agent_thread_state *agent_thread(void)
{
	struct thread_block *b = thread_block_current;
	struct agent_thread_state *state = b ? (struct agent_thread_state *)b->agent : NULL;
	return __builtin_expect(state && state->trace_slot, 1) ? state : agent_thread_make();
}

/* Where `uprobe/PATH:FUNC[+OFF]` lands in this process: PATH an absolute
 * path or a library name ("libc", "libc.so.6") matched against the
 * mappings' file names, FUNC from the ELF .symtab or .dynsym (empty: OFF
 * is an address of the file's own), OFF added.  0, or -errno with why in
 * err (AGENT_TEXT_MAX bytes). */
struct agent_target {
	uint64_t addr;
	uint64_t size;              /* the function's st_size less OFF, 0 if unknown */
	char file[AGENT_TEXT_MAX];  /* the mapping's file */
};
int agent_resolve(const char *path, const char *func, uint64_t off, struct agent_target *out, char *err);
/* uprobe.multi/PATH:PATTERN: every function of the file PATH names (as
 * agent_resolve) whose name in .symtab or .dynsym matches the glob
 * PATTERN ('*', '?': libbpf's glob_match), one per address, into
 * out[0..cap) and *count; an indirect function (STT_GNU_IFUNC) is the
 * code its resolver chose.  No match is -ENOENT, more than cap -E2BIG,
 * with why in err; file is the mapping's file. */
struct agent_func {
	uint64_t addr;
	uint64_t size;              /* st_size, 0 if unknown */
	char name[AGENT_NAME_MAX];
};
int agent_resolve_pattern(const char *path, const char *pattern, struct agent_func *out, size_t cap, size_t *count,
                          char file[AGENT_TEXT_MAX], char *err);
/* The mapped file PATH names (as agent_resolve matches it) into file. */
int agent_find_file(const char *path, char file[AGENT_TEXT_MAX], char *err);

/* Attaches each of progs[0..n) (programs of inst, NULL for one that was
 * not loaded) at the hook its section names, filling results[i].  A
 * program that cannot be attached leaves nothing behind.  setup_flags:
 * the session's (AGENT_COUNT_RUNS). */
void agent_attach_all(bpfvm_instance *inst, const size_t *prog_index, size_t n, struct agent_result *results,
                      uint32_t setup_flags);

/* One AGENT_STATS message per program attached, sent on fd; once per
 * session (the detach and the process's exit may both ask).  Not
 * waiting, nothing is sent while a detach is under way (which sends them
 * itself): from a probe's handler, which a detach waits for. */
void agent_send_stats(int fd, bool wait);

/* In a fork()ed child: its programs' counts start again from 0. */
void agent_stats_rebase(void);

/* at_exit is to be called when a thread calls the C library's _exit
 * (which runs no destructor): agent_attach_all() probes it, until
 * agent_detach_all(); not if a program probes _exit itself. */
void agent_watch_exit(void (*at_exit)(void));

/* Every probe off with its bytes restored, syscall tracing stopped,
 * every program detached, what perf event arrays still hold forwarded to
 * report_fd (-1: dropped); the hooks stay (empty) for the process's
 * life, so a late event finds nothing to run. */
void agent_detach_all(int report_fd);

/* agent_perf.c: a ring on every CPU slot of inst's perf event arrays
 * (0, or -errno with why); whether the session has any; their records
 * sent to fd (-1: discarded); the last ones sent and the arrays
 * forgotten, before the instance goes. */
int agent_perf_open(bpfvm_instance *inst, char *why);
bool agent_perf_active(void);
void agent_perf_forward(int fd);
void agent_perf_close(int fd);

#endif
