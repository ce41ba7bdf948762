/*
 * trace_helpers.c - the kernel's helpers of tracing programs that read
 * the event behind a run or act on it: bpf_get_func_ip,
 * bpf_get_attach_cookie, bpf_get_stack, bpf_get_stackid,
 * bpf_send_signal(_thread) and bpf_override_return, by the kernel's IDs
 * and with its prototypes, program types and return values.
 *
 * Owns: these helpers' descriptors (helper_descs_trace) and the user
 * stack walk.
 *
 * The event is the hook's struct trace_ctx (src/run/trace_ctx.h, which
 * says what each helper does without one).  Stacks are user stacks only:
 * bpfvm runs in user space, where no kernel stack exists, so a request
 * for one (no BPF_F_USER_STACK) fails with -EFAULT, as the kernel's
 * helpers do when they find no call chain.  The user stack is walked as
 * the kernel's perf_callchain_user() walks it: rip, then (at a function's
 * first instruction) the return address at rsp, then the return address
 * of each frame-pointer frame from rbp on, every read fault-safe, at most
 * PERF_MAX_STACK_DEPTH (127) frames.  The registers are the hook's, or
 * outside a hook a kprobe program's context (its pt_regs).  Build id
 * records (BPF_F_USER_BUILD_ID, BPF_F_STACK_BUILD_ID maps) name each
 * address by the GNU build id of the loaded object holding it and the
 * file offset, from the object's program headers in memory; an address
 * in no object with a build id keeps its address (BPF_STACK_BUILD_ID_IP),
 * as in the kernel.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers/helper_desc.h"
#include "helpers/helpers.h"
#include "run/trace_ctx.h"

#define STACK_MAX_DEPTH 127u                   /* sysctl kernel.perf_event_max_stack's default */
#define USER_SPACE_END 0x00007ffffffff000ull   /* x86-64 TASK_SIZE: frames lie below it */
#define BUILD_ID_SIZE 20u

/* ---- the event -------------------------------------------------------- */

static uint64_t h_get_func_ip(uint64_t ctx, uint64_t b, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)ctx; (void)b; (void)c; (void)d; (void)e; (void)run;
	const struct trace_ctx *t = trace_ctx_current();
	return t ? t->func_ip : 0;
}

static uint64_t h_get_attach_cookie(uint64_t ctx, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
                                    bpfvm_run *run)
{
	(void)ctx; (void)b; (void)c; (void)d; (void)e; (void)run;
	const struct trace_ctx *t = trace_ctx_current();
	return t ? t->cookie : 0;
}

/* The registers of the event: the hook's, else a kprobe program's
 * context; NULL when there are none (a tracepoint's test run). */
static const struct pt_regs *event_regs(bpfvm_run *run, const char *helper, uint64_t ctx, bool *at_entry)
{
	const struct trace_ctx *t = trace_ctx_current();
	*at_entry = t && t->at_func_entry;
	if (t)
		return t->regs;
	if (run->prog->prog_type != BPF_PROG_TYPE_KPROBE ||
	    !helper_check(run, helper, ctx, sizeof(struct pt_regs), false))
		return NULL;
	return (const struct pt_regs *)(uintptr_t)ctx;
}

/* ---- the user stack ----------------------------------------------------- */

/* The return address read at slot, the real one if a return probe
 * swapped it (trace_ctx.h). */
static uint64_t return_at(uint64_t slot, uint64_t ret)
{
	const struct trace_ctx *t = trace_ctx_current();
	return t && t->real_return ? t->real_return(slot, ret) : ret;
}

/* Up to max return addresses of the user stack at regs into ips, as
 * perf_callchain_user(); the number stored. */
