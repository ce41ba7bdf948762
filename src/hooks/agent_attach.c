/*
 * agent_attach.c - the trace agent's hooks: each program attached where
 * its libbpf section name says, and the events that run it.
 *
 *   uprobe/PATH:FUNC[+OFF], uretprobe/..., their sleepable .s forms
 *                                             function probes (probe.h)
 *   uprobe.multi/PATH:PATTERN, uretprobe.multi/..., their .s forms
 *                                             the same program at every
 *                                             function PATTERN matches, one
 *                                             probe and link each; all or
 *                                             none, as the kernel's link
 *   usdt/PATH:PROVIDER:NAME                   every site of a USDT probe
 *                                             (usdt.h), libbpf's spec maps
 *                                             filled for bpf_usdt_arg()
 *   tracepoint/syscalls/sys_enter_NAME, sys_exit_NAME,
 *   tracepoint/raw_syscalls/sys_enter|sys_exit (also tp/...)
 *   raw_tracepoint/sys_enter|sys_exit (also raw_tp/...)
 *   ksyscall/NAME, kretsyscall/NAME           the syscall interceptor
 *                                             (syscall_trace.h)
 *
 * Each hook point is a bpfvm_hook; an event fills the program type's
 * context, sets the tracing context (run/trace_ctx.h), runs the hook and
 * then acts on what the helpers asked (an override, a signal).
 *
 * Recursion: a run that calls, directly or not, what it is attached to
 * (a getpid probe whose program asks for its pid, which calls getpid())
 * would recurse until the stack overflows (a syscall hook's helpers'
 * syscalls are not reported: the interceptor runs its handlers
 * unwatched).
 * As the kernel's prog->active, a thread inside a hook's run does not
 * run that hook again: an event that finds it so is skipped and counted
 * (recursion_misses, as bpftool shows them).  The hooks a thread is
 * inside are those of its chain of tracing contexts (each run's names
 * its hook, and the run it interrupted): an event whose thread is inside
 * no run (the chain empty, the usual case) needs no check, and one store
 * sets the guard and the tracing context together.  The chain's head is
 * in the thread's block (base/thread_block.h, reached through one
 * initial-exec thread-local pointer: a constant offset from the thread
 * pointer, preloaded or dlopen()ed; agent_thread() keeps where), nothing
 * is allocated and no atomic is taken on a run that is not a miss.  Runs
 * are counted only when the tracer asks (`bpfvm trace --stats`,
 * AGENT_COUNT_RUNS), as the kernel counts run_cnt only with
 * bpf_stats_enabled.
 *
 * ksyscall: bpfvm's LINUX_HAS_SYSCALL_WRAPPER is 0 (src/loader/externs.c),
 * so BPF_KSYSCALL reads the arguments straight from the context's pt_regs
 * with the syscall convention (rdi, rsi, rdx, r10, r8, r9): the context is
 * the syscall's registers with those set (and rcx = the fourth argument
 * too, for PT_REGS_PARM4).  kretsyscall's context has the result in rax.
 *
 * Owns: the hooks, function sites and links of this process, the event
 * handlers, agent_attach_all() and agent_detach_all().
 */
#define _GNU_SOURCE   /* memrchr */
#include <errno.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bpfvm/hook.h"
#include "base/thread_block.h"
#include "hooks/agent.h"
#include "hooks/hook_internal.h"
#include "hooks/probe.h"
#include "hooks/syscall_trace.h"
#include "hooks/usdt.h"
#include "progtypes/syscall_tp.h"
#include "run/trace_ctx.h"

#define SYS_NR_MAX 512
#define TP_RECORD_BYTES 2048   /* what a tracepoint program may read: the kernel's PERF_MAX_TRACE_SIZE */
#define MAX_SITES 256
#define MAX_LINKS 256
#define MAX_USDT 64
#define MAX_HOOKS (2 * MAX_SITES + 4 * SYS_NR_MAX + 4 + MAX_USDT)   /* every hook point the agent can make */

_Static_assert(sizeof(struct agent_thread_state) <= THREAD_BLOCK_AGENT_BYTES, "the agent's state fits its thread block part");

/* A thread's first look at its state: its block taken (base/thread_block.h:
 * no malloc, safe in the SIGSYS and SIGTRAP handlers, so a thread that ran
 * before the agent was dlopen()ed is served from its first event), the
 * tracing context's slot in it found once.  Nothing here calls a function
 * a probe may be on: the recursion guard lives in that slot, so an event
 * met before it is set would take the block again, for ever (a getpid
 * probe's first event on a new thread did).  The hook runs' state is made
 * at the first run, inside the guard (run_hook_as). */
struct agent_thread_state *agent_thread_make(void)
{
	struct thread_block *b = thread_block_self();
	if (!b)
		return NULL;   /* out of memory: the event is a miss */
	struct agent_thread_state *state = (struct agent_thread_state *)b->agent;
	state->trace_slot = &b->trace_ctx;
	return state;
}

/* A hook point, with what its recursion guard counts (see the header). */
struct agent_hook {
	bpfvm_hook *hook;
	atomic_uint_fast64_t runs;      /* under AGENT_COUNT_RUNS only */
	atomic_uint_fast64_t misses;    /* runs skipped: the thread was inside the hook already */
};

static unsigned hook_count;
static bool count_runs;
static bool dispatch_on;          /* AGENT_DISPATCH_ON */

/* A probed function: one probe, an entry and a return hook. */
struct func_site {
	uint64_t addr, size, off;
	bool want_ret;
	struct probe *probe;
	struct agent_hook *entry, *ret;
};

/* A USDT probe: every site of provider:name in a file, one hook. */
struct usdt_group {
	char file[AGENT_TEXT_MAX];
	char provider[AGENT_NAME_MAX], name[AGENT_NAME_MAX];
	struct usdt_link *link;
	struct agent_hook *hook;
};

struct sys_hooks {
	struct agent_hook *tp_enter[SYS_NR_MAX], *tp_exit[SYS_NR_MAX];
	struct syscall_tp_layout enter_layout[SYS_NR_MAX], exit_layout[SYS_NR_MAX];
	struct agent_hook *ksys[SYS_NR_MAX], *kretsys[SYS_NR_MAX];
	struct agent_hook *raw_enter, *raw_exit;    /* tracepoint/raw_syscalls */
	struct syscall_tp_layout raw_enter_layout, raw_exit_layout;
	struct agent_hook *rawtp_enter, *rawtp_exit; /* raw_tracepoint/ */
	bool started;
	/* this session attached a program at a sys_enter (sys_exit) hook:
	 * without, the interceptor is given no enter (exit) handler, and
	 * skips the call; and at one other than raw_tracepoint's: without,
	 * an event looks at no other (a hook of an earlier session has no
	 * program left) */
	bool session_enter, session_exit;
	bool records_enter, records_exit;
};

