/*
 * asm_prog.h - a unit test's program from assembly text (bpfvm_asm's
 * syntax): assembled and loaded, or the test ends there (exit 1) saying
 * which step failed, as nothing after it could run.
 */
#ifndef BPFVM_TESTS_ASM_PROG_H
#define BPFVM_TESTS_ASM_PROG_H

#include "bpfvm/bpfvm.h"

/* text assembled and loaded with lo (its insns freed); never NULL. */
bpfvm_program *asm_prog_load(const char *text, const bpfvm_load_opts *lo);

#endif
