/*
 * test_sleepable.c - sleepable programs and the map-value fields bpfvm
 * records but does not implement, where the kernel cannot be asked (its
 * rules are compared with the running kernel's by
 * tests/kernel/test_sleepable_kernel.c and the negative suite's
 * sleepable.c and timer_fields.c):
 *   - bpf_copy_from_user in both engines: the bytes, 0; an unmapped
 *     source: -EFAULT and the destination zeroed; size 0: nothing written;
 *     a load that is not sleepable refuses it;
 *   - the kfunc bpf_copy_from_user_str in both engines: the string's
 *     length with its NUL, cut to the buffer, padded with BPF_F_PAD_ZEROS;
 *     -EFAULT (the bytes before the fault kept, or all zeroed with the
 *     flag); -EINVAL for another flag; size 0; refused at load and by the
 *     verifier when the program is not sleepable;
 *   - sleepable fentry, fexit, fmod_ret and lsm programs refused as
 *     unsupported (bpfvm cannot tell whether their targets may sleep);
 *     a sleepable iter program accepted (vmlinux BTF needed, else skipped);
 *   - a call of a bpf_timer_* helper refused as unsupported;
 *   - bpfvm_map_fields: where a struct bpf_timer or bpf_wq may be, kept in
 *     the map (bpfvm_map_info) and in a pin's header, compared between an
 *     inner map and its template; user space's updates skip their bytes
 *     and its lookups read them as zeros, as the kernel's.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/btf.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/helpers.h"
#include "bpfvm/maps.h"
#include "bpfvm/verifier.h"
#include "helpers/kfunc_desc.h"
#include "support/check.h"
#include "support/prog_build.h"

static bpfvm_helpers *helpers;

/* r0 = helper(dst, size, src); exit. */
static struct prog read_prog(int32_t helper, void *dst, uint32_t size, uint64_t src)
{
	struct prog p = { .n = 0 };
	emit_imm64(&p, 1, (uint64_t)(uintptr_t)dst);
	emit(&p, insn(0xb7, 2, 0, 0, (int32_t)size));
	emit_imm64(&p, 3, src);
	emit(&p, insn(0x85, 0, 0, 0, helper));
	emit(&p, insn(0x95, 0, 0, 0, 0));
	return p;
}

/* r0 = bpf_copy_from_user(dst, size, src); exit. */
static struct prog copy_prog(void *dst, uint32_t size, uint64_t src)
{
	return read_prog(BPF_FUNC_copy_from_user, dst, size, src);
}

/* Loads p as a sleepable (or not) kprobe program; runs it unchecked (the
 * buffers are the test's) in engine e; r0, or 0xdead if it did not load. */
static uint64_t run_copy(const struct prog *p, bool sleepable, bpfvm_engine e, bpfvm_error *err)
{
	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = helpers, .jit = true, .prog_type = BPF_PROG_TYPE_KPROBE,
	           .sleepable = sleepable);
	bpfvm_program *prog = NULL;
	if (bpfvm_program_load(p->i, p->n, &lo, &prog, err))
		return 0xdead;
	uint8_t regs[168] = { 0 };   /* struct pt_regs */
	BPFVM_OPTS(bpfvm_test_run, t, .ctx_in = regs, .ctx_size_in = sizeof regs, .mode = BPFVM_UNCHECKED, .engine = e);
	int rc = bpfvm_program_test_run(prog, &t, err);
	CHECK(rc == 0, "test run: %s", err->msg);
	bpfvm_program_free(prog);
	return t.retval;
}