static uint32_t user_stack_walk(const struct pt_regs *regs, bool at_entry, uint64_t *ips, uint32_t max)
{
	uint32_t nr = 0;
	if (nr < max)
		ips[nr++] = regs->rip;
	if (at_entry && nr < max && helper_read_nofault(&ips[nr], regs->rsp, 8)) {
		ips[nr] = return_at(regs->rsp, ips[nr]);
		nr++;
	}
	uint64_t fp = regs->rbp;
	while (nr < max && fp < USER_SPACE_END - 16) {
		uint64_t frame[2];      /* the caller's rbp, the return address */
		if (!helper_read_nofault(frame, fp, sizeof frame))
			break;
		ips[nr++] = return_at(fp + 8, frame[1]);
		fp = frame[0];
	}
	return nr;
}

struct build_id_search {
	uint64_t ip;
	struct bpf_stack_build_id *out;
	bool found;
};

/* The GNU build id in an object's PT_NOTE segments, or false. */
static bool object_build_id(const struct dl_phdr_info *info, uint8_t id[BUILD_ID_SIZE])
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)(const void *)p;
			const uint8_t *name = p + sizeof *n, *desc = name + ((n->n_namesz + 3) & ~3u);
			if (desc + n->n_descsz > end)
				break;
			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
				memset(id, 0, BUILD_ID_SIZE);
				memcpy(id, desc, n->n_descsz < BUILD_ID_SIZE ? n->n_descsz : BUILD_ID_SIZE);
				return true;
			}
			p = desc + ((n->n_descsz + 3) & ~3u);
		}
	}
	return false;
}

/* dl_iterate_phdr's callback: the object whose PT_LOAD holds s->ip. */
static int build_id_of_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct build_id_search *s = arg;
	if (info->dlpi_name && strncmp(info->dlpi_name, "linux-vdso", 10) == 0)
		return 0;   /* no file behind it: the kernel's build_id_parse() fails too */
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t start = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type != PT_LOAD || s->ip - start >= ph->p_memsz)
			continue;
		if (!object_build_id(info, s->out->build_id))
			return 1;
		s->out->status = BPF_STACK_BUILD_ID_VALID;
		s->out->offset = ph->p_offset + (s->ip - start);
		s->found = true;
		return 1;
	}
	return 0;
}

/* stack_map_get_build_id_offset(): each address as a build id record. */
static void build_id_records(const uint64_t *ips, uint32_t nr, struct bpf_stack_build_id *out)
{
	for (uint32_t i = 0; i < nr; i++) {
		memset(&out[i], 0, sizeof out[i]);
		struct build_id_search s = { .ip = ips[i], .out = &out[i] };
		dl_iterate_phdr(build_id_of_object, &s);
		if (!s.found) {
			memset(&out[i], 0, sizeof out[i]);
			out[i].status = BPF_STACK_BUILD_ID_IP;
			out[i].ip = ips[i];
		}
	}
}

/* ---- bpf_get_stack, bpf_get_stackid --------------------------------------- */

/* The user stack for a stack helper, skip frames kept (at most
 * `keep` + skip, within STACK_MAX_DEPTH); -EFAULT without registers. */
static long stack_for(bpfvm_run *run, const char *helper, uint64_t ctx, uint32_t keep, uint32_t skip,
                      uint64_t ips[STACK_MAX_DEPTH])
{
	bool at_entry;
	const struct pt_regs *regs = event_regs(run, helper, ctx, &at_entry);
	if (!regs)
		return run->status == RUN_OK ? -EFAULT : 0;
	uint32_t max = keep + skip < STACK_MAX_DEPTH ? keep + skip : STACK_MAX_DEPTH;
	return user_stack_walk(regs, at_entry, ips, max);
}

