/*
 * test_helper_types.c - which helper each program type may call: bpfvm's
 * answer (a load of `call N` succeeding or being refused) against the
 * running kernel's verifier for every helper bpfvm implements and every
 * program type it models.  Skips the kernel side, saying so, where bpf()
 * is unavailable; bpfvm's own refusal of a forbidden helper is still
 * checked.  Loads are sleepable (BPF_F_SLEEPABLE) on bpfvm's side: a
 * helper that may sleep, bpf_copy_from_user, is in the kernel's table of
 * every type, which refuses it to a non-sleepable program only after
 * finding it there ("helper call might sleep in a non-sleepable prog",
 * checked apart).
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"

static char log_buf[65536];

/* Where bpfvm differs from a kernel on purpose: bpf_override_return, for
 * function entry probes, whatever CONFIG_BPF_KPROBE_OVERRIDE (often off)
 * gives the kernel's kprobes. */
static bool allowed_on_purpose(uint32_t type, uint32_t id)
{
	return type == BPF_PROG_TYPE_KPROBE && id == BPF_FUNC_override_return;
}

/* 1 allowed, 0 refused as a helper of this type, -1 bpf() unusable. */
static int kernel_allows(uint32_t type, uint32_t id)
{
	struct bpf_insn p[] = { { .code = 0x85, .imm = (int32_t)id }, { .code = 0xb7 }, { .code = 0x95 } };
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.prog_type = type;
	a.insns = (uint64_t)(uintptr_t)p;
	a.insn_cnt = 3;
	a.license = (uint64_t)(uintptr_t)"GPL";
	a.log_buf = (uint64_t)(uintptr_t)log_buf;
	a.log_size = sizeof log_buf;
	a.log_level = 1;
	log_buf[0] = 0;
	int fd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof a);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	if (errno == EPERM || errno == ENOSYS)
		return -1;
	/* refused for the helper itself, or for something after it (its
	 * arguments): only the former says the type may not call it */
	return strstr(log_buf, "unknown func") || strstr(log_buf, "cannot use helper") ? 0 : 1;
}

int main(void)
{
	static const uint32_t types[] = {
		BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_KPROBE, BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_SCHED_ACT,
		BPF_PROG_TYPE_TRACEPOINT, BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_RAW_TRACEPOINT,
	};
	int passed = 0, failed = 0;
	bpfvm_error err = { 0 };
	bpfvm_helpers *h = bpfvm_helpers_new_kernel(&err);
	if (!h) {
		printf("FAIL helper table: %s\n", err.msg);
		return 1;
	}
	bool kernel = kernel_allows(BPF_PROG_TYPE_XDP, BPF_FUNC_ktime_get_ns) >= 0;
	if (!kernel)
		printf("skipped: kernel comparison: bpf() unavailable\n");
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
		for (uint32_t id = 1; id < 220; id++) {
			if (!bpfvm_helpers_find(h, id, NULL))
				continue;
			bpfvm_insn prog[] = { { .opcode = 0x85, .imm = (int32_t)id }, { .opcode = 0xb7 }, { .opcode = 0x95 } };
			bpfvm_program *p = NULL;
			BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = h, .prog_type = types[t], .sleepable = true);
			int mine = bpfvm_program_load(prog, 3, &lo, &p, &err) == 0;
			bpfvm_program_free(p);
			if (!mine && !strstr(err.msg, "may not call")) {
				failed++;
				printf("FAIL type %u helper %u: refused for another reason: %s\n", types[t], id, err.msg);
				continue;
			}
			if (!kernel) {
				passed++;
				continue;
			}
			int theirs = kernel_allows(types[t], id);
			if (mine && !theirs && allowed_on_purpose(types[t], id)) {
				passed++;
				printf("note: %s may call helper %u in bpfvm on purpose; the kernel says no\n",
				       bpfvm_prog_type_name(types[t]), id);
			} else if (mine == theirs) {
				passed++;
			} else {
				failed++;
				printf("FAIL %s may%s call helper %u in bpfvm, but the kernel says %s\n",
				       bpfvm_prog_type_name(types[t]), mine ? "" : " not", id, theirs ? "yes" : "no");
			}
		}
	}
	/* and a refusal names the program type and the helper */
	bpfvm_insn comm[] = { { .opcode = 0x85, .imm = BPF_FUNC_get_current_comm }, { .opcode = 0x95 } };
	bpfvm_insn head[] = { { .opcode = 0x85, .imm = BPF_FUNC_xdp_adjust_head }, { .opcode = 0x95 } };
	bpfvm_program *p = NULL;
	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = h, .prog_type = BPF_PROG_TYPE_KPROBE);
	int rc = bpfvm_program_load(head, 2, &lo, &p, &err);
	if (rc && err.insn == 0 && strstr(err.msg, "a kprobe program may not call bpf_xdp_adjust_head")) {
		passed++;
	} else {
		failed++;
		printf("FAIL refusal message: '%s' (insn %d)\n", rc ? err.msg : "(accepted)", err.insn);
	}
	bpfvm_program_free(p);
	p = NULL;
	lo.prog_type = BPF_PROG_TYPE_XDP;
	if (bpfvm_program_load(comm, 2, &lo, &p, &err) == 0) {
		passed++;
	} else {
		failed++;
		printf("FAIL xdp may call bpf_get_current_comm: %s\n", err.msg);
	}
	bpfvm_program_free(p);
	p = NULL;
	/* a helper that may sleep, in a program that may not: refused by both */
	bpfvm_insn copy[] = { { .opcode = 0xbf, .dst = 1, .src = 10 }, { .opcode = 0x07, .dst = 1, .imm = -8 },
	                      { .opcode = 0xb7, .dst = 2, .imm = 8 }, { .opcode = 0xb7, .dst = 3 },
	                      { .opcode = 0x85, .imm = BPF_FUNC_copy_from_user }, { .opcode = 0xb7 }, { .opcode = 0x95 } };
	lo.prog_type = BPF_PROG_TYPE_KPROBE;
	rc = bpfvm_program_load(copy, 7, &lo, &p, &err);
	if (rc && err.insn == 4 && strstr(err.msg, "a kprobe program may not call bpf_copy_from_user") &&
	    strstr(err.msg, "might sleep")) {
		passed++;
	} else {
		failed++;
		printf("FAIL non-sleepable bpf_copy_from_user: '%s' (insn %d)\n", rc ? err.msg : "(accepted)", err.insn);
	}
	bpfvm_program_free(p);
	p = NULL;
	if (kernel) {
		int theirs = kernel_allows(BPF_PROG_TYPE_KPROBE, BPF_FUNC_copy_from_user);
		if (theirs == 1 && strstr(log_buf, "helper call might sleep in a non-sleepable prog")) {
			passed++;
		} else {
			failed++;
			printf("FAIL the kernel on a non-sleepable bpf_copy_from_user: %d '%.200s'\n", theirs, log_buf);
		}
	}
	lo.sleepable = true;
	if (bpfvm_program_load(copy, 7, &lo, &p, &err) == 0) {
		passed++;
	} else {
		failed++;
		printf("FAIL a sleepable kprobe may call bpf_copy_from_user: %s\n", err.msg);
	}
	bpfvm_program_free(p);
	bpfvm_helpers_free(h);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
