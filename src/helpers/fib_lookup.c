/*
 * fib_lookup.c - bpf_fib_lookup (XDP and tc) answered from the host's
 * routes and neighbours, as the kernel's bpf_ipv4_fib_lookup answers
 * from its FIB: the same return codes (SUCCESS, BLACKHOLE, UNREACHABLE,
 * PROHIBIT, NOT_FWDED, FWD_DISABLED, NO_NEIGH, FRAG_NEEDED) and the same
 * fields of struct bpf_fib_lookup filled (ifindex, rt_metric, ipv4_dst or
 * ipv6_dst when the route has a gateway, smac, dmac, mtu_result, the VLAN
 * fields), for IPv4 and IPv6 (bpf_ipv6_fib_lookup).
 *
 * Owns: the helper's descriptor (helper_descs_fib) and its rtnetlink
 * queries, in the network namespace of the calling thread.
 *
 * How the kernel's FIB is asked.  The route: RTM_GETROUTE for the
 * destination with RTM_F_FIB_MATCH, which answers with the FIB entry an
 * output lookup matched (type, priority, gateway, device, MTU metric), or
 * the lookup's error (-EINVAL blackhole, -EHOSTUNREACH unreachable,
 * -EACCES prohibit, else not forwarded), as fib_lookup() gives them to the
 * kernel's helper.  Being an output lookup, it does not see policy rules
 * that select on the input device or the source address (the kernel's
 * helper passes both), and BPF_FIB_LOOKUP_DIRECT (the main table alone)
 * is asked the same way: with the default rules the answers are the same
 * but for a destination that is this host's own address.  The neighbour:
 * RTM_GETNEIGH for the next hop on the route's device (valid: any of
 * NUD_VALID's states).  Forwarding: /proc/sys/net/ipv{4,6}/conf/DEV/forwarding
 * of the ingress device; IPv6 MTUs from .../ipv6/conf/DEV/mtu.  The device's MAC and MTU: SIOCGIFHWADDR and
 * SIOCGIFMTU; a route's MTU counts only when locked, as in the kernel.
 *
 * Refused loudly (the run fails naming why): the flags SKIP_NEIGH, TBID,
 * SRC and MARK, multipath routes and IPv6 gateways of IPv4 routes.  Each call opens a netlink socket: microseconds, not the
 * kernel's nanoseconds.  Netlink answers are the kernel's own data; every
 * attribute is still length-checked before it is read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers/helper_desc.h"
#include "helpers/helpers.h"
#include "progtypes/progtypes.h"

#define FIB_FLAGS_KNOWN 0x3fu   /* the kernel's BPF_FIB_LOOKUP_MASK: DIRECT .. MARK */
#define FIB_FLAGS_SUPPORTED (BPF_FIB_LOOKUP_DIRECT | BPF_FIB_LOOKUP_OUTPUT)
#define NUD_VALID_STATES (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY)

/* What the FIB entry for a destination says. */
struct fib_route {
	uint8_t type;            /* RTN_* */
	uint32_t priority;       /* the route's metric */
	uint32_t oif;
	uint8_t gateway[16];     /* the gateway of the route's family */
	bool has_gateway;        /* false: on link */
	uint32_t mtu;            /* RTAX_MTU; 0: none */
	uint32_t locked;         /* RTAX_LOCK: the metrics locked, by 1 << RTAX_* */
	bool multipath, ipv6_gateway;
};

/* ---- rtnetlink ---------------------------------------------------------- */

struct nl_request {
	struct nlmsghdr h;
	union {
		struct rtmsg rt;
		struct ndmsg nd;
	};
	uint8_t attrs[64];
};

static void add_attr(struct nl_request *r, uint16_t type, const void *data, uint16_t len)
{
	struct rtattr *a = (struct rtattr *)(void *)((uint8_t *)r + NLMSG_ALIGN(r->h.nlmsg_len));
	a->rta_type = type;
	a->rta_len = (uint16_t)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* Sends r and receives its one answer into buf: its length, or the
 * negative errno the kernel answered with (or a socket's). */
static int nl_ask(struct nl_request *r, uint8_t *buf, size_t cap)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	r->h.nlmsg_flags |= NLM_F_REQUEST;
	r->h.nlmsg_seq = 1;
	int rc = -EIO;
	if (sendto(fd, r, r->h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
		rc = -errno;
	} else {
		ssize_t n = recv(fd, buf, cap, 0);
		const struct nlmsghdr *h = (const struct nlmsghdr *)(const void *)buf;
		if (n < 0)
			rc = -errno;
		else if (!NLMSG_OK(h, (size_t)n))
			rc = -EIO;
		else if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr)))
			rc = ((const struct nlmsgerr *)NLMSG_DATA(h))->error;
		else
			rc = (int)h->nlmsg_len;
	}
	close(fd);
	return rc;
}

