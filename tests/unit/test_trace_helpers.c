/*
 * test_trace_helpers.c - the tracing helpers' semantics and the stack
 * trace map: bpf_get_func_ip, bpf_get_attach_cookie and
 * bpf_override_return with and without a hook's tracing context, and
 * with one hook run nested in another,
 * bpf_send_signal(_thread) deferred at a hook and immediate outside one,
 * bpf_get_stack and bpf_get_stackid over a known call chain of this test
 * (built with frame pointers: CMakeLists.txt), their flags and errors,
 * build id records, host ids from bpf_get_current_pid_tgid and _uid_gid,
 * and BPF_MAP_TYPE_STACK_TRACE's attribute checks,
 * bucket rules, user-space operations and repair after a writer killed
 * mid-write.  Every program runs in both
 * engines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/helpers.h"
#include "bpfvm/maps.h"
#include "maps/map_internal.h"
#include "run/trace_ctx.h"
#include "support/check.h"
#include "support/maps_test.h"
#include "support/prog_build.h"

#define MAX_FRAMES 16

static bpfvm_helpers *helpers;

/* r0 = helper(r1 = ctx, r2, r3, r4, r5 = the given values); exit. */
static struct prog call_prog(int helper, const uint64_t args[4])
{
	struct prog p = { .n = 0 };
	for (int a = 0; a < 4; a++)
		emit_imm64(&p, (uint8_t)(a + 2), args ? args[a] : 0);
	emit(&p, insn(0x85, 0, 0, 0, helper));
	emit(&p, insn(0x95, 0, 0, 0, 0));
	return p;
}

/* Runs p as a kprobe program over regs (unchecked: the stack buffers
 * the helpers write are the test's), in engine e; r0. */
static uint64_t run_kprobe(const struct prog *p, bpfvm_map *map, const struct pt_regs *regs, bpfvm_engine e)
{
	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = helpers, .jit = true, .prog_type = BPF_PROG_TYPE_KPROBE,
	           .maps = &map, .map_count = map ? 1 : 0);
	bpfvm_program *prog = NULL;
	bpfvm_error err = { 0 };
	if (!CHECK(bpfvm_program_load(p->i, p->n, &lo, &prog, &err) == 0, "load: %s", err.msg))
		return 0xdead;
	struct pt_regs zero = { 0 };
	BPFVM_OPTS(bpfvm_test_run, t, .ctx_in = regs ? regs : &zero, .ctx_size_in = sizeof *regs,
	           .mode = BPFVM_UNCHECKED, .engine = e);
	int rc = bpfvm_program_test_run(prog, &t, &err);
	CHECK(rc == 0, "test run: %s", err.msg);
	bpfvm_program_free(prog);
	return t.retval;
}

static const bpfvm_engine engines[2] = { BPFVM_ENGINE_INTERP, BPFVM_ENGINE_JIT };

/* ---- the event's identity and overrides ---------------------------------- */

static void test_func_ip_cookie_override(void)
{
	struct prog ip = call_prog(BPF_FUNC_get_func_ip, NULL), cookie = call_prog(BPF_FUNC_get_attach_cookie, NULL);
	uint64_t args[4] = { 42 };
	struct prog override = call_prog(BPF_FUNC_override_return, args);
	for (int e = 0; e < 2; e++) {
		CHECK(run_kprobe(&ip, NULL, NULL, engines[e]) == 0, "get_func_ip without a hook: 0");
		CHECK(run_kprobe(&cookie, NULL, NULL, engines[e]) == 0, "get_attach_cookie without a hook: 0");
		CHECK((int64_t)run_kprobe(&override, NULL, NULL, engines[e]) == -EINVAL,
		      "override_return without a hook: -EINVAL");
		struct pt_regs regs = { .rax = 7 };
		struct trace_ctx t = { .func_ip = 0x401000, .cookie = 0xc00c1e, .regs = &regs };
		trace_ctx_enter(&t);
		uint64_t got_ip = run_kprobe(&ip, NULL, &regs, engines[e]);
		uint64_t got_cookie = run_kprobe(&cookie, NULL, &regs, engines[e]);
		int64_t no_override = (int64_t)run_kprobe(&override, NULL, &regs, engines[e]);
		t.may_override = true;
		int64_t overridden = (int64_t)run_kprobe(&override, NULL, &regs, engines[e]);
		trace_ctx_leave();
		CHECK(got_ip == 0x401000, "get_func_ip at a hook: 0x%llx", (unsigned long long)got_ip);
		CHECK(got_cookie == 0xc00c1e, "get_attach_cookie at a hook: 0x%llx", (unsigned long long)got_cookie);
		CHECK(no_override == -EINVAL, "override_return where the hook cannot skip the function: %lld",
		      (long long)no_override);
		CHECK(overridden == 0 && t.override && t.override_value == 42 && regs.rax == 42,
		      "override_return at an entry probe: rc %lld, override %d value %llu rax %llu", (long long)overridden,
		      t.override, (unsigned long long)t.override_value, (unsigned long long)regs.rax);
	}
}

