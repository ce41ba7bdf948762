/*
 * datafile.c - reading .data test files (datafile.h): the file, its
 * sections, and the values in the sections of bpfvm's additions.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datafile.h"
#include "input.h"

char *datafile_read(const char *path)
{
	char *text;
	size_t len;
	return input_read(path, INPUT_DEFAULT_CAP, &text, &len) ? NULL : text;
}

/* Whether the line at p (line_len bytes) is the header "-- NAME", maybe
 * followed by a space or a carriage return and more. */
static int is_header(const char *p, size_t line_len, const char *header, size_t header_len)
{
	return line_len >= header_len && !strncmp(p, header, header_len) &&
	       (line_len == header_len || p[header_len] == ' ' || p[header_len] == '\r');
}

char *datafile_section(const char *text, const char *name)
{
	char header[64];
	snprintf(header, sizeof header, "-- %s", name);
	size_t header_len = strlen(header);
	const char *p = text;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t line_len = eol ? (size_t)(eol - p) : strlen(p);
		if (is_header(p, line_len, header, header_len)) {
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

int datafile_hex_bytes(const char *text, uint8_t **out, size_t *out_len, size_t *bad_offset)
{
	size_t cap = strlen(text) / 2 + 1, n = 0;
	uint8_t *buf = malloc(cap);
	*bad_offset = (size_t)-1;
	if (!buf)
		return -1;
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
			*bad_offset = (size_t)(p - text);
			return -1;
		}
		buf[n++] = (uint8_t)v;
		p += 2;
	}
	*out = buf;
	*out_len = n;
	return 0;
}

uint64_t *datafile_raw_words(const char *section, size_t *count)
{
	uint64_t *words = calloc(strlen(section) / 2 + 1, sizeof *words);
	size_t n = 0;
	for (const char *p = section; words && *p;) {
		char *end;
		unsigned long long w = strtoull(p, &end, 16);
		if (end == p) {
			p++;
			continue;
		}
		words[n++] = w;
		p = end;
	}
	*count = n;
	return words;
}

int datafile_expected_error(const char *section, int *insn, char *text, size_t text_len)
{
	*insn = -2;
	text[0] = 0;
	int used = 0;
	if (sscanf(section, " %d %n", insn, &used) < 1)
		return -1;
	snprintf(text, text_len, "%s", section + used);
	char *nl = strchr(text, '\n');
	if (nl)
		*nl = 0;
	return 0;
}
