/*
 * xdp_helpers.c - the kernel's helpers that send a frame elsewhere:
 * bpf_redirect (XDP and tc) and bpf_redirect_map (XDP, through a devmap,
 * devmap_hash, xskmap or cpumap), and those that copy bytes out of and into
 * an XDP frame (bpf_xdp_load_bytes, bpf_xdp_store_bytes), with the
 * kernel's return values.
 *
 * Owns: these helpers' descriptors (helper_descs_xdp).  What the redirect
 * helpers decide goes into the calling thread's redirect record
 * (run/redirect.h), which the host that ran the program reads after the run.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <string.h>

#include "helpers/helper_desc.h"
#include "helpers/helpers.h"
#include "maps/xdp_maps.h"
#include "progtypes/progtypes.h"
#include "run/redirect.h"

/* The low bits of bpf_redirect_map's flags: the verdict when the key
 * names no entry (XDP_ABORTED, XDP_DROP, XDP_PASS or XDP_TX). */
#define XDP_ACTION_MASK 3ull

static bool is_tc(const bpfvm_run *run)
{
	return run->prog->prog_type == BPF_PROG_TYPE_SCHED_CLS || run->prog->prog_type == BPF_PROG_TYPE_SCHED_ACT;
}

/* bpf_xdp_redirect() (XDP: any flag is XDP_ABORTED) and tc's bpf_redirect()
 * (only BPF_F_INGRESS, else TC_ACT_SHOT). */
static uint64_t h_redirect(uint64_t ifindex, uint64_t flags, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)c; (void)d; (void)e;
	bool tc = is_tc(run);
	if (tc ? (flags & ~(uint64_t)BPF_F_INGRESS) != 0 : flags != 0)
		return tc ? TC_ACT_SHOT : XDP_ABORTED;
	struct run_redirect *r = run_redirect_current();
	*r = (struct run_redirect){ .kind = RUN_REDIRECT_IFINDEX, .ifindex = (uint32_t)ifindex, .flags = flags,
	                            .xsk_fd = -1, .prog_type = run->prog->prog_type };
	return tc ? TC_ACT_REDIRECT : XDP_REDIRECT;
}

/* The entry key names in m, into r; false if none. */
static bool find_target(bpfvm_map *m, uint32_t key, struct run_redirect *r)
{
	switch (m->type) {
	case BPF_MAP_TYPE_DEVMAP:
	case BPF_MAP_TYPE_DEVMAP_HASH:
		r->kind = RUN_REDIRECT_DEVMAP;
		return map_devmap_entry(m, key, &r->ifindex);
	case BPF_MAP_TYPE_XSKMAP:
		r->kind = RUN_REDIRECT_XSK;
		return map_xskmap_entry(m, key, &r->xsk_fd, &r->queue_id);
	case BPF_MAP_TYPE_CPUMAP:
		r->kind = RUN_REDIRECT_CPU;
		return map_cpumap_entry(m, key, &r->qsize);
	default:
		return false;
	}
}

/* __bpf_xdp_redirect_map(): flags beyond the action bits and the map's
 * own (devmaps: BPF_F_BROADCAST, BPF_F_EXCLUDE_INGRESS) are XDP_ABORTED; a
 * key naming no entry returns the action bits (the record is emptied,
 * so the last call decides), unless broadcasting. */
static uint64_t h_redirect_map(uint64_t map, uint64_t index, uint64_t flags, uint64_t d, uint64_t e,
                               bpfvm_run *run)
{
	(void)d; (void)e;
	bpfvm_map *m = helper_map_arg(run, "bpf_redirect_map", map);
	if (!m)
		return 0;
	bool devmap = m->type == BPF_MAP_TYPE_DEVMAP || m->type == BPF_MAP_TYPE_DEVMAP_HASH;
	uint64_t own = devmap ? (BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS) : 0;
	if (flags & ~(XDP_ACTION_MASK | own))
		return XDP_ABORTED;
	struct run_redirect found = { .map = m, .key = (uint32_t)index, .xsk_fd = -1,
	                              .prog_type = run->prog->prog_type };
	bool present = find_target(m, (uint32_t)index, &found);
	struct run_redirect *r = run_redirect_current();
	if (flags & BPF_F_BROADCAST) {
		*r = (struct run_redirect){ .kind = RUN_REDIRECT_DEVMAP_BROADCAST, .map = m, .key = (uint32_t)index,
		                            .flags = flags & own, .xsk_fd = -1, .prog_type = run->prog->prog_type };
		return XDP_REDIRECT;
	}
	if (!present) {
		run_redirect_clear();
		return flags & XDP_ACTION_MASK;
	}
	*r = found;
	return XDP_REDIRECT;
}

