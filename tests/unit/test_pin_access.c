/*
 * test_pin_access.c - pins only their owner controls (issue 11, item 3):
 * the default pin directory is per user and 0700; a directory writable by
 * others, owned by another user, or a symbolic link is refused, a group's
 * shared directory is accepted and gets group pins; a pin another user
 * planted, a symbolic link, a FIFO or a directory in a pin's place is
 * refused; a pin of another format version, too short, truncated or with
 * sizes that do not fit is refused at open, naming it.  The parts that
 * need another user (uid/gid 65534) run in forked children and need root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpfvm/maps.h"
#include "maps/map_internal.h"
#include "support/check.h"

#define NOBODY 65534

static char base[64];

/* Creates a small hash map with BPFVM_PIN_DIR=dir and pins it there as name. */
static int pin_in(const char *dir, const char *name, bpfvm_error *err)
{
	setenv("BPFVM_PIN_DIR", dir, 1);
	bpfvm_map_def def = BPFVM_MAP_DEF_INIT;
	def.type = BPF_MAP_TYPE_HASH, def.key_size = 4, def.value_size = 8, def.max_entries = 4, def.name = "access";
	bpfvm_map *m = NULL;
	int rc = bpfvm_map_create(&def, &m, err);
	if (!rc)
		rc = bpfvm_map_pin(m, name, err);
	bpfvm_map_put(m);
	return rc;
}

static int open_pin(const char *path, bpfvm_error *err)
{
	bpfvm_map *m = NULL;
	int rc = bpfvm_map_open_pinned(path, &m, err);
	bpfvm_map_put(m);
	return rc;
}

static const char *sub(const char *name)
{
	static char paths[8][128];
	static int next;
	char *p = paths[next++ % 8];
	snprintf(p, 128, "%s/%s", base, name);
	return p;
}

static unsigned mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_mode & 07777 : 0xffff;
}

/* Runs fn in a child that dropped to uid and gid 65534; its exit status. */
static int as_nobody(int (*fn)(void))
{
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) != 0 || setresgid(NOBODY, NOBODY, NOBODY) != 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) != 0)
			_exit(99);
		_exit(fn());
	}
	int status = 0;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 98;
}

/* As nobody with no BPFVM_PIN_DIR: the pin directory is /dev/shm/bpfvm-65534,
 * made 0700 and nobody's (unless it exists already: then only checked). */
static int default_dir_child(void)
{
	unsetenv("BPFVM_PIN_DIR");
	umask(0);
	const char *dir = bpfvm_map_pin_dir();
	if (strcmp(dir, "/dev/shm/bpfvm-65534") != 0)
		return 1;
	struct stat st;
	bool fresh = stat(dir, &st) != 0;
	bpfvm_map_def def = BPFVM_MAP_DEF_INIT;
	def.type = BPF_MAP_TYPE_ARRAY, def.key_size = 4, def.value_size = 8, def.max_entries = 1;
	bpfvm_map *m = NULL;
	if (bpfvm_map_create(&def, &m, NULL) || bpfvm_map_pin(m, "test_pin_access", NULL))
		return 2;
	bpfvm_map_put(m);
	char pin[128];
	snprintf(pin, sizeof pin, "%s/test_pin_access", dir);
	int rc = stat(dir, &st) != 0 || st.st_uid != NOBODY ? 3 : fresh && (st.st_mode & 07777) != 0700 ? 4
	       : (mode_of(pin) != 0600) ? 5 : 0;
	unlink(pin);
	if (fresh)
		rmdir(dir);
	return rc;
}

static void test_default_dir(void)
{
	char want[64];
	snprintf(want, sizeof want, "/dev/shm/bpfvm-%u", (unsigned)geteuid());
	unsetenv("BPFVM_PIN_DIR");
	CHECK(!strcmp(bpfvm_map_pin_dir(), want), "default pin dir %s, want %s", bpfvm_map_pin_dir(), want);
	int rc = as_nobody(default_dir_child);
	CHECK(rc == 0, "nobody's default pin dir: step %d failed", rc);

	/* BPFVM_PIN_DIR given and missing: made 0700 whatever the umask */
	bpfvm_error err = { 0 };
	mode_t old = umask(0);
	rc = pin_in(sub("made"), "m", &err);
	umask(old);
	CHECK(rc == 0 && mode_of(sub("made")) == 0700, "BPFVM_PIN_DIR made: rc %d mode %o %s", rc, mode_of(sub("made")),
	      err.msg);
	CHECK(mode_of(sub("made/m")) == 0600, "pin mode %o", mode_of(sub("made/m")));
}

