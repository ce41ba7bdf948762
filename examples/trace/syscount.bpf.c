/* syscount.bpf.c - system calls counted by number, as libbpf-tools'
 * syscount: tracepoint raw_syscalls/sys_enter adds 1 to the count of
 * its syscall number in the hash map `syscalls`.
 *
 * The key's type is enum x86_64_syscall, which names the common x86-64
 * system calls, so that `bpfvm trace --dump-maps` prints their names
 * from the BTF (`key: (enum x86_64_syscall)getppid`, in JSON
 * "key":"getppid"); a call the enum does not name prints as its number,
 * to be read in /usr/include/x86_64-linux-gnu/asm/unistd_64.h (or
 * `ausyscall NUMBER`).  Run:
 *   bpfvm trace build/examples/trace/syscount.bpf.o --dump-maps -- ls / */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum x86_64_syscall {
	read = 0, write = 1, open = 2, close = 3, stat = 4, fstat = 5, lstat = 6, poll = 7, lseek = 8,
	mmap = 9, mprotect = 10, munmap = 11, brk = 12, rt_sigaction = 13, rt_sigprocmask = 14,
	rt_sigreturn = 15, ioctl = 16, pread64 = 17, pwrite64 = 18, readv = 19, writev = 20,
	access = 21, pipe = 22, select = 23, sched_yield = 24, mremap = 25, madvise = 28, dup = 32,
	dup2 = 33, nanosleep = 35, getpid = 39, socket = 41, connect = 42, accept = 43, sendto = 44,
	recvfrom = 45, sendmsg = 46, recvmsg = 47, bind = 49, listen = 50, clone = 56, fork = 57,
	vfork = 58, execve = 59, exit = 60, wait4 = 61, kill = 62, uname = 63, fcntl = 72, fsync = 74,
	getcwd = 79, chdir = 80, rename = 82, mkdir = 83, rmdir = 84, unlink = 87, readlink = 89,
	getuid = 102, getgid = 104, geteuid = 107, getegid = 108, getppid = 110, getpgrp = 111,
	setsid = 112, sigaltstack = 131, prctl = 157, arch_prctl = 158, gettid = 186, futex = 202,
	getdents64 = 217, set_tid_address = 218, clock_gettime = 228, clock_nanosleep = 230,
	exit_group = 231, epoll_wait = 232, tgkill = 234, openat = 257, newfstatat = 262,
	unlinkat = 263, pselect6 = 270, ppoll = 271, set_robust_list = 273, epoll_pwait = 281,
	accept4 = 288, eventfd2 = 290, epoll_create1 = 291, dup3 = 292, pipe2 = 293, prlimit64 = 302,
	getrandom = 318, memfd_create = 319, execveat = 322, statx = 332, rseq = 334, clone3 = 435,
	close_range = 436, faccessat2 = 439,
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, enum x86_64_syscall);
	__type(value, __u64); /* calls */
} syscalls SEC(".maps");

/* The layout of tracefs's events/raw_syscalls/sys_enter/format. */
struct sys_enter_record {
	__u64 common;
	long id;
	unsigned long args[6];
};

SEC("tracepoint/raw_syscalls/sys_enter")
int count_syscall(struct sys_enter_record *ctx)
{
	enum x86_64_syscall nr = (enum x86_64_syscall)ctx->id;
	__u64 one = 1;
	__u64 *count = bpf_map_lookup_elem(&syscalls, &nr);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&syscalls, &nr, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
