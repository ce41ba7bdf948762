// Negative suite (tests/verifier/README.md): stack slots' liveness, as the
// kernel 6.18's (kernel/bpf/liveness.c; bpfvm's src/verifier/stack_live.c).
// A kept state's slot that no path reads again is cleared before the state
// is compared, so it keeps no path from being pruned; one read later, by
// the program, a helper, a subprogram or a callback through a pointer,
// must stay.  test_verifier_gaps compares bpfvm's verdicts and processed
// instructions with the kernel's: the accepted programs tell by their
// count whether the second path was pruned at the join, the rejected ones
// are the unsafe second paths that a slot wrongly cleared would prune.
// Socket filters, in assembly for the exact stores.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} one SEC(".maps");

/* Two paths to the join at label 2: the fall-through, walked first and
 * kept there (8 instructions and 2 jumps after the last state kept), with
 * A at fp-8, and the second path with B there. */
#define TWO_PATHS(A, B) \
	"call %[rand];" "if r0 == 0 goto 1f;" \
	"r2 = 1;" "r3 = 2;" "r4 = 3;" "r5 = 4;" "r2 = 5;" "r3 = 6;" "r4 = 7;" "r5 = 8;" \
	A "goto 2f;" \
	"1:" B \
	"2: r0 = 0;"
#define HELPERS [rand] "i"(BPF_FUNC_get_prandom_u32), [lookup] "i"(BPF_FUNC_map_lookup_elem), [one] "i"(&one)
#define CLOBBERS "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "memory"

// A pointer kept, a number later, overwritten before any read after the
// join: dead there, so the second path is pruned.
// expect dead_slot_pruned: accept
SEC("socket")
__attribute__((naked)) int dead_slot_pruned(void)
{
	asm volatile("r7 = r1;"
	             TWO_PATHS("*(u64 *)(r10 - 8) = r7;", "*(u64 *)(r10 - 8) = r0;")
	             "*(u64 *)(r10 - 8) = r7;" "r1 = *(u64 *)(r10 - 8);" "r0 = *(u32 *)(r1 + 0);"
	             "r0 = 0;" "exit;"
	             :
	             : HELPERS
	             : CLOBBERS);
}

// The same slot read after the join: the second path's number is no
// pointer.
// expect live_slot_read: reject "invalid mem access 'scalar'"
SEC("socket")
__attribute__((naked)) int live_slot_read(void)
{
	asm volatile("r7 = r1;"
	             TWO_PATHS("*(u64 *)(r10 - 8) = r7;", "*(u64 *)(r10 - 8) = r0;")
	             "r1 = *(u64 *)(r10 - 8);" "r0 = *(u32 *)(r1 + 0);"
	             "r0 = 0;" "exit;"
	             :
	             : HELPERS
	             : CLOBBERS);
}

// A key spilled in fp-8's low 4 bytes, 0 on the first path, 5 on the second, read by
// bpf_map_lookup_elem after the join: the lookup of a key in range needs
// no null check, the other does (the key is read by the helper: live).
// expect live_slot_helper_key: reject "invalid mem access 'map_value_or_null'"
SEC("socket")
__attribute__((naked)) int live_slot_helper_key(void)
{
	asm volatile("r7 = 0;" "r6 = 5;"
	             TWO_PATHS("*(u32 *)(r10 - 8) = r7;", "*(u32 *)(r10 - 8) = r6;")
	             "r2 = r10;" "r2 += -8;" "r1 = %[one] ll;" "call %[lookup];"
	             "r0 = *(u64 *)(r0 + 0);" "r0 = 0;" "exit;"
	             :
	             : HELPERS
	             : CLOBBERS);
}

/* Reads the u32 the pointer at r1's target points to. */
static __attribute__((naked, used)) void deref_first(void)
{
	asm volatile("r1 = *(u64 *)(r1 + 0);" "r0 = *(u32 *)(r1 + 0);" "exit;" ::: "r0", "r1");
}

// A slot read by a subprogram through the pointer it is given: live at
// the call.
// expect live_slot_subprog: reject "invalid mem access 'scalar'"
SEC("socket")
__attribute__((naked)) int live_slot_subprog(void)
{
	asm volatile("r7 = r1;"
	             TWO_PATHS("*(u64 *)(r10 - 8) = r7;", "*(u64 *)(r10 - 8) = r0;")
	             "r1 = r10;" "r1 += -8;" "r2 = 0;" "r3 = 0;" "r4 = 0;" "r5 = 0;" "call deref_first;"
	             "r0 = 0;" "exit;"
	             :
	             : HELPERS
	             : CLOBBERS);
}

static int use_and_clear(__u32 i, void **ctx)
{
	__u32 key = 7;
	bpf_map_lookup_elem(*ctx, &key);
	*ctx = 0;
	return 0;
}

// The kernel's caller_stack_pruning_callback: bpf_loop's callback reads
// its caller's fp-8 (a map on the first call) and clears it; on the second
// call the number is no map.  The slot is live at the callback's entry on
// every call: the helper calls again.
// expect live_slot_callback: reject "R1 type=scalar expected=map_ptr"
SEC("socket")
int live_slot_callback(struct __sk_buff *skb)
{
	void *map = &one;
	bpf_loop(2, use_and_clear, &map, 0);
	return 0;
}

char _license[] SEC("license") = "GPL";
