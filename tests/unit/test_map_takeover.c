/*
 * test_map_takeover.c - locks whose holder died are taken over, holders
 * are reported, and damaged hash arenas are refused or reported instead
 * of hanging a reader (issue 11, items 1 and 5).
 *
 * Owns: deterministic reproducers, each a child process that takes a lock
 * (or writes a lock word naming itself) and is killed holding it; the
 * random-kill crash test is tests/crash.  Every wait runs under alarm():
 * a hang fails the test instead of stalling the suite.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpfvm/maps.h"
#include "maps/map_internal.h"
#include "support/check.h"

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "test_map_takeover: a wait did not end (alarm)\n";
	(void)!write(2, msg, sizeof msg - 1);
	_exit(2);
}

/* Runs fn(arg) in a child that then kills itself (no exit handlers, no
 * unlocking), and reaps it; returns its pid. */
static pid_t die_holding(void (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	if (pid == 0) {
		fn(arg);
		raise(SIGKILL);
		_exit(3);
	}
	int status;
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child killed");
	return pid;
}

struct holder_seen {
	const char *what;
	pid_t pid;
	int dead, alive;
};

static void note_holder(const bpfvm_map_holder *h, void *ctx)
{
	struct holder_seen *s = ctx;
	if (strcmp(h->what, s->what) == 0 && h->pid == s->pid)
		h->alive ? s->alive++ : s->dead++;
}

static struct holder_seen holders_of(bpfvm_map *m, const char *what, pid_t pid)
{
	struct holder_seen s = { .what = what, .pid = pid };
	CHECK_RC(bpfvm_map_holders(m, note_holder, &s, NULL), 0, "holders");
	return s;
}

static bpfvm_map *make(uint32_t type, uint32_t key_size, uint32_t value_size, int32_t lock_off)
{
	bpfvm_map_def d = BPFVM_MAP_DEF_INIT;
	d.type = type;
	d.key_size = key_size;
	d.value_size = value_size;
	d.max_entries = 64;
	d.spin_lock_off = lock_off;
	d.name = "takeover";
	bpfvm_map *m = NULL;
	bpfvm_error err;
	CHECK_RC(bpfvm_map_create(&d, &m, &err), 0, err.msg);
	return m;
}

static void lock_word(void *word)
{
	bpfvm_map_spin_lock(word);
}

/* Runs `bpfvm map ARGS` (the CLI named by BPFVM_CLI) and returns its
 * output (static); NULL if the CLI is not known to this run. */
static const char *cli_output(const char *args)
{
	static char out[4096];
	const char *cli = getenv("BPFVM_CLI");
	if (!cli || !*cli)
		return NULL;
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "'%s' map %s 2>&1", cli, args);
	FILE *p = popen(cmd, "r");
	if (!p)
		return NULL;
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = '\0';
	pclose(p);
	return out;
}

/* `bpfvm map show` lists the dead holder and leaves it there (a forked
 * child that never opened the map is not in its users table, so only a
 * takeover or a reclaim frees its lock). */
static void test_show_holders(bpfvm_map *m, pid_t pid, const char *dir)
{
	char path[256], args[512], want[96];
	snprintf(path, sizeof path, "%s/takeover_array", dir);
	bpfvm_error err;
	CHECK_RC(bpfvm_map_pin(m, path, &err), 0, err.msg);
	snprintf(args, sizeof args, "show pinned %s", path);
	const char *out = cli_output(args);
	if (!out) {
		printf("skip: map show (BPFVM_CLI not set)\n");
		unlink(path);
		return;
	}
	snprintf(want, sizeof want, "held: value lock 3 by pid %d (dead", (int)pid);
	CHECK(strstr(out, want) != NULL, "map show lists the dead holder: %s", out);
	snprintf(args, sizeof args, "show pinned %s -j", path);
	out = cli_output(args);
	snprintf(want, sizeof want, "{\"what\":\"value lock\",\"index\":3,\"pid\":%d,\"alive\":false}", (int)pid);
	CHECK(strstr(out, want) != NULL, "map show -j lists the dead holder: %s", out);
	CHECK(holders_of(m, "value lock", pid).dead == 1, "show did not reclaim");
	CHECK_RC(bpfvm_map_reclaim(m, NULL), 0, "reclaim");
	snprintf(args, sizeof args, "show pinned %s", path);
	out = cli_output(args);
	CHECK(out && !strstr(out, "held:"), "nothing is held after a reclaim: %s", out);
	unlink(path);
}

