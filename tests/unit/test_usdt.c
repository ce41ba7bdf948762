/*
 * test_usdt.c - USDT probes (src/hooks/usdt.c) on this program's own
 * <sys/sdt.h> sites: the .note.stapsdt notes read as `readelf -n` prints
 * them (this program's, libstdc++'s and python3's where present), argument specs parsed as libbpf parses them (every operand form,
 * and the errors), and a clang object using libbpf's usdt.bpf.h attached
 * through a hook: bpf_usdt_arg reads register, constant, stack and global
 * arguments right, bpf_usdt_cookie the spec's cookie, semaphores count
 * attachments, a detached site no longer runs the program, and
 * usdt_link attaches every site of a name at once.
 */
#define _SDT_HAS_SEMAPHORES 1
#include <dlfcn.h>
#include <errno.h>
#include <linux/bpf.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sdt.h>
#include <unistd.h>

#include "bpfvm/hook.h"
#include "bpfvm/instance.h"
#include "bpfvm/object.h"
#include "hooks/usdt.h"
#include "support/check.h"
#include "support/noipa.h"

/* Each site's semaphore, as sdt.h names them with _SDT_HAS_SEMAPHORES. */
#define SEMAPHORE(name) unsigned short bpfvmtest_##name##_semaphore __attribute__((section(".probes"), used))
SEMAPHORE(three);
SEMAPHORE(consts);
SEMAPHORE(global);
SEMAPHORE(stack);
SEMAPHORE(twice);

long usdt_global_value = 77;

NOIPA long usdt_three(int a, long b, const char *s)
{
	DTRACE_PROBE3(bpfvmtest, three, a, b, s);
	return a + b;
}

NOIPA void usdt_consts(void)
{
	DTRACE_PROBE2(bpfvmtest, consts, 5, -3);
}

NOIPA void usdt_global(void)
{
	DTRACE_PROBE1(bpfvmtest, global, usdt_global_value);
}

/* Unoptimised, so the arguments are operands in the frame (-2@-20(%rbp)). */
NOIPA_O0 void usdt_stack(short x, unsigned char c)
{
	DTRACE_PROBE2(bpfvmtest, stack, x, c);
}

/* One probe name, two sites: the inline function's copy in each caller. */
static inline __attribute__((always_inline)) void twice_site(long x)
{
	DTRACE_PROBE1(bpfvmtest, twice, x);
}

NOIPA void usdt_twice_a(long x)
{
	twice_site(x);
}

NOIPA void usdt_twice_b(long x)
{
	twice_site(x + 1);
}

/* The layout of tests/usdt/usdt_args.c's map value. */
struct usdt_seen {
	long hits, arg_cnt, cookie;
	long args[USDT_MAX_ARG_CNT];
	long errors[USDT_MAX_ARG_CNT];
};

static char self_path[PATH_MAX];

/* ---- argument specs ---------------------------------------------------- */

static int fake_symbol(void *user, const char *sym, uint64_t *vaddr)
{
	(void)user;
	if (strcmp(sym, "foo") != 0)
		return -ENOENT;
	*vaddr = 0x5000;
	return 0;
}

static void test_parse_forms(void)
{
	struct usdt_spec s;
	char why[96] = "";
	CHECK(usdt_parse_args("-4@%edi 8@-8(%rbp) -4@$5 8@%rax 8@(%rsp) -8@foo(%rip) 1@%al 2@%r10w -8@foo+16(%rip)",
			      0x1000, fake_symbol, NULL, &s, why, sizeof why) == 0, "parse: %s", why);
	CHECK(s.arg_cnt == 9, "9 arguments: %d", s.arg_cnt);
	const struct usdt_arg_spec *a = s.args;
	CHECK(a[0].arg_type == USDT_ARG_REG && a[0].reg_off == offsetof(struct pt_regs, rdi) && a[0].arg_signed &&
	      a[0].arg_bitshift == 32, "-4@%%edi");
	CHECK(a[1].arg_type == USDT_ARG_REG_DEREF && a[1].reg_off == offsetof(struct pt_regs, rbp) &&
	      (int64_t)a[1].val_off == -8 && !a[1].arg_signed && a[1].arg_bitshift == 0, "8@-8(%%rbp)");
	CHECK(a[2].arg_type == USDT_ARG_CONST && a[2].val_off == 5 && a[2].arg_signed, "-4@$5");
	CHECK(a[3].arg_type == USDT_ARG_REG && a[3].reg_off == offsetof(struct pt_regs, rax), "8@%%rax");
	CHECK(a[4].arg_type == USDT_ARG_REG_DEREF && a[4].reg_off == offsetof(struct pt_regs, rsp) &&
	      a[4].val_off == 0, "8@(%%rsp)");
	CHECK(a[5].arg_type == USDT_ARG_REG_DEREF && a[5].reg_off == offsetof(struct pt_regs, rip) &&
	      a[5].val_off == 0x4000, "-8@foo(%%rip): foo's distance from the site");
	CHECK(a[6].reg_off == offsetof(struct pt_regs, rax) && a[6].arg_bitshift == 56, "1@%%al");
	CHECK(a[7].reg_off == offsetof(struct pt_regs, r10) && a[7].arg_bitshift == 48, "2@%%r10w");
	CHECK(a[8].val_off == 0x4010, "-8@foo+16(%%rip)");
	CHECK(usdt_parse_args("", 0, NULL, NULL, &s, why, sizeof why) == 0 && s.arg_cnt == 0, "no arguments");
}

