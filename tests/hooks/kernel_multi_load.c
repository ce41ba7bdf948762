/*
 * kernel_multi_load.c - the kernel's run of the uprobe.multi comparison
 * (tests/hooks/kernel_multi_compare.sh): attaches an object's
 * uprobe.multi/ and uretprobe.multi/ programs in the kernel, runs a target
 * to its end, and prints the object's maps as `bpfvm trace -j --dump-maps`
 * prints them.
 *
 *   kernel_multi_load OBJ TARGET [ARGS]
 *
 * libbpf 1.1.2 knows neither the sections nor the link, so: each program
 * whose section is uprobe.multi/PATH:PATTERN or uretprobe.multi/... with
 * PATH the target's base name is loaded as KPROBE with expected attach
 * type BPF_TRACE_UPROBE_MULTI (the others not at all) and attached by a
 * raw BPF_LINK_CREATE (path, offsets, cnt) at the file offset of every
 * function of TARGET's .symtab that fnmatch(3) matches PATTERN with (an
 * implementation of its own, not bpfvm's).  Exit 77 with a message where bpf() or the link type is
 * missing; 1 on any other failure.  The maps must have 8-byte keys and
 * values (printed as decimal numbers).
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
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
#define MAX_FUNCS 64
#define MAX_LINKS 16
#define TRACE_UPROBE_MULTI 48          /* BPF_TRACE_UPROBE_MULTI, Linux 6.6 */
#define F_UPROBE_MULTI_RETURN 1u       /* BPF_F_UPROBE_MULTI_RETURN */
#define KERNEL_ENOTSUPP 524            /* the kernel's own ENOTSUPP, which no user header has */

/* BPF_LINK_CREATE's attributes for a uprobe_multi link (Linux 6.6's
 * union bpf_attr; Debian's 6.1 header lacks the member). */
struct link_create_uprobe_multi {
	uint32_t prog_fd, target_fd, attach_type, flags;
	uint64_t path, offsets, ref_ctr_offsets, cookies;
	uint32_t cnt, multi_flags, pid;
};
_Static_assert(sizeof(struct link_create_uprobe_multi) <= sizeof(union bpf_attr), "fits bpf_attr");

/* The file offset of vaddr through the executable segments, or -1. */
static long file_offset(Elf *e, uint64_t vaddr)
{
	size_t nph = 0;
	if (elf_getphdrnum(e, &nph))
		return -1;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X) && vaddr >= ph.p_vaddr &&
		    vaddr < ph.p_vaddr + ph.p_filesz)
			return (long)(vaddr - ph.p_vaddr + ph.p_offset);
	}
	return -1;
}

/* The file offsets of the defined functions of path's .symtab whose
 * names match pattern; how many, or -errno. */
static int matching_offsets(const char *path, const char *pattern, uint64_t *offs)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), n = 0;
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	Elf_Scn *scn = NULL;
	while (e && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize && n < MAX_FUNCS; i++) {
			GElf_Sym s;
			const char *name;
			long off;
			if (gelf_getsym(d, (int)i, &s) && GELF_ST_TYPE(s.st_info) == STT_FUNC && s.st_shndx != SHN_UNDEF &&
			    (name = elf_strptr(e, sh.sh_link, s.st_name)) && !fnmatch(pattern, name, 0) &&
			    (off = file_offset(e, s.st_value)) >= 0)
				offs[n++] = (uint64_t)off;
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return n;
}

/* A uprobe_multi link of prog at every function of target pattern
 * matches: its fd, or -errno. */
static int attach_multi(struct bpf_program *prog, const char *target, const char *pattern, bool ret)
{
	uint64_t offs[MAX_FUNCS];
	int n = matching_offsets(target, pattern, offs);
	if (n <= 0) {
		fprintf(stderr, "%s: no function of %s matches '%s'\n", bpf_program__name(prog), target, pattern);
		return n < 0 ? n : -ENOENT;
	}
	struct link_create_uprobe_multi lc = {
		.prog_fd = (uint32_t)bpf_program__fd(prog), .attach_type = TRACE_UPROBE_MULTI,
		.path = (uint64_t)(uintptr_t)target, .offsets = (uint64_t)(uintptr_t)offs, .cnt = (uint32_t)n,
		.multi_flags = ret ? F_UPROBE_MULTI_RETURN : 0,
	};
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	memcpy(&a, &lc, sizeof lc);
	return kbpf(BPF_LINK_CREATE, &a);
}

