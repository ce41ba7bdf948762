/* kfunc_iter.c - the number iterator's kfuncs, called as the kernel's
 * selftests call them (bpf_iter_num_new/next/destroy). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_iter_num { __u64 __opaque[1]; } __attribute__((aligned(8)));
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

SEC("bpfvm")
int iter_sum(void *mem, __u64 len)
{
	struct bpf_iter_num it;
	int sum = 0, *v;
	bpf_iter_num_new(&it, 0, 10);
	while ((v = bpf_iter_num_next(&it)))
		sum += *v;
	bpf_iter_num_destroy(&it);
	return sum;
}

char LICENSE[] SEC("license") = "GPL";