static void test_copy_from_user(void)
{
	static const char text[16] = "sleepable bytes";
	const bpfvm_engine engines[2] = { BPFVM_ENGINE_INTERP, BPFVM_ENGINE_JIT };
	for (int e = 0; e < 2; e++) {
		const char *name = e ? "jit" : "interp";
		bpfvm_error err = { 0 };
		char buf[16];
		memset(buf, 0x55, sizeof buf);
		struct prog good = copy_prog(buf, sizeof buf, (uint64_t)(uintptr_t)text);
		CHECK(run_copy(&good, true, engines[e], &err) == 0 && !memcmp(buf, text, sizeof buf),
		      "%s: the bytes copied, result 0 (%s)", name, err.msg);
		memset(buf, 0x55, sizeof buf);
		struct prog bad = copy_prog(buf, sizeof buf, 8);   /* the first page is never mapped */
		static const char zeros[16];
		CHECK((int64_t)run_copy(&bad, true, engines[e], &err) == -EFAULT && !memcmp(buf, zeros, sizeof buf),
		      "%s: an unmapped source: -EFAULT and the buffer zeroed (%s)", name, err.msg);
		/* the end of what may be read (the next page is PROT_NONE, not
		 * unmapped: the JIT's code could take an unmapped page): the first
		 * 4 bytes readable, the next 4 not; the kernel's copy fails whole,
		 * the buffer zeroed */
		long page = sysconf(_SC_PAGESIZE);
		char *two = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (CHECK(two != MAP_FAILED, "mmap") && CHECK(mprotect(two + page, (size_t)page, PROT_NONE) == 0, "mprotect")) {
			memset(two, 'x', (size_t)page);
			memset(buf, 0x55, sizeof buf);
			struct prog partial = copy_prog(buf, 8, (uint64_t)(uintptr_t)(two + page - 4));
			CHECK((int64_t)run_copy(&partial, true, engines[e], &err) == -EFAULT && !memcmp(buf, zeros, 8) &&
			      (uint8_t)buf[8] == 0x55, "%s: 4 of 8 bytes readable: -EFAULT, the 8 zeroed, no more (%s)",
			      name, err.msg);
			munmap(two, 2 * (size_t)page);
		}
		memset(buf, 0x55, sizeof buf);
		struct prog none = copy_prog(buf, 0, 8);
		CHECK(run_copy(&none, true, engines[e], &err) == 0 && (uint8_t)buf[0] == 0x55,
		      "%s: size 0: result 0, nothing written (%s)", name, err.msg);
		CHECK(run_copy(&good, false, engines[e], &err) == 0xdead && strstr(err.msg, "might sleep") &&
		      strstr(err.msg, "bpf_copy_from_user"), "%s: not sleepable: refused at load ('%s')", name, err.msg);
	}
}

/* r0 = bpf_copy_from_user_str(dst, size, src, flags); exit. */
static struct prog copy_str_prog(void *dst, uint32_t size, uint64_t src, int32_t flags)
{
	struct prog p = { .n = 0 };
	emit_imm64(&p, 1, (uint64_t)(uintptr_t)dst);
	emit(&p, insn(0xb7, 2, 0, 0, (int32_t)size));
	emit_imm64(&p, 3, src);
	emit(&p, insn(0xb7, 4, 0, 0, flags));
	emit(&p, insn(0x85, 0, BPF_PSEUDO_KFUNC_CALL, 0, KFUNC_COPY_FROM_USER_STR));
	emit(&p, insn(0x95, 0, 0, 0, 0));
	return p;
}

