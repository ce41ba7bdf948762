/*
 * test_loader.c - the ELF object loader (include/bpfvm/object.h) against
 * clang-built objects (the C files of tests/objects/) and against libbpf 1.1 itself.
 *
 * The objects are compiled at run time with clang -O2 -g -target bpf into
 * a temporary directory, or taken from $BPFVM_TEST_OBJECTS (a directory of
 * prebuilt NAME.o).  For every object libbpf can open, the programs, maps,
 * fixed-up BTF and linked instructions must equal libbpf's: its
 * gen_loader mode relocates without a kernel and leaves map indices in
 * the instructions (src_reg 5/6 where bpfvm writes 1/2).  Then
 * object-specific checks (slots, inner maps, spin lock, line info, a
 * raw-memory program run), broken objects with the error each must give,
 * and a deterministic mutation sweep that must never crash.
 *
 * Output: one line per failure, then "N passed, M failed"; exit 77 with a
 * message when neither clang nor prebuilt objects are available.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <bpf/libbpf.h>
#include <bpf/btf.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/object.h"
#include "loader/loader.h"   /* ldr_sec_def_lookup(), to compare with libbpf */
#include "support/check.h"

#ifndef BPFVM_TESTS_DIR
#define BPFVM_TESTS_DIR "tests"
#endif

/* ---- objects ---------------------------------------------------------- */

static char obj_dir[512];
static char tmp_dir[512];

static const char *const object_names[] = {
	"xdp_hash", "legacy_maps", "global_data", "subprogs", "sections", "prog_array",
	"map_in_map", "ringbuf", "spin_lock", "loop_callback", "raw_mem", "text_only",
};
#define OBJECT_COUNT (sizeof object_names / sizeof object_names[0])

static const char *clang_cmd(void)
{
	const char *c = getenv("BPFVM_CLANG");
	return c && *c ? c : "clang";
}

static bool have_clang(void)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", clang_cmd());
	return system(cmd) == 0;
}

/* clang -target bpf does not search the multiarch directory that holds
 * <asm/types.h>; point it there. */
static void multiarch_include(char *buf, size_t len)
{
	struct utsname u;
	buf[0] = 0;
	if (uname(&u) != 0)
		return;
	char dir[300];
	snprintf(dir, sizeof dir, "/usr/include/%s-linux-gnu", u.machine);
	if (access(dir, R_OK) == 0)
		snprintf(buf, len, "-I%s", dir);
}

/* Compiles C source `src` into `out`; returns clang's exit status and
 * leaves its diagnostics in `diag`. */
static int compile_bpf(const char *src, const char *out, const char *diag)
{
	char inc[320], cmd[2048];
	multiarch_include(inc, sizeof inc);
	snprintf(cmd, sizeof cmd, "%s -O2 -g -target bpf %s -c '%s' -o '%s' >'%s' 2>&1",
	         clang_cmd(), inc, src, out, diag);
	return system(cmd);
}

/* Objects come from $BPFVM_TEST_OBJECTS or are compiled here; with clang
 * a scratch directory also holds the broken sources' objects. */
static bool prepare_objects(void)
{
	const char *pre = getenv("BPFVM_TEST_OBJECTS");
	bool clang = have_clang();
	if (!clang && !(pre && *pre))
		return false;
	if (clang) {
		snprintf(tmp_dir, sizeof tmp_dir, "/tmp/bpfvm_test_loader.XXXXXX");
		if (!mkdtemp(tmp_dir)) {
			printf("FAIL cannot create a temporary directory: %s\n", strerror(errno));
			exit(1);
		}
	}
	if (pre && *pre) {
		snprintf(obj_dir, sizeof obj_dir, "%s", pre);
		return true;
	}
	snprintf(obj_dir, sizeof obj_dir, "%s", tmp_dir);
	for (size_t i = 0; i < OBJECT_COUNT; i++) {
		char src[700], out[700], diag[700];
		snprintf(src, sizeof src, "%s/objects/%s.c", BPFVM_TESTS_DIR, object_names[i]);
		snprintf(out, sizeof out, "%s/%s.o", obj_dir, object_names[i]);
		snprintf(diag, sizeof diag, "%s/%s.log", obj_dir, object_names[i]);
		CHECK(compile_bpf(src, out, diag) == 0, "clang cannot compile %s (see %s)", src, diag);
	}
	return true;
}

static void obj_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.o", obj_dir, name);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static bpfvm_object *open_named(const char *name)
{
	char path[700];
	bpfvm_object *obj = NULL;
	bpfvm_error err = { 0 };
	obj_path(name, path, sizeof path);
	int rc = bpfvm_object_open(path, &obj, &err);
	CHECK(rc == 0 && obj, "%s: bpfvm_object_open: %d %s", name, rc, err.msg);
	return rc == 0 ? obj : NULL;
}

/* ---- comparison with libbpf --------------------------------------------- */

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

static void compare_attrs(const char *what, const bpfvm_map_attrs *a, const struct bpf_map *m)
{
	CHECK(a->type == (uint32_t)bpf_map__type(m), "%s: type %u, libbpf %d", what, a->type,
	      bpf_map__type(m));
	CHECK(a->key_size == bpf_map__key_size(m), "%s: key_size %u, libbpf %u", what,
	      a->key_size, bpf_map__key_size(m));
	CHECK(a->value_size == bpf_map__value_size(m), "%s: value_size %u, libbpf %u", what,
	      a->value_size, bpf_map__value_size(m));
	CHECK(a->max_entries == bpf_map__max_entries(m), "%s: max_entries %u, libbpf %u", what,
	      a->max_entries, bpf_map__max_entries(m));
	CHECK(a->flags == bpf_map__map_flags(m), "%s: flags %#x, libbpf %#x", what, a->flags,
	      bpf_map__map_flags(m));
	CHECK(a->map_extra == bpf_map__map_extra(m), "%s: map_extra %llu, libbpf %llu", what,
	      (unsigned long long)a->map_extra, (unsigned long long)bpf_map__map_extra(m));
	CHECK(a->numa_node == bpf_map__numa_node(m), "%s: numa_node", what);
	CHECK(a->btf_key_type_id == bpf_map__btf_key_type_id(m), "%s: btf key id %u, libbpf %u",
	      what, a->btf_key_type_id, bpf_map__btf_key_type_id(m));
	CHECK(a->btf_value_type_id == bpf_map__btf_value_type_id(m),
	      "%s: btf value id %u, libbpf %u", what, a->btf_value_type_id,
	      bpf_map__btf_value_type_id(m));
}

static void compare_maps(const char *name, const bpfvm_object *obj, struct bpf_object *lo)
{
	size_t i = 0;
	struct bpf_map *m;
	bpf_object__for_each_map(m, lo) {
		const bpfvm_object_map *ours = bpfvm_object_map_at(obj, i);
		if (!ours) {
			CHECK(false, "%s: libbpf has more maps than bpfvm (%zu); next is %s", name,
			      bpfvm_object_map_count(obj), bpf_map__name(m));
			return;
		}
		char what[128];
		snprintf(what, sizeof what, "%s: map #%zu '%s'", name, i, ours->name);
		CHECK(strcmp(ours->name, bpf_map__name(m)) == 0, "%s: name, libbpf '%s'", what,
		      bpf_map__name(m));
		compare_attrs(what, &ours->attrs, m);
		size_t sz = 0;
		const void *init = bpf_map__initial_value(m, &sz);
		if (init) {
			CHECK(ours->initial_data && sz == ours->attrs.value_size &&
			      memcmp(init, ours->initial_data, sz) == 0, "%s: initial value differs",
			      what);
		} else {
			CHECK(!ours->initial_data, "%s: bpfvm has an initial value, libbpf none", what);
		}
		struct bpf_map *inner = bpf_map__inner_map(m);
		CHECK(ours->has_inner == (inner != NULL), "%s: inner map presence", what);
		if (inner && ours->has_inner) {
			snprintf(what, sizeof what, "%s: inner map of '%s'", name, ours->name);
			CHECK(strcmp(ours->inner_name, bpf_map__name(inner)) == 0,
			      "%s: name '%s', libbpf '%s'", what, ours->inner_name, bpf_map__name(inner));
			compare_attrs(what, &ours->inner, inner);
		}
		i++;
	}
	CHECK(i == bpfvm_object_map_count(obj), "%s: %zu maps, libbpf %zu", name,
	      bpfvm_object_map_count(obj), i);
}

