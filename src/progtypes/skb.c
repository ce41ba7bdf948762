/*
 * skb.c - the program types whose context is struct __sk_buff:
 * socket_filter and sched_cls/sched_act.  Their context as the verifier
 * sees it (the kernel's is_valid_access rules for a privileged loader),
 * and their test runs after the kernel's: socket filters see the packet
 * from the network header on and get the Ethernet header back zeroed;
 * tc programs see it from the Ethernet header on.
 *
 * Owns: the skb descriptors' functions (progtypes.h).
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

#include "progtypes/progtypes.h"

/* Offsets in the kernel's UAPI struct __sk_buff. */
enum {
	SKB_LEN = 0, SKB_MARK = 8, SKB_QUEUE_MAPPING = 12, SKB_PRIORITY = 32, SKB_TC_INDEX = 44,
	SKB_CB = 48, SKB_CB_END = 68, SKB_TC_CLASSID = 72, SKB_DATA = 76, SKB_DATA_END = 80,
	SKB_FAMILY = 88, SKB_REMOTE_IP4 = 92, SKB_LOCAL_IP4 = 96, SKB_REMOTE_IP6 = 100,
	SKB_LOCAL_IP6 = 116, SKB_LOCAL_PORT = 136, SKB_DATA_META = 140, SKB_FLOW_KEYS = 144,
	SKB_TSTAMP = 152, SKB_WIRE_LEN = 160, SKB_SK = 168, SKB_TSTAMP_TYPE = 180,
	SKB_HWTSTAMP = 184, SKB_SIZE = 192,
};

#define IN(off, lo, size) ((off) >= (lo) && (off) < (lo) + (size))

static bool narrow_ok(int size, int field_size)
{
	return size <= field_size && (size & (size - 1)) == 0;
}

/* The rules every __sk_buff program shares. */
static bool skb_common(int off, int size, bool write, bool sx)
{
	if (off < 0 || off >= SKB_SIZE || off % size)
		return false;
	if (IN(off, SKB_CB, 20))
		return off + size <= SKB_CB_END;
	if (IN(off, SKB_DATA, 4) || IN(off, SKB_DATA_META, 4) || IN(off, SKB_DATA_END, 4))
		return !sx && size == 4;
	if (IN(off, SKB_REMOTE_IP6, 16) || IN(off, SKB_LOCAL_IP6, 16) || IN(off, SKB_REMOTE_IP4, 4) ||
	    IN(off, SKB_LOCAL_IP4, 4))
		return size == 4;
	if (IN(off, SKB_FLOW_KEYS, 8))
		return false;
	if (IN(off, SKB_HWTSTAMP, 8))
		return !write && size == 8;
	if (IN(off, SKB_TSTAMP, 8))
		return size == 8;
	if (IN(off, SKB_SK, 8))
		return false;   /* a socket pointer: bpfvm's verifier does not model sockets */
	if (off == SKB_TSTAMP_TYPE)
		return false;
	if (off > SKB_TSTAMP_TYPE && off < SKB_HWTSTAMP)
		return false;   /* padding */
	if (write)
		return size == 4;
	return narrow_ok(size, 4);
}

static bool socket_filter_ctx_access(int off, int size, bool write, bool sx, uint8_t *field)
{
	(void)field;   /* no packet pointers: a socket filter reads the packet with helpers */
	if (IN(off, SKB_TC_CLASSID, 4) || IN(off, SKB_DATA, 4) || IN(off, SKB_DATA_META, 4) ||
	    IN(off, SKB_DATA_END, 4) || (off >= SKB_FAMILY && off < SKB_LOCAL_PORT + 4) ||
	    IN(off, SKB_TSTAMP, 8) || IN(off, SKB_WIRE_LEN, 4) || IN(off, SKB_HWTSTAMP, 8))
		return false;
	if (write && !IN(off, SKB_CB, 20))
		return false;
	return skb_common(off, size, write, sx);
}

