/*
 * xdp_host.c - the user-space side of the live XDP host (<bpfvm/xdp.h>):
 * per receive queue, a UMEM, an AF_XDP socket (libxdp's xsk.h: socket and
 * UMEM setup only, the program load inhibited: xdp_steer.c's program
 * steers) and a worker thread that runs each frame through the XDP hook
 * and carries out its verdict.
 *
 * Owns: struct bpfvm_xdp_host, the UMEM frames' life cycle (free list ->
 * fill ring -> rx -> fill ring again, or -> tx ring -> completion ring ->
 * free list), verdicts, the TAP device, the counters, the process's
 * registry of hosts (by ifindex) and each queue's inbox.
 * And the workers' wake-ups: receive coalescing ("waking up" below).
 *
 * Frames.  A UMEM is mapped below 4 GiB (MAP_32BIT), so a frame as the
 * kernel wrote it is the program's packet in place: xdp_md's packet
 * fields are u32 addresses (progtypes.h), and nothing is copied to run.
 * The kernel puts a packet 256 bytes (XDP_PACKET_HEADROOM) into its
 * 4096-byte frame, as it does for XDP in the kernel, so
 * bpf_xdp_adjust_head/meta/tail have the kernel's room.
 *
 * XDP_PASS.  The host's stack cannot take a frame back from an AF_XDP
 * socket, so PASS writes it to a TAP device that stands in for the
 * interface: same MAC and MTU, up.  The host then sees the interface's
 * traffic that programs pass arriving on the TAP (tcpdump -i on the TAP
 * shows it; the interface's own counters show every frame received), and
 * the stack's answers are sent on the TAP; the queue-0 worker reads them
 * and sends them out of the interface through its socket's TX ring.  For
 * the stack to answer, the addresses the host answers on belong on the
 * TAP: move them from the interface (`ip addr del` there, `ip addr add`
 * on the TAP).  bpfvm does not move them itself, so that a crash never
 * leaves them stranded on a TAP that is gone.  The TAP is not persistent:
 * it vanishes with the process, however it ends.  Checksums: an AF_XDP
 * socket gets a frame's bytes and nothing of what the kernel knew of its
 * checksum; a real NIC's frames are complete, but a veth whose peer
 * offloads TX checksums sends TCP and UDP with the checksum unfinished
 * (CHECKSUM_PARTIAL), which the stack then refuses from the TAP: turn the
 * peer's offload off (ethtool -K PEER tx off), as tests/xdp does.
 *
 * XDP_REDIRECT follows the run's redirect record (run/redirect.h).  To a
 * device (bpf_redirect, a devmap entry): a device another host of this
 * process serves gets the frame in its queue's inbox, and its worker
 * copies it into a frame of its own UMEM and sends it out through its TX
 * ring (UMEMs are per queue: a frame cannot change hands without a copy);
 * back out of the receiving device goes straight to its TX ring, as
 * XDP_TX; any other device is sent to through an AF_PACKET socket, as the
 * kernel would transmit on it.  A devmap broadcast sends a copy out of each
 * of the map's devices in that way (the kernel's rules: map_devmap_targets
 * and redirect_broadcast).  To an xskmap entry: the host's
 * xsk_consumer, if it registered one.  To a cpumap entry: the inbox of
 * the worker of queue (cpu % queues), which hands the frame to the stack
 * (XDP_PASS there, as the kernel's cpumap builds an skb on that CPU).
 * An inbox is a bounded array under a mutex that only redirects touch;
 * its owner is woken through an eventfd.
 *
 * Devices as redirects find them (the kernel's xdp_ok_fwd_dev and
 * dev_map_notification): a frame longer than the target's MTU and
 * Ethernet header is not sent (a unicast redirect is then an error; a
 * broadcast skips that copy).  MTUs are cached by ifindex; each host
 * listens for link changes (RTM_NEWLINK, RTM_DELLINK on a NETLINK_ROUTE
 * socket in queue 0's poll set), which keep the cache current and, when a
 * device is deleted, empty every devmap entry naming it
 * (map_devmap_forget_device), so that a later bpf_redirect_map on that
 * key gives the flags' fallback, as in the kernel.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/if_xdp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/if_packet.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <xdp/xsk.h>

#include "base/error.h"
#include "base/opts.h"
#include "hooks/xdp_internal.h"
#include "maps/xdp_maps.h"
#include "run/redirect.h"

#define FRAME_SIZE 4096u
#define FRAME_COUNT 4096u
#define RING_SIZE 2048u
#define BATCH 64u
/* The kernel's: the packet's start in a frame, and the room it keeps after
 * the packet (struct skb_shared_info) that bpf_xdp_adjust_tail respects. */
#define PACKET_HEADROOM 256u
#define PACKET_TAILROOM 320u
#define ETH_HLEN_ 14u
#define MAX_QUEUES 64u
#define INBOX_SLOTS 256u
#define MAX_HOSTS 32u
#define MAX_UPPERS 8u   /* the kernel's MAX_NEST_DEV */
/* Coalescing: the default sleep, its ceiling (the RX ring holds 2048
 * frames), and the timer slack the worker asks for, so that the sleep is
 * the latency bound it claims (a thread's default slack is 50 us). */
#define COALESCE_DEFAULT_US 100u
#define COALESCE_MAX_US 1000u
#define WORKER_TIMER_SLACK_NS 1000ul
/* A worker's poll set: its socket, its inbox, the TAP, link changes
 * (the last two queue 0's only). */
enum { POLL_SOCKET, POLL_INBOX, POLL_TAP, POLL_LINKS, POLL_FDS };
#define MTU_SLOTS 64u
#define MTU_UNKNOWN UINT32_MAX

/* One counter per field of bpfvm_xdp_stats that the worker counts. */
enum counter { C_RX, C_PASS, C_DROP, C_TX, C_REDIRECT, C_ABORTED, C_RUN_ERRORS, C_STACK_TX, C_TX_RING_FULL,
               C_NO_FRAME, C_TAP_ERRORS, C_REDIRECT_ERRORS, C_INBOX_FULL, C_COUNT };

