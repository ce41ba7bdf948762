/*
 * crash.c - the crash test of shared maps: writer processes killed at
 * random moments, then the map must still work and add up.
 *
 * Owns: the rounds (a pinned map per type, re-created every few rounds;
 * forked writer processes of CRASH_THREADS threads each running the
 * type's workload as fast as they can; SIGKILL of some of them after a
 * random delay of tens to hundreds of microseconds), counting from the
 * holder records whether each kill landed while the dead process held a
 * lock or an element/record, the checks after the survivors finish and
 * the map is reclaimed, the watchdog that fails a step that hangs, and
 * the summary table.  The workloads (what writers do, what must hold
 * afterwards) are in crash_<type>.c.
 *
 * Environment: BPFVM_CRASH_ROUNDS (rounds per map type, default 150),
 * BPFVM_CRASH_SEED (default: from the clock; printed), BPFVM_CRASH_TYPES
 * (comma-separated names of the types to run, default all of crash_types).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crash/crash.h"
#include "support/check.h"

/* Map types whose every lock and reservation is crash-safe on main; the
 * test runs them all unless BPFVM_CRASH_TYPES names others. */
static struct crash_type crash_types[] = {
	{ .name = "hash", .nkeys = 48, .workload = &crash_hash_workload,
	  .def = { .type = BPFVM_MAP_TYPE_HASH, .key_size = 4, .value_size = 64, .max_entries = 64,
	           .flags = BPFVM_F_ZERO_SEED, .spin_lock_off = -1 } },
	{ .name = "lru_hash", .nkeys = 48, .workload = &crash_hash_workload,
	  .def = { .type = BPFVM_MAP_TYPE_LRU_HASH, .key_size = 4, .value_size = 64, .max_entries = 32,
	           .flags = BPFVM_F_ZERO_SEED, .spin_lock_off = -1 } },
	{ .name = "percpu_hash", .nkeys = 48, .workload = &crash_hash_workload,
	  .def = { .type = BPFVM_MAP_TYPE_PERCPU_HASH, .key_size = 4, .value_size = 64, .max_entries = 64,
	           .flags = BPFVM_F_ZERO_SEED, .spin_lock_off = -1 } },
	{ .name = "lru_percpu_hash", .nkeys = 48, .workload = &crash_hash_workload,
	  .def = { .type = BPFVM_MAP_TYPE_LRU_PERCPU_HASH, .key_size = 4, .value_size = 64, .max_entries = 32,
	           .flags = BPFVM_F_ZERO_SEED, .spin_lock_off = -1 } },
	{ .name = "queue", .nkeys = 16, .workload = &crash_queue_workload, .rounds_factor = 4,
	  .max_writers = 2,
	  .def = { .type = BPFVM_MAP_TYPE_QUEUE, .value_size = 2048, .max_entries = 16, .spin_lock_off = -1 } },
	{ .name = "stack", .nkeys = 16, .workload = &crash_queue_workload, .rounds_factor = 4,
	  .max_writers = 2,
	  .def = { .type = BPFVM_MAP_TYPE_STACK, .value_size = 2048, .max_entries = 16, .spin_lock_off = -1 } },
	{ .name = "lpm_trie", .nkeys = 40, .workload = &crash_lpm_workload,
	  .def = { .type = BPFVM_MAP_TYPE_LPM_TRIE, .key_size = 8, .value_size = 8, .max_entries = 48,
	           .flags = BPFVM_F_NO_PREALLOC, .spin_lock_off = -1 } },
	{ .name = "stack_trace", .nkeys = 48, .workload = &crash_stack_trace_workload, .rounds_factor = 4,
	  .max_writers = 2,
	  .def = { .type = BPFVM_MAP_TYPE_STACK_TRACE, .key_size = 4, .value_size = 127 * 8, .max_entries = 40,
	           .spin_lock_off = -1 } },
	{ .name = "ringbuf", .workload = &crash_ringbuf_workload,
	  .def = { .type = BPFVM_MAP_TYPE_RINGBUF, .max_entries = 4096, .spin_lock_off = -1 } },
};
#define N_TYPES (sizeof crash_types / sizeof crash_types[0])

