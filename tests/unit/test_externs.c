/*
 * test_externs.c - externs (the objects of tests/externs/): __kconfig values laid out
 * in the read-only .kconfig map from the caller's Kconfig text and the
 * running kernel's, libbpf's typing rules and their errors, weak and
 * strong __ksym variables, kfunc calls bound by name (an unknown one
 * refused by name, a weak one left unresolved); and maps the
 * loader sizes (bpfvm_object_map_set_*, max_entries 0 left unset).
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "bpfvm/instance.h"
#include "support/check.h"

#ifndef BPFVM_TEST_EXTERNS_DIR
#define BPFVM_TEST_EXTERNS_DIR "build/tests/externs"
#endif

#define KCONFIG_TEXT                                                                      \
	"# a comment line\n"                                                              \
	"CONFIG_BPFVM_TEST_TRI=m\n"                                                       \
	"CONFIG_BPFVM_TEST_CHAR=65\n"                                                     \
	"CONFIG_BPFVM_TEST_STR=\"hello world\"\n"                                         \
	"CONFIG_BPFVM_TEST_U64=0x100000000\n"                                             \
	"CONFIG_BPFVM_TEST_S16=-2\n"                                                      \
	"CONFIG_BPFVM_TEST_U8=255\n"                                                      \
	"CONFIG_BPFVM_TEST_BOOL=y\n"

static int open_obj(const char *name, const char *kconfig, bpfvm_object **obj, bpfvm_error *err)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s.bpf.o", BPFVM_TEST_EXTERNS_DIR, name);
	BPFVM_OPTS(bpfvm_object_open_opts, oo, .kconfig = kconfig);
	memset(err, 0, sizeof *err);
	return bpfvm_object_open_file(path, &oo, obj, err);
}

/* Runs program 0 of obj over a 64-byte packet; r0, or -1. */
static int64_t run_obj(bpfvm_object *obj, bpfvm_instance **inst, bpfvm_error *err)
{
	BPFVM_OPTS(bpfvm_instance_opts, io, .verify = true, .no_pins = true);
	if (bpfvm_instance_new(obj, &io, inst, err))
		return -1;
	static uint8_t pkt[64], out[64 + 4096];
	BPFVM_OPTS(bpfvm_test_run, t, .data_in = pkt, .data_size_in = sizeof pkt, .data_out = out,
	           .data_size_out = sizeof out, .mode = BPFVM_CHECKED);
	size_t nr;
	t.regions = bpfvm_instance_regions(*inst, &nr);
	t.region_count = nr;
	if (bpfvm_program_test_run(bpfvm_instance_prog(*inst, 0), &t, err))
		return -1;
	return (int64_t)t.retval;
}

struct results {
	uint64_t version, not_virtual, bpf_syscall, tri, chr, u64, s16, u8, boolean, missing;
	char str[8];
};

static void test_kconfig_values(void)
{
	bpfvm_object *obj = NULL;
	bpfvm_error err;
	if (!CHECK(open_obj("kconfig", KCONFIG_TEXT, &obj, &err) == 0, "open kconfig: %s", err.msg))
		return;
	int km = bpfvm_object_find_map(obj, "kconfig.kconfig");
	CHECK(km >= 0, "no map kconfig.kconfig");
	if (km >= 0) {
		const bpfvm_object_map *m = bpfvm_object_map_at(obj, (size_t)km);
		CHECK(m->origin == BPFVM_MAP_KCONFIG && (m->attrs.flags & BPF_F_RDONLY_PROG) && m->attrs.max_entries == 1,
		      "the .kconfig map: origin %d flags %#x", m->origin, m->attrs.flags);
		/* libbpf's layout: by alignment (8, 4, 2, 1), then size: the
		 * u64, four 4-byte ones, the short, four 1-byte ones, char[8] */
		CHECK(m->attrs.value_size == 8 + 4 * 4 + 2 + 4 * 1 + 8, "value size %u", m->attrs.value_size);
	}
	bpfvm_instance *inst = NULL;
	int64_t r = run_obj(obj, &inst, &err);
	CHECK(r == 2, "xdp read_kconfig: r0 %" PRId64 " (%s)", r, err.msg);
	int bss = bpfvm_object_find_map(obj, "kconfig.bss");
	struct results res = { 0 };
	uint32_t zero = 0;
	if (inst && bss >= 0)
		bpfvm_map_lookup(bpfvm_instance_map(inst, (size_t)bss), &zero, &res, 0, &err);
	struct utsname u;
	unsigned a = 0, b = 0, c = 0;
	uname(&u);
	sscanf(u.release, "%u.%u.%u", &a, &b, &c);
	CHECK(res.version == (a << 16) + (b << 8) + (c > 255 ? 255 : c), "LINUX_KERNEL_VERSION %#" PRIx64,
	      res.version);
	CHECK(res.not_virtual == 0, "an unknown weak LINUX_ extern: %" PRIu64, res.not_virtual);
	CHECK(res.tri == 2 && res.chr == 65 && res.u64 == 0x100000000ull && res.s16 == (uint64_t)-2 &&
	      res.u8 == 255 && res.boolean == 1 && res.missing == 0,
	      "values tri %" PRIu64 " char %" PRIu64 " u64 %#" PRIx64 " s16 %#" PRIx64 " u8 %" PRIu64 " bool %" PRIu64
	      " missing %" PRIu64, res.tri, res.chr, res.u64, res.s16, res.u8, res.boolean, res.missing);
	CHECK(!memcmp(res.str, "hello w", 8), "string truncated to its array: '%.8s'", res.str);
	bpfvm_instance_free(inst);
	bpfvm_object_free(obj);
}