static void compare_progs_meta(const char *name, const bpfvm_object *obj, struct bpf_object *lo)
{
	size_t i = 0;
	struct bpf_program *p;
	bpf_object__for_each_program(p, lo) {
		const bpfvm_object_prog *ours = bpfvm_object_prog_at(obj, i);
		if (!ours) {
			CHECK(false, "%s: libbpf has more programs than bpfvm", name);
			return;
		}
		CHECK(strcmp(ours->name, bpf_program__name(p)) == 0, "%s: program #%zu is '%s', "
		      "libbpf '%s'", name, i, ours->name, bpf_program__name(p));
		CHECK(strcmp(ours->section, bpf_program__section_name(p)) == 0,
		      "%s: program '%s' section '%s', libbpf '%s'", name, ours->name, ours->section,
		      bpf_program__section_name(p));
		uint32_t want = (uint32_t)bpf_program__type(p);
		if (strncmp(ours->section, "bpfvm", 5) == 0)
			want = BPFVM_PROG_TYPE_RAW_MEMORY;   /* libbpf does not know it: UNSPEC */
		CHECK(ours->type == want, "%s: program '%s' type %u, expected %u", name, ours->name,
		      ours->type, want);
		CHECK(ours->expected_attach_type == (uint32_t)bpf_program__expected_attach_type(p),
		      "%s: program '%s' expected attach type %u, libbpf %d", name, ours->name,
		      ours->expected_attach_type, bpf_program__expected_attach_type(p));
		CHECK(ours->autoload == bpf_program__autoload(p), "%s: program '%s' autoload",
		      name, ours->name);
		i++;
	}
	CHECK(i == bpfvm_object_prog_count(obj), "%s: %zu programs, libbpf %zu", name,
	      bpfvm_object_prog_count(obj), i);
}

/* libbpf relocated code (gen_loader mode) vs ours, instruction by instruction. */
static void compare_insns(const char *name, const bpfvm_object *obj, struct bpf_object *lo)
{
	size_t i = 0;
	struct bpf_program *p;
	bpf_object__for_each_program(p, lo) {
		const bpfvm_object_prog *ours = bpfvm_object_prog_at(obj, i++);
		if (!ours || !ours->autoload)
			continue;
		const struct bpf_insn *theirs = bpf_program__insns(p);
		size_t n = bpf_program__insn_cnt(p);
		CHECK(n == ours->insn_count, "%s: program '%s' has %zu instructions, libbpf %zu",
		      name, ours->name, ours->insn_count, n);
		if (n != ours->insn_count || !theirs)
			continue;
		for (size_t k = 0; k < n; k++) {
			struct bpf_insn t = theirs[k];
			if (t.code == (BPF_LD | BPF_IMM | BPF_DW) && t.src_reg == BPF_PSEUDO_MAP_IDX)
				t.src_reg = BPF_PSEUDO_MAP_FD;
			else if (t.code == (BPF_LD | BPF_IMM | BPF_DW) &&
			         t.src_reg == BPF_PSEUDO_MAP_IDX_VALUE)
				t.src_reg = BPF_PSEUDO_MAP_VALUE;
			const bpfvm_insn *o = &ours->insns[k];
			bool same = t.code == o->opcode && t.dst_reg == o->dst && t.src_reg == o->src &&
			            t.off == o->off && t.imm == o->imm;
			if (!same) {
				CHECK(false, "%s: program '%s' insn %zu: bpfvm %02x %u %u %d %d, libbpf "
				      "%02x %u %u %d %d", name, ours->name, k, o->opcode, o->dst, o->src,
				      o->off, o->imm, t.code, t.dst_reg, t.src_reg, t.off, t.imm);
				break;
			}
		}
		passed++;
	}
}

static void compare_btf(const char *name, const bpfvm_object *obj, struct bpf_object *lo)
{
	const struct btf *a = bpfvm_object_btf(obj), *b = bpf_object__btf(lo);
	CHECK((a != NULL) == (b != NULL), "%s: BTF presence differs from libbpf", name);
	if (!a || !b)
		return;
	uint32_t sa = 0, sb = 0;
	const void *ra = btf__raw_data(a, &sa), *rb = btf__raw_data(b, &sb);
	CHECK(ra && rb && sa == sb && memcmp(ra, rb, sa) == 0,
	      "%s: fixed-up BTF differs from libbpf's (%u vs %u bytes)", name, sa, sb);
}

static void compare_with_libbpf(const char *name)
{
	char path[700];
	obj_path(name, path, sizeof path);
	bpfvm_object *obj = open_named(name);
	struct bpf_object *lo = bpf_object__open_file(path, NULL);
	CHECK(lo != NULL, "%s: libbpf cannot open it", name);
	if (!obj || !lo) {
		bpfvm_object_free(obj);
		bpf_object__close(lo);
		return;
	}
	CHECK(strcmp(bpfvm_object_name(obj), bpf_object__name(lo)) == 0,
	      "%s: object name '%s', libbpf '%s'", name, bpfvm_object_name(obj),
	      bpf_object__name(lo));
	/* Without a "version" section libbpf reports the running kernel's;
	 * bpfvm reports 0 (nothing to attach to a kernel here). */
	if (bpfvm_object_kern_version(obj))
		CHECK(bpfvm_object_kern_version(obj) == bpf_object__kversion(lo),
		      "%s: kernel version", name);
	compare_progs_meta(name, obj, lo);
	compare_maps(name, obj, lo);
	compare_btf(name, obj, lo);

	/* Relocate without a kernel.  gen_loader refuses pinned maps and
	 * programs of unknown type before it relocates. */
	struct bpf_map *m;
	bpf_object__for_each_map(m, lo)
		bpf_map__set_pin_path(m, NULL);
	struct bpf_program *p;
	bpf_object__for_each_program(p, lo)
		if (bpf_program__type(p) == BPF_PROG_TYPE_UNSPEC)
			bpf_program__set_type(p, BPF_PROG_TYPE_SOCKET_FILTER);
	struct gen_loader_opts gen = { .sz = sizeof gen };
	CHECK(bpf_object__gen_loader(lo, &gen) == 0, "%s: libbpf gen_loader", name);
	(void)bpf_object__load(lo);  /* may fail after relocating (e.g. prog_array slots) */
	compare_insns(name, obj, lo);
	bpf_object__close(lo);
	bpfvm_object_free(obj);
}

/* ---- object-specific checks ------------------------------------------- */

static const bpfvm_object_map *map_named(const bpfvm_object *obj, const char *name)
{
	int i = bpfvm_object_find_map(obj, name);
	CHECK(i >= 0, "map '%s' not found", name);
	return i >= 0 ? bpfvm_object_map_at(obj, (size_t)i) : NULL;
}

static const bpfvm_object_prog *prog_named(const bpfvm_object *obj, const char *name)
{
	int i = bpfvm_object_find_prog(obj, name);
	CHECK(i >= 0, "program '%s' not found", name);
	return i >= 0 ? bpfvm_object_prog_at(obj, (size_t)i) : NULL;
}

/* Line number of the first line of tests/objects/<name>.c containing `marker`. */
static uint32_t source_line_of(const char *name, const char *marker)
{
	char path[700], buf[512];
	snprintf(path, sizeof path, "%s/objects/%s.c", BPFVM_TESTS_DIR, name);
	FILE *f = fopen(path, "r");
	uint32_t line = 0, found = 0;
	while (f && !found && fgets(buf, sizeof buf, f)) {
		line++;
		if (strstr(buf, marker))
			found = line;
	}
	if (f)
		fclose(f);
	return found;
}

