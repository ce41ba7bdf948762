// Negative suite (tests/verifier/README.md): the kernel's
// check_map_prog_compatibility() -- a map whose value holds a
// bpf_spin_lock may not be used by a tracing program (kprobe, uprobe,
// tracepoint, raw_tp: bpfvm's live hooks run these from signal handlers,
// where the lock may be held by the very thread interrupted) nor by a
// socket filter.  The kernel refuses the program when an lddw first names
// such a map, before its walk: the processed count is 0 (test_verifier_gaps
// compares it).  xdp and tc may use the map, lock included.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct locked {
	struct bpf_spin_lock lock;
	__u64 count;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct locked);
} locked_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct locked);
} locked_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} plain_array SEC(".maps");

static __always_inline int count_locked(void)
{
	__u32 key = 0;
	struct locked *v = bpf_map_lookup_elem(&locked_array, &key);
	if (!v)
		return 0;
	bpf_spin_lock(&v->lock);
	v->count++;
	bpf_spin_unlock(&v->lock);
	return 1;
}

static __always_inline int count_plain(void)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&plain_array, &key);
	if (!v)
		return 0;
	__sync_fetch_and_add(v, 1);
	return 1;
}

// expect kprobe_locked_map: reject "tracing progs cannot use bpf_spin_lock yet"
SEC("kprobe/do_nanosleep")
int kprobe_locked_map(void *ctx)
{
	return count_locked();
}

// expect uprobe_locked_map: reject "tracing progs cannot use bpf_spin_lock yet"
SEC("uprobe")
int uprobe_locked_map(void *ctx)
{
	return count_locked();
}

// expect tracepoint_locked_map: reject "tracing progs cannot use bpf_spin_lock yet"
SEC("tracepoint/syscalls/sys_enter_getpid")
int tracepoint_locked_map(void *ctx)
{
	return count_locked();
}

// expect raw_tp_locked_map: reject "tracing progs cannot use bpf_spin_lock yet"
SEC("raw_tp/sys_enter")
int raw_tp_locked_map(void *ctx)
{
	return count_locked();
}

// (No lock taken: naming the map is enough.  The plain map comes first,
// so the refusal is at the second map's lddw.)
// expect kprobe_locked_lookup_only: reject "tracing progs cannot use bpf_spin_lock yet"
SEC("kprobe/do_nanosleep")
int kprobe_locked_lookup_only(void *ctx)
{
	__u32 key = 0;
	count_plain();
	struct locked *v = bpf_map_lookup_elem(&locked_hash, &key);
	return v ? 1 : 0;
}

// (An update under the value's lock, BPF_F_LOCK.)
// expect uprobe_update_f_lock: reject "tracing progs cannot use bpf_spin_lock yet"
SEC("uprobe")
int uprobe_update_f_lock(void *ctx)
{
	__u32 key = 0;
	struct locked v = { .count = 1 };
	return bpf_map_update_elem(&locked_hash, &key, &v, BPF_F_LOCK);
}

// expect kprobe_plain_map: accept
SEC("kprobe/do_nanosleep")
int kprobe_plain_map(void *ctx)
{
	return count_plain();
}

// expect xdp_locked_map: accept
SEC("xdp")
int xdp_locked_map(struct xdp_md *ctx)
{
	return count_locked() ? XDP_PASS : XDP_DROP;
}

// expect tc_locked_map: accept
SEC("tc")
int tc_locked_map(struct __sk_buff *skb)
{
	return count_locked();
}

// expect tc_update_f_lock: accept
SEC("tc")
int tc_update_f_lock(struct __sk_buff *skb)
{
	__u32 key = 0;
	struct locked v = { .count = 1 };
	return bpf_map_update_elem(&locked_hash, &key, &v, BPF_F_LOCK);
}

// expect socket_locked_map: reject "socket filter progs cannot use bpf_spin_lock yet"
SEC("socket")
int socket_locked_map(struct __sk_buff *skb)
{
	__u32 key = 0;
	struct locked *v = bpf_map_lookup_elem(&locked_array, &key);
	return v ? 1 : 0;
}

char _license[] SEC("license") = "GPL";
