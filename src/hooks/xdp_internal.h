/*
 * xdp_internal.h - what the live XDP host's two halves share: the kernel
 * side (xdp_steer.c: the steering program, its xskmap, attaching it, the
 * ownership lock, orphans) and the user-space side (xdp_host.c: sockets,
 * workers, verdicts, the TAP device).
 */
#ifndef BPFVM_HOOKS_XDP_INTERNAL_H
#define BPFVM_HOOKS_XDP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "bpfvm/xdp.h"

/* The kernel side of one interface. */
struct xdp_steer {
	int ifindex;
	int lock_fd;              /* held (flock) while this process serves the interface */
	int map_fd;               /* the xskmap: queue index -> AF_XDP socket */
	int prog_fd;
	uint32_t attach_flags;    /* XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE: what attached */
};

/* Takes the interface: its ownership lock (-EBUSY naming a live holder),
 * then removes an orphaned steering program (-EPERM naming a foreign
 * program), then creates the xskmap of `queues` entries.  Fills *s. */
int xdp_steer_prepare(const char *ifname, int ifindex, uint32_t queues, struct xdp_steer *s, bpfvm_error *err);
/* Loads the steering program and attaches it (driver mode first, unless
 * skb_mode; else skb mode). */
int xdp_steer_attach(const char *ifname, struct xdp_steer *s, bool skb_mode, bpfvm_error *err);
/* Detaches the steering program (only ours), closes everything, drops the lock. */
void xdp_steer_release(struct xdp_steer *s);

#endif