static uint64_t h_get_stack(uint64_t ctx, uint64_t buf, uint64_t size, uint64_t flags, uint64_t e, bpfvm_run *run)
{
	(void)e;
	if (!helper_check(run, "bpf_get_stack", buf, size, true))
		return 0;
	uint8_t *out = (uint8_t *)(uintptr_t)buf;
	bool build_id = flags & BPF_F_USER_BUILD_ID;
	uint32_t elem = build_id ? sizeof(struct bpf_stack_build_id) : 8u, skip = flags & BPF_F_SKIP_FIELD_MASK;
	long rc = -EINVAL;
	if ((flags & ~(BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_USER_BUILD_ID)) || size % elem ||
	    (build_id && !(flags & BPF_F_USER_STACK)))
		goto clear;
	rc = -EFAULT;          /* a kernel stack: none in user space */
	if (!(flags & BPF_F_USER_STACK))
		goto clear;
	uint64_t ips[STACK_MAX_DEPTH];
	uint32_t keep = (uint32_t)(size / elem < STACK_MAX_DEPTH ? size / elem : STACK_MAX_DEPTH);
	long nr = stack_for(run, "bpf_get_stack", ctx, keep, skip, ips);
	if (nr < 0 || (uint32_t)nr < skip || run->status != RUN_OK) {
		rc = nr < 0 ? nr : -EFAULT;
		goto clear;
	}
	uint32_t n = (uint32_t)nr - skip < keep ? (uint32_t)nr - skip : keep;
	if (build_id) {
		struct bpf_stack_build_id records[STACK_MAX_DEPTH];   /* buf may be unaligned */
		build_id_records(ips + skip, n, records);
		memcpy(out, records, (size_t)n * elem);
	} else {
		memcpy(out, ips + skip, (size_t)n * 8);
	}
	memset(out + (size_t)n * elem, 0, size - (size_t)n * elem);
	return (uint64_t)n * elem;
clear:
	memset(out, 0, size);
	return (uint64_t)rc;
}

static uint64_t h_get_stackid(uint64_t ctx, uint64_t map, uint64_t flags, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)d; (void)e;
	bpfvm_map *m = helper_map_arg(run, "bpf_get_stackid", map);
	if (!m)
		return 0;
	uint32_t skip = flags & BPF_F_SKIP_FIELD_MASK;
	if (flags & ~(BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP | BPF_F_REUSE_STACKID))
		return (uint64_t)-EINVAL;
	if (!(flags & BPF_F_USER_STACK))
		return (uint64_t)-EFAULT;   /* a kernel stack: none in user space */
	uint32_t keep = m->value_size / map_stack_trace_elem_size(m);
	uint64_t ips[STACK_MAX_DEPTH];
	long nr = stack_for(run, "bpf_get_stackid", ctx, keep, skip, ips);
	if (nr < 0 || run->status != RUN_OK)
		return (uint64_t)(nr < 0 ? nr : 0);
	if ((uint32_t)nr <= skip)
		return (uint64_t)-EFAULT;   /* skipping more than the stack has */
	uint32_t n = (uint32_t)nr - skip;
	uint32_t hash = jhash_words(ips + skip, n * 2, 0);
	if (map_stack_trace_elem_size(m) == 8)
		return (uint64_t)map_stack_trace_get_id(m, hash, ips + skip, n, flags);
	struct bpf_stack_build_id records[STACK_MAX_DEPTH];
	build_id_records(ips + skip, n, records);
	return (uint64_t)map_stack_trace_get_id(m, hash, records, n, flags);
}

/* ---- acting on the event ------------------------------------------------ */

/* bpf_send_signal_common(): at a hook the signal goes once the run is
 * over (a second one while one waits: -EBUSY, as the kernel's irq_work);
 * outside one, at once. */
static uint64_t send_signal(uint64_t sig, bool thread)
{
	if (getpid() == 1)
		return (uint64_t)-EPERM;   /* never init, as the kernel */
	if (sig > 64)
		return (uint64_t)-EINVAL;   /* the kernel's valid_signal(): up to its _NSIG, 64 */
	struct trace_ctx *t = trace_ctx_current();
	if (!t) {
		struct trace_ctx now = { .signal = (int)sig, .signal_thread = thread };
		return (uint64_t)(int64_t)trace_ctx_send_signal(&now);
	}
	if (t->signal)
		return (uint64_t)-EBUSY;
	t->signal = (int)sig;
	t->signal_thread = thread;
	return 0;
}

