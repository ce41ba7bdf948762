/*
 * test_core_modules.c - CO-RE candidates from kernel modules' BTF: with no
 * candidate in vmlinux, the modules' split BTFs under the sysfs BTF
 * directory are searched, as libbpf does; a vmlinux candidate wins over a
 * module's; a type found nowhere poisons its relocation; a --btf target
 * turns the module search off.  The directory is the test's own (this
 * machine's kernel may have no modules with BTF): a vmlinux and a module
 * bpfvm_testmod built here with libbpf's BTF writer.
 */
#include <bpf/btf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpfvm/object.h"
#include "loader/loader.h"
#include "support/check.h"

static int write_btf(const struct btf *btf, const char *path)
{
	uint32_t size;
	const void *raw = btf__raw_data(btf, &size);
	FILE *f = fopen(path, "wb");
	if (!raw || !f || fwrite(raw, 1, size, f) != size) {
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f);
}

/* struct NAME with int FIELD at byte `off` (after a long pad when off >= 8;
 * a gap before it otherwise). */
static int add_struct(struct btf *btf, int int_id, int long_id, const char *name, const char *field, uint32_t off)
{
	int id = btf__add_struct(btf, name, off + 4);
	if (off >= 8)
		btf__add_field(btf, "pad", long_id, 0, 0);
	btf__add_field(btf, field, int_id, off * 8, 0);
	return id;
}

static bool make_dir(const char *dir)
{
	struct btf *base = btf__new_empty();
	int int_id = btf__add_int(base, "int", 4, BTF_INT_SIGNED);
	int long_id = btf__add_int(base, "long", 8, BTF_INT_SIGNED);
	add_struct(base, int_id, long_id, "bpfvm_base_thing", "b", 4);
	char path[512];
	snprintf(path, sizeof path, "%s/vmlinux", dir);
	bool ok = write_btf(base, path) == 0;
	struct btf *mod = btf__new_empty_split(base);
	add_struct(mod, int_id, long_id, "bpfvm_mod_thing", "val", 8);
	add_struct(mod, int_id, long_id, "bpfvm_base_thing", "b", 12);
	snprintf(path, sizeof path, "%s/bpfvm_testmod", dir);
	ok = ok && write_btf(mod, path) == 0;
	/* an unreadable module is skipped, as libbpf skips it */
	snprintf(path, sizeof path, "%s/broken_mod", dir);
	FILE *f = fopen(path, "w");
	ok = ok && f && fputs("not BTF", f) >= 0 && fclose(f) == 0;
	btf__free(mod);
	btf__free(base);
	return ok;
}

static const bpfvm_object_core_relo *relo_of(const bpfvm_object *obj, const char *type)
{
	for (size_t i = 0; i < bpfvm_object_core_relo_count(obj); i++) {
		const bpfvm_object_core_relo *r = bpfvm_object_core_relo_at(obj, i);
		if (!strcmp(r->type_name, type) && r->kind == 0)
			return r;
	}
	return NULL;
}

int main(void)
{
	char dir[] = "/tmp/bpfvm-sysfs-btf-XXXXXX";
	if (!mkdtemp(dir) || !make_dir(dir)) {
		printf("FAIL cannot make the BTF directory %s: %s\n", dir, strerror(errno));
		return 1;
	}
	const char *obj_path = BPFVM_TEST_CORE_DIR "/core_module.bpf.o";
	ldr_sysfs_btf_dir = dir;
	bpfvm_object *obj = NULL;
	bpfvm_error err = { 0 };
	if (CHECK(bpfvm_object_open(obj_path, &obj, &err) == 0, "%s: %s", obj_path, err.msg)) {
		const bpfvm_object_core_relo *mod = relo_of(obj, "bpfvm_mod_thing");
		const bpfvm_object_core_relo *base = relo_of(obj, "bpfvm_base_thing");
		const bpfvm_object_core_relo *absent = relo_of(obj, "bpfvm_absent_thing");
		if (CHECK(mod && base && absent, "the object lacks one of its three relocations")) {
			CHECK(!mod->poisoned && mod->target_value == 8,
			      "module type: offset %llu%s, want 8 from bpfvm_testmod", (unsigned long long)mod->target_value,
			      mod->poisoned ? " (poisoned)" : "");
			CHECK(!base->poisoned && base->target_value == 4,
			      "type in vmlinux and the module: offset %llu, want vmlinux's 4",
			      (unsigned long long)base->target_value);
			CHECK(absent->poisoned, "a type found nowhere must poison its relocation");
		}
		bpfvm_object_free(obj);
	}
	/* with a target of the caller's, no module is searched */
	char vmlinux[512];
	snprintf(vmlinux, sizeof vmlinux, "%s/vmlinux", dir);
	BPFVM_OPTS(bpfvm_object_open_opts, o, .btf_custom_path = vmlinux);
	obj = NULL;
	if (CHECK(bpfvm_object_open_file(obj_path, &o, &obj, &err) == 0, "%s --btf: %s", obj_path, err.msg)) {
		const bpfvm_object_core_relo *mod = relo_of(obj, "bpfvm_mod_thing");
		CHECK(mod && mod->poisoned, "with --btf the module's type must not be found");
		bpfvm_object_free(obj);
	}
	/* a directory without vmlinux: a clear error naming the path */
	char empty[] = "/tmp/bpfvm-sysfs-empty-XXXXXX";
	if (CHECK(mkdtemp(empty) != NULL, "mkdtemp")) {
		ldr_sysfs_btf_dir = empty;
		obj = NULL;
		int rc = bpfvm_object_open(obj_path, &obj, &err);
		CHECK(rc != 0 && strstr(err.msg, "/vmlinux cannot be read"), "no vmlinux: rc %d, %s", rc, err.msg);
		bpfvm_object_free(obj);
		rmdir(empty);
	}
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("note: could not remove %s\n", dir);
	return check_summary();
}
