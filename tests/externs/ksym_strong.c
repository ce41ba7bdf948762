/* ksym_strong.c - a strong __ksym variable: refused at open, naming it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int bpf_prog_active __ksym;

SEC("bpfvm")
int ksym_needed(void *mem, __u64 len)
{
	return bpf_prog_active;
}

char LICENSE[] SEC("license") = "GPL";
