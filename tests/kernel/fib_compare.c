/*
 * fib_compare.c - bpf_fib_lookup in bpfvm against the running kernel's,
 * inside the network namespace tests/kernel_fib_lookup.sh prepares (its
 * devices, addresses, routes, neighbours and forwarding switches are
 * listed there); run only through that script.
 *
 * Owns: the cases and the comparison.  One XDP program copies a struct
 * bpf_fib_lookup from the packet, calls bpf_fib_lookup(ctx, params, plen,
 * flags) and copies it back, as XDP and as tc (sched_cls) programs:
 * BPF_PROG_TEST_RUN and bpfvm's test run must
 * return the same code and leave the same 64 bytes (ifindex, rt_metric,
 * the gateway in ipv4_dst or ipv6_dst, smac, dmac, mtu_result), for IPv4
 * and IPv6.  What bpfvm refuses (the flags beyond DIRECT and OUTPUT) must
 * fail the run naming it.
 *
 * Output: one FAIL line per mismatch, then "N passed, M failed".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "support/check.h"
#include "support/kbpf.h"

static uint32_t prog_type = BPF_PROG_TYPE_XDP;

/* r2 = data, r3 = data_end (of struct xdp_md or struct __sk_buff); if
 * data + 64 > data_end: return 1000. */