static uint64_t h_send_signal(uint64_t sig, uint64_t b, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)b; (void)c; (void)d; (void)e; (void)run;
	return send_signal(sig, false);
}

static uint64_t h_send_signal_thread(uint64_t sig, uint64_t b, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)b; (void)c; (void)d; (void)e; (void)run;
	return send_signal(sig, true);
}

/* The kernel lets kprobes on functions of its error-injection list make
 * the function return rc without running it; here function entry probes
 * (the hook says so with may_override) may.  Elsewhere, with no function
 * to skip (a test run, a return probe), -EINVAL. */
static uint64_t h_override_return(uint64_t ctx, uint64_t rc, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)ctx; (void)c; (void)d; (void)e; (void)run;
	struct trace_ctx *t = trace_ctx_current();
	if (!t || !t->may_override)
		return (uint64_t)-EINVAL;
	t->override = true;
	t->override_value = rc;
	if (t->regs)
		t->regs->rax = rc;   /* regs_set_return_value() */
	return 0;
}

/* ---- the descriptors ------------------------------------------------------ */

#define A(...) { __VA_ARGS__ }
#define DESC_RET(ID, FN, RET, ARGS, TYPES, GPL, ...) \
	{ .proto = { .id = BPF_FUNC_##ID, .name = "bpf_" #ID, .ret = RET, .args = ARGS, .gpl_only = GPL }, \
	  .fn = FN, .has_proto = true, .prog_types = TYPES, __VA_ARGS__ }
#define DESC(ID, FN, ARGS, TYPES, GPL, ...) \
	{ .proto = { .id = BPF_FUNC_##ID, .name = "bpf_" #ID, .ret = RET_INTEGER, .args = ARGS, .gpl_only = GPL }, \
	  .fn = FN, .has_proto = true, .prog_types = TYPES, __VA_ARGS__ }
#define KPROBE PROG_BIT(BPF_PROG_TYPE_KPROBE)

/* Prototypes, GPL-only and program types as the running kernel's
 * (tests/kernel/test_helper_types.c compares them on every run), but for
 * bpf_override_return, which bpfvm gives kprobe programs whatever the
 * kernel's CONFIG_BPF_KPROBE_OVERRIDE says. */
const struct helper_desc helper_descs_trace[] = {
	DESC(get_stackid, h_get_stackid, A(ARG_CTX, ARG_MAP, ARG_ANYTHING), PROGS_TRACING, true,
	     .map_kind = MAP_HELPER_STACKID, .map_types = MAP_TYPE_BIT(BPF_MAP_TYPE_STACK_TRACE)),
	DESC(override_return, h_override_return, A(ARG_CTX, ARG_ANYTHING), KPROBE, true),
	DESC_RET(get_stack, h_get_stack, RET_INTEGER_UPTO_SIZE, A(ARG_CTX, ARG_MEM_UNINIT, ARG_SIZE_OR_ZERO, ARG_ANYTHING),
	         PROGS_TRACING, true),
	/* every type: since 6.10 the kernel's bpf_base_func_proto gives them */
	DESC(send_signal, h_send_signal, A(ARG_ANYTHING), PROGS_ALL, false),
	DESC(send_signal_thread, h_send_signal_thread, A(ARG_ANYTHING), PROGS_ALL, false),
	DESC(get_func_ip, h_get_func_ip, A(ARG_CTX), PROGS_TRACING, false),
	DESC(get_attach_cookie, h_get_attach_cookie, A(ARG_CTX), PROGS_TRACING, false),
};
const size_t helper_descs_trace_count = sizeof helper_descs_trace / sizeof helper_descs_trace[0];
