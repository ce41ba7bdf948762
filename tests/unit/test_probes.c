/*
 * test_probes.c - function entry and return probes (src/hooks/probe*.c)
 * on functions of this program: prologues of every kind (a RIP-relative
 * load, a jcc and a call in the displaced bytes, a function too short for
 * a jump, a loop back into the first bytes), arguments and return values
 * as PT_REGS_PARM1..6 and PT_REGS_RC read them, bpf_override_return's
 * semantics, longjmp out of a return-probed function, recursion, and
 * a thread blocked inside the bytes being replaced, the program's own
 * SIGTRAP handler still called for traps that are not probes, handlers
 * on an aligned stack when the caller's was not, a displaced call's
 * return address mapped back to the function's own, and
 * attach/detach while 4 threads call the function (BPFVM_PROBE_CYCLES
 * cycles, default 1000, 200 when CI is set).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hooks/probe.h"
#include "support/check.h"
#include "support/noipa.h"

/* Functions whose bytes the test decides. */
__asm__(".pushsection .data\n.p2align 3\nprobe_t_data: .quad 1000\n.popsection\n"
	".pushsection .text\n"
	".p2align 4\n.globl probe_t_riprel\n.hidden probe_t_riprel\n"
	"probe_t_riprel: mov probe_t_data(%rip), %rax\n add %rdi, %rax\n ret\n"
	".p2align 4\n.globl probe_t_short\n.hidden probe_t_short\n"
	"probe_t_short: lea 1(%rdi), %eax\n ret\n"
	".globl probe_t_after_short\n.hidden probe_t_after_short\n"
	"probe_t_after_short: mov $7, %eax\n ret\n"
	".p2align 4\n.globl probe_t_loop\n.hidden probe_t_loop\n"
	"probe_t_loop: xor %eax, %eax\n1: add %rdi, %rax\n dec %rsi\n jnz 1b\n ret\n"
	".p2align 4\n.globl probe_t_branchy\n.hidden probe_t_branchy\n"
	"probe_t_branchy: test %rdi, %rdi\n js 1f\n lea 1(%rdi), %rax\n ret\n1: mov $-1, %rax\n ret\n"
	".p2align 4\n.globl probe_t_calls\n.hidden probe_t_calls\n"
	"probe_t_calls: call probe_t_helper\n add %rdi, %rax\n ret\n"
	"probe_t_helper: mov $100, %eax\n ret\n"
	".p2align 4\n.globl probe_t_park\n.hidden probe_t_park\n"
	"probe_t_park: xor %eax, %eax\n syscall\n nop\n ret\n"
	".p2align 4\n.globl probe_t_stress\n.hidden probe_t_stress\n"
	"probe_t_stress: mov %rdi, %rax\n add %rax, %rax\n inc %rax\n ret\n"
	".popsection\n");


long probe_t_riprel(long x);
long probe_t_short(long x);
long probe_t_after_short(void);
long probe_t_loop(long x, long n);
long probe_t_branchy(long x);
long probe_t_calls(long x);
long probe_t_stress(long x);
long probe_t_park(long fd, void *buf, long n);   /* read(2) from inside its displaced bytes */

NOIPA long add6(long a, long b, long c, long d, long e, long f)
{
	return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f;
}

static long bumped;
NOIPA long bump(long x)
{
	bumped += x;
	return bumped;
}

NOIPA long rec(long n)
{
	if (n <= 0)
		return 0;
	long r = rec(n - 1);
	__asm__ volatile("" : "+r"(r));
	return r + n;
}

NOIPA void jumper(jmp_buf *env)
{
	longjmp(*env, 1);
}

/* What the handlers saw. */
static struct {
	int entries, returns;
	struct pt_regs entry, ret;
	long rets[64];
	long override_when;   /* PARM1 that makes the entry handler override */
	uint64_t override_rc;
} seen;

static int on_entry(struct pt_regs *regs, void *user, uint64_t *rc)
{
	(void)user;
	seen.entries++;
	seen.entry = *regs;
	if (seen.override_when && (long)regs->rdi == seen.override_when) {
		*rc = seen.override_rc;
		return 1;
	}
	return 0;
}

static void on_return(struct pt_regs *regs, void *user)
{
	(void)user;
	if (seen.returns < 64)
		seen.rets[seen.returns] = (long)regs->rax;
	seen.returns++;
	seen.ret = *regs;
}

