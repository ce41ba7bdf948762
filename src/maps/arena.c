/*
 * arena.c - the memory behind a map: one shared mapping of one file.
 *
 * Owns: choosing and creating the backing file (an unnamed O_TMPFILE on
 * tmpfs in the pin directory, so that pinning is just giving it a name
 * with linkat(); an anonymous memfd when no such directory is usable or
 * the caller wants no trace left in it),
 * mapping it (with a ring buffer's data area mapped a second time right
 * after it, as the kernel does, so records never wrap), pinning, and
 * opening and validating a pinned arena (from its path, or from a
 * descriptor another process passed), and charging its size against
 * the machine's memory and BPFVM_MAP_MEMORY_MAX before any of it.
 * Also who may be trusted with a pin: the pin directory must be private
 * to its owner (or a group's shared directory) and a pin must belong to
 * the user opening it, checked on the opened descriptors (no TOCTOU).
 *
 * Why a file from the start rather than copying at pin time: programs
 * hold pointers into the arena and update values with atomics while a
 * map is pinned; the memory must never move or be duplicated.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "maps/map_internal.h"

size_t arena_page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	return ps > 0 ? (size_t)ps : 4096;
}

/* The default pin directory is per user, BPFVM_PIN_DIR_DEFAULT-UID, so no
 * user ever has to trust a directory another user made.  Kept for the
 * effective uid last asked about (a process may change it). */
static const char *default_pin_dir(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static char dir[sizeof BPFVM_PIN_DIR_DEFAULT + 24];
	static long long dir_uid = -1;
	long long uid = geteuid();
	if (__atomic_load_n(&dir_uid, __ATOMIC_ACQUIRE) != uid) {
		pthread_mutex_lock(&lock);
		snprintf(dir, sizeof dir, "%s-%lld", BPFVM_PIN_DIR_DEFAULT, uid);
		__atomic_store_n(&dir_uid, uid, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&lock);
	}
	return dir;
}

const char *arena_pin_dir(void)
{
	const char *dir = getenv("BPFVM_PIN_DIR");
	return (dir && *dir) ? dir : default_pin_dir();
}

const char *bpfvm_map_pin_dir(void)
{
	return arena_pin_dir();
}

/* A checked pin directory; shared: a group's, where pins are made 0660. */
struct pin_dir {
	int fd;
	bool shared;
	gid_t gid;
};

/* "uid 65534 (nobody)" for messages; the name only if the system knows it. */
static const char *user_label(uid_t uid, char *out, size_t len)
{
	struct passwd pw, *found = NULL;
	char buf[1024];
	if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found)
		snprintf(out, len, "uid %u (%s)", (unsigned)uid, found->pw_name);
	else
		snprintf(out, len, "uid %u", (unsigned)uid);
	return out;
}