/* A directory nobody should trust: pinning in it and opening from it are
 * refused with the reason and the fix. */
static void refused_dir(const char *dir, int want_rc, const char *why)
{
	bpfvm_error err = { 0 };
	int rc = pin_in(dir, "p", &err);
	CHECK(rc == want_rc && strstr(err.msg, why) && strstr(err.msg, dir), "pin in %s: %d %s", dir, rc, err.msg);
	char path[160];
	snprintf(path, sizeof path, "%s/p", dir);
	rc = open_pin(path, &err);
	CHECK(rc == want_rc && strstr(err.msg, why), "open in %s: %d %s", dir, rc, err.msg);
}

static void test_refused_dirs(void)
{
	bpfvm_error err = { 0 };
	mkdir(sub("world"), 0700);
	CHECK(pin_in(sub("world"), "p", &err) == 0, "pin in a 0700 dir: %s", err.msg);
	chmod(sub("world"), 0777);   /* a pin made before the dir went bad is refused too */
	refused_dir(sub("world"), -EPERM, "writable by others (mode 0777); make it 0700");
	mkdir(sub("sticky"), 0700);
	chmod(sub("sticky"), 01777);
	refused_dir(sub("sticky"), -EPERM, "writable by others (mode 1777)");
	mkdir(sub("group"), 0700);
	chmod(sub("group"), 0770);
	refused_dir(sub("group"), -EPERM, "writable by its group");
	mkdir(sub("real"), 0700);
	CHECK(symlink(sub("real"), sub("link")) == 0, "symlink");
	refused_dir(sub("link"), -ELOOP, "symbolic link");
	mkdir(sub("theirs"), 0700);
	CHECK(chown(sub("theirs"), NOBODY, NOBODY) == 0, "chown");
	refused_dir(sub("theirs"), -EPERM, "belongs to uid 65534");
	CHECK(close(open(sub("file"), O_CREAT | O_WRONLY, 0600)) == 0, "file");
	refused_dir(sub("file"), -ENOTDIR, "not a directory");
}

/* nobody (gid 65534) opens root's pin in the shared directory and pins its own. */
static int shared_child(void)
{
	if (open_pin(sub("shared/p"), NULL) != 0)
		return 1;
	return pin_in(sub("shared"), "q", NULL) == 0 ? 0 : 2;
}

static void test_shared_dir(void)
{
	bpfvm_error err = { 0 };
	mkdir(sub("shared"), 0700);
	CHECK(chown(sub("shared"), 0, NOBODY) == 0 && chmod(sub("shared"), 02770) == 0, "shared dir");
	int rc = pin_in(sub("shared"), "p", &err);
	struct stat st = { 0 };
	stat(sub("shared/p"), &st);
	CHECK(rc == 0 && (st.st_mode & 07777) == 0660 && st.st_gid == NOBODY, "group pin: rc %d mode %o gid %u %s", rc,
	      st.st_mode & 07777, (unsigned)st.st_gid, err.msg);
	rc = as_nobody(shared_child);
	CHECK(rc == 0, "a member opens and pins in the shared dir: step %d", rc);
	stat(sub("shared/q"), &st);
	CHECK(st.st_uid == NOBODY && st.st_gid == NOBODY && (st.st_mode & 07777) == 0660, "member's pin %u:%u %o",
	      (unsigned)st.st_uid, (unsigned)st.st_gid, st.st_mode & 07777);
	rc = open_pin(sub("shared/q"), &err);
	CHECK(rc == 0, "a member's pin in the shared dir is accepted: %d %s", rc, err.msg);
	/* not the group's: refused even there */
	CHECK(chown(sub("shared/q"), NOBODY, 0) == 0, "chown");
	rc = open_pin(sub("shared/q"), &err);
	CHECK(rc == -EPERM && strstr(err.msg, "belongs to uid 65534"), "a pin of another group: %d %s", rc, err.msg);
}

static void refused_pin(const char *path, int want_rc, const char *why)
{
	bpfvm_error err = { 0 };
	int rc = open_pin(path, &err);
	CHECK(rc == want_rc && strstr(err.msg, why) && strstr(err.msg, path), "open %s: %d %s", path, rc, err.msg);
}

