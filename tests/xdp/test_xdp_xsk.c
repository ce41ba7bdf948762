/*
 * test_xdp_xsk.c - XDP_REDIRECT into an xskmap through the public API
 * (<bpfvm/xdp.h>): a host attached to a veth in a network namespace of the
 * test's own, with an xsk_consumer that checks and counts what it gets.
 * Frames sent on the peer reach the consumer whole and once each, with the
 * entry's key, the map's descriptor of the socket the test stored, and
 * queue 0; an emptied entry makes the program's fallback (XDP_DROP) the
 * verdict; a host without a consumer counts such frames as redirect
 * errors.
 *
 * usage: test_xdp_xsk XDP_TO_XSK_OBJECT.  Exit 77 without root, network
 * namespaces, veth or AF_XDP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bpfvm/hook.h"
#include "bpfvm/instance.h"
#include "bpfvm/maps.h"
#include "bpfvm/object.h"
#include "bpfvm/xdp.h"
#include "support/check.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif

#define FRAMES 50
#define FRAME_LEN 96
#define ETHERTYPE_TEST 0x88b5   /* IEEE 802 local experimental */

/* What the consumer saw. */
struct seen {
	int socket_fd;                 /* the socket the test stored at key 0 */
	_Atomic unsigned calls, ours, bad;
	_Atomic unsigned char count[FRAMES];
};

/* Frame seq: to a broadcast MAC, the test's ethertype, seq, then bytes that seq sets. */
static void frame_of(unsigned seq, unsigned char *f)
{
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = ETHERTYPE_TEST >> 8;
	f[13] = ETHERTYPE_TEST & 0xff;
	memcpy(f + 14, &seq, 4);
	for (unsigned i = 18; i < FRAME_LEN; i++)
		f[i] = (unsigned char)(seq * 13 + i);
}

static bool same_socket(int a, int b)
{
	struct stat sa, sb;
	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

static void consumer(void *user, uint32_t key, int xsk_fd, uint32_t queue_id, const void *data, uint32_t len)
{
	struct seen *s = user;
	const unsigned char *f = data;
	atomic_fetch_add(&s->calls, 1);
	if (len < 14 || f[12] != ETHERTYPE_TEST >> 8 || f[13] != (ETHERTYPE_TEST & 0xff))
		return;   /* the stack's own frames, if any */
	unsigned seq;
	unsigned char want[FRAME_LEN];
	memcpy(&seq, f + 14, 4);
	if (seq < FRAMES)
		frame_of(seq, want);
	if (seq >= FRAMES || len != FRAME_LEN || memcmp(f, want, FRAME_LEN) || key != 0 || queue_id != 0 ||
	    !same_socket(xsk_fd, s->socket_fd)) {
		atomic_fetch_add(&s->bad, 1);
		return;
	}
	atomic_fetch_add(&s->ours, 1);
	atomic_fetch_add(&s->count[seq], 1);
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&t, NULL);
}

/* A namespace of the test's own, with /sys showing it, and a veth pair. */
static bool setup_namespace(void)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNET | CLONE_NEWNS))
		return false;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) || umount2("/sys", MNT_DETACH) ||
	    mount("sysfs", "/sys", "sysfs", 0, NULL))
		return false;
	return system("ip link add xsk0 type veth peer name xsk1 2>/dev/null && "
	              "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 && "
	              "ip link set lo up && ip link set xsk0 up && ip link set xsk1 up") == 0;
}

/* The frames sent on the peer; how many went. */
static int send_frames(int first, int n)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0), sent = 0;
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex("xsk1"), .sll_halen = 6 };
	memset(to.sll_addr, 0xff, 6);
	for (int i = first; fd >= 0 && i < first + n; i++) {
		unsigned char f[FRAME_LEN];
		frame_of((unsigned)i % FRAMES, f);
		sent += sendto(fd, f, FRAME_LEN, 0, (struct sockaddr *)&to, sizeof to) == FRAME_LEN;
		sleep_ms(2);   /* paced: no ring on the way overflows */
	}
	if (fd >= 0)
		close(fd);
	return sent;
}

/* Waits until rx reaches want (2 s at most); the host's counters. */
static bpfvm_xdp_stats settle(const bpfvm_xdp_host *host, uint64_t want)
{
	bpfvm_xdp_stats st;
	for (int i = 0; i < 200; i++) {
		bpfvm_xdp_stats_get(host, &st);
		if (st.rx >= want)
			break;
		sleep_ms(10);
	}
	sleep_ms(50);
	bpfvm_xdp_stats_get(host, &st);
	return st;
}

static bpfvm_xdp_host *attach(bpfvm_hook *hook, struct seen *s, bool with_consumer, int *skip)
{
	bpfvm_xdp_host *host = NULL;
	bpfvm_error err = { 0 };
	BPFVM_OPTS(bpfvm_xdp_opts, o, .ifname = "xsk0", .hook = hook, .queues = 1,
	           .xsk_consumer = with_consumer ? consumer : NULL, .xsk_user = s);
	if (bpfvm_xdp_attach(&o, &host, &err)) {
		if (strstr(err.msg, "AF_XDP socket")) {
			printf("SKIP: no AF_XDP here: %s\n", err.msg);
			*skip = 1;
		} else {
			CHECK(false, "attach: %s", err.msg);
		}
		return NULL;
	}
	return host;   /* serving every frame from now on */
}

