/*
 * test_kernel_diff.c - differential test of bpfvm (interpreter and JIT) against the
 * Linux kernel (its verifier-accepted, JIT-compiled eBPF) as the oracle.
 *
 * Owns: the kernel side of the comparison (raw bpf() syscalls: load an XDP
 * program, BPF_PROG_TEST_RUN it), running the same body in bpfvm in both
 * checked and unchecked modes with the interpreter and the JIT, comparing, shrinking and reporting.  The
 * programs come from tests/support/randprog.h.
 *
 * How a full 64-bit r0 and the stack get out of the kernel, whose test run
 * returns only a 32-bit retval: the program is XDP.  Its prologue takes
 * ctx->data, checks that OUT = 8 + S bytes of packet are there, and keeps
 * the packet pointer at r10-8, the one slot the body never touches.  The
 * randprog epilogue reloads it and copies the body's r0 and its S stack
 * bytes into the packet, which the test run returns as data_out.  bpfvm
 * runs the same body and epilogue behind a one-instruction prologue that
 * keeps r1 (a memory region) at r10-8, so both sides write exactly the
 * body's r0 and stack into OUT bytes of memory.
 *
 * Environment:
 *   BPFVM_DIFF_SEED   run seed (default 0x5eed); program i depends only on
 *                     (seed, i), so a failure can be rerun alone
 *   BPFVM_DIFF_COUNT  programs to compare (default 10000)
 *   BPFVM_DIFF_START  index of the first program (default 0)
 *
 * Output: one FAIL line per failing program (the first few followed by
 * indented details: the program in hex and disassembled, both results, a
 * shrunk version), the rate, then "N passed, M failed".  Exit 0 iff
 * nothing failed, 77 if bpf() is unavailable.
 *
 * A program the kernel rejects counts as a failure (the generator must
 * stay within what the verifier accepts).  Three Linux 6.18 verifier bugs
 * that make the kernel compute wrong results are avoided by the generator
 * rather than reported; support/randprog.h ("workaround 1..3") describes them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "bpfvm/bpfvm.h"
#include "support/randprog.h"

#define DEFAULT_SEED 0x5eedULL
#define DEFAULT_COUNT 10000ULL
#define DETAILED_FAILURES 5      /* failures that get a full dump */
#define PKT_MIN 64               /* XDP test runs want at least an Ethernet header */
#define MAX_OUT RANDPROG_OUT_LEN(RANDPROG_MAX_STACK)
#define KERNEL_PROLOGUE_LEN 8u
#define MAX_PROG (KERNEL_PROLOGUE_LEN + RANDPROG_MAX_BODY + RANDPROG_EPILOGUE_LEN(RANDPROG_MAX_STACK))
#define LOG_SIZE (1u << 20)

enum verdict {
	AGREE,
	MISMATCH,          /* kernel ran it; bpfvm's result differs in some mode */
	KERNEL_REJECTED,   /* verifier said no: a generator bug */
	KERNEL_FAILED,     /* the test run itself failed */
	BPFVM_FAILED,      /* bpfvm refused to load or run it */
};

struct outcome {
	enum verdict verdict;
	size_t out_len;
	uint8_t kernel[MAX_OUT];
	uint8_t vm[4][MAX_OUT];     /* by bpfvm_mode; +2: the same with the JIT */
	int vm_rc[4];
	char why[320];
};

/* ---- the kernel side ------------------------------------------------- */

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof *attr);
}

/* Loads an XDP program; returns its fd or -errno.  With log, the verifier's
 * log goes there (rotating: a long log keeps its end, where the reason is). */
static int kernel_load(const bpfvm_insn *insns, size_t count, char *log, size_t log_size)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.prog_type = BPF_PROG_TYPE_XDP;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = (uint32_t)count;
	attr.license = (uint64_t)(uintptr_t)"GPL";
	if (log) {
		log[0] = 0;
		attr.log_level = 1;
		attr.log_buf = (uint64_t)(uintptr_t)log;
		attr.log_size = (uint32_t)log_size;
	}
	int fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
	return fd < 0 ? -errno : fd;
}

