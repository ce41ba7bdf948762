/*
 * runner.c - bpfvm-bench: the benchmark runner.
 *
 * Owns: the command line, building each program's deterministic input,
 * the agreement check (native, bpfvm unchecked, bpfvm checked and, when
 * it takes the program, the kernel JIT must all return the same r0, or
 * the run fails), the timing loop and the report (a table, or --json).
 *
 * Timing: every engine runs the same number of batches, interleaved
 * (native, unchecked, checked, kernel, native, ...) so that noise from
 * other users of the machine falls on all of them alike; a batch lasts
 * about BATCH_NS and the figure is the median batch's time per run.
 * Programs that write their input get a fresh copy before every run,
 * outside the timed region (the clock is read around each run instead of
 * around the batch); for the kernel the figure is BPF_PROG_TEST_RUN's own
 * `duration` of one repetition, and every call copies the input afresh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpfvm/bpfvm.h>

#include "bench.h"

#define BATCH_NS 10000000.0        /* 10 ms per batch and engine */
#define BATCHES 21
#define BATCHES_STR "21"         /* for the report's header */
#define MAX_RUNS 1000000u
#define MAX_KERNEL_RUNS 2000u      /* each costs a syscall besides its duration */

enum engine { E_NATIVE, E_UNCHECKED, E_CHECKED, E_KERNEL, E_COUNT };
static const char *const engine_names[E_COUNT] = { "native", "unchecked", "checked", "kernel" };

struct options {
	const char *filter;
	int quick, json, kernel;
};

/* Everything about one program while it is measured. */
struct bench_case {
	const struct bench_desc *d;
	bpfvm_insn *insns;
	size_t count;
	bpfvm_program *prog;
	struct kernel_prog kp;
	uint8_t *pristine;     /* the input as built */
	uint8_t *work;         /* what a run gets: a copy of pristine */
	uint64_t result;       /* native r0, the reference */
	double ns[E_COUNT];    /* median ns per run; < 0 when not measured */
	int ok;                /* results agreed */
};

static volatile uint64_t sink;   /* keeps timed results alive */

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *alloc_input(size_t len)
{
	/* 64-byte aligned like a packet buffer, and rounded up so the
	 * native code may read whole words of the last one. */
	void *p = aligned_alloc(64, (len + 63) & ~(size_t)63);
	if (!p) {
		fprintf(stderr, "bpfvm-bench: out of memory\n");
		exit(2);
	}
	return p;
}

/* One run of engine e on a fresh copy of the input, untimed: for the
 * agreement check. */
static int run_checked_once(struct bench_case *c, enum engine e, uint64_t *r0, char *why, size_t whylen)
{
	size_t len = c->d->len;
	memcpy(c->work, c->pristine, len);
	bpfvm_error err;
	int rc;
	uint64_t ns;
	switch (e) {
	case E_NATIVE:
		*r0 = c->d->native(c->work, len);
		return 0;
	case E_UNCHECKED:
	case E_CHECKED:
		rc = bpfvm_program_run_mem(c->prog, c->work, len, e == E_CHECKED ? BPFVM_CHECKED : BPFVM_UNCHECKED,
		                           r0, &err);
		if (rc)
			snprintf(why, whylen, "%s (insn %d): %s", bpfvm_strerror(rc), err.insn, err.msg);
		return rc;
	case E_KERNEL:
		rc = kernel_run(&c->kp, c->pristine, r0, &ns);
		if (rc)
			snprintf(why, whylen, "%s", c->kp.detail);
		return rc;
	default:
		return -1;
	}
}

