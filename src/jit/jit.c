/*
 * jit.c - the architecture-neutral side of the JIT: executable memory,
 * entering compiled code, turning its faults into errors, the C slow
 * paths it calls, and the perf map.
 *
 * Owns: struct jit_code, and entering compiled code again from a helper
 * to run a callback (through the trampoline the translator emits, which
 * has the entry's frame, so faults unwind it the same way).  Code memory is written while read-write and then
 * made read-execute; it is never writable and executable at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "jit/jit_internal.h"
#include "jit/x86_64/emit.h"

struct jit_code {
	void *mem;           /* mmap'd, read-execute */
	size_t map_len;
	size_t code_len;
	size_t trampoline_off;    /* callback trampoline, if the program has callbacks */
	size_t *callback_off;     /* entry of each of prog->callbacks */
};

static void perf_map_add(const void *addr, size_t len, const char *name)
{
	char path[64];
	snprintf(path, sizeof path, "/tmp/perf-%d.map", (int)getpid());
	FILE *f = fopen(path, "a");
	if (!f)
		return;   /* profiling aid only: never a reason to fail a load */
	fprintf(f, "%lx %zx %s\n", (unsigned long)(uintptr_t)addr, len, name);
	fclose(f);
}

static int jit_compile(const bpfvm_program *prog, bpfvm_mode mode, struct jit_code **out, bpfvm_error *err)
{
#if !defined(__x86_64__)
	(void)prog; (void)mode; (void)out;
	return error_set(err, -ENOTSUP, -1, "JIT: only x86-64 is supported on this machine");
#else
	struct emit_buf b = { 0 };
	uint64_t seed = 0;
	if (prog->jit_harden && getrandom(&seed, sizeof seed, 0) != sizeof seed)
		seed = (uint64_t)(uintptr_t)&seed ^ (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL;
	size_t trampoline_off = 0;
	size_t *callback_off = calloc(prog->callback_count + 1, sizeof *callback_off);
	if (!callback_off)
		return error_set(err, -ENOMEM, -1, "JIT: out of memory");
	int rc = jit_translate(prog, mode == BPFVM_CHECKED, prog->jit_harden, seed, &b, &trampoline_off,
	                       callback_off, err);
	if (rc) {
		free(callback_off);
		return rc;
	}
	long page = sysconf(_SC_PAGESIZE);
	size_t map_len = (b.len + (size_t)page - 1) & ~((size_t)page - 1);
	void *mem = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		free(b.code);
		free(callback_off);
		return error_set(err, -ENOMEM, -1, "JIT: cannot map %zu bytes of code memory", map_len);
	}
	memcpy(mem, b.code, b.len);
	free(b.code);
	if (mprotect(mem, map_len, PROT_READ | PROT_EXEC)) {
		munmap(mem, map_len);
		free(callback_off);
		return error_set(err, -errno, -1, "JIT: cannot make code memory executable: %s", strerror(errno));
	}
	struct jit_code *code = malloc(sizeof *code);
	if (!code) {
		munmap(mem, map_len);
		free(callback_off);
		return error_set(err, -ENOMEM, -1, "JIT: out of memory");
	}
	code->mem = mem;
	code->map_len = map_len;
	code->code_len = b.len;
	code->trampoline_off = trampoline_off;
	code->callback_off = callback_off;
	if (prog->perf_name[0]) {
		char name[96];
		snprintf(name, sizeof name, "bpfvm:%s%s", prog->perf_name,
		         mode == BPFVM_CHECKED ? ":checked" : "");
		perf_map_add(mem, b.len, name);
	}
	*out = code;
	return 0;
#endif
}

static void jit_free(void *state)
{
	struct jit_code *code = state;
	if (!code)
		return;
	munmap(code->mem, code->map_len);
	free(code->callback_off);
	free(code);
}

const void *jit_code_bytes(const void *state, size_t *len)
{
	const struct jit_code *code = state;
	*len = code->code_len;
	return code->mem;
}

jit_entry_fn jit_code_entry(const void *state)
{
	const struct jit_code *code = state;
	return (jit_entry_fn)code->mem;
}

/* How compiled code left: a result, a stop, or a fault turned into an error. */
int jit_result(struct bpfvm_run *run, uint64_t result, uint64_t *r0, bpfvm_error *err)
{
	if (run->status == RUN_STOPPED || run->status == RUN_TAIL_CALL) {
		*r0 = run->stop_value;
		return 0;
	}
	if (run->status == RUN_ERROR) {
		/* from a callback: *err is already written */
		if (err->insn < 0)
			err->insn = run->fault_insn;
		return run->error_code;
	}
	int insn = run->fault_insn;
	switch (run->fault_kind) {
	case FAULT_NONE:
		*r0 = result;
		return 0;
	case FAULT_ACCESS:
		return error_set(err, -EFAULT, insn, "out-of-bounds %s of %u bytes at 0x%llx",
		                 run->fault_write ? "write" : "read", run->fault_size,
		                 (unsigned long long)run->fault_addr);
	case FAULT_MISALIGNED:
		return error_set(err, -EFAULT, insn, "misaligned atomic access of %u bytes at 0x%llx",
		                 run->fault_size, (unsigned long long)run->fault_addr);
	case FAULT_BUDGET:
		return error_set(err, -ELOOP, insn, "gave up after %llu backward jumps and calls (endless loop?)",
		                 (unsigned long long)run->opts->max_back_edges);
	case FAULT_DEPTH:
		return error_set(err, -E2BIG, insn, "local call nesting deeper than %u frames",
		                 BPFVM_MAX_CALL_DEPTH);
	case FAULT_CALLX:
		return error_set(err, -EINVAL, insn, "callx to unknown helper %llu",
		                 (unsigned long long)run->fault_addr);
	default:
		return error_set(err, -EFAULT, insn, "helper failed: %s", run->fail_msg);
	}
}

