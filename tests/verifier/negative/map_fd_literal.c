// Negative suite (tests/verifier/README.md): an lddw of a map with no
// relocation (a literal file descriptor in inline assembly, as the kernel's
// selftest map_fd_for_function_call writes it).  libbpf passes it to the
// kernel as it is, which refuses it at load, before any walk and whether
// or not the instruction is reachable: "fd 0 is not pointing to valid
// bpf_map".  bpfvm's loader keeps it as no map of the object (not its map
// 0), and the verifier refuses it as the kernel does.  test_verifier_gaps
// compares bpfvm's verdicts and processed instructions with the kernel's.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, long long);
	__type(value, long long);
} only_map SEC(".maps");

/* r1 = (map fd 0) ll: BPF_LD | BPF_DW | BPF_IMM, dst r1, src BPF_PSEUDO_MAP_FD */
#define LD_MAP_FD_0 ".8byte 0x1118;" ".8byte 0;"

// expect literal_fd: reject "fd 0 is not pointing to valid bpf_map"
SEC("socket")
__attribute__((naked)) int literal_fd(void)
{
	asm volatile("r2 = 0;" "*(u64 *)(r10 - 8) = r2;" "r2 = r10;" "r2 += -8;" LD_MAP_FD_0
	             "call %[delete];" "r0 = 0;" "exit;"
	             :
	             : [delete] "i"(BPF_FUNC_map_delete_elem)
	             : "r0", "r1", "r2", "r3", "r4", "r5", "memory");
}

// The same lddw on a branch no path takes: refused all the same.
// expect literal_fd_dead: reject "fd 0 is not pointing to valid bpf_map"
SEC("socket")
__attribute__((naked)) int literal_fd_dead(void)
{
	asm volatile("r0 = 0;" "if r0 == 0 goto 1f;" LD_MAP_FD_0 "1: exit;"
	             :
	             :
	             : "r0", "r1", "memory");
}

char _license[] SEC("license") = "GPL";