/* Every call and function address of every program lands on a function start. */
static void check_call_targets(const char *name, const bpfvm_object *obj)
{
	for (size_t i = 0; i < bpfvm_object_prog_count(obj); i++) {
		const bpfvm_object_prog *p = bpfvm_object_prog_at(obj, i);
		for (size_t k = 0; k < p->insn_count; k++) {
			const bpfvm_insn *in = &p->insns[k];
			bool call = in->opcode == 0x85 && in->src == BPFVM_PSEUDO_CALL;
			bool func = in->opcode == 0x18 && in->src == BPFVM_PSEUDO_FUNC;
			if (!call && !func)
				continue;
			int64_t target = (int64_t)k + in->imm + 1;
			bool at_start = false;
			for (size_t f = 0; f < p->func_count; f++)
				at_start |= p->funcs[f].start == target;
			CHECK(at_start, "%s: program '%s' insn %zu targets %lld, not a function start",
			      name, p->name, k, (long long)target);
		}
	}
}

static void test_xdp_hash(void)
{
	bpfvm_object *obj = open_named("xdp_hash");
	if (!obj)
		return;
	const bpfvm_object_map *flows = map_named(obj, "flows");
	if (flows) {
		CHECK(flows->origin == BPFVM_MAP_BTF && strcmp(flows->section, ".maps") == 0,
		      "xdp_hash: flows is a BTF map of .maps");
		CHECK(flows->attrs.type == BPF_MAP_TYPE_HASH && flows->attrs.key_size == 8 &&
		      flows->attrs.value_size == 16 && flows->attrs.max_entries == 1024 &&
		      flows->attrs.flags == BPF_F_NO_PREALLOC, "xdp_hash: flows definition");
		const struct btf *btf = bpfvm_object_btf(obj);
		const struct btf_type *kt = btf__type_by_id(btf, flows->attrs.btf_key_type_id);
		CHECK(kt && strcmp(btf__name_by_offset(btf, kt->name_off), "flow_key") == 0,
		      "xdp_hash: flows key type is struct flow_key");
		CHECK(flows->attrs.spin_lock_off == -1, "xdp_hash: no spin lock");
	}
	const bpfvm_object_map *pinned = map_named(obj, "pinned_counters");
	CHECK(pinned && pinned->pinning == BPFVM_PIN_BY_NAME, "xdp_hash: pinned_counters pinned");
	CHECK(strcmp(bpfvm_object_license(obj), "GPL") == 0, "xdp_hash: license");

	const bpfvm_object_prog *p = prog_named(obj, "count_packets");
	uint32_t want = source_line_of("xdp_hash", "LINE_MARKER: packets");
	bool found = false;
	for (size_t k = 0; p && k < p->insn_count && !found; k++) {
		const char *file, *text;
		uint32_t line, col;
		if (bpfvm_object_line_info(obj, 0, k, &file, &line, &col, &text) == 0 &&
		    strstr(text, "LINE_MARKER: packets")) {
			found = true;
			CHECK(line == want && want > 0, "xdp_hash: marker on line %u, source says %u",
			      line, want);
			CHECK(strstr(file, "xdp_hash.c") != NULL, "xdp_hash: file name '%s'", file);
			CHECK(col > 0, "xdp_hash: column %u", col);
		}
	}
	CHECK(found, "xdp_hash: no instruction carries the LINE_MARKER line");
	/* Every instruction of a -g build has a line. */
	size_t covered = 0;
	for (size_t k = 0; p && k < p->insn_count; k++)
		covered += bpfvm_object_line_info(obj, 0, k, NULL, NULL, NULL, NULL) == 0;
	CHECK(p && covered == p->insn_count, "xdp_hash: %zu of %zu instructions have a line",
	      covered, p ? p->insn_count : 0);
	CHECK(bpfvm_object_line_info(obj, 0, 1u << 30, NULL, NULL, NULL, NULL) == -EINVAL,
	      "xdp_hash: line info out of range is -EINVAL");
	CHECK(bpfvm_object_line_info(obj, 9, 0, NULL, NULL, NULL, NULL) == -EINVAL,
	      "xdp_hash: line info of a missing program is -EINVAL");
	/* Both map references became map-index lddw. */
	size_t map_refs = 0;
	for (size_t k = 0; p && k + 1 < p->insn_count; k++)
		if (p->insns[k].opcode == 0x18 && p->insns[k].src == BPFVM_PSEUDO_MAP_FD)
			map_refs |= 1u << (p->insns[k].imm & 7) |
			            (p->insns[k].imm == bpfvm_object_find_map(obj, "flows") ? 0x100 : 0);
	CHECK(map_refs == (0x100 | 1u << bpfvm_object_find_map(obj, "flows") |
	                   1u << bpfvm_object_find_map(obj, "seen")),
	      "xdp_hash: map references %#zx name exactly flows and seen", map_refs);
	const bpfvm_object_map *seen = map_named(obj, "seen");
	CHECK(seen && seen->attrs.type == BPF_MAP_TYPE_BLOOM_FILTER && seen->attrs.map_extra == 3 &&
	      seen->attrs.numa_node == 1 && seen->attrs.key_size == 0 && seen->attrs.value_size == 4,
	      "xdp_hash: bloom filter map_extra and numa_node");
	bpfvm_object_free(obj);
}

static void test_legacy_maps(void)
{
	bpfvm_object *obj = open_named("legacy_maps");
	if (!obj)
		return;
	CHECK(bpfvm_object_map_count(obj) == 2, "legacy_maps: %zu maps", bpfvm_object_map_count(obj));
	const bpfvm_object_map *a = map_named(obj, "legacy_array");
	const bpfvm_object_map *h = map_named(obj, "legacy_hash");
	CHECK(a && a->origin == BPFVM_MAP_LEGACY && a->attrs.type == BPF_MAP_TYPE_ARRAY &&
	      a->attrs.key_size == 4 && a->attrs.value_size == 8 && a->attrs.max_entries == 8 &&
	      a->attrs.flags == 0, "legacy_maps: legacy_array definition");
	CHECK(h && h->attrs.type == BPF_MAP_TYPE_HASH && h->attrs.key_size == 8 &&
	      h->attrs.value_size == 32 && h->attrs.max_entries == 128 &&
	      h->attrs.flags == BPF_F_NO_PREALLOC, "legacy_maps: legacy_hash definition");
	CHECK(bpfvm_object_kern_version(obj) == 0x060100, "legacy_maps: version %#x",
	      bpfvm_object_kern_version(obj));
	CHECK(strcmp(bpfvm_object_license(obj), "Dual BSD/GPL") == 0, "legacy_maps: license");
	const bpfvm_object_prog *p = prog_named(obj, "legacy_prog");
	bool seen[2] = { false, false };
	for (size_t k = 0; p && k < p->insn_count; k++)
		if (p->insns[k].opcode == 0x18 && p->insns[k].src == BPFVM_PSEUDO_MAP_FD &&
		    p->insns[k].imm >= 0 && p->insns[k].imm < 2)
			seen[p->insns[k].imm] = true;
	CHECK(seen[0] && seen[1], "legacy_maps: both maps referenced by index");
	bpfvm_object_free(obj);
}

/* Offset of variable `var` in DATASEC `sec` of the object's BTF, or -1. */
static int64_t var_offset(const struct btf *btf, const char *sec, const char *var)
{
	int id = btf ? btf__find_by_name_kind(btf, sec, BTF_KIND_DATASEC) : -1;
	const struct btf_type *t = id > 0 ? btf__type_by_id(btf, (uint32_t)id) : NULL;
	const struct btf_var_secinfo *vi = t ? btf_var_secinfos(t) : NULL;
	for (uint16_t i = 0; t && i < btf_vlen(t); i++, vi++) {
		const struct btf_type *v = btf__type_by_id(btf, vi->type);
		if (v && strcmp(btf__name_by_offset(btf, v->name_off), var) == 0)
			return vi->offset;
	}
	return -1;
}

