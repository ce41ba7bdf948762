/*
 * test_opts.c - sized options structs, as libbpf's: every entry point that
 * takes one refuses sz == 0 with a message naming the struct; accepts a
 * larger sz (a caller built against newer headers) only when the bytes
 * this library does not know are zero; and reads a smaller sz (an older
 * caller) with the missing fields at their defaults, whatever memory lies
 * beyond it, writing nothing back past it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/instance.h"
#include "bpfvm/object.h"
#include "bpfvm/verifier.h"
#include "support/check.h"

/* r0 = 42; exit */
static const bpfvm_insn prog42[] = {
	{ .opcode = 0xb7, .dst = 0, .imm = 42 },
	{ .opcode = 0x95 },
};

static const char *example_object(void)
{
	return BPFVM_EXAMPLES_DIR "/globals_subprog.bpf.o";
}

/* rc is -EINVAL and err names the struct and the way to fix it. */
static void check_refused_zero(int rc, const bpfvm_error *err, const char *type)
{
	char want[128];
	snprintf(want, sizeof want, "%s: sz is 0; initialise it with BPFVM_OPTS", type);
	CHECK(rc == -EINVAL, "%s with sz 0: rc %d, want -EINVAL", type, rc);
	CHECK(strcmp(err->msg, want) == 0, "%s with sz 0: message '%s', want '%s'", type, err->msg, want);
}

static bpfvm_program *load42(void)
{
	BPFVM_OPTS(bpfvm_load_opts, lo, .name = "prog42");
	bpfvm_program *prog = NULL;
	bpfvm_error err = { 0 };
	int rc = bpfvm_program_load(prog42, 2, &lo, &prog, &err);
	CHECK(rc == 0, "load: %s", err.msg);
	return prog;
}

static void test_macro(void)
{
	BPFVM_OPTS(bpfvm_run_opts, ro, .mode = BPFVM_UNCHECKED);
	CHECK(ro.sz == sizeof ro, "BPFVM_OPTS sets sz: %zu", ro.sz);
	CHECK(ro.mode == BPFVM_UNCHECKED && ro.engine == 0 && ro.regions == NULL && ro.user == NULL,
	      "BPFVM_OPTS sets the fields given and zeroes the rest");
	ro.user = &ro;
	BPFVM_OPTS_RESET(ro, .engine = BPFVM_ENGINE_INTERP);
	CHECK(ro.sz == sizeof ro && ro.engine == BPFVM_ENGINE_INTERP && ro.mode == 0 && ro.user == NULL,
	      "BPFVM_OPTS_RESET starts over");
}

static void test_zero_sz(void)
{
	bpfvm_error err = { 0 };
	bpfvm_program *prog = NULL;

	bpfvm_load_opts lo = { .jit = true };
	check_refused_zero(bpfvm_program_load(prog42, 2, &lo, &prog, &err), &err, "bpfvm_load_opts");
	CHECK(prog == NULL, "no program from a refused load");

	bpfvm_program *p = load42();
	if (!p)
		return;
	uint64_t r0 = 0;
	bpfvm_run_opts ro = { .mode = BPFVM_CHECKED };
	check_refused_zero(bpfvm_program_run(p, &ro, &r0, &err), &err, "bpfvm_run_opts");

	uint8_t mem[8] = { 0 };
	bpfvm_test_run t = { .data_in = mem, .data_size_in = sizeof mem };
	check_refused_zero(bpfvm_program_test_run(p, &t, &err), &err, "bpfvm_test_run");

	bpfvm_verify_opts vo = { .prog_type = BPFVM_PROG_TYPE_RAW };
	check_refused_zero(bpfvm_verify(prog42, 2, &vo, NULL, &err), &err, "bpfvm_verify_opts");

	bpfvm_object *obj = NULL;
	bpfvm_object_open_opts oo = { .object_name = "x" };
	check_refused_zero(bpfvm_object_open_file(example_object(), &oo, &obj, &err), &err,
	                   "bpfvm_object_open_opts");
	CHECK(obj == NULL, "no object from a refused open");

	if (bpfvm_object_open(example_object(), &obj, &err) == 0) {
		bpfvm_instance *inst = NULL;
		bpfvm_instance_opts io = { .jit = false };
		check_refused_zero(bpfvm_instance_new(obj, &io, &inst, &err), &err, "bpfvm_instance_opts");
		CHECK(inst == NULL, "no instance from refused options");
		bpfvm_object_free(obj);
	} else {
		CHECK(false, "open %s: %s", example_object(), err.msg);
	}

	/* NULL is still "all defaults" */
	CHECK(bpfvm_program_run(p, NULL, &r0, &err) == 0 && r0 == 42, "NULL run options: %s", err.msg);
	bpfvm_program_free(p);
}

/* A caller built against newer headers: its struct is ours plus a field. */
struct newer_run_opts {
	bpfvm_run_opts known;
	uint64_t field_from_the_future;
};

struct newer_load_opts {
	bpfvm_load_opts known;
	uint32_t field_from_the_future;
};

