// Negative suite (tests/verifier/README.md): a lookup in an array with a
// key the verifier knows in range cannot fail (Linux 6.14+, the kernel's
// can_elide_value_nullness and get_constant_map_key), so its value may be
// used without a null check; and the keys and maps where it still may
// fail.  test_verifier_gaps also compares the processed instructions with
// the kernel's.  Socket filters (but one), written in assembly for the
// exact stack stores (a key's bytes: zeros, a spill at a slot's start,
// plain data).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} array4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} percpu4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} hash4 SEC(".maps");

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} inner4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = { .values = { &inner4 } };

struct inner_sized {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	__type(value, __u64);
} inner_any SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct inner_sized);
} outer_any SEC(".maps") = { .values = { &inner_any } };

/* BPF_ST_MEM(BPF_W, r10, off, imm), which clang 14's assembler lacks:
 * emitted as raw bytes (".8byte %[st]"). */
#define ST_W(off, imm) \
	((__u64)(BPF_ST | BPF_MEM | BPF_W) | (__u64)BPF_REG_10 << 8 | (__u64)(__u16)(off) << 16 | \
	 (__u64)(__u32)(imm) << 32)

/* The value r0 points to, read without a null check; r0 = 0 to exit. */
#define USE_VALUE "r0 = *(u64 *)(r0 + 0);" "r0 = 0;" "exit;"
#define LOOKUP(map) "r2 = r10;" "r2 += -8;" "r1 = %[" #map "] ll;" "call %[lookup];"
#define CLOBBERS "r0", "r1", "r2", "r3", "r4", "r5", "memory"

// Key 0 as four zero bytes (a zero stored off a slot's start).
// expect null_elided_zero_bytes: accept
SEC("socket")
__attribute__((naked)) int null_elided_zero_bytes(void)
{
	asm volatile(".8byte %[st];"
	             "r2 = r10;"
	             "r2 += -4;"
	             "r1 = %[array4] ll;"
	             "call %[lookup];" USE_VALUE
	             :
	             : [st] "i"(ST_W(-4, 0)), [array4] "i"(&array4), [lookup] "i"(BPF_FUNC_map_lookup_elem)
	             : CLOBBERS);
}

// Key 3 spilled from a register in four bytes at a slot's start.
// expect null_elided_spilled_key: accept
SEC("socket")
__attribute__((naked)) int null_elided_spilled_key(void)
{
	asm volatile("r1 = 3;"
	             "*(u32 *)(r10 - 8) = r1;" LOOKUP(array4) USE_VALUE
	             :
	             : [array4] "i"(&array4), [lookup] "i"(BPF_FUNC_map_lookup_elem)
	             : CLOBBERS);
}

// Key 2 stored as an immediate at a slot's start (a spill of it too).
// expect null_elided_stored_key: accept
SEC("socket")
__attribute__((naked)) int null_elided_stored_key(void)
{
	asm volatile(".8byte %[st];" LOOKUP(array4) USE_VALUE
	             :
	             : [st] "i"(ST_W(-8, 2)), [array4] "i"(&array4), [lookup] "i"(BPF_FUNC_map_lookup_elem)
	             : CLOBBERS);
}

// A per-CPU array's elements exist too.
// expect null_elided_percpu: accept
SEC("socket")
__attribute__((naked)) int null_elided_percpu(void)
{
	asm volatile(".8byte %[st];" LOOKUP(percpu4) USE_VALUE
	             :
	             : [st] "i"(ST_W(-8, 1)), [percpu4] "i"(&percpu4), [lookup] "i"(BPF_FUNC_map_lookup_elem)
	             : CLOBBERS);
}

