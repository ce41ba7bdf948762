/*
 * test_hook.c - the hook API (include/bpfvm/hook.h): each context kind,
 * each combine rule, the refusals and their messages, nested runs, runs
 * on a thread registration the caller keeps (hook_internal.h, the trace
 * agent's way), and attach, detach and replace while 4 threads run the
 * hook, every run's
 * result checked against the programs attached while it ran (run under
 * ASan too: a run that read a freed program or list would be caught).
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "bpfvm/hook.h"
#include "hooks/hook_internal.h"
#include "support/asm_prog.h"
#include "support/check.h"

static bpfvm_helpers *kernel_helpers;

static bpfvm_program *load(const char *text, uint32_t prog_type, bool jit)
{
	BPFVM_OPTS(bpfvm_load_opts, lo, .jit = jit, .prog_type = prog_type, .helpers = kernel_helpers);
	return asm_prog_load(text, &lo);
}

static bpfvm_program *load_return(uint64_t value, bool jit)
{
	char text[64];
	snprintf(text, sizeof text, "mov %%r0, %" PRIu64 "\nexit\n", value);
	return load(text, BPFVM_PROG_TYPE_RAW, jit);
}

static bpfvm_hook *hook_mem(uint32_t size, bpfvm_hook_combine combine, uint64_t stop)
{
	BPFVM_OPTS(bpfvm_hook_opts, ho, .name = "mem", .ctx_kind = BPFVM_HOOK_CTX_MEM, .ctx_size = size,
	           .combine = combine, .stop_value = stop, .empty_result = 77);
	bpfvm_hook *h = NULL;
	bpfvm_error err;
	if (bpfvm_hook_new(&ho, &h, &err)) {
		printf("hook_new: %s\n", err.msg);
		exit(1);
	}
	return h;
}

static uint64_t run(bpfvm_hook *h, void *ctx)
{
	uint64_t r = 0xdead;
	bpfvm_error err;
	int rc = bpfvm_hook_run(h, ctx, &r, &err);
	CHECK(rc == 0, "bpfvm_hook_run: %d %s", rc, err.msg);
	return r;
}

/* ---- context kinds -------------------------------------------------------- */

static void test_mem_context(void)
{
	uint64_t mem[2] = { 5, 9 };
	bpfvm_hook *h = hook_mem(16, BPFVM_HOOK_RUN_ALL, 0);
	CHECK(run(h, mem) == 77, "no program: the empty result");
	/* r0 = mem[1] + r2 (the size) */
	bpfvm_program *p = load("ldxdw %r0, [%r1+8]\nadd %r0, %r2\nexit\n", BPFVM_PROG_TYPE_RAW, true);
	bpfvm_program *q = load("ldxdw %r0, [%r1+8]\nadd %r0, %r2\nexit\n", BPFVM_PROG_TYPE_RAW, false);
	uint64_t link;
	bpfvm_error err;
	CHECK(bpfvm_hook_attach(h, p, &link, &err) == 0, "attach: %s", err.msg);
	CHECK(run(h, mem) == 25, "mem context, JIT");
	CHECK(bpfvm_hook_replace(h, link, q, &err) == 0, "replace: %s", err.msg);
	CHECK(run(h, mem) == 25, "mem context, interpreter");
	bpfvm_hook_free(h);
	bpfvm_program_free(p);
	bpfvm_program_free(q);
}

