/*
 * redirect.h - where a packet program sent its frame: the redirect record
 * bpf_redirect and bpf_redirect_map fill during a run, which whoever ran
 * the program reads afterwards (the kernel's per-CPU struct
 * bpf_redirect_info, which xdp_do_redirect() and skb_do_redirect() read).
 *
 * Owns: struct run_redirect and the calling thread's record.
 *
 * The record is per thread, as the kernel's is per CPU: a host runs a
 * program on a thread (bpfvm_hook_run, bpfvm_program_test_run, ...) and,
 * when the verdict is XDP_REDIRECT (TC_ACT_REDIRECT for tc), calls
 * run_redirect_take() on the same thread before running anything else
 * there; it copies the record out and empties it, as the kernel consumes
 * its record.  A program that returns XDP_REDIRECT without a successful
 * redirect call leaves the record empty (kind RUN_REDIRECT_NONE): the
 * kernel would fail that redirect (a stale ifindex aside), and the host
 * drops the frame.  A host that ignores a verdict other than REDIRECT
 * should still take (or clear) the record, so that no later run finds it.
 *
 * Lifetimes: `map` is the program's map (valid while the program is
 * loaded); `xsk_fd` is the xskmap's own descriptor of the socket, valid
 * while the entry holds it (compare it with a socket of yours by fstat's
 * st_dev and st_ino).
 */
#ifndef BPFVM_RUN_REDIRECT_H
#define BPFVM_RUN_REDIRECT_H

#include <stdbool.h>
#include <stdint.h>

#include "bpfvm/maps.h"

enum run_redirect_kind {
	RUN_REDIRECT_NONE = 0,
	RUN_REDIRECT_IFINDEX,          /* bpf_redirect: out of device `ifindex` */
	RUN_REDIRECT_DEVMAP,           /* bpf_redirect_map on a devmap(_hash): entry `key`, device `ifindex` */
	RUN_REDIRECT_DEVMAP_BROADCAST, /* ... with BPF_F_BROADCAST: every device of `map` (flags may
	                                * hold BPF_F_EXCLUDE_INGRESS: all but the one it came in on) */
	RUN_REDIRECT_XSK,              /* bpf_redirect_map on an xskmap: socket `key` (xsk_fd, queue_id) */
	RUN_REDIRECT_CPU,              /* bpf_redirect_map on a cpumap: CPU `key`, its queue `qsize` */
};

struct run_redirect {
	enum run_redirect_kind kind;
	struct bpfvm_map *map;         /* the map redirected through, else NULL */
	uint32_t key;                  /* the map's key (the helper's u64 index as the u32 it looks up) */
	uint32_t ifindex;              /* IFINDEX, DEVMAP: the device */
	uint64_t flags;                /* IFINDEX: tc's BPF_F_INGRESS; BROADCAST: BPF_F_BROADCAST and
	                                * BPF_F_EXCLUDE_INGRESS as given; else 0 */
	int xsk_fd;                    /* XSK: see above; else -1 */
	uint32_t queue_id;             /* XSK: the queue the host recorded for the socket */
	uint32_t qsize;                /* CPU: the entry's queue size */
	uint32_t prog_type;            /* the program type that set it (xdp, sched_cls, sched_act) */
};

/* The calling thread's record, for the redirect helpers to fill. */
struct run_redirect *run_redirect_current(void);
/* Copies the calling thread's record into *out and empties it; true if
 * it held a target (kind != RUN_REDIRECT_NONE). */
bool run_redirect_take(struct run_redirect *out);
/* Empties the calling thread's record. */
void run_redirect_clear(void);
/* "ifindex", "devmap", "devmap broadcast", "xsk", "cpu" or "none". */
const char *run_redirect_kind_name(enum run_redirect_kind kind);

#endif