static bool in_group(gid_t gid)
{
	if (getegid() == gid)
		return true;
	gid_t groups[256];
	int n = getgroups(256, groups);
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* A group's shared directory: setgid, so what is made in it belongs to the
 * group, and not writable by the world. */
static bool is_shared_group_dir(const struct stat *st)
{
	return (st->st_mode & S_ISGID) && !(st->st_mode & S_IWOTH);
}

/* Whether a pin directory may be trusted: a directory owned by us (or
 * root, whom nothing can keep out), not writable by anyone else; or a
 * group's shared directory when we are in that group. */
static int pin_dir_check(const char *dir, const struct stat *st, struct pin_dir *pd, bpfvm_error *err)
{
	unsigned mode = st->st_mode & 07777;
	uid_t me = geteuid();
	char who[300];
	if (!S_ISDIR(st->st_mode))
		return map_error(err, -ENOTDIR, "pin directory %s is not a directory; remove it or set BPFVM_PIN_DIR", dir);
	pd->shared = is_shared_group_dir(st) && (st->st_uid == me || me == 0 || in_group(st->st_gid));
	pd->gid = st->st_gid;
	if (st->st_uid != me && st->st_uid != 0 && !pd->shared)
		return map_error(err, -EPERM,
		                 "pin directory %s belongs to %s, not to you (uid %u): its owner could replace your pins; "
		                 "use a directory of your own (BPFVM_PIN_DIR or --pin-dir)",
		                 dir, user_label(st->st_uid, who, sizeof who), (unsigned)me);
	if (mode & S_IWOTH)
		return map_error(err, -EPERM,
		                 "pin directory %s is writable by others (mode %04o); make it 0700 (chmod 700 %s) or set "
		                 "BPFVM_PIN_DIR", dir, mode, dir);
	if ((mode & S_IWGRP) && !pd->shared)
		return map_error(err, -EPERM,
		                 "pin directory %s is writable by its group (mode %04o) but is not a group's shared "
		                 "directory; make it 0700 (chmod 700 %s), or setgid (chmod g+s) to share pins with the "
		                 "group", dir, mode, dir);
	return 0;
}

/* Opens and checks the directory pins go in (pd->fd, an O_PATH descriptor
 * linkat and openat work from); with `create`, makes it first if missing,
 * 0700.  A symbolic link is refused, not followed. */
static int pin_dir_open(const char *dir, bool create, struct pin_dir *pd, bpfvm_error *err)
{
	pd->fd = -1;
	if (create && mkdir(dir, 0700) != 0 && errno != EEXIST)
		return map_error(err, -errno, "cannot make pin directory %s: %s", dir, strerror(errno));
	int fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		struct stat st;
		if ((e == ENOTDIR || e == ELOOP) && lstat(dir, &st) == 0 && S_ISLNK(st.st_mode))
			return map_error(err, -ELOOP, "pin directory %s is a symbolic link; bpfvm does not follow one "
			                 "(whoever made it chooses where pins go): use the real directory", dir);
		if (e == ENOTDIR)
			return map_error(err, -ENOTDIR, "pin directory %s is not a directory; remove it or set BPFVM_PIN_DIR",
			                 dir);
		return map_error(err, -e, "cannot open pin directory %s: %s", dir, strerror(e));
	}
	struct stat st;
	int rc = fstat(fd, &st) != 0 ? map_error(err, -errno, "cannot stat pin directory %s: %s", dir, strerror(errno))
	                             : pin_dir_check(dir, &st, pd, err);
	if (rc) {
		close(fd);
		return rc;
	}
	pd->fd = fd;
	return 0;
}

/* The memory the machine can give now: MemAvailable of /proc/meminfo (what
 * the kernel estimates it can hand out without swapping), else the free
 * physical pages; 0 if neither can be read. */
static uint64_t memory_available(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (f) {
		char line[128];
		unsigned long long kib;
		while (fgets(line, sizeof line, f))
			if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) {
				fclose(f);
				return (uint64_t)kib * 1024;
			}
		fclose(f);
	}
	long pages = sysconf(_SC_AVPHYS_PAGES);
	return pages > 0 ? (uint64_t)pages * arena_page_size() : 0;
}

/* BPFVM_MAP_MEMORY_MAX: a size in bytes with an optional K, M, G or T
 * suffix (powers of 1024); 0 when unset; -1 when malformed. */
static int64_t memory_cap_from_env(void)
{
	const char *v = getenv("BPFVM_MAP_MEMORY_MAX");
	if (!v || !*v)
		return 0;
	char *end;
	unsigned long long n = strtoull(v, &end, 10);
	unsigned shift = 0;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	default: break;
	}
	if (end == v || *end || n == 0 || n > (UINT64_MAX >> 1) >> shift)
		return -1;
	return (int64_t)(n << shift);
}