/* The consumer gets every frame once, whole; an empty entry: the fallback. */
static void with_consumer(bpfvm_hook *hook, bpfvm_map *xsks, struct seen *s, int *skip)
{
	bpfvm_xdp_host *host = attach(hook, s, true, skip);
	if (!host)
		return;
	int sent = send_frames(0, FRAMES);
	bpfvm_xdp_stats st = settle(host, (uint64_t)sent);
	CHECK(sent == FRAMES && st.rx >= FRAMES, "sent %d, received %llu", sent, (unsigned long long)st.rx);
	CHECK(s->ours == FRAMES && s->bad == 0, "consumer: %u of ours, %u wrong", s->ours, s->bad);
	unsigned once = 0;
	for (int i = 0; i < FRAMES; i++)
		once += s->count[i] == 1;
	CHECK(once == FRAMES, "each frame once: %u of %d", once, FRAMES);
	CHECK(st.redirect == s->calls && st.redirect_errors == 0 && st.drop == 0,
	      "redirect %llu (consumer calls %u), errors %llu, drop %llu", (unsigned long long)st.redirect, s->calls,
	      (unsigned long long)st.redirect_errors, (unsigned long long)st.drop);

	uint32_t key = 0;
	bpfvm_error err;
	CHECK(bpfvm_map_delete(xsks, &key, &err) == 0, "empty the entry: %s", err.msg);
	unsigned before = s->calls;
	uint64_t rx = st.rx;
	sent = send_frames(0, 20);
	st = settle(host, rx + (uint64_t)sent);
	CHECK(s->calls == before && st.drop >= 20 && st.redirect_errors == 0,
	      "an empty entry: the program's XDP_DROP (drop %llu, consumer calls %u more)", (unsigned long long)st.drop,
	      s->calls - before);
	bpfvm_xdp_detach(host);
}

/* No consumer: frames redirected into the xskmap are redirect errors. */
static void without_consumer(bpfvm_hook *hook, bpfvm_map *xsks, struct seen *s, int *skip)
{
	uint32_t key = 0;
	bpfvm_error err;
	CHECK(bpfvm_map_update(xsks, &key, &s->socket_fd, 0, &err) == 0, "the socket again: %s", err.msg);
	bpfvm_xdp_host *host = attach(hook, s, false, skip);
	if (!host)
		return;
	int sent = send_frames(0, 20);
	bpfvm_xdp_stats st = settle(host, (uint64_t)sent);
	CHECK(st.rx >= 20 && st.redirect == 0 && st.redirect_errors == st.rx,
	      "no consumer: rx %llu, redirect %llu, errors %llu", (unsigned long long)st.rx,
	      (unsigned long long)st.redirect, (unsigned long long)st.redirect_errors);
	bpfvm_xdp_detach(host);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return fprintf(stderr, "usage: test_xdp_xsk XDP_TO_XSK_OBJECT\n"), 2;
	if (!setup_namespace()) {
		printf("SKIP: needs root, network namespaces and veth\n");
		return 77;
	}
	bpfvm_object *obj;
	bpfvm_instance *inst;
	bpfvm_hook *hook;
	uint64_t link;
	bpfvm_error err = { 0 };
	BPFVM_OPTS(bpfvm_instance_opts, io, .verify = true, .jit = true);
	BPFVM_OPTS(bpfvm_hook_opts, ho, .name = "xdp", .ctx_kind = BPFVM_HOOK_CTX_PROG_TYPE, .prog_type = 6 /* xdp */,
	           .empty_result = 2 /* XDP_PASS */);
	if (!CHECK(bpfvm_object_open(argv[1], &obj, &err) == 0 && bpfvm_instance_new(obj, &io, &inst, &err) == 0 &&
	           bpfvm_hook_new(&ho, &hook, &err) == 0, "load %s: %s", argv[1], err.msg))
		return check_summary();
	bpfvm_program *prog = bpfvm_instance_prog(inst, (size_t)bpfvm_object_find_prog(obj, "to_xsk"));
	bpfvm_map *xsks = bpfvm_instance_map(inst, (size_t)bpfvm_object_find_map(obj, "xsks"));
	static struct seen s;
	s.socket_fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (s.socket_fd < 0) {
		printf("SKIP: no AF_XDP sockets here: %s\n", strerror(errno));
		return 77;
	}
	uint32_t key = 0;
	CHECK(bpfvm_hook_attach(hook, prog, &link, &err) == 0, "hook attach: %s", err.msg);
	CHECK(bpfvm_map_update(xsks, &key, &s.socket_fd, 0, &err) == 0, "the socket at key 0: %s", err.msg);
	int skip = 0;
	with_consumer(hook, xsks, &s, &skip);
	if (!skip)
		without_consumer(hook, xsks, &s, &skip);
	bpfvm_hook_free(hook);
	bpfvm_instance_free(inst);
	bpfvm_object_free(obj);
	close(s.socket_fd);
	return skip && failed == 0 ? 77 : check_summary();
}