/* One test run over pkt (len bytes in, len bytes out); returns 0 or -errno. */
static int kernel_run(int fd, uint8_t *pkt_in, uint8_t *pkt_out, size_t len, uint32_t *retval)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.test.prog_fd = (uint32_t)fd;
	attr.test.data_in = (uint64_t)(uintptr_t)pkt_in;
	attr.test.data_size_in = (uint32_t)len;
	attr.test.data_out = (uint64_t)(uintptr_t)pkt_out;
	attr.test.data_size_out = (uint32_t)len;
	attr.test.repeat = 1;
	if (sys_bpf(BPF_PROG_TEST_RUN, &attr) < 0)
		return -errno;
	*retval = attr.test.retval;
	if (attr.test.data_size_out != len)
		return -EMSGSIZE;
	return 0;
}

/* The XDP prologue: packet bounds check, then the packet pointer to r10-8.
 * Insns 5-6 (return XDP_ABORTED) only run if the packet is too short. */
static size_t kernel_prologue(bpfvm_insn *out, unsigned out_len)
{
	const bpfvm_insn pro[] = {
		{ .opcode = BPF_LDX | BPF_MEM | BPF_W, .dst = 2, .src = 1, .off = offsetof(struct xdp_md, data) },
		{ .opcode = BPF_LDX | BPF_MEM | BPF_W, .dst = 3, .src = 1, .off = offsetof(struct xdp_md, data_end) },
		{ .opcode = BPF_ALU64 | BPF_MOV | BPF_X, .dst = 4, .src = 2 },
		{ .opcode = BPF_ALU64 | BPF_ADD | BPF_K, .dst = 4, .imm = (int32_t)out_len },
		{ .opcode = BPF_JMP | BPF_JLE | BPF_X, .dst = 4, .src = 3, .off = 2 },
		{ .opcode = BPF_ALU64 | BPF_MOV | BPF_K, .dst = 0, .imm = XDP_ABORTED },
		{ .opcode = BPF_JMP | BPF_EXIT },
		{ .opcode = BPF_STX | BPF_MEM | BPF_DW, .dst = 10, .src = 2, .off = -RANDPROG_RESERVED },
	};
	memcpy(out, pro, sizeof pro);
	_Static_assert(sizeof pro / sizeof pro[0] == KERNEL_PROLOGUE_LEN, "KERNEL_PROLOGUE_LEN");
	return KERNEL_PROLOGUE_LEN;
}

/* Fills an input packet: a fixed pattern, so bytes the epilogue forgot
 * to write would show up the same on both sides, not as noise. */
static void fill_packet(uint8_t *pkt, size_t len)
{
	for (size_t i = 0; i < len; i++)
		pkt[i] = (uint8_t)(0xa5 ^ i);
}

static size_t packet_len(const struct randprog *p)
{
	size_t n = RANDPROG_OUT_LEN(p->stack_bytes);
	return n < PKT_MIN ? PKT_MIN : n;
}

/* Runs p's body in the kernel; the result goes to o->kernel. */
static enum verdict run_kernel(const struct randprog *p, struct outcome *o)
{
	bpfvm_insn prog[MAX_PROG];
	bpfvm_insn pro[KERNEL_PROLOGUE_LEN];
	kernel_prologue(pro, (unsigned)o->out_len);
	size_t n = randprog_assemble(p, pro, KERNEL_PROLOGUE_LEN, XDP_PASS, prog);
	int fd = kernel_load(prog, n, NULL, 0);
	if (fd < 0) {
		snprintf(o->why, sizeof o->why, "the kernel rejected it (a generator bug)%s: %s",
		         fd == -E2BIG ? " [verifier complexity limit: generate shorter programs]" : "",
		         strerror(-fd));
		return KERNEL_REJECTED;
	}
	uint8_t in[MAX_OUT + PKT_MIN], out[MAX_OUT + PKT_MIN];
	size_t len = packet_len(p);
	fill_packet(in, len);
	memset(out, 0, len);
	uint32_t retval = 0;
	int rc = kernel_run(fd, in, out, len, &retval);
	close(fd);
	if (rc < 0 || retval != XDP_PASS) {
		snprintf(o->why, sizeof o->why, "kernel test run failed: %s, retval %u",
		         rc < 0 ? strerror(-rc) : "ok", retval);
		return KERNEL_FAILED;
	}
	memcpy(o->kernel, out, o->out_len);
	return AGREE;
}