/* Copies attribute a's u32 if it holds one. */
static void attr_u32(const struct rtattr *a, uint32_t *out)
{
	if (RTA_PAYLOAD(a) >= 4)
		memcpy(out, RTA_DATA(a), 4);
}

static void route_metrics(const struct rtattr *metrics, struct fib_route *out)
{
	int len = (int)RTA_PAYLOAD(metrics);
	for (const struct rtattr *m = RTA_DATA(metrics); RTA_OK(m, len); m = RTA_NEXT(m, len))
		if (m->rta_type == RTAX_MTU)
			attr_u32(m, &out->mtu);
		else if (m->rta_type == RTAX_LOCK)
			attr_u32(m, &out->locked);
}

static void route_attrs(const struct nlmsghdr *h, struct fib_route *out)
{
	const struct rtmsg *rt = NLMSG_DATA(h);
	out->type = rt->rtm_type;
	int len = (int)RTM_PAYLOAD(h);
	for (const struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		switch (a->rta_type) {
		case RTA_PRIORITY: attr_u32(a, &out->priority); break;
		case RTA_OIF: attr_u32(a, &out->oif); break;
		case RTA_GATEWAY:
			if (RTA_PAYLOAD(a) == 4 || RTA_PAYLOAD(a) == 16) {
				memcpy(out->gateway, RTA_DATA(a), RTA_PAYLOAD(a));
				out->has_gateway = true;
			}
			break;
		case RTA_VIA: out->ipv6_gateway = true; break;
		case RTA_MULTIPATH: out->multipath = true; break;
		case RTA_METRICS: route_metrics(a, out); break;
		default: break;
		}
	}
}

static uint16_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* The FIB entry a lookup of dst (an address of family) matches (oif: only
 * routes out of it; 0: any): 0, or the lookup's error. */
static int route_get(int family, const void *dst, uint8_t tos, uint32_t oif, struct fib_route *out)
{
	struct nl_request r = { .h = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)), .nlmsg_type = RTM_GETROUTE },
	                        .rt = { .rtm_family = (uint8_t)family, .rtm_dst_len = (uint8_t)(addr_len(family) * 8),
	                                .rtm_tos = tos, .rtm_flags = RTM_F_FIB_MATCH } };
	add_attr(&r, RTA_DST, dst, addr_len(family));
	if (oif)
		add_attr(&r, RTA_OIF, &oif, 4);
	uint8_t buf[4096] __attribute__((aligned(4)));
	int n = nl_ask(&r, buf, sizeof buf);
	if (n < 0)
		return n;
	const struct nlmsghdr *h = (const struct nlmsghdr *)(const void *)buf;
	if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
		return -EIO;
	memset(out, 0, sizeof *out);
	route_attrs(h, out);
	return 0;
}

/* The neighbour ip (an address of family) on ifindex: 0 with its MAC if
 * it is in a valid state, else -ENOENT. */
static int neigh_get(int family, uint32_t ifindex, const void *ip, uint8_t mac[6])
{
	struct nl_request r = { .h = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg)), .nlmsg_type = RTM_GETNEIGH },
	                        .nd = { .ndm_family = (uint8_t)family, .ndm_ifindex = (int)ifindex } };
	add_attr(&r, NDA_DST, ip, addr_len(family));
	uint8_t buf[1024] __attribute__((aligned(4)));
	int n = nl_ask(&r, buf, sizeof buf);
	const struct nlmsghdr *h = (const struct nlmsghdr *)(const void *)buf;
	if (n < 0 || h->nlmsg_type != RTM_NEWNEIGH || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ndmsg)))
		return -ENOENT;
	const struct ndmsg *nd = NLMSG_DATA(h);
	if (!(nd->ndm_state & NUD_VALID_STATES))
		return -ENOENT;
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *nd));
	for (const struct rtattr *a = (const struct rtattr *)(const void *)((const uint8_t *)nd + NLMSG_ALIGN(sizeof *nd));
	     RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6) {
			memcpy(mac, RTA_DATA(a), 6);
			return 0;
		}
	return -ENOENT;
}

