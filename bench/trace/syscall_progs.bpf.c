/*
 * syscall_progs.bpf.c - bpfvm-trace-bench's programs: raw_tracepoint
 * sys_enter and sys_exit, each reading one argument (the syscall number,
 * the result) into a global, as bpfvm-syscall-bench's programs read it
 * (built with clang -target bpf; no libbpf header needed).
 */
#define SEC(name) __attribute__((section(name), used))

struct raw_tp_args {
	unsigned long long args[2];   /* sys_enter: regs, id; sys_exit: regs, ret */
};

unsigned long long last_nr, last_ret;

SEC("raw_tracepoint/sys_enter") int bench_enter(struct raw_tp_args *ctx)
{
	last_nr = ctx->args[1];
	return 0;
}

SEC("raw_tracepoint/sys_exit") int bench_exit(struct raw_tp_args *ctx)
{
	last_ret = ctx->args[1];
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
