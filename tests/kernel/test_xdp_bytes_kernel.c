/*
 * test_xdp_bytes_kernel.c - the XDP helpers that read, write and move a
 * frame's bytes against the running kernel's (issue 15, item 3):
 * bpf_xdp_load_bytes and bpf_xdp_store_bytes over offsets and lengths at
 * and around the packet's ends and the helpers' 0xffff limit, and
 * bpf_xdp_adjust_head, _tail and _meta over deltas around every limit, and
 * test runs whose ctx_in asks for metadata of every size around the limit.
 *
 * Owns: the comparisons.  Each program runs in BPF_PROG_TEST_RUN and in
 * bpfvm's test run (interpreter, checked) on the same packet; the return
 * value, the bytes a load copied out (folded into the return value by a
 * second program) and the packet out (data_out, its size) must be equal.
 *
 * Output: one FAIL line per mismatch, then "N passed, M failed".  Exit 77
 * if bpf() cannot load an XDP program here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "support/check.h"
#include "support/kbpf.h"

static void put_imm64(struct kcode *c, uint8_t reg, uint64_t v)
{
	kput(c, BPF_LD | BPF_DW | BPF_IMM, reg, 0, 0, (int32_t)(uint32_t)v);
	kput(c, 0, 0, 0, 0, (int32_t)(uint32_t)(v >> 32));
}

struct result {
	int rc;                 /* of the load or the run */
	uint32_t retval;
	uint8_t out[4096];
	uint32_t out_size;
};

static void packet(uint8_t *pkt, uint32_t size)
{
	for (uint32_t i = 0; i < size; i++)
		pkt[i] = (uint8_t)(i * 7 + 1);
}

static void krun(const struct kcode *c, uint32_t size, struct result *r)
{
	memset(r, 0, sizeof *r);
	int fd = kprog_load(BPF_PROG_TYPE_XDP, c->i, c->n);
	if (fd < 0) {
		r->rc = fd;
		return;
	}
	uint8_t pkt[4096];
	packet(pkt, size);
	r->rc = kprog_test_run(fd, pkt, size, r->out, sizeof r->out, &r->out_size, &r->retval);
	close(fd);
}

static bpfvm_helpers *helpers;

static void brun(const struct kcode *c, uint32_t size, struct result *r)
{
	memset(r, 0, sizeof *r);
	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = helpers, .prog_type = BPF_PROG_TYPE_XDP);
	bpfvm_program *prog = NULL;
	bpfvm_error err;
	r->rc = bpfvm_program_load((const bpfvm_insn *)c->i, c->n, &lo, &prog, &err);
	if (r->rc)
		return;
	uint8_t pkt[4096];
	packet(pkt, size);
	BPFVM_OPTS(bpfvm_test_run, t, .data_in = pkt, .data_size_in = size, .data_out = r->out,
	           .data_size_out = sizeof r->out, .mode = BPFVM_CHECKED);
	r->rc = bpfvm_program_test_run(prog, &t, &err);
	if (r->rc)
		printf("note: bpfvm run: %s\n", err.msg);
	r->retval = (uint32_t)t.retval;
	r->out_size = t.data_size_out;
	bpfvm_program_free(prog);
}

static void compare(const struct kcode *c, uint32_t size, const char *what)
{
	static struct result k, b;
	krun(c, size, &k);
	brun(c, size, &b);
	CHECK(k.rc == 0 && b.rc == 0 && k.retval == b.retval && k.out_size == b.out_size &&
	      memcmp(k.out, b.out, k.out_size < sizeof k.out ? k.out_size : sizeof k.out) == 0,
	      "%s on %u bytes: kernel rc %d ret %d out %u bytes, bpfvm rc %d ret %d out %u bytes%s", what, size, k.rc,
	      (int)k.retval, k.out_size, b.rc, (int)b.retval, b.out_size,
	      k.retval == b.retval && k.out_size == b.out_size && k.rc == 0 && b.rc == 0 ? " (bytes differ)" : "");
}

