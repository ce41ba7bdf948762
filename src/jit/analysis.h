/*
 * analysis.h - facts about a program's registers that let the JIT emit
 * shorter or faster code than a one-instruction-at-a-time translation.
 *
 * Owns: the per-instruction register masks (bit i: eBPF register ri) the
 * translator consults before fusing or rewriting instructions.  Every
 * fact is conservative: when in doubt a register is "maybe live" and
 * "not known to be 0 or 1", which only ever turns an optimisation off.
 */
#ifndef BPFVM_JIT_ANALYSIS_H
#define BPFVM_JIT_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "run/run.h"

struct isa_op;

/* ops[pc] is isa_decode() of instruction pc (NULL where invalid).
 *
 * known[pc]: registers whose whole 64-bit value is 0 or 1 just before
 * instruction pc, on every path that reaches it.  Nothing is assumed at
 * a jump target (is_target[pc]) or after a call. */
void jit_bool_regs(const bpfvm_program *prog, const struct isa_op *const *ops, const bool *is_target,
                   uint16_t *known);

/* live_out[pc]: registers that some path from the end of instruction pc
 * may read before writing them.  main_exit_r0_only: an exit outside a
 * subprogram reads only r0 (sub_start marks subprogram entries; an exit
 * in the entry function when it is also called, or in a subprogram, is
 * taken to read every register).  Returns false (out of memory) with
 * every register live. */
bool jit_liveness(const bpfvm_program *prog, const struct isa_op *const *ops, const bool *sub_start,
                  bool entry_is_called, uint16_t *live_out);

/* The registers instruction pc reads and writes, as liveness sees them. */
void jit_insn_uses_defs(const bpfvm_program *prog, const struct isa_op *const *ops, size_t pc, bool exit_r0_only,
                        uint16_t *uses, uint16_t *defs);

#endif
