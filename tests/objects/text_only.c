/* text_only.c - loader test object: a lone function with no SEC(), so in
 * .text; libbpf (for old objects' sake) makes it a program of section
 * ".text" with no type rather than a subprogram. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int lone_function(void *ctx)
{
	return 42;
}

char LICENSE[] SEC("license") = "GPL";