static void test_parse_errors(void)
{
	struct usdt_spec s;
	char why[96];
	CHECK(usdt_parse_args("3@%eax", 0, NULL, NULL, &s, why, sizeof why) == -EINVAL && strstr(why, "size 3"),
	      "size 3: %s", why);
	CHECK(usdt_parse_args("4@%ah", 0, NULL, NULL, &s, why, sizeof why) == -ENOENT && strstr(why, "'ah'"),
	      "%%ah, which libbpf does not know: %s", why);
	CHECK(usdt_parse_args("8@foo(%rip)", 0, NULL, NULL, &s, why, sizeof why) == -ENOENT && strstr(why, "foo"),
	      "a symbol without a symbol table: %s", why);
	CHECK(usdt_parse_args("8@bar(%rip)", 0, fake_symbol, NULL, &s, why, sizeof why) == -ENOENT,
	      "an unknown symbol");
	CHECK(usdt_parse_args("8@*%rax", 0, NULL, NULL, &s, why, sizeof why) == -EINVAL && strstr(why, "unrecognized"),
	      "garbage: %s", why);
	CHECK(usdt_parse_args("1@$1 1@$1 1@$1 1@$1 1@$1 1@$1 1@$1 1@$1 1@$1 1@$1 1@$1 1@$1 1@$1", 0, NULL, NULL, &s, why,
			      sizeof why) == -E2BIG, "13 arguments");
}

/* ---- the notes against readelf ------------------------------------------ */

struct readelf_note {
	char provider[64], name[64], args[256];
	unsigned long long pc, base, sema;
};

/* `readelf -n`'s stapsdt notes of path, in order; -1 if readelf fails. */
static int readelf_notes(const char *path, struct readelf_note *out, int cap)
{
	char cmd[PATH_MAX + 64], line[512];
	snprintf(cmd, sizeof cmd, "readelf -n '%s'", path);
	FILE *f = popen(cmd, "r");
	if (!f)
		return -1;
	int n = -1;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		const char *t = line + strspn(line, " ");
		if (strncmp(t, "Provider: ", 10) == 0 && n + 1 < cap)
			snprintf(out[++n].provider, sizeof out[n].provider, "%s", t + 10);
		else if (n >= 0 && strncmp(t, "Name: ", 6) == 0)
			snprintf(out[n].name, sizeof out[n].name, "%s", t + 6);
		else if (n >= 0 && sscanf(t, "Location: %llx, Base: %llx, Semaphore: %llx", &out[n].pc, &out[n].base,
					  &out[n].sema) == 3)
			continue;
		else if (n >= 0 && strncmp(t, "Arguments:", 10) == 0)
			snprintf(out[n].args, sizeof out[n].args, "%s", t[10] == ' ' ? t + 11 : t + 10);
	}
	return pclose(f) == 0 ? n + 1 : -1;
}

