/*
 * test_maps_signal_types.c - every map type but the hash family (which
 * test_maps_signal.c covers) used by a program run in a signal handler
 * that interrupts its own thread anywhere, as the trace agent's SIGSYS
 * and SIGTRAP hooks do: the thread loops doing a type's operations (the
 * program-side API and user space, by turns), while a timer aimed at it
 * fires every few microseconds and its handler runs a program doing the
 * same operations on the same map.  Nothing may hang (the handler may
 * interrupt an operation holding the map's lock: its own then fails as
 * the kernel's does on re-entrance, -EBUSY or no record), the looping
 * thread never sees such a failure, and afterwards the counts add up:
 * what went in came out or is still there, once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/maps.h"
#include "maps/map_internal.h"
#include "support/check.h"
#include "support/maps_test.h"
#include "support/prog_build.h"
#include "support/signal_timer.h"

#define RUN_NS 1000000000ull
#define TIMER_NS 20000       /* 50,000 signals a second */
#define HANG_NS 20000000000ull   /* a type still running this long after its start hangs */

enum { HELPER_UPDATE = 2, HELPER_DELETE = 3, HELPER_PERF_OUTPUT = 25, HELPER_PUSH = 87,
       HELPER_POP = 88, HELPER_RINGBUF_OUTPUT = 130, HELPER_RINGBUF_RESERVE = 131, HELPER_RINGBUF_SUBMIT = 132 };

/* The programs' context: an operation, its argument, and what it read. */
struct op_ctx {
	uint64_t op;
	uint64_t value;
	uint64_t out;
};

/* One map type under test: its map, the looping thread's step, the
 * handler's step (running `prog`) and the check afterwards. */
struct kind {
	const char *name;
	bpfvm_map *map;
	bpfvm_program *prog;   /* the handler's (none for stack_trace) */
	void (*main_step)(struct kind *k, uint64_t i);
	long (*handler_step)(struct kind *k, uint64_t n);   /* 0, or the failure */
	void (*check)(struct kind *k);
};

static const bpfvm_helpers *helpers;
static struct kind *current;
static struct handler_tally handler;
static int main_failures;

static long run_prog(const bpfvm_program *prog, struct op_ctx *c)
{
	return signal_run_program(prog, c, sizeof *c, true);
}

static void on_timer(int sig)
{
	(void)sig;
	int saved_errno = errno;
	handler_tally_note(&handler, current->handler_step(current, ++handler.runs));
	errno = saved_errno;
}

static void main_failed(const char *what, long rc)
{
	if (!main_failures++)
		printf("looping thread: %s: %ld\n", what, rc);
}

static bpfvm_map *make_map(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                           uint32_t flags)
{
	bpfvm_map *m = NULL;
	bpfvm_error err = { 0 };
	CHECK(mt_try_map(type, key_size, value_size, max_entries, flags, NULL, &m, &err) == 0, "create %s: %s",
	      map_type_label(type), err.msg);
	return m;
}

static bpfvm_program *load(struct prog *p, bpfvm_map *m)
{
	bpfvm_program *prog = NULL;
	bpfvm_error err = { 0 };
	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = helpers, .jit = true, .prog_type = BPFVM_PROG_TYPE_RAW, .maps = &m,
	           .map_count = 1);
	CHECK(bpfvm_program_load(p->i, p->n, &lo, &prog, &err) == 0, "load: %s", err.msg);
	return prog;
}

/* The test's own timeout: a hang (the thread waiting for a lock its
 * interrupted code holds) ends the test with the type's name. */
static const char *_Atomic running_name;
static _Atomic uint64_t running_since;

static void *watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		sleep(1);
		const char *name = running_name;
		if (name && monotonic_ns() - running_since > HANG_NS) {
			printf("FAIL: %s: no progress for %llu s: a hang\n", name, HANG_NS / 1000000000ull);
			fflush(stdout);
			_exit(1);
		}
	}
	return NULL;
}

/* Runs k for RUN_NS with the timer on, then checks it.  A kind whose
 * map could not be made has failed already. */
