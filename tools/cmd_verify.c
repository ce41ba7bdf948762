/*
 * cmd_verify.c - `bpfvm verify`: the verifier's verdict on each program of
 * a clang object (or on an assembly file), with the reason, the source
 * line, the register state and the path of a rejection, and with -v the
 * kernel-style log and statistics.
 *
 * Exit status: 0 if every program checked is accepted, 1 if one is
 * rejected as unsafe, 2 for a usage error or what the verifier cannot
 * handle (an unsupported program type or helper, an unreadable object).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/instance.h"
#include "bpfvm/verifier.h"
#include "cli.h"
#include "common/datafile.h"

static void print_log(void *user, const char *text)
{
	(void)user;
	fputs(text, stdout);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bpfvm verify OBJ [--prog NAME] [--strict-alignment] [-v|-vv] " OBJECT_ARGS_USAGE "\n"
	           "       bpfvm verify FILE.s [--type TYPE] [--mem-size N] [--sleepable] [--strict-alignment] [-v|-vv]\n"
	           "Verifies each program of a clang-built object (or only NAME) as the kernel's\n"
	           "verifier would, and prints the verdict.  A rejection names the instruction,\n"
	           "its source line, the register state and the branches taken to get there.\n"
	           "-v prints the instructions walked and the kernel's summary line; -vv adds\n"
	           "the register state after every instruction.  Exit status: 0 all accepted,\n"
	           "1 some program rejected, 2 usage error or unsupported.  --strict-alignment\n"
	           "checks every access's alignment, as the kernel's BPF_F_STRICT_ALIGNMENT.\n"
	           "--sleepable verifies FILE.s as loaded with BPF_F_SLEEPABLE (an object's\n"
	           "sections say it: uprobe.s, iter.s, ...).\n"
	           OBJECT_OPTIONS_HELP
	           "-v also logs each CO-RE relocation applied.\n");
}

/* Status for one verdict: 0 accepted, 1 unsafe, 2 unsupported or other. */
static int status_of(int rc)
{
	if (!rc)
		return 0;
	if (rc == -EACCES || rc == -EINVAL || rc == -E2BIG)
		return 1;
	return 2;
}

static void print_verdict(const char *name, int rc, const bpfvm_verify_stats *st, const bpfvm_error *err)
{
	if (!rc)
		printf("%s: accepted (processed %" PRIu64 " insns, %u states, %.3f ms)\n", name, st->processed_insns,
		       st->total_states, (double)st->nanoseconds / 1e6);
	else if (status_of(rc) == 2)
		printf("%s: unsupported: %s\n", name, err->msg);
	else
		printf("%s: rejected: %s\n", name, err->msg);
}

/* What `bpfvm verify FILE.s` takes besides the file. */
struct asm_args {
	uint32_t type, mem_size;
	int level;
	bool strict, sleepable;
};

static int verify_asm(const char *path, const struct asm_args *a)
{
	char *text;
	size_t len;
	if (read_file(path, &text, &len))
		return 2;
	char *body = datafile_section(text, "asm");
	bpfvm_insn *insns = NULL;
	size_t count = 0;
	bpfvm_error err = { 0 };
	int rc = bpfvm_asm(body ? body : text, &insns, &count, &err);
	free(body);
	free(text);
	if (rc) {
		fail("%s: line %d: %s", path, err.line, err.msg);
		return 2;
	}
	BPFVM_OPTS(bpfvm_verify_opts, vo,
		.prog_type = a->type, .mem_size = a->mem_size, .log_level = a->level, .log = print_log,
		.strict_alignment = a->strict, .sleepable = a->sleepable
	);
	bpfvm_verify_stats st;
	rc = bpfvm_verify(insns, count, &vo, &st, &err);
	print_verdict(path, rc, &st, &err);
	free(insns);
	return status_of(rc);
}

static uint32_t type_by_name(const char *name)
{
	for (uint32_t t = 1; t < 64; t++) {
		const char *n = bpfvm_prog_type_name(t);
		if (n && !strcmp(n, name))
			return t;
	}
	if (!strcmp(name, "raw"))
		return BPFVM_PROG_TYPE_RAW;
	return UINT32_MAX;
}

