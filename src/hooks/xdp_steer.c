/*
 * xdp_steer.c - the kernel side of the live XDP host: a minimal XDP
 * program of bpfvm's own that steers every frame of an interface into the
 * AF_XDP socket of its receive queue, and who owns an interface.
 *
 * Owns: the steering program (five instructions: bpf_redirect_map into an
 * xskmap by rx_queue_index, XDP_DROP where a queue has no socket: no frame
 * passes without the user's program), its
 * attachment, the ownership lock, and the removal of orphans.
 *
 * Why our own program and not libxdp's: libxdp's multi-program dispatcher
 * does not load on this system, and its default program would be libxdp's
 * to recognise.  Ours is named BPFVM_XDP_STEER_NAME, so that the next
 * attach (or `bpfvm xdp detach`) recognises one that a crashed host left
 * attached and removes it, and never mistakes another's program for ours.
 * It is attached through netlink (bpf_xdp_attach), not a bpf_link: a link
 * would vanish with a crashed process, but the `ip link` and libxdp tools
 * operators use see and manage netlink attachments only.
 *
 * Ownership.  A live host holds an flock on
 * /run/bpfvm/xdp/NETNS-IFINDEX.lock (the network namespace's inode and the
 * interface's index: names repeat across namespaces) with its pid in it.
 * A steering program on an interface whose lock nobody holds is an orphan.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "base/error.h"
#include "hooks/xdp_internal.h"

#define LOCK_DIR "/run/bpfvm/xdp"
#define REMOVE_WAIT_MS 5000

/* ---- ownership ------------------------------------------------------------ */

static int lock_path(int ifindex, char *path, size_t size)
{
	struct stat st;
	if (stat("/proc/self/ns/net", &st))
		st.st_ino = 0;
	mkdir("/run/bpfvm", 0755);
	mkdir(LOCK_DIR, 0755);
	return snprintf(path, size, LOCK_DIR "/%lu-%d.lock", (unsigned long)st.st_ino, ifindex) >= (int)size;
}

static int lock_holder_pid(int fd)
{
	char text[32] = { 0 };
	ssize_t n = pread(fd, text, sizeof text - 1, 0);
	return n > 0 ? atoi(text) : 0;
}

/* The lock taken (fd in *fd_out, our pid written), or -EBUSY with the
 * holder's pid in *holder. */
static int take_lock(int ifindex, int *fd_out, int *holder, bpfvm_error *err)
{
	char path[128];
	if (lock_path(ifindex, path, sizeof path))
		return error_set(err, -ENAMETOOLONG, -1, "xdp: lock path too long");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return error_set(err, -errno, -1, "xdp: %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		*holder = lock_holder_pid(fd);
		close(fd);
		return -EBUSY;
	}
	char text[32];
	int len = snprintf(text, sizeof text, "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, text, (size_t)len, 0) != len) {
		close(fd);
		return error_set(err, -EIO, -1, "xdp: writing %s failed", path);
	}
	*fd_out = fd;
	return 0;
}

/* ---- what is attached ------------------------------------------------------ */

struct attached {
	uint32_t id;
	uint32_t flags;           /* the mode flags that detach it */
	char name[BPF_OBJ_NAME_LEN];
};

static int query_attached(int ifindex, struct attached *a, bpfvm_error *err)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	memset(a, 0, sizeof *a);
	int rc = bpf_xdp_query(ifindex, 0, &q);
	if (rc)
		return error_set(err, rc, -1, "xdp: querying interface %d's XDP program: %s", ifindex, strerror(-rc));
	a->id = q.prog_id ? q.prog_id : q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id;
	if (!a->id)
		return 0;
	a->flags = q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE :
	           q.attach_mode == XDP_ATTACHED_HW ? XDP_FLAGS_HW_MODE : XDP_FLAGS_DRV_MODE;
	int fd = bpf_prog_get_fd_by_id(a->id);
	if (fd < 0) {
		snprintf(a->name, sizeof a->name, "?");
		return 0;
	}
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof info;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		memcpy(a->name, info.name, sizeof a->name);
	close(fd);
	return 0;
}