/* fp-64..fp-1 filled with 0x5a, then bpf_xdp_load_bytes(ctx, off, fp-64,
 * len) or bpf_xdp_store_bytes; r0 is the helper's result, or with fold the
 * xor of the buffer's words after it (what a load copied). */
static void build_bytes(struct kcode *c, int helper, uint32_t off, uint32_t len, bool fold)
{
	c->n = 0;
	kput(c, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0);
	put_imm64(c, BPF_REG_7, 0x5a5a5a5a5a5a5a5aull);
	for (int16_t o = -64; o < 0; o += 8)
		kput(c, BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_7, o, 0);
	kput(c, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_6, 0, 0);
	put_imm64(c, BPF_REG_2, off);
	kput(c, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_10, 0, 0);
	kput(c, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, -64);
	kput(c, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, (int32_t)len);
	kput(c, BPF_JMP | BPF_CALL, 0, 0, 0, helper);
	if (fold) {
		kput(c, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
		for (int16_t o = -64; o < 0; o += 8) {
			kput(c, BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_10, o, 0);
			kput(c, BPF_ALU64 | BPF_XOR | BPF_X, BPF_REG_0, BPF_REG_1, 0, 0);
		}
		kput(c, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_0, 0, 0);
		kput(c, BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_1, 0, 0, 32);
		kput(c, BPF_ALU64 | BPF_XOR | BPF_X, BPF_REG_0, BPF_REG_1, 0, 0);
	}
	kput(c, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static void test_load_store(void)
{
	static const uint32_t sizes[] = { 14, 64, 1500 };
	static const uint32_t offs[] = { 0, 1, 13, 14, 50, 60, 63, 64, 65, 1490, 1499, 1500, 0xffff, 0x10000,
		                         0xfffffff0u, 0xffffffffu };
	static const uint32_t lens[] = { 1, 2, 4, 8, 13, 14, 15, 64 };
	for (size_t s = 0; s < 3; s++)
		for (size_t o = 0; o < sizeof offs / sizeof offs[0]; o++)
			for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
				char what[96];
				struct kcode c;
				snprintf(what, sizeof what, "xdp_load_bytes(off %u, len %u)", offs[o], lens[l]);
				build_bytes(&c, BPF_FUNC_xdp_load_bytes, offs[o], lens[l], false);
				compare(&c, sizes[s], what);
				snprintf(what, sizeof what, "xdp_load_bytes(off %u, len %u), bytes copied", offs[o], lens[l]);
				build_bytes(&c, BPF_FUNC_xdp_load_bytes, offs[o], lens[l], true);
				compare(&c, sizes[s], what);
				snprintf(what, sizeof what, "xdp_store_bytes(off %u, len %u)", offs[o], lens[l]);
				build_bytes(&c, BPF_FUNC_xdp_store_bytes, offs[o], lens[l], false);
				compare(&c, sizes[s], what);
			}
}

/* r0 = helper(ctx, delta), then 2 (XDP_PASS) if it succeeded. */
static void build_adjust(struct kcode *c, int helper, int32_t delta)
{
	c->n = 0;
	kput(c, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, delta);
	kput(c, BPF_JMP | BPF_CALL, 0, 0, 0, helper);
	kput(c, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 1, 0);
	kput(c, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 2);
	kput(c, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static void test_adjust(void)
{
	static const uint32_t sizes[] = { 14, 15, 64, 3000 };
	static const int32_t deltas[] = { -300, -257, -256, -255, -216, -215, -40, -33, -32, -31, -4, -3, -1, 0, 1, 3, 4,
		                          14, 49, 50, 51, 100, 500, 520, 1000, 3000 };
	static const struct { int id; const char *name; } helpers_[] = {
		{ BPF_FUNC_xdp_adjust_head, "xdp_adjust_head" },
		{ BPF_FUNC_xdp_adjust_tail, "xdp_adjust_tail" },
		{ BPF_FUNC_xdp_adjust_meta, "xdp_adjust_meta" },
	};
	for (size_t h = 0; h < 3; h++)
		for (size_t s = 0; s < 4; s++)
			for (size_t d = 0; d < sizeof deltas / sizeof deltas[0]; d++) {
				char what[64];
				struct kcode c;
				snprintf(what, sizeof what, "%s(%d)", helpers_[h].name, deltas[d]);
				build_adjust(&c, helpers_[h].id, deltas[d]);
				compare(&c, sizes[s], what);
			}
}

/* A test run whose ctx_in puts `meta` bytes of metadata before the data:
 * accepted up to the headroom above struct xdp_frame (216), 4-aligned. */
static void test_ctx_meta(void)
{
	static const uint32_t metas[] = { 0, 4, 6, 32, 36, 64, 212, 216, 220, 252, 256 };
	struct kcode c = { .n = 0 };
	build_adjust(&c, BPF_FUNC_xdp_adjust_meta, 0);
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.prog_type = BPF_PROG_TYPE_XDP;
	a.insns = (uint64_t)(uintptr_t)c.i;
	a.insn_cnt = (uint32_t)c.n;
	a.license = (uint64_t)(uintptr_t)"GPL";
	int fd = kbpf(BPF_PROG_LOAD, &a);
	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = helpers, .prog_type = BPF_PROG_TYPE_XDP);
	bpfvm_program *prog = NULL;
	bpfvm_error err;
	if (!CHECK(fd >= 0 && bpfvm_program_load((const bpfvm_insn *)c.i, c.n, &lo, &prog, &err) == 0, "load"))
		return;
	uint8_t pkt[300];
	packet(pkt, sizeof pkt);
	for (size_t i = 0; i < sizeof metas / sizeof metas[0]; i++) {
		struct xdp_md ctx = { .data = metas[i], .data_end = sizeof pkt };
		static uint8_t kout[512], bout[512];
		memset(&a, 0, sizeof a);
		a.test.prog_fd = (uint32_t)fd;
		a.test.data_in = (uint64_t)(uintptr_t)pkt;
		a.test.data_size_in = sizeof pkt;
		a.test.data_out = (uint64_t)(uintptr_t)kout;
		a.test.data_size_out = sizeof kout;
		a.test.ctx_in = (uint64_t)(uintptr_t)&ctx;
		a.test.ctx_size_in = sizeof ctx;
		a.test.repeat = 1;
		int k = kbpf(BPF_PROG_TEST_RUN, &a);
		BPFVM_OPTS(bpfvm_test_run, t, .data_in = pkt, .data_size_in = sizeof pkt, .data_out = bout,
		           .data_size_out = sizeof bout, .ctx_in = &ctx, .ctx_size_in = sizeof ctx, .mode = BPFVM_CHECKED);
		int b = bpfvm_program_test_run(prog, &t, &err);
		CHECK(k == b && (k || (a.test.retval == t.retval && a.test.data_size_out == t.data_size_out &&
		                       memcmp(kout, bout, t.data_size_out) == 0)),
		      "ctx_in with %u bytes of metadata: kernel %d ret %u, bpfvm %d ret %u (%s)", metas[i], k,
		      a.test.retval, b, (uint32_t)t.retval, b ? err.msg : "");
	}
	bpfvm_program_free(prog);
	close(fd);
}

int main(void)
{
	struct kcode probe = { .n = 0 };
	kput(&probe, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 2);
	kput(&probe, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	struct result r;
	krun(&probe, 64, &r);
	if (r.rc < 0) {
		printf("skipped: the kernel cannot test-run an XDP program here (%s)\n", strerror(-r.rc));
		return 77;
	}
	bpfvm_error err;
	helpers = bpfvm_helpers_new_kernel(&err);
	if (!helpers) {
		printf("FAIL helper table: %s\n", err.msg);
		return 1;
	}
	test_load_store();
	test_adjust();
	test_ctx_meta();
	bpfvm_helpers_free(helpers);
	return check_summary();
}