static const struct probe_handlers entry_only = { on_entry, NULL }, entry_and_return = { on_entry, on_return };

static struct probe *attach_or_fail(void *fn, int force_int3, const struct probe_handlers *h, const char *what)
{
	struct probe_attach_opts opts = { .force_int3 = force_int3 };
	struct probe *p = NULL;
	bpfvm_error err = { 0 };
	memset(&seen, 0, sizeof seen);
	int rc = probe_attach(fn, &opts, h, NULL, &p, &err);
	CHECK(rc == 0, "%s: attach: %d %s", what, rc, err.msg);
	return rc == 0 ? p : NULL;
}

/* Detaches and checks the function's bytes are back as they were. */
static void detach_and_check(struct probe *p, const void *fn, const uint8_t before[16], const char *what)
{
	probe_detach(p);
	CHECK(memcmp(fn, before, 16) == 0, "%s: bytes not restored", what);
}

static void check_path(struct probe *p, enum probe_path want, const char *what)
{
	struct probe_stats st;
	probe_stats(p, &st);
	CHECK(probe_path(p) == want, "%s: path %d, want %d", what, probe_path(p), want);
	CHECK(st.entries[want] == (uint64_t)seen.entries && st.entries[!want] == 0,
	      "%s: entries by path %lu/%lu, handler saw %d", what, (unsigned long)st.entries[0],
	      (unsigned long)st.entries[1], seen.entries);
}

static void test_prologue(void *fn, long (*call)(long), long arg, long want, enum probe_path path,
			  const char *what)
{
	uint8_t before[16];
	memcpy(before, fn, sizeof before);
	struct probe *p = attach_or_fail(fn, 0, &entry_only, what);
	if (!p)
		return;
	long got = call(arg);
	CHECK(got == want, "%s: returned %ld, want %ld", what, got, want);
	CHECK(seen.entries == 1 && (long)seen.entry.rdi == arg && seen.entry.rip == (uintptr_t)fn,
	      "%s: entries %d, PARM1 %ld, ip %#lx", what, seen.entries, (long)seen.entry.rdi, seen.entry.rip);
	check_path(p, path, what);
	detach_and_check(p, fn, before, what);
	CHECK(call(arg) == want && seen.entries == 1, "%s: after detach", what);
}

static void test_prologues(void)
{
	test_prologue(probe_t_riprel, probe_t_riprel, 5, 1005, PROBE_PATH_TRAMPOLINE, "rip-relative load");
	test_prologue(probe_t_short, probe_t_short, 41, 42, PROBE_PATH_INT3, "short function");
	CHECK(probe_t_after_short() == 7, "the function after the short one");
	test_prologue(probe_t_branchy, probe_t_branchy, 5, 6, PROBE_PATH_TRAMPOLINE, "jcc displaced, not taken");
	test_prologue(probe_t_branchy, probe_t_branchy, -3, -1, PROBE_PATH_TRAMPOLINE, "jcc displaced, taken");
	test_prologue(probe_t_calls, probe_t_calls, 1, 101, PROBE_PATH_TRAMPOLINE, "call displaced");

	uint8_t before[16];
	memcpy(before, probe_t_loop, sizeof before);
	struct probe *p = attach_or_fail(probe_t_loop, 0, &entry_only, "loop into the first bytes");
	if (p) {
		long got = probe_t_loop(3, 4);
		CHECK(got == 12 && seen.entries == 1, "loop: %ld, entries %d", got, seen.entries);
		check_path(p, PROBE_PATH_INT3, "loop into the first bytes");
		detach_and_check(p, probe_t_loop, before, "loop");
	}
	memcpy(before, probe_t_riprel, sizeof before);
	p = attach_or_fail(probe_t_riprel, 1, &entry_only, "rip-relative load, int3");
	if (p) {
		CHECK(probe_t_riprel(7) == 1007 && seen.entries == 1, "rip-relative load out of line");
		check_path(p, PROBE_PATH_INT3, "rip-relative load, int3");
		detach_and_check(p, probe_t_riprel, before, "rip-relative load, int3");
	}
}