/* What an inbox's owner does with a frame. */
enum inbox_action { INBOX_TX, INBOX_PASS };

/* Frames other threads hand a queue's worker (redirects). */
struct xdp_inbox {
	pthread_mutex_t lock;
	_Atomic uint32_t count;
	int wake_fd;                  /* eventfd: in the worker's poll set */
	struct {
		uint32_t len;
		uint8_t action;
		uint8_t data[FRAME_SIZE - PACKET_HEADROOM];
	} slot[INBOX_SLOTS];
};

struct xdp_queue {
	struct bpfvm_xdp_host *host;
	uint32_t index;
	uint8_t *area;                /* the UMEM: FRAME_COUNT frames, below 4 GiB */
	struct xsk_umem *umem;
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	struct xsk_socket *xsk;
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	uint64_t free_frames[FRAME_COUNT];   /* offsets of frames owned by nobody */
	uint32_t free_count;
	uint32_t tx_pending;          /* descriptors produced since the last kick */
	uint64_t coalesce_ns;         /* 0: a wake-up for every frame the socket signals */
	pthread_t thread;
	bool thread_started;
	_Atomic uint64_t counters[C_COUNT];
	struct xdp_inbox *inbox;
};

struct bpfvm_xdp_host {
	char ifname[IF_NAMESIZE];
	char tap_name[IF_NAMESIZE];
	int ifindex;
	uint32_t upper_ifindex[MAX_UPPERS];   /* bridges, bonds the interface is part of */
	uint32_t upper_count;
	int tap_fd;
	int link_fd;                  /* NETLINK_ROUTE, RTMGRP_LINK: link changes */
	bpfvm_hook *hook;
	uint32_t queue_count;
	uint64_t coalesce_ns;         /* each queue's (struct xdp_queue) */
	struct xdp_steer steer;
	atomic_bool stop;
	bpfvm_xdp_xsk_consumer_fn xsk_consumer;
	void *xsk_user;
	struct xdp_queue *queues[MAX_QUEUES];
};

/* The hosts of this process, for redirects between them: workers read it
 * under the read lock, attach and detach change it under the write lock. */
static pthread_rwlock_t hosts_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct bpfvm_xdp_host *hosts[MAX_HOSTS];
/* Sends to devices no host serves (created on first use). */
static pthread_once_t raw_once = PTHREAD_ONCE_INIT;
static int raw_fd = -1;
/* The MTUs of the devices redirects reach: ifindex << 32 | mtu, in the
 * slot of ifindex % MTU_SLOTS (another device there evicts it); 0: empty. */
static _Atomic uint64_t mtu_cache[MTU_SLOTS];

uint32_t bpfvm_xdp_max_mtu(void)
{
	return FRAME_SIZE - PACKET_HEADROOM - PACKET_TAILROOM - ETH_HLEN_;
}

static inline void count(struct xdp_queue *q, enum counter c)
{
	atomic_fetch_add_explicit(&q->counters[c], 1, memory_order_relaxed);
}

/* ---- frames ------------------------------------------------------------- */

static inline void frame_free(struct xdp_queue *q, uint64_t addr)
{
	q->free_frames[q->free_count++] = addr & ~(uint64_t)(FRAME_SIZE - 1);
}

/* Gives the kernel every free frame the fill ring has room for. */
static void refill(struct xdp_queue *q)
{
	uint32_t idx, n = xsk_prod_nb_free(&q->fill, q->free_count);
	if (n > q->free_count)
		n = q->free_count;
	if (!n || xsk_ring_prod__reserve(&q->fill, n, &idx) != n)
		return;
	for (uint32_t i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&q->fill, idx + i) = q->free_frames[--q->free_count];
	xsk_ring_prod__submit(&q->fill, n);
}

/* Frames the kernel has sent come back free. */
static void complete_tx(struct xdp_queue *q)
{
	uint32_t idx, n = xsk_ring_cons__peek(&q->comp, RING_SIZE, &idx);
	for (uint32_t i = 0; i < n; i++)
		frame_free(q, *xsk_ring_cons__comp_addr(&q->comp, idx + i));
	if (n)
		xsk_ring_cons__release(&q->comp, n);
}

/* Queues the packet at UMEM offset addr for sending out of the
 * interface; on a full ring the frame is dropped (and counted). */
static void tx_frame(struct xdp_queue *q, uint64_t addr, uint32_t len)
{
	uint32_t idx;
	if (xsk_ring_prod__reserve(&q->tx, 1, &idx) != 1) {
		count(q, C_TX_RING_FULL);
		frame_free(q, addr);
		return;
	}
	struct xdp_desc *d = xsk_ring_prod__tx_desc(&q->tx, idx);
	d->addr = addr;
	d->len = len;
	d->options = 0;
	xsk_ring_prod__submit(&q->tx, 1);
	q->tx_pending++;
}

/* Copy mode sends only when asked to, at most 32 frames a call (the
 * socket's TX budget): EAGAIN says more wait (or that the completion
 * ring is full, reaped in between).  A coalesced wake-up may have queued
 * many more than 32. */
