// Negative suite (tests/verifier/README.md): the kfunc
// bpf_copy_from_user_str(dst, dst__sz, unsafe_ptr__ign, flags), as the
// kernel 6.18 checks it: only a sleepable program may call it; dst and
// dst__sz are a memory, size pair the kfunc may read and write whole (a
// size of 0 allowed, a variable one bounded); the source is not checked.
// test_verifier_gaps compares bpfvm's verdicts and processed instructions
// with the kernel's.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int bpf_copy_from_user_str(void *dst, __u32 dst__sz, const void *unsafe_ptr__ign, __u64 flags) __ksym __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[32]);
} names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[32]);
} hash_names SEC(".maps");

// The end of the naked programs below: a source address, flags 0, the
// call, r0 = 0.
#define COPY_STR_CALL                                                          \
	"r3 = 4096;"                                                           \
	"r4 = 0;"                                                              \
	"call %[bpf_copy_from_user_str];"                                      \
	"r0 = 0;"                                                              \
	"exit;"                                                                \
	: : [bpf_copy_from_user_str] "i"(bpf_copy_from_user_str)              \
	: "r0", "r1", "r2", "r3", "r4", "r5", "memory"

// A stack buffer, whole.
// expect to_stack: accept
SEC("uprobe.s")
int to_stack(void *ctx)
{
	char buf[16];
	int n = bpf_copy_from_user_str(buf, sizeof buf, (void *)0x1000, 0);
	return n > 0 ? buf[0] : 0;
}

// The same in a program that may not sleep.
// expect not_sleepable: reject "program must be sleepable to call sleepable kfunc bpf_copy_from_user_str"
SEC("uprobe")
int not_sleepable(void *ctx)
{
	char buf[16];
	int n = bpf_copy_from_user_str(buf, sizeof buf, (void *)0x1000, 0);
	return n > 0 ? buf[0] : 0;
}

// A size past the buffer's end.
// expect past_stack: reject "memory, len pair leads to invalid memory access"
SEC("uprobe.s")
__attribute__((naked)) int past_stack(void)
{
	asm volatile("r1 = r10;"
	             "r1 += -16;"
	             "r2 = 24;"
	             COPY_STR_CALL);
}

// Into a map value, with BPF_F_PAD_ZEROS.
// expect to_map_value: accept
SEC("uprobe.s")
int to_map_value(void *ctx)
{
	__u32 key = 0;
	char *v = bpf_map_lookup_elem(&names, &key);
	if (!v)
		return 0;
	return bpf_copy_from_user_str(v, 32, (void *)0x1000, 1 /* BPF_F_PAD_ZEROS */);
}

// Into a hash map's value not checked for NULL.
// expect map_value_or_null: reject "Possibly NULL pointer passed to trusted arg0"
SEC("uprobe.s")
__attribute__((naked)) int map_value_or_null(void)
{
	asm volatile("r1 = 0;"
	             "*(u32 *)(r10 - 4) = r1;"
	             "r2 = r10;"
	             "r2 += -4;"
	             "r1 = %[names] ll;"
	             "call %[bpf_map_lookup_elem];"
	             "r1 = r0;"
	             "r2 = 32;"
	             "r3 = 4096;"
	             "r4 = 0;"
	             "call %[bpf_copy_from_user_str];"
	             "r0 = 0;"
	             "exit;"
	             :
	             : [bpf_copy_from_user_str] "i"(bpf_copy_from_user_str), [names] "i"(&hash_names),
	               [bpf_map_lookup_elem] "i"(bpf_map_lookup_elem)
	             : "r0", "r1", "r2", "r3", "r4", "r5", "memory");
}

// A size from the context (pt_regs' di and si), bounded by a mask: 0..15
// of the 16 bytes.
// expect bounded_size: accept
SEC("uprobe.s")
int bounded_size(void *ctx)
{
	char buf[16];
	__u32 size = (__u32)*(__u64 *)((char *)ctx + 112) & 15;
	return bpf_copy_from_user_str(buf, size, (void *)*(__u64 *)((char *)ctx + 104), 0);
}

// A size from the context, which may be negative.
// expect negative_size: reject "R2 min value is negative"
SEC("uprobe.s")
__attribute__((naked)) int negative_size(void)
{
	asm volatile("r2 = *(u64 *)(r1 + 112);"
	             "r1 = r10;"
	             "r1 += -16;"
	             COPY_STR_CALL);
}

// A size from the context, any 32-bit number.
// expect unbounded_size: reject "R2 unbounded memory access"
SEC("uprobe.s")
__attribute__((naked)) int unbounded_size(void)
{
	asm volatile("r2 = *(u64 *)(r1 + 112);"
	             "w2 = w2;"
	             "r1 = r10;"
	             "r1 += -16;"
	             COPY_STR_CALL);
}

// A number as the buffer.
// expect number_as_dst: reject "memory, len pair leads to invalid memory access"
SEC("uprobe.s")
__attribute__((naked)) int number_as_dst(void)
{
	asm volatile("r1 = 4096;"
	             "r2 = 8;"
	             COPY_STR_CALL);
}

// A pointer as the flags.
// expect pointer_flags: reject "R4 is not a scalar"
SEC("uprobe.s")
__attribute__((naked)) int pointer_flags(void)
{
	asm volatile("r1 = r10;"
	             "r1 += -16;"
	             "r2 = 16;"
	             "r3 = 4096;"
	             "r4 = r10;"
	             "call %[bpf_copy_from_user_str];"
	             "r0 = 0;"
	             "exit;"
	             :
	             : [bpf_copy_from_user_str] "i"(bpf_copy_from_user_str)
	             : "r0", "r1", "r2", "r3", "r4", "r5", "memory");
}

char LICENSE[] SEC("license") = "GPL";