/* A program on its hook, and what its stats count from (a forked child
 * starts with its parent's counts). */
struct attached_link {
	struct agent_hook *hook;
	uint64_t link;
	uint64_t runs_before, misses_before, served_before[AGENT_SERVED_COUNT];
	struct func_site *site;         /* a function probe's, else NULL */
	struct usdt_group *usdt;        /* a USDT probe's, else NULL */
	uint32_t path;                  /* enum agent_path */
	char prog[AGENT_NAME_MAX];
	char where[AGENT_TEXT_MAX];
};

static struct func_site sites[MAX_SITES];
static size_t site_count;
static struct sys_hooks *sys;
static struct usdt_group usdts[MAX_USDT];
static size_t usdt_count;
/* libbpf's USDT spec maps of the object, for this session; the process
 * that filled them (a fork()ed child leaves its parent's specs alone) */
static struct usdt_spec_ids usdt_ids;
static bool usdt_ids_ready;
static pid_t usdt_ids_pid;
static struct attached_link links[MAX_LINKS];
static size_t link_count;
static bpfvm_instance *attached_inst;
/* The stats and the detach: the process's exit and the control thread
 * may come at once. */
static pthread_mutex_t links_lock = PTHREAD_MUTEX_INITIALIZER;
static bool stats_sent;

/* ---- events ---------------------------------------------------------- */

/* Whether a run of hook h is in the chain of tracing contexts from t. */
static __attribute__((noinline)) bool inside_hook(const struct trace_ctx *t, const struct agent_hook *h)
{
	for (; t; t = t->outer)
		if (t->hook == h)
			return true;
	return false;
}

/* self: the thread's agent_thread(), looked up once per event (each
 * lookup of a thread-local variable is a call in a shared library).  The
 * tracing context is set through its cached slot, as trace_ctx_enter()
 * and trace_ctx_leave() would set it, and is the recursion guard too
 * (see the header). */
static inline __attribute__((always_inline)) void run_hook_as(struct agent_thread_state *self, struct agent_hook *h,
                                                              void *ctx, struct trace_ctx *tc)
{
	struct trace_ctx **current = self->trace_slot;
	struct trace_ctx *outer = *current;
	if (__builtin_expect(outer != NULL, 0) && inside_hook(outer, h)) {
		atomic_fetch_add_explicit(&h->misses, 1, memory_order_relaxed);
		return;
	}
	if (count_runs)
		atomic_fetch_add_explicit(&h->runs, 1, memory_order_relaxed);
	tc->outer = outer;
	tc->hook = h;
	*current = tc;
	if (__builtin_expect(!self->hook_thread, 0))
		self->hook_thread = hook_thread_self();   /* the thread's first run: allocates, as a hook run would */
	uint64_t result;
	if (__builtin_expect(self->hook_thread != NULL, 1))
		hook_run_on(self->hook_thread, h->hook, ctx, &result);
	*current = outer;
	if (tc->signal)
		trace_ctx_send_signal(tc);
}

static int on_func_entry(struct pt_regs *regs, void *user, uint64_t *override_rc)
{
	struct func_site *f = user;
	struct agent_thread_state *self = agent_thread();
	if (__builtin_expect(!self, 0)) {   /* out of memory for the thread's state */
		if (f->entry)
			atomic_fetch_add_explicit(&f->entry->misses, 1, memory_order_relaxed);
		if (f->ret)
			atomic_fetch_add_explicit(&f->ret->misses, 1, memory_order_relaxed);
		return PROBE_ENTRY_NO_RETURN;
	}
	if (!f->entry)
		return 0;
	struct trace_ctx tc = { .func_ip = f->addr, .regs = regs, .at_func_entry = !f->off, .may_override = !f->off,
	                       .real_return = probe_real_return };
	run_hook_as(self, f->entry, regs, &tc);
	if (!tc.override)
		return 0;
	*override_rc = tc.override_value;
	return 1;
}

static void on_func_return(struct pt_regs *regs, void *user)
{
	struct func_site *f = user;
	if (!f->ret)   /* the entry's program is attached, the return's not yet */
		return;
	struct agent_thread_state *self = agent_thread();   /* its entry found it */
	struct trace_ctx tc = { .func_ip = f->addr - f->off, .regs = regs, .real_return = probe_real_return };
	run_hook_as(self, f->ret, regs, &tc);
}

/* A USDT site: rip is the site, as in a kernel uprobe there; the attach
 * cookie libbpf would give (the spec id) for bpf_get_attach_cookie. */
static int on_usdt(struct pt_regs *regs, void *user, uint64_t *override_rc)
{
	struct usdt_group *g = user;
	(void)override_rc;
	if (!g->hook)
		return 0;
	struct agent_thread_state *self = agent_thread();
	if (!self) {   /* out of memory for the thread's state */
		atomic_fetch_add_explicit(&g->hook->misses, 1, memory_order_relaxed);
		return 0;
	}
	struct trace_ctx tc = { .func_ip = regs->rip, .cookie = usdt_link_cookie(g->link, regs->rip), .regs = regs,
	                       .real_return = probe_real_return };
	run_hook_as(self, g->hook, regs, &tc);
	return 0;
}

/* The registers BPF_KSYSCALL reads the arguments from (see the header). */
static void ksyscall_regs(struct pt_regs *k, const struct pt_regs *r, const unsigned long args[6])
{
	*k = *r;
	k->rdi = args[0];
	k->rsi = args[1];
	k->rdx = args[2];
	k->r10 = k->rcx = args[3];
	k->r8 = args[4];
	k->r9 = args[5];
}

/* A syscall event of a thread without state (out of memory): a miss of
 * every hook it would run. */
static void sys_miss(long nr, bool enter)
{
	bool numbered = nr >= 0 && nr < SYS_NR_MAX;
	struct agent_hook *hooks[4] = { enter ? sys->rawtp_enter : sys->rawtp_exit, enter ? sys->raw_enter : sys->raw_exit,
		                        !numbered ? NULL : enter ? sys->tp_enter[nr] : sys->tp_exit[nr],
		                        !numbered ? NULL : enter ? sys->ksys[nr] : sys->kretsys[nr] };
	for (size_t i = 0; i < 4; i++)
		if (hooks[i])
			atomic_fetch_add_explicit(&hooks[i]->misses, 1, memory_order_relaxed);
}