#define MIN_LANDED_KILLS 50u  /* kills in a critical section that make a type's run count */
#define REUSE_ROUNDS 20       /* a fresh map every this many rounds */
#define STEP_SECONDS 20       /* a step taking longer has hung */
#define MIN_DELAY_NS 20000
#define MAX_DELAY_NS 400000
#define MAX_KINDS 8
#define MAX_FAILURES_PER_TYPE 20

/* ---- memory the writers share with the test process --------------------- */

struct writer_shared {
	struct {
		uint64_t n;
		char pad[56];
	} ops[CRASH_THREADS];     /* each thread's operations, a cache line each */
	uint32_t failed;
	char why[160];
};

struct round_shared {
	uint32_t stop;
	struct writer_shared w[CRASH_MAX_WRITERS];
};

static struct round_shared *shared;

/* ---- the watchdog --------------------------------------------------------- */

static volatile sig_atomic_t n_children;
static pid_t children[CRASH_MAX_WRITERS];
static char pin_dir[64];
static char pin_path[128];
static char step_name[128];

static void write_str(const char *s)
{
	if (write(2, s, strlen(s)) < 0)
		return;
}

/* A step hung: say which, kill the writers, remove the pins, fail. */
static void on_alarm(int sig)
{
	(void)sig;
	write_str("FAIL: timed out (a hang) in: ");
	write_str(step_name);
	write_str("\n");
	for (int i = 0; i < n_children; i++)
		if (children[i] > 0)
			kill(children[i], SIGKILL);
	unlink(pin_path);
	rmdir(pin_dir);
	_exit(1);
}

static void step(const struct crash_type *t, unsigned round, const char *what)
{
	snprintf(step_name, sizeof step_name, "%s round %u: %s", t->name, round, what);
	alarm(STEP_SECONDS);
}

/* ---- per-type results ------------------------------------------------------- */

struct type_stats {
	unsigned rounds, kills, landed;
	uint64_t ops;
	const char *kind[MAX_KINDS];   /* what the dead held ("bucket lock", "element", ...) */
	unsigned kind_kills[MAX_KINDS];
};

static void count_kind(struct type_stats *s, const char *what)
{
	unsigned i = 0;
	while (i < MAX_KINDS && s->kind[i] && strcmp(s->kind[i], what) != 0)
		i++;
	if (i == MAX_KINDS)
		return;
	s->kind[i] = what;
	s->kind_kills[i]++;
}

/* ---- a writer process ------------------------------------------------------ */

struct writer_thread_arg {
	struct crash_writer w;
	struct writer_shared *slot;
	unsigned thread;
};

