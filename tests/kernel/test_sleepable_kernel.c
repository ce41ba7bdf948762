/*
 * test_sleepable_kernel.c - which program types may be sleepable, and
 * which may call a helper that may sleep, against the running kernel:
 * bare instruction programs loaded with and without BPF_F_SLEEPABLE into
 * the kernel (bpf(BPF_PROG_LOAD)) and verified by bpfvm_verify() with
 * bpfvm_verify_opts.sleepable, for each program type bpfvm models.  The
 * verdicts, the processed counts and the messages (the kernel's last
 * verifier line inside bpfvm's) must be the same.  The object side (the
 * .s sections, map types, map-value fields) is the negative suite's
 * sleepable.c and timer_fields.c (test_verifier_gaps).  Skips (77)
 * without bpf().
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/helpers.h"
#include "bpfvm/verifier.h"
#include "support/check.h"
#include "support/kload.h"

/* bpf_copy_from_user(r10 - 8, 8, 0); r0 = 0; exit */
static const struct bpf_insn copy_prog[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = 1, .src_reg = 10 },
	{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = 1, .imm = -8 },
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 2, .imm = 8 },
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 3, .imm = 0 },
	{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_copy_from_user },
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
	{ .code = BPF_JMP | BPF_EXIT },
};

/* r0 = 0; exit */
static const struct bpf_insn plain_prog[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
	{ .code = BPF_JMP | BPF_EXIT },
};

static void compare(const char *what, uint32_t type, bool sleepable, const struct bpf_insn *insns, size_t count,
                    bpfvm_helpers *helpers)
{
	struct kload_result k;
	kload_insns_flags(type, sleepable ? BPF_F_SLEEPABLE : 0, insns, count, &k);
	bpfvm_verify_stats st = { 0 };
	bpfvm_error err = { 0 };
	BPFVM_OPTS(bpfvm_verify_opts, vo, .prog_type = type, .helpers = helpers, .sleepable = sleepable,
	           .license = "GPL", .mem_size = 0);
	int rc = bpfvm_verify((const bpfvm_insn *)insns, count, &vo, &st, &err);
	bool kacc = k.verdict == KLOAD_ACCEPT;
	const char *name = bpfvm_prog_type_name(type);
	printf("%-16s %-5s %-10s kernel %-6s %3ld  bpfvm %-6s %3" PRIu64 "  %s\n", name, what,
	       sleepable ? "sleepable" : "", kacc ? "accept" : "reject", k.processed, rc ? "reject" : "accept",
	       st.processed_insns, kacc ? "" : k.msg);
	CHECK(k.verdict != KLOAD_ERROR, "%s %s: the kernel gave no verdict: %s", name, what, k.msg);
	CHECK((rc == 0) == kacc, "%s %s%s: kernel %s, bpfvm %s: %s", name, what, sleepable ? " sleepable" : "",
	      kacc ? "accepts" : "rejects", rc ? "rejects" : "accepts", rc ? err.msg : k.msg);
	if (!kacc && rc)
		CHECK(strstr(err.msg, k.msg) != NULL, "%s %s: kernel '%s', bpfvm '%s'", name, what, k.msg, err.msg);
	CHECK(k.processed == (long)st.processed_insns, "%s %s: processed: kernel %ld, bpfvm %" PRIu64, name, what,
	      k.processed, st.processed_insns);
}

int main(void)
{
	kload_init();
	if (!kload_available()) {
		printf("SKIP: bpf() is not available to this process (%s); the kernel's rules cannot be compared\n",
		       strerror(errno));
		return 77;
	}
	bpfvm_error err = { 0 };
	bpfvm_helpers *helpers = bpfvm_helpers_new_kernel(&err);
	if (!CHECK(helpers != NULL, "helpers: %s", err.msg))
		return check_summary();
	static const uint32_t types[] = {
		BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_KPROBE, BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_SCHED_ACT,
		BPF_PROG_TYPE_TRACEPOINT, BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_RAW_TRACEPOINT,
	};
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
		for (int s = 0; s < 2; s++) {
			compare("plain", types[t], s, plain_prog, sizeof plain_prog / sizeof plain_prog[0], helpers);
			compare("copy", types[t], s, copy_prog, sizeof copy_prog / sizeof copy_prog[0], helpers);
		}
	bpfvm_helpers_free(helpers);
	return check_summary();
}
