/*
 * test_maps_crash_types.c - queue/stack, LPM trie and ring buffer maps
 * when a process dies in the middle of using them, and when their arena
 * is damaged.
 *
 * Owns: a forked child that takes a map's lock (or reserves a record) and
 * stops itself there, so that the parent sees it reported as a holder,
 * then kills it and checks that the next operations complete (each test
 * under alarm(): a hang kills the test) and the map is consistent;
 * children killed at random moments of a loop of updates; and arenas with
 * out-of-range indices, cycles and positions out of order, which must give
 * an error naming the map, never a hang.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/maps_test.h"
#include "maps/map_internal.h"

#define STEP_TIMEOUT_S 20

/* ---- children and holders ------------------------------------------------------ */

/* Forks a child that runs fn(arg) and then stops itself (SIGSTOP) with
 * whatever fn took still held; returns once it has stopped. */
static pid_t fork_stopped(void (*fn)(bpfvm_map *, void *), bpfvm_map *map, void *arg)
{
	pid_t pid = fork();
	if (pid == 0) {
		fn(map, arg);
		raise(SIGSTOP);
		_exit(0);
	}
	if (!CHECK(pid > 0, "fork"))
		return -1;
	int status = 0;
	CHECK(waitpid(pid, &status, WUNTRACED) == pid && WIFSTOPPED(status), "child did not stop");
	return pid;
}

static void kill_child(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
}

struct held {
	unsigned n;
	char what[8][32];
	int32_t pid[8];
	bool alive[8];
	uint64_t index[8];
};

static void note_holder(const bpfvm_map_holder *h, void *ctx)
{
	struct held *held = ctx;
	if (held->n >= 8)
		return;
	snprintf(held->what[held->n], sizeof held->what[0], "%s", h->what);
	held->pid[held->n] = h->pid;
	held->alive[held->n] = h->alive;
	held->index[held->n++] = h->index;
}

static struct held holders_of(bpfvm_map *map)
{
	struct held held = { .n = 0 };
	bpfvm_error err;
	CHECK_RC(bpfvm_map_holders(map, note_holder, &held, &err), 0, "map_holders");
	return held;
}

/* Whether `what` is reported held by pid, alive as said. */
static bool held_by(const struct held *held, const char *what, pid_t pid, bool alive)
{
	for (unsigned i = 0; i < held->n; i++)
		if (strcmp(held->what[i], what) == 0 && held->pid[i] == pid && held->alive[i] == alive)
			return true;
	return false;
}


/* The first lock word of a type's shared state (off[0]): where queue,
 * LPM and ring buffer maps keep the lock a holder stops in. */
static uint32_t *state_lock(bpfvm_map *map)
{
	return (uint32_t *)(void *)(map->base + map->off[0]);
}

static void take_state_lock(bpfvm_map *map, void *arg)
{
	(void)arg;
	spin_lock(state_lock(map));
}

/* Pins map under a fresh name; false (with a note) where pinning is not
 * available. */
static bool pin_fresh(bpfvm_map *map, const char *name, char *path, size_t path_len)
{
	snprintf(path, path_len, "crash-types-%d-%s", (int)getpid(), name);
	bpfvm_error err;
	int rc = bpfvm_map_pin(map, path, &err);
	if (rc == -EPERM || rc == -EACCES || rc == -EROFS) {
		printf("note: pinning unavailable here: %s\n", err.msg);
		return false;
	}
	return CHECK(rc == 0, "pin %s: %d %s", path, rc, err.msg);
}

static void unpin(const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", bpfvm_map_pin_dir(), name);
	unlink(path);
}

/* ---- queue and stack ------------------------------------------------------------- */

/* Pops everything; the values must be first, first+1, ...; returns how many. */
static uint32_t drain_consecutive(bpfvm_map *m, uint64_t *first)
{
	uint64_t v, prev = 0;
	uint32_t n = 0;
	bpfvm_error err;
	while (bpfvm_map_pop(m, &v, &err) == 0) {
		if (n == 0)
			*first = v;
		else
			CHECK(v == prev + 1, "popped %llu after %llu", (unsigned long long)v,
			      (unsigned long long)prev);
		prev = v;
		n++;
	}
	return n;
}

