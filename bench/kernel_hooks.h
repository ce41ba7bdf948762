/*
 * kernel_hooks.h - the kernel's column of the hook benches (probes.c,
 * syscall_bench.c): the same trivial program as bpfvm's, loaded through
 * bpf() and attached by the kernel, to a uprobe or uretprobe through the
 * uprobe PMU (perf_event_open + PERF_EVENT_IOC_SET_BPF, as libbpf attaches
 * one) or to a raw tracepoint (BPF_RAW_TRACEPOINT_OPEN).
 *
 * The program loads one 64-bit field of its context, as bpfvm's does, and
 * stores it in the one value of an array map (a direct value address: no
 * helper call), where the bench reads it back to check the program ran.
 *
 * Owns: struct kernel_hook, kernel_uprobe_attach, kernel_raw_tp_attach,
 * kernel_hook_value, kernel_hook_detach.
 */
#ifndef BENCH_KERNEL_HOOKS_H
#define BENCH_KERNEL_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The value the map holds before the program first runs. */
#define KERNEL_HOOK_UNSET 0xdeadbeefcafef00dull

struct kernel_hook {
	int map_fd, prog_fd, event_fd;   /* event_fd: the perf event or raw tracepoint */
};

/* A BPF_PROG_TYPE_KPROBE program reading the u64 at ctx_off of its
 * pt_regs (112: PT_REGS_PARM1, 80: PT_REGS_RC), attached by the kernel to
 * `func` of this process (a uretprobe if retprobe), for this process only.
 * 0, or -1 with why in `why` (whylen bytes). */
int kernel_uprobe_attach(const void *func, bool retprobe, int ctx_off, struct kernel_hook *h, char *why,
                         size_t whylen);

/* A BPF_PROG_TYPE_RAW_TRACEPOINT program reading the u64 at ctx_off of
 * its arguments (8: sys_enter's id, sys_exit's ret), attached to the raw
 * tracepoint `name` (every process's events).  0, or -1 with why. */
int kernel_raw_tp_attach(const char *name, int ctx_off, struct kernel_hook *h, char *why, size_t whylen);

/* What the program last stored (KERNEL_HOOK_UNSET if it never ran);
 * 0, or -1 if the map cannot be read. */
int kernel_hook_value(const struct kernel_hook *h, uint64_t *value);

/* Detaches and closes everything; h may be partly set up. */
void kernel_hook_detach(struct kernel_hook *h);

#endif
