/*
 * test_map_share.c - a map handed over a Unix socket (issue 11, item 3):
 * root pins a map in its private directory and sends it to a child that
 * dropped to uid/gid 65534, which cannot open the pin but receives the
 * map and updates it; root sees the update.  Also what is refused: a map
 * holding process-local references, a message that is not a map's, a
 * closed peer.  The other-user part needs root (skipped otherwise).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpfvm/maps.h"
#include "support/check.h"

#define NOBODY 65534

static bpfvm_map *new_map(uint32_t type, uint32_t value_size)
{
	bpfvm_map_def def = BPFVM_MAP_DEF_INIT;
	def.type = type, def.key_size = 4, def.value_size = value_size, def.max_entries = 8, def.name = "shared";
	bpfvm_map *m = NULL;
	bpfvm_error err = { 0 };
	CHECK(bpfvm_map_create(&def, &m, &err) == 0, "create: %s", err.msg);
	return m;
}

/* The child, as nobody: the pin is out of reach, the socket is not.
 * Exit status: 0, or the step that failed. */
static int receiver(int sock, const char *pin)
{
	if (setgroups(0, NULL) != 0 || setresgid(NOBODY, NOBODY, NOBODY) != 0 || setresuid(NOBODY, NOBODY, NOBODY) != 0)
		return 1;
	bpfvm_map *m = NULL;
	bpfvm_error err = { 0 };
	if (bpfvm_map_open_pinned(pin, &m, &err) != -EACCES)
		return 2;
	if (bpfvm_map_receive(sock, &m, &err) != 0) {
		fprintf(stderr, "receive: %s\n", err.msg);
		return 3;
	}
	uint32_t key = 1;
	uint64_t value = 0;
	if (bpfvm_map_lookup(m, &key, &value, 0, &err) != 0 || value != 42)
		return 4;
	key = 7, value = 0x1234;
	if (bpfvm_map_update(m, &key, &value, BPFVM_ANY, &err) != 0)
		return 5;
	bpfvm_map_put(m);
	return 0;
}

static void test_other_user(void)
{
	char dir[] = "/dev/shm/bpfvm-share-XXXXXX";
	if (!CHECK(mkdtemp(dir), "mkdtemp"))
		return;
	setenv("BPFVM_PIN_DIR", dir, 1);
	bpfvm_map *m = new_map(BPF_MAP_TYPE_HASH, 8);
	bpfvm_error err = { 0 };
	char pin[64];
	snprintf(pin, sizeof pin, "%s/shared", dir);
	CHECK(bpfvm_map_pin(m, pin, &err) == 0, "pin: %s", err.msg);
	uint32_t key = 1;
	uint64_t value = 42;
	CHECK(bpfvm_map_update(m, &key, &value, BPFVM_ANY, &err) == 0, "update");
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		_exit(receiver(sv[1], pin));
	}
	close(sv[1]);
	CHECK(bpfvm_map_send(sv[0], m, &err) == 0, "send: %s", err.msg);
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the receiver as nobody: status %#x", status);
	key = 7, value = 0;
	CHECK(bpfvm_map_lookup(m, &key, &value, 0, &err) == 0 && value == 0x1234, "the receiver's update seen: %#llx",
	      (unsigned long long)value);
	close(sv[0]);
	bpfvm_map_put(m);
	unlink(pin);
	rmdir(dir);
}

static void test_refused(void)
{
	int sv[2];
	bpfvm_error err = { 0 };
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0, "socketpair");
	bpfvm_map *progs = new_map(BPF_MAP_TYPE_PROG_ARRAY, 4);
	CHECK(bpfvm_map_send(sv[0], progs, &err) == -EOPNOTSUPP, "a prog_array is not sent: %s", err.msg);
	bpfvm_map_put(progs);
	/* an unpinned map (anonymous memory or not) travels too */
	bpfvm_map *m = new_map(BPF_MAP_TYPE_ARRAY, 8), *got = NULL;
	CHECK(bpfvm_map_send(sv[0], m, &err) == 0, "send: %s", err.msg);
	CHECK(bpfvm_map_receive(sv[1], &got, &err) == 0, "receive: %s", err.msg);
	uint32_t key = 3;
	uint64_t value = 99, back = 0;
	CHECK(got && bpfvm_map_update(got, &key, &value, BPFVM_ANY, &err) == 0 &&
	      bpfvm_map_lookup(m, &key, &back, 0, &err) == 0 && back == 99, "received map shares the arena");
	bpfvm_map_put(got);
	char junk[48] = "not a map";   /* the size of the real message */
	CHECK(write(sv[0], junk, sizeof junk) == (ssize_t)sizeof junk, "write");
	CHECK(bpfvm_map_receive(sv[1], &got, &err) == -EPROTO && !got && strstr(err.msg, "not a bpfvm map"),
	      "junk refused: %s", err.msg);
	close(sv[0]);
	CHECK(bpfvm_map_receive(sv[1], &got, &err) == -ENOTCONN, "closed peer: %s", err.msg);
	close(sv[1]);
	bpfvm_map_put(m);
}

int main(void)
{
	test_refused();
	if (geteuid() == 0)
		test_other_user();
	else
		printf("not root: the receiver as another user (uid 65534) is skipped\n");
	return check_summary();
}
