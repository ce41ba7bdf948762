/*
 * kernel_verdict.c - the running kernel's verdict on every program of
 * clang objects, for scripts/verifier-selftests.sh.
 *
 * Owns: reading the selftests' expectations from an object's BTF (the
 * decl tags bpf_misc.h's __success, __failure, __msg, __flag, ... attach
 * to a program's function, as "comment:test_*" strings) and printing one
 * tab-separated line per program:
 *
 *   file  prog  section  prog_type  expected  flags  expected_msgs
 *   kernel  errno  processed  kernel_msg
 *
 * expected: accept | reject (the privileged expectation), unpriv-only (the
 * test only states an unprivileged one), aux (a helper program of another
 * test).  Tests without any annotation expect success, as the selftests'
 * loader assumes.  flags: the prog_flags the __flag() annotations ask for,
 * which are applied to the load (the selftests' loader also adds
 * BPF_F_TEST_RND_HI32 | BPF_F_TEST_REG_INVARIANTS to every load; this does
 * not: they change no verdict of a correct verifier).  kernel: accept |
 * reject | error (never reached the verifier), see kload.h.  processed: the
 * kernel log's "processed N insns", or -1.
 *
 * Usage: kernel_verdict [--header] OBJ...   (as root)
 */
#include <linux/bpf.h>

#include "support/kload.h"

struct expect {
	const char *expected;
	uint32_t flags;
	char msgs[600];
	char flag_names[200];
};

static const struct {
	const char *name;
	uint32_t value;
} flag_table[] = {
	{ "BPF_F_STRICT_ALIGNMENT", BPF_F_STRICT_ALIGNMENT },
	{ "BPF_F_ANY_ALIGNMENT", BPF_F_ANY_ALIGNMENT },
	{ "BPF_F_TEST_RND_HI32", BPF_F_TEST_RND_HI32 },
	{ "BPF_F_TEST_STATE_FREQ", BPF_F_TEST_STATE_FREQ },
	{ "BPF_F_SLEEPABLE", BPF_F_SLEEPABLE },
	{ "BPF_F_XDP_HAS_FRAGS", BPF_F_XDP_HAS_FRAGS },
	{ "BPF_F_TEST_REG_INVARIANTS", 1u << 7 },
};

static void append(char *dst, size_t cap, const char *sep, const char *s)
{
	size_t n = strlen(dst);
	if (n && n + strlen(sep) < cap) {
		strcat(dst, sep);
		n += strlen(sep);
	}
	for (; *s && n + 1 < cap; s++)
		dst[n++] = (*s == '\t' || *s == '\n') ? ' ' : *s;
	dst[n] = 0;
}

/* The decl tags of the function named `func`. */
static void read_expect(const struct btf *btf, const char *func, struct expect *e)
{
	bool priv = false, unpriv = false, failure = false, aux = false;
	memset(e, 0, sizeof *e);
	uint32_t n = btf ? btf__type_cnt(btf) : 0;
	for (uint32_t id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!btf_is_decl_tag(t) || btf_decl_tag(t)->component_idx != -1)
			continue;
		const struct btf_type *target = btf__type_by_id(btf, t->type);
		if (!target || !btf_is_func(target) || strcmp(btf__name_by_offset(btf, target->name_off), func))
			continue;
		const char *tag = btf__name_by_offset(btf, t->name_off);
		if (strncmp(tag, "comment:", 8))
			continue;
		tag += 8;
		if (!strcmp(tag, "test_expect_failure")) {
			priv = failure = true;
		} else if (!strcmp(tag, "test_expect_success")) {
			priv = true;
		} else if (!strcmp(tag, "test_expect_failure_unpriv") || !strcmp(tag, "test_expect_success_unpriv") ||
		           !strncmp(tag, "test_expect_msg_unpriv=", 23) || !strncmp(tag, "test_retval_unpriv=", 19)) {
			unpriv = true;
		} else if (!strcmp(tag, "test_auxiliary")) {
			aux = priv = true;
		} else if (!strcmp(tag, "test_auxiliary_unpriv")) {
			aux = unpriv = true;
		} else if (!strncmp(tag, "test_expect_msg=", 16)) {
			/* "test_expect_msg=<counter>=<text>" */
			const char *text = strchr(tag + 16, '=');
			append(e->msgs, sizeof e->msgs, " | ", text ? text + 1 : tag + 16);
			priv = true;
		} else if (!strncmp(tag, "test_prog_flags=", 16)) {
			const char *v = tag + 16;
			bool known = false;
			for (size_t i = 0; i < sizeof flag_table / sizeof flag_table[0]; i++)
				if (!strcmp(v, flag_table[i].name)) {
					e->flags |= flag_table[i].value;
					known = true;
				}
			if (!known) {
				char *end;
				unsigned long x = strtoul(v, &end, 0);
				if (!*end && end != v) {
					e->flags |= (uint32_t)x;
					known = true;
				}
			}
			append(e->flag_names, sizeof e->flag_names, ",", known ? v : "?");
		} else if (!strncmp(tag, "test_retval=", 12) || !strncmp(tag, "test_log_level=", 15) ||
		           !strncmp(tag, "test_expect_xlated=", 19) || !strncmp(tag, "test_jited=", 11)) {
			priv = true;
		}
	}
	if (aux)
		e->expected = "aux";
	else if (priv || !unpriv)
		e->expected = failure ? "reject" : "accept";
	else
		e->expected = "unpriv-only";
}

