/* opensnoop.bpf.c - every openat() as it returns, as libbpf-tools'
 * opensnoop: sys_enter_openat keeps the filename's pointer per thread
 * (a hash map keyed by pid_tgid), sys_exit_openat reads the string
 * (bpf_probe_read_user_str: the caller's buffer still holds it) and
 * sends one record through the ring buffer `events`: struct open_event,
 *   offset 0  __u32 pid      (thread group id, little-endian)
 *   offset 4  __s32 ret      (the descriptor, or -errno: fe ff ff ff is -2, ENOENT)
 *   offset 8  char comm[16]  (NUL-padded)
 *   offset 24 char filename[256]
 * `bpfvm trace` prints each record as these bytes in hex as it arrives
 * (`ringbuf events: 280 bytes: ...`, with -j "bytes":"..."); xxd -r -p
 * turns them back.  Run:
 *   bpfvm trace build/examples/trace/opensnoop.bpf.o -- cat /etc/hostname */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_THREADS 10240

struct open_event {
	__u32 pid;
	__s32 ret;
	char comm[16];
	char filename[256];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_THREADS);
	__type(key, __u64);   /* pid_tgid */
	__type(value, __u64); /* the user's filename pointer */
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 18);
} events SEC(".maps");

/* The layouts of tracefs's events/syscalls/sys_{enter,exit}_openat/format:
 * after the 8 bytes of common fields, each field in 8 bytes. */
struct openat_enter_record {
	__u64 common;
	long nr;
	long dfd;
	const char *filename;
	long flags;
	long mode;
};

struct openat_exit_record {
	__u64 common;
	long nr;
	long ret;
};

SEC("tracepoint/syscalls/sys_enter_openat")
int openat_enter(struct openat_enter_record *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), filename = (__u64)ctx->filename;
	bpf_map_update_elem(&pending, &id, &filename, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int openat_exit(struct openat_exit_record *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 *filename = bpf_map_lookup_elem(&pending, &id);
	if (!filename)
		return 0; /* entered before the tracepoint was attached */
	struct open_event *e = bpf_ringbuf_reserve(&events, sizeof *e, 0);
	if (e) {
		e->pid = id >> 32;
		e->ret = (__s32)ctx->ret;
		bpf_get_current_comm(e->comm, sizeof e->comm);
		if (bpf_probe_read_user_str(e->filename, sizeof e->filename, (const void *)*filename) < 0)
			e->filename[0] = 0;
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&pending, &id);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