/* What only checked code reads: the budget of back edges, and the first
 * region's bounds, which it tests inline. */
static void checked_run_setup(struct bpfvm_run *run)
{
	const bpfvm_run_opts *o = run->opts;
	run->jit_budget = o->max_back_edges ? o->max_back_edges : UINT64_MAX;
	run->jit_region_base = 0;
	/* the first region is tested inline, unless it covers map storage,
	 * whose keys and lock words only run_access_ok keeps apart */
	const bpfvm_region *r = o->region_count ? &o->regions[0] : NULL;
	if (r && run_region_meets_maps(run, r))
		r = NULL;
	for (unsigned k = 0; k < 8; k++) {
		uint64_t size = 1u << (k & 3);
		bool usable = r && r->len >= size && (k < 4 || r->writable);
		run->jit_region_limit[k] = usable ? r->len - size + 1 : 0;
		if (r)
			run->jit_region_base = (uint64_t)(uintptr_t)r->base;
	}
}

static int jit_run(const bpfvm_program *prog, const void *state, struct bpfvm_run *run, uint64_t *r0,
                   bpfvm_error *err)
{
	(void)prog;
	const bpfvm_run_opts *o = run->opts;
	if (o->mode == BPFVM_CHECKED)
		checked_run_setup(run);
	jit_entry_fn entry = jit_code_entry(state);
	uint64_t result = entry(o->args[0], o->args[1], o->args[2], o->args[3], o->args[4], run);
	return jit_result(run, result, r0, err);
}

static int jit_call_callback(const bpfvm_program *prog, const void *state, struct bpfvm_run *run, size_t index,
                             const uint64_t args[5], uint64_t frame, uint64_t *r0, bpfvm_error *err)
{
	const struct jit_code *code = state;
	if (!code->trampoline_off)
		return error_set(err, -EFAULT, -1, "JIT: internal error: no callback trampoline");
	/* the trampoline records its own rsp for faults inside the callback;
	 * the caller's unwind point and call depth come back afterwards */
	uint64_t saved_rsp = run->jit_saved_rsp;
	uint32_t saved_depth = run->jit_depth;
	run->jit_depth = (uint32_t)(((uint64_t)(uintptr_t)(run->stack + RUN_STACK_BYTES) - frame) / BPFVM_STACK_SIZE);
	run->jit_cb_entry = (uint64_t)(uintptr_t)code->mem + code->callback_off[index];
	run->jit_cb_frame = frame;
	run->fault_kind = FAULT_NONE;
	jit_entry_fn trampoline = (jit_entry_fn)(void *)((uint8_t *)code->mem + code->trampoline_off);
	uint64_t result = trampoline(args[0], args[1], args[2], args[3], args[4], run);
	run->jit_saved_rsp = saved_rsp;
	run->jit_depth = saved_depth;
	(void)prog;
	return jit_result(run, result, r0, err);
}

uint64_t jit_access_check(struct bpfvm_run *run, uint64_t addr, uint64_t size_write)
{
	unsigned size = (unsigned)(size_write & 0xff);
	bool write = (size_write & 0x100) != 0;
	if (run_access_ok(run, addr, size, write))
		return 1;
	run->fault_addr = addr;
	run->fault_size = size;
	run->fault_write = write;
	return 0;
}

uint64_t jit_resolve_helper(struct bpfvm_run *run, uint64_t id, uint64_t unused)
{
	(void)unused;
	bpfvm_helper_fn fn = bpfvm_helpers_find(run->prog->helpers, (uint32_t)id, NULL);
	if (!fn || id > UINT32_MAX) {
		run->fault_addr = id;
		return 0;
	}
	return (uint64_t)(uintptr_t)fn;
}

uint64_t jit_packet_load(struct bpfvm_run *run, uint64_t offset, uint64_t size)
{
	const bpfvm_run_opts *o = run->opts;
	int64_t off = (int64_t)offset;
	if (!o->packet || off < 0 || (uint64_t)off + size > o->packet_len) {
		run->status = RUN_STOPPED;
		run->stop_value = 0;
		return 0;
	}
	const uint8_t *p = (const uint8_t *)o->packet + off;
	uint64_t v = 0;
	for (uint64_t i = 0; i < size; i++)
		v = v << 8 | p[i];
	return v;
}

static int jit_prepare(const bpfvm_program *prog, bpfvm_mode mode, void **state, bpfvm_error *err)
{
	struct jit_code *code = NULL;
	int rc = jit_compile(prog, mode, &code, err);
	*state = code;
	return rc;
}

const struct engine_ops engine_jit = {
	.name = "jit",
	.prepare = jit_prepare,
	.run = jit_run,
	.call_callback = jit_call_callback,
	.free_state = jit_free,
};