static void test_refused_pins(void)
{
	bpfvm_error err = { 0 };
	mkdir(sub("own"), 0700);
	CHECK(pin_in(sub("own"), "planted", &err) == 0, "pin: %s", err.msg);
	CHECK(chown(sub("own/planted"), NOBODY, NOBODY) == 0, "chown");
	refused_pin(sub("own/planted"), -EPERM, "belongs to uid 65534");
	refused_pin(sub("own/planted"), -EPERM, "rm ");
	/* an instance-style reuse gets the same answer: a new pin is refused too */
	CHECK(pin_in(sub("own"), "planted", &err) == -EEXIST, "pinning over a planted pin: %s", err.msg);
	CHECK(pin_in(sub("own"), "mine", &err) == 0, "pin: %s", err.msg);
	CHECK(symlink(sub("own/mine"), sub("own/link")) == 0, "symlink");
	refused_pin(sub("own/link"), -ELOOP, "symbolic link");
	CHECK(mkfifo(sub("own/fifo"), 0600) == 0, "mkfifo");
	refused_pin(sub("own/fifo"), -EINVAL, "not a regular file");
	mkdir(sub("own/dir"), 0700);
	refused_pin(sub("own/dir"), -EISDIR, "is a directory");
	CHECK(chmod(sub("own/mine"), 0666) == 0, "chmod");
	refused_pin(sub("own/mine"), -EPERM, "writable by others (mode 0666)");
	CHECK(chmod(sub("own/mine"), 0600) == 0 && open_pin(sub("own/mine"), &err) == 0, "mine again: %s", err.msg);
}

/* Writes a crafted pin: the good pin's bytes, cut to len, its header
 * changed by edit. */
static void craft(const char *path, const uint8_t *good, size_t len, void (*edit)(struct arena_header *))
{
	uint8_t *bytes = malloc(len > sizeof(struct arena_header) ? len : sizeof(struct arena_header));
	memcpy(bytes, good, len);
	if (edit)
		edit((struct arena_header *)bytes);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	CHECK(fd >= 0 && write(fd, bytes, len) == (ssize_t)len, "write %s", path);
	close(fd);
	free(bytes);
}

static void other_version(struct arena_header *h) { h->version = ARENA_VERSION + 1; }
static void other_magic(struct arena_header *h) { h->magic ^= 1; }
static void values_past_end(struct arena_header *h) { h->values_len = h->map_size; }
static void file_size_wrong(struct arena_header *h) { h->file_size += 4096; }

static void test_formats(void)
{
	bpfvm_error err = { 0 };
	mkdir(sub("fmt"), 0700);
	CHECK(pin_in(sub("fmt"), "good", &err) == 0, "pin: %s", err.msg);
	struct stat st;
	stat(sub("fmt/good"), &st);
	size_t size = (size_t)st.st_size;
	uint8_t *good = malloc(size);
	int fd = open(sub("fmt/good"), O_RDONLY);
	CHECK(fd >= 0 && read(fd, good, size) == (ssize_t)size, "read the good pin");
	close(fd);
	craft(sub("fmt/empty"), good, 0, NULL);
	refused_pin(sub("fmt/empty"), -EINVAL, "too short for its header");
	craft(sub("fmt/short"), good, 16, NULL);
	refused_pin(sub("fmt/short"), -EINVAL, "too short for its header");
	craft(sub("fmt/version"), good, size, other_version);
	refused_pin(sub("fmt/version"), -EINVAL, "format version");
	craft(sub("fmt/magic"), good, size, other_magic);
	refused_pin(sub("fmt/magic"), -EINVAL, "not a bpfvm map");
	craft(sub("fmt/truncated"), good, size / 2, NULL);
	refused_pin(sub("fmt/truncated"), -EINVAL, "truncated");
	craft(sub("fmt/filesize"), good, size, file_size_wrong);
	refused_pin(sub("fmt/filesize"), -EINVAL, "truncated");
	craft(sub("fmt/values"), good, size, values_past_end);
	refused_pin(sub("fmt/values"), -EINVAL, "sizes do not fit");
	CHECK(open_pin(sub("fmt/good"), &err) == 0, "the good pin opens: %s", err.msg);
	free(good);
}

int main(void)
{
	snprintf(base, sizeof base, "/dev/shm/bpfvm-access-XXXXXX");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	chmod(base, 0711);   /* nobody's children reach the directories below */
	test_refused_pins();
	test_formats();
	if (geteuid() == 0) {
		test_default_dir();
		test_refused_dirs();
		test_shared_dir();
	} else {
		printf("not root: the tests needing another user (uid 65534) are skipped\n");
	}
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", base);
	if (system(cmd) != 0)
		printf("could not remove %s\n", base);
	return check_summary();
}
