/*
 * progtypes.h - program types: one descriptor per type (as the kernel's
 * bpf_types.h list feeding bpf_verifier_ops and bpf_prog_ops), what a
 * program sees as its context during a run, and the state helpers that
 * change the packet work on.
 *
 * Owns: struct progtype_desc and struct hook_state.  The descriptors are
 * one table (progtypes.c); each family's rules and test-run builders are
 * in its own file (xdp.c, skb.c, tracing.c, btf_tracing.c).  Packet buffers are mapped below 4 GiB
 * (MAP_32BIT) so that the kernel's UAPI contexts, whose packet pointers
 * are u32 fields (xdp_md.data, __sk_buff.data), hold real addresses: a
 * program loads them exactly as it would in the kernel and no access has
 * to be rewritten.
 */
#ifndef BPFVM_PROGTYPES_H
#define BPFVM_PROGTYPES_H

#include <stddef.h>
#include <stdint.h>

#include "run/run.h"

/* As in the kernel: XDP_PACKET_HEADROOM, and the room struct xdp_frame and
 * struct skb_shared_info take at the ends of an XDP frame. */
#define XDP_HEADROOM 256u
#define XDP_FRAME_STRUCT 40u
#define XDP_TAILROOM 320u
/* The most packet bytes the kernel's XDP test run keeps in the frame's
 * one page (the rest go to fragments): 4096 - headroom - tailroom. */
#define XDP_MAX_LINEAR (4096u - XDP_HEADROOM - XDP_TAILROOM)
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
	uint32_t ctx_in_ifindex;  /* xdp: the ingress_ifindex ctx_in gave (ctx_out returns it) */
};

/* What a context load yields besides a plain number. */
enum ctx_field { CTX_FIELD_SCALAR = 0, CTX_FIELD_PACKET, CTX_FIELD_PACKET_META, CTX_FIELD_PACKET_END };

struct progtype_desc {
	uint32_t type;                /* the kernel's enum bpf_prog_type, or BPFVM_PROG_TYPE_RAW */
	const char *name;             /* as bpftool prints it */
	/* The context as the verifier sees it: its size (0: bpfvm's verifier
	 * does not model the type), whether [off, off+size) may be read or
	 * written (sign-extending if sx; *field says what a load yields),
	 * and direct packet access through packet pointers. */
	uint32_t ctx_size;
	bool (*ctx_access)(int off, int size, bool write, bool sx, uint8_t *field);
	bool pkt_read, pkt_write;
	/* A test run (BPF_PROG_TEST_RUN): builds the context (and packet)
	 * into h from t, and gives back the packet and context after the
	 * runs.  NULL: the type has no test run. */
	int (*prepare)(struct hook_state *h, const bpfvm_test_run *t, bpfvm_error *err);
	void (*finish)(struct hook_state *h, bpfvm_test_run *t);
	/* Test runs are always checked, even of a verified program: its
	 * loads through typed (BTF) pointers may follow any pointer the
	 * caller's data holds, and the engines do not make those loads
	 * fault-safe as the kernel's do; a checked run fails on a pointer
	 * outside the test's memory instead of crashing. */
	bool checked_runs;
	/* The context's struct as a program's BTF names it (the kernel's
	 * bpf_types.h: "__sk_buff"), and the kernel's struct it projects
	 * ("sk_buff"), or NULL: a global function's argument pointing to
	 * either is the context (the kernel's btf_is_prog_ctx_type). */
	const char *ctx_btf_name, *ctx_btf_kernel_name;
};

/* The descriptor of a program type (0 is raw memory), or NULL. */
const struct progtype_desc *progtype_desc(uint32_t type);

extern const struct progtype_desc progtype_xdp, progtype_socket_filter, progtype_sched_cls, progtype_sched_act,
	progtype_kprobe, progtype_tracepoint, progtype_raw_tracepoint, progtype_tracing, progtype_lsm;

/* Packet frames below 4 GiB (frame.c): a zeroed mapping of at least
 * h->frame_len bytes into h->frame (NULL if none could be made), and its
 * release. */
void *frame_map(struct hook_state *h);
void frame_unmap(uint8_t *p, size_t len);
/* Whether bytes [from, to) of p are all zero (ctx_in checks). */
bool all_zero(const void *p, size_t from, size_t to);

/* The packet pointers of an XDP context, as full pointers. */
static inline uint8_t *xdp_ptr(uint32_t field) { return (uint8_t *)(uintptr_t)field; }

#endif
