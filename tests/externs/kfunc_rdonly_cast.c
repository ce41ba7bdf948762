/* kfunc_rdonly_cast.c - bpf_rdonly_cast, which bpfvm provides: the cast
 * runs (a move of its first argument), but an access through its result,
 * which the kernel makes with loads that cannot fault, and a cast to void
 * are refused as unsupported. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

SEC("bpfvm")
long cast_len(void *mem, __u64 len)
{
	return (long)bpf_rdonly_cast((void *)len, bpf_core_type_id_kernel(union bpf_attr));
}

SEC("bpfvm")
int read_through_cast(void *mem, __u64 len)
{
	union bpf_attr *attr = bpf_rdonly_cast(mem, bpf_core_type_id_kernel(union bpf_attr));
	return attr->map_type;
}

SEC("bpfvm")
int cast_to_void(void *mem, __u64 len)
{
	return bpf_rdonly_cast(mem, 0) != 0;
}

char LICENSE[] SEC("license") = "GPL";
