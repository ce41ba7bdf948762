/*
 * probe.c - function probes (see probe.h): the table of patch sites, the
 * patching sequences, the entry and return dispatchers the generated code
 * calls, and the per-thread shadow stack of return addresses.
 *
 * Patching is safe against threads running the function: the first byte
 * becomes int3 (a thread that hits it is sent into the trampoline, which
 * begins as the function does), every core is serialised (membarrier),
 * threads stopped between the displaced instructions are moved into the
 * trampoline's copy of them (probe_trap.c), then bytes 1..4 are written,
 * then byte 0.  Detaching runs the same steps backwards.  Sites and their
 * generated code are never freed: a thread may sit inside a trampoline
 * long after its probe is gone, and re-attaching to a function reuses its
 * site, so memory stays bounded by the number of functions ever probed.
 * A probe is freed once no thread is inside its handlers: each site
 * counts the threads in a handler call (inc, then read the probe; detach
 * clears the probe, then waits for the count to reach 0).
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/error.h"
#include "base/thread_block.h"
#include "hooks/probe_internal.h"

#define PROBE_MAX_SITES 4096
#define SHADOW_DEPTH 128

static pthread_mutex_t patch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct probe_site *_Atomic sites[PROBE_MAX_SITES];
static atomic_uint site_count;
static atomic_uint_fast64_t next_probe_id = 1;
static int sync_core_ok = -1;

/* ---- the shadow stack ---------------------------------------------- */

struct shadow_entry {
	uintptr_t slot;          /* where the return address was: the stack pointer at entry */
	uintptr_t ret;           /* the real return address */
	struct probe_site *site;
	uint64_t probe_id;
};

/* The thread's shadow stack, in its block (base/thread_block.h). */
struct shadow_stack {
	unsigned depth;
	struct shadow_entry e[SHADOW_DEPTH];
};
_Static_assert(sizeof(struct shadow_stack) <= THREAD_BLOCK_SHADOW_BYTES, "the shadow stack fits its thread block part");

/* The calling thread's shadow stack, NULL if it has no block: made=true
 * takes one (NULL only if out of memory). */
static inline struct shadow_stack *shadow_of(bool made)
{
	struct thread_block *b = made ? thread_block_self() : thread_block_current;
	return b ? (struct shadow_stack *)b->shadow : NULL;
}

unsigned probe_shadow_depth(void)
{
	const struct shadow_stack *shadow = shadow_of(false);
	return shadow ? shadow->depth : 0;
}

static uintptr_t displaced_origin(uintptr_t ip);

uint64_t probe_real_return(uint64_t slot, uint64_t ret)
{
	const struct shadow_stack *shadow = shadow_of(false);
	if (ret == (uintptr_t)probe_return_trampoline && shadow)
		for (unsigned i = shadow->depth; i-- > 0;)
			if (shadow->e[i].slot == slot) {
				ret = shadow->e[i].ret;
				break;
			}
	return displaced_origin(ret);
}

/* Entries whose slot lies below sp (or at it, when at_or_below) belong
 * to frames that are gone (left by longjmp): the stack grows down. */
static void shadow_drop_dead(struct shadow_stack *shadow, uintptr_t sp, int at_or_below)
{
	while (shadow->depth) {
		uintptr_t slot = shadow->e[shadow->depth - 1].slot;
		if (slot > sp || (slot == sp && !at_or_below))
			break;
		shadow->depth--;
	}
}

static void hook_return(struct probe_site *site, struct probe *p, struct pt_regs *regs)
{
	uintptr_t slot = regs->rsp;
	struct shadow_stack *shadow = shadow_of(true);
	if (shadow)
		shadow_drop_dead(shadow, slot, 1);
	if (!shadow || shadow->depth == SHADOW_DEPTH) {
		atomic_fetch_add_explicit(&p->missed_returns, 1, memory_order_relaxed);
		return;
	}
	shadow->e[shadow->depth] = (struct shadow_entry){ slot, *(uintptr_t *)slot, site, p->id };
	shadow->depth++;
	*(uintptr_t *)slot = (uintptr_t)probe_return_trampoline;
}

static void fatal(const char *msg)
{
	ssize_t unused = write(2, msg, strlen(msg));
	(void)unused;
	abort();
}

/* ---- dispatch ------------------------------------------------------ */

int probe_entry_dispatch(struct probe_site *site, struct pt_regs *regs, int path)
{
	atomic_fetch_add(&site->inside, 1);
	struct probe *p = atomic_load(&site->current);
	int override = 0;
	if (p) {
		regs->rip = (uintptr_t)site->func;
		atomic_fetch_add_explicit(&p->entries[path], 1, memory_order_relaxed);
		uint64_t rc = 0;
		int verdict = p->h.entry ? p->h.entry(regs, p->user, &rc) : 0;
		if (verdict == 1) {
			regs->rax = rc;
			override = 1;
		} else if (p->h.ret && verdict != PROBE_ENTRY_NO_RETURN) {
			hook_return(site, p, regs);
		}
	}
	atomic_fetch_sub_explicit(&site->inside, 1, memory_order_release);
	return override;
}

