/*
 * kernel.c - the kernel's JIT as a column of bpfvm-bench.
 *
 * Owns: wrapping a benchmark body into an XDP program, loading it with
 * the raw bpf() syscall (no libbpf), getting the verifier's reason when it
 * refuses, and timing one run with BPF_PROG_TEST_RUN.
 *
 * The kernel gives an XDP program a context, not (mem, len), so a small
 * wrapper sits in front of the unchanged body, which becomes a bpf-to-bpf
 * subprogram:
 *
 *	r2 = ctx->data_end; r1 = ctx->data
 *	if data + LEN > data_end: return XDP_ABORTED
 *	r6 = data; r3 = data_end; r2 = LEN
 *	call body                            r6 survives the call
 *	*(u64 *)data = r0; return XDP_PASS
 *
 * LEN is the benchmark's input length as a constant, checked against the
 * packet before the body runs: the verifier can then prove accesses whose
 * index it can bound against LEN, where an unknown data_end - data would
 * give it nothing to compare with.  r3 = data_end is the body's `end`
 * (bench_prog.h): a packet pointer plus a variable offset loses its
 * proven range, and only a test against data_end gives one back.  The
 * body still runs on exactly the bytes, length and end bpfvm and native
 * code get (for them end is mem + len).  BPF_PROG_TEST_RUN returns
 * only a 32-bit retval, so the wrapper stores the full r0 in the packet
 * and the runner reads it back from data_out.
 *
 * A hazard, and why this column is opt-in (--kernel): the verifier of
 * Linux 6.18.44 (this machine's) oopsed, NULL pointer dereference in
 * maybe_fork_scalars(), loading the crc32 benchmark.  AND/OR of a scalar
 * known to be 0 or -1 (the mask idiom `-(x & 1) & K`) forks the
 * verifier's state; when more than 8192 states are pending, push_stack()
 * fails and returns NULL, which that backport tests with IS_ERR() only.
 * So kernel_load() looks for the idiom first (a NEG, an arithmetic
 * shift by 31/63, or a 0/1 value minus one, feeding an AND or OR within
 * four instructions) and does not hand such a body to the kernel.  The
 * benchmarks are written without it (crc32 and collatz multiply by the
 * low bit instead), so the screen is a guard against a future program;
 * and they are shaped so that the verifier's walk stays within its
 * limits (README.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "bench.h"

#define WRAP_INSNS KERNEL_WRAP_INSNS
#define LOG_BYTES (1u << 16)

/* Instruction i makes 0 or 1 out of its destination: `&= 1`, or a
 * logical shift right by 31 (32-bit) or 63. */
static int makes_bit(const struct bpf_insn *q)
{
	uint8_t cls = BPF_CLASS(q->code), op = BPF_OP(q->code);
	if ((cls != BPF_ALU && cls != BPF_ALU64) || BPF_SRC(q->code) != BPF_K)
		return 0;
	return (op == BPF_AND && q->imm == 1) || (op == BPF_RSH && q->imm == (cls == BPF_ALU64 ? 63 : 31));
}

/* Instruction i may leave a 0/-1 scalar in its destination: NEG, an
 * arithmetic shift right by 31/63, or `+= -1` / `-= 1` of a register one
 * of the four instructions before made 0 or 1. */
static int makes_mask(const struct bpf_insn *p, size_t i)
{
	uint8_t cls = BPF_CLASS(p[i].code), op = BPF_OP(p[i].code);
	if (cls != BPF_ALU && cls != BPF_ALU64)
		return 0;
	int shift = cls == BPF_ALU64 ? 63 : 31;
	if (op == BPF_NEG || (op == BPF_ARSH && BPF_SRC(p[i].code) == BPF_K && p[i].imm == shift))
		return 1;
	if (BPF_SRC(p[i].code) != BPF_K ||
	    !((op == BPF_ADD && p[i].imm == -1) || (op == BPF_SUB && p[i].imm == 1)))
		return 0;
	for (size_t k = i >= 4 ? i - 4 : 0; k < i; k++)
		if (p[k].dst_reg == p[i].dst_reg && makes_bit(&p[k]))
			return 1;
	return 0;
}

/* The mask idiom of the header comment, at the instruction it returns
 * through *at.  A heuristic: it catches what clang emits for branch-free
 * selects, not every way to make a 0/-1 scalar. */
