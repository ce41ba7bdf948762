/* kfunc_unknown.c - a kfunc bpfvm does not provide, called: loading
 * refuses it by name. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int bpf_kfunc_bpfvm_lacks(int x) __ksym;

SEC("bpfvm")
int strong_call(void *mem, __u64 len)
{
	return bpf_kfunc_bpfvm_lacks((int)len);
}

char LICENSE[] SEC("license") = "GPL";
