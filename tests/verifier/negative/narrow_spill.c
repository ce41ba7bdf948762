// Negative suite (tests/verifier/README.md): stores and loads of numbers
// narrower than a stack slot, as the kernel's check_stack_write_fixed_off
// and check_stack_read_fixed_off track them.  A number stored at a slot's
// start is a spill of that width, kept whole: a fill of at most that width
// from the slot's start gives it back (cut to the fill's width), sharing
// its id only if it fits the spill; other fills read plain bytes.  Stores
// off a slot's start are plain data (zeros if zero), and end a spill in
// the slot.  test_verifier_gaps also compares the processed instructions
// with the kernel's.  Socket filters, in assembly for the exact stores.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* BPF_ST_MEM(size, r10, off, imm), which clang 14's assembler lacks:
 * emitted as raw bytes (".8byte %[st]"). */
#define ST(size, off, imm) \
	((__u64)(BPF_ST | BPF_MEM | (size)) | (__u64)BPF_REG_10 << 8 | (__u64)(__u16)(off) << 16 | \
	 (__u64)(__u32)(imm) << 32)

/* Safe only if r1 is known below 8: else a read past the frame's top. */
#define USE_OFFSET_R1 "if r1 < 8 goto 9f;" "r0 = *(u64 *)(r10 + 8);" "9: r0 = 0;" "exit;"
#define CLOBBERS "r0", "r1", "r2", "r3", "r4", "r5", "r6", "memory"

// A four-byte zero at a slot's start fills back as zero.
// expect narrow_zero_fill: accept
SEC("socket")
__attribute__((naked)) int narrow_zero_fill(void)
{
	asm volatile(".8byte %[st];"
	             "r1 = *(u32 *)(r10 - 8);" USE_OFFSET_R1
	             :
	             : [st] "i"(ST(BPF_W, -8, 0))
	             : CLOBBERS);
}

// Zeros stored in two halves: the second, off the slot's start, ends the
// first's spill, so the slot is not all zeros.
// expect narrow_zero_halves: reject "invalid read from stack R10 off=8 size=8"
SEC("socket")
__attribute__((naked)) int narrow_zero_halves(void)
{
	asm volatile(".8byte %[st];"
	             ".8byte %[st2];"
	             "r1 = *(u64 *)(r10 - 8);" USE_OFFSET_R1
	             :
	             : [st] "i"(ST(BPF_W, -8, 0)), [st2] "i"(ST(BPF_W, -4, 0))
	             : CLOBBERS);
}

// The upper half of a spilled 0x500000000 is not known to be 5.
// expect narrow_fill_upper_half: reject "invalid read from stack R10 off=8 size=8"
SEC("socket")
__attribute__((naked)) int narrow_fill_upper_half(void)
{
	asm volatile("r1 = 0x500000000 ll;"
	             "*(u64 *)(r10 - 8) = r1;"
	             "r1 = *(u32 *)(r10 - 4);" USE_OFFSET_R1
	             :
	             :
	             : CLOBBERS);
}

// The upper half of a spilled zero is zero.
// expect narrow_fill_upper_zero: accept
SEC("socket")
__attribute__((naked)) int narrow_fill_upper_zero(void)
{
	asm volatile("r1 = 0;"
	             "*(u64 *)(r10 - 8) = r1;"
	             "r1 = *(u32 *)(r10 - 4);" USE_OFFSET_R1
	             :
	             :
	             : CLOBBERS);
}

// A number that fits its four-byte spill shares its id: a bound learnt
// on the register holds for the fill.
// expect narrow_spill_linked: accept
SEC("socket")
__attribute__((naked)) int narrow_spill_linked(void)
{
	asm volatile("call %[rand];"
	             "r0 &= 0xff;"
	             "*(u32 *)(r10 - 8) = r0;"
	             "if r0 > 7 goto 1f;"
	             "r1 = *(u32 *)(r10 - 8);" USE_OFFSET_R1
	             "1: r0 = 0;"
	             "exit;"
	             :
	             : [rand] "i"(BPF_FUNC_get_prandom_u32)
	             : CLOBBERS);
}