static void test_queue_holder_killed(uint32_t type)
{
	bool stack = type == BPFVM_MAP_TYPE_STACK;
	bpfvm_map *m = mt_named_map(type, 0, 8, 4, 0, stack ? "crash_stack" : "crash_queue");
	if (!m)
		return;
	bpfvm_error err;
	for (uint64_t v = 1; v <= 3; v++)
		CHECK_RC(bpfvm_map_push(m, &v, 0, &err), 0, "push");
	pid_t pid = fork_stopped(take_state_lock, m, NULL);
	struct held held = holders_of(m);
	CHECK(held_by(&held, "queue lock", pid, true), "%s: the stopped child's lock is not reported",
	      stack ? "stack" : "queue");
	kill_child(pid);
	held = holders_of(m);
	CHECK(held_by(&held, "queue lock", pid, false), "the dead child's lock is not reported dead");

	alarm(STEP_TIMEOUT_S);
	uint64_t v = 0;
	CHECK_RC(bpfvm_map_pop(m, &v, &err), 0, "pop after the holder died");
	CHECK(v == (stack ? 3u : 1u), "popped %llu", (unsigned long long)v);
	CHECK(holders_of(m).n == 0, "a lock is still reported held after the takeover");
	for (v = 4; v <= 7; v++)   /* fills the map; 6 and 7 do not fit */
		bpfvm_map_push(m, &v, 0, &err);
	v = 8;
	CHECK_RC(bpfvm_map_push(m, &v, BPFVM_EXIST, &err), 0, "overwriting push");
	static const uint64_t queue_want[4] = { 3, 4, 5, 8 }, stack_want[4] = { 8, 5, 4, 2 };
	const uint64_t *want = stack ? stack_want : queue_want;
	for (int i = 0; i < 4; i++) {
		CHECK_RC(bpfvm_map_pop(m, &v, &err), 0, "pop after the takeover");
		CHECK(v == want[i], "pop %d after the takeover: %llu, want %llu", i, (unsigned long long)v,
		      (unsigned long long)want[i]);
	}
	CHECK_RC(bpfvm_map_pop(m, &v, &err), -ENOENT, "pop of the emptied map");
	alarm(0);
	bpfvm_map_put(m);
}

/* The child pushes consecutive values into a full queue with BPF_EXIST
 * until it is killed; whenever that lands, the queue still holds exactly
 * max_entries consecutive values. */
static void push_forever(bpfvm_map *m, uint64_t next)
{
	for (;; next++)
		bpfvm_map_push_elem(m, &next, BPFVM_EXIST);
}

static void test_queue_random_kills(void)
{
	const uint32_t max = 8;
	bpfvm_map *m = mt_named_map(BPFVM_MAP_TYPE_QUEUE, 0, 8, max, 0, "crash_queue_rk");
	if (!m)
		return;
	uint64_t next = 1;
	srand(12345);
	for (int round = 0; round < 40; round++) {
		bpfvm_error err;
		for (uint32_t i = 0; i < max; i++, next++)
			bpfvm_map_push(m, &next, 0, &err);
		pid_t pid = fork();
		if (pid == 0)
			push_forever(m, next);
		if (!CHECK(pid > 0, "fork"))
			break;
		usleep((useconds_t)(rand() % 3000));
		kill_child(pid);
		alarm(STEP_TIMEOUT_S);
		uint64_t first = 0;
		uint32_t n = drain_consecutive(m, &first);
		alarm(0);
		CHECK(n == max, "round %d: %u elements after the kill, want %u", round, n, max);
		next = first + n + 1000000;   /* well past anything the child pushed */
	}
	bpfvm_map_put(m);
}

/* Indices out of range: an error naming the map, at every operation and
 * when the pin is opened. */
