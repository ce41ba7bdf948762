/*
 * test_maps_signal.c - hash maps (plain and LRU) updated by a program run
 * in a signal handler that interrupts its own thread anywhere, as the
 * trace agent's SIGSYS and SIGTRAP hooks do: the thread loops doing map
 * updates, deletes and lookups (from the program side and user space)
 * and malloc()/free(), while a timer aimed at it fires every few
 * microseconds and its handler runs a program that inserts or deletes
 * keys of its own in the same map.  Nothing may hang (the handler may
 * interrupt a map operation holding a lock, or malloc(): its operation
 * then fails with -EBUSY or goes through without either), no other error
 * may come back, and afterwards the map holds exactly the keys and values
 * each side's successful operations left, and its pool accounts for
 * every element.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
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
#include "support/prog_build.h"
#include "support/signal_timer.h"

#define MAIN_KEYS 256u      /* keys [0, 256) belong to the looping thread */
#define HANDLER_KEYS 128u   /* keys [256, 384) to the signal handler */
#define ALL_KEYS (MAIN_KEYS + HANDLER_KEYS)
#define MAX_ENTRIES 1024u
#define RUN_NS 2000000000ull
#define TIMER_NS 20000       /* 50,000 signals a second */

/* The program's context: what to do to which key. */
struct op_ctx {
	uint32_t key;
	uint32_t del;      /* 0: update(key, value, BPF_ANY); else delete(key) */
	uint64_t value;
};

/* r0 = del ? bpf_map_delete_elem(map, &key) : bpf_map_update_elem(map, &key, &value, BPF_ANY) */
static size_t op_prog(bpfvm_insn *p, const bpfvm_map *map)
{
	uint64_t addr = (uint64_t)(uintptr_t)map;
	size_t n = 0;
	p[n++] = insn(0xbf, 6, 1, 0, 0);          /* r6 = r1 */
	p[n++] = insn(0x61, 7, 6, 0, 0);          /* r7 = ctx->key */
	p[n++] = insn(0x63, 10, 7, -4, 0);        /* *(u32 *)(r10 - 4) = r7 */
	p[n++] = insn(0x79, 8, 6, 8, 0);          /* r8 = ctx->value */
	p[n++] = insn(0x7b, 10, 8, -16, 0);       /* *(u64 *)(r10 - 16) = r8 */
	p[n++] = insn(0x61, 7, 6, 4, 0);          /* r7 = ctx->del */
	p[n++] = insn(0x18, 1, 0, 0, (int32_t)(uint32_t)addr);
	p[n++] = insn(0x00, 0, 0, 0, (int32_t)(uint32_t)(addr >> 32));
	p[n++] = insn(0xbf, 2, 10, 0, 0);         /* r2 = r10 */
	p[n++] = insn(0x07, 2, 0, 0, -4);         /* r2 += -4 */
	p[n++] = insn(0x55, 7, 0, 5, 0);          /* if r7 != 0 goto delete */
	p[n++] = insn(0xbf, 3, 10, 0, 0);         /* r3 = r10 */
	p[n++] = insn(0x07, 3, 0, 0, -16);        /* r3 += -16 */
	p[n++] = insn(0xb7, 4, 0, 0, 0);          /* r4 = BPF_ANY */
	p[n++] = insn(0x85, 0, 0, 0, 2);          /* call bpf_map_update_elem */
	p[n++] = insn(0x95, 0, 0, 0, 0);          /* exit */
	p[n++] = insn(0x85, 0, 0, 0, 3);          /* delete: call bpf_map_delete_elem */
	p[n++] = insn(0x95, 0, 0, 0, 0);          /* exit */
	return n;
}

/* What each side's successful operations left: the value of each key, or 0 if absent. */
static uint64_t want[ALL_KEYS];

/* The handler's side (touched only in the handler while the timer runs). */
static bpfvm_program *handler_prog;
static struct handler_tally handler;

static long run_op(const bpfvm_program *prog, uint32_t key, bool del, uint64_t value)
{
	struct op_ctx c = { .key = key, .del = del, .value = value };
	return signal_run_program(prog, &c, sizeof c, false);
}

static void on_timer(int sig)
{
	(void)sig;
	int saved_errno = errno;
	uint64_t n = ++handler.runs;
	uint32_t key = MAIN_KEYS + (uint32_t)(n * 7 % HANDLER_KEYS);
	bool del = want[key] != 0;
	long rc = run_op(handler_prog, key, del, n);
	if (rc == 0)
		want[key] = del ? 0 : n;
	handler_tally_note(&handler, rc);
	errno = saved_errno;
}

/* One step of the looping thread on its own keys: a map operation (the
 * program side or user space, by turns) and a malloc() it frees later. */
