/*
 * attach_stress.c - attach, detach and attach again while 4 threads call a
 * function in a tight loop: the function's entry probe (hooks/probe.h)
 * runs hooks (bpfvm/hook.h) holding the verified, JIT-compiled counting
 * programs of attach_stress.bpf.c, as `bpfvm trace`'s agent attaches
 * them (hook link first, then the probe; the probe off first, then the
 * link).  Cycles alternate between an entry program alone and entry and
 * return programs.  Each cycle checks, per thread: every call that began
 * after attach returned and ended before detach began is counted exactly
 * once, at entry and (with the return program) at return; no call that
 * ended before attach began or began after detach returned is counted;
 * every call returns its own value; the trampoline path served the probe
 * and the int3 path no entry.
 *
 * In process, not through the agent: only the attaching thread knows the
 * instants attach returns and detach begins (through the agent they lie
 * beyond a socket and a ptrace stop), and the agent attaches with these
 * same calls.  attach_stress_agent.sh cycles `bpfvm trace --pid` on a
 * running target with the same programs.
 *
 *   test_attach_stress OBJ [CYCLES]    CYCLES: else BPFVM_ATTACH_STRESS_CYCLES,
 *                                      else 1000, or 200 where CI is set
 */
#include <linux/bpf.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpfvm/hook.h"
#include "bpfvm/instance.h"
#include "bpfvm/maps.h"
#include "bpfvm/object.h"
#include "hooks/probe.h"
#include "support/check.h"
#include "support/noipa.h"

#define THREADS 4          /* as attach_stress.bpf.c */
#define SEQ_BITS 48
#define MAX_CYCLES 100000
#define WINDOW_US 1000     /* attached this long each cycle */

volatile uint64_t stress_sink;

/* The probed function: its result names the call (thread, seq). */
NOIPA uint64_t stress_work(uint64_t thread, uint64_t seq)
{
	uint64_t r = thread << SEQ_BITS | seq;
	stress_sink = r;
	return r;
}

/* The main thread's phase: 4c+1 attaching cycle c, 4c+2 attached,
 * 4c+3 detaching, 4c+4 detached (= 4(c+1), before cycle c+1). */
static atomic_long phase;
static atomic_int stop;
static int cycles;

/* What a thread saw of cycle c: the first and last seq of its calls wholly
 * inside the attachment (0: none), the last seq that ended before attach
 * began, and the first that began after detach returned (set last). */
struct window {
	uint64_t must_first, must_last, before;
	_Atomic uint64_t after;
};

static struct window (*windows)[THREADS];   /* [cycles][THREADS] */

struct caller {
	uint64_t thread, wrong_results;
	_Atomic uint64_t hook_errors;
	pthread_t id;
};

static void note_call(uint64_t t, uint64_t seq, long p1, long p2)
{
	if (p2 % 4 == 0 && p2 / 4 < cycles)
		windows[p2 / 4][t].before = seq;
	if (p1 == p2 && p1 % 4 == 2) {
		struct window *w = &windows[p1 / 4][t];
		if (!w->must_first)
			w->must_first = seq;
		w->must_last = seq;
	}
	if (p1 % 4 == 0 && p1 >= 4) {
		struct window *w = &windows[p1 / 4 - 1][t];
		if (!atomic_load(&w->after))
			atomic_store(&w->after, seq);
	}
}

static void *caller_loop(void *arg)
{
	struct caller *c = arg;
	bpfvm_error err;
	if (bpfvm_hook_thread_prepare(&err))
		atomic_fetch_add(&c->hook_errors, 1);
	for (uint64_t seq = 1; !atomic_load_explicit(&stop, memory_order_relaxed); seq++) {
		long p1 = atomic_load(&phase);
		uint64_t r = stress_work(c->thread, seq);
		long p2 = atomic_load(&phase);
		c->wrong_results += r != (c->thread << SEQ_BITS | seq);
		note_call(c->thread, seq, p1, p2);
	}
	return NULL;
}

