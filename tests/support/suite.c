/*
 * suite.c - reading the negative suite (suite.h): its files, their
 * annotations and the assembly cases' program types.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/datafile.h"   /* datafile_read */
#include "suite.h"

#ifndef BPFVM_TESTS_DIR
#define BPFVM_TESTS_DIR "tests"
#endif
#ifndef BPFVM_NEGATIVE_OBJ_DIR
#define BPFVM_NEGATIVE_OBJ_DIR "build/tests/verifier/negative"
#endif

#define SUITE_DIR BPFVM_TESTS_DIR "/verifier/negative"

static int suite_type_by_name(const char *name, uint32_t *type)
{
	static const struct {
		const char *name;
		uint32_t type;
	} types[] = {
		{ "socket_filter", 1 }, { "kprobe", 2 }, { "sched_cls", 3 }, { "sched_act", 4 },
		{ "tracepoint", 5 },   { "xdp", 6 },    { "raw_tracepoint", 17 },
	};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (!strcmp(name, types[i].name)) {
			*type = types[i].type;
			return 0;
		}
	return -1;
}

/* Parses "NAME: accept" or "NAME: reject \"text\"" (after "expect "). */
static int suite_parse_expect(const char *p, struct suite_case *c)
{
	size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
	if (!n || n >= sizeof c->prog || p[n] != ':')
		return -1;
	memcpy(c->prog, p, n);
	c->prog[n] = 0;
	p += n + 1;
	p += strspn(p, " \t");
	if (!strncmp(p, "accept", 6)) {
		c->expect_reject = false;
		p += 6;
		p += strspn(p, " \t");
		return (*p == 0 || *p == '\n' || *p == '\r') ? 0 : -1;
	}
	if (strncmp(p, "reject", 6))
		return -1;
	c->expect_reject = true;
	p += 6;
	p += strspn(p, " \t");
	if (*p != '"')
		return -1;
	const char *end = strchr(p + 1, '"');
	const char *eol = strchr(p, '\n');
	if (!end || (eol && end > eol) || end == p + 1 || (size_t)(end - p - 1) >= sizeof c->msg)
		return -1;
	memcpy(c->msg, p + 1, (size_t)(end - p - 1));
	c->msg[end - p - 1] = 0;
	return 0;
}

static int suite_cmp(const void *a, const void *b)
{
	const struct suite_case *x = a, *y = b;
	int r = strcmp(x->file, y->file);
	return r ? r : x->line - y->line;
}

int suite_load(struct suite *s)
{
	memset(s, 0, sizeof *s);
	DIR *d = opendir(SUITE_DIR);
	if (!d) {
		snprintf(s->error, sizeof s->error, "%s: cannot open", SUITE_DIR);
		return -1;
	}
	size_t cap = 0;
	struct dirent *de;
	int rc = 0;
	while (!rc && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		bool is_c = len > 2 && !strcmp(de->d_name + len - 2, ".c");
		bool is_asm = len > 2 && !strcmp(de->d_name + len - 2, ".s");
		if (!is_c && !is_asm)
			continue;
		if (len >= sizeof s->cases[0].file) {
			snprintf(s->error, sizeof s->error, "%s: name too long", de->d_name);
			rc = -1;
			break;
		}
		char path[512];
		snprintf(path, sizeof path, "%s/%s", SUITE_DIR, de->d_name);
		char *text = datafile_read(path);
		if (!text) {
			snprintf(s->error, sizeof s->error, "%s: cannot read", path);
			rc = -1;
			break;
		}
		uint32_t type = 0;
		bool have_type = false;
		size_t first = s->count;
		int lineno = 0;
		for (char *line = text; line && *line && !rc; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
			lineno++;
			const char *p = line + strspn(line, " \t");
			const char *lead = is_asm ? "#" : "//";
			if (strncmp(p, lead, strlen(lead)))
				continue;
			p += strlen(lead);
			p += strspn(p, " \t");
			if (is_asm && !strncmp(p, "type:", 5)) {
				char name[32] = "";
				sscanf(p + 5, " %31[a-z_]", name);
				if (suite_type_by_name(name, &type)) {
					snprintf(s->error, sizeof s->error, "%s:%d: unknown program type '%s'", path, lineno, name);
					rc = -1;
				}
				have_type = true;
				continue;
			}
			if (strncmp(p, "expect ", 7))
				continue;
			if (s->count == cap) {
				cap = cap ? 2 * cap : 64;
				s->cases = realloc(s->cases, cap * sizeof *s->cases);
			}
			struct suite_case *c = &s->cases[s->count];
			memset(c, 0, sizeof *c);
			snprintf(c->file, sizeof c->file, "%.*s", (int)sizeof c->file - 1, de->d_name);
			c->is_asm = is_asm;
			c->line = lineno;
			if (suite_parse_expect(p + 7, c)) {
				snprintf(s->error, sizeof s->error, "%s:%d: malformed annotation (see tests/verifier/README.md)",
				         path, lineno);
				rc = -1;
				break;
			}
			if (is_asm && (strlen(c->prog) != len - 2 || strncmp(c->prog, de->d_name, len - 2))) {
				snprintf(s->error, sizeof s->error, "%s:%d: an assembly file's program is named after the file",
				         path, lineno);
				rc = -1;
				break;
			}
			s->count++;
		}
		if (!rc && is_asm) {
			if (!have_type || s->count != first + 1) {
				snprintf(s->error, sizeof s->error, "%s: needs one '# type:' and one '# expect' line", path);
				rc = -1;
			} else {
				s->cases[first].prog_type = type;
			}
		}
		if (!rc && !is_asm && s->count == first) {
			snprintf(s->error, sizeof s->error, "%s: no '// expect' annotation", path);
			rc = -1;
		}
		free(text);
	}
	closedir(d);
	if (!rc && s->count)
		qsort(s->cases, s->count, sizeof *s->cases, suite_cmp);
	if (!rc && !s->count) {
		snprintf(s->error, sizeof s->error, "%s: no programs", SUITE_DIR);
		rc = -1;
	}
	return rc;
}

char *suite_asm_text(const struct suite_case *c)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", SUITE_DIR, c->file);
	return datafile_read(path);
}

void suite_obj_path(const struct suite_case *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%.*s.bpf.o", BPFVM_NEGATIVE_OBJ_DIR, (int)(strlen(c->file) - 2), c->file);
}

void suite_free(struct suite *s)
{
	free(s->cases);
	memset(s, 0, sizeof *s);
}
