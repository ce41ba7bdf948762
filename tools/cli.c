/*
 * cli.c - what the bpfvm command's subcommands share: messages, reading
 * files, hex bytes (parsed as in .data files, common/datafile.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/datafile.h"

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

int read_file(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return fail("%s: %s", path, strerror(errno));
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			char *bigger = realloc(buf, cap * 2 + 1);
			if (!bigger) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
	}
	int read_error = ferror(f);
	fclose(f);
	if (!buf)
		return fail("%s: out of memory", path);
	if (read_error) {
		free(buf);
		return fail("%s: read error", path);
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
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
