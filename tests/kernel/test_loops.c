/*
 * test_loops.c - the loop suite (tests/loops, issue 13, item 3): every
 * program of every object there is verified by the running kernel and by
 * bpfvm, and the two must give the same verdict (but for the known gaps
 * listed below, each with its reason).  Also checks that each
 * program still has a back-edge (a jump to an earlier instruction: clang
 * did not unroll it), that the kernel rejects the programs named bad_*
 * and accepts the others, and that the kernel walks at least 1,000
 * instructions on at least 30 of them (the suite is about loops that
 * need pruning).  Prints the table (program, kernel verdict and
 * processed instructions, bpfvm's, the ratio, the kernel's time (its
 * log's "verification time", elapsed) beside bpfvm's and both
 * max_states_per_insn figures, which must agree where the two walks
 * processed the same instructions); the
 * processed-instruction goals (bpfvm <= the kernel on the geometric
 * mean, <= 2x on each program) are checked; the 100 ms per program is
 * reported, not failed on: timings are not for tests.  Skips (77)
 * without bpf().
 */
#include <dirent.h>
#include <math.h>

#include <inttypes.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/instance.h"
#include "bpfvm/object.h"
#include "bpfvm/verifier.h"
#include "support/check.h"
#include "support/kload.h"

struct row {
	char prog[64];
	enum kload_verdict kernel;
	long kernel_processed;
	long kernel_states_per_insn;  /* its max_states_per_insn, -1 if not logged */
	double kernel_ms;             /* its verification time, -1 if not logged */
	int bpfvm_rc;
	uint64_t bpfvm_processed;
	uint32_t bpfvm_states_per_insn;
	double bpfvm_ms;
	char bpfvm_msg[300];
};

/* Programs where bpfvm's verdict differs from the kernel's today, and
 * why, ended by an empty entry.  The test fails when one of them agrees
 * (take it off the list).  None since the kernel's prune points,
 * checkpoint spacing and callback depth in state comparison (branch
 * loops4): insertion_sort converges, and bad_for_each_elem walks the
 * kernel's 21,802 states to the 1M limit as the kernel does. */
static const struct {
	const char *prog, *why;
} known_gaps[] = {
	{ NULL, NULL },
};

static const char *known_gap(const char *prog)
{
	for (size_t i = 0; known_gaps[i].prog; i++)
		if (!strcmp(known_gaps[i].prog, prog))
			return known_gaps[i].why;
	return NULL;
}

/* The max_states_per_insn of the kernel's summary line in log, or -1. */
static long states_per_insn(const char *log)
{
	const char *p = log ? strstr(log, "max_states_per_insn ") : NULL;
	long n;
	return p && sscanf(p, "max_states_per_insn %ld", &n) == 1 ? n : -1;
}

/* The kernel's "verification time N usec" in log, in ms, or -1. */
static double verification_ms(const char *log)
{
	const char *p = log ? strstr(log, "verification time ") : NULL;
	long us;
	return p && sscanf(p, "verification time %ld usec", &us) == 1 ? (double)us / 1e3 : -1;
}

/* Whether prog has a jump to an earlier instruction. */
static bool has_back_edge(const struct bpf_program *prog)
{
	const struct bpf_insn *in = bpf_program__insns(prog);
	size_t n = bpf_program__insn_cnt(prog);
	for (size_t pc = 0; pc < n; pc++) {
		uint8_t cls = in[pc].code & 7, op = in[pc].code & 0xf0;
		if ((cls == BPF_JMP || cls == BPF_JMP32) && op != BPF_CALL && op != BPF_EXIT && in[pc].off < 0)
			return true;
	}
	return false;
}

static void bpfvm_verdict(const char *path, const char *prog, struct row *r)
{
	bpfvm_object *obj = NULL;
	bpfvm_error err = { 0 };
	if (bpfvm_object_open(path, &obj, &err)) {
		r->bpfvm_rc = err.code ? err.code : -1;
		snprintf(r->bpfvm_msg, sizeof r->bpfvm_msg, "%.200s", err.msg);
		return;
	}
	bpfvm_verify_stats st = { 0 };
	BPFVM_OPTS(bpfvm_instance_opts, io, .only_prog = prog, .verify = true, .verify_stats = &st, .no_pins = true);
	bpfvm_instance *inst = NULL;
	r->bpfvm_rc = bpfvm_instance_new(obj, &io, &inst, &err);
	bpfvm_instance_free(inst);
	bpfvm_object_free(obj);
	r->bpfvm_processed = st.processed_insns;
	r->bpfvm_states_per_insn = st.max_states_per_insn;
	r->bpfvm_ms = (double)st.nanoseconds / 1e6;
	snprintf(r->bpfvm_msg, sizeof r->bpfvm_msg, "%.200s", r->bpfvm_rc ? err.msg : "");
}

