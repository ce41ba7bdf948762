/*
 * helpers.h - what the helper modules share: the argument checks every
 * helper makes in checked mode, the trace sink, and the kernel table.
 */
#ifndef BPFVM_HELPERS_H
#define BPFVM_HELPERS_H

#include "core/program.h"

/* Fails the run (and returns false) unless [addr, addr+len) lies in the
 * program's memory; always true in unchecked mode (the verifier proved it). */
bool helper_check(bpfvm_run *run, const char *helper, uint64_t addr, uint64_t len, bool write);

/* The map a program passed as r1 (`ptr`); in checked mode NULL, the run
 * failed, unless it is one of the program's maps or an inner map one of
 * its lookups returned (src/helpers/map_helpers.c). */
struct bpfvm_map *helper_map_arg(bpfvm_run *run, const char *helper, uint64_t ptr);

/* Sends one line of bpf_trace_printk output to the table's sink. */
void helpers_trace(bpfvm_run *run, const char *line);

/* Adds the kernel's helpers that need no map (src/helpers/kernel.c). */
int helpers_add_kernel(bpfvm_helpers *h, bpfvm_error *err);
/* Adds the kernel's map helpers (src/helpers/map_helpers.c). */
int helpers_add_maps(bpfvm_helpers *h, bpfvm_error *err);
/* Adds the helpers that call back into the program: bpf_loop and
 * bpf_for_each_map_elem (src/helpers/callback_helpers.c). */
int helpers_add_callbacks(bpfvm_helpers *h, bpfvm_error *err);
/* Whether fn is the kernel's bpf_map_lookup_elem of map_helpers.c (an
 * embedder may register its own function under that ID, which engines
 * must then call, not open-code). */
bool helper_is_map_lookup(bpfvm_helper_fn fn);
/* For a call of helper fn with map m as its first argument, in an
 * unchecked run: the map operation (struct map_ops' lookup, update or
 * delete, or bpfvm_map_ringbuf_output) that the helper would end in,
 * taking the same first arguments and returning the helper's value, so
 * an engine may call it directly; 0 when the helper does more than that
 * (map-in-map lookups) or is not one of those four. */
uintptr_t helper_direct_map_op(bpfvm_helper_fn fn, const struct bpfvm_map *m);

#endif
