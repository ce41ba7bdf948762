/*
 * progtypes.c - test runs per program type, after the kernel's
 * BPF_PROG_TEST_RUN: building the context from data_in/ctx_in, running,
 * and giving back the packet and context.
 *
 * Owns: the program type table (names as bpftool prints them), and for
 * each supported type how its context is built and read back:
 *   raw             r1 = data, r2 = length
 *   xdp             struct xdp_md over a frame with 256 bytes of headroom,
 *                   ingress on the loopback device (ifindex 1) as the
 *                   kernel's test run does
 *   socket_filter   struct __sk_buff; the program sees the packet from the
 *                   network header on, and the Ethernet header comes back
 *                   zeroed, as in the kernel
 *   sched_cls/act   struct __sk_buff from the Ethernet header on
 *   kprobe          struct pt_regs from ctx_in
 *   tracepoint,
 *   raw_tracepoint  the record / the u64 arguments from ctx_in
 */
#include <errno.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "core/opts.h"
#include "progtypes/progtypes.h"

static const struct {
	uint32_t type;
	const char *name;
} type_names[] = {
	{ BPFVM_PROG_TYPE_RAW, "raw" },
	{ BPF_PROG_TYPE_SOCKET_FILTER, "socket_filter" },
	{ BPF_PROG_TYPE_KPROBE, "kprobe" },
	{ BPF_PROG_TYPE_SCHED_CLS, "sched_cls" },
	{ BPF_PROG_TYPE_SCHED_ACT, "sched_act" },
	{ BPF_PROG_TYPE_TRACEPOINT, "tracepoint" },
	{ BPF_PROG_TYPE_XDP, "xdp" },
	{ BPF_PROG_TYPE_PERF_EVENT, "perf_event" },
	{ BPF_PROG_TYPE_CGROUP_SKB, "cgroup_skb" },
	{ BPF_PROG_TYPE_RAW_TRACEPOINT, "raw_tracepoint" },
	{ BPF_PROG_TYPE_TRACING, "tracing" },
	{ BPF_PROG_TYPE_LSM, "lsm" },
	{ BPF_PROG_TYPE_SYSCALL, "syscall" },
};

const char *bpfvm_prog_type_name(uint32_t type)
{
	for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
		if (type_names[i].type == type)
			return type_names[i].name;
	return NULL;
}

/* Each thread keeps one low frame and reuses it: mapping memory costs far
 * more than the run of a small program on a packet. */
static __thread uint8_t *cached_frame;
static __thread size_t cached_len;

/* A zeroed low mapping of at least h->frame_len bytes into h->frame. */
static void *map_low(struct hook_state *h)
{
	size_t len = (h->frame_len + 65535) & ~(size_t)65535;
	if (cached_frame && cached_len >= len) {
		h->frame = cached_frame;
		h->alloc_len = cached_len;
		cached_frame = NULL;
		memset(h->frame, 0, h->frame_len);
		return h->frame;
	}
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	h->frame = p;
	h->alloc_len = len;
	return p;
}

static void unmap_low(uint8_t *p, size_t len)
{
	if (!cached_frame) {
		cached_frame = p;
		cached_len = len;
		return;
	}
	if (cached_len < len) {
		munmap(cached_frame, cached_len);
		cached_frame = p;
		cached_len = len;
		return;
	}
	munmap(p, len);
}

/* Everything in a ctx_in that the kernel refuses must be zero. */
static bool all_zero(const void *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (((const uint8_t *)p)[i])
			return false;
	return true;
}