static void test_global_data(void)
{
	bpfvm_object *obj = open_named("global_data");
	if (!obj)
		return;
	const bpfvm_object_map *data = map_named(obj, "global_d.data");
	const bpfvm_object_map *ro = map_named(obj, "global_d.rodata");
	const bpfvm_object_map *bss = map_named(obj, "global_d.bss");
	const bpfvm_object_map *str = map_named(obj, ".rodata.str1.1");
	map_named(obj, ".data.custom");
	map_named(obj, ".rodata.custom");
	if (data) {
		const struct btf *btf = bpfvm_object_btf(obj);
		int32_t counter = 0, hidden = 0, pair[2] = { 0, 0 };
		int64_t off = var_offset(btf, ".data", "counter");
		if (off >= 0 && off + 4 <= data->attrs.value_size)
			memcpy(&counter, data->initial_data + off, 4);
		off = var_offset(btf, ".data", "hidden_counter");
		if (off >= 0 && off + 4 <= data->attrs.value_size)
			memcpy(&hidden, data->initial_data + off, 4);
		off = var_offset(btf, ".data", "pair");
		if (off >= 0 && off + 8 <= data->attrs.value_size)
			memcpy(pair, data->initial_data + off, 8);
		CHECK(data->origin == BPFVM_MAP_DATA && counter == 7 && hidden == 3 && pair[0] == 1 &&
		      pair[1] == 2, "global_data: .data holds counter = 7, hidden_counter = 3, "
		      "pair = {1, 2} where the BTF says");
		CHECK(!(data->attrs.flags & BPF_F_RDONLY_PROG), "global_data: .data is writable");
	}
	if (ro) {
		CHECK(ro->origin == BPFVM_MAP_RODATA && (ro->attrs.flags & BPF_F_RDONLY_PROG),
		      "global_data: .rodata is read-only for programs");
		CHECK(memmem(ro->initial_data, ro->attrs.value_size, "abcdefg", 8) != NULL,
		      "global_data: .rodata holds the table");
	}
	if (bss) {
		bool zero = true;
		for (uint32_t i = 0; i < bss->attrs.value_size; i++)
			zero &= bss->initial_data[i] == 0;
		CHECK(bss->origin == BPFVM_MAP_BSS && zero && bss->attrs.value_size == 40,
		      "global_data: .bss is 40 zero bytes");
	}
	const bpfvm_object_map *hid = map_named(obj, ".data.hidden");
	const bpfvm_object_map *sta = map_named(obj, ".data.statics");
	CHECK(hid && !(hid->attrs.flags & BPF_F_MMAPABLE) && sta &&
	      !(sta->attrs.flags & BPF_F_MMAPABLE) && data && (data->attrs.flags & BPF_F_MMAPABLE),
	      "global_data: sections with only static or hidden variables are not mmapable");
	if (str)
		CHECK(memmem(str->initial_data, str->attrs.value_size, "literal %d\n", 11) != NULL,
		      "global_data: .rodata.str1.1 holds the literal");
	/* A map-value lddw at the string: offset inside .rodata.str1.1. */
	const bpfvm_object_prog *p = prog_named(obj, "socket_prog");
	bool found = false;
	int str_idx = bpfvm_object_find_map(obj, ".rodata.str1.1");
	for (size_t k = 0; p && k + 1 < p->insn_count; k++)
		if (p->insns[k].opcode == 0x18 && p->insns[k].src == BPFVM_PSEUDO_MAP_VALUE &&
		    p->insns[k].imm == str_idx && str &&
		    memcmp(str->initial_data + p->insns[k + 1].imm, "literal", 7) == 0)
			found = true;
	CHECK(found, "global_data: socket_prog loads the literal's address from its map");
	bpfvm_object_free(obj);
}

static void test_subprogs(void)
{
	bpfvm_object *obj = open_named("subprogs");
	if (!obj)
		return;
	CHECK(bpfvm_object_prog_count(obj) == 2, "subprogs: .text functions are not programs");
	const bpfvm_object_prog *x = prog_named(obj, "xdp_main");
	const bpfvm_object_prog *s = prog_named(obj, "sock_main");
	const char *xdp_funcs[] = { "xdp_main", "sum_of_squares", "square", "global_helper", "bump",
	                            "weak_helper", "ping", "pong" };
	const char *sock_funcs[] = { "sock_main", "square", "bump" };
	CHECK(x && x->func_count == 8, "subprogs: xdp_main has %zu functions", x ? x->func_count : 0);
	for (size_t i = 0; x && i < 8 && i < x->func_count; i++)
		CHECK(strcmp(x->funcs[i].name, xdp_funcs[i]) == 0, "subprogs: xdp_main function #%zu "
		      "is %s, expected %s", i, x->funcs[i].name, xdp_funcs[i]);
	CHECK(s && s->func_count == 3, "subprogs: sock_main has %zu functions", s ? s->func_count : 0);
	for (size_t i = 0; s && i < 3 && i < s->func_count; i++)
		CHECK(strcmp(s->funcs[i].name, sock_funcs[i]) == 0, "subprogs: sock_main function #%zu "
		      "is %s, expected %s", i, s->funcs[i].name, sock_funcs[i]);
	CHECK(x && strcmp(x->funcs[1].section, ".text") == 0, "subprogs: subprograms come from .text");
	/* Line info follows the appended copies. */
	const char *text = NULL;
	if (x && x->func_count == 8)
		CHECK(bpfvm_object_line_info(obj, 0, x->funcs[2].start, NULL, NULL, NULL, &text) == 0 &&
		      strstr(text, "square"), "subprogs: square's copy carries its own line ('%s')",
		      text ? text : "");
	check_call_targets("subprogs", obj);
	bpfvm_object_free(obj);
}

static void test_sections(void)
{
	bpfvm_object *obj = open_named("sections");
	if (!obj)
		return;
	struct { const char *prog; uint32_t type, attach; const char *target; } want[] = {
		{ "p_xdp", BPF_PROG_TYPE_XDP, BPF_XDP, NULL },
		{ "p_socket", BPF_PROG_TYPE_SOCKET_FILTER, 0, NULL },
		{ "p_tc", BPF_PROG_TYPE_SCHED_CLS, 0, NULL },
		{ "p_classifier", BPF_PROG_TYPE_SCHED_CLS, 0, NULL },
		{ "p_kprobe", BPF_PROG_TYPE_KPROBE, 0, "do_sys_openat2" },
		{ "p_kretprobe", BPF_PROG_TYPE_KPROBE, 0, "do_sys_openat2" },
		{ "p_uprobe", BPF_PROG_TYPE_KPROBE, 0, "libc.so.6:malloc" },
		{ "p_uretprobe", BPF_PROG_TYPE_KPROBE, 0, "libc.so.6:malloc" },
		{ "p_tracepoint", BPF_PROG_TYPE_TRACEPOINT, 0, "syscalls/sys_enter_openat" },
		{ "p_tp", BPF_PROG_TYPE_TRACEPOINT, 0, "sched/sched_switch" },
		{ "p_raw_tracepoint", BPF_PROG_TYPE_RAW_TRACEPOINT, 0, "sys_enter" },
		{ "p_raw_tp", BPF_PROG_TYPE_RAW_TRACEPOINT, 0, "sys_exit" },
		{ "p_cgroup_skb", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, NULL },
		{ "p_perf_event", BPF_PROG_TYPE_PERF_EVENT, 0, NULL },
		{ "p_xdp_noautoload", BPF_PROG_TYPE_XDP, BPF_XDP, NULL },
		{ "p_unknown", BPF_PROG_TYPE_UNSPEC, 0, NULL },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const bpfvm_object_prog *p = prog_named(obj, want[i].prog);
		if (!p)
			continue;
		CHECK(p->type == want[i].type && p->expected_attach_type == want[i].attach,
		      "sections: %s type %u/%u, expected %u/%u", p->name, p->type,
		      p->expected_attach_type, want[i].type, want[i].attach);
		bool target_ok = want[i].target ? p->attach_target &&
		                                  strcmp(p->attach_target, want[i].target) == 0
		                                : p->attach_target == NULL;
		CHECK(target_ok, "sections: %s attach target '%s', expected '%s'", p->name,
		      p->attach_target ? p->attach_target : "(none)",
		      want[i].target ? want[i].target : "(none)");
	}
	const bpfvm_object_prog *us = prog_named(obj, "p_uprobe_s"), *u = prog_named(obj, "p_uprobe");
	CHECK(us && us->sleepable && us->type == BPF_PROG_TYPE_KPROBE && u && !u->sleepable,
	      "sections: uprobe.s is a sleepable kprobe program, uprobe is not");
	const bpfvm_object_prog *q = prog_named(obj, "p_xdp_noautoload");
	CHECK(q && !q->autoload && strcmp(q->section, "xdp") == 0,
	      "sections: SEC(\"?xdp\") is section xdp, not autoloaded");
	bpfvm_object_free(obj);
}