// One that does not fit (bit 32 set) does not: the fill is any u32.
// expect narrow_spill_unlinked: reject "invalid read from stack R10 off=8 size=8"
SEC("socket")
__attribute__((naked)) int narrow_spill_unlinked(void)
{
	asm volatile("call %[rand];"
	             "r1 = 0x100000000 ll;"
	             "r0 += r1;"
	             "*(u32 *)(r10 - 8) = r0;"
	             "if r0 > r1 goto 1f;"
	             "r1 = *(u32 *)(r10 - 8);" USE_OFFSET_R1
	             "1: r0 = 0;"
	             "exit;"
	             :
	             : [rand] "i"(BPF_FUNC_get_prandom_u32)
	             : CLOBBERS);
}

// The whole number is kept: an immediate -1 stored in four bytes fills
// back in two as 0xffff.
// expect narrow_fill_narrower: accept
SEC("socket")
__attribute__((naked)) int narrow_fill_narrower(void)
{
	asm volatile(".8byte %[st];"
	             "r1 = *(u16 *)(r10 - 8);"
	             "r1 -= 0xffff;" USE_OFFSET_R1
	             :
	             : [st] "i"(ST(BPF_W, -8, -1))
	             : CLOBBERS);
}

// A fill wider than the spill reads its plain bytes too: unknown.
// expect narrow_fill_wider: reject "invalid read from stack R10 off=8 size=8"
SEC("socket")
__attribute__((naked)) int narrow_fill_wider(void)
{
	asm volatile(".8byte %[st];"
	             ".8byte %[st2];"
	             "r1 = *(u64 *)(r10 - 8);" USE_OFFSET_R1
	             :
	             : [st] "i"(ST(BPF_W, -4, 0)), [st2] "i"(ST(BPF_W, -8, 5))
	             : CLOBBERS);
}

// A pointer is spilled in eight bytes or not at all.
// expect narrow_pointer_spill: reject "invalid size of register spill"
SEC("socket")
__attribute__((naked)) int narrow_pointer_spill(void)
{
	asm volatile("*(u32 *)(r10 - 8) = r1;"
	             "r0 = 0;"
	             "exit;"
	             :
	             :
	             : CLOBBERS);
}

// A helper's write over zeros leaves no zeros.
// expect narrow_zeros_overwritten: reject "invalid read from stack R10 off=8 size=8"
SEC("socket")
__attribute__((naked)) int narrow_zeros_overwritten(void)
{
	asm volatile(".8byte %[st];"
	             ".8byte %[st2];"
	             "r2 = 0;"
	             "r3 = r10;"
	             "r3 += -8;"
	             "r4 = 8;"
	             "call %[load_bytes];"
	             "r1 = *(u64 *)(r10 - 8);" USE_OFFSET_R1
	             :
	             : [st] "i"(ST(BPF_W, -4, 0)), [st2] "i"(ST(BPF_W, -8, 0)),
	               [load_bytes] "i"(BPF_FUNC_skb_load_bytes)
	             : CLOBBERS);
}

// A loop whose counter lives in a four-byte spill: the walk keeps its
// value precise through the spill and the fill.
// expect narrow_loop_counter: accept
SEC("socket")
__attribute__((naked)) int narrow_loop_counter(void)
{
	asm volatile(".8byte %[st];"
	             "r6 = 0;"
	             "1: r1 = *(u32 *)(r10 - 8);"
	             "r6 += r1;"
	             "r1 += 1;"
	             "*(u32 *)(r10 - 8) = r1;"
	             "if r1 < 20 goto 1b;"
	             "r0 = r6;"
	             "exit;"
	             :
	             : [st] "i"(ST(BPF_W, -8, 0))
	             : CLOBBERS);
}

// Zeros stored from a register off a slot's start (made precise), then
// a four-byte spill of zero: a fill of all eight bytes is not known zero
// (the kernel counts spilled bytes and zero bytes apart).
// expect narrow_zero_off_start: reject "invalid read from stack R10 off=8 size=8"
SEC("socket")
__attribute__((naked)) int narrow_zero_off_start(void)
{
	asm volatile("call %[rand];"
	             "r1 = 0;"
	             "if r0 > 100 goto 1f;"
	             "r6 = 1;"
	             "1: *(u32 *)(r10 - 4) = r1;"
	             "*(u32 *)(r10 - 8) = r1;"
	             "r1 = *(u64 *)(r10 - 8);" USE_OFFSET_R1
	             :
	             : [rand] "i"(BPF_FUNC_get_prandom_u32)
	             : CLOBBERS);
}

char _license[] SEC("license") = "GPL";