/* A hash of 8-byte keys and values, as bpfvm trace -j prints it. */
static int dump_map(const struct bpf_map *map)
{
	uint64_t key, *prev = NULL, prev_key, value;
	int fd = bpf_map__fd(map);
	if (bpf_map__key_size(map) != 8 || bpf_map__value_size(map) != 8)
		return 0;
	while (bpf_map_get_next_key(fd, prev, &key) == 0) {
		if (bpf_map_lookup_elem(fd, &key, &value))
			return -errno;
		printf("{\"type\":\"map\",\"map\":\"%s\",\"key\":%llu,\"value\":%llu}\n", bpf_map__name(map),
		       (unsigned long long)key, (unsigned long long)value);
		prev_key = key;
		prev = &prev_key;
	}
	return 0;
}

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

/* Whether sec is uprobe.multi/PATH:PATTERN or uretprobe.multi/... with
 * PATH the target's base name. */
static bool multi_of_target(const char *sec, const char *target)
{
	const char *base = strrchr(target, '/'), *rest = strchr(sec, '/'), *colon = strrchr(sec, ':');
	base = base ? base + 1 : target;
	if ((strncmp(sec, "uprobe.multi/", 13) && strncmp(sec, "uretprobe.multi/", 16)) || !colon)
		return false;
	return (size_t)(colon - rest - 1) == strlen(base) && !strncmp(rest + 1, base, strlen(base));
}

/* The target's multi programs' types set, the others not loaded; 0, or
 * 1 with why printed. */
static int prepare(struct bpf_object *obj, const char *target)
{
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		bool multi = multi_of_target(bpf_program__section_name(prog), target);
		bpf_program__set_autoload(prog, multi);
		if (multi && (bpf_program__set_type(prog, BPF_PROG_TYPE_KPROBE) ||
		              bpf_program__set_expected_attach_type(prog, TRACE_UPROBE_MULTI)))
			return 1;
	}
	return 0;
}

static int attach_all(struct bpf_object *obj, const char *target, int *links, int *n)
{
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		const char *sec = bpf_program__section_name(prog), *colon = strrchr(sec, ':');
		if (!bpf_program__autoload(prog) || !colon || *n == MAX_LINKS)
			continue;
		int fd = attach_multi(prog, target, colon + 1, sec[1] == 'r');
		if (fd == -EINVAL || fd == -EOPNOTSUPP || fd == -KERNEL_ENOTSUPP) {
			printf("skipped: this kernel makes no uprobe_multi link (BPF_LINK_CREATE: %s)\n", strerror(-fd));
			return SKIP;
		}
		if (fd < 0) {
			fprintf(stderr, "%s (%s): cannot attach: %s\n", bpf_program__name(prog), sec, strerror(-fd));
			return 1;
		}
		links[(*n)++] = fd;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: kernel_multi_load OBJ TARGET [ARGS]\n");
		return 1;
	}
	libbpf_set_print(quiet_libbpf);
	setrlimit(RLIMIT_MEMLOCK, &(struct rlimit){ RLIM_INFINITY, RLIM_INFINITY });
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (libbpf_get_error(obj)) {
		fprintf(stderr, "cannot open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	int rc = prepare(obj, argv[2]), links[MAX_LINKS], n = 0;
	if (!rc && bpf_object__load(obj)) {
		bool denied = errno == EPERM || errno == EACCES || errno == ENOSYS;
		printf("%s: cannot load %s in the kernel: %s\n", denied ? "skipped" : "error", argv[1], strerror(errno));
		rc = denied ? SKIP : 1;
	}
	if (!rc)
		rc = attach_all(obj, argv[2], links, &n);
	if (!rc && kbpf_run_target(argv + 2)) {
		fprintf(stderr, "%s did not exit 0\n", argv[2]);
		rc = 1;
	}
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj) if (!rc && dump_map(map))
		rc = 1;
	for (int i = 0; i < n; i++)
		close(links[i]);
	bpf_object__close(obj);
	return rc;
}
