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
 * Each walk is also compared with the one recorded in
 * tests/loops/walks.fingerprint (bench/verify_speed.c's --fingerprint:
 * verdict, processed instructions, states kept, peak states,
 * max_states_per_insn, and a hash of the -v and of the -vv log): a
 * change made for speed must leave every walk and every log line as it
 * was, and one that changes them on purpose regenerates the file
 * (bpfvm-verify-bench --fingerprint build/tests/loops > tests/loops/walks.fingerprint)
 * and says why in its commit.
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
#include "log_hash.h"
#include "support/check.h"

#define WALK_CAP 200000

struct walk {
	int rc;
	bpfvm_verify_stats st;
	size_t log_bytes;
	struct log_hash log;      /* as --fingerprint's */
};

static void count_log(void *user, const char *text)
{
	struct walk *w = user;
	w->log_bytes += strlen(text);
	log_hash_line(&w->log, text);
}

/* A line of walks.fingerprint: what a walk did when it was recorded. */
struct recorded {
	char object[64], prog[64];
	int rc;
	unsigned long long processed;
	unsigned total_states, peak_states, per_insn;
	unsigned long long v_hash, v_lines, vv_hash, vv_lines;
};

static struct recorded recorded[256];
static size_t recorded_count;

static void load_recorded(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!CHECK(f != NULL, "cannot open %s", path))
		return;
	char line[2048];
	while (fgets(line, sizeof line, f) && recorded_count < sizeof recorded / sizeof recorded[0]) {
		struct recorded *r = &recorded[recorded_count];
		if (CHECK(sscanf(line, "%63[^\t]\t%63[^\t]\t%d\t%llu\t%u\t%u\t%u\t%llx\t%llu\t%llx\t%llu", r->object,
		                 r->prog, &r->rc, &r->processed, &r->total_states, &r->peak_states, &r->per_insn,
		                 &r->v_hash, &r->v_lines, &r->vv_hash, &r->vv_lines) == 11,
		          "%s: a line that is no fingerprint: %.80s", path, line))
			recorded_count++;
	}
	fclose(f);
}

static const struct recorded *find_recorded(const char *object, const char *prog)
{
	for (size_t i = 0; i < recorded_count; i++)
		if (!strcmp(recorded[i].object, object) && !strcmp(recorded[i].prog, prog))
			return &recorded[i];
	return NULL;
}

/* The walk at level 0 and the log of the one at `level` against the
 * recorded ones. */
static void compare_recorded(const char *object, const char *prog, const struct walk *plain, const struct walk *logged,
                             int level)
{
	const struct recorded *r = find_recorded(object, prog);
	if (!CHECK(r != NULL, "%s: %s is not in walks.fingerprint (regenerate it)", object, prog))
		return;
	CHECK(plain->rc == r->rc && plain->st.processed_insns == r->processed &&
	      plain->st.total_states == r->total_states && plain->st.peak_states == r->peak_states &&
	      plain->st.max_states_per_insn == r->per_insn,
	      "%s: the walk differs from the recorded one: rc %d/%d, processed %llu/%llu, states %u/%u, peak %u/%u, "
	      "per insn %u/%u", prog, plain->rc, r->rc, (unsigned long long)plain->st.processed_insns, r->processed,
	      plain->st.total_states, r->total_states, plain->st.peak_states, r->peak_states,
	      plain->st.max_states_per_insn, r->per_insn);
	unsigned long long hash = level == 2 ? r->vv_hash : r->v_hash, lines = level == 2 ? r->vv_lines : r->v_lines;
	CHECK(logged->log.h == hash && logged->log.lines == lines,
	      "%s: the -v%s log differs from the recorded one (%llu lines, recorded %llu)", prog, level == 2 ? "v" : "",
	      (unsigned long long)logged->log.lines, lines);
}

static struct walk verify_at(const char *path, const char *prog, int level)
{
	struct walk w = { 0 };
	log_hash_init(&w.log);
	bpfvm_object *obj = NULL;
	bpfvm_error err = { 0 };
	if (bpfvm_object_open(path, &obj, &err)) {
		w.rc = err.code ? err.code : -1;
		return w;
	}
	BPFVM_OPTS(bpfvm_instance_opts, io, .only_prog = prog, .verify = true, .verify_stats = &w.st, .no_pins = true,
	           .verify_log_level = level, .verify_log = level ? count_log : NULL, .verify_log_user = &w);
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
	load_recorded(BPFVM_LOOPS_WALKS);
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
				compare_recorded(de->d_name, prog, &plain, &verbose, 2);
				full++;
			} else {
				struct walk v1 = verify_at(path, prog, 1);
				compare(prog, &plain, &v1, 1);
				compare_recorded(de->d_name, prog, &plain, &v1, 1);
			}
		}
		bpfvm_object_free(obj);
	}
	closedir(d);
	printf("%u programs, %u of them compared with -vv; %zu walks recorded\n", programs, full, recorded_count);
	CHECK(programs >= 40 && full >= 25, "only %u programs (%u with -vv)", programs, full);
	CHECK(recorded_count == programs, "walks.fingerprint records %zu walks, the suite has %u programs (regenerate it)",
	      recorded_count, programs);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
