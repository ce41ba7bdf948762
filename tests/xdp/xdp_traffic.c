/*
 * xdp_traffic.c - the live XDP tests' traffic: known frames sent on an
 * interface through an AF_PACKET socket, and what comes back classified;
 * a TCP server and client for a handshake through XDP_PASS.
 *
 *   xdp_traffic send IFACE DST_MAC SRC_IP DST_IP udp|icmp COUNT
 *       sends COUNT frames (UDP to port 7000, or ICMP echo requests with
 *       sequence numbers 0..COUNT-1, each with its own payload), listens
 *       1 s more, and prints what arrived: "sent=N udp7000=A udp7001=B
 *       echo_reply=C other=D"; a datagram or reply is counted only when
 *       its payload, checksums and addresses are the ones its request
 *       asks for.
 *   xdp_traffic recv IFACE SRC_IP DST_IP MS
 *       listens on IFACE for MS milliseconds (after printing "listening")
 *       for the requests `send` makes from SRC_IP to DST_IP, arriving as
 *       they were sent (a broadcast's copies, a redirect's): prints
 *       "udp7000=A echo_request=B other=C"
 *   xdp_traffic flood IFACE DST_MAC SRC_IP DST_IP udp|icmp PPS SECONDS
 *       the same frames at PPS a second (0: as fast as it can) for SECONDS,
 *       in batches of 32 (sendmmsg); prints "sent=N seconds=S pps=R
 *       cpu_ns=C": C is this process's CPU time per frame sent, which
 *       includes the receiving veth's XDP (its softirq runs in the
 *       sender's context here) (bench/xdp_live.sh)
 *   xdp_traffic tcp-server IP PORT     accepts one connection, says hello
 *   xdp_traffic tcp-client IP PORT     connects, expects hello (exit 0)
 *   xdp_traffic csum-off IFACE         turns IFACE's TX checksum offload
 *       off (ethtool -K IFACE tx off): a veth otherwise sends TCP with
 *       the checksum left to its peer (CHECKSUM_PARTIAL), which an
 *       AF_XDP socket receives as it is, unfinished
 *
 * Both end within 10 s whatever happens (alarm).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <math.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD 32
/* Frames start 2 bytes into 4-aligned buffers, so that the IP header
 * after the 14-byte Ethernet header is aligned for struct iphdr. */
#define FRAME_ALIGN 2

struct frame_spec {
	uint8_t dst_mac[6], src_mac[6];
	struct in_addr src, dst;
};

