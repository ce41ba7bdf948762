/*
 * test_objects.c - the example objects (built by clang from examples/)
 * and the run objects of tests/objects/ (callbacks, ...) run over every
 * packet of examples/traffic.pcap in bpfvm and in the
 * running kernel (loaded with libbpf, run with BPF_PROG_TEST_RUN): the
 * return values, the packets afterwards, every map's contents (but
 * per-CPU maps', whose slots depend on the CPU each packet ran on) and the
 * ring buffer records must be the same.  bpfvm runs in all four engine
 * and mode pairs.  Where bpf() is unavailable the kernel side is skipped,
 * saying so, and bpfvm's own expected figures are still checked.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpfvm/instance.h"

#ifndef BPFVM_EXAMPLES_DIR
#define BPFVM_EXAMPLES_DIR "build/examples"
#endif
#ifndef BPFVM_TEST_OBJECTS_DIR
#define BPFVM_TEST_OBJECTS_DIR "build/tests/objects"
#endif
#ifndef BPFVM_SOURCE_DIR
#define BPFVM_SOURCE_DIR "."
#endif

#include "support/check.h"

/* ---- the capture (classic pcap, read by hand: no libpcap here, whose
 * headers clash with the kernel's) ---- */

struct packet {
	uint8_t *data;
	uint32_t len;
};

static int read_pcap(const char *path, struct packet **out, size_t *count)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	uint32_t hdr[6];
	if (fread(hdr, 4, 6, f) != 6 || hdr[0] != 0xa1b2c3d4) {
		fclose(f);
		return -EINVAL;
	}
	size_t n = 0, cap = 64;
	struct packet *p = calloc(cap, sizeof *p);
	uint32_t rec[4];
	while (p && fread(rec, 4, 4, f) == 4) {
		if (n == cap)
			p = realloc(p, (cap *= 2) * sizeof *p);
		p[n].len = rec[2];
		p[n].data = malloc(rec[2]);
		if (fread(p[n].data, 1, rec[2], f) != rec[2])
			break;
		n++;
	}
	fclose(f);
	*out = p;
	*count = n;
	return 0;
}

/* ---- map contents as sorted (key, value) byte strings ---- */

struct entries {
	size_t n;
	size_t key_size, value_size;
	uint8_t *bytes;   /* n * (key_size + value_size) */
};

static size_t g_entry_size;
static int cmp_entry(const void *a, const void *b)
{
	return memcmp(a, b, g_entry_size);
}

static void sort_entries(struct entries *e)
{
	g_entry_size = e->key_size + e->value_size;
	if (e->n)
		qsort(e->bytes, e->n, g_entry_size, cmp_entry);
}

static void add_entry(struct entries *e, const void *key, const void *value)
{
	size_t es = e->key_size + e->value_size;
	e->bytes = realloc(e->bytes, (e->n + 1) * es);
	memcpy(e->bytes + e->n * es, key, e->key_size);
	memcpy(e->bytes + e->n * es + e->key_size, value, e->value_size);
	e->n++;
}

static void bpfvm_entries(bpfvm_map *m, struct entries *e)
{
	bpfvm_map_info info;
	bpfvm_map_info_get(m, &info);
	memset(e, 0, sizeof *e);
	e->key_size = info.key_size;
	e->value_size = info.user_value_size;
	uint8_t key[64], next[64], value[4096];
	const void *prev = NULL;
	while (info.key_size && bpfvm_map_get_next_key(m, prev, next, NULL) == 0) {
		memcpy(key, next, info.key_size);
		prev = key;
		if (bpfvm_map_lookup(m, key, value, 0, NULL) == 0)
			add_entry(e, key, value);
	}
	sort_entries(e);
}

static void kernel_entries(int fd, uint32_t key_size, uint32_t value_size, struct entries *e)
{
	memset(e, 0, sizeof *e);
	e->key_size = key_size;
	e->value_size = value_size;
	uint8_t key[64], next[64], value[4096];
	const void *prev = NULL;
	while (key_size && bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, value) == 0)
			add_entry(e, key, value);
	}
	sort_entries(e);
}

/* ---- ring buffer records ---- */

struct records {
	char text[8192];
	size_t len;
};