static void test_prog_array(void)
{
	bpfvm_object *obj = open_named("prog_array");
	if (!obj)
		return;
	const bpfvm_object_map *m = map_named(obj, "jump_table");
	if (m) {
		CHECK(m->attrs.type == BPF_MAP_TYPE_PROG_ARRAY && m->attrs.value_size == 4 &&
		      m->attrs.max_entries == 4, "prog_array: definition");
		CHECK(m->slot_count == 2, "prog_array: %zu initial slots", m->slot_count);
		if (m->slot_count == 2) {
			CHECK(m->slots[0].key == 0 && m->slots[0].target ==
			      (uint32_t)bpfvm_object_find_prog(obj, "tail_0"), "prog_array: slot 0 = tail_0");
			CHECK(m->slots[1].key == 2 && m->slots[1].target ==
			      (uint32_t)bpfvm_object_find_prog(obj, "tail_2"), "prog_array: slot 2 = tail_2");
		}
	}
	bpfvm_object_free(obj);
}

static void test_map_in_map(void)
{
	bpfvm_object *obj = open_named("map_in_map");
	if (!obj)
		return;
	const bpfvm_object_map *oa = map_named(obj, "outer_array");
	const bpfvm_object_map *oh = map_named(obj, "outer_hash");
	if (oa) {
		CHECK(oa->has_inner && strcmp(oa->inner_name, "outer_array.inner") == 0 &&
		      oa->inner.type == BPF_MAP_TYPE_ARRAY && oa->inner.max_entries == 16 &&
		      oa->inner.key_size == 4 && oa->inner.value_size == 8,
		      "map_in_map: outer_array's inner definition");
		CHECK(oa->slot_count == 2 && oa->slots[0].key == 0 &&
		      oa->slots[0].target == (uint32_t)bpfvm_object_find_map(obj, "inner_a") &&
		      oa->slots[1].key == 2 &&
		      oa->slots[1].target == (uint32_t)bpfvm_object_find_map(obj, "inner_b"),
		      "map_in_map: outer_array slots 0 = inner_a, 2 = inner_b");
	}
	if (oh)
		CHECK(oh->has_inner && oh->inner.type == BPF_MAP_TYPE_HASH && oh->inner.key_size == 8 &&
		      oh->inner.value_size == 4 && oh->inner.max_entries == 32 && oh->slot_count == 0,
		      "map_in_map: outer_hash's inner definition");
	bpfvm_object_free(obj);
}

static void test_ringbuf_spinlock_loop(void)
{
	bpfvm_object *obj = open_named("ringbuf");
	if (obj) {
		const bpfvm_object_map *e = map_named(obj, "events");
		const bpfvm_object_map *o = map_named(obj, "odd_sized");
		long page = sysconf(_SC_PAGESIZE);
		CHECK(e && e->attrs.type == BPF_MAP_TYPE_RINGBUF && e->attrs.max_entries == 256 * 1024,
		      "ringbuf: events keeps 256 KiB");
		CHECK(o && o->attrs.max_entries % (uint32_t)page == 0 && o->attrs.max_entries >= 5000,
		      "ringbuf: 5000 bytes rounded to pages (%u)", o ? o->attrs.max_entries : 0);
		bpfvm_object_free(obj);
	}
	obj = open_named("spin_lock");
	if (obj) {
		const bpfvm_object_map *m = map_named(obj, "locked");
		CHECK(m && m->attrs.spin_lock_off == 12, "spin_lock: lock at offset %d, expected 12",
		      m ? m->attrs.spin_lock_off : -9);
		bpfvm_object_free(obj);
	}
	obj = open_named("loop_callback");
	if (obj) {
		const bpfvm_object_prog *p = prog_named(obj, "loop_prog");
		size_t funcs = 0;
		for (size_t k = 0; p && k < p->insn_count; k++)
			funcs += p->insns[k].opcode == 0x18 && p->insns[k].src == BPFVM_PSEUDO_FUNC;
		CHECK(funcs == 3, "loop_callback: %zu callback references, expected 3", funcs);
		CHECK(p && p->func_count == 4, "loop_callback: callbacks and nested_loop appended");
		check_call_targets("loop_callback", obj);
		bpfvm_object_free(obj);
	}
}

static uint64_t fnv1a_ref(const uint8_t *m, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < 64 && i < len; i++)
		h = (h ^ m[i]) * 0x100000001b3ULL;
	return h;
}

struct image {
	uint8_t *buf;
	size_t len;
};
static struct image load_image(const char *name);

/* Whether libbpf 1.1 loads a section's programs with BPF_F_SLEEPABLE (its
 * SEC_SLEEPABLE entries; libbpf sets the flag only at load, so an opened
 * object cannot be asked). */
static bool sec_sleepable(const char *sec)
{
	static const char *const sleepable[] = { "uprobe.s", "uretprobe.s", "fentry.s", "fmod_ret.s", "fexit.s",
	                                         "lsm.s", "iter.s", "syscall" };
	size_t len = strcspn(sec, "/");
	for (size_t i = 0; i < sizeof sleepable / sizeof sleepable[0]; i++)
		if (strlen(sleepable[i]) == len && !strncmp(sec, sleepable[i], len))
			return true;
	return false;
}

/* Section name conventions against libbpf_prog_type_by_name(). */
static void test_sec_defs(void)
{
	static const char *const names[] = {
		"socket", "socket/x", "sk_reuseport", "sk_reuseport/migrate", "kprobe", "kprobe/f",
		"kprobex", "kprobe.multi/f*", "kretprobe/f", "uprobe", "uprobe/b:f", "uprobe.s/b:f",
		"uretprobe.s", "ksyscall/openat", "kretsyscall/x", "usdt/a:b:c", "tc", "tc/ingress",
		"classifier", "action", "tracepoint/a/b", "tp/a/b", "tp", "tpx", "raw_tracepoint/x",
		"raw_tp/x", "raw_tracepoint.w/x", "raw_tp.w", "tp_btf/x", "fentry/f", "fmod_ret/f",
		"fexit/f", "fentry.s/f", "fexit.s/f", "freplace/f", "lsm/f", "lsm.s/f", "lsm_cgroup/f",
		"iter/task", "iter.s/task", "syscall", "xdp", "xdp/devmap", "xdp.frags/devmap",
		"xdp/cpumap", "xdp.frags/cpumap", "xdp.frags", "xdp/other", "xdpx", "perf_event",
		"lwt_in", "lwt_out", "lwt_xmit", "lwt_seg6local", "sockops", "sk_skb/stream_parser",
		"sk_skb/stream_verdict", "sk_skb", "sk_skb/x", "sk_msg", "lirc_mode2", "flow_dissector",
		"cgroup_skb/ingress", "cgroup_skb/egress", "cgroup/skb", "cgroup/sock_create",
		"cgroup/sock_release", "cgroup/sock", "cgroup/post_bind4", "cgroup/post_bind6",
		"cgroup/bind4", "cgroup/bind6", "cgroup/connect4", "cgroup/connect6",
		"cgroup/sendmsg4", "cgroup/sendmsg6", "cgroup/recvmsg4", "cgroup/recvmsg6",
		"cgroup/getpeername4", "cgroup/getpeername6", "cgroup/getsockname4",
		"cgroup/getsockname6", "cgroup/sysctl", "cgroup/getsockopt", "cgroup/setsockopt",
		"cgroup/dev", "struct_ops/x", "struct_ops", "sk_lookup", "sk_lookup/x", ".text", "",
		"maps", "license", "?xdp", "bpfvmx",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		enum bpf_prog_type type = 0;
		enum bpf_attach_type attach = 0;
		int rc = libbpf_prog_type_by_name(names[i], &type, &attach);
		struct ldr_sec_def_result ours;
		ldr_sec_def_lookup(names[i], &ours);
		CHECK(ours.known == (rc == 0) && ours.prog_type == (rc ? 0u : (uint32_t)type) &&
		      ours.attach_type == (rc ? 0u : (uint32_t)attach),
		      "section '%s': bpfvm %d %u/%u, libbpf %d %d/%d", names[i], ours.known,
		      ours.prog_type, ours.attach_type, rc, type, attach);
		CHECK(ours.sleepable == sec_sleepable(names[i]), "section '%s': sleepable %d, libbpf 1.1 %d", names[i],
		      ours.sleepable, sec_sleepable(names[i]));
	}
	/* libbpf 1.3's uprobe.multi entries, which 1.1 lacks: KPROBE with
	 * the kernel's BPF_TRACE_UPROBE_MULTI; none shadows uprobe/ */
	static const char *const multi[] = { "uprobe.multi/b:f*", "uretprobe.multi/b:f*", "uprobe.multi.s/b:f?",
	                                     "uretprobe.multi.s/b:f", "uprobe.multi" };
	struct ldr_sec_def_result r;
	for (size_t i = 0; i < sizeof multi / sizeof multi[0]; i++) {
		ldr_sec_def_lookup(multi[i], &r);
		CHECK(r.known && r.prog_type == BPF_PROG_TYPE_KPROBE && r.attach_type == BPFVM_TRACE_UPROBE_MULTI,
		      "section '%s': %u/%u", multi[i], r.prog_type, r.attach_type);
		CHECK(r.sleepable == (strstr(multi[i], ".s/") != NULL), "section '%s': sleepable %d", multi[i],
		      r.sleepable);
	}
	ldr_sec_def_lookup("uprobe.multi/b:f*", &r);
	CHECK(r.target && strcmp(r.target, "b:f*") == 0, "uprobe.multi's target");
	ldr_sec_def_lookup("uprobe.multix", &r);
	CHECK(!r.known, "section 'uprobe.multix'");
	ldr_sec_def_lookup("bpfvm", &r);
	CHECK(r.known && r.prog_type == BPFVM_PROG_TYPE_RAW_MEMORY && !r.target, "section 'bpfvm'");
	ldr_sec_def_lookup("bpfvm/checksum", &r);
	CHECK(r.known && r.prog_type == BPFVM_PROG_TYPE_RAW_MEMORY && r.target &&
	      strcmp(r.target, "checksum") == 0, "section 'bpfvm/checksum'");

	/* An unnamed buffer gets libbpf's "<address>-<length>" name. */
	struct image im = load_image("text_only");
	bpfvm_object *obj = NULL;
	bpfvm_error err = { 0 };
	if (im.buf) {
		char want[64];
		snprintf(want, sizeof want, "%lx-%lx", (unsigned long)(uintptr_t)im.buf,
		         (unsigned long)im.len);
		want[15] = 0;
		int rc = bpfvm_object_open_mem(im.buf, im.len, NULL, &obj, &err);
		CHECK(rc == 0 && strcmp(bpfvm_object_name(obj), want) == 0,
		      "open_mem without a name: '%s', expected '%s'", obj ? bpfvm_object_name(obj) : "",
		      want);
		bpfvm_object_free(obj);
		free(im.buf);
	}
}

