/*
 * xdp.c - the XDP program type: its context (struct xdp_md) as the
 * verifier sees it, and its test run after the kernel's: a frame with 256
 * bytes of headroom, ingress on the loopback device (ifindex 1).
 *
 * Owns: the xdp descriptor's functions (progtypes.h).
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

#include "progtypes/progtypes.h"

/* struct xdp_md: data, data_end, data_meta, ingress_ifindex,
 * rx_queue_index, egress_ifindex (the last only for devmap programs). */
static bool xdp_ctx_access(int off, int size, bool write, bool sx, uint8_t *field)
{
	if (off == 20 || write)
		return false;
	if ((off == 0 || off == 4 || off == 8) && sx)
		return false;
	if (off == 0)
		*field = CTX_FIELD_PACKET;
	else if (off == 4)
		*field = CTX_FIELD_PACKET_END;
	else if (off == 8)
		*field = CTX_FIELD_PACKET_META;
	return off >= 0 && off < 24 && off % size == 0 && size == 4;
}

static int xdp_prepare(struct hook_state *h, const bpfvm_test_run *t, bpfvm_error *err)
{
	if (t->data_size_in < ETH_HEADER_LEN)
		return error_set(err, -EINVAL, -1, "xdp test run: data_in of %u bytes is shorter than an Ethernet header",
		                 t->data_size_in);
	struct xdp_md in = { .data_end = t->data_size_in };
	if (t->ctx_in || t->ctx_out) {
		/* The kernel makes a zeroed context when only ctx_out is given,
		 * and checks it as if passed in. */
		if (t->ctx_in && t->ctx_size_in != sizeof in)
			return error_set(err, -EINVAL, -1, "xdp test run: ctx_in must be a struct xdp_md (%zu bytes)",
			                 sizeof in);
		memset(&in, 0, sizeof in);
		if (t->ctx_in)
			memcpy(&in, t->ctx_in, sizeof in);
		if (in.data_meta || in.egress_ifindex)
			return error_set(err, -EINVAL, -1, "xdp test run: ctx_in.data_meta and egress_ifindex must be 0");
		/* the metadata fits in the headroom above struct xdp_frame */
		if (in.data_end > t->data_size_in || in.data > in.data_end || in.data > XDP_HEADROOM - XDP_FRAME_STRUCT ||
		    in.data % 4)
			return error_set(err, -EINVAL, -1,
			                 "xdp test run: ctx_in.data (metadata length %u) and data_end (%u) must satisfy "
			                 "data <= data_end <= data_size_in (%u), data a multiple of 4 up to %u",
			                 in.data, in.data_end, t->data_size_in, XDP_HEADROOM - XDP_FRAME_STRUCT);
		if (in.data_end < t->data_size_in)
			return error_set(err, -ENOTSUP, -1,
			                 "xdp test run: ctx_in.data_end %u < data_size_in %u asks for a multi-buffer frame "
			                 "(the rest in fragments), which bpfvm does not support", in.data_end,
			                 t->data_size_in);
		if (in.ingress_ifindex != 0 && in.ingress_ifindex != 1)
			return error_set(err, -ENODEV, -1,
			                 "xdp test run: ingress_ifindex %u: only the loopback device (1) exists here",
			                 in.ingress_ifindex);
		if (in.rx_queue_index)
			return error_set(err, -EINVAL, -1, "xdp test run: rx_queue_index must be 0 (the loopback device "
			                 "has one queue)");
	}
	if (t->data_size_in - in.data < ETH_HEADER_LEN)
		return error_set(err, -EINVAL, -1, "xdp test run: %u bytes after the metadata is shorter than an "
		                 "Ethernet header", t->data_size_in - in.data);
	if (t->data_size_in > XDP_MAX_LINEAR)
		return error_set(err, -ENOTSUP, -1, "xdp test run: a packet of %u bytes is a multi-buffer frame in the "
		                 "kernel (more than %u bytes fit in its page), which bpfvm does not support",
		                 t->data_size_in, XDP_MAX_LINEAR);
	h->ctx_in_ifindex = in.ingress_ifindex;
	/* a page, as the kernel's test run gives, or more for a big packet */
	h->frame_len = XDP_HEADROOM + t->data_size_in + XDP_TAILROOM;
	if (h->frame_len < 4096)
		h->frame_len = 4096;
	frame_map(h);
	h->ctx_len = sizeof(struct xdp_md);
	h->ctx = calloc(1, h->ctx_len);
	if (!h->frame || !h->ctx)
		return error_set(err, -ENOMEM, -1, "xdp test run: out of memory");
	/* The kernel's layout: data at the headroom's end, the metadata
	 * taken from the headroom below it. */
	uint8_t *meta = h->frame + XDP_HEADROOM - in.data;
	memcpy(meta, t->data_in, t->data_size_in);
	struct xdp_md *md = h->ctx;
	md->data_meta = (uint32_t)(uintptr_t)meta;
	md->data = (uint32_t)(uintptr_t)(meta + in.data);
	md->data_end = (uint32_t)(uintptr_t)(meta + t->data_size_in);
	md->ingress_ifindex = 1;
	return 0;
}

static void xdp_finish(struct hook_state *h, bpfvm_test_run *t)
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
		/* The kernel gives back the context passed in with data and
		 * data_end made relative to the metadata. */
		struct xdp_md out = { .data = (uint32_t)(data - meta), .data_end = size,
		                      .ingress_ifindex = h->ctx_in_ifindex };
		uint32_t n = t->ctx_size_out < sizeof out ? t->ctx_size_out : (uint32_t)sizeof out;
		memcpy(t->ctx_out, &out, n);
		t->ctx_size_out = sizeof out;
	}
}


const struct progtype_desc progtype_xdp = {
	.type = BPF_PROG_TYPE_XDP, .name = "xdp",
	.ctx_btf_name = "xdp_md", .ctx_btf_kernel_name = "xdp_buff",
	.ctx_size = sizeof(struct xdp_md), .ctx_access = xdp_ctx_access, .pkt_read = true, .pkt_write = true,
	.prepare = xdp_prepare, .finish = xdp_finish,
};