/* A hook run nested in another on the same thread (a probe hit from a
 * helper of a run) sees its own event, and the outer run its own again
 * after it: leaving used to clear the outer run's context. */
static void test_nested_contexts(void)
{
	struct prog ip = call_prog(BPF_FUNC_get_func_ip, NULL);
	for (int e = 0; e < 2; e++) {
		struct pt_regs regs = { 0 };
		struct trace_ctx outer = { .func_ip = 0x401000, .regs = &regs }, inner = { .func_ip = 0x402000, .regs = &regs };
		trace_ctx_enter(&outer);
		trace_ctx_enter(&inner);
		uint64_t inner_ip = run_kprobe(&ip, NULL, &regs, engines[e]);
		trace_ctx_leave();
		uint64_t outer_ip = run_kprobe(&ip, NULL, &regs, engines[e]);
		trace_ctx_leave();
		uint64_t after = run_kprobe(&ip, NULL, &regs, engines[e]);
		CHECK(inner_ip == 0x402000 && outer_ip == 0x401000 && after == 0,
		      "nested hook runs: func ip 0x%llx inside, 0x%llx outside it, 0x%llx after both",
		      (unsigned long long)inner_ip, (unsigned long long)outer_ip, (unsigned long long)after);
	}
}

/* bpf_get_current_pid_tgid and _uid_gid give host ids, as the kernel:
 * the process id above the thread id, the group id above the user id,
 * from a thread other than the main one too. */
static void *pid_tgid_thread(void *arg)
{
	struct prog p = call_prog(BPF_FUNC_get_current_pid_tgid, NULL), u = call_prog(BPF_FUNC_get_current_uid_gid, NULL);
	uint64_t *out = arg;
	out[0] = run_kprobe(&p, NULL, NULL, BPFVM_ENGINE_JIT);
	out[1] = (uint64_t)(uint32_t)getpid() << 32 | (uint32_t)gettid();
	out[2] = run_kprobe(&u, NULL, NULL, BPFVM_ENGINE_INTERP);
	return NULL;
}

static void test_host_ids(void)
{
	uint64_t got[3];
	pthread_t t;
	if (!CHECK(pthread_create(&t, NULL, pid_tgid_thread, got) == 0, "thread"))
		return;
	pthread_join(t, NULL);
	CHECK(got[0] == got[1] && (uint32_t)got[0] != (uint32_t)getpid(),
	      "pid_tgid in a thread: 0x%llx, want 0x%llx", (unsigned long long)got[0], (unsigned long long)got[1]);
	CHECK(got[2] == ((uint64_t)getgid() << 32 | getuid()), "uid_gid: 0x%llx", (unsigned long long)got[2]);
}

/* ---- signals ------------------------------------------------------------- */

static volatile sig_atomic_t usr1_seen;
static void on_usr1(int sig) { (void)sig; usr1_seen++; }