static void run_kind(struct kind *k)
{
	if (!k->map)
		return;
	current = k;
	running_since = monotonic_ns();
	running_name = k->name;
	handler = (struct handler_tally){ 0 };
	main_failures = 0;
	uint64_t steps = 0;
	timer_t t = signal_timer_start(TIMER_NS);
	for (uint64_t end = monotonic_ns() + RUN_NS; monotonic_ns() < end;)
		for (int j = 0; j < 256; j++)
			k->main_step(k, steps++);
	timer_delete(t);
	running_name = NULL;
	printf("%s: %" PRIu64 " steps of the looping thread, %" PRIu64 " handler runs (%" PRIu64 " -EBUSY)\n",
	       k->name, steps, handler.runs, handler.busy);
	CHECK(main_failures == 0, "%s: the looping thread's operations failed %d times", k->name, main_failures);
	handler_tally_check(&handler, k->name);
	/* the handler did find its thread inside the map's lock */
	CHECK(handler.busy > 0, "%s: no handler run interrupted an operation holding the lock", k->name);
	k->check(k);
	bpfvm_program_free(k->prog);
	bpfvm_map_put(k->map);
}

/* ---- queue and stack: pushed = popped + left -------------------------------- */

#define QS_ENTRIES 64u

/* What each side moved, values pushed and popped by count and sum: one
 * tally per side, since the handler may interrupt an update of the
 * looping thread's. */
struct qs_tally {
	uint64_t pushed, pushed_sum, popped, popped_sum;
};
static struct qs_tally qs_main, qs_handler;

/* r0 = op ? bpf_map_pop_elem(map, &v) (then ctx->out = v) : bpf_map_push_elem(map, &ctx->value, 0) */
static bpfvm_program *qs_prog(bpfvm_map *m)
{
	struct prog p = { .n = 0 };
	emit(&p, insn(0xbf, 6, 1, 0, 0));          /* r6 = r1 */
	emit(&p, insn(0x79, 7, 6, 0, 0));          /* r7 = ctx->op */
	emit(&p, insn(0x79, 8, 6, 8, 0));          /* r8 = ctx->value */
	emit(&p, insn(0x7b, 10, 8, -8, 0));        /* *(u64 *)(r10 - 8) = r8 */
	emit_imm64(&p, 1, (uint64_t)(uintptr_t)m);
	emit(&p, insn(0xbf, 2, 10, 0, 0));         /* r2 = r10 */
	emit(&p, insn(0x07, 2, 0, 0, -8));         /* r2 += -8 */
	emit(&p, insn(0x55, 7, 0, 3, 0));          /* if r7 != 0 goto pop */
	emit(&p, insn(0xb7, 3, 0, 0, 0));          /* r3 = 0 */
	emit(&p, insn(0x85, 0, 0, 0, HELPER_PUSH));
	emit(&p, insn(0x95, 0, 0, 0, 0));
	emit(&p, insn(0x85, 0, 0, 0, HELPER_POP)); /* pop: */
	emit(&p, insn(0x79, 8, 10, -8, 0));        /* r8 = *(u64 *)(r10 - 8) */
	emit(&p, insn(0x7b, 6, 8, 16, 0));         /* ctx->out = r8 */
	emit(&p, insn(0x95, 0, 0, 0, 0));
	return load(&p, m);
}

/* A push (-E2BIG when full) or a pop (-ENOENT when empty) of either side. */
static long qs_op(struct qs_tally *t, bool pop, uint64_t v, long rc)
{
	if (rc == 0) {
		if (pop) {
			t->popped++;
			t->popped_sum += v;
		} else {
			t->pushed++;
			t->pushed_sum += v;
		}
		return 0;
	}
	return rc == (pop ? -ENOENT : -E2BIG) ? 0 : rc;
}

static void qs_main_step(struct kind *k, uint64_t i)
{
	/* by turns 4096 steps mostly pushing, 4096 mostly popping: full and empty both happen */
	bool pop = ((i >> 12) & 1) ? i % 3 != 0 : i % 3 == 0;
	uint64_t v = 2 * i + 2;   /* the looping thread's values are even */
	long rc;
	if (i & 2) {
		rc = pop ? bpfvm_map_pop_elem(k->map, &v) : bpfvm_map_push_elem(k->map, &v, 0);
	} else {
		bpfvm_error err = { 0 };
		rc = pop ? bpfvm_map_pop(k->map, &v, &err) : bpfvm_map_push(k->map, &v, 0, &err);
	}
	if ((rc = qs_op(&qs_main, pop, v, rc)) != 0)
		main_failed(pop ? "pop" : "push", rc);
}

