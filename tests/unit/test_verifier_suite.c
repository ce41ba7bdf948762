/*
 * test_verifier_suite.c - bpfvm's verifier on the negative suite
 * (tests/verifier/negative/): every annotated program gets the annotated
 * verdict from bpfvm_verify(), a rejection with the annotated text (the
 * kernel's words, which test_verifier_kernel_suite.c checks against the
 * running kernel) in its message or log.  No program of the suite may be
 * "unsupported": they use only program types and helpers bpfvm has.
 *
 * Built only with -DBPFVM_HAVE_VERIFIER=ON (tests/CMakeLists.txt), since
 * it needs src/verifier.  Set BPFVM_SUITE_VERBOSE=1 to print every
 * verdict and the log of every rejection.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/instance.h"
#include "bpfvm/object.h"
#include "bpfvm/verifier.h"
#include "support/check.h"
#include "support/suite.h"
#include "support/verifier_testlib.h"

struct line_ctx {
	const bpfvm_object *obj;
	size_t prog;
};

static int line_of(void *user, size_t insn, const char **file, uint32_t *line, const char **text)
{
	const struct line_ctx *l = user;
	return bpfvm_object_line_info(l->obj, l->prog, insn, file, line, NULL, text);
}

static const char *rc_name(int rc)
{
	switch (rc) {
	case 0: return "accept";
	case -EACCES: return "reject (EACCES)";
	case -EINVAL: return "reject (EINVAL)";
	case -E2BIG: return "reject (E2BIG)";
	case -ENOTSUP: return "unsupported";
	default: return "other error";
	}
}

/* Checks one verdict: rc from bpfvm_verify, err and the log. */
static void judge(const struct suite_case *c, int rc, const bpfvm_error *err, const struct logbuf *log,
                  const bpfvm_verify_stats *stats)
{
	bool verbose = getenv("BPFVM_SUITE_VERBOSE") != NULL;
	const char *text = log->text ? log->text : "";
	bool msg_ok = !c->expect_reject || strstr(err->msg, c->msg) || strstr(text, c->msg);
	bool verdict_ok = c->expect_reject ? (rc == -EACCES || rc == -EINVAL || rc == -E2BIG) : rc == 0;
	if (verbose || !verdict_ok || !msg_ok)
		printf("%-4s %s %s: bpfvm %s (%llu insns)%s%s\n", verdict_ok && msg_ok ? "ok" : "FAIL", c->file, c->prog,
		       rc_name(rc), (unsigned long long)stats->processed_insns, rc ? ": " : "", rc ? err->msg : "");
	CHECK(rc != -ENOTSUP, "%s:%d %s: bpfvm says unsupported: %s", c->file, c->line, c->prog, err->msg);
	CHECK(verdict_ok, "%s:%d %s: annotated %s, bpfvm says %s (insn %d: %s)", c->file, c->line, c->prog,
	      c->expect_reject ? "reject" : "accept", rc_name(rc), err->insn, err->msg);
	if (c->expect_reject && rc != 0)
		CHECK(msg_ok, "%s:%d %s: bpfvm's message lacks \"%s\": %s\n%s", c->file, c->line, c->prog, c->msg, err->msg,
		      text);
	if (verbose && rc)
		printf("%s\n", text);
}

static void run_asm(const struct suite_case *c)
{
	char *src = suite_asm_text(c);
	bpfvm_insn *insns = NULL;
	size_t count = 0;
	bpfvm_error err = { 0 };
	if (!src || bpfvm_asm(src, &insns, &count, &err)) {
		CHECK(0, "%s: cannot assemble: line %d: %s", c->file, err.line, err.msg);
		free(src);
		return;
	}
	struct logbuf log = { 0 };
	bpfvm_verify_stats stats = { 0 };
	BPFVM_OPTS(bpfvm_verify_opts, opts,
		.prog_type = c->prog_type,
		.log_level = 1,
		.log = log_append,
		.log_user = &log
	);
	memset(&err, 0, sizeof err);
	int rc = bpfvm_verify(insns, count, &opts, &stats, &err);
	judge(c, rc, &err, &log, &stats);
	free(log.text);
	free(insns);
	free(src);
}

