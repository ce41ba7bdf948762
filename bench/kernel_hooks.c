/*
 * kernel_hooks.c - the kernel's column of the hook benches: trivial
 * programs loaded with the raw bpf() syscall (no libbpf) and attached to a
 * uprobe through the uprobe PMU or to a raw tracepoint (kernel_hooks.h).
 *
 * A uprobe is named by file and file offset: the file is /proc/self/exe's
 * target and the offset comes from the mapping that holds the function in
 * /proc/self/maps, so the probe lands on the very bytes this process runs.
 *
 * Owns: the program's five instructions, its map, the perf event and raw
 * tracepoint attachment (kernel_hooks.h).
 */
#define _GNU_SOURCE
#include "kernel_hooks.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define UPROBE_PMU "/sys/bus/event_source/devices/uprobe/"

static int fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof *attr);
}

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	struct bpf_insn i = { .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
	return i;
}

/* An array map of one u64, set to KERNEL_HOOK_UNSET. */
static int value_map(char *why, size_t whylen)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = 8;
	a.max_entries = 1;
	int fd = (int)sys_bpf(BPF_MAP_CREATE, &a);
	if (fd < 0)
		return fail(why, whylen, "bpf(BPF_MAP_CREATE): %s", strerror(errno));
	uint32_t key = 0;
	uint64_t unset = KERNEL_HOOK_UNSET;
	memset(&a, 0, sizeof a);
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)&key;
	a.value = (uint64_t)(uintptr_t)&unset;
	if (sys_bpf(BPF_MAP_UPDATE_ELEM, &a) < 0) {
		close(fd);
		return fail(why, whylen, "bpf(BPF_MAP_UPDATE_ELEM): %s", strerror(errno));
	}
	return fd;
}

/* r0 = *(u64 *)(ctx + ctx_off); *(u64 *)&value = r0; return 0. */
static int load_program(uint32_t prog_type, int ctx_off, int map_fd, char *why, size_t whylen)
{
	struct bpf_insn prog[] = {
		insn(BPF_LDX | BPF_DW | BPF_MEM, BPF_REG_0, BPF_REG_1, (int16_t)ctx_off, 0),
		insn(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_2, BPF_PSEUDO_MAP_VALUE, 0, map_fd),
		insn(0, 0, 0, 0, 0),   /* the lddw's second half: offset 0 into the value */
		insn(BPF_STX | BPF_DW | BPF_MEM, BPF_REG_2, BPF_REG_0, 0, 0),
		insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0),
		insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	static char log[4096];
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.prog_type = prog_type;
	a.insns = (uint64_t)(uintptr_t)prog;
	a.insn_cnt = sizeof prog / sizeof prog[0];
	a.license = (uint64_t)(uintptr_t)"GPL";
	a.log_buf = (uint64_t)(uintptr_t)log;
	a.log_size = sizeof log;
	a.log_level = 1;
	log[0] = 0;
	snprintf(a.prog_name, sizeof a.prog_name, "bpfvm_hookbench");
	int fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
	if (fd < 0)
		return fail(why, whylen, "bpf(BPF_PROG_LOAD): %s%s%.200s", strerror(errno), log[0] ? ": " : "", log);
	return fd;
}

/* The first unsigned number in the file at path; -1 if none. */
static long read_number(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* The bit of perf_event_attr.config that makes a uprobe a uretprobe: the
 * PMU's format file says "config:N". */
static int retprobe_bit(void)
{
	FILE *f = fopen(UPROBE_PMU "format/retprobe", "r");
	int bit = -1;
	if (f) {
		if (fscanf(f, "config:%d", &bit) != 1)
			bit = -1;
		fclose(f);
	}
	return bit;
}

/* The file offset of addr in the file mapped there (its path into path). */
static int file_offset(const void *addr, char *path, size_t pathlen, uint64_t *offset)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[PATH_MAX + 128];
	uintptr_t a = (uintptr_t)addr;
	int rc = -1;
	while (f && rc < 0 && fgets(line, sizeof line, f)) {
		uintptr_t start, end;
		unsigned long long off;
		int name_at = 0;
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %llx %*s %*s %n", &start, &end, &off, &name_at) < 3 ||
		    a < start || a >= end || !name_at || line[name_at] != '/')
			continue;
		snprintf(path, pathlen, "%.*s", (int)strcspn(line + name_at, "\n"), line + name_at);
		*offset = a - start + off;
		rc = 0;
	}
	if (f)
		fclose(f);
	return rc;
}