static long qs_handler_step(struct kind *k, uint64_t n)
{
	struct op_ctx c = { .op = n & 1, .value = 2 * n + 1 };   /* the handler's are odd */
	long rc = run_prog(k->prog, &c);
	return qs_op(&qs_handler, c.op, c.op ? c.out : c.value, rc);
}

static void qs_check(struct kind *k)
{
	uint64_t left = 0, left_sum = 0, v;
	while (bpfvm_map_pop_elem(k->map, &v) == 0 && left <= QS_ENTRIES) {
		left++;
		left_sum += v;
	}
	uint64_t pushed = qs_main.pushed + qs_handler.pushed, popped = qs_main.popped + qs_handler.popped;
	CHECK(pushed == popped + left, "%s: %" PRIu64 " pushed, %" PRIu64 " popped, %" PRIu64 " left", k->name, pushed,
	      popped, left);
	CHECK(qs_main.pushed_sum + qs_handler.pushed_sum == qs_main.popped_sum + qs_handler.popped_sum + left_sum,
	      "%s: the values popped and left are not those pushed", k->name);
	CHECK(qs_handler.pushed && qs_handler.popped, "%s: the handler pushed %" PRIu64 ", popped %" PRIu64, k->name,
	      qs_handler.pushed, qs_handler.popped);
}

static void run_queue_stack(uint32_t type, const char *name)
{
	memset(&qs_main, 0, sizeof qs_main);
	memset(&qs_handler, 0, sizeof qs_handler);
	struct kind k = { .name = name, .main_step = qs_main_step, .handler_step = qs_handler_step, .check = qs_check };
	k.map = make_map(type, 0, 8, QS_ENTRIES, 0);
	k.prog = k.map ? qs_prog(k.map) : NULL;
	run_kind(&k);
}

/* ---- ring buffer: produced = consumed, every record once ---------------------- */

#define RB_SIZE (1u << 20)

/* Records produced by each side (count, sum of values) and consumed. */
struct rb_tally {
	uint64_t n, sum;
};
static struct rb_tally rb_main, rb_handler, rb_consumed;

static int rb_sample(void *ctx, void *data, size_t size)
{
	(void)ctx;
	uint64_t v = 0;
	if (size == sizeof v)
		memcpy(&v, data, sizeof v);
	rb_consumed.n++;
	rb_consumed.sum += v;
	return 0;
}

/* op 0: r0 = bpf_ringbuf_output(map, &value, 8, 0); else reserve 8 bytes,
 * store value, submit: r0 = 0, or -EAGAIN without a record */
static bpfvm_program *rb_prog(bpfvm_map *m)
{
	struct prog p = { .n = 0 };
	emit(&p, insn(0xbf, 6, 1, 0, 0));          /* r6 = r1 */
	emit(&p, insn(0x79, 7, 6, 0, 0));          /* r7 = ctx->op */
	emit(&p, insn(0x79, 8, 6, 8, 0));          /* r8 = ctx->value */
	emit(&p, insn(0x7b, 10, 8, -8, 0));        /* *(u64 *)(r10 - 8) = r8 */
	emit_imm64(&p, 1, (uint64_t)(uintptr_t)m);
	emit(&p, insn(0x55, 7, 0, 6, 0));          /* if r7 != 0 goto reserve */
	emit(&p, insn(0xbf, 2, 10, 0, 0));         /* r2 = r10 */
	emit(&p, insn(0x07, 2, 0, 0, -8));         /* r2 += -8 */
	emit(&p, insn(0xb7, 3, 0, 0, 8));          /* r3 = 8 */
	emit(&p, insn(0xb7, 4, 0, 0, 0));          /* r4 = 0 */
	emit(&p, insn(0x85, 0, 0, 0, HELPER_RINGBUF_OUTPUT));
	emit(&p, insn(0x95, 0, 0, 0, 0));
	emit(&p, insn(0xb7, 2, 0, 0, 8));          /* reserve: r2 = 8 */
	emit(&p, insn(0xb7, 3, 0, 0, 0));          /* r3 = 0 */
	emit(&p, insn(0x85, 0, 0, 0, HELPER_RINGBUF_RESERVE));
	emit(&p, insn(0x15, 0, 0, 6, 0));          /* if r0 == 0 goto none */
	emit(&p, insn(0x7b, 0, 8, 0, 0));          /* *(u64 *)r0 = r8 */
	emit(&p, insn(0xbf, 1, 0, 0, 0));          /* r1 = r0 */
	emit(&p, insn(0xb7, 2, 0, 0, 0));          /* r2 = 0 */
	emit(&p, insn(0x85, 0, 0, 0, HELPER_RINGBUF_SUBMIT));
	emit(&p, insn(0xb7, 0, 0, 0, 0));          /* r0 = 0 */
	emit(&p, insn(0x95, 0, 0, 0, 0));
	emit(&p, insn(0xb7, 0, 0, 0, -EAGAIN));    /* none: r0 = -EAGAIN */
	emit(&p, insn(0x95, 0, 0, 0, 0));
	return load(&p, m);
}

