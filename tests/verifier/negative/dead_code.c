// Negative suite (tests/verifier/README.md): a write to r10 is refused
// where a path of the walk reaches it, as the kernel's check_reg_arg, and
// is no error in code no path reaches: the kernel decides a branch from
// what it knows of the registers (a constant, a pointer known not NULL),
// never walks the other side and removes it once the program is verified.
// bpfvm's object loader makes such a write a no-op, so the program also
// loads (test_verifier_gaps loads each program it compares, and compares
// the processed instructions with the kernel's).  Socket filters, in
// assembly for the exact instructions.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} hash4 SEC(".maps");

#define CLOBBERS "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "memory"

// The selftest's "map lookup and null branch prediction": past the null
// check r6 is known not NULL, so `if r6 != 0` is always taken.
// expect fp_write_after_not_null: accept
SEC("socket")
__attribute__((naked)) int fp_write_after_not_null(void)
{
	asm volatile("r1 = 0;"
	             "*(u64 *)(r10 - 8) = r1;"
	             "r2 = r10;"
	             "r2 += -8;"
	             "r1 = %[hash4] ll;"
	             "call %[lookup];"
	             "r6 = r0;"
	             "r0 = 0;"
	             "if r6 == 0 goto 1f;"
	             "if r6 != 0 goto 1f;"
	             "r10 += 10;"
	             "1: exit;"
	             :
	             : [hash4] "i"(&hash4), [lookup] "i"(BPF_FUNC_map_lookup_elem)
	             : CLOBBERS);
}

// Dead writes of every shape: a move, a two-slot lddw, a load, and the
// source register a fetching atomic loads into.
// expect fp_writes_after_constant: accept
SEC("socket")
__attribute__((naked)) int fp_writes_after_constant(void)
{
	asm volatile("r0 = 0;"
	             "*(u64 *)(r10 - 8) = r0;"
	             "if r0 == 0 goto 1f;"
	             "r10 = r1;"
	             "r10 = 0x123456789 ll;"
	             "r10 = *(u64 *)(r10 - 8);"
	             /* r10 = atomic_fetch_add((u64 *)(r2 + 0), r10), which
	              * clang 14's assembler does not parse */
	             ".8byte 0x000000010000a2db;"
	             "1: exit;"
	             :
	             :
	             : CLOBBERS);
}

// The same write on a path the walk takes: refused there, after the
// instructions before it.
// expect fp_write_reached: reject "frame pointer is read only"
SEC("socket")
__attribute__((naked)) int fp_write_reached(void)
{
	asm volatile("r0 = *(u32 *)(r1 + 0);"
	             "if r0 == 0 goto 1f;"
	             "r10 += 10;"
	             "1: r0 = 0;"
	             "exit;"
	             :
	             :
	             : CLOBBERS);
}

char _license[] SEC("license") = "GPL";