/* `runs` timed runs of engine e; returns ns per run. */
static double time_batch(struct bench_case *c, enum engine e, unsigned runs)
{
	size_t len = c->d->len;
	uint64_t r0 = 0;
	bpfvm_error err;
	double total = 0;
	if (e == E_KERNEL) {
		uint64_t sum = 0, ns;
		for (unsigned i = 0; i < runs; i++) {
			if (kernel_run(&c->kp, c->pristine, &r0, &ns) != 0)
				return -1;
			sum += ns;
		}
		sink = r0;
		return (double)sum / runs;
	}
	bpfvm_mode mode = e == E_CHECKED ? BPFVM_CHECKED : BPFVM_UNCHECKED;
	if (!c->d->mutates)
		memcpy(c->work, c->pristine, len);
	double t0 = now_ns();
	for (unsigned i = 0; i < runs; i++) {
		if (c->d->mutates) {
			/* Restore outside the timed region, the same for every engine. */
			double t1 = now_ns();
			total += t1 - t0;
			memcpy(c->work, c->pristine, len);
			t0 = now_ns();
		}
		if (e == E_NATIVE)
			r0 = c->d->native(c->work, len);
		else if (bpfvm_program_run_mem(c->prog, c->work, len, mode, &r0, &err) != 0)
			return -1;
		sink = r0;
	}
	total += now_ns() - t0;
	return total / runs;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void measure(struct bench_case *c, const struct options *o)
{
	int have[E_COUNT] = { 1, 1, 1, c->kp.status == KERNEL_OK };
	unsigned runs[E_COUNT] = { 0 };
	double samples[E_COUNT][BATCHES];
	unsigned batches = o->quick ? 1 : BATCHES;
	for (int e = 0; e < E_COUNT; e++) {
		c->ns[e] = -1;
		if (!have[e])
			continue;
		if (o->quick) {
			runs[e] = 1;
			continue;
		}
		/* Warm up (caches, branch predictors, page faults), then size the
		 * batch from a short measurement. */
		time_batch(c, (enum engine)e, 1);
		double est = time_batch(c, (enum engine)e, 3);
		if (est <= 0) {
			have[e] = 0;
			continue;
		}
		double n = BATCH_NS / est;
		unsigned max = e == E_KERNEL ? MAX_KERNEL_RUNS : MAX_RUNS;
		runs[e] = n < 1 ? 1 : n > max ? max : (unsigned)n;
	}
	for (unsigned b = 0; b < batches; b++)
		for (int e = 0; e < E_COUNT; e++)
			if (have[e]) {
				samples[e][b] = time_batch(c, (enum engine)e, runs[e]);
				if (samples[e][b] >= 0)
					continue;
				have[e] = 0;   /* for the kernel, kernel_run has set kp.detail */
				if (e != E_KERNEL)
					fprintf(stderr, "bpfvm-bench: %s: a timed %s run failed after the "
					        "agreement check passed\n", c->d->name, engine_names[e]);
			}
	for (int e = 0; e < E_COUNT; e++)
		if (have[e]) {
			qsort(samples[e], batches, sizeof samples[e][0], cmp_double);
			c->ns[e] = samples[e][batches / 2];
		}
}

/* Loads the program and builds its input; checks that every engine agrees.
 * Returns 0 when the case can be timed. */
static int prepare(struct bench_case *c, const struct bench_prog *p, const struct options *o)
{
	char why[300];
	bpfvm_error err;
	c->d = p->desc;
	c->kp.fd = -1;
	size_t bytes = *p->bytecode_len;
	c->count = bytes / sizeof(bpfvm_insn);
	c->insns = malloc(bytes);
	if (!c->insns) {
		fprintf(stderr, "bpfvm-bench: out of memory\n");
		exit(2);
	}
	memcpy(c->insns, p->bytecode, bytes);
	int rc = bpfvm_program_load(c->insns, c->count, NULL, &c->prog, &err);
	if (rc) {
		fprintf(stderr, "bpfvm-bench: %s: bpfvm_program_load failed: %s (insn %d): %s\n",
		        c->d->name, bpfvm_strerror(rc), err.insn, err.msg);
		return -1;
	}
	c->pristine = alloc_input(c->d->len);
	c->work = alloc_input(c->d->len);
	c->d->fill(c->pristine, c->d->len, c->d->seed);

	if (o->kernel) {
		/* bpfvm_insn and struct bpf_insn share one layout (bpfvm.h). */
		kernel_load(c->insns, c->count, (uint32_t)c->d->len, &c->kp);
	} else {
		memset(&c->kp, 0, sizeof c->kp);
		c->kp.fd = -1;
		c->kp.status = KERNEL_UNAVAILABLE;
	}

	int agree = 1;
	uint64_t r[E_COUNT];
	for (int e = 0; e < E_COUNT; e++) {
		if (e == E_KERNEL && c->kp.status != KERNEL_OK)
			continue;
		if (run_checked_once(c, (enum engine)e, &r[e], why, sizeof why) != 0) {
			if (e == E_KERNEL)
				continue;    /* kernel_run set kp.status: reported, not fatal */
			fprintf(stderr, "bpfvm-bench: %s: bpfvm %s run failed: %s\n", c->d->name,
			        engine_names[e], why);
			return -1;
		}
		if (r[e] != r[E_NATIVE]) {
			fprintf(stderr, "bpfvm-bench: MISMATCH in %s: native r0 = 0x%016llx, %s r0 = 0x%016llx\n",
			        c->d->name, (unsigned long long)r[E_NATIVE], engine_names[e],
			        (unsigned long long)r[e]);
			agree = 0;
		}
	}
	c->result = r[E_NATIVE];
	c->ok = agree;
	return agree ? 0 : -1;
}

static void release(struct bench_case *c)
{
	kernel_close(&c->kp);
	bpfvm_program_free(c->prog);
	free(c->insns);
	free(c->pristine);
	free(c->work);
}

/* ---- reporting ------------------------------------------------------- */

struct machine {
	char cpu[128];
	long cpus;
	char kernel[160];
	char jit[16];
};

static void read_first_line(const char *path, const char *key, char *out, size_t outlen)
{
	char line[512];
	FILE *f = fopen(path, "r");
	snprintf(out, outlen, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		if (key && strncmp(line, key, strlen(key)) != 0)
			continue;
		char *v = line;
		if (key) {
			v = strchr(line, ':');
			if (!v)
				continue;
			v++;
		}
		while (*v == ' ' || *v == '\t')
			v++;
		v[strcspn(v, "\n")] = 0;
		snprintf(out, outlen, "%.*s", (int)(outlen - 1), v);   /* truncation is fine */
		break;
	}
	fclose(f);
}

static void get_machine(struct machine *m)
{
	struct utsname u;
	read_first_line("/proc/cpuinfo", "model name", m->cpu, sizeof m->cpu);
	m->cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof m->kernel, "%.64s %.64s", u.sysname, u.release);
	else
		snprintf(m->kernel, sizeof m->kernel, "unknown");
	read_first_line("/proc/sys/net/core/bpf_jit_enable", NULL, m->jit, sizeof m->jit);
}

