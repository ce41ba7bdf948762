/*
 * x86_relocate.h - moving the first instructions of an x86-64 function
 * elsewhere so that they still do the same thing there (the displaced
 * bytes of a function probe), and the checks that say whether moving
 * them is safe.  Decoding is capstone's.
 *
 * Owns: x86_relocate(), x86_function_extent(), x86_jump_into().
 */
#ifndef BPFVM_HOOKS_X86_RELOCATE_H
#define BPFVM_HOOKS_X86_RELOCATE_H

#include <stddef.h>
#include <stdint.h>

#define X86_RELOC_MAX_INSNS 16
#define X86_RELOC_REASON_SIZE 128

/* The instructions moved: how many bytes of the original they cover, how
 * many bytes their copy takes, and where each one starts in both (a
 * thread stopped between two of them is moved to the same place in the
 * copy). */
struct x86_reloc {
	size_t src_len;
	size_t out_len;
	unsigned count;
	uint8_t src_off[X86_RELOC_MAX_INSNS];
	uint16_t out_off[X86_RELOC_MAX_INSNS];
};

/* Copies whole instructions from src until at least min_len bytes are
 * covered into out (out_cap bytes, to run at address out_at), rewriting
 * RIP-relative operands and relative jmp/call/jcc for their new place.
 * fn_size is how far the function is known to extend (0: unknown, it
 * then ends at its first ret or unconditional jump).  Returns 0, or -1
 * with why in reason (a branch that cannot move, a target out of range,
 * a function too short). */
int x86_relocate(const uint8_t *src, size_t min_len, size_t fn_size, uint8_t *out, uintptr_t out_at,
		 size_t out_cap, struct x86_reloc *r, char reason[X86_RELOC_REASON_SIZE]);

/* How many bytes from fn to scan for branches: fn_size when known, else
 * up to the first int3 padding byte, the end of the readable mapping or
 * 4 KiB.  Over-scanning is safe (it can only find more branches). */
size_t x86_function_extent(const uint8_t *fn, size_t fn_size);

/* 1 when a relative branch among the instructions of [fn, fn + extent)
 * lands strictly inside (fn, fn + len): those bytes cannot be replaced
 * by a jump.  Its address goes to *where. */
int x86_jump_into(const uint8_t *fn, size_t extent, size_t len, uintptr_t *where);

#endif