/* ---- devices -------------------------------------------------------------- */

/* The device's name, MAC and MTU: 0, or -ENODEV. */
static int device_get(uint32_t ifindex, char name[IF_NAMESIZE], uint8_t mac[6], uint32_t *mtu)
{
	if (!if_indextoname(ifindex, name))
		return -ENODEV;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -ENODEV;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	int rc = ioctl(fd, SIOCGIFHWADDR, &ifr);
	if (rc == 0)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	if (rc == 0 && (rc = ioctl(fd, SIOCGIFMTU, &ifr)) == 0)
		*mtu = (uint32_t)ifr.ifr_mtu;
	close(fd);
	return rc == 0 ? 0 : -ENODEV;
}

static bool sysctl_on(const char *path)
{
	FILE *f = fopen(path, "re");
	int on = 0;
	if (f) {
		if (fscanf(f, "%d", &on) != 1)
			on = 0;
		fclose(f);
	}
	return on != 0;
}

/* IN_DEV_FORWARD(), idev->cnf.forwarding: the device forwards the
 * family (and has it at all). */
static bool forwarding(int family, const char *name)
{
	char path[64 + IF_NAMESIZE];
	snprintf(path, sizeof path, "/proc/sys/net/%s/conf/%s/forwarding", family == AF_INET ? "ipv4" : "ipv6", name);
	return sysctl_on(path);
}

/* ---- the lookup --------------------------------------------------------------- */

/* The kernel's answer to an IPv4 FIB lookup error (bpf_ipv4_fib_lookup). */
static long lookup_error(int err)
{
	switch (err) {
	case -EINVAL: return BPF_FIB_LKUP_RET_BLACKHOLE;
	case -EHOSTUNREACH: return BPF_FIB_LKUP_RET_UNREACHABLE;
	case -EACCES: return BPF_FIB_LKUP_RET_PROHIBIT;
	default: return BPF_FIB_LKUP_RET_NOT_FWDED;
	}
}

/* ip_mtu_from_fib_result(): the route's MTU metric if it is locked (or
 * ip_forward_use_pmtu is on), else the device's.  (The kernel would also
 * take a path MTU learnt for the destination: not seen here.) */
static uint32_t route_mtu(const struct fib_route *rt)
{
	char name[IF_NAMESIZE];
	uint8_t mac[6];
	uint32_t mtu = 0;
	if (rt->mtu && ((rt->locked & (1u << RTAX_MTU)) || sysctl_on("/proc/sys/net/ipv4/ip_forward_use_pmtu")))
		return rt->mtu;
	return device_get(rt->oif, name, mac, &mtu) == 0 ? mtu : 0;
}

/* The end of both lookups: the next hop's MAC (NO_NEIGH without a valid
 * neighbour entry), the device's, and the MTU found. */
static long forward_to(int family, struct bpf_fib_lookup *p, const void *next_hop, uint32_t mtu)
{
	char name[IF_NAMESIZE];
	uint8_t dmac[6], smac[6];
	uint32_t dev_mtu;
	if (neigh_get(family, p->ifindex, next_hop, dmac) < 0 || device_get(p->ifindex, name, smac, &dev_mtu) < 0)
		return BPF_FIB_LKUP_RET_NO_NEIGH;
	memcpy(p->dmac, dmac, 6);
	memcpy(p->smac, smac, 6);
	p->h_vlan_TCI = 0;
	p->h_vlan_proto = 0;
	if (mtu)
		p->mtu_result = (uint16_t)mtu;
	return BPF_FIB_LKUP_RET_SUCCESS;
}

/* bpf_ipv4_fib_lookup(): check_mtu for XDP, and for tc given a tot_len
 * (else tc checks the packet against the device after).  why: set when
 * the run must fail. */
