/*
 * share.c - handing a map to another process over a Unix socket.
 *
 * Owns: bpfvm_map_send and bpfvm_map_receive, the message between them (a
 * small record of the map's definition with the arena's descriptor as
 * SCM_RIGHTS), and checking what arrives.  This is how a process of
 * another user gets a map without being able to open its pin: the owner
 * decides to whom it gives the descriptor, and the receiver maps the arena
 * exactly as opening a pin does (arena_open_fd), header checks included.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "maps/map_internal.h"

#define SHARE_MAGIC 0x4552414853564642ULL   /* "BFVSHARE" little-endian */

/* What travels with the descriptor: enough to tell a bpfvm map message
 * from anything else on the socket and to check the arena is the map the
 * sender meant. */
struct share_msg {
	uint64_t magic;
	uint32_t arena_version;
	uint32_t type, key_size, value_size, max_entries, map_flags;
	char name[16];
};

int bpfvm_map_send(int unix_sock, const bpfvm_map *map, bpfvm_error *err)
{
	if (!map || map->fd < 0)
		return map_error(err, -EINVAL, "map_send: no map");
	if (!map->ops->pinnable)
		return map_error(err, -EOPNOTSUPP, "%s map '%s' holds process-local references and cannot be shared",
		                 map_type_label(map->type), map->name);
	struct share_msg msg = {
		.magic = SHARE_MAGIC, .arena_version = ARENA_VERSION, .type = map->type, .key_size = map->key_size,
		.value_size = map->value_size, .max_entries = map->max_entries, .map_flags = map->map_flags,
	};
	memcpy(msg.name, map->name, sizeof msg.name);
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} control = { 0 };
	struct iovec iov = { &msg, sizeof msg };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
	                     .msg_controllen = sizeof control.buf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &map->fd, sizeof(int));
	ssize_t n = sendmsg(unix_sock, &mh, MSG_NOSIGNAL);
	if (n < 0)
		return map_error(err, -errno, "cannot send map '%s': %s", map->name, strerror(errno));
	if ((size_t)n != sizeof msg)
		return map_error(err, -EIO, "cannot send map '%s': the socket took %zd of %zu bytes", map->name, n,
		                 sizeof msg);
	return 0;
}

/* The one descriptor of a received message; any other is closed. */
static int take_descriptor(struct msghdr *mh)
{
	int fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
			if (fd < 0)
				fd = got;
			else
				close(got);
		}
	}
	return fd;
}

/* The message's definition must be the one the arena's header gives. */
static bool same_definition(const struct share_msg *msg, const bpfvm_map *map)
{
	return msg->type == map->type && msg->key_size == map->key_size && msg->value_size == map->value_size &&
	       msg->max_entries == map->max_entries && msg->map_flags == map->map_flags;
}

int bpfvm_map_receive(int unix_sock, bpfvm_map **out, bpfvm_error *err)
{
	if (!out)
		return map_error(err, -EINVAL, "map_receive: no place for the result");
	*out = NULL;
	struct share_msg msg;
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} control;
	struct iovec iov = { &msg, sizeof msg };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
	                     .msg_controllen = sizeof control.buf };
	ssize_t n = recvmsg(unix_sock, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return map_error(err, -errno, "cannot receive a map: %s", strerror(errno));
	int fd = take_descriptor(&mh);
	const char *bad = n == 0 ? "the socket was closed" : (size_t)n != sizeof msg || (mh.msg_flags & MSG_TRUNC) ?
	                  "the message has the wrong size" : msg.magic != SHARE_MAGIC ? "the message is not a bpfvm map's" :
	                  msg.arena_version != ARENA_VERSION ? "the sender's bpfvm has another map format version" :
	                  (mh.msg_flags & MSG_CTRUNC) || fd < 0 ? "no descriptor came with it" : NULL;
	if (bad) {
		if (fd >= 0)
			close(fd);
		return map_error(err, n == 0 ? -ENOTCONN : -EPROTO, "cannot receive a map: %s", bad);
	}
	int rc = map_open_fd(fd, "the map received over the socket", out, err);
	if (rc)
		return rc;
	if (!same_definition(&msg, *out)) {
		bpfvm_map_put(*out);
		*out = NULL;
		return map_error(err, -EPROTO, "cannot receive a map: the arena sent is not the map the message describes");
	}
	return 0;
}