int cmd_verify(int argc, char **argv)
{
	const char *path = NULL, *prog = NULL, *type_name = NULL;
	int level = 0;
	uint32_t mem_size = 0;
	bool strict = false, sleepable = false;
	struct object_args oa = { 0 };
	for (int i = 1; i < argc; i++) {
		int taken = object_arg(&oa, argc, argv, &i, "verify");
		if (taken < 0)
			return 2;
		if (taken)
			continue;
		const char *o = argv[i];
		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(o, "-v")) {
			level = level < 1 ? 1 : level;
		} else if (!strcmp(o, "-vv")) {
			level = 2;
		} else if (!strcmp(o, "--strict-alignment")) {
			strict = true;
		} else if (!strcmp(o, "--sleepable")) {
			sleepable = true;
		} else if (!strcmp(o, "--prog") || !strcmp(o, "--type") || !strcmp(o, "--mem-size")) {
			if (i + 1 == argc) {
				fail("verify: %s needs a value", o);
				return 2;
			}
			const char *v = argv[++i];
			if (!strcmp(o, "--prog"))
				prog = v;
			else if (!strcmp(o, "--type"))
				type_name = v;
			else {
				char *end;
				errno = 0;
				unsigned long n = strtoul(v, &end, 0);
				if (errno || *end || !*v || v[0] == '-' || n > UINT32_MAX) {
					fail("verify: --mem-size: '%s' is not a size", v);
					return 2;
				}
				mem_size = (uint32_t)n;
			}
		} else if (o[0] != '-' && !path) {
			path = o;
		} else {
			fail("verify: unknown option '%s' (see 'bpfvm verify --help')", o);
			return 2;
		}
	}
	if (!path) {
		usage(stderr);
		return 2;
	}
	if (has_suffix(path, ".s") || has_suffix(path, ".asm") || has_suffix(path, ".data")) {
		uint32_t type = BPFVM_PROG_TYPE_RAW;
		if (type_name && (type = type_by_name(type_name)) == UINT32_MAX) {
			fail("verify: unknown program type '%s'", type_name);
			return 2;
		}
		struct asm_args a = { .type = type, .mem_size = mem_size, .level = level, .strict = strict,
		                      .sleepable = sleepable };
		return verify_asm(path, &a);
	}
	if (sleepable) {
		fail("verify: --sleepable is for assembly files; an object's sections say which programs are "
		     "sleepable (uprobe.s, iter.s, ...)");
		return 2;
	}
	bpfvm_object *obj;
	bpfvm_error err = { 0 };
	oa.verbose = level > 0;
	if (object_open(path, &oa, &obj))
		return 2;
	if (prog && bpfvm_object_find_prog(obj, prog) < 0) {
		fail("%s: no program named '%s' (see 'bpfvm prog show %s')", path, prog, path);
		bpfvm_object_free(obj);
		return 2;
	}
	int worst = 0, checked = 0;
	for (size_t i = 0; i < bpfvm_object_prog_count(obj); i++) {
		const bpfvm_object_prog *p = bpfvm_object_prog_at(obj, i);
		if (prog ? strcmp(p->name, prog) != 0 : !p->autoload)
			continue;
		bpfvm_verify_stats st = { 0 };
		BPFVM_OPTS(bpfvm_instance_opts, io,
			.only_prog = p->name,
			.verify = true,
			.verify_log_level = level,
			.verify_strict_alignment = strict,
			.verify_log = print_log,
			.verify_stats = &st,
			.no_pins = true   /* verifying leaves no pins, files or shared memory behind */
		);
		bpfvm_instance *inst = NULL;
		memset(&err, 0, sizeof err);
		int rc = bpfvm_instance_new(obj, &io, &inst, &err);
		bpfvm_instance_free(inst);
		print_verdict(p->name, rc, &st, &err);
		int s = status_of(rc);
		if (s > worst)
			worst = s;
		checked++;
	}
	bpfvm_object_free(obj);
	if (!checked) {
		fail("%s: no program to verify", path);
		return 2;
	}
	return worst;
}