static void test_prog_type_context(void)
{
	BPFVM_OPTS(bpfvm_hook_opts, ho, .name = "probe", .ctx_kind = BPFVM_HOOK_CTX_PROG_TYPE,
	           .prog_type = BPF_PROG_TYPE_KPROBE);
	bpfvm_hook *h = NULL;
	bpfvm_error err;
	CHECK(bpfvm_hook_new(&ho, &h, &err) == 0, "hook_new kprobe: %s", err.msg);
	/* struct pt_regs on x86-64: di is the 15th u64 */
	uint64_t regs[21] = { 0 };
	regs[14] = 1234;
	bpfvm_program *p = load("ldxdw %r0, [%r1+112]\nexit\n", BPF_PROG_TYPE_KPROBE, true);
	uint64_t link;
	CHECK(bpfvm_hook_attach(h, p, &link, &err) == 0, "attach kprobe: %s", err.msg);
	CHECK(run(h, regs) == 1234, "pt_regs context");
	bpfvm_program *xdp = load("mov %r0, 2\nexit\n", BPF_PROG_TYPE_XDP, true);
	CHECK(bpfvm_hook_attach(h, xdp, &link, &err) == -EINVAL && strstr(err.msg, "takes kprobe programs"),
	      "an xdp program on a kprobe hook: %s", err.msg);
	bpfvm_hook_free(h);
	bpfvm_program_free(p);
	bpfvm_program_free(xdp);
}

static void test_btf_context(void)
{
	struct btf *btf = btf__new_empty();
	int lng = btf__add_int(btf, "long", 8, BTF_INT_SIGNED);
	int proto = btf__add_func_proto(btf, lng);
	btf__add_func_param(btf, "a", lng);
	btf__add_func_param(btf, "b", lng);
	int strct = btf__add_struct(btf, "pair", 16);
	btf__add_field(btf, "a", lng, 0, 0);
	CHECK(lng > 0 && proto > 0 && strct > 0, "building BTF");
	BPFVM_OPTS(bpfvm_hook_opts, ho, .name = "func", .ctx_kind = BPFVM_HOOK_CTX_BTF, .btf = btf,
	           .btf_id = (uint32_t)proto);
	bpfvm_hook *h = NULL;
	bpfvm_error err;
	CHECK(bpfvm_hook_new(&ho, &h, &err) == 0, "hook_new btf: %s", err.msg);
	uint64_t args[3] = { 3, 40, 0 };
	bpfvm_program *p = load("ldxdw %r0, [%r1+8]\nexit\n", BPF_PROG_TYPE_TRACING, true);
	uint64_t link;
	CHECK(bpfvm_hook_attach(h, p, &link, &err) == 0, "attach btf: %s", err.msg);
	CHECK(run(h, args) == 40, "the second argument");
	/* the slot after the arguments is fmod_ret's return value; past it, nothing */
	bpfvm_program *ret = load("ldxdw %r0, [%r1+16]\nexit\n", BPF_PROG_TYPE_TRACING, true);
	CHECK(bpfvm_hook_attach(h, ret, &link, &err) == 0, "attach btf reading the return slot: %s", err.msg);
	bpfvm_program *far = load("ldxdw %r0, [%r1+24]\nexit\n", BPF_PROG_TYPE_TRACING, true);
	CHECK(bpfvm_hook_attach(h, far, &link, &err) == -EACCES && strstr(err.msg, "refused by the verifier"),
	      "a read past the arguments: %s", err.msg);
	bpfvm_hook_free(h);
	ho.btf_id = (uint32_t)strct;
	CHECK(bpfvm_hook_new(&ho, &h, &err) == -ENOTSUP && strstr(err.msg, "not a FUNC_PROTO"),
	      "a struct as the context: %s", err.msg);
	bpfvm_program_free(p);
	bpfvm_program_free(ret);
	bpfvm_program_free(far);
	btf__free(btf);
}

/* ---- combine rules and refusals ------------------------------------------- */

static uint64_t seen_links[8];
static size_t seen_count;

/* Sums the results, stops once the sum passes 7. */
static bool sum_past_7(void *user, uint64_t link, uint64_t r0, uint64_t *result)
{
	(void)user;
	if (seen_count < 8)
		seen_links[seen_count++] = link;
	*result += r0;
	return *result > 7;
}