static void put_packet_check(struct kcode *c)
{
	bool xdp = prog_type == BPF_PROG_TYPE_XDP;
	kput(c, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_6, xdp ? 0 : 76, 0);
	kput(c, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_6, xdp ? 4 : 80, 0);
	kput(c, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_4, BPF_REG_2, 0, 0);
	kput(c, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_4, 0, 0, 64);
	kput(c, BPF_JMP | BPF_JLE | BPF_X, BPF_REG_4, BPF_REG_3, 2, 0);
	kput(c, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1000);
	kput(c, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static void build(struct kcode *c, int32_t plen, int32_t flags)
{
	c->n = 0;
	kput(c, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0);
	put_packet_check(c);
	for (int16_t o = 0; o < 64; o += 8) {
		kput(c, BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_5, BPF_REG_2, o, 0);
		kput(c, BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_5, (int16_t)(o - 64), 0);
	}
	kput(c, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_6, 0, 0);
	kput(c, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
	kput(c, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -64);
	kput(c, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, plen);
	kput(c, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, flags);
	kput(c, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_fib_lookup);
	kput(c, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_7, BPF_REG_0, 0, 0);
	put_packet_check(c);
	for (int16_t o = 0; o < 64; o += 8) {
		kput(c, BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_5, BPF_REG_10, (int16_t)(o - 64), 0);
		kput(c, BPF_STX | BPF_MEM | BPF_DW, BPF_REG_2, BPF_REG_5, o, 0);
	}
	kput(c, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_0, BPF_REG_7, 0, 0);
	kput(c, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

struct result {
	int rc;
	int32_t retval;
	struct bpf_fib_lookup out;
	char msg[256];
};

static void krun(const struct kcode *c, const struct bpf_fib_lookup *in, struct result *r)
{
	memset(r, 0, sizeof *r);
	int fd = kprog_load(prog_type, c->i, c->n);
	if (fd < 0) {
		r->rc = fd;
		return;
	}
	uint8_t pkt[64];
	memcpy(pkt, in, 64);
	uint32_t retval = 0;
	r->rc = kprog_test_run(fd, pkt, sizeof pkt, &r->out, sizeof r->out, NULL, &retval);
	r->retval = (int32_t)retval;
	close(fd);
}

static bpfvm_helpers *helpers;

static void brun(const struct kcode *c, const struct bpf_fib_lookup *in, struct result *r)
{
	memset(r, 0, sizeof *r);
	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = helpers, .prog_type = prog_type);
	bpfvm_program *prog = NULL;
	bpfvm_error err;
	r->rc = bpfvm_program_load((const bpfvm_insn *)c->i, c->n, &lo, &prog, &err);
	if (r->rc) {
		snprintf(r->msg, sizeof r->msg, "%s", err.msg);
		return;
	}
	uint8_t pkt[64];
	memcpy(pkt, in, 64);
	BPFVM_OPTS(bpfvm_test_run, t, .data_in = pkt, .data_size_in = sizeof pkt, .data_out = &r->out,
	           .data_size_out = sizeof r->out, .mode = BPFVM_CHECKED);
	r->rc = bpfvm_program_test_run(prog, &t, &err);
	if (r->rc)
		snprintf(r->msg, sizeof r->msg, "%s", err.msg);
	r->retval = (int32_t)t.retval;
	bpfvm_program_free(prog);
}

struct fib_case {
	const char *what;
	const char *dev;          /* the ingress (or, with OUTPUT, egress) device; NULL: ifindex 9999 */
	const char *dst;
	uint16_t tot_len;
	int32_t flags, plen;
	uint8_t family;
	const char *src;          /* IPv6 cases: the source (NULL: fd00:1::50) */
};

static uint32_t addr(const char *s)
{
	struct in_addr a = { 0 };
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static void params_of(const struct fib_case *fc, struct bpf_fib_lookup *p)
{
	memset(p, 0, sizeof *p);
	p->family = fc->family ? fc->family : AF_INET;
	p->l4_protocol = 17;
	p->sport = htons(1234);
	p->dport = htons(53);
	p->tot_len = fc->tot_len;
	p->ifindex = fc->dev ? if_nametoindex(fc->dev) : 9999;
	if (p->family == AF_INET6) {
		inet_pton(AF_INET6, fc->src ? fc->src : "fd00:1::50", p->ipv6_src);
		inet_pton(AF_INET6, fc->dst, p->ipv6_dst);
		return;
	}
	p->ipv4_src = addr("10.1.0.50");
	p->ipv4_dst = addr(fc->dst);
}

static void compare(const struct fib_case *fc)
{
	struct kcode c;
	build(&c, fc->plen ? fc->plen : 64, fc->flags);
	struct bpf_fib_lookup in;
	params_of(fc, &in);
	static struct result k, b;
	krun(&c, &in, &k);
	brun(&c, &in, &b);
	CHECK(k.rc == 0 && b.rc == 0 && k.retval == b.retval && memcmp(&k.out, &b.out, sizeof k.out) == 0,
	      "%s %s (dst %s, flags %d): kernel rc %d ret %d ifindex %u dst %08x metric %u mtu %u, "
	      "bpfvm rc %d ret %d ifindex %u dst %08x metric %u mtu %u %s", prog_type == BPF_PROG_TYPE_XDP ? "xdp" : "tc",
	      fc->what, fc->dst, fc->flags, k.rc,
	      k.retval, k.out.ifindex, k.out.ipv4_dst, k.out.rt_metric, k.out.mtu_result, b.rc, b.retval,
	      b.out.ifindex, b.out.ipv4_dst, b.out.rt_metric, b.out.mtu_result, b.msg);
}

static void refused(const struct fib_case *fc, const char *want)
{
	struct kcode c;
	build(&c, 64, fc->flags);
	struct bpf_fib_lookup in;
	params_of(fc, &in);
	struct result b;
	brun(&c, &in, &b);
	CHECK(b.rc != 0 && strstr(b.msg, want), "%s: want the run refused with '%s', got rc %d '%s'", fc->what, want,
	      b.rc, b.msg);
}

int main(void)
{
	bpfvm_error err;
	helpers = bpfvm_helpers_new_kernel(&err);
	if (!helpers) {
		printf("FAIL helper table: %s\n", err.msg);
		return 1;
	}
	static const struct fib_case cases[] = {
		{ "gateway with a neighbour", "veth0", "192.0.2.10", 100, 0, 0, 0, NULL },
		{ "gateway with a neighbour, DIRECT", "veth0", "192.0.2.10", 100, BPF_FIB_LOOKUP_DIRECT, 0, 0, NULL },
		{ "gateway with a neighbour, OUTPUT", "veth2", "192.0.2.10", 100, BPF_FIB_LOOKUP_OUTPUT, 0, 0, NULL },
		{ "route MTU 1000 (not locked), packet 1200", "veth0", "192.0.2.200", 1200, 0, 0, 0, NULL },
		{ "route MTU 1000 locked, packet 1200", "veth0", "192.0.2.70", 1200, 0, 0, 0, NULL },
		{ "route MTU 1000 locked, packet 900", "veth0", "192.0.2.70", 900, 0, 0, 0, NULL },
		{ "device MTU 1500, packet 1501", "veth0", "192.0.2.10", 1501, 0, 0, 0, NULL },
		{ "gateway without a neighbour", "veth0", "198.51.100.1", 100, 0, 0, 0, NULL },
		{ "on link, neighbour", "veth0", "10.2.0.2", 100, 0, 0, 0, NULL },
		{ "on link, stale neighbour", "veth0", "10.2.0.5", 100, 0, 0, 0, NULL },
		{ "on link, no neighbour", "veth0", "10.2.0.9", 100, 0, 0, 0, NULL },
		{ "blackhole route", "veth0", "203.0.113.5", 100, 0, 0, 0, NULL },
		{ "blackhole route, DIRECT", "veth0", "203.0.113.5", 100, BPF_FIB_LOOKUP_DIRECT, 0, 0, NULL },
		{ "unreachable route", "veth0", "100.64.1.1", 100, 0, 0, 0, NULL },
		{ "prohibit route", "veth0", "198.18.3.4", 100, 0, 0, 0, NULL },
		{ "no route", "veth0", "8.8.8.8", 100, 0, 0, 0, NULL },
		{ "no route, DIRECT", "veth0", "8.8.8.8", 100, BPF_FIB_LOOKUP_DIRECT, 0, 0, NULL },
		{ "a local address", "veth0", "10.2.0.1", 100, 0, 0, 0, NULL },
		{ "a broadcast address", "veth0", "10.2.0.255", 100, 0, 0, 0, NULL },
		{ "forwarding off on the ingress", "veth1", "192.0.2.10", 100, 0, 0, 0, NULL },
		{ "no such device", NULL, "192.0.2.10", 100, 0, 0, 0, NULL },
		{ "params shorter than the struct", "veth0", "192.0.2.10", 100, 0, 63, 0, NULL },
		{ "an unknown flag", "veth0", "192.0.2.10", 100, 1 << 6, 0, 0, NULL },
		{ "an unknown family", "veth0", "192.0.2.10", 100, 0, 0, 99, NULL },
		{ "no tot_len", "veth0", "192.0.2.10", 0, 0, 0, 0, NULL },
		{ "no tot_len, route MTU 1000 locked", "veth0", "192.0.2.70", 0, 0, 0, 0, NULL },
		{ "v6 gateway with a neighbour", "veth0", "2001:db8:1::5", 100, 0, 0, AF_INET6, NULL },
		{ "v6 gateway with a neighbour, DIRECT", "veth0", "2001:db8:1::5", 100, BPF_FIB_LOOKUP_DIRECT, 0,
		  AF_INET6, NULL },
		{ "v6 gateway with a neighbour, OUTPUT", "veth2", "2001:db8:1::5", 100, BPF_FIB_LOOKUP_OUTPUT, 0,
		  AF_INET6, NULL },
		{ "v6 gateway without a neighbour", "veth0", "2001:db8:2::5", 100, 0, 0, AF_INET6, NULL },
		{ "v6 route MTU 1300 locked, packet 1400", "veth0", "2001:db8:3::5", 1400, 0, 0, AF_INET6, NULL },
		{ "v6 route MTU 1300 locked, packet 1200", "veth0", "2001:db8:3::5", 1200, 0, 0, AF_INET6, NULL },
		{ "v6 device MTU 1500, packet 1501", "veth0", "2001:db8:1::5", 1501, 0, 0, AF_INET6, NULL },
		{ "v6 no tot_len", "veth0", "2001:db8:1::5", 0, 0, 0, AF_INET6, NULL },
		{ "v6 on link, neighbour", "veth0", "fd00:2::2", 100, 0, 0, AF_INET6, NULL },
		{ "v6 on link, no neighbour", "veth0", "fd00:2::9", 100, 0, 0, AF_INET6, NULL },
		{ "v6 blackhole route", "veth0", "2001:db8:dead::1", 100, 0, 0, AF_INET6, NULL },
		{ "v6 unreachable route", "veth0", "2001:db8:beef::1", 100, 0, 0, AF_INET6, NULL },
		{ "v6 prohibit route", "veth0", "2001:db8:cafe::1", 100, 0, 0, AF_INET6, NULL },
		{ "v6 no route", "veth0", "2001:4860::8888", 100, 0, 0, AF_INET6, NULL },
		{ "v6 no route, DIRECT", "veth0", "2001:4860::8888", 100, BPF_FIB_LOOKUP_DIRECT, 0, AF_INET6, NULL },
		{ "v6 a local address", "veth0", "fd00:2::1", 100, 0, 0, AF_INET6, NULL },
		{ "v6 a link-local destination", "veth0", "fe80::1", 100, 0, 0, AF_INET6, NULL },
		{ "v6 a multicast destination", "veth0", "ff02::1", 100, 0, 0, AF_INET6, NULL },
		{ "v6 a link-local source", "veth0", "2001:db8:1::5", 100, 0, 0, AF_INET6, "fe80::5" },
		{ "v6 forwarding off on the ingress", "veth1", "2001:db8:1::5", 100, 0, 0, AF_INET6, NULL },
		{ "v6 no such device", NULL, "2001:db8:1::5", 100, 0, 0, AF_INET6, NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		compare(&cases[i]);
	/* tc: the MTU checked in the lookup when tot_len is given, else the
	 * packet against the device's after it */
	prog_type = BPF_PROG_TYPE_SCHED_CLS;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		compare(&cases[i]);
	prog_type = BPF_PROG_TYPE_XDP;
	static const struct fib_case skip = { "SKIP_NEIGH", "veth0", "192.0.2.10", 100, BPF_FIB_LOOKUP_SKIP_NEIGH, 0, 0, NULL };
	refused(&skip, "not supported by bpfvm");
	static const struct fib_case src = { "SRC", "veth0", "192.0.2.10", 100, BPF_FIB_LOOKUP_SRC, 0, 0, NULL };
	refused(&src, "not supported by bpfvm");
	bpfvm_helpers_free(helpers);
	return check_summary();
}
