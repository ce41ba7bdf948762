/*
 * cli.c - what the bpfvm command's subcommands share: messages, reading
 * inputs up to the --max-input cap (common/input.c), writing outputs
 * atomically, hex bytes (parsed as in .data files, common/datafile.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpfvm/object.h"
#include "cli.h"
#include "common/datafile.h"
#include "common/input.h"

const char *prog_name = "bpfvm";

int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 1;
}

size_t max_input = INPUT_DEFAULT_CAP;

int set_max_input(const char *what, const char *text)
{
	if (input_parse_size(text, &max_input) || max_input == 0)
		return fail("%s: '%s' is not a size (such as 65536, 64K, 64M, 1G)", what, text);
	return 0;
}

int fail_input_cap(const char *path)
{
	char cap[32];
	return fail("%s: larger than the %s input cap (raise it with --max-input or BPFVM_MAX_INPUT)", path,
	            input_size_text(max_input, cap, sizeof cap));
}

int read_file(const char *path, char **data, size_t *len)
{
	if (input_read(path, max_input, data, len) == 0)
		return 0;
	*data = NULL;   /* callers free it whatever happened */
	*len = 0;
	if (errno == EFBIG)
		return fail_input_cap(path);
	return fail("%s: %s", path, strerror(errno));
}

int check_object_size(const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > max_input)
		return fail_input_cap(path);
	return 0;
}

