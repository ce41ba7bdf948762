/*
 * xdp.h - XDP programs on live interfaces, run in user space: the AF_XDP
 * host behind `bpfvm xdp attach`.
 *
 * Owns: bpfvm_xdp_host (one interface: a steering XDP program of bpfvm's
 * own in the kernel, one AF_XDP socket and worker thread per queue, a TAP
 * device standing in for the interface in the host's stack), its
 * counters, and the removal of what an earlier host left installed.
 *
 * Each frame the interface receives runs the programs of an XDP hook
 * (<bpfvm/hook.h>, bpfvm_hook_run_xdp) on its queue's worker thread; the
 * verdict is carried out as the kernel would: XDP_DROP frees the frame,
 * XDP_TX sends it back out of the interface, XDP_PASS hands it to the
 * host's stack through the TAP device, XDP_REDIRECT follows the program's
 * bpf_redirect / bpf_redirect_map (a device: out of it, through the
 * AF_XDP socket of the host serving it if one in this process does, else
 * an AF_PACKET socket; a devmap broadcast: a copy out of each of its
 * devices, as the kernel's rules choose them; an
 * xskmap entry: the host's xsk_consumer; a cpumap entry: another worker
 * thread, which passes it to the stack), XDP_ABORTED (and any other
 * value, and a failed run) drops it and is counted.
 */
#ifndef BPFVM_XDP_H
#define BPFVM_XDP_H

#include "bpfvm/api.h"
#include "bpfvm/bpfvm.h"
#include "bpfvm/hook.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bpfvm_xdp_host bpfvm_xdp_host;

/* The name of the steering program bpfvm loads into the kernel: an XDP
 * program by this name on an interface is bpfvm's. */
#define BPFVM_XDP_STEER_NAME "bpfvm_steer"

/* Takes the frames a program redirects to entry `key` of an xskmap, whose
 * socket the map holds as xsk_fd (compare it with yours by fstat's st_dev
 * and st_ino) bound to queue_id as recorded; data is valid during the
 * call only.  Called on the worker thread of the frame's queue. */
typedef void (*bpfvm_xdp_xsk_consumer_fn)(void *user, uint32_t key, int xsk_fd, uint32_t queue_id,
                                          const void *data, uint32_t len);

typedef struct bpfvm_xdp_opts {
	/* sizeof this struct as the caller was built: set by BPFVM_OPTS. */
	size_t sz;
	const char *ifname;
	/* The XDP hook whose programs each frame runs through; must outlive
	 * the host.  Programs may be attached, replaced and detached on it
	 * while the host runs. */
	bpfvm_hook *hook;
	/* receive queues 0..queues-1, a socket and thread each; 0: all the
	 * interface's (fewer: the others' frames are dropped, which attach
	 * warns of) */
	uint32_t queues;
	bool skb_mode;            /* the generic (skb) XDP hook even where the driver has its own */
	/* The TAP device XDP_PASS delivers to; NULL: "xdp-" and the
	 * interface's name (cut to 15 characters). */
	const char *tap_name;
	/* XDP_REDIRECT into an xskmap; NULL: such frames are dropped (and
	 * counted as redirect errors). */
	bpfvm_xdp_xsk_consumer_fn xsk_consumer;
	void *xsk_user;
	/* Receive coalescing, as a NIC's interrupt moderation: while frames
	 * arrive closer together than this, a worker sleeps this long and
	 * takes them in one wake-up instead of one each (a frame waits at
	 * most this much more).  0: the default, 100 us; at most 1000;
	 * negative: none, a wake-up for every frame the socket signals. */
	int32_t rx_coalesce_us;
} bpfvm_xdp_opts;

/* Per verdict, and what did not go through.  Counters only grow. */
typedef struct bpfvm_xdp_stats {
	uint64_t rx;              /* frames received from the interface */
	uint64_t pass, drop, tx, redirect, aborted;
	uint64_t run_errors;      /* runs that failed (counted in aborted too) */
	uint64_t stack_tx;        /* frames the host's stack sent on the TAP, sent out of the interface */
	uint64_t tx_ring_full;    /* XDP_TX or stack frames dropped: the TX ring was full */
	uint64_t no_frame;        /* stack frames dropped: no free UMEM frame */
	uint64_t tap_errors;      /* XDP_PASS frames the TAP refused */
	/* XDP_REDIRECT frames dropped: no target (a failed redirect call, no
	 * xsk_consumer, a full inbox, a device that refused: down or gone) */
	uint64_t redirect_errors;
	uint64_t inbox_full;      /* of those: the target worker's inbox was full */
	/* the kernel's count for the sockets (XDP_STATISTICS) */
	uint64_t rx_dropped, rx_ring_full, fill_ring_empty, tx_invalid;
} bpfvm_xdp_stats;

/* Attaches: removes a steering program an earlier host left behind on the
 * interface (one that died without detaching), refuses an interface with
 * another XDP program (naming it) or one another live host serves, and
 * an MTU whose frames do not fit a UMEM frame (naming the limit).  Driver
 * mode where the interface has it, else skb mode (bpfvm_xdp_mode).
 * Returns once each queue's socket is in the steering program's map and
 * its worker runs: every frame the interface receives from then on runs
 * through the hook (tests/xdp send at once, and count every frame). */
BPFVM_API int bpfvm_xdp_attach(const bpfvm_xdp_opts *opts, bpfvm_xdp_host **out, bpfvm_error *err);
/* Stops the workers and removes everything attach installed. */
BPFVM_API void bpfvm_xdp_detach(bpfvm_xdp_host *host);
/* The sum over the queues, read while the workers run. */
BPFVM_API void bpfvm_xdp_stats_get(const bpfvm_xdp_host *host, bpfvm_xdp_stats *out);
/* "driver" or "skb": the XDP hook the steering program is on. */
BPFVM_API const char *bpfvm_xdp_mode(const bpfvm_xdp_host *host);
BPFVM_API const char *bpfvm_xdp_tap_name(const bpfvm_xdp_host *host);
BPFVM_API uint32_t bpfvm_xdp_queue_count(const bpfvm_xdp_host *host);
/* The largest MTU a host takes: the packet and the kernel's headroom and
 * tailroom in one 4096-byte UMEM frame. */
BPFVM_API uint32_t bpfvm_xdp_max_mtu(void);

/* From any process: removes what a host left on ifname.  A live host
 * (its pid in *pid) is asked to stop (SIGTERM) and waited for; a dead
 * one's steering program is removed.  0 when something was removed,
 * -ENOENT when there was nothing, -EPERM for an XDP program that is not
 * bpfvm's (named in err, left in place). */
BPFVM_API int bpfvm_xdp_remove(const char *ifname, int *pid, bpfvm_error *err);

#ifdef __cplusplus
}
#endif
#endif