static void test_combine(void)
{
	bpfvm_program *p[3] = { load_return(1, true), load_return(7, false), load_return(5, true) };
	uint64_t links[3], stop_links[3], all_link;
	bpfvm_error err;
	bpfvm_hook *all = hook_mem(0, BPFVM_HOOK_RUN_ALL, 0);
	bpfvm_hook *stop = hook_mem(0, BPFVM_HOOK_STOP_AT, 7);
	BPFVM_OPTS(bpfvm_hook_opts, ho, .combine = BPFVM_HOOK_CALLBACK, .combine_fn = sum_past_7);
	bpfvm_hook *cb = NULL;
	CHECK(bpfvm_hook_new(&ho, &cb, &err) == 0, "hook_new callback: %s", err.msg);
	for (int i = 0; i < 3; i++) {
		CHECK(bpfvm_hook_attach(all, p[i], &all_link, &err) == 0, "attach: %s", err.msg);
		CHECK(bpfvm_hook_attach(stop, p[i], &stop_links[i], &err) == 0, "attach: %s", err.msg);
		CHECK(bpfvm_hook_attach(cb, p[i], &links[i], &err) == 0, "attach: %s", err.msg);
	}
	CHECK(run(all, NULL) == 5, "run all: the last result");
	CHECK(run(stop, NULL) == 7, "stop at 7");
	CHECK(run(cb, NULL) == 8, "callback: 1 + 7, then stop");
	CHECK(seen_count == 2 && seen_links[0] == links[0] && seen_links[1] == links[1],
	      "the callback saw the first two links");
	bpfvm_hook_link_info info[4];
	CHECK(bpfvm_hook_links(cb, info, 4) == 3 && info[1].link == links[1] && info[1].prog == p[1],
	      "links listed in order");
	CHECK(bpfvm_hook_detach(stop, stop_links[1], &err) == 0, "detach: %s", err.msg);
	CHECK(run(stop, NULL) == 5, "stop at 7 without the 7");
	CHECK(bpfvm_hook_detach(stop, stop_links[1], &err) == -ENOENT && strstr(err.msg, "has no link"),
	      "detach twice: %s", err.msg);
	bpfvm_hook_free(all);
	bpfvm_hook_free(stop);
	bpfvm_hook_free(cb);
	for (int i = 0; i < 3; i++)
		bpfvm_program_free(p[i]);
	BPFVM_OPTS(bpfvm_hook_opts, bad, .combine = BPFVM_HOOK_CALLBACK);
	CHECK(bpfvm_hook_new(&bad, &cb, &err) == -EINVAL && strstr(err.msg, "without combine_fn"),
	      "a callback rule without its function: %s", err.msg);
}

static void test_refusals(void)
{
	bpfvm_error err;
	bpfvm_hook *h = hook_mem(8, BPFVM_HOOK_RUN_ALL, 0);
	bpfvm_program *past = load("ldxdw %r0, [%r1+8]\nexit\n", BPFVM_PROG_TYPE_RAW, true);
	uint64_t link;
	CHECK(bpfvm_hook_attach(h, past, &link, &err) == -EACCES && strstr(err.msg, "hook mem: program refused by "
	      "the verifier") && err.insn == 0, "a read past the memory: %s", err.msg);
	bpfvm_program *xdp = load("mov %r0, 2\nexit\n", BPF_PROG_TYPE_XDP, true);
	CHECK(bpfvm_hook_attach(h, xdp, &link, &err) == -EINVAL &&
	      strstr(err.msg, "takes raw memory programs; this one is a xdp program"), "type: %s", err.msg);
	CHECK(bpfvm_hook_replace(h, 12345, xdp, &err) == -EINVAL, "replace checks the type too");
	BPFVM_OPTS(bpfvm_hook_opts, ho, .ctx_kind = BPFVM_HOOK_CTX_PROG_TYPE, .prog_type = 999);
	bpfvm_hook *bad = NULL;
	CHECK(bpfvm_hook_new(&ho, &bad, &err) == -ENOTSUP && strstr(err.msg, "program type 999"),
	      "an unknown program type: %s", err.msg);
	bpfvm_hook_free(h);
	bpfvm_program_free(past);
	bpfvm_program_free(xdp);
}