/* A struct bpf_spin_lock left held by a dead process. */
static void test_value_lock(const char *dir)
{
	bpfvm_map *m = make(BPFVM_MAP_TYPE_ARRAY, 4, 16, 8);
	if (!m)
		return;
	uint32_t k = 3;
	uint32_t *val = bpfvm_map_lookup_elem(m, &k);
	pid_t pid = die_holding(lock_word, &val[2]);
	struct holder_seen s = holders_of(m, "value lock", pid);
	CHECK(s.dead == 1 && s.alive == 0, "the dead holder of the value lock is reported (%d dead)", s.dead);
	alarm(20);
	bpfvm_map_spin_lock(&val[2]);   /* taken over after the bounded spin */
	CHECK(spin_holder(&val[2]) == owner_self(), "the lock word names the taker");
	bpfvm_map_spin_unlock(&val[2]);
	alarm(0);
	/* A reclaim releases such a lock without anyone waiting on it. */
	pid = die_holding(lock_word, &val[2]);
	CHECK_RC(bpfvm_map_reclaim(m, NULL), 0, "reclaim");
	CHECK(spin_holder(&val[2]) == 0, "reclaim released the dead holder's value lock");
	pid = die_holding(lock_word, &val[2]);
	test_show_holders(m, pid, dir);
	bpfvm_map_put(m);
}

/* A lock word that names a live process is waited on, not taken over;
 * when that process dies, it is. */
static void test_live_holder_waited_for(void)
{
	bpfvm_map *m = make(BPFVM_MAP_TYPE_ARRAY, 4, 16, 8);
	if (!m)
		return;
	uint32_t k = 1;
	uint32_t *val = bpfvm_map_lookup_elem(m, &k);
	int ready[2];
	CHECK(pipe(ready) == 0, "pipe");
	pid_t pid = fork();
	if (pid == 0) {
		bpfvm_map_spin_lock(&val[2]);
		(void)!write(ready[1], "x", 1);
		pause();
		_exit(0);
	}
	char c;
	CHECK(read(ready[0], &c, 1) == 1, "child holds the lock");
	uint64_t deadline = owner_now_ns() + 50 * 1000000ull;   /* 50 ms: well past the first liveness check */
	CHECK(spin_lock_wait(&val[2], owner_self(), deadline) == -ETIMEDOUT, "a live holder is not taken over");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	alarm(20);
	CHECK(spin_lock_wait(&val[2], owner_self(), 0) == 1, "its lock is taken over once it is dead");
	spin_unlock(&val[2]);
	alarm(0);
	close(ready[0]);
	close(ready[1]);
	bpfvm_map_put(m);
}

/* A hash bucket lock held by a dead process: the word says so (its
 * sequence odd, its holder the dead pid); the next update, lookup and
 * walk take it over. */
struct bucket_arg {
	bpfvm_map *m;
	uint32_t bucket;
};

static void hold_bucket(void *p)
{
	struct bucket_arg *a = p;
	uint64_t *word = (uint64_t *)(void *)(a->m->base + a->m->off[1] + (size_t)a->bucket * 16);
	uint64_t v = __atomic_load_n(word, __ATOMIC_RELAXED);
	__atomic_store_n(word, ((uint64_t)owner_self() << 32) | ((uint32_t)v + 1), __ATOMIC_RELAXED);
}

static void test_bucket_lock(void)
{
	bpfvm_map *m = make(BPFVM_MAP_TYPE_HASH, 4, 8, -1);
	if (!m)
		return;
	bpfvm_error err;
	for (uint32_t k = 0; k < 40; k++) {
		uint64_t v = k * 10;
		CHECK_RC(bpfvm_map_update(m, &k, &v, BPFVM_ANY, &err), 0, "fill");
	}
	uint32_t key = 7;
	struct bucket_arg a = { m, map_key_hash(&key, 4, m->hdr->hash_seed) & (m->n[0] - 1) };
	pid_t pid = die_holding(hold_bucket, &a);
	struct holder_seen s = holders_of(m, "bucket lock", pid);
	CHECK(s.dead == 1, "the dead holder of bucket %u is reported", a.bucket);
	alarm(20);
	uint64_t v = 77;
	CHECK_RC(bpfvm_map_update(m, &key, &v, BPFVM_ANY, &err), 0, "update through the dead holder's bucket");
	uint64_t out = 0;
	CHECK_RC(bpfvm_map_lookup(m, &key, &out, 0, &err), 0, "lookup");
	CHECK(out == 77, "the update landed (%llu)", (unsigned long long)out);
	uint32_t cur, next;
	int n = 0;
	for (const void *prev = NULL; bpfvm_map_get_next_key(m, prev, &next, NULL) == 0 && n < 1000; prev = &cur) {
		cur = next;
		n++;
	}
	CHECK(n == 40, "a walk finds the 40 keys (%d)", n);
	alarm(0);
	s = holders_of(m, "bucket lock", pid);
	CHECK(s.dead == 0, "no lock is left named by the dead process");
	struct map_hash_pool_stats st;
	map_hash_pool_stats(m, &st);
	CHECK(st.count == 40 && st.free + st.count + st.spares == st.elems,
	      "after the takeover's reclaim: count %u, free %u + spares %u of %u", st.count, st.free, st.spares,
	      st.elems);
	bpfvm_map_put(m);
}