// The key's four bytes are the upper half of a spilled 1 (zeros at run
// time): the kernel takes the spilled number, 1, in range either way.
// expect null_elided_upper_half: accept
SEC("socket")
__attribute__((naked)) int null_elided_upper_half(void)
{
	asm volatile("r1 = 1;"
	             "*(u64 *)(r10 - 8) = r1;"
	             "r2 = r10;"
	             "r2 += -4;"
	             "r1 = %[array4] ll;"
	             "call %[lookup];" USE_VALUE
	             :
	             : [array4] "i"(&array4), [lookup] "i"(BPF_FUNC_map_lookup_elem)
	             : CLOBBERS);
}

// An inner array of the same size as its template.
// expect null_elided_inner: accept
SEC("socket")
__attribute__((naked)) int null_elided_inner(void)
{
	asm volatile(".8byte %[st];" LOOKUP(outer)
	             "if r0 == 0 goto 1f;"
	             "r1 = r0;"
	             ".8byte %[st2];"
	             "r2 = r10;"
	             "r2 += -8;"
	             "call %[lookup];" USE_VALUE
	             "1: r0 = 0;"
	             "exit;"
	             :
	             : [st2] "i"(ST_W(-8, 3)), [st] "i"(ST_W(-8, 0)), [outer] "i"(&outer),
	               [lookup] "i"(BPF_FUNC_map_lookup_elem)
	             : CLOBBERS);
}

// The key spilled at either of two values on two paths: both in range,
// each path's lookup checked with its own (the key is precise).
// expect null_elided_two_keys: accept
SEC("socket")
__attribute__((naked)) int null_elided_two_keys(void)
{
	asm volatile("call %[rand];"
	             "r1 = 1;"
	             "if r0 > 100 goto 1f;"
	             "r1 = 3;"
	             "1: *(u32 *)(r10 - 8) = r1;" LOOKUP(array4)
	             "if r0 == 0 goto 2f;"   /* never taken: the kernel walks only the other side */
	             "r0 = *(u64 *)(r0 + 0);"
	             "2: r0 = 0;"
	             "exit;"
	             :
	             : [array4] "i"(&array4), [lookup] "i"(BPF_FUNC_map_lookup_elem),
	               [rand] "i"(BPF_FUNC_get_prandom_u32)
	             : CLOBBERS);
}

// One of the two keys is past the array's end.
// expect null_key_out_of_range_path: reject "invalid mem access 'map_value_or_null'"
SEC("socket")
__attribute__((naked)) int null_key_out_of_range_path(void)
{
	asm volatile("call %[rand];"
	             "r1 = 1;"
	             "if r0 > 100 goto 1f;"
	             "r1 = 4;"
	             "1: *(u32 *)(r10 - 8) = r1;" LOOKUP(array4) USE_VALUE
	             :
	             : [array4] "i"(&array4), [lookup] "i"(BPF_FUNC_map_lookup_elem),
	               [rand] "i"(BPF_FUNC_get_prandom_u32)
	             : CLOBBERS);
}

// expect null_key_out_of_range: reject "invalid mem access 'map_value_or_null'"
SEC("socket")
__attribute__((naked)) int null_key_out_of_range(void)
{
	asm volatile(".8byte %[st];" LOOKUP(array4) USE_VALUE
	             :
	             : [st] "i"(ST_W(-8, 4)), [array4] "i"(&array4), [lookup] "i"(BPF_FUNC_map_lookup_elem)
	             : CLOBBERS);
}

// A negative key (0xffffffff spilled sign-extended) is no index.
// expect null_key_negative: reject "invalid mem access 'map_value_or_null'"
SEC("socket")
__attribute__((naked)) int null_key_negative(void)
{
	asm volatile(".8byte %[st];" LOOKUP(array4) USE_VALUE
	             :
	             : [st] "i"(ST_W(-8, -1)), [array4] "i"(&array4), [lookup] "i"(BPF_FUNC_map_lookup_elem)
	             : CLOBBERS);
}

// The key's spill is 8 bytes, not the key's 4.
// expect null_key_wide_spill: reject "invalid mem access 'map_value_or_null'"
SEC("socket")
__attribute__((naked)) int null_key_wide_spill(void)
{
	asm volatile("r1 = 1;"
	             "*(u64 *)(r10 - 8) = r1;" LOOKUP(array4) USE_VALUE
	             :
	             : [array4] "i"(&array4), [lookup] "i"(BPF_FUNC_map_lookup_elem)
	             : CLOBBERS);
}

