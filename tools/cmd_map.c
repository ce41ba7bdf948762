/*
 * cmd_map.c - `bpfvm map dump|lookup|update|delete|show pinned PATH`, in
 * bpftool's syntax and output: keys and values as hex bytes (per-CPU maps
 * one value per CPU), JSON with -j.  When the pin has a valid BTF sidecar
 * (PATH.btf, <bpfvm/pin_btf.h>), dump and lookup print keys and values
 * with their types too: as `run --dump-maps` does in text, and in JSON as
 * bpftool's "formatted" member next to the bytes.
 */
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/maps.h"
#include "bpfvm/pin_btf.h"
#include "btf_print.h"
#include "cli.h"

/* The types of a pinned map's keys and values (none: all zero). */
struct map_types {
	struct btf *btf;
	struct btf_dump *dump;
	uint32_t key_id, value_id;
};

static bool percpu(uint32_t type)
{
	return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static void print_bytes(const uint8_t *p, size_t n, bool json)
{
	for (size_t i = 0; i < n; i++) {
		if (json)
			printf("%s\"0x%02x\"", i ? "," : "", p[i]);
		else
			printf("%s%02x", i ? " " : "", p[i]);
	}
}

static void print_entry(const bpfvm_map_info *info, const struct map_types *ty, const uint8_t *key,
                        const uint8_t *value, bool json, bool first)
{
	size_t stride = (info->value_size + 7) / 8 * 8;
	if (json) {
		printf("%s{\"key\":[", first ? "" : ",");
		print_bytes(key, info->key_size, true);
		printf("],");
		if (percpu(info->type)) {
			printf("\"values\":[");
			for (uint32_t c = 0; c < info->possible_cpus; c++) {
				printf("%s{\"cpu\":%u,\"value\":[", c ? "," : "", c);
				print_bytes(value + c * stride, info->value_size, true);
				printf("]}");
			}
			printf("]");
		} else {
			printf("\"value\":[");
			print_bytes(value, info->user_value_size, true);
			printf("]");
		}
		if (ty->btf) {
			/* bpftool's shape: {"key":K,"value":V} or {"key":K,"values":[{"cpu":N,"value":V}]} */
			printf(",\"formatted\":{");
			if (ty->key_id) {
				printf("\"key\":");
				typed_print_json(ty->btf, ty->key_id, key, info->key_size);
			}
			if (ty->value_id) {
				printf("%s", ty->key_id ? "," : "");
				if (percpu(info->type)) {
					printf("\"values\":[");
					for (uint32_t c = 0; c < info->possible_cpus; c++) {
						printf("%s{\"cpu\":%u,\"value\":", c ? "," : "", c);
						typed_print_json(ty->btf, ty->value_id, value + c * stride, info->value_size);
						printf("}");
					}
					printf("]");
				} else {
					printf("\"value\":");
					typed_print_json(ty->btf, ty->value_id, value, info->user_value_size);
				}
			}
			printf("}");
		}
		printf("}");
		return;
	}
	if (info->key_size) {
		printf("key: ");
		typed_print(ty->dump, ty->key_id, key, info->key_size);
		printf("  ");
	}
	if (percpu(info->type)) {
		printf("\n");
		for (uint32_t c = 0; c < info->possible_cpus; c++) {
			printf("value (CPU %02u): ", c);
			typed_print(ty->dump, ty->value_id, value + c * stride, info->value_size);
			printf("\n");
		}
	} else {
		printf("value: ");
		typed_print(ty->dump, ty->value_id, value, info->user_value_size);
		printf("\n");
	}
}

/* The pin's sidecar, if it has a valid one; a broken one is reported in one
 * line and ignored (the entries are then printed as bytes). */
static void load_types(const char *path, const bpfvm_map *map, struct map_types *ty)
{
	bpfvm_error err = { 0 };
	libbpf_set_print(NULL);   /* our warning says why; libbpf's would add lines */
	int rc = bpfvm_pin_btf_read(path, map, &ty->btf, &ty->key_id, &ty->value_id, &err);
	if (rc == -ENOENT)
		return;
	if (rc) {
		fprintf(stderr, "%s: warning: %s; printing bytes only\n", prog_name, err.msg);
		return;
	}
	ty->dump = typed_dumper(ty->btf);
}

/* Collects "key BYTES..." / "value BYTES..." arguments (bpftool's form,
 * with an optional "hex" word). */
static int take_bytes(const char *what, int *i, int argc, char **argv, uint8_t *out, size_t want)
{
	size_t n = 0;
	int k = *i + 1;
	if (k < argc && !strcmp(argv[k], "hex"))
		k++;
	for (; k < argc && n < want; k++) {
		char *end;
		unsigned long v = strtoul(argv[k], &end, strncmp(argv[k], "0x", 2) ? 16 : 0);
		if (*end || v > 255)
			return fail("map: %s: '%s' is not a byte", what, argv[k]);
		out[n++] = (uint8_t)v;
	}
	if (n != want)
		return fail("map: %s needs %zu bytes, got %zu", what, want, n);
	*i = k - 1;
	return 0;
}

/* `show`: what is held in the map now, and by whom (a dead holder's
 * lock or element is what the next user takes over or reclaims). */
struct holders_print {
	bool json;
	size_t count;
};

static void print_holder(const bpfvm_map_holder *h, void *ctx)
{
	struct holders_print *p = ctx;
	if (p->json)
		printf("%s{\"what\":\"%s\",\"index\":%llu,\"pid\":%d,\"alive\":%s}", p->count ? "," : "",
		       h->what, (unsigned long long)h->index, h->pid, h->alive ? "true" : "false");
	else
		printf("\theld: %s %llu by pid %d%s\n", h->what, (unsigned long long)h->index, h->pid,
		       h->alive ? "" : " (dead: taken over or reclaimed by the next user)");
	p->count++;
}

static void show_map(bpfvm_map *map, const bpfvm_map_info *info, bool json)
{
	struct holders_print p = { .json = json };
	if (json) {
		printf("{\"id\":%u,\"type\":\"%s\",\"name\":\"%s\",\"flags\":%u,\"bytes_key\":%u,"
		       "\"bytes_value\":%u,\"max_entries\":%u,\"holders\":[", info->id, bpfvm_map_type_name(info->type),
		       info->name, info->flags, info->key_size, info->value_size, info->max_entries);
		bpfvm_map_holders(map, print_holder, &p, NULL);
		printf("]}\n");
		return;
	}
	printf("%u: %s  name %s  flags 0x%x\n\tkey %uB  value %uB  max_entries %u\n", info->id,
	       bpfvm_map_type_name(info->type), info->name, info->flags, info->key_size, info->value_size,
	       info->max_entries);
	bpfvm_map_holders(map, print_holder, &p, NULL);
}

int cmd_map(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help")) {
		printf("usage: bpfvm map { show | dump } pinned PATH [-j]\n"
		       "       bpfvm map lookup pinned PATH key BYTES [-j]\n"
		       "       bpfvm map update pinned PATH key BYTES value BYTES [any|exist|noexist]\n"
		       "       bpfvm map delete pinned PATH key BYTES\n"
		       "Works on maps a bpfvm process pinned (LIBBPF_PIN_BY_NAME maps live in\n"
		       "%s/NAME).  BYTES are hex bytes: 0x01 0x02 or hex 01 02.\n"
		       "dump and lookup also print keys and values with their C types when\n"
		       "the pin has a BTF sidecar (PATH.btf, written by bpfvm run).\n",
		       bpfvm_map_pin_dir());
		return argc < 2;
	}
	const char *verb = argv[1];
	if (strcmp(verb, "show") && strcmp(verb, "dump") && strcmp(verb, "lookup") && strcmp(verb, "update") &&
	    strcmp(verb, "delete"))
		return fail("map: unknown command '%s' (see 'bpfvm map help')", verb);
	int i = 2;
	if (i < argc && !strcmp(argv[i], "pinned"))
		i++;
	if (i >= argc)
		return fail("map %s: no pinned map path", verb);
	const char *path = argv[i++];
	bpfvm_map *map;
	bpfvm_error err = { 0 };
	/* show looks without touching: no reclaim of what dead holders left */
	int orc = !strcmp(verb, "show") ? bpfvm_map_open_pinned_inspect(path, &map, &err)
	                                 : bpfvm_map_open_pinned(path, &map, &err);
	if (orc)
		return fail("%s: %s", path, err.msg);
	bpfvm_map_info info;
	bpfvm_map_info_get(map, &info);
	struct map_types types = { 0 };
	uint8_t *key = calloc(1, info.key_size + 1), *next = calloc(1, info.key_size + 1);
	uint8_t *value = calloc(1, info.user_value_size + 1);
	bool json = false, have_key = false, have_value = false;
	uint64_t flags = BPFVM_ANY;
	int rc = 0;
	if (!key || !next || !value) {
		rc = fail("out of memory");
		goto out;
	}
	for (; i < argc && !rc; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "key")) {
			rc = take_bytes("key", &i, argc, argv, key, info.key_size);
			have_key = true;
		} else if (!strcmp(argv[i], "value")) {
			rc = take_bytes("value", &i, argc, argv, value, info.user_value_size);
			have_value = true;
		} else if (!strcmp(argv[i], "any")) {
			flags = BPFVM_ANY;
		} else if (!strcmp(argv[i], "exist")) {
			flags = BPFVM_EXIST;
		} else if (!strcmp(argv[i], "noexist")) {
			flags = BPFVM_NOEXIST;
		} else {
			rc = fail("map %s: unexpected '%s'", verb, argv[i]);
		}
	}
	if (rc)
		goto out;
	if (!strcmp(verb, "dump") || !strcmp(verb, "lookup"))
		load_types(path, map, &types);
	if (!strcmp(verb, "show")) {
		show_map(map, &info, json);
	} else if (!strcmp(verb, "dump")) {
		if (json)
			printf("[");
		size_t count = 0;
		const void *prev = NULL;
		/* get_next_key starts again from the first key when the last one
		 * went away (as the kernel's does): a map that keeps changing, or
		 * a damaged one, could keep a dump going for ever.  A map can only
		 * give max_entries keys, so a few times that is the bound. */
		uint64_t steps = 0, bound = 4ull * info.max_entries + 64;
		int walk;
		while ((walk = bpfvm_map_get_next_key(map, prev, next, &err)) == 0 && ++steps <= bound) {
			memcpy(key, next, info.key_size);
			prev = key;
			if (bpfvm_map_lookup(map, key, value, 0, NULL))
				continue;   /* deleted meanwhile */
			print_entry(&info, &types, key, value, json, count == 0);
			count++;
		}
		if (json)
			printf("]\n");
		else
			printf("Found %zu element%s\n", count, count == 1 ? "" : "s");
		if (walk == 0)
			rc = fail("map dump: %s: stopped after %llu keys, more than its %u entries allow: the map "
			          "kept changing during the dump, or it is damaged", path, (unsigned long long)bound,
			          info.max_entries);
		else if (walk == -EUCLEAN)
			rc = fail("map dump: %s: %s", path, err.msg);
	} else {
		if (!have_key && info.key_size)
			rc = fail("map %s: no key given", verb);
		else if (!strcmp(verb, "lookup")) {
			if (bpfvm_map_lookup(map, key, value, 0, &err))
				rc = fail("map lookup: %s", err.msg);
			else {
				print_entry(&info, &types, key, value, json, true);
				if (json)
					printf("\n");
			}
		} else if (!strcmp(verb, "update")) {
			if (!have_value)
				rc = fail("map update: no value given");
			else if (bpfvm_map_update(map, key, value, flags, &err))
				rc = fail("map update: %s", err.msg);
		} else if (bpfvm_map_delete(map, key, &err)) {
			rc = fail("map delete: %s", err.msg);
		}
	}
out:
	btf_dump__free(types.dump);
	btf__free(types.btf);
	free(key);
	free(next);
	free(value);
	bpfvm_map_put(map);
	return rc;
}