int file_memfd(const char *path, const char *name, unsigned seals, const char *cmd)
{
	char *data;
	size_t len;
	if (read_file(path, &data, &len))
		return -1;
	int fd = memfd_create(name, MFD_CLOEXEC | (seals ? MFD_ALLOW_SEALING : 0));
	bool ok = fd >= 0 && write(fd, data, len) == (ssize_t)len && (!seals || fcntl(fd, F_ADD_SEALS, seals) == 0);
	free(data);
	if (!ok) {
		fail("%s: cannot copy %s into a memfd: %s", cmd, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

long send_with_fd(int sock, const void *data, size_t len, int fd)
{
	union {
		struct cmsghdr align;
		char space[CMSG_SPACE(sizeof(int))];
	} control = { 0 };
	struct iovec iov = { (void *)data, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		msg.msg_control = control.space;
		msg.msg_controllen = sizeof control.space;
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		*c = (struct cmsghdr){ .cmsg_len = CMSG_LEN(sizeof(int)), .cmsg_level = SOL_SOCKET,
		                       .cmsg_type = SCM_RIGHTS };
		memcpy(CMSG_DATA(c), &fd, sizeof fd);
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL);
}

int output_open(const char *path, struct output_file *out)
{
	memset(out, 0, sizeof *out);
	out->path = path;
	if (asprintf(&out->tmp_path, "%s.XXXXXX", path) < 0) {
		out->tmp_path = NULL;
		return fail("%s: out of memory", path);
	}
	int fd = mkstemp(out->tmp_path);
	if (fd < 0) {
		int rc = fail("%s: %s", path, strerror(errno));
		free(out->tmp_path);
		out->tmp_path = NULL;
		return rc;
	}
	/* mkstemp makes it 0600; a created output is 0666 less the umask */
	mode_t mask = umask(0);
	umask(mask);
	out->f = fdopen(fd, "wb");
	if (fchmod(fd, 0666 & ~mask) || !out->f) {
		int rc = fail("%s: %s", path, strerror(errno));
		if (!out->f)
			close(fd);
		output_finish(out, false);
		return rc;
	}
	return 0;
}

int output_finish(struct output_file *out, bool keep)
{
	int rc = 0;
	if (!out->tmp_path)
		return 0;
	if (out->f && fclose(out->f) && keep)
		rc = fail("%s: write failed: %s", out->path, strerror(errno));
	out->f = NULL;
	if (keep && !rc && rename(out->tmp_path, out->path))
		rc = fail("%s: %s", out->path, strerror(errno));
	if (!keep || rc)
		unlink(out->tmp_path);
	free(out->tmp_path);
	out->tmp_path = NULL;
	return rc;
}

int write_file(const char *path, const void *data, size_t len)
{
	struct output_file out;
	if (output_open(path, &out))
		return 1;
	size_t n = fwrite(data, 1, len, out.f);
	if (n != len || ferror(out.f)) {
		output_finish(&out, false);
		return fail("%s: write failed", path);
	}
	return output_finish(&out, true);
}

bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

int parse_hex_bytes(const char *what, const char *text, uint8_t **out, size_t *out_len)
{
	size_t bad_offset;
	if (datafile_hex_bytes(text, out, out_len, &bad_offset) == 0)
		return 0;
	if (bad_offset == (size_t)-1)
		return fail("%s: out of memory", what);
	return fail("%s: bad hex byte at offset %zu ('%.8s')", what, bad_offset, text + bad_offset);
}

const char *at_insn(int insn)
{
	static char buf[40];
	if (insn < 0)
		return "";
	snprintf(buf, sizeof buf, "instruction %d: ", insn);
	return buf;
}

int object_arg(struct object_args *a, int argc, char **argv, int *i, const char *cmd)
{
	const char *o = argv[*i];
	if (strcmp(o, "--kconfig") && strcmp(o, "--map") && strcmp(o, "--btf"))
		return 0;
	if (*i + 1 == argc) {
		fail("%s: %s needs a value", cmd, o);
		return -1;
	}
	const char *v = argv[++*i];
	if (!strcmp(o, "--kconfig")) {
		a->kconfig = v;
		return 1;
	}
	if (!strcmp(o, "--btf")) {
		a->btf_path = v;
		return 1;
	}
	if (a->map_set_count == OBJECT_MAX_MAP_SETS) {
		fail("%s: more than %d --map options", cmd, OBJECT_MAX_MAP_SETS);
		return -1;
	}
	a->map_sets[a->map_set_count++] = v;
	return 1;
}

bool flag_arg(const struct cli_flag *flags, const char *option)
{
	for (; flags->name; flags++)
		if (!strcmp(flags->name, option)) {
			*flags->set = true;
			return true;
		}
	return false;
}

/* One --map NAME.FIELD=N, applied to the opened object. */
static int apply_map_set(bpfvm_object *obj, const char *set)
{
	static const struct { const char *field; int (*fn)(bpfvm_object *, const char *, uint32_t, bpfvm_error *); }
	setters[] = {
		{ "max_entries", bpfvm_object_map_set_max_entries },
		{ "key_size", bpfvm_object_map_set_key_size },
		{ "value_size", bpfvm_object_map_set_value_size },
	};
	const char *eq = strchr(set, '=');
	const char *dot = eq ? memrchr(set, '.', (size_t)(eq - set)) : NULL;
	if (!dot || dot == set)
		return fail("--map '%s': expected NAME.FIELD=N (FIELD max_entries, key_size or value_size)", set);
	char *end;
	errno = 0;
	unsigned long long n = strtoull(eq + 1, &end, 0);
	if (errno || *end || !eq[1] || eq[1] == '-' || n > UINT32_MAX)
		return fail("--map '%s': '%s' is not a number of at most 32 bits", set, eq + 1);
	char name[256];
	snprintf(name, sizeof name, "%.*s", (int)(dot - set), set);
	size_t field_len = (size_t)(eq - dot - 1);
	for (size_t k = 0; k < sizeof setters / sizeof setters[0]; k++) {
		if (strlen(setters[k].field) != field_len || strncmp(setters[k].field, dot + 1, field_len))
			continue;
		bpfvm_error err = { 0 };
		if (setters[k].fn(obj, name, (uint32_t)n, &err))
			return fail("--map '%s': %s", set, err.msg);
		return 0;
	}
	return fail("--map '%s': unknown field '%.*s' (max_entries, key_size or value_size)", set, (int)field_len,
	            dot + 1);
}

static void log_core_relos(const bpfvm_object *obj)
{
	for (size_t i = 0; i < bpfvm_object_core_relo_count(obj); i++) {
		const bpfvm_object_core_relo *r = bpfvm_object_core_relo_at(obj, i);
		const bpfvm_object_prog *p = bpfvm_object_prog_at(obj, r->prog);
		fprintf(stderr, "CO-RE: %s insn %u: %s of %s access %s: local %llu -> ", p->name, r->insn,
		        r->kind_name, *r->type_name ? r->type_name : "<anon>", r->access,
		        (unsigned long long)r->local_value);
		if (r->poisoned)
			fprintf(stderr, "no target, instruction poisoned\n");
		else
			fprintf(stderr, "target %llu\n", (unsigned long long)r->target_value);
	}
}

int object_open(const char *path, const struct object_args *a, bpfvm_object **out)
{
	char *kconfig = NULL;
	size_t kconfig_len = 0;
	*out = NULL;
	if (check_object_size(path) || (a->kconfig && read_file(a->kconfig, &kconfig, &kconfig_len)))
		return 1;
	BPFVM_OPTS(bpfvm_object_open_opts, oo, .kconfig = kconfig, .btf_custom_path = a->btf_path);
	bpfvm_error err = { 0 };
	int rc = bpfvm_object_open_file(path, &oo, out, &err);
	free(kconfig);
	if (rc)
		return fail("%s", err.msg);
	if (a->verbose)
		log_core_relos(*out);
	for (size_t i = 0; i < a->map_set_count; i++)
		if (apply_map_set(*out, a->map_sets[i])) {
			bpfvm_object_free(*out);
			*out = NULL;
			return 1;
		}
	return 0;
}