static void test_send_signal(void)
{
	signal(SIGUSR1, on_usr1);
	static const int ids[2] = { BPF_FUNC_send_signal, BPF_FUNC_send_signal_thread };
	for (int k = 0; k < 2; k++) {
		struct prog send = { .n = 0 }, invalid = { .n = 0 };
		emit(&send, insn(0xb7, 1, 0, 0, SIGUSR1));   /* r1 = the signal */
		emit(&invalid, insn(0xb7, 1, 0, 0, 65));
		emit(&send, insn(0x85, 0, 0, 0, ids[k]));
		emit(&invalid, insn(0x85, 0, 0, 0, ids[k]));
		emit(&send, insn(0x95, 0, 0, 0, 0));
		emit(&invalid, insn(0x95, 0, 0, 0, 0));
		usr1_seen = 0;
		CHECK(run_kprobe(&send, NULL, NULL, BPFVM_ENGINE_JIT) == 0 && usr1_seen == 1,
		      "helper %d without a hook: sent at once (%d seen)", ids[k], (int)usr1_seen);
		CHECK((int64_t)run_kprobe(&invalid, NULL, NULL, BPFVM_ENGINE_JIT) == -EINVAL,
		      "helper %d: signal 65 is -EINVAL", ids[k]);
		struct trace_ctx t = { 0 };
		trace_ctx_enter(&t);
		usr1_seen = 0;
		int64_t first = (int64_t)run_kprobe(&send, NULL, NULL, BPFVM_ENGINE_INTERP);
		int64_t second = (int64_t)run_kprobe(&send, NULL, NULL, BPFVM_ENGINE_JIT);
		trace_ctx_leave();
		CHECK(first == 0 && second == -EBUSY && usr1_seen == 0 && t.signal == SIGUSR1 &&
		      t.signal_thread == (k == 1),
		      "helper %d at a hook: deferred (%lld, then %lld; %d seen)", ids[k], (long long)first,
		      (long long)second, (int)usr1_seen);
		CHECK(trace_ctx_send_signal(&t) == 0 && usr1_seen == 1 && t.signal == 0,
		      "helper %d: sent after the run", ids[k]);
	}
	signal(SIGUSR1, SIG_DFL);
}

/* ---- stacks over a known call chain ------------------------------------------ */

/* The chain: chain_top -> chain_middle -> chain_bottom, each with a frame
 * of its own; chain_bottom captures its registers and the return
 * addresses the walk must find. */
struct chain {
	struct pt_regs regs;
	uint64_t want[3];    /* rip, then the return addresses into chain_middle and chain_top */
};
typedef void (*chain_fn)(struct chain *c);
static volatile uint64_t middle_return;

