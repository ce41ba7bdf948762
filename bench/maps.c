/*
 * maps.c - bpfvm-bench --maps: what one map operation costs, and what the
 * examples cost per packet, in bpfvm (interpreter and JIT, unchecked) and
 * in the running kernel on the same object.
 *
 * Owns: loading maps/map_ops.c's object (built by clang, with BTF maps)
 * into bpfvm and, through libbpf, into the kernel; filling their maps
 * alike; checking that every engine leaves the same checksum; the timing
 * of the map operations and of the examples over examples/traffic.pcap;
 * and their tables.
 *
 * Method.  Each map program does OPS operations of one kind in a loop
 * and is run through a test run (bpfvm_program_test_run, the kernel's
 * BPF_PROG_TEST_RUN) with `repeat` = REPEAT; a sample is the mean run
 * time either reports, and an engine's figure the 10th-percentile sample
 * of SAMPLES, engines interleaved.  A turn of the loop costs the run time
 * over OPS: the fixed cost of a test run (context set-up, the call) is
 * spread over OPS turns, under 0.05 ns a turn.  The loop itself is then
 * taken out by subtracting the turn of `loop`, the same loop with no map
 * operation (the key still goes through the stack): what is left is the
 * operation with its call, its argument set-up and the test of its
 * result.  In the interpreter that includes interpreting those few
 * instructions, which is the interpreter's real cost of an operation.
 *
 * Between samples the ring buffer is drained (bpfvm's consumer, libbpf's
 * ring_buffer__consume) and the count of records checked: every output
 * must have landed.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpfvm/instance.h>

#include "bench.h"

#define OPS 4096           /* as in maps/map_ops.c */
#define ENTRIES 1024
#define RECORD_BYTES 16
#define REPEAT 4
#define SAMPLES 41
#define PERCENTILE 10
#define EX_SAMPLES 21
#define EX_REPEAT 50

enum col { C_INTERP, C_JIT, C_KERNEL, C_COUNT };
static const char *const col_names[C_COUNT] = { "interp-u", "jit-u", "kernel" };

struct value {
	uint64_t a, b;
};

/* What the runner puts in the maps before anything runs. */
static struct value array_value(uint32_t i) { return (struct value){ 3ull * i + 1, 0 }; }
static struct value hash_value(uint32_t i) { return (struct value){ 5ull * i + 2, 0 }; }

/* The checksum each program must leave in `result`, worked out the way
 * the program works it out. */
static uint64_t want_result(const char *prog)
{
	uint64_t sum = 0;
	for (uint32_t i = 0; i < OPS; i++) {
		uint32_t key = i & (ENTRIES - 1);
		if (strcmp(prog, "loop") == 0)
			sum += key;
		else if (strcmp(prog, "array_lookup") == 0)
			sum += array_value(key).a;
		else if (strcmp(prog, "hash_lookup") == 0)
			sum += hash_value(key).a;
		/* updates, deletes and outputs all return 0 */
	}
	return sum;
}

struct op {
	const char *prog;
	const char *label;
};

static const struct op ops[] = {
	{ "loop", "loop turn (subtracted below)" },
	{ "array_lookup", "array lookup" },
	{ "hash_lookup", "hash lookup (hit)" },
	{ "hash_update", "hash update (existing key)" },
	{ "hash_insert_delete", "hash insert + delete (pair)" },
	{ "ringbuf_output", "ringbuf output (16 B)" },
};
#define NOPS (sizeof ops / sizeof ops[0])

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, int pct)
{
	qsort(v, n, sizeof *v, cmp_double);
	return v[(n - 1) * (size_t)pct / 100];
}

/* ---- bpfvm's side ---- */

struct vm {
	bpfvm_object *obj;
	bpfvm_instance *inst;
	bpfvm_map *ring, *bss;
};

static bpfvm_map *vm_map(struct vm *v, const char *name)
{
	int i = bpfvm_object_find_map(v->obj, name);
	return i < 0 ? NULL : bpfvm_instance_map(v->inst, (size_t)i);
}