static void test_queue_damaged(void)
{
	bpfvm_map *m = mt_named_map(BPFVM_MAP_TYPE_QUEUE, 0, 8, 4, 0, "dmg_queue");
	if (!m)
		return;
	uint64_t v = 1;
	bpfvm_error err;
	CHECK_RC(bpfvm_map_push(m, &v, 0, &err), 0, "push");
	uint32_t *words = state_lock(m);   /* lock, size, head, tail */
	uint32_t saved = words[2];
	words[2] = 99;
	alarm(STEP_TIMEOUT_S);
	int rc = bpfvm_map_pop(m, &v, &err);
	CHECK(rc < 0 && strstr(err.msg, "dmg_queue"), "pop of a damaged queue: %d '%s'", rc, err.msg);
	rc = bpfvm_map_push(m, &v, 0, &err);
	CHECK(rc < 0 && strstr(err.msg, "dmg_queue"), "push to a damaged queue: %d '%s'", rc, err.msg);
	CHECK(bpfvm_map_push_elem(m, &v, 0) < 0, "program push to a damaged queue succeeded");
	char name[128];
	if (pin_fresh(m, "q", name, sizeof name)) {
		bpfvm_map *again = NULL;
		rc = bpfvm_map_open_pinned(name, &again, &err);
		CHECK(rc < 0 && strstr(err.msg, "dmg_queue"), "open of a damaged queue pin: %d '%s'", rc, err.msg);
		if (rc == 0)
			bpfvm_map_put(again);
		unpin(name);
	}
	alarm(0);
	words[2] = saved;
	CHECK_RC(bpfvm_map_pop(m, &v, &err), 0, "pop once repaired");
	bpfvm_map_put(m);
}

/* ---- ring buffer ------------------------------------------------------------------ */

#define RB_SIZE 4096u

struct records {
	int n;
	uint64_t first, last;
	bool in_order;
};

static int note_record(void *ctx, void *data, uint64_t size)
{
	struct records *r = ctx;
	uint64_t v = 0;
	memcpy(&v, data, size < 8 ? size : 8);
	if (r->n == 0)
		r->first = v;
	else if (v <= r->last)
		r->in_order = false;
	r->last = v;
	r->n++;
	return 0;
}

static struct records consume_all(bpfvm_map *rb)
{
	struct records r = { .in_order = true };
	bpfvm_error err;
	int rc = bpfvm_map_ringbuf_consume(rb, note_record, &r, &err);
	CHECK(rc >= 0, "consume: %d %s", rc, err.msg);
	return r;
}

/* A consumer does not wait on a BUSY record: it asks after the holder
 * once it has seen the record busy for a while (a millisecond), on a
 * later call.  Polls with a timeout, as a consumer loop does, until
 * something arrives (or 2 s pass). */
static struct records poll_some(bpfvm_map *rb)
{
	struct records r = { .in_order = true };
	bpfvm_error err;
	for (int tries = 0; tries < 200 && r.n == 0; tries++) {
		int rc = bpfvm_map_ringbuf_poll(rb, note_record, &r, 10, &err);
		CHECK(rc >= 0, "poll: %d %s", rc, err.msg);
	}
	return r;
}

static void reserve_and_stop(bpfvm_map *rb, void *arg)
{
	uint64_t *rec = bpfvm_map_ringbuf_reserve(rb, 8, 0);
	if (rec)
		*rec = *(uint64_t *)arg;
}

static uint64_t *producer_page(bpfvm_map *rb)   /* producer_pos, pending_pos */
{
	return (uint64_t *)(void *)(rb->base + rb->off[2]);
}

static uint64_t *consumer_page(bpfvm_map *rb)
{
	return (uint64_t *)(void *)(rb->base + rb->off[1]);
}

/* A record reserved by a process that dies before submitting: the
 * consumer discards it and goes on, and reserves succeed again. */