static void test_notes_match_readelf(const char *path, const struct usdt_list *list, int at_least)
{
	struct readelf_note want[64];
	int n = readelf_notes(path, want, 64);
	if (!CHECK(n >= at_least, "readelf -n %s found %d stapsdt notes", path, n))
		return;
	CHECK((size_t)n == list->count, "as many notes as readelf: %zu, %d", list->count, n);
	for (int i = 0; i < n && (size_t)i < list->count; i++) {
		const struct usdt_probe *p = &list->probes[i];
		CHECK(strcmp(p->provider, want[i].provider) == 0 && strcmp(p->name, want[i].name) == 0,
		      "note %d: %s:%s, readelf %s:%s", i, p->provider, p->name, want[i].provider, want[i].name);
		CHECK(p->note_pc == want[i].pc && p->note_base == want[i].base && p->note_sema == want[i].sema,
		      "note %d addresses: %#lx %#lx %#lx", i, (unsigned long)p->note_pc, (unsigned long)p->note_base,
		      (unsigned long)p->note_sema);
		CHECK(strcmp(p->args, want[i].args) == 0, "note %d args '%s', readelf '%s'", i, p->args, want[i].args);
		CHECK(p->spec_error == 0, "note %d (%s) parses: %s", i, p->args, p->spec_why);
	}
}

/* Other programs' and libraries' notes, where the machine has them:
 * libstdc++ (a shared library, its .stapsdt.base in use) and python3 (with
 * semaphores).  libstdc++ is also loaded here: its sites, at the load
 * bias usdt_load_bias finds, must be the nops the notes say. */
static void test_other_files(void)
{
	static const char *const paths[] = { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/bin/python3" };
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		struct usdt_list list;
		bpfvm_error err = { 0 };
		if (access(paths[i], R_OK) != 0) {
			printf("  %s: not on this machine, skipped\n", paths[i]);
			continue;
		}
		if (!CHECK(usdt_list_read(paths[i], &list, &err) == 0, "read %s: %s", paths[i], err.msg))
			continue;
		printf("  %s: %zu probes\n", paths[i], list.count);
		test_notes_match_readelf(paths[i], &list, 1);
		if (i == 0) {
			void *lib = dlopen(paths[i], RTLD_NOW);
			uintptr_t bias = 0;
			CHECK(lib && usdt_load_bias(paths[i], &bias, &err) == 0, "%s loaded: %s", paths[i], err.msg);
			for (size_t j = 0; lib && j < list.count; j++)
				CHECK(*(const uint8_t *)(bias + list.probes[j].pc) == 0x90, "%s:%s at %#lx is a nop",
				      list.probes[j].provider, list.probes[j].name, (unsigned long)(bias + list.probes[j].pc));
		}
		usdt_list_free(&list);
	}
	uintptr_t bias;
	bpfvm_error err = { 0 };
	CHECK(usdt_load_bias("/usr/bin/python3", &bias, &err) != 0, "a file not loaded here has no load bias");
}

/* ---- running libbpf's usdt.bpf.h ---------------------------------------- */

struct runner {
	bpfvm_object *obj;
	bpfvm_instance *inst;
	bpfvm_hook *hook;
	bpfvm_map *seen;
	struct usdt_spec_ids ids;
	uintptr_t bias;
	int run_errors;
};

static int on_site(struct pt_regs *regs, void *user, uint64_t *override_rc)
{
	struct runner *r = user;
	uint64_t result;
	(void)override_rc;
	if (bpfvm_hook_run(r->hook, regs, &result, NULL) < 0)
		r->run_errors++;
	return 0;
}

static bpfvm_map *instance_map(const struct runner *r, const char *name)
{
	int i = bpfvm_object_find_map(r->obj, name);
	return i < 0 ? NULL : bpfvm_instance_map(r->inst, (size_t)i);
}

static int runner_open(struct runner *r)
{
	bpfvm_error err = { 0 };
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/usdt_args.bpf.o", BPFVM_TEST_USDT_DIR);
	BPFVM_OPTS(bpfvm_instance_opts, io, .verify = true, .no_pins = true, .jit = true);
	BPFVM_OPTS(bpfvm_hook_opts, ho, .name = "usdt", .ctx_kind = BPFVM_HOOK_CTX_PROG_TYPE,
		   .prog_type = BPF_PROG_TYPE_KPROBE);
	uint64_t link;
	if (!CHECK(bpfvm_object_open_file(path, NULL, &r->obj, &err) == 0, "open %s: %s", path, err.msg) ||
	    !CHECK(bpfvm_instance_new(r->obj, &io, &r->inst, &err) == 0, "load usdt_args: %s", err.msg) ||
	    !CHECK(bpfvm_hook_new(&ho, &r->hook, &err) == 0, "hook: %s", err.msg) ||
	    !CHECK(bpfvm_hook_attach(r->hook, bpfvm_instance_prog(r->inst, 0), &link, &err) == 0, "attach: %s",
		   err.msg))
		return -1;
	r->seen = instance_map(r, "seen");
	if (!CHECK(usdt_spec_ids_init(&r->ids, instance_map(r, "__bpf_usdt_specs"),
				      instance_map(r, "__bpf_usdt_ip_to_spec_id"), &err) == 0, "spec maps: %s", err.msg))
		return -1;
	/* Spec id 0 taken by a spec no site uses: the sites' specs are found
	 * by their ip, not by a cookie of 0 that happens to fit. */
	uint32_t decoy_id;
	uint64_t decoy_cookie;
	const struct usdt_probe decoy = { .provider = "x", .name = "y" };
	if (!CHECK(usdt_spec_add(&r->ids, &decoy, 0, 0, &decoy_id, &decoy_cookie, &err) == 0 && decoy_id == 0,
		   "decoy spec: %s", err.msg))
		return -1;
	return CHECK(usdt_load_bias(self_path, &r->bias, &err) == 0, "load bias: %s", err.msg) ? 0 : -1;
}