static void *writer_thread(void *arg)
{
	struct writer_thread_arg *a = arg;
	const struct crash_workload *wl = a->w.type->workload;
	uint64_t *ops = &a->slot->ops[a->thread].n;
	while (!__atomic_load_n(&shared->stop, __ATOMIC_RELAXED)) {
		if (!wl->writer_step(&a->w)) {
			if (__atomic_exchange_n(&a->slot->failed, 1, __ATOMIC_RELAXED) == 0)
				memcpy(a->slot->why, a->w.why, sizeof a->slot->why);
			break;
		}
		__atomic_store_n(ops, *ops + 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* The body of a forked writer process: opens the pinned map and runs its
 * threads until told to stop (or killed).  Never returns. */
static void writer_main(const struct crash_type *t, unsigned index, uint64_t seed)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct writer_shared *slot = &shared->w[index];
	bpfvm_map *map = NULL;
	bpfvm_error err = { 0 };
	if (bpfvm_map_open_pinned(t->name, &map, &err) != 0) {
		snprintf(slot->why, sizeof slot->why, "open_pinned: %.140s", err.msg);
		slot->failed = 1;
		_exit(1);
	}
	bpfvm_map_info info;
	bpfvm_map_info_get(map, &info);
	struct writer_thread_arg args[CRASH_THREADS];
	pthread_t threads[CRASH_THREADS];
	for (unsigned i = 0; i < CRASH_THREADS; i++) {
		args[i] = (struct writer_thread_arg){
			.w = { .map = map, .type = t, .id = 1 + index * CRASH_THREADS + i,
			       .rng = seed * 0x9E3779B97F4A7C15ULL + i + 1, .buf = malloc(info.user_value_size) },
			.slot = slot, .thread = i,
		};
		if (!args[i].w.buf || pthread_create(&threads[i], NULL, writer_thread, &args[i]) != 0)
			_exit(2);
	}
	for (unsigned i = 0; i < CRASH_THREADS; i++)
		pthread_join(threads[i], NULL);
	bpfvm_map_put(map);
	_exit(slot->failed ? 1 : 0);
}

/* Forks the writers and waits until every thread of each is running
 * operations: how many were forked (all of them, or fewer after a
 * failed fork, CHECK()ed).  A failed fork's -1 is never kept in
 * children[]: kill(-1, ...) would signal every process of the machine. */
static unsigned start_writers(const struct crash_type *t, unsigned nwriters, uint64_t seed)
{
	memset(shared, 0, sizeof *shared);
	for (unsigned i = 0; i < nwriters; i++) {
		pid_t pid = fork();
		if (pid == 0)
			writer_main(t, i, seed + i);
		if (!CHECK(pid > 0, "fork: %s", strerror(errno))) {
			nwriters = i;
			break;
		}
		children[i] = pid;
		n_children = (sig_atomic_t)(i + 1);
	}
	for (unsigned i = 0; i < nwriters; i++)
		for (unsigned k = 0; k < CRASH_THREADS; k++)
			while (__atomic_load_n(&shared->w[i].ops[k].n, __ATOMIC_RELAXED) == 0 &&
			       !__atomic_load_n(&shared->w[i].failed, __ATOMIC_RELAXED))
				usleep(20);
	return nwriters;
}

/* ---- one round ------------------------------------------------------------------ */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Busy-waits (a sleep would be too coarse for microseconds). */
static void delay_ns(uint64_t ns)
{
	uint64_t until = now_ns() + ns;
	while (now_ns() < until)
		;
}

struct landed_ctx {
	pid_t victims[CRASH_MAX_WRITERS];
	unsigned nvictims;
	const char *kinds[CRASH_MAX_WRITERS][MAX_KINDS];   /* what each victim was found holding */
	bool landed[CRASH_MAX_WRITERS];
};

/* A holder record: a victim's lock or element (its spare element does
 * not count: threads keep one all the time). */
static void note_holder(const bpfvm_map_holder *h, void *ctx)
{
	struct landed_ctx *c = ctx;
	if (h->alive || strcmp(h->what, "spare element") == 0)
		return;
	for (unsigned v = 0; v < c->nvictims; v++) {
		if (c->victims[v] != h->pid)
			continue;
		c->landed[v] = true;
		for (unsigned k = 0; k < MAX_KINDS; k++) {
			if (c->kinds[v][k] && strcmp(c->kinds[v][k], h->what) == 0)
				break;
			if (!c->kinds[v][k]) {
				c->kinds[v][k] = h->what;
				break;
			}
		}
	}
}

/* Before anything else touches the map: what the victims held. */
static void count_landed(const struct crash_type *t, struct landed_ctx *c, struct type_stats *s)
{
	bpfvm_map *view = NULL;
	bpfvm_error err = { 0 };
	if (!CHECK(bpfvm_map_open_pinned_inspect(t->name, &view, &err) == 0, "%s: open_pinned_inspect: %s", t->name,
	           err.msg))
		return;
	CHECK_RC(bpfvm_map_holders(view, note_holder, c, &err), 0, "map_holders");
	bpfvm_map_put(view);
	for (unsigned v = 0; v < c->nvictims; v++) {
		s->landed += c->landed[v];
		for (unsigned k = 0; k < MAX_KINDS && c->kinds[v][k]; k++)
			count_kind(s, c->kinds[v][k]);
	}
}

/* Kills a random non-empty subset of the writers, the others stopped
 * first so that none takes a dead victim's lock over before the count. */
static unsigned kill_some(struct landed_ctx *c, unsigned nwriters, uint64_t *rng, bool *victim)
{
	unsigned mask = 0;
	while (!mask)
		mask = (unsigned)crash_rand(rng) & ((1u << nwriters) - 1);
	for (unsigned i = 0; i < nwriters; i++) {
		victim[i] = mask & (1u << i);
		if (!victim[i])
			kill(children[i], SIGSTOP);
	}
	for (unsigned i = 0; i < nwriters; i++)
		if (victim[i]) {
			kill(children[i], SIGKILL);
			c->victims[c->nvictims++] = children[i];
		}
	for (unsigned i = 0; i < nwriters; i++)
		if (victim[i]) {
			int status = 0;
			waitpid(children[i], &status, 0);
			CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "writer %u ended before its kill (status 0x%x): %s",
			      i, status, shared->w[i].why);
			children[i] = 0;
		}
	return c->nvictims;
}

/* The others finish their operations (taking over what the victims held)
 * and exit cleanly. */
static void finish_survivors(unsigned nwriters, const bool *victim)
{
	__atomic_store_n(&shared->stop, 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < nwriters; i++)
		if (!victim[i])
			kill(children[i], SIGCONT);
	for (unsigned i = 0; i < nwriters; i++) {
		if (victim[i])
			continue;
		int status = 0;
		waitpid(children[i], &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "surviving writer %u failed (status 0x%x): %s", i,
		      status, shared->w[i].why);
		children[i] = 0;
	}
	n_children = 0;
}

static void no_dead_holder(const bpfvm_map_holder *h, void *ctx)
{
	const char *type_name = ctx;
	CHECK(h->alive, "%s: after reclaim, a dead process (pid %d) still holds %s %" PRIu64, type_name, (int)h->pid,
	      h->what, h->index);
}

/* Every other round reclaims explicitly; the others open the pin afresh,
 * an open that finds a user dead reclaims. */
static void check_after(const struct crash_type *t, unsigned round, bpfvm_map *map)
{
	bpfvm_error err = { 0 };
	bpfvm_map *use = map;
	step(t, round, "reclaim");
	if (round & 1)
		CHECK_RC(bpfvm_map_reclaim(map, &err), 0, "map_reclaim");
	else if (!CHECK(bpfvm_map_open_pinned(t->name, &use, &err) == 0, "%s: reopen: %s", t->name, err.msg))
		return;
	step(t, round, "holders after reclaim");
	bpfvm_map_holders(use, no_dead_holder, (void *)t->name, &err);
	step(t, round, "checks after reclaim");
	t->workload->check(use, t);
	step(t, round, "operations after reclaim");
	t->workload->operate(use, t);
	if (use != map)
		bpfvm_map_put(use);
}

static void run_round(const struct crash_type *t, unsigned round, bpfvm_map *map, uint64_t *rng,
                      struct type_stats *s)
{
	unsigned most = t->max_writers ? t->max_writers : CRASH_MAX_WRITERS;
	unsigned nwriters = 2 + (unsigned)(crash_rand(rng) % (most - 1));
	struct landed_ctx c = { .nvictims = 0 };
	bool victim[CRASH_MAX_WRITERS] = { false };
	step(t, round, "starting writers");
	nwriters = start_writers(t, nwriters, crash_rand(rng));
	if (nwriters < 2) {   /* a failed fork, CHECK()ed: no round without a survivor to kill around */
		for (unsigned i = 0; i < nwriters; i++) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
			children[i] = 0;
		}
		n_children = 0;
		alarm(0);
		return;
	}
	delay_ns(MIN_DELAY_NS + crash_rand(rng) % (MAX_DELAY_NS - MIN_DELAY_NS));
	step(t, round, "killing");
	s->kills += kill_some(&c, nwriters, rng, victim);
	step(t, round, "counting what the dead held");
	count_landed(t, &c, s);
	step(t, round, "survivors finishing");
	finish_survivors(nwriters, victim);
	for (unsigned i = 0; i < nwriters; i++)
		for (unsigned k = 0; k < CRASH_THREADS; k++)
			s->ops += shared->w[i].ops[k].n;
	check_after(t, round, map);
	alarm(0);
	s->rounds++;
}