static void test_ringbuf_reserver_killed(void)
{
	bpfvm_map *rb = mt_named_map(BPFVM_MAP_TYPE_RINGBUF, 0, 0, RB_SIZE, 0, "crash_rb");
	if (!rb)
		return;
	uint64_t v = 1;
	CHECK_RC(bpfvm_map_ringbuf_output(rb, &v, 8, 0), 0, "output 1");
	uint64_t child_value = 2;
	pid_t pid = fork_stopped(reserve_and_stop, rb, &child_value);
	v = 3;
	CHECK_RC(bpfvm_map_ringbuf_output(rb, &v, 8, 0), 0, "output 3");
	struct held held = holders_of(rb);
	CHECK(held_by(&held, "reserved record", pid, true), "the stopped child's record is not reported");
	alarm(STEP_TIMEOUT_S);
	struct records r = consume_all(rb);
	CHECK(r.n == 1 && r.first == 1, "consume with a live reserver: %d records from %llu", r.n,
	      (unsigned long long)r.first);
	kill_child(pid);
	held = holders_of(rb);
	CHECK(held_by(&held, "reserved record", pid, false), "the dead child's record is not reported dead");
	r = poll_some(rb);
	CHECK(r.n == 1 && r.first == 3, "consume past the dead reserver's record: %d records from %llu", r.n,
	      (unsigned long long)r.first);
	CHECK(holders_of(rb).n == 0, "something is still reported held");
	/* The ring fills and drains again: the dead record no longer pins it. */
	for (int round = 0; round < 3; round++) {
		int out = 0;
		for (v = 100; bpfvm_map_ringbuf_output(rb, &v, 8, 0) == 0; v++)
			out++;
		CHECK(out >= (int)(RB_SIZE / 16) - 1, "round %d: only %d records fit", round, out);
		r = consume_all(rb);
		CHECK(r.n == out && r.in_order, "round %d: consumed %d of %d", round, r.n, out);
	}
	alarm(0);
	bpfvm_map_put(rb);
}

/* A producer killed holding the producer lock: the next one takes it over. */
static void test_ringbuf_producer_lock_killed(void)
{
	bpfvm_map *rb = mt_named_map(BPFVM_MAP_TYPE_RINGBUF, 0, 0, RB_SIZE, 0, "crash_rb_lock");
	if (!rb)
		return;
	pid_t pid = fork_stopped(take_state_lock, rb, NULL);
	struct held held = holders_of(rb);
	CHECK(held_by(&held, "producer lock", pid, true), "the stopped child's producer lock is not reported");
	kill_child(pid);
	alarm(STEP_TIMEOUT_S);
	uint64_t v = 7;
	CHECK_RC(bpfvm_map_ringbuf_output(rb, &v, 8, 0), 0, "output after the holder died");
	struct records r = consume_all(rb);
	CHECK(r.n == 1 && r.first == 7, "consumed %d records from %llu", r.n, (unsigned long long)r.first);
	alarm(0);
	bpfvm_map_put(rb);
}

/* Children reserving, filling and submitting numbered records are killed
 * at random moments: every round the consumer gets what was submitted,
 * in order, then a marker, and never hangs. */
static void produce_forever(bpfvm_map *rb, uint64_t next)
{
	for (;; next++) {
		uint64_t *rec = bpfvm_map_ringbuf_reserve(rb, 24, 0);
		if (!rec) {
			sched_yield();
			continue;
		}
		rec[0] = next;
		rec[1] = rec[2] = next;
		bpfvm_map_ringbuf_submit(rec, 0);
	}
}

static void test_ringbuf_random_kills(void)
{
	bpfvm_map *rb = mt_named_map(BPFVM_MAP_TYPE_RINGBUF, 0, 0, RB_SIZE, 0, "crash_rb_rk");
	if (!rb)
		return;
	srand(777);
	uint64_t next = 1;
	for (int round = 0; round < 30; round++) {
		pid_t pid = fork();
		if (pid == 0)
			produce_forever(rb, next);
		if (!CHECK(pid > 0, "fork"))
			break;
		usleep((useconds_t)(rand() % 2000));
		kill_child(pid);
		alarm(STEP_TIMEOUT_S);
		/* The victim may have died holding a reservation: the consumer
		 * passes it once it has seen it busy a while, so drain with
		 * polls until the marker written after the kill arrives. */
		uint64_t marker = UINT64_MAX / 2 + (uint64_t)round;
		CHECK_RC(bpfvm_map_ringbuf_output(rb, &marker, 8, 0), 0, "marker output");
		struct records r = { .in_order = true };
		bpfvm_error err;
		for (int tries = 0; tries < 200 && !(r.n && r.last == marker); tries++)
			CHECK(bpfvm_map_ringbuf_poll(rb, note_record, &r, 10, &err) >= 0, "poll: %s", err.msg);
		CHECK(r.in_order && (r.n == 1 || r.first >= next), "round %d: records out of order", round);
		CHECK(r.n && r.last == marker, "round %d: the marker did not arrive (%d records)", round, r.n);
		alarm(0);
		next += 100000000;   /* far more than a victim writes in 2 ms: the next round's are larger */
	}
	bpfvm_map_put(rb);
}