/* A token naming no process (garbage in a damaged pin, or a pid long
 * gone) is a dead holder too. */
static void test_garbage_holder(void)
{
	bpfvm_map *m = make(BPFVM_MAP_TYPE_QUEUE, 0, 8, -1);
	if (!m)
		return;
	uint32_t *lock = (uint32_t *)(void *)(m->base + m->off[0]);
	uint32_t garbage = (0x155u << OWNER_PID_BITS) | (OWNER_PID_MASK - 1);   /* pid 4194302: above pid_max */
	__atomic_store_n(lock, garbage, __ATOMIC_RELAXED);
	alarm(20);
	uint64_t v = 5;
	bpfvm_error err;
	CHECK_RC(bpfvm_map_push(m, &v, 0, &err), 0, "push through a garbage lock word");
	alarm(0);
	bpfvm_map_put(m);
}

/* Damaged hash arenas: a chain with a cycle is reported by the walk, and
 * counts out of range are refused at open, naming the pin. */
static void test_damaged_hash(const char *dir)
{
	char path[256];
	snprintf(path, sizeof path, "%s/damaged", dir);
	bpfvm_map *m = make(BPFVM_MAP_TYPE_HASH, 4, 8, -1);
	if (!m)
		return;
	bpfvm_error err;
	for (uint32_t k = 0; k < 20; k++) {
		uint64_t v = k;
		bpfvm_map_update(m, &k, &v, BPFVM_ANY, NULL);
	}
	CHECK_RC(bpfvm_map_pin(m, path, &err), 0, err.msg);
	/* a cycle: the head of key 5's bucket links to itself */
	uint32_t key = 5;
	uint32_t bucket = map_key_hash(&key, 4, m->hdr->hash_seed) & (m->n[0] - 1);
	uint32_t *head = (uint32_t *)(void *)(m->base + m->off[1] + (size_t)bucket * 16 + 8);
	uint32_t link = *head;
	uint32_t *next_of_head = (uint32_t *)(void *)(m->base + m->off[2] + (size_t)(link - 1) * 24);
	*next_of_head = link;
	uint32_t missing = 1000;
	while ((map_key_hash(&missing, 4, m->hdr->hash_seed) & (m->n[0] - 1)) != bucket)
		missing++;
	uint32_t next;
	alarm(20);
	int rc = bpfvm_map_get_next_key(m, &missing, &next, &err);
	CHECK(rc == -EUCLEAN && strstr(err.msg, "cycle"), "the cycle is reported: rc %d, %s", rc, err.msg);
	uint64_t out;
	CHECK_RC(bpfvm_map_lookup(m, &missing, &out, 0, NULL), -ENOENT, "a lookup in the cycle ends");
	alarm(0);
	/* a count above the elements: refused at open, naming the pin */
	uint32_t *count = (uint32_t *)(void *)(m->base + m->off[0]);
	*count = 1u << 30;
	bpfvm_map_put(m);
	rc = bpfvm_map_open_pinned(path, &m, &err);
	CHECK(rc == -EUCLEAN && strstr(err.msg, path) && strstr(err.msg, "damaged"),
	      "a damaged count is refused at open: rc %d, %s", rc, err.msg);
	unlink(path);
}

int main(void)
{
	signal(SIGALRM, on_alarm);
	char dir[] = "/tmp/bpfvm-takeover-XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "temp dir");
	setenv("BPFVM_PIN_DIR", dir, 1);
	test_value_lock(dir);
	test_live_holder_waited_for();
	test_bucket_lock();
	test_garbage_holder();
	test_damaged_hash(dir);
	rmdir(dir);
	return check_summary();
}