/* A program whose helper fails the run: the error comes back, and the
 * thread's next run starts clean (the direct path's slow exit). */
static void test_failing_run(void)
{
	BPFVM_OPTS(bpfvm_hook_opts, ho, .name = "xdp", .ctx_kind = BPFVM_HOOK_CTX_PROG_TYPE,
	           .prog_type = BPF_PROG_TYPE_XDP);
	bpfvm_hook *h = NULL;
	bpfvm_error err;
	CHECK(bpfvm_hook_new(&ho, &h, &err) == 0, "hook_new xdp: %s", err.msg);
	/* bpf_xdp_adjust_head needs the frame of a test run, which a hook
	 * run does not have */
	bpfvm_program *adjust = load("mov %r2, 0\ncall 44\nmov %r0, 2\nexit\n", BPF_PROG_TYPE_XDP, true);
	bpfvm_program *pass = load("mov %r0, 2\nexit\n", BPF_PROG_TYPE_XDP, true);
	uint32_t md[6] = { 0 };
	uint64_t link, r = 0;
	CHECK(bpfvm_hook_attach(h, adjust, &link, &err) == 0, "attach: %s", err.msg);
	for (int i = 0; i < 2; i++) {
		int rc = bpfvm_hook_run(h, md, &r, &err);
		CHECK(rc == -EFAULT && strstr(err.msg, "bpf_xdp_adjust_head: r1 is not the XDP context") &&
		      err.insn == 1, "a failing helper: %d %s (insn %d)", rc, err.msg, err.insn);
	}
	CHECK(bpfvm_hook_replace(h, link, pass, &err) == 0, "replace: %s", err.msg);
	CHECK(run(h, md) == 2, "the next run is clean");
	bpfvm_hook_free(h);
	bpfvm_program_free(adjust);
	bpfvm_program_free(pass);
}

/* From inside a run (the combine callback runs inside it): a run of
 * another hook nests; a detach would wait for the run it is in. */
static bpfvm_hook *inner_hook, *outer_hook;
static int inner_detach_rc;
static uint64_t inner_result;

static bool nest(void *user, uint64_t link, uint64_t r0, uint64_t *result)
{
	bpfvm_error err;
	bpfvm_hook_run(inner_hook, NULL, &inner_result, &err);
	(void)user;
	inner_detach_rc = bpfvm_hook_detach(outer_hook, link, &err);
	*result = r0;
	return false;
}

static void test_nested(void)
{
	bpfvm_program *p = load_return(3, true), *q = load_return(4, true);
	inner_hook = hook_mem(0, BPFVM_HOOK_RUN_ALL, 0);
	bpfvm_hook *outer = NULL;
	BPFVM_OPTS(bpfvm_hook_opts, ho, .combine = BPFVM_HOOK_CALLBACK, .combine_fn = nest);
	bpfvm_error err;
	CHECK(bpfvm_hook_new(&ho, &outer, &err) == 0, "hook_new: %s", err.msg);
	outer_hook = outer;
	uint64_t link;
	CHECK(bpfvm_hook_attach(outer, p, &link, &err) == 0, "attach: %s", err.msg);
	CHECK(bpfvm_hook_attach(inner_hook, q, &link, &err) == 0, "attach: %s", err.msg);
	uint64_t r = 0;
	CHECK(bpfvm_hook_run(outer, NULL, &r, &err) == 0 && r == 3, "outer run");
	CHECK(inner_result == 4, "a nested run: %" PRIu64, inner_result);
	CHECK(inner_detach_rc == -EDEADLK, "detach inside a run: %d", inner_detach_rc);
	bpfvm_hook_free(outer);
	bpfvm_hook_free(inner_hook);
	bpfvm_program_free(p);
	bpfvm_program_free(q);
}

