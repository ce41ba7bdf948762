/*
 * test_walk_modes.c - the verifier walks a program the same way whatever
 * its log level.  Without -vv, precision tracking walks a history back
 * by its summaries, a segment at a time (src/verifier/precision.c,
 * walk_regs); with -vv it goes entry by entry, to print the kernel's
 * mark_precise lines.  Both must mark the same registers precise, so
 * the walks that follow (what is pruned, what is kept) are the same:
 * this test verifies every program of the loop suite (tests/loops, the
 * programs with the most precision work) at log levels 0 and 2 and
 * compares the verdict, the processed instructions and the states kept.
 * Programs walked past WALK_CAP instructions are compared at level 0
 * and 1 only (a -vv log of a million instructions takes minutes).
 *
 * A plain program: one line per failure, then "N passed, M failed".
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/instance.h"
#include "bpfvm/object.h"
#include "bpfvm/verifier.h"
#include "support/check.h"

#define WALK_CAP 200000

struct walk {
	int rc;
	bpfvm_verify_stats st;
	size_t log_bytes;
};

static void count_log(void *user, const char *text)
{
	*(size_t *)user += strlen(text);
}

static struct walk verify_at(const char *path, const char *prog, int level)
{
	struct walk w = { 0 };
	bpfvm_object *obj = NULL;
	bpfvm_error err = { 0 };
	if (bpfvm_object_open(path, &obj, &err)) {
		w.rc = err.code ? err.code : -1;
		return w;
	}
	BPFVM_OPTS(bpfvm_instance_opts, io, .only_prog = prog, .verify = true, .verify_stats = &w.st, .no_pins = true,
	           .verify_log_level = level, .verify_log = level ? count_log : NULL,
	           .verify_log_user = &w.log_bytes);
	bpfvm_instance *inst = NULL;
	w.rc = bpfvm_instance_new(obj, &io, &inst, &err);
	bpfvm_instance_free(inst);
	bpfvm_object_free(obj);
	return w;
}

static void compare(const char *prog, const struct walk *a, const struct walk *b, int level)
{
	CHECK(a->rc == b->rc && a->st.processed_insns == b->st.processed_insns &&
	      a->st.total_states == b->st.total_states && a->st.peak_states == b->st.peak_states &&
	      a->st.max_states_per_insn == b->st.max_states_per_insn,
	      "%s: level 0 and level %d walk differently: rc %d/%d, processed %llu/%llu, states %u/%u, peak %u/%u, "
	      "per insn %u/%u", prog, level, a->rc, b->rc, (unsigned long long)a->st.processed_insns,
	      (unsigned long long)b->st.processed_insns, a->st.total_states, b->st.total_states, a->st.peak_states,
	      b->st.peak_states, a->st.max_states_per_insn, b->st.max_states_per_insn);
	CHECK(b->log_bytes > 0, "%s: level %d logged nothing", prog, level);
}

int main(void)
{
	DIR *d = opendir(BPFVM_LOOPS_OBJ_DIR);
	if (!CHECK(d != NULL, "cannot open %s", BPFVM_LOOPS_OBJ_DIR))
		return 1;
	unsigned programs = 0, full = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 6, ".bpf.o"))
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", BPFVM_LOOPS_OBJ_DIR, de->d_name);
		bpfvm_object *obj = NULL;
		bpfvm_error err = { 0 };
		if (!CHECK(bpfvm_object_open(path, &obj, &err) == 0, "%s: %s", path, err.msg))
			continue;
		size_t n = bpfvm_object_prog_count(obj);
		for (size_t i = 0; i < n; i++) {
			const char *prog = bpfvm_object_prog_at(obj, i)->name;
			struct walk plain = verify_at(path, prog, 0);
			programs++;
			if (plain.st.processed_insns <= WALK_CAP) {
				struct walk verbose = verify_at(path, prog, 2);
				compare(prog, &plain, &verbose, 2);
				full++;
			} else {
				struct walk v1 = verify_at(path, prog, 1);
				compare(prog, &plain, &v1, 1);
			}
		}
		bpfvm_object_free(obj);
	}
	closedir(d);
	printf("%u programs, %u of them compared with -vv\n", programs, full);
	CHECK(programs >= 40 && full >= 25, "only %u programs (%u with -vv)", programs, full);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