static __attribute__((noinline)) void chain_bottom(struct chain *c, chain_fn then)
{
	c->regs.rbp = (uint64_t)(uintptr_t)__builtin_frame_address(0);
	c->regs.rip = (uint64_t)(uintptr_t)chain_bottom;
	c->want[0] = c->regs.rip;
	c->want[1] = (uint64_t)(uintptr_t)__builtin_return_address(0);
	c->want[2] = middle_return;
	then(c);
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void chain_middle(struct chain *c, chain_fn then)
{
	middle_return = (uint64_t)(uintptr_t)__builtin_return_address(0);
	chain_bottom(c, then);
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void chain_top(struct chain *c, chain_fn then)
{
	chain_middle(c, then);
	__asm__ volatile("" ::: "memory");
}

static uint64_t stack_buf[MAX_FRAMES];

/* r0 = bpf_get_stack(ctx, stack_buf, size, flags); exit. */
static int64_t get_stack(const struct pt_regs *regs, uint64_t size, uint64_t flags, bpfvm_engine e)
{
	uint64_t args[4] = { (uint64_t)(uintptr_t)stack_buf, size, flags };
	struct prog p = call_prog(BPF_FUNC_get_stack, args);
	return (int64_t)run_kprobe(&p, NULL, regs, e);
}

static void check_get_stack(struct chain *c)
{
	for (int e = 0; e < 2; e++) {
		memset(stack_buf, 0xee, sizeof stack_buf);
		int64_t n = get_stack(&c->regs, sizeof stack_buf, BPF_F_USER_STACK, engines[e]);
		CHECK(n >= 24 && n % 8 == 0, "get_stack: %lld bytes", (long long)n);
		CHECK(!memcmp(stack_buf, c->want, sizeof c->want), "get_stack: frames 0x%llx 0x%llx 0x%llx",
		      (unsigned long long)stack_buf[0], (unsigned long long)stack_buf[1], (unsigned long long)stack_buf[2]);
		CHECK(n < (int64_t)sizeof stack_buf ? stack_buf[n / 8] == 0 : true, "get_stack: the rest zeroed");
		CHECK(get_stack(&c->regs, 16, BPF_F_USER_STACK | 1, engines[e]) == 16 && stack_buf[0] == c->want[1] &&
		      stack_buf[1] == c->want[2], "get_stack: skip 1, two frames");
		CHECK(get_stack(&c->regs, 16, BPF_F_USER_STACK | 200, engines[e]) == -EFAULT && stack_buf[0] == 0,
		      "get_stack: skipping more than the stack: -EFAULT, cleared");
		CHECK(get_stack(&c->regs, 16, 0, engines[e]) == -EFAULT, "get_stack: kernel stack: -EFAULT");
		CHECK(get_stack(&c->regs, 12, BPF_F_USER_STACK, engines[e]) == -EINVAL, "get_stack: size 12: -EINVAL");
		CHECK(get_stack(&c->regs, 16, BPF_F_USER_STACK | (1ull << 9), engines[e]) == -EINVAL,
		      "get_stack: unknown flag: -EINVAL");
		CHECK(get_stack(&c->regs, 0, BPF_F_USER_STACK, engines[e]) == 0, "get_stack: size 0");
		/* at a function's entry the return address is at rsp */
		uint64_t ret_slot = 0x1234;
		struct pt_regs entry = { .rip = c->want[0], .rsp = (uint64_t)(uintptr_t)&ret_slot, .rbp = 0 };
		struct trace_ctx t = { .regs = &entry, .at_func_entry = true };
		trace_ctx_enter(&t);
		n = get_stack(NULL, sizeof stack_buf, BPF_F_USER_STACK, engines[e]);
		trace_ctx_leave();
		CHECK(n == 16 && stack_buf[0] == c->want[0] && stack_buf[1] == 0x1234,
		      "get_stack at a function entry: %lld bytes, 0x%llx", (long long)n, (unsigned long long)stack_buf[1]);
		/* a frame pointer into unmapped memory ends the walk, fault-safe */
		struct pt_regs wild = { .rip = 5, .rbp = 8 };
		CHECK(get_stack(&wild, sizeof stack_buf, BPF_F_USER_STACK, engines[e]) == 8 && stack_buf[0] == 5,
		      "get_stack: a wild frame pointer stops the walk");
	}
	/* build id records: this program's code is in an object with one */
	struct bpf_stack_build_id rec[3];
	memset(rec, 0xee, sizeof rec);
	uint64_t args[4] = { (uint64_t)(uintptr_t)rec, sizeof rec, BPF_F_USER_STACK | BPF_F_USER_BUILD_ID };
	struct prog p = call_prog(BPF_FUNC_get_stack, args);
	int64_t n = (int64_t)run_kprobe(&p, NULL, &c->regs, BPFVM_ENGINE_JIT);
	uint8_t none[20] = { 0 };
	CHECK(n == (int64_t)sizeof rec && rec[0].status == BPF_STACK_BUILD_ID_VALID &&
	      memcmp(rec[0].build_id, none, sizeof none) != 0 && rec[0].offset != c->want[0],
	      "build id records: %lld bytes, status %d", (long long)n, rec[0].status);
	struct pt_regs heap = { .rip = (uint64_t)(uintptr_t)&n };   /* an address in no object */
	n = (int64_t)run_kprobe(&p, NULL, &heap, BPFVM_ENGINE_JIT);
	CHECK(n == (int64_t)sizeof rec[0] && rec[0].status == BPF_STACK_BUILD_ID_IP &&
	      rec[0].ip == (uint64_t)(uintptr_t)&n, "build id records: an address in no object keeps its ip");
	uint64_t kernel_args[4] = { (uint64_t)(uintptr_t)rec, sizeof rec, BPF_F_USER_BUILD_ID };
	p = call_prog(BPF_FUNC_get_stack, kernel_args);
	CHECK((int64_t)run_kprobe(&p, NULL, &c->regs, BPFVM_ENGINE_JIT) == -EINVAL,
	      "build id without BPF_F_USER_STACK: -EINVAL");
}

/* r0 = bpf_get_stackid(ctx, map, flags) over regs. */
static int64_t get_stackid(bpfvm_map *m, const struct pt_regs *regs, uint64_t flags, bpfvm_engine e)
{
	uint64_t args[4] = { (uint64_t)(uintptr_t)m, flags };
	struct prog p = call_prog(BPF_FUNC_get_stackid, args);
	return (int64_t)run_kprobe(&p, m, regs, e);
}

static bpfvm_map *stack_map(uint32_t value_size, uint32_t max_entries, uint32_t flags)
{
	return mt_map(BPF_MAP_TYPE_STACK_TRACE, 4, value_size, max_entries, flags);
}

/* The chain's stack with frame 0 replaced: a different stack (hash). */
static struct pt_regs variant(const struct chain *c, uint64_t rip)
{
	struct pt_regs r = c->regs;
	r.rip = rip;
	return r;
}

static void check_get_stackid(struct chain *c)
{
	for (int e = 0; e < 2; e++) {
		/* Two stacks share a bucket when their hashes agree in as many low
		 * bits as the map has buckets; with ASLR moving the frames that is
		 * a 1 in 64 chance a run in a 64-bucket map: 65536 buckets make
		 * the chain and its skip-1 stack collide 1 run in 65536. */
		bpfvm_map *m = stack_map(8 * MAX_FRAMES, 1u << 16, 0);
		if (!m)
			return;
		int64_t id = get_stackid(m, &c->regs, BPF_F_USER_STACK, engines[e]);
		CHECK(id >= 0 && id < (1 << 16), "get_stackid: id %lld", (long long)id);
		CHECK(get_stackid(m, &c->regs, BPF_F_USER_STACK, engines[e]) == id, "get_stackid: the same stack, the same id");
		uint64_t frames[MAX_FRAMES];
		uint32_t key = (uint32_t)id;
		CHECK(bpfvm_map_lookup(m, &key, frames, 0, NULL) == 0 && !memcmp(frames, c->want, sizeof c->want),
		      "lookup: the chain's frames");
		int64_t skipped = get_stackid(m, &c->regs, BPF_F_USER_STACK | 1, engines[e]);
		CHECK(skipped >= 0 && skipped != id, "get_stackid: skip 1 is another stack");
		CHECK(get_stackid(m, &c->regs, 0, engines[e]) == -EFAULT, "get_stackid: kernel stack: -EFAULT");
		CHECK(get_stackid(m, &c->regs, BPF_F_USER_STACK | (1ull << 12), engines[e]) == -EINVAL,
		      "get_stackid: unknown flag: -EINVAL");
		CHECK(get_stackid(m, &c->regs, BPF_F_USER_STACK | 255, engines[e]) == -EFAULT,
		      "get_stackid: skipping the whole stack: -EFAULT");
		CHECK(bpfvm_map_delete(m, &key, NULL) == 0 && bpfvm_map_lookup(m, &key, frames, 0, NULL) == -ENOENT,
		      "delete, then lookup: -ENOENT");
		key = (uint32_t)skipped;
		CHECK(bpfvm_map_lookup_and_delete(m, &key, frames, 0, NULL) == 0 && frames[0] == c->want[1] &&
		      bpfvm_map_lookup(m, &key, frames, 0, NULL) == -ENOENT, "lookup_and_delete: the frames, then gone");
		bpfvm_map_put(m);
	}
	/* One bucket per stack of a two-bucket map: collisions */
	bpfvm_map *m = stack_map(8 * MAX_FRAMES, 2, 0);
	if (!m)
		return;
	struct pt_regs a = variant(c, 0x1000);
	int64_t ida = get_stackid(m, &a, BPF_F_USER_STACK, BPFVM_ENGINE_JIT), idb = -1;
	struct pt_regs b;
	for (uint64_t rip = 0x2000; rip < 0x2100 && idb != -EEXIST; rip++) {
		b = variant(c, rip);
		idb = get_stackid(m, &b, BPF_F_USER_STACK, BPFVM_ENGINE_JIT);
		if (idb >= 0 && idb != ida) {
			uint32_t k = (uint32_t)idb;
			bpfvm_map_delete(m, &k, NULL);   /* the other bucket: keep it free */
		}
	}
	CHECK(idb == -EEXIST, "get_stackid: another stack in a used bucket: -EEXIST");
	CHECK(get_stackid(m, &b, BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP, BPFVM_ENGINE_JIT) == -EEXIST,
	      "FAST_STACK_CMP with a different hash: still -EEXIST");
	CHECK(get_stackid(m, &b, BPF_F_USER_STACK | BPF_F_REUSE_STACKID, BPFVM_ENGINE_JIT) == ida,
	      "REUSE_STACKID replaces the bucket");
	uint64_t frames[MAX_FRAMES];
	uint32_t key = (uint32_t)ida;
	CHECK(bpfvm_map_lookup(m, &key, frames, 0, NULL) == 0 && frames[0] == b.rip, "the bucket holds the new stack");
	CHECK(get_stackid(m, &a, BPF_F_USER_STACK, BPFVM_ENGINE_JIT) == -EEXIST, "the old stack is gone");
	/* both buckets used = max_entries: no element left, even to replace */
	struct pt_regs other;
	int64_t idc = -1;
	for (uint64_t rip = 0x3000; rip < 0x3100 && (idc < 0 || idc == ida); rip++) {
		other = variant(c, rip);
		idc = get_stackid(m, &other, BPF_F_USER_STACK, BPFVM_ENGINE_JIT);
	}
	CHECK(idc >= 0 && idc != ida, "the second bucket filled");
	CHECK(get_stackid(m, &a, BPF_F_USER_STACK | BPF_F_REUSE_STACKID, BPFVM_ENGINE_JIT) == -ENOMEM,
	      "a full map: -ENOMEM even to replace");
	uint32_t k0 = 0, next = 99;
	CHECK(bpfvm_map_get_next_key(m, NULL, &next, NULL) == 0 && next == 0 &&
	      bpfvm_map_get_next_key(m, &k0, &next, NULL) == 0 && next == 1 &&
	      bpfvm_map_get_next_key(m, &next, &next, NULL) == -ENOENT, "get_next_key: 0, 1, end");
	bpfvm_map_put(m);
}

/* stack_trace.c's shared state, as its arena holds it (white box). */
struct stack_trace_state {
	uint32_t lock, count, writing, n_buckets;
};

/* A writer killed while it rewrites a bucket in place (holding the lock,
 * the bucket named in `writing`, its frames half-written): the next user
 * takes the lock over, drops that bucket and recounts, and the map works
 * on. */
static void check_writer_killed(struct chain *c)
{
	bpfvm_map *m = stack_map(8 * MAX_FRAMES, 4, 0);
	if (!m)
		return;
	int64_t id = get_stackid(m, &c->regs, BPF_F_USER_STACK, BPFVM_ENGINE_JIT);
	struct stack_trace_state *st = (struct stack_trace_state *)(void *)(m->base + m->off[0]);
	if (!CHECK(id >= 0 && st->count == 1 && st->n_buckets == 4, "a stack stored (id %lld)", (long long)id))
		return;
	pid_t pid = fork();
	if (pid == 0) {
		spin_lock(&st->lock);
		__atomic_store_n(&st->writing, (uint32_t)id + 1, __ATOMIC_RELEASE);
		memset(m->base + m->off[1] + (size_t)id * (8 + m->value_size) + 8, 0x5a, 16);
		raise(SIGKILL);
		_exit(3);
	}
	int status;
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && spin_holder(&st->lock) != 0, "the writer died holding the lock");
	uint32_t key = (uint32_t)id;
	uint64_t frames[MAX_FRAMES];
	alarm(10);
	int rc = bpfvm_map_lookup(m, &key, frames, 0, NULL);
	alarm(0);
	CHECK(rc == -ENOENT && st->count == 0 && st->writing == 0 && spin_holder(&st->lock) == 0,
	      "taken over: the half-written bucket dropped (lookup %d, count %u)", rc, st->count);
	CHECK(get_stackid(m, &c->regs, BPF_F_USER_STACK, BPFVM_ENGINE_JIT) == id &&
	      bpfvm_map_lookup(m, &key, frames, 0, NULL) == 0 && !memcmp(frames, c->want, sizeof c->want),
	      "the map works on");
	bpfvm_map_put(m);
}

static void run_chain_checks(struct chain *c)
{
	check_get_stack(c);
	check_get_stackid(c);
	check_writer_killed(c);
}

/* ---- the map's attribute checks and user-space operations ------------------ */

static void test_stack_map_attributes(void)
{
	static const struct { uint32_t ks, vs, max, flags; int rc; } cases[] = {
		{ 4, 8, 1, 0, 0 }, { 4, 127 * 8, 4, 0, 0 }, { 4, 128 * 8, 4, 0, -EINVAL }, { 8, 8, 4, 0, -EINVAL },
		{ 4, 12, 4, 0, -EINVAL }, { 4, 0, 4, 0, -EINVAL }, { 4, 8, 0, 0, -EINVAL },
		{ 4, 32, 4, BPFVM_F_STACK_BUILD_ID, 0 }, { 4, 40, 4, BPFVM_F_STACK_BUILD_ID, -EINVAL },
		{ 4, 8, 4, BPFVM_F_RDONLY_PROG, -EINVAL }, { 4, 8, (1u << 31) + 1, 0, -E2BIG },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bpfvm_map_def def = BPFVM_MAP_DEF_INIT;
		def.type = BPF_MAP_TYPE_STACK_TRACE;
		def.key_size = cases[i].ks;
		def.value_size = cases[i].vs;
		def.max_entries = cases[i].max;
		def.flags = cases[i].flags;
		bpfvm_map *m = NULL;
		bpfvm_error err = { 0 };
		int rc = bpfvm_map_create(&def, &m, &err);
		CHECK(rc == cases[i].rc, "stack map case %zu: %d, want %d (%s)", i, rc, cases[i].rc, err.msg);
		bpfvm_map_put(m);
	}
	bpfvm_map *m = stack_map(16, 5, 0);    /* 8 buckets */
	if (!m)
		return;
	uint32_t key = 7, big = 8;
	uint64_t v[2] = { 1, 2 };
	CHECK(bpfvm_map_update(m, &key, v, 0, NULL) == -EINVAL, "update from user space: -EINVAL");
	CHECK(bpfvm_map_lookup(m, &key, v, 0, NULL) == -ENOENT, "lookup of an empty bucket: -ENOENT");
	CHECK(bpfvm_map_delete(m, &key, NULL) == -ENOENT, "delete of an empty bucket: -ENOENT");
	CHECK(bpfvm_map_delete(m, &big, NULL) == -E2BIG, "delete past the buckets: -E2BIG");
	CHECK(bpfvm_map_get_next_key(m, NULL, &key, NULL) == -ENOENT, "get_next_key of an empty map: -ENOENT");
	bpfvm_map_put(m);
}

int main(void)
{
	bpfvm_error err = { 0 };
	helpers = bpfvm_helpers_new_kernel(&err);
	if (!helpers) {
		printf("FAIL helpers: %s\n", err.msg);
		return 1;
	}
	test_func_ip_cookie_override();
	test_nested_contexts();
	test_host_ids();
	test_send_signal();
	test_stack_map_attributes();
	struct chain c = { 0 };
	chain_top(&c, run_chain_checks);
	bpfvm_helpers_free(helpers);
	return check_summary();
}
