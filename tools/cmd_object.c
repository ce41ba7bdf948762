/*
 * cmd_object.c - `bpfvm prog show OBJ` and `bpfvm run OBJ`: clang-built
 * objects, their programs and maps, test runs in the manner of
 * `bpftool prog run`, and runs over every packet of a capture.
 */
#include <bpf/btf.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/instance.h"
#include "btf_print.h"
#include "cli.h"
#include "run/redirect.h"

/* The kernel's numbers (<linux/bpf.h> clashes with <pcap/pcap.h>). */
enum {
	BPF_PROG_TYPE_SOCKET_FILTER = 1, BPF_PROG_TYPE_SCHED_CLS = 3, BPF_PROG_TYPE_SCHED_ACT = 4,
	BPF_PROG_TYPE_XDP = 6, BPF_MAP_TYPE_RINGBUF = 27, BPF_MAP_TYPE_PERF_EVENT_ARRAY = 4,
};

static const char *map_type(uint32_t t)
{
	const char *n = bpfvm_map_type_name(t);
	return n ? n : "unknown";
}

static const char *prog_type(uint32_t t)
{
	const char *n = bpfvm_prog_type_name(t);
	return n ? n : "unknown";
}

static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

int cmd_prog(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		printf("usage: bpfvm prog show OBJ [-j] " OBJECT_ARGS_USAGE " [-v]\n"
		       "Lists the programs of a clang-built object (name, section, type,\n"
		       "instructions) and its maps (type, key and value sizes, entries).\n"
		       OBJECT_OPTIONS_HELP
		       "  -v           log each CO-RE relocation\n");
		return argc < 2;
	}
	if (strcmp(argv[1], "show") && strcmp(argv[1], "list"))
		return fail("prog: unknown command '%s' (see 'bpfvm prog help')", argv[1]);
	const char *path = NULL;
	bool json = false;
	struct object_args oa = { 0 };
	for (int i = 2; i < argc; i++) {
		int taken = object_arg(&oa, argc, argv, &i, "prog show");
		if (taken < 0)
			return 1;
		if (taken)
			continue;
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "-v"))
			oa.verbose = true;
		else if (argv[i][0] == '-')
			return fail("prog show: unknown option '%s'", argv[i]);
		else if (!path)
			path = argv[i];
		else
			return fail("prog show: more than one object");
	}
	if (!path)
		return fail("prog show: no object file");
	bpfvm_object *obj;
	if (object_open(path, &oa, &obj))
		return 1;
	size_t np = bpfvm_object_prog_count(obj), nm = bpfvm_object_map_count(obj);
	if (json) {
		printf("{\"programs\":[");
		for (size_t i = 0; i < np; i++) {
			const bpfvm_object_prog *p = bpfvm_object_prog_at(obj, i);
			printf("%s{\"id\":%zu,\"name\":", i ? "," : "", i);
			json_str(p->name);
			printf(",\"section\":");
			json_str(p->section);
			printf(",\"type\":");
			json_str(prog_type(p->type));
			printf(",\"insns\":%zu,\"bytes_xlated\":%zu}", p->insn_count, p->insn_count * 8);
		}
		printf("],\"maps\":[");
		for (size_t i = 0; i < nm; i++) {
			const bpfvm_object_map *m = bpfvm_object_map_at(obj, i);
			printf("%s{\"id\":%zu,\"name\":", i ? "," : "", i);
			json_str(m->name);
			printf(",\"type\":");
			json_str(map_type(m->attrs.type));
			printf(",\"bytes_key\":%u,\"bytes_value\":%u,\"max_entries\":%u,\"flags\":%u}", m->attrs.key_size,
			       m->attrs.value_size, m->attrs.max_entries, m->attrs.flags);
		}
		printf("],\"license\":");
		json_str(bpfvm_object_license(obj));
		printf("}\n");
	} else {
		for (size_t i = 0; i < np; i++) {
			const bpfvm_object_prog *p = bpfvm_object_prog_at(obj, i);
			printf("%zu: %s  name %s  section %s\n\txlated %zuB  insns %zu%s\n", i, prog_type(p->type), p->name,
			       p->section, p->insn_count * 8, p->insn_count, p->autoload ? "" : "  (not autoloaded)");
		}
		for (size_t i = 0; i < nm; i++) {
			const bpfvm_object_map *m = bpfvm_object_map_at(obj, i);
			printf("map %zu: %s  name %s  flags 0x%x\n\tkey %uB  value %uB  max_entries %u\n", i,
			       map_type(m->attrs.type), m->name, m->attrs.flags, m->attrs.key_size, m->attrs.value_size,
			       m->attrs.max_entries);
		}
		printf("license: %s\n", bpfvm_object_license(obj) ? bpfvm_object_license(obj) : "(none)");
	}
	bpfvm_object_free(obj);
	return 0;
}