static void test_copy_from_user_str(void)
{
	static const char text[] = "sleepable";   /* 9 bytes and a NUL */
	const bpfvm_engine engines[2] = { BPFVM_ENGINE_INTERP, BPFVM_ENGINE_JIT };
	long page = sysconf(_SC_PAGESIZE);
	char *two = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!CHECK(two != MAP_FAILED, "mmap") || !CHECK(mprotect(two + page, (size_t)page, PROT_NONE) == 0, "mprotect"))
		return;
	/* "abc" and no NUL before the page that cannot be read */
	memcpy(two + page - 3, "abc", 3);
	uint64_t at_end = (uint64_t)(uintptr_t)(two + page - 3), src = (uint64_t)(uintptr_t)text;
	for (int e = 0; e < 2; e++) {
		const char *name = e ? "jit" : "interp";
		bpfvm_error err = { 0 };
		char buf[16];
		struct prog p;
		memset(buf, 0x55, sizeof buf);
		p = copy_str_prog(buf, sizeof buf, src, 0);
		CHECK(run_copy(&p, true, engines[e], &err) == 10 && !memcmp(buf, text, 10) && (uint8_t)buf[10] == 0x55,
		      "%s: the string and its NUL, 10, nothing after (%s)", name, err.msg);
		memset(buf, 0x55, sizeof buf);
		p = copy_str_prog(buf, 5, src, 0);
		CHECK(run_copy(&p, true, engines[e], &err) == 5 && !memcmp(buf, "slee", 5) && (uint8_t)buf[5] == 0x55,
		      "%s: cut to 4 bytes and a NUL, 5 (%s)", name, err.msg);
		memset(buf, 0x55, sizeof buf);
		p = copy_str_prog(buf, sizeof buf, src, 1);   /* BPF_F_PAD_ZEROS */
		static const char padded[16] = "sleepable";
		CHECK(run_copy(&p, true, engines[e], &err) == 10 && !memcmp(buf, padded, sizeof buf),
		      "%s: BPF_F_PAD_ZEROS: the rest zeroed (%s)", name, err.msg);
		memset(buf, 0x55, sizeof buf);
		p = copy_str_prog(buf, sizeof buf, at_end, 0);
		CHECK((int64_t)run_copy(&p, true, engines[e], &err) == -EFAULT && !memcmp(buf, "abc", 3) &&
		      (uint8_t)buf[3] == 0x55, "%s: a fault after 3 bytes: -EFAULT, the 3 bytes kept (%s)", name, err.msg);
		memset(buf, 0x55, sizeof buf);
		p = copy_str_prog(buf, sizeof buf, at_end, 1);
		static const char zeros[16];
		CHECK((int64_t)run_copy(&p, true, engines[e], &err) == -EFAULT && !memcmp(buf, zeros, sizeof buf),
		      "%s: a fault with BPF_F_PAD_ZEROS: -EFAULT, all zeroed (%s)", name, err.msg);
		memset(buf, 0x55, sizeof buf);
		p = copy_str_prog(buf, sizeof buf, src, 2);
		CHECK((int64_t)run_copy(&p, true, engines[e], &err) == -EINVAL && (uint8_t)buf[0] == 0x55,
		      "%s: an unknown flag: -EINVAL, nothing written (%s)", name, err.msg);
		p = copy_str_prog(buf, 0, src, 0);
		CHECK(run_copy(&p, true, engines[e], &err) == 0 && (uint8_t)buf[0] == 0x55,
		      "%s: size 0: result 0, nothing written (%s)", name, err.msg);
		p = copy_str_prog(buf, sizeof buf, src, 0);
		CHECK(run_copy(&p, false, engines[e], &err) == 0xdead && strstr(err.msg, "bpf_copy_from_user_str") &&
		      strstr(err.msg, "might sleep"), "%s: not sleepable: refused at load ('%s')", name, err.msg);
	}
	/* bpf_probe_read_user_str reads the string the same way: the
	 * length with the NUL, cut to the buffer; a fault: -EFAULT, dst[0]
	 * zeroed */
	for (int e = 0; e < 2; e++) {
		bpfvm_error err = { 0 };
		char buf[16];
		struct prog p;
		memset(buf, 0x55, sizeof buf);
		p = read_prog(BPF_FUNC_probe_read_user_str, buf, 5, src);
		CHECK(run_copy(&p, false, engines[e], &err) == 5 && !memcmp(buf, "slee", 5) && (uint8_t)buf[5] == 0x55,
		      "probe_read_user_str %d: cut to 4 bytes and a NUL (%s)", e, err.msg);
		memset(buf, 0x55, sizeof buf);
		p = read_prog(BPF_FUNC_probe_read_user_str, buf, sizeof buf, at_end);
		CHECK((int64_t)run_copy(&p, false, engines[e], &err) == -EFAULT && buf[0] == 0 && buf[1] == 'b',
		      "probe_read_user_str %d: a fault: -EFAULT, dst[0] zeroed (%s)", e, err.msg);
	}
	/* the verifier: on a stack buffer, sleepable or not */
	const bpfvm_insn on_stack[] = {
		insn(0xbf, 1, 10, 0, 0), insn(0x07, 1, 0, 0, -16), insn(0xb7, 2, 0, 0, 16), insn(0xb7, 3, 0, 0, 0),
		insn(0xb7, 4, 0, 0, 0), insn(0x85, 0, BPF_PSEUDO_KFUNC_CALL, 0, KFUNC_COPY_FROM_USER_STR),
		insn(0x95, 0, 0, 0, 0),
	};
	bpfvm_error err = { 0 };
	BPFVM_OPTS(bpfvm_verify_opts, vo, .prog_type = BPF_PROG_TYPE_KPROBE, .helpers = helpers, .sleepable = true,
	           .license = "GPL");
	CHECK(bpfvm_verify(on_stack, 7, &vo, NULL, &err) == 0, "verify, sleepable: %s", err.msg);
	vo.sleepable = false;
	CHECK(bpfvm_verify(on_stack, 7, &vo, NULL, &err) != 0 &&
	      strstr(err.msg, "program must be sleepable to call sleepable kfunc bpf_copy_from_user_str"),
	      "verify, not sleepable: '%s'", err.msg);
	munmap(two, 2 * (size_t)page);
}