static int vm_open(struct vm *v, const char *path, bpfvm_error *err)
{
	memset(v, 0, sizeof *v);
	int rc = bpfvm_object_open(path, &v->obj, err);
	if (rc)
		return rc;
	BPFVM_OPTS(bpfvm_instance_opts, io, .jit = true);
	return bpfvm_instance_new(v->obj, &io, &v->inst, err);
}

static void vm_close(struct vm *v)
{
	bpfvm_instance_free(v->inst);
	bpfvm_object_free(v->obj);
}

static int vm_fill(struct vm *v, bpfvm_error *err)
{
	bpfvm_map *array = vm_map(v, "array"), *hash = vm_map(v, "hash");
	v->ring = vm_map(v, "ring");
	for (size_t i = 0; i < bpfvm_object_map_count(v->obj); i++)
		if (bpfvm_object_map_at(v->obj, i)->origin == BPFVM_MAP_BSS)
			v->bss = bpfvm_instance_map(v->inst, i);
	if (!array || !hash || !v->ring || !v->bss) {
		snprintf(err->msg, sizeof err->msg, "map_ops object lacks a map");
		return -ENOENT;
	}
	for (uint32_t i = 0; i < ENTRIES; i++) {
		struct value a = array_value(i), h = hash_value(i);
		int rc = bpfvm_map_update(array, &i, &a, 0, err);
		if (!rc)
			rc = bpfvm_map_update(hash, &i, &h, 0, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* bpfvm's consumer and libbpf's take the same callback. */
static int count_record(void *ctx, void *data, size_t size)
{
	(void)data;
	if (size == RECORD_BYTES)
		++*(size_t *)ctx;
	return 0;
}

/* ---- the kernel's side ---- */

struct kern {
	struct bpf_object *obj;
	struct ring_buffer *rb;
	int bss_fd;
	size_t records;
};

static int kern_open(struct kern *k, const char *path, char *why, size_t why_len)
{
	memset(k, 0, sizeof *k);
	k->bss_fd = -1;
	libbpf_set_print(NULL);
	k->obj = bpf_object__open_file(path, NULL);
	if (!k->obj || libbpf_get_error(k->obj)) {
		k->obj = NULL;
		snprintf(why, why_len, "libbpf cannot open %s", path);
		return -1;
	}
	int rc = bpf_object__load(k->obj);
	if (rc) {
		snprintf(why, why_len, "bpf() unavailable or the object refused: %s", strerror(-rc));
		return -1;
	}
	int array_fd = -1, hash_fd = -1, ring_fd = -1;
	struct bpf_map *map;
	bpf_object__for_each_map(map, k->obj) {
		const char *name = bpf_map__name(map);
		size_t len = strlen(name);
		if (strcmp(name, "array") == 0)
			array_fd = bpf_map__fd(map);
		else if (strcmp(name, "hash") == 0)
			hash_fd = bpf_map__fd(map);
		else if (strcmp(name, "ring") == 0)
			ring_fd = bpf_map__fd(map);
		else if (len >= 4 && strcmp(name + len - 4, ".bss") == 0)
			k->bss_fd = bpf_map__fd(map);
	}
	if (array_fd < 0 || hash_fd < 0 || ring_fd < 0 || k->bss_fd < 0) {
		snprintf(why, why_len, "the kernel's object lacks a map");
		return -1;
	}
	for (uint32_t i = 0; i < ENTRIES; i++) {
		struct value a = array_value(i), h = hash_value(i);
		if (bpf_map_update_elem(array_fd, &i, &a, 0) || bpf_map_update_elem(hash_fd, &i, &h, 0)) {
			snprintf(why, why_len, "cannot fill the kernel's maps: %s", strerror(errno));
			return -1;
		}
	}
	k->rb = ring_buffer__new(ring_fd, count_record, &k->records, NULL);
	if (!k->rb) {
		snprintf(why, why_len, "libbpf cannot map the kernel's ring buffer");
		return -1;
	}
	return 0;
}

static void kern_close(struct kern *k)
{
	ring_buffer__free(k->rb);
	bpf_object__close(k->obj);
}

/* ---- one sample of one program on one engine ---- */

struct target {
	struct vm *vm;
	struct kern *kern;       /* NULL: no kernel column */
	bpfvm_program *prog;
	int prog_fd;
	const char *name;
};

/* Runs it `repeat` times; *ns the mean run, and the checks.  Returns 0,
 * or -1 after saying what went wrong. */
static int sample(struct target *t, enum col c, uint32_t repeat, double *ns)
{
	uint8_t pkt[64] = { 0 };
	uint64_t result = ~0ull;
	size_t records = 0;
	bool ring = strcmp(t->name, "ringbuf_output") == 0;
	if (c == C_KERNEL) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof pkt, .repeat = repeat);
		if (bpf_prog_test_run_opts(t->prog_fd, &opts) || opts.retval != XDP_PASS) {
			fprintf(stderr, "bpfvm-bench: kernel test run of %s failed: %s\n", t->name, strerror(errno));
			return -1;
		}
		*ns = opts.duration;
		uint32_t zero = 0;
		if (bpf_map_lookup_elem(t->kern->bss_fd, &zero, &result))
			return -1;
		t->kern->records = 0;
		ring_buffer__consume(t->kern->rb);
		records = t->kern->records;
	} else {
		bpfvm_error err = { 0 };
		BPFVM_OPTS(bpfvm_test_run, run,
			.data_in = pkt,
			.data_size_in = sizeof pkt,
			.repeat = repeat,
			.mode = BPFVM_UNCHECKED,
			.engine = c == C_JIT ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP
		);
		if (bpfvm_program_test_run(t->prog, &run, &err) || run.retval != XDP_PASS) {
			fprintf(stderr, "bpfvm-bench: %s test run of %s failed: %s\n", col_names[c], t->name, err.msg);
			return -1;
		}
		*ns = (double)run.duration_ns;
		uint32_t zero = 0;
		memcpy(&result, bpfvm_map_lookup_elem(t->vm->bss, &zero), sizeof result);
		bpfvm_map_ringbuf_consume(t->vm->ring, count_record, &records, &err);
	}
	uint64_t want = want_result(t->name);
	if (result != want) {
		fprintf(stderr, "bpfvm-bench: %s on %s left %llu, expected %llu\n", t->name, col_names[c],
		        (unsigned long long)result, (unsigned long long)want);
		return -1;
	}
	if (ring && records != (size_t)OPS * repeat) {
		fprintf(stderr, "bpfvm-bench: %s on %s: %zu records, expected %zu\n", t->name, col_names[c], records,
		        (size_t)OPS * repeat);
		return -1;
	}
	return 0;
}

/* ---- the examples, per packet of traffic.pcap ---- */

struct packet {
	uint8_t *data;
	uint32_t len;
};

/* Classic pcap, read by hand (libpcap's headers clash with the kernel's). */
static size_t read_pcap(const char *path, struct packet *pk, size_t max)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	uint32_t hdr[6], rec[4];
	size_t n = 0;
	if (fread(hdr, 4, 6, f) == 6 && hdr[0] == 0xa1b2c3d4) {
		while (n < max && fread(rec, 4, 4, f) == 4 && rec[2] <= 65536) {
			pk[n].len = rec[2];
			pk[n].data = malloc(rec[2]);
			if (!pk[n].data || fread(pk[n].data, 1, rec[2], f) != rec[2]) {
				free(pk[n].data);
				break;
			}
			n++;
		}
	}
	fclose(f);
	return n;
}

