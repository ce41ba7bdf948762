// Negative suite (tests/verifier/README.md): the license.  As in the
// kernel, a program whose license is not GPL-compatible may not call a
// GPL-only helper (bpf_probe_read_*, bpf_trace_printk,
// bpf_perf_event_output, bpf_snprintf), and may call any other.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

// expect gpl_helper_non_gpl: reject "cannot call GPL-restricted function from non-GPL compatible program"
SEC("kprobe/bpfvm_license_test")
int gpl_helper_non_gpl(void *ctx)
{
	long v = 0;
	bpf_probe_read_kernel(&v, sizeof v, ctx);
	return v != 0;
}

// expect plain_helper_non_gpl: accept
SEC("kprobe/bpfvm_license_test")
int plain_helper_non_gpl(void *ctx)
{
	return bpf_ktime_get_ns() & 1;
}

char _license[] SEC("license") = "Proprietary";