static uint16_t checksum(const void *p, size_t len, uint32_t sum)
{
	const uint8_t *b = p;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static void payload_of(uint32_t seq, uint8_t *out)
{
	for (int i = 0; i < PAYLOAD; i++)
		out[i] = (uint8_t)(seq * 7 + (uint32_t)i);
}

static size_t ip_header(uint8_t *p, const struct frame_spec *s, uint8_t proto, size_t l4_len)
{
	struct iphdr *ip = (struct iphdr *)p;
	memset(ip, 0, sizeof *ip);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = proto;
	ip->tot_len = htons((uint16_t)(sizeof *ip + l4_len));
	ip->saddr = s->src.s_addr;
	ip->daddr = s->dst.s_addr;
	ip->check = checksum(ip, sizeof *ip, 0);
	return sizeof *ip;
}

/* UDP's pseudo-header sum. */
static uint32_t pseudo_sum(const struct iphdr *ip, size_t udp_len)
{
	const uint8_t *a = (const uint8_t *)&ip->saddr;
	uint32_t sum = 0;
	for (int i = 0; i < 8; i += 2)
		sum += (uint32_t)(a[i] << 8 | a[i + 1]);
	return sum + IPPROTO_UDP + (uint32_t)udp_len;
}

static size_t build(uint8_t *f, const struct frame_spec *s, bool udp, uint32_t seq)
{
	struct ether_header *eth = (struct ether_header *)f;
	memcpy(eth->ether_dhost, s->dst_mac, 6);
	memcpy(eth->ether_shost, s->src_mac, 6);
	eth->ether_type = htons(ETHERTYPE_IP);
	uint8_t *l3 = f + sizeof *eth;
	size_t l4_len = (udp ? sizeof(struct udphdr) : 8) + PAYLOAD;
	uint8_t *l4 = l3 + ip_header(l3, s, udp ? IPPROTO_UDP : IPPROTO_ICMP, l4_len);
	if (udp) {
		struct udphdr *u = (struct udphdr *)l4;
		u->source = htons((uint16_t)(40000 + seq));
		u->dest = htons(7000);
		u->len = htons((uint16_t)l4_len);
		u->check = 0;
		payload_of(seq, l4 + sizeof *u);
		u->check = checksum(u, l4_len, pseudo_sum((struct iphdr *)l3, l4_len));
	} else {
		struct icmphdr *ic = (struct icmphdr *)l4;
		memset(ic, 0, sizeof *ic);
		ic->type = ICMP_ECHO;
		ic->un.echo.id = htons(0x4242);
		ic->un.echo.sequence = htons((uint16_t)seq);
		payload_of(seq, l4 + 8);
		ic->checksum = checksum(ic, l4_len, 0);
	}
	return sizeof *eth + (size_t)(l4 + l4_len - l3);
}

struct tally {
	unsigned udp7000, udp7001, echo_reply, echo_request, other;
};

/* Whether a frame is the answer to one of ours: addressed back to us, its
 * payload the one its sequence number carries, checksums right. */
static void classify(const uint8_t *f, size_t len, const struct frame_spec *s, struct tally *t)
{
	const struct ether_header *eth = (const void *)f;
	const struct iphdr *ip = (const void *)(f + sizeof *eth);
	if (len < sizeof *eth + sizeof *ip + 8 + PAYLOAD || eth->ether_type != htons(ETHERTYPE_IP) || ip->ihl != 5 ||
	    memcmp(eth->ether_dhost, s->src_mac, 6) || ip->daddr != s->src.s_addr || ip->saddr != s->dst.s_addr ||
	    checksum(ip, sizeof *ip, 0) != 0) {
		t->other++;
		return;
	}
	const uint8_t *l4 = (const uint8_t *)(ip + 1);
	size_t l4_len = ntohs(ip->tot_len) - sizeof *ip;
	uint8_t want[PAYLOAD];
	if (ip->protocol == IPPROTO_UDP && l4_len == sizeof(struct udphdr) + PAYLOAD) {
		const struct udphdr *u = (const void *)l4;
		payload_of(ntohs(u->source) - 40000u, want);
		bool ok = !memcmp(l4 + sizeof *u, want, PAYLOAD) &&
		          (!u->check || checksum(u, l4_len, pseudo_sum(ip, l4_len)) == 0);
		if (ok && u->dest == htons(7000))
			t->udp7000++;
		else if (ok && u->dest == htons(7001))
			t->udp7001++;
		else
			t->other++;
	} else if (ip->protocol == IPPROTO_ICMP && l4_len == 8 + PAYLOAD) {
		const struct icmphdr *ic = (const void *)l4;
		payload_of(ntohs(ic->un.echo.sequence), want);
		if (ic->type == ICMP_ECHOREPLY && ic->un.echo.id == htons(0x4242) && !memcmp(l4 + 8, want, PAYLOAD) &&
		    checksum(ic, l4_len, 0) == 0)
			t->echo_reply++;
		else
			t->other++;
	} else {
		t->other++;
	}
}

/* Whether a frame is one of our requests as sent: from s->src to s->dst,
 * its payload the one its sequence number carries, checksums right. */
static void classify_request(const uint8_t *f, size_t len, const struct frame_spec *s, struct tally *t)
{
	const struct ether_header *eth = (const void *)f;
	const struct iphdr *ip = (const void *)(f + sizeof *eth);
	uint8_t want[PAYLOAD];
	if (len < sizeof *eth + sizeof *ip + 8 + PAYLOAD || eth->ether_type != htons(ETHERTYPE_IP) || ip->ihl != 5 ||
	    ip->saddr != s->src.s_addr || ip->daddr != s->dst.s_addr || checksum(ip, sizeof *ip, 0) != 0) {
		t->other++;
		return;
	}
	const uint8_t *l4 = (const uint8_t *)(ip + 1);
	size_t l4_len = ntohs(ip->tot_len) - sizeof *ip;
	if (ip->protocol == IPPROTO_UDP && l4_len == sizeof(struct udphdr) + PAYLOAD) {
		const struct udphdr *u = (const void *)l4;
		payload_of(ntohs(u->source) - 40000u, want);
		bool ok = u->dest == htons(7000) && !memcmp(l4 + sizeof *u, want, PAYLOAD) &&
		          checksum(u, l4_len, pseudo_sum(ip, l4_len)) == 0;
		t->udp7000 += ok;
		t->other += !ok;
	} else if (ip->protocol == IPPROTO_ICMP && l4_len == 8 + PAYLOAD) {
		const struct icmphdr *ic = (const void *)l4;
		payload_of(ntohs(ic->un.echo.sequence), want);
		bool ok = ic->type == ICMP_ECHO && ic->un.echo.id == htons(0x4242) && !memcmp(l4 + 8, want, PAYLOAD) &&
		          checksum(ic, l4_len, 0) == 0;
		t->echo_request += ok;
		t->other += !ok;
	} else {
		t->other++;
	}
}

static int parse_mac(const char *text, uint8_t mac[6])
{
	return sscanf(text, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) != 6;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Receives for `ms` more milliseconds, each frame through `sort`. */
static void listen_with(int fd, double ms, const struct frame_spec *s, struct tally *t,
                        void (*sort)(const uint8_t *, size_t, const struct frame_spec *, struct tally *))
{
	double end = now_ms() + ms;
	for (double left; (left = end - now_ms()) > 0;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)left + 1) <= 0)
			continue;
		uint8_t buf[2048] __attribute__((aligned(4))), *f = buf + FRAME_ALIGN;
		struct sockaddr_ll from;
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(fd, f, sizeof buf - FRAME_ALIGN, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n > 0 && from.sll_pkttype != PACKET_OUTGOING)
			sort(f, (size_t)n, s, t);
	}
}

