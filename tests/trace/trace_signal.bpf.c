/* trace_signal.bpf.c - bpf_send_signal from an entry probe: SIGUSR1 to
 * the calling thread each time trace_work() is called with a first
 * argument divisible by 4. */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("uprobe/trace_target:trace_work")
int BPF_KPROBE(signal_work, long a)
{
	if (a % 4 == 0)
		bpf_send_signal_thread(10 /* SIGUSR1 */);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
