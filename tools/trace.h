/*
 * trace.h - `bpfvm trace` (tools/cmd_trace.c: the sessions with each
 * traced process's agent) and its output (tools/trace_print.c).
 */
#ifndef BPFVM_TOOLS_TRACE_H
#define BPFVM_TOOLS_TRACE_H

#include <stdbool.h>

#include "bpfvm/instance.h"
#include "hooks/agent_proto.h"

/* Ring buffer records available now, as text or JSON lines. */
void trace_drain(bpfvm_instance *inst, bool json);
/* Every map's entries (not ring buffers nor prog_arrays). */
void trace_print_maps(bpfvm_instance *inst, bool json);
/* Map `name` of log2 buckets as a histogram; prints the error and
 * returns 1 if there is no such map or it is not one. */
int trace_print_hist(bpfvm_instance *inst, const char *name, bool json);
/* A perf event array's sample from process pid, as it arrives (hex, as
 * ring buffer records print); samples lost (map NULL: the total of the
 * trace, at its end). */
void trace_print_perf(const char *map, int pid, int cpu, const void *data, uint32_t size, bool json);
void trace_print_perf_lost(const char *map, int pid, int cpu, uint64_t lost, bool json);
/* A program's stats from process pid's agent: its recursion misses (and
 * with all, `--stats`: its runs and the paths serving its probe). */
void trace_print_stats(int pid, const struct agent_stats *st, bool all, bool json);

#endif