static int has_mask_idiom(const struct bpf_insn *p, size_t n, size_t *at)
{
	for (size_t i = 0; i < n; i++) {
		if (!makes_mask(p, i))
			continue;
		for (size_t j = i + 1; j < n && j <= i + 4; j++) {
			uint8_t c2 = BPF_CLASS(p[j].code), op2 = BPF_OP(p[j].code);
			if ((c2 != BPF_ALU && c2 != BPF_ALU64) || (op2 != BPF_AND && op2 != BPF_OR))
				continue;
			if (p[j].dst_reg == p[i].dst_reg ||
			    (BPF_SRC(p[j].code) == BPF_X && p[j].src_reg == p[i].dst_reg)) {
				*at = i;
				return 1;
			}
		}
	}
	return 0;
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

/* The wrapper of the header comment; `len` fits in an imm (<= 3520). */
static void build_wrapper(struct bpf_insn *w, uint32_t len)
{
	int32_t l = (int32_t)len;
	w[0] = insn(BPF_LDX | BPF_W | BPF_MEM, 2, 1, offsetof(struct xdp_md, data_end), 0);
	w[1] = insn(BPF_LDX | BPF_W | BPF_MEM, 1, 1, offsetof(struct xdp_md, data), 0);
	w[2] = insn(BPF_ALU64 | BPF_MOV | BPF_X, 3, 1, 0, 0);
	w[3] = insn(BPF_ALU64 | BPF_ADD | BPF_K, 3, 0, 0, l);
	w[4] = insn(BPF_JMP | BPF_JGT | BPF_X, 3, 2, 12 - 4 - 1, 0);     /* to 12 */
	w[5] = insn(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0);
	w[6] = insn(BPF_ALU64 | BPF_MOV | BPF_X, 3, 2, 0, 0);
	w[7] = insn(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, l);
	w[8] = insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, WRAP_INSNS - 8 - 1);
	w[9] = insn(BPF_STX | BPF_DW | BPF_MEM, 6, 0, 0, 0);
	w[10] = insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_PASS);
	w[11] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	w[12] = insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_ABORTED);
	w[13] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

void *kernel_wrap(const void *insns, size_t count, uint32_t len, size_t *total)
{
	struct bpf_insn *prog = calloc(WRAP_INSNS + count, sizeof *prog);
	if (!prog)
		return NULL;
	build_wrapper(prog, len);
	memcpy(prog + WRAP_INSNS, insns, count * sizeof *prog);
	*total = WRAP_INSNS + count;
	return prog;
}

/* The verifier's log ends "<reason>\nprocessed N insns (limit ...) ...\n";
 * keep the reason and the count.  Without that shape, the last line. */
static void log_reason(const char *log, char *out, size_t outlen)
{
	const char *lines[64];
	size_t n = 0;
	const char *p = log;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l) {
			if (n == 64) {
				memmove(lines, lines + 1, sizeof lines - sizeof lines[0]);
				n--;
			}
			lines[n++] = p;
		}
		p += l + (e ? 1 : 0);
	}
	int processed = -1;
	for (int i = (int)n - 1; i >= 0; i--)
		if (strncmp(lines[i], "processed ", 10) == 0) {
			processed = i;
			break;
		}
	const char *reason = processed > 0 ? lines[processed - 1] : n ? lines[n - 1] : "empty log";
	size_t rl = strcspn(reason, "\n");
	if (processed >= 0) {
		size_t pl = strcspn(lines[processed], "(\n");
		while (pl && lines[processed][pl - 1] == ' ')
			pl--;
		snprintf(out, outlen, "%.*s; %.*s", (int)rl, reason, (int)pl, lines[processed]);
	} else {
		snprintf(out, outlen, "%.*s", (int)rl, reason);
	}
}

static int load(const struct bpf_insn *prog, size_t count, char *log, uint32_t log_size)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.prog_type = BPF_PROG_TYPE_XDP;
	a.insns = (uint64_t)(uintptr_t)prog;
	a.insn_cnt = (uint32_t)count;
	a.license = (uint64_t)(uintptr_t)"GPL";
	if (log) {
		/* Level 1 without BPF_LOG_FIXED: the kernel keeps the log's
		 * tail, which is where the reason is. */
		log[0] = 0;
		a.log_level = 1;
		a.log_buf = (uint64_t)(uintptr_t)log;
		a.log_size = log_size;
	}
	snprintf(a.prog_name, sizeof a.prog_name, "bpfvm_bench");
	return (int)sys_bpf(BPF_PROG_LOAD, &a);
}

enum kernel_status kernel_load(const void *insns, size_t count, uint32_t len, struct kernel_prog *kp)
{
	memset(kp, 0, sizeof *kp);
	kp->fd = -1;
	kp->len = len;
	if (len < 8 || len > 0x7fffffff) {
		kp->status = KERNEL_UNAVAILABLE;
		snprintf(kp->detail, sizeof kp->detail, "input of %u bytes cannot hold the 8-byte result", len);
		return kp->status;
	}
	size_t total;
	struct bpf_insn *prog = kernel_wrap(insns, count, len, &total);
	if (!prog) {
		kp->status = KERNEL_UNAVAILABLE;
		snprintf(kp->detail, sizeof kp->detail, "out of memory");
		return kp->status;
	}
	size_t at;
	if (has_mask_idiom(prog + WRAP_INSNS, count, &at)) {
		kp->status = KERNEL_UNAVAILABLE;
		snprintf(kp->detail, sizeof kp->detail,
		         "not loaded: 0/-1 mask idiom at insn %zu can oops this kernel's verifier "
		         "(maybe_fork_scalars); see bench/kernel.c", at);
		free(prog);
		return kp->status;
	}