/* The object's auxiliary programs, loaded along with each program judged
 * (as the selftests' loader does: a prog_array may name them). */
struct aux_set {
	const struct btf *btf;
};

static bool is_aux(const char *name, void *user)
{
	struct expect e;
	read_expect(((struct aux_set *)user)->btf, name, &e);
	return !strcmp(e.expected, "aux");
}

static void clean(char *s)
{
	for (; *s; s++)
		if (*s == '\t' || *s == '\n')
			*s = ' ';
}

static int do_object(const char *path)
{
	const char *file = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	kload_libbpf_len = 0;
	kload_libbpf_text[0] = 0;
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		/* libbpf cannot open the object at all: one line for the file,
		 * program "(object)", so that it is counted and not lost */
		int err = -errno;
		struct kload_result r = { .verdict = KLOAD_ERROR };
		kload_libbpf_msg(&r);
		clean(r.msg);
		printf("%s\t(object)\t-\t-\t-\t-\t-\terror\t%d\t-1\tlibbpf cannot open the object: %s\n", file, err,
		       r.msg[0] ? r.msg : strerror(-err));
		fflush(stdout);
		return 0;
	}
	const struct btf *btf = bpf_object__btf(obj);
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		struct expect e;
		const char *name = bpf_program__name(prog);
		read_expect(btf, name, &e);
		kload_fix_type(prog);
		char type_num[32];
		const char *type = libbpf_bpf_prog_type_str(bpf_program__type(prog));
		if (!type && bpf_program__type(prog) == 32)
			type = "netfilter"; /* unknown to libbpf 1.1 */
		if (!type) {
			snprintf(type_num, sizeof type_num, "type%u", (unsigned)bpf_program__type(prog));
			type = type_num;
		}
		struct kload_result r;
		struct aux_set aux = { btf };
		kload_object_prog(path, name, e.flags, is_aux, &aux, &r);
		clean(r.msg);
		printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%ld\t%s\n", file, name, bpf_program__section_name(prog),
		       type, e.expected, e.flag_names[0] ? e.flag_names : "-",
		       e.msgs[0] ? e.msgs : "-", kload_verdict_names[r.verdict], r.err, r.processed,
		       r.msg[0] ? r.msg : "-");
		fflush(stdout);
	}
	bpf_object__close(obj);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 0, first = 1;
	if (argc > 1 && !strcmp(argv[1], "--header")) {
		printf("file\tprog\tsection\tprog_type\texpected\tflags\texpected_msgs\tkernel\terrno\tprocessed\t"
		       "kernel_msg\n");
		first = 2;
	}
	if (argc <= first && first == 1) {
		fprintf(stderr, "usage: kernel_verdict [--header] OBJ...   (as root)\n");
		return 2;
	}
	kload_init();
	if (argc > first && !kload_available()) {
		fprintf(stderr, "kernel_verdict: bpf() is not available to this process (%s)\n", strerror(errno));
		return 3;
	}
	for (int i = first; i < argc; i++)
		rc |= do_object(argv[i]);
	return rc;
}
