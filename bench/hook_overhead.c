/*
 * hook_overhead.c - bpfvm-hook-bench: what running a program through a
 * hook costs beyond the program itself, for `return 2`, in ns per run:
 * the program alone (a direct call of its unchecked machine code), the
 * program through bpfvm_hook_run() with it the one program attached,
 * through bpfvm_program_run(), and an XDP program through
 * bpfvm_hook_run_xdp() over a frame (what `bpfvm xdp attach` pays per
 * packet before its verdict).  Each figure is the best of 7 timed loops.
 *
 * Usage: bpfvm-hook-bench [RUNS]   (runs per loop, default 20,000,000)
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/hook.h"

#define LOOPS 7

typedef uint64_t (*machine_code)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, void *);

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

enum way { ALONE, HOOK, PROGRAM_RUN, HOOK_XDP, WAYS };

/* An XDP hook with the same program, and a frame below 4 GiB for it. */
struct xdp_bench {
	bpfvm_hook *hook;
	bpfvm_program *prog;
	uint8_t *frame;
};

static int xdp_bench_new(struct xdp_bench *x)
{
	bpfvm_insn *insns = NULL;
	size_t count = 0;
	bpfvm_error err;
	uint64_t link;
	BPFVM_OPTS(bpfvm_load_opts, lo, .jit = true, .prog_type = BPF_PROG_TYPE_XDP);
	BPFVM_OPTS(bpfvm_hook_opts, ho, .name = "bench_xdp", .ctx_kind = BPFVM_HOOK_CTX_PROG_TYPE,
	           .prog_type = BPF_PROG_TYPE_XDP);
	x->frame = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (x->frame == MAP_FAILED || bpfvm_asm("mov %r0, 2\nexit\n", &insns, &count, &err) ||
	    bpfvm_program_load(insns, count, &lo, &x->prog, &err) || bpfvm_hook_new(&ho, &x->hook, &err) ||
	    bpfvm_hook_attach(x->hook, x->prog, &link, &err)) {
		fprintf(stderr, "bpfvm-hook-bench: xdp: %s\n", x->frame == MAP_FAILED ? "no low frame" : err.msg);
		return 1;
	}
	free(insns);
	return 0;
}

/* ns per run of one timed loop; *sum keeps the results alive. */
static double time_loop(enum way way, long runs, machine_code code, bpfvm_hook *hook,
                        const bpfvm_program *prog, const struct xdp_bench *xdp, uint64_t *sum)
{
	static uint64_t run_space[4096] __attribute__((aligned(64)));   /* the code's sixth argument, unused by a leaf */
	BPFVM_OPTS(bpfvm_run_opts, ro, .mode = BPFVM_UNCHECKED);
	uint64_t acc = 0;
	double start = now_ns();
	for (long i = 0; i < runs; i++) {
		uint64_t r = 0;
		switch (way) {
		case ALONE:
			r = code((uint64_t)i, 0, 0, 0, 0, run_space);
			break;
		case HOOK:
			bpfvm_hook_run(hook, NULL, &r, NULL);
			break;
		case PROGRAM_RUN:
			bpfvm_program_run(prog, &ro, &r, NULL);
			break;
		case HOOK_XDP: {
			uint8_t *data = xdp->frame + 256;
			struct xdp_md md = { .data = (uint32_t)(uintptr_t)data, .data_meta = (uint32_t)(uintptr_t)data,
			                     .data_end = (uint32_t)(uintptr_t)(data + 64) };
			bpfvm_hook_run_xdp(xdp->hook, &md, xdp->frame, 4096, &r, NULL);
			break;
		}
		default:
			break;
		}
		acc += r;
	}
	double ns = (now_ns() - start) / (double)runs;
	*sum += acc;
	return ns;
}

int main(int argc, char **argv)
{
	long runs = argc > 1 ? atol(argv[1]) : 20000000;
	bpfvm_insn *insns = NULL;
	size_t count = 0;
	bpfvm_error err;
	bpfvm_program *prog = NULL;
	BPFVM_OPTS(bpfvm_load_opts, lo, .jit = true);
	if (bpfvm_asm("mov %r0, 2\nexit\n", &insns, &count, &err) ||
	    bpfvm_program_load(insns, count, &lo, &prog, &err)) {
		fprintf(stderr, "bpfvm-hook-bench: %s\n", err.msg);
		return 1;
	}
	free(insns);
	const void *code = NULL;
	size_t len = 0;
	bpfvm_program_jited(prog, BPFVM_UNCHECKED, &code, &len);
	BPFVM_OPTS(bpfvm_hook_opts, ho, .name = "bench");
	bpfvm_hook *hook = NULL;
	uint64_t link;
	if (bpfvm_hook_new(&ho, &hook, &err) || bpfvm_hook_attach(hook, prog, &link, &err)) {
		fprintf(stderr, "bpfvm-hook-bench: %s\n", err.msg);
		return 1;
	}
	struct xdp_bench xdp;
	if (xdp_bench_new(&xdp))
		return 1;
	static const char *names[] = { "program alone (its machine code called)", "bpfvm_hook_run, 1 program",
	                               "bpfvm_program_run (unchecked)", "bpfvm_hook_run_xdp, 1 program, a frame" };
	double best[WAYS] = { 1e9, 1e9, 1e9, 1e9 };
	uint64_t sum = 0;
	for (int loop = 0; loop < LOOPS; loop++)
		for (int w = 0; w < WAYS; w++) {
			double ns = time_loop((enum way)w, runs, (machine_code)(uintptr_t)code, hook, prog, &xdp, &sum);
			if (ns < best[w])
				best[w] = ns;
		}
	if (sum != 2ull * (uint64_t)runs * WAYS * LOOPS) {
		fprintf(stderr, "bpfvm-hook-bench: wrong results (sum %" PRIu64 ")\n", sum);
		return 1;
	}
	printf("return 2, %ld runs a loop, best of %d loops:\n", runs, LOOPS);
	for (int w = 0; w < WAYS; w++)
		printf("  %-42s %6.2f ns/run  (+%.2f)\n", names[w], best[w], best[w] - best[0]);
	bpfvm_hook_free(xdp.hook);
	bpfvm_program_free(xdp.prog);
	munmap(xdp.frame, 4096);
	bpfvm_hook_free(hook);
	bpfvm_program_free(prog);
	return 0;
}