uintptr_t probe_return_dispatch(struct pt_regs *regs)
{
	uintptr_t slot = regs->rsp - 8;
	struct shadow_stack *shadow = shadow_of(false);
	if (shadow)
		shadow_drop_dead(shadow, slot, 0);
	if (!shadow || !shadow->depth || shadow->e[shadow->depth - 1].slot != slot)
		fatal("bpfvm probe: a return through the return trampoline has no shadow stack entry\n");
	struct shadow_entry e = shadow->e[--shadow->depth];
	regs->rip = e.ret;
	atomic_fetch_add(&e.site->inside, 1);
	struct probe *p = atomic_load(&e.site->current);
	if (p && p->id == e.probe_id && p->h.ret) {
		atomic_fetch_add_explicit(&p->returns, 1, memory_order_relaxed);
		p->h.ret(regs, p->user);
	}
	atomic_fetch_sub_explicit(&e.site->inside, 1, memory_order_release);
	return e.ret;
}

/* ---- sites ---------------------------------------------------------- */

struct probe_site *probe_site_find(uintptr_t func)
{
	for (unsigned i = atomic_load(&site_count); i-- > 0;) {
		struct probe_site *s = atomic_load(&sites[i]);
		if (s && (uintptr_t)s->func == func)
			return s;
	}
	return NULL;
}

/* The function's address of ip if ip ends one of the instructions r
 * moved from s's function to copy (a call's return address), else 0. */
static uintptr_t moved_origin(const struct probe_site *s, const struct x86_reloc *r, const uint8_t *copy, uintptr_t ip)
{
	if (ip <= (uintptr_t)copy || ip > (uintptr_t)copy + r->out_len)
		return 0;
	size_t off = ip - (uintptr_t)copy;
	if (off == r->out_len)
		return (uintptr_t)s->func + r->src_len;
	for (unsigned k = 1; k < r->count; k++)
		if (r->out_off[k] == off)
			return (uintptr_t)s->func + r->src_off[k];
	return 0;
}

/* A return address in a site's moved instructions (its trampoline's,
 * or its out-of-line first one) as the function's own; any other ip as
 * it is. */
static uintptr_t displaced_origin(uintptr_t ip)
{
	for (unsigned i = atomic_load(&site_count); i-- > 0;) {
		const struct probe_site *s = atomic_load(&sites[i]);
		uintptr_t origin = 0;
		if (s && s->trampoline_resume)
			origin = moved_origin(s, &s->jump_reloc, s->trampoline_resume, ip);
		if (s && !origin && s->out_of_line)
			origin = moved_origin(s, &s->out_of_line_reloc, s->out_of_line, ip);
		if (origin)
			return origin;
	}
	return ip;
}

static size_t site_patch_len(const struct probe_site *s, int mode)
{
	return mode == SITE_JUMP ? s->jump_reloc.src_len : 1;
}

/* The site of func, reused when the function's bytes are still those it
 * was built from, else made (and published for the trap handler). */
static struct probe_site *site_get(uint8_t *func, size_t fn_size, bpfvm_error *err)
{
	struct probe_site *s = probe_site_find((uintptr_t)func);
	if (s && (atomic_load(&s->current) || atomic_load(&s->mode) != SITE_IDLE)) {
		error_set(err, -EBUSY, -1, "probe %p: the function already has a probe", (void *)func);
		return NULL;
	}
	if (s && memcmp(func, s->orig, s->trampoline ? s->jump_reloc.src_len : 1) == 0)
		return s;
	if (atomic_load(&site_count) == PROBE_MAX_SITES) {
		error_set(err, -ENOSPC, -1, "probe %p: more than %d functions probed", (void *)func, PROBE_MAX_SITES);
		return NULL;
	}
	s = calloc(1, sizeof *s);
	if (!s) {
		error_set(err, -ENOMEM, -1, "probe %p: out of memory", (void *)func);
		return NULL;
	}
	s->func = func;
	memcpy(s->orig, func, sizeof s->orig);
	char reason[X86_RELOC_REASON_SIZE];
	if (probe_tramp_build(s, fn_size, reason) < 0) {
		error_set(err, -EINVAL, -1, "probe %p: cannot be probed: %s", (void *)func, reason);
		free(s);
		return NULL;
	}
	atomic_store(&sites[atomic_load(&site_count)], s);
	atomic_fetch_add(&site_count, 1);
	return s;
}

/* ---- patching ------------------------------------------------------- */

static void sync_cores(void)
{
	if (sync_core_ok > 0)
		syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0);
}

static int set_writable(uint8_t *p, size_t len, int writable)
{
	uintptr_t page = (uintptr_t)p & ~(uintptr_t)4095;
	size_t span = (uintptr_t)p + len - page;
	int prot = PROT_READ | PROT_EXEC | (writable ? PROT_WRITE : 0);
	return mprotect((void *)page, span, prot);
}

static void poke(uint8_t *at, uint8_t byte)
{
	*(volatile uint8_t *)at = byte;
	sync_cores();
}

