/* ksym_weak.c - weak __ksym variables, typed and typeless, which bpfvm
 * (in user space) never has: each reads as absent (address 0), and
 * bpf_ksym_exists() (newer libbpf's, which 1.1.2's headers lack) says so;
 * and bpfvm's answers to libbpf's LINUX_HAS_* virtual externs. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define bpf_ksym_exists(sym) ({ _Static_assert(!__builtin_constant_p(!!sym), #sym " should be marked as __weak"); !!sym; })

extern _Bool LINUX_HAS_BPF_COOKIE __kconfig;           /* bpfvm: 0, no bpf_get_attach_cookie */
extern _Bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;      /* bpfvm: 0, arguments in the context */
extern int bpf_prog_active __ksym __weak;        /* typed */
extern const void bpf_iter_task_typeless __ksym __weak; /* typeless */

SEC("bpfvm")
int ksyms_absent(void *mem, __u64 len)
{
	int r = 0;
	if (bpf_ksym_exists(&bpf_prog_active))
		r |= 1;
	if (bpf_ksym_exists(&bpf_iter_task_typeless))
		r |= 2;
	r |= LINUX_HAS_BPF_COOKIE << 2;
	r |= LINUX_HAS_SYSCALL_WRAPPER << 3;
	return r + 40;
}

char LICENSE[] SEC("license") = "GPL";