static void kick_tx(struct xdp_queue *q)
{
	if (!q->tx_pending)
		return;
	q->tx_pending = 0;
	for (uint32_t kick = 0; kick < RING_SIZE / 32; kick++) {
		if (sendto(xsk_socket__fd(q->xsk), NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0 || errno != EAGAIN)
			return;
		complete_tx(q);
	}
	q->tx_pending = 1;   /* still waiting: the next wake-up kicks again */
}

/* ---- verdicts ------------------------------------------------------------- */

static void pass_to_stack(struct xdp_queue *q, const uint8_t *data, uint32_t len)
{
	if (write(q->host->tap_fd, data, len) != (ssize_t)len)
		count(q, C_TAP_ERRORS);
}

/* ---- devices redirects reach ------------------------------------------------ */

static void mtu_remember(uint32_t ifindex, uint32_t mtu)
{
	atomic_store_explicit(&mtu_cache[ifindex % MTU_SLOTS], (uint64_t)ifindex << 32 | mtu, memory_order_relaxed);
}

static void mtu_forget(uint32_t ifindex)
{
	_Atomic uint64_t *slot = &mtu_cache[ifindex % MTU_SLOTS];
	uint64_t cached = atomic_load_explicit(slot, memory_order_relaxed);
	if (cached >> 32 == ifindex)
		atomic_compare_exchange_strong(slot, &cached, 0);
}

/* The device's MTU, read once (SIOCGIFMTU) then cached; MTU_UNKNOWN for
 * a device that does not exist (its send fails anyway). */
static uint32_t device_mtu(uint32_t ifindex)
{
	uint64_t cached = atomic_load_explicit(&mtu_cache[ifindex % MTU_SLOTS], memory_order_relaxed);
	if (cached && cached >> 32 == ifindex)
		return (uint32_t)cached;
	struct ifreq r = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool known = s >= 0 && if_indextoname(ifindex, r.ifr_name) && ioctl(s, SIOCGIFMTU, &r) == 0 && r.ifr_mtu >= 0;
	if (s >= 0)
		close(s);
	if (!known)
		return MTU_UNKNOWN;
	mtu_remember(ifindex, (uint32_t)r.ifr_mtu);
	return (uint32_t)r.ifr_mtu;
}

/* xdp_ok_fwd_dev(): a frame longer than the device's MTU and Ethernet
 * header does not go out of it (-EMSGSIZE). */
static bool fits_device(uint32_t ifindex, uint32_t len)
{
	return (uint64_t)len <= (uint64_t)device_mtu(ifindex) + ETH_HLEN_;
}

/* One link message: a new MTU remembered; a deleted device forgotten,
 * here and in every devmap of the process (dev_map_notification). */
static void link_event(struct nlmsghdr *m)
{
	if ((m->nlmsg_type != RTM_NEWLINK && m->nlmsg_type != RTM_DELLINK) ||
	    m->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
		return;
	struct ifinfomsg *info = NLMSG_DATA(m);
	uint32_t ifindex = (uint32_t)info->ifi_index;
	if (m->nlmsg_type == RTM_DELLINK) {
		mtu_forget(ifindex);
		map_devmap_forget_device(ifindex);
		return;
	}
	int len = (int)IFLA_PAYLOAD(m);
	for (struct rtattr *a = IFLA_RTA(info); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == IFLA_MTU && RTA_PAYLOAD(a) >= sizeof(uint32_t))
			mtu_remember(ifindex, *(uint32_t *)RTA_DATA(a));
}

/* Every link message waiting (one lost to a full socket buffer, ENOBUFS,
 * leaves its device's entries as they were). */
static void link_events(struct bpfvm_xdp_host *h)
{
	_Alignas(struct nlmsghdr) char buf[8192];
	for (;;) {
		ssize_t got = recv(h->link_fd, buf, sizeof buf, MSG_DONTWAIT);
		if (got < 0 && errno == ENOBUFS)
			continue;
		if (got <= 0)
			return;
		/* NLMSG_OK/NEXT by hand: their int length clashes with the
		 * header's u32 under clang's -Wsign-compare, and a size_t one
		 * would wrap past an unaligned last message */
		size_t end = (size_t)got;
		for (size_t off = 0; off + sizeof(struct nlmsghdr) <= end;) {
			struct nlmsghdr *m = (struct nlmsghdr *)(void *)(buf + off);
			if (m->nlmsg_len < sizeof *m || m->nlmsg_len > end - off)
				break;
			link_event(m);
			off += NLMSG_ALIGN(m->nlmsg_len);
		}
	}
}

/* ---- redirects ------------------------------------------------------------ */

/* A copy of a packet out of q's device, in a free frame of q's UMEM. */
static bool tx_copy(struct xdp_queue *q, const uint8_t *data, uint32_t len)
{
	if (!q->free_count) {
		count(q, C_NO_FRAME);
		return false;
	}
	uint64_t base = q->free_frames[--q->free_count];
	memcpy(q->area + base + PACKET_HEADROOM, data, len);
	tx_frame(q, base + PACKET_HEADROOM, len);
	return true;
}

/* Hands a copy of the frame to q's worker; false if its inbox is full. */
static bool inbox_put(struct xdp_queue *q, enum inbox_action action, const uint8_t *data, uint32_t len)
{
	struct xdp_inbox *in = q->inbox;
	pthread_mutex_lock(&in->lock);
	uint32_t n = atomic_load_explicit(&in->count, memory_order_relaxed);
	bool room = n < INBOX_SLOTS && len <= sizeof in->slot[0].data;
	if (room) {
		in->slot[n].len = len;
		in->slot[n].action = (uint8_t)action;
		memcpy(in->slot[n].data, data, len);
		atomic_store_explicit(&in->count, n + 1, memory_order_release);
	}
	pthread_mutex_unlock(&in->lock);
	if (room && n == 0) {
		uint64_t one = 1;
		if (write(in->wake_fd, &one, sizeof one) < 0)
			count(q, C_INBOX_FULL);   /* cannot happen short of 2^64 wake-ups */
	}
	return room;
}

/* The frames other threads handed this worker: sent, or to the stack. */
static void inbox_drain(struct xdp_queue *q)
{
	struct xdp_inbox *in = q->inbox;
	uint64_t wakes;
	if (read(in->wake_fd, &wakes, sizeof wakes) < 0 && !atomic_load_explicit(&in->count, memory_order_acquire))
		return;
	pthread_mutex_lock(&in->lock);
	uint32_t n = atomic_load_explicit(&in->count, memory_order_relaxed);
	for (uint32_t i = 0; i < n; i++) {
		if (in->slot[i].action == INBOX_PASS) {
			pass_to_stack(q, in->slot[i].data, in->slot[i].len);
			continue;
		}
		tx_copy(q, in->slot[i].data, in->slot[i].len);
	}
	atomic_store_explicit(&in->count, 0, memory_order_relaxed);
	pthread_mutex_unlock(&in->lock);
}

static void raw_socket_open(void)
{
	raw_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
}

/* Out of a device no host of this process serves, as the kernel would send. */
static bool send_raw(uint32_t ifindex, const uint8_t *data, uint32_t len)
{
	pthread_once(&raw_once, raw_socket_open);
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = (int)ifindex, .sll_halen = 6 };
	memcpy(to.sll_addr, data, 6);
	return raw_fd >= 0 && sendto(raw_fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to) == (ssize_t)len;
}

/* A copy out of a device other than q's: through the inbox of the host of
 * this process that serves it, else an AF_PACKET send (which fails on a
 * device that is down or gone).  true: sent or queued. */
static bool send_to_other_device(struct xdp_queue *q, uint32_t ifindex, const uint8_t *data, uint32_t len)
{
	pthread_rwlock_rdlock(&hosts_lock);
	struct bpfvm_xdp_host *target = NULL;
	for (uint32_t i = 0; i < MAX_HOSTS && !target; i++)
		if (hosts[i] && hosts[i]->ifindex == (int)ifindex)
			target = hosts[i];
	bool ok = false;
	if (target) {
		ok = inbox_put(target->queues[q->index % target->queue_count], INBOX_TX, data, len);
		if (!ok)
			count(q, C_INBOX_FULL);
	}
	pthread_rwlock_unlock(&hosts_lock);
	return target ? ok : send_raw(ifindex, data, len);
}

/* Out of device ifindex.  true: the frame was taken (it is on a TX ring). */
static bool redirect_to_device(struct xdp_queue *q, uint32_t ifindex, uint8_t *data, uint32_t len, bool *ok)
{
	if (ifindex == (uint32_t)q->host->ifindex) {
		tx_frame(q, (uint64_t)(data - q->area), len);
		*ok = true;
		return true;
	}
	*ok = send_to_other_device(q, ifindex, data, len);
	return false;
}

/* What BPF_F_EXCLUDE_INGRESS leaves out: the receiving device and the
 * devices above it (a bridge or bond it is part of), as the kernel's
 * get_upper_ifindexes() finds them. */
static bool is_ingress(const struct bpfvm_xdp_host *h, uint32_t ifindex)
{
	if (ifindex == (uint32_t)h->ifindex)
		return true;
	for (uint32_t i = 0; i < h->upper_count; i++)
		if (ifindex == h->upper_ifindex[i])
			return true;
	return false;
}

/* dev_map_enqueue_multi(): a copy out of every device of the devmap in
 * its order, the ingress ones left out under BPF_F_EXCLUDE_INGRESS.  As in
 * the kernel, a device that cannot take its copy (down, gone) is skipped
 * and the redirect is done whatever the copies meet, an empty map
 * included; the received frame itself goes back to the free list. */
static bool redirect_broadcast(struct xdp_queue *q, const struct run_redirect *r, const uint8_t *data, uint32_t len)
{
	uint32_t local[64], *targets = local;
	uint32_t n = map_devmap_targets(r->map, local, 64);
	if (n > 64) {
		targets = malloc((size_t)n * sizeof *targets);
		if (!targets)
			return false;
		uint32_t now = map_devmap_targets(r->map, targets, n);
		n = now < n ? now : n;
	}
	bool exclude = r->flags & BPF_F_EXCLUDE_INGRESS;
	for (uint32_t i = 0; i < n; i++) {
		if ((exclude && is_ingress(q->host, targets[i])) || !fits_device(targets[i], len))
			continue;
		if (targets[i] == (uint32_t)q->host->ifindex)
			tx_copy(q, data, len);
		else
			send_to_other_device(q, targets[i], data, len);
	}
	if (targets != local)
		free(targets);
	return true;
}

/* The run's redirect record carried out.  true: the frame was taken. */
static bool redirect(struct xdp_queue *q, uint8_t *data, uint32_t len)
{
	struct run_redirect r;
	bool ok = false, taken = false;
	run_redirect_take(&r);
	switch (r.kind) {
	case RUN_REDIRECT_IFINDEX:
	case RUN_REDIRECT_DEVMAP:
		if (fits_device(r.ifindex, len))
			taken = redirect_to_device(q, r.ifindex, data, len, &ok);
		break;
	case RUN_REDIRECT_DEVMAP_BROADCAST:
		ok = redirect_broadcast(q, &r, data, len);
		break;
	case RUN_REDIRECT_XSK:
		ok = q->host->xsk_consumer != NULL;
		if (ok)
			q->host->xsk_consumer(q->host->xsk_user, r.key, r.xsk_fd, r.queue_id, data, len);
		break;
	case RUN_REDIRECT_CPU:
		ok = inbox_put(q->host->queues[r.key % q->host->queue_count], INBOX_PASS, data, len);
		if (!ok)
			count(q, C_INBOX_FULL);
		break;
	default:   /* none: a failed redirect call */
		break;
	}
	count(q, ok ? C_REDIRECT : C_REDIRECT_ERRORS);
	return taken;
}

/* One received frame through the hook, and its verdict carried out. */
static void handle_frame(struct xdp_queue *q, uint64_t addr, uint32_t len)
{
	uint64_t base = addr & ~(uint64_t)(FRAME_SIZE - 1);
	uint8_t *frame = q->area + base, *data = q->area + addr;
	struct xdp_md md = { .data = (uint32_t)(uintptr_t)data, .data_end = (uint32_t)(uintptr_t)(data + len),
	                     .data_meta = (uint32_t)(uintptr_t)data, .ingress_ifindex = (uint32_t)q->host->ifindex,
	                     .rx_queue_index = q->index };
	uint64_t verdict = XDP_ABORTED;
	count(q, C_RX);
	if (bpfvm_hook_run_xdp(q->host->hook, &md, frame, FRAME_SIZE, &verdict, NULL)) {
		count(q, C_RUN_ERRORS);
		verdict = XDP_ABORTED;
	}
	if (verdict != XDP_REDIRECT && __builtin_expect(run_redirect_current()->kind != RUN_REDIRECT_NONE, 0))
		run_redirect_clear();   /* a redirect call whose verdict was not XDP_REDIRECT */
	uint8_t *start = (uint8_t *)(uintptr_t)md.data;
	uint32_t out_len = md.data_end - md.data;
	switch (verdict) {
	case XDP_DROP:
		count(q, C_DROP);
		break;
	case XDP_PASS:
		count(q, C_PASS);
		pass_to_stack(q, start, out_len);
		break;
	case XDP_TX:
		count(q, C_TX);
		tx_frame(q, (uint64_t)(start - q->area), out_len);
		return;
	case XDP_REDIRECT:
		if (redirect(q, start, out_len))
			return;
		break;
	default:
		count(q, C_ABORTED);
		break;
	}
	frame_free(q, base);
}

/* Every frame on the RX ring (a coalesced wake-up may find more than one
 * batch); how many. */
static uint32_t receive(struct xdp_queue *q)
{
	uint32_t total = 0, idx, n;
	do {
		n = xsk_ring_cons__peek(&q->rx, BATCH, &idx);
		for (uint32_t i = 0; i < n; i++) {
			const struct xdp_desc *d = xsk_ring_cons__rx_desc(&q->rx, idx + i);
			handle_frame(q, d->addr, d->len);
		}
		if (n)
			xsk_ring_cons__release(&q->rx, n);
		total += n;
	} while (n == BATCH && total < RING_SIZE);
	return total;
}

/* What the host's stack sent on the TAP goes out of the interface. */
static void stack_to_wire(struct xdp_queue *q)
{
	for (uint32_t i = 0; i < BATCH; i++) {
		if (!q->free_count) {
			char drain[FRAME_SIZE];
			if (read(q->host->tap_fd, drain, sizeof drain) <= 0)
				return;
			count(q, C_NO_FRAME);
			continue;
		}
		uint64_t base = q->free_frames[q->free_count - 1];
		ssize_t n = read(q->host->tap_fd, q->area + base + PACKET_HEADROOM, FRAME_SIZE - PACKET_HEADROOM);
		if (n <= 0)
			return;
		q->free_count--;
		count(q, C_STACK_TX);
		tx_frame(q, base + PACKET_HEADROOM, (uint32_t)n);
	}
}

/* ---- waking up ------------------------------------------------------------
 *
 * A veth (and any device whose NAPI runs a frame at a time) hands the
 * socket its frames one by one, each with a wake-up of the worker: some
 * 1.5 us of CPU a frame, most of it the wake-up.  So the worker coalesces,
 * as a NIC's interrupt moderation does: while frames keep coming, it
 * leaves the socket out of its poll set and sleeps coalesce_ns, then
 * takes what arrived in one go; a sleep that brings nothing ends it, and
 * the next frame wakes the worker as before.  Frames far apart would pay
 * a wasted sleep each besides their own wake-up, so a frame that wakes
 * the worker starts coalescing only if the last sleep so started found
 * more frames (they come in bursts), or if it follows the previous ones
 * by less than the sleep (they come fast).  A frame waits at most
 * coalesce_ns more; the first of a burst, none.  Redirected frames (the
 * inbox) and the stack's (the TAP) still wake the worker at once. */

struct rx_pacing {
	bool coalescing;
	bool first_sleep;             /* the coming sleep is the first since a frame woke the worker */
	bool bursty;                  /* the last such first sleep found frames */
	uint64_t last_frames_ns;      /* when a wake-up last found frames */
};

static uint64_t monotonic_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Until there is work (or a timeout): poll's return. */
static int wait_for_work(struct xdp_queue *q, struct pollfd fds[POLL_FDS], const struct rx_pacing *p)
{
	if (p->coalescing) {
		struct timespec sleep = { .tv_nsec = (long)q->coalesce_ns };
		int socket_fd = fds[POLL_SOCKET].fd;
		fds[POLL_SOCKET].fd = -1;   /* left out: its frames wait for the sleep's end */
		int rc = ppoll(fds, POLL_FDS, &sleep, NULL);
		fds[POLL_SOCKET].fd = socket_fd;
		return rc;
	}
	/* the completion ring is only reaped when woken: keep polling
	 * briefly while frames are out */
	return poll(fds, POLL_FDS, q->tx_pending || q->free_count < FRAME_COUNT / 2 ? 1 : 100);
}

/* After a wake-up that found `frames`: whether the next one coalesces. */
static void pacing_update(struct rx_pacing *p, uint64_t coalesce_ns, uint32_t frames)
{
	if (p->first_sleep)
		p->bursty = frames > 0;
	p->first_sleep = false;
	if (!frames) {
		p->coalescing = false;
		return;
	}
	uint64_t now = monotonic_ns();
	if (!p->coalescing) {
		p->coalescing = coalesce_ns && (p->bursty || now - p->last_frames_ns < coalesce_ns);
		p->first_sleep = p->coalescing;
	}
	p->last_frames_ns = now;
}

static void *worker(void *arg)
{
	struct xdp_queue *q = arg;
	struct bpfvm_xdp_host *h = q->host;
	bpfvm_hook_thread_prepare(NULL);
	prctl(PR_SET_TIMERSLACK, WORKER_TIMER_SLACK_NS);
	struct pollfd fds[POLL_FDS] = {
		[POLL_SOCKET] = { .fd = xsk_socket__fd(q->xsk), .events = POLLIN },
		[POLL_INBOX] = { .fd = q->inbox->wake_fd, .events = POLLIN },
		[POLL_TAP] = { .fd = q->index == 0 ? h->tap_fd : -1, .events = POLLIN },
		[POLL_LINKS] = { .fd = q->index == 0 ? h->link_fd : -1, .events = POLLIN },
	};
	struct rx_pacing pacing = { .bursty = true };
	while (!atomic_load_explicit(&h->stop, memory_order_relaxed)) {
		complete_tx(q);
		refill(q);
		int rc = wait_for_work(q, fds, &pacing);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc > 0 && (fds[POLL_LINKS].revents & POLLIN))   /* before the frames that may follow them */
			link_events(h);
		pacing_update(&pacing, q->coalesce_ns, receive(q));
		if (atomic_load_explicit(&q->inbox->count, memory_order_relaxed))
			inbox_drain(q);
		if (rc > 0 && (fds[POLL_TAP].revents & POLLIN))   /* not a read() a wake-up for nothing */
			stack_to_wire(q);
		kick_tx(q);
	}
	return NULL;
}