static int prepare_xdp(struct hook_state *h, const bpfvm_test_run *t, bpfvm_error *err)
{
	if (t->data_size_in < ETH_HEADER_LEN)
		return isa_error(err, -EINVAL, -1, "xdp test run: data_in of %u bytes is shorter than an Ethernet header",
		                 t->data_size_in);
	struct xdp_md in = { 0 };
	if (t->ctx_in) {
		if (t->ctx_size_in != sizeof in)
			return isa_error(err, -EINVAL, -1, "xdp test run: ctx_in must be a struct xdp_md (%zu bytes)",
			                 sizeof in);
		memcpy(&in, t->ctx_in, sizeof in);
		if (in.egress_ifindex || in.data_end)
			return isa_error(err, -EINVAL, -1, "xdp test run: ctx_in.egress_ifindex and data_end must be 0");
		if (in.data > t->data_size_in || in.data > 32 || in.data % 4)
			return isa_error(err, -EINVAL, -1, "xdp test run: ctx_in.data (metadata length %u) is invalid",
			                 in.data);
		if (in.ingress_ifindex != 0 && in.ingress_ifindex != 1)
			return isa_error(err, -EINVAL, -1,
			                 "xdp test run: ingress_ifindex %u: only the loopback device (1) exists here",
			                 in.ingress_ifindex);
		if (in.rx_queue_index)
			return isa_error(err, -EINVAL, -1, "xdp test run: rx_queue_index must be 0");
	}
	/* a page, as the kernel's test run gives, or more for a big packet */
	h->frame_len = XDP_HEADROOM + t->data_size_in + XDP_TAILROOM;
	if (h->frame_len < 4096)
		h->frame_len = 4096;
	map_low(h);
	h->ctx_len = sizeof(struct xdp_md);
	h->ctx = calloc(1, h->ctx_len);
	if (!h->frame || !h->ctx)
		return isa_error(err, -ENOMEM, -1, "xdp test run: out of memory");
	uint8_t *meta = h->frame + XDP_HEADROOM;
	memcpy(meta, t->data_in, t->data_size_in);
	struct xdp_md *md = h->ctx;
	md->data_meta = (uint32_t)(uintptr_t)meta;
	md->data = (uint32_t)(uintptr_t)(meta + in.data);
	md->data_end = (uint32_t)(uintptr_t)(meta + t->data_size_in);
	md->ingress_ifindex = 1;
	return 0;
}

static void finish_xdp(struct hook_state *h, bpfvm_test_run *t)
{
	const struct xdp_md *md = h->ctx;
	uint8_t *meta = xdp_ptr(md->data_meta), *data = xdp_ptr(md->data), *end = xdp_ptr(md->data_end);
	uint32_t size = (uint32_t)(end - meta);
	if (t->data_out) {
		uint32_t n = size < t->data_size_out ? size : t->data_size_out;
		memcpy(t->data_out, meta, n);
	}
	t->data_size_out = size;
	if (t->ctx_out) {
		struct xdp_md out = { .data = (uint32_t)(data - meta), .data_end = size,
		                      .ingress_ifindex = md->ingress_ifindex };
		uint32_t n = t->ctx_size_out < sizeof out ? t->ctx_size_out : (uint32_t)sizeof out;
		memcpy(t->ctx_out, &out, n);
		t->ctx_size_out = sizeof out;
	}
}

/* eth_type_trans on the loopback device, whose address and broadcast
 * address are both 00:00:00:00:00:00: so ff:ff:ff:ff:ff:ff counts as
 * multicast, as the kernel's test runs show. */
static uint32_t packet_type(const uint8_t *eth)
{
	static const uint8_t zero[6];
	if (!memcmp(eth, zero, 6))
		return 0;             /* PACKET_HOST */
	return eth[0] & 1 ? 2 : 3;   /* PACKET_MULTICAST : PACKET_OTHERHOST */
}