/* Receives for `ms` more milliseconds. */
static void listen_for(int fd, double ms, const struct frame_spec *s, struct tally *t)
{
	listen_with(fd, ms, s, t, classify);
}

static int cmd_send(char **argv)
{
	struct frame_spec s;
	unsigned ifindex = if_nametoindex(argv[0]);
	bool udp = !strcmp(argv[4], "udp");
	int count = atoi(argv[5]);
	if (!ifindex || parse_mac(argv[1], s.dst_mac) || !inet_aton(argv[2], &s.src) || !inet_aton(argv[3], &s.dst) ||
	    (!udp && strcmp(argv[4], "icmp")) || count <= 0)
		return fprintf(stderr, "xdp_traffic send: bad arguments\n"), 2;
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)ifindex };
	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof sll))
		return perror("xdp_traffic: AF_PACKET socket"), 2;
	struct ifreq r = { 0 };
	snprintf(r.ifr_name, sizeof r.ifr_name, "%s", argv[0]);
	if (ioctl(fd, SIOCGIFHWADDR, &r))
		return perror("xdp_traffic: SIOCGIFHWADDR"), 2;
	memcpy(s.src_mac, r.ifr_hwaddr.sa_data, 6);
	struct tally t = { 0 };
	int sent = 0;
	for (int i = 0; i < count; i++) {
		uint8_t buf[256] __attribute__((aligned(4))), *f = buf + FRAME_ALIGN;
		size_t len = build(f, &s, udp, (uint32_t)i);
		if (send(fd, f, len, 0) == (ssize_t)len)
			sent++;
		listen_for(fd, 2, &s, &t);   /* paced: no ring on the way overflows */
	}
	listen_for(fd, 1000, &s, &t);
	printf("sent=%d udp7000=%u udp7001=%u echo_reply=%u other=%u\n", sent, t.udp7000, t.udp7001, t.echo_reply,
	       t.other);
	return 0;
}

static int cmd_recv(char **argv)
{
	struct frame_spec s = { 0 };
	unsigned ifindex = if_nametoindex(argv[0]);
	double ms = atof(argv[3]);
	if (!ifindex || !inet_aton(argv[1], &s.src) || !inet_aton(argv[2], &s.dst) || !(ms > 0) || ms > 8000)
		return fprintf(stderr, "xdp_traffic recv: bad arguments\n"), 2;
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)ifindex };
	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof sll))
		return perror("xdp_traffic: AF_PACKET socket"), 2;
	printf("listening\n");
	fflush(stdout);
	struct tally t = { 0 };
	listen_with(fd, ms, &s, &t, classify_request);
	printf("udp7000=%u echo_request=%u other=%u\n", t.udp7000, t.echo_request, t.other);
	return 0;
}

static double cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#define FLOOD_BATCH 32