/* ---- a map type ------------------------------------------------------------------- */

static bpfvm_map *fresh_map(const struct crash_type *t, bpfvm_map *old)
{
	bpfvm_error err = { 0 };
	bpfvm_map *map = NULL;
	snprintf(pin_path, sizeof pin_path, "%s/%s", pin_dir, t->name);
	unlink(pin_path);
	bpfvm_map_put(old);
	if (!CHECK(bpfvm_map_create(&t->def, &map, &err) == 0, "%s: create: %s", t->name, err.msg))
		return NULL;
	if (!CHECK(bpfvm_map_pin(map, t->name, &err) == 0, "%s: pin: %s", t->name, err.msg)) {
		bpfvm_map_put(map);
		return NULL;
	}
	return map;
}

static void run_type(struct crash_type *t, unsigned rounds, uint64_t seed, struct type_stats *s)
{
	uint64_t rng = seed ^ (uint64_t)t->def.type * 0x100000001B3ULL;
	int failed_before = failed;
	t->writer_ids = CRASH_MAX_WRITERS * CRASH_THREADS;
	t->workload->prepare(t);
	bpfvm_map *map = NULL;
	for (unsigned r = 0; r < rounds && failed - failed_before < MAX_FAILURES_PER_TYPE; r++) {
		if (r % REUSE_ROUNDS == 0 && !(map = fresh_map(t, map)))
			break;
		run_round(t, r, map, &rng, s);
	}
	bpfvm_map_put(map);
	unlink(pin_path);
}