static void rb_main_step(struct kind *k, uint64_t i)
{
	uint64_t v = 2 * i + 2;
	if (i & 1) {
		long rc = bpfvm_map_ringbuf_output(k->map, &v, sizeof v, 0);
		if (rc != 0)
			main_failed("ringbuf output", rc);
		else
			rb_main.n++, rb_main.sum += v;
	} else {
		uint64_t *rec = bpfvm_map_ringbuf_reserve(k->map, sizeof v, 0);
		if (!rec) {
			main_failed("ringbuf reserve", -EAGAIN);
		} else if (i & 2) {
			*rec = v;
			bpfvm_map_ringbuf_submit(rec, 0);
			rb_main.n++, rb_main.sum += v;
		} else {
			bpfvm_map_ringbuf_discard(rec, 0);
		}
	}
	if ((i & 63) == 63) {
		bpfvm_error err = { 0 };
		int rc = bpfvm_map_ringbuf_consume(k->map, rb_sample, NULL, &err);
		if (rc < 0)
			main_failed("ringbuf consume", rc);
	}
}

/* The ring never fills (the looping thread consumes often): a handler
 * without a record was re-entered. */
static long rb_handler_step(struct kind *k, uint64_t n)
{
	struct op_ctx c = { .op = n & 1, .value = 2 * n + 1 };
	long rc = run_prog(k->prog, &c);
	if (rc == 0)
		rb_handler.n++, rb_handler.sum += c.value;
	return rc == -EAGAIN ? -EBUSY : rc;
}

static void rb_check(struct kind *k)
{
	bpfvm_error err = { 0 };
	CHECK(bpfvm_map_ringbuf_consume(k->map, rb_sample, NULL, &err) >= 0, "%s: consume: %s", k->name, err.msg);
	CHECK(bpfvm_map_ringbuf_query(k->map, BPFVM_RB_AVAIL_DATA) == 0, "%s: data left after consuming", k->name);
	CHECK(rb_consumed.n == rb_main.n + rb_handler.n,
	      "%s: %" PRIu64 " records consumed, %" PRIu64 " + %" PRIu64 " produced", k->name, rb_consumed.n, rb_main.n,
	      rb_handler.n);
	CHECK(rb_consumed.sum == rb_main.sum + rb_handler.sum, "%s: the records consumed are not those produced",
	      k->name);
	CHECK(rb_handler.n > 0, "%s: the handler produced nothing", k->name);
}

static void run_ringbuf(void)
{
	memset(&rb_main, 0, sizeof rb_main);
	memset(&rb_handler, 0, sizeof rb_handler);
	memset(&rb_consumed, 0, sizeof rb_consumed);
	struct kind k = { .name = "ringbuf", .main_step = rb_main_step, .handler_step = rb_handler_step,
	                  .check = rb_check };
	k.map = make_map(BPFVM_MAP_TYPE_RINGBUF, 0, 0, RB_SIZE, 0);
	k.prog = k.map ? rb_prog(k.map) : NULL;
	run_kind(&k);
}