/* ---- the probe's handlers run the hooks ------------------------------ */

struct stress_hooks {
	bpfvm_hook *entry, *ret;
	const bpfvm_program *entry_prog, *ret_prog;
	bpfvm_map *seen;
	_Atomic uint64_t run_errors;
};

static int on_entry(struct pt_regs *regs, void *user, uint64_t *override_rc)
{
	struct stress_hooks *h = user;
	uint64_t result;
	(void)override_rc;
	if (bpfvm_hook_run(h->entry, regs, &result, NULL))
		atomic_fetch_add(&h->run_errors, 1);
	return 0;
}

static void on_return(struct pt_regs *regs, void *user)
{
	struct stress_hooks *h = user;
	uint64_t result;
	if (bpfvm_hook_run(h->ret, regs, &result, NULL))
		atomic_fetch_add(&h->run_errors, 1);
}

/* ---- one cycle ------------------------------------------------------- */

struct slot {
	uint64_t count, first, last, errors;   /* as attach_stress.bpf.c */
};

struct attachment {
	struct probe *probe;
	uint64_t entry_link, ret_link;
	bool with_return;
};

struct totals {
	uint64_t must_entries, counted_entries, counted_returns, tramp_entries, int3_entries, not_trampoline;
	uint64_t threads_moved, trap_redirects;
};

static int attach(struct stress_hooks *h, struct attachment *a, bpfvm_error *err)
{
	static const struct probe_handlers entry_only = { on_entry, NULL }, entry_return = { on_entry, on_return };
	int rc = bpfvm_hook_attach(h->entry, h->entry_prog, &a->entry_link, err);
	if (!rc && a->with_return && (rc = bpfvm_hook_attach(h->ret, h->ret_prog, &a->ret_link, err)))
		bpfvm_hook_detach(h->entry, a->entry_link, NULL);
	if (rc)
		return rc;
	rc = probe_attach((void *)stress_work, NULL, a->with_return ? &entry_return : &entry_only, h, &a->probe, err);
	if (rc) {
		bpfvm_hook_detach(h->entry, a->entry_link, NULL);
		if (a->with_return)
			bpfvm_hook_detach(h->ret, a->ret_link, NULL);
	}
	return rc;
}

/* Probe off, then the links; the probe's counts as it was taken off. */
static void detach(struct stress_hooks *h, struct attachment *a, struct totals *tot)
{
	struct probe_stats st;
	probe_stats(a->probe, &st);
	tot->not_trampoline += probe_path(a->probe) != PROBE_PATH_TRAMPOLINE;
	tot->tramp_entries += st.entries[PROBE_PATH_TRAMPOLINE];
	tot->int3_entries += st.entries[PROBE_PATH_INT3];
	tot->threads_moved += st.threads_moved;
	tot->trap_redirects += st.trap_redirects;
	probe_detach(a->probe);
	bpfvm_hook_detach(h->entry, a->entry_link, NULL);
	if (a->with_return)
		bpfvm_hook_detach(h->ret, a->ret_link, NULL);
}

/* Slot key of thread t in cycle c against what the thread saw (a return
 * slot of an entry-only cycle must count nothing); the slot is emptied
 * for the next cycle.  Prints what is wrong and returns false. */
