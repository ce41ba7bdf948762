/*
 * test_core_libbpf.c - bpfvm's CO-RE relocations against libbpf's.
 *
 * usage: test_core_libbpf [--run] [--changed] OBJ TARGET [OBJ TARGET ...]
 *
 * Each OBJ is opened by bpfvm and by libbpf (bpf_object__open_file with
 * btf_custom_path = TARGET, then bpf_object__load).  libbpf applies CO-RE
 * before BPF_PROG_LOAD; this process defines syscall() itself, so libbpf's
 * bpf() calls come here first: a BPF_PROG_LOAD of one of the object's
 * programs is recorded and answered with a descriptor of /dev/null (the
 * kernel never sees it, so a program it would refuse is still compared);
 * everything else (feature probes, maps) goes to the kernel.  Then, program
 * by program, every instruction bpfvm relocated must equal libbpf's
 * (opcode, registers, offset, immediate; both halves of an lddw), and
 * both must hold the same number of poisoned calls.  An object bpfvm
 * refuses (ambiguous or invalid relocations) agrees if libbpf refuses it
 * too before loading any of its programs.
 *
 * --changed: each object must have a relocation whose target value
 * differs from its local one (a target equal to the local BTF proves
 * nothing).  --run: bpfvm must verify every program except those named
 * poisoned_reached*, which it must refuse naming the CO-RE relocation,
 * and which must fail when run without verification.
 *
 * Needs bpf() (root); exits 77 (skipped) otherwise.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/instance.h"
#include "bpfvm/object.h"

#define MAX_PROGS 64

struct capture {
	char name[BPF_OBJ_NAME_LEN];
	struct bpf_insn *insns;
	size_t count;
};

static struct capture captures[MAX_PROGS];
static size_t capture_count;
static const bpfvm_object *capturing;   /* the bpfvm view of the object libbpf loads */
static bool capturing_any;              /* bpfvm refused the object: any program counts */
static int failures, checks, both_refused;

static bool is_object_prog(const char *name)
{
	if (capturing_any)
		return strcmp(name, "libbpf_nametest") != 0;
	for (size_t i = 0; capturing && i < bpfvm_object_prog_count(capturing); i++)
		if (strncmp(bpfvm_object_prog_at(capturing, i)->name, name, BPF_OBJ_NAME_LEN - 1) == 0)
			return true;
	return false;
}

