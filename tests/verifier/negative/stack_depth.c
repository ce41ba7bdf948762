// Negative suite (tests/verifier/README.md): the combined stack of a call
// chain as the kernel 6.18 counts it for a JIT-compiled program: each
// frame's depth rounded up to 16 bytes (round_up_stack_depth), and the
// spill and fill pairs around a call to a helper the JIT inlines
// (bpf_fastcall: bpf_get_smp_processor_id) not counted, unless the
// subprogram touches their slots otherwise (the kernel's
// verifier_bpf_fastcall.c cumulative_stack_depth and its variants).
// test_verifier_gaps compares bpfvm's verdicts and processed instructions
// with the kernel's.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define CLOBBERS "r0", "r1", "r2", "r3", "r4", "r5", "memory"

static __attribute__((naked, used, noinline)) int sub16(void)
{
	asm volatile("r1 = 1;" "*(u64 *)(r10 - 16) = r1;" "r0 = 0;" "exit;" ::: CLOBBERS);
}

// 496 + 16 bytes: 512.
// expect depth_496_16: accept
SEC("socket")
__attribute__((naked)) int depth_496_16(void)
{
	asm volatile("r1 = 1;" "*(u64 *)(r10 - 496) = r1;" "call sub16;" "r0 = 0;" "exit;" ::: CLOBBERS);
}

static __attribute__((naked, used, noinline)) int sub8(void)
{
	asm volatile("r1 = 1;" "*(u64 *)(r10 - 8) = r1;" "r0 = 0;" "exit;" ::: CLOBBERS);
}

// 504 rounds up to 512, 8 to 16.
// expect depth_504_8: reject "combined stack size of 2 calls is 528. Too large"
SEC("socket")
__attribute__((naked)) int depth_504_8(void)
{
	asm volatile("r1 = 1;" "*(u64 *)(r10 - 504) = r1;" "call sub8;" "r0 = 0;" "exit;" ::: CLOBBERS);
}

static __attribute__((naked, used, noinline)) int sub_fastcall(void)
{
	asm volatile("*(u64 *)(r10 - 8) = r1;" "call %[cpu];" "r1 = *(u64 *)(r10 - 8);" "exit;"
	             :: [cpu] "i"(BPF_FUNC_get_smp_processor_id) : CLOBBERS);
}

// The subprogram's only slot holds a fastcall spill: 512 + 0.
// expect fastcall_pair: accept
SEC("raw_tp")
__attribute__((naked)) int fastcall_pair(void)
{
	asm volatile("r1 = 42;" "*(u64 *)(r10 - 512) = r1;" "call sub_fastcall;" "exit;" ::: CLOBBERS);
}

static __attribute__((naked, used, noinline)) int sub_fastcall_read(void)
{
	asm volatile("*(u64 *)(r10 - 8) = r1;" "call %[cpu];" "r1 = *(u64 *)(r10 - 8);" "r0 = *(u64 *)(r10 - 8);"
	             "exit;"
	             :: [cpu] "i"(BPF_FUNC_get_smp_processor_id) : CLOBBERS);
}

// The slot is read again outside the pair: it counts.
// expect fastcall_slot_reread: reject "combined stack size of 2 calls is 528. Too large"
SEC("raw_tp")
__attribute__((naked)) int fastcall_slot_reread(void)
{
	asm volatile("r1 = 42;" "*(u64 *)(r10 - 512) = r1;" "call sub_fastcall_read;" "exit;" ::: CLOBBERS);
}

static __attribute__((naked, used, noinline)) int sub_not_fastcall(void)
{
	asm volatile("*(u64 *)(r10 - 8) = r1;" "call %[rand];" "r1 = *(u64 *)(r10 - 8);" "exit;"
	             :: [rand] "i"(BPF_FUNC_get_prandom_u32) : CLOBBERS);
}

// The same pair around a helper no JIT inlines: it counts.
// expect not_fastcall_pair: reject "combined stack size of 2 calls is 528. Too large"
SEC("raw_tp")
__attribute__((naked)) int not_fastcall_pair(void)
{
	asm volatile("r1 = 42;" "*(u64 *)(r10 - 512) = r1;" "call sub_not_fastcall;" "exit;" ::: CLOBBERS);
}

char _license[] SEC("license") = "GPL";