#define NO_TARGET 1   /* not an errno: the target is not in this BTF */

/* bpfvm_verify of `r0 = 0; exit` as a BTF-typed program attached to
 * func (a FUNC of btf); NO_TARGET without it. */
static int verify_btf_prog(const struct btf *btf, const char *func, uint32_t type, uint32_t attach, bool sleepable,
                           bpfvm_error *err)
{
	int id = btf__find_by_name_kind(btf, func, BTF_KIND_FUNC);
	if (id <= 0)
		return NO_TARGET;
	const struct btf_type *f = btf__type_by_id(btf, (uint32_t)id);
	const bpfvm_insn prog[] = { insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0) };
	BPFVM_OPTS(bpfvm_verify_opts, vo, .prog_type = type, .helpers = helpers, .attach_btf = btf,
	           .attach_func_proto = f->type, .expected_attach_type = attach, .attach_name = func,
	           .sleepable = sleepable, .license = "GPL");
	return bpfvm_verify(prog, 2, &vo, NULL, err);
}

static void test_btf_types(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		printf("skipped: sleepable fentry/lsm/iter: no vmlinux BTF (%s)\n", strerror(errno));
		return;
	}
	bpfvm_error err = { 0 };
	static const struct {
		const char *func;
		uint32_t type, attach;
		bool supported;   /* false: refused as unsupported when sleepable */
	} cases[] = {
		{ "__x64_sys_getpgid", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, false },
		{ "__x64_sys_getpgid", BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT, false },
		{ "__x64_sys_getpgid", BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, false },
		{ "bpf_lsm_file_open", BPF_PROG_TYPE_LSM, BPF_LSM_MAC, false },
		{ "bpf_iter_task", BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, true },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int plain = verify_btf_prog(vmlinux, cases[i].func, cases[i].type, cases[i].attach, false, &err);
		if (plain == NO_TARGET) {
			printf("skipped: %s is not in this kernel's BTF\n", cases[i].func);
			continue;
		}
		CHECK(plain == 0, "%s (type %u/%u) not sleepable: accepted: %s", cases[i].func, cases[i].type,
		      cases[i].attach, err.msg);
		int rc = verify_btf_prog(vmlinux, cases[i].func, cases[i].type, cases[i].attach, true, &err);
		if (cases[i].supported)
			CHECK(rc == 0, "%s sleepable: accepted: %s", cases[i].func, err.msg);
		else
			CHECK(rc == -ENOTSUP && strstr(err.msg, "unsupported: a sleepable") && strstr(err.msg, cases[i].func),
			      "%s sleepable: unsupported, naming it: %d '%s'", cases[i].func, rc, err.msg);
	}
	btf__free(vmlinux);
}

