/*
 * runner.c - bpfvm-bench: the benchmark runner.
 *
 * Owns: the command line, building each program's deterministic input,
 * the agreement check (native, the bpfvm interpreter and JIT, each
 * unchecked and checked, and, when it takes the program, the kernel JIT
 * must all return the same r0, or the run fails), the timing loop, code
 * sizes, the JIT's compile speed, and the report (a table, or --json).
 *
 * Timing: every engine runs the same number of batches, interleaved
 * (native, interp-u, interp-c, jit-u, jit-c, kernel, native, ...) so that
 * slow phases of the machine fall on all of them alike; a batch lasts
 * about BATCH_NS.  Each run is timed on its own (clock_gettime around
 * it), a batch's figure is its 10th-percentile run, and the engine's
 * figure the median of its batches.  Each program has INPUTS inputs,
 * built from consecutive seeds and taken in turn (every engine is checked
 * against native on all of them).  For the kernel a run's time is
 * BPF_PROG_TEST_RUN's own `duration` of one repetition, which a time
 * slice given to another process cannot inflate (the run has bottom
 * halves, so preemption, disabled); timing runs one by one keeps such
 * slices out of the other engines' figures too (a batch's fast runs are
 * ones no other process interrupted).  Every run gets a fresh copy of its
 * input, outside the timed region; the kernel copies the input afresh on
 * every call.
 *
 * Code size: bpfvm's JIT output for the body (both modes) and, for a
 * like-for-like comparison with the kernel's jited_prog_len, for exactly
 * the XDP-wrapped program kernel.c loads (kernel_wrap()).  bpfvm also
 * runs that wrapped program (checked, then unchecked) on a fake xdp_md
 * whose 32-bit data and data_end hold the address of a copy of the input
 * mapped below 4 GiB, so the code whose size is reported is known to
 * compute the right result.
 *
 * Compile speed: bpfvm_program_load with and without .jit, interleaved,
 * medians of the thread's CPU time; the difference is the JIT's time (it
 * compiles both modes).
 * Measured on every benchmark program and on two synthetic programs of
 * SYNTH_INSNS instructions (all twelve bodies over and over as
 * subprograms, and random straight-line code).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpfvm/bpfvm.h>

#include "bench.h"

#define BATCH_NS 10000000.0        /* 10 ms per batch and engine */
#define BATCHES 21
#define BATCHES_STR "21"         /* for the report's header */
#define MAX_RUNS 100000u        /* per batch: the shortest run is over 1 us */
#define MAX_KERNEL_RUNS 2000u      /* each costs a syscall besides its duration */
#define RUN_PERCENTILE 10          /* a batch's figure: its 10th-percentile run */
#define INPUTS 8                   /* inputs per program, taken in turn */
#define LOAD_REPS 41               /* compile-time samples per benchmark program */
#define SYNTH_INSNS 500000u        /* length of each synthetic program */
#define SYNTH_REPS 5
#define SYNTH_INSNS_QUICK 20000u

enum engine { E_NATIVE, E_INTERP_U, E_INTERP_C, E_JIT_U, E_JIT_C, E_KERNEL, E_COUNT };
static const char *const engine_names[E_COUNT] = { "native", "interp_unchecked", "interp_checked",
	                                           "jit_unchecked", "jit_checked", "kernel" };
static const char *const engine_short[E_COUNT] = { "native", "interp-u", "interp-c", "jit-u", "jit-c",
	                                           "kernel" };

/* The ratios the report gives: engine time over reference time. */
enum ratio_kind { R_INTERP_U, R_INTERP_C, R_JIT_U, R_JIT_C, R_KERNEL, R_JIT_KERNEL, R_SIZE, R_COUNT };
static const char *const ratio_names[R_COUNT] = { "interp_unchecked_vs_native", "interp_checked_vs_native",
	                                          "jit_unchecked_vs_native", "jit_checked_vs_native",
	                                          "kernel_vs_native", "jit_unchecked_vs_kernel",
	                                          "code_size_vs_kernel" };

struct options {
	const char *filter;
	const char *dump;
	int quick, json, kernel, maps;
};

/* Everything about one program while it is measured. */
struct bench_case {
	const struct bench_desc *d;
	bpfvm_insn *insns;
	size_t count;
	bpfvm_program *prog;          /* loaded with .jit: both engines, both modes */
	bpfvm_run_opts run[2];        /* per mode (BPFVM_CHECKED = 0, UNCHECKED = 1), engine set per call */
	bpfvm_region region;
	struct kernel_prog kp;
	uint8_t *pristine[INPUTS];   /* the inputs as built */
	uint8_t *work;         /* what a run gets: a copy of one of them */
	uint64_t result[INPUTS];     /* native r0 for each, the reference */
	double ns[E_COUNT];    /* median ns per run; < 0 when not measured */
	int ok;                /* results agreed */
	/* code size */
	size_t jit_len[2];            /* bpfvm, the body, per mode */
	size_t wrapped_count;         /* instructions of the XDP-wrapped program */
	size_t wrapped_jit_len;       /* bpfvm, the wrapped program, unchecked; 0 if it failed */
	int wrapped_ran;              /* 1: bpfvm ran the wrapped program and it agreed; 0: not run; -1: wrong */
	/* compile time, median ns of one bpfvm_program_load */
	double load_ns, load_jit_ns;
};

static volatile uint64_t sink;   /* keeps timed results alive */

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "bpfvm-bench: out of memory\n");
		exit(2);
	}
	return p;
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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof v[0], cmp_double);
	return v[n / 2];
}

/* The run at the RUN_PERCENTILE-th percentile, counted from the fastest. */
static double low_percentile(double *v, size_t n)
{
	qsort(v, n, sizeof v[0], cmp_double);
	return v[(n - 1) * RUN_PERCENTILE / 100];
}

static bpfvm_mode engine_mode(enum engine e)
{
	return e == E_INTERP_C || e == E_JIT_C ? BPFVM_CHECKED : BPFVM_UNCHECKED;
}

