// Negative suite (tests/verifier/README.md): the kfunc bpf_rdonly_cast,
// as the kernel 6.18 types it: its second argument must be a known
// constant, a type ID of the kernel's BTF naming a struct or union (here
// bpf_core_type_id_kernel()), and the result is an untrusted pointer to
// that type; the first argument may be anything.  The call is a plain
// move at run time.  test_verifier_gaps compares bpfvm's verdicts and
// processed instructions with the kernel's.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

// Cast, keep, compare: the kernel's selftest kfunc_bpf_rdonly_cast, with
// the spills and fills bpf_fastcall lets the kernel drop.
// expect cast_to_union: accept
SEC("socket")
__attribute__((naked)) int cast_to_union(void)
{
	asm volatile("r2 = %[id];"
	             "r3 = 1;"
	             "*(u64 *)(r10 - 32) = r3;"
	             "call %[bpf_rdonly_cast];"
	             "r3 = *(u64 *)(r10 - 32);"
	             "r0 = r3;"
	             "exit;"
	             :
	             : [bpf_rdonly_cast] "i"(bpf_rdonly_cast), [id] "r"(bpf_core_type_id_kernel(union bpf_attr))
	             : "r0", "r1", "r3", "r4", "r5", "memory");
}

// A number cast, the result compared with NULL (either may be: the kernel
// knows nothing of an untrusted pointer) and returned as a number.
// expect cast_number: accept
SEC("socket")
int cast_number(struct __sk_buff *skb)
{
	void *p = bpf_rdonly_cast((void *)(long)skb->len, bpf_core_type_id_kernel(struct bpf_prog_info));
	return p != 0;
}

// An integer type.
// expect cast_to_int: reject "kfunc bpf_rdonly_cast type ID argument must be of a struct"
SEC("socket")
int cast_to_int(struct __sk_buff *skb)
{
	return bpf_rdonly_cast(skb, bpf_core_type_id_kernel(int)) != 0;
}

// A type ID that is not a constant.
// expect cast_unknown_id: reject "R2 must be a known constant"
SEC("socket")
int cast_unknown_id(struct __sk_buff *skb)
{
	return bpf_rdonly_cast(skb, skb->len) != 0;
}

char _license[] SEC("license") = "GPL";