/* A thread made while syscalls are traced, before anything of its own. */
static void on_sys_thread_start(void *word)
{
	(void)word;
	agent_thread();
}

/* The thread's agent_thread(), kept in its interceptor word (the
 * handlers' user argument: SYSCALL_TRACE_USER_IS_THREAD_WORD) after the
 * first event, so an event makes no lookup; NULL: a miss. */
static inline struct agent_thread_state *sys_thread(void **word, long nr, bool enter)
{
	if (__builtin_expect(*word != NULL, 1))
		return *word;
	struct agent_thread_state *self = agent_thread();
	if (!self)
		sys_miss(nr, enter);
	return *word = self;
}

/* sys_enter's hooks other than raw_tracepoint's: the record a tracepoint
 * program reads, the registers BPF_KSYSCALL reads (out of line: the
 * record is 2 KB of stack). */
static __attribute__((noinline)) void sys_enter_records(struct agent_thread_state *self, long nr,
                                                        const unsigned long args[6], struct pt_regs *r,
                                                        struct trace_ctx *tc)
{
	uint8_t rec[TP_RECORD_BYTES];
	if (sys->raw_enter) {
		syscall_tp_fill_enter(&sys->raw_enter_layout, rec, r, nr, args);
		run_hook_as(self, sys->raw_enter, rec, tc);
	}
	if (nr < 0 || nr >= SYS_NR_MAX)
		return;
	if (sys->tp_enter[nr]) {
		syscall_tp_fill_enter(&sys->enter_layout[nr], rec, r, nr, args);
		run_hook_as(self, sys->tp_enter[nr], rec, tc);
	}
	if (sys->ksys[nr]) {
		struct pt_regs k;
		ksyscall_regs(&k, r, args);
		run_hook_as(self, sys->ksys[nr], &k, tc);
	}
}

static inline bool numbered(long nr)
{
	return nr >= 0 && nr < SYS_NR_MAX;
}

static void on_sys_enter(void *word, long nr, const unsigned long args[6], const struct pt_regs *regs)
{
	struct agent_thread_state *self = sys_thread(word, nr, true);
	if (!self || self->quiet)
		return;
	/* the interceptor's registers as they are, not a copy: a syscall
	 * hook's run cannot write them (kprobe and tracepoint contexts are
	 * read-only, and bpf_override_return acts only at function entries) */
	struct pt_regs *r = (struct pt_regs *)regs;
	struct trace_ctx tc = { .regs = r, .real_return = probe_real_return };
	if (sys->rawtp_enter) {
		uint64_t a[2] = { (uint64_t)(uintptr_t)r, (uint64_t)nr };
		run_hook_as(self, sys->rawtp_enter, a, &tc);
	}
	if (sys->records_enter)
		sys_enter_records(self, nr, args, r, &tc);
}

/* sys_exit's hooks other than raw_tracepoint's (see sys_enter_records),
 * on registers already made the exit's. */
static __attribute__((noinline)) void sys_exit_records(struct agent_thread_state *self, long nr, long ret,
                                                       struct pt_regs *r, struct trace_ctx *tc)
{
	uint8_t rec[TP_RECORD_BYTES];
	if (sys->raw_exit) {
		syscall_tp_fill_exit(&sys->raw_exit_layout, rec, r, nr, ret);
		run_hook_as(self, sys->raw_exit, rec, tc);
	}
	if (numbered(nr) && sys->tp_exit[nr]) {
		syscall_tp_fill_exit(&sys->exit_layout[nr], rec, r, nr, ret);
		run_hook_as(self, sys->tp_exit[nr], rec, tc);
	}
	if (numbered(nr) && sys->kretsys[nr])
		run_hook_as(self, sys->kretsys[nr], r, tc);
}

static void on_sys_exit(void *word, long nr, const unsigned long args[6], const struct pt_regs *regs, long ret)
{
	struct agent_thread_state *self = sys_thread(word, nr, false);
	if (!self || self->quiet)
		return;
	bool records = sys->records_exit && (sys->raw_exit || (numbered(nr) && (sys->tp_exit[nr] || sys->kretsys[nr])));
	if (!sys->rawtp_exit && !records)
		return;   /* nothing to run: the registers left alone too */
	/* the exit's registers as ksyscall_regs() makes them: the
	 * interceptor's hold the arguments and the result already
	 * (syscall_trace.h), so only rcx, where the syscall left the return
	 * address, becomes the fourth argument, in place for the runs (which
	 * cannot write the registers) and put back after: no copy */
	struct pt_regs *r = (struct pt_regs *)regs;
	unsigned long rcx = r->rcx;
	r->rcx = args[3];
	struct trace_ctx tc = { .regs = r, .real_return = probe_real_return };
	if (sys->rawtp_exit) {
		uint64_t a[2] = { (uint64_t)(uintptr_t)r, (uint64_t)ret };
		run_hook_as(self, sys->rawtp_exit, a, &tc);
	}
	if (records)
		sys_exit_records(self, nr, ret, r, &tc);
	r->rcx = rcx;
}

/* ---- what a section names -------------------------------------------- */

enum hook_kind { HOOK_UPROBE, HOOK_URETPROBE, HOOK_USDT, HOOK_SYSCALL };

/* A program's place: a function site (HOOK_U*; a uprobe.multi's
 * n_funcs sites, funcs[k] at sites[k], in file) or a syscall hook slot
 * (its layout, if a tracepoint, and the program type it takes). */
struct placement {
	enum hook_kind kind;
	struct func_site *site;
	bool multi;
	struct agent_func *funcs;
	struct func_site **sites;
	size_t n_funcs;
	char file[AGENT_TEXT_MAX];
	struct usdt_group *usdt;
	struct agent_hook **slot;
	uint32_t prog_type;
	char hook_name[AGENT_TEXT_MAX];
};

static const char *after(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(s, prefix, n) ? NULL : s + n;
}

static struct func_site *site_for(const struct agent_target *t, uint64_t off)
{
	for (size_t i = 0; i < site_count; i++)
		if (sites[i].addr == t->addr)
			return &sites[i];
	if (site_count == MAX_SITES)
		return NULL;
	struct func_site *f = &sites[site_count++];
	*f = (struct func_site){ .addr = t->addr, .size = t->size, .off = off };
	return f;
}