/* One bpfvm run of engine e on c->work. */
static int bpfvm_once(struct bench_case *c, enum engine e, uint64_t *r0, bpfvm_error *err)
{
	bpfvm_run_opts *o = &c->run[engine_mode(e)];
	o->engine = e == E_JIT_U || e == E_JIT_C ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP;
	return bpfvm_program_run(c->prog, o, r0, err);
}

/* One run of engine e on a fresh copy of input k, untimed: for the
 * agreement check. */
static int run_checked_once(struct bench_case *c, enum engine e, unsigned k, uint64_t *r0, char *why,
                            size_t whylen)
{
	size_t len = c->d->len;
	memcpy(c->work, c->pristine[k], len);
	bpfvm_error err;
	int rc;
	uint64_t ns;
	switch (e) {
	case E_NATIVE:
		*r0 = c->d->native(c->work, len, c->work + len);
		return 0;
	case E_KERNEL:
		rc = kernel_run(&c->kp, c->pristine[k], r0, &ns);
		if (rc)
			snprintf(why, whylen, "%s", c->kp.detail);
		return rc;
	default:
		rc = bpfvm_once(c, e, r0, &err);
		if (rc)
			snprintf(why, whylen, "%s (insn %d): %s", bpfvm_strerror(rc), err.insn, err.msg);
		return rc;
	}
}

/* `runs` runs of engine e, each timed on its own, run i on input
 * i % INPUTS; returns the ns of the RUN_PERCENTILE-th percentile run.
 * Timing each run (not the batch) keeps out what happens between runs:
 * copying the next input in, and, on a loaded machine, the time slices
 * other processes take, which the kernel's `duration` never includes (its
 * runs are not preempted).  Interference only ever adds time, and on a
 * busy machine it can reach half the runs of a millisecond-long program,
 * so the figure is a low percentile rather than the median.  A run costs
 * one clock_gettime pair more, about 25 ns here.
 *
 * Why several inputs: run after run on one input, the branch predictor
 * learns that input's data-dependent branches; `parse_dec` natively took
 * 4.0 us a run on one input and 6.7 us taking eight in turn.  How much
 * each engine learns depends on what runs between its runs (the kernel's
 * runs have a system call between them), so one input would favour some
 * engines on branchy programs. */
static double time_batch(struct bench_case *c, enum engine e, unsigned runs, double *v)
{
	size_t len = c->d->len;
	uint64_t r0 = 0;
	bpfvm_error err;
	if (e == E_KERNEL) {
		uint64_t ns;
		for (unsigned i = 0; i < runs; i++) {
			if (kernel_run(&c->kp, c->pristine[i % INPUTS], &r0, &ns) != 0)
				return -1;
			v[i] = (double)ns;
		}
		sink = r0;
		return low_percentile(v, runs);
	}
	if (e != E_NATIVE) {
		bpfvm_run_opts *o = &c->run[engine_mode(e)];
		o->engine = e == E_JIT_U || e == E_JIT_C ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP;
	}
	const bpfvm_run_opts *o = &c->run[engine_mode(e)];
	uint8_t *work = c->work;
	const void *end = c->work + len;
	for (unsigned i = 0; i < runs; i++) {
		/* The next input, outside the timed region, the same for every
		 * engine (the kernel copies it in on every call too). */
		memcpy(work, c->pristine[i % INPUTS], len);
		double t0 = now_ns();
		if (e == E_NATIVE)
			r0 = c->d->native(work, len, end);
		else if (bpfvm_program_run(c->prog, o, &r0, &err) != 0)
			return -1;
		v[i] = now_ns() - t0;
		sink = r0;
	}
	return low_percentile(v, runs);
}

static void measure(struct bench_case *c, const struct options *o)
{
	int have[E_COUNT];
	unsigned runs[E_COUNT] = { 0 };
	double samples[E_COUNT][BATCHES];
	unsigned batches = o->quick ? 1 : BATCHES;
	double *v = xmalloc(MAX_RUNS * sizeof *v);
	for (int e = 0; e < E_COUNT; e++) {
		have[e] = e != E_KERNEL || c->kp.status == KERNEL_OK;
		c->ns[e] = -1;
		if (!have[e])
			continue;
		if (o->quick) {
			runs[e] = 1;
			continue;
		}
		/* Warm up (caches, branch predictors, page faults), then size the
		 * batch from a short measurement. */
		time_batch(c, (enum engine)e, 1, v);
		double est = time_batch(c, (enum engine)e, 5, v);
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
				samples[e][b] = time_batch(c, (enum engine)e, runs[e], v);
				if (samples[e][b] >= 0)
					continue;
				have[e] = 0;   /* for the kernel, kernel_run has set kp.detail */
				if (e != E_KERNEL)
					fprintf(stderr, "bpfvm-bench: %s: a timed %s run failed after the "
					        "agreement check passed\n", c->d->name, engine_names[e]);
			}
	for (int e = 0; e < E_COUNT; e++)
		if (have[e])
			c->ns[e] = median(samples[e], batches);
	free(v);
}

/* ---- the wrapped program in bpfvm ------------------------------------- */

/* struct xdp_md as the wrapper reads it: u32 data, data_end, ... */
struct fake_xdp_md {
	uint32_t data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex;
};

/* Runs the XDP-wrapped program with bpfvm's JIT, checked first (so a
 * wrong access is an error, not a crash), then unchecked, the code whose
 * size is reported: the input is copied into memory mapped below 4 GiB so
 * that the 32-bit data/data_end of a fake xdp_md hold its address.
 * Returns 1 when both runs return XDP_PASS with native's result in the
 * packet's first 8 bytes, -1 when not, 0 when it could not be tried. */
