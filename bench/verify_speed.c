/*
 * verify_speed.c - bpfvm-verify-bench: how fast the verifier proves
 * programs, over clang objects given on the command line (the examples,
 * the loop suite, the kernel's verifier selftests built by
 * scripts/verifier-selftests.sh).
 *
 * Owns: the measurement.  Each program the verifier accepts (with --all,
 * rejects too: the loop suite's slow ones are walked to the 1M limit) is
 * verified again and again for at least --min-ms milliseconds (the maps
 * are made once per object, so only verification is timed:
 * bpfvm_verify_stats' own clock); the figure is instructions processed
 * per second, per program (with its mean and fastest run) and over all of
 * them (total instructions / total time), plus the geometric mean of a
 * program's time.  Programs not supported, or rejected without --all, are
 * counted and left out.
 *
 * And --first N: each program verified once in each of N processes of
 * its own, forked before any verification, as test_loops' "bpfvm ms" is
 * the first verification of a program in its process (fresh memory for
 * the arena, nothing of the program's walk in the caches): the median
 * and the best of the N.
 *
 * And --fingerprint: what the walk did on each program, for checking that
 * a change made for speed leaves the walk as it was: the verdict and its
 * message, processed instructions, states kept, peak states,
 * max_states_per_insn, and hashes of the -v log (every instruction
 * walked, every pruning, in order) and of the -vv log (with each state
 * and mark_precise step; log_hash.h), one line each, to diff.
 * tests/loops/walks.fingerprint holds the loop suite's, which
 * test_walk_modes compares with.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpfvm/instance.h"
#include "bpfvm/verifier.h"
#include "log_hash.h"

struct totals {
	uint64_t insns, ns;
	double log_ns_sum;
	unsigned accepted, rejected, unsupported;
};

/* What the command line asks for. */
struct mode {
	uint64_t min_ns;
	unsigned runs;     /* exactly this many timed runs (0: until min_ns) */
	bool verbose;
	bool all;          /* time rejected programs too */
	bool fingerprint;  /* print what the walk did instead of timing it */
	unsigned first;    /* time first verifications in this many processes */
	const char *only;  /* only the program of this name */
};

/* One verification of program `name` of obj: its return code; *st its
 * statistics. */
static int verify_once(const bpfvm_object *obj, const char *name, int log_level, bpfvm_log_fn log, void *user,
                       bpfvm_verify_stats *st, bpfvm_error *err)
{
	BPFVM_OPTS(bpfvm_instance_opts, io, .only_prog = name, .verify = true, .verify_stats = st, .no_pins = true,
	           .verify_log_level = log_level, .verify_log = log, .verify_log_user = user);
	bpfvm_instance *inst = NULL;
	memset(st, 0, sizeof *st);
	int rc = bpfvm_instance_new(obj, &io, &inst, err);
	bpfvm_instance_free(inst);
	return rc;
}

/* What a process of --first sends back. */
struct first_run {
	int rc;
	uint64_t insns, ns;
};

/* Program `name` of obj verified once in a process forked for it: -1 if
 * the process could not be made or said nothing. */
