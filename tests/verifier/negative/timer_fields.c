// Negative suite (tests/verifier/README.md): map values holding a struct
// bpf_timer or a struct bpf_wq, which the loader records from the value's
// BTF as it records a bpf_spin_lock.  The kernel's
// check_map_prog_compatibility() refuses such a map to a tracing program
// (kprobe, uprobe, tracepoint, raw_tp) where an lddw first names it,
// before the walk (processed 0; test_verifier_gaps compares the counts).
// Other program types may use the map; calling the bpf_timer_* helpers or
// the bpf_wq_* kfuncs is another matter (bpfvm implements neither and
// refuses such a call as unsupported: tests/unit/test_sleepable.c).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

// The kernel's struct bpf_wq (newer than these uapi headers): the kernel
// finds the field by its struct's name.
struct bpf_wq {
	__u64 __opaque[2];
} __attribute__((aligned(8)));

struct timed {
	__u64 count;
	struct bpf_timer timer;
};

struct queued {
	struct bpf_wq work;
	__u64 count;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct timed);
} timer_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct queued);
} wq_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} plain_array SEC(".maps");

static __always_inline int count_timed(void)
{
	__u32 key = 0;
	struct timed *v = bpf_map_lookup_elem(&timer_array, &key);
	if (!v)
		return 0;
	__sync_fetch_and_add(&v->count, 1);
	return 1;
}

static __always_inline int count_queued(void)
{
	__u32 key = 0;
	struct queued *v = bpf_map_lookup_elem(&wq_hash, &key);
	if (!v)
		return 0;
	__sync_fetch_and_add(&v->count, 1);
	return 1;
}

// expect kprobe_timer_map: reject "tracing progs cannot use bpf_timer yet"
SEC("kprobe/do_nanosleep")
int kprobe_timer_map(void *ctx)
{
	return count_timed();
}

// expect uprobe_timer_map: reject "tracing progs cannot use bpf_timer yet"
SEC("uprobe")
int uprobe_timer_map(void *ctx)
{
	return count_timed();
}

// expect tracepoint_timer_map: reject "tracing progs cannot use bpf_timer yet"
SEC("tracepoint/syscalls/sys_enter_getpid")
int tracepoint_timer_map(void *ctx)
{
	return count_timed();
}

// expect raw_tp_wq_map: reject "tracing progs cannot use bpf_wq yet"
SEC("raw_tp/sys_enter")
int raw_tp_wq_map(void *ctx)
{
	return count_queued();
}

// expect kprobe_wq_map: reject "tracing progs cannot use bpf_wq yet"
SEC("kprobe/do_nanosleep")
int kprobe_wq_map(void *ctx)
{
	return count_queued();
}

// (The plain map comes first, so the refusal is at the second map's lddw.)
// expect uprobe_s_timer_second: reject "tracing progs cannot use bpf_timer yet"
SEC("uprobe.s")
int uprobe_s_timer_second(void *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&plain_array, &key);
	if (v)
		*v += 1;
	return count_timed();
}

// expect xdp_timer_map: accept
SEC("xdp")
int xdp_timer_map(struct xdp_md *ctx)
{
	return count_timed() ? XDP_PASS : XDP_DROP;
}

// expect tc_wq_map: accept
SEC("tc")
int tc_wq_map(struct __sk_buff *skb)
{
	return count_queued();
}

// expect socket_timer_map: accept
SEC("socket")
int socket_timer_map(struct __sk_buff *skb)
{
	return count_timed();
}

// (The timer's bytes are the kernel's: no load or store may touch them.)
// expect xdp_timer_direct_read: reject "bpf_timer cannot be accessed directly by load/store"
SEC("xdp")
int xdp_timer_direct_read(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct timed *v = bpf_map_lookup_elem(&timer_array, &key);
	if (!v)
		return XDP_PASS;
	return *(volatile __u64 *)&v->timer ? XDP_DROP : XDP_PASS;
}

// expect tc_wq_direct_write: reject "bpf_wq cannot be accessed directly by load/store"
SEC("tc")
int tc_wq_direct_write(struct __sk_buff *skb)
{
	__u32 key = 0;
	struct queued *v = bpf_map_lookup_elem(&wq_hash, &key);
	if (!v)
		return 0;
	*(volatile __u32 *)((char *)&v->work + 12) = 1;
	return 0;
}

// (The bytes next to the timer are the program's.)
// expect xdp_timer_neighbour: accept
SEC("xdp")
int xdp_timer_neighbour(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct timed *v = bpf_map_lookup_elem(&timer_array, &key);
	if (!v)
		return XDP_PASS;
	v->count = 3;
	return *(volatile __u64 *)&v->count ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