#ifdef __OPTIMIZE__
#define BUILD_OPT "optimized"
#else
#define BUILD_OPT "NOT optimized"
#endif
#ifdef NDEBUG
#define BUILD_NDEBUG ", NDEBUG"
#else
#define BUILD_NDEBUG ", assertions on"
#endif

static double ratio(const struct bench_case *c, enum engine e)
{
	if (c->ns[e] <= 0 || c->ns[E_NATIVE] <= 0)
		return -1;
	return c->ns[e] / c->ns[E_NATIVE];
}

struct geomean {
	double log_sum;
	unsigned n;
};

static void geo_add(struct geomean *g, double r)
{
	if (r > 0) {
		g->log_sum += log(r);
		g->n++;
	}
}

static double geo_value(const struct geomean *g)
{
	return g->n ? exp(g->log_sum / g->n) : -1;
}

static void print_header(const struct machine *m, const struct options *o, size_t n)
{
	printf("bpfvm-bench: %zu programs; %s\n", n,
	       o->quick ? "--quick: one run per engine, figures are NOT meaningful" :
	       "median of " BATCHES_STR " interleaved batches of ~10 ms per engine");
	printf("cpu: %s, %ld online; %s, bpf_jit_enable=%s\n", m->cpu, m->cpus, m->kernel, m->jit);
	printf("native: %s; bpfvm: %s %s" BUILD_NDEBUG "\n", BENCH_NATIVE_CC,
#ifdef __clang__
	       "clang " __clang_version__,
#else
	       "gcc " __VERSION__,
#endif
	       BUILD_OPT);
	printf("\n%-11s %5s %5s %10s %11s %7s %11s %7s %10s %7s\n", "program", "bytes", "insns",
	       "native", "unchecked", "ratio", "checked", "ratio", "kernel", "ratio");
	printf("%-11s %5s %5s %10s %11s %7s %11s %7s %10s %7s\n", "", "", "", "ns/run", "ns/run", "",
	       "ns/run", "", "ns/run", "");
}