int arena_charge(size_t size, bpfvm_error *err)
{
	/* As the kernel charges a map to its creator's memory cgroup: a map
	 * is refused at creation, never left to fail at first touch. */
	int64_t cap = memory_cap_from_env();
	if (cap < 0)
		return map_error(err, -EINVAL, "BPFVM_MAP_MEMORY_MAX=%s: not a size (bytes, or with K, M, G or T)",
		                 getenv("BPFVM_MAP_MEMORY_MAX"));
	if (cap > 0 && (uint64_t)size > (uint64_t)cap)
		return map_error(err, -ENOMEM, "the map needs %zu bytes, over the %lld-byte cap of BPFVM_MAP_MEMORY_MAX",
		                 size, (long long)cap);
	uint64_t avail = memory_available();
	if (avail && (uint64_t)size > avail)
		return map_error(err, -ENOMEM, "the map needs %zu bytes; the machine has %llu bytes available", size,
		                 (unsigned long long)avail);
	return 0;
}

static int open_memfd(size_t size, bool commit, bool *is_memfd, bpfvm_error *err);

/* Opens the unnamed file an arena lives in (anonymous memory when asked);
 * sets *is_memfd when it is anonymous memory.  Its size is charged first;
 * the memory of any map a program may run on is allocated here, so running
 * out of it is -ENOMEM now, never a SIGBUS at first touch.  Anonymous maps
 * (an instance made only to be verified) get theirs as it is written. */
