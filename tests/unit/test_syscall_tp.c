/*
 * test_syscall_tp.c - syscall tracepoint records: the built-in table
 * against this machine's tracefs format files for every syscall
 * tracepoint (skipped, saying so, without tracefs), syscall names and
 * numbers, and records filled from a syscall's number and arguments as a
 * tracepoint program reads them in both engines.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/bpf.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "progtypes/syscall_tp.h"
#include "support/check.h"

static bool same_layout(const struct syscall_tp_layout *a, const struct syscall_tp_layout *b)
{
	return a->kind == b->kind && a->nr == b->nr && a->size == b->size && a->nr_off == b->nr_off &&
	       a->nr_size == b->nr_size && a->args_off == b->args_off && a->nargs == b->nargs && a->ret_off == b->ret_off;
}

static void compare_event(const char *event)
{
	struct syscall_tp_layout fs, builtin;
	bpfvm_error err = { 0 };
	if (!CHECK(syscall_tp_layout_tracefs(event, &fs, &err) == 0, "%s from tracefs: %s", event, err.msg))
		return;
	if (!CHECK(syscall_tp_layout_builtin(event, &builtin, &err) == 0, "%s built in: %s", event, err.msg))
		return;
	CHECK(same_layout(&fs, &builtin) && fs.event_id != 0,
	      "%s: tracefs size %u nr %d@%u/%u args %u@%u ret@%u id %u; built in size %u nr %d@%u/%u args %u@%u ret@%u",
	      event, fs.size, fs.nr, fs.nr_off, fs.nr_size, fs.nargs, fs.args_off, fs.ret_off, fs.event_id, builtin.size,
	      builtin.nr, builtin.nr_off, builtin.nr_size, builtin.nargs, builtin.args_off, builtin.ret_off);
}

/* Every syscall tracepoint this kernel has, against the built-in table. */
static void test_table_vs_tracefs(void)
{
	const char *events = syscall_tp_events_dir();
	if (!events) {
		printf("skipped: built-in table vs tracefs: tracefs is not mounted and cannot be mounted here\n");
		return;
	}
	char dir[512];
	snprintf(dir, sizeof dir, "%s/syscalls", events);
	DIR *d = opendir(dir);
	if (!d) {
		printf("skipped: built-in table vs tracefs: no %s\n", dir);
		return;
	}
	int compared = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (strncmp(e->d_name, "sys_e", 5) != 0)
			continue;
		char event[300];
		snprintf(event, sizeof event, "syscalls/%s", e->d_name);
		compare_event(event);
		compared++;
	}
	closedir(d);
	compare_event("raw_syscalls/sys_enter");
	compare_event("raw_syscalls/sys_exit");
	CHECK(compared > 600, "only %d syscall tracepoints in tracefs", compared);
	printf("compared %d syscall tracepoints with tracefs\n", compared + 2);
}

static void test_names(void)
{
	CHECK(syscall_nr_by_name("openat") == 257 && syscall_nr_by_name("getppid") == 110, "openat, getppid");
	CHECK(syscall_nr_by_name("stat") == 4 && syscall_nr_by_name("newstat") == 4, "stat by either name");
	CHECK(syscall_nr_by_name("no_such_call") == -1, "unknown name: -1");
	CHECK(syscall_name(0) && strcmp(syscall_name(0), "read") == 0, "0 is read");
	CHECK(syscall_name(462) && strcmp(syscall_name(462), "mseal") == 0, "462 is mseal (newer than the headers)");
	CHECK(syscall_name(100000) == NULL, "no syscall 100000");
	CHECK(syscall_arg_names(257) && strcmp(syscall_arg_names(257), "dfd filename flags mode") == 0,
	      "openat's arguments");
	struct syscall_tp_layout l;
	bpfvm_error err = { 0 };
	CHECK(syscall_tp_layout_builtin("syscalls/sys_enter_nosuch", &l, &err) == -ENOENT &&
	      strstr(err.msg, "no such syscall tracepoint"), "unknown tracepoint: %s", err.msg);
	CHECK(syscall_tp_layout_builtin("sched/sched_switch", &l, &err) == -ENOENT, "not a syscall tracepoint");
	CHECK(syscall_tp_layout_builtin("sys_enter_getppid", &l, &err) == 0 && l.size == 12 && l.nargs == 0,
	      "getppid's entry: the number only, 12 bytes");
	CHECK(syscall_tp_layout("syscalls/sys_exit_openat", &l, &err) == 0 && l.size == 24 && l.ret_off == 16 &&
	      l.nr == 257, "openat's exit: %s", err.msg);
}

