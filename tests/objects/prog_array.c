/* prog_array.c - loader test object: a BPF_MAP_TYPE_PROG_ARRAY whose
 * slots are initialised with programs through __array(values, ...), and a
 * tail call through it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int tail_0(void *ctx);
int tail_2(void *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__array(values, int (void *));
} jump_table SEC(".maps") = {
	.values = {
		[0] = (void *)&tail_0,
		[2] = (void *)&tail_2,
	},
};

SEC("tp/syscalls/sys_enter_getpid")
int tail_0(void *ctx)
{
	return 10;
}

SEC("tp/syscalls/sys_enter_getpid")
int tail_2(void *ctx)
{
	return 12;
}

SEC("tp/syscalls/sys_enter_getpid")
int entry(void *ctx)
{
	bpf_tail_call(ctx, &jump_table, 2);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