/* The table submit finds a record's ring in (lock-free, grown by copying,
 * slots reused after a ring is freed): with rings made and freed around
 * them, each record reserved in each of 20 rings is submitted to its own. */
static int rb_count_sample(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	++*(int *)ctx;
	return 0;
}

static void check_ring_table(void)
{
	enum { RINGS = 20 };
	bpfvm_map *ring[RINGS];
	void *rec[RINGS];
	for (int i = 0; i < RINGS; i++)
		ring[i] = make_map(BPFVM_MAP_TYPE_RINGBUF, 0, 0, 4096, 0);
	for (int i = 0; i < RINGS; i += 3) {   /* free some, make others in their slots */
		bpfvm_map_put(ring[i]);
		ring[i] = make_map(BPFVM_MAP_TYPE_RINGBUF, 0, 0, 8192, 0);
	}
	for (int i = 0; i < RINGS; i++)
		rec[i] = ring[i] ? bpfvm_map_ringbuf_reserve(ring[i], 8, 0) : NULL;
	for (int i = RINGS - 1; i >= 0; i--)
		if (rec[i])
			bpfvm_map_ringbuf_submit(rec[i], 0);
	int wrong = 0;
	for (int i = 0; i < RINGS; i++) {
		int n = 0;
		bpfvm_error err = { 0 };
		if (!ring[i] || !rec[i] || bpfvm_map_ringbuf_consume(ring[i], rb_count_sample, &n, &err) != 1 || n != 1)
			wrong++;
		bpfvm_map_put(ring[i]);
	}
	CHECK(wrong == 0, "ring table: %d of %d rings did not get their own record back", wrong, RINGS);
}

/* ---- perf event array: output = read, nothing lost --------------------------- */

static struct rb_tally pf_main, pf_handler, pf_read;
static uint64_t pf_lost;

static void pf_sample(void *ctx, int cpu, void *data, uint32_t size)
{
	(void)ctx;
	(void)cpu;
	uint64_t v = 0;
	if (size >= sizeof v)
		memcpy(&v, data, sizeof v);
	pf_read.n++;
	pf_read.sum += v;
}

static void pf_lost_fn(void *ctx, int cpu, uint64_t lost)
{
	(void)ctx;
	(void)cpu;
	pf_lost += lost;
}

/* r0 = bpf_perf_event_output(ctx, map, 0 (index 0), &value, 8) */
static bpfvm_program *pf_prog(bpfvm_map *m)
{
	struct prog p = { .n = 0 };
	emit(&p, insn(0x79, 8, 1, 8, 0));          /* r8 = ctx->value */
	emit(&p, insn(0x7b, 10, 8, -8, 0));        /* *(u64 *)(r10 - 8) = r8 */
	emit_imm64(&p, 2, (uint64_t)(uintptr_t)m);
	emit(&p, insn(0xb7, 3, 0, 0, 0));          /* r3 = 0 */
	emit(&p, insn(0xbf, 4, 10, 0, 0));         /* r4 = r10 */
	emit(&p, insn(0x07, 4, 0, 0, -8));         /* r4 += -8 */
	emit(&p, insn(0xb7, 5, 0, 0, 8));          /* r5 = 8 */
	emit(&p, insn(0x85, 0, 0, 0, HELPER_PERF_OUTPUT));
	emit(&p, insn(0x95, 0, 0, 0, 0));
	return load(&p, m);
}

static void pf_main_step(struct kind *k, uint64_t i)
{
	uint64_t v = 2 * i + 2;
	long rc = bpfvm_map_perf_event_output(k->map, 0, &v, sizeof v);
	if (rc != 0)
		main_failed("perf output", rc);
	else
		pf_main.n++, pf_main.sum += v;
	if ((i & 63) == 63) {
		bpfvm_error err = { 0 };
		int n = bpfvm_map_perf_consume(k->map, pf_sample, pf_lost_fn, NULL, &err);
		if (n < 0)
			main_failed("perf consume", n);
	}
}