static void test_args_and_return(int force_int3)
{
	const char *what = force_int3 ? "args (int3)" : "args (trampoline)";
	struct probe *p = attach_or_fail(add6, force_int3, &entry_and_return, what);
	if (!p)
		return;
	long got = add6(1, 2, 3, 4, 5, 6);
	struct pt_regs *e = &seen.entry;
	CHECK(e->rdi == 1 && e->rsi == 2 && e->rdx == 3 && e->rcx == 4 && e->r8 == 5 && e->r9 == 6,
	      "%s: PARM1..6 %lu %lu %lu %lu %lu %lu", what, e->rdi, e->rsi, e->rdx, e->rcx, e->r8, e->r9);
	CHECK(got == 91 && seen.returns == 1 && seen.ret.rax == 91, "%s: returned %ld, handler saw rc %lu", what, got,
	      seen.ret.rax);
	CHECK(seen.ret.rsp == e->rsp + 8, "%s: sp at return %#lx, at entry %#lx", what, seen.ret.rsp, e->rsp);
	CHECK(probe_shadow_depth() == 0, "%s: shadow stack depth %u", what, probe_shadow_depth());
	check_path(p, force_int3 ? PROBE_PATH_INT3 : PROBE_PATH_TRAMPOLINE, what);
	probe_detach(p);
}

static void test_override(int force_int3)
{
	const char *what = force_int3 ? "override (int3)" : "override (trampoline)";
	struct probe *p = attach_or_fail(bump, force_int3, &entry_and_return, what);
	if (!p)
		return;
	seen.override_when = 13;
	seen.override_rc = 4242;
	bumped = 0;
	long a = bump(2), b = bump(13), c = bump(3);
	CHECK(a == 2 && b == 4242 && c == 5 && bumped == 5, "%s: %ld %ld %ld, bumped %ld", what, a, b, c, bumped);
	CHECK(seen.entries == 3 && seen.returns == 2, "%s: entries %d, returns %d", what, seen.entries,
	      seen.returns);
	probe_detach(p);
}

static void test_recursion(int force_int3)
{
	const char *what = force_int3 ? "recursion (int3)" : "recursion (trampoline)";
	struct probe *p = attach_or_fail(rec, force_int3, &entry_and_return, what);
	if (!p)
		return;
	long got = rec(10);
	int ok = got == 55 && seen.entries == 11 && seen.returns == 11;
	for (long k = 0; ok && k <= 10; k++)
		ok = seen.rets[k] == k * (k + 1) / 2;
	CHECK(ok, "%s: rec(10) = %ld, entries %d, returns %d", what, got, seen.entries, seen.returns);
	CHECK(probe_shadow_depth() == 0, "%s: shadow stack depth %u", what, probe_shadow_depth());
	probe_detach(p);
}

static void test_longjmp(void)
{
	struct probe *p = attach_or_fail(jumper, 0, &entry_and_return, "longjmp");
	if (!p)
		return;
	static jmp_buf env;
	static volatile int jumps;
	jumps = 0;
	if (setjmp(env) < 300) {
		jumps++;
		if (jumps <= 300)
			jumper(&env);
	}
	CHECK(seen.entries == 300 && seen.returns == 0, "longjmp: entries %d, returns %d", seen.entries,
	      seen.returns);
	CHECK(probe_shadow_depth() <= 1, "longjmp: stale entries not dropped: depth %u", probe_shadow_depth());
	struct probe *q = attach_or_fail(rec, 0, &entry_and_return, "return after longjmp");
	if (q) {
		long got = rec(3);
		CHECK(got == 6 && seen.returns == 4 && probe_shadow_depth() == 0,
		      "return after longjmp: %ld, returns %d, depth %u", got, seen.returns, probe_shadow_depth());
		probe_detach(q);
	}
	probe_detach(p);
}

/* A thread blocked inside the displaced bytes (in read(2), called at
 * offset 2 of probe_t_park) while they are replaced must be moved into
 * the trampoline's copy, else it would resume in the middle of the jump. */
static int park_fds[2];
static long park_result;
static atomic_int park_tid;

static void *park_thread(void *arg)
{
	char c;
	(void)arg;
	atomic_store(&park_tid, (int)syscall(SYS_gettid));
	park_result = probe_t_park(park_fds[0], &c, 1);
	return NULL;
}

