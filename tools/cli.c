/*
 * cli.c - what the bpfvm command's subcommands share: messages, reading
 * files, hex bytes, sections of conformance-suite files.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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

/* The lines of section `name` ("-- asm") of a conformance .data file, up
 * to the next "-- " line; NULL if absent.  Returned string is malloc'd. */
char *data_section(const char *text, const char *name)
{
	size_t name_len = strlen(name);
	const char *p = text;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t line_len = eol ? (size_t)(eol - p) : strlen(p);
		if (line_len >= name_len && !strncmp(p, name, name_len) &&
		    (line_len == name_len || p[name_len] == ' ' || p[name_len] == '\r')) {
			const char *start = eol ? eol + 1 : p + line_len;
			const char *end = start;
			while (*end && strncmp(end, "-- ", 3)) {
				const char *e = strchr(end, '\n');
				end = e ? e + 1 : end + strlen(end);
			}
			return strndup(start, (size_t)(end - start));
		}
		p = eol ? eol + 1 : p + line_len;
	}
	return NULL;
}

int parse_hex_bytes(const char *what, const char *text, uint8_t **out, size_t *out_len)
{
	size_t cap = strlen(text) / 2 + 1, n = 0;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return fail("%s: out of memory", what);
	const char *p = text;
	while (*p) {
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ',') {
			p++;
			continue;
		}
		if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
			p += 2;
		char digits[3] = { p[0], p[0] ? p[1] : 0, 0 };
		char *end;
		unsigned long v = strtoul(digits, &end, 16);
		if (digits[0] == 0 || end != digits + 2) {
			free(buf);
			return fail("%s: bad hex byte at offset %zu ('%.8s')", what, (size_t)(p - text), p);
		}
		buf[n++] = (uint8_t)v;
		p += 2;
	}
	*out = buf;
	*out_len = n;
	return 0;
}


const char *at_insn(int insn)
{
	static char buf[40];
	if (insn < 0)
		return "";
	snprintf(buf, sizeof buf, "instruction %d: ", insn);
	return buf;
}
