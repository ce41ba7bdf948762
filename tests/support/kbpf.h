/*
 * kbpf.h - the kernel's bpf() for tests that compare with it: the raw
 * system call returning -errno, the map operations built on it (update,
 * lookup, delete by command; next key), a bare instruction array
 * (struct kcode) loaded as a program, and one test run of it; and, for
 * the kernel's side of the hook comparisons, the traced target run to its
 * end (kbpf_run_target).
 *
 * Shared by the kernel comparison tests of maps and XDP helpers
 * (tests/kernel/test_maps_kernel.c, test_xdp_maps_kernel.c,
 * test_xdp_bytes_kernel.c, fib_compare.c) and of hooks
 * (tests/hooks/kernel_compare_load.c, kernel_multi_load.c).
 */
#ifndef BPFVM_TESTS_KBPF_H
#define BPFVM_TESTS_KBPF_H

#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static inline int kbpf(int cmd, union bpf_attr *attr)
{
	long rc = syscall(__NR_bpf, cmd, attr, sizeof *attr);
	return rc < 0 ? -errno : (int)rc;
}

/* BPF_MAP_UPDATE_ELEM, _LOOKUP_ELEM, _DELETE_ELEM, ... on map fd. */
static inline int kop(int cmd, int fd, const void *key, void *value, uint64_t flags)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)value;
	a.flags = flags;
	return kbpf(cmd, &a);
}

static inline int knext(int fd, const void *key, void *next)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	a.next_key = (uint64_t)(uintptr_t)next;
	return kbpf(BPF_MAP_GET_NEXT_KEY, &a);
}

/* A program written instruction by instruction. */
struct kcode {
	struct bpf_insn i[64];
	size_t n;
};

static inline void kput(struct kcode *c, uint8_t op, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	c->i[c->n++] = (struct bpf_insn){ .code = op, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
}

/* Loads n instructions as a GPL program of type: its fd, or -errno. */
static inline int kprog_load(uint32_t type, const struct bpf_insn *insns, size_t n)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.prog_type = type;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t)"GPL";
	return kbpf(BPF_PROG_LOAD, &a);
}

/* One BPF_PROG_TEST_RUN of fd over in_size bytes at in; the packet it
 * leaves goes to out (out_cap bytes; NULL for none) and its size to
 * *out_size if not NULL.  0 and *retval, or -errno. */
static inline int kprog_test_run(int fd, const void *in, uint32_t in_size, void *out, uint32_t out_cap,
                                 uint32_t *out_size, uint32_t *retval)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.test.prog_fd = (uint32_t)fd;
	a.test.data_in = (uint64_t)(uintptr_t)in;
	a.test.data_size_in = in_size;
	a.test.data_out = (uint64_t)(uintptr_t)out;
	a.test.data_size_out = out ? out_cap : 0;
	a.test.repeat = 1;
	int rc = kbpf(BPF_PROG_TEST_RUN, &a);
	*retval = a.test.retval;
	if (out_size)
		*out_size = a.test.data_size_out;
	return rc < 0 ? rc : 0;
}

/* argv[0] run with argv, waited for: 0 if it exited 0, else -ECHILD (its
 * status printed) or -errno. */
static inline int kbpf_run_target(char **argv)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execv(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "%s ended with status %#x\n", argv[0], status);
		return -ECHILD;
	}
	return 0;
}

#endif
