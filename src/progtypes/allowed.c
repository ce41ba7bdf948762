/*
 * allowed.c - which of bpfvm's helpers each program type may call, as the
 * running kernel (6.18) allows them.  The lists were read off the kernel
 * by loading `call N` for every pair; tests/unit/test_helper_types.c asks
 * the kernel again on every run where bpf() works, so a kernel that
 * disagrees is caught.
 *
 * Owns: progtype_helper_allowed().  Raw-memory programs, a bpfvm type,
 * may call every helper their table holds.
 */
#include <linux/bpf.h>
#include <stddef.h>

#include "progtypes/progtypes.h"

/* The helpers every type shares: maps, time, identity, printing,
 * strings, ring buffers, spin locks, probe_read_{user,kernel}. */
#define COMMON 1, 2, 3, 5, 6, 7, 8, 12, 14, 15, 16, 25, 87, 88, 89, 93, 94, 112, 113, 114, 115, 118, 125, \
	130, 131, 132, 133, 134, 164, 165, 181, 182, 195

static const uint32_t socket_filter[] = { COMMON, 26, 160 };
static const uint32_t sched_cls[] = { COMMON, 26, 28, 160 };
static const uint32_t xdp[] = { COMMON, 28, 44, 54, 65, 160 };
static const uint32_t tracing[] = { COMMON, 4, 45 };   /* kprobe, tracepoint, raw_tracepoint */

static const struct {
	uint32_t type;
	const uint32_t *ids;
	size_t count;
} allowed[] = {
	{ BPF_PROG_TYPE_SOCKET_FILTER, socket_filter, sizeof socket_filter / sizeof socket_filter[0] },
	{ BPF_PROG_TYPE_SCHED_CLS, sched_cls, sizeof sched_cls / sizeof sched_cls[0] },
	{ BPF_PROG_TYPE_SCHED_ACT, sched_cls, sizeof sched_cls / sizeof sched_cls[0] },
	{ BPF_PROG_TYPE_XDP, xdp, sizeof xdp / sizeof xdp[0] },
	{ BPF_PROG_TYPE_KPROBE, tracing, sizeof tracing / sizeof tracing[0] },
	{ BPF_PROG_TYPE_TRACEPOINT, tracing, sizeof tracing / sizeof tracing[0] },
	{ BPF_PROG_TYPE_RAW_TRACEPOINT, tracing, sizeof tracing / sizeof tracing[0] },
};

/* -1: the type has no list (raw memory, or a type bpfvm does not model:
 * anything the helper table holds goes); else 1 or 0. */
int progtype_helper_allowed(uint32_t type, uint32_t id)
{
	for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
		if (allowed[i].type != type)
			continue;
		for (size_t k = 0; k < allowed[i].count; k++)
			if (allowed[i].ids[k] == id)
				return 1;
		return 0;
	}
	return -1;
}
