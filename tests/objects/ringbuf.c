/* ringbuf.c - loader test object: a ring buffer (max_entries a page
 * multiple) and one whose size libbpf rounds up, written by a kprobe. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct event {
	__u32 pid;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 5000);
} odd_sized SEC(".maps");

SEC("kprobe/do_nanosleep")
int on_sleep(void *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	bpf_ringbuf_output(&odd_sized, &e, 1, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