static int run_wrapped(struct bench_case *c, bpfvm_program *wrapped, char *why, size_t whylen)
{
	size_t len = c->d->len;
	size_t map_len = (len + sizeof(struct fake_xdp_md) + 4095) & ~(size_t)4095;
	void *mem = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (mem == MAP_FAILED) {
		snprintf(why, whylen, "no memory below 4 GiB: %s", strerror(errno));
		return 0;
	}
	uint8_t *data = mem;
	struct fake_xdp_md *ctx = (struct fake_xdp_md *)(data + ((len + 7) & ~(size_t)7));
	uintptr_t a = (uintptr_t)data;
	if (a + len > UINT32_MAX) {
		munmap(mem, map_len);
		snprintf(why, whylen, "MAP_32BIT memory above 4 GiB");
		return 0;
	}
	memset(ctx, 0, sizeof *ctx);
	ctx->data = (uint32_t)a;
	ctx->data_end = (uint32_t)(a + len);
	bpfvm_region regions[2] = {
		{ .base = data, .len = len, .writable = true },
		{ .base = ctx, .len = sizeof *ctx, .writable = false },
	};
	int ok = 1;
	static const bpfvm_mode modes[2] = { BPFVM_CHECKED, BPFVM_UNCHECKED };
	for (int m = 0; m < 2 && ok > 0; m++) {
		memcpy(data, c->pristine[0], len);
		BPFVM_OPTS(bpfvm_run_opts, opts,
			.args = { (uint64_t)(uintptr_t)ctx },
			.mode = modes[m],
			.engine = BPFVM_ENGINE_JIT,
			.regions = regions,
			.region_count = 2
		);
		uint64_t r0 = 0, result = 0;
		bpfvm_error err;
		int rc = bpfvm_program_run(wrapped, &opts, &r0, &err);
		memcpy(&result, data, 8);
		const char *mode = m ? "unchecked" : "checked";
		if (rc) {
			snprintf(why, whylen, "%s: %s (insn %d): %s", mode, bpfvm_strerror(rc), err.insn, err.msg);
			ok = -1;
		} else if (r0 != 2 /* XDP_PASS */ || result != c->result[0]) {
			snprintf(why, whylen, "%s: r0 = %llu, result 0x%016llx, native 0x%016llx", mode,
			         (unsigned long long)r0, (unsigned long long)result, (unsigned long long)c->result[0]);
			ok = -1;
		}
	}
	munmap(mem, map_len);
	return ok;
}

/* ---- compile speed ------------------------------------------------------ */

/* This thread's CPU time: what a load costs, without the time slices
 * other processes take on a busy machine (a load of a large program
 * spans many).  It includes the kernel's work for the load's mmap and
 * mprotect calls. */
static double cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One bpfvm_program_load of insns, with or without the JIT; CPU ns, or -1. */
static double time_load(const bpfvm_insn *insns, size_t count, int jit)
{
	BPFVM_OPTS(bpfvm_load_opts, lo, .jit = jit != 0);
	bpfvm_program *p;
	bpfvm_error err;
	double t0 = cpu_ns();
	int rc = bpfvm_program_load(insns, count, &lo, &p, &err);
	double t = cpu_ns() - t0;
	if (rc) {
		fprintf(stderr, "bpfvm-bench: load of %zu instructions (jit=%d) failed: %s (insn %d): %s\n", count,
		        jit, bpfvm_strerror(rc), err.insn, err.msg);
		return -1;
	}
	bpfvm_program_free(p);
	return t;
}

/* Median load time with and without the JIT, samples interleaved. */
static int time_loads(const bpfvm_insn *insns, size_t count, unsigned reps, double *plain, double *jit)
{
	double *s[2] = { xmalloc(reps * sizeof(double)), xmalloc(reps * sizeof(double)) };
	int rc = 0;
	for (unsigned i = 0; i < reps && !rc; i++)
		for (int j = 0; j < 2; j++)
			if ((s[j][i] = time_load(insns, count, j)) < 0)
				rc = -1;
	if (!rc) {
		*plain = median(s[0], reps);
		*jit = median(s[1], reps);
	}
	free(s[0]);
	free(s[1]);
	return rc;
}

static struct bpfvm_insn mk(uint8_t op, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	bpfvm_insn i = { .opcode = op, .dst = dst, .src = src, .off = off, .imm = imm };
	return i;
}

/* Synthetic program 1: an entry that calls copies of every benchmark body
 * (each a subprogram, unchanged) until about `target` instructions. */
static bpfvm_insn *synth_bodies(const struct bench_case *cases, size_t n, size_t target, size_t *count)
{
	size_t per_round = 0;
	for (size_t i = 0; i < n; i++)
		per_round += cases[i].count + 3;
	size_t rounds = per_round ? (target + per_round - 1) / per_round : 0;
	if (rounds == 0)
		rounds = 1;
	size_t calls = rounds * n;
	size_t head = 2 + 3 * calls + 2;
	size_t total = head;
	for (size_t i = 0; i < n; i++)
		total += rounds * cases[i].count;
	bpfvm_insn *p = xmalloc(total * sizeof *p);
	size_t pc = 0, at = head;
	p[pc++] = mk(0xbf, 6, 1, 0, 0);      /* r6 = r1 */
	p[pc++] = mk(0xbf, 7, 2, 0, 0);      /* r7 = r2 */
	for (size_t r = 0; r < rounds; r++)
		for (size_t i = 0; i < n; i++) {
			p[pc++] = mk(0xbf, 1, 6, 0, 0);
			p[pc++] = mk(0xbf, 2, 7, 0, 0);
			p[pc] = mk(0x85, 0, 1, 0, (int32_t)(at - pc - 1));   /* call local */
			pc++;
			memcpy(p + at, cases[i].insns, cases[i].count * sizeof *p);
			at += cases[i].count;
		}
	p[pc++] = mk(0xb7, 0, 0, 0, 0);      /* r0 = 0 */
	p[pc++] = mk(0x95, 0, 0, 0, 0);      /* exit */
	*count = total;
	return p;
}

/* Synthetic program 2: random straight-line code, as a compiler emits it:
 * 64- and 32-bit ALU on registers and immediates, stack loads and stores,
 * and a short forward conditional jump every eighth instruction or so. */