static void poke_tail(uint8_t *at, const uint8_t *bytes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		((volatile uint8_t *)at)[i] = bytes[i];
	sync_cores();
}

/* Puts the site in mode: int3 first, threads moved out of the displaced
 * bytes, then the jump.  Returns the mode reached (SITE_TRAP_REDIRECT
 * when some thread could not be moved). */
static int install(struct probe_site *s, int mode)
{
	uint8_t *f = s->func;
	atomic_store(&s->mode, mode);
	poke(f, 0xcc);
	if (mode != SITE_JUMP)
		return mode;
	if (s->jump_reloc.count > 1 && probe_trap_move_threads(s) < 0) {
		atomic_store(&s->mode, SITE_TRAP_REDIRECT);
		return SITE_TRAP_REDIRECT;
	}
	uint8_t jump[PROBE_JUMP_LEN] = { 0xe9 };
	int32_t rel = (int32_t)((uintptr_t)s->trampoline - ((uintptr_t)f + PROBE_JUMP_LEN));
	memcpy(jump + 1, &rel, 4);
	poke_tail(f + 1, jump + 1, PROBE_JUMP_LEN - 1);
	poke(f, jump[0]);
	return mode;
}

static void uninstall(struct probe_site *s)
{
	int mode = atomic_load(&s->mode);
	size_t len = site_patch_len(s, mode);
	poke(s->func, 0xcc);
	poke_tail(s->func + 1, s->orig + 1, len - 1);
	poke(s->func, s->orig[0]);
	atomic_store(&s->mode, SITE_IDLE);
}

static void setup_once(void)
{
	if (sync_core_ok >= 0)
		return;
	sync_core_ok = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0) == 0;
}

/* ---- attach and detach ---------------------------------------------- */

static int choose_mode(const struct probe_site *s, const struct probe_attach_opts *opts, bpfvm_error *err)
{
	if (s->trampoline && !(opts && opts->force_int3))
		return SITE_JUMP;
	if (s->out_of_line)
		return SITE_TRAP_EMULATE;
	return error_set(err, -EINVAL, -1, "probe %p: cannot be probed: %s", (void *)s->func, s->no_trampoline);
}

static int attach_locked(uint8_t *func, const struct probe_attach_opts *opts, struct probe *p, bpfvm_error *err)
{
	struct probe_site *s = site_get(func, opts ? opts->func_size : 0, err);
	if (!s)
		return err ? err->code : -EINVAL;
	int mode = choose_mode(s, opts, err);
	if (mode < 0)
		return mode;
	size_t len = site_patch_len(s, mode);
	if (set_writable(func, len, 1) < 0)
		return error_set(err, -errno, -1, "probe %p: mprotect: %s", (void *)func, strerror(errno));
	p->site = s;
	p->redirects_before = atomic_load(&s->trap_redirects);
	p->moved_before = atomic_load(&s->threads_moved);
	atomic_store(&s->current, p);
	mode = install(s, mode);
	set_writable(func, len, 0);
	p->path = mode == SITE_JUMP ? PROBE_PATH_TRAMPOLINE : PROBE_PATH_INT3;
	return 0;
}

int probe_attach(void *func, const struct probe_attach_opts *opts, const struct probe_handlers *h, void *user,
		 struct probe **out, bpfvm_error *err)
{
	if (!func || !h || !out)
		return error_set(err, -EINVAL, -1, "probe_attach: no function, handlers or result");
	int rc = probe_trap_install(err);
	if (rc < 0)
		return rc;
	struct probe *p = calloc(1, sizeof *p);
	if (!p)
		return error_set(err, -ENOMEM, -1, "probe %p: out of memory", func);
	p->id = atomic_fetch_add(&next_probe_id, 1);
	p->h = *h;
	p->user = user;
	pthread_mutex_lock(&patch_lock);
	setup_once();
	rc = attach_locked(func, opts, p, err);
	pthread_mutex_unlock(&patch_lock);
	if (rc < 0) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void probe_detach(struct probe *p)
{
	struct probe_site *s = p->site;
	pthread_mutex_lock(&patch_lock);
	atomic_store(&s->current, NULL);
	size_t len = site_patch_len(s, atomic_load(&s->mode));
	set_writable(s->func, len, 1);
	uninstall(s);
	set_writable(s->func, len, 0);
	pthread_mutex_unlock(&patch_lock);
	while (atomic_load(&s->inside))
		sched_yield();
	free(p);
}

enum probe_path probe_path(const struct probe *p)
{
	return p->path;
}

void probe_stats(const struct probe *p, struct probe_stats *out)
{
	for (int i = 0; i < PROBE_PATH_COUNT; i++)
		out->entries[i] = atomic_load(&p->entries[i]);
	out->returns = atomic_load(&p->returns);
	out->missed_returns = atomic_load(&p->missed_returns);
	out->trap_redirects = atomic_load(&p->site->trap_redirects) - p->redirects_before;
	out->threads_moved = atomic_load(&p->site->threads_moved) - p->moved_before;
}
