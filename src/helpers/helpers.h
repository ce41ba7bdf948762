/*
 * helpers.h - what the helper modules share: the argument checks every
 * helper makes in checked mode, the trace sink, and the kernel table.
 */
#ifndef BPFVM_HELPERS_H
#define BPFVM_HELPERS_H

#include "run/run.h"

/* Fails the run (and returns false) unless [addr, addr+len) lies in the
 * program's memory; always true in unchecked mode (the verifier proved it). */
bool helper_check(bpfvm_run *run, const char *helper, uint64_t addr, uint64_t len, bool write);

/* The map a program passed as r1 (`ptr`); in checked mode NULL, the run
 * failed, unless it is one of the program's maps or an inner map one of
 * its lookups returned (src/helpers/map_helpers.c). */
struct bpfvm_map *helper_map_arg(bpfvm_run *run, const char *helper, uint64_t ptr);

/* The XDP context of this run if ctx is it; else NULL, and the run
 * failed naming the helper (kernel.c). */
struct xdp_md;
struct xdp_md *helper_xdp_ctx(bpfvm_run *run, const char *helper, uint64_t ctx);

/* Copies len bytes from any address without faulting (the kernel's
 * copy_from_user_nofault); false if some byte cannot be read. */
bool helper_read_nofault(void *dst, uint64_t src, size_t len);
/* Copies the string at src into out, at most max bytes, up to and with
 * its NUL: the string's length (max if no NUL came), or -1 where src
 * could not be read (the bytes read before stay in out). */
long helper_read_str_nofault(char *out, uint64_t src, size_t max);

/* Sends one line of bpf_trace_printk output to the table's sink. */
void helpers_trace(bpfvm_run *run, const char *line);

struct helper_desc;
/* For a call of the helper d describes with map m as its first argument,
 * in an unchecked run: the map operation (struct map_ops' lookup, update
 * or delete, or bpfvm_map_ringbuf_output) that the helper would end in,
 * taking the same first arguments and returning the helper's value, so
 * an engine may call it directly (d's inline kind says which); 0 when the
 * helper does more than that (map-in-map lookups) or has no such kind. */
uintptr_t helper_direct_map_op(const struct helper_desc *d, const struct bpfvm_map *m);

#endif
