/*
 * syscall_sites.h - what the syscall site rewriter knows of the loaded
 * code objects: a function's bounds from the object's unwind table
 * (.eh_frame_hdr's binary search table and the FDEs it points to, read in
 * memory) and, object-wide, every byte some direct branch of the object
 * lands on (a .cold part is an FDE of its own and branches back into its
 * function, so a function alone does not say what jumps into it).
 *
 * Safe in a signal handler: objects are found with _dl_find_object (no
 * lock), memory comes from mmap, nothing calls malloc; the caller
 * serialises every call (syscall_rewrite.c's rewriter flag).
 *
 * Owns: sud_code_function(), sud_code_each_function(), sud_code_branch_into(),
 * the object cache, the decoder of original code, sud_vex_length().
 */
#ifndef BPFVM_HOOKS_SYSCALL_SITES_H
#define BPFVM_HOOKS_SYSCALL_SITES_H

#include <capstone/capstone.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The FDE covering pc: its code range [*start, *start + *size).  False
 * when pc's object has no usable .eh_frame_hdr or no FDE covers pc; a
 * syscall instruction just past an FDE's end (glibc's clone, clone3) is
 * that FDE's, extended to the next FDE (at most 64 bytes). */
bool sud_code_function(uintptr_t pc, uintptr_t *start, size_t *size);

/* Calls each(begin, size, arg) for every FDE of the object holding pc, in
 * the table's order.  False when pc's object has no usable table. */
bool sud_code_each_function(uintptr_t pc, void (*each)(uintptr_t begin, size_t size, void *arg), void *arg);

/* Whether some direct jump, jcc or call anywhere in the object holding
 * [lo, hi) (decoded FDE by FDE with cs, a handle with detail off) lands on
 * a byte in (lo, hi).  True, conservatively, when an FDE that may hold
 * one cannot be decoded to its end or the object holds no unwind table.
 * Only the FDEs whose bytes could branch there are decoded (once; the
 * first ask in an object costs a look at its bytes), and what was found
 * is kept while the object stays mapped as it was. */
bool sud_code_branch_into(csh cs, uintptr_t lo, uintptr_t hi);

/* The system call instructions of the object holding pc, found by
 * decoding (once) every FDE holding a system call's byte pair: each
 * address with its kind in the top byte.  False when the object has no
 * usable table or such an FDE did not decode to its end (undecodable: the
 * first byte an FDE stopped at, if that was why).  An FDE without a pair
 * cannot make a system call, and needs no decoding. */
#define SUD_FIND_SYSCALL 0ul
#define SUD_FIND_SYSENTER 1ul
#define SUD_FIND_INT80 2ul
#define SUD_FIND_ADDRESS(x) ((x) & ((1ul << 56) - 1))
#define SUD_FIND_KIND(x) ((x) >> 56)
struct sud_code_finds {
	const uintptr_t *at;
	size_t count;
	uintptr_t undecodable;
};
bool sud_code_system_calls(csh cs, uintptr_t pc, struct sud_code_finds *out);

/* Forgets what was found of the objects overlapping [lo, hi) (about to
 * be unmapped, or made executable anew); the caller holds the rewriter. */
void sud_code_forget(uintptr_t lo, uintptr_t hi);

/* For tests: objects indexed from now on have every FDE decoded at the
 * first ask (whole true), as before the lazy index, or only the FDEs that
 * may matter (false, the default); the cache is emptied. */
void sud_code_set_whole(bool whole);

/* In the child of a fork: forgets an object whose bitmap another thread
 * of the parent was making (it exists no more to finish it). */
void sud_code_after_fork(void);

/* Decoding code as it was before this process's patches (a syscall
 * site's jump, a function probe's jump or int3): an instruction starting
 * with e9 or cc where sud_rewrite_original_at() (syscall_sud.h) knows a
 * patch is decoded from the original bytes. */
struct sud_decoder {
	csh cs;
	const uint8_t *code;
	size_t size;
	uint64_t address;
	uint8_t buf[32];        /* the code at [buf_at, buf_at + buf_len), originals put back */
	uintptr_t buf_at;
	size_t buf_len, buf_patched;
};
void sud_decoder_init(struct sud_decoder *d, csh cs, uintptr_t begin, size_t size);
/* The next instruction into insn; false at the end or where capstone
 * cannot decode (d->size then says whether anything is left). */
bool sud_decode(struct sud_decoder *d, cs_insn *insn);

/* The length of a VEX (c4, c5) or EVEX (62) encoded instruction at p,
 * which capstone 4 may not know (AVX-512's mask and compare instructions
 * in glibc's string functions), of 0f 01 /reg (rdpkru) or of a CET
 * shadow-stack instruction (libgcc_s); 0 when p holds none or it is cut
 * short.  None of them branches or makes a system call. */
size_t sud_vex_length(const uint8_t *p, size_t left);

/* The direct-branch target of the instruction bytes[0..size) at address
 * `at` (jmp, jcc, call, loop/jrcxz rel8 or rel32), or 0 when it is none. */
uintptr_t sud_direct_branch_target(const uint8_t *bytes, size_t size, uintptr_t at);

#endif