static void test_text_only(void)
{
	bpfvm_object *obj = open_named("text_only");
	if (!obj)
		return;
	const bpfvm_object_prog *p = bpfvm_object_prog_at(obj, 0);
	CHECK(bpfvm_object_prog_count(obj) == 1 && p && strcmp(p->name, "lone_function") == 0 &&
	      strcmp(p->section, ".text") == 0 && p->type == BPF_PROG_TYPE_UNSPEC,
	      "text_only: the lone .text function is a program of section .text");
	bpfvm_object_free(obj);
}

static void test_raw_mem(void)
{
	bpfvm_object *obj = open_named("raw_mem");
	if (!obj)
		return;
	uint8_t mem[100];
	for (size_t i = 0; i < sizeof mem; i++)
		mem[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < bpfvm_object_prog_count(obj); i++) {
		const bpfvm_object_prog *p = bpfvm_object_prog_at(obj, i);
		CHECK(p->type == BPFVM_PROG_TYPE_RAW_MEMORY, "raw_mem: %s type %u", p->name, p->type);
		BPFVM_OPTS(bpfvm_load_opts, opts);
		bpfvm_program *prog = NULL;
		bpfvm_error err = { 0 };
		int rc = bpfvm_program_load(p->insns, p->insn_count, &opts, &prog, &err);
		CHECK(rc == 0, "raw_mem: %s does not load: %s", p->name, err.msg);
		if (rc)
			continue;
		uint64_t r0 = 0, want = 0;
		rc = bpfvm_program_run_mem(prog, mem, sizeof mem, BPFVM_CHECKED, &r0, &err);
		if (strcmp(p->name, "fnv1a") == 0)
			want = fnv1a_ref(mem, sizeof mem);
		else
			for (size_t k = 0; k < 64; k++)
				want += mem[k];
		CHECK(rc == 0 && r0 == want, "raw_mem: %s returned %#llx (rc %d %s), expected %#llx",
		      p->name, (unsigned long long)r0, rc, err.msg, (unsigned long long)want);
		bpfvm_program_free(prog);
	}
	CHECK(prog_named(obj, "sum_bytes") && strcmp(prog_named(obj, "sum_bytes")->attach_target,
	      "sum") == 0, "raw_mem: bpfvm/sum has target 'sum'");
	bpfvm_object_free(obj);
}

/* ---- broken objects ----------------------------------------------------- */

static struct image load_image(const char *name)
{
	char path[700];
	struct image im = { 0 };
	obj_path(name, path, sizeof path);
	im.buf = read_file(path, &im.len);
	CHECK(im.buf != NULL, "cannot read %s", path);
	return im;
}

static Elf64_Ehdr *ehdr(struct image *im) { return (Elf64_Ehdr *)(void *)im->buf; }

static Elf64_Shdr *shdr(struct image *im, size_t i)
{
	return (Elf64_Shdr *)(void *)(im->buf + ehdr(im)->e_shoff + i * sizeof(Elf64_Shdr));
}

static Elf64_Shdr *section(struct image *im, const char *name)
{
	Elf64_Shdr *strtab = shdr(im, ehdr(im)->e_shstrndx);
	for (size_t i = 1; i < ehdr(im)->e_shnum; i++) {
		Elf64_Shdr *s = shdr(im, i);
		if (strcmp((char *)im->buf + strtab->sh_offset + s->sh_name, name) == 0)
			return s;
	}
	return NULL;
}

static Elf64_Sym *symbol(struct image *im, const char *name)
{
	Elf64_Shdr *symtab = section(im, ".symtab");
	Elf64_Shdr *strtab = shdr(im, symtab->sh_link);
	Elf64_Sym *syms = (Elf64_Sym *)(void *)(im->buf + symtab->sh_offset);
	for (size_t i = 0; i < symtab->sh_size / sizeof(Elf64_Sym); i++)
		if (strcmp((char *)im->buf + strtab->sh_offset + syms[i].st_name, name) == 0)
			return &syms[i];
	return NULL;
}

static size_t symbol_index(struct image *im, const char *name)
{
	Elf64_Shdr *symtab = section(im, ".symtab");
	return (size_t)(symbol(im, name) - (Elf64_Sym *)(void *)(im->buf + symtab->sh_offset));
}

/* Opens the image; expects failure with `code` and every needle in the message. */
static void expect_error(const char *what, const void *buf, size_t len, int code,
                         const char *needle1, const char *needle2)
{
	bpfvm_object *obj = NULL;
	bpfvm_error err = { 0 };
	int rc = bpfvm_object_open_mem(buf, len, "broken.o", &obj, &err);
	bool ok = rc == code && obj == NULL && err.code == code && strstr(err.msg, "broken.o") &&
	          (!needle1 || strstr(err.msg, needle1)) && (!needle2 || strstr(err.msg, needle2));
	CHECK(ok, "%s: rc %d (want %d), message '%s' (want '%s', '%s')", what, rc, code, err.msg,
	      needle1 ? needle1 : "", needle2 ? needle2 : "");
	bpfvm_object_free(obj);
}

static struct image copy_image(const struct image *im)
{
	struct image c = { malloc(im->len), im->len };
	memcpy(c.buf, im->buf, im->len);
	return c;
}

