/*
 * arena.c - the memory behind a map: one shared mapping of one file.
 *
 * Owns: choosing and creating the backing file (an unnamed O_TMPFILE on
 * tmpfs in the pin directory, so that pinning is just giving it a name
 * with linkat(); an anonymous memfd when no such directory is usable or
 * the caller wants no trace left in it),
 * mapping it (with a ring buffer's data area mapped a second time right
 * after it, as the kernel does, so records never wrap), pinning, and
 * opening and validating a pinned arena, and charging its size against
 * the machine's memory and BPFVM_MAP_MEMORY_MAX before any of it.
 *
 * Why a file from the start rather than copying at pin time: programs
 * hold pointers into the arena and update values with atomics while a
 * map is pinned; the memory must never move or be duplicated.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

const char *arena_pin_dir(void)
{
	const char *dir = getenv("BPFVM_PIN_DIR");
	return (dir && *dir) ? dir : BPFVM_PIN_DIR_DEFAULT;
}

const char *bpfvm_map_pin_dir(void)
{
	return arena_pin_dir();
}

/* Makes the pin directory if missing: sticky and world-writable like /tmp,
 * so every user can pin; the pinned files themselves are 0600. */
static void ensure_dir(const char *dir)
{
	if (mkdir(dir, 01777) == 0)
		chmod(dir, 01777);   /* mkdir honours the umask */
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
	const char *dir = arena_pin_dir();
	ensure_dir(dir);
	/* An arena bigger than the tmpfs has room for would only fill it
	 * before failing: such a map gets anonymous memory (not pinnable). */
	struct statvfs vfs;
	bool fits = statvfs(dir, &vfs) == 0 && (uint64_t)size <= (uint64_t)vfs.f_bavail * vfs.f_frsize;
	int fd = fits ? open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600) : -1;
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

/* A relative pin path is taken under the pin directory. */
static int resolve_path(const char *path, char *out, size_t outlen, bpfvm_error *err)
{
	int n = path[0] == '/' ? snprintf(out, outlen, "%s", path)
	                       : snprintf(out, outlen, "%s/%s", arena_pin_dir(), path);
	if (n < 0 || (size_t)n >= outlen)
		return map_error(err, -ENAMETOOLONG, "pin path too long: %s", path);
	return 0;
}

int arena_pin(bpfvm_map *map, const char *path, bpfvm_error *err)
{
	char full[PATH_MAX];
	int rc = resolve_path(path, full, sizeof full, err);
	if (rc < 0)
		return rc;
	if (map->backed_by_memfd)
		return map_error(err, -EOPNOTSUPP,
		                 "cannot pin map '%s': its arena is anonymous memory because %s was not usable when it was created",
		                 map->name, arena_pin_dir());
	if (path[0] != '/')
		ensure_dir(arena_pin_dir());
	char self[64];
	snprintf(self, sizeof self, "/proc/self/fd/%d", map->fd);
	if (linkat(AT_FDCWD, self, AT_FDCWD, full, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	int e = errno;
	/* Without /proc, AT_EMPTY_PATH does the same (needs CAP_DAC_READ_SEARCH). */
	if (e == ENOENT && access("/proc/self/fd", F_OK) != 0 &&
	    linkat(map->fd, "", AT_FDCWD, full, AT_EMPTY_PATH) == 0)
		return 0;
	switch (e) {
	case EEXIST:
		return map_error(err, -EEXIST, "cannot pin map '%s': %s already exists", map->name, full);
	case EXDEV:
		return map_error(err, -EXDEV, "cannot pin map '%s' at %s: pins must be on the file system of %s",
		                 map->name, full, arena_pin_dir());
	default:
		return map_error(err, -e, "cannot pin map '%s' at %s: %s", map->name, full, strerror(e));
	}
}

int arena_open(const char *path, bpfvm_map *map, struct arena_header *hdr_out, bpfvm_error *err)
{
	char full[PATH_MAX];
	int rc = resolve_path(path, full, sizeof full, err);
	if (rc < 0)
		return rc;
	int fd = open(full, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return map_error(err, -errno, "cannot open pinned map %s: %s", full, strerror(errno));
	struct arena_header h;
	struct stat st;
	if (fstat(fd, &st) != 0 || pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h) {
		close(fd);
		return map_error(err, -EINVAL, "%s is not a bpfvm map (too short)", full);
	}
	if (h.magic != ARENA_MAGIC || h.version != ARENA_VERSION) {
		close(fd);
		return map_error(err, -EINVAL, "%s is not a bpfvm map of this version", full);
	}
	if (h.possible_cpus != cpus_possible() || h.page_size != arena_page_size()) {
		close(fd);
		return map_error(err, -EINVAL, "%s was made for %u CPUs and %u-byte pages, not %u and %zu", full,
		                 h.possible_cpus, h.page_size, cpus_possible(), arena_page_size());
	}
	if ((uint64_t)st.st_size != h.file_size) {
		close(fd);
		return map_error(err, -EINVAL, "%s: file is %lld bytes, its header says %llu", full,
		                 (long long)st.st_size, (unsigned long long)h.file_size);
	}
	map->fd = fd;   /* mapped by the caller once the layout is checked */
	map->type = h.type;
	map->key_size = h.key_size;
	map->value_size = h.value_size;
	map->max_entries = h.max_entries;
	map->map_flags = h.map_flags;
	map->map_extra = h.map_extra;
	map->spin_lock_off = h.spin_lock_off;
	memcpy(map->name, h.name, sizeof map->name);
	map->name[sizeof map->name - 1] = '\0';
	map->ncpus = h.possible_cpus;
	*hdr_out = h;
	return 0;
}
