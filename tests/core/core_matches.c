/*
 * core_matches.c - bpf_core_type_matches against core_target.c's BTF (built
 * with clang-16: clang 14 crashes on it): types whose shape matches, does
 * not match, or is absent.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "core_types.h"

struct core_flav___same {
	int x;
	int z;
	int y;
};

SEC("socket")
int matches(void *ctx)
{
	long sum = 0;
	sum += bpf_core_type_matches(struct core_flav___same);
	sum += 2 * bpf_core_type_matches(struct core_flav___v2);
	sum += 4 * bpf_core_type_matches(enum core_color);
	sum += 8 * bpf_core_type_matches(struct core_absent);
	sum += 16 * bpf_core_type_matches(core_sample_t);
	return (int)sum;
}

char LICENSE[] SEC("license") = "GPL";