static long pf_handler_step(struct kind *k, uint64_t n)
{
	struct op_ctx c = { .value = 2 * n + 1 };
	long rc = run_prog(k->prog, &c);
	if (rc == 0)
		pf_handler.n++, pf_handler.sum += c.value;
	return rc;
}

static void pf_check(struct kind *k)
{
	bpfvm_error err = { 0 };
	CHECK(bpfvm_map_perf_consume(k->map, pf_sample, pf_lost_fn, NULL, &err) >= 0, "%s: consume: %s", k->name,
	      err.msg);
	CHECK(pf_lost == 0, "%s: %" PRIu64 " samples lost", k->name, pf_lost);
	CHECK(pf_read.n == pf_main.n + pf_handler.n, "%s: %" PRIu64 " samples read, %" PRIu64 " + %" PRIu64 " output",
	      k->name, pf_read.n, pf_main.n, pf_handler.n);
	CHECK(pf_read.sum == pf_main.sum + pf_handler.sum, "%s: the samples read are not those output", k->name);
	CHECK(pf_handler.n > 0, "%s: the handler output nothing", k->name);
}

static void run_perf(void)
{
	memset(&pf_main, 0, sizeof pf_main);
	memset(&pf_handler, 0, sizeof pf_handler);
	memset(&pf_read, 0, sizeof pf_read);
	pf_lost = 0;
	struct kind k = { .name = "perf_event_array", .main_step = pf_main_step, .handler_step = pf_handler_step,
	                  .check = pf_check };
	k.map = make_map(BPFVM_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 1, 0);
	bpfvm_error err = { 0 };
	if (k.map)
		CHECK(bpfvm_map_perf_attach(k.map, 0, 1u << 20, &err) == 0, "perf attach: %s", err.msg);
	k.prog = k.map ? pf_prog(k.map) : NULL;
	run_kind(&k);
}

/* ---- LPM trie: each side's prefixes as its successful updates left them ------- */

#define LPM_MAIN_KEYS 256u      /* prefixes [0, 256) are the looping thread's */
#define LPM_HANDLER_KEYS 128u   /* [256, 384) the handler's */
#define LPM_ALL_KEYS (LPM_MAIN_KEYS + LPM_HANDLER_KEYS)

static uint64_t lpm_want[LPM_ALL_KEYS];

/* Prefix k: a /32 in 10.x.y.1, so that prefixes share leading bits and
 * the trie has intermediate nodes. */
static uint64_t lpm_key(uint32_t k)
{
	uint8_t key[8] = { 32, 0, 0, 0, 10, (uint8_t)(k >> 8), (uint8_t)k, 1 };
	uint64_t w;
	memcpy(&w, key, sizeof w);
	return w;
}

/* r0 = op ? bpf_map_delete_elem(map, &key) : bpf_map_update_elem(map, &key, &value, BPF_ANY),
 * the key in ctx->out */
static bpfvm_program *lpm_prog(bpfvm_map *m)
{
	struct prog p = { .n = 0 };
	emit(&p, insn(0xbf, 6, 1, 0, 0));          /* r6 = r1 */
	emit(&p, insn(0x79, 7, 6, 16, 0));         /* r7 = the key */
	emit(&p, insn(0x7b, 10, 7, -8, 0));        /* *(u64 *)(r10 - 8) = r7 */
	emit(&p, insn(0x79, 8, 6, 8, 0));          /* r8 = ctx->value */
	emit(&p, insn(0x7b, 10, 8, -16, 0));       /* *(u64 *)(r10 - 16) = r8 */
	emit(&p, insn(0x79, 7, 6, 0, 0));          /* r7 = ctx->op */
	emit_imm64(&p, 1, (uint64_t)(uintptr_t)m);
	emit(&p, insn(0xbf, 2, 10, 0, 0));         /* r2 = r10 */
	emit(&p, insn(0x07, 2, 0, 0, -8));         /* r2 += -8 */
	emit(&p, insn(0x55, 7, 0, 5, 0));          /* if r7 != 0 goto delete */
	emit(&p, insn(0xbf, 3, 10, 0, 0));         /* r3 = r10 */
	emit(&p, insn(0x07, 3, 0, 0, -16));        /* r3 += -16 */
	emit(&p, insn(0xb7, 4, 0, 0, 0));          /* r4 = BPF_ANY */
	emit(&p, insn(0x85, 0, 0, 0, HELPER_UPDATE));
	emit(&p, insn(0x95, 0, 0, 0, 0));
	emit(&p, insn(0x85, 0, 0, 0, HELPER_DELETE)); /* delete: */
	emit(&p, insn(0x95, 0, 0, 0, 0));
	return load(&p, m);
}