struct run_args {
	const char *prog, *data_in, *data_out, *ctx_in, *ctx_out, *pcap_in, *pcap_out, *pin_dir;
	uint32_t repeat;
	bool jit, unchecked, dump_maps, no_verify, json;
};

/* --dump-maps: every map's entries after the run (not ring buffers, whose
 * records are printed as they come, nor prog_arrays). */
void dump_maps(const bpfvm_object *obj, bpfvm_instance *inst)
{
	struct btf *btf = bpfvm_object_btf(obj);
	struct btf_dump *d = typed_dumper(btf);
	for (size_t i = 0; i < bpfvm_object_map_count(obj); i++) {
		const bpfvm_object_map *om = bpfvm_object_map_at(obj, i);
		bpfvm_map *m = bpfvm_instance_map(inst, i);
		bpfvm_map_info info;
		bpfvm_map_info_get(m, &info);
		if (info.type == BPF_MAP_TYPE_RINGBUF || info.type == 3 /* prog_array */ || !info.key_size)
			continue;
		printf("map %s (%s):\n", om->name, map_type(info.type));
		uint8_t key[512], next[512];
		uint8_t *value = malloc(info.user_value_size + 1);
		const void *prev = NULL;
		size_t count = 0;
		while (value && info.key_size <= sizeof key && bpfvm_map_get_next_key(m, prev, next, NULL) == 0) {
			memcpy(key, next, info.key_size);
			prev = key;
			if (bpfvm_map_lookup(m, key, value, 0, NULL))
				continue;
			printf("  key: ");
			typed_print(d, om->attrs.btf_key_type_id, key, info.key_size);
			printf("  value: ");
			typed_print(d, info.user_value_size == info.value_size ? om->attrs.btf_value_type_id : 0, value,
			            info.user_value_size);
			printf("\n");
			count++;
		}
		printf("  (%zu element%s)\n", count, count == 1 ? "" : "s");
		free(value);
	}
	btf_dump__free(d);
}

/* Prints what ring buffers hold, as they are consumed: one line a record. */
static int print_record(void *ctx, void *data, size_t size)
{
	const char *name = ctx;
	printf("ringbuf %s: %zu bytes:", name, size);
	for (size_t i = 0; i < size; i++)
		printf(" %02x", ((const uint8_t *)data)[i]);
	printf("\n");
	return 0;
}

static void print_sample(void *ctx, int cpu, void *data, uint32_t size)
{
	printf("perf %s cpu %d: %u bytes:", (const char *)ctx, cpu, size);
	for (uint32_t i = 0; i < size; i++)
		printf(" %02x", ((const uint8_t *)data)[i]);
	printf("\n");
}

static void print_lost(void *ctx, int cpu, uint64_t lost)
{
	printf("perf %s cpu %d: %llu samples lost\n", (const char *)ctx, cpu, (unsigned long long)lost);
}

/* Perf event arrays get a ring on every CPU slot before the run, as a
 * perf_buffer consumer would open them. */