static int record_text(void *ctx, void *data, size_t size)
{
	struct records *r = ctx;
	for (size_t i = 0; i < size && r->len + 4 < sizeof r->text; i++)
		r->len += (size_t)snprintf(r->text + r->len, sizeof r->text - r->len, "%02x", ((uint8_t *)data)[i]);
	if (r->len + 2 < sizeof r->text)
		r->text[r->len++] = '|';
	r->text[r->len] = 0;
	return 0;
}

static int kernel_record(void *ctx, void *data, size_t size)
{
	return record_text(ctx, data, size);
}

/* ---- one example ---- */

struct example {
	const char *object;
	const char *prog;
	/* bpfvm's own expectations: verdict counts by value (XDP 0..4) */
	uint32_t want_verdicts[5];
	bool test_object;          /* from tests/objects/, not examples/ */
	/* and of the slots of its `results` array map, from the packets */
	void (*want_results)(const struct packet *pk, size_t np, uint64_t want[16]);
};

static bool is_percpu(uint32_t type)
{
	return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

/* tests/objects/callbacks.c's figures in closed form (its comments say
 * what each slot adds up); loop_xdp fills slots 0..6, each_xdp 7..15. */
static void callbacks_results(const struct packet *pk, size_t np, uint64_t want[16])
{
	uint64_t arr[8] = { 0 };
	size_t first16[16], first4[4];
	bool seen16[16] = { false }, seen4[4] = { false };
	size_t distinct16 = 0, distinct4 = 0;
	memset(want, 0, 16 * sizeof *want);
	for (size_t p = 0; p < np && p < 64; p++) {
		uint64_t len = pk[p].len, n = len & 31, m = len % 5;
		want[0] += n * (n - 1) / 2;
		want[1] += n;
		want[2] += len % 7 + 1;
		want[3] += (uint32_t)-22;
		want[4] += (uint32_t)-7;
		want[5] += 3 * (m * (m + 1) / 2);
		want[6] += 3 * m;
		arr[len & 7] += len;
		for (int i = 0; i <= 5; i++)
			want[7] += arr[i];
		want[8] += 6;
		if (!seen16[len % 16]) {
			seen16[len % 16] = true;
			first16[len % 16] = p;
			distinct16++;
		}
		if (!seen4[len % 4]) {
			seen4[len % 4] = true;
			first4[len % 4] = p;
			distinct4++;
		}
		want[9] += p + 1;
		want[10] += 2 * distinct16;
		want[11] += 1;
		want[12] += distinct16;
		for (int k = 0; k < 16; k++)
			if (seen16[k])
				want[13] += p - first16[k];
		want[14] += 6;
		want[15] += distinct4 + 2 * distinct16;
	}
	(void)first4;
}

static const struct example examples[] = {
	{ "xdp_proto_count", "xdp_count", { 0, 0, 26, 0, 0 }, false, NULL },
	{ "xdp_lpm_filter", "xdp_lpm", { 0, 10, 16, 0, 0 }, false, NULL },
	{ "tail_calls", "dispatch", { 0, 0, 26, 0, 0 }, false, NULL },
	{ "ringbuf_events", "xdp_events", { 0, 0, 26, 0, 0 }, false, NULL },
	{ "perf_events", "xdp_sample", { 0, 0, 26, 0, 0 }, false, NULL },
	{ "loop_callback", "loop_prog", { 0, 0, 26, 0, 0 }, true, NULL },
	{ "callbacks", "loop_xdp", { 0, 0, 26, 0, 0 }, true, callbacks_results },
	{ "callbacks", "each_xdp", { 0, 0, 26, 0, 0 }, true, callbacks_results },
};

struct result {
	uint32_t verdicts[5];
	uint64_t retvals[64];
	uint8_t out[64][2048];
	uint32_t out_len[64];
	struct records rb;
};

static void run_bpfvm(const struct example *ex, const char *path, const struct packet *pk, size_t np, int combo,
                      struct result *r, struct entries *maps, size_t *nmaps)
{
	memset(r, 0, sizeof *r);
	bpfvm_object *obj = NULL;
	bpfvm_instance *inst = NULL;
	bpfvm_error err = { 0 };
	if (bpfvm_object_open(path, &obj, &err)) {
		CHECK(0, "%s: open: %s", ex->object, err.msg);
		return;
	}
	BPFVM_OPTS(bpfvm_instance_opts, io, .jit = true);
	if (bpfvm_instance_new(obj, &io, &inst, &err)) {
		CHECK(0, "%s: instance: %s", ex->object, err.msg);
		bpfvm_object_free(obj);
		return;
	}
	int idx = bpfvm_object_find_prog(obj, ex->prog);
	bpfvm_program *prog = idx >= 0 ? bpfvm_instance_prog(inst, (size_t)idx) : NULL;
	CHECK(prog != NULL, "%s: no program %s", ex->object, ex->prog);
	size_t nregions;
	const bpfvm_region *regions = bpfvm_instance_regions(inst, &nregions);
	for (size_t i = 0; prog && i < np && i < 64; i++) {
		BPFVM_OPTS(bpfvm_test_run, t,
			.data_in = pk[i].data, .data_size_in = pk[i].len,
			.data_out = r->out[i], .data_size_out = sizeof r->out[i],
			.mode = (bpfvm_mode)(combo & 1),
			.engine = combo & 2 ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP,
			.regions = regions, .region_count = nregions
		);
		if (bpfvm_program_test_run(prog, &t, &err)) {
			CHECK(0, "%s combo %d packet %zu: %s", ex->object, combo, i, err.msg);
			break;
		}
		r->retvals[i] = t.retval;
		r->out_len[i] = t.data_size_out;
		if (t.retval < 5)
			r->verdicts[t.retval]++;
	}
	*nmaps = 0;
	for (size_t m = 0; m < bpfvm_object_map_count(obj) && m < 8; m++) {
		bpfvm_map *map = bpfvm_instance_map(inst, m);
		bpfvm_map_info info;
		bpfvm_map_info_get(map, &info);
		if (info.type == 27 /* ringbuf */) {
			bpfvm_map_ringbuf_consume(map, record_text, &r->rb, NULL);
			continue;
		}
		if (info.type == 3 /* prog_array */ || strstr(info.name, ".rodata") || is_percpu(info.type))
			continue;   /* ids differ; read-only data says nothing */
		if (ex->want_results && !strcmp(info.name, "results")) {
			uint64_t want[16];
			ex->want_results(pk, np, want);
			bool loop = !strcmp(ex->prog, "loop_xdp");
			for (uint32_t k = loop ? 0 : 7; k < (loop ? 7u : 16u); k++) {
				uint64_t got = 0;
				bpfvm_map_lookup(map, &k, &got, 0, NULL);
				CHECK(got == want[k], "%s/%s combo %d: results[%u] = %" PRIu64 ", want %" PRIu64, ex->object,
				      ex->prog, combo, k, got, want[k]);
			}
		}
		bpfvm_entries(map, &maps[(*nmaps)++]);
	}
	bpfvm_instance_free(inst);
	bpfvm_object_free(obj);
}

/* The same in the kernel, through libbpf.  Returns false if it could not
 * load (the caller reports it). */
static bool run_kernel(const struct example *ex, const char *path, const struct packet *pk, size_t np,
                       struct result *r, struct entries *maps, size_t *nmaps)
{
	memset(r, 0, sizeof *r);
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!obj || libbpf_get_error(obj)) {
		CHECK(0, "%s: libbpf open failed", ex->object);
		return false;
	}
	if (bpf_object__load(obj)) {
		CHECK(0, "%s: the kernel refused to load it", ex->object);
		bpf_object__close(obj);
		return false;
	}
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, ex->prog);
	int fd = bpf_program__fd(prog);
	struct ring_buffer *rb = NULL;
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj)
		if (bpf_map__type(map) == BPF_MAP_TYPE_RINGBUF)
			rb = ring_buffer__new(bpf_map__fd(map), kernel_record, &r->rb, NULL);
	for (size_t i = 0; i < np && i < 64; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pk[i].data, .data_size_in = pk[i].len,
		            .data_out = r->out[i], .data_size_out = sizeof r->out[i], .repeat = 1);
		int rc = bpf_prog_test_run_opts(fd, &t);
		CHECK(rc == 0, "%s: kernel test run of packet %zu: %d", ex->object, i, rc);
		r->retvals[i] = t.retval;
		r->out_len[i] = t.data_size_out;
		if (t.retval < 5)
			r->verdicts[t.retval]++;
	}
	if (rb) {
		ring_buffer__consume(rb);
		ring_buffer__free(rb);
	}
	*nmaps = 0;
	bpf_object__for_each_map(map, obj) {
		if (bpf_map__type(map) == BPF_MAP_TYPE_RINGBUF || bpf_map__type(map) == BPF_MAP_TYPE_PROG_ARRAY ||
		    strstr(bpf_map__name(map), ".rodata") || is_percpu(bpf_map__type(map)))
			continue;
		kernel_entries(bpf_map__fd(map), bpf_map__key_size(map), bpf_map__value_size(map), &maps[(*nmaps)++]);
	}
	bpf_object__close(obj);
	return true;
}

