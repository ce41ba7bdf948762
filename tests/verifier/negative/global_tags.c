// Negative suite (tests/verifier/README.md): the `arg:` tags of a global
// function's parameters (btf_decl_tag), as the kernel 6.18 reads them
// (btf_prepare_func_args): arg:nullable only with arg:trusted, never on
// memory, the context or a number; arg:nonnull not with arg:trusted;
// arg:arena alone; a tag the kernel does not know refused.  The kernel
// refuses each bad prototype at the call.  test_verifier_gaps compares
// bpfvm's verdicts and processed instructions with the kernel's.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define __global __attribute__((noinline))
#define __tag(t) __attribute__((btf_decl_tag("arg:" t)))

struct task_struct;

volatile int sink;

__global int mem_nullable(int *p __tag("nullable"))
{
	return p ? *p : 0;
}

// arg:nullable on a pointer to memory, which may be NULL untagged.
// expect nullable_on_mem: reject "arg#0 has invalid combination of tags"
SEC("socket")
int nullable_on_mem(struct __sk_buff *skb)
{
	int v = skb->len;
	return mem_nullable(&v);
}

__global int num_nullable(int x __tag("nullable"))
{
	return x + 1;
}

// expect nullable_on_number: reject "arg#0 has pointer tag, but is not a pointer type"
SEC("socket")
int nullable_on_number(struct __sk_buff *skb)
{
	return num_nullable(skb->len);
}

__global int ctx_nullable(struct __sk_buff *skb __tag("ctx") __tag("nullable"))
{
	return skb->len;
}

// expect nullable_on_ctx: reject "arg#0 has invalid combination of tags"
SEC("socket")
int nullable_on_ctx(struct __sk_buff *skb)
{
	return ctx_nullable(skb);
}

__global int mem_nonnull_nullable(int *p __tag("nonnull") __tag("nullable"))
{
	return *p;
}

// expect nonnull_and_nullable: reject "arg#0 has invalid combination of tags"
SEC("socket")
int nonnull_and_nullable(struct __sk_buff *skb)
{
	int v = skb->len;
	return mem_nonnull_nullable(&v);
}

__global int task_trusted_nonnull(struct task_struct *t __tag("trusted") __tag("nonnull"))
{
	return t != 0;
}

// expect trusted_and_nonnull: reject "arg#0 has invalid combination of tags"
SEC("socket")
int trusted_and_nonnull(struct __sk_buff *skb)
{
	return task_trusted_nonnull(0);
}

__global int arena_nonnull(int *p __tag("arena") __tag("nonnull"))
{
	return p != 0;
}

// expect arena_and_nonnull: reject "arg#0 arena cannot be combined with any other tags"
SEC("socket")
int arena_and_nonnull(struct __sk_buff *skb)
{
	return arena_nonnull(0);
}

__global int mem_unknown_tag(int *p __tag("sometimes"))
{
	return p ? *p : 0;
}

// expect unknown_tag: reject "arg#0 has unsupported set of tags"
SEC("socket")
int unknown_tag(struct __sk_buff *skb)
{
	int v = skb->len;
	return mem_unknown_tag(&v);
}

__global int untrusted_nonnull(int *p __tag("untrusted") __tag("nonnull"))
{
	return p != 0;
}

// expect untrusted_and_nonnull: reject "untrusted cannot be combined with any other tags"
SEC("socket")
int untrusted_and_nonnull(struct __sk_buff *skb)
{
	return untrusted_nonnull(0);
}

char _license[] SEC("license") = "GPL";