/* Positions out of order: an error naming the map from the consumer and
 * at open, and a failed reserve, never a walk of 2^59 headers. */
static void test_ringbuf_damaged(void)
{
	bpfvm_map *rb = mt_named_map(BPFVM_MAP_TYPE_RINGBUF, 0, 0, RB_SIZE, 0, "dmg_rb");
	if (!rb)
		return;
	uint64_t *pp = producer_page(rb), *cons = consumer_page(rb);
	alarm(STEP_TIMEOUT_S);
	pp[0] = 1ull << 62;   /* producer_pos far ahead of consumer and pending */
	bpfvm_error err;
	int rc = bpfvm_map_ringbuf_consume(rb, note_record, &(struct records){ .in_order = true }, &err);
	CHECK(rc < 0 && strstr(err.msg, "dmg_rb"), "consume of a damaged ring: %d '%s'", rc, err.msg);
	uint64_t v = 1;
	CHECK(bpfvm_map_ringbuf_output(rb, &v, 8, 0) < 0, "output to a damaged ring succeeded");
	char name[128];
	if (pin_fresh(rb, "rb", name, sizeof name)) {
		bpfvm_map *again = NULL;
		rc = bpfvm_map_open_pinned(name, &again, &err);
		CHECK(rc < 0 && strstr(err.msg, "dmg_rb"), "open of a damaged ring pin: %d '%s'", rc, err.msg);
		if (rc == 0)
			bpfvm_map_put(again);
		unpin(name);
	}
	pp[0] = 64;
	*cons = 128;   /* the consumer ahead of the producer */
	rc = bpfvm_map_ringbuf_consume(rb, note_record, &(struct records){ .in_order = true }, &err);
	CHECK(rc < 0 && strstr(err.msg, "dmg_rb"), "consume ahead of the producer: %d '%s'", rc, err.msg);
	alarm(0);
	pp[0] = pp[1] = *cons = 0;
	CHECK_RC(bpfvm_map_ringbuf_output(rb, &v, 8, 0), 0, "output once repaired");
	bpfvm_map_put(rb);
}

/* ---- LPM trie ---------------------------------------------------------------------- */

#define LPM_MAX 16u

struct lpm_key {
	uint32_t plen;
	uint8_t addr[4];
};

static struct lpm_key lpm_key(uint32_t plen, uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	return (struct lpm_key){ plen, { (uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)d } };
}

/* The trie's state words (lpm.c): lock, root, n_entries, free_head, bump. */
enum { LPM_LOCK, LPM_ROOT, LPM_N_ENTRIES, LPM_FREE_HEAD, LPM_BUMP };

static uint32_t *lpm_node_words(bpfvm_map *m, uint32_t link)   /* child0, child1, plen, flags, next_free, owner */
{
	return (uint32_t *)(void *)(m->base + m->off[1] + (size_t)(link - 1) * m->n[1]);
}

/* What an update does before its one linking store, stopped there: the
 * entry counted and a node taken from the pool, naming its holder. */
static void lpm_stop_mid_insert(bpfvm_map *m, void *arg)
{
	(void)arg;
	uint32_t *st = state_lock(m);
	spin_lock(&st[LPM_LOCK]);
	st[LPM_N_ENTRIES]++;
	uint32_t link = ++st[LPM_BUMP];
	lpm_node_words(m, link)[5] = owner_self();
}

/* Inserts distinct /32 prefixes from `from` on until the trie is full;
 * returns how many went in. */
static uint32_t lpm_fill(bpfvm_map *m, uint32_t from)
{
	uint32_t n = 0;
	uint64_t v = 1;
	bpfvm_error err;
	for (uint32_t i = from; i < from + 4 * LPM_MAX; i++) {
		struct lpm_key k = lpm_key(32, 192, 168, i >> 8, i & 255);
		int rc = bpfvm_map_update(m, &k, &v, BPFVM_NOEXIST, &err);
		if (rc == -ENOSPC)
			break;
		n += rc == 0;
	}
	return n;
}