static int attach_perf(bpfvm_instance *inst)
{
	const bpfvm_object *obj = bpfvm_instance_object(inst);
	for (size_t i = 0; i < bpfvm_object_map_count(obj); i++) {
		bpfvm_map *m = bpfvm_instance_map(inst, i);
		bpfvm_map_info info;
		bpfvm_map_info_get(m, &info);
		if (info.type != BPF_MAP_TYPE_PERF_EVENT_ARRAY)
			continue;
		for (uint32_t cpu = 0; cpu < info.max_entries && cpu < info.possible_cpus; cpu++) {
			bpfvm_error err = { 0 };
			if (bpfvm_map_perf_attach(m, cpu, 64 * 4096, &err))
				return fail("map %s: %s", info.name, err.msg);
		}
	}
	return 0;
}

/* Ring buffer records and perf samples, printed as they arrive; each ring
 * buffer record by `record` (NULL: as hex text). */
void drain_ringbufs(bpfvm_instance *inst, int (*record)(void *map_name, void *data, size_t size))
{
	const bpfvm_object *obj = bpfvm_instance_object(inst);
	for (size_t i = 0; i < bpfvm_object_map_count(obj); i++) {
		bpfvm_map *m = bpfvm_instance_map(inst, i);
		bpfvm_map_info info;
		bpfvm_map_info_get(m, &info);
		void *name = (void *)bpfvm_object_map_at(obj, i)->name;
		if (info.type == BPF_MAP_TYPE_RINGBUF)
			bpfvm_map_ringbuf_consume(m, record ? record : print_record, name, NULL);
		else if (info.type == BPF_MAP_TYPE_PERF_EVENT_ARRAY)
			bpfvm_map_perf_consume(m, print_sample, print_lost, name, NULL);
	}
}

static const char *verdict_name(uint32_t type, uint64_t r)
{
	if (type == BPF_PROG_TYPE_XDP) {
		static const char *const xdp[] = { "XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT" };
		return r < 5 ? xdp[r] : "XDP_(unknown)";
	}
	if (type == BPF_PROG_TYPE_SCHED_CLS || type == BPF_PROG_TYPE_SCHED_ACT) {
		switch ((int32_t)r) {
		case -1: return "TC_ACT_UNSPEC";
		case 0: return "TC_ACT_OK";
		case 1: return "TC_ACT_RECLASSIFY";
		case 2: return "TC_ACT_SHOT";
		case 3: return "TC_ACT_PIPE";
		case 4: return "TC_ACT_STOLEN";
		case 7: return "TC_ACT_REDIRECT";
		default: return "TC_ACT_(other)";
		}
	}
	return r ? "accept" : "drop";
}

/* Whether the verdict sends the frame where the redirect record says. */
static bool verdict_redirects(uint32_t type, uint64_t r)
{
	if (type == BPF_PROG_TYPE_XDP)
		return r == 4;
	return (type == BPF_PROG_TYPE_SCHED_CLS || type == BPF_PROG_TYPE_SCHED_ACT) && (int32_t)r == 7;
}

/* "7 (veth1)": an ifindex and the device's name here. */
static void device_text(uint32_t ifindex, char *buf, size_t len)
{
	char name[IF_NAMESIZE];
	snprintf(buf, len, "%u (%s)", ifindex, if_indextoname(ifindex, name) ? name : "no such device");
}

/* Where a run's redirect record sends the frame, as one line: "devmap
 * tx_ports[1] -> ifindex 7 (veth1)". */
static void redirect_text(const struct run_redirect *r, char *buf, size_t len)
{
	bpfvm_map_info info = { 0 };
	if (r->map)
		bpfvm_map_info_get(r->map, &info);
	const char *type = map_type(info.type), *map = info.name[0] ? info.name : "?";
	char dev[IF_NAMESIZE + 32];
	device_text(r->ifindex, dev, sizeof dev);
	switch (r->kind) {
	case RUN_REDIRECT_IFINDEX:
		snprintf(buf, len, "ifindex %s%s", dev, r->flags & 1 ? " ingress" : "");
		break;
	case RUN_REDIRECT_DEVMAP:
		snprintf(buf, len, "%s %s[%u] -> ifindex %s", type, map, r->key, dev);
		break;
	case RUN_REDIRECT_DEVMAP_BROADCAST:
		snprintf(buf, len, "%s %s broadcast%s", type, map,
		         r->flags & (1u << 4) ? " (excluding the ingress device)" : "");
		break;
	case RUN_REDIRECT_XSK:
		snprintf(buf, len, "xskmap %s[%u] -> AF_XDP socket (queue %u)", map, r->key, r->queue_id);
		break;
	case RUN_REDIRECT_CPU:
		snprintf(buf, len, "cpumap %s[%u] -> cpu %u (qsize %u)", map, r->key, r->key, r->qsize);
		break;
	default:
		snprintf(buf, len, "none (no redirect helper call succeeded)");
		break;
	}
}