/* r0 = *(u64 *)(r1 + off); exit, as a tracepoint program over rec. */
static uint64_t read_ctx(const void *rec, uint32_t size, int16_t off, uint8_t width_op, bpfvm_engine engine)
{
	bpfvm_insn p[] = { { .opcode = width_op, .dst = 0, .src = 1, .off = off }, { .opcode = 0x95 } };
	BPFVM_OPTS(bpfvm_load_opts, lo, .prog_type = BPF_PROG_TYPE_TRACEPOINT, .jit = true);
	bpfvm_program *prog = NULL;
	bpfvm_error err = { 0 };
	if (!CHECK(bpfvm_program_load(p, 2, &lo, &prog, &err) == 0, "load: %s", err.msg))
		return 0;
	BPFVM_OPTS(bpfvm_test_run, t, .ctx_in = rec, .ctx_size_in = size, .engine = engine);
	CHECK(bpfvm_program_test_run(prog, &t, &err) == 0, "test run: %s", err.msg);
	bpfvm_program_free(prog);
	return t.retval;
}

static void test_records(void)
{
	static const bpfvm_engine engines[2] = { BPFVM_ENGINE_INTERP, BPFVM_ENGINE_JIT };
	struct syscall_tp_layout enter, exit_, raw;
	bpfvm_error err = { 0 };
	if (!CHECK(syscall_tp_layout("syscalls/sys_enter_openat", &enter, &err) == 0 &&
	           syscall_tp_layout("syscalls/sys_exit_openat", &exit_, &err) == 0 &&
	           syscall_tp_layout("raw_syscalls/sys_enter", &raw, &err) == 0, "layouts: %s", err.msg))
		return;
	uint64_t args[6] = { (uint64_t)-100, 0x7000, 0x241, 0644, 5, 6 };
	struct pt_regs regs = { 0 };
	uint8_t rec[SYSCALL_TP_RECORD_MAX], rrec[SYSCALL_TP_RECORD_MAX], xrec[SYSCALL_TP_RECORD_MAX];
	syscall_tp_fill_enter(&enter, rec, &regs, 257, args);
	syscall_tp_fill_enter(&raw, rrec, &regs, 257, args);
	syscall_tp_fill_exit(&exit_, xrec, &regs, 257, -2);
	uint64_t regs_addr;
	memcpy(&regs_addr, rec, 8);
	CHECK(regs_addr == (uint64_t)(uintptr_t)&regs, "bytes 0-7: the event's pt_regs, as the kernel");
	for (int e = 0; e < 2; e++) {
		CHECK(read_ctx(rec, enter.size, 8, 0x61, engines[e]) == 257, "enter: __syscall_nr");
		CHECK(read_ctx(rec, enter.size, 16, 0x79, engines[e]) == (uint64_t)-100, "enter: dfd");
		CHECK(read_ctx(rec, enter.size, 40, 0x79, engines[e]) == 0644, "enter: mode");
		CHECK(read_ctx(rrec, raw.size, 8, 0x79, engines[e]) == 257, "raw enter: id");
		CHECK(read_ctx(rrec, raw.size, 56, 0x79, engines[e]) == 6, "raw enter: args[5]");
		CHECK(read_ctx(xrec, exit_.size, 16, 0x79, engines[e]) == (uint64_t)-2, "exit: ret");
	}
	CHECK(enter.size == 48 && raw.size == 64, "sizes: openat enter %u, raw enter %u", enter.size, raw.size);
}

int main(void)
{
	test_names();
	test_records();
	test_table_vs_tracefs();
	return check_summary();
}