/* Runs every program of the object at path; appends to rows. */
static void run_object(const char *path, struct row *rows, size_t *n, size_t cap)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	CHECK(obj != NULL, "%s: libbpf cannot open it", path);
	if (!obj)
		return;
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		if (*n == cap)
			break;
		struct row *r = &rows[(*n)++];
		memset(r, 0, sizeof *r);
		snprintf(r->prog, sizeof r->prog, "%s", bpf_program__name(prog));
		CHECK(has_back_edge(prog), "%s: %s has no back-edge (unrolled?)", path, r->prog);
		struct kload_result k;
		kload_object_prog(path, r->prog, 0, NULL, NULL, &k);
		r->kernel = k.verdict;
		r->kernel_processed = k.processed;
		r->kernel_states_per_insn = states_per_insn(k.log);
		r->kernel_ms = verification_ms(k.log);
		CHECK(k.verdict != KLOAD_ERROR, "%s: %s: the kernel gave no verdict: %s", path, r->prog, k.msg);
		bool bad = !strncmp(r->prog, "bad_", 4);
		CHECK(k.verdict == (bad ? KLOAD_REJECT : KLOAD_ACCEPT), "%s: the kernel %s it: %s", r->prog,
		      kload_verdict_names[k.verdict], k.msg);
		bpfvm_verdict(path, r->prog, r);
		bool agree = (r->bpfvm_rc == 0) == (k.verdict == KLOAD_ACCEPT);
		const char *gap = known_gap(r->prog);
		if (gap && !agree)
			printf("known gap: %s: kernel %s, bpfvm %s: %s\n", r->prog, kload_verdict_names[k.verdict],
			       r->bpfvm_rc ? "rejects" : "accepts", gap);
		CHECK(!gap || !agree, "%s: listed as a known gap but bpfvm now agrees with the kernel", r->prog);
		CHECK(gap || agree, "%s: kernel %s, bpfvm %s: %s", r->prog, kload_verdict_names[k.verdict],
		      r->bpfvm_rc ? "rejects" : "accepts", r->bpfvm_msg);
	}
	bpf_object__close(obj);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	kload_init();
	if (!kload_available()) {
		printf("SKIP: bpf() is not available to this process (%s); the loop suite needs the kernel's verdicts\n",
		       strerror(errno));
		return 77;
	}
	DIR *d = opendir(BPFVM_LOOPS_OBJ_DIR);
	CHECK(d != NULL, "%s: %s (built by the loop_objects target)", BPFVM_LOOPS_OBJ_DIR, strerror(errno));
	if (!d)
		return check_summary();
	char *names[64];
	size_t nn = 0;
	for (struct dirent *e; (e = readdir(d)) && nn < 64;) {
		size_t len = strlen(e->d_name);
		if (len > 6 && !strcmp(e->d_name + len - 6, ".bpf.o"))
			names[nn++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, nn, sizeof names[0], by_name);
	static struct row rows[256];
	size_t n = 0;
	for (size_t i = 0; i < nn; i++) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", BPFVM_LOOPS_OBJ_DIR, names[i]);
		run_object(path, rows, &n, 256);
		free(names[i]);
	}
	printf("%-26s %-8s %9s %-8s %9s %6s %9s %8s %11s\n", "program", "kernel", "processed", "bpfvm", "processed",
	       "ratio", "kernel ms", "bpfvm ms", "states/insn");
	size_t big = 0, both = 0, over2 = 0, slow = 0, same_walk = 0;
	double log_sum = 0;
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		bool kacc = r->kernel == KLOAD_ACCEPT;
		char ratio[16] = "-";
		if (kacc && !r->bpfvm_rc && r->kernel_processed > 0) {
			double q = (double)r->bpfvm_processed / (double)r->kernel_processed;
			snprintf(ratio, sizeof ratio, "%.2f", q);
			log_sum += log(q);
			both++;
			over2 += q > 2.0;
		}
		big += r->kernel_processed >= 1000;
		slow += r->bpfvm_ms >= 100.0;
		/* the same walk (the same instructions processed, short of the
		 * limit) compares with as many states at its worst instruction */
		if (r->kernel_processed == (long)r->bpfvm_processed && r->kernel_processed < 1000000 &&
		    r->kernel_states_per_insn >= 0) {
			same_walk++;
			CHECK(r->kernel_states_per_insn == (long)r->bpfvm_states_per_insn,
			      "%s: max_states_per_insn: kernel %ld, bpfvm %u", r->prog, r->kernel_states_per_insn,
			      r->bpfvm_states_per_insn);
		}
		printf("%-26s %-8s %9ld %-8s %9" PRIu64 " %6s %9.2f %8.2f %5ld %5u\n", r->prog,
		       kacc ? "accept" : "reject", r->kernel_processed, r->bpfvm_rc ? "reject" : "accept",
		       r->bpfvm_processed, ratio, r->kernel_ms, r->bpfvm_ms, r->kernel_states_per_insn,
		       r->bpfvm_states_per_insn);
	}
	double geo = both ? exp(log_sum / (double)both) : 0;
	printf("programs: %zu; kernel processed >= 1000 on %zu; both accept %zu\n", n, big, both);
	printf("bpfvm/kernel processed: geometric mean %.3f (goal <= 1), over 2x on %zu (goal 0); "
	       "bpfvm verifications of 100 ms or more: %zu (goal 0; reported, not tested)\n",
	       geo, over2, slow);
	printf("the same walk as the kernel's on %zu programs, each with its max_states_per_insn\n", same_walk);
	CHECK(same_walk >= 10, "the same processed count as the kernel on %zu programs only", same_walk);
	CHECK(n >= 40, "the suite has %zu programs, wants at least 40", n);
	CHECK(big >= 30, "the kernel processes >= 1000 insns on %zu programs, wants at least 30", big);
	CHECK(geo <= 1.0, "bpfvm/kernel processed: geometric mean %.3f, wants <= 1", geo);
	CHECK(over2 == 0, "bpfvm processes over 2x the kernel's instructions on %zu programs", over2);
	return check_summary();
}
