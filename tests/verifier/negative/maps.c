// Negative suite (tests/verifier/README.md): map values -- the null check,
// constant and variable offsets past the value, a key on a too-small
// stack slot -- and their safe twins.  Socket filters.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} array8 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u64);
	__type(value, __u64);
} hash8 SEC(".maps");

// (A hash map: the kernel knows an array lookup with a constant key in
// range cannot fail.)
// expect map_value_no_null_check: reject "invalid mem access 'map_value_or_null'"
SEC("socket")
int map_value_no_null_check(struct __sk_buff *skb)
{
	__u64 key = 0;
	__u64 *v = bpf_map_lookup_elem(&hash8, &key);
	return *v;
}

// expect map_value_null_checked: accept
SEC("socket")
int map_value_null_checked(struct __sk_buff *skb)
{
	__u64 key = 0;
	__u64 *v = bpf_map_lookup_elem(&hash8, &key);
	if (!v)
		return 0;
	return *v;
}

// expect map_value_oob_const: reject "invalid access to map value, value_size=8 off=8 size=4"
SEC("socket")
int map_value_oob_const(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u32 *v = bpf_map_lookup_elem(&array8, &key);
	if (!v)
		return 0;
	return v[2];
}

// expect map_value_oob_var: reject "unbounded memory access"
SEC("socket")
int map_value_oob_var(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u8 *v = bpf_map_lookup_elem(&array8, &key);
	if (!v)
		return 0;
	__u64 i = skb->len;
	return v[i];
}

// expect map_value_oob_var_bounded: reject "invalid access to map value"
SEC("socket")
int map_value_oob_var_bounded(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u8 *v = bpf_map_lookup_elem(&array8, &key);
	if (!v)
		return 0;
	__u32 i = skb->len;
	if (i > 8)   /* one too many: index 8 is past an 8-byte value */
		return 0;
	return v[i];
}

// expect map_value_var_ok: accept
SEC("socket")
int map_value_var_ok(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u8 *v = bpf_map_lookup_elem(&array8, &key);
	if (!v)
		return 0;
	__u32 i = skb->len;
	if (i > 7)
		return 0;
	return v[i];
}

// A hash key of 8 bytes read from a 4-byte slot at the top of the frame.
// expect map_key_too_small: reject "invalid read from stack R2 off=-4 size=8"
SEC("socket")
__attribute__((naked)) int map_key_too_small(void)
{
	asm volatile("r2 = r10;"
	             "r2 += -4;"
	             "r3 = 0;"
	             "*(u32 *)(r2 + 0) = r3;"
	             "r1 = %[hash8] ll;"
	             "call %[lookup];"
	             "r0 = 0;"
	             "exit;"
	             :
	             : [hash8] "i"(&hash8), [lookup] "i"(BPF_FUNC_map_lookup_elem)
	             : "r0", "r1", "r2", "r3", "r4", "r5", "memory");
}

char _license[] SEC("license") = "GPL";