static void test_broken_elf(void)
{
	struct image base = load_image("xdp_hash");
	if (!base.buf)
		return;
	expect_error("empty buffer", base.buf, 0, -ENOEXEC, "not an ELF file", NULL);
	expect_error("three bytes", base.buf, 3, -ENOEXEC, "not an ELF file", NULL);
	expect_error("header cut", base.buf, 40, -ENOEXEC, "truncated", NULL);
	expect_error("half a file", base.buf, base.len / 2, -ENOEXEC, "outside the file", NULL);
	expect_error("not ELF", "hello world, this is not an ELF object at all", 44, -ENOEXEC,
	             "not an ELF file", NULL);

	struct image c = copy_image(&base);
	c.buf[EI_CLASS] = ELFCLASS32;
	expect_error("ELFCLASS32", c.buf, c.len, -ENOEXEC, "64-bit", NULL);
	memcpy(c.buf, base.buf, c.len);
	c.buf[EI_DATA] = ELFDATA2MSB;
	expect_error("big-endian", c.buf, c.len, -ENOEXEC, "little-endian", NULL);
	memcpy(c.buf, base.buf, c.len);
	ehdr(&c)->e_machine = EM_X86_64;
	expect_error("wrong machine", c.buf, c.len, -ENOEXEC, "machine 62", "EM_BPF");
	memcpy(c.buf, base.buf, c.len);
	ehdr(&c)->e_type = ET_EXEC;
	expect_error("executable", c.buf, c.len, -ENOEXEC, "not a relocatable object", NULL);
	memcpy(c.buf, base.buf, c.len);
	ehdr(&c)->e_shstrndx = 999;
	expect_error("section name table index", c.buf, c.len, -ENOEXEC, "section", NULL);
	memcpy(c.buf, base.buf, c.len);
	section(&c, "xdp")->sh_offset = base.len + 100;
	expect_error("xdp section outside the file", c.buf, c.len, -ENOEXEC, "'xdp'",
	             "outside the file");
	memcpy(c.buf, base.buf, c.len);
	section(&c, "xdp")->sh_name = 0x7fffffff;
	expect_error("section name offset", c.buf, c.len, -ENOEXEC, "name offset", NULL);
	memcpy(c.buf, base.buf, c.len);
	section(&c, ".symtab")->sh_type = SHT_PROGBITS;
	expect_error("no symbol table", c.buf, c.len, -ENOENT, "no symbol table", NULL);

	/* Relocations of the program. */
	memcpy(c.buf, base.buf, c.len);
	Elf64_Rel *rel = (Elf64_Rel *)(void *)(c.buf + section(&c, ".relxdp")->sh_offset);
	rel[0].r_info = ELF64_R_INFO(100000, ELF64_R_TYPE(rel[0].r_info));
	expect_error("relocation symbol index", c.buf, c.len, -ENOEXEC, "relocation #0",
	             "symbol #100000 does not exist");
	memcpy(c.buf, base.buf, c.len);
	rel[0].r_offset = 0x7fff8;
	expect_error("relocation offset", c.buf, c.len, -ENOEXEC, "relocation #0", "offset 0x7fff8");
	memcpy(c.buf, base.buf, c.len);
	rel[0].r_offset += 4;
	expect_error("misaligned relocation", c.buf, c.len, -ENOEXEC, "not an instruction", NULL);
	memcpy(c.buf, base.buf, c.len);
	rel[0].r_offset = 0;   /* instruction 0 is a load, not an lddw */
	expect_error("relocation of a non-lddw", c.buf, c.len, -EINVAL, "'.relxdp' relocation #0",
	             "neither a call nor an lddw");
	memcpy(c.buf, base.buf, c.len);
	rel[0].r_info = ELF64_R_INFO(symbol_index(&c, "LICENSE"), ELF64_R_TYPE(rel[0].r_info));
	expect_error("relocation to a non-map", c.buf, c.len, -EINVAL, "symbol 'LICENSE'",
	             "neither a map section nor global data");
	memcpy(c.buf, base.buf, c.len);
	{
		Elf64_Sym *flows = symbol(&c, "flows");
		flows->st_shndx = SHN_UNDEF;
		flows->st_info = ELF64_ST_INFO(STB_GLOBAL, STT_NOTYPE);
		/* BTF still names 'flows' in .maps: the fix-up fails first. */
		expect_error("map symbol made undefined", c.buf, c.len, -ENOENT, "'flows'", NULL);
	}
	memcpy(c.buf, base.buf, c.len);
	rel[0].r_info = ELF64_R_INFO(0, ELF64_R_TYPE(rel[0].r_info));
	expect_error("relocation against the null symbol", c.buf, c.len, -EINVAL, "relocation #0",
	             "in no section");
	memcpy(c.buf, base.buf, c.len);
	symbol(&c, "count_packets")->st_size += 8 * 1000;
	expect_error("program crossing its section", c.buf, c.len, -ENOEXEC, "count_packets",
	             "crosses the end");
	memcpy(c.buf, base.buf, c.len);
	symbol(&c, "count_packets")->st_info = ELF64_ST_INFO(STB_LOCAL, STT_FUNC);
	expect_error("static program", c.buf, c.len, -EOPNOTSUPP, "'count_packets' is static", NULL);

	/* BTF. */
	memcpy(c.buf, base.buf, c.len);
	Elf64_Shdr *btf_sh = section(&c, ".BTF");
	c.buf[btf_sh->sh_offset] ^= 0xff;
	expect_error("BTF magic", c.buf, c.len, -EINVAL, "'.BTF'", "magic");
	memcpy(c.buf, base.buf, c.len);
	{
		struct btf_header h;
		memcpy(&h, c.buf + btf_sh->sh_offset, sizeof h);
		/* First type is usually a PTR or INT; make its reference absurd. */
		struct btf_type *t = (struct btf_type *)(void *)(c.buf + btf_sh->sh_offset +
		                                                 h.hdr_len + h.type_off);
		t->info = (uint32_t)BTF_KIND_PTR << 24;
		t->type = 0xfffff;
		expect_error("BTF type id out of range", c.buf, c.len, -EINVAL, "type [1]",
		             "out of range");
		memcpy(c.buf, base.buf, c.len);
		c.buf[btf_sh->sh_offset + h.hdr_len + h.str_off + h.str_len - 1] = 'x';
		expect_error("BTF strings unterminated", c.buf, c.len, -EINVAL, "string section", NULL);
		memcpy(c.buf, base.buf, c.len);
		h.type_len += 1000000;
		memcpy(c.buf + btf_sh->sh_offset, &h, sizeof h);
		expect_error("BTF type section too long", c.buf, c.len, -EINVAL, "type section", NULL);
	}
	/* .BTF.ext */
	memcpy(c.buf, base.buf, c.len);
	{
		Elf64_Shdr *ext = section(&c, ".BTF.ext");
		uint32_t hdr_len, line_off;
		memcpy(&hdr_len, c.buf + ext->sh_offset + 4, 4);
		memcpy(&line_off, c.buf + ext->sh_offset + 16, 4);
		uint32_t bad = 3;
		memcpy(c.buf + ext->sh_offset + hdr_len + line_off, &bad, 4);
		expect_error("BTF.ext record size", c.buf, c.len, -EINVAL, "line info", "record size 3");
		memcpy(c.buf, base.buf, c.len);
		/* First line record's instruction offset: past the section. */
		uint32_t far = 0x100000;
		memcpy(c.buf + ext->sh_offset + hdr_len + line_off + 4 + 8, &far, 4);
		expect_error("BTF.ext line offset", c.buf, c.len, -EINVAL, "line record #0",
		             "not an instruction");
	}
	free(c.buf);
	free(base.buf);

	/* Subprogram calls. */
	base = load_image("subprogs");
	if (!base.buf)
		return;
	c = copy_image(&base);
	{
		/* xdp_main's first call targets .text instruction 23 (sum_of_squares); move
		 * it into the middle of a function. */
		Elf64_Shdr *xdp = section(&c, "xdp");
		bpfvm_insn *code = (bpfvm_insn *)(void *)(c.buf + xdp->sh_offset);
		code[1].imm += 1;
		expect_error("call into the middle of a function", c.buf, c.len, -EINVAL,
		             "program 'xdp_main'", "not the start of a function");
		memcpy(c.buf, base.buf, c.len);
		Elf64_Rel *r = (Elf64_Rel *)(void *)(c.buf + section(&c, ".relxdp")->sh_offset);
		r[0].r_info = ELF64_R_INFO(symbol_index(&c, "hits"), ELF64_R_TYPE(r[0].r_info));
		expect_error("call relocation against a map", c.buf, c.len, -EINVAL,
		             "relocation #0", "neither .text nor the caller's own section");
	}
	free(c.buf);
	free(base.buf);

	bpfvm_object *obj = NULL;
	bpfvm_error err = { 0 };
	int rc = bpfvm_object_open("/nonexistent/dir/x.o", &obj, &err);
	CHECK(rc == -ENOENT && strstr(err.msg, "/nonexistent/dir/x.o"),
	      "missing file: rc %d '%s'", rc, err.msg);
	rc = bpfvm_object_open_mem(NULL, 10, "x", &obj, &err);
	CHECK(rc == -EINVAL, "NULL buffer: rc %d", rc);
}

