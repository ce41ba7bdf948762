/* global_data.c - loader test object: global variables in .data, .rodata,
 * .bss, custom .data.* / .rodata.* sections and string literals
 * (.rodata.str1.1), read and written from two programs. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int counter = 7;                       /* .data */
struct pair { int a; int b; } pair = { 1, 2 };  /* .data; field address = symbol + addend */
static int hidden_counter = 3;         /* .data, static */
const volatile __u32 threshold = 100;  /* .rodata */
const char table[8] = "abcdefg";       /* .rodata */
__u64 total;                           /* .bss */
static __u64 scratch[4];               /* .bss, static */
int custom_data SEC(".data.custom") = 42;
const volatile int custom_ro SEC(".rodata.custom") = 9;
/* A hidden global counts as static: its section loses BPF_F_MMAPABLE
 * when nothing else in it is global (libbpf's map_is_mmapable()). */
__attribute__((visibility("hidden"))) int hidden_global SEC(".data.hidden") = 11;
static int only_static SEC(".data.statics") = 5;

SEC("tc")
int tc_prog(struct __sk_buff *skb)
{
	if (skb->len > threshold)
		counter++;
	hidden_counter += table[skb->len & 7];
	total += skb->len;
	scratch[skb->len & 3] = total;
	custom_data += custom_ro + hidden_global + only_static;
	only_static++;
	pair.b += pair.a;
	hidden_global--;
	bpf_printk("len %u total %llu", skb->len, total);
	return 0;
}

SEC("socket")
int socket_prog(struct __sk_buff *skb)
{
	static const char msg[] = "socket seen %d";
	bpf_trace_printk(msg, sizeof(msg), hidden_counter);
	bpf_printk("second string %d", counter);
	bpf_trace_printk("literal %d\n", sizeof("literal %d\n"), scratch[1]);
	return counter + custom_data + (int)scratch[skb->len & 3];
}

char LICENSE[] SEC("license") = "GPL";