/* Iterates every key (bounded) and deletes them all; returns how many. */
static uint32_t lpm_clear(bpfvm_map *m)
{
	struct lpm_key k, keys[4 * LPM_MAX];
	uint32_t n = 0;
	bpfvm_error err;
	for (int rc = bpfvm_map_get_next_key(m, NULL, &k, &err); rc == 0 && n < 4 * LPM_MAX;
	     rc = bpfvm_map_get_next_key(m, &k, &k, &err))
		keys[n++] = k;
	for (uint32_t i = 0; i < n; i++)
		CHECK_RC(bpfvm_map_delete(m, &keys[i], &err), 0, "delete an iterated key");
	return n;
}

static void test_lpm_holder_killed(void)
{
	bpfvm_map *m = mt_named_map(BPFVM_MAP_TYPE_LPM_TRIE, 8, 8, LPM_MAX, BPFVM_F_NO_PREALLOC, "crash_lpm");
	if (!m)
		return;
	uint64_t v = 10;
	bpfvm_error err;
	struct lpm_key net = lpm_key(8, 10, 0, 0, 0);
	CHECK_RC(bpfvm_map_update(m, &net, &v, 0, &err), 0, "insert 10/8");
	pid_t pid = fork_stopped(lpm_stop_mid_insert, m, NULL);
	struct held held = holders_of(m);
	CHECK(held_by(&held, "trie lock", pid, true), "the stopped child's trie lock is not reported");
	CHECK(held_by(&held, "node", pid, true), "the stopped child's node is not reported");
	kill_child(pid);

	alarm(STEP_TIMEOUT_S);
	struct lpm_key host = lpm_key(32, 10, 1, 2, 3);
	uint64_t got = 0;
	CHECK_RC(bpfvm_map_lookup(m, &host, &got, 0, &err), 0, "lookup after the holder died");
	CHECK(got == 10, "lookup found %llu", (unsigned long long)got);
	CHECK(holders_of(m).n == 0, "something is still reported held after the takeover");
	/* The count was repaired: the trie takes max_entries prefixes again. */
	uint32_t n = lpm_fill(m, 0);
	CHECK(n == LPM_MAX - 1, "after the takeover %u more prefixes fit, want %u", n, LPM_MAX - 1);
	CHECK(lpm_clear(m) == LPM_MAX, "iteration after the takeover");
	CHECK(lpm_fill(m, 1000) == LPM_MAX, "the emptied trie takes max_entries prefixes");
	alarm(0);
	bpfvm_map_put(m);
}

/* Children inserting and deleting prefixes are killed at random moments;
 * each round the trie iterates, empties and fills to exactly max_entries. */
static void lpm_churn_forever(bpfvm_map *m, unsigned seed)
{
	uint64_t v = seed;
	for (;;) {
		seed = seed * 1103515245u + 12345u;
		uint32_t i = (seed >> 8) % 24, plen = 16 + (seed >> 20) % 17;
		struct lpm_key k = lpm_key(plen, 172, 16, i * 10, i);
		if (seed & 0x10000)
			bpfvm_map_update_elem(m, &k, &v, BPFVM_ANY);
		else
			bpfvm_map_delete_elem(m, &k);
	}
}

