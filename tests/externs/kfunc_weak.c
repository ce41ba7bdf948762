/* kfunc_weak.c - a weak kfunc bpfvm does not provide, called only where
 * a read-only setting allows it (off): the verifier proves the call dead,
 * so the object loads and the call is never reached. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int bpf_weak_kfunc_bpfvm_lacks(int x) __ksym __attribute__((weak));

const volatile int use_weak_kfunc = 0;

SEC("bpfvm")
int guarded(void *mem, __u64 len)
{
	if (use_weak_kfunc)
		return bpf_weak_kfunc_bpfvm_lacks((int)len);
	return 7;
}

char LICENSE[] SEC("license") = "GPL";
