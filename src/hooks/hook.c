/*
 * hook.c - hook points (include/bpfvm/hook.h): the programs attached to
 * each, runs that combine their results, and attaching, detaching and
 * replacing programs while other threads run the hook.
 *
 * Owns: struct bpfvm_hook, its published list of links, each thread's
 * state for hook runs (in its thread block), and the grace periods that
 * free a list once no thread can still be reading it.
 *
 * The scheme (userspace RCU's "memb" flavour).  A hook's links are an
 * immutable array that writers replace with one atomic store.  Each
 * thread that runs hooks has a slot holding the global epoch it entered
 * its outermost hook run with (0: in none).  A writer publishes the new
 * array, advances the epoch, makes every thread of the process execute a
 * full memory barrier (membarrier(2), so that the run path needs none:
 * a thread whose slot store the writer does not see loads the links after
 * that barrier, hence the new array), then waits until every slot is 0 or
 * holds the new epoch; only then is the old array, and the program a
 * detach or replace took out, no longer reachable by any run.  Where
 * membarrier is unavailable, runs pay a fence of their own instead.
 * A run nested in another on the same thread (from a helper, or a signal
 * handler) leaves the outer run's older epoch in place, which keeps
 * everything it may read alive.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "bpfvm/hook.h"
#include "bpfvm/instance.h"
#include "bpfvm/verifier.h"
#include "api/api.h"
#include "base/opts.h"
#include "base/thread_block.h"
#include "progtypes/progtypes.h"
#include "hooks/hook_internal.h"

struct hook_link {
	uint64_t id;
	uint64_t stamp;               /* this program in this link: for run_direct_enter() */
	const bpfvm_program *prog;
	const void *jit_state;        /* unchecked compiled code, or NULL: run through the API */
	jit_entry_fn entry;
};

/* What runs read: never changed once published. */
struct hook_links {
	size_t count;
	/* one program with compiled code, and a rule whose result is its r0:
	 * runs take the shortest path */
	bool one_direct;
	struct hook_link link[];
};

struct bpfvm_hook {
	_Atomic(struct hook_links *) links;
	uint64_t arg2;                /* r2: the memory's size for BPFVM_HOOK_CTX_MEM */
	bpfvm_hook_combine combine;
	uint64_t stop_value;
	bpfvm_hook_combine_fn combine_fn;
	void *combine_user;
	uint64_t empty_result;
	void *user;
	/* the context, for verifying at attach */
	bpfvm_hook_ctx_kind ctx_kind;
	uint32_t prog_type;
	uint32_t ctx_size;
	const struct btf *btf;
	uint32_t btf_id;              /* as the host gave it: a FUNC or a FUNC_PROTO */
	uint32_t func_proto;
	pthread_mutex_t lock;         /* serialises attach, detach and replace */
	char name[64];
};

/* A thread that runs hooks: its part of the thread's block
 * (base/thread_block.h), which is never unmapped (a writer may be reading
 * it) and is taken by a later thread only once this one is gone (the
 * thread may still make system calls a syscall hook runs on after its
 * key's destructors).  Zero (epoch 0) until the thread's first run. */
struct hook_thread {
	_Atomic uint64_t epoch;       /* 0: in no hook run; else the epoch its outermost run entered in */
	struct run_direct direct;     /* the outermost run's programs run on it */
};
_Static_assert(sizeof(struct hook_thread) <= THREAD_BLOCK_HOOK_BYTES, "a hook thread fits its thread block part");

static _Atomic uint64_t hook_epoch = 1;
static _Atomic uint64_t next_link_id = 1;
static _Atomic uint64_t next_link_stamp = 1;
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;
/* membarrier(2) could not be registered: runs fence themselves.  Set
 * before any run (pthread_once), then only read. */
static atomic_bool runs_fence;

/* ---- threads and grace periods ----------------------------------------- */

static inline struct hook_thread *thread_of(struct thread_block *b)
{
	return (struct hook_thread *)b->hook;
}

/* The calling thread's registration, NULL before its first run. */
static inline struct hook_thread *hook_self(void)
{
	struct thread_block *b = thread_block_current;
	return b && b->hook_ready ? thread_of(b) : NULL;
}

static void registry_init(void)
{
	long rc = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
	if (rc != 0)
		atomic_store_explicit(&runs_fence, true, memory_order_relaxed);
}