static bool check_slot(struct stress_hooks *h, int c, uint32_t key, uint64_t t, bool counting, struct totals *tot)
{
	const char *what = key < THREADS ? "entries" : "returns";
	const struct window *w = &windows[c][t];
	struct slot s = { 0 }, empty = { 0 };
	bpfvm_error err = { 0 };
	if (bpfvm_map_lookup(h->seen, &key, &s, 0, &err) || bpfvm_map_update(h->seen, &key, &empty, BPF_ANY, &err)) {
		printf("cycle %d: map seen: %s\n", c, err.msg);
		return false;
	}
	*(key < THREADS ? &tot->counted_entries : &tot->counted_returns) += s.count;
	uint64_t after = atomic_load(&w->after);
	/* no error: each seq counted was the one after the last, so the calls
	 * first..last were counted exactly once each, and no other */
	bool ok = s.errors == 0 && (counting || s.count == 0) &&
		  (!counting || !w->must_first || (s.count && s.first <= w->must_first && s.last >= w->must_last)) &&
		  (!s.count || (s.first > w->before && s.last < after));
	if (!ok)
		printf("FAIL cycle %d (%s) thread %lu %s: counted %lu calls, seq %lu..%lu, %lu out of order; calls wholly "
		       "attached %lu..%lu, last before attach %lu, first after detach %lu\n", c,
		       c & 1 ? "entry and return" : "entry", (unsigned long)t, what, (unsigned long)s.count,
		       (unsigned long)s.first, (unsigned long)s.last, (unsigned long)s.errors,
		       (unsigned long)w->must_first, (unsigned long)w->must_last, (unsigned long)w->before,
		       (unsigned long)after);
	return ok;
}

/* ---- the cycles ------------------------------------------------------ */