static void runner_close(struct runner *r)
{
	usdt_spec_ids_free(&r->ids);
	if (r->hook)
		bpfvm_hook_free(r->hook);
	if (r->inst)
		bpfvm_instance_free(r->inst);
	if (r->obj)
		bpfvm_object_free(r->obj);
}

/* Attaches the program at provider:name's one site with cookie, calls
 * fire(), detaches; *seen gets what the program recorded (zeroed before). */
static int fire_site(struct runner *r, const struct usdt_list *list, const char *name, uint64_t cookie,
		     void (*fire)(void), unsigned short *semaphore, struct usdt_seen *seen)
{
	size_t from = 0;
	const struct usdt_probe *p = usdt_list_next(list, "bpfvmtest", name, &from);
	bpfvm_error err = { 0 };
	int zero = 0;
	struct usdt_seen none = { 0 };
	struct usdt_attachment *a;
	uint32_t spec_id;
	uint64_t attach_cookie;
	if (!CHECK(p != NULL, "site bpfvmtest:%s", name))
		return -1;
	bpfvm_map_update(r->seen, &zero, &none, BPFVM_ANY, NULL);
	uintptr_t ip = r->bias + p->pc;
	if (!CHECK(usdt_spec_add(&r->ids, p, cookie, ip, &spec_id, &attach_cookie, &err) == 0, "spec: %s", err.msg))
		return -1;
	CHECK(attach_cookie == spec_id, "the link cookie is the spec id");
	const struct probe_handlers h = { on_site, NULL };
	if (!CHECK(usdt_attach(p, r->bias, &h, r, &a, &err) == 0, "usdt_attach %s: %s", name, err.msg))
		return -1;
	CHECK(usdt_attachment_ip(a) == ip && *semaphore == 1, "%s: attached at the site, semaphore %u", name,
	      *semaphore);
	fire();
	usdt_detach(a);
	CHECK(*semaphore == 0, "%s: semaphore back to 0", name);
	usdt_spec_remove(&r->ids, spec_id, ip);
	fire();   /* detached: not seen */
	bpfvm_map_lookup(r->seen, &zero, seen, 0, NULL);
	CHECK(seen->hits == 1 && r->run_errors == 0, "%s: one run (%ld), no errors (%d)", name, seen->hits,
	      r->run_errors);
	CHECK(seen->cookie == (long)cookie, "%s: bpf_usdt_cookie %#lx", name, seen->cookie);
	return 0;
}

static const char hello[] = "hello";

static void fire_three(void)
{
	if (usdt_three(-7, 1L << 40, hello) != (1L << 40) - 7)
		abort();
}

static void fire_stack(void)
{
	usdt_stack(-300, 200);
}

static void check_args(const struct usdt_seen *s, const char *name, int cnt, const long *want)
{
	CHECK(s->arg_cnt == cnt, "%s: %ld arguments", name, s->arg_cnt);
	for (int i = 0; i < USDT_MAX_ARG_CNT; i++) {
		if (i < cnt)
			CHECK(s->errors[i] == 0 && s->args[i] == want[i], "%s arg %d: %ld (error %ld), want %ld", name,
			      i, s->args[i], s->errors[i], want[i]);
		else
			CHECK(s->errors[i] == -ENOENT && s->args[i] == 0, "%s arg %d: -ENOENT, got %ld", name, i,
			      s->errors[i]);
	}
}

