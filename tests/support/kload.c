/*
 * kload.c - the kernel's verdict on one program (kload.h): loading through
 * libbpf or bpf(BPF_PROG_LOAD), and sorting the log into a verdict.
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kload.h"

const char *const kload_verdict_names[] = { "accept", "reject", "error" };
static char kload_log[KLOAD_LOG_SIZE];
/* libbpf's warnings of the current load, kept to tell a verifier
 * rejection from a failure before the program reached the kernel. */
char kload_libbpf_text[16384];
size_t kload_libbpf_len;
static int kload_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	if (kload_libbpf_len < sizeof kload_libbpf_text - 1) {
		int n = vsnprintf(kload_libbpf_text + kload_libbpf_len, sizeof kload_libbpf_text - kload_libbpf_len,
		                  fmt, args);
		if (n > 0)
			kload_libbpf_len += (size_t)n;
		if (kload_libbpf_len >= sizeof kload_libbpf_text)
			kload_libbpf_len = sizeof kload_libbpf_text - 1;
	}
	return 0;
}

void kload_init(void)
{
	libbpf_set_print(kload_print);
}

bool kload_available(void)
{
	struct bpf_insn prog[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = 0 }, /* mov r0, 0 */
		{ .code = 0x95 },                         /* exit */
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "probe", "GPL", prog, 2, NULL);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static bool kload_stat_line(const char *line)
{
	return !strncmp(line, "processed ", 10) || !strncmp(line, "verification time", 17) ||
	       !strncmp(line, "stack depth", 11) || !strncmp(line, "func#", 5) || !strncmp(line, "old state:", 10) ||
	       !strncmp(line, "cur state:", 10);
}

/* Fills r->processed and, for a rejection, r->msg from the log: the last
 * line that is not a statistics line nor a source line ("; ..."). */
static void kload_parse_log(struct kload_result *r, const char *log)
{
	r->log = log;
	r->processed = -1;
	const char *p = strstr(log, "processed ");
	while (p) {
		if (p == log || p[-1] == '\n') {
			long n;
			if (sscanf(p, "processed %ld insns", &n) == 1)
				r->processed = n;
		}
		p = strstr(p + 1, "processed ");
	}
	if (r->verdict != KLOAD_REJECT)
		return;
	const char *best = NULL;
	size_t best_len = 0;
	for (const char *line = log; *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		if (len && line[0] != ';' && !kload_stat_line(line)) {
			best = line;
			best_len = len;
		}
		line = eol ? eol + 1 : line + len;
	}
	if (best) {
		if (best_len >= sizeof r->msg)
			best_len = sizeof r->msg - 1;
		memcpy(r->msg, best, best_len);
		r->msg[best_len] = 0;
	}
}

void kload_libbpf_msg(struct kload_result *r)
{
	const char *p = kload_libbpf_text;
	const char *pick = NULL;
	for (const char *line = p; *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		if (!pick && len && (strstr(line, "failed") || strstr(line, "error") || strstr(line, "not found") ||
		                     strstr(line, "missing") || strstr(line, "unrecognized") || strstr(line, "unknown")))
			pick = line;
		line = eol ? eol + 1 : line + len;
	}
	if (!pick)
		pick = p;
	size_t len = strcspn(pick, "\n");
	if (len >= sizeof r->msg)
		len = sizeof r->msg - 1;
	memcpy(r->msg, pick, len);
	r->msg[len] = 0;
	for (char *c = r->msg; *c; c++)
		if (*c == '\t')
			*c = ' ';
}

/* libbpf poisons instructions it could not relocate (CO-RE: call
 * 0xbad2310 = 195896080; map: 0xbad2310 + 1); the kernel then rejects the
 * poisoned call, a failure of the loader and not the verifier's verdict. */
static bool kload_poisoned(const char *log)
{
	return strstr(log, "195896080") || strstr(log, "195896081") || strstr(log, "0xbad2310");
}

/* Sections libbpf 1.1 (Debian 12's) does not know but later libbpf
 * versions do: their program and expected attach types (the kernel's
 * numbers), given to programs libbpf left without a type. */
static const struct {
	const char *prefix;
	uint32_t type, attach;
} kload_late_sections[] = {
	{ "netfilter", 32 /* NETFILTER */, 45 /* BPF_NETFILTER */ },
	{ "tc/ingress", 3 /* SCHED_CLS */, 46 /* BPF_TCX_INGRESS */ },
	{ "tc/egress", 3, 47 /* BPF_TCX_EGRESS */ },
	{ "tcx/ingress", 3, 46 },
	{ "tcx/egress", 3, 47 },
	{ "cgroup/connect_unix", 18 /* CGROUP_SOCK_ADDR */, 49 /* BPF_CGROUP_UNIX_CONNECT */ },
	{ "cgroup/sendmsg_unix", 18, 50 },
	{ "cgroup/recvmsg_unix", 18, 51 },
	{ "cgroup/getpeername_unix", 18, 52 },
	{ "cgroup/getsockname_unix", 18, 53 },
};