static int prepare_skb(struct hook_state *h, const bpfvm_test_run *t, bpfvm_error *err)
{
	if (t->data_size_in < ETH_HEADER_LEN)
		return isa_error(err, -EINVAL, -1, "skb test run: data_in of %u bytes is shorter than an Ethernet header",
		                 t->data_size_in);
	struct __sk_buff in = { 0 };
	if (t->ctx_in) {
		if (t->ctx_size_in > sizeof in)
			return isa_error(err, -EINVAL, -1, "skb test run: ctx_in is larger than struct __sk_buff");
		memcpy(&in, t->ctx_in, t->ctx_size_in);
		/* the fields the kernel lets a test run set */
		struct __sk_buff allowed = in;
		allowed.mark = allowed.priority = allowed.ingress_ifindex = allowed.ifindex = 0;
		memset(allowed.cb, 0, sizeof allowed.cb);
		allowed.tstamp = 0;
		allowed.wire_len = allowed.gso_segs = allowed.gso_size = 0;
		allowed.hwtstamp = 0;
		if (!all_zero(&allowed, 0, sizeof allowed))
			return isa_error(err, -EINVAL, -1,
			                 "skb test run: ctx_in sets a field other than mark, priority, ingress_ifindex, "
			                 "ifindex, cb, tstamp, wire_len, gso_segs, gso_size, hwtstamp");
	}
	/* the kernel insists an IP packet has its whole header */
	uint16_t proto = (uint16_t)(((const uint8_t *)t->data_in)[12] << 8 | ((const uint8_t *)t->data_in)[13]);
	uint32_t l3_len = t->data_size_in - ETH_HEADER_LEN;
	if ((proto == 0x0800 && l3_len < 20) || (proto == 0x86dd && l3_len < 40))
		return isa_error(err, -EINVAL, -1, "skb test run: an %s packet needs its %u-byte header (has %u bytes)",
		                 proto == 0x0800 ? "IPv4" : "IPv6", proto == 0x0800 ? 20u : 40u, l3_len);
	h->frame_len = XDP_HEADROOM + t->data_size_in + 4096;
	map_low(h);
	h->ctx_len = sizeof(struct __sk_buff);
	h->ctx = calloc(1, h->ctx_len);
	if (!h->frame || !h->ctx)
		return isa_error(err, -ENOMEM, -1, "skb test run: out of memory");
	uint8_t *eth = h->frame + XDP_HEADROOM;
	memcpy(eth, t->data_in, t->data_size_in);
	bool l2 = h->prog_type != BPF_PROG_TYPE_SOCKET_FILTER;
	h->pkt = l2 ? eth : eth + ETH_HEADER_LEN;
	h->pkt_len = l2 ? t->data_size_in : t->data_size_in - ETH_HEADER_LEN;
	struct __sk_buff *skb = h->ctx;
	*skb = in;
	skb->len = h->pkt_len;
	skb->pkt_type = packet_type(eth);
	skb->protocol = (uint32_t)(eth[12] | eth[13] << 8);   /* network byte order, as loaded */
	skb->ifindex = 1;
	if (!skb->wire_len)
		skb->wire_len = h->pkt_len;
	/* the test run's socket carries the packet's addresses */
	const uint8_t *l3 = eth + ETH_HEADER_LEN;
	if (proto == 0x0800) {
		skb->family = 2;                       /* AF_INET */
		memcpy(&skb->local_ip4, l3 + 12, 4);   /* sk_rcv_saddr = saddr */
		memcpy(&skb->remote_ip4, l3 + 16, 4);  /* sk_daddr = daddr */
	} else if (proto == 0x86dd) {
		skb->family = 10;                      /* AF_INET6 */
		memcpy(skb->local_ip6, l3 + 8, 16);
		memcpy(skb->remote_ip6, l3 + 24, 16);
	}
	skb->data = (uint32_t)(uintptr_t)h->pkt;
	skb->data_meta = skb->data;
	skb->data_end = (uint32_t)(uintptr_t)(h->pkt + h->pkt_len);
	return 0;
}

static void finish_skb(struct hook_state *h, bpfvm_test_run *t)
{
	const struct __sk_buff *skb = h->ctx;
	uint8_t *start = h->pkt;
	uint32_t size = skb->len;
	if (h->prog_type == BPF_PROG_TYPE_SOCKET_FILTER) {
		start -= ETH_HEADER_LEN;            /* pushed back, zeroed */
		memset(start, 0, ETH_HEADER_LEN);
		size += ETH_HEADER_LEN;
	}
	if (t->data_out) {
		uint32_t n = size < t->data_size_out ? size : t->data_size_out;
		memcpy(t->data_out, start, n);
	}
	t->data_size_out = size;
	if (t->ctx_out) {
		struct __sk_buff out = { 0 };
		out.mark = skb->mark;
		out.priority = skb->priority;
		out.ingress_ifindex = skb->ingress_ifindex;
		out.ifindex = skb->ifindex;
		memcpy(out.cb, skb->cb, sizeof out.cb);
		out.tstamp = skb->tstamp;
		out.wire_len = skb->wire_len;
		out.gso_segs = skb->gso_segs;
		out.gso_size = skb->gso_size;
		out.hwtstamp = skb->hwtstamp;
		uint32_t n = t->ctx_size_out < sizeof out ? t->ctx_size_out : (uint32_t)sizeof out;
		memcpy(t->ctx_out, &out, n);
		t->ctx_size_out = sizeof out;
	}
}