static bool kernel_available(char *why, size_t len)
{
	struct bpf_insn ret0[] = { { .code = 0xb7 }, { .code = 0x95 } };
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, NULL, "GPL", ret0, 2, NULL);
	if (fd < 0) {
		snprintf(why, len, "%s", strerror(errno));
		return false;
	}
	close(fd);
	return true;
}

int main(void)
{
	struct packet *pk = NULL;
	size_t np = 0;
	if (read_pcap(BPFVM_SOURCE_DIR "/examples/traffic.pcap", &pk, &np)) {
		printf("FAIL cannot read examples/traffic.pcap\n");
		return 1;
	}
	libbpf_set_print(NULL);
	char why[128];
	bool kernel = kernel_available(why, sizeof why);
	if (!kernel)
		printf("skipped: kernel comparison: bpf() unavailable: %s\n", why);
	static struct result mine, ref;
	static struct entries my_maps[8], ref_maps[8];
	for (size_t e = 0; e < sizeof examples / sizeof examples[0]; e++) {
		const struct example *ex = &examples[e];
		char path[512];
		snprintf(path, sizeof path, "%s/%s.bpf.o", ex->test_object ? BPFVM_TEST_OBJECTS_DIR : BPFVM_EXAMPLES_DIR,
		         ex->object);
		size_t nref = 0;
		bool have_ref = kernel && run_kernel(ex, path, pk, np, &ref, ref_maps, &nref);
		for (int combo = 0; combo < 4; combo++) {
			size_t nmine = 0;
			run_bpfvm(ex, path, pk, np, combo, &mine, my_maps, &nmine);
			CHECK(!memcmp(mine.verdicts, ex->want_verdicts, sizeof mine.verdicts),
			      "%s combo %d: verdicts %u/%u/%u/%u/%u", ex->object, combo, mine.verdicts[0],
			      mine.verdicts[1], mine.verdicts[2], mine.verdicts[3], mine.verdicts[4]);
			if (!have_ref)
				continue;
			for (size_t i = 0; i < np && i < 64; i++) {
				CHECK((uint32_t)mine.retvals[i] == (uint32_t)ref.retvals[i],
				      "%s combo %d packet %zu: return %" PRIu64 ", kernel %" PRIu64, ex->object, combo, i,
				      mine.retvals[i], ref.retvals[i]);
				CHECK(mine.out_len[i] == ref.out_len[i] && !memcmp(mine.out[i], ref.out[i], mine.out_len[i]),
				      "%s combo %d packet %zu: output packet differs", ex->object, combo, i);
			}
			CHECK(nmine == nref, "%s combo %d: %zu maps, kernel %zu", ex->object, combo, nmine, nref);
			for (size_t m = 0; m < nmine && m < nref; m++) {
				bool same = my_maps[m].n == ref_maps[m].n && my_maps[m].key_size == ref_maps[m].key_size &&
				            my_maps[m].value_size == ref_maps[m].value_size &&
				            (my_maps[m].n == 0 ||
				             !memcmp(my_maps[m].bytes, ref_maps[m].bytes,
				                     my_maps[m].n * (my_maps[m].key_size + my_maps[m].value_size)));
				CHECK(same, "%s combo %d: map %zu differs (%zu entries, kernel %zu)", ex->object, combo, m,
				      my_maps[m].n, ref_maps[m].n);
				free(my_maps[m].bytes);
			}
			CHECK(!strcmp(mine.rb.text, ref.rb.text), "%s combo %d: ring buffer records differ:\n  %s\n  %s",
			      ex->object, combo, mine.rb.text, ref.rb.text);
		}
		for (size_t m = 0; m < nref; m++)
			free(ref_maps[m].bytes);
	}
	for (size_t i = 0; i < np; i++)
		free(pk[i].data);
	free(pk);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