/* ---- setting up --------------------------------------------------------- */

static int queue_new(struct bpfvm_xdp_host *h, uint32_t index, uint32_t xdp_flags, struct xdp_queue **out,
                     bpfvm_error *err)
{
	struct xdp_queue *q = calloc(1, sizeof *q);
	if (!q)
		return error_set(err, -ENOMEM, -1, "xdp: out of memory");
	*out = q;
	q->host = h;
	q->index = index;
	q->coalesce_ns = h->coalesce_ns;
	q->inbox = calloc(1, sizeof *q->inbox);
	if (!q->inbox)
		return error_set(err, -ENOMEM, -1, "xdp: out of memory");
	pthread_mutex_init(&q->inbox->lock, NULL);
	q->inbox->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->inbox->wake_fd < 0)
		return error_set(err, -errno, -1, "xdp: eventfd: %s", strerror(errno));
	void *area = mmap(NULL, (size_t)FRAME_SIZE * FRAME_COUNT, PROT_READ | PROT_WRITE,
	                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (area == MAP_FAILED)
		return error_set(err, -ENOMEM, -1, "xdp: mapping a UMEM below 4 GiB: %s", strerror(errno));
	q->area = area;
	struct xsk_umem_config uc = { .fill_size = RING_SIZE, .comp_size = RING_SIZE, .frame_size = FRAME_SIZE };
	int rc = xsk_umem__create(&q->umem, area, (uint64_t)FRAME_SIZE * FRAME_COUNT, &q->fill, &q->comp, &uc);
	if (rc)
		return error_set(err, rc, -1, "xdp: creating a UMEM: %s", strerror(-rc));
	struct xsk_socket_config sc = { .rx_size = RING_SIZE, .tx_size = RING_SIZE,
	                                .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
	                                .xdp_flags = xdp_flags, .bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP };
	rc = xsk_socket__create(&q->xsk, h->ifname, index, q->umem, &q->rx, &q->tx, &sc);
	if (rc)
		return error_set(err, rc, -1, "xdp: an AF_XDP socket on %s queue %u: %s", h->ifname, index,
		                 strerror(-rc));
	for (uint32_t i = 0; i < FRAME_COUNT; i++)
		q->free_frames[q->free_count++] = (uint64_t)(FRAME_COUNT - 1 - i) * FRAME_SIZE;
	refill(q);
	int fd = xsk_socket__fd(q->xsk);
	if (bpf_map_update_elem(h->steer.map_fd, &index, &fd, BPF_ANY))
		return error_set(err, -errno, -1, "xdp: adding queue %u's socket to the xskmap: %s", index,
		                 strerror(errno));
	return 0;
}

