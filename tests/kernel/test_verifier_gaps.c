/*
 * test_verifier_gaps.c - the verifier's former differences from the
 * kernel's (issue 13's follow-ups): a lookup with a known key in an array
 * needs no null check (tests/verifier/negative/nullness.c), numbers
 * stored narrower than a stack slot are spilled and filled as the kernel
 * does (narrow_spill.c), a pointer compared with another is known not
 * NULL where the kernel knows it (null_compare.c), and stack bytes of a
 * kept state cover the current state's as the kernel's do
 * (stack_cover.c), and a kept state's dead stack slots are cleared as
 * the kernel's stack liveness clears them (stack_live.c), and a tail call
 * in a subprogram may return straight to its caller (tail_sub.c), and
 * global functions are verified on their own (global_func.c), and an
 * lddw of a map without a relocation is refused at load (map_fd_literal.c),
 * and the combined stack is counted as the kernel's JIT counts it
 * (stack_depth.c), and a map with a bpf_spin_lock is refused to tracing
 * programs and socket filters where an lddw names it, before the walk
 * (map_compat.c), and sleepable programs' rules (sleepable.c), and maps
 * whose values hold a bpf_timer or bpf_wq (timer_fields.c), and a write
 * to r10 is refused only where a path reaches it, one no path reaches
 * made a no-op before loading (dead_code.c), and global functions' `arg:` tags are combined as the
 * kernel allows (global_tags.c), and bpf_rdonly_cast's result is typed
 * as the kernel types it (rdonly_cast.c), and bpf_copy_from_user_str's
 * arguments are checked as the kernel checks them (copy_str.c).  The
 * negative suite's tests check each program's verdict and message
 * (test_verifier_kernel_suite against the kernel, test_verifier_suite
 * against bpfvm); this one checks that the walks are the same: for every
 * program of these objects, bpfvm's verdict and processed instructions
 * equal the running kernel's.  Prints one line per program.  Skips (77)
 * without bpf().
 */
#include <errno.h>
#include <inttypes.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/instance.h"
#include "bpfvm/object.h"
#include "bpfvm/verifier.h"
#include "support/check.h"
#include "support/kload.h"

static const char *const objects[] = { "nullness", "narrow_spill", "null_compare", "stack_cover", "stack_live",
                                       "tail_sub", "global_func", "map_fd_literal", "stack_depth",
                                       "map_compat", "sleepable", "timer_fields", "dead_code", "global_tags",
                                       "rdonly_cast", "copy_str" };

/* bpfvm's verdict (0: accepted) and processed count on one program. */
static int bpfvm_verdict(const char *path, const char *prog, uint64_t *processed, char *msg, size_t msg_size)
{
	bpfvm_object *obj = NULL;
	bpfvm_error err = { 0 };
	int rc = bpfvm_object_open(path, &obj, &err);
	if (!rc) {
		bpfvm_verify_stats st = { 0 };
		BPFVM_OPTS(bpfvm_instance_opts, io, .only_prog = prog, .verify = true, .verify_stats = &st,
		           .no_pins = true);
		bpfvm_instance *inst = NULL;
		rc = bpfvm_instance_new(obj, &io, &inst, &err);
		bpfvm_instance_free(inst);
		*processed = st.processed_insns;
	}
	bpfvm_object_free(obj);
	snprintf(msg, msg_size, "%.200s", rc ? err.msg : "");
	return rc;
}

static void compare_object(const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s.bpf.o", BPFVM_NEGATIVE_OBJ_DIR, name);
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!CHECK(obj != NULL, "%s: libbpf cannot open it (built by the verifier_negative target)", path))
		return;
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		const char *p = bpf_program__name(prog);
		struct kload_result k;
		kload_object_prog(path, p, 0, NULL, NULL, &k);
		CHECK(k.verdict != KLOAD_ERROR, "%s: the kernel gave no verdict: %s", p, k.msg);
		uint64_t processed = 0;
		char msg[256];
		int rc = bpfvm_verdict(path, p, &processed, msg, sizeof msg);
		bool kacc = k.verdict == KLOAD_ACCEPT;
		printf("%-28s kernel %-6s %5ld  bpfvm %-6s %5" PRIu64 "\n", p, kacc ? "accept" : "reject", k.processed,
		       rc ? "reject" : "accept", processed);
		CHECK((rc == 0) == kacc, "%s: kernel %s, bpfvm %s: %s", p, kacc ? "accepts" : "rejects",
		      rc ? "rejects" : "accepts", rc ? msg : k.msg);
		CHECK(k.processed == (long)processed, "%s: processed: kernel %ld, bpfvm %" PRIu64, p, k.processed,
		      processed);
	}
	bpf_object__close(obj);
}

int main(void)
{
	kload_init();
	if (!kload_available()) {
		printf("SKIP: bpf() is not available to this process (%s); the kernel's walks cannot be compared\n",
		       strerror(errno));
		return 77;
	}
	for (size_t i = 0; i < sizeof objects / sizeof objects[0]; i++)
		compare_object(objects[i]);
	return check_summary();
}