static void test_timer_helpers_unsupported(void)
{
	/* r1..r3 set, call bpf_timer_init (169): the verifier refuses it as a
	 * helper bpfvm does not implement, before the walk */
	const bpfvm_insn prog[] = { insn(0xb7, 1, 0, 0, 0), insn(0xb7, 2, 0, 0, 0), insn(0xb7, 3, 0, 0, 1),
	                            insn(0x85, 0, 0, 0, BPF_FUNC_timer_init), insn(0x95, 0, 0, 0, 0) };
	bpfvm_error err = { 0 };
	BPFVM_OPTS(bpfvm_verify_opts, vo, .prog_type = BPF_PROG_TYPE_XDP, .helpers = helpers);
	int rc = bpfvm_verify(prog, 5, &vo, NULL, &err);
	CHECK(rc == -ENOTSUP && strstr(err.msg, "unsupported: helper #169 is not implemented"),
	      "bpf_timer_init: unsupported: %d '%s'", rc, err.msg);
}

static int make_map(uint32_t type, uint32_t value_size, int32_t lock, int32_t timer, int32_t wq, bpfvm_map **out,
                    bpfvm_error *err)
{
	bpfvm_map_fields f = { .timer_off = timer, .wq_off = wq };
	bpfvm_map_def d = BPFVM_MAP_DEF_INIT;
	d.type = type;
	d.key_size = 4;
	d.value_size = value_size;
	d.max_entries = 2;
	d.spin_lock_off = lock;
	d.fields = &f;
	*out = NULL;
	return bpfvm_map_create(&d, out, err);
}

/* An update from user space writes none of the special fields' bytes,
 * and a lookup reads them as zeros, as the kernel's copy_map_value() and
 * check_and_init_map_value(); every other byte goes and comes back. */
static void check_fields_not_copied(bpfvm_map *m, uint32_t value_size, int32_t lock, int32_t timer, int32_t wq,
                                    const char *what)
{
	uint8_t in[64], out[64], want[64];
	bpfvm_error err = { 0 };
	uint32_t key = 1;
	for (uint32_t b = 0; b < value_size; b++)
		in[b] = want[b] = (uint8_t)(0xa0 + b);
	const int32_t offs[3] = { lock, timer, wq }, sizes[3] = { 4, 16, 16 };
	for (int f = 0; f < 3; f++)
		if (offs[f] >= 0)
			memset(want + offs[f], 0, (size_t)sizes[f]);
	if (!CHECK(bpfvm_map_update(m, &key, in, BPFVM_ANY, &err) == 0, "%s: update: %s", what, err.msg))
		return;
	memset(out, 0x55, sizeof out);
	CHECK(bpfvm_map_lookup(m, &key, out, 0, &err) == 0 && !memcmp(out, want, value_size),
	      "%s: the fields' bytes are zeros in a lookup, the others the update's", what);
	/* the fields' bytes in the map itself were not written either */
	const uint8_t *value = bpfvm_map_lookup_elem(m, &key);
	if (CHECK(value != NULL, "%s: no element", what)) {
		bool untouched = true;
		for (int f = 1; f < 3; f++)
			for (int32_t b = 0; offs[f] >= 0 && b < sizes[f]; b++)
				untouched &= value[offs[f] + b] == 0;
		CHECK(untouched, "%s: the map's own timer/wq bytes were written", what);
	}
}