static long ipv4_lookup(struct bpf_fib_lookup *p, uint32_t flags, bool check_mtu, const char **why)
{
	char name[IF_NAMESIZE];
	uint8_t mac[6];
	uint32_t dev_mtu;
	if (device_get(p->ifindex, name, mac, &dev_mtu) < 0)
		return -ENODEV;
	if (!forwarding(AF_INET, name))
		return BPF_FIB_LKUP_RET_FWD_DISABLED;
	struct fib_route rt;
	int err = route_get(AF_INET, &p->ipv4_dst, p->tos & 0xfc, flags & BPF_FIB_LOOKUP_OUTPUT ? p->ifindex : 0, &rt);
	if (err)
		return lookup_error(err);
	if (rt.type != RTN_UNICAST)
		return BPF_FIB_LKUP_RET_NOT_FWDED;
	if (rt.multipath || rt.ipv6_gateway) {
		*why = rt.multipath ? "a multipath route" : "an IPv4 route through an IPv6 gateway";
		return 0;
	}
	uint32_t mtu = check_mtu ? route_mtu(&rt) : 0;
	if (check_mtu && p->tot_len > mtu) {
		p->mtu_result = (uint16_t)mtu;
		return BPF_FIB_LKUP_RET_FRAG_NEEDED;
	}
	p->rt_metric = rt.priority;
	p->ifindex = rt.oif;
	if (rt.has_gateway)
		memcpy(&p->ipv4_dst, rt.gateway, 4);
	return forward_to(AF_INET, p, &p->ipv4_dst, mtu);
}

/* rt6_need_strict(): multicast, link-local and loopback addresses, which
 * are never forwarded. */
static bool ipv6_never_forwarded(const uint32_t addr[4])
{
	const uint8_t *b = (const uint8_t *)addr;
	static const uint8_t loopback[16] = { [15] = 1 };
	return b[0] == 0xff || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || memcmp(b, loopback, 16) == 0;
}

/* ip6_mtu_from_fib6(): the route's MTU if locked, else the device's
 * IPv6 MTU (at least 1280).  (A path MTU learnt for the destination is
 * not seen here.) */
static uint32_t route6_mtu(const struct fib_route *rt)
{
	if (rt->mtu && (rt->locked & (1u << RTAX_MTU)))
		return rt->mtu;
	char name[IF_NAMESIZE], path[64 + IF_NAMESIZE];
	uint32_t mtu = 0;
	if (if_indextoname(rt->oif, name)) {
		snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/mtu", name);
		FILE *f = fopen(path, "re");
		if (f) {
			if (fscanf(f, "%u", &mtu) != 1)
				mtu = 0;
			fclose(f);
		}
	}
	return mtu > 1280 ? mtu : 1280;
}

/* bpf_ipv6_fib_lookup(): blackhole, unreachable and prohibit are the
 * matched route's type, which RTM_GETROUTE answers with its error (as
 * for IPv4); any other failure is NOT_FWDED. */
static long ipv6_lookup(struct bpf_fib_lookup *p, uint32_t flags, bool check_mtu, const char **why)
{
	if (ipv6_never_forwarded(p->ipv6_dst) || ipv6_never_forwarded(p->ipv6_src))
		return BPF_FIB_LKUP_RET_NOT_FWDED;
	char name[IF_NAMESIZE];
	uint8_t mac[6];
	uint32_t dev_mtu;
	if (device_get(p->ifindex, name, mac, &dev_mtu) < 0)
		return -ENODEV;
	if (!forwarding(AF_INET6, name))
		return BPF_FIB_LKUP_RET_FWD_DISABLED;
	struct fib_route rt;
	int err = route_get(AF_INET6, p->ipv6_dst, 0, flags & BPF_FIB_LOOKUP_OUTPUT ? p->ifindex : 0, &rt);
	if (err)
		return lookup_error(err);   /* a reject route's dst error says which */
	switch (rt.type) {
	case RTN_UNICAST: break;
	case RTN_BLACKHOLE: return BPF_FIB_LKUP_RET_BLACKHOLE;
	case RTN_UNREACHABLE: return BPF_FIB_LKUP_RET_UNREACHABLE;
	case RTN_PROHIBIT: return BPF_FIB_LKUP_RET_PROHIBIT;
	default: return BPF_FIB_LKUP_RET_NOT_FWDED;
	}
	if (rt.multipath) {
		*why = "a multipath route";
		return 0;
	}
	uint32_t mtu = check_mtu ? route6_mtu(&rt) : 0;
	if (check_mtu && p->tot_len > mtu) {
		p->mtu_result = (uint16_t)mtu;
		return BPF_FIB_LKUP_RET_FRAG_NEEDED;
	}
	p->rt_metric = rt.priority;
	p->ifindex = rt.oif;
	if (rt.has_gateway)
		memcpy(p->ipv6_dst, rt.gateway, 16);
	return forward_to(AF_INET6, p, p->ipv6_dst, mtu);
}