/* kprobe, tracepoint, raw_tracepoint: the context is ctx_in's bytes. */
static int prepare_raw_ctx(struct hook_state *h, const bpfvm_test_run *t, size_t exact, bpfvm_error *err)
{
	const char *name = bpfvm_prog_type_name(h->prog_type);
	if (t->data_in && t->data_size_in)
		return isa_error(err, -EINVAL, -1, "%s test run takes no data_in, only ctx_in", name);
	if (exact && t->ctx_in && t->ctx_size_in != exact)
		return isa_error(err, -EINVAL, -1, "%s test run: ctx_in must be %zu bytes (got %u)", name, exact,
		                 t->ctx_size_in);
	h->ctx_len = exact ? exact : t->ctx_size_in;
	h->ctx = calloc(1, h->ctx_len ? h->ctx_len : 1);
	if (!h->ctx)
		return isa_error(err, -ENOMEM, -1, "%s test run: out of memory", name);
	if (t->ctx_in)
		memcpy(h->ctx, t->ctx_in, t->ctx_size_in < h->ctx_len ? t->ctx_size_in : h->ctx_len);
	return 0;
}

static void finish_raw_ctx(struct hook_state *h, bpfvm_test_run *t)
{
	if (t->ctx_out) {
		uint32_t n = t->ctx_size_out < h->ctx_len ? t->ctx_size_out : (uint32_t)h->ctx_len;
		memcpy(t->ctx_out, h->ctx, n);
	}
	t->ctx_size_out = (uint32_t)h->ctx_len;
	t->data_size_out = 0;
}

static int prepare_memory(struct hook_state *h, const bpfvm_test_run *t, bpfvm_error *err)
{
	h->frame_len = t->data_size_in ? t->data_size_in : 1;
	h->frame = malloc(h->frame_len);
	if (!h->frame)
		return isa_error(err, -ENOMEM, -1, "test run: out of memory for %u bytes of data", t->data_size_in);
	if (t->data_size_in)
		memcpy(h->frame, t->data_in, t->data_size_in);
	h->pkt = h->frame;
	h->pkt_len = t->data_size_in;
	return 0;
}

static void finish_memory(struct hook_state *h, bpfvm_test_run *t)
{
	if (t->data_out) {
		uint32_t n = h->pkt_len < t->data_size_out ? h->pkt_len : t->data_size_out;
		memcpy(t->data_out, h->frame, n);
	}
	t->data_size_out = h->pkt_len;
	t->ctx_size_out = 0;
}

