/*
 * trace_print.c - what `bpfvm trace` prints: ring buffer records and perf
 * event array samples (forwarded by each agent) as they arrive, maps
 * (--dump-maps, --interval) and log2 histograms
 * (--hist), and each program's stats at the end (recursion misses,
 * --stats), as text or, with -j, one JSON object a line.
 *
 * Owns: trace_drain(), trace_print_maps(), trace_print_hist(),
 * trace_print_perf(), trace_print_perf_lost(), trace_print_stats().
 */
#include <bpf/btf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/instance.h"
#include "btf_print.h"
#include "cli.h"
#include "trace.h"

enum { MAP_TYPE_PROG_ARRAY = 3, MAP_TYPE_RINGBUF = 27 };

static void json_bytes(const uint8_t *p, size_t n)
{
	printf("\"");
	for (size_t i = 0; i < n; i++)
		printf("%s%02x", i ? " " : "", p[i]);
	printf("\"");
}

static int json_record(void *ctx, void *data, size_t size)
{
	printf("{\"type\":\"ringbuf\",\"map\":");
	json_print_string(ctx);
	printf(",\"size\":%zu,\"bytes\":", size);
	json_bytes(data, size);
	printf("}\n");
	return 0;
}

void trace_drain(bpfvm_instance *inst, bool json)
{
	drain_ringbufs(inst, json ? json_record : NULL);
	fflush(stdout);
}

/* One map's entries as JSON lines: {"type":"map","map":..,"key":..,"value":..}. */
static void json_map(const bpfvm_object *obj, size_t i, bpfvm_map *m, const bpfvm_map_info *info)
{
	const struct btf *btf = bpfvm_object_btf(obj);
	const bpfvm_object_map *om = bpfvm_object_map_at(obj, i);
	uint8_t key[512], next[512];
	uint8_t *value = malloc(info->user_value_size + 1);
	const void *prev = NULL;
	uint32_t vtype = info->user_value_size == info->value_size ? om->attrs.btf_value_type_id : 0;
	while (value && info->key_size <= sizeof key && bpfvm_map_get_next_key(m, prev, next, NULL) == 0) {
		memcpy(key, next, info->key_size);
		prev = key;
		if (bpfvm_map_lookup(m, key, value, 0, NULL))
			continue;
		printf("{\"type\":\"map\",\"map\":");
		json_print_string(om->name);
		printf(",\"key\":");
		typed_print_json(btf, om->attrs.btf_key_type_id, key, info->key_size);
		printf(",\"value\":");
		typed_print_json(btf, vtype, value, info->user_value_size);
		printf("}\n");
	}
	free(value);
}

void trace_print_maps(bpfvm_instance *inst, bool json)
{
	const bpfvm_object *obj = bpfvm_instance_object(inst);
	if (!json) {
		dump_maps(obj, inst);
	} else {
		for (size_t i = 0; i < bpfvm_object_map_count(obj); i++) {
			bpfvm_map *m = bpfvm_instance_map(inst, i);
			bpfvm_map_info info;
			bpfvm_map_info_get(m, &info);
			if (info.type != MAP_TYPE_RINGBUF && info.type != MAP_TYPE_PROG_ARRAY && info.key_size)
				json_map(obj, i, m, &info);
		}
	}
	fflush(stdout);
}

/* The count of slot `slot` of a log2 histogram map (keys u32 or u64,
 * values u32 or u64), 0 where there is none. */
static uint64_t hist_slot(bpfvm_map *m, const bpfvm_map_info *info, uint64_t slot)
{
	uint8_t value[8] = { 0 };
	if (bpfvm_map_lookup(m, &slot, value, 0, NULL))
		return 0;
	uint64_t v = 0;
	memcpy(&v, value, info->user_value_size);
	return v;
}

static void stars(uint64_t v, uint64_t max, int width)
{
	int n = max ? (int)((double)v * width / (double)max) : 0;
	printf("|%.*s%*s|", n, "****************************************", width - n, "");
}

/* As libbpf-tools' print_log2_hist: slot i counts values of [2^i, 2^(i+1)),
 * slot 0 also 0. */
int trace_print_hist(bpfvm_instance *inst, const char *name, bool json)
{
	const bpfvm_object *obj = bpfvm_instance_object(inst);
	int idx = bpfvm_object_find_map(obj, name);
	if (idx < 0)
		return fail("--hist: the object has no map named '%s'", name);
	bpfvm_map *m = bpfvm_instance_map(inst, (size_t)idx);
	bpfvm_map_info info;
	bpfvm_map_info_get(m, &info);
	if ((info.key_size != 4 && info.key_size != 8) || (info.user_value_size != 4 && info.user_value_size != 8))
		return fail("--hist: map '%s' is no log2 histogram (keys and values of 4 or 8 bytes)", name);
	uint64_t counts[64], max = 0;
	int last = -1;
	for (int i = 0; i < 64; i++) {
		counts[i] = hist_slot(m, &info, (uint64_t)i);
		if (counts[i]) {
			last = i;
			max = counts[i] > max ? counts[i] : max;
		}
	}
	if (json) {
		printf("{\"type\":\"hist\",\"map\":");
		json_print_string(name);
		printf(",\"slots\":[");
		for (int i = 0; i <= last; i++)
			printf("%s%" PRIu64, i ? "," : "", counts[i]);
		printf("]}\n");
		return fflush(stdout), 0;
	}
	printf("%s:\n%24s : count    distribution\n", name, "value");
	for (int i = 0; i <= last; i++) {
		uint64_t low = (1ULL << i) == 1 ? 0 : 1ULL << i, high = i == 63 ? UINT64_MAX : (1ULL << (i + 1)) - 1;
		printf("%10" PRIu64 " -> %-10" PRIu64 " : %-8" PRIu64 " ", low, high, counts[i]);
		stars(counts[i], max, 40);
		printf("\n");
	}
	return fflush(stdout), 0;
}