static bpfvm_insn *synth_straight(size_t target, size_t *count)
{
	/* add sub mul or and lsh rsh xor arsh: no div or mod, whose x86 code
	 * differs in kind, and no mov (below) */
	static const uint8_t alu_ops[] = { 0x00, 0x10, 0x20, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xc0 };
	static const uint8_t jmp_ops[] = { 0x10, 0x20, 0x30, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0 };
	bpfvm_insn *p = xmalloc((target + 16) * sizeof *p);
	uint64_t s = 0x5eed;
	size_t pc = 0;
	for (int r = 0; r < 10; r++)
		p[pc++] = mk(0xb7, (uint8_t)r, 0, 0, r + 1);          /* r0..r9 = const */
	while (pc < target) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t x = (uint32_t)(s >> 33);
		uint8_t dst = x % 10, src = (x >> 4) % 10;
		unsigned kind = (x >> 8) % 16;
		int32_t imm = (int32_t)((x >> 12) % 4096) - 2048;
		if (kind < 7) {                          /* ALU64 / ALU32, reg or imm */
			uint8_t cls = (x >> 20) & 1 ? 0x07 : 0x04;
			uint8_t op = alu_ops[(x >> 21) % sizeof alu_ops];
			uint8_t srcbit = (x >> 25) & 1 ? 0x08 : 0x00;
			if (op == 0x60 || op == 0x70 || op == 0xc0)   /* shifts: a valid count */
				imm &= cls == 0x07 ? 63 : 31, srcbit = 0;
			p[pc++] = mk((uint8_t)(cls | op | srcbit), dst, srcbit ? src : 0, 0, srcbit ? 0 : imm);
		} else if (kind < 9) {                   /* mov */
			if ((x >> 20) & 1)
				p[pc++] = mk(0xbf, dst, src, 0, 0);
			else
				p[pc++] = mk(0xb7, dst, 0, 0, imm);
		} else if (kind < 11) {                  /* store to the stack */
			p[pc++] = mk(0x7b, 10, src, (int16_t)(-8 * (1 + (x >> 20) % 64)), 0);   /* *(u64 *)(r10 - k) = src */
		} else if (kind < 13) {                  /* load from the stack */
			p[pc++] = mk(0x79, dst, 10, (int16_t)(-8 * (1 + (x >> 20) % 64)), 0);
		} else if (kind < 15) {                  /* multiply */
			if ((x >> 20) & 1)
				p[pc++] = mk(0x2f, dst, src, 0, 0);
			else
				p[pc++] = mk(0x27, dst, 0, 0, imm | 1);
		} else {                                 /* forward jump over 1..8 */
			uint8_t op = jmp_ops[(x >> 20) % sizeof jmp_ops];
			int16_t off = (int16_t)(1 + (x >> 24) % 8);
			if (pc + (size_t)off >= target)
				off = 0;
			if ((x >> 28) & 1)
				p[pc++] = mk((uint8_t)(0x05 | op | 0x08), dst, src, off, 0);
			else
				p[pc++] = mk((uint8_t)(0x05 | op), dst, 0, off, imm);
		}
	}
	p[pc++] = mk(0x95, 0, 0, 0, 0);
	*count = pc;
	return p;
}

struct compile_speed {
	const char *what;
	size_t insns;
	double load_ns, load_jit_ns;   /* medians; < 0 if not measured */
};

static double jit_rate(const struct compile_speed *s)
{
	double d = s->load_jit_ns - s->load_ns;
	return s->load_ns >= 0 && d > 0 ? s->insns / (d * 1e-9) : -1;
}

static void measure_compile_speed(const struct bench_case *cases, size_t n, const struct options *o,
                                  struct compile_speed *out)
{
	size_t target = o->quick ? SYNTH_INSNS_QUICK : SYNTH_INSNS;
	unsigned reps = o->quick ? 1 : SYNTH_REPS;
	size_t count;
	bpfvm_insn *p = synth_bodies(cases, n, target, &count);
	out[0] = (struct compile_speed){ "the benchmark bodies, repeated as subprograms", count, -1, -1 };
	if (time_loads(p, count, reps, &out[0].load_ns, &out[0].load_jit_ns))
		out[0].load_ns = out[0].load_jit_ns = -1;
	free(p);
	p = synth_straight(target, &count);
	out[1] = (struct compile_speed){ "random straight-line ALU, stack and short forward jumps", count, -1, -1 };
	if (time_loads(p, count, reps, &out[1].load_ns, &out[1].load_jit_ns))
		out[1].load_ns = out[1].load_jit_ns = -1;
	free(p);
}

/* ---- per-call floors ------------------------------------------------------ */

/* What a run of an empty program (r0 = 0; exit) costs each engine, timed
 * the way the benchmarks are: the per-call cost every figure includes
 * (for bpfvm mostly zeroing its 4 KiB stack, for the kernel the test-run
 * machinery, for all of them a clock_gettime pair). */
static uint64_t empty_native(void *mem, uint64_t len, const void *end)
{
	(void)mem, (void)len, (void)end;
	return 0;
}

static void fill_zero(uint8_t *mem, size_t len, uint64_t seed)
{
	(void)seed;
	memset(mem, 0, len);
}