/* ---- the bpfvm side -------------------------------------------------- */

static enum verdict run_bpfvm(const struct randprog *p, struct outcome *o)
{
	bpfvm_insn prog[MAX_PROG];
	size_t n = randprog_wrap_mem(p, prog);
	bpfvm_program *vm = NULL;
	bpfvm_error err = { 0 };
	BPFVM_OPTS(bpfvm_load_opts, lo, .jit = true);
	int rc = bpfvm_program_load(prog, n, &lo, &vm, &err);
	if (rc) {
		snprintf(o->why, sizeof o->why, "bpfvm_program_load: %s (insn %d)", err.msg, err.insn);
		return BPFVM_FAILED;
	}
	enum verdict v = AGREE;
	for (int combo = 0; combo < 4; combo++) {
		int mode = combo & 1;
		uint8_t mem[MAX_OUT + PKT_MIN];
		size_t len = packet_len(p);
		fill_packet(mem, len);
		uint64_t r0 = 1;
		bpfvm_region region = { mem, len, true };
		BPFVM_OPTS(bpfvm_run_opts, ro,
			.args = { (uint64_t)(uintptr_t)mem, len },
			.mode = (bpfvm_mode)mode,
			.engine = combo & 2 ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP,
			.regions = &region, .region_count = 1, .packet = mem, .packet_len = len
		);
		o->vm_rc[combo] = bpfvm_program_run(vm, &ro, &r0, &err);
		if (o->vm_rc[combo] || r0 != 0) {
			snprintf(o->why, sizeof o->why, "bpfvm %s %s run: %s (insn %d), r0 %" PRIu64,
			         combo & 2 ? "jit" : "interpreter", mode == BPFVM_CHECKED ? "checked" : "unchecked",
			         o->vm_rc[combo] ? err.msg : "ok", err.insn, r0);
			v = BPFVM_FAILED;
		}
		memcpy(o->vm[combo], mem, o->out_len);
	}
	bpfvm_program_free(vm);
	return v;
}

/* Runs p on both sides and compares. */
static enum verdict evaluate(const struct randprog *p, struct outcome *o)
{
	memset(o->why, 0, sizeof o->why);
	o->out_len = RANDPROG_OUT_LEN(p->stack_bytes);
	char why[200];
	if (!randprog_check(p, why, sizeof why)) {
		snprintf(o->why, sizeof o->why, "generator broke its rules: %s", why);
		return o->verdict = KERNEL_REJECTED;
	}
	enum verdict v = run_kernel(p, o);
	if (v != AGREE)
		return o->verdict = v;
	v = run_bpfvm(p, o);
	if (v != AGREE)
		return o->verdict = v;
	for (int combo = 0; combo < 4; combo++)
		if (memcmp(o->kernel, o->vm[combo], o->out_len))
			v = MISMATCH;
	return o->verdict = v;
}

/* ---- reporting ------------------------------------------------------- */

static uint64_t get64(const uint8_t *b)
{
	uint64_t v;
	memcpy(&v, b, 8);
	return v;
}

/* One line summing up what differs. */
static void describe_mismatch(const struct outcome *o, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "r0 kernel 0x%016" PRIx64 " checked 0x%016" PRIx64
	                            " unchecked 0x%016" PRIx64, get64(o->kernel),
	                            get64(o->vm[BPFVM_CHECKED]), get64(o->vm[BPFVM_UNCHECKED]));
	unsigned diff_slots = 0;
	for (size_t off = 8; off < o->out_len; off += 8)
		if (memcmp(o->kernel + off, o->vm[0] + off, 8) || memcmp(o->kernel + off, o->vm[1] + off, 8) ||
		    memcmp(o->kernel + off, o->vm[2] + off, 8) || memcmp(o->kernel + off, o->vm[3] + off, 8))
			diff_slots++;
	if (n < len)
		snprintf(buf + n, len - n, "; %u of %zu stack slots differ", diff_slots, (o->out_len - 8) / 8);
}