static void queue_free(struct xdp_queue *q)
{
	if (!q)
		return;
	if (q->xsk)
		xsk_socket__delete(q->xsk);
	if (q->umem)
		xsk_umem__delete(q->umem);
	if (q->area)
		munmap(q->area, (size_t)FRAME_SIZE * FRAME_COUNT);
	if (q->inbox) {
		if (q->inbox->wake_fd >= 0)
			close(q->inbox->wake_fd);
		pthread_mutex_destroy(&q->inbox->lock);
		free(q->inbox);
	}
	free(q);
}

/* How many receive queues the interface has (/sys/class/net/IF/queues/rx-N). */
static uint32_t rx_queue_count(const char *ifname)
{
	char path[128];
	snprintf(path, sizeof path, "/sys/class/net/%s/queues", ifname);
	DIR *d = opendir(path);
	uint32_t n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += !strncmp(e->d_name, "rx-", 3);
	if (d)
		closedir(d);
	return n ? n : 1;
}

/* The devices above the interface (/sys/class/net/IF/upper_NAME links),
 * for BPF_F_EXCLUDE_INGRESS; read once, at attach. */
static void read_upper_devices(struct bpfvm_xdp_host *h)
{
	char path[128];
	snprintf(path, sizeof path, "/sys/class/net/%s", h->ifname);
	DIR *d = opendir(path);
	for (struct dirent *e; d && (e = readdir(d)) && h->upper_count < MAX_UPPERS;) {
		unsigned ifindex = strncmp(e->d_name, "upper_", 6) ? 0 : if_nametoindex(e->d_name + 6);
		if (ifindex)
			h->upper_ifindex[h->upper_count++] = ifindex;
	}
	if (d)
		closedir(d);
}