static int place_uprobe(const char *spec, bool ret, struct placement *p, char *err)
{
	char path[AGENT_TEXT_MAX], func[AGENT_NAME_MAX] = "";
	const char *colon = strrchr(spec, ':');
	if (!colon || (size_t)(colon - spec) >= sizeof path) {
		snprintf(err, AGENT_TEXT_MAX, "'%s' is not PATH:FUNC[+OFF]", spec);
		return -EINVAL;
	}
	snprintf(path, sizeof path, "%.*s", (int)(colon - spec), spec);
	const char *plus = strchr(colon + 1, '+');
	size_t flen = plus ? (size_t)(plus - colon - 1) : strlen(colon + 1);
	snprintf(func, sizeof func, "%.*s", (int)flen, colon + 1);
	uint64_t off = 0;
	if (plus) {
		char *end;
		off = strtoull(plus + 1, &end, 0);
		if (*end || end == plus + 1) {
			snprintf(err, AGENT_TEXT_MAX, "'%s': bad offset", spec);
			return -EINVAL;
		}
	}
	if (!func[0] && !plus) {
		snprintf(err, AGENT_TEXT_MAX, "'%s' names no function", spec);
		return -EINVAL;
	}
	struct agent_target t;
	int rc = agent_resolve(path, func, off, &t, err);
	if (rc)
		return rc;
	p->kind = ret ? HOOK_URETPROBE : HOOK_UPROBE;
	p->site = site_for(&t, off);
	if (!p->site) {
		snprintf(err, AGENT_TEXT_MAX, "more than %d probed functions", MAX_SITES);
		return -E2BIG;
	}
	p->prog_type = BPF_PROG_TYPE_KPROBE;
	snprintf(p->hook_name, sizeof p->hook_name, "%s %.200s:%.100s+%#" PRIx64, ret ? "uretprobe" : "uprobe", t.file, func, off);
	return 0;
}

/* The sites a function probe's placement names: a uprobe.multi's, or
 * its one. */
static struct func_site **placed_sites(struct placement *p, size_t *n)
{
	*n = p->multi ? p->n_funcs : 1;
	return p->multi ? p->sites : &p->site;
}

/* uprobe.multi/PATH:PATTERN: a site at every function PATTERN matches.
 * PATTERN is libbpf's glob ('*', '?'); an offset or a character class
 * would match nothing there, so it is refused here. */
static int place_uprobe_multi(const char *spec, bool ret, struct placement *p, char *err)
{
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec || !colon[1] || (size_t)(colon - spec) >= AGENT_TEXT_MAX) {
		snprintf(err, AGENT_TEXT_MAX, "'%.300s' is not PATH:PATTERN", spec);
		return -EINVAL;
	}
	const char *pattern = colon + 1;
	if (strpbrk(pattern, "[]+") || strlen(pattern) >= AGENT_NAME_MAX) {
		snprintf(err, AGENT_TEXT_MAX, "bad pattern '%.150s': a glob of '*' and '?' over function names (no +OFF, "
		         "no [...])", pattern);
		return -EINVAL;
	}
	char path[AGENT_TEXT_MAX];
	snprintf(path, sizeof path, "%.*s", (int)(colon - spec), spec);
	p->funcs = calloc(MAX_SITES, sizeof *p->funcs);
	p->sites = calloc(MAX_SITES, sizeof *p->sites);
	if (!p->funcs || !p->sites) {
		snprintf(err, AGENT_TEXT_MAX, "out of memory");
		return -ENOMEM;
	}
	int rc = agent_resolve_pattern(path, pattern, p->funcs, MAX_SITES, &p->n_funcs, p->file, err);
	for (size_t k = 0; !rc && k < p->n_funcs; k++) {
		struct agent_target t = { .addr = p->funcs[k].addr, .size = p->funcs[k].size };
		if (!(p->sites[k] = site_for(&t, 0))) {
			snprintf(err, AGENT_TEXT_MAX, "more than %d probed functions", MAX_SITES);
			rc = -E2BIG;
		}
	}
	if (rc)
		return rc;
	p->kind = ret ? HOOK_URETPROBE : HOOK_UPROBE;
	p->multi = true;
	p->prog_type = BPF_PROG_TYPE_KPROBE;
	snprintf(p->hook_name, sizeof p->hook_name, "%s %.250s:%.100s", ret ? "uretprobe.multi" : "uprobe.multi", p->file,
	         pattern);
	return 0;
}

static struct usdt_group *usdt_group_for(const char *file, const char *provider, const char *name)
{
	for (size_t i = 0; i < usdt_count; i++)
		if (!strcmp(usdts[i].file, file) && !strcmp(usdts[i].provider, provider) && !strcmp(usdts[i].name, name))
			return &usdts[i];
	if (usdt_count == MAX_USDT)
		return NULL;
	struct usdt_group *g = &usdts[usdt_count++];
	snprintf(g->file, sizeof g->file, "%s", file);
	snprintf(g->provider, sizeof g->provider, "%s", provider);
	snprintf(g->name, sizeof g->name, "%s", name);
	return g;
}

/* usdt/PATH:PROVIDER:NAME, PATH as a uprobe's (a file or a library's name). */
static int place_usdt(const char *spec, struct placement *p, char *err)
{
	const char *name = strrchr(spec, ':');
	const char *provider = name ? memrchr(spec, ':', (size_t)(name - spec)) : NULL;
	if (!provider || provider == spec || !name[1] || name == provider + 1 || (size_t)(provider - spec) >= AGENT_TEXT_MAX ||
	    strlen(name + 1) >= AGENT_NAME_MAX || (size_t)(name - provider - 1) >= AGENT_NAME_MAX) {
		snprintf(err, AGENT_TEXT_MAX, "'%.300s' is not PATH:PROVIDER:NAME", spec);
		return -EINVAL;
	}
	char path[AGENT_TEXT_MAX], prov[AGENT_NAME_MAX], file[AGENT_TEXT_MAX];
	snprintf(path, sizeof path, "%.*s", (int)(provider - spec), spec);
	snprintf(prov, sizeof prov, "%.*s", (int)(name - provider - 1), provider + 1);
	int rc = agent_find_file(path, file, err);
	if (rc)
		return rc;
	p->kind = HOOK_USDT;
	p->usdt = usdt_group_for(file, prov, name + 1);
	if (!p->usdt) {
		snprintf(err, AGENT_TEXT_MAX, "more than %d USDT probes", MAX_USDT);
		return -E2BIG;
	}
	p->prog_type = BPF_PROG_TYPE_KPROBE;
	snprintf(p->hook_name, sizeof p->hook_name, "usdt %.250s:%.60s:%.60s", file, prov, name + 1);
	return 0;
}

