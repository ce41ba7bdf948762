/*
 * api.h - what the public API's files share.
 *
 * Owns: program_run_hooked(), the run every entry point ends in.
 */
#ifndef BPFVM_API_API_H
#define BPFVM_API_API_H

#include "run/run.h"

struct hook_state;
/* Runs prog with a program type's state attached (NULL: none), following
 * tail calls (program.c). */
int program_run_hooked(const bpfvm_program *prog, const bpfvm_run_opts *opts, struct hook_state *hook,
                       uint64_t *r0, bpfvm_error *err);

#endif