/* hook_run_on: the same runs as bpfvm_hook_run on the registration
 * hook_thread_self() gives (one per thread, the same each time), a
 * nested run inside one, the empty result of a hook with nothing, and a
 * registration taken again once its thread has ended. */
static uint64_t on_result;
static struct hook_thread *on_self;
static bpfvm_hook *on_inner;

static bool nest_on(void *user, uint64_t link, uint64_t r0, uint64_t *result)
{
	(void)user, (void)link;
	uint64_t r = 0;
	CHECK(hook_run_on(on_self, on_inner, NULL, &r) == 0, "hook_run_on nested");
	on_result = r;
	*result = r0;
	return false;
}

static void *other_thread_self(void *unused)
{
	(void)unused;
	return hook_thread_self();
}

static void test_run_on(void)
{
	on_self = hook_thread_self();
	CHECK(on_self != NULL && hook_thread_self() == on_self, "hook_thread_self: one registration per thread");
	pthread_t t;
	void *other = NULL;
	CHECK(pthread_create(&t, NULL, other_thread_self, NULL) == 0 && pthread_join(t, &other) == 0, "thread");
	CHECK(other != NULL && other != on_self, "another thread's registration is its own");
	void *later = NULL;
	CHECK(pthread_create(&t, NULL, other_thread_self, NULL) == 0 && pthread_join(t, &later) == 0, "thread");
	CHECK(later == other, "an ended thread's registration taken by the next");
	bpfvm_program *p = load_return(5, true), *q = load_return(6, false), *n = load_return(8, true);
	on_inner = hook_mem(0, BPFVM_HOOK_RUN_ALL, 0);
	uint64_t r = 0, link;
	bpfvm_error err;
	CHECK(hook_run_on(on_self, on_inner, NULL, &r) == 0 && r == 77, "no program: the empty result (%" PRIu64 ")", r);
	CHECK(bpfvm_hook_attach(on_inner, p, &link, &err) == 0, "attach: %s", err.msg);
	CHECK(hook_run_on(on_self, on_inner, NULL, &r) == 0 && r == 5, "JIT: %" PRIu64, r);
	CHECK(bpfvm_hook_replace(on_inner, link, q, &err) == 0, "replace: %s", err.msg);
	CHECK(hook_run_on(on_self, on_inner, NULL, &r) == 0 && r == 6, "interpreter: %" PRIu64, r);
	CHECK(run(on_inner, NULL) == 6, "bpfvm_hook_run alike");
	BPFVM_OPTS(bpfvm_hook_opts, ho, .combine = BPFVM_HOOK_CALLBACK, .combine_fn = nest_on);
	bpfvm_hook *outer = NULL;
	CHECK(bpfvm_hook_new(&ho, &outer, &err) == 0, "hook_new: %s", err.msg);
	CHECK(bpfvm_hook_attach(outer, n, &link, &err) == 0, "attach: %s", err.msg);
	CHECK(hook_run_on(on_self, outer, NULL, &r) == 0 && r == 8 && on_result == 6, "nested: %" PRIu64 " %" PRIu64, r,
	      on_result);
	CHECK(hook_run_on(on_self, NULL, NULL, &r) == -EINVAL, "a null hook refused");
	bpfvm_hook_free(outer);
	bpfvm_hook_free(on_inner);
	bpfvm_program_free(p);
	bpfvm_program_free(q);
	bpfvm_program_free(n);
}

/* ---- changes while 4 threads run the hook ---------------------------------- */

#define READERS 4
#define EMPTY 0xffffu

/* State j (after j changes) of the churned hook: none attached when j % 4
 * is 0, else a program returning j.  begun: changes started; done:
 * changes returned.  A run that starts after reading done = s0 and ends
 * before reading begun = s1 saw some state in [s0, s1]. */
static atomic_uint_fast64_t begun, done;
static atomic_bool stop_readers;

