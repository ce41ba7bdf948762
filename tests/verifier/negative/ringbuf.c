// Negative suite (tests/verifier/README.md): ring buffer reservations --
// leaked, used after submit, used without a null check -- and the safe
// twin.  Socket filters.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

// expect ringbuf_leak: reject "Unreleased reference"
SEC("socket")
int ringbuf_leak(struct __sk_buff *skb)
{
	__u64 *e = bpf_ringbuf_reserve(&rb, sizeof *e, 0);
	if (!e)
		return 0;
	*e = skb->len;
	return 1;
}

// expect ringbuf_submit_ok: accept
SEC("socket")
int ringbuf_submit_ok(struct __sk_buff *skb)
{
	__u64 *e = bpf_ringbuf_reserve(&rb, sizeof *e, 0);
	if (!e)
		return 0;
	*e = skb->len;
	bpf_ringbuf_submit(e, 0);
	return 1;
}

// expect ringbuf_no_null_check: reject "invalid mem access 'ringbuf_mem_or_null'"
SEC("socket")
int ringbuf_no_null_check(struct __sk_buff *skb)
{
	__u64 *e = bpf_ringbuf_reserve(&rb, sizeof *e, 0);
	*e = skb->len;
	bpf_ringbuf_submit(e, 0);
	return 1;
}

// expect ringbuf_use_after_submit: reject "invalid mem access 'scalar'"
SEC("socket")
int ringbuf_use_after_submit(struct __sk_buff *skb)
{
	__u64 *e = bpf_ringbuf_reserve(&rb, sizeof *e, 0);
	if (!e)
		return 0;
	bpf_ringbuf_submit(e, 0);
	*e = skb->len;
	return 1;
}

char _license[] SEC("license") = "GPL";