/* No malloc, no lock: the thread's block is a mapping of the pool's
 * (base/thread_block.h), so in the trace agent a signal handler's first
 * run on a thread may make it. */
int bpfvm_hook_thread_prepare(bpfvm_error *err)
{
	struct thread_block *b = thread_block_self();
	if (!b)
		return error_set(err, -ENOMEM, -1, "hook run: out of memory registering a thread");
	if (b->hook_ready)
		return 0;
	pthread_once(&registry_once, registry_init);
	run_direct_init(&thread_of(b)->direct);
	b->hook_ready = true;
	return 0;
}

/* Returns once every thread has left each hook run that began before the
 * call, hence any list of links unpublished before it. */
static void grace_period(void)
{
	pthread_once(&registry_once, registry_init);   /* membarrier(2) needs registering first */
	uint64_t target = atomic_fetch_add(&hook_epoch, 1) + 1;
	if (!atomic_load_explicit(&runs_fence, memory_order_relaxed) &&
	    syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
		atomic_store_explicit(&runs_fence, true, memory_order_relaxed);   /* cannot fail once registered */
	for (struct thread_block *b = thread_block_first(); b; b = b->next) {
		struct hook_thread *t = thread_of(b);   /* epoch 0 if the thread never ran a hook */
		for (unsigned spins = 0;; spins++) {
			uint64_t e = atomic_load_explicit(&t->epoch, memory_order_acquire);
			if (e == 0 || e >= target)
				break;
			if (spins > 64)
				sched_yield();
		}
	}
}

/* ---- hooks ------------------------------------------------------------- */

/* A BTF context is a FUNC_PROTO's arguments (a FUNC names its proto). */
static int btf_func_proto(const bpfvm_hook_opts *o, uint32_t *proto, bpfvm_error *err)
{
	if (!o->btf)
		return error_set(err, -EINVAL, -1, "bpfvm_hook_new: a BTF context without btf");
	const struct btf_type *t = btf__type_by_id(o->btf, o->btf_id);
	if (t && btf_is_func(t)) {
		*proto = t->type;
		t = btf__type_by_id(o->btf, t->type);
	} else {
		*proto = o->btf_id;
	}
	if (!t || !btf_is_func_proto(t))
		return error_set(err, -ENOTSUP, -1, "bpfvm_hook_new: BTF type %u is not a FUNC_PROTO or FUNC: "
		                 "a BTF context is a function's arguments as u64s (as fmod_ret's); a struct "
		                 "as the context is not supported", o->btf_id);
	if (btf_vlen(t) > 12)
		return error_set(err, -ENOTSUP, -1, "bpfvm_hook_new: BTF type %u has %u arguments (at most 12)",
		                 o->btf_id, btf_vlen(t));
	return 0;
}

static int check_ctx(const bpfvm_hook_opts *o, bpfvm_hook *h, bpfvm_error *err)
{
	switch (o->ctx_kind) {
	case BPFVM_HOOK_CTX_MEM:
		h->prog_type = BPFVM_PROG_TYPE_RAW;
		h->arg2 = o->ctx_size;
		return 0;
	case BPFVM_HOOK_CTX_PROG_TYPE: {
		const struct progtype_desc *d = progtype_desc(o->prog_type);
		if (!d || !d->ctx_size || o->prog_type == BPFVM_PROG_TYPE_RAW || o->prog_type == 0 ||
		    o->prog_type == BPF_PROG_TYPE_TRACING || o->prog_type == BPF_PROG_TYPE_LSM)
			return error_set(err, -ENOTSUP, -1, "bpfvm_hook_new: program type %u has no context bpfvm "
			                 "models (raw memory and BTF types have their own context kinds)", o->prog_type);
		h->prog_type = o->prog_type;
		return 0;
	}
	case BPFVM_HOOK_CTX_BTF:
		h->prog_type = BPF_PROG_TYPE_TRACING;
		h->btf = o->btf;
		h->btf_id = o->btf_id;
		return btf_func_proto(o, &h->func_proto, err);
	}
	return error_set(err, -EINVAL, -1, "bpfvm_hook_new: unknown context kind %d", (int)o->ctx_kind);
}

int bpfvm_hook_new(const bpfvm_hook_opts *opts, bpfvm_hook **out, bpfvm_error *err)
{
	bpfvm_hook_opts o;
	int rc = opts_known(bpfvm_hook_opts, opts, &o, err);
	if (rc)
		return rc;
	if (!out)
		return error_set(err, -EINVAL, -1, "bpfvm_hook_new: null argument");
	*out = NULL;
	if (o.combine == BPFVM_HOOK_CALLBACK ? !o.combine_fn : (unsigned)o.combine > BPFVM_HOOK_STOP_AT)
		return error_set(err, -EINVAL, -1, "bpfvm_hook_new: %s", o.combine == BPFVM_HOOK_CALLBACK ?
		                 "BPFVM_HOOK_CALLBACK without combine_fn" : "unknown combine rule");
	bpfvm_hook *h = calloc(1, sizeof *h);
	struct hook_links *empty = calloc(1, sizeof *empty);
	if (!h || !empty) {
		free(h);
		free(empty);
		return error_set(err, -ENOMEM, -1, "bpfvm_hook_new: out of memory");
	}
	rc = check_ctx(&o, h, err);
	if (rc) {
		free(h);
		free(empty);
		return rc;
	}
	h->ctx_kind = o.ctx_kind;
	h->ctx_size = o.ctx_size;
	h->combine = o.combine;
	h->stop_value = o.stop_value;
	h->combine_fn = o.combine_fn;
	h->combine_user = o.combine_user;
	h->empty_result = o.empty_result;
	h->user = o.user;
	snprintf(h->name, sizeof h->name, "%s", o.name ? o.name : "hook");
	pthread_mutex_init(&h->lock, NULL);
	atomic_init(&h->links, empty);
	*out = h;
	return 0;
}

const char *bpfvm_hook_name(const bpfvm_hook *hook)
{
	return hook->name;
}

void hook_ctx_info(const bpfvm_hook *hook, struct hook_ctx_info *out)
{
	*out = (struct hook_ctx_info){ .kind = hook->ctx_kind, .ctx_size = hook->ctx_size,
	                               .prog_type = hook->prog_type, .btf = hook->btf, .btf_id = hook->btf_id };
}

/* ---- attaching ------------------------------------------------------------ */

static const char *type_name(uint32_t type)
{
	const char *name = bpfvm_prog_type_name(type);
	return type == BPFVM_PROG_TYPE_RAW || type == 0 ? "raw memory" : name ? name : "unknown";
}

/* Whether the verification prog's loader made covers the hook's context. */
static bool verified_for(const bpfvm_hook *h, const bpfvm_program *prog)
{
	const struct program_verified *v = &prog->verified;
	if (!v->done)
		return false;
	switch (h->ctx_kind) {
	case BPFVM_HOOK_CTX_MEM:
		/* an instance proves raw programs for no memory at all; only
		 * bpfvm_hook_verify_prog proves them for the hook's */
		return v->mem_verified && v->mem_size == h->ctx_size;
	case BPFVM_HOOK_CTX_PROG_TYPE:
		return v->prog_type == h->prog_type;
	case BPFVM_HOOK_CTX_BTF:
		return v->attach_btf == h->btf && v->attach_func_proto == h->func_proto;
	}
	return false;
}

/* The verifier's options for the hook's context. */
static bpfvm_verify_opts hook_verify_opts(const bpfvm_hook *h, const bpfvm_program *prog)
{
	BPFVM_OPTS(bpfvm_verify_opts, vo,
		.prog_type = h->prog_type,
		.helpers = prog->helpers,
		.mem_size = h->ctx_size,
		.attach_btf = h->btf,
		.attach_func_proto = h->func_proto,
		.expected_attach_type = h->btf ? BPF_MODIFY_RETURN : 0,   /* its result unrestricted */
		.attach_name = h->btf ? h->name : NULL,
		.sleepable = prog->sleepable,
	);
	return vo;
}

/* Verifies, naming the hook in a refusal. */
static int verify_named(const bpfvm_hook *h, const bpfvm_insn *insns, size_t count, const bpfvm_verify_opts *vo,
                        bpfvm_error *err)
{
	int rc = bpfvm_verify(insns, count, vo, NULL, err);
	if (rc && err) {
		char msg[sizeof err->msg];
		snprintf(msg, sizeof msg, "hook %.30s: program refused by the verifier: %.170s", h->name, err->msg);
		memcpy(err->msg, msg, sizeof msg);
	}
	return rc;
}

/* The program is of the hook's kind and proved safe on its context. */
static int verify_for_hook(const bpfvm_hook *h, const bpfvm_program *prog, bpfvm_error *err)
{
	bool raw = prog->prog_type == BPFVM_PROG_TYPE_RAW || prog->prog_type == 0;
	bool same = h->prog_type == BPFVM_PROG_TYPE_RAW ? raw : prog->prog_type == h->prog_type;
	if (!same)
		return error_set(err, -EINVAL, -1, "hook %s takes %s programs; this one is a %s program", h->name,
		                 type_name(h->prog_type), type_name(prog->prog_type));
	if (verified_for(h, prog))
		return 0;
	if (prog->map_count || prog->callback_count)
		return error_set(err, -EINVAL, -1, "hook %s: the program uses %s, bound at load: verify it for this "
		                 "context where it is loaded (bpfvm_instance_opts.verify), or with bpfvm_hook_verify_prog", h->name,
		                 prog->map_count ? "maps" : "callbacks");
	bpfvm_verify_opts vo = hook_verify_opts(h, prog);
	return verify_named(h, prog->insns, prog->count, &vo, err);
}

struct prog_lines {
	const bpfvm_object *obj;
	size_t prog;
};

static int prog_line(void *user, size_t insn, const char **file, uint32_t *line, const char **text)
{
	const struct prog_lines *src = user;
	uint32_t col;
	return bpfvm_object_line_info(src->obj, src->prog, insn, file, line, &col, text);
}

/* The object's instructions of the program (maps still symbolic, kfuncs
 * bound as at load) verified with the instance's maps for the hook's
 * context, then recorded on the loaded program as verify_for_hook reads it. */
int bpfvm_hook_verify_prog(bpfvm_hook *hook, const bpfvm_instance *inst, size_t index, bpfvm_error *err)
{
	bpfvm_program *prog = inst ? bpfvm_instance_prog(inst, index) : NULL;
	if (!hook || !prog)
		return error_set(err, -EINVAL, -1, "bpfvm_hook_verify_prog: no program %zu loaded", index);
	const bpfvm_object *obj = bpfvm_instance_object(inst);
	const bpfvm_object_prog *op = bpfvm_object_prog_at(obj, index);
	bool raw = op->type == BPFVM_PROG_TYPE_RAW || op->type == 0;
	if (hook->prog_type == BPFVM_PROG_TYPE_RAW ? !raw : op->type != hook->prog_type)
		return error_set(err, -EINVAL, -1, "hook %s takes %s programs; %s is a %s program", hook->name,
		                 type_name(hook->prog_type), op->name, type_name(op->type));
	size_t map_count = bpfvm_object_map_count(obj);
	bpfvm_map **maps = calloc(map_count + 1, sizeof *maps);
	bpfvm_insn *insns = malloc((op->insn_count + 1) * sizeof *insns);
	int rc = maps && insns ? 0 : error_set(err, -ENOMEM, -1, "bpfvm_hook_verify_prog: out of memory");
	if (!rc) {
		for (size_t i = 0; i < map_count; i++)
			maps[i] = bpfvm_instance_map(inst, i);
		memcpy(insns, op->insns, op->insn_count * sizeof *insns);
		rc = bpfvm_object_bind_kfuncs(obj, index, insns, err);
	}
	if (!rc) {
		struct prog_lines lines = { obj, index };
		bpfvm_verify_opts vo = hook_verify_opts(hook, prog);
		vo.maps = maps;
		vo.map_count = map_count;
		vo.line_info = prog_line;
		vo.line_user = &lines;
		vo.license = bpfvm_object_license(obj);
		vo.prog_btf = bpfvm_object_btf(obj);
		vo.func_info = op->func_info;
		vo.func_info_count = op->func_info_count;
		rc = verify_named(hook, insns, op->insn_count, &vo, err);
	}
	if (!rc)
		prog->verified = (struct program_verified){ .done = true, .prog_type = hook->prog_type,
			.attach_btf = hook->btf, .attach_func_proto = hook->func_proto,
			.mem_verified = hook->ctx_kind == BPFVM_HOOK_CTX_MEM, .mem_size = hook->ctx_size };
	free(maps);
	free(insns);
	return rc;
}

static struct hook_link link_make(uint64_t id, const bpfvm_program *prog)
{
	const void *state = run_direct_state(prog);
	return (struct hook_link){ .id = id, .stamp = atomic_fetch_add(&next_link_stamp, 1), .prog = prog,
	                           .jit_state = state,
	                           .entry = state ? jit_code_entry(state) : NULL };
}

/* A copy of the published links with room for `extra` more. */
static struct hook_links *links_copy(const bpfvm_hook *h, size_t extra)
{
	const struct hook_links *cur = atomic_load_explicit(&h->links, memory_order_relaxed);
	struct hook_links *next = malloc(sizeof *next + (cur->count + extra) * sizeof next->link[0]);
	if (next) {
		next->count = cur->count;
		memcpy(next->link, cur->link, cur->count * sizeof cur->link[0]);
	}
	return next;
}

static ssize_t link_index(const struct hook_links *l, uint64_t id)
{
	for (size_t i = 0; i < l->count; i++)
		if (l->link[i].id == id)
			return (ssize_t)i;
	return -1;
}

/* Makes next what runs see, and frees the list it replaces once no run
 * can be reading it.  Called with h->lock held. */
static void publish(bpfvm_hook *h, struct hook_links *next)
{
	next->one_direct = next->count == 1 && next->link[0].entry && h->combine != BPFVM_HOOK_CALLBACK;
	struct hook_links *old = atomic_exchange_explicit(&h->links, next, memory_order_acq_rel);
	grace_period();
	free(old);
}

/* Waiting for runs from inside one on this thread would wait forever. */
static int refuse_inside_run(const bpfvm_hook *h, const char *what, bpfvm_error *err)
{
	struct hook_thread *self = hook_self();
	if (self && atomic_load_explicit(&self->epoch, memory_order_relaxed))
		return error_set(err, -EDEADLK, -1, "%s on hook %s: called from inside a hook run on this thread, "
		                 "which it would wait for", what, h->name);
	return 0;
}

int bpfvm_hook_attach(bpfvm_hook *hook, const bpfvm_program *prog, uint64_t *link, bpfvm_error *err)
{
	if (!hook || !prog || !link)
		return error_set(err, -EINVAL, -1, "bpfvm_hook_attach: null argument");
	int rc = refuse_inside_run(hook, "bpfvm_hook_attach", err);
	if (!rc)
		rc = verify_for_hook(hook, prog, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&hook->lock);
	struct hook_links *next = links_copy(hook, 1);
	if (!next) {
		pthread_mutex_unlock(&hook->lock);
		return error_set(err, -ENOMEM, -1, "bpfvm_hook_attach: out of memory");
	}
	uint64_t id = atomic_fetch_add(&next_link_id, 1);
	next->link[next->count++] = link_make(id, prog);
	publish(hook, next);
	pthread_mutex_unlock(&hook->lock);
	*link = id;
	return 0;
}

/* Detach (prog NULL) or replace link's program. */
static int link_change(bpfvm_hook *hook, uint64_t link, const bpfvm_program *prog, const char *what,
                       bpfvm_error *err)
{
	pthread_mutex_lock(&hook->lock);
	struct hook_links *next = links_copy(hook, 0);
	if (!next) {
		pthread_mutex_unlock(&hook->lock);
		return error_set(err, -ENOMEM, -1, "%s: out of memory", what);
	}
	ssize_t at = link_index(next, link);
	if (at < 0) {
		pthread_mutex_unlock(&hook->lock);
		free(next);
		return error_set(err, -ENOENT, -1, "%s: hook %s has no link %llu", what, hook->name,
		                 (unsigned long long)link);
	}
	if (prog) {
		next->link[at] = link_make(link, prog);
	} else {
		memmove(&next->link[at], &next->link[at + 1], (next->count - (size_t)at - 1) * sizeof next->link[0]);
		next->count--;
	}
	publish(hook, next);
	pthread_mutex_unlock(&hook->lock);
	return 0;
}

int bpfvm_hook_detach(bpfvm_hook *hook, uint64_t link, bpfvm_error *err)
{
	if (!hook)
		return error_set(err, -EINVAL, -1, "bpfvm_hook_detach: null argument");
	int rc = refuse_inside_run(hook, "bpfvm_hook_detach", err);
	return rc ? rc : link_change(hook, link, NULL, "bpfvm_hook_detach", err);
}

int bpfvm_hook_replace(bpfvm_hook *hook, uint64_t link, const bpfvm_program *prog, bpfvm_error *err)
{
	if (!hook || !prog)
		return error_set(err, -EINVAL, -1, "bpfvm_hook_replace: null argument");
	int rc = refuse_inside_run(hook, "bpfvm_hook_replace", err);
	if (!rc)
		rc = verify_for_hook(hook, prog, err);
	return rc ? rc : link_change(hook, link, prog, "bpfvm_hook_replace", err);
}

size_t bpfvm_hook_links(const bpfvm_hook *hook, bpfvm_hook_link_info *out, size_t cap)
{
	bpfvm_hook *h = (bpfvm_hook *)hook;
	pthread_mutex_lock(&h->lock);
	const struct hook_links *l = atomic_load_explicit(&h->links, memory_order_relaxed);
	for (size_t i = 0; i < l->count && i < cap; i++)
		out[i] = (bpfvm_hook_link_info){ .link = l->link[i].id, .prog = l->link[i].prog };
	size_t count = l->count;
	pthread_mutex_unlock(&h->lock);
	return count;
}

void bpfvm_hook_free(bpfvm_hook *hook)
{
	if (!hook)
		return;
	struct hook_links *empty = calloc(1, sizeof *empty);
	pthread_mutex_lock(&hook->lock);
	if (empty)
		publish(hook, empty);
	else
		grace_period();   /* no run may be going on: nothing to wait for but in-flight ones */
	pthread_mutex_unlock(&hook->lock);
	pthread_mutex_destroy(&hook->lock);
	free(atomic_load_explicit(&hook->links, memory_order_relaxed));
	free(hook);
}

/* ---- running ------------------------------------------------------------- */

/* A program through the API: one loaded without jit, or a run nested in
 * another on this thread (whose direct run is in use). */
static int run_through_api(const bpfvm_hook *h, const struct hook_link *l, void *ctx, struct hook_state *frame,
                           uint64_t *r0, bpfvm_error *err)
{
	BPFVM_OPTS(bpfvm_run_opts, ro,
		.args = { (uint64_t)(uintptr_t)ctx, h->arg2 },
		.mode = BPFVM_UNCHECKED,
		.user = h->user,
	);
	return program_run_hooked(l->prog, &ro, frame, r0, err);
}

/* A link's program, through its compiled code. */
static inline int run_direct(const bpfvm_hook *hook, const struct hook_link *l, struct run_direct *d, void *ctx,
                             uint64_t *result, bpfvm_error *err)
{
	uint64_t r1 = (uint64_t)(uintptr_t)ctx;
	uint64_t r0 = run_direct_enter(d, l->stamp, l->prog, l->jit_state, l->entry, r1, hook->arg2, hook->user);
	if (__builtin_expect(!run_direct_clean(d), 0)) {
		int rc = run_direct_finish(d, r0, r1, hook->arg2, &r0, err);
		if (rc)
			return rc;
	}
	*result = r0;
	return 0;
}

/* Folds r0 into *result; true to stop. */
static inline bool combine(const bpfvm_hook *h, const struct hook_link *l, uint64_t r0, uint64_t *result)
{
	switch (h->combine) {
	case BPFVM_HOOK_RUN_ALL:
		*result = r0;
		return false;
	case BPFVM_HOOK_STOP_AT:
		*result = r0;
		return r0 == h->stop_value;
	default:
		return h->combine_fn(h->combine_user, l->id, r0, result);
	}
}

static int run_links(const bpfvm_hook *h, const struct hook_links *links, struct run_direct *d, void *ctx,
                     struct hook_state *frame, uint64_t *result, bpfvm_error *err)
{
	uint64_t acc = h->empty_result;
	for (size_t i = 0; i < links->count; i++) {
		const struct hook_link *l = &links->link[i];
		uint64_t r0;
		int rc = d && l->entry ? run_direct(h, l, d, ctx, &r0, err) : run_through_api(h, l, ctx, frame, &r0, err);
		if (rc)
			return rc;
		if (combine(h, l, r0, &acc))
			break;
	}
	*result = acc;
	return 0;
}

/* A run from inside another on this thread: the outer run's epoch keeps
 * what this one reads alive, and its direct run is in use. */
static __attribute__((noinline)) int run_nested(bpfvm_hook *hook, void *ctx, struct hook_state *frame,
                                                uint64_t *result, bpfvm_error *err)
{
	const struct hook_links *links = atomic_load_explicit(&hook->links, memory_order_acquire);
	return run_links(hook, links, NULL, ctx, frame, result, err);
}

static int hook_run_as(struct hook_thread *self, bpfvm_hook *hook, void *ctx, struct hook_state *frame,
                       uint64_t *result, bpfvm_error *err);

/* A thread's first run, a null argument, or a nested run. */
static __attribute__((noinline)) int run_unusual(struct hook_thread *self, bpfvm_hook *hook, void *ctx,
                                                 struct hook_state *frame, uint64_t *result, bpfvm_error *err)
{
	if (!hook || !result)
		return error_set(err, -EINVAL, -1, "bpfvm_hook_run: null argument");
	if (!self) {
		int rc = bpfvm_hook_thread_prepare(err);
		return rc ? rc : hook_run_as(hook_self(), hook, ctx, frame, result, err);
	}
	return run_nested(hook, ctx, frame, result, err);
}

/* self: the calling thread's registration (NULL: none yet).  frame: the
 * XDP frame the packet helpers work on (NULL: none); a constant NULL in
 * bpfvm_hook_run, so its path stays as it was. */
static inline __attribute__((always_inline)) int hook_run_as(struct hook_thread *self, bpfvm_hook *hook, void *ctx,
                                                            struct hook_state *frame, uint64_t *result,
                                                            bpfvm_error *err)
{
	if (__builtin_expect(!self || !hook || !result ||
	                     atomic_load_explicit(&self->epoch, memory_order_relaxed) != 0, 0))
		return run_unusual(self, hook, ctx, frame, result, err);
	atomic_store_explicit(&self->epoch, atomic_load_explicit(&hook_epoch, memory_order_acquire),
	                      memory_order_relaxed);
	/* the epoch store before the links load: a writer's membarrier(2)
	 * orders them when it must; without it, a fence here */
	if (__builtin_expect(atomic_load_explicit(&runs_fence, memory_order_relaxed), 0))
		atomic_thread_fence(memory_order_seq_cst);
	else
		atomic_signal_fence(memory_order_seq_cst);
	const struct hook_links *links = atomic_load_explicit(&hook->links, memory_order_acquire);
	if (frame)
		self->direct.run.hook = frame;
	int rc;
	if (__builtin_expect(links->one_direct, 1))
		rc = run_direct(hook, &links->link[0], &self->direct, ctx, result, err);
	else
		rc = run_links(hook, links, &self->direct, ctx, frame, result, err);
	if (frame)
		self->direct.run.hook = NULL;   /* the next plain run has no frame */
	atomic_store_explicit(&self->epoch, 0, memory_order_release);
	return rc;
}

int bpfvm_hook_run(bpfvm_hook *hook, void *ctx, uint64_t *result, bpfvm_error *err)
{
	return hook_run_as(hook_self(), hook, ctx, NULL, result, err);
}

struct hook_thread *hook_thread_self(void)
{
	return bpfvm_hook_thread_prepare(NULL) ? NULL : hook_self();
}

int hook_run_on(struct hook_thread *self, bpfvm_hook *hook, void *ctx, uint64_t *result)
{
	return hook_run_as(self, hook, ctx, NULL, result, NULL);
}

int bpfvm_hook_run_xdp(bpfvm_hook *hook, struct xdp_md *ctx, void *frame, size_t frame_size, uint64_t *result,
                       bpfvm_error *err)
{
	if (__builtin_expect(!hook || hook->prog_type != BPF_PROG_TYPE_XDP || !ctx || !frame, 0))
		return error_set(err, -EINVAL, -1, "bpfvm_hook_run_xdp: %s", !hook || !ctx || !frame ?
		                 "null argument" : "the hook does not take XDP programs");
	struct hook_state state = { .prog_type = BPF_PROG_TYPE_XDP, .frame = frame, .frame_len = frame_size,
	                            .alloc_len = frame_size, .ctx = ctx, .ctx_len = sizeof *ctx };
	return hook_run_as(hook_self(), hook, ctx, &state, result, err);
}