/* Broken objects that are easiest to write in C. */
static void test_broken_sources(void)
{
	if (!tmp_dir[0])
		return;   /* no clang */
	static const struct {
		const char *name, *code, *needle;
		int rc;
	} cases[] = {
		{ "no_map_type",
		  "struct { __uint(max_entries, 4); __type(key, int); __type(value, int); } m SEC(\".maps\");\n"
		  "SEC(\"xdp\") int f(void *c) { return bpf_map_lookup_elem(&m, &(int){0}) != 0; }\n",
		  "map type isn't specified", -EINVAL },
		{ "unknown_map_field",
		  "struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __uint(color, 3);\n"
		  "  __type(key, int); __type(value, int); } m SEC(\".maps\");\n"
		  "SEC(\"xdp\") int f(void *c) { return bpf_map_lookup_elem(&m, &(int){0}) != 0; }\n",
		  "unknown field 'color'", -EOPNOTSUPP },
		{ "key_conflict",
		  "struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __uint(key_size, 2);\n"
		  "  __type(key, long); __type(value, int); } m SEC(\".maps\");\n"
		  "SEC(\"xdp\") int f(void *c) { return bpf_map_lookup_elem(&m, &(long){0}) != 0; }\n",
		  "conflicting key size", -EINVAL },
		/* a kfunc extern now opens (test_externs: refused by name at load) */
		{ "ksym_extern",
		  "extern int bpf_prog_active __ksym;\n"
		  "SEC(\"tp_btf/sys_enter\") int f(void *c) { return bpf_prog_active; }\n",
		  "extern 'bpf_prog_active'", -ESRCH },
		{ "two_spin_locks",
		  "struct v { struct bpf_spin_lock a; struct bpf_spin_lock b; };\n"
		  "struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, int);\n"
		  "  __type(value, struct v); } m SEC(\".maps\");\n"
		  "SEC(\"tc\") int f(void *c) { return bpf_map_lookup_elem(&m, &(int){0}) != 0; }\n",
		  "more than one struct bpf_spin_lock", -EINVAL },
		{ "static_program",
		  "SEC(\"xdp\") static int f(void *c) { return 1; }\n"
		  "SEC(\"xdp\") int g(void *c) { return f(c); }\n",
		  "is static", -EOPNOTSUPP },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char src[700], out[700], diag[700];
		snprintf(src, sizeof src, "%s/%s.c", tmp_dir, cases[i].name);
		snprintf(out, sizeof out, "%s/%s.o", tmp_dir, cases[i].name);
		snprintf(diag, sizeof diag, "%s/%s.log", tmp_dir, cases[i].name);
		FILE *f = fopen(src, "w");
		if (!f)
			continue;
		fprintf(f, "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n%s"
		           "char LICENSE[] SEC(\"license\") = \"GPL\";\n", cases[i].code);
		fclose(f);
		if (compile_bpf(src, out, diag) != 0) {
			CHECK(false, "%s: clang failed (see %s)", cases[i].name, diag);
			continue;
		}
		bpfvm_object *obj = NULL;
		bpfvm_error err = { 0 };
		int rc = bpfvm_object_open(out, &obj, &err);
		CHECK(rc == cases[i].rc && strstr(err.msg, cases[i].needle) && strstr(err.msg, out),
		      "%s: rc %d (want %d), '%s' (want '%s')", cases[i].name, rc, cases[i].rc, err.msg,
		      cases[i].needle);
		bpfvm_object_free(obj);
	}
}

/* Every prefix and many single-byte changes of real objects: each either
 * opens or fails with a message; ASan builds catch what else happens. */
static void test_mutations(void)
{
	static const char *const names[] = { "xdp_hash", "subprogs", "map_in_map", "global_data" };
	uint64_t state = 0x9e3779b97f4a7c15ULL;
	size_t opened = 0, rejected = 0, bad = 0;
	for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
		struct image base = load_image(names[n]);
		if (!base.buf)
			continue;
		struct image c = copy_image(&base);
		for (size_t round = 0; round < 1500 + base.len / 8; round++) {
			memcpy(c.buf, base.buf, base.len);
			size_t len = base.len;
			if (round < base.len / 8) {
				len = round * 8;   /* every 8-byte prefix */
			} else {
				for (int k = 0; k < 1 + (int)(round % 3); k++) {
					state ^= state << 13, state ^= state >> 7, state ^= state << 17;
					c.buf[state % base.len] = (uint8_t)(state >> 32);
				}
			}
			bpfvm_object *obj = NULL;
			bpfvm_error err = { 0 };
			int rc = bpfvm_object_open_mem(c.buf, len, names[n], &obj, &err);
			if (rc == 0) {
				opened++;
				/* Walk what it gives. */
				for (size_t i = 0; i < bpfvm_object_prog_count(obj); i++) {
					const bpfvm_object_prog *p = bpfvm_object_prog_at(obj, i);
					for (size_t k = 0; k < p->insn_count; k++)
						bpfvm_object_line_info(obj, i, k, NULL, NULL, NULL, NULL);
				}
				bpfvm_object_free(obj);
			} else {
				rejected++;
				if (rc >= 0 || err.code != rc || !err.msg[0] || obj)
					bad++;
			}
		}
		free(c.buf);
		free(base.buf);
	}
	CHECK(bad == 0, "mutations: %zu failures without a proper error", bad);
	CHECK(opened > 0 && rejected > 0, "mutations: %zu opened, %zu rejected", opened, rejected);
}

/* Reproducers of past fuzzing findings (tests/fuzz_loader/regressions/):
 * each must open or fail cleanly. */
static void test_fuzz_regressions(void)
{
	char dir[600];
	snprintf(dir, sizeof dir, "%s/fuzz_loader/regressions", BPFVM_TESTS_DIR);
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[1200];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		bpfvm_object *obj = NULL;
		bpfvm_error err = { 0 };
		int rc = bpfvm_object_open(path, &obj, &err);
		CHECK(rc == 0 ? obj != NULL : (obj == NULL && err.code == rc && err.msg[0]),
		      "regression %s: rc %d '%s'", e->d_name, rc, err.msg);
		bpfvm_object_free(obj);
		n++;
	}
	if (d)
		closedir(d);
	CHECK(n > 0, "no fuzzing regressions found in %s", dir);
}

static void cleanup_tmp(void)
{
	if (!tmp_dir[0])
		return;
	DIR *d = opendir(tmp_dir);
	struct dirent *e;
	char path[1100];
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", tmp_dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(tmp_dir);
}

int main(void)
{
	libbpf_set_print(quiet_print);
	if (!prepare_objects()) {
		printf("SKIP test_loader: no clang (set BPFVM_CLANG) and no prebuilt objects "
		       "(set BPFVM_TEST_OBJECTS)\n");
		return 77;
	}
	for (size_t i = 0; i < OBJECT_COUNT; i++)
		if (strcmp(object_names[i], "legacy_maps") != 0)  /* libbpf 1.x refuses it */
			compare_with_libbpf(object_names[i]);
	test_xdp_hash();
	test_legacy_maps();
	test_global_data();
	test_subprogs();
	test_sections();
	test_prog_array();
	test_map_in_map();
	test_ringbuf_spinlock_loop();
	test_raw_mem();
	test_text_only();
	test_sec_defs();
	test_broken_elf();
	test_broken_sources();
	test_mutations();
	test_fuzz_regressions();
	cleanup_tmp();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
