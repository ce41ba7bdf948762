/*
 * test_pin_race.c - processes starting at once on a fresh pin directory
 * all get the same pinned maps (issue 11, item 3): N forked processes,
 * released together by a pipe, create an instance of an object with pinned
 * maps in a new directory each round; none may fail (one pins, the others
 * find its pin and reuse it), and afterwards every pin opens.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpfvm/instance.h"
#include "bpfvm/maps.h"
#include "bpfvm/object.h"
#include "support/check.h"

#define PROCESSES 8
#define ROUNDS 50

/* One racer: waits for the barrier to open, then makes the instance;
 * exits 0 on success, 1 (with the error printed) otherwise. */
static void racer(const bpfvm_object *obj, const char *dir, int barrier)
{
	char c;
	if (read(barrier, &c, 1) < 0)
		_exit(2);
	BPFVM_OPTS(bpfvm_instance_opts, io, .pin_dir = dir);
	bpfvm_instance *inst = NULL;
	bpfvm_error err = { 0 };
	int rc = bpfvm_instance_new(obj, &io, &inst, &err);
	if (rc) {
		fprintf(stderr, "racer %d: %s\n", (int)getpid(), err.msg);
		_exit(1);
	}
	bpfvm_instance_free(inst);
	_exit(0);
}

/* One round in `dir`: returns how many of the racers failed. */
static int race_round(const bpfvm_object *obj, const char *dir)
{
	int barrier[2];
	if (pipe(barrier) != 0)
		return PROCESSES;
	pid_t pids[PROCESSES];
	for (int i = 0; i < PROCESSES; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(barrier[1]);
			racer(obj, dir, barrier[0]);
		}
	}
	close(barrier[0]);
	close(barrier[1]);   /* every racer's read returns now */
	int failures = 0;
	for (int i = 0; i < PROCESSES; i++) {
		int status = 0;
		if (pids[i] < 0 || waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failures++;
	}
	return failures;
}

static void remove_pins(const char *dir)
{
	static const char *const names[] = { "pinned_stats", "pinned_percpu", "pinned_raw" };
	char path[4200];
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		bpfvm_map *m = NULL;
		bpfvm_error err = { 0 };
		snprintf(path, sizeof path, "%.4000s/%s", dir, names[i]);
		CHECK(bpfvm_map_open_pinned(path, &m, &err) == 0, "%s opens after the race: %s", path, err.msg);
		bpfvm_map_put(m);
		unlink(path);
		snprintf(path, sizeof path, "%.4000s/%s.btf", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	bpfvm_object *obj = NULL;
	bpfvm_error err = { 0 };
	int rc = bpfvm_object_open(BPFVM_TEST_OBJECTS_DIR "/pinned_types.bpf.o", &obj, &err);
	if (!CHECK(rc == 0, "open pinned_types.bpf.o: %s", err.msg))
		return check_summary();
	int failures = 0;
	for (int round = 0; round < ROUNDS; round++) {
		char dir[4096];
		snprintf(dir, sizeof dir, "%s/race-%d-%d", bpfvm_map_pin_dir(), (int)getpid(), round);
		failures += race_round(obj, dir);
		remove_pins(dir);
	}
	printf("%d rounds of %d processes: %d failed\n", ROUNDS, PROCESSES, failures);
	CHECK(failures == 0, "%d of %d racers failed", failures, ROUNDS * PROCESSES);
	bpfvm_object_free(obj);
	return check_summary();
}