/* The maps of an object, created as the loader would (before binding). */
static int create_maps(const bpfvm_object *obj, bpfvm_map ***out, size_t *count)
{
	size_t n = bpfvm_object_map_count(obj);
	bpfvm_map **maps = calloc(n ? n : 1, sizeof *maps);
	int rc = maps ? 0 : -1;
	for (size_t i = 0; i < n && !rc; i++) {
		const bpfvm_object_map *om = bpfvm_object_map_at(obj, i);
		bpfvm_error err = { 0 };
		bpfvm_map *inner = NULL;
		if (om->has_inner) {
			bpfvm_map_def idef = bpfvm_object_map_def(&om->inner);
			if (bpfvm_map_create(&idef, &inner, &err)) {
				CHECK(0, "map %s (inner): %s", om->name, err.msg);
				rc = -1;
				break;
			}
		}
		bpfvm_map_def def = bpfvm_object_map_def(&om->attrs);
		def.name = om->name;
		def.inner = inner;
		if (bpfvm_map_create(&def, &maps[i], &err)) {
			CHECK(0, "map %s: %s", om->name, err.msg);
			rc = -1;
		}
		bpfvm_map_put(inner);
	}
	if (rc) {
		for (size_t i = 0; maps && i < n; i++)
			bpfvm_map_put(maps[i]);
		free(maps);
		return -1;
	}
	*out = maps;
	*count = n;
	return 0;
}

static void run_object(const struct suite_case *c)
{
	char path[512];
	suite_obj_path(c, path, sizeof path);
	bpfvm_object *obj;
	bpfvm_error err = { 0 };
	if (bpfvm_object_open(path, &obj, &err)) {
		CHECK(0, "%s: %s", path, err.msg);
		return;
	}
	int idx = bpfvm_object_find_prog(obj, c->prog);
	CHECK(idx >= 0, "%s: no program %s", path, c->prog);
	bpfvm_map **maps = NULL;
	size_t nmaps = 0;
	if (idx >= 0 && !create_maps(obj, &maps, &nmaps)) {
		const bpfvm_object_prog *p = bpfvm_object_prog_at(obj, (size_t)idx);
		struct logbuf log = { 0 };
		struct line_ctx lines = { obj, (size_t)idx };
		bpfvm_verify_stats stats = { 0 };
		BPFVM_OPTS(bpfvm_verify_opts, opts,
			.prog_type = p->type,
			.maps = maps,
			.map_count = nmaps,
			.line_info = line_of,
			.line_user = &lines,
			.log_level = 1,
			.log = log_append,
			.log_user = &log,
			.license = bpfvm_object_license(obj),
			.prog_btf = bpfvm_object_btf(obj),
			.func_info = p->func_info,
			.func_info_count = p->func_info_count,
			.sleepable = p->sleepable,
			.kernel_btf = bpfvm_object_kernel_btf(obj)
		);
		memset(&err, 0, sizeof err);
		/* kfunc calls bound by name, as loading an instance does */
		bpfvm_insn *insns = malloc(p->insn_count * sizeof *insns);
		int rc = insns ? 0 : -ENOMEM;
		if (insns) {
			memcpy(insns, p->insns, p->insn_count * sizeof *insns);
			rc = bpfvm_object_bind_kfuncs(obj, (size_t)idx, insns, &err);
		}
		if (!rc)
			rc = bpfvm_verify(insns, p->insn_count, &opts, &stats, &err);
		judge(c, rc, &err, &log, &stats);
		free(insns);
		free(log.text);
	}
	for (size_t i = 0; i < nmaps; i++)
		if (maps[i])
			bpfvm_map_put(maps[i]);
	free(maps);
	bpfvm_object_free(obj);
}

int main(void)
{
	struct suite s;
	if (suite_load(&s)) {
		printf("FAIL: %s\n", s.error);
		return 1;
	}
	for (size_t i = 0; i < s.count; i++) {
		if (s.cases[i].is_asm)
			run_asm(&s.cases[i]);
		else
			run_object(&s.cases[i]);
	}
	printf("%zu programs of the negative suite\n", s.count);
	suite_free(&s);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