static void measure_floors(const struct options *o, double *floor_ns)
{
	static const struct bench_desc desc = {
		.name = "(empty)", .what = "r0 = 0", .native = empty_native, .len = 64, .fill = fill_zero,
	};
	static bpfvm_insn empty[2];
	empty[0] = mk(0xb7, 0, 0, 0, 0);
	empty[1] = mk(0x95, 0, 0, 0, 0);
	for (int e = 0; e < E_COUNT; e++)
		floor_ns[e] = -1;
	if (o->quick)
		return;
	struct bench_case c;
	memset(&c, 0, sizeof c);
	c.d = &desc;
	c.insns = empty;
	c.count = 2;
	BPFVM_OPTS(bpfvm_load_opts, lo, .jit = true);
	bpfvm_error err;
	if (bpfvm_program_load(empty, 2, &lo, &c.prog, &err) != 0)
		return;
	for (int k = 0; k < INPUTS; k++) {
		c.pristine[k] = alloc_input(desc.len);
		memset(c.pristine[k], 0, desc.len);
	}
	c.work = alloc_input(desc.len);
	c.region = (bpfvm_region){ .base = c.work, .len = desc.len, .writable = true };
	for (int m = 0; m < 2; m++)
		c.run[m] = (bpfvm_run_opts){ .sz = sizeof(bpfvm_run_opts),
			.args = { (uint64_t)(uintptr_t)c.work, desc.len, (uint64_t)(uintptr_t)(c.work + desc.len) },
			.mode = (bpfvm_mode)m, .regions = &c.region, .region_count = 1,
		};
	c.kp.fd = -1;
	c.kp.status = KERNEL_UNAVAILABLE;
	if (o->kernel)
		kernel_load(empty, 2, (uint32_t)desc.len, &c.kp);
	measure(&c, o);
	memcpy(floor_ns, c.ns, sizeof c.ns);
	kernel_close(&c.kp);
	bpfvm_program_free(c.prog);
	for (int k = 0; k < INPUTS; k++)
		free(c.pristine[k]);
	free(c.work);
}

/* ---- loading and checking ------------------------------------------------- */

static void write_file(const char *dir, const char *name, const char *ext, const void *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len)
		fprintf(stderr, "bpfvm-bench: cannot write %s: %s\n", path, strerror(errno));
	if (f)
		fclose(f);
}

/* Sizes (and with --dump, the machine code) of bpfvm's JIT for the body
 * and the wrapped program, the kernel's image, and the compile times. */
static void code_sizes(struct bench_case *c, const struct options *o)
{
	const void *code;
	size_t len;
	char why[300];
	for (int m = 0; m < 2; m++)
		if (bpfvm_program_jited(c->prog, m, &code, &len) == 0) {
			c->jit_len[m] = len;
			if (o->dump)
				write_file(o->dump, c->d->name, m == BPFVM_UNCHECKED ? "bpfvm-u.bin" : "bpfvm-c.bin",
				           code, len);
		}
	size_t total;
	bpfvm_insn *w = kernel_wrap(c->insns, c->count, (uint32_t)c->d->len, &total);
	BPFVM_OPTS(bpfvm_load_opts, lo, .jit = true, .name = c->d->name);
	bpfvm_program *wp = NULL;
	bpfvm_error err;
	int rc = w ? bpfvm_program_load(w, total, &lo, &wp, &err) : -ENOMEM;
	if (w && rc == 0) {
		c->wrapped_count = total;
		if (bpfvm_program_jited(wp, BPFVM_UNCHECKED, &code, &len) == 0) {
			c->wrapped_jit_len = len;
			if (o->dump)
				write_file(o->dump, c->d->name, "bpfvm-wrapped-u.bin", code, len);
		}
		c->wrapped_ran = run_wrapped(c, wp, why, sizeof why);
		if (c->wrapped_ran < 0)
			fprintf(stderr, "bpfvm-bench: %s: bpfvm's run of the XDP-wrapped program is wrong: %s\n",
			        c->d->name, why);
		else if (c->wrapped_ran == 0 && !o->quick)
			fprintf(stderr, "bpfvm-bench: %s: the XDP-wrapped program not run in bpfvm: %s\n", c->d->name,
			        why);
		bpfvm_program_free(wp);
	} else if (w) {
		fprintf(stderr, "bpfvm-bench: %s: bpfvm cannot load the XDP-wrapped program: %s (insn %d): %s\n",
		        c->d->name, bpfvm_strerror(rc), err.insn, err.msg);
		c->wrapped_ran = -1;
	}
	if (o->dump && w)
		write_file(o->dump, c->d->name, "wrapped.bpf", w, total * sizeof *w);
	free(w);
	if (o->dump && c->kp.status == KERNEL_OK) {
		static uint8_t image[1 << 20];
		uint32_t lens[64], nf;
		int n = kernel_jited_image(&c->kp, image, sizeof image, lens, 64, &nf);
		if (n > 0)
			write_file(o->dump, c->d->name, "kernel.bin", image, (size_t)n);
		if (n > 0 && nf > 0)
			write_file(o->dump, c->d->name, "kernel.funcs", lens, nf * sizeof lens[0]);
	}
	c->load_ns = c->load_jit_ns = -1;
	if (time_loads(c->insns, c->count, o->quick ? 1 : LOAD_REPS, &c->load_ns, &c->load_jit_ns))
		c->load_ns = c->load_jit_ns = -1;
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
	c->insns = xmalloc(bytes);
	memcpy(c->insns, p->bytecode, bytes);
	BPFVM_OPTS(bpfvm_load_opts, lo, .jit = true, .name = c->d->name);
	int rc = bpfvm_program_load(c->insns, c->count, &lo, &c->prog, &err);
	if (rc) {
		fprintf(stderr, "bpfvm-bench: %s: bpfvm_program_load (with jit) failed: %s (insn %d): %s\n",
		        c->d->name, bpfvm_strerror(rc), err.insn, err.msg);
		return -1;
	}
	/* INPUTS inputs from consecutive seeds, the first from the program's
	 * own. */
	for (int k = 0; k < INPUTS; k++) {
		c->pristine[k] = alloc_input(c->d->len);
		c->d->fill(c->pristine[k], c->d->len, c->d->seed + (uint64_t)k);
	}
	c->work = alloc_input(c->d->len);
	/* What bpfvm_program_run_mem passes, built once: r1 = mem, r2 = len,
	 * mem the one region (writable) and the legacy packet; and r3 = end
	 * (bench_prog.h). */
	c->region = (bpfvm_region){ .base = c->work, .len = c->d->len, .writable = true };
	for (int m = 0; m < 2; m++)
		c->run[m] = (bpfvm_run_opts){ .sz = sizeof(bpfvm_run_opts),
			.args = { (uint64_t)(uintptr_t)c->work, c->d->len, (uint64_t)(uintptr_t)(c->work + c->d->len) },
			.mode = (bpfvm_mode)m,
			.regions = &c->region,
			.region_count = 1,
			.packet = c->work,
			.packet_len = c->d->len,
		};

	if (o->kernel) {
		/* bpfvm_insn and struct bpf_insn share one layout (bpfvm.h). */
		kernel_load(c->insns, c->count, (uint32_t)c->d->len, &c->kp);
	} else {
		memset(&c->kp, 0, sizeof c->kp);
		c->kp.fd = -1;
		c->kp.status = KERNEL_UNAVAILABLE;
	}

	int agree = 1;
	for (unsigned k = 0; k < INPUTS; k++) {
		uint64_t r[E_COUNT];
		for (int e = 0; e < E_COUNT; e++) {
			if (e == E_KERNEL && c->kp.status != KERNEL_OK)
				continue;
			if (run_checked_once(c, (enum engine)e, k, &r[e], why, sizeof why) != 0) {
				if (e == E_KERNEL)
					continue;    /* kernel_run set kp.status: reported, not fatal */
				fprintf(stderr, "bpfvm-bench: %s: bpfvm %s run failed on input %u: %s\n", c->d->name,
				        engine_names[e], k, why);
				return -1;
			}
			if (r[e] != r[E_NATIVE]) {
				fprintf(stderr, "bpfvm-bench: MISMATCH in %s, input %u: native r0 = 0x%016llx, "
				        "%s r0 = 0x%016llx\n", c->d->name, k, (unsigned long long)r[E_NATIVE],
				        engine_names[e], (unsigned long long)r[e]);
				agree = 0;
			}
		}
		c->result[k] = r[E_NATIVE];
	}
	code_sizes(c, o);
	if (c->wrapped_ran < 0)
		agree = 0;
	c->ok = agree;
	return agree ? 0 : -1;
}

