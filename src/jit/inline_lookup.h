/*
 * inline_lookup.h - the calls of bpf_map_lookup_elem an engine may
 * open-code, as the kernel's verifier does with array_map_gen_lookup(),
 * and more generally the helper calls whose map argument is a constant
 * (which an engine may turn into direct calls of the map's operation, as
 * the kernel's fixup_bpf_calls() does).
 *
 * Owns the rule (inline_lookup.c): the map argument is a constant map of
 * the program; for open-coding, a plain array map, the helper the
 * kernel's lookup.  In
 * user space the map "pointer" in r1 is the map's real address, put there
 * by an lddw after binding (src/api/instance.c), so the rule is: that
 * lddw sets r1 in the same straight-line stretch as the call -- nothing
 * in between jumps, is jumped to, calls, or writes r1 -- and its value is
 * one of the program's maps.  An engine then computes the pointer from
 * the key as the map does (maps/array_layout.h), or NULL past its end.
 */
#ifndef BPFVM_CORE_INLINE_LOOKUP_H
#define BPFVM_CORE_INLINE_LOOKUP_H

#include "run/run.h"
#include "maps/array_layout.h"

/* The map r1 holds at instruction pc, a helper call, when the rule above
 * says it is a constant: one of the program's maps; NULL otherwise.
 * is_target[i] says whether any jump or call leads to instruction i. */
bpfvm_map *call_const_map(const bpfvm_program *prog, size_t pc, const bool *is_target);

/* Instruction pc of prog is a call of the kernel's bpf_map_lookup_elem
 * on such a map, a plain array: *out gets the map's layout.
 * is_target[i] says whether any jump or call leads to instruction i. */
bool inline_lookup_at(const bpfvm_program *prog, size_t pc, const bool *is_target, struct array_layout *out);

#endif