/* Until every thread has begun a call after cycle c's detach returned. */
static bool wait_for_calls_after(int c)
{
	for (int waited_ms = 0; waited_ms < 10000; waited_ms++) {
		int t = 0;
		while (t < THREADS && atomic_load(&windows[c][t].after))
			t++;
		if (t == THREADS)
			return true;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return false;
}

static bool run_cycle(struct stress_hooks *h, int c, struct totals *tot)
{
	struct attachment a = { .with_return = c & 1 };
	bpfvm_error err = { 0 };
	atomic_store(&phase, 4l * c + 1);
	if (attach(h, &a, &err)) {
		printf("FAIL cycle %d: attach: %s\n", c, err.msg);
		return false;
	}
	atomic_store(&phase, 4l * c + 2);
	nanosleep(&(struct timespec){ 0, WINDOW_US * 1000 }, NULL);
	atomic_store(&phase, 4l * c + 3);
	detach(h, &a, tot);
	atomic_store(&phase, 4l * c + 4);
	if (!wait_for_calls_after(c)) {
		printf("FAIL cycle %d: a thread made no call for 10 s after detach\n", c);
		return false;
	}
	bool ok = true;
	for (uint32_t t = 0; t < THREADS; t++) {
		const struct window *w = &windows[c][t];
		if (w->must_first)
			tot->must_entries += w->must_last - w->must_first + 1;
		ok &= check_slot(h, c, t, t, true, tot);
		ok &= check_slot(h, c, THREADS + t, t, a.with_return, tot);
	}
	return ok;
}

/* ---- set-up ---------------------------------------------------------- */

static int cycle_count(int argc, char **argv)
{
	const char *s = argc > 2 ? argv[2] : getenv("BPFVM_ATTACH_STRESS_CYCLES");
	int n = s ? atoi(s) : getenv("CI") ? 200 : 1000;
	return n < 1 ? 1 : n > MAX_CYCLES ? MAX_CYCLES : n;
}

static bpfvm_hook *new_hook(const char *name)
{
	bpfvm_hook *hook = NULL;
	bpfvm_error err = { 0 };
	BPFVM_OPTS(bpfvm_hook_opts, o, .name = name, .ctx_kind = BPFVM_HOOK_CTX_PROG_TYPE,
		   .prog_type = BPF_PROG_TYPE_KPROBE);
	CHECK(bpfvm_hook_new(&o, &hook, &err) == 0, "hook %s: %s", name, err.msg);
	return hook;
}

/* The object's programs verified and compiled, its map, the two hooks. */
static bool load(const char *path, bpfvm_object **obj, bpfvm_instance **inst, struct stress_hooks *h)
{
	bpfvm_error err = { 0 };
	if (!CHECK(bpfvm_object_open(path, obj, &err) == 0, "open %s: %s", path, err.msg))
		return false;
	BPFVM_OPTS(bpfvm_instance_opts, io, .jit = true, .verify = true, .no_pins = true);
	if (!CHECK(bpfvm_instance_new(*obj, &io, inst, &err) == 0, "load %s: %s", path, err.msg))
		return false;
	int entry = bpfvm_object_find_prog(*obj, "count_entry"), ret = bpfvm_object_find_prog(*obj, "count_return");
	int seen = bpfvm_object_find_map(*obj, "seen");
	if (!CHECK(entry >= 0 && ret >= 0 && seen >= 0, "%s: programs or map missing", path))
		return false;
	h->entry_prog = bpfvm_instance_prog(*inst, (size_t)entry);
	h->ret_prog = bpfvm_instance_prog(*inst, (size_t)ret);
	h->seen = bpfvm_instance_map(*inst, (size_t)seen);
	h->entry = new_hook("uprobe stress_work");
	h->ret = new_hook("uretprobe stress_work");
	return h->entry && h->ret;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_attach_stress OBJ [CYCLES]\n");
		return 2;
	}
	cycles = cycle_count(argc, argv);
	windows = calloc((size_t)cycles, sizeof *windows);
	bpfvm_object *obj = NULL;
	bpfvm_instance *inst = NULL;
	struct stress_hooks h = { 0 };
	struct caller callers[THREADS] = { 0 };
	struct totals tot = { 0 };
	uint8_t before[16];
	memcpy(before, (void *)stress_work, sizeof before);
	int done = 0;
	if (windows && load(argv[1], &obj, &inst, &h)) {
		for (int t = 0; t < THREADS; t++) {
			callers[t].thread = (uint64_t)t;
			pthread_create(&callers[t].id, NULL, caller_loop, &callers[t]);
		}
		while (done < cycles && run_cycle(&h, done, &tot))
			done++;
		atomic_store(&stop, 1);
		uint64_t wrong = 0, hook_errors = atomic_load(&h.run_errors);
		for (int t = 0; t < THREADS; t++) {
			pthread_join(callers[t].id, NULL);
			wrong += callers[t].wrong_results;
			hook_errors += atomic_load(&callers[t].hook_errors);
		}
		printf("%d of %d cycles (even: entry, odd: entry and return), %lu calls wholly attached; counted %lu "
		       "entries, %lu returns; entries by trampoline %lu, by int3 %lu; threads moved out of the "
		       "displaced bytes %lu, breakpoint redirects %lu\n", done, cycles, (unsigned long)tot.must_entries,
		       (unsigned long)tot.counted_entries, (unsigned long)tot.counted_returns,
		       (unsigned long)tot.tramp_entries, (unsigned long)tot.int3_entries,
		       (unsigned long)tot.threads_moved, (unsigned long)tot.trap_redirects);
		CHECK(done == cycles, "cycle %d failed (above)", done);
		CHECK(wrong == 0, "%lu calls returned a wrong value", (unsigned long)wrong);
		CHECK(hook_errors == 0, "%lu hook runs or thread registrations failed", (unsigned long)hook_errors);
		CHECK(tot.must_entries > 0, "no call fell wholly inside an attachment");
		CHECK(tot.not_trampoline == 0 && tot.int3_entries == 0 && tot.tramp_entries > 0,
		      "the int3 path served: %lu attachments not on the trampoline path, %lu entries by int3",
		      (unsigned long)tot.not_trampoline, (unsigned long)tot.int3_entries);
		CHECK(memcmp((void *)stress_work, before, sizeof before) == 0, "stress_work's bytes not restored");
	}
	bpfvm_hook_free(h.entry);
	bpfvm_hook_free(h.ret);
	bpfvm_instance_free(inst);
	bpfvm_object_free(obj);
	free(windows);
	return check_summary();
}