/* 1 when thread tid is blocked in read(2) (system call 0). */
static int blocked_in_read(int tid)
{
	char path[64], line[128] = "";
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	int blocked = fgets(line, sizeof line, f) && strncmp(line, "0 ", 2) == 0;
	fclose(f);
	return blocked;
}

static void test_move_blocked_thread(void)
{
	if (!CHECK(pipe(park_fds) == 0, "pipe"))
		return;
	uint8_t before[16];
	memcpy(before, probe_t_park, sizeof before);
	pthread_t t;
	pthread_create(&t, NULL, park_thread, NULL);
	int blocked = 0;
	for (int i = 0; i < 5000 && !blocked; i++) {
		blocked = atomic_load(&park_tid) && blocked_in_read(atomic_load(&park_tid));
		if (!blocked)
			usleep(1000);
	}
	CHECK(blocked, "the parked thread never blocked in read");
	struct probe *p = attach_or_fail(probe_t_park, 0, &entry_only, "thread parked in the displaced bytes");
	if (p) {
		struct probe_stats st;
		probe_stats(p, &st);
		CHECK(probe_path(p) == PROBE_PATH_TRAMPOLINE && st.threads_moved == 1,
		      "parked thread: path %d, threads moved %lu", probe_path(p), (unsigned long)st.threads_moved);
	}
	CHECK(write(park_fds[1], "x", 1) == 1, "write");
	pthread_join(t, NULL);
	CHECK(park_result == 1 && seen.entries == 0, "parked thread: read returned %ld, entries %d", park_result,
	      seen.entries);
	if (p) {
		char c;
		CHECK(write(park_fds[1], "y", 1) == 1, "write");
		CHECK(probe_t_park(park_fds[0], &c, 1) == 1 && c == 'y' && seen.entries == 1, "probed read");
		detach_and_check(p, probe_t_park, before, "parked thread");
	}
	close(park_fds[0]);
	close(park_fds[1]);
}

static void test_refusals(void)
{
	bpfvm_error err = { 0 };
	struct probe *p = NULL, *q = NULL;
	CHECK(probe_attach(NULL, NULL, &entry_only, NULL, &p, &err) == -EINVAL, "attach to NULL refused");
	p = attach_or_fail(add6, 0, &entry_only, "first probe");
	if (!p)
		return;
	int rc = probe_attach(add6, NULL, &entry_only, NULL, &q, &err);
	CHECK(rc == -EBUSY && strstr(err.msg, "already has a probe"), "second probe: %d %s", rc, err.msg);
	probe_detach(p);
}

/* ---- regression: a probed function entered with rsp misaligned -------- */

/* gcc's IPA calls a function it knows needs no stack alignment (a leaf
 * in the same unit) with rsp as it is: kernel_compare_target's spin loop
 * did, and the agent's dispatcher, spilling with movaps on the stack the
 * trampoline had not aligned, crashed the target. */
__asm__(".pushsection .text\n"
	/* rsp is 8 mod 16 here, as the ABI has it: the callee's is 0 */
	".p2align 4\n.globl probe_t_call_misaligned\n.hidden probe_t_call_misaligned\n"
	"probe_t_call_misaligned: mov %rdi, %rax\n mov %rsi, %rdi\n call *%rax\n ret\n"
	/* its caller's rsp mod 16 at the call (0 under the ABI) */
	".p2align 4\n.globl probe_t_stack_misalignment\n.hidden probe_t_stack_misalignment\n"
	"probe_t_stack_misalignment: lea 8(%rsp), %rax\n and $15, %eax\n ret\n"
	".popsection\n");

long probe_t_call_misaligned(long (*fn)(long), long x);
long probe_t_stack_misalignment(void);

static long handler_misalignment;

static int misaligned_entry(struct pt_regs *regs, void *user, uint64_t *rc)
{
	handler_misalignment |= probe_t_stack_misalignment();
	return on_entry(regs, user, rc);
}

static void misaligned_return(struct pt_regs *regs, void *user)
{
	handler_misalignment |= probe_t_stack_misalignment();
	on_return(regs, user);
}