static int attach_uprobe_event(const void *func, bool retprobe, int prog_fd, char *why, size_t whylen)
{
	long type = read_number(UPROBE_PMU "type");
	int bit = retprobe_bit();
	if (type < 0 || (retprobe && bit < 0))
		return fail(why, whylen, "no uprobe PMU (%s)", UPROBE_PMU);
	char path[PATH_MAX];
	uint64_t offset;
	if (file_offset(func, path, sizeof path, &offset) < 0)
		return fail(why, whylen, "the probed function is in no file mapping");
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.size = sizeof attr;
	attr.type = (uint32_t)type;
	attr.config = retprobe ? 1ull << bit : 0;
	attr.config1 = (uint64_t)(uintptr_t)path;   /* uprobe_path */
	attr.config2 = offset;                       /* probe_offset */
	int fd = (int)syscall(__NR_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return fail(why, whylen, "perf_event_open(uprobe %s+%#" PRIx64 "): %s", path, offset, strerror(errno));
	if (ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog_fd) < 0 || ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) < 0) {
		fail(why, whylen, "PERF_EVENT_IOC_SET_BPF/ENABLE: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void hook_init(struct kernel_hook *h)
{
	h->map_fd = h->prog_fd = h->event_fd = -1;
}

int kernel_uprobe_attach(const void *func, bool retprobe, int ctx_off, struct kernel_hook *h, char *why,
                         size_t whylen)
{
	hook_init(h);
	if ((h->map_fd = value_map(why, whylen)) < 0 ||
	    (h->prog_fd = load_program(BPF_PROG_TYPE_KPROBE, ctx_off, h->map_fd, why, whylen)) < 0 ||
	    (h->event_fd = attach_uprobe_event(func, retprobe, h->prog_fd, why, whylen)) < 0) {
		kernel_hook_detach(h);
		return -1;
	}
	return 0;
}

int kernel_raw_tp_attach(const char *name, int ctx_off, struct kernel_hook *h, char *why, size_t whylen)
{
	hook_init(h);
	if ((h->map_fd = value_map(why, whylen)) < 0 ||
	    (h->prog_fd = load_program(BPF_PROG_TYPE_RAW_TRACEPOINT, ctx_off, h->map_fd, why, whylen)) < 0) {
		kernel_hook_detach(h);
		return -1;
	}
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.raw_tracepoint.name = (uint64_t)(uintptr_t)name;
	a.raw_tracepoint.prog_fd = (uint32_t)h->prog_fd;
	h->event_fd = (int)sys_bpf(BPF_RAW_TRACEPOINT_OPEN, &a);
	if (h->event_fd < 0) {
		fail(why, whylen, "bpf(BPF_RAW_TRACEPOINT_OPEN, %s): %s", name, strerror(errno));
		kernel_hook_detach(h);
		return -1;
	}
	return 0;
}

int kernel_hook_value(const struct kernel_hook *h, uint64_t *value)
{
	uint32_t key = 0;
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.map_fd = (uint32_t)h->map_fd;
	a.key = (uint64_t)(uintptr_t)&key;
	a.value = (uint64_t)(uintptr_t)value;
	return sys_bpf(BPF_MAP_LOOKUP_ELEM, &a) < 0 ? -1 : 0;
}

void kernel_hook_detach(struct kernel_hook *h)
{
	int *fds[] = { &h->event_fd, &h->prog_fd, &h->map_fd };
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}