void kload_fix_type(struct bpf_program *prog)
{
	if (bpf_program__type(prog) != BPF_PROG_TYPE_UNSPEC)
		return;
	const char *sec = bpf_program__section_name(prog);
	if (sec[0] == '?')
		sec++;
	for (size_t i = 0; i < sizeof kload_late_sections / sizeof kload_late_sections[0]; i++)
		if (!strcmp(sec, kload_late_sections[i].prefix)) {
			bpf_program__set_type(prog, (enum bpf_prog_type)kload_late_sections[i].type);
			bpf_program__set_expected_attach_type(prog, (enum bpf_attach_type)kload_late_sections[i].attach);
		}
}

void kload_object_prog(const char *path, const char *prog_name, uint32_t extra_flags,
                       kload_also_fn also, void *also_user, struct kload_result *r)
{
	memset(r, 0, sizeof *r);
	r->processed = -1;
	r->log = "";
	kload_libbpf_len = 0;
	kload_libbpf_text[0] = 0;
	kload_log[0] = 0;
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		r->verdict = KLOAD_ERROR;
		r->err = -errno;
		kload_libbpf_msg(r);
		return;
	}
	struct bpf_program *prog, *target = NULL;
	bpf_object__for_each_program(prog, obj) {
		bool me = !strcmp(bpf_program__name(prog), prog_name);
		bpf_program__set_autoload(prog, me || (also && also(bpf_program__name(prog), also_user)));
		kload_fix_type(prog);
		if (me)
			target = prog;
	}
	if (!target) {
		r->verdict = KLOAD_ERROR;
		r->err = -ENOENT;
		snprintf(r->msg, sizeof r->msg, "no program '%.100s' in %.250s", prog_name, path);
		bpf_object__close(obj);
		return;
	}
	bpf_program__set_flags(target, bpf_program__flags(target) | extra_flags);
	bpf_program__set_log_buf(target, kload_log, sizeof kload_log);
	/* BPF_LOG_STATS: messages and the summary, no trace; KLOAD_LOG_LEVEL
	 * (1 or 2, plus 4) asks for the kernel's trace, printed to stderr */
	const char *lvl = getenv("KLOAD_LOG_LEVEL");
	bpf_program__set_log_level(target, lvl ? (uint32_t)atoi(lvl) : 4);
	int err = bpf_object__load(obj);
	if (lvl)
		fprintf(stderr, "---- %s\n%s", prog_name, kload_log);
	if (!err) {
		r->verdict = KLOAD_ACCEPT;
	} else {
		/* The verifier judged the program if libbpf handed it to the
		 * kernel and the kernel wrote a log: a refusal before
		 * verification (EPERM for an attach point this kernel does not
		 * allow, a bad attribute) leaves the log empty. */
		char failed[128];
		snprintf(failed, sizeof failed, "prog '%s': BPF program load failed", prog_name);
		r->err = err;
		bool reached = strstr(kload_libbpf_text, failed) && kload_log[0] && !kload_poisoned(kload_log);
		r->verdict = reached ? KLOAD_REJECT : KLOAD_ERROR;
		if (!reached) {
			kload_libbpf_msg(r);
			if (strstr(kload_libbpf_text, failed) && !kload_log[0]) {
				size_t n = strlen(r->msg);
				snprintf(r->msg + n, sizeof r->msg - n, " (refused before verification: no verifier log)");
			}
		}
	}
	kload_parse_log(r, kload_log);
	if (r->verdict == KLOAD_REJECT && !r->msg[0]) {
		/* only the statistics: the kernel refused (an attach point it
		 * does not allow here, EPERM) without a verifier message */
		r->verdict = KLOAD_ERROR;
		snprintf(r->msg, sizeof r->msg, "kernel refused the load (error %d) without a verifier message", err);
	}
	bpf_object__close(obj);
}

void kload_insns(uint32_t type, const struct bpf_insn *insns, size_t count, struct kload_result *r)
{
	kload_insns_flags(type, 0, insns, count, r);
}

void kload_insns_flags(uint32_t type, uint32_t prog_flags, const struct bpf_insn *insns, size_t count,
                       struct kload_result *r)
{
	memset(r, 0, sizeof *r);
	r->processed = -1;
	kload_log[0] = 0;
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = kload_log, .log_size = sizeof kload_log, .log_level = 4,
	            .prog_flags = prog_flags);
	if (type == BPF_PROG_TYPE_XDP)
		opts.expected_attach_type = BPF_XDP;
	int fd = bpf_prog_load((enum bpf_prog_type)type, "kload", "GPL", insns, count, &opts);
	if (fd >= 0) {
		r->verdict = KLOAD_ACCEPT;
		close(fd);
	} else {
		r->verdict = KLOAD_REJECT;
		r->err = -errno;
	}
	kload_parse_log(r, kload_log);
	if (r->verdict == KLOAD_REJECT && !r->msg[0])
		snprintf(r->msg, sizeof r->msg, "(no verifier message; error %d)", r->err);
}
