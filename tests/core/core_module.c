/*
 * core_module.c - CO-RE reads of types a kernel module's BTF holds and
 * vmlinux's does not (test_core_modules points bpfvm at a BTF directory
 * of its own: a vmlinux and a module "bpfvm_testmod" split on it).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* In the module at offset 8 (after a long); in vmlinux, not at all. */
struct bpfvm_mod_thing {
	int val;
} __attribute__((preserve_access_index));

/* In vmlinux (offset 4) and, differently, in the module (offset 12):
 * vmlinux's candidate wins, as in libbpf. */
struct bpfvm_base_thing {
	int b;
} __attribute__((preserve_access_index));

/* Nowhere: the relocation is poisoned. */
struct bpfvm_absent_thing {
	int z;
} __attribute__((preserve_access_index));

SEC("socket")
int read_module_types(struct __sk_buff *skb)
{
	struct bpfvm_mod_thing *m = (void *)(long)skb->cb[0];
	struct bpfvm_base_thing *b = (void *)(long)skb->cb[1];
	int sum = BPF_CORE_READ(m, val) + BPF_CORE_READ(b, b);
	if (skb->len == 12345)
		sum += BPF_CORE_READ((struct bpfvm_absent_thing *)b, z);
	return sum;
}

char LICENSE[] SEC("license") = "GPL";