/* Detaches program a->id, only if it is still the one attached. */
static int detach_id(int ifindex, const struct attached *a)
{
	int fd = bpf_prog_get_fd_by_id(a->id);
	if (fd < 0)
		return -errno;
	LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = fd);
	int rc = bpf_xdp_detach(ifindex, a->flags, &o);
	close(fd);
	return rc;
}

static int refuse_foreign(const char *ifname, const struct attached *a, bpfvm_error *err)
{
	return error_set(err, -EPERM, -1, "xdp: %s already has XDP program '%s' (id %u), which bpfvm did not "
	                 "install: remove it first (ip link set dev %s xdp off)", ifname, a->name, a->id, ifname);
}

/* An orphan (ours, its host gone) removed; a foreign program refused. */
static int clear_orphan(const char *ifname, int ifindex, bool *removed, bpfvm_error *err)
{
	struct attached a;
	*removed = false;
	int rc = query_attached(ifindex, &a, err);
	if (rc || !a.id)
		return rc;
	if (strcmp(a.name, BPFVM_XDP_STEER_NAME))
		return refuse_foreign(ifname, &a, err);
	rc = detach_id(ifindex, &a);
	if (rc)
		return error_set(err, rc, -1, "xdp: removing the orphaned %s (id %u) from %s: %s", a.name, a.id, ifname,
		                 strerror(-rc));
	*removed = true;
	return 0;
}

int xdp_steer_prepare(const char *ifname, int ifindex, uint32_t queues, struct xdp_steer *s, bpfvm_error *err)
{
	*s = (struct xdp_steer){ .ifindex = ifindex, .lock_fd = -1, .map_fd = -1, .prog_fd = -1 };
	int holder = 0;
	int rc = take_lock(ifindex, &s->lock_fd, &holder, err);
	if (rc == -EBUSY)
		return error_set(err, -EBUSY, -1, "xdp: %s is served by bpfvm process %d (bpfvm xdp detach %s)", ifname,
		                 holder, ifname);
	bool removed;
	if (!rc)
		rc = clear_orphan(ifname, ifindex, &removed, err);
	if (!rc && removed)
		fprintf(stderr, "bpfvm: xdp: removed the steering program a previous bpfvm left on %s\n", ifname);
	if (!rc) {
		s->map_fd = bpf_map_create(BPF_MAP_TYPE_XSKMAP, "bpfvm_xsks", 4, 4, queues, NULL);
		if (s->map_fd < 0)
			rc = error_set(err, -errno, -1, "xdp: creating the xskmap: %s", strerror(errno));
	}
	if (rc)
		xdp_steer_release(s);
	return rc;
}

/* ---- the steering program ------------------------------------------------ */

static int load_program(int map_fd, bpfvm_error *err)
{
	struct bpf_insn insns[] = {
		/* r2 = ctx->rx_queue_index */
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = 2, .src_reg = 1,
		  .off = offsetof(struct xdp_md, rx_queue_index) },
		/* r1 = the xskmap */
		{ .code = BPF_LD | BPF_IMM | BPF_DW, .dst_reg = 1, .src_reg = BPF_PSEUDO_MAP_FD, .imm = map_fd },
		{ 0 },
		/* r3 = XDP_DROP: the verdict where the queue has no socket */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 3, .imm = XDP_DROP },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_redirect_map },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	char log[512] = "";
	LIBBPF_OPTS(bpf_prog_load_opts, o, .log_buf = log, .log_size = sizeof log, .log_level = 0);
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, BPFVM_XDP_STEER_NAME, "GPL", insns, sizeof insns / sizeof insns[0],
	                       &o);
	if (fd < 0)
		return error_set(err, -errno, -1, "xdp: the kernel refused the steering program: %s%s%s", strerror(errno),
		                 log[0] ? ": " : "", log);
	return fd;
}

