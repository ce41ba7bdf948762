/* kconfig.c - __kconfig externs of every type libbpf knows, copied into
 * .bss by an XDP program: test_externs_kernel runs it in bpfvm and, loaded
 * by libbpf with the same extra Kconfig, in the kernel, and compares the
 * .kconfig and .bss maps byte for byte. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern int LINUX_NOT_A_VIRTUAL_EXTERN __kconfig __weak;
extern _Bool CONFIG_BPF_SYSCALL __kconfig;              /* from the running kernel's Kconfig */
extern enum libbpf_tristate CONFIG_BPFVM_TEST_TRI __kconfig __weak;
extern char CONFIG_BPFVM_TEST_CHAR __kconfig __weak;
extern const char CONFIG_BPFVM_TEST_STR[8] __kconfig __weak;
extern unsigned long long CONFIG_BPFVM_TEST_U64 __kconfig __weak;
extern short CONFIG_BPFVM_TEST_S16 __kconfig __weak;
extern unsigned char CONFIG_BPFVM_TEST_U8 __kconfig __weak;
extern _Bool CONFIG_BPFVM_TEST_BOOL __kconfig __weak;
extern int CONFIG_BPFVM_TEST_MISSING __kconfig __weak;

struct {
	__u64 version, not_virtual, bpf_syscall, tri, chr, u64, s16, u8, boolean, missing;
	char str[8];
} results;

SEC("xdp")
int read_kconfig(struct xdp_md *ctx)
{
	results.version = LINUX_KERNEL_VERSION;
	results.not_virtual = LINUX_NOT_A_VIRTUAL_EXTERN;
	results.bpf_syscall = CONFIG_BPF_SYSCALL;
	results.tri = CONFIG_BPFVM_TEST_TRI;
	results.chr = CONFIG_BPFVM_TEST_CHAR;
	results.u64 = CONFIG_BPFVM_TEST_U64;
	results.s16 = (__u64)(__s64)CONFIG_BPFVM_TEST_S16;
	results.u8 = CONFIG_BPFVM_TEST_U8;
	results.boolean = CONFIG_BPFVM_TEST_BOOL;
	results.missing = CONFIG_BPFVM_TEST_MISSING;
	for (int i = 0; i < 8; i++)
		results.str[i] = CONFIG_BPFVM_TEST_STR[i];
	/* a branch the verifier prunes: the .kconfig map is read-only */
	if (LINUX_KERNEL_VERSION == 0)
		return XDP_ABORTED;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