static void release(struct hook_state *h)
{
	if (h->frame) {
		if (h->prog_type == BPFVM_PROG_TYPE_RAW || h->prog_type == 0)
			free(h->frame);
		else
			unmap_low(h->frame, h->alloc_len);
	}
	free(h->ctx);
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int test_run(const bpfvm_program *prog, bpfvm_test_run *t, bpfvm_error *err);

/* A caller built against other headers than the library's gets its
 * struct read and written back within its own sz. */
int bpfvm_program_test_run(const bpfvm_program *prog, bpfvm_test_run *t, bpfvm_error *err)
{
	if (!prog || !t)
		return isa_error(err, -EINVAL, -1, "bpfvm_program_test_run: null argument");
	if (t->sz == sizeof *t)
		return test_run(prog, t, err);
	bpfvm_test_run known;
	int rc = opts_known(bpfvm_test_run, t, &known, err);
	if (rc)
		return rc;
	rc = test_run(prog, &known, err);
	memcpy(t, &known, t->sz < sizeof known ? t->sz : sizeof known);
	return rc;
}

static int test_run(const bpfvm_program *prog, bpfvm_test_run *t, bpfvm_error *err)
{
	if ((t->data_size_in && !t->data_in) || (t->ctx_size_in && !t->ctx_in) ||
	    (t->region_count && !t->regions))
		return isa_error(err, -EINVAL, -1, "bpfvm_program_test_run: a size without its buffer");
	struct hook_state h = { .prog_type = prog->prog_type };
	int rc;
	bool raw = prog->prog_type == BPFVM_PROG_TYPE_RAW || prog->prog_type == 0;
	switch (raw ? BPFVM_PROG_TYPE_RAW : prog->prog_type) {
	case BPFVM_PROG_TYPE_RAW:
		rc = prepare_memory(&h, t, err);
		break;
	case BPF_PROG_TYPE_XDP:
		rc = prepare_xdp(&h, t, err);
		break;
	case BPF_PROG_TYPE_SOCKET_FILTER: case BPF_PROG_TYPE_SCHED_CLS: case BPF_PROG_TYPE_SCHED_ACT:
		rc = prepare_skb(&h, t, err);
		break;
	case BPF_PROG_TYPE_KPROBE:
		rc = prepare_raw_ctx(&h, t, sizeof(struct pt_regs), err);
		break;
	case BPF_PROG_TYPE_TRACEPOINT: case BPF_PROG_TYPE_RAW_TRACEPOINT:
		rc = prepare_raw_ctx(&h, t, 0, err);
		break;
	default: {
		const char *name = bpfvm_prog_type_name(prog->prog_type);
		return isa_error(err, -ENOTSUP, -1, "test runs of %s programs (type %u) are not supported",
		                 name ? name : "unknown", prog->prog_type);
	}
	}
	if (rc) {
		release(&h);
		return rc;
	}

	size_t nregions = t->region_count + 2;
	bpfvm_region *regions = calloc(nregions, sizeof *regions);
	if (!regions) {
		release(&h);
		return isa_error(err, -ENOMEM, -1, "test run: out of memory");
	}
	size_t k = 0;
	if (h.ctx)
		regions[k++] = (bpfvm_region){ .base = h.ctx, .len = h.ctx_len, .writable = true };
	if (h.frame)
		regions[k++] = (bpfvm_region){ .base = h.frame, .len = h.frame_len, .writable = true };
	for (size_t i = 0; i < t->region_count; i++)
		regions[k++] = t->regions[i];
	bpfvm_run_opts ro = {
		.sz = sizeof ro,
		.mode = t->mode,
		.engine = t->engine,
		.regions = regions,
		.region_count = k,
		.packet = h.pkt,
		.packet_len = h.pkt_len,
		.user = t->user,
	};
	if (raw) {
		ro.args[0] = (uint64_t)(uintptr_t)h.frame;
		ro.args[1] = h.pkt_len;
	} else {
		ro.args[0] = (uint64_t)(uintptr_t)h.ctx;
	}
	uint32_t repeat = t->repeat ? t->repeat : 1;
	uint64_t r0 = 0;
	double start = now_ns();
	for (uint32_t i = 0; i < repeat && rc == 0; i++)
		rc = program_run_hooked(prog, &ro, &h, &r0, err);
	double elapsed = now_ns() - start;
	if (rc == 0) {
		t->retval = r0;
		t->duration_ns = (uint64_t)(elapsed / repeat);
		switch (raw ? BPFVM_PROG_TYPE_RAW : prog->prog_type) {
		case BPFVM_PROG_TYPE_RAW: finish_memory(&h, t); break;
		case BPF_PROG_TYPE_XDP: finish_xdp(&h, t); break;
		case BPF_PROG_TYPE_SOCKET_FILTER: case BPF_PROG_TYPE_SCHED_CLS: case BPF_PROG_TYPE_SCHED_ACT:
			finish_skb(&h, t);
			break;
		default: finish_raw_ctx(&h, t); break;
		}
	}
	free(regions);
	release(&h);
	return rc;
}