static int syscall_nr(const char *name, char *err)
{
	int nr = syscall_nr_by_name(name);
	if (nr < 0 || nr >= SYS_NR_MAX)
		snprintf(err, AGENT_TEXT_MAX, "no system call named '%s'", name);
	return nr < 0 || nr >= SYS_NR_MAX ? -ENOENT : nr;
}

static int place_tracepoint(const char *event, struct placement *p, char *err)
{
	struct syscall_tp_layout l;
	bpfvm_error e = { 0 };
	if (syscall_tp_layout(event, &l, &e)) {
		snprintf(err, AGENT_TEXT_MAX, "tracepoint %s: %s", event, e.msg);
		return -ENOENT;
	}
	p->prog_type = BPF_PROG_TYPE_TRACEPOINT;
	switch (l.kind) {
	case SYSCALL_TP_RAW_ENTER:
		sys->raw_enter_layout = l;
		p->slot = &sys->raw_enter;
		return 0;
	case SYSCALL_TP_RAW_EXIT:
		sys->raw_exit_layout = l;
		p->slot = &sys->raw_exit;
		return 0;
	}
	if (l.nr < 0 || l.nr >= SYS_NR_MAX) {
		snprintf(err, AGENT_TEXT_MAX, "tracepoint %s: syscall %d out of range", event, l.nr);
		return -ERANGE;
	}
	bool enter = l.kind == SYSCALL_TP_ENTER;
	(enter ? sys->enter_layout : sys->exit_layout)[l.nr] = l;
	p->slot = enter ? &sys->tp_enter[l.nr] : &sys->tp_exit[l.nr];
	return 0;
}

static int place_syscall(const char *sec, struct placement *p, char *err)
{
	const char *rest;
	int nr;
	p->kind = HOOK_SYSCALL;
	snprintf(p->hook_name, sizeof p->hook_name, "%s", sec);
	if ((rest = after(sec, "tracepoint/")) || (rest = after(sec, "tp/")))
		return place_tracepoint(rest, p, err);
	if ((rest = after(sec, "raw_tracepoint/")) || (rest = after(sec, "raw_tp/"))) {
		p->prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
		if (!strcmp(rest, "sys_enter") || !strcmp(rest, "sys_exit")) {
			p->slot = !strcmp(rest, "sys_enter") ? &sys->rawtp_enter : &sys->rawtp_exit;
			return 0;
		}
		snprintf(err, AGENT_TEXT_MAX, "raw tracepoint '%s': only sys_enter and sys_exit are in user space", rest);
		return -ENOENT;
	}
	bool ret = false;
	if ((rest = after(sec, "ksyscall/")) || (ret = (rest = after(sec, "kretsyscall/")) != NULL)) {
		if ((nr = syscall_nr(rest, err)) < 0)
			return nr;
		p->prog_type = BPF_PROG_TYPE_KPROBE;
		p->slot = ret ? &sys->kretsys[nr] : &sys->ksys[nr];
		return 0;
	}
	snprintf(err, AGENT_TEXT_MAX, "section '%s' is no hook bpfvm trace attaches (uprobe/, uretprobe/, uprobe.s/, uretprobe.s/, "
	         "uprobe.multi/, uretprobe.multi/, usdt/, "
	         "tracepoint/syscalls/, tracepoint/raw_syscalls/, raw_tracepoint/, ksyscall/, kretsyscall/)", sec);
	return -EOPNOTSUPP;
}

static int place(const char *sec, struct placement *p, char *err)
{
	const char *rest;
	memset(p, 0, sizeof *p);
	static const struct { const char *prefix; bool ret; } multi[] = {
		{ "uprobe.multi/", false }, { "uretprobe.multi/", true },
		{ "uprobe.multi.s/", false }, { "uretprobe.multi.s/", true },
	};
	for (size_t i = 0; i < sizeof multi / sizeof multi[0]; i++)
		if ((rest = after(sec, multi[i].prefix)))
			return place_uprobe_multi(rest, multi[i].ret, p, err);
	/* a sleepable program (uprobe.s) runs where a plain one would: in the
	 * probed thread, whose memory bpf_copy_from_user reads */
	if ((rest = after(sec, "uprobe/")) || (rest = after(sec, "uprobe.s/")))
		return place_uprobe(rest, false, p, err);
	if ((rest = after(sec, "uretprobe/")) || (rest = after(sec, "uretprobe.s/")))
		return place_uprobe(rest, true, p, err);
	if ((rest = after(sec, "usdt/")))
		return place_usdt(rest, p, err);
	return place_syscall(sec, p, err);
}

/* ---- attaching ------------------------------------------------------- */

static int hook_for(struct agent_hook **slot, const char *name, uint32_t prog_type, char *err)
{
	if (*slot)
		return 0;
	struct agent_hook *h = hook_count < MAX_HOOKS ? calloc(1, sizeof *h) : NULL;
	if (!h) {
		snprintf(err, AGENT_TEXT_MAX, "%s", hook_count < MAX_HOOKS ? "out of memory" : "too many hooks");
		return -ENOMEM;
	}
	bpfvm_error e = { 0 };
	BPFVM_OPTS(bpfvm_hook_opts, o, .name = name, .ctx_kind = BPFVM_HOOK_CTX_PROG_TYPE, .prog_type = prog_type);
	int rc = bpfvm_hook_new(&o, &h->hook, &e);
	if (rc) {
		snprintf(err, AGENT_TEXT_MAX, "%s", e.msg);
		free(h);
		return rc;
	}
	hook_count++;
	*slot = h;
	return 0;
}

static int attach_link(struct agent_hook *hook, const bpfvm_program *prog, char *err)
{
	if (link_count == MAX_LINKS) {
		snprintf(err, AGENT_TEXT_MAX, "more than %d programs", MAX_LINKS);
		return -E2BIG;
	}
	struct attached_link *l = &links[link_count];
	bpfvm_error e = { 0 };
	int rc = bpfvm_hook_attach(hook->hook, prog, &l->link, &e);
	if (rc) {
		snprintf(err, AGENT_TEXT_MAX, "%s", e.msg);
		return rc;
	}
	*l = (struct attached_link){ .hook = hook, .link = l->link, .runs_before = atomic_load(&hook->runs),
	                             .misses_before = atomic_load(&hook->misses) };
	link_count++;
	return 0;
}

