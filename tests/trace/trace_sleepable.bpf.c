/* trace_sleepable.bpf.c - a sleepable uprobe (uprobe.s, loaded with
 * BPF_F_SLEEPABLE) on trace_target's trace_greet(text): bpf_copy_from_user
 * copies the string out of the traced process's memory.  Slot 0 keeps the
 * last good copy (its first 8 bytes, and the result), slot 1 the result
 * for an address that is not mapped, with its zero-filled buffer; count
 * says how many calls were seen. */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct copy {
	__u64 head;       /* the buffer's first 8 bytes */
	__u64 tail;       /* the buffer's last 8 bytes */
	__s64 rc;
	__u64 count;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct copy);
} copies SEC(".maps");

SEC("uprobe.s/trace_target:trace_greet")
int BPF_KPROBE(greet_enter, const char *text)
{
	char buf[16];
	__builtin_memset(buf, 0x55, sizeof buf);   /* a failed copy must zero it */
	long rc = bpf_copy_from_user(buf, sizeof buf, text);
	__u32 key = rc == 0 ? 0 : 1;
	struct copy *c = bpf_map_lookup_elem(&copies, &key);
	if (!c)
		return 0;
	__builtin_memcpy(&c->head, buf, 8);
	__builtin_memcpy(&c->tail, buf + 8, 8);
	c->rc = rc;
	c->count++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
