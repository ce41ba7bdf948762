/*
 * core_types_enums.c - CO-RE type and enum relocations against
 * core_target.c's BTF: local and target type ids, type existence and size
 * (of present and absent types, through a typedef), enumerator existence
 * and values (moved, negative, absent).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "core_types.h"

SEC("socket")
int types(void *ctx)
{
	long sum = 0;
	sum += bpf_core_type_id_local(struct core_sample);
	sum += bpf_core_type_id_kernel(struct core_sample);
	sum += bpf_core_type_id_kernel(core_sample_t);
	sum += bpf_core_type_exists(struct core_sample) + bpf_core_type_exists(struct core_absent);
	sum += bpf_core_type_size(struct core_sample) + bpf_core_type_size(struct core_inner);
	sum += bpf_core_type_size(core_sample_t) + bpf_core_type_size(struct core_absent);
	sum += bpf_core_type_exists(struct core_flav___v2);
	return (int)sum;
}

SEC("socket")
int enums(void *ctx)
{
	long sum = 0;
	sum += bpf_core_enum_value_exists(enum core_color, CORE_GREEN);
	sum += bpf_core_enum_value_exists(enum core_gone, CORE_GONE_A);
	sum += bpf_core_enum_value(enum core_color, CORE_RED);
	sum += bpf_core_enum_value(enum core_color, CORE_BLUE);
	sum += bpf_core_enum_value(enum core_color, CORE_NEG);
	if (bpf_core_enum_value_exists(enum core_gone, CORE_GONE_A))
		sum += bpf_core_enum_value(enum core_gone, CORE_GONE_A);
	return (int)sum;
}

char LICENSE[] SEC("license") = "GPL";