/* ---- perf event arrays ------------------------------------------------- */

void trace_print_perf(const char *map, int pid, int cpu, const void *data, uint32_t size, bool json)
{
	if (json) {
		printf("{\"type\":\"perf\",\"map\":");
		json_print_string(map);
		printf(",\"pid\":%d,\"cpu\":%d,\"size\":%u,\"bytes\":", pid, cpu, size);
		json_bytes(data, size);
		printf("}\n");
	} else {
		printf("perf %s pid %d cpu %d: %u bytes:", map, pid, cpu, size);
		for (uint32_t i = 0; i < size; i++)
			printf(" %02x", ((const uint8_t *)data)[i]);
		printf("\n");
	}
	fflush(stdout);
}

void trace_print_perf_lost(const char *map, int pid, int cpu, uint64_t lost, bool json)
{
	if (json && map) {
		printf("{\"type\":\"perf_lost\",\"map\":");
		json_print_string(map);
		printf(",\"pid\":%d,\"cpu\":%d,\"lost\":%" PRIu64 "}\n", pid, cpu, lost);
	} else if (json) {
		printf("{\"type\":\"perf_lost_total\",\"lost\":%" PRIu64 "}\n", lost);
	} else if (map) {
		printf("perf %s pid %d cpu %d: %" PRIu64 " samples lost\n", map, pid, cpu, lost);
	} else {
		fprintf(stderr, "%s trace: %" PRIu64 " perf samples lost in all (rings full)\n", prog_name, lost);
	}
	fflush(stdout);
}

/* ---- stats -------------------------------------------------------------- */

static const char *const served_names[AGENT_SERVED_COUNT] = { "trampoline", "int3", "sud", "rewritten", "syscall_int3" };
static const char *const path_names[] = { "none", "trampoline", "int3", "syscall" };

/* The paths a program's events came by: a probe's, or the syscall
 * interceptor's (Syscall User Dispatch, rewritten sites). */
static void served_json(const struct agent_stats *st)
{
	bool syscall = st->path == AGENT_PATH_SYSCALL;
	printf(",\"served\":{");
	for (int k = syscall ? AGENT_SERVED_SUD : 0, first = 1; k < (syscall ? AGENT_SERVED_COUNT : AGENT_SERVED_SUD);
	     k++, first = 0)
		printf("%s\"%s\":%" PRIu64, first ? "" : ",", served_names[k], st->served[k]);
	printf("}");
	if (syscall) {
		printf(",\"mode\":");
		json_print_string(st->mode);
	}
}

static void served_text(const struct agent_stats *st)
{
	if (st->path == AGENT_PATH_SYSCALL)
		fprintf(stderr, "; the process's syscalls: %" PRIu64 " by SUD, %" PRIu64 " at rewritten sites, %" PRIu64
		        " by int3; %s", st->served[AGENT_SERVED_SUD], st->served[AGENT_SERVED_REWRITTEN],
		        st->served[AGENT_SERVED_SYSCALL_INT3], st->mode);
	else
		fprintf(stderr, "; entries: %" PRIu64 " by trampoline, %" PRIu64 " by int3",
		        st->served[AGENT_SERVED_TRAMPOLINE], st->served[AGENT_SERVED_INT3]);
}

void trace_print_stats(int pid, const struct agent_stats *st, bool all, bool json)
{
	if (!all && !st->recursion_misses)
		return;
	const char *path = st->path < 4 ? path_names[st->path] : "?";
	if (json) {
		printf("{\"type\":\"stats\",\"pid\":%d,\"prog\":", pid);
		json_print_string(st->name);
		printf(",\"hook\":");
		json_print_string(st->hook);
		printf(",\"path\":\"%s\",\"recursion_misses\":%" PRIu64, path, st->recursion_misses);
		if (all) {
			printf(",\"runs\":%" PRIu64, st->runs);
			served_json(st);
		}
		printf("}\n");
		fflush(stdout);
		return;
	}
	fprintf(stderr, "%s trace: pid %d: %s: %s (%s): ", prog_name, pid, st->name, st->hook, path);
	if (all)
		fprintf(stderr, "runs %" PRIu64 ", ", st->runs);
	fprintf(stderr, "recursion_misses %" PRIu64, st->recursion_misses);
	if (all)
		served_text(st);
	fprintf(stderr, "\n");
}
