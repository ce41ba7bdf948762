/*
 * verify_speed.c - bpfvm-verify-bench: how fast the verifier proves
 * programs, over clang objects given on the command line (the examples,
 * the kernel's verifier selftests built by scripts/verifier-selftests.sh).
 *
 * Owns: the measurement.  Each program the verifier accepts is verified
 * again and again for at least --min-ms milliseconds (the maps are made
 * once per object, so only verification is timed: bpfvm_verify_stats'
 * own clock); the figure is instructions processed per second, per
 * program and over all of them (total instructions / total time), plus
 * the geometric mean of a program's time.  Programs rejected or not
 * supported are counted and left out.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/instance.h"
#include "bpfvm/verifier.h"

struct totals {
	uint64_t insns, ns;
	double log_ns_sum;
	unsigned accepted, rejected, unsupported;
};

/* Verifies program i of obj until min_ns have passed. */
static void time_program(const bpfvm_object *obj, size_t i, uint64_t min_ns, bool verbose, struct totals *t)
{
	const bpfvm_object_prog *p = bpfvm_object_prog_at(obj, i);
	BPFVM_OPTS(bpfvm_instance_opts, io, .only_prog = p->name);
	bpfvm_instance *inst = NULL;
	bpfvm_error err = { 0 };
	/* the maps, made once: bind nothing, verify by hand below */
	io.verify = true;
	bpfvm_verify_stats st = { 0 };
	io.verify_stats = &st;
	int rc = bpfvm_instance_new(obj, &io, &inst, &err);
	bpfvm_instance_free(inst);
	if (rc) {
		if (rc == -ENOTSUP)
			t->unsupported++;
		else
			t->rejected++;
		return;
	}
	uint64_t insns = 0, ns = 0;
	unsigned runs = 0;
	while (ns < min_ns || runs < 3) {
		io.verify_stats = &st;
		if (bpfvm_instance_new(obj, &io, &inst, &err))
			break;
		bpfvm_instance_free(inst);
		insns += st.processed_insns;
		ns += st.nanoseconds;
		runs++;
	}
	if (!runs || !ns)
		return;
	t->accepted++;
	t->insns += insns;
	t->ns += ns;
	t->log_ns_sum += log((double)ns / runs);
	if (verbose)
		printf("  %-40.40s %8" PRIu64 " insns %9.1f us  %7.2f M insns/s\n", p->name, insns / runs,
		       (double)ns / runs / 1e3, (double)insns / (double)ns * 1e3);
}

static void time_object(const char *path, uint64_t min_ns, bool verbose, struct totals *t)
{
	bpfvm_object *obj;
	bpfvm_error err = { 0 };
	if (bpfvm_object_open(path, &obj, &err)) {
		fprintf(stderr, "bpfvm-verify-bench: %s\n", err.msg);
		return;
	}
	if (verbose)
		printf("%s\n", path);
	for (size_t i = 0; i < bpfvm_object_prog_count(obj); i++)
		time_program(obj, i, min_ns, verbose, t);
	bpfvm_object_free(obj);
}

int main(int argc, char **argv)
{
	uint64_t min_ns = 20 * 1000000ull;
	bool verbose = false;
	struct totals t = { 0 };
	int objects = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--min-ms") && i + 1 < argc) {
			min_ns = strtoull(argv[++i], NULL, 0) * 1000000ull;
		} else if (!strcmp(argv[i], "-v")) {
			verbose = true;
		} else if (!strcmp(argv[i], "--help") || argv[i][0] == '-') {
			printf("usage: bpfvm-verify-bench [--min-ms N] [-v] OBJ|DIR...\n"
			       "Verifies every program of each clang object (every *.o of a DIR) for at\n"
			       "least N ms (default 20) and prints instructions processed per second.\n");
			return argv[i][1] == '-' && !strcmp(argv[i], "--help") ? 0 : 1;
		} else {
			DIR *d = opendir(argv[i]);
			if (!d) {
				time_object(argv[i], min_ns, verbose, &t);
				objects++;
				continue;
			}
			struct dirent *e;
			while ((e = readdir(d))) {
				size_t n = strlen(e->d_name);
				if (n < 3 || strcmp(e->d_name + n - 2, ".o"))
					continue;
				char path[4096];
				snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
				time_object(path, min_ns, verbose, &t);
				objects++;
			}
			closedir(d);
		}
	}
	if (!t.accepted) {
		fprintf(stderr, "bpfvm-verify-bench: no program accepted (of %d objects)\n", objects);
		return 1;
	}
	printf("objects %d, programs accepted %u (rejected %u, unsupported %u)\n", objects, t.accepted, t.rejected,
	       t.unsupported);
	printf("verifier speed: %.2f M insns/s over all (%" PRIu64 " insns in %.1f ms); "
	       "geometric mean time per program %.1f us\n",
	       (double)t.insns / (double)t.ns * 1e3, t.insns, (double)t.ns / 1e6, exp(t.log_ns_sum / t.accepted) / 1e3);
	return 0;
}