/* usdt_link: both sites of bpfvmtest:twice at once, and a name with none. */
static void test_link(struct runner *r)
{
	const struct probe_handlers h = { on_site, NULL };
	struct usdt_link *link = NULL;
	bpfvm_error err = { 0 };
	int zero = 0;
	struct usdt_seen s = { 0 };
	bpfvm_map_update(r->seen, &zero, &s, BPFVM_ANY, NULL);
	if (!CHECK(usdt_link_attach(self_path, "bpfvmtest", "twice", 42, &r->ids, &h, r, &link, &err) == 0,
		   "link twice: %s", err.msg))
		return;
	CHECK(usdt_link_sites(link) == 2 && bpfvmtest_twice_semaphore == 2, "two sites (%zu), semaphore %u",
	      usdt_link_sites(link), bpfvmtest_twice_semaphore);
	usdt_twice_a(10);
	bpfvm_map_lookup(r->seen, &zero, &s, 0, NULL);
	CHECK(s.hits == 1 && s.args[0] == 10 && s.cookie == 42, "first site: %ld hits, arg %ld", s.hits, s.args[0]);
	usdt_twice_b(10);
	bpfvm_map_lookup(r->seen, &zero, &s, 0, NULL);
	CHECK(s.hits == 2 && s.args[0] == 11 && s.cookie == 42, "second site: %ld hits, arg %ld", s.hits, s.args[0]);
	usdt_link_detach(link);
	usdt_twice_a(1);
	bpfvm_map_lookup(r->seen, &zero, &s, 0, NULL);
	CHECK(s.hits == 2 && bpfvmtest_twice_semaphore == 0, "detached: %ld hits, semaphore %u", s.hits,
	      bpfvmtest_twice_semaphore);
	uint32_t id;
	uint64_t cookie;
	const struct usdt_probe decoy = { .provider = "x", .name = "y" };
	CHECK(usdt_spec_add(&r->ids, &decoy, 0, 0, &id, &cookie, &err) == 0 && id == 1, "spec ids given back: %u", id);
	usdt_spec_remove(&r->ids, id, 0);
	CHECK(usdt_link_attach(self_path, "bpfvmtest", "nosuch", 0, &r->ids, &h, r, &link, &err) == -ENOENT &&
	      strstr(err.msg, "no probe bpfvmtest:nosuch"), "no such probe: %s", err.msg);
}

static void test_run_at_sites(const struct usdt_list *list)
{
	struct runner r = { 0 };
	struct usdt_seen s;
	if (runner_open(&r) == 0) {
		if (fire_site(&r, list, "three", 0xc00c1e, fire_three, &bpfvmtest_three_semaphore, &s) == 0)
			check_args(&s, "three", 3, (const long[]){ -7, 1L << 40, (long)hello });
		if (fire_site(&r, list, "consts", 1, usdt_consts, &bpfvmtest_consts_semaphore, &s) == 0)
			check_args(&s, "consts", 2, (const long[]){ 5, -3 });
		if (fire_site(&r, list, "global", 2, usdt_global, &bpfvmtest_global_semaphore, &s) == 0)
			check_args(&s, "global", 1, (const long[]){ 77 });
		if (fire_site(&r, list, "stack", 3, fire_stack, &bpfvmtest_stack_semaphore, &s) == 0)
			check_args(&s, "stack", 2, (const long[]){ -300, 200 });
		test_link(&r);
	}
	runner_close(&r);
}

int main(void)
{
	ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
	if (n <= 0)
		return 1;
	self_path[n] = 0;
	test_parse_forms();
	test_parse_errors();
	struct usdt_list list;
	bpfvm_error err = { 0 };
	if (CHECK(usdt_list_read(self_path, &list, &err) == 0, "read notes: %s", err.msg)) {
		for (size_t i = 0; i < list.count; i++)
			printf("  %s:%s pc %#lx sema %#lx args '%s'\n", list.probes[i].provider, list.probes[i].name,
			       (unsigned long)list.probes[i].pc, (unsigned long)list.probes[i].sema, list.probes[i].args);
		test_notes_match_readelf(self_path, &list, 4);
		test_run_at_sites(&list);
		usdt_list_free(&list);
	}
	test_other_files();
	struct usdt_list none;
	CHECK(usdt_list_read("/nonexistent/usdt", &none, &err) == -ENOENT, "a missing file: %s", err.msg);
	return check_summary();
}