static void release(struct bench_case *c)
{
	kernel_close(&c->kp);
	bpfvm_program_free(c->prog);
	free(c->insns);
	for (int k = 0; k < INPUTS; k++)
		free(c->pristine[k]);
	free(c->work);
}

/* ---- reporting ------------------------------------------------------- */

struct machine {
	char cpu[128];
	long cpus;
	char kernel[160];
	char jit[16];
	char harden[16];
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
	read_first_line("/proc/sys/net/core/bpf_jit_harden", NULL, m->harden, sizeof m->harden);
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

static double div_or_none(double a, double b)
{
	return a > 0 && b > 0 ? a / b : -1;
}

static double ratio(const struct bench_case *c, enum ratio_kind k)
{
	switch (k) {
	case R_INTERP_U: return div_or_none(c->ns[E_INTERP_U], c->ns[E_NATIVE]);
	case R_INTERP_C: return div_or_none(c->ns[E_INTERP_C], c->ns[E_NATIVE]);
	case R_JIT_U: return div_or_none(c->ns[E_JIT_U], c->ns[E_NATIVE]);
	case R_JIT_C: return div_or_none(c->ns[E_JIT_C], c->ns[E_NATIVE]);
	case R_KERNEL: return div_or_none(c->ns[E_KERNEL], c->ns[E_NATIVE]);
	case R_JIT_KERNEL: return div_or_none(c->ns[E_JIT_U], c->ns[E_KERNEL]);
	case R_SIZE:
		return c->kp.status == KERNEL_OK ? div_or_none((double)c->wrapped_jit_len, (double)c->kp.jited_len) : -1;
	default: return -1;
	}
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

static const char *compiler_string(void)
{
#ifdef __clang__
	return "clang " __clang_version__;
#else
	return "gcc " __VERSION__;
#endif
}

static void print_header(const struct machine *m, const struct options *o, size_t n)
{
	printf("bpfvm-bench: %zu programs; %s\n", n,
	       o->quick ? "--quick: one run per engine, figures are NOT meaningful" :
	       "per engine, median of " BATCHES_STR " interleaved ~10 ms batches' 10th-percentile runs");
	printf("cpu: %s, %ld online; %s, bpf_jit_enable=%s, bpf_jit_harden=%s\n", m->cpu, m->cpus, m->kernel,
	       m->jit, m->harden);
	printf("native: %s; bpfvm: %s %s" BUILD_NDEBUG "\n", BENCH_NATIVE_CC, compiler_string(), BUILD_OPT);
	printf("\ntime per run (ns) and, after each, the ratio to native; jit-u/k: bpfvm JIT unchecked over the kernel JIT\n");
	printf("%-11s %5s %5s %9s", "program", "bytes", "insns", "native");
	for (int e = E_INTERP_U; e < E_COUNT; e++)
		printf(" %9s %6s", engine_short[e], "x");
	printf(" %7s\n", "jit-u/k");
}

static void print_ns(double ns, int width)
{
	if (ns < 0)
		printf(" %*s", width, "-");
	else
		printf(" %*.0f", width, ns);
}

static void print_ratio(double r, int width)
{
	if (r < 0)
		printf(" %*s", width, "");
	else
		printf(" %*.*fx", width - 1, r < 10 ? 2 : 1, r);
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
	print_ns(c->ns[E_NATIVE], 9);
	static const enum ratio_kind rk[] = { R_INTERP_U, R_INTERP_C, R_JIT_U, R_JIT_C };
	for (int e = E_INTERP_U; e <= E_JIT_C; e++) {
		print_ns(c->ns[e], 9);
		print_ratio(ratio(c, rk[e - E_INTERP_U]), 6);
	}
	if (c->ns[E_KERNEL] >= 0) {
		print_ns(c->ns[E_KERNEL], 9);
		print_ratio(ratio(c, R_KERNEL), 6);
		print_ratio(ratio(c, R_JIT_KERNEL), 7);
	} else {
		printf(" %9s", c->kp.status == KERNEL_UNAVAILABLE && !c->kp.detail[0] ? "-" : kernel_word(c));
	}
	printf("\n");
	fflush(stdout);
}

static void print_geomeans(const struct geomean *g)
{
	printf("%-11s %5s %5s %9s", "geomean", "", "", "");
	for (int k = R_INTERP_U; k <= R_KERNEL; k++) {
		printf(" %9s", "");
		print_ratio(geo_value(&g[k]), 6);
	}
	print_ratio(geo_value(&g[R_JIT_KERNEL]), 7);
	printf("\n%-11s %5s %5s %9s", "  programs", "", "", "");
	for (int k = R_INTERP_U; k <= R_KERNEL; k++)
		printf(" %9s %6u", "", g[k].n);
	printf(" %7u\n", g[R_JIT_KERNEL].n);
}

static void print_kernel_notes(const struct bench_case *cases, size_t n)
{
	printf("\nkernel verdicts\n");
	for (size_t i = 0; i < n; i++) {
		const struct bench_case *c = &cases[i];
		if (!c->prog)
			continue;
		if (c->kp.status == KERNEL_OK)
			printf("%-11s accepted: the verifier walked %u insns\n", c->d->name, c->kp.verified_insns);
		else if (c->kp.status == KERNEL_REJECTED)
			printf("%-11s rejected by the verifier (%s)\n", c->d->name, c->kp.detail);
		else
			printf("%-11s %s (%s)\n", c->d->name, kernel_word(c), c->kp.detail);
	}
}

static void print_sizes(const struct bench_case *cases, size_t n, const struct options *o, const struct geomean *g)
{
	printf("\ncode size (bytes of x86-64) and bpfvm compile time (median CPU us of one bpfvm_program_load)\n");
	printf("%-11s %5s %7s %7s | %7s %7s %7s %6s %6s | %7s %7s %7s\n", "program", "insns", "jit-u", "jit-c",
	       "wrapped", "jit-u", "kernel", "ratio", "xlated", "load", "+jit", "jit/ins");
	for (size_t i = 0; i < n; i++) {
		const struct bench_case *c = &cases[i];
		if (!c->prog)
			continue;
		printf("%-11s %5zu %7zu %7zu | %7zu", c->d->name, c->count, c->jit_len[BPFVM_UNCHECKED],
		       c->jit_len[BPFVM_CHECKED], c->wrapped_count);
		if (c->wrapped_jit_len)
			printf(" %7zu", c->wrapped_jit_len);
		else
			printf(" %7s", "-");
		if (c->kp.status == KERNEL_OK && c->kp.jited_len) {
			printf(" %7u", c->kp.jited_len);
			print_ratio(ratio(c, R_SIZE), 6);
			printf(" %6u", c->kp.xlated_insns);
		} else {
			printf(" %7s %6s %6s", o->kernel ? kernel_word(c) : "-", "", "");
		}
		if (c->load_ns >= 0) {
			double jit = c->load_jit_ns - c->load_ns;
			printf(" | %7.1f %7.1f %7.0f", c->load_ns / 1e3, jit / 1e3, jit / c->count);
		}
		printf("\n");
	}
	printf("%-11s %5s %7s %7s   %7s %7s %7s", "geomean", "", "", "", "", "", "");
	print_ratio(geo_value(&g[R_SIZE]), 6);
	printf("   (bpfvm wrapped jit-u / kernel, over %u programs)\n", g[R_SIZE].n);
	printf("jit-u, jit-c: bpfvm's code for the body; wrapped: the XDP program the kernel gets (%d-insn\n"
	       "wrapper + the body as a subprogram), its bpfvm jit-u size beside the kernel's jited_prog_len;\n"
	       "xlated: its length after the verifier's rewrites.  +jit: load with .jit minus load without\n"
	       "(both modes compiled); jit/ins: that in ns per instruction.\n", KERNEL_WRAP_INSNS);
}

static void print_footer(const struct compile_speed *cs, const double *fl)
{
	printf("\nJIT compile speed (CPU time of bpfvm_program_load with .jit minus without; both modes compiled)\n");
	for (int i = 0; i < 2; i++) {
		double r = jit_rate(&cs[i]);
		printf("  %7zu insns, %s: ", cs[i].insns, cs[i].what);
		if (r < 0) {
			printf("not measured\n");
			continue;
		}
		printf("load %.1f ms, with .jit %.1f ms:\n      JIT %.2f M insns/s for both modes together "
		       "(%.0f ns per insn and mode)\n",
		       cs[i].load_ns / 1e6, cs[i].load_jit_ns / 1e6, r / 1e6, 1e9 / r / 2);
	}
	if (fl[E_NATIVE] >= 0) {
		printf("per-call floor, an empty program timed like the others (ns):");
		for (int e = 0; e < E_COUNT; e++)
			if (fl[e] >= 0)
				printf(" %s %.0f", engine_short[e], fl[e]);
		printf("\n");
	}
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
                       const struct geomean *g, const struct compile_speed *cs, const double *fl)
{
	printf("{\n  \"quick\": %s,\n  \"cpu\": ", o->quick ? "true" : "false");
	json_string(m->cpu);
	printf(",\n  \"cpus\": %ld,\n  \"kernel\": ", m->cpus);
	json_string(m->kernel);
	printf(",\n  \"bpf_jit_enable\": ");
	json_string(m->jit);
	printf(",\n  \"bpf_jit_harden\": ");
	json_string(m->harden);
	printf(",\n  \"native_compiler\": ");
	json_string(BENCH_NATIVE_CC);
	printf(",\n  \"bpfvm_compiler\": ");
	json_string(compiler_string());
	printf(",\n  \"programs\": [\n");
	for (size_t i = 0; i < n; i++) {
		const struct bench_case *c = &cases[i];
		printf("    {\"name\": ");
		json_string(c->d->name);
		printf(", \"what\": ");
		json_string(c->d->what);
		printf(", \"bytes\": %zu, \"insns\": %zu, \"inputs\": %d, \"result_input0\": \"0x%016llx\", "
		       "\"agree\": %s", c->d->len, c->count, INPUTS, (unsigned long long)c->result[0],
		       c->ok ? "true" : "false");
		for (int e = 0; e < E_COUNT; e++) {
			printf(", \"%s_ns\": ", engine_names[e]);
			json_number(c->ns[e], 1);
		}
		for (int k = 0; k < R_COUNT; k++) {
			printf(", \"%s\": ", ratio_names[k]);
			json_number(ratio(c, (enum ratio_kind)k), 3);
		}
		printf(", \"kernel_status\": ");
		json_string(kernel_word(c));
		printf(", \"kernel_detail\": ");
		json_string(c->kp.detail);
		printf(", \"kernel_verified_insns\": %u, \"kernel_xlated_insns\": %u, \"kernel_jited_bytes\": %u",
		       c->kp.verified_insns, c->kp.xlated_insns, c->kp.jited_len);
		printf(", \"bpfvm_jit_unchecked_bytes\": %zu, \"bpfvm_jit_checked_bytes\": %zu",
		       c->jit_len[BPFVM_UNCHECKED], c->jit_len[BPFVM_CHECKED]);
		printf(", \"wrapped_insns\": %zu, \"bpfvm_wrapped_jit_unchecked_bytes\": %zu, \"bpfvm_wrapped_ran\": %s",
		       c->wrapped_count, c->wrapped_jit_len,
		       c->wrapped_ran > 0 ? "true" : c->wrapped_ran < 0 ? "false" : "null");
		printf(", \"load_ns\": ");
		json_number(c->load_ns, 0);
		printf(", \"load_jit_ns\": ");
		json_number(c->load_jit_ns, 0);
		printf("}%s\n", i + 1 < n ? "," : "");
	}
	printf("  ],\n  \"geomean\": {");
	for (int k = 0; k < R_COUNT; k++) {
		printf("%s\"%s\": ", k ? ", " : "", ratio_names[k]);
		json_number(geo_value(&g[k]), 3);
		printf(", \"%s_programs\": %u", ratio_names[k], g[k].n);
	}
	printf("},\n  \"compile_speed\": [");
	for (int i = 0; i < 2; i++) {
		printf("%s\n    {\"what\": ", i ? "," : "");
		json_string(cs[i].what);
		printf(", \"insns\": %zu, \"load_ns\": ", cs[i].insns);
		json_number(cs[i].load_ns, 0);
		printf(", \"load_jit_ns\": ");
		json_number(cs[i].load_jit_ns, 0);
		printf(", \"jit_insns_per_s\": ");
		json_number(jit_rate(&cs[i]), 0);
		printf("}");
	}
	printf("\n  ],\n  \"floor_ns\": {");
	for (int e = 0; e < E_COUNT; e++) {
		printf("%s\"%s\": ", e ? ", " : "", engine_names[e]);
		json_number(fl[e], 1);
	}
	printf("}\n}\n");
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bpfvm-bench [--filter NAME] [--quick] [--json] [--kernel] [--dump DIR]\n"
	           "       bpfvm-bench --maps [--filter NAME] [--quick] [--kernel]\n"
	           "  --filter NAME  only programs whose name contains NAME\n"
	           "  --quick        one run per engine: checks agreement, times nothing useful\n"
	           "  --json         print the results as JSON instead of a table\n"
	           "  --kernel       also load each program into the running kernel (XDP,\n"
	           "                 BPF_PROG_TEST_RUN) and time its JIT: needs root; see kernel.c\n"
	           "                 for why this is not the default\n"
	           "  --dump DIR     write the machine code into DIR: NAME.bpfvm-u.bin, NAME.bpfvm-c.bin\n"
	           "                 (the body), NAME.bpfvm-wrapped-u.bin and NAME.wrapped.bpf (the\n"
	           "                 XDP-wrapped program) and, with --kernel, NAME.kernel.bin\n"
	           "  --maps         instead: the cost of one map operation (array and hash lookup,\n"
	           "                 hash update, insert + delete, ringbuf output) and of the examples\n"
	           "                 per packet, bpfvm beside the kernel (maps.c)\n"
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
		else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc)
			o.dump = argv[++i];
		else if (strcmp(argv[i], "--quick") == 0)
			o.quick = 1;
		else if (strcmp(argv[i], "--json") == 0)
			o.json = 1;
		else if (strcmp(argv[i], "--kernel") == 0)
			o.kernel = 1;
		else if (strcmp(argv[i], "--maps") == 0)
			o.maps = 1;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (o.maps) {
		struct maps_options mo = { .quick = o.quick, .kernel = o.kernel, .filter = o.filter };
		return maps_bench(&mo);
	}
	if (o.dump && mkdir(o.dump, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "bpfvm-bench: cannot create %s: %s\n", o.dump, strerror(errno));
		return 2;
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
	struct geomean g[R_COUNT] = { { 0, 0 } };
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
		for (int e = 0; e < E_KERNEL; e++)
			if (c->ns[e] < 0)
				failed = 1;
		for (int r = 0; r < R_COUNT; r++)
			geo_add(&g[r], ratio(c, (enum ratio_kind)r));
		if (!o.json)
			print_row(c);
	}
	if (!o.json)
		print_geomeans(g);

	/* The synthetic programs are built from the bodies that loaded. */
	struct bench_case *loaded = calloc(n, sizeof *loaded);
	size_t nl = 0;
	for (size_t i = 0; i < n; i++)
		if (cases[i].prog)
			loaded[nl++] = cases[i];
	struct compile_speed cs[2];
	measure_compile_speed(loaded, nl, &o, cs);
	free(loaded);
	if (cs[0].load_ns < 0 || cs[1].load_ns < 0)
		failed = 1;
	double fl[E_COUNT];
	measure_floors(&o, fl);

	if (o.json) {
		print_json(&m, &o, cases, n, g, cs, fl);
	} else {
		if (o.kernel)
			print_kernel_notes(cases, n);
		print_sizes(cases, n, &o, g);
		print_footer(cs, fl);
		if (failed)
			printf("\nFAILED: see the errors above\n");
	}
	for (size_t i = 0; i < n; i++)
		if (cases[i].d)
			release(&cases[i]);
	free(cases);
	return failed ? 1 : 0;
}