/* The interface's MAC and MTU (ioctl on any socket). */
static int interface_info(const char *ifname, struct ifreq *mac, int *mtu, bpfvm_error *err)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq r = { 0 };
	snprintf(r.ifr_name, sizeof r.ifr_name, "%s", ifname);
	int rc = s < 0 || ioctl(s, SIOCGIFMTU, &r) ? -errno : 0;
	*mtu = r.ifr_mtu;
	*mac = (struct ifreq){ 0 };
	snprintf(mac->ifr_name, sizeof mac->ifr_name, "%s", ifname);
	if (!rc && ioctl(s, SIOCGIFHWADDR, mac))
		rc = -errno;
	if (s >= 0)
		close(s);
	return rc ? error_set(err, rc, -1, "xdp: reading %s's MTU and MAC: %s", ifname, strerror(-rc)) : 0;
}

/* An ioctl on the TAP by name, with the error named. */
static int tap_ioctl(int s, unsigned long req, struct ifreq *r, const char *what, bpfvm_error *err)
{
	if (ioctl(s, req, r))
		return error_set(err, -errno, -1, "xdp: setting the TAP %s's %s: %s", r->ifr_name, what, strerror(errno));
	return 0;
}

/* The TAP that stands in for the interface: its MAC and MTU, up. */
static int tap_create(struct bpfvm_xdp_host *h, const struct ifreq *mac, int mtu, bpfvm_error *err)
{
	h->tap_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (h->tap_fd < 0)
		return error_set(err, -errno, -1, "xdp: /dev/net/tun (the TAP device XDP_PASS delivers to): %s",
		                 strerror(errno));
	struct ifreq r = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	snprintf(r.ifr_name, sizeof r.ifr_name, "%s", h->tap_name);
	if (ioctl(h->tap_fd, TUNSETIFF, &r))
		return error_set(err, -errno, -1, "xdp: creating the TAP device %s: %s", h->tap_name, strerror(errno));
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return error_set(err, -errno, -1, "xdp: socket: %s", strerror(errno));
	struct ifreq set = *mac;
	snprintf(set.ifr_name, sizeof set.ifr_name, "%s", h->tap_name);
	int rc = tap_ioctl(s, SIOCSIFHWADDR, &set, "MAC", err);
	set.ifr_mtu = mtu;
	if (!rc)
		rc = tap_ioctl(s, SIOCSIFMTU, &set, "MTU", err);
	if (!rc)
		rc = tap_ioctl(s, SIOCGIFFLAGS, &set, "flags", err);
	set.ifr_flags |= IFF_UP;
	if (!rc)
		rc = tap_ioctl(s, SIOCSIFFLAGS, &set, "flags", err);
	close(s);
	return rc;
}