struct example {
	const char *object;
	const char *prog;
};

/* The examples the kernel can run too (globals_subprog is a raw-memory
 * program, which it has no test run for). */
static const struct example examples[] = {
	{ "xdp_proto_count", "xdp_count" },
	{ "xdp_lpm_filter", "xdp_lpm" },
	{ "tail_calls", "dispatch" },
	{ "ringbuf_events", "xdp_events" },
	{ "perf_events", "xdp_sample" },
};
#define NEXAMPLES (sizeof examples / sizeof examples[0])

static int drain_none(void *ctx, void *data, size_t size)
{
	(void)ctx; (void)data; (void)size;
	return 0;
}

/* Mean time per packet of one pass over the capture, each packet run
 * `repeat` times; every engine must give each packet the same verdict. */
static int example_pass(const struct example *ex, struct vm *v, bpfvm_program *prog, struct bpf_object *kobj,
                        int kfd, enum col c, const struct packet *pk, size_t np, uint32_t repeat, uint32_t *verdicts,
                        double *ns)
{
	double total = 0;
	for (size_t i = 0; i < np; i++) {
		uint8_t out[4096];
		uint32_t verdict;
		double d;
		if (c == C_KERNEL) {
			LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pk[i].data, .data_size_in = pk[i].len,
			            .data_out = out, .data_size_out = sizeof out, .repeat = repeat);
			if (bpf_prog_test_run_opts(kfd, &opts)) {
				fprintf(stderr, "bpfvm-bench: kernel test run of %s failed: %s\n", ex->object, strerror(errno));
				return -1;
			}
			verdict = opts.retval;
			d = opts.duration;
		} else {
			bpfvm_error err = { 0 };
			BPFVM_OPTS(bpfvm_test_run, run,
				.data_in = pk[i].data,
				.data_size_in = pk[i].len,
				.data_out = out,
				.data_size_out = sizeof out,
				.repeat = repeat,
				.mode = BPFVM_UNCHECKED,
				.engine = c == C_JIT ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP
			);
			if (bpfvm_program_test_run(prog, &run, &err)) {
				fprintf(stderr, "bpfvm-bench: %s test run of %s failed: %s\n", col_names[c], ex->object,
				        err.msg);
				return -1;
			}
			verdict = (uint32_t)run.retval;
			d = (double)run.duration_ns;
		}
		if (verdicts[i] == UINT32_MAX) {
			verdicts[i] = verdict;
		} else if (verdicts[i] != verdict) {
			fprintf(stderr, "bpfvm-bench: %s packet %zu: %s says %u, another engine %u\n", ex->object, i,
			        col_names[c], verdict, verdicts[i]);
			return -1;
		}
		total += d;
	}
	/* Keep the ring buffers from filling up. */
	for (size_t m = 0; m < bpfvm_object_map_count(v->obj); m++)
		if (bpfvm_object_map_at(v->obj, m)->attrs.type == BPF_MAP_TYPE_RINGBUF)
			bpfvm_map_ringbuf_consume(bpfvm_instance_map(v->inst, m), drain_none, NULL, NULL);
	if (kobj) {
		struct bpf_map *map;
		bpf_object__for_each_map(map, kobj) {
			if (bpf_map__type(map) != BPF_MAP_TYPE_RINGBUF)
				continue;
			struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(map), drain_none, NULL, NULL);
			if (rb) {
				ring_buffer__consume(rb);
				ring_buffer__free(rb);
			}
		}
	}
	*ns = total / (double)np;
	return 0;
}