/* Link l serves result r (for its stats). */
static void link_describe(struct attached_link *l, const struct agent_result *r, struct func_site *site)
{
	l->site = site;
	l->path = r->path;
	snprintf(l->prog, sizeof l->prog, "%s", r->name);
	snprintf(l->where, sizeof l->where, "%s", r->text);
}

static void unlink_last(void)
{
	link_count--;
	bpfvm_hook_detach(links[link_count].hook->hook, links[link_count].link, NULL);
}

/* The site's probe, put in once its programs are on its hooks. */
static int probe_site(struct func_site *f, char *err)
{
	if (f->probe)
		return 0;
	struct probe_handlers h = { .entry = on_func_entry, .ret = f->want_ret ? on_func_return : NULL };
	struct probe_attach_opts o = { .func_size = f->off ? 0 : f->size };
	bpfvm_error e = { 0 };
	int rc = probe_attach((void *)(uintptr_t)f->addr, &o, &h, f, &f->probe, &e);
	if (rc)
		snprintf(err, AGENT_TEXT_MAX, "probe at %#" PRIx64 ": %s", f->addr, e.msg);
	return rc;
}

static void report(struct agent_result *r, int error, uint32_t path, const char *fmt, const char *what)
{
	r->error = error;
	r->path = path;
	snprintf(r->text, sizeof r->text, fmt, what);
}

static int start_syscalls(char *err)
{
	if (sys->started)
		return 0;
	struct syscall_handlers h = { .enter = sys->session_enter ? on_sys_enter : NULL,
	                              .exit = sys->session_exit ? on_sys_exit : NULL,
	                              .thread_start = on_sys_thread_start };
	char buf[SYSCALL_TRACE_ERRLEN];
	int rc = syscall_trace_start(&h, NULL, SYSCALL_TRACE_USER_IS_THREAD_WORD |
	                            (dispatch_on ? 0 : SYSCALL_TRACE_DISPATCH_OFF | SYSCALL_TRACE_SWEEP_NEW_CODE),
	                             buf);
	if (rc)
		snprintf(err, AGENT_TEXT_MAX, "syscall tracing: %s", buf);
	else
		sys->started = true;
	return rc;
}

/* The program on site f's entry (or return) hook, and the site probed;
 * if that fails, the program is taken off the hook again. */
static int attach_site(struct func_site *f, bool ret, const char *hook_name, uint32_t prog_type,
                       const bpfvm_program *prog, char *err)
{
	int rc = hook_for(ret ? &f->ret : &f->entry, hook_name, prog_type, err);
	if (!rc)
		rc = attach_link(ret ? f->ret : f->entry, prog, err);
	if (!rc && (rc = probe_site(f, err)))
		unlink_last();
	return rc;
}

/* A uprobe.multi: the program at every function it matched, each link
 * named by its function (so --stats shows each), or, if one fails, at
 * none: its links off and the probes it put in taken out again. */
static void attach_multi(const bpfvm_program *prog, struct placement *p, struct agent_result *r)
{
	bool ret = p->kind == HOOK_URETPROBE, made[MAX_SITES] = { false };
	size_t first = link_count, int3 = 0, k;
	char err[AGENT_TEXT_MAX], where[AGENT_TEXT_MAX];
	int rc = 0;
	for (k = 0; k < p->n_funcs; k++) {
		struct func_site *f = p->sites[k];
		bool unprobed = !f->probe;
		snprintf(where, sizeof where, "%s %.250s:%.120s", ret ? "uretprobe.multi" : "uprobe.multi", p->file,
		         p->funcs[k].name);
		if ((rc = attach_site(f, ret, where, p->prog_type, prog, err)))
			break;
		made[k] = unprobed;
		bool by_int3 = probe_path(f->probe) == PROBE_PATH_INT3;
		int3 += by_int3;
		struct attached_link *l = &links[link_count - 1];
		l->site = f;
		l->path = by_int3 ? AGENT_PATH_INT3 : AGENT_PATH_TRAMPOLINE;
		snprintf(l->prog, sizeof l->prog, "%s", r->name);
		snprintf(l->where, sizeof l->where, "%s", where);
	}
	if (rc) {
		while (link_count > first)
			unlink_last();
		for (size_t j = 0; j < k; j++)
			if (made[j]) {
				probe_detach(p->sites[j]->probe);
				p->sites[j]->probe = NULL;
			}
		snprintf(where, sizeof where, "%.120s: %.270s", p->funcs[k].name, err);
		report(r, rc, AGENT_PATH_NONE, "%s", where);
		return;
	}
	snprintf(where, sizeof where, "%.330s: %zu function%s (%zu by int3)", p->hook_name, p->n_funcs,
	         p->n_funcs == 1 ? "" : "s", int3);
	report(r, 0, int3 ? AGENT_PATH_INT3 : AGENT_PATH_TRAMPOLINE, "%s", where);
	r->functions = (uint32_t)p->n_funcs;
}

/* Function probes first: a program whose probe fails is taken off its
 * hook again, and so are the others of that function. */
static void attach_probes(bpfvm_program **progs, struct placement *pl, size_t n, struct agent_result *res)
{
	for (size_t i = 0; i < n; i++) {
		if (res[i].error || (pl[i].kind != HOOK_UPROBE && pl[i].kind != HOOK_URETPROBE))
			continue;
		if (pl[i].multi) {
			attach_multi(progs[i], &pl[i], &res[i]);
			continue;
		}
		struct func_site *f = pl[i].site;
		char err[AGENT_TEXT_MAX];
		bool ret = pl[i].kind == HOOK_URETPROBE;
		int rc = attach_site(f, ret, pl[i].hook_name, pl[i].prog_type, progs[i], err);
		if (rc) {
			report(&res[i], rc, AGENT_PATH_NONE, "%s", err);
			continue;
		}
		bool tramp = probe_path(f->probe) == PROBE_PATH_TRAMPOLINE;
		report(&res[i], 0, tramp ? AGENT_PATH_TRAMPOLINE : AGENT_PATH_INT3, "%s", pl[i].hook_name);
		link_describe(&links[link_count - 1], &res[i], f);
	}
}

/* libbpf's spec maps of the object (usdt.bpf.h), once a session.  The
 * maps are shared with every traced process: ids another process's specs
 * hold (not all zero) are not given out here. */
