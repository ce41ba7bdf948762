// Negative suite (tests/verifier/README.md): a bpf_tail_call made inside a
// subprogram, as the kernel 6.18 verifies it (its check_helper_call: a
// tail call in a frame other than the first may return straight to the
// subprogram's caller, with r0 unknown and packet pointers gone, skipping
// whatever the subprogram would have done after it; its liveness takes the
// subprogram's exit as a successor of the call).  bpfvm's engines end the
// whole program at a taken tail call, which the kernel's model covers.
// test_verifier_gaps compares bpfvm's verdicts and processed instructions
// with the kernel's.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} jumps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[2]);
} vals SEC(".maps");

#define HELPERS [rand] "i"(BPF_FUNC_get_prandom_u32), [tail] "i"(BPF_FUNC_tail_call), \
	[lookup] "i"(BPF_FUNC_map_lookup_elem), [loop] "i"(BPF_FUNC_loop), [jumps] "i"(&jumps), [vals] "i"(&vals)
#define CLOBBERS "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "memory"

/* Tail-calls jumps[0] with the context in r1, then writes -16 through the
 * pointer in r2: a write the caller cannot count on. */
static __attribute__((naked, used)) int write_after_tail_call(void)
{
	asm volatile("r6 = r2;" "r2 = %[jumps] ll;" "r3 = 0;" "call %[tail];"
	             "r1 = -16;" "*(u64 *)(r6 + 0) = r1;" "r0 = 0;" "exit;"
	             :
	             : HELPERS
	             : CLOBBERS);
}

// The kernel's selftest caller_stack_write_tail_call (verifier_live_stack.c):
// (stores of immediates through registers: clang 14 has no BPF_ST in
// assembly) fp-8 holds -8 or -1024 before the call; the subprogram's write of -16
// after its tail call may not happen, so the read through fp-8 may be at
// -1024.
// expect caller_stack_write_tail_call: reject "invalid read from stack R2 off=-1024 size=8"
SEC("socket")
__attribute__((naked)) int caller_stack_write_tail_call(void)
{
	asm volatile("r6 = r1;" "r1 = -8;" "*(u64 *)(r10 - 8) = r1;" "call %[rand];" "if r0 != 42 goto 1f;" "goto 2f;"
	             "1: r1 = -1024;" "*(u64 *)(r10 - 8) = r1;"
	             "2: r1 = r6;" "r2 = r10;" "r2 += -8;" "call write_after_tail_call;"
	             "r1 = *(u64 *)(r10 - 8);" "r2 = r10;" "r2 += r1;" "r0 = *(u64 *)(r2 + 0);" "exit;"
	             :
	             : HELPERS
	             : CLOBBERS);
}

// The twin: the caller writes fp-8 again after the call, so whatever the
// subprogram did or did not write, the read is at -8.
// expect caller_stack_rewritten_after_tail_call: accept
SEC("socket")
__attribute__((naked)) int caller_stack_rewritten_after_tail_call(void)
{
	asm volatile("r6 = r1;" "r1 = -8;" "*(u64 *)(r10 - 8) = r1;" "call %[rand];" "if r0 != 42 goto 1f;" "goto 2f;"
	             "1: r1 = -1024;" "*(u64 *)(r10 - 8) = r1;"
	             "2: r1 = r6;" "r2 = r10;" "r2 += -8;" "call write_after_tail_call;"
	             "r1 = -8;" "*(u64 *)(r10 - 8) = r1;"
	             "r1 = *(u64 *)(r10 - 8);" "r2 = r10;" "r2 += r1;" "r0 = *(u64 *)(r2 + 0);" "exit;"
	             :
	             : HELPERS
	             : CLOBBERS);
}

/* Tail-calls jumps[0], then returns r2 (the kernel's identity_tail_call). */
static __attribute__((naked, used)) int identity_tail_call(void)
{
	asm volatile("r6 = r2;" "r2 = %[jumps] ll;" "r3 = 0;" "call %[tail];" "r0 = r6;" "exit;"
	             :
	             : HELPERS
	             : CLOBBERS);
}

/* r7 = &vals[0], or the program returns 0. */
#define VALUE_IN_R7 \
	"r7 = r1;" "r1 = 0;" "*(u32 *)(r10 - 4) = r1;" "r2 = r10;" "r2 += -4;" "r1 = %[vals] ll;" \
	"call %[lookup];" "if r0 != 0 goto 1f;" "exit;" "1: r1 = r7;" "r7 = r0;"

// The subprogram returns 1 unless its tail call was taken, which returns
// what the called program returned (the kernel's subprog_result_tail_call,
// whose message, at r7 += r0, bpfvm gives at the access instead): a
// result other than 1 is dereferenced.
// expect subprog_result_tail_call: reject "R0 invalid mem access 'scalar'"
SEC("socket")
__attribute__((naked)) int subprog_result_tail_call(void)
{
	asm volatile("r2 = 1;" "call identity_tail_call;" "if r0 == 1 goto 1f;" "r0 = *(u64 *)(r0 + 0);"
	             "1: r0 = 0;" "exit;"
	             :
	             : HELPERS
	             : CLOBBERS);
}

