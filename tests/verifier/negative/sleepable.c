// Negative suite (tests/verifier/README.md): sleepable programs, the
// sections libbpf loads with BPF_F_SLEEPABLE (uprobe.s, uretprobe.s,
// iter.s here; fentry.s and the others are in tests/unit/test_sleepable.c,
// which bpfvm refuses as unsupported).  Three rules of the kernel's:
// bpf_copy_from_user may sleep, so only a sleepable program may call it;
// a sleepable program may use only some map types (named by an lddw,
// refused before the walk: processed 0, test_verifier_gaps compares the
// counts); and the map-value rules of map_compat.c hold for sleepable
// programs too (a uprobe.s is a kprobe program: a tracing one).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} plain_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} plain_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} percpu_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 4);
	__uint(value_size, sizeof(__u64));
} queue SEC(".maps");

struct lpm_key {
	__u32 prefixlen;
	__u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, __u64);
} trie SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} progs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 16);
	__uint(value_size, sizeof(__u64));
} bloom SEC(".maps");

struct inner_array {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} inner_a SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct inner_array);
} outer_of_arrays SEC(".maps") = { .values = { &inner_a } };

struct inner_trie {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, __u64);
} inner_t SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct inner_trie);
} outer_of_tries SEC(".maps") = { .values = { &inner_t } };

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

static __always_inline int read_user(void *ctx)
{
	char buf[16];
	const void *user = (const void *)((__u64 *)ctx)[14];   /* pt_regs->di */
	return bpf_copy_from_user(buf, sizeof buf, user) ? 0 : buf[0];
}

// expect uprobe_s_copy: accept
SEC("uprobe.s")
int uprobe_s_copy(void *ctx)
{
	return read_user(ctx);
}

// expect uretprobe_s_copy: accept
SEC("uretprobe.s")
int uretprobe_s_copy(void *ctx)
{
	return read_user(ctx);
}

// (A size of zero is allowed: ARG_CONST_SIZE_OR_ZERO.)
// expect uprobe_s_copy_zero: accept
SEC("uprobe.s")
int uprobe_s_copy_zero(void *ctx)
{
	char buf[1];
	return bpf_copy_from_user(buf, 0, 0);
}

// (The destination is written: read after the call without a store.)
// expect uprobe_s_copy_then_read: accept
SEC("uprobe.s")
int uprobe_s_copy_then_read(void *ctx)
{
	__u64 v;
	bpf_copy_from_user(&v, sizeof v, (const void *)((__u64 *)ctx)[14]);
	return v == 7;
}

// (Too long for the buffer.)
// expect uprobe_s_copy_overflow: reject "invalid write to stack R1 off=-8 size=16"
SEC("uprobe.s")
int uprobe_s_copy_overflow(void *ctx)
{
	__u64 v;
	asm volatile("" : "=r"(v));
	return bpf_copy_from_user(&v, 16, 0);
}

// expect uprobe_copy: reject "helper call might sleep in a non-sleepable prog"
SEC("uprobe")
int uprobe_copy(void *ctx)
{
	return read_user(ctx);
}

// expect kprobe_copy: reject "helper call might sleep in a non-sleepable prog"
SEC("kprobe/do_nanosleep")
int kprobe_copy(void *ctx)
{
	return read_user(ctx);
}

// expect tracepoint_copy: reject "helper call might sleep in a non-sleepable prog"
SEC("tracepoint/syscalls/sys_enter_getpid")
int tracepoint_copy(void *ctx)
{
	char buf[8];
	return bpf_copy_from_user(buf, sizeof buf, 0);
}

// expect uprobe_s_allowed_maps: accept
SEC("uprobe.s")
int uprobe_s_allowed_maps(void *ctx)
{
	__u32 key = 0;
	__u64 one = 1, *v;
	v = bpf_map_lookup_elem(&plain_array, &key);
	if (v)
		*v += 1;
	bpf_map_update_elem(&plain_hash, &key, &one, BPF_ANY);
	v = bpf_map_lookup_elem(&percpu_array, &key);
	if (v)
		*v += 1;
	bpf_ringbuf_output(&events, &one, sizeof one, 0);
	bpf_map_push_elem(&queue, &one, 0);
	return 0;
}

// expect uprobe_s_lpm: reject "Sleepable programs can only use array, hash, ringbuf and local storage maps, also as inner maps"
SEC("uprobe.s")
int uprobe_s_lpm(void *ctx)
{
	struct lpm_key k = { 32, 0 };
	return bpf_map_lookup_elem(&trie, &k) != 0;
}

// expect uprobe_s_perf_event: reject "Sleepable programs can only use array, hash, ringbuf and local storage maps, also as inner maps"
SEC("uprobe.s")
int uprobe_s_perf_event(void *ctx)
{
	__u64 one = 1;
	return bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &one, sizeof one);
}

// expect uprobe_s_prog_array: reject "Sleepable programs can only use array, hash, ringbuf and local storage maps, also as inner maps"
SEC("uprobe.s")
int uprobe_s_prog_array(void *ctx)
{
	bpf_tail_call(ctx, &progs, 0);
	return 0;
}

// (The allowed map comes first, so the refusal is at the second lddw.)
// expect uprobe_s_bloom_second: reject "Sleepable programs can only use array, hash, ringbuf and local storage maps, also as inner maps"
SEC("uprobe.s")
int uprobe_s_bloom_second(void *ctx)
{
	__u32 key = 0;
	__u64 one = 1;
	bpf_map_update_elem(&plain_hash, &key, &one, BPF_ANY);
	return bpf_map_push_elem(&bloom, &one, 0);
}

// expect uprobe_s_outer_of_arrays: accept
SEC("uprobe.s")
int uprobe_s_outer_of_arrays(void *ctx)
{
	__u32 key = 0;
	void *inner = bpf_map_lookup_elem(&outer_of_arrays, &key);
	if (!inner)
		return 0;
	__u64 *v = bpf_map_lookup_elem(inner, &key);
	return v ? (int)*v : 0;
}

// (The outer map is an allowed type; its inner maps are tries.)
// expect uprobe_s_outer_of_tries: reject "Sleepable programs can only use array, hash, ringbuf and local storage maps, also as inner maps"
SEC("uprobe.s")
int uprobe_s_outer_of_tries(void *ctx)
{
	__u32 key = 0;
	return bpf_map_lookup_elem(&outer_of_tries, &key) != 0;
}

// expect uprobe_perf_event: accept
SEC("uprobe")
int uprobe_perf_event(void *ctx)
{
	__u64 one = 1;
	return bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &one, sizeof one);
}

// expect uprobe_s_locked_map: reject "tracing progs cannot use bpf_spin_lock yet"
SEC("uprobe.s")
int uprobe_s_locked_map(void *ctx)
{
	__u32 key = 0;
	return bpf_map_lookup_elem(&locked_array, &key) != 0;
}

char _license[] SEC("license") = "GPL";