static int usdt_ids_prepare(char *err)
{
	if (usdt_ids_ready)
		return 0;
	const bpfvm_object *obj = bpfvm_instance_object(attached_inst);
	int specs = bpfvm_object_find_map(obj, "__bpf_usdt_specs");
	int ips = bpfvm_object_find_map(obj, "__bpf_usdt_ip_to_spec_id");
	if (specs < 0) {
		snprintf(err, AGENT_TEXT_MAX, "the object has no __bpf_usdt_specs map (include <bpf/usdt.bpf.h>)");
		return -ENOENT;
	}
	bpfvm_error e = { 0 };
	int rc = usdt_spec_ids_init(&usdt_ids, bpfvm_instance_map(attached_inst, (size_t)specs),
	                            ips < 0 ? NULL : bpfvm_instance_map(attached_inst, (size_t)ips), &e);
	if (rc) {
		snprintf(err, AGENT_TEXT_MAX, "%s", e.msg);
		return rc;
	}
	static const struct usdt_spec none;
	for (uint32_t id = 0; id < usdt_ids.max_ids; id++) {
		struct usdt_spec held;
		usdt_ids.used[id] = bpfvm_map_lookup(usdt_ids.specs, &id, &held, 0, NULL) == 0 &&
		                    memcmp(&held, &none, sizeof held) != 0;
	}
	usdt_ids_ready = true;
	usdt_ids_pid = getpid();
	return 0;
}

static int usdt_attach_group(struct usdt_group *g, char *err)
{
	if (g->link)
		return 0;
	int rc = usdt_ids_prepare(err);
	if (rc)
		return rc;
	struct probe_handlers h = { .entry = on_usdt };
	bpfvm_error e = { 0 };
	rc = usdt_link_attach(g->file, g->provider, g->name, 0, &usdt_ids, &h, g, &g->link, &e);
	if (rc)
		snprintf(err, AGENT_TEXT_MAX, "%s", e.msg);
	return rc;
}

static void attach_usdts(bpfvm_program **progs, struct placement *pl, size_t n, struct agent_result *res)
{
	for (size_t i = 0; i < n; i++) {
		if (res[i].error || pl[i].kind != HOOK_USDT)
			continue;
		struct usdt_group *g = pl[i].usdt;
		char err[AGENT_TEXT_MAX];
		int rc = hook_for(&g->hook, pl[i].hook_name, pl[i].prog_type, err);
		if (!rc)
			rc = attach_link(g->hook, progs[i], err);
		if (!rc && (rc = usdt_attach_group(g, err)))
			unlink_last();
		if (rc) {
			report(&res[i], rc, AGENT_PATH_NONE, "%s", err);
			continue;
		}
		report(&res[i], 0, AGENT_PATH_INT3, "%s", pl[i].hook_name);
		link_describe(&links[link_count - 1], &res[i], NULL);
		links[link_count - 1].usdt = g;
	}
}

/* Whether a syscall hook slot is one of sys_exit's. */
static bool slot_at_exit(struct agent_hook **slot)
{
	return slot == &sys->raw_exit || slot == &sys->rawtp_exit ||
	       (slot >= sys->tp_exit && slot < sys->tp_exit + SYS_NR_MAX) ||
	       (slot >= sys->kretsys && slot < sys->kretsys + SYS_NR_MAX);
}

static void attach_syscalls(bpfvm_program **progs, struct placement *pl, size_t n, struct agent_result *res)
{
	size_t first = link_count, wanted = 0;
	sys->session_enter = sys->session_exit = sys->records_enter = sys->records_exit = false;
	for (size_t i = 0; i < n; i++) {
		if (res[i].error || pl[i].kind != HOOK_SYSCALL)
			continue;
		char err[AGENT_TEXT_MAX];
		int rc = hook_for(pl[i].slot, pl[i].hook_name, pl[i].prog_type, err);
		if (!rc)
			rc = attach_link(*pl[i].slot, progs[i], err);
		if (rc) {
			report(&res[i], rc, AGENT_PATH_NONE, "%s", err);
			continue;
		}
		wanted++;
		bool at_exit = slot_at_exit(pl[i].slot), raw_tp = pl[i].slot == &sys->rawtp_enter || pl[i].slot == &sys->rawtp_exit;
		*(at_exit ? &sys->session_exit : &sys->session_enter) = true;
		if (!raw_tp)
			*(at_exit ? &sys->records_exit : &sys->records_enter) = true;
	}
	char err[AGENT_TEXT_MAX];
	int rc = wanted ? start_syscalls(err) : 0;
	for (size_t i = 0, k = first; i < n; i++) {
		if (res[i].error || pl[i].kind != HOOK_SYSCALL)
			continue;
		if (rc) {
			report(&res[i], rc, AGENT_PATH_NONE, "%s", err);
			continue;
		}
		report(&res[i], 0, AGENT_PATH_SYSCALL, "%s", pl[i].hook_name);
		link_describe(&links[k++], &res[i], NULL);
	}
	while (rc && link_count > first)
		unlink_last();
}

static void report_all(struct agent_result *res, size_t n, int rc, const char *why)
{
	for (size_t i = 0; i < n; i++)
		report(&res[i], rc, AGENT_PATH_NONE, "%s", why);
}

/* ---- the process's _exit --------------------------------------------- */

/* exit() runs the agent's destructor; _exit() (a forked child's usual
 * end) runs nothing, so the agent probes it, unless a program does. */
static struct probe *exit_probe;
static void (*exit_callback)(void);

static int on_exit_call(struct pt_regs *regs, void *user, uint64_t *override_rc)
{
	(void)regs, (void)user, (void)override_rc;
	if (exit_callback)
		exit_callback();
	return 0;
}

void agent_watch_exit(void (*at_exit)(void))
{
	exit_callback = at_exit;
}

/* After the programs' probes (a program's probe of _exit comes first),
 * before syscall tracing starts: the lookup's system calls would
 * otherwise be intercepted, and their sites rewritten under the agent's
 * own threads. */
static void probe_exit(void)
{
	struct agent_target t;
	char err[AGENT_TEXT_MAX];
	if (!exit_callback || exit_probe || agent_resolve("libc", "_exit", 0, &t, err))
		return;
	struct probe_handlers h = { .entry = on_exit_call };
	struct probe_attach_opts o = { .func_size = t.size };
	if (probe_attach((void *)(uintptr_t)t.addr, &o, &h, NULL, &exit_probe, NULL))
		exit_probe = NULL;
}