static void dump_program(const char *title, const bpfvm_insn *insns, size_t count)
{
	printf("  %s (%zu slots, as bpfvm runs it: prologue, body, epilogue):\n", title, count);
	for (size_t pc = 0; pc < count; pc++) {
		const uint8_t *b = (const uint8_t *)&insns[pc];
		char text[160];
		int slots = bpfvm_disasm_insn(insns, count, pc, BPFVM_SYNTAX_LLVM, text, sizeof text);
		printf("    %4zu: %02x %02x %02x %02x %02x %02x %02x %02x  %s\n", pc, b[0], b[1], b[2], b[3],
		       b[4], b[5], b[6], b[7], text);
		if (slots == 2) {
			pc++;
			b = (const uint8_t *)&insns[pc];
			printf("    %4zu: %02x %02x %02x %02x %02x %02x %02x %02x\n", pc, b[0], b[1], b[2], b[3],
			       b[4], b[5], b[6], b[7]);
		}
	}
}

static void dump_results(const struct outcome *o)
{
	printf("  results (slot: kernel / bpfvm checked / bpfvm unchecked; * = differs):\n");
	for (size_t off = 0; off < o->out_len; off += 8) {
		uint64_t k = get64(o->kernel + off), c = get64(o->vm[0] + off), u = get64(o->vm[1] + off);
		char name[24];
		if (off == 0)
			snprintf(name, sizeof name, "r0");
		else
			snprintf(name, sizeof name, "r10%+d", -RANDPROG_RESERVED - (int)(o->out_len - 8) + (int)(off - 8));
		printf("   %c %-8s 0x%016" PRIx64 " / 0x%016" PRIx64 " / 0x%016" PRIx64 "\n",
		       (k != c || k != u) ? '*' : ' ', name, k, c, u);
	}
}

static void dump_body(const char *title, const struct randprog *p)
{
	bpfvm_insn prog[MAX_PROG];
	size_t n = randprog_wrap_mem(p, prog);
	dump_program(title, prog, n);
}

/* Prints the end of a verifier log: the reason is on the last lines. */
static void print_log_tail(const char *log, unsigned lines)
{
	size_t len = strlen(log);
	size_t start = len;
	unsigned seen = 0;
	while (start > 0 && seen <= lines) {
		start--;
		if (log[start] == '\n' && start + 1 < len)
			seen++;
	}
	if (seen > lines)
		start++;
	printf("  verifier log (last lines):\n");
	for (const char *s = log + start; *s;) {
		const char *e = strchr(s, '\n');
		size_t l = e ? (size_t)(e - s) : strlen(s);
		printf("    %.*s\n", (int)l, s);
		s += l + (e ? 1 : 0);
	}
}

static void explain_rejection(const struct randprog *p)
{
	bpfvm_insn prog[MAX_PROG];
	bpfvm_insn pro[KERNEL_PROLOGUE_LEN];
	kernel_prologue(pro, RANDPROG_OUT_LEN(p->stack_bytes));
	size_t n = randprog_assemble(p, pro, KERNEL_PROLOGUE_LEN, XDP_PASS, prog);
	char *log = malloc(LOG_SIZE);
	if (!log)
		return;
	int fd = kernel_load(prog, n, log, LOG_SIZE);
	if (fd >= 0) {
		printf("  (the kernel accepts it when loaded again with a log)\n");
		close(fd);
	} else {
		printf("  (kernel slot numbers are bpfvm's + %u: the XDP prologue is longer)\n",
		       KERNEL_PROLOGUE_LEN - RANDPROG_MEM_PROLOGUE_LEN);
		print_log_tail(log, 6);
	}
	free(log);
}

/* Tries one shrinking step on a copy; keeps it if the kernel still
 * accepts the program and bpfvm still disagrees. */
static bool try_shrink(struct randprog *p, struct randprog *trial, struct outcome *o)
{
	char why[64];
	if (!randprog_check(trial, why, sizeof why) || evaluate(trial, o) != MISMATCH)
		return false;
	*p = *trial;
	return true;
}

/* Shrinks a mismatching program: deletes instructions after the init one
 * at a time, and stack slots the rest no longer uses, while the kernel
 * still accepts it and bpfvm still disagrees. */