// The twin: the result bounded before it is used.
// expect subprog_result_tail_call_bounded: accept
SEC("socket")
__attribute__((naked)) int subprog_result_tail_call_bounded(void)
{
	asm volatile(VALUE_IN_R7
	             "r2 = 1;" "call identity_tail_call;" "r0 &= 1;" "r0 <<= 3;" "r7 += r0;"
	             "r0 = *(u64 *)(r7 + 0);" "exit;"
	             :
	             : HELPERS
	             : CLOBBERS);
}

static __attribute__((noinline)) int static_tail_call(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jumps, 0);
	return 0;
}

// A packet pointer checked before a subprogram's tail call: after the call
// it is gone (the called program may have changed the packet).
// expect pkt_after_subprog_tail_call: reject "invalid mem access 'scalar'"
SEC("tc")
int pkt_after_subprog_tail_call(struct __sk_buff *skb)
{
	int *p = (void *)(long)skb->data;

	if ((void *)(p + 1) > (void *)(long)skb->data_end)
		return TC_ACT_SHOT;
	static_tail_call(skb);
	*p = 42;
	return TC_ACT_OK;
}

// A tail call in the program itself: when it returns at all it failed, and
// the packet is as it was.
// expect pkt_after_tail_call: accept
SEC("tc")
int pkt_after_tail_call(struct __sk_buff *skb)
{
	int *p = (void *)(long)skb->data;

	if ((void *)(p + 1) > (void *)(long)skb->data_end)
		return TC_ACT_SHOT;
	bpf_tail_call(skb, &jumps, 0);
	*p = 42;
	return TC_ACT_OK;
}

/* A bpf_loop callback that tail-calls (its context: a pointer to the
 * program's context), then returns 0; a taken tail call would return the
 * called program's result from the callback. */
static __attribute__((naked, used)) int tail_call_callback(void)
{
	asm volatile("r1 = *(u64 *)(r2 + 0);" "r2 = %[jumps] ll;" "r3 = 0;" "call %[tail];" "r0 = 0;" "exit;"
	             :
	             : HELPERS
	             : CLOBBERS);
}

// The kernel marks r0 precise from before the tail call, finds nothing
// setting it since the callback's start, and stops there with a "verifier
// bug".
// expect tail_call_in_callback: reject "verifier bug: callback unexpected regs 1"
SEC("socket")
__attribute__((naked)) int tail_call_in_callback(void)
{
	asm volatile("*(u64 *)(r10 - 8) = r1;" "r3 = r10;" "r3 += -8;" "r1 = 1;" "r2 = tail_call_callback ll;"
	             "r4 = 0;" "call %[loop];"
	             "r0 = 0;" "exit;"
	             :
	             : HELPERS
	             : CLOBBERS);
}

/* The same, r0 set before the tail call. */
static __attribute__((naked, used)) int tail_call_callback_r0_set(void)
{
	asm volatile("r0 = 0;" "r1 = *(u64 *)(r2 + 0);" "r2 = %[jumps] ll;" "r3 = 0;" "call %[tail];" "r0 = 0;"
	             "exit;"
	             :
	             : HELPERS
	             : CLOBBERS);
}

// The kernel's backtracking of r0 from the tail call stops at r0 = 0: the
// unknown r0 of the tail call taken is out of the callback's range.
// expect tail_call_in_callback_r0_set: reject "At callback return the register R0 has unknown scalar value should have been in [0, 1]"
SEC("socket")
__attribute__((naked)) int tail_call_in_callback_r0_set(void)
{
	asm volatile("*(u64 *)(r10 - 8) = r1;" "r3 = r10;" "r3 += -8;" "r1 = 1;"
	             "r2 = tail_call_callback_r0_set ll;" "r4 = 0;" "call %[loop];" "r0 = 0;" "exit;"
	             :
	             : HELPERS
	             : CLOBBERS);
}

/* Calls the subprogram that tail-calls, then returns 0. */
static __attribute__((naked, used)) int call_tail_caller(void)
{
	asm volatile("r2 = 1;" "call identity_tail_call;" "r0 = 0;" "exit;"
	             :
	             : HELPERS
	             : CLOBBERS);
}

// Two frames deep: a taken tail call returns only to the caller of the
// subprogram that made it, whose own r0 = 0 still holds for its caller.
// expect tail_call_returns_one_frame: accept
SEC("socket")
__attribute__((naked)) int tail_call_returns_one_frame(void)
{
	asm volatile(VALUE_IN_R7
	             "call call_tail_caller;" "r0 <<= 3;" "r7 += r0;" "r0 = *(u64 *)(r7 + 0);" "exit;"
	             :
	             : HELPERS
	             : CLOBBERS);
}

char _license[] SEC("license") = "GPL";
