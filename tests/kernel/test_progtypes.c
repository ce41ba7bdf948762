/*
 * test_progtypes.c - test runs per program type, against the kernel.
 *
 * Each case is a small program in assembly with a packet and, maybe, a
 * context.  bpfvm runs it in every engine and mode; where bpf() works the
 * running kernel runs the same bytes through BPF_PROG_TEST_RUN, and the
 * return value, the packet and the context afterwards must be the same.
 * Where bpf() is unavailable that comparison is skipped, saying so, and
 * the bpfvm side still checks its own expectations.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"

#include "support/check.h"

struct prog_case {
	const char *name;
	uint32_t type;
	const char *text;
	uint8_t pkt[64];
	uint32_t pkt_len;
	uint64_t want_retval;
};

/* XDP: bounds-check, swap the MAC addresses' first bytes, pass. */
static const struct prog_case cases[] = {
	{ "xdp-swap-and-pass", BPF_PROG_TYPE_XDP,
	  "ldxw %r2, [%r1]\n"           /* data */
	  "ldxw %r3, [%r1+4]\n"         /* data_end */
	  "mov %r0, 1\n"
	  "mov %r4, %r2\n"
	  "add %r4, 14\n"
	  "jgt %r4, %r3, out\n"
	  "ldxb %r5, [%r2]\n"
	  "ldxb %r6, [%r2+6]\n"
	  "stxb [%r2], %r6\n"
	  "stxb [%r2+6], %r5\n"
	  "mov %r0, 2\n"
	  "out:\n"
	  "exit\n",
	  { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0x00, 0x45, 0, 0, 20 }, 18, 2 },
	{ "xdp-adjust-head-and-tail", BPF_PROG_TYPE_XDP,
	  "mov %r6, %r1\n"
	  "mov %r2, 4\n"
	  "call 44\n"                  /* xdp_adjust_head(ctx, 4) */
	  "mov %r7, %r0\n"
	  "mov %r1, %r6\n"
	  "mov %r2, -2\n"
	  "call 65\n"                  /* xdp_adjust_tail(ctx, -2) */
	  "lsh %r7, 8\n"
	  "or %r0, %r7\n"
	  "and %r0, 0xffff\n"
	  "ldxw %r2, [%r6]\n"
	  "ldxw %r3, [%r6+4]\n"
	  "sub %r3, %r2\n"
	  "lsh %r3, 16\n"
	  "or %r0, %r3\n"
	  "exit\n",
	  { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24 }, 24,
	  (24 - 4 - 2) << 16 },
	{ "xdp-adjust-head-too-far", BPF_PROG_TYPE_XDP,
	  "mov %r2, 20\n"
	  "call 44\n"
	  "exit\n",
	  { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 }, 20, (uint64_t)-EINVAL },
	{ "xdp-csum-diff", BPF_PROG_TYPE_XDP,
	  "stw [%r10-4], 0x12345678\n"
	  "stw [%r10-8], 0x0badf00d\n"
	  "mov %r1, %r10\n"
	  "add %r1, -8\n"
	  "mov %r2, 4\n"
	  "mov %r3, %r10\n"
	  "add %r3, -4\n"
	  "mov %r4, 4\n"
	  "mov %r5, 0x777\n"
	  "call 28\n"
	  "exit\n",
	  { 0 }, 14, 0 },
	{ "socket-filter-ld-abs", BPF_PROG_TYPE_SOCKET_FILTER,
	  "mov %r6, %r1\n"
	  "ldabsb 0\n"                 /* first byte after the Ethernet header */
	  "mov %r7, %r0\n"
	  "ldxw %r0, [%r6]\n"          /* skb->len */
	  "lsh %r0, 8\n"
	  "or %r0, %r7\n"
	  "ldxw %r1, [%r6+16]\n"       /* skb->protocol */
	  "lsh %r1, 16\n"
	  "xor %r0, %r1\n"
	  "exit\n",
	  { 0, 0, 0, 0, 0, 0, 7, 8, 9, 10, 11, 12, 0x86, 0xdd, 0x60, 1, 2, 3, [38] = 0xfe, [53] = 1 }, 54, 0 },
	{ "sched-cls-direct-access", BPF_PROG_TYPE_SCHED_CLS,
	  "ldxw %r2, [%r1+76]\n"       /* data */
	  "ldxw %r3, [%r1+80]\n"       /* data_end */
	  "ldxw %r4, [%r1+4]\n"        /* pkt_type */
	  "mov %r0, 0\n"
	  "mov %r5, %r2\n"
	  "add %r5, 16\n"
	  "jgt %r5, %r3, out\n"
	  "ldxh %r0, [%r2+12]\n"
	  "stb [%r2+15], 0x5a\n"
	  "lsh %r4, 20\n"
	  "or %r0, %r4\n"
	  "ldxw %r4, [%r1]\n"          /* len */
	  "lsh %r4, 24\n"
	  "or %r0, %r4\n"
	  "out:\n"
	  "exit\n",
	  { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 7, 8, 9, 10, 11, 12, 0x08, 0x00, 0x45, 2, 3, 4, 5, 6,
	    [26] = 10, 0, 0, 1, 10, 0, 0, 2 }, 34, 0 },
	{ "sched-cls-load-bytes", BPF_PROG_TYPE_SCHED_CLS,
	  "mov %r2, 10\n"
	  "mov %r3, %r10\n"
	  "add %r3, -8\n"
	  "mov %r4, 8\n"
	  "call 26\n"                  /* skb_load_bytes(skb, 10, fp-8, 8) */
	  "mov %r6, %r0\n"
	  "ldxdw %r0, [%r10-8]\n"
	  "add %r0, %r6\n"
	  "exit\n",
	  { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 }, 20, 0 },
};

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof *attr);
}

