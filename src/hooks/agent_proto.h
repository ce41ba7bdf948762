/*
 * agent_proto.h - the messages between `bpfvm trace` (tools/cmd_trace.c)
 * and its agent in each traced process (src/hooks/agent*.c), over one
 * SOCK_SEQPACKET Unix socket connection per process (one message per
 * record, so no framing).
 *
 * Owns: the message layouts and the order of a session:
 *   agent  -> trace   HELLO (pid, parent, executable; forked: a child
 *                     whose probes are in place already, copied by fork)
 *   trace  -> agent   SETUP (counts, flags) with the object's memfd
 *                     (SCM_RIGHTS); then prog_count PROG messages; then
 *                     for each object map in index order a MAP header
 *                     and, if present, bpfvm_map_send()'s message
 *                     (not to a forked agent: it has all of this)
 *   agent  -> trace   one RESULT per program (attached on which path, or
 *                     why not), then READY (attach over, target resumes)
 *   agent  -> trace   PERF_SAMPLE / PERF_LOST, at any time after READY:
 *                     what the programs wrote to a perf event array (its
 *                     rings are this process's), every
 *                     AGENT_PERF_INTERVAL_MS and at the end
 *   trace  -> agent   DETACH, at any time after READY
 *   agent  -> trace   one STATS per program attached (its runs, its
 *                     recursion misses, the path serving it), then
 *                     DETACHED once every probe is off and every byte
 *                     restored.  A closed socket detaches too.  A process
 *                     that exits sends its STATS on the way out (not one
 *                     that is killed).
 */
#ifndef BPFVM_HOOKS_AGENT_PROTO_H
#define BPFVM_HOOKS_AGENT_PROTO_H

#include <stdint.h>

#define AGENT_SOCKET_ENV "BPFVM_AGENT_SOCKET"
#define AGENT_ENTRY "bpfvm_agent_start"
#define AGENT_NAME_MAX 128
#define AGENT_TEXT_MAX 400

enum agent_msg_type {
	AGENT_HELLO = 1,
	AGENT_SETUP,
	AGENT_PROG,
	AGENT_MAP,
	AGENT_RESULT,
	AGENT_READY,
	AGENT_DETACH,
	AGENT_DETACHED,
	AGENT_STATS,
	AGENT_PERF_SAMPLE,
	AGENT_PERF_LOST,
};

#define AGENT_PERF_INTERVAL_MS 20
/* the largest message: a perf record's raw sample is under 64 KiB */
#define AGENT_MSG_MAX (64 * 1024 + 64)

enum agent_setup_flags {
	AGENT_NO_FOLLOW = 1 << 0,   /* children are not traced */
	AGENT_COUNT_RUNS = 1 << 1,  /* count every run (`--stats`); misses are always counted */
	AGENT_DISPATCH_ON = 1 << 2, /* `--dispatch-on`: syscall sites rewritten as they trap, dispatch kept on */
};

struct agent_hello {
	uint32_t type;
	int32_t pid, ppid;
	uint32_t forked;
	char exe[AGENT_TEXT_MAX];
};

struct agent_setup {
	uint32_t type;
	uint32_t flags;
	uint32_t prog_count;        /* PROG messages that follow */
	uint32_t map_count;         /* MAP headers that follow */
};

struct agent_prog_msg {
	uint32_t type;
	char name[AGENT_NAME_MAX];
};

struct agent_map_msg {
	uint32_t type;
	uint32_t index;
	uint32_t present;           /* a bpfvm_map_send message follows */
};

enum agent_path { AGENT_PATH_NONE, AGENT_PATH_TRAMPOLINE, AGENT_PATH_INT3, AGENT_PATH_SYSCALL };

struct agent_result {
	uint32_t type;
	int32_t error;              /* 0 attached, else -errno */
	uint32_t path;              /* enum agent_path: a uprobe.multi's is int3 if any of its functions' is */
	uint32_t functions;         /* a uprobe.multi's: how many functions matched; else 0 */
	char name[AGENT_NAME_MAX];
	char text[AGENT_TEXT_MAX];  /* what was attached where, or why not */
};

/* The events that reached a program's probe, by the path that served
 * them: a function probe's entries, or for a syscall hook the process's
 * syscalls (every syscall hook of a process shares them). */
enum agent_served {
	AGENT_SERVED_TRAMPOLINE,
	AGENT_SERVED_INT3,
	AGENT_SERVED_SUD,          /* Syscall User Dispatch's SIGSYS */
	AGENT_SERVED_REWRITTEN,    /* a rewritten syscall site */
	AGENT_SERVED_SYSCALL_INT3, /* an int3 over a syscall (dispatch off) */
	AGENT_SERVED_COUNT
};

struct agent_stats {
	uint32_t type;
	uint32_t path;              /* enum agent_path */
	uint64_t runs;              /* 0 unless AGENT_COUNT_RUNS */
	uint64_t recursion_misses;  /* events skipped: the thread was running the program already */
	uint64_t served[AGENT_SERVED_COUNT];
	char name[AGENT_NAME_MAX];
	char hook[AGENT_TEXT_MAX];
	/* a syscall hook's: how the process's syscalls are caught, "dispatch
	 * off (...)" or "dispatch on (why)"; else "" */
	char mode[AGENT_TEXT_MAX];
};

struct agent_perf_msg {
	uint32_t type;              /* PERF_SAMPLE: size bytes of sample follow; PERF_LOST */
	uint32_t map_index;
	int32_t cpu;
	uint32_t size;
	uint64_t lost;              /* PERF_LOST: samples a full ring dropped */
};

struct agent_ack {
	uint32_t type;              /* READY, DETACH, DETACHED */
	int32_t error;
	double elapsed_ms;          /* READY: from the agent's start to attached */
};

#endif
