/*
 * ctx.c - each program type's context as the verifier sees it: which
 * offsets may be read or written at which sizes, and which fields load
 * packet pointers rather than plain numbers.  The rules are the kernel's
 * is_valid_access callbacks for a privileged loader.
 *
 * Owns: ctx_access_ok(), ctx_size(), ctx_packet_access(),
 * ctx_known_type().
 */
#include <linux/bpf.h>
#include <stddef.h>

#include "verifier/verifier.h"

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

static bool socket_filter_ok(int off, int size, bool write, bool sx)
{
	if (IN(off, SKB_TC_CLASSID, 4) || IN(off, SKB_DATA, 4) || IN(off, SKB_DATA_META, 4) ||
	    IN(off, SKB_DATA_END, 4) || (off >= SKB_FAMILY && off < SKB_LOCAL_PORT + 4) ||
	    IN(off, SKB_TSTAMP, 8) || IN(off, SKB_WIRE_LEN, 4) || IN(off, SKB_HWTSTAMP, 8))
		return false;
	if (write && !IN(off, SKB_CB, 20))
		return false;
	return skb_common(off, size, write, sx);
}

static bool tc_ok(int off, int size, bool write, bool sx, struct ctx_access *out)
{
	if (write && !(IN(off, SKB_MARK, 4) || IN(off, SKB_TC_INDEX, 4) || IN(off, SKB_PRIORITY, 4) ||
	               IN(off, SKB_TC_CLASSID, 4) || IN(off, SKB_CB, 20) || IN(off, SKB_TSTAMP, 8) ||
	               IN(off, SKB_QUEUE_MAPPING, 4)))
		return false;
	if (IN(off, SKB_DATA, 4))
		out->type = REG_PACKET;
	else if (IN(off, SKB_DATA_META, 4))
		out->type = REG_PACKET_META;
	else if (IN(off, SKB_DATA_END, 4))
		out->type = REG_PACKET_END;
	else if (off >= SKB_FAMILY && off < SKB_LOCAL_PORT + 4)
		return false;
	else if (off == SKB_TSTAMP_TYPE)
		return size == 1;
	return skb_common(off, size, write, sx);
}

/* struct xdp_md: data, data_end, data_meta, ingress_ifindex,
 * rx_queue_index, egress_ifindex (the last only for devmap programs). */
static bool xdp_ok(int off, int size, bool write, bool sx, struct ctx_access *out)
{
	if (off == 20 || write)
		return false;
	if ((off == 0 || off == 4 || off == 8) && sx)
		return false;
	if (off == 0)
		out->type = REG_PACKET;
	else if (off == 4)
		out->type = REG_PACKET_END;
	else if (off == 8)
		out->type = REG_PACKET_META;
	return off >= 0 && off < 24 && off % size == 0 && size == 4;
}

#define PT_REGS_SIZE 168        /* x86-64 struct pt_regs */
#define TRACE_RECORD_MAX 2048   /* the kernel's PERF_MAX_TRACE_SIZE */
#define RAW_TP_ARGS_SIZE 96     /* 12 u64 arguments */

bool ctx_access_ok(uint32_t prog_type, int off, int size, bool write, bool sx, struct ctx_access *out)
{
	out->type = REG_SCALAR;
	switch (prog_type) {
	case BPF_PROG_TYPE_SOCKET_FILTER:
		return socket_filter_ok(off, size, write, sx);
	case BPF_PROG_TYPE_SCHED_CLS:
	case BPF_PROG_TYPE_SCHED_ACT:
		return tc_ok(off, size, write, sx, out);
	case BPF_PROG_TYPE_XDP:
		return xdp_ok(off, size, write, sx, out);
	case BPF_PROG_TYPE_KPROBE:
		return off >= 0 && off < PT_REGS_SIZE && !write && off % size == 0 && off + size <= PT_REGS_SIZE;
	case BPF_PROG_TYPE_TRACEPOINT:
		return off >= 8 && off < TRACE_RECORD_MAX && !write && off % size == 0;
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
		return off >= 0 && off < RAW_TP_ARGS_SIZE && !write && off % size == 0;
	default:
		return false;
	}
}

uint32_t ctx_size(uint32_t prog_type)
{
	switch (prog_type) {
	case BPF_PROG_TYPE_SOCKET_FILTER:
	case BPF_PROG_TYPE_SCHED_CLS:
	case BPF_PROG_TYPE_SCHED_ACT:
		return SKB_SIZE;
	case BPF_PROG_TYPE_XDP:
		return 24;
	case BPF_PROG_TYPE_KPROBE:
		return PT_REGS_SIZE;
	case BPF_PROG_TYPE_TRACEPOINT:
		return TRACE_RECORD_MAX;
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
		return RAW_TP_ARGS_SIZE;
	default:
		return 0;
	}
}

bool ctx_packet_access(uint32_t prog_type, bool write)
{
	switch (prog_type) {
	case BPF_PROG_TYPE_SCHED_CLS:
	case BPF_PROG_TYPE_SCHED_ACT:
	case BPF_PROG_TYPE_XDP:
		return true;
	case BPF_PROG_TYPE_SOCKET_FILTER:
		return !write;
	default:
		return false;
	}
}

bool ctx_known_type(uint32_t prog_type)
{
	return ctx_size(prog_type) != 0;
}