static void redirect_json(const struct run_redirect *r)
{
	bpfvm_map_info info;
	char name[IF_NAMESIZE];
	printf("{\"kind\":");
	json_str(run_redirect_kind_name(r->kind));
	if (r->map) {
		bpfvm_map_info_get(r->map, &info);
		printf(",\"map\":");
		json_str(info.name);
		printf(",\"map_type\":");
		json_str(map_type(info.type));
		printf(",\"key\":%u", r->key);
	}
	if (r->kind == RUN_REDIRECT_IFINDEX || r->kind == RUN_REDIRECT_DEVMAP) {
		printf(",\"ifindex\":%u,\"ifname\":", r->ifindex);
		if (if_indextoname(r->ifindex, name))
			json_str(name);
		else
			printf("null");
	}
	if (r->kind == RUN_REDIRECT_IFINDEX || r->kind == RUN_REDIRECT_DEVMAP_BROADCAST)
		printf(",\"flags\":%" PRIu64, r->flags);
	if (r->kind == RUN_REDIRECT_XSK)
		printf(",\"queue_id\":%u", r->queue_id);
	if (r->kind == RUN_REDIRECT_CPU)
		printf(",\"cpu\":%u,\"qsize\":%u", r->key, r->qsize);
	printf("}");
}

/* Whether a packet with this verdict leaves the hook (for --pcap-out). */
static bool verdict_passes(uint32_t type, uint64_t r)
{
	if (type == BPF_PROG_TYPE_XDP)
		return r == 2 || r == 3;
	if (type == BPF_PROG_TYPE_SCHED_CLS || type == BPF_PROG_TYPE_SCHED_ACT)
		return (int32_t)r == 0 || (int32_t)r == -1 || (int32_t)r == 3;
	return r != 0;
}

/* The redirect targets of a capture's packets, by their text, with
 * counts: the first 16 apart, any others as one line. */
struct redirect_counts {
	char text[17][160];
	uint64_t count[17];
	size_t n;
};

static void count_redirect(struct redirect_counts *c)
{
	struct run_redirect r;
	run_redirect_take(&r);
	char text[160];
	redirect_text(&r, text, sizeof text);
	size_t k = 0;
	while (k < c->n && strcmp(c->text[k], text))
		k++;
	if (k == c->n && k == 16)
		snprintf(c->text[k], sizeof c->text[k], "(other targets)");
	else if (k == c->n)
		snprintf(c->text[k], sizeof c->text[k], "%s", text);
	if (k == c->n)
		c->n++;
	c->count[k]++;
}