static void test_misaligned_caller(void)
{
	static const struct probe_handlers h = { misaligned_entry, misaligned_return };
	struct probe *p = attach_or_fail(probe_t_riprel, 0, &h, "misaligned caller");
	if (!p)
		return;
	handler_misalignment = 0;
	long got = probe_t_call_misaligned(probe_t_riprel, 5);
	CHECK(got == 1005 && seen.entries == 1 && seen.returns == 1, "misaligned caller: %ld, entries %d, returns %d",
	      got, seen.entries, seen.returns);
	CHECK(handler_misalignment == 0, "misaligned caller: the handlers ran with rsp %ld mod 16",
	      handler_misalignment);
	probe_detach(p);
}

/* ---- a call among the displaced instructions ------------------------ */

/* probe_t_calls_first's first instruction is a call, which a probe moves
 * (into the trampoline, or out of line on the int3 path): the callee
 * returns the return address it was given, which is then the moved
 * copy's; probe_real_return() gives the function's own (after the call),
 * as a stack walk must show it. */
__asm__(".pushsection .text\n"
	".p2align 4\n.globl probe_t_calls_first\n.hidden probe_t_calls_first\n"
	"probe_t_calls_first: call probe_t_own_return\n ret\n"
	".p2align 4\n.globl probe_t_own_return\n.hidden probe_t_own_return\n"
	"probe_t_own_return: mov (%rsp), %rax\n ret\n"
	".popsection\n");

uint64_t probe_t_calls_first(void);

static void test_displaced_call(int force_int3)
{
	const char *what = force_int3 ? "displaced call (int3)" : "displaced call (trampoline)";
	uint64_t after_call = (uintptr_t)probe_t_calls_first + 5;
	CHECK(probe_t_calls_first() == after_call, "%s: unprobed, the call returns after itself", what);
	struct probe *p = attach_or_fail(probe_t_calls_first, force_int3, &entry_only, what);
	if (!p)
		return;
	check_path(p, force_int3 ? PROBE_PATH_INT3 : PROBE_PATH_TRAMPOLINE, what);
	uint64_t moved = probe_t_calls_first();
	CHECK(seen.entries == 1 && moved != after_call, "%s: entries %d, the call returned to %#lx (moved)", what,
	      seen.entries, (unsigned long)moved);
	CHECK(probe_real_return(0, moved) == after_call, "%s: real return %#lx, want %#lx", what,
	      (unsigned long)probe_real_return(0, moved), (unsigned long)after_call);
	CHECK(probe_real_return(0, after_call) == after_call, "%s: an address of the function's own stays", what);
	probe_detach(p);
}

/* ---- attach/detach while 4 threads call the function ---------------- */

#define STRESS_THREADS 4

static atomic_long phase;        /* 4k+1 attaching, +2 attached, +3 detaching, +4 detached */
static atomic_int stop;
static __thread long thread_entries, thread_returns;

static int stress_entry(struct pt_regs *regs, void *user, uint64_t *rc)
{
	(void)regs, (void)user, (void)rc;
	thread_entries++;
	return 0;
}

static void stress_return(struct pt_regs *regs, void *user)
{
	(void)user;
	if (regs->rax & 1)
		thread_returns++;
}

struct stress_counts {
	long calls, in_windows, wrong_value, wrong_attached, wrong_detached;
};

static void *stress_thread(void *arg)
{
	struct stress_counts *c = arg;
	for (long i = 0; !atomic_load_explicit(&stop, memory_order_relaxed); i++) {
		long w1 = atomic_load(&phase), e0 = thread_entries, r0 = thread_returns;
		long v = probe_t_stress(i);
		long w2 = atomic_load(&phase), de = thread_entries - e0, dr = thread_returns - r0;
		c->calls++;
		c->wrong_value += v != 2 * i + 1;
		if (w1 == w2 && w1 % 4 == 2) {
			c->in_windows++;
			c->wrong_attached += de != 1 || dr != 1;
		}
		if (w1 == w2 && w1 % 4 == 0)
			c->wrong_detached += de != 0 || dr != 0;
	}
	return NULL;
}

/* Busy for us microseconds, leaving the other core to the callers. */
static void spin_us(long us)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000 + (t.tv_nsec - t0.tv_nsec) / 1000 < us);
}

static int stress_cycles(void)
{
	const char *s = getenv("BPFVM_PROBE_CYCLES");
	if (s)
		return atoi(s);
	return getenv("CI") ? 200 : 1000;
}

