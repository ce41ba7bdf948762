/*
 * progtypes.h - program types: what a program sees as its context during
 * a run, and the state helpers that change the packet work on.
 *
 * Owns: struct hook_state.  Packet buffers are mapped below 4 GiB
 * (MAP_32BIT) so that the kernel's UAPI contexts, whose packet pointers
 * are u32 fields (xdp_md.data, __sk_buff.data), hold real addresses: a
 * program loads them exactly as it would in the kernel and no access has
 * to be rewritten.
 */
#ifndef BPFVM_PROGTYPES_H
#define BPFVM_PROGTYPES_H

#include <stddef.h>
#include <stdint.h>

#include "core/program.h"

/* As in the kernel: XDP_PACKET_HEADROOM, and the room struct xdp_frame and
 * struct skb_shared_info take at the ends of an XDP frame. */
#define XDP_HEADROOM 256u
#define XDP_FRAME_STRUCT 40u
#define XDP_TAILROOM 320u
#define ETH_HEADER_LEN 14u

struct hook_state {
	uint32_t prog_type;
	uint8_t *frame;           /* below 4 GiB; headroom, packet, tailroom */
	size_t frame_len;         /* the frame as the kernel sizes it */
	size_t alloc_len;         /* what was mapped (at least frame_len) */
	void *ctx;                /* the context struct the program gets in r1 */
	size_t ctx_len;
	/* skb types: the packet as the program sees it (socket filters start
	 * after the Ethernet header) */
	uint8_t *pkt;
	uint32_t pkt_len;
};

/* 1 if a program of `type` may call helper `id` (the kernel's rule), 0
 * if not, -1 if bpfvm keeps no list for the type. */
int progtype_helper_allowed(uint32_t type, uint32_t id);

/* The packet pointers of an XDP context, as full pointers. */
static inline uint8_t *xdp_ptr(uint32_t field) { return (uint8_t *)(uintptr_t)field; }

#endif