static int run_pcap(bpfvm_program *prog, const bpfvm_region *regions, size_t nregions, const struct run_args *a,
                    bpfvm_instance *inst)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *in = pcap_open_offline(a->pcap_in, errbuf);
	if (!in)
		return fail("%s: %s", a->pcap_in, errbuf);
	uint32_t type = bpfvm_program_type(prog);
	if (type != BPF_PROG_TYPE_XDP && type != BPF_PROG_TYPE_SOCKET_FILTER && type != BPF_PROG_TYPE_SCHED_CLS &&
	    type != BPF_PROG_TYPE_SCHED_ACT) {
		pcap_close(in);
		return fail("--pcap: the program is of type %s; it takes xdp, socket_filter or sched_cls",
		            prog_type(type));
	}
	if (pcap_datalink(in) != DLT_EN10MB) {
		pcap_close(in);
		return fail("%s: link type %s: only Ethernet captures are supported", a->pcap_in,
		            pcap_datalink_val_to_name(pcap_datalink(in)));
	}
	pcap_t *dead = NULL;
	pcap_dumper_t *out = NULL;
	struct output_file out_file = { 0 };
	if (a->pcap_out) {
		if (output_open(a->pcap_out, &out_file)) {
			pcap_close(in);
			return 1;
		}
		dead = pcap_open_dead(DLT_EN10MB, 65535);
		out = dead ? pcap_dump_fopen(dead, out_file.f) : NULL;
		if (!out) {
			int rc = fail("%s: %s", a->pcap_out, dead ? pcap_geterr(dead) : "cannot open");
			if (dead)
				pcap_close(dead);
			output_finish(&out_file, false);
			pcap_close(in);
			return rc;
		}
	}
	uint64_t counts[16] = { 0 };
	const char *names[16] = { 0 };
	size_t nnames = 0;
	struct redirect_counts targets = { .n = 0 };
	uint64_t packets = 0, total_ns = 0;
	struct pcap_pkthdr *hdr;
	const u_char *bytes;
	int rc = 0, got;
	static uint8_t buf[65536 + 512];
	/* the capture's header, then each record's header and bytes */
	uint64_t bytes_read = 24;
	while ((got = pcap_next_ex(in, &hdr, &bytes)) == 1) {
		bytes_read += 16 + (uint64_t)hdr->caplen;
		if (bytes_read > max_input) {
			rc = fail_input_cap(a->pcap_in);
			break;
		}
		bpfvm_error err = { 0 };
		run_redirect_clear();
		BPFVM_OPTS(bpfvm_test_run, t,
			.data_in = bytes, .data_size_in = hdr->caplen,
			.data_out = buf, .data_size_out = sizeof buf,
			.mode = a->unchecked ? BPFVM_UNCHECKED : BPFVM_CHECKED,
			.engine = a->jit ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP,
			.regions = regions, .region_count = nregions
		);
		packets++;
		if (bpfvm_program_test_run(prog, &t, &err)) {
			rc = fail("%s: packet %" PRIu64 ": %s%s", a->pcap_in, packets, at_insn(err.insn), err.msg);
			break;
		}
		total_ns += t.duration_ns;
		const char *v = verdict_name(type, t.retval);
		size_t k = 0;
		while (k < nnames && strcmp(names[k], v))
			k++;
		if (k == nnames && nnames < 16)
			names[nnames++] = v;
		if (k < 16)
			counts[k]++;
		if (verdict_redirects(type, t.retval))
			count_redirect(&targets);
		if (out && verdict_passes(type, t.retval)) {
			struct pcap_pkthdr oh = *hdr;
			oh.caplen = oh.len = t.data_size_out;
			if (type == BPF_PROG_TYPE_SOCKET_FILTER && t.retval < oh.caplen)
				oh.caplen = oh.len = (uint32_t)t.retval;   /* a socket filter keeps that many bytes */
			pcap_dump((u_char *)out, &oh, buf);
		}
		drain_ringbufs(inst, NULL);
	}
	if (got == -1 && !rc)
		rc = fail("%s: %s", a->pcap_in, pcap_geterr(in));
	if (!rc) {
		printf("Packets: %" PRIu64 ", duration (average): %" PRIu64 "ns\n", packets,
		       packets ? total_ns / packets : 0);
		for (size_t k = 0; k < nnames; k++)
			printf("%-16s %" PRIu64 "\n", names[k], counts[k]);
		for (size_t k = 0; k < targets.n; k++)
			printf("  redirect: %s %" PRIu64 "\n", targets.text[k], targets.count[k]);
	}
	if (out) {
		if (pcap_dump_flush(out) && !rc)
			rc = fail("%s: write failed", a->pcap_out);
		pcap_dump_close(out);   /* closes out_file.f */
		out_file.f = NULL;
	}
	if (a->pcap_out && output_finish(&out_file, rc == 0))
		rc = 1;
	if (dead)
		pcap_close(dead);
	pcap_close(in);
	return rc;
}