	/* First without a log: logging every instruction of a verification
	 * that walks a loop to its end costs far more than the verification. */
	int fd = load(prog, WRAP_INSNS + count, NULL, 0);
	if (fd >= 0) {
		kp->fd = fd;
		kp->status = KERNEL_OK;
		struct bpf_prog_info info;
		union bpf_attr a;
		memset(&info, 0, sizeof info);
		memset(&a, 0, sizeof a);
		a.info.bpf_fd = (uint32_t)fd;
		a.info.info_len = sizeof info;
		a.info.info = (uint64_t)(uintptr_t)&info;
		if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) == 0) {
			kp->jited_len = info.jited_prog_len;
			kp->xlated_insns = info.xlated_prog_len / (uint32_t)sizeof(struct bpf_insn);
			kp->verified_insns = info.verified_insns;
		}
		free(prog);
		return kp->status;
	}
	int e = errno;
	if (e == EPERM || e == ENOSYS) {
		kp->status = KERNEL_UNAVAILABLE;
		snprintf(kp->detail, sizeof kp->detail, "bpf(BPF_PROG_LOAD): %s", strerror(e));
		free(prog);
		return kp->status;
	}
	char *log = malloc(LOG_BYTES);
	if (log) {
		fd = load(prog, WRAP_INSNS + count, log, LOG_BYTES);
		if (fd >= 0) {
			/* Accepted with a log after refusing without one: not
			 * expected, but a program is a program. */
			close(fd);
			snprintf(kp->detail, sizeof kp->detail, "refused, then accepted with a log (%s)", strerror(e));
		} else if (log[0]) {
			log_reason(log, kp->detail, sizeof kp->detail);
		} else {
			snprintf(kp->detail, sizeof kp->detail, "%s, no log", strerror(errno));
		}
		free(log);
	} else {
		snprintf(kp->detail, sizeof kp->detail, "%s", strerror(e));
	}
	kp->status = KERNEL_REJECTED;
	free(prog);
	return kp->status;
}

int kernel_run(struct kernel_prog *kp, const void *in, uint64_t *r0, uint64_t *ns)
{
	unsigned char out[4096];
	if (kp->status != KERNEL_OK)
		return -1;
	if (kp->len > sizeof out) {
		kp->status = KERNEL_FAILED;
		snprintf(kp->detail, sizeof kp->detail, "input of %u bytes is larger than an XDP test packet", kp->len);
		return -1;
	}
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.test.prog_fd = (uint32_t)kp->fd;
	a.test.data_in = (uint64_t)(uintptr_t)in;
	a.test.data_size_in = kp->len;
	a.test.data_out = (uint64_t)(uintptr_t)out;
	a.test.data_size_out = sizeof out;
	a.test.repeat = 1;
	if (sys_bpf(BPF_PROG_TEST_RUN, &a) != 0) {
		kp->status = KERNEL_FAILED;
		snprintf(kp->detail, sizeof kp->detail, "BPF_PROG_TEST_RUN: %s", strerror(errno));
		return -1;
	}
	if (a.test.retval != XDP_PASS || a.test.data_size_out < 8) {
		kp->status = KERNEL_FAILED;
		snprintf(kp->detail, sizeof kp->detail, "test run returned %u with %u bytes out (wrapper's bounds check failed?)",
		         a.test.retval, a.test.data_size_out);
		return -1;
	}
	memcpy(r0, out, 8);
	*ns = a.test.duration;
	return 0;
}

int kernel_jited_image(const struct kernel_prog *kp, void *buf, uint32_t size, uint32_t *func_lens,
                       uint32_t max_funcs, uint32_t *nfuncs)
{
	if (kp->status != KERNEL_OK || kp->fd < 0)
		return -1;
	struct bpf_prog_info info;
	union bpf_attr a;
	memset(&info, 0, sizeof info);
	info.jited_prog_len = size;
	info.jited_prog_insns = (uint64_t)(uintptr_t)buf;
	info.nr_jited_func_lens = max_funcs;
	info.jited_func_lens = (uint64_t)(uintptr_t)func_lens;
	memset(&a, 0, sizeof a);
	a.info.bpf_fd = (uint32_t)kp->fd;
	a.info.info_len = sizeof info;
	a.info.info = (uint64_t)(uintptr_t)&info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) != 0)
		return -1;
	*nfuncs = info.nr_jited_func_lens < max_funcs ? info.nr_jited_func_lens : max_funcs;
	return info.jited_prog_len <= size ? (int)info.jited_prog_len : -1;
}

void kernel_close(struct kernel_prog *kp)
{
	if (kp->fd >= 0)
		close(kp->fd);
	kp->fd = -1;
}
