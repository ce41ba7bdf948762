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

static bpfvm_map *named_map(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                            uint32_t flags, const char *name)
{
	bpfvm_map_def def = BPFVM_MAP_DEF_INIT;
	def.type = type;
	def.key_size = key_size;
	def.value_size = value_size;
	def.max_entries = max_entries;
	def.flags = flags;
	def.name = name;
	bpfvm_map *map = NULL;
	bpfvm_error err;
	int rc = bpfvm_map_create(&def, &map, &err);
	CHECK(rc == 0, "create %s: %d %s", name, rc, err.msg);
	return rc == 0 ? map : NULL;
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
	bpfvm_map *m = named_map(type, 0, 8, 4, 0, stack ? "crash_stack" : "crash_queue");
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
	bpfvm_map *m = named_map(BPFVM_MAP_TYPE_QUEUE, 0, 8, max, 0, "crash_queue_rk");
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
	bpfvm_map *m = named_map(BPFVM_MAP_TYPE_QUEUE, 0, 8, 4, 0, "dmg_queue");
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
	bpfvm_map *rb = named_map(BPFVM_MAP_TYPE_RINGBUF, 0, 0, RB_SIZE, 0, "crash_rb");
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
	r = consume_all(rb);
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
	bpfvm_map *rb = named_map(BPFVM_MAP_TYPE_RINGBUF, 0, 0, RB_SIZE, 0, "crash_rb_lock");
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
	bpfvm_map *rb = named_map(BPFVM_MAP_TYPE_RINGBUF, 0, 0, RB_SIZE, 0, "crash_rb_rk");
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
		uint64_t marker = UINT64_MAX / 2 + (uint64_t)round;
		struct records r = consume_all(rb);
		CHECK(r.in_order && (r.n == 0 || r.first >= next), "round %d: records out of order", round);
		CHECK_RC(bpfvm_map_ringbuf_output(rb, &marker, 8, 0), 0, "marker output");
		struct records tail = consume_all(rb);
		CHECK(tail.n == 1 && tail.first == marker, "round %d: the marker is not the one record left (%d)",
		      round, tail.n);
		alarm(0);
		next = (r.n ? r.last : next) + 1000000;
	}
	bpfvm_map_put(rb);
}

/* Positions out of order: an error naming the map from the consumer and
 * at open, and a failed reserve, never a walk of 2^59 headers. */
static void test_ringbuf_damaged(void)
{
	bpfvm_map *rb = named_map(BPFVM_MAP_TYPE_RINGBUF, 0, 0, RB_SIZE, 0, "dmg_rb");
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

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);   /* a test killed by alarm() still shows its failures */
	test_queue_holder_killed(BPFVM_MAP_TYPE_QUEUE);
	test_queue_holder_killed(BPFVM_MAP_TYPE_STACK);
	test_queue_random_kills();
	test_queue_damaged();
	test_ringbuf_reserver_killed();
	test_ringbuf_producer_lock_killed();
	test_ringbuf_random_kills();
	test_ringbuf_damaged();
	return check_summary();
}