/* A test run's result: r0 and the time, then for a redirect verdict where
 * the frame goes; -j: all of it as one JSON object. */
static void print_result(uint32_t type, const bpfvm_test_run *t, const struct run_args *a)
{
	struct run_redirect r;
	run_redirect_take(&r);
	bool redirects = verdict_redirects(type, t->retval);
	if (a->json) {
		printf("{\"retval\":%" PRIu64 ",\"duration_ns\":%" PRIu64, t->retval, t->duration_ns);
		if (type == BPF_PROG_TYPE_XDP || type == BPF_PROG_TYPE_SCHED_CLS || type == BPF_PROG_TYPE_SCHED_ACT) {
			printf(",\"verdict\":");
			json_str(verdict_name(type, t->retval));
		}
		if (redirects) {
			printf(",\"redirect\":");
			redirect_json(&r);
		}
		printf("}\n");
		return;
	}
	printf("Return value: %" PRIu64 ", duration%s: %" PRIu64 "ns\n", t->retval, a->repeat > 1 ? " (average)" : "",
	       t->duration_ns);
	if (redirects) {
		char text[160];
		redirect_text(&r, text, sizeof text);
		printf("%s, redirect: %s\n", verdict_name(type, t->retval), text);
	}
}

static int read_optional(const char *path, char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	return path ? read_file(path, data, len) : 0;
}

