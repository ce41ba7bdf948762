/*
 * test_agent_symbols.c - what a uprobe.multi pattern resolves to in a
 * process (src/hooks/agent_symbols.c's agent_resolve_pattern, compiled
 * in here so the sanitizer build checks it too; the agent itself is
 * always built without): this program's own functions by libbpf's glob
 * ('*', '?', literal text), two symbols of one address counted once,
 * addresses and sizes as the program sees them, an indirect function of
 * libc (strlen) as the code the dynamic linker chose, and the errors: no
 * match, more matches than room, no such file.
 */
#define _GNU_SOURCE   /* RTLD_NOLOAD */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "hooks/agent.h"
#include "support/check.h"
#include "support/noipa.h"

volatile long mtest_sink;

NOIPA long mtest_alpha(long x)
{
	mtest_sink += x;
	return x + 1;
}

NOIPA long mtest_beta(long x)
{
	mtest_sink ^= x;
	return x * 2;
}

NOIPA long mtest_gamma(long x)
{
	mtest_sink -= x;
	return x * 3;
}

/* A second name of mtest_alpha: one function, one probe. */
extern long mtest_alias(long x) __attribute__((alias("mtest_alpha")));

#define CAP 8

/* Resolves pattern in this program: how many functions, or -errno. */
static int resolve(const char *pattern, struct agent_func *out, size_t cap, char *err)
{
	char file[AGENT_TEXT_MAX];
	size_t n;
	int rc = agent_resolve_pattern("test_agent_symbols", pattern, out, cap, &n, file, err);
	CHECK(rc || strstr(file, "/test_agent_symbols"), "file %s", file);
	return rc ? rc : (int)n;
}

static bool has(const struct agent_func *f, int n, const char *name, void *addr)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(f[i].name, name) || f[i].addr == (uintptr_t)addr)
			return f[i].addr == (uintptr_t)addr && f[i].size > 0;
	return false;
}

static void test_globs(void)
{
	struct agent_func f[CAP];
	char err[AGENT_TEXT_MAX] = "";
	int n = resolve("mtest_*", f, CAP, err);
	CHECK(n == 3, "mtest_*: %d functions (%s), want alpha (= alias), beta, gamma", n, err);
	CHECK(has(f, n, "mtest_alpha", (void *)mtest_alpha) && has(f, n, "mtest_beta", (void *)mtest_beta) &&
	      has(f, n, "mtest_gamma", (void *)mtest_gamma), "mtest_*: the functions' addresses and sizes");
	n = resolve("mtest_?eta", f, CAP, err);
	CHECK(n == 1 && f[0].addr == (uintptr_t)mtest_beta, "mtest_?eta: %d", n);
	n = resolve("mtest_*a", f, CAP, err);
	CHECK(n == 3, "mtest_*a: %d (alpha, beta, gamma)", n);
	n = resolve("*test_al*", f, CAP, err);
	CHECK(n == 1 && f[0].addr == (uintptr_t)mtest_alpha, "*test_al*: %d (alpha and its alias, one address)", n);
	n = resolve("mtest_gamma", f, CAP, err);
	CHECK(n == 1 && f[0].addr == (uintptr_t)mtest_gamma, "mtest_gamma: %d", n);
	n = resolve("mtest_gamm", f, CAP, err);
	CHECK(n == -ENOENT && strstr(err, "matches 'mtest_gamm'"), "mtest_gamm: %d (%s)", n, err);
	n = resolve("m**t?st_b*a", f, CAP, err);
	CHECK(n == 1 && f[0].addr == (uintptr_t)mtest_beta, "m**t?st_b*a: %d", n);
}

static void test_errors(void)
{
	struct agent_func f[CAP];
	char err[AGENT_TEXT_MAX] = "", file[AGENT_TEXT_MAX];
	size_t n;
	int rc = resolve("mtest_*", f, 2, err);
	CHECK(rc == -E2BIG && strstr(err, "more than 2 functions"), "room for 2: %d (%s)", rc, err);
	rc = resolve("no_such_function_*", f, CAP, err);
	CHECK(rc == -ENOENT && strstr(err, "no function of ") && strstr(err, "'no_such_function_*'"), "no match: %s", err);
	rc = agent_resolve_pattern("no_such_library", "*", f, CAP, &n, file, err);
	CHECK(rc == -ENOENT && strstr(err, "'no_such_library'"), "no such file: %d (%s)", rc, err);
}

/* strlen is an indirect function: its symbol is the resolver's, the
 * calls go where the resolver sent them. */
static void test_ifunc(void)
{
	struct agent_func f[CAP];
	char err[AGENT_TEXT_MAX] = "", file[AGENT_TEXT_MAX];
	size_t n = 0;
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	void *impl = libc ? dlsym(libc, "strlen") : NULL;
	int rc = agent_resolve_pattern("libc", "strlen", f, CAP, &n, file, err);
	CHECK(rc == 0 && n == 1 && impl && f[0].addr == (uintptr_t)impl && f[0].size == 0,
	      "libc:strlen: rc %d, %zu, %#lx, want %p (%s)", rc, n, n ? (unsigned long)f[0].addr : 0ul, impl, err);
	if (libc)
		dlclose(libc);
}

int main(void)
{
	CHECK(mtest_alias(1) == 2, "the alias is mtest_alpha");
	test_globs();
	test_errors();
	test_ifunc();
	return check_summary();
}