static void test_map_fields(void)
{
	bpfvm_error err = { 0 };
	bpfvm_map *m = NULL;
	static const struct {
		uint32_t type, value_size;
		int32_t lock, timer, wq;
		int rc;
		const char *what;
	} cases[] = {
		{ BPFVM_MAP_TYPE_ARRAY, 32, -1, 8, -1, 0, "a timer in an array" },
		{ BPFVM_MAP_TYPE_HASH, 40, 0, 8, 24, 0, "a lock, a timer and a wq in a hash" },
		{ BPFVM_MAP_TYPE_LRU_HASH, 16, -1, -1, 0, 0, "a wq in an LRU hash" },
		{ BPFVM_MAP_TYPE_PERCPU_ARRAY, 16, -1, 0, -1, -EOPNOTSUPP, "a timer in a per-CPU array" },
		{ BPFVM_MAP_TYPE_ARRAY, 32, -1, 4, -1, -EINVAL, "a timer not 8-aligned" },
		{ BPFVM_MAP_TYPE_ARRAY, 20, -1, 8, -1, -EINVAL, "a timer past the value" },
		{ BPFVM_MAP_TYPE_ARRAY, 32, 8, 8, -1, -EINVAL, "a timer over the lock" },
		{ BPFVM_MAP_TYPE_ARRAY, 32, -1, 8, 16, -EINVAL, "a timer over the wq" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = make_map(cases[i].type, cases[i].value_size, cases[i].lock, cases[i].timer, cases[i].wq, &m, &err);
		CHECK(rc == cases[i].rc, "%s: %d, expected %d (%s)", cases[i].what, rc, cases[i].rc, rc ? err.msg : "");
		if (!rc) {
			bpfvm_map_info info;
			bpfvm_map_info_get(m, &info);
			CHECK(info.timer_off == cases[i].timer && info.wq_off == cases[i].wq, "%s: info %d/%d", cases[i].what,
			      info.timer_off, info.wq_off);
			check_fields_not_copied(m, cases[i].value_size, cases[i].lock, cases[i].timer, cases[i].wq,
			                        cases[i].what);
		}
		bpfvm_map_put(m);
	}
	/* no fields: none (a definition that predates them) */
	bpfvm_map_def d = BPFVM_MAP_DEF_INIT;
	d.type = BPFVM_MAP_TYPE_ARRAY;
	d.key_size = 4;
	d.value_size = 32;
	d.max_entries = 1;
	if (CHECK(bpfvm_map_create(&d, &m, &err) == 0, "plain array: %s", err.msg)) {
		bpfvm_map_info info;
		bpfvm_map_info_get(m, &info);
		CHECK(info.timer_off == -1 && info.wq_off == -1, "no fields: -1/-1, got %d/%d", info.timer_off, info.wq_off);
		bpfvm_map_put(m);
	}
	/* an inner map must have its template's fields */
	bpfvm_map *tmpl = NULL, *same = NULL, *other = NULL, *outer = NULL;
	if (make_map(BPFVM_MAP_TYPE_ARRAY, 32, -1, 8, -1, &tmpl, &err) == 0 &&
	    make_map(BPFVM_MAP_TYPE_ARRAY, 32, -1, 8, -1, &same, &err) == 0 &&
	    make_map(BPFVM_MAP_TYPE_ARRAY, 32, -1, 16, -1, &other, &err) == 0) {
		bpfvm_map_def od = BPFVM_MAP_DEF_INIT;
		od.type = BPFVM_MAP_TYPE_ARRAY_OF_MAPS;
		od.key_size = 4;
		od.value_size = 4;
		od.max_entries = 2;
		od.inner = tmpl;
		if (CHECK(bpfvm_map_create(&od, &outer, &err) == 0, "outer: %s", err.msg)) {
			uint32_t k0 = 0, k1 = 1;
			CHECK(bpfvm_map_set_inner(outer, &k0, same, 0, &err) == 0, "same timer: %s", err.msg);
			CHECK(bpfvm_map_set_inner(outer, &k1, other, 0, &err) != 0 && strstr(err.msg, "bpf_timer differs"),
			      "a timer elsewhere: refused: '%s'", err.msg);
		}
	} else {
		CHECK(false, "maps: %s", err.msg);
	}
	bpfvm_map_put(outer);
	bpfvm_map_put(tmpl);
	bpfvm_map_put(same);
	bpfvm_map_put(other);
}

int main(void)
{
	bpfvm_error err = { 0 };
	helpers = bpfvm_helpers_new_kernel(&err);
	if (!CHECK(helpers != NULL, "helpers: %s", err.msg))
		return check_summary();
	test_copy_from_user();
	test_copy_from_user_str();
	test_btf_types();
	test_timer_helpers_unsupported();
	test_map_fields();
	bpfvm_helpers_free(helpers);
	return check_summary();
}