struct outcome {
	int rc;
	uint64_t retval;
	uint8_t data[256];
	uint32_t data_len;
};

/* Loads and test-runs in the kernel; rc < 0 on failure (log in log). */
static int kernel_run(const struct prog_case *c, const bpfvm_insn *insns, size_t n, struct outcome *o,
                      char *log, size_t loglen)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.prog_type = c->type;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t)"GPL";
	a.log_buf = (uint64_t)(uintptr_t)log;
	a.log_size = (uint32_t)loglen;
	a.log_level = 1;
	log[0] = 0;
	int fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
	if (fd < 0)
		return -errno;
	memset(&a, 0, sizeof a);
	a.test.prog_fd = (uint32_t)fd;
	a.test.data_in = (uint64_t)(uintptr_t)c->pkt;
	a.test.data_size_in = c->pkt_len;
	a.test.data_out = (uint64_t)(uintptr_t)o->data;
	a.test.data_size_out = sizeof o->data;
	a.test.repeat = 1;
	int rc = (int)sys_bpf(BPF_PROG_TEST_RUN, &a);
	o->rc = rc < 0 ? -errno : 0;
	o->retval = a.test.retval;
	o->data_len = a.test.data_size_out;
	close(fd);
	return 0;
}

int main(void)
{
	bpfvm_error err = { 0 };
	bpfvm_helpers *helpers = bpfvm_helpers_new_kernel(&err);
	CHECK(helpers != NULL, "kernel helper table: %s", err.msg);
	if (!helpers)
		return 1;
	/* probe bpf() */
	char probe_log[256];
	bpfvm_insn ret0[] = { { .opcode = 0xb7 }, { .opcode = 0x95 } };
	struct prog_case probe = { .type = BPF_PROG_TYPE_XDP, .pkt_len = 14 };
	struct outcome po;
	int probe_rc = kernel_run(&probe, ret0, 2, &po, probe_log, sizeof probe_log);
	bool kernel = probe_rc == 0;
	if (!kernel)
		printf("skipped: kernel comparison: bpf() unavailable: %s\n", strerror(-probe_rc));

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct prog_case *c = &cases[i];
		bpfvm_insn *insns;
		size_t n;
		if (bpfvm_asm(c->text, &insns, &n, &err)) {
			CHECK(0, "%s: asm line %d: %s", c->name, err.line, err.msg);
			continue;
		}
		bpfvm_program *prog = NULL;
		BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = helpers, .jit = true, .prog_type = c->type);
		if (bpfvm_program_load(insns, n, &lo, &prog, &err)) {
			CHECK(0, "%s: load: %s", c->name, err.msg);
			free(insns);
			continue;
		}
		struct outcome ref = { 0 };
		char log[4096];
		if (kernel) {
			int rc = kernel_run(c, insns, n, &ref, log, sizeof log);
			CHECK(rc == 0 && ref.rc == 0, "%s: kernel: load %d run %d: %s", c->name, rc, ref.rc, log);
		}
		for (int combo = 0; combo < 4; combo++) {
			struct outcome o = { 0 };
			BPFVM_OPTS(bpfvm_test_run, t,
				.data_in = c->pkt, .data_size_in = c->pkt_len,
				.data_out = o.data, .data_size_out = sizeof o.data,
				.mode = (bpfvm_mode)(combo & 1),
				.engine = combo & 2 ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP
			);
			o.rc = bpfvm_program_test_run(prog, &t, &err);
			o.retval = t.retval;
			o.data_len = t.data_size_out;
			CHECK(o.rc == 0, "%s (combo %d): %s", c->name, combo, err.msg);
			if (o.rc)
				continue;
			if (kernel) {
				CHECK((uint32_t)o.retval == (uint32_t)ref.retval, "%s (combo %d): retval 0x%" PRIx64
				      ", kernel 0x%" PRIx64, c->name, combo, o.retval, ref.retval);
				CHECK(o.data_len == ref.data_len && !memcmp(o.data, ref.data, o.data_len),
				      "%s (combo %d): packet out differs (%u vs kernel %u bytes)", c->name, combo,
				      o.data_len, ref.data_len);
			}
			if (c->want_retval)
				CHECK(o.retval == c->want_retval || (uint32_t)o.retval == (uint32_t)c->want_retval,
				      "%s (combo %d): retval 0x%" PRIx64 ", want 0x%" PRIx64, c->name, combo,
				      o.retval, c->want_retval);
		}
		bpfvm_program_free(prog);
		free(insns);
	}
	bpfvm_helpers_free(helpers);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