static void lpm_main_step(struct kind *k, uint64_t i)
{
	uint32_t n = (uint32_t)((i * 2654435761u) % LPM_MAIN_KEYS);
	uint64_t key = lpm_key(n), value = i + 1;
	bool del = lpm_want[n] != 0 && (i & 3) == 0;
	long rc;
	if (i & 1) {
		rc = del ? bpfvm_map_delete_elem(k->map, &key) : bpfvm_map_update_elem(k->map, &key, &value, BPFVM_ANY);
	} else {
		rc = del ? bpfvm_map_delete(k->map, &key, NULL) : bpfvm_map_update(k->map, &key, &value, BPFVM_ANY, NULL);
	}
	if (rc == 0)
		lpm_want[n] = del ? 0 : value;
	else
		main_failed(del ? "lpm delete" : "lpm update", rc);
	uint64_t *hit = bpfvm_map_lookup_elem(k->map, &key);
	if ((hit ? *hit : 0) != lpm_want[n])
		main_failed("lpm lookup", (long)n);
}

static long lpm_handler_step(struct kind *k, uint64_t n)
{
	uint32_t key = LPM_MAIN_KEYS + (uint32_t)(n * 7 % LPM_HANDLER_KEYS);
	struct op_ctx c = { .op = lpm_want[key] != 0, .value = n, .out = lpm_key(key) };
	long rc = run_prog(k->prog, &c);
	if (rc == 0)
		lpm_want[key] = c.op ? 0 : n;
	return rc;
}

static void lpm_check(struct kind *k)
{
	uint32_t present = 0, mismatches = 0;
	for (uint32_t n = 0; n < LPM_ALL_KEYS; n++) {
		uint64_t key = lpm_key(n), v = 0;
		uint64_t got = bpfvm_map_lookup(k->map, &key, &v, 0, NULL) == 0 ? v : 0;
		if (got != lpm_want[n] && mismatches++ < 5)
			printf("%s: prefix %u holds %" PRIu64 ", want %" PRIu64 "\n", k->name, n, got, lpm_want[n]);
		present += lpm_want[n] != 0;
	}
	CHECK(mismatches == 0, "%s: %u prefixes differ from what was written", k->name, mismatches);
	uint32_t walked = 0;
	uint64_t key, next;
	for (int rc = bpfvm_map_get_next_key(k->map, NULL, &next, NULL); rc == 0 && walked <= LPM_ALL_KEYS;
	     rc = bpfvm_map_get_next_key(k->map, &key, &next, NULL)) {
		key = next;
		walked++;
	}
	CHECK(walked == present, "%s: iteration finds %u prefixes, %u written", k->name, walked, present);
}

static void run_lpm(void)
{
	memset(lpm_want, 0, sizeof lpm_want);
	struct kind k = { .name = "lpm_trie", .main_step = lpm_main_step, .handler_step = lpm_handler_step,
	                  .check = lpm_check };
	k.map = make_map(BPFVM_MAP_TYPE_LPM_TRIE, 8, 8, 2 * LPM_ALL_KEYS, BPFVM_F_NO_PREALLOC);
	k.prog = k.map ? lpm_prog(k.map) : NULL;
	run_kind(&k);
}

/* ---- stack trace: each side's stacks by id, and the count of buckets in use ----
 * The handler calls what bpf_get_stackid ends in (map_stack_trace_get_id)
 * with stacks of its own making: the helper's own stack comes from the
 * hook's registers, which a raw program has none of. */

#define ST_MAIN_IDS 128u     /* ids (the stacks' hashes) [0, 128) are the looping thread's */
#define ST_IDS 256u          /* [128, 256) the handler's; 256 buckets */
#define ST_MAX_ENTRIES 200u  /* in use at once: stores beyond fail -ENOMEM */