static int run_examples(const struct maps_options *o, bool kernel)
{
	struct packet pk[64];
	char pcap[512];
	snprintf(pcap, sizeof pcap, "%s/traffic.pcap", BENCH_EXAMPLES_SRC);
	size_t np = read_pcap(pcap, pk, 64);
	if (np == 0) {
		fprintf(stderr, "bpfvm-bench: cannot read %s\n", pcap);
		return -1;
	}
	printf("\nexamples: ns per packet, over the %zu packets of examples/traffic.pcap (each run %u times in one "
	       "test run)\n", np, o->quick ? 1u : EX_REPEAT);
	printf("%-16s %9s %9s %9s %8s\n", "example", col_names[0], col_names[1], col_names[2], "jit-u/k");
	int failed = 0;
	for (size_t e = 0; e < NEXAMPLES; e++) {
		const struct example *ex = &examples[e];
		if (o->filter && !strstr(ex->object, o->filter))
			continue;
		char path[512];
		snprintf(path, sizeof path, "%s/%s.bpf.o", BENCH_EXAMPLES_BIN, ex->object);
		struct vm v;
		bpfvm_error err = { 0 };
		if (vm_open(&v, path, &err)) {
			fprintf(stderr, "bpfvm-bench: %s: %s\n", path, err.msg);
			vm_close(&v);
			failed = 1;
			continue;
		}
		int idx = bpfvm_object_find_prog(v.obj, ex->prog);
		bpfvm_program *prog = idx >= 0 ? bpfvm_instance_prog(v.inst, (size_t)idx) : NULL;
		struct bpf_object *kobj = NULL;
		int kfd = -1;
		if (kernel) {
			kobj = bpf_object__open_file(path, NULL);
			if (kobj && !libbpf_get_error(kobj) && bpf_object__load(kobj) == 0) {
				struct bpf_program *kp = bpf_object__find_program_by_name(kobj, ex->prog);
				kfd = kp ? bpf_program__fd(kp) : -1;
			}
			if (kfd < 0) {
				fprintf(stderr, "bpfvm-bench: the kernel did not load %s\n", ex->object);
				if (kobj && !libbpf_get_error(kobj))
					bpf_object__close(kobj);
				kobj = NULL;
			}
		}
		uint32_t verdicts[64];
		for (size_t i = 0; i < np; i++)
			verdicts[i] = UINT32_MAX;
		unsigned samples = o->quick ? 1 : EX_SAMPLES;
		uint32_t repeat = o->quick ? 1 : EX_REPEAT;
		double s[C_COUNT][EX_SAMPLES], fig[C_COUNT] = { -1, -1, -1 };
		bool ok = prog != NULL;
		for (unsigned k = 0; ok && k < samples; k++)
			for (int c = 0; ok && c < C_COUNT; c++) {
				if (c == C_KERNEL && kfd < 0)
					continue;
				ok = example_pass(ex, &v, prog, kobj, kfd, (enum col)c, pk, np, repeat, verdicts, &s[c][k]) == 0;
			}
		if (ok)
			for (int c = 0; c < C_COUNT; c++)
				if (c != C_KERNEL || kfd >= 0)
					fig[c] = percentile(s[c], samples, PERCENTILE);
		printf("%-16s", ex->object);
		for (int c = 0; c < C_COUNT; c++)
			fig[c] < 0 ? printf(" %9s", "-") : printf(" %9.1f", fig[c]);
		fig[C_KERNEL] > 0 && fig[C_JIT] >= 0 ? printf(" %7.2fx\n", fig[C_JIT] / fig[C_KERNEL]) : printf(" %8s\n", "-");
		if (!ok)
			failed = 1;
		if (kobj)
			bpf_object__close(kobj);
		vm_close(&v);
	}
	for (size_t i = 0; i < np; i++)
		free(pk[i].data);
	return failed ? -1 : 0;
}

