/*
 * dlopen_cycles.c - libbpfvm.so as a plugin host sees it: dlopen()ed,
 * used only through dlsym()ed functions, dlclose()d, and again, CYCLES
 * times.  Each cycle loads and runs a two-instruction program; every
 * fourth also has threads replace values in a plain hash map (so they and
 * the main thread hold spare elements, which the library must give back
 * without anything left pointing into it after dlclose), one of them
 * exiting only after the dlclose.  Not
 * linked against bpfvm: only <dlfcn.h> and the public headers' types.
 * Usage: dlopen_cycles LIBBPFVM_SO
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/maps.h"

#define CYCLES 20
#define KEYS 64
#define THREAD_ROUNDS 2000

/* The library's functions this test calls, found by name. */
struct lib {
	void *handle;
	__typeof__(bpfvm_program_load) *program_load;
	__typeof__(bpfvm_program_run) *program_run;
	__typeof__(bpfvm_program_free) *program_free;
	__typeof__(bpfvm_map_create) *map_create;
	__typeof__(bpfvm_map_update) *map_update;
	__typeof__(bpfvm_map_lookup) *map_lookup;
	__typeof__(bpfvm_map_put) *map_put;
};

static int failures;

#define FAIL(...)                                 \
	do {                                      \
		printf("FAIL: " __VA_ARGS__);     \
		printf("\n");                     \
		failures++;                       \
	} while (0)

static void *must_sym(void *handle, const char *name)
{
	void *fn = dlsym(handle, name);
	if (!fn)
		FAIL("dlsym %s: %s", name, dlerror());
	return fn;
}

static int lib_open(struct lib *l, const char *path)
{
	memset(l, 0, sizeof *l);
	l->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!l->handle) {
		FAIL("dlopen %s: %s", path, dlerror());
		return -1;
	}
	l->program_load = must_sym(l->handle, "bpfvm_program_load");
	l->program_run = must_sym(l->handle, "bpfvm_program_run");
	l->program_free = must_sym(l->handle, "bpfvm_program_free");
	l->map_create = must_sym(l->handle, "bpfvm_map_create");
	l->map_update = must_sym(l->handle, "bpfvm_map_update");
	l->map_lookup = must_sym(l->handle, "bpfvm_map_lookup");
	l->map_put = must_sym(l->handle, "bpfvm_map_put");
	return failures ? -1 : 0;
}

static void run_program(const struct lib *l, int cycle)
{
	static const bpfvm_insn prog42[] = {
		{ .opcode = 0xb7, .dst = 0, .imm = 42 },  /* r0 = 42 */
		{ .opcode = 0x95 },                       /* exit */
	};
	BPFVM_OPTS(bpfvm_load_opts, lo, .jit = cycle % 2 == 1);
	bpfvm_program *prog = NULL;
	bpfvm_error err = { 0 };
	if (l->program_load(prog42, 2, &lo, &prog, &err) != 0) {
		FAIL("cycle %d: load: %s", cycle, err.msg);
		return;
	}
	BPFVM_OPTS(bpfvm_run_opts, ro, .mode = BPFVM_CHECKED);
	uint64_t r0 = 0;
	if (l->program_run(prog, &ro, &r0, &err) != 0 || r0 != 42)
		FAIL("cycle %d: run: r0 %llu: %s", cycle, (unsigned long long)r0, err.msg);
	l->program_free(prog);
}

struct worker {
	const struct lib *lib;
	bpfvm_map *map;
	uint64_t tag;
	int bad;
};

/* Replaces every key's value, again and again: replacements of existing
 * keys go through the thread's spare element. */
static void *replace_values(void *arg)
{
	struct worker *w = arg;
	for (int round = 0; round < THREAD_ROUNDS; round++)
		for (uint32_t k = 0; k < KEYS; k++) {
			uint64_t v = w->tag + (uint64_t)round;
			w->bad += w->lib->map_update(w->map, &k, &v, BPFVM_ANY, NULL) != 0;
		}
	return NULL;
}

/* A thread that used the library and outlives its dlclose(): it exits
 * only when `go` opens, after the library is gone (a thread-exit hook
 * left behind in the library would then run unmapped code). */
struct lingerer {
	struct worker w;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int updated, go;
};

static void *linger(void *arg)
{
	struct lingerer *g = arg;
	replace_values(&g->w);
	pthread_mutex_lock(&g->lock);
	g->updated = 1;
	pthread_cond_broadcast(&g->cond);
	while (!g->go)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

static void wait_for(struct lingerer *g, int *flag)
{
	pthread_mutex_lock(&g->lock);
	while (!*flag)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

static void update_from_threads(const struct lib *l, int cycle, struct lingerer *g)
{
	bpfvm_map_def def = { .type = BPFVM_MAP_TYPE_HASH, .key_size = 4, .value_size = 8, .max_entries = KEYS,
	                      .spin_lock_off = -1 };
	bpfvm_map *map = NULL;
	bpfvm_error err = { 0 };
	if (l->map_create(&def, &map, &err) != 0) {
		FAIL("cycle %d: map: %s", cycle, err.msg);
		return;
	}
	for (uint32_t k = 0; k < KEYS; k++) {
		uint64_t v = k;
		l->map_update(map, &k, &v, BPFVM_NOEXIST, NULL);
		l->map_update(map, &k, &v, BPFVM_ANY, NULL);   /* the main thread takes a spare too */
	}
	struct worker w[2] = { { l, map, 1000000, 0 }, { l, map, 2000000, 0 } };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, replace_values, &w[i]) != 0)
			FAIL("cycle %d: pthread_create", cycle);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	g->w = (struct worker){ l, map, 3000000, 0 };
	if (pthread_create(&g->thread, NULL, linger, g) != 0)
		FAIL("cycle %d: pthread_create", cycle);
	wait_for(g, &g->updated);
	for (uint32_t k = 0; k < KEYS; k++) {
		uint64_t v = 0;
		if (l->map_lookup(map, &k, &v, 0, NULL) != 0 || v % 1000000 != THREAD_ROUNDS - 1)
			FAIL("cycle %d: key %u holds %llu", cycle, k, (unsigned long long)v);
	w[0].bad += g->w.bad;
	}
	if (w[0].bad || w[1].bad)
		FAIL("cycle %d: %d updates failed", cycle, w[0].bad + w[1].bad);
	l->map_put(map);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: dlopen_cycles LIBBPFVM_SO\n");
		return 2;
	}
	for (int cycle = 0; cycle < CYCLES && !failures; cycle++) {
		struct lib l;
		if (lib_open(&l, argv[1]) != 0)
			break;
		run_program(&l, cycle);
		struct lingerer g = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
		bool threads = cycle % 4 == 0;
		if (threads)
			update_from_threads(&l, cycle, &g);
		if (dlclose(l.handle) != 0)
			FAIL("cycle %d: dlclose: %s", cycle, dlerror());
		/* really gone: the next cycle maps it afresh (and a destructor
		 * or key left pointing into it would crash) */
		void *still = dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD);
		if (still) {
			FAIL("cycle %d: the library stayed loaded after dlclose", cycle);
			dlclose(still);
		}
		if (threads) {
			pthread_mutex_lock(&g.lock);
			g.go = 1;
			pthread_cond_broadcast(&g.cond);
			pthread_mutex_unlock(&g.lock);
			pthread_join(g.thread, NULL);
		}
	}
	if (!failures)
		printf("ok: %d dlopen/run/dlclose cycles\n", CYCLES);
	return failures != 0;
}