struct reader {
	bpfvm_hook *hook;
	uint64_t runs, bad, empty;
};

static bool possible(uint64_t r, uint64_t s0, uint64_t s1)
{
	if (r == EMPTY)
		return s1 / 4 * 4 >= s0;   /* a multiple of 4 in [s0, s1] */
	return r >= s0 && r <= s1 && r % 4 != 0;
}

static void *reader(void *arg)
{
	struct reader *rd = arg;
	while (!atomic_load(&stop_readers)) {
		uint64_t s0 = atomic_load(&done);
		uint64_t r = 0;
		bpfvm_error err;
		int rc = bpfvm_hook_run(rd->hook, NULL, &r, &err);
		uint64_t s1 = atomic_load(&begun);
		rd->runs++;
		rd->empty += r == EMPTY;
		if (rc || !possible(r, s0, s1)) {
			if (rd->bad++ < 5)
				printf("FAIL: run returned %" PRIu64 " (rc %d) with states %" PRIu64 "..%" PRIu64 "\n", r, rc,
				       s0, s1);
		}
	}
	return NULL;
}

static void test_churn(void)
{
	int changes = getenv("BPFVM_HOOK_CHURN") ? atoi(getenv("BPFVM_HOOK_CHURN")) : 4000;
	bpfvm_hook *h = hook_mem(0, BPFVM_HOOK_RUN_ALL, 0);
	BPFVM_OPTS(bpfvm_hook_opts, ho, .empty_result = EMPTY);
	bpfvm_hook_free(h);
	bpfvm_error err;
	CHECK(bpfvm_hook_new(&ho, &h, &err) == 0, "hook_new: %s", err.msg);
	struct reader rd[READERS];
	pthread_t tid[READERS];
	for (int i = 0; i < READERS; i++) {
		rd[i] = (struct reader){ .hook = h };
		pthread_create(&tid[i], NULL, reader, &rd[i]);
	}
	bpfvm_program *cur = NULL;
	uint64_t link = 0;
	for (uint64_t j = 1; j <= (uint64_t)changes; j++) {
		/* every other program interpreted: both run paths churn */
		bpfvm_program *next = j % 4 ? load_return(j, j % 2) : NULL;
		atomic_store(&begun, j);
		int rc;
		if (!cur)
			rc = bpfvm_hook_attach(h, next, &link, &err);
		else if (next)
			rc = bpfvm_hook_replace(h, link, next, &err);
		else
			rc = bpfvm_hook_detach(h, link, &err);
		CHECK(rc == 0, "change %" PRIu64 ": %s", j, err.msg);
		atomic_store(&done, j);
		bpfvm_program_free(cur);   /* no run may be in it any more */
		cur = next;
	}
	atomic_store(&stop_readers, true);
	uint64_t runs = 0, empty = 0;
	for (int i = 0; i < READERS; i++) {
		pthread_join(tid[i], NULL);
		CHECK(rd[i].bad == 0, "reader %d: %" PRIu64 " of %" PRIu64 " runs impossible", i, rd[i].bad, rd[i].runs);
		runs += rd[i].runs;
		empty += rd[i].empty;
	}
	printf("churn: %d changes while %d threads ran the hook %" PRIu64 " times (%" PRIu64 " with none attached)\n",
	       changes, READERS, runs, empty);
	CHECK(runs > (uint64_t)changes, "the readers ran");
	bpfvm_hook_free(h);
	bpfvm_program_free(cur);
}

int main(void)
{
	bpfvm_error err;
	kernel_helpers = bpfvm_helpers_new_kernel(&err);
	if (!kernel_helpers) {
		printf("kernel helpers: %s\n", err.msg);
		return 1;
	}
	test_mem_context();
	test_prog_type_context();
	test_btf_context();
	test_combine();
	test_refusals();
	test_failing_run();
	test_nested();
	test_run_on();
	test_churn();
	bpfvm_helpers_free(kernel_helpers);
	return check_summary();
}