static void print_ns(double ns, int width)
{
	if (ns < 0)
		printf(" %*s", width, "-");
	else
		printf(" %*.0f", width, ns);
}

static void print_ratio(double r)
{
	if (r < 0)
		printf(" %7s", "");
	else
		printf(" %6.*fx", r < 10 ? 2 : 1, r);
}

static const char *kernel_word(const struct bench_case *c)
{
	switch (c->kp.status) {
	case KERNEL_OK: return "ok";
	case KERNEL_REJECTED: return "rejected";
	case KERNEL_FAILED: return "failed";
	default: return "n/a";
	}
}

static void print_row(const struct bench_case *c)
{
	printf("%-11s %5zu %5zu", c->d->name, c->d->len, c->count);
	print_ns(c->ns[E_NATIVE], 10);
	print_ns(c->ns[E_UNCHECKED], 11);
	print_ratio(ratio(c, E_UNCHECKED));
	print_ns(c->ns[E_CHECKED], 11);
	print_ratio(ratio(c, E_CHECKED));
	if (c->ns[E_KERNEL] >= 0) {
		print_ns(c->ns[E_KERNEL], 10);
		print_ratio(ratio(c, E_KERNEL));
	} else {
		printf(" %10s", c->kp.status == KERNEL_UNAVAILABLE && !c->kp.detail[0] ? "-" : kernel_word(c));
	}
	printf("\n");
	fflush(stdout);
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void json_number(double v, int decimals)
{
	if (v < 0)
		printf("null");
	else
		printf("%.*f", decimals, v);
}

static void print_json(const struct machine *m, const struct options *o, struct bench_case *cases, size_t n,
                       const struct geomean *g)
{
	printf("{\n  \"quick\": %s,\n  \"cpu\": ", o->quick ? "true" : "false");
	json_string(m->cpu);
	printf(",\n  \"cpus\": %ld,\n  \"kernel\": ", m->cpus);
	json_string(m->kernel);
	printf(",\n  \"bpf_jit_enable\": ");
	json_string(m->jit);
	printf(",\n  \"native_compiler\": ");
	json_string(BENCH_NATIVE_CC);
	printf(",\n  \"programs\": [\n");
	for (size_t i = 0; i < n; i++) {
		const struct bench_case *c = &cases[i];
		printf("    {\"name\": ");
		json_string(c->d->name);
		printf(", \"what\": ");
		json_string(c->d->what);
		printf(", \"bytes\": %zu, \"insns\": %zu, \"result\": \"0x%016llx\", \"agree\": %s", c->d->len,
		       c->count, (unsigned long long)c->result, c->ok ? "true" : "false");
		for (int e = 0; e < E_COUNT; e++) {
			printf(", \"%s_ns\": ", engine_names[e]);
			json_number(c->ns[e], 1);
		}
		printf(", \"unchecked_ratio\": ");
		json_number(ratio(c, E_UNCHECKED), 3);
		printf(", \"checked_ratio\": ");
		json_number(ratio(c, E_CHECKED), 3);
		printf(", \"kernel_ratio\": ");
		json_number(ratio(c, E_KERNEL), 3);
		printf(", \"kernel_status\": ");
		json_string(kernel_word(c));
		printf(", \"kernel_detail\": ");
		json_string(c->kp.detail);
		printf(", \"kernel_verified_insns\": %u, \"kernel_jited_bytes\": %u", c->kp.verified_insns,
		       c->kp.jited_len);
		printf("}%s\n", i + 1 < n ? "," : "");
	}
	printf("  ],\n  \"geomean\": {\"unchecked\": ");
	json_number(geo_value(&g[E_UNCHECKED]), 3);
	printf(", \"checked\": ");
	json_number(geo_value(&g[E_CHECKED]), 3);
	printf(", \"kernel\": ");
	json_number(geo_value(&g[E_KERNEL]), 3);
	printf(", \"kernel_programs\": %u}\n}\n", g[E_KERNEL].n);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bpfvm-bench [--filter NAME] [--quick] [--json] [--kernel]\n"
	           "  --filter NAME  only programs whose name contains NAME\n"
	           "  --quick        one run per engine: checks agreement, times nothing useful\n"
	           "  --json         print the results as JSON instead of a table\n"
	           "  --kernel       also load each program into the running kernel (XDP,\n"
	           "                 BPF_PROG_TEST_RUN) and time its JIT: needs root; see kernel.c\n"
	           "                 for why this is not the default\n"
	           "programs:\n");
	for (size_t i = 0; i < bench_prog_count; i++)
		fprintf(f, "  %-11s %s\n", bench_progs[i].desc->name, bench_progs[i].desc->what);
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
			o.filter = argv[++i];
		else if (strcmp(argv[i], "--quick") == 0)
			o.quick = 1;
		else if (strcmp(argv[i], "--json") == 0)
			o.json = 1;
		else if (strcmp(argv[i], "--kernel") == 0)
			o.kernel = 1;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}

	struct bench_case *cases = calloc(bench_prog_count, sizeof *cases);
	if (!cases)
		return 2;
	size_t n = 0;
	for (size_t i = 0; i < bench_prog_count; i++)
		if (!o.filter || strstr(bench_progs[i].desc->name, o.filter))
			n++;
	if (n == 0) {
		fprintf(stderr, "bpfvm-bench: no program matches \"%s\"\n", o.filter);
		usage(stderr);
		return 2;
	}

	struct machine m;
	get_machine(&m);
	if (!o.json)
		print_header(&m, &o, n);

	int failed = 0;
	struct geomean g[E_COUNT] = { { 0, 0 } };
	size_t k = 0;
	for (size_t i = 0; i < bench_prog_count; i++) {
		if (o.filter && !strstr(bench_progs[i].desc->name, o.filter))
			continue;
		struct bench_case *c = &cases[k++];
		for (int e = 0; e < E_COUNT; e++)
			c->ns[e] = -1;
		if (prepare(c, &bench_progs[i], &o) != 0) {
			failed = 1;
			if (!c->d)
				c->d = bench_progs[i].desc;
			if (!o.json)
				printf("%-11s FAILED: results disagree or the program does not run (see stderr)\n",
				       c->d->name);
			continue;
		}
		measure(c, &o);
		if (c->ns[E_NATIVE] < 0 || c->ns[E_UNCHECKED] < 0 || c->ns[E_CHECKED] < 0)
			failed = 1;
		for (int e = E_UNCHECKED; e < E_COUNT; e++)
			geo_add(&g[e], ratio(c, (enum engine)e));
		if (!o.json)
			print_row(c);
	}

	if (o.json) {
		print_json(&m, &o, cases, n, g);
	} else {
		printf("%-11s %5s %5s %10s %11s", "geomean", "", "", "", "");
		print_ratio(geo_value(&g[E_UNCHECKED]));
		printf(" %11s", "");
		print_ratio(geo_value(&g[E_CHECKED]));
		printf(" %10s", "");
		print_ratio(geo_value(&g[E_KERNEL]));
		printf("\n");
		if (o.kernel && g[E_KERNEL].n != g[E_UNCHECKED].n)
			printf("(kernel geomean over the %u programs it ran)\n", g[E_KERNEL].n);
		int notes = 0;
		for (size_t i = 0; i < n; i++) {
			const struct bench_case *c = &cases[i];
			if (!c->prog || !o.kernel)
				continue;
			if (!notes++)
				printf("\n");
			if (c->kp.status == KERNEL_OK)
				printf("%-11s kernel: accepted, verifier walked %u insns, JIT %u bytes\n", c->d->name,
				       c->kp.verified_insns, c->kp.jited_len);
			else if (c->kp.status == KERNEL_REJECTED)
				printf("%-11s kernel: rejected by verifier (%s)\n", c->d->name, c->kp.detail);
			else
				printf("%-11s kernel: %s (%s)\n", c->d->name, kernel_word(c), c->kp.detail);
		}
		if (failed)
			printf("\nFAILED: see the errors above\n");
	}
	for (size_t i = 0; i < n; i++)
		if (cases[i].d)
			release(&cases[i]);
	free(cases);
	return failed ? 1 : 0;
}
