/*
 * protos.c - the prototypes of the helpers bpfvm's verifier can check:
 * what each argument must be and what the result is, as the kernel
 * declares them for a privileged loader.
 *
 * Owns: helper_proto().  A helper without an entry here is refused by the
 * verifier as unsupported rather than guessed at.  GPL_ONLY marks the
 * kernel's gpl_only helpers (found by loading each into the running
 * kernel with license "Proprietary").
 */
#include <linux/bpf.h>
#include <stddef.h>

#include "verifier/verifier.h"

#define A(...) { __VA_ARGS__ }
#define GPL_ONLY true      /* which ones: the running kernel's verdict on each with license "Proprietary" */
#define ANY_LICENSE false

static const struct helper_proto protos[] = {
	{ BPF_FUNC_map_lookup_elem, "bpf_map_lookup_elem", RET_MAP_VALUE_OR_NULL, A(ARG_MAP, ARG_MAP_KEY), 0, ANY_LICENSE },
	{ BPF_FUNC_map_update_elem, "bpf_map_update_elem", RET_INTEGER,
	  A(ARG_MAP, ARG_MAP_KEY, ARG_MAP_VALUE, ARG_ANYTHING), 0, ANY_LICENSE },
	{ BPF_FUNC_map_delete_elem, "bpf_map_delete_elem", RET_INTEGER, A(ARG_MAP, ARG_MAP_KEY), 0, ANY_LICENSE },
	{ BPF_FUNC_probe_read, "bpf_probe_read", RET_INTEGER, A(ARG_MEM_UNINIT, ARG_SIZE_OR_ZERO, ARG_ANYTHING), 0, GPL_ONLY },
	{ BPF_FUNC_ktime_get_ns, "bpf_ktime_get_ns", RET_INTEGER, {0}, 0, ANY_LICENSE },
	/* the format's arguments (r3..r5) are not checked, as in the kernel */
	{ BPF_FUNC_trace_printk, "bpf_trace_printk", RET_INTEGER, A(ARG_MEM, ARG_SIZE), 0, GPL_ONLY },
	{ BPF_FUNC_get_prandom_u32, "bpf_get_prandom_u32", RET_INTEGER, {0}, 0, ANY_LICENSE },
	{ BPF_FUNC_get_smp_processor_id, "bpf_get_smp_processor_id", RET_INTEGER, {0}, 0, ANY_LICENSE },
	{ BPF_FUNC_tail_call, "bpf_tail_call", RET_VOID, A(ARG_CTX, ARG_MAP, ARG_ANYTHING), 0, ANY_LICENSE },
	{ BPF_FUNC_get_current_pid_tgid, "bpf_get_current_pid_tgid", RET_INTEGER, {0}, 0, ANY_LICENSE },
	{ BPF_FUNC_get_current_uid_gid, "bpf_get_current_uid_gid", RET_INTEGER, {0}, 0, ANY_LICENSE },
	{ BPF_FUNC_get_current_comm, "bpf_get_current_comm", RET_INTEGER, A(ARG_MEM_UNINIT, ARG_SIZE), 0, ANY_LICENSE },
	{ BPF_FUNC_perf_event_output, "bpf_perf_event_output", RET_INTEGER,
	  A(ARG_CTX, ARG_MAP, ARG_ANYTHING, ARG_MEM, ARG_SIZE_OR_ZERO), 0, GPL_ONLY },
	{ BPF_FUNC_skb_load_bytes, "bpf_skb_load_bytes", RET_INTEGER,
	  A(ARG_CTX, ARG_ANYTHING, ARG_MEM_UNINIT, ARG_SIZE), 0, ANY_LICENSE },
	{ BPF_FUNC_csum_diff, "bpf_csum_diff", RET_INTEGER,
	  A(ARG_MEM_MAYBE_NULL, ARG_SIZE_OR_ZERO, ARG_MEM_MAYBE_NULL, ARG_SIZE_OR_ZERO, ARG_ANYTHING), 0, ANY_LICENSE },
	{ BPF_FUNC_xdp_adjust_head, "bpf_xdp_adjust_head", RET_INTEGER, A(ARG_CTX, ARG_ANYTHING), 1, ANY_LICENSE },
	{ BPF_FUNC_probe_read_str, "bpf_probe_read_str", RET_INTEGER,
	  A(ARG_MEM_UNINIT, ARG_SIZE_OR_ZERO, ARG_ANYTHING), 0, GPL_ONLY },
	{ BPF_FUNC_xdp_adjust_meta, "bpf_xdp_adjust_meta", RET_INTEGER, A(ARG_CTX, ARG_ANYTHING), 1, ANY_LICENSE },
	{ BPF_FUNC_map_push_elem, "bpf_map_push_elem", RET_INTEGER, A(ARG_MAP, ARG_MAP_VALUE, ARG_ANYTHING), 0, ANY_LICENSE },
	{ BPF_FUNC_map_pop_elem, "bpf_map_pop_elem", RET_INTEGER, A(ARG_MAP, ARG_MAP_VALUE_UNINIT), 0, ANY_LICENSE },
	{ BPF_FUNC_map_peek_elem, "bpf_map_peek_elem", RET_INTEGER, A(ARG_MAP, ARG_MAP_VALUE_UNINIT), 0, ANY_LICENSE },
	{ BPF_FUNC_spin_lock, "bpf_spin_lock", RET_VOID, A(ARG_SPIN_LOCK), 0, ANY_LICENSE },
	{ BPF_FUNC_spin_unlock, "bpf_spin_unlock", RET_VOID, A(ARG_SPIN_LOCK), 0, ANY_LICENSE },
	{ BPF_FUNC_xdp_adjust_tail, "bpf_xdp_adjust_tail", RET_INTEGER, A(ARG_CTX, ARG_ANYTHING), 1, ANY_LICENSE },
	{ BPF_FUNC_probe_read_user, "bpf_probe_read_user", RET_INTEGER,
	  A(ARG_MEM_UNINIT, ARG_SIZE_OR_ZERO, ARG_ANYTHING), 0, GPL_ONLY },
	{ BPF_FUNC_probe_read_kernel, "bpf_probe_read_kernel", RET_INTEGER,
	  A(ARG_MEM_UNINIT, ARG_SIZE_OR_ZERO, ARG_ANYTHING), 0, GPL_ONLY },
	{ BPF_FUNC_probe_read_user_str, "bpf_probe_read_user_str", RET_INTEGER,
	  A(ARG_MEM_UNINIT, ARG_SIZE_OR_ZERO, ARG_ANYTHING), 0, GPL_ONLY },
	{ BPF_FUNC_probe_read_kernel_str, "bpf_probe_read_kernel_str", RET_INTEGER,
	  A(ARG_MEM_UNINIT, ARG_SIZE_OR_ZERO, ARG_ANYTHING), 0, GPL_ONLY },
	{ BPF_FUNC_jiffies64, "bpf_jiffies64", RET_INTEGER, {0}, 0, ANY_LICENSE },
	{ BPF_FUNC_ktime_get_boot_ns, "bpf_ktime_get_boot_ns", RET_INTEGER, {0}, 0, ANY_LICENSE },
	{ BPF_FUNC_ringbuf_output, "bpf_ringbuf_output", RET_INTEGER,
	  A(ARG_MAP, ARG_MEM, ARG_SIZE_OR_ZERO, ARG_ANYTHING), 0, ANY_LICENSE },
	{ BPF_FUNC_ringbuf_reserve, "bpf_ringbuf_reserve", RET_MEM_OR_NULL,
	  A(ARG_MAP, ARG_ALLOC_SIZE, ARG_ANYTHING), 0, ANY_LICENSE },
	{ BPF_FUNC_ringbuf_submit, "bpf_ringbuf_submit", RET_VOID, A(ARG_RINGBUF_MEM, ARG_ANYTHING), 0, ANY_LICENSE },
	{ BPF_FUNC_ringbuf_discard, "bpf_ringbuf_discard", RET_VOID, A(ARG_RINGBUF_MEM, ARG_ANYTHING), 0, ANY_LICENSE },
	{ BPF_FUNC_ringbuf_query, "bpf_ringbuf_query", RET_INTEGER, A(ARG_MAP, ARG_ANYTHING), 0, ANY_LICENSE },
	{ BPF_FUNC_ktime_get_coarse_ns, "bpf_ktime_get_coarse_ns", RET_INTEGER, {0}, 0, ANY_LICENSE },
	{ BPF_FUNC_for_each_map_elem, "bpf_for_each_map_elem", RET_INTEGER,
	  A(ARG_MAP, ARG_FUNC, ARG_STACK_OR_NULL, ARG_ANYTHING), 0, ANY_LICENSE },
	{ BPF_FUNC_snprintf, "bpf_snprintf", RET_INTEGER,
	  A(ARG_MEM_MAYBE_NULL_OUT, ARG_SIZE_OR_ZERO, ARG_CONST_STR, ARG_MEM_MAYBE_NULL, ARG_SIZE_OR_ZERO), 0, GPL_ONLY },
	{ BPF_FUNC_loop, "bpf_loop", RET_INTEGER, A(ARG_SCALAR, ARG_FUNC, ARG_STACK_OR_NULL, ARG_ANYTHING), 0, ANY_LICENSE },
	{ BPF_FUNC_strncmp, "bpf_strncmp", RET_INTEGER, A(ARG_MEM, ARG_SIZE, ARG_CONST_STR), 0, ANY_LICENSE },
	{ BPF_FUNC_map_lookup_percpu_elem, "bpf_map_lookup_percpu_elem", RET_MAP_VALUE_OR_NULL,
	  A(ARG_MAP, ARG_MAP_KEY, ARG_ANYTHING), 0, ANY_LICENSE },
};

/* The helpers the kernel lets take packet pointers as memory arguments
 * (its pkt_access flag); others must be given a copy. */
bool helper_takes_packet(uint32_t id)
{
	switch (id) {
	case BPF_FUNC_map_lookup_elem:
	case BPF_FUNC_map_update_elem:
	case BPF_FUNC_map_delete_elem:
	case BPF_FUNC_map_push_elem:
	case BPF_FUNC_map_lookup_percpu_elem:
	case BPF_FUNC_csum_diff:
		return true;
	default:
		return false;
	}
}

const struct helper_proto *helper_proto(uint32_t id)
{
	for (size_t i = 0; i < sizeof protos / sizeof protos[0]; i++)
		if (protos[i].id == id)
			return &protos[i];
	return NULL;
}
