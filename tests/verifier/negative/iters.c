// Negative suite (tests/verifier/README.md): open-coded number iterators
// (bpf_iter_num_new/next/destroy kfuncs, called explicitly: libbpf 1.1.2
// has no bpf_for).  A loop that sums, one that indexes an array with a
// checked element, and the kernel's iterator rules broken one by one.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_iter_num { __u64 __opaque[1]; } __attribute__((aligned(8)));
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

// expect iter_sum: accept
SEC("socket")
int iter_sum(struct __sk_buff *skb)
{
	struct bpf_iter_num it;
	int sum = 0, *v;
	bpf_iter_num_new(&it, 0, 100);
	while ((v = bpf_iter_num_next(&it)))
		sum += *v;
	bpf_iter_num_destroy(&it);
	return sum;
}

// The element indexes an array once checked against its size.
// expect iter_array_index: accept
SEC("socket")
int iter_array_index(struct __sk_buff *skb)
{
	struct bpf_iter_num it;
	int arr[16] = { 0 }, *v, sum = 0;
	bpf_iter_num_new(&it, 0, 16);
	while ((v = bpf_iter_num_next(&it))) {
		int i = *v;
		if (i < 0 || i >= 16)
			break;
		arr[i] = i;
		sum += arr[(i * 7) & 15];
	}
	bpf_iter_num_destroy(&it);
	return sum;
}

// expect iter_not_destroyed: reject "Unreleased reference"
SEC("socket")
int iter_not_destroyed(struct __sk_buff *skb)
{
	struct bpf_iter_num it;
	int sum = 0, *v;
	bpf_iter_num_new(&it, 0, 4);
	while ((v = bpf_iter_num_next(&it)))
		sum += *v;
	return sum;
}

// expect iter_next_uninit: reject "expected an initialized iter_num as arg #0"
SEC("socket")
int iter_next_uninit(struct __sk_buff *skb)
{
	struct bpf_iter_num it;
	int *v = bpf_iter_num_next(&it);
	return v ? *v : 0;
}

// expect iter_new_twice: reject "expected uninitialized iter_num as arg #0"
SEC("socket")
int iter_new_twice(struct __sk_buff *skb)
{
	struct bpf_iter_num it;
	bpf_iter_num_new(&it, 0, 4);
	bpf_iter_num_new(&it, 0, 4);
	bpf_iter_num_destroy(&it);
	return 0;
}

// expect iter_next_after_destroy: reject "expected an initialized iter_num as arg #0"
SEC("socket")
int iter_next_after_destroy(struct __sk_buff *skb)
{
	struct bpf_iter_num it;
	bpf_iter_num_new(&it, 0, 4);
	bpf_iter_num_destroy(&it);
	int *v = bpf_iter_num_next(&it);
	return v ? *v : 0;
}

// The element is 4 bytes: reading 8 is out of bounds.
// expect iter_elem_oob: reject "invalid access to memory, mem_size=4 off=0 size=8"
SEC("socket")
int iter_elem_oob(struct __sk_buff *skb)
{
	struct bpf_iter_num it;
	long sum = 0;
	int *v;
	bpf_iter_num_new(&it, 0, 4);
	while ((v = bpf_iter_num_next(&it)))
		sum += *(long *)v;
	bpf_iter_num_destroy(&it);
	return sum;
}

char _license[] SEC("license") = "GPL";