static int cmd_flood(char **argv)
{
	struct frame_spec s;
	unsigned ifindex = if_nametoindex(argv[0]);
	bool udp = !strcmp(argv[4], "udp");
	double pps = atof(argv[5]), seconds = atof(argv[6]);
	if (!ifindex || parse_mac(argv[1], s.dst_mac) || !inet_aton(argv[2], &s.src) || !inet_aton(argv[3], &s.dst) ||
	    (!udp && strcmp(argv[4], "icmp")) || pps < 0 || seconds <= 0)
		return fprintf(stderr, "xdp_traffic flood: bad arguments\n"), 2;
	alarm((unsigned)seconds + 10);
	int fd = socket(AF_PACKET, SOCK_RAW, 0);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = (int)ifindex };
	struct ifreq r = { 0 };
	snprintf(r.ifr_name, sizeof r.ifr_name, "%s", argv[0]);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof sll) || ioctl(fd, SIOCGIFHWADDR, &r))
		return perror("xdp_traffic flood"), 2;
	memcpy(s.src_mac, r.ifr_hwaddr.sa_data, 6);
	static uint8_t bufs[FLOOD_BATCH][256] __attribute__((aligned(4)));
	struct iovec iov[FLOOD_BATCH];
	struct mmsghdr msgs[FLOOD_BATCH];
	for (int i = 0; i < FLOOD_BATCH; i++) {
		iov[i] = (struct iovec){ bufs[i] + FRAME_ALIGN, build(bufs[i] + FRAME_ALIGN, &s, udp, (uint32_t)i) };
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	long sent = 0;
	double start = now_ms(), cpu_start = cpu_ns(), end = start + seconds * 1e3;
	for (double now = start; now < end; now = now_ms()) {
		if (pps > 0) {   /* one sleep a batch, to when it is due */
			double due_ms = start + (double)(sent + FLOOD_BATCH) * 1e3 / pps;
			struct timespec at = { (time_t)(due_ms / 1e3), (long)(fmod(due_ms, 1e3) * 1e6) };
			if (due_ms > now)
				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
		}
		int n = sendmmsg(fd, msgs, FLOOD_BATCH, 0);
		if (n > 0)
			sent += n;
	}
	double took = (now_ms() - start) / 1e3, cpu = cpu_ns() - cpu_start;
	printf("sent=%ld seconds=%.2f pps=%.0f cpu_ns=%.0f\n", sent, took, (double)sent / took,
	       sent ? cpu / (double)sent : 0.0);
	return 0;
}

static int tcp_socket(const char *ip, const char *port, struct sockaddr_in *a)
{
	*a = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	if (!inet_aton(ip, &a->sin_addr))
		return -1;
	return socket(AF_INET, SOCK_STREAM, 0);
}

static int cmd_tcp_server(char **argv)
{
	struct sockaddr_in a;
	int fd = tcp_socket(argv[0], argv[1], &a), one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
	    bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 1))
		return perror("xdp_traffic tcp-server"), 1;
	printf("listening\n");
	fflush(stdout);
	int c = accept(fd, NULL, NULL);
	if (c < 0 || write(c, "hello\n", 6) != 6)
		return perror("xdp_traffic tcp-server: accept"), 1;
	close(c);
	return 0;
}

static int cmd_tcp_client(char **argv)
{
	struct sockaddr_in a;
	int fd = tcp_socket(argv[0], argv[1], &a);
	char buf[16] = { 0 };
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a))
		return perror("xdp_traffic tcp-client: connect"), 1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n != 6 || strcmp(buf, "hello\n"))
		return fprintf(stderr, "xdp_traffic tcp-client: read %zd bytes, not hello\n", n), 1;
	printf("handshake and hello through %s:%s\n", argv[0], argv[1]);
	return 0;
}

static int cmd_csum_off(const char *ifname)
{
	struct ethtool_value v = { .cmd = ETHTOOL_STXCSUM, .data = 0 };
	struct ifreq r = { .ifr_data = (void *)&v };
	snprintf(r.ifr_name, sizeof r.ifr_name, "%s", ifname);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || ioctl(fd, SIOCETHTOOL, &r))
		return perror("xdp_traffic csum-off"), 1;
	return 0;
}

int main(int argc, char **argv)
{
	alarm(10);
	if (argc == 8 && !strcmp(argv[1], "send"))
		return cmd_send(argv + 2);
	if (argc == 6 && !strcmp(argv[1], "recv"))
		return cmd_recv(argv + 2);
	if (argc == 9 && !strcmp(argv[1], "flood"))
		return cmd_flood(argv + 2);
	if (argc == 4 && !strcmp(argv[1], "tcp-server"))
		return cmd_tcp_server(argv + 2);
	if (argc == 4 && !strcmp(argv[1], "tcp-client"))
		return cmd_tcp_client(argv + 2);
	if (argc == 3 && !strcmp(argv[1], "csum-off"))
		return cmd_csum_off(argv[2]);
	fprintf(stderr, "usage: xdp_traffic send IFACE DST_MAC SRC_IP DST_IP udp|icmp COUNT\n"
	                "       xdp_traffic recv IFACE SRC_IP DST_IP MS\n"
	                "       xdp_traffic flood IFACE DST_MAC SRC_IP DST_IP udp|icmp PPS SECONDS\n"
	                "       xdp_traffic tcp-server IP PORT | tcp-client IP PORT | csum-off IFACE\n");
	return 2;
}
