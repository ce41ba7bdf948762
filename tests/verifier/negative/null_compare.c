// Negative suite (tests/verifier/README.md): what a jump comparing two
// pointers tells about a maybe-NULL one, as the kernel's
// check_cond_jmp_op: a maybe-NULL pointer equal to one never NULL (a map
// value, memory; not the stack or the context) is not NULL on the side
// where they are equal, that register only (not its copies); two
// maybe-NULL pointers, or a 32-bit comparison, tell nothing.  A pointer
// equal to a register holding 0 is left as it was.  test_verifier_gaps
// also compares the processed instructions with the kernel's.  Socket
// filters (but one), in assembly for the exact jumps.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} hash4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

/* r6 and r7: two lookups of key 0 in hash4, each maybe NULL; r9: the
 * context. */
#define TWO_LOOKUPS                                                                        \
	"r9 = r1;"                                                                         \
	"r1 = 0;"                                                                          \
	"*(u64 *)(r10 - 8) = r1;"                                                          \
	"r2 = r10;" "r2 += -8;" "r1 = %[hash4] ll;" "call %[lookup];" "r6 = r0;"           \
	"r2 = r10;" "r2 += -8;" "r1 = %[hash4] ll;" "call %[lookup];" "r7 = r0;"
/* Reads the value r7 points to, then exits with 0 (label 9: exits). */
#define USE_R7 "r0 = *(u64 *)(r7 + 0);" "9: r0 = 0;" "exit;"
#define MAPS [hash4] "i"(&hash4), [lookup] "i"(BPF_FUNC_map_lookup_elem)
#define CLOBBERS "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "memory"

// r7 != r6 (checked): the fall-through knows r7 is r6, not NULL.
// expect cmp_jne_not_null: accept
SEC("socket")
__attribute__((naked)) int cmp_jne_not_null(void)
{
	asm volatile(TWO_LOOKUPS "if r6 == 0 goto 9f;"
	                         "if r7 != r6 goto 9f;" USE_R7
	             :
	             : MAPS
	             : CLOBBERS);
}

// r6 (checked) == r7: the taken side knows r7 is not NULL.
// expect cmp_jeq_not_null: accept
SEC("socket")
__attribute__((naked)) int cmp_jeq_not_null(void)
{
	asm volatile(TWO_LOOKUPS "if r6 == 0 goto 9f;"
	                         "if r6 == r7 goto 1f;"
	                         "goto 9f;"
	                         "1:" USE_R7
	             :
	             : MAPS
	             : CLOBBERS);
}

// The fall-through of r6 == r7 knows nothing of r7.
// expect cmp_jeq_other_side: reject "R7 invalid mem access 'map_value_or_null'"
SEC("socket")
__attribute__((naked)) int cmp_jeq_other_side(void)
{
	asm volatile(TWO_LOOKUPS "if r6 == 0 goto 9f;"
	                         "if r6 == r7 goto 9f;" USE_R7
	             :
	             : MAPS
	             : CLOBBERS);
}

// Both maybe NULL: equal, they may both be NULL.
// expect cmp_both_maybe_null: reject "R7 invalid mem access 'map_value_or_null'"
SEC("socket")
__attribute__((naked)) int cmp_both_maybe_null(void)
{
	asm volatile(TWO_LOOKUPS "if r6 != r7 goto 9f;" USE_R7
	             :
	             : MAPS
	             : CLOBBERS);
}

// Only the compared register is known not NULL, not its copy r8.
// expect cmp_copy_stays_maybe_null: reject "R8 invalid mem access 'map_value_or_null'"
SEC("socket")
__attribute__((naked)) int cmp_copy_stays_maybe_null(void)
{
	asm volatile(TWO_LOOKUPS "r8 = r7;"
	                         "if r6 == 0 goto 9f;"
	                         "if r6 != r7 goto 9f;"
	                         "r0 = *(u64 *)(r8 + 0);"
	                         "9: r0 = 0;"
	                         "exit;"
	             :
	             : MAPS
	             : CLOBBERS);
}

// A value pointer past its start (a fixed offset) is not NULL either.
// expect cmp_offset_not_null: accept
SEC("socket")
__attribute__((naked)) int cmp_offset_not_null(void)
{
	asm volatile(TWO_LOOKUPS "if r6 == 0 goto 9f;"
	                         "r6 += 8;"
	                         "if r6 != r7 goto 9f;" USE_R7
	             :
	             : MAPS
	             : CLOBBERS);
}

// The stack pointer is not one the kernel knows is never NULL.
// expect cmp_stack_pointer: reject "R7 invalid mem access 'map_value_or_null'"
SEC("socket")
__attribute__((naked)) int cmp_stack_pointer(void)
{
	asm volatile(TWO_LOOKUPS "if r7 != r10 goto 9f;" USE_R7
	             :
	             : MAPS
	             : CLOBBERS);
}

// Nor is the context.
// expect cmp_context: reject "R7 invalid mem access 'map_value_or_null'"
SEC("socket")
__attribute__((naked)) int cmp_context(void)
{
	asm volatile(TWO_LOOKUPS "if r9 != r7 goto 9f;" USE_R7
	             :
	             : MAPS
	             : CLOBBERS);
}

// A 32-bit comparison tells nothing of the pointers.
// expect cmp_jmp32: reject "R7 invalid mem access 'map_value_or_null'"
SEC("socket")
__attribute__((naked)) int cmp_jmp32(void)
{
	asm volatile(TWO_LOOKUPS "if r6 == 0 goto 9f;"
	                         "if w6 != w7 goto 9f;" USE_R7
	             :
	             : MAPS
	             : CLOBBERS);
}

// Unequal to a register holding 0 (not the immediate 0): still maybe NULL.
// expect cmp_zero_register: reject "R7 invalid mem access 'map_value_or_null'"
SEC("socket")
__attribute__((naked)) int cmp_zero_register(void)
{
	asm volatile(TWO_LOOKUPS "r1 = 0;"
	                         "if r7 == r1 goto 9f;" USE_R7
	             :
	             : MAPS
	             : CLOBBERS);
}

// The same with the register holding 0 on the left.
// expect cmp_zero_register_left: reject "R7 invalid mem access 'map_value_or_null'"
SEC("socket")
__attribute__((naked)) int cmp_zero_register_left(void)
{
	asm volatile(TWO_LOOKUPS "r1 = 0;"
	                         "if r1 == r7 goto 9f;" USE_R7
	             :
	             : MAPS
	             : CLOBBERS);
}

// An xskmap's socket equal to a checked one is not NULL either (the
// selftests' verifier_jeq_infer_not_null/null_ptr_to_map_value).
// expect cmp_xdp_sock: accept
SEC("xdp")
__attribute__((naked)) int cmp_xdp_sock(void)
{
	asm volatile("r1 = 0;"
	             "*(u32 *)(r10 - 8) = r1;"
	             "r2 = r10;" "r2 += -8;" "r1 = %[xsks] ll;" "call %[lookup];" "r6 = r0;"
	             "r2 = r10;" "r2 += -8;" "r1 = %[xsks] ll;" "call %[lookup];" "r7 = r0;"
	             "if r6 == 0 goto 9f;"
	             "if r6 != r7 goto 9f;"
	             "r0 = *(u32 *)(r7 + 0);"
	             "9: r0 = 0;"
	             "exit;"
	             :
	             : [xsks] "i"(&xsks), [lookup] "i"(BPF_FUNC_map_lookup_elem)
	             : CLOBBERS);
}

char _license[] SEC("license") = "GPL";