static void shrink(struct randprog *p, struct outcome *o)
{
	struct randprog *trial = malloc(sizeof *trial);
	if (!trial)
		return;
	bool progress = true;
	while (progress) {
		progress = false;
		for (size_t pc = p->init_count; pc < p->count;) {
			*trial = *p;
			randprog_delete(trial, pc);
			if (try_shrink(p, trial, o))
				progress = true;
			else
				pc += p->insns[pc].opcode == (BPF_LD | BPF_IMM | BPF_DW) ? 2 : 1;
		}
		for (unsigned k = p->stack_bytes / 8; k-- > 0;) {
			*trial = *p;
			if (randprog_drop_slot(trial, k) && try_shrink(p, trial, o))
				progress = true;
		}
	}
	free(trial);
	evaluate(p, o);
}

/* ---- main ------------------------------------------------------------ */

static uint64_t env_u64(const char *name, uint64_t fallback)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return fallback;
	char *end;
	errno = 0;
	uint64_t v = strtoull(s, &end, 0);
	if (errno || *end) {
		fprintf(stderr, "%s=%s is not a number; using %" PRIu64 "\n", name, s, fallback);
		return fallback;
	}
	return v;
}

/* A trivial XDP program: if even this fails to load or run with EPERM or
 * ENOSYS, bpf() is not available here and the test cannot run. */
static int probe_kernel(char *reason, size_t len)
{
	const bpfvm_insn prog[] = {
		{ .opcode = BPF_ALU64 | BPF_MOV | BPF_K, .dst = 0, .imm = XDP_PASS },
		{ .opcode = BPF_JMP | BPF_EXIT },
	};
	int fd = kernel_load(prog, 2, NULL, 0);
	if (fd < 0) {
		snprintf(reason, len, "BPF_PROG_LOAD: %s", strerror(-fd));
		return fd;
	}
	uint8_t in[PKT_MIN], out[PKT_MIN];
	fill_packet(in, sizeof in);
	uint32_t retval = 0;
	int rc = kernel_run(fd, in, out, sizeof in, &retval);
	close(fd);
	if (rc < 0) {
		snprintf(reason, len, "BPF_PROG_TEST_RUN: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	uint64_t seed = env_u64("BPFVM_DIFF_SEED", DEFAULT_SEED);
	uint64_t count = env_u64("BPFVM_DIFF_COUNT", DEFAULT_COUNT);
	uint64_t start = env_u64("BPFVM_DIFF_START", 0);

	char reason[128];
	int rc = probe_kernel(reason, sizeof reason);
	if (rc == -EPERM || rc == -ENOSYS) {
		printf("skipped: bpf() unavailable: %s\n", reason);
		return 77;
	}
	if (rc) {
		printf("FAIL: the probe program does not run in the kernel: %s\n", reason);
		printf("0 passed, 1 failed\n");
		return 1;
	}

	struct randprog *p = malloc(sizeof *p);
	struct outcome *o = malloc(sizeof *o);
	if (!p || !o) {
		printf("FAIL: out of memory\n0 passed, 1 failed\n");
		return 1;
	}
	uint64_t passed = 0, failed = 0;
	double t0 = now_seconds();
	for (uint64_t i = start; i < start + count; i++) {
		randprog_generate(p, seed, i, NULL);
		enum verdict v = evaluate(p, o);
		if (v == AGREE) {
			passed++;
			continue;
		}
		failed++;
		char line[400];
		if (v == MISMATCH)
			describe_mismatch(o, line, sizeof line);
		else
			snprintf(line, sizeof line, "%s", o->why);
		printf("FAIL seed=0x%" PRIx64 " index=%" PRIu64 ": %s\n", seed, i, line);
		if (failed > DETAILED_FAILURES)
			continue;
		printf("  rerun: BPFVM_DIFF_SEED=0x%" PRIx64 " BPFVM_DIFF_START=%" PRIu64 " BPFVM_DIFF_COUNT=1\n",
		       seed, i);
		dump_body("program", p);
		if (v == KERNEL_REJECTED) {
			explain_rejection(p);
		} else if (v == MISMATCH) {
			dump_results(o);
			shrink(p, o);
			dump_body("shrunk program", p);
			dump_results(o);
		}
	}
	double dt = now_seconds() - t0;
	printf("compared %" PRIu64 " programs in %.2f s: %.0f programs/s\n", passed + failed, dt,
	       dt > 0 ? (double)(passed + failed) / dt : 0.0);
	printf("%" PRIu64 " passed, %" PRIu64 " failed\n", passed, failed);
	free(p);
	free(o);
	return failed ? 1 : 0;
}