/* ---- the map operations ---- */

int maps_bench(const struct maps_options *o)
{
	struct vm v;
	bpfvm_error err = { 0 };
	if (vm_open(&v, BENCH_MAPS_OBJ, &err) || vm_fill(&v, &err)) {
		fprintf(stderr, "bpfvm-bench: %s: %s\n", BENCH_MAPS_OBJ, err.msg);
		vm_close(&v);
		return 1;
	}
	struct kern k;
	bool kernel = false;
	char why[256] = "not asked for (--kernel)";
	if (o->kernel)
		kernel = kern_open(&k, BENCH_MAPS_OBJ, why, sizeof why) == 0;

	struct target t[NOPS];
	for (size_t i = 0; i < NOPS; i++) {
		int idx = bpfvm_object_find_prog(v.obj, ops[i].prog);
		t[i] = (struct target){ .vm = &v, .kern = kernel ? &k : NULL, .name = ops[i].prog, .prog_fd = -1 };
		t[i].prog = idx >= 0 ? bpfvm_instance_prog(v.inst, (size_t)idx) : NULL;
		if (!t[i].prog) {
			fprintf(stderr, "bpfvm-bench: no program %s in %s\n", ops[i].prog, BENCH_MAPS_OBJ);
			vm_close(&v);
			return 1;
		}
		if (kernel) {
			struct bpf_program *kp = bpf_object__find_program_by_name(k.obj, ops[i].prog);
			t[i].prog_fd = kp ? bpf_program__fd(kp) : -1;
		}
	}

	printf("bpfvm-bench --maps: %s\n", o->quick ? "--quick: one sample per engine, figures are NOT meaningful" :
	       "per engine, the 10th-percentile of " "41" " interleaved samples, each a test run of 4 runs");
	if (!kernel)
		printf("kernel column skipped: %s\n", why);
	printf("\nmap operations: ns per operation = run time / %d turns - the bare loop's turn\n", OPS);
	printf("%-30s %9s %9s %9s %8s\n", "operation", col_names[0], col_names[1], col_names[2], "jit-u/k");

	unsigned samples = o->quick ? 1 : SAMPLES;
	uint32_t repeat = o->quick ? 1 : REPEAT;
	double turn[NOPS][C_COUNT];
	int failed = 0;
	for (size_t i = 0; i < NOPS; i++) {
		/* the bare loop is always measured: the others subtract it */
		if (i > 0 && o->filter && !strstr(ops[i].prog, o->filter))
			continue;
		double s[C_COUNT][SAMPLES];
		bool ok = true;
		for (unsigned n = 0; ok && n < samples; n++)
			for (int c = 0; ok && c < C_COUNT; c++) {
				if (c == C_KERNEL && (!kernel || t[i].prog_fd < 0))
					continue;
				ok = sample(&t[i], (enum col)c, repeat, &s[c][n]) == 0;
			}
		for (int c = 0; c < C_COUNT; c++)
			turn[i][c] = ok && (c != C_KERNEL || (kernel && t[i].prog_fd >= 0))
			                     ? percentile(s[c], samples, PERCENTILE) / OPS
			                     : NAN;
		if (!ok)
			failed = 1;
		/* NAN where an engine has no figure; an operation may come out
		 * at or just below zero where it costs less than the noise */
		double fig[C_COUNT];
		for (int c = 0; c < C_COUNT; c++)
			fig[c] = i == 0 ? turn[i][c] : turn[i][c] - turn[0][c];
		printf("%-30s", ops[i].label);
		for (int c = 0; c < C_COUNT; c++)
			isnan(fig[c]) ? printf(" %9s", "-") : printf(" %9.2f", fig[c]);
		!isnan(fig[C_KERNEL]) && !isnan(fig[C_JIT]) && fig[C_KERNEL] > 0
			? printf(" %7.2fx\n", fig[C_JIT] / fig[C_KERNEL])
			: printf(" %8s\n", "-");
	}
	printf("(a turn of each loop, before subtracting:");
	for (size_t i = 1, shown = 0; i < NOPS; i++) {
		if (o->filter && !strstr(ops[i].prog, o->filter))
			continue;
		printf("%s %s", shown++ ? ";" : "", ops[i].prog);
		for (int c = 0; c < C_COUNT; c++)
			isnan(turn[i][c]) ? printf(" -") : printf(" %.2f", turn[i][c]);
	}
	printf(")\n");

	if (run_examples(o, kernel) != 0)
		failed = 1;
	if (kernel)
		kern_close(&k);
	vm_close(&v);
	if (failed)
		printf("\nFAILED: see the errors above\n");
	return failed;
}
