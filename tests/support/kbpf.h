/*
 * kbpf.h - the kernel's bpf() for tests that compare with it: the raw
 * system call returning -errno, and the map operations built on it
 * (update, lookup, delete by command; next key).
 *
 * Shared by the kernel comparison tests of maps and XDP helpers
 * (tests/kernel/test_maps_kernel.c, test_xdp_maps_kernel.c,
 * test_xdp_bytes_kernel.c, fib_compare.c).
 */
#ifndef BPFVM_TESTS_KBPF_H
#define BPFVM_TESTS_KBPF_H

#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
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

#endif