/* ---- the summary ---------------------------------------------------------------------- */

static void print_summary(const struct crash_type *const *types, const struct type_stats *stats, unsigned n)
{
	printf("\n%-16s %6s %6s %7s %6s %12s  %s\n", "map type", "rounds", "kills", "landed", "%", "operations",
	       "held by a victim at its kill (kills)");
	for (unsigned i = 0; i < n; i++) {
		const struct type_stats *s = &stats[i];
		printf("%-16s %6u %6u %7u %5.1f%% %12" PRIu64 " ", types[i]->name, s->rounds, s->kills, s->landed,
		       s->kills ? 100.0 * s->landed / s->kills : 0.0, s->ops);
		for (unsigned k = 0; k < MAX_KINDS && s->kind[k]; k++)
			printf(" %s %u%s", s->kind[k], s->kind_kills[k], k + 1 < MAX_KINDS && s->kind[k + 1] ? "," : "");
		printf("\n");
	}
	printf("\n");
}

static bool type_selected(const char *list, const char *name, bool by_default)
{
	if (!list || !*list)
		return by_default;
	size_t len = strlen(name);
	for (const char *p = list; (p = strstr(p, name)) != NULL; p += len)
		if ((p == list || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
			return true;
	return false;
}

static unsigned env_unsigned(const char *name, unsigned dflt)
{
	const char *v = getenv(name);
	return v && *v ? (unsigned)strtoul(v, NULL, 0) : dflt;
}

int main(void)
{
	unsigned rounds = env_unsigned("BPFVM_CRASH_ROUNDS", 150);
	const char *seed_env = getenv("BPFVM_CRASH_SEED");
	uint64_t seed = seed_env && *seed_env ? strtoull(seed_env, NULL, 0) : now_ns();
	/* a test killed by its watchdog (_exit) or by ctest's timeout still
	 * shows what it printed and every CHECK() failure before */
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("crash test: %u rounds per map type, seed %" PRIu64 " (BPFVM_CRASH_ROUNDS, BPFVM_CRASH_SEED)\n", rounds,
	       seed);
	snprintf(pin_dir, sizeof pin_dir, "/dev/shm/bpfvm-crash-XXXXXX");
	shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!mkdtemp(pin_dir) || shared == MAP_FAILED) {
		perror("crash test setup");
		return 1;
	}
	setenv("BPFVM_PIN_DIR", pin_dir, 1);
	signal(SIGALRM, on_alarm);
	const struct crash_type *ran[N_TYPES];
	struct type_stats stats[N_TYPES];
	unsigned n = 0;
	for (unsigned i = 0; i < N_TYPES; i++) {
		struct crash_type *t = &crash_types[i];
		if (!type_selected(getenv("BPFVM_CRASH_TYPES"), t->name, true))
			continue;
		memset(&stats[n], 0, sizeof stats[n]);
		run_type(t, rounds * (t->rounds_factor ? t->rounds_factor : 1), seed, &stats[n]);
		ran[n++] = t;
	}
	rmdir(pin_dir);
	print_summary(ran, stats, n);
	/* The evidence is the kills that landed inside a critical section: 10%
	 * of them, or MIN_LANDED_KILLS whatever the share (a loaded machine
	 * stretches the time between operations, where kills land harmlessly). */
	for (unsigned i = 0; i < n; i++)
		CHECK(stats[i].landed * 10 >= stats[i].kills || stats[i].landed >= MIN_LANDED_KILLS,
		      "%s: only %u of %u kills landed while a lock or an element was held (under 10%% and under %u): "
		      "the kills prove nothing", ran[i]->name, stats[i].landed, stats[i].kills, MIN_LANDED_KILLS);
	return check_summary();
}
