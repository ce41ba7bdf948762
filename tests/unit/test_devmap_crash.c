/*
 * test_devmap_crash.c - a devmap_hash (shared memory, one lock) when a
 * process dies in the middle of updating it: children adding, replacing
 * and deleting entries are killed at random moments, one is stopped while
 * it holds the lock; after each, the next operations complete (under
 * alarm(): a hang kills the test), every entry the parent put is there
 * with its value, get_next_key visits each key once, and the map still
 * takes max_entries entries and no more.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/maps_test.h"
#include "maps/map_internal.h"

#define MAX 16u
#define STEP_TIMEOUT_S 20

static void kill_child(pid_t pid)
{
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
}

/* Keys MAX/2 .. MAX-1 come and go; keys below MAX/2 are replaced with the
 * same value (lo), forever. */
static void churn_forever(bpfvm_map *m)
{
	bpfvm_error err;
	for (uint32_t n = 0;; n++) {
		uint32_t key = n % MAX, value[2] = { 1, (uint32_t)-1 };
		if (key < MAX / 2 || n % 3)
			bpfvm_map_update(m, &key, value, 0, &err);
		else
			bpfvm_map_delete(m, &key, &err);
	}
}

/* The map after a kill: the stable keys present, every key once. */
static void check_consistent(bpfvm_map *m, int round)
{
	bpfvm_error err;
	alarm(STEP_TIMEOUT_S);
	for (uint32_t key = 0; key < MAX / 2; key++) {
		uint32_t value[2] = { 0, 0 };
		CHECK(bpfvm_map_lookup(m, &key, value, 0, &err) == 0 && value[0] == 1,
		      "round %d: key %u lost (ifindex %u)", round, key, value[0]);
	}
	bool seen[MAX] = { false };
	uint32_t key, next, count = 0;
	int rc = bpfvm_map_get_next_key(m, NULL, &next, &err);
	while (rc == 0 && count <= MAX) {
		CHECK(next < MAX && !seen[next], "round %d: key %u visited twice or unknown", round, next);
		if (next < MAX)
			seen[next] = true;
		count++;
		key = next;
		rc = bpfvm_map_get_next_key(m, &key, &next, &err);
	}
	CHECK(rc == -ENOENT && count <= MAX, "round %d: iteration ended with %d after %u keys", round, rc, count);
	/* the pool: exactly MAX entries fit */
	for (uint32_t k = MAX / 2; k < MAX; k++) {
		uint32_t value[2] = { 1, (uint32_t)-1 };
		CHECK(bpfvm_map_update(m, &k, value, 0, &err) == 0, "round %d: key %u cannot be added", round, k);
	}
	uint32_t extra = 1000, value[2] = { 1, (uint32_t)-1 };
	CHECK(bpfvm_map_update(m, &extra, value, 0, &err) == -E2BIG, "round %d: more than %u entries", round, MAX);
	alarm(0);
}

static void test_random_kills(bpfvm_map *m)
{
	srand(4242);
	for (int round = 0; round < 40; round++) {
		pid_t pid = fork();
		if (pid == 0)
			churn_forever(m);
		if (!CHECK(pid > 0, "fork"))
			return;
		usleep((useconds_t)(rand() % 3000));
		kill_child(pid);
		check_consistent(m, round);
	}
}

/* A child stopped holding the lock, then killed: the lock is taken over. */
static void test_dead_holder(bpfvm_map *m)
{
	pid_t pid = fork();
	if (pid == 0) {
		spin_lock((uint32_t *)(void *)(m->base + m->off[0]));
		raise(SIGSTOP);
		_exit(0);
	}
	int status;
	if (!CHECK(pid > 0 && waitpid(pid, &status, WUNTRACED) == pid && WIFSTOPPED(status), "stopped child"))
		return;
	kill_child(pid);
	check_consistent(m, -1);
}

int main(void)
{
	bpfvm_map *m = mt_named_map(BPFVM_MAP_TYPE_DEVMAP_HASH, 4, 8, MAX, 0, "crash_devhash");
	if (!m)
		return check_summary();
	bpfvm_error err;
	for (uint32_t key = 0; key < MAX / 2; key++) {
		uint32_t value[2] = { 1, (uint32_t)-1 };
		bpfvm_map_update(m, &key, value, 0, &err);
	}
	test_random_kills(m);
	test_dead_holder(m);
	bpfvm_map_put(m);
	return check_summary();
}