static uint64_t st_want[ST_IDS];

static long st_store(bpfvm_map *m, uint32_t id, uint64_t tag)
{
	uint64_t frames[2] = { tag, id };
	return map_stack_trace_get_id(m, id, frames, 2, BPF_F_REUSE_STACKID);
}

static void st_main_step(struct kind *k, uint64_t i)
{
	uint32_t id = (uint32_t)((i * 2654435761u) % ST_MAIN_IDS);
	if (st_want[id] && (i & 3) == 0) {
		int rc = bpfvm_map_delete(k->map, &id, NULL);
		if (rc == 0)
			st_want[id] = 0;
		else
			main_failed("stack_trace delete", rc);
		return;
	}
	long rc = st_store(k->map, id, i + 1);
	if (rc == (long)id)
		st_want[id] = i + 1;
	else if (rc != -ENOMEM)
		main_failed("stack_trace store", rc);
}

static long st_handler_step(struct kind *k, uint64_t n)
{
	uint32_t id = ST_MAIN_IDS + (uint32_t)(n * 7 % (ST_IDS - ST_MAIN_IDS));
	long rc = st_store(k->map, id, n);
	if (rc == (long)id) {
		st_want[id] = n;
		return 0;
	}
	return rc == -ENOMEM ? 0 : rc;
}

static void st_check(struct kind *k)
{
	uint32_t present = 0, mismatches = 0;
	for (uint32_t id = 0; id < ST_IDS; id++) {
		uint64_t frames[4] = { 0 };
		int rc = bpfvm_map_lookup(k->map, &id, frames, 0, NULL);
		uint64_t got = rc == 0 && frames[1] == id ? frames[0] : 0;
		if (got != st_want[id] && mismatches++ < 5)
			printf("%s: id %u holds %" PRIu64 ", want %" PRIu64 "\n", k->name, id, got, st_want[id]);
		present += st_want[id] != 0;
	}
	CHECK(mismatches == 0, "%s: %u ids differ from what was stored", k->name, mismatches);
	uint32_t walked = 0, id, next;
	for (int rc = bpfvm_map_get_next_key(k->map, NULL, &next, NULL); rc == 0 && walked <= ST_IDS;
	     rc = bpfvm_map_get_next_key(k->map, &id, &next, NULL)) {
		id = next;
		walked++;
	}
	CHECK(walked == present, "%s: iteration finds %u stacks, %u stored", k->name, walked, present);
	/* The count of buckets in use is right if, emptied, the map takes
	 * exactly max_entries stacks again. */
	for (id = 0; id < ST_IDS; id++)
		bpfvm_map_delete(k->map, &id, NULL);
	uint32_t stored = 0;
	for (id = 0; id < ST_IDS; id++)
		stored += st_store(k->map, id, 1) == (long)id;
	CHECK(stored == ST_MAX_ENTRIES, "%s: emptied, it took %u stacks, max_entries %u", k->name, stored,
	      ST_MAX_ENTRIES);
}

static void run_stack_trace(void)
{
	memset(st_want, 0, sizeof st_want);
	struct kind k = { .name = "stack_trace", .main_step = st_main_step, .handler_step = st_handler_step,
	                  .check = st_check };
	k.map = make_map(BPFVM_MAP_TYPE_STACK_TRACE, 4, 4 * 8, ST_MAX_ENTRIES, 0);
	run_kind(&k);   /* no program: the handler's step is the direct call */
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_timer;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	bpfvm_error err = { 0 };
	bpfvm_helpers *h = bpfvm_helpers_new_kernel(&err);
	CHECK(h != NULL, "helpers: %s", err.msg);
	if (!h)
		return check_summary();
	helpers = h;
	pthread_t dog;
	pthread_create(&dog, NULL, watchdog, NULL);
	run_queue_stack(BPFVM_MAP_TYPE_QUEUE, "queue");
	run_queue_stack(BPFVM_MAP_TYPE_STACK, "stack");
	check_ring_table();
	run_ringbuf();
	run_perf();
	run_lpm();
	run_stack_trace();
	bpfvm_helpers_free(h);
	return check_summary();
}
