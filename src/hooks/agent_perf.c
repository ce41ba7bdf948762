/*
 * agent_perf.c - the trace agent's perf event arrays.  Their rings are
 * process-local memory (src/maps/perf.c), so unlike the other maps they
 * cannot be shared with the tracer: each traced process's instance makes
 * its own array, attaches a ring to every CPU slot, and forwards what its
 * programs write there to the tracer (AGENT_PERF_SAMPLE, AGENT_PERF_LOST
 * for the samples a full ring dropped): from the control thread every
 * AGENT_PERF_INTERVAL_MS, once more when the probes are off, and when the
 * process exits.  A fork()ed child starts by discarding its copy of what
 * its parent had not forwarded yet.
 *
 * Owns: agent_perf_open(), agent_perf_active(), agent_perf_forward(),
 * agent_perf_close().
 */
#include <errno.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>

#include "bpfvm/instance.h"
#include "bpfvm/maps.h"
#include "hooks/agent.h"

#define RING_BYTES (32 * 4096)

static bpfvm_instance *perf_inst;   /* NULL: no perf event array in this session */
/* the control thread's forwarding, the process's exit, the detach */
static pthread_mutex_t perf_lock = PTHREAD_MUTEX_INITIALIZER;

static bool is_perf_array(bpfvm_map *m)
{
	bpfvm_map_info info;
	bpfvm_map_info_get(m, &info);
	return info.type == BPF_MAP_TYPE_PERF_EVENT_ARRAY;
}

int agent_perf_open(bpfvm_instance *inst, char *why)
{
	size_t n = bpfvm_object_map_count(bpfvm_instance_object(inst));
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		bpfvm_map *m = bpfvm_instance_map(inst, i);
		if (!is_perf_array(m))
			continue;
		bpfvm_map_info info;
		bpfvm_map_info_get(m, &info);
		for (uint32_t cpu = 0; cpu < info.max_entries && cpu < info.possible_cpus; cpu++) {
			bpfvm_error e = { 0 };
			int rc = bpfvm_map_perf_attach(m, cpu, RING_BYTES, &e);
			if (rc)
				return snprintf(why, AGENT_TEXT_MAX, "perf event array %s: %s", info.name, e.msg), rc;
		}
		any = true;
	}
	pthread_mutex_lock(&perf_lock);
	perf_inst = any ? inst : NULL;
	pthread_mutex_unlock(&perf_lock);
	return 0;
}

bool agent_perf_active(void)
{
	return __atomic_load_n(&perf_inst, __ATOMIC_RELAXED) != NULL;
}

struct forwarding {
	int fd;              /* -1: discard */
	uint32_t map_index;
};

static void forward_sample(void *ctx, int cpu, void *data, uint32_t size)
{
	const struct forwarding *f = ctx;
	if (f->fd < 0)
		return;
	struct agent_perf_msg h = { .type = AGENT_PERF_SAMPLE, .map_index = f->map_index, .cpu = cpu, .size = size };
	struct iovec iov[2] = { { &h, sizeof h }, { data, size } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	sendmsg(f->fd, &m, MSG_NOSIGNAL);
}

static void forward_lost(void *ctx, int cpu, uint64_t lost)
{
	const struct forwarding *f = ctx;
	struct agent_perf_msg h = { .type = AGENT_PERF_LOST, .map_index = f->map_index, .cpu = cpu, .lost = lost };
	if (f->fd >= 0)
		send(f->fd, &h, sizeof h, MSG_NOSIGNAL);
}

void agent_perf_forward(int fd)
{
	pthread_mutex_lock(&perf_lock);
	size_t n = perf_inst ? bpfvm_object_map_count(bpfvm_instance_object(perf_inst)) : 0;
	for (size_t i = 0; i < n; i++) {
		bpfvm_map *m = bpfvm_instance_map(perf_inst, i);
		struct forwarding f = { fd, (uint32_t)i };
		if (is_perf_array(m))
			bpfvm_map_perf_consume(m, forward_sample, forward_lost, &f, NULL);
	}
	pthread_mutex_unlock(&perf_lock);
}

void agent_perf_close(int fd)
{
	agent_perf_forward(fd);
	pthread_mutex_lock(&perf_lock);
	perf_inst = NULL;
	pthread_mutex_unlock(&perf_lock);
}
