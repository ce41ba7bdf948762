/*
 * kernel_compare_load.c - run A of the kernel comparison
 * (tests/hooks/kernel_compare.sh): attaches an object's programs in the
 * kernel with libbpf, runs a target to its end, and prints the object's
 * maps as `bpfvm trace -j --dump-maps` prints them, so the two compare
 * line by line.
 *
 *   kernel_compare_load OBJ TARGET [ARGS]
 *
 * uprobe/PATH:FUNC and uretprobe/PATH:FUNC attach by the file offset of
 * FUNC in TARGET (the uprobe PMU, every process); tracepoint/CAT/NAME by
 * bpf_program__attach_tracepoint.  Exit 77 with a message where bpf() or
 * the uprobe PMU is missing; 1 on any other failure.  The maps must have
 * 4-byte keys and 8-byte values (printed as decimal numbers).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "support/kbpf.h"

#define SKIP 77
#define MAX_LINKS 32
#define MAX_KEYS 4096

/* The executable segment's file offset of symbol func in the ELF file at
 * path (what the uprobe PMU takes), or -1. */
static long func_file_offset(const char *path, const char *func)
{
	long off = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	Elf_Scn *scn = NULL;
	uint64_t addr = 0;
	while (e && !addr && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && sh.sh_entsize && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *name;
			if (gelf_getsym(d, (int)i, &s) && GELF_ST_TYPE(s.st_info) == STT_FUNC && s.st_value &&
			    (name = elf_strptr(e, sh.sh_link, s.st_name)) && !strcmp(name, func)) {
				addr = s.st_value;
				break;
			}
		}
	}
	size_t nph = 0;
	if (addr && elf_getphdrnum(e, &nph) == 0)
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X) &&
			    addr >= ph.p_vaddr && addr < ph.p_vaddr + ph.p_filesz)
				off = (long)(addr - ph.p_vaddr + ph.p_offset);
		}
	if (e)
		elf_end(e);
	close(fd);
	return off;
}

static int attach_uprobe(struct bpf_program *prog, const char *spec, bool ret, const char *target,
			 struct bpf_link **link)
{
	const char *colon = strrchr(spec, ':');
	long off = colon ? func_file_offset(target, colon + 1) : -1;
	if (off < 0) {
		fprintf(stderr, "%s: no function '%s' in %s\n", bpf_program__name(prog), colon ? colon + 1 : spec,
			target);
		return -ENOENT;
	}
	*link = bpf_program__attach_uprobe(prog, ret, -1, target, (size_t)off);
	return libbpf_get_error(*link) ? -errno : 0;
}

static int attach_tracepoint(struct bpf_program *prog, const char *event, struct bpf_link **link)
{
	char category[64];
	const char *slash = strchr(event, '/');
	if (!slash || (size_t)(slash - event) >= sizeof category) {
		fprintf(stderr, "%s: '%s' is not CATEGORY/NAME\n", bpf_program__name(prog), event);
		return -EINVAL;
	}
	snprintf(category, sizeof category, "%.*s", (int)(slash - event), event);
	*link = bpf_program__attach_tracepoint(prog, category, slash + 1);
	return libbpf_get_error(*link) ? -errno : 0;
}

/* Attaches every program; the links go into links[], *n of them. */
static int attach_all(struct bpf_object *obj, const char *target, struct bpf_link **links, int *n)
{
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		const char *sec = bpf_program__section_name(prog);
		int rc;
		if (*n == MAX_LINKS)
			return -E2BIG;
		if (!strncmp(sec, "uprobe/", 7) || !strncmp(sec, "uretprobe/", 10))
			rc = attach_uprobe(prog, strchr(sec, '/') + 1, sec[1] == 'r', target, &links[*n]);
		else if (!strncmp(sec, "tracepoint/", 11))
			rc = attach_tracepoint(prog, sec + 11, &links[*n]);
		else
			rc = -EOPNOTSUPP;
		if (rc) {
			fprintf(stderr, "%s (%s): cannot attach: %s\n", bpf_program__name(prog), sec, strerror(-rc));
			return rc;
		}
		(*n)++;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* An array's every entry, a hash's entries by key, as bpfvm trace -j. */
static int dump_map(const struct bpf_map *map)
{
	static uint32_t keys[MAX_KEYS];
	uint32_t n = 0, key, *prev = NULL;
	int fd = bpf_map__fd(map);
	if (bpf_map__key_size(map) != 4 || bpf_map__value_size(map) != 8) {
		fprintf(stderr, "map %s: key or value size not 4 and 8\n", bpf_map__name(map));
		return -EINVAL;
	}
	if (bpf_map__type(map) == BPF_MAP_TYPE_ARRAY)
		for (n = 0; n < bpf_map__max_entries(map) && n < MAX_KEYS; n++)
			keys[n] = n;
	else
		for (; n < MAX_KEYS && bpf_map_get_next_key(fd, prev, &key) == 0; prev = &keys[n++])
			keys[n] = key;
	qsort(keys, n, sizeof keys[0], cmp_u32);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t value;
		if (bpf_map_lookup_elem(fd, &keys[i], &value))
			return -errno;
		printf("{\"type\":\"map\",\"map\":\"%s\",\"key\":%u,\"value\":%llu}\n", bpf_map__name(map), keys[i],
		       (unsigned long long)value);
	}
	return 0;
}

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: kernel_compare_load OBJ TARGET [ARGS]\n");
		return 1;
	}
	if (access("/sys/bus/event_source/devices/uprobe/type", R_OK)) {
		printf("skipped: no uprobe PMU (/sys/bus/event_source/devices/uprobe)\n");
		return SKIP;
	}
	libbpf_set_print(quiet_libbpf);
	setrlimit(RLIMIT_MEMLOCK, &(struct rlimit){ RLIM_INFINITY, RLIM_INFINITY });
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (libbpf_get_error(obj)) {
		fprintf(stderr, "cannot open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	int rc = bpf_object__load(obj);
	if (rc == -EPERM || rc == -ENOSYS || rc == -EACCES) {
		printf("skipped: the kernel's bpf() is unavailable here (%s)\n", strerror(-rc));
		bpf_object__close(obj);
		return SKIP;
	}
	struct bpf_link *links[MAX_LINKS];
	int nlinks = 0;
	if (!rc)
		rc = attach_all(obj, argv[2], links, &nlinks);
	if (!rc)
		rc = kbpf_run_target(argv + 2);
	for (int i = 0; i < nlinks; i++)
		bpf_link__destroy(links[i]);
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj)
		if (!rc && !bpf_map__is_internal(map))
			rc = dump_map(map);
	bpf_object__close(obj);
	if (rc)
		fprintf(stderr, "kernel_compare_load: %s\n", strerror(-rc));
	return rc ? 1 : 0;
}