int cmd_run_object(const char *path, int argc, char **argv)
{
	struct run_args a = { .repeat = 1 };
	struct object_args oa = { 0 };
	for (int i = 1; i < argc; i++) {
		int taken = object_arg(&oa, argc, argv, &i, "run");
		if (taken < 0)
			return 1;
		if (taken)
			continue;
		const char *o = argv[i];
		const char **slot = !strcmp(o, "--prog") ? &a.prog
		                  : !strcmp(o, "--data-in") ? &a.data_in
		                  : !strcmp(o, "--data-out") ? &a.data_out
		                  : !strcmp(o, "--ctx-in") ? &a.ctx_in
		                  : !strcmp(o, "--ctx-out") ? &a.ctx_out
		                  : !strcmp(o, "--pcap") ? &a.pcap_in
		                  : !strcmp(o, "--pcap-out") ? &a.pcap_out
		                  : !strcmp(o, "--pin-dir") ? &a.pin_dir : NULL;
		if (slot) {
			if (i + 1 == argc)
				return fail("run: %s needs a value", o);
			*slot = argv[++i];
		} else if (!strcmp(o, "--repeat")) {
			char *end;
			if (i + 1 == argc)
				return fail("run: --repeat needs a count");
			unsigned long n = strtoul(argv[++i], &end, 0);
			if (*end || n == 0 || n > UINT32_MAX || argv[i][0] == '-')
				return fail("run: --repeat: '%s' is not a count", argv[i]);
			a.repeat = (uint32_t)n;
		} else if (!strcmp(o, "--jit")) {
			a.jit = true;
		} else if (!strcmp(o, "--interp")) {
			a.jit = false;
		} else if (!strcmp(o, "--unchecked")) {
			a.unchecked = true;
		} else if (!strcmp(o, "--no-verify")) {
			a.no_verify = true;
		} else if (!strcmp(o, "--dump-maps")) {
			a.dump_maps = true;
		} else if (!strcmp(o, "-j") || !strcmp(o, "--json")) {
			a.json = true;
		} else if (!strcmp(o, "-v")) {
			oa.verbose = true;
		} else if (path == NULL && o[0] != '-') {
			path = o;
		} else {
			return fail("run: unknown option '%s' (see 'bpfvm run --help')", o);
		}
	}
	if (a.pcap_out && !a.pcap_in)
		return fail("run: --pcap-out needs --pcap");
	if (a.json && (a.pcap_in || a.dump_maps))
		return fail("run: -j prints one run's result; it does not go with --pcap or --dump-maps");
	/* a verified program needs no run-time checks; without verification
	 * the checked engines guard the host unless the user says otherwise */
	if (!a.no_verify)
		a.unchecked = true;
	bpfvm_object *obj;
	bpfvm_error err = { 0 };
	if (object_open(path, &oa, &obj))
		return 1;
	int idx = -1;
	if (a.prog) {
		idx = bpfvm_object_find_prog(obj, a.prog);
		if (idx < 0) {
			bpfvm_object_free(obj);
			return fail("%s: no program named '%s' (see 'bpfvm prog show %s')", path, a.prog, path);
		}
	} else {
		for (size_t i = 0; i < bpfvm_object_prog_count(obj); i++)
			if (bpfvm_object_prog_at(obj, i)->autoload) {
				if (idx >= 0) {
					bpfvm_object_free(obj);
					return fail("%s: several programs; choose one with --prog NAME", path);
				}
				idx = (int)i;
			}
		if (idx < 0) {
			bpfvm_object_free(obj);
			return fail("%s: no program to run", path);
		}
	}
	BPFVM_OPTS(bpfvm_instance_opts, io, .jit = a.jit, .pin_dir = a.pin_dir, .verify = !a.no_verify, .only_prog = NULL);
	bpfvm_instance *inst = NULL;
	int rc = 0;
	char *din = NULL, *cin = NULL;
	size_t din_len = 0, cin_len = 0;
	uint8_t *dout = NULL, *cout = NULL;
	if (bpfvm_instance_new(obj, &io, &inst, &err)) {
		rc = fail("%s: %s", path, err.msg);
		goto out;
	}
	bpfvm_program *prog = bpfvm_instance_prog(inst, (size_t)idx);
	if (!prog) {
		rc = fail("%s: program %s was not loaded", path, bpfvm_object_prog_at(obj, (size_t)idx)->name);
		goto out;
	}
	size_t nregions;
	const bpfvm_region *regions = bpfvm_instance_regions(inst, &nregions);
	if (attach_perf(inst)) {
		rc = 1;
		goto out;
	}
	if (a.pcap_in) {
		rc = run_pcap(prog, regions, nregions, &a, inst);
		if (!rc && a.dump_maps)
			dump_maps(obj, inst);
		goto out;
	}
	if (read_optional(a.data_in, &din, &din_len) || read_optional(a.ctx_in, &cin, &cin_len)) {
		rc = 1;
		goto out;
	}
	dout = malloc(din_len + 4096);
	cout = malloc(cin_len + 4096);
	if (!dout || !cout) {
		rc = fail("out of memory");
		goto out;
	}
	BPFVM_OPTS(bpfvm_test_run, t,
		.data_in = din, .data_size_in = (uint32_t)din_len,
		.data_out = dout, .data_size_out = (uint32_t)din_len + 4096,
		.ctx_in = cin, .ctx_size_in = (uint32_t)cin_len,
		/* Only when asked: a context out alone changes an XDP run in the
		 * kernel (a zeroed context in; bpfvm refuses it, see xdp.c). */
		.ctx_out = a.ctx_out ? cout : NULL, .ctx_size_out = (uint32_t)cin_len + 4096,
		.repeat = a.repeat,
		.mode = a.unchecked ? BPFVM_UNCHECKED : BPFVM_CHECKED,
		.engine = a.jit ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP,
		.regions = regions, .region_count = nregions
	);
	run_redirect_clear();
	if (bpfvm_program_test_run(prog, &t, &err)) {
		rc = fail("%s: %s%s", path, at_insn(err.insn), err.msg);
		goto out;
	}
	drain_ringbufs(inst, NULL);
	print_result(bpfvm_program_type(prog), &t, &a);
	if (a.dump_maps)
		dump_maps(obj, inst);
	if (a.data_out)
		rc |= write_file(a.data_out, dout, t.data_size_out);
	if (a.ctx_out)
		rc |= write_file(a.ctx_out, cout, t.ctx_size_out);
out:
	free(din);
	free(cin);
	free(dout);
	free(cout);
	bpfvm_instance_free(inst);
	bpfvm_object_free(obj);
	return rc;
}
