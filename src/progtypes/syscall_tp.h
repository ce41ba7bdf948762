/*
 * syscall_tp.h - the records syscall tracepoint programs get as their
 * context (tracepoint/syscalls/sys_enter_NAME and sys_exit_NAME,
 * tracepoint/raw_syscalls/sys_enter and sys_exit), laid out as the
 * running kernel's tracefs format files say, or as the built-in table of
 * x86-64 syscalls says where tracefs is not mounted (and cannot be); and
 * syscall names and numbers.
 *
 * Owns: struct syscall_tp_layout, finding one for a tracepoint, filling
 * a record from a syscall's number and arguments or result.
 *
 * A record as the kernel hands it to BPF programs (perf_call_bpf_enter,
 * perf_trace_run_bpf_submit): bytes 0-7, where the format file lists the
 * common fields, hold the address of the event's pt_regs instead (the
 * kernel's bpf_get_stack for tracepoints reads it there), then the
 * syscall number (an int at 8 for syscalls/, a long for raw_syscalls/),
 * then the arguments (u64 each from 16) or the result (a long at 16).  A
 * program may read up to the end of the last field (`size`), as the
 * kernel checks at attach.
 */
#ifndef BPFVM_PROGTYPES_SYSCALL_TP_H
#define BPFVM_PROGTYPES_SYSCALL_TP_H

#include <linux/ptrace.h>
#include <stdbool.h>
#include <stdint.h>

#include "bpfvm/bpfvm.h"

#define SYSCALL_TP_RECORD_MAX 64u     /* raw_syscalls/sys_enter: the largest */
#define SYSCALL_TP_MAX_ARGS 6u

enum syscall_tp_kind { SYSCALL_TP_ENTER, SYSCALL_TP_EXIT, SYSCALL_TP_RAW_ENTER, SYSCALL_TP_RAW_EXIT };

struct syscall_tp_layout {
	uint8_t kind;            /* enum syscall_tp_kind */
	int nr;                  /* the syscall; -1 for raw_syscalls (any) */
	uint32_t event_id;       /* tracefs's ID of the event (0 from the built-in table) */
	uint32_t size;           /* bytes a program may read: the end of the last field */
	uint32_t nr_off, nr_size;
	uint32_t args_off, nargs;   /* enter: the arguments, 8 bytes each */
	uint32_t ret_off;        /* exit: the result, 8 bytes */
	bool from_tracefs;
};

/* The layout of `event` ("syscalls/sys_enter_openat", "sys_exit_openat",
 * "raw_syscalls/sys_enter", ...): from tracefs when it is mounted (it is
 * mounted first when we are root), else from the built-in table.  0, or
 * -ENOENT (no such syscall tracepoint) with err saying so. */
int syscall_tp_layout(const char *event, struct syscall_tp_layout *out, bpfvm_error *err);
/* The same from the built-in table only, and from tracefs only (-ENODEV
 * when tracefs is unavailable). */
int syscall_tp_layout_builtin(const char *event, struct syscall_tp_layout *out, bpfvm_error *err);
int syscall_tp_layout_tracefs(const char *event, struct syscall_tp_layout *out, bpfvm_error *err);
/* tracefs's directory of events ("/sys/kernel/tracing/events"), mounting
 * tracefs when it is not and we are root; NULL when unavailable. */
const char *syscall_tp_events_dir(void);

/* Writes the record of a syscall entry (nr, its six argument registers)
 * or exit (nr, its result) into rec (at least layout->size bytes), with
 * regs the event's registers (may be NULL). */
void syscall_tp_fill_enter(const struct syscall_tp_layout *l, void *rec, const struct pt_regs *regs, long nr,
                           const uint64_t args[SYSCALL_TP_MAX_ARGS]);
void syscall_tp_fill_exit(const struct syscall_tp_layout *l, void *rec, const struct pt_regs *regs, long nr,
                          long ret);

/* x86-64 syscall names and numbers (the built-in table): the number of
 * `name` ("openat", or its tracepoint's name, "newstat") or -1; the name
 * of nr or NULL; its arguments' names, space-separated, or NULL. */
int syscall_nr_by_name(const char *name);
const char *syscall_name(int nr);
const char *syscall_arg_names(int nr);

#endif
