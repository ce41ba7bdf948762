/*
 * test_threads.c - one loaded program run by many threads at once, in
 * every engine and mode: each run adds to shared memory with atomics and
 * keeps private state on its own stack; no update may be lost and every
 * run must see only its own stack.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"

#define THREADS 4
#define RUNS 20000

/* r1 = shared counters, r2 = this thread's tag: store the tag on the
 * stack, add 1 to counter 0 and the tag to counter 1 atomically, then
 * return what the stack still holds (must be the tag). */
static const char *text =
	"mov %r6, %r1\n"
	"stxdw [%r10-8], %r2\n"
	"mov %r3, 1\n"
	"lock add [%r6], %r3\n"
	"lock add [%r6+8], %r2\n"
	"mov %r4, 1\n"
	"lock fetch add32 [%r6+16], %r4\n"
	"ldxdw %r0, [%r10-8]\n"
	"exit\n";

struct worker {
	const bpfvm_program *prog;
	uint64_t *shared;
	uint64_t tag;
	int combo;
	int bad;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	bpfvm_region region = { w->shared, 24, true };
	for (int i = 0; i < RUNS; i++) {
		BPFVM_OPTS(bpfvm_run_opts, ro,
			.args = { (uint64_t)(uintptr_t)w->shared, w->tag },
			.mode = (bpfvm_mode)(w->combo & 1),
			.engine = w->combo & 2 ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP,
			.regions = &region,
			.region_count = 1
		);
		uint64_t r0 = 0;
		bpfvm_error err;
		if (bpfvm_program_run(w->prog, &ro, &r0, &err) || r0 != w->tag)
			w->bad++;
	}
	return NULL;
}

int main(void)
{
	int passed = 0, failed = 0;
	bpfvm_insn *insns;
	size_t n;
	bpfvm_error err;
	if (bpfvm_asm(text, &insns, &n, &err)) {
		printf("FAIL asm: %s\n", err.msg);
		return 1;
	}
	bpfvm_program *prog;
	BPFVM_OPTS(bpfvm_load_opts, lo, .jit = true);
	if (bpfvm_program_load(insns, n, &lo, &prog, &err)) {
		printf("FAIL load: %s\n", err.msg);
		return 1;
	}
	for (int combo = 0; combo < 4; combo++) {
		uint64_t shared[3] __attribute__((aligned(8))) = { 0, 0, 0 };
		pthread_t th[THREADS];
		struct worker w[THREADS];
		uint64_t tag_sum = 0;
		for (int t = 0; t < THREADS; t++) {
			w[t] = (struct worker){ prog, shared, 1000 + (uint64_t)t * 7, combo, 0 };
			tag_sum += w[t].tag;
			pthread_create(&th[t], NULL, work, &w[t]);
		}
		int bad = 0;
		for (int t = 0; t < THREADS; t++) {
			pthread_join(th[t], NULL);
			bad += w[t].bad;
		}
		bool ok = bad == 0 && shared[0] == (uint64_t)THREADS * RUNS && shared[1] == tag_sum * RUNS &&
		          (uint32_t)shared[2] == (uint32_t)(THREADS * RUNS);
		if (ok) {
			passed++;
		} else {
			failed++;
			printf("FAIL combo %d: %d bad runs; counters %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", combo, bad,
			       shared[0], shared[1], shared[2]);
		}
	}
	bpfvm_program_free(prog);
	free(insns);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