static int open_backing(size_t size, bool anonymous, bool *is_memfd, bpfvm_error *err)
{
	int rc = arena_charge(size, err);
	if (rc)
		return rc;
	if (anonymous)
		return open_memfd(size, false, is_memfd, err);
	/* The file is made in the (checked) pin directory so that pinning can
	 * link it there; if the directory is not usable, in anonymous memory,
	 * and pinning says why (arena_pin). */
	struct pin_dir pd;
	int fd = -1;
	if (pin_dir_open(arena_pin_dir(), true, &pd, NULL) == 0) {
		/* An arena bigger than the tmpfs has room for would only fill it
		 * before failing: such a map gets anonymous memory (not pinnable). */
		struct statvfs vfs;
		if (fstatvfs(pd.fd, &vfs) == 0 && (uint64_t)size <= (uint64_t)vfs.f_bavail * vfs.f_frsize)
			fd = openat(pd.fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		close(pd.fd);
	}
	if (fd >= 0) {
		/* Allocate now: a sparse file on a full tmpfs would raise SIGBUS
		 * at first touch instead of failing here. */
		if (ftruncate(fd, (off_t)size) == 0 && posix_fallocate(fd, 0, (off_t)size) == 0) {
			*is_memfd = false;
			return fd;
		}
		close(fd);
	}
	return open_memfd(size, true, is_memfd, err);
}

/* Anonymous memory for an arena; committed (allocated now) if `commit`. */
static int open_memfd(size_t size, bool commit, bool *is_memfd, bpfvm_error *err)
{
	int fd = memfd_create("bpfvm-map", MFD_CLOEXEC);
	if (fd < 0)
		return map_error(err, -errno, "cannot create the arena file: %s", strerror(errno));
	int e = ftruncate(fd, (off_t)size) != 0 ? errno : commit ? posix_fallocate(fd, 0, (off_t)size) : 0;
	if (e) {
		close(fd);
		return map_error(err, -ENOMEM, "cannot allocate the arena's %zu bytes: %s", size, strerror(e));
	}
	*is_memfd = true;
	return fd;
}

int arena_map_file(bpfvm_map *map, int fd, const struct arena_layout *lay, bpfvm_error *err)
{
	size_t total = lay->size + lay->alias_len;
	/* Reserve the whole range first so the alias lands right after. */
	void *base = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return map_error(err, -ENOMEM, "cannot reserve %zu bytes of address space for the arena", total);
	void *p = mmap(base, lay->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		munmap(base, total);
		return map_error(err, -ENOMEM, "cannot map the arena (%zu bytes): %s", lay->size, strerror(e));
	}
	if (lay->alias_len) {
		p = mmap((uint8_t *)base + lay->size, lay->alias_len, PROT_READ | PROT_WRITE,
		         MAP_SHARED | MAP_FIXED, fd, (off_t)lay->alias_off);
		if (p == MAP_FAILED) {
			int e = errno;
			munmap(base, total);
			return map_error(err, -ENOMEM, "cannot map the ring buffer's second view: %s", strerror(e));
		}
	}
	map->fd = fd;
	map->base = base;
	map->map_size = total;
	map->hdr = base;
	map->values = (uint8_t *)base + lay->values_off;
	map->values_len = lay->values_len;
	return 0;
}

int arena_create(bpfvm_map *map, const struct arena_layout *lay, bool anonymous, bpfvm_error *err)
{
	bool is_memfd = false;
	int fd = open_backing(lay->size, anonymous, &is_memfd, err);
	if (fd < 0)
		return fd;
	int rc = arena_map_file(map, fd, lay, err);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	map->backed_by_memfd = is_memfd;
	return 0;
}

void arena_destroy(bpfvm_map *map)
{
	if (map->base)
		munmap(map->base, map->map_size);
	if (map->fd >= 0)
		close(map->fd);
	map->base = NULL;
	map->fd = -1;
}

/* A pin path split into its directory and its name: a relative path is
 * taken under the pin directory. */
struct pin_path {
	char full[PATH_MAX];
	char dir[PATH_MAX];
	const char *name;     /* in full */
};

static int resolve_path(const char *path, struct pin_path *pp, bpfvm_error *err)
{
	int n = path[0] == '/' ? snprintf(pp->full, sizeof pp->full, "%s", path)
	                       : snprintf(pp->full, sizeof pp->full, "%s/%s", arena_pin_dir(), path);
	if (n < 0 || (size_t)n >= sizeof pp->full)
		return map_error(err, -ENAMETOOLONG, "pin path too long: %s", path);
	char *slash = strrchr(pp->full, '/');
	pp->name = slash + 1;
	if (!*pp->name)
		return map_error(err, -EINVAL, "pin path %s names a directory, not a pin", pp->full);
	size_t dir_len = slash == pp->full ? 1 : (size_t)(slash - pp->full);
	memcpy(pp->dir, pp->full, dir_len);
	pp->dir[dir_len] = '\0';
	return 0;
}

/* In a group's shared directory a pin belongs to the group and is 0660, so
 * every member can open it; elsewhere it stays 0600. */
static int share_with_group(bpfvm_map *map, const struct pin_dir *pd, const char *full, bpfvm_error *err)
{
	if (!pd->shared)
		return 0;
	if (fchown(map->fd, (uid_t)-1, pd->gid) != 0 || fchmod(map->fd, 0660) != 0)
		return map_error(err, -errno, "cannot pin map '%s' at %s: cannot give it to the directory's group %u: %s",
		                 map->name, full, (unsigned)pd->gid, strerror(errno));
	return 0;
}

/* Gives the arena's file its name: linkat never replaces an existing name,
 * so the pin appears whole or not at all, and a second pinner gets EEXIST. */
static int link_pin(bpfvm_map *map, const struct pin_dir *pd, const char *name)
{
	char self[64];
	snprintf(self, sizeof self, "/proc/self/fd/%d", map->fd);
	if (linkat(AT_FDCWD, self, pd->fd, name, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	int e = errno;
	/* Without /proc, AT_EMPTY_PATH does the same (needs CAP_DAC_READ_SEARCH). */
	if (e == ENOENT && access("/proc/self/fd", F_OK) != 0 && linkat(map->fd, "", pd->fd, name, AT_EMPTY_PATH) == 0)
		return 0;
	return -e;
}

int arena_pin(bpfvm_map *map, const char *path, bpfvm_error *err)
{
	struct pin_path pp;
	int rc = resolve_path(path, &pp, err);
	if (rc < 0)
		return rc;
	struct pin_dir pd;
	if (map->backed_by_memfd) {
		/* say what was wrong with the directory, if that was it */
		rc = pin_dir_open(arena_pin_dir(), false, &pd, err);
		if (rc)
			return rc;
		close(pd.fd);
		return map_error(err, -EOPNOTSUPP,
		                 "cannot pin map '%s': its arena is anonymous memory because %s was not usable when it was created",
		                 map->name, arena_pin_dir());
	}
	rc = pin_dir_open(pp.dir, path[0] != '/' && !strchr(path, '/'), &pd, err);
	if (rc)
		return rc;
	rc = share_with_group(map, &pd, pp.full, err);
	int e = rc ? 0 : -link_pin(map, &pd, pp.name);
	close(pd.fd);
	switch (e) {
	case 0:
		return rc;
	case EEXIST:
		return map_error(err, -EEXIST, "cannot pin map '%s': %s already exists", map->name, pp.full);
	case EXDEV:
		return map_error(err, -EXDEV, "cannot pin map '%s' at %s: pins must be on the file system of %s",
		                 map->name, pp.full, arena_pin_dir());
	default:
		return map_error(err, -e, "cannot pin map '%s' at %s: %s", map->name, pp.full, strerror(e));
	}
}

/* Whether a pin may be used: a regular file that belongs to us, or to root
 * (who can do anything anyway; opening it read-write already proved its
 * mode lets us in), or, in a group's shared directory, to that group (only
 * the group's members can make files there).  Not writable by others. */
static int pin_file_check(const char *full, const struct stat *st, const struct pin_dir *pd, bpfvm_error *err)
{
	char who[300];
	if (!S_ISREG(st->st_mode))
		return map_error(err, -EINVAL, "pin %s is not a regular file (mode %06o), so not a map: remove it", full,
		                 (unsigned)st->st_mode);
	uid_t me = geteuid();
	bool trusted = st->st_uid == me || st->st_uid == 0 || (pd->shared && st->st_gid == pd->gid);
	if (!trusted)
		return map_error(err, -EPERM,
		                 "pin %s belongs to %s, not to you (uid %u): its owner could read, change or truncate the "
		                 "map under you; remove it if it is not meant for you (rm %s), or have its owner pass you "
		                 "the map over a Unix socket (bpfvm_map_send)",
		                 full, user_label(st->st_uid, who, sizeof who), (unsigned)me, full);
	if (st->st_mode & S_IWOTH)
		return map_error(err, -EPERM, "pin %s is writable by others (mode %04o); make it 0600 (chmod 600 %s)", full,
		                 (unsigned)(st->st_mode & 07777), full);
	return 0;
}

/* Opens a pin without following a symbolic link or blocking on a FIFO
 * planted in its place. */
static int open_pin_file(const struct pin_path *pp, const struct pin_dir *pd, bpfvm_error *err)
{
	int fd = openat(pd->fd, pp->name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	int e = errno;
	struct stat st;
	if (e == ELOOP && fstatat(pd->fd, pp->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		return map_error(err, -ELOOP, "pin %s is a symbolic link; bpfvm does not follow one (whoever made it "
		                 "chooses the map): remove it", pp->full);
	if (e == EISDIR)
		return map_error(err, -EISDIR, "pin %s is a directory, not a map", pp->full);
	return map_error(err, -e, "cannot open pinned map %s: %s", pp->full, strerror(e));
}

int arena_open(const char *path, bpfvm_map *map, struct arena_header *hdr_out, bpfvm_error *err)
{
	struct pin_path pp;
	int rc = resolve_path(path, &pp, err);
	if (rc < 0)
		return rc;
	struct pin_dir pd;
	rc = pin_dir_open(pp.dir, false, &pd, err);
	if (rc)
		return rc;
	int fd = open_pin_file(&pp, &pd, err);
	struct stat st;
	if (fd >= 0) {
		rc = fstat(fd, &st) != 0 ? map_error(err, -errno, "cannot stat %s: %s", pp.full, strerror(errno))
		                         : pin_file_check(pp.full, &st, &pd, err);
		if (rc)
			close(fd);
	}
	close(pd.fd);
	if (fd < 0)
		return fd;
	if (rc)
		return rc;
	return arena_open_fd(fd, pp.full, map, hdr_out, err);
}

/* The header's sizes, against each other and the file's size. */
static int check_header_sizes(const char *what, const struct arena_header *h, uint64_t file_size,
                              bpfvm_error *err)
{
	if (file_size < h->file_size)
		return map_error(err, -EINVAL, "%s is truncated: %llu bytes, its header says %llu", what,
		                 (unsigned long long)file_size, (unsigned long long)h->file_size);
	if (file_size != h->file_size)
		return map_error(err, -EINVAL, "%s: file is %llu bytes, its header says %llu", what,
		                 (unsigned long long)file_size, (unsigned long long)h->file_size);
	if (h->map_size < h->file_size || h->values_off > h->map_size || h->values_len > h->map_size - h->values_off ||
	    (h->values_len && h->values_off < sizeof *h))
		return map_error(err, -EINVAL, "%s: its header's sizes do not fit together (file %llu, mapped %llu, "
		                 "values %llu+%llu bytes): a damaged pin", what, (unsigned long long)h->file_size,
		                 (unsigned long long)h->map_size, (unsigned long long)h->values_off,
		                 (unsigned long long)h->values_len);
	return 0;
}

/* The header at the start of fd, checked: magic, version, machine, sizes. */
static int read_header(int fd, const char *what, struct arena_header *h, bpfvm_error *err)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return map_error(err, -errno, "cannot stat %s: %s", what, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return map_error(err, -EINVAL, "%s is not a regular file, so not a bpfvm map", what);
	if ((uint64_t)st.st_size < sizeof *h || pread(fd, h, sizeof *h, 0) != (ssize_t)sizeof *h)
		return map_error(err, -EINVAL, "%s is not a bpfvm map (%lld bytes: too short for its header)", what,
		                 (long long)st.st_size);
	if (h->magic != ARENA_MAGIC)
		return map_error(err, -EINVAL, "%s is not a bpfvm map (no bpfvm header)", what);
	if (h->version != ARENA_VERSION)
		return map_error(err, -EINVAL, "%s is a bpfvm map of format version %u; this bpfvm reads version %u: "
		                 "recreate it with this bpfvm (remove the pin and run again)", what, h->version,
		                 ARENA_VERSION);
	if (h->possible_cpus != cpus_possible() || h->page_size != arena_page_size())
		return map_error(err, -EINVAL, "%s was made for %u CPUs and %u-byte pages, not %u and %zu", what,
		                 h->possible_cpus, h->page_size, cpus_possible(), arena_page_size());
	return check_header_sizes(what, h, (uint64_t)st.st_size, err);
}

int arena_open_fd(int fd, const char *what, bpfvm_map *map, struct arena_header *hdr_out, bpfvm_error *err)
{
	map->fd = fd;   /* the map owns it from here; mapped by the caller once the layout is checked */
	struct arena_header h;
	int rc = read_header(fd, what, &h, err);
	if (rc)
		return rc;
	map->type = h.type;
	map->key_size = h.key_size;
	map->value_size = h.value_size;
	map->max_entries = h.max_entries;
	map->map_flags = h.map_flags;
	map->map_extra = h.map_extra;
	map->spin_lock_off = h.spin_lock_off;
	map->timer_off = h.timer_off;
	map->wq_off = h.wq_off;
	map_note_special_fields(map);
	memcpy(map->name, h.name, sizeof map->name);
	map->name[sizeof map->name - 1] = '\0';
	map->ncpus = h.possible_cpus;
	*hdr_out = h;
	return 0;
}
