// Negative suite (tests/verifier/README.md): which stack bytes of a kept
// state cover the current state's, as the kernel's stacksafe for a
// privileged loader (allow_uninit_stack): plain data covers anything
// (bytes never written, zeros, spilled numbers and pointers), a number
// spilled whole and imprecise covers plain data, zeros cover only zeros.
// Each program walks two paths to one join (the fall-through first, whose
// state is kept there) and does some work after it: the path pruned at
// the join does not walk it again, so the processed instructions, which
// test_verifier_gaps compares with the kernel's, tell whether it was.
// Socket filters, in assembly for the exact stores.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* r6, r8: random numbers; branches on r6 to label 1 (the second path),
 * r8 still unknown on both. */
#define FORK "call %[rand];" "r8 = r0;" "call %[rand];" "r6 = r0;" "if r6 == 0 goto 1f;"
/* The first path's way to the join, long enough that the kernel keeps a
 * state there (8 instructions since the last one kept, and 2 jumps). */
#define TO_JOIN "r2 = 1;" "r3 = 2;" "r4 = 3;" "r5 = 4;" "r2 = 5;" "r3 = 6;" "r4 = 7;" "r5 = 8;" "goto 2f;"
/* Seven plain bytes in the slot at fp-8, none at its start (not a spill). */
#define PLAIN_BYTES "*(u32 *)(r10 - 4) = r8;" "*(u16 *)(r10 - 6) = r8;" "*(u8 *)(r10 - 7) = r8;"
/* Work after the join at label 2, walked once per path not pruned; it
 * reads the slot, so the kernel's liveness keeps it in the state kept. */
#define JOIN_AND_WORK "2: r0 = *(u64 *)(r10 - 8);" "r0 = r8;" "r0 += 1;" "r0 *= 3;" "r0 &= 7;" "r0 |= 1;" "r0 ^= 2;" "r0 = 0;" "exit;"
#define HELPERS [rand] "i"(BPF_FUNC_get_prandom_u32)
#define CLOBBERS "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r8", "memory"

// Plain bytes kept, a spilled pointer (the context) later: covered.
// expect cover_plain_over_pointer: accept
SEC("socket")
__attribute__((naked)) int cover_plain_over_pointer(void)
{
	asm volatile("r7 = r1;" FORK PLAIN_BYTES TO_JOIN
	             "1: *(u64 *)(r10 - 8) = r7;" JOIN_AND_WORK
	             :
	             : HELPERS
	             : CLOBBERS, "r7");
}

// Plain bytes kept, nothing written later: covered.
// expect cover_plain_over_unwritten: accept
SEC("socket")
__attribute__((naked)) int cover_plain_over_unwritten(void)
{
	asm volatile(FORK PLAIN_BYTES TO_JOIN
	             "1: r1 = 0;" JOIN_AND_WORK
	             :
	             : HELPERS
	             : CLOBBERS);
}

// Plain bytes kept, zeros later: covered.
// expect cover_plain_over_zeros: accept
SEC("socket")
__attribute__((naked)) int cover_plain_over_zeros(void)
{
	asm volatile(FORK PLAIN_BYTES TO_JOIN
	             "1: r1 = 0;"
	             "*(u32 *)(r10 - 4) = r1;" JOIN_AND_WORK
	             :
	             : HELPERS
	             : CLOBBERS);
}

// An unknown number spilled whole kept, plain bytes later: covered (the
// number is not precise).
// expect cover_spill_over_plain: accept
SEC("socket")
__attribute__((naked)) int cover_spill_over_plain(void)
{
	asm volatile(FORK "*(u64 *)(r10 - 8) = r8;" TO_JOIN
	             "1:" PLAIN_BYTES JOIN_AND_WORK
	             :
	             : HELPERS
	             : CLOBBERS);
}

// Zeros kept, plain bytes later: not covered.
// expect cover_zeros_not_plain: accept
SEC("socket")
__attribute__((naked)) int cover_zeros_not_plain(void)
{
	asm volatile(FORK "r1 = 0;" "*(u32 *)(r10 - 4) = r1;" TO_JOIN
	             "1:" PLAIN_BYTES JOIN_AND_WORK
	             :
	             : HELPERS
	             : CLOBBERS);
}

// A spilled pointer kept, plain bytes later: not covered.
// expect cover_pointer_not_plain: accept
SEC("socket")
__attribute__((naked)) int cover_pointer_not_plain(void)
{
	asm volatile("r7 = r1;" FORK "*(u64 *)(r10 - 8) = r7;" TO_JOIN
	             "1:" PLAIN_BYTES JOIN_AND_WORK
	             :
	             : HELPERS
	             : CLOBBERS, "r7");
}

char _license[] SEC("license") = "GPL";