void agent_attach_all(bpfvm_instance *inst, const size_t *prog_index, size_t n, struct agent_result *res,
                      uint32_t setup_flags)
{
	const bpfvm_object *obj = bpfvm_instance_object(inst);
	count_runs = setup_flags & AGENT_COUNT_RUNS;
	dispatch_on = setup_flags & AGENT_DISPATCH_ON;
	stats_sent = false;
	for (size_t i = 0; i < n; i++) {
		const bpfvm_object_prog *op = bpfvm_object_prog_at(obj, prog_index[i]);
		res[i] = (struct agent_result){ .type = AGENT_RESULT };
		snprintf(res[i].name, sizeof res[i].name, "%s", op ? op->name : "?");
	}
	attached_inst = inst;
	struct placement *pl = calloc(n + 1, sizeof *pl);
	bpfvm_program **progs = calloc(n + 1, sizeof *progs);
	if (!sys)
		sys = calloc(1, sizeof *sys);
	if (!pl || !progs || !sys) {
		report_all(res, n, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const bpfvm_object_prog *op = bpfvm_object_prog_at(obj, prog_index[i]);
		char err[AGENT_TEXT_MAX];
		progs[i] = bpfvm_instance_prog(inst, prog_index[i]);
		int rc = !progs[i] ? -ENOENT : place(op->section, &pl[i], err);
		if (!progs[i])
			snprintf(err, sizeof err, "program not loaded");
		if (rc) {
			report(&res[i], rc, AGENT_PATH_NONE, "%s", err);
		} else if (pl[i].kind == HOOK_URETPROBE) {
			size_t count;
			struct func_site **placed = placed_sites(&pl[i], &count);
			for (size_t k = 0; k < count; k++)
				placed[k]->want_ret = true;
		}
	}
	attach_probes(progs, pl, n, res);
	attach_usdts(progs, pl, n, res);
	probe_exit();
	attach_syscalls(progs, pl, n, res);
out:
	for (size_t i = 0; pl && i < n; i++) {
		free(pl[i].funcs);
		free(pl[i].sites);
	}
	free(pl);
	free(progs);
}

/* ---- stats ------------------------------------------------------------ */

static void link_served(const struct attached_link *l, uint64_t served[AGENT_SERVED_COUNT])
{
	memset(served, 0, AGENT_SERVED_COUNT * sizeof *served);
	for (size_t i = 0; l->usdt && l->usdt->link && i < usdt_link_sites(l->usdt->link); i++) {
		struct probe_stats ps;
		const struct probe *p = usdt_link_site_probe(l->usdt->link, i);
		if (p) {
			probe_stats(p, &ps);
			served[AGENT_SERVED_INT3] += ps.entries[PROBE_PATH_INT3];
		}
	}
	if (l->usdt) {
		return;
	} else if (l->site && l->site->probe) {
		struct probe_stats ps;
		probe_stats(l->site->probe, &ps);
		served[AGENT_SERVED_TRAMPOLINE] = ps.entries[PROBE_PATH_TRAMPOLINE];
		served[AGENT_SERVED_INT3] = ps.entries[PROBE_PATH_INT3];
	} else if (!l->site) {
		struct syscall_trace_stats ss;
		syscall_trace_get_stats(&ss);
		served[AGENT_SERVED_SUD] = ss.sud_calls;
		served[AGENT_SERVED_REWRITTEN] = ss.rewritten_calls;
		served[AGENT_SERVED_SYSCALL_INT3] = ss.int3_calls;
	}
}

/* How a syscall link's events are caught, for --stats. */
static void link_mode(const struct attached_link *l, char mode[AGENT_TEXT_MAX])
{
	struct syscall_trace_mode m;
	mode[0] = '\0';
	if (l->usdt || l->site)
		return;
	syscall_trace_get_mode(&m);
	if (m.dispatch_off && m.swept_later)
		snprintf(mode, AGENT_TEXT_MAX, "dispatch off (%" PRIu64 " sites in %" PRIu64 " objects rewritten, %" PRIu64
		         " of them by int3 alone; %" PRIu64 " objects swept after attach)", m.sites, m.objects, m.int3_only,
		         m.swept_later);
	else if (m.dispatch_off)
		snprintf(mode, AGENT_TEXT_MAX, "dispatch off (%" PRIu64 " sites in %" PRIu64 " objects rewritten, %" PRIu64
		         " of them by int3 alone)", m.sites, m.objects, m.int3_only);
	else
		snprintf(mode, AGENT_TEXT_MAX, "dispatch on (%s)", m.why);
}

void agent_send_stats(int fd, bool wait)
{
	if (!wait ? pthread_mutex_trylock(&links_lock) != 0 : pthread_mutex_lock(&links_lock) != 0)
		return;
	for (size_t i = 0; !stats_sent && i < link_count; i++) {
		const struct attached_link *l = &links[i];
		struct agent_stats st = { .type = AGENT_STATS, .path = l->path,
		                          .runs = atomic_load(&l->hook->runs) - l->runs_before,
		                          .recursion_misses = atomic_load(&l->hook->misses) - l->misses_before };
		link_served(l, st.served);
		link_mode(l, st.mode);
		for (int k = 0; k < AGENT_SERVED_COUNT; k++)
			st.served[k] -= l->served_before[k];
		snprintf(st.name, sizeof st.name, "%s", l->prog);
		snprintf(st.hook, sizeof st.hook, "%s", l->where);
		send(fd, &st, sizeof st, MSG_NOSIGNAL);
	}
	stats_sent = true;
	pthread_mutex_unlock(&links_lock);
}

void agent_stats_rebase(void)
{
	for (size_t i = 0; i < link_count; i++) {
		struct attached_link *l = &links[i];
		l->runs_before = atomic_load(&l->hook->runs);
		l->misses_before = atomic_load(&l->hook->misses);
		link_served(l, l->served_before);
	}
	stats_sent = false;
}

void agent_detach_all(int report_fd)
{
	pthread_mutex_lock(&links_lock);
	if (exit_probe) {
		probe_detach(exit_probe);
		exit_probe = NULL;
	}
	for (size_t i = 0; i < site_count; i++)
		if (sites[i].probe) {
			probe_detach(sites[i].probe);
			sites[i].probe = NULL;
		}
	for (size_t i = 0; i < usdt_count; i++)
		if (usdts[i].link) {
			(usdt_ids_pid == getpid() ? usdt_link_detach : usdt_link_detach_sites)(usdts[i].link);
			usdts[i].link = NULL;
		}
	if (usdt_ids_ready) {
		usdt_spec_ids_free(&usdt_ids);
		usdt_ids_ready = false;
	}
	if (sys && sys->started) {
		syscall_trace_stop();
		sys->started = false;
	}
	while (link_count)
		unlink_last();
	agent_perf_close(report_fd);
	bpfvm_instance_free(attached_inst);
	attached_inst = NULL;
	pthread_mutex_unlock(&links_lock);
}