int xdp_steer_attach(const char *ifname, struct xdp_steer *s, bool skb_mode, bpfvm_error *err)
{
	s->prog_fd = load_program(s->map_fd, err);
	if (s->prog_fd < 0)
		return s->prog_fd;
	/* never replaces a program attached meanwhile */
	uint32_t keep = XDP_FLAGS_UPDATE_IF_NOEXIST;
	int rc = -EOPNOTSUPP;
	if (!skb_mode) {
		rc = bpf_xdp_attach(s->ifindex, s->prog_fd, keep | XDP_FLAGS_DRV_MODE, NULL);
		s->attach_flags = XDP_FLAGS_DRV_MODE;
	}
	if (rc && rc != -EBUSY && rc != -EEXIST) {
		rc = bpf_xdp_attach(s->ifindex, s->prog_fd, keep | XDP_FLAGS_SKB_MODE, NULL);
		s->attach_flags = XDP_FLAGS_SKB_MODE;
	}
	if (rc) {
		s->attach_flags = 0;
		struct attached a;
		if ((rc == -EBUSY || rc == -EEXIST) && !query_attached(s->ifindex, &a, NULL) && a.id)
			return refuse_foreign(ifname, &a, err);
		return error_set(err, rc, -1, "xdp: attaching the steering program to %s: %s", ifname, strerror(-rc));
	}
	return 0;
}

void xdp_steer_release(struct xdp_steer *s)
{
	if (s->attach_flags) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = s->prog_fd);
		bpf_xdp_detach(s->ifindex, s->attach_flags, &o);
		s->attach_flags = 0;
	}
	if (s->prog_fd >= 0)
		close(s->prog_fd);
	if (s->map_fd >= 0)
		close(s->map_fd);
	if (s->lock_fd >= 0)
		close(s->lock_fd);   /* drops the flock; the file stays, reused by the next host */
	s->prog_fd = s->map_fd = s->lock_fd = -1;
}

/* ---- removal from another process ------------------------------------------ */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Asks the live host to stop and waits for its lock to drop. */
static int stop_live_host(const char *ifname, int ifindex, int holder, bpfvm_error *err)
{
	if (holder <= 0 || kill(holder, SIGTERM))
		return error_set(err, -ESRCH, -1, "xdp: %s is locked by a bpfvm process (pid %d) that cannot be signalled",
		                 ifname, holder);
	for (long waited = 0; waited < REMOVE_WAIT_MS; waited += 20) {
		int fd = -1, again = 0;
		if (take_lock(ifindex, &fd, &again, NULL) == 0) {
			close(fd);
			return 0;
		}
		sleep_ms(20);
	}
	return error_set(err, -ETIMEDOUT, -1, "xdp: bpfvm process %d serving %s did not stop within %d s", holder,
	                 ifname, REMOVE_WAIT_MS / 1000);
}

int bpfvm_xdp_remove(const char *ifname, int *pid, bpfvm_error *err)
{
	int ifindex = ifname ? (int)if_nametoindex(ifname) : 0;
	if (pid)
		*pid = 0;
	if (!ifindex)
		return error_set(err, -ENODEV, -1, "xdp: no interface '%s'", ifname ? ifname : "(null)");
	int fd = -1, holder = 0;
	int rc = take_lock(ifindex, &fd, &holder, err);
	if (rc == -EBUSY) {
		if (pid)
			*pid = holder;
		return stop_live_host(ifname, ifindex, holder, err);
	}
	if (rc)
		return rc;
	bool removed = false;
	rc = clear_orphan(ifname, ifindex, &removed, err);
	close(fd);
	if (!rc && !removed)
		return error_set(err, -ENOENT, -1, "xdp: bpfvm has nothing attached to %s", ifname);
	return rc;
}