static void test_lpm_random_kills(void)
{
	bpfvm_map *m = mt_named_map(BPFVM_MAP_TYPE_LPM_TRIE, 8, 8, LPM_MAX, BPFVM_F_NO_PREALLOC, "crash_lpm_rk");
	if (!m)
		return;
	srand(4242);
	for (int round = 0; round < 30; round++) {
		pid_t pid = fork();
		if (pid == 0)
			lpm_churn_forever(m, (unsigned)round + 1);
		if (!CHECK(pid > 0, "fork"))
			break;
		usleep((useconds_t)(rand() % 2000));
		kill_child(pid);
		alarm(STEP_TIMEOUT_S);
		struct lpm_key any = lpm_key(32, 172, 16, 0, 0);
		uint64_t v;
		bpfvm_error err;
		bpfvm_map_lookup(m, &any, &v, 0, &err);   /* takes a dead holder's lock over */
		uint32_t counted = state_lock(m)[LPM_N_ENTRIES];
		uint32_t n = lpm_clear(m);
		CHECK(n <= LPM_MAX && n == counted, "round %d: %u keys iterated, %u counted", round, n, counted);
		CHECK(state_lock(m)[LPM_N_ENTRIES] == 0, "round %d: %u entries counted in the emptied trie", round,
		      state_lock(m)[LPM_N_ENTRIES]);
		CHECK(lpm_fill(m, 0) == LPM_MAX, "round %d: the trie no longer takes max_entries prefixes", round);
		lpm_clear(m);
		alarm(0);
	}
	bpfvm_map_put(m);
}

/* A cycle and an out-of-range root: errors naming the map, never a hang;
 * a reclaim cuts the cycle. */
static void test_lpm_damaged(void)
{
	bpfvm_map *m = mt_named_map(BPFVM_MAP_TYPE_LPM_TRIE, 8, 8, LPM_MAX, BPFVM_F_NO_PREALLOC, "dmg_lpm");
	if (!m)
		return;
	uint64_t v = 8;
	bpfvm_error err;
	struct lpm_key net8 = lpm_key(8, 10, 0, 0, 0), net16 = lpm_key(16, 10, 1, 0, 0);
	CHECK_RC(bpfvm_map_update(m, &net8, &v, 0, &err), 0, "insert 10/8");
	v = 16;
	CHECK_RC(bpfvm_map_update(m, &net16, &v, 0, &err), 0, "insert 10.1/16");
	uint32_t *st = state_lock(m);
	uint32_t root = st[LPM_ROOT];
	uint32_t *root_node = lpm_node_words(m, root);
	uint32_t below = root_node[0] ? root_node[0] : root_node[1];
	if (!CHECK(below != 0, "10.1/16 is not under 10/8"))
		return;
	lpm_node_words(m, below)[0] = root;   /* 10.1.0.0 has bit 16 clear: back to the root */
	alarm(STEP_TIMEOUT_S);
	struct lpm_key host = lpm_key(32, 10, 1, 2, 3);
	int rc = bpfvm_map_lookup(m, &host, &v, 0, &err);
	CHECK(rc < 0 && strstr(err.msg, "dmg_lpm"), "lookup in a trie with a cycle: %d '%s'", rc, err.msg);
	rc = bpfvm_map_update(m, &host, &v, 0, &err);
	CHECK(rc < 0 && strstr(err.msg, "dmg_lpm"), "update in a trie with a cycle: %d '%s'", rc, err.msg);
	CHECK_RC(bpfvm_map_reclaim(m, &err), 0, "reclaim");
	CHECK_RC(bpfvm_map_lookup(m, &host, &v, 0, &err), 0, "lookup once the cycle is cut");
	CHECK(v == 16, "lookup once the cycle is cut: %llu", (unsigned long long)v);
	st[LPM_ROOT] = 1000000;
	char name[128];
	if (pin_fresh(m, "lpm", name, sizeof name)) {
		bpfvm_map *again = NULL;
		rc = bpfvm_map_open_pinned(name, &again, &err);
		CHECK(rc < 0 && strstr(err.msg, "dmg_lpm"), "open of a damaged trie pin: %d '%s'", rc, err.msg);
		if (rc == 0)
			bpfvm_map_put(again);
		unpin(name);
	}
	st[LPM_ROOT] = root;
	alarm(0);
	bpfvm_map_put(m);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);   /* a test killed by alarm() still shows its failures */
	test_queue_holder_killed(BPFVM_MAP_TYPE_QUEUE);
	test_queue_holder_killed(BPFVM_MAP_TYPE_STACK);
	test_queue_random_kills();
	test_queue_damaged();
	test_lpm_holder_killed();
	test_lpm_random_kills();
	test_lpm_damaged();
	test_ringbuf_reserver_killed();
	test_ringbuf_producer_lock_killed();
	test_ringbuf_random_kills();
	test_ringbuf_damaged();
	return check_summary();
}