/* Link changes (MTUs, deleted devices) for the redirects' checks. */
static int link_listen(struct bpfvm_xdp_host *h, bpfvm_error *err)
{
	h->link_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	struct sockaddr_nl groups = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	if (h->link_fd < 0 || bind(h->link_fd, (struct sockaddr *)&groups, sizeof groups))
		return error_set(err, -errno, -1, "xdp: a netlink socket for link changes: %s", strerror(errno));
	return 0;
}

/* The interface, its size limits, and the TAP. */
static int host_prepare(struct bpfvm_xdp_host *h, const bpfvm_xdp_opts *o, bpfvm_error *err)
{
	if (!o->ifname || !o->hook)
		return error_set(err, -EINVAL, -1, "bpfvm_xdp_attach: no %s", o->ifname ? "hook" : "interface");
	if (o->queues > MAX_QUEUES)
		return error_set(err, -EINVAL, -1, "xdp: at most %u queues", MAX_QUEUES);
	snprintf(h->ifname, sizeof h->ifname, "%s", o->ifname);
	h->ifindex = (int)if_nametoindex(o->ifname);
	if (!h->ifindex)
		return error_set(err, -ENODEV, -1, "xdp: no interface '%s'", o->ifname);
	read_upper_devices(h);
	h->hook = o->hook;
	if (o->rx_coalesce_us > (int32_t)COALESCE_MAX_US)
		return error_set(err, -EINVAL, -1, "xdp: coalescing %d us: at most %u", o->rx_coalesce_us,
		                 COALESCE_MAX_US);
	uint64_t coalesce_us = o->rx_coalesce_us ? (uint64_t)o->rx_coalesce_us : COALESCE_DEFAULT_US;
	h->coalesce_ns = o->rx_coalesce_us < 0 ? 0 : coalesce_us * 1000u;
	h->xsk_consumer = o->xsk_consumer;
	h->xsk_user = o->xsk_user;
	/* every queue by default: a frame on a queue without a socket is
	 * dropped (the steering program's fallback) */
	uint32_t have = rx_queue_count(o->ifname);
	h->queue_count = o->queues ? o->queues : have < MAX_QUEUES ? have : MAX_QUEUES;
	if (h->queue_count < have)
		fprintf(stderr, "bpfvm: xdp: %s has %u receive queues; frames on queues %u-%u are dropped "
		        "(no socket takes them)\n", o->ifname, have, h->queue_count, have - 1);
	struct ifreq mac;
	int mtu;
	int rc = interface_info(o->ifname, &mac, &mtu, err);
	if (rc)
		return rc;
	if (mtu < 0 || (uint32_t)mtu > bpfvm_xdp_max_mtu())
		return error_set(err, -EMSGSIZE, -1, "xdp: %s's MTU %d is larger than %u, the most a %u-byte UMEM frame "
		                 "holds after XDP's %u bytes of headroom and %u of tailroom and the Ethernet header "
		                 "(ip link set dev %s mtu %u)", o->ifname, mtu, bpfvm_xdp_max_mtu(), FRAME_SIZE,
		                 PACKET_HEADROOM, PACKET_TAILROOM, o->ifname, bpfvm_xdp_max_mtu());
	mtu_remember((uint32_t)h->ifindex, (uint32_t)mtu);
	rc = link_listen(h, err);
	if (rc)
		return rc;
	if (o->tap_name)
		snprintf(h->tap_name, sizeof h->tap_name, "%s", o->tap_name);
	else
		snprintf(h->tap_name, sizeof h->tap_name, "xdp-%.11s", o->ifname);
	return tap_create(h, &mac, mtu, err);
}