// A non-zero number stored off a slot's start is plain data.
// expect null_key_plain_bytes: reject "invalid mem access 'map_value_or_null'"
SEC("socket")
__attribute__((naked)) int null_key_plain_bytes(void)
{
	asm volatile(".8byte %[st];"
	             "r2 = r10;"
	             "r2 += -4;"
	             "r1 = %[array4] ll;"
	             "call %[lookup];" USE_VALUE
	             :
	             : [st] "i"(ST_W(-4, 1)), [array4] "i"(&array4), [lookup] "i"(BPF_FUNC_map_lookup_elem)
	             : CLOBBERS);
}

// expect null_key_variable: reject "invalid mem access 'map_value_or_null'"
SEC("socket")
__attribute__((naked)) int null_key_variable(void)
{
	asm volatile("call %[rand];"
	             "r0 &= 3;"
	             "*(u32 *)(r10 - 8) = r0;" LOOKUP(array4) USE_VALUE
	             :
	             : [array4] "i"(&array4), [lookup] "i"(BPF_FUNC_map_lookup_elem),
	               [rand] "i"(BPF_FUNC_get_prandom_u32)
	             : CLOBBERS);
}

// A hash map's key may be missing.
// expect null_hash: reject "invalid mem access 'map_value_or_null'"
SEC("socket")
__attribute__((naked)) int null_hash(void)
{
	asm volatile(".8byte %[st];" LOOKUP(hash4) USE_VALUE
	             :
	             : [st] "i"(ST_W(-8, 0)), [hash4] "i"(&hash4), [lookup] "i"(BPF_FUNC_map_lookup_elem)
	             : CLOBBERS);
}

// An inner map from an array of maps may be missing.
// expect null_outer: reject "R1 type=map_ptr_or_null expected=map_ptr"
SEC("socket")
__attribute__((naked)) int null_outer(void)
{
	asm volatile(".8byte %[st];" LOOKUP(outer)
	             "r1 = r0;"
	             "r2 = r10;"
	             "r2 += -8;"
	             "call %[lookup];" USE_VALUE
	             :
	             : [st] "i"(ST_W(-8, 0)), [outer] "i"(&outer), [lookup] "i"(BPF_FUNC_map_lookup_elem)
	             : CLOBBERS);
}

// Inner arrays of any size (BPF_F_INNER_MAP): the template's size proves
// nothing about the array found at run time.
// expect null_inner_any_size: reject "invalid mem access 'map_value_or_null'"
SEC("socket")
__attribute__((naked)) int null_inner_any_size(void)
{
	asm volatile(".8byte %[st];" LOOKUP(outer_any)
	             "if r0 == 0 goto 1f;"
	             "r1 = r0;"
	             "r2 = r10;"
	             "r2 += -8;"
	             "call %[lookup];" USE_VALUE
	             "1: r0 = 0;"
	             "exit;"
	             :
	             : [st] "i"(ST_W(-8, 0)), [outer_any] "i"(&outer_any), [lookup] "i"(BPF_FUNC_map_lookup_elem)
	             : CLOBBERS);
}

struct locked {
	struct bpf_spin_lock lock;
	__u64 count;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct locked);
} locked1 SEC(".maps");

// The value's lock taken and released without a null check (tc: socket
// filters may not take spin locks).
// expect null_elided_spin_lock: accept
SEC("tc")
int null_elided_spin_lock(struct __sk_buff *skb)
{
	__u32 key = 0;
	struct locked *v = bpf_map_lookup_elem(&locked1, &key);
	bpf_spin_lock(&v->lock);
	v->count++;
	bpf_spin_unlock(&v->lock);
	return 0;
}

char _license[] SEC("license") = "GPL";
