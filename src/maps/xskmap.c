/*
 * xskmap.c - BPF_MAP_TYPE_XSKMAP: AF_XDP sockets an XDP program redirects
 * frames to (bpf_redirect_map), by index (usually the receive queue).
 *
 * Owns: the kernel's rules for the map (xsk_map_alloc, xsk_map_update_elem,
 * its delete and get_next_key; lookups from user space are -EOPNOTSUPP),
 * the references to the sockets, map_xskmap_entry() and
 * map_xskmap_set_queue_id().
 *
 * A value written from user space is a socket's descriptor: not a socket
 * is -ENOTSOCK, a socket of another family -EOPNOTSUPP, as in the kernel.
 * The map keeps its own descriptor of the socket (a dup, in a process-local
 * side table, as the kernel keeps a reference), so the map cannot be
 * pinned.  A program's lookup gives a pointer to the entry's struct
 * bpf_xdp_sock, whose one field is queue_id: the kernel's verifier lets a
 * program read only that u32, and so does the map's window here (read-only,
 * BPF_F_RDONLY_PROG as the process-local flags say).  A socket does not
 * tell its queue, so queue_id is what the host that bound it records with
 * map_xskmap_set_queue_id() (0 until then).
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include "maps/map_internal.h"
#include "maps/xdp_maps.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif

#define XSK_CREATE_FLAGS (BPFVM_F_NUMA_NODE | BPFVM_F_RDONLY | BPFVM_F_WRONLY)

struct xsk_local {
	uint32_t lock;         /* serialises writers; readers load fds atomically */
	int fds[];             /* the map's descriptors, -1 where empty */
};

static struct xsk_local *local_of(const bpfvm_map *m)
{
	return m->local;
}

static int xskmap_check(const bpfvm_map_def *def, unsigned ncpus, bpfvm_error *err)
{
	(void)ncpus;
	if (def->max_entries == 0 || def->key_size != 4 || def->value_size != 4)
		return map_error(err, -EINVAL, "xskmap: key_size and value_size must be 4 and max_entries > 0");
	if (def->flags & ~XSK_CREATE_FLAGS)
		return map_error(err, -EINVAL, "xskmap: invalid map flags 0x%x (only BPF_F_NUMA_NODE, BPF_F_RDONLY, "
		                 "BPF_F_WRONLY)", def->flags);
	return 0;
}

/* The window: each entry's struct bpf_xdp_sock (its queue_id), 8 apart. */
static int xskmap_layout(bpfvm_map *m, struct arena_layout *lay, bpfvm_error *err)
{
	(void)err;
	lay->values_len = (size_t)m->max_entries * 8;
	lay->values_off = layout_add(lay, lay->values_len, arena_page_size());
	return 0;
}

static int xskmap_attach(bpfvm_map *m, bpfvm_error *err)
{
	struct xsk_local *loc = malloc(sizeof *loc + (size_t)m->max_entries * sizeof(int));
	if (!loc)
		return map_error(err, -ENOMEM, "out of memory for %u sockets of '%s'", m->max_entries, m->name);
	loc->lock = 0;
	for (uint32_t i = 0; i < m->max_entries; i++)
		loc->fds[i] = -1;
	m->local = loc;
	m->map_flags |= BPFVM_F_RDONLY_PROG;
	return 0;
}

static void xskmap_destroy(bpfvm_map *m)
{
	struct xsk_local *loc = local_of(m);
	if (!loc)
		return;
	for (uint32_t i = 0; i < m->max_entries; i++)
		if (loc->fds[i] >= 0)
			close(loc->fds[i]);
	free(loc);
	m->local = NULL;
}

static uint32_t key_of(const void *key)
{
	uint32_t k;
	memcpy(&k, key, 4);
	return k;
}

static uint32_t *queue_id_of(const bpfvm_map *m, uint32_t key)
{
	return (uint32_t *)(void *)(m->values + (size_t)key * 8);
}

static int xskmap_sys_lookup(bpfvm_map *m, const void *key, void *value, uint64_t flags, bpfvm_error *err)
{
	(void)key;
	(void)value;
	(void)flags;
	return map_error(err, -EOPNOTSUPP, "xskmap '%s': sockets cannot be looked up from user space (as in the "
	                 "kernel)", m->name);
}

/* sockfd_lookup() and the family test of xsk_map_update_elem(). */
static int check_xdp_socket(const bpfvm_map *m, int fd, bpfvm_error *err)
{
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return map_error(err, -EBADF, "xskmap '%s': %d is not an open descriptor", m->name, fd);
	if (!S_ISSOCK(st.st_mode))
		return map_error(err, -ENOTSOCK, "xskmap '%s': descriptor %d is not a socket", m->name, fd);
	int domain = 0;
	socklen_t len = sizeof domain;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_XDP)
		return map_error(err, -EOPNOTSUPP, "xskmap '%s': socket %d is not an AF_XDP socket", m->name, fd);
	return 0;
}