/* Values libbpf refuses: each an error naming the extern. */
static void test_kconfig_errors(void)
{
	static const struct { const char *text, *needle; int rc; } cases[] = {
		{ "CONFIG_BPFVM_TEST_BOOL=m\n", "'CONFIG_BPFVM_TEST_BOOL': value 'm' implies tristate", -EINVAL },
		{ "CONFIG_BPFVM_TEST_BOOL=2\n", "'CONFIG_BPFVM_TEST_BOOL': value '2' implies integer type", -EINVAL },
		{ "CONFIG_BPFVM_TEST_U8=256\n", "'CONFIG_BPFVM_TEST_U8': value '256' doesn't fit in 1 bytes", -ERANGE },
		{ "CONFIG_BPFVM_TEST_S16=40000\n", "'CONFIG_BPFVM_TEST_S16': value '40000' doesn't fit", -ERANGE },
		{ "CONFIG_BPFVM_TEST_U64=12x\n", "'CONFIG_BPFVM_TEST_U64': value '12x' isn't a valid integer", -EINVAL },
		{ "CONFIG_BPFVM_TEST_STR=y\n", "'CONFIG_BPFVM_TEST_STR': value 'y' implies bool", -EINVAL },
		{ "CONFIG_BPFVM_TEST_TRI=\"x\"\n", "'CONFIG_BPFVM_TEST_TRI': value '\"x\"' implies char array", -EINVAL },
		{ "CONFIG_BPFVM_TEST_STR=\"\n", "'CONFIG_BPFVM_TEST_STR': invalid string config", -EINVAL },
		{ "CONFIG_BPFVM_TEST_U8\n", "no separator", -EINVAL },
		{ "CONFIG_BPFVM_TEST_U8=\n", "no value", -EINVAL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bpfvm_object *obj = NULL;
		bpfvm_error err;
		int rc = open_obj("kconfig", cases[i].text, &obj, &err);
		CHECK(rc == cases[i].rc && strstr(err.msg, cases[i].needle), "'%s': rc %d, '%s' (want %d, '%s')",
		      cases[i].text, rc, err.msg, cases[i].rc, cases[i].needle);
		bpfvm_object_free(obj);
	}
}

/* Loading program prog of object name (NULL: all) with verification is
 * refused as unsupported, with a message holding want. */
static void expect_unsupported(const char *name, const char *prog, const char *want)
{
	bpfvm_object *obj = NULL;
	bpfvm_instance *inst = NULL;
	bpfvm_error err;
	if (!CHECK(open_obj(name, NULL, &obj, &err) == 0, "open %s: %s", name, err.msg))
		return;
	BPFVM_OPTS(bpfvm_instance_opts, io, .verify = true, .no_pins = true, .only_prog = prog);
	int rc = bpfvm_instance_new(obj, &io, &inst, &err);
	CHECK(rc == -ENOTSUP && strstr(err.msg, want), "%s %s: %d '%s'", name, prog ? prog : "", rc, err.msg);
	bpfvm_instance_free(inst);
	bpfvm_object_free(obj);
}

static void test_ksyms(void)
{
	bpfvm_object *obj = NULL;
	bpfvm_error err;
	bpfvm_instance *inst = NULL;
	if (CHECK(open_obj("ksym_weak", NULL, &obj, &err) == 0, "open ksym_weak: %s", err.msg)) {
		int64_t r = run_obj(obj, &inst, &err);
		CHECK(r == 40, "weak ksyms absent, LINUX_HAS_* 0: r0 %" PRId64 " (%s)", r, err.msg);
	}
	bpfvm_instance_free(inst);
	bpfvm_object_free(obj);
	obj = NULL;
	int rc = open_obj("ksym_strong", NULL, &obj, &err);
	CHECK(rc == -ESRCH && strstr(err.msg, "extern 'bpf_prog_active' (__ksym, strong)"), "strong ksym: %d '%s'", rc,
	      err.msg);
	bpfvm_object_free(obj);

	/* kfuncs: the object opens, the call names its extern; loading binds
	 * it to bpfvm's kfunc of that name, and the program runs */
	obj = NULL;
	if (!CHECK(open_obj("kfunc_iter", NULL, &obj, &err) == 0, "open kfunc_iter: %s", err.msg))
		return;
	const bpfvm_object_prog *p = bpfvm_object_prog_at(obj, 0);
	int kcalls = 0;
	for (size_t pc = 0; pc < p->insn_count; pc++)
		if (p->insns[pc].opcode == 0x85 && p->insns[pc].src == BPFVM_PSEUDO_KFUNC_CALL) {
			bool weak = true;
			const char *name = bpfvm_object_kfunc_name(obj, (uint32_t)p->insns[pc].imm, &weak);
			CHECK(name && !strncmp(name, "bpf_iter_num_", 13) && !weak, "kfunc call %zu names '%s'", pc,
			      name ? name : "(null)");
			kcalls++;
		}
	CHECK(kcalls == 4, "%d kfunc calls (want new, next twice, destroy)", kcalls);
	inst = NULL;
	int64_t sum = run_obj(obj, &inst, &err);
	CHECK(sum == 45, "kfunc_iter: the sum of 0..9 is %lld (%s)", (long long)sum, err.msg);
	bpfvm_instance_free(inst);
	bpfvm_object_free(obj);

	/* a kfunc bpfvm does not provide is refused by name at load */
	expect_unsupported("kfunc_unknown", NULL, "calls kfunc 'bpf_kfunc_bpfvm_lacks', which bpfvm does not provide");

	/* a weak one is left unresolved (ID 0), as libbpf leaves it: a call
	 * a read-only setting turns off is never walked nor run */
	obj = NULL;
	inst = NULL;
	if (!CHECK(open_obj("kfunc_weak", NULL, &obj, &err) == 0, "open kfunc_weak: %s", err.msg))
		return;
	int64_t r = run_obj(obj, &inst, &err);
	CHECK(r == 7, "kfunc_weak: %lld (%s)", (long long)r, err.msg);
	bpfvm_instance_free(inst);
	bpfvm_object_free(obj);

	/* bpf_rdonly_cast: runs as a move; an access through its result and a
	 * cast to void are unsupported */
	obj = NULL;
	inst = NULL;
	if (!CHECK(open_obj("kfunc_rdonly_cast", NULL, &obj, &err) == 0, "open kfunc_rdonly_cast: %s", err.msg))
		return;
	BPFVM_OPTS(bpfvm_instance_opts, only_cast, .verify = true, .no_pins = true, .only_prog = "cast_len",
	           .jit = true);
	if (CHECK(bpfvm_instance_new(obj, &only_cast, &inst, &err) == 0, "cast_len: %s", err.msg)) {
		for (int jit = 0; jit < 2; jit++) {
			uint8_t mem[8];
			BPFVM_OPTS(bpfvm_run_opts, ro, .args = { (uint64_t)(uintptr_t)mem, 12345 },
			           .mode = BPFVM_UNCHECKED, .engine = jit ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP);
			uint64_t r0 = 0;
			int run_rc = bpfvm_program_run(bpfvm_instance_prog(inst, 0), &ro, &r0, &err);
			CHECK(run_rc == 0 && r0 == 12345, "cast_len (%s): rc %d, r0 %llu: %s", jit ? "jit" : "interp",
			      run_rc, (unsigned long long)r0, err.msg);
		}
	}
	bpfvm_instance_free(inst);
	bpfvm_object_free(obj);
	expect_unsupported("kfunc_rdonly_cast", "read_through_cast",
	                   "insn 3: r0 = *(u32 *)(r0 + 0) (kfunc_rdonly_cast.c:21): unsupported: R0 is an untrusted "
	                   "pointer (bpf_rdonly_cast's)");
	expect_unsupported("kfunc_rdonly_cast", "cast_to_void", "unsupported: bpf_rdonly_cast to void");

	/* a weak kfunc bpfvm does not provide, called where a path reaches:
	 * unsupported, by the kfunc's name */
	expect_unsupported("kfunc_weak_reached", NULL,
	                   "insn 1: call kernel-function#0 (kfunc_weak_reached.c:12): unsupported: kfunc "
	                   "bpf_weak_kfunc_bpfvm_lacks is not provided by bpfvm");
}

static void test_map_sizes(void)
{
	bpfvm_object *obj = NULL;
	bpfvm_error err;
	if (!CHECK(open_obj("map_sizes", NULL, &obj, &err) == 0, "open map_sizes: %s", err.msg))
		return;
	bpfvm_instance *inst = NULL;
	BPFVM_OPTS(bpfvm_instance_opts, io, .verify = true, .no_pins = true);
	int rc = bpfvm_instance_new(obj, &io, &inst, &err);
	CHECK(rc == -EINVAL && strstr(err.msg, "map 'counts' has max_entries 0: set it with --map counts.max_entries=N"),
	      "unsized: %d '%s'", rc, err.msg);
	CHECK_RC(bpfvm_object_map_set_max_entries(obj, "counts", 16, &err), 0, "set counts");
	rc = bpfvm_instance_new(obj, &io, &inst, &err);
	CHECK(rc == -EINVAL && strstr(err.msg, "map 'outer.inner' has max_entries 0"), "inner unsized: '%s'", err.msg);
	CHECK_RC(bpfvm_object_map_set_max_entries(obj, "outer.inner", 4, &err), 0, "set outer.inner");
	rc = bpfvm_instance_new(obj, &io, &inst, &err);
	CHECK(rc == -EINVAL && strstr(err.msg, "map 'events' has max_entries 0"), "ringbuf unsized: '%s'", err.msg);
	CHECK_RC(bpfvm_object_map_set_max_entries(obj, "events", 5000, &err), 0, "set events");
	CHECK_RC(bpfvm_object_map_set_max_entries(obj, "nosuch", 4, &err), -ENOENT, "no such map");
	CHECK_RC(bpfvm_object_map_set_max_entries(obj, "counts", 0, &err), -EINVAL, "zero");
	CHECK_RC(bpfvm_object_map_set_key_size(obj, "outer.inner", 8, &err), -EOPNOTSUPP, "inner key size");
	rc = bpfvm_instance_new(obj, &io, &inst, &err);
	CHECK(rc == 0, "sized: %s", err.msg);
	const bpfvm_object_map *ev = bpfvm_object_map_at(obj, (size_t)bpfvm_object_find_map(obj, "events"));
	CHECK(ev->attrs.max_entries == 8192, "ring buffer rounded to pages: %u", ev->attrs.max_entries);
	if (inst) {
		bpfvm_map_info info;
		bpfvm_map_info_get(bpfvm_instance_map(inst, (size_t)bpfvm_object_find_map(obj, "counts")), &info);
		CHECK(info.max_entries == 16, "counts created with %u entries", info.max_entries);
		bpfvm_map_info_get(bpfvm_instance_map(inst, (size_t)bpfvm_object_find_map(obj, "perf")), &info);
		CHECK(info.max_entries == (uint32_t)bpfvm_map_possible_cpus(), "perf event array: %u slots", info.max_entries);
	}
	bpfvm_instance_free(inst);
	bpfvm_object_free(obj);
}

int main(void)
{
	test_kconfig_values();
	test_kconfig_errors();
	test_ksyms();
	test_map_sizes();
	return check_summary();
}