static bool fail(bpfvm_run *run, const char *what)
{
	char msg[160];
	snprintf(msg, sizeof msg, "bpf_fib_lookup: %s is not supported by bpfvm", what);
	bpfvm_run_fail(run, msg);
	return false;
}

/* The checks before the lookup (plen, flags, family): -EINVAL and
 * -EAFNOSUPPORT as the kernel's; false if the run failed. */
static bool lookup_allowed(bpfvm_run *run, const struct bpf_fib_lookup *p, uint64_t plen, uint64_t flags,
                           long *early)
{
	*early = 0;
	if ((int32_t)plen < (int32_t)sizeof *p || (flags & ~(uint64_t)FIB_FLAGS_KNOWN)) {
		*early = -EINVAL;
		return true;
	}
	if (flags & ~(uint64_t)FIB_FLAGS_SUPPORTED)
		return fail(run, "a flag other than BPF_FIB_LOOKUP_DIRECT and BPF_FIB_LOOKUP_OUTPUT");
	if (p->family != AF_INET && p->family != AF_INET6)
		*early = -EAFNOSUPPORT;
	return true;
}

/* tc without tot_len: after a successful lookup, the device's MTU, and
 * FRAG_NEEDED for a packet the device cannot send (is_skb_forwardable). */
static long tc_after(const bpfvm_run *run, struct bpf_fib_lookup *p, long rc)
{
	char name[IF_NAMESIZE];
	uint8_t mac[6];
	uint32_t mtu;
	if (rc != BPF_FIB_LKUP_RET_SUCCESS || device_get(p->ifindex, name, mac, &mtu) < 0)
		return rc;
	if (run->hook->pkt_len > mtu + ETH_HEADER_LEN + 4)
		rc = BPF_FIB_LKUP_RET_FRAG_NEEDED;
	p->mtu_result = (uint16_t)mtu;
	return rc;
}

static uint64_t h_fib_lookup(uint64_t ctx, uint64_t params, uint64_t plen, uint64_t flags, uint64_t e,
                             bpfvm_run *run)
{
	(void)e;
	bool xdp = run->prog->prog_type == BPF_PROG_TYPE_XDP;
	if (xdp && !helper_xdp_ctx(run, "bpf_fib_lookup", ctx))
		return 0;
	const struct hook_state *h = run->hook;
	if (!xdp && (!h || !h->pkt || (uint64_t)(uintptr_t)h->ctx != ctx)) {
		bpfvm_run_fail(run, "bpf_fib_lookup: r1 is not the packet context of this run");
		return 0;
	}
	if (!helper_check(run, "bpf_fib_lookup", params, plen, true))
		return 0;
	struct bpf_fib_lookup p;
	memcpy(&p, (const void *)(uintptr_t)params, sizeof p);
	long rc;
	if (!lookup_allowed(run, &p, plen, flags, &rc))
		return 0;
	if (rc)
		return (uint64_t)rc;
	const char *why = NULL;
	/* tc checks the MTU in the lookup only when given tot_len */
	bool check_mtu = xdp || p.tot_len;
	if (p.family == AF_INET)
		rc = ipv4_lookup(&p, (uint32_t)flags, check_mtu, &why);
	else
		rc = ipv6_lookup(&p, (uint32_t)flags, check_mtu, &why);
	if (why) {
		fail(run, why);
		return 0;
	}
	if (!check_mtu)
		rc = tc_after(run, &p, rc);
	memcpy((void *)(uintptr_t)params, &p, sizeof p);
	return (uint64_t)rc;
}

#define A(...) { __VA_ARGS__ }

const struct helper_desc helper_descs_fib[] = {
	{ .proto = { .id = BPF_FUNC_fib_lookup, .name = "bpf_fib_lookup", .ret = RET_INTEGER,
	             .args = A(ARG_CTX, ARG_MEM, ARG_SIZE, ARG_ANYTHING) },
	  .fn = h_fib_lookup, .has_proto = true, .prog_types = PROGS_TC | PROGS_XDP },
};
const size_t helper_descs_fib_count = sizeof helper_descs_fib / sizeof helper_descs_fib[0];
