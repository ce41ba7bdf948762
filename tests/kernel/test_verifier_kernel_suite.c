/*
 * test_verifier_kernel_suite.c - the verifier's negative suite
 * (tests/verifier/negative/) holds the running kernel's verdicts: every
 * annotated program is loaded into the kernel (C objects through libbpf,
 * assembly through bpf(BPF_PROG_LOAD) as its "# type:" says) and must be
 * accepted or rejected as annotated, a rejection with the annotated text
 * in the verifier's log.  So the suite cannot drift from the kernel it
 * claims to describe.  Also checks that every program of the suite's
 * objects is annotated.  Skips (77) where bpf() is unavailable.
 */
#include <assert.h>

#include "bpfvm/bpfvm.h"
#include "support/check.h"
#include "support/kload.h"
#include "support/suite.h"

static_assert(sizeof(bpfvm_insn) == sizeof(struct bpf_insn), "bpfvm_insn is struct bpf_insn");

/* Every program of every C object has an annotation. */
static void check_all_annotated(const struct suite *s)
{
	for (size_t i = 0; i < s->count; i++) {
		const struct suite_case *c = &s->cases[i];
		if (c->is_asm || (i > 0 && !strcmp(s->cases[i - 1].file, c->file)))
			continue;
		char path[512];
		suite_obj_path(c, path, sizeof path);
		struct bpf_object *obj = bpf_object__open_file(path, NULL);
		CHECK(obj != NULL, "%s: cannot open %s (built by the verifier_negative target)", c->file, path);
		if (!obj)
			continue;
		struct bpf_program *prog;
		bpf_object__for_each_program(prog, obj) {
			bool found = false;
			for (size_t j = 0; j < s->count; j++)
				found |= !strcmp(s->cases[j].file, c->file) && !strcmp(s->cases[j].prog, bpf_program__name(prog));
			CHECK(found, "%s: program %s has no '// expect' annotation", c->file, bpf_program__name(prog));
		}
		bpf_object__close(obj);
	}
}

int main(void)
{
	kload_init();
	if (!kload_available()) {
		printf("SKIP: bpf() is not available to this process (%s); the kernel's verdicts cannot be checked\n",
		       strerror(errno));
		return 77;
	}
	struct suite s;
	if (suite_load(&s)) {
		printf("FAIL: %s\n", s.error);
		return 1;
	}
	check_all_annotated(&s);
	for (size_t i = 0; i < s.count; i++) {
		const struct suite_case *c = &s.cases[i];
		struct kload_result r;
		if (c->is_asm) {
			char *text = suite_asm_text(c);
			bpfvm_insn *insns = NULL;
			size_t count = 0;
			bpfvm_error err = { 0 };
			if (!text || bpfvm_asm(text, &insns, &count, &err)) {
				CHECK(0, "%s: cannot assemble: line %d: %s", c->file, err.line, err.msg);
				free(text);
				continue;
			}
			kload_insns(c->prog_type, (const struct bpf_insn *)insns, count, &r);
			free(insns);
			free(text);
		} else {
			char path[512];
			suite_obj_path(c, path, sizeof path);
			kload_object_prog(path, c->prog, 0, NULL, NULL, &r);
		}
		const char *want = c->expect_reject ? "reject" : "accept";
		bool ok = r.verdict == (c->expect_reject ? KLOAD_REJECT : KLOAD_ACCEPT) &&
		          (!c->expect_reject || strstr(r.log, c->msg));
		printf("%-4s %s %s: kernel %s%s%s%s\n", ok ? "ok" : "FAIL", c->file, c->prog, kload_verdict_names[r.verdict],
		       r.msg[0] ? " (" : "", r.msg, r.msg[0] ? ")" : "");
		CHECK(r.verdict != KLOAD_ERROR, "%s:%d %s: the program never reached the kernel's verifier: %s", c->file,
		      c->line, c->prog, r.msg);
		CHECK(r.verdict == KLOAD_ERROR || r.verdict == (c->expect_reject ? KLOAD_REJECT : KLOAD_ACCEPT),
		      "%s:%d %s: annotated %s, the kernel says %s", c->file, c->line, c->prog, want,
		      kload_verdict_names[r.verdict]);
		if (c->expect_reject && r.verdict == KLOAD_REJECT)
			CHECK(strstr(r.log, c->msg) != NULL, "%s:%d %s: the kernel's log lacks \"%s\":\n%s", c->file, c->line,
			      c->prog, c->msg, r.log);
	}
	size_t rejects = 0;
	for (size_t i = 0; i < s.count; i++)
		rejects += s.cases[i].expect_reject;
	printf("%zu programs (%zu rejected, %zu accepted)\n", s.count, rejects, s.count - rejects);
	suite_free(&s);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