static long capture_prog_load(const union bpf_attr *attr)
{
	if (capture_count == MAX_PROGS)
		return -1;
	struct capture *c = &captures[capture_count++];
	snprintf(c->name, sizeof c->name, "%s", attr->prog_name);
	c->count = attr->insn_cnt;
	c->insns = malloc(c->count * sizeof *c->insns);
	if (!c->insns)
		abort();
	memcpy(c->insns, (const void *)(uintptr_t)attr->insns, c->count * sizeof *c->insns);
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* libbpf's sys_bpf() calls syscall(__NR_bpf, ...): this definition, in the
 * executable, is the one it binds to. */
long syscall(long number, ...)
{
	va_list ap;
	long a[6];
	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (number == __NR_bpf && a[0] == BPF_PROG_LOAD) {
		const union bpf_attr *attr = (const void *)a[1];
		if (attr->prog_name[0] && is_object_prog(attr->prog_name))
			return capture_prog_load(attr);
	}
	static long (*real)(long, ...);
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static void fail(const char *obj, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "FAIL %s: ", obj);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	failures++;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN && getenv("CORE_TEST_VERBOSE"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

static bool same_prefix(const char *a, const char *b)
{
	return strncmp(a, b, BPF_OBJ_NAME_LEN - 1) == 0;
}

/* The capture of program pi: the kernel sees names cut to 15 characters,
 * so programs sharing a cut name are matched in load order. */
static const struct capture *capture_of(const bpfvm_object *obj, size_t pi)
{
	const char *name = bpfvm_object_prog_at(obj, pi)->name;
	size_t before = 0;
	for (size_t i = 0; i < pi; i++)
		before += bpfvm_object_prog_at(obj, i)->autoload && same_prefix(bpfvm_object_prog_at(obj, i)->name, name);
	for (size_t i = 0; i < capture_count; i++)
		if (same_prefix(captures[i].name, name) && before-- == 0)
			return &captures[i];
	return NULL;
}

static bool same_insn(const bpfvm_insn *a, const struct bpf_insn *b)
{
	return a->opcode == b->code && a->dst == b->dst_reg && a->src == b->src_reg && a->off == b->off &&
	       a->imm == b->imm;
}

static bool is_poison(uint8_t code, int32_t imm)
{
	return code == (BPF_JMP | BPF_CALL) && (uint32_t)imm == BPFVM_CORE_POISON_HELPER;
}

/* One program: every relocated instruction, and the poisoned calls. */
static void compare_prog(const char *path, const bpfvm_object *obj, size_t pi, const struct capture *c)
{
	const bpfvm_object_prog *p = bpfvm_object_prog_at(obj, pi);
	if (c->count != p->insn_count) {
		fail(path, "program %s: libbpf loads %zu instructions, bpfvm links %zu", p->name, c->count,
		     p->insn_count);
		return;
	}
	size_t ours = 0, theirs = 0;
	for (size_t i = 0; i < c->count; i++) {
		ours += is_poison(p->insns[i].opcode, p->insns[i].imm);
		theirs += is_poison(c->insns[i].code, c->insns[i].imm);
	}
	checks++;
	if (ours != theirs)
		fail(path, "program %s: %zu poisoned instructions, libbpf %zu", p->name, ours, theirs);
	for (size_t i = 0; i < bpfvm_object_core_relo_count(obj); i++) {
		const bpfvm_object_core_relo *r = bpfvm_object_core_relo_at(obj, i);
		if (r->prog != pi)
			continue;
		bool lddw = c->insns[r->insn].code == (BPF_LD | BPF_IMM | BPF_DW);
		checks++;
		if (!same_insn(&p->insns[r->insn], &c->insns[r->insn]) ||
		    (lddw && !same_insn(&p->insns[r->insn + 1], &c->insns[r->insn + 1])))
			fail(path, "program %s insn %u (%s of %s, access %s): bpfvm op %#x off %d imm %d, "
			     "libbpf op %#x off %d imm %d", p->name, r->insn, r->kind_name, r->type_name, r->access,
			     p->insns[r->insn].opcode, p->insns[r->insn].off, p->insns[r->insn].imm,
			     c->insns[r->insn].code, c->insns[r->insn].off, c->insns[r->insn].imm);
	}
}

static void load_with_libbpf(const char *path, const char *target)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = target);
	struct bpf_object *lo = bpf_object__open_file(path, &oo);
	if (!lo) {
		fail(path, "libbpf cannot open it: %s", strerror(errno));
		return;
	}
	/* a refusal after the programs were captured does not matter here */
	bpf_object__load(lo);
	bpf_object__close(lo);
}

static bool changes_a_value(const bpfvm_object *obj)
{
	for (size_t i = 0; i < bpfvm_object_core_relo_count(obj); i++) {
		const bpfvm_object_core_relo *r = bpfvm_object_core_relo_at(obj, i);
		if (r->poisoned || r->local_value != r->target_value)
			return true;
	}
	return false;
}

/* --run: verdicts and runs in bpfvm. */
static void run_in_bpfvm(const char *path, const bpfvm_object *obj)
{
	for (size_t i = 0; i < bpfvm_object_prog_count(obj); i++) {
		const char *name = bpfvm_object_prog_at(obj, i)->name;
		bool poisoned = strncmp(name, "poisoned_reached", 16) == 0;
		bpfvm_error err = { 0 };
		bpfvm_instance *inst = NULL;
		BPFVM_OPTS(bpfvm_instance_opts, io, .only_prog = name, .verify = true, .no_pins = true);
		int rc = bpfvm_instance_new(obj, &io, &inst, &err);
		bpfvm_instance_free(inst);
		checks++;
		if (poisoned != (rc != 0) || (poisoned && !strstr(err.msg, "CO-RE relocation")))
			fail(path, "program %s: verdict %d (%s), expected %s", name, rc, rc ? err.msg : "accepted",
			     poisoned ? "a refusal naming the CO-RE relocation" : "accepted");
		if (!poisoned)
			continue;
		BPFVM_OPTS(bpfvm_instance_opts, uo, .only_prog = name, .verify = false, .no_pins = true);
		inst = NULL;
		if (bpfvm_instance_new(obj, &uo, &inst, &err)) {
			fail(path, "program %s: unverified load refused: %s", name, err.msg);
			continue;
		}
		size_t nregions;
		const bpfvm_region *regions = bpfvm_instance_regions(inst, &nregions);
		uint8_t pkt[64] = { 0 }, out[64];
		BPFVM_OPTS(bpfvm_test_run, t, .data_in = pkt, .data_size_in = sizeof pkt, .data_out = out,
		           .data_size_out = sizeof out, .mode = BPFVM_CHECKED, .engine = BPFVM_ENGINE_INTERP,
		           .regions = regions, .region_count = nregions);
		rc = bpfvm_program_test_run(bpfvm_instance_prog(inst, i), &t, &err);
		checks++;
		if (rc == 0 || !strstr(err.msg, "CO-RE relocation"))
			fail(path, "program %s: an unverified run reaching the poisoned call gave %d (%s)", name, rc,
			     rc ? err.msg : "no error");
		bpfvm_instance_free(inst);
	}
}

static void compare_object(const char *path, const char *target, bool changed, bool run)
{
	bpfvm_object *obj = NULL;
	bpfvm_error err = { 0 };
	BPFVM_OPTS(bpfvm_object_open_opts, bo, .btf_custom_path = target);
	if (bpfvm_object_open_file(path, &bo, &obj, &err)) {
		/* agreement if libbpf refuses it too, before loading any program */
		capture_count = 0;
		capturing_any = true;
		load_with_libbpf(path, target);
		capturing_any = false;
		checks++;
		if (capture_count)
			fail(path, "bpfvm refuses it against %s (%s), libbpf relocates and loads it", target, err.msg);
		else
			both_refused++;
		printf("%s against %s: refused by bpfvm and by libbpf (%s)\n", path, target, err.msg);
		for (size_t i = 0; i < capture_count; i++)
			free(captures[i].insns);
		capture_count = 0;
		return;
	}
	capture_count = 0;
	capturing = obj;
	load_with_libbpf(path, target);
	capturing = NULL;
	size_t compared = 0;
	for (size_t i = 0; i < bpfvm_object_prog_count(obj); i++) {
		const bpfvm_object_prog *p = bpfvm_object_prog_at(obj, i);
		const struct capture *c = capture_of(obj, i);
		if (!c) {
			if (p->autoload)
				fail(path, "program %s: libbpf never loaded it", p->name);
			continue;
		}
		compare_prog(path, obj, i, c);
		compared++;
	}
	checks++;
	if (changed && !changes_a_value(obj))
		fail(path, "no relocation changes a value: the target proves nothing");
	if (run)
		run_in_bpfvm(path, obj);
	printf("%s against %s: %zu programs, %zu CO-RE relocations compared with libbpf\n", path, target,
	       compared, bpfvm_object_core_relo_count(obj));
	for (size_t i = 0; i < capture_count; i++)
		free(captures[i].insns);
	capture_count = 0;
	bpfvm_object_free(obj);
}

int main(int argc, char **argv)
{
	bool changed = false, run = false;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--changed"))
			changed = true;
		else if (!strcmp(argv[i], "--run"))
			run = true;
	}
	if (i == argc || (argc - i) % 2) {
		fprintf(stderr, "usage: %s [--run] [--changed] OBJ TARGET [OBJ TARGET ...]\n", argv[0]);
		return 2;
	}
	if (geteuid() != 0) {
		printf("skipped: libbpf's load needs bpf() (root)\n");
		return 77;
	}
	libbpf_set_print(quiet);
	for (; i + 1 < argc; i += 2)
		compare_object(argv[i], argv[i + 1], changed, run);
	printf("%d passed, %d failed (%d objects refused by both)\n", checks - failures, failures, both_refused);
	return failures ? 1 : 0;
}