/* bpf_xdp_pointer(): where [offset, offset + len) of the frame's data is,
 * or an error: -EFAULT past 0xffff, -EINVAL beyond the data (bpfvm's
 * frames are linear: there are no fragments to copy from). */
static long xdp_bytes_at(const struct xdp_md *md, uint64_t offset, uint64_t len, uint8_t **at)
{
	uint8_t *data = xdp_ptr(md->data), *end = xdp_ptr(md->data_end);
	if ((uint32_t)offset > 0xffff || (uint32_t)len > 0xffff)
		return -EFAULT;
	if ((uint64_t)(uint32_t)offset + (uint32_t)len > (uint64_t)(end - data))
		return -EINVAL;
	*at = data + (uint32_t)offset;
	return 0;
}

static uint64_t h_xdp_load_bytes(uint64_t ctx, uint64_t offset, uint64_t buf, uint64_t len, uint64_t e,
                                 bpfvm_run *run)
{
	(void)e;
	struct xdp_md *md = helper_xdp_ctx(run, "bpf_xdp_load_bytes", ctx);
	if (!md || !helper_check(run, "bpf_xdp_load_bytes", buf, (uint32_t)len, true))
		return 0;
	uint8_t *at;
	long rc = xdp_bytes_at(md, offset, len, &at);
	if (rc == 0)
		memcpy((void *)(uintptr_t)buf, at, (uint32_t)len);
	return (uint64_t)rc;
}

static uint64_t h_xdp_store_bytes(uint64_t ctx, uint64_t offset, uint64_t buf, uint64_t len, uint64_t e,
                                  bpfvm_run *run)
{
	(void)e;
	struct xdp_md *md = helper_xdp_ctx(run, "bpf_xdp_store_bytes", ctx);
	if (!md || !helper_check(run, "bpf_xdp_store_bytes", buf, (uint32_t)len, false))
		return 0;
	uint8_t *at;
	long rc = xdp_bytes_at(md, offset, len, &at);
	if (rc == 0)
		memmove(at, (const void *)(uintptr_t)buf, (uint32_t)len);
	return (uint64_t)rc;
}

#define A(...) { __VA_ARGS__ }
#define T(TYPE) MAP_TYPE_BIT(BPF_MAP_TYPE_##TYPE)
#define DESC(ID, FN, RET, ARGS, TYPES, ...) \
	{ .proto = { .id = BPF_FUNC_##ID, .name = "bpf_" #ID, .ret = RET, .args = ARGS }, \
	  .fn = FN, .has_proto = true, .prog_types = TYPES, __VA_ARGS__ }

const struct helper_desc helper_descs_xdp[] = {
	DESC(redirect, h_redirect, RET_INTEGER, A(ARG_ANYTHING, ARG_ANYTHING), PROGS_TC | PROGS_XDP),
	DESC(redirect_map, h_redirect_map, RET_INTEGER, A(ARG_MAP, ARG_ANYTHING, ARG_ANYTHING), PROGS_XDP,
	     .map_kind = MAP_HELPER_REDIRECT, .map_types = T(DEVMAP) | T(DEVMAP_HASH) | T(XSKMAP) | T(CPUMAP)),
	DESC(xdp_load_bytes, h_xdp_load_bytes, RET_INTEGER, A(ARG_CTX, ARG_ANYTHING, ARG_MEM_UNINIT, ARG_SIZE),
	     PROGS_XDP),
	DESC(xdp_store_bytes, h_xdp_store_bytes, RET_INTEGER, A(ARG_CTX, ARG_ANYTHING, ARG_MEM, ARG_SIZE), PROGS_XDP),
};
const size_t helper_descs_xdp_count = sizeof helper_descs_xdp / sizeof helper_descs_xdp[0];