static void main_step(bpfvm_map *m, uint64_t i, void **blocks, int *failures)
{
	uint32_t key = (uint32_t)((i * 2654435761u) % MAIN_KEYS);
	uint64_t value = i + 1;
	long rc;
	bool del = want[key] != 0 && (i & 3) == 0;
	if (i & 1)
		rc = del ? bpfvm_map_delete_elem(m, &key) : bpfvm_map_update_elem(m, &key, &value, BPFVM_ANY);
	else
		rc = del ? bpfvm_map_delete(m, &key, NULL) : bpfvm_map_update(m, &key, &value, BPFVM_ANY, NULL);
	if (rc == 0)
		want[key] = del ? 0 : value;
	else if (!(*failures)++)
		printf("looping thread: key %u %s: %ld\n", key, del ? "delete" : "update", rc);
	uint64_t *hit = bpfvm_map_lookup_elem(m, &key);
	if ((hit ? *hit : 0) != want[key] && !(*failures)++)
		printf("looping thread: key %u reads %" PRIu64 ", wrote %" PRIu64 "\n", key, hit ? *hit : 0, want[key]);
	unsigned slot = (unsigned)(i % 64);
	free(blocks[slot]);
	blocks[slot] = malloc(16 + (i * 37) % 4000);
}

/* The map holds exactly what both sides left. */
static void check_contents(bpfvm_map *m, const char *what)
{
	uint32_t present = 0, mismatches = 0;
	for (uint32_t k = 0; k < ALL_KEYS; k++) {
		uint64_t v = 0;
		int rc = bpfvm_map_lookup(m, &k, &v, 0, NULL);
		uint64_t got = rc == 0 ? v : 0;
		if (got != want[k] && mismatches++ < 5)
			printf("%s: key %u holds %" PRIu64 ", want %" PRIu64 "\n", what, k, got, want[k]);
		present += want[k] != 0;
	}
	CHECK(mismatches == 0, "%s: %u keys differ from what was written", what, mismatches);
	uint32_t walked = 0, key, next;
	for (int rc = bpfvm_map_get_next_key(m, NULL, &next, NULL); rc == 0 && walked <= MAX_ENTRIES;
	     rc = bpfvm_map_get_next_key(m, &key, &next, NULL)) {
		key = next;
		walked++;
	}
	CHECK(walked == present, "%s: iteration finds %u keys, %u written", what, walked, present);
	struct map_hash_pool_stats ps;
	map_hash_pool_stats(m, &ps);
	CHECK(ps.count == present, "%s: count %u, %u keys present", what, ps.count, present);
	if (m->type == BPFVM_MAP_TYPE_HASH)
		CHECK(ps.free + ps.count + ps.spares == ps.elems, "%s: free %u + count %u + spares %u != %u elements",
		      what, ps.free, ps.count, ps.spares, ps.elems);
}

static void run_type(uint32_t type, const char *what, const bpfvm_helpers *helpers)
{
	bpfvm_map_def def = BPFVM_MAP_DEF_INIT;
	def.type = type;
	def.key_size = 4;
	def.value_size = 8;
	def.max_entries = MAX_ENTRIES;
	bpfvm_map *m = NULL;
	bpfvm_error err = { 0 };
	CHECK(bpfvm_map_create(&def, &m, &err) == 0, "%s: create: %s", what, err.msg);
	if (!m)
		return;
	bpfvm_insn p[32];
	size_t n = op_prog(p, m);
	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = helpers, .jit = true, .prog_type = BPFVM_PROG_TYPE_RAW, .maps = &m, .map_count = 1);
	CHECK(bpfvm_program_load(p, n, &lo, &handler_prog, &err) == 0, "%s: load: %s", what, err.msg);
	if (!handler_prog)
		return;
	memset(want, 0, sizeof want);
	handler = (struct handler_tally){ 0 };

	void *blocks[64] = { 0 };
	int failures = 0;
	uint64_t steps = 0;
	timer_t t = signal_timer_start(TIMER_NS);
	for (uint64_t end = monotonic_ns() + RUN_NS; monotonic_ns() < end;)
		for (int k = 0; k < 256; k++)
			main_step(m, steps++, blocks, &failures);
	timer_delete(t);
	for (int i = 0; i < 64; i++)
		free(blocks[i]);

	printf("%s: %" PRIu64 " steps of the looping thread, %" PRIu64 " handler runs (%" PRIu64 " -EBUSY)\n",
	       what, steps, handler.runs, handler.busy);
	CHECK(failures == 0, "%s: the looping thread's operations failed %d times", what, failures);
	handler_tally_check(&handler, what);
	check_contents(m, what);
	bpfvm_program_free(handler_prog);
	handler_prog = NULL;
	bpfvm_map_put(m);
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_timer;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	bpfvm_error err = { 0 };
	bpfvm_helpers *helpers = bpfvm_helpers_new_kernel(&err);
	CHECK(helpers != NULL, "helpers: %s", err.msg);
	if (helpers) {
		run_type(BPFVM_MAP_TYPE_HASH, "hash", helpers);
		run_type(BPFVM_MAP_TYPE_LRU_HASH, "lru_hash", helpers);
		bpfvm_helpers_free(helpers);
	}
	return check_summary();
}