static void test_larger_sz(void)
{
	bpfvm_error err = { 0 };
	bpfvm_program *p = load42();
	if (!p)
		return;
	struct newer_run_opts nr;
	memset(&nr, 0, sizeof nr);
	nr.known.sz = sizeof nr;
	uint64_t r0 = 0;
	int rc = bpfvm_program_run(p, &nr.known, &r0, &err);
	CHECK(rc == 0 && r0 == 42, "larger sz, zero tail: rc %d r0 %llu: %s", rc, (unsigned long long)r0, err.msg);
	nr.field_from_the_future = 1;
	rc = bpfvm_program_run(p, &nr.known, &r0, &err);
	CHECK(rc == -EINVAL, "larger sz, non-zero tail: rc %d, want -EINVAL", rc);
	CHECK(strstr(err.msg, "bpfvm_run_opts: byte ") != NULL && strstr(err.msg, "newer version") != NULL,
	      "larger sz, non-zero tail: message '%s'", err.msg);
	bpfvm_program_free(p);

	struct newer_load_opts nl;
	memset(&nl, 0, sizeof nl);
	nl.known.sz = sizeof nl;
	bpfvm_program *q = NULL;
	rc = bpfvm_program_load(prog42, 2, &nl.known, &q, &err);
	CHECK(rc == 0, "load, larger sz, zero tail: %s", err.msg);
	bpfvm_program_free(q);
	q = NULL;
	nl.field_from_the_future = 7;
	rc = bpfvm_program_load(prog42, 2, &nl.known, &q, &err);
	CHECK(rc == -EINVAL && q == NULL && strstr(err.msg, "bpfvm_load_opts: byte ") != NULL,
	      "load, larger sz, non-zero tail: rc %d '%s'", rc, err.msg);
}

/* A caller built against older headers knows only the fields before
 * `end`: whatever lies beyond must not be read, nor written. */
static void test_smaller_sz(void)
{
	bpfvm_error err = { 0 };
	/* load: an old caller knew only sz; the jit field beyond holds garbage */
	bpfvm_load_opts lo;
	memset(&lo, 0xff, sizeof lo);
	lo.sz = offsetof(bpfvm_load_opts, helpers);
	bpfvm_program *p = NULL;
	int rc = bpfvm_program_load(prog42, 2, &lo, &p, &err);
	CHECK(rc == 0, "load, old sz: %s", err.msg);
	if (!p)
		return;
	const void *code;
	size_t len;
	CHECK(bpfvm_program_jited(p, BPFVM_CHECKED, &code, &len) == -ENOENT,
	      "load, old sz: the jit flag beyond it was read");

	/* run: an old caller knew r1..r5 only; mode and engine beyond are garbage */
	bpfvm_run_opts ro;
	memset(&ro, 0xff, sizeof ro);
	ro.sz = offsetof(bpfvm_run_opts, mode);
	memset(ro.args, 0, sizeof ro.args);
	uint64_t r0 = 0;
	rc = bpfvm_program_run(p, &ro, &r0, &err);
	CHECK(rc == 0 && r0 == 42, "run, old sz: rc %d r0 %llu: %s", rc, (unsigned long long)r0, err.msg);

	/* test run: an old caller without retval and duration gets neither written */
	uint8_t mem[8] = { 0 };
	bpfvm_test_run t;
	memset(&t, 0, sizeof t);
	t.sz = offsetof(bpfvm_test_run, retval);
	t.data_in = mem;
	t.data_size_in = sizeof mem;
	t.retval = 0xdead;
	t.duration_ns = 0xbeef;
	rc = bpfvm_program_test_run(p, &t, &err);
	CHECK(rc == 0, "test run, old sz: %s", err.msg);
	CHECK(t.retval == 0xdead && t.duration_ns == 0xbeef, "test run, old sz: wrote past it (retval %llu)",
	      (unsigned long long)t.retval);
	t.sz = sizeof t;
	rc = bpfvm_program_test_run(p, &t, &err);
	CHECK(rc == 0 && t.retval == 42, "test run, full sz: retval %llu", (unsigned long long)t.retval);

	/* verify: an old caller without mem_size and log: the defaults */
	bpfvm_verify_opts vo;
	memset(&vo, 0xff, sizeof vo);
	vo.sz = offsetof(bpfvm_verify_opts, helpers);
	vo.prog_type = BPFVM_PROG_TYPE_RAW;
	rc = bpfvm_verify(prog42, 2, &vo, NULL, &err);
	CHECK(rc == 0, "verify, old sz: %s", err.msg);
	bpfvm_program_free(p);

	/* object open: an old caller without object_name: named after the file */
	bpfvm_object_open_opts oo;
	memset(&oo, 0, sizeof oo);
	oo.sz = offsetof(bpfvm_object_open_opts, object_name);
	oo.object_name = "ignored";
	bpfvm_object *obj = NULL;
	rc = bpfvm_object_open_file(example_object(), &oo, &obj, &err);
	CHECK(rc == 0 && strcmp(bpfvm_object_name(obj), "globals_subprog") == 0, "open, old sz: name '%s' %s",
	      obj ? bpfvm_object_name(obj) : "-", err.msg);
	bpfvm_object_free(obj);
	BPFVM_OPTS(bpfvm_object_open_opts, named, .object_name = "renamed");
	obj = NULL;
	rc = bpfvm_object_open_file(example_object(), &named, &obj, &err);
	CHECK(rc == 0 && strcmp(bpfvm_object_name(obj), "renamed") == 0, "open with object_name: '%s' %s",
	      obj ? bpfvm_object_name(obj) : "-", err.msg);
	bpfvm_object_free(obj);
}

int main(void)
{
	test_macro();
	test_zero_sz();
	test_larger_sz();
	test_smaller_sz();
	printf("test_opts: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}