static bool tc_ctx_access(int off, int size, bool write, bool sx, uint8_t *field)
{
	if (write && !(IN(off, SKB_MARK, 4) || IN(off, SKB_TC_INDEX, 4) || IN(off, SKB_PRIORITY, 4) ||
	               IN(off, SKB_TC_CLASSID, 4) || IN(off, SKB_CB, 20) || IN(off, SKB_TSTAMP, 8) ||
	               IN(off, SKB_QUEUE_MAPPING, 4)))
		return false;
	if (IN(off, SKB_DATA, 4))
		*field = CTX_FIELD_PACKET;
	else if (IN(off, SKB_DATA_META, 4))
		*field = CTX_FIELD_PACKET_META;
	else if (IN(off, SKB_DATA_END, 4))
		*field = CTX_FIELD_PACKET_END;
	else if (off >= SKB_FAMILY && off < SKB_LOCAL_PORT + 4)
		return false;
	else if (off == SKB_TSTAMP_TYPE)
		return size == 1;
	return skb_common(off, size, write, sx);
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

static int skb_prepare(struct hook_state *h, const bpfvm_test_run *t, bpfvm_error *err)
{
	if (t->data_size_in < ETH_HEADER_LEN)
		return error_set(err, -EINVAL, -1, "skb test run: data_in of %u bytes is shorter than an Ethernet header",
		                 t->data_size_in);
	struct __sk_buff in = { 0 };
	if (t->ctx_in) {
		if (t->ctx_size_in > sizeof in)
			return error_set(err, -EINVAL, -1, "skb test run: ctx_in is larger than struct __sk_buff");
		memcpy(&in, t->ctx_in, t->ctx_size_in);
		/* the fields the kernel lets a test run set */
		struct __sk_buff allowed = in;
		allowed.mark = allowed.priority = allowed.ingress_ifindex = allowed.ifindex = 0;
		memset(allowed.cb, 0, sizeof allowed.cb);
		allowed.tstamp = 0;
		allowed.wire_len = allowed.gso_segs = allowed.gso_size = 0;
		allowed.hwtstamp = 0;
		if (!all_zero(&allowed, 0, sizeof allowed))
			return error_set(err, -EINVAL, -1,
			                 "skb test run: ctx_in sets a field other than mark, priority, ingress_ifindex, "
			                 "ifindex, cb, tstamp, wire_len, gso_segs, gso_size, hwtstamp");
	}
	/* the kernel insists an IP packet has its whole header */
	uint16_t proto = (uint16_t)(((const uint8_t *)t->data_in)[12] << 8 | ((const uint8_t *)t->data_in)[13]);
	uint32_t l3_len = t->data_size_in - ETH_HEADER_LEN;
	if ((proto == 0x0800 && l3_len < 20) || (proto == 0x86dd && l3_len < 40))
		return error_set(err, -EINVAL, -1, "skb test run: an %s packet needs its %u-byte header (has %u bytes)",
		                 proto == 0x0800 ? "IPv4" : "IPv6", proto == 0x0800 ? 20u : 40u, l3_len);
	h->frame_len = XDP_HEADROOM + t->data_size_in + 4096;
	frame_map(h);
	h->ctx_len = sizeof(struct __sk_buff);
	h->ctx = calloc(1, h->ctx_len);
	if (!h->frame || !h->ctx)
		return error_set(err, -ENOMEM, -1, "skb test run: out of memory");
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
	/* Only a run given a context (ctx_in or ctx_out) sets the length on
	 * the wire; without one the kernel leaves it 0. */
	bool has_ctx = t->ctx_in || t->ctx_out;
	if (has_ctx && !skb->wire_len)
		skb->wire_len = h->pkt_len;
	else if (skb->wire_len && (skb->wire_len < h->pkt_len || skb->wire_len > 65536))
		return error_set(err, -EINVAL, -1, "skb test run: ctx_in.wire_len %u must be 0 or from the packet's "
		                 "length (%u) to 65536", skb->wire_len, h->pkt_len);
	if (skb->gso_segs > 65535)
		return error_set(err, -EINVAL, -1, "skb test run: ctx_in.gso_segs %u is over 65535", skb->gso_segs);
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

static void skb_finish(struct hook_state *h, bpfvm_test_run *t)
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


const struct progtype_desc progtype_socket_filter = {
	.type = BPF_PROG_TYPE_SOCKET_FILTER, .name = "socket_filter",
	.ctx_btf_name = "__sk_buff", .ctx_btf_kernel_name = "sk_buff",
	.ctx_size = SKB_SIZE, .ctx_access = socket_filter_ctx_access, .pkt_read = true,
	.prepare = skb_prepare, .finish = skb_finish,
};
const struct progtype_desc progtype_sched_cls = {
	.type = BPF_PROG_TYPE_SCHED_CLS, .name = "sched_cls",
	.ctx_btf_name = "__sk_buff", .ctx_btf_kernel_name = "sk_buff",
	.ctx_size = SKB_SIZE, .ctx_access = tc_ctx_access, .pkt_read = true, .pkt_write = true,
	.prepare = skb_prepare, .finish = skb_finish,
};
const struct progtype_desc progtype_sched_act = {
	.type = BPF_PROG_TYPE_SCHED_ACT, .name = "sched_act",
	.ctx_btf_name = "__sk_buff", .ctx_btf_kernel_name = "sk_buff",
	.ctx_size = SKB_SIZE, .ctx_access = tc_ctx_access, .pkt_read = true, .pkt_write = true,
	.prepare = skb_prepare, .finish = skb_finish,
};