static bool same_socket(int a, int b)
{
	struct stat sa, sb;
	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

/* The map's own descriptor of the socket fd names. */
static int dup_socket(const bpfvm_map *m, int fd, bpfvm_error *err)
{
	int mine = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (mine < 0)
		return map_error(err, -errno, "xskmap '%s': cannot keep socket %d: %s", m->name, fd, strerror(errno));
	return mine;
}

/* xsk_map_update_elem(): storing the socket already there succeeds
 * whatever the flags. */
static int xskmap_sys_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags, bpfvm_error *err)
{
	uint32_t k = key_of(key), fd;
	memcpy(&fd, value, 4);
	if (flags > BPFVM_EXIST)
		return -EINVAL;
	if (k >= m->max_entries)
		return -E2BIG;
	int rc = check_xdp_socket(m, (int)fd, err);
	if (rc < 0)
		return rc;
	int mine = dup_socket(m, (int)fd, err);
	if (mine < 0)
		return mine;
	struct xsk_local *loc = local_of(m);
	spin_lock(&loc->lock);
	int old = loc->fds[k];
	if (old >= 0 && same_socket(old, mine))
		rc = 1;
	else if (old >= 0 && flags == BPFVM_NOEXIST)
		rc = -EEXIST;
	else if (old < 0 && flags == BPFVM_EXIST)
		rc = -ENOENT;
	if (rc == 0) {
		__atomic_store_n(queue_id_of(m, k), 0, __ATOMIC_RELAXED);
		__atomic_store_n(&loc->fds[k], mine, __ATOMIC_RELEASE);
	}
	spin_unlock(&loc->lock);
	if (rc != 0)
		close(mine);
	else if (old >= 0)
		close(old);
	return rc > 0 ? 0 : rc;
}

/* xsk_map_delete_elem(): an empty entry is no error. */
static int xskmap_sys_delete(bpfvm_map *m, const void *key, bpfvm_error *err)
{
	(void)err;
	uint32_t k = key_of(key);
	if (k >= m->max_entries)
		return -EINVAL;
	struct xsk_local *loc = local_of(m);
	spin_lock(&loc->lock);
	int old = loc->fds[k];
	__atomic_store_n(&loc->fds[k], -1, __ATOMIC_RELEASE);
	spin_unlock(&loc->lock);
	if (old >= 0)
		close(old);
	return 0;
}

static void *xskmap_lookup(bpfvm_map *m, const void *key)
{
	uint32_t k = key_of(key);
	if (k >= m->max_entries || __atomic_load_n(&local_of(m)->fds[k], __ATOMIC_ACQUIRE) < 0)
		return NULL;
	return queue_id_of(m, k);
}

bool map_xskmap_entry(bpfvm_map *m, uint32_t key, int *sock_fd, uint32_t *queue_id)
{
	if (key >= m->max_entries)
		return false;
	*sock_fd = __atomic_load_n(&local_of(m)->fds[key], __ATOMIC_ACQUIRE);
	*queue_id = __atomic_load_n(queue_id_of(m, key), __ATOMIC_RELAXED);
	return *sock_fd >= 0;
}

int map_xskmap_set_queue_id(bpfvm_map *m, uint32_t key, uint32_t queue_id)
{
	if (!m || m->type != BPFVM_MAP_TYPE_XSKMAP || key >= m->max_entries)
		return -EINVAL;
	struct xsk_local *loc = local_of(m);
	spin_lock(&loc->lock);
	bool present = loc->fds[key] >= 0;
	if (present)
		__atomic_store_n(queue_id_of(m, key), queue_id, __ATOMIC_RELAXED);
	spin_unlock(&loc->lock);
	return present ? 0 : -ENOENT;
}

/* Only the queue ids are the program's, 4 bytes of every 8. */
static void xskmap_checked_region(const bpfvm_map *m, struct map_region_desc *out)
{
	(void)m;
	*out = (struct map_region_desc){ .stride = 8, .value_off = 0, .value_len = 4, .lock_off = -1 };
}

const struct map_ops map_xskmap_ops = {
	.check = xskmap_check,
	.layout = xskmap_layout,
	.attach = xskmap_attach,
	.destroy = xskmap_destroy,
	.pinnable = false,
	.only_helpers = MAP_HELPER_BIT(MAP_HELPER_LOOKUP) | MAP_HELPER_BIT(MAP_HELPER_REDIRECT),
	.sys_lookup = xskmap_sys_lookup,
	.sys_update = xskmap_sys_update,
	.sys_delete = xskmap_sys_delete,
	.sys_get_next_key = array_get_next_key,
	.lookup = xskmap_lookup,
	.checked_region = xskmap_checked_region,
};