/* In the registry, so that other hosts' redirects reach this one. */
static int host_register(struct bpfvm_xdp_host *h, bpfvm_error *err)
{
	pthread_rwlock_wrlock(&hosts_lock);
	uint32_t i = 0;
	while (i < MAX_HOSTS && hosts[i])
		i++;
	if (i < MAX_HOSTS)
		hosts[i] = h;
	pthread_rwlock_unlock(&hosts_lock);
	return i < MAX_HOSTS ? 0 : error_set(err, -ENOSPC, -1, "xdp: at most %u interfaces per process", MAX_HOSTS);
}

/* Out of the registry: once this returns, no redirect reads h. */
static void host_unregister(struct bpfvm_xdp_host *h)
{
	pthread_rwlock_wrlock(&hosts_lock);
	for (uint32_t i = 0; i < MAX_HOSTS; i++)
		if (hosts[i] == h)
			hosts[i] = NULL;
	pthread_rwlock_unlock(&hosts_lock);
}

static void host_free(struct bpfvm_xdp_host *h)
{
	host_unregister(h);
	atomic_store(&h->stop, true);
	for (uint32_t i = 0; i < h->queue_count; i++)
		if (h->queues[i] && h->queues[i]->thread_started)
			pthread_join(h->queues[i]->thread, NULL);
	/* the kernel stops steering before the sockets go */
	xdp_steer_release(&h->steer);
	for (uint32_t i = 0; i < h->queue_count; i++)
		queue_free(h->queues[i]);
	if (h->tap_fd >= 0)
		close(h->tap_fd);
	if (h->link_fd >= 0)
		close(h->link_fd);
	free(h);
}

static int host_start(struct bpfvm_xdp_host *h, const bpfvm_xdp_opts *o, bpfvm_error *err)
{
	int rc = xdp_steer_prepare(h->ifname, h->ifindex, h->queue_count, &h->steer, err);
	if (rc)
		return rc;
	/* The program first, then the sockets: a veth whose XDP is enabled
	 * for the first time after a socket bound to it passed its first
	 * frames (some 10 ms of them) to the stack, past the steering
	 * program; in this order, the frames that arrive before their queue's
	 * socket is in the xskmap are dropped (the steering program's
	 * fallback), and none bypasses the user's program. */
	rc = xdp_steer_attach(h->ifname, &h->steer, o->skb_mode, err);
	uint32_t flags = h->steer.attach_flags;
	for (uint32_t i = 0; !rc && i < h->queue_count; i++)
		rc = queue_new(h, i, flags, &h->queues[i], err);
	if (!rc)
		rc = host_register(h, err);
	for (uint32_t i = 0; !rc && i < h->queue_count; i++) {
		rc = -pthread_create(&h->queues[i]->thread, NULL, worker, h->queues[i]);
		if (rc)
			error_set(err, rc, -1, "xdp: starting queue %u's thread: %s", i, strerror(-rc));
		else
			h->queues[i]->thread_started = true;
	}
	return rc;
}

int bpfvm_xdp_attach(const bpfvm_xdp_opts *opts, bpfvm_xdp_host **out, bpfvm_error *err)
{
	bpfvm_xdp_opts o;
	int rc = opts_known(bpfvm_xdp_opts, opts, &o, err);
	if (rc)
		return rc;
	if (!out)
		return error_set(err, -EINVAL, -1, "bpfvm_xdp_attach: null argument");
	*out = NULL;
	struct bpfvm_xdp_host *h = calloc(1, sizeof *h);
	if (!h)
		return error_set(err, -ENOMEM, -1, "xdp: out of memory");
	h->tap_fd = -1;
	h->link_fd = -1;
	h->steer = (struct xdp_steer){ .lock_fd = -1, .map_fd = -1, .prog_fd = -1 };
	rc = host_prepare(h, &o, err);
	if (!rc)
		rc = host_start(h, &o, err);
	if (rc) {
		host_free(h);
		return rc;
	}
	*out = h;
	return 0;
}

void bpfvm_xdp_detach(bpfvm_xdp_host *host)
{
	if (host)
		host_free(host);
}

const char *bpfvm_xdp_mode(const bpfvm_xdp_host *host)
{
	return host->steer.attach_flags == XDP_FLAGS_SKB_MODE ? "skb" : "driver";
}

uint32_t bpfvm_xdp_queue_count(const bpfvm_xdp_host *host)
{
	return host->queue_count;
}

const char *bpfvm_xdp_tap_name(const bpfvm_xdp_host *host)
{
	return host->tap_name;
}

/* The kernel's counts for a socket. */
static void kernel_stats(const struct xdp_queue *q, bpfvm_xdp_stats *out)
{
	struct xdp_statistics st = { 0 };
	socklen_t len = sizeof st;
	if (getsockopt(xsk_socket__fd(q->xsk), SOL_XDP, XDP_STATISTICS, &st, &len))
		return;
	out->rx_dropped += st.rx_dropped;
	out->rx_ring_full += st.rx_ring_full;
	out->fill_ring_empty += st.rx_fill_ring_empty_descs;
	out->tx_invalid += st.tx_invalid_descs;
}

void bpfvm_xdp_stats_get(const bpfvm_xdp_host *host, bpfvm_xdp_stats *out)
{
	memset(out, 0, sizeof *out);
	uint64_t *field[C_COUNT] = { &out->rx, &out->pass, &out->drop, &out->tx, &out->redirect, &out->aborted,
	                             &out->run_errors, &out->stack_tx, &out->tx_ring_full, &out->no_frame,
	                             &out->tap_errors, &out->redirect_errors, &out->inbox_full };
	for (uint32_t i = 0; i < host->queue_count; i++) {
		struct xdp_queue *q = host->queues[i];
		for (int c = 0; c < C_COUNT; c++)
			*field[c] += atomic_load_explicit(&q->counters[c], memory_order_relaxed);
		kernel_stats(q, out);
	}
}
