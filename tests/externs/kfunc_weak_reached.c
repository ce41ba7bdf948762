/* kfunc_weak_reached.c - a weak kfunc bpfvm does not provide, called on
 * every path: the verifier refuses the call as unsupported, naming the
 * kfunc (the kernel, which may have it, is not the one saying no). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int bpf_weak_kfunc_bpfvm_lacks(int x) __ksym __attribute__((weak));

SEC("bpfvm")
int unguarded(void *mem, __u64 len)
{
	return bpf_weak_kfunc_bpfvm_lacks((int)len);
}

char LICENSE[] SEC("license") = "GPL";
