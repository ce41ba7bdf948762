/*
 * jit_internal.h - what the architecture back end (src/jit/x86_64) and
 * the architecture-neutral JIT driver (src/jit/jit.c) share.
 *
 * Owns: the translator's entry point and the C functions that compiled
 * code calls for the rare, slow paths (checked accesses outside the
 * stack, callx resolution, legacy packet loads).
 */
#ifndef BPFVM_JIT_INTERNAL_H
#define BPFVM_JIT_INTERNAL_H

#include "jit/jit.h"

struct emit_buf;

/* Translates prog into out->code / out->len (malloc'd).  blind: constant
 * blinding, keys derived from blind_seed.  A program with callbacks also
 * gets a trampoline (*trampoline_off, 0 when none: no helper could call
 * back) that enters the code like the entry does, to call
 * run->jit_cb_entry with r10 = run->jit_cb_frame; callback_off[i] is the
 * code offset of prog->callbacks[i]. */
int jit_translate(const bpfvm_program *prog, bool checked, bool blind, uint64_t blind_seed,
                  struct emit_buf *out, size_t *trampoline_off, size_t *callback_off, bpfvm_error *err);

/* Called from compiled code.  size_write = size | (write ? 0x100 : 0).
 * Returns 1 if the access is allowed; else records it in run and
 * returns 0. */
uint64_t jit_access_check(struct bpfvm_run *run, uint64_t addr, uint64_t size_write);
/* The helper registered under id, or NULL (recorded in run). */
uint64_t jit_resolve_helper(struct bpfvm_run *run, uint64_t id, uint64_t unused);
/* Big-endian packet load; out of bounds stops the run with r0 = 0. */
uint64_t jit_packet_load(struct bpfvm_run *run, uint64_t offset, uint64_t size);

#endif