static int first_run(const bpfvm_object *obj, const char *name, struct first_run *out)
{
	int fd[2];
	if (pipe(fd))
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (!pid) {
		close(fd[0]);
		bpfvm_verify_stats st;
		bpfvm_error err = { 0 };
		struct first_run r = { .rc = verify_once(obj, name, 0, NULL, NULL, &st, &err) };
		r.insns = st.processed_insns;
		r.ns = st.nanoseconds;
		_exit(write(fd[1], &r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
	}
	close(fd[1]);
	ssize_t got = read(fd[0], out, sizeof *out);
	close(fd[0]);
	int status;
	waitpid(pid, &status, 0);
	return got == (ssize_t)sizeof *out && WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* --first: program i of obj verified once in each of md->first
 * processes; the median counts in the totals. */
static void time_first(const bpfvm_object *obj, size_t i, const struct mode *md, struct totals *t)
{
	const bpfvm_object_prog *p = bpfvm_object_prog_at(obj, i);
	uint64_t *ns = calloc(md->first, sizeof *ns);
	struct first_run r = { 0 };
	int rc = 0;
	unsigned runs = 0;
	for (; ns && runs < md->first; runs++) {
		if (first_run(obj, p->name, &r) || (runs && r.rc != rc)) {
			fprintf(stderr, "bpfvm-verify-bench: %s: a process verifying it failed or answered otherwise\n",
			        p->name);
			break;
		}
		rc = r.rc;
		ns[runs] = r.ns;
	}
	if (!ns)
		fprintf(stderr, "bpfvm-verify-bench: %s: out of memory\n", p->name);
	if (!ns || runs < md->first || rc == -ENOTSUP) {
		if (rc == -ENOTSUP)
			t->unsupported++;
		free(ns);
		return;
	}
	if (rc)
		t->rejected++;
	if (rc && !md->all) {
		free(ns);
		return;
	}
	if (!rc)
		t->accepted++;
	qsort(ns, runs, sizeof *ns, compare_u64);
	uint64_t median = ns[runs / 2];
	t->insns += r.insns;
	t->ns += median;
	t->log_ns_sum += log((double)median);
	if (md->verbose)
		printf("  %-40.40s %-6s %8" PRIu64 " insns, first in its process: %9.1f us (best %9.1f of %u)\n",
		       p->name, rc ? "reject" : "accept", r.insns, (double)median / 1e3, (double)ns[0] / 1e3, runs);
	free(ns);
}

/* Verifies program i of obj until min_ns have passed (or md->runs
 * times: the same work whatever the clock, for cmake/pgo.cmake's
 * training). */
static void time_program(const bpfvm_object *obj, size_t i, const struct mode *md, struct totals *t)
{
	const bpfvm_object_prog *p = bpfvm_object_prog_at(obj, i);
	bpfvm_verify_stats st;
	bpfvm_error err = { 0 };
	int first = verify_once(obj, p->name, 0, NULL, NULL, &st, &err);
	if (first == -ENOTSUP) {
		t->unsupported++;
		return;
	}
	if (first)
		t->rejected++;
	if (first && !md->all)
		return;
	uint64_t insns = 0, ns = 0, best = UINT64_MAX;
	unsigned runs = 0;
	while (md->runs ? runs < md->runs : ns < md->min_ns || runs < 3) {
		if (verify_once(obj, p->name, 0, NULL, NULL, &st, &err) != first)
			break;
		insns += st.processed_insns;
		ns += st.nanoseconds;
		if (st.nanoseconds < best)
			best = st.nanoseconds;
		runs++;
	}
	if (!runs || !ns)
		return;
	if (!first)
		t->accepted++;
	t->insns += insns;
	t->ns += ns;
	t->log_ns_sum += log((double)ns / runs);
	if (md->verbose)
		printf("  %-40.40s %-6s %8" PRIu64 " insns %9.1f us (best %9.1f) %7.2f M insns/s\n", p->name,
		       first ? "reject" : "accept", insns / runs, (double)ns / runs / 1e3, (double)best / 1e3,
		       (double)insns / (double)ns * 1e3);
}

/* Program i of obj, as the walk leaves it: one line of tab-separated
 * fields (the -vv log's hash from a second walk with the log on, which
 * takes the log's own paths through the verifier). */
static void fingerprint_program(const bpfvm_object *obj, const char *file, size_t i)
{
	const bpfvm_object_prog *p = bpfvm_object_prog_at(obj, i);
	bpfvm_verify_stats st, st_log;
	bpfvm_error err = { 0 }, err_log = { 0 };
	int rc = verify_once(obj, p->name, 0, NULL, NULL, &st, &err);
	const char *base = strrchr(file, '/');
	printf("%s\t%s\t%d\t%" PRIu64 "\t%u\t%u\t%u", base ? base + 1 : file, p->name, rc, st.processed_insns,
	       st.total_states, st.peak_states, st.max_states_per_insn);
	/* -v: every instruction walked and every pruning, in order (the
	 * walk's own fast paths); -vv: with each state and precision step */
	for (int level = 1; level <= 2; level++) {
		struct log_hash lh;
		log_hash_init(&lh);
		int rc_log = verify_once(obj, p->name, level, log_hash_line, &lh, &st_log, &err_log);
		printf("\t%016" PRIx64 "\t%" PRIu64, lh.h, lh.lines);
		/* the log must not change the walk */
		if (rc_log != rc || st_log.processed_insns != st.processed_insns ||
		    st_log.total_states != st.total_states || st_log.max_states_per_insn != st.max_states_per_insn ||
		    strcmp(err_log.msg, err.msg))
			printf("\tLOG-CHANGES-WALK(-v%d: %d %" PRIu64 " %u %u)", level, rc_log, st_log.processed_insns,
			       st_log.total_states, st_log.max_states_per_insn);
	}
	printf("\t%s\n", rc ? err.msg : "-");
}

static void time_object(const char *path, const struct mode *md, struct totals *t)
{
	bpfvm_object *obj;
	bpfvm_error err = { 0 };
	if (bpfvm_object_open(path, &obj, &err)) {
		fprintf(stderr, "bpfvm-verify-bench: %s\n", err.msg);
		return;
	}
	if (md->verbose && !md->fingerprint)
		printf("%s\n", path);
	for (size_t i = 0; i < bpfvm_object_prog_count(obj); i++) {
		if (md->only && strcmp(md->only, bpfvm_object_prog_at(obj, i)->name))
			continue;
		if (md->fingerprint)
			fingerprint_program(obj, path, i);
		else if (md->first)
			time_first(obj, i, md, t);
		else
			time_program(obj, i, md, t);
	}
	fflush(stdout);
	bpfvm_object_free(obj);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.o of dir, in name order (so that two fingerprints diff). */
static int time_dir(DIR *d, const char *dir, const struct mode *md, struct totals *t)
{
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 3 || strcmp(e->d_name + len - 2, ".o"))
			continue;
		char **grown = realloc(names, (n + 1) * sizeof *names);
		if (!grown)
			break;
		names = grown;
		if (!(names[n] = strdup(e->d_name)))
			break;
		n++;
	}
	qsort(names, n, sizeof *names, compare_names);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		time_object(path, md, t);
		free(names[i]);
	}
	free(names);
	return (int)n;
}

/* A whole number of the command line, all of s. */
static bool parse_count(const char *s, unsigned long *out)
{
	char *end;
	errno = 0;
	*out = strtoul(s, &end, 0);
	return *s >= '0' && *s <= '9' && !*end && !errno && *out <= 24ul * 3600 * 1000;
}

static int bad_count(const char *opt, const char *arg)
{
	fprintf(stderr, "bpfvm-verify-bench: %s wants a whole number, not '%s'\n", opt, arg);
	return 1;
}

static int usage(int rc)
{
	printf("usage: bpfvm-verify-bench [--min-ms N | --runs N | --first N] [--all] [-v] [--prog NAME] OBJ|DIR...\n"
	       "       bpfvm-verify-bench --fingerprint [--prog NAME] OBJ|DIR...\n"
	       "Verifies every program of each clang object (every *.o of a DIR) for at\n"
	       "least N ms (default 20) and prints instructions processed per second\n"
	       "(--all: rejected programs too; -v: per program, its mean and fastest run;\n"
	       "--runs N: exactly N times after a first, untimed run; --first N: once in\n"
	       "each of N processes of its own, the first verification in each, as\n"
	       "test_loops times it: the median, and with -v the best).\n"
	       "--fingerprint prints, per program, what the walk did: object, program,\n"
	       "return code, processed insns, states kept, peak states, max_states_per_insn,\n"
	       "the hash and line count of its -v log and of its -vv log, and the message.\n");
	return rc;
}

int main(int argc, char **argv)
{
	struct mode md = { .min_ns = 20 * 1000000ull };
	struct totals t = { 0 };
	int objects = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--min-ms") && i + 1 < argc) {
			unsigned long ms;
			if (!parse_count(argv[++i], &ms))
				return bad_count("--min-ms", argv[i]);
			md.min_ns = (uint64_t)ms * 1000000ull;
		} else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
			unsigned long runs;
			if (!parse_count(argv[++i], &runs) || !runs || runs > UINT32_MAX)
				return bad_count("--runs", argv[i]);
			md.runs = (unsigned)runs;
		} else if (!strcmp(argv[i], "--first") && i + 1 < argc) {
			unsigned long first;
			if (!parse_count(argv[++i], &first) || !first || first > 10000)
				return bad_count("--first", argv[i]);
			md.first = (unsigned)first;
		} else if (!strcmp(argv[i], "--prog") && i + 1 < argc) {
			md.only = argv[++i];
		} else if (!strcmp(argv[i], "-v")) {
			md.verbose = true;
		} else if (!strcmp(argv[i], "--all")) {
			md.all = true;
		} else if (!strcmp(argv[i], "--fingerprint")) {
			md.fingerprint = true;
		} else if (!strcmp(argv[i], "--help")) {
			return usage(0);
		} else if (argv[i][0] == '-') {
			return usage(1);
		} else {
			DIR *d = opendir(argv[i]);
			if (!d) {
				time_object(argv[i], &md, &t);
				objects++;
				continue;
			}
			objects += time_dir(d, argv[i], &md, &t);
			closedir(d);
		}
	}
	if (md.fingerprint)
		return objects ? 0 : 1;
	if (!t.accepted && !(md.all && t.rejected)) {
		fprintf(stderr, "bpfvm-verify-bench: no program accepted (of %d objects)\n", objects);
		return 1;
	}
	unsigned timed = t.accepted + (md.all ? t.rejected : 0);
	printf("objects %d, programs accepted %u (rejected %u%s, unsupported %u)\n", objects, t.accepted, t.rejected,
	       md.all ? ", timed too" : "", t.unsupported);
	printf("verifier speed: %.2f M insns/s over all (%" PRIu64 " insns in %.1f ms); "
	       "geometric mean time per program %.1f us\n",
	       (double)t.insns / (double)t.ns * 1e3, t.insns, (double)t.ns / 1e6, exp(t.log_ns_sum / timed) / 1e3);
	return 0;
}