static void test_stress(void)
{
	static const struct probe_handlers h = { stress_entry, stress_return };
	struct stress_counts counts[STRESS_THREADS] = { 0 };
	pthread_t t[STRESS_THREADS];
	uint8_t before[16];
	memcpy(before, probe_t_stress, sizeof before);
	for (int i = 0; i < STRESS_THREADS; i++)
		pthread_create(&t[i], NULL, stress_thread, &counts[i]);
	int cycles = stress_cycles(), failures = 0, not_trampoline = 0;
	uint64_t by_path[PROBE_PATH_COUNT] = { 0 }, redirects = 0, moved = 0;
	for (int k = 0; k < cycles && !failures; k++) {
		struct probe *p = NULL;
		bpfvm_error err = { 0 };
		atomic_store(&phase, 4l * k + 1);
		if (probe_attach(probe_t_stress, NULL, &h, NULL, &p, &err) < 0) {
			CHECK(0, "stress: attach %d: %s", k, err.msg);
			failures++;
			break;
		}
		atomic_store(&phase, 4l * k + 2);
		spin_us(1000);
		atomic_store(&phase, 4l * k + 3);
		struct probe_stats st;
		probe_stats(p, &st);
		not_trampoline += probe_path(p) != PROBE_PATH_TRAMPOLINE;
		probe_detach(p);
		for (int i = 0; i < PROBE_PATH_COUNT; i++)
			by_path[i] += st.entries[i];
		redirects += st.trap_redirects;
		moved += st.threads_moved;
		atomic_store(&phase, 4l * k + 4);
		spin_us(20);
	}
	atomic_store(&stop, 1);
	struct stress_counts sum = { 0 };
	for (int i = 0; i < STRESS_THREADS; i++) {
		pthread_join(t[i], NULL);
		sum.calls += counts[i].calls;
		sum.in_windows += counts[i].in_windows;
		sum.wrong_value += counts[i].wrong_value;
		sum.wrong_attached += counts[i].wrong_attached;
		sum.wrong_detached += counts[i].wrong_detached;
	}
	printf("stress: %d cycles, %ld calls, %ld wholly attached; entries by trampoline %lu, by int3 %lu, "
	       "breakpoint redirects %lu, threads moved out of the displaced bytes %lu\n", cycles, sum.calls,
	       sum.in_windows, (unsigned long)by_path[0], (unsigned long)by_path[1], (unsigned long)redirects,
	       (unsigned long)moved);
	CHECK(sum.wrong_value == 0, "stress: %ld wrong return values", sum.wrong_value);
	CHECK(sum.wrong_attached == 0, "stress: %ld calls within an attachment not counted exactly once",
	      sum.wrong_attached);
	CHECK(sum.wrong_detached == 0, "stress: %ld calls while detached counted", sum.wrong_detached);
	CHECK(sum.in_windows > 0, "stress: no call fell wholly inside an attachment");
	CHECK(not_trampoline == 0 && by_path[PROBE_PATH_TRAMPOLINE] > 0 && by_path[PROBE_PATH_INT3] == 0,
	      "stress: served by int3 (%d attachments not on the trampoline path)", not_trampoline);
	CHECK(memcmp(probe_t_stress, before, sizeof before) == 0, "stress: bytes not restored");
}

/* A SIGTRAP handler installed before the first probe still gets the
 * traps that are not the probes': a breakpoint elsewhere, a raise(). */
static volatile sig_atomic_t own_traps;

static void own_trap_handler(int sig)
{
	(void)sig;
	own_traps++;
}

static void test_foreign_traps(void)
{
	__asm__ volatile("int3");
	raise(SIGTRAP);
	CHECK(own_traps == 2, "the program's own SIGTRAP handler ran %d times, want 2", (int)own_traps);
}

int main(void)
{
	signal(SIGTRAP, own_trap_handler);
	test_prologues();
	for (int force_int3 = 0; force_int3 < 2; force_int3++) {
		test_args_and_return(force_int3);
		test_override(force_int3);
		test_recursion(force_int3);
	}
	test_longjmp();
	test_move_blocked_thread();
	test_refusals();
	test_foreign_traps();
	test_misaligned_caller();
	test_displaced_call(0);
	test_displaced_call(1);
	test_stress();
	return check_summary();
}
