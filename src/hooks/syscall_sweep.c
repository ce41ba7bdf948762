/*
 * syscall_sweep.c - the proof that no syscall instruction of the process
 * can run unrewritten, on which Syscall User Dispatch may go off (see
 * syscall_sweep.h).
 *
 * Every ELF object (dl_iterate_phdr: the program, its libraries, ld.so,
 * the vDSO) is decoded FDE by FDE (syscall_rewrite.c's cover: each
 * syscall instruction gets its jump where one can be proven, and an int3
 * over its first byte in any case; a sysenter, an int $0x80 or a byte
 * capstone cannot decode is unprovable).  Code outside every FDE cannot
 * be decoded with certainty: where its bytes hold a syscall's, sysenter's
 * or int $0x80's two bytes, the gap is decoded from its start and each
 * such pair must be a syscall instruction of that decoding (covered as
 * the others: a thread reaching the bytes another way meets the same
 * int3 over their first byte); no pair may be in any other
 * executable mapping (/proc/self/maps: anonymous code, a file mapped by
 * hand); a writable and executable mapping is unprovable (code may be
 * written into it at any time).  Exempt: the interceptor's own range
 * (sud_code_start..end, which dispatch lets through anyway), the
 * rewriter's stub pools (they hold no syscall; their data words are
 * addresses), and the kernel's [vsyscall] page (its calls are emulated
 * by the kernel without a syscall instruction, and it cannot be read).
 *
 * Runs with dispatch on, in start (not in a signal handler): it may
 * allocate.  The first unprovable place is kept as the reason, named by
 * object and offset.
 *
 * New code after start (sud_sweep_new_code, syscall_trace.c's
 * SYSCALL_TRACE_SWEEP_NEW_CODE): the one object holding a new executable
 * range, found by _dl_find_object and its ELF header (not
 * dl_iterate_phdr, which takes the loader's lock), swept the same way,
 * and the executable mappings overlapping the range checked as at start
 * (/proc/self/maps read with read(2)); nothing allocates with malloc: the
 * caller may be inside malloc or dlopen, in a signal handler's frame.
 *
 * Owns: sud_sweep(), sud_sweep_new_code(), sud_sweep_is_code(),
 * sud_sweep_forget(), the object list, the gap and mapping scans.
 */
#define _GNU_SOURCE
#include "hooks/syscall_sweep.h"
#include "hooks/syscall_sites.h"
#include "hooks/syscall_sud.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SEGS_MAX 1024

struct exec_seg {
	uintptr_t lo, hi;
	size_t object;          /* index into the object list */
};

struct sweep_objects {
	struct exec_seg segs[SEGS_MAX];
	size_t nsegs;
	char names[SEGS_MAX][96];
	uintptr_t bases[SEGS_MAX];
	size_t nobjects;
	bool overflow;
};

static int collect_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct sweep_objects *o = arg;
	if (o->nobjects == SEGS_MAX) {
		o->overflow = true;
		return 1;
	}
	size_t index = o->nobjects;
	bool any = false;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X) || !ph->p_memsz)
			continue;
		if (o->nsegs == SEGS_MAX) {
			o->overflow = true;
			return 1;
		}
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		o->segs[o->nsegs++] = (struct exec_seg){lo, lo + ph->p_memsz, index};
		any = true;
	}
	if (any) {
		const char *name = info->dlpi_name && *info->dlpi_name ? info->dlpi_name : "the program";
		snprintf(o->names[index], sizeof o->names[index], "%s", name);
		o->bases[index] = info->dlpi_addr;
		o->nobjects++;
	}
	return 0;
}

static int by_start(const void *a, const void *b)
{
	const struct exec_seg *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void set_why(struct sud_sweep *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_why(struct sud_sweep *out, const char *fmt, ...)
{
	if (out->why[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->why, sizeof out->why, fmt, ap);
	va_end(ap);
}

static bool exempt(uintptr_t at)
{
	return at >= (uintptr_t)sud_code_start && at < (uintptr_t)sud_code_end;
}

/* The first syscall (0f 05), sysenter (0f 34) or int $0x80 (cd 80) byte
 * pair starting in [lo, hi) and lying in [lo, end), outside the exempt
 * range; 0 when none. */
static uintptr_t find_pair(uintptr_t lo, uintptr_t hi, uintptr_t end)
{
	const uint8_t *b = (const uint8_t *)lo;
	for (uintptr_t at = lo; at < hi && at + 1 < end; at++, b++) {
		if (((b[0] == 0x0f && (b[1] == 0x05 || b[1] == 0x34)) || (b[0] == 0xcd && b[1] == 0x80)) && !exempt(at))
			return at;
	}
	return 0;
}

/* ---- an object's code outside its FDEs ---- */

struct fde_ranges {
	uintptr_t (*r)[2];
	size_t n, cap;
	bool failed;
};

/* The list grows by mmap (no malloc: a sweep of new code may run where
 * the thread holds malloc's lock). */
static void add_range(uintptr_t begin, size_t size, void *arg)
{
	struct fde_ranges *f = arg;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 4096;
		void *grown = f->r ? mremap(f->r, f->cap * sizeof *f->r, cap * sizeof *f->r, MREMAP_MAYMOVE)
				   : mmap(NULL, cap * sizeof *f->r, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (grown == MAP_FAILED) {
			f->failed = true;
			return;
		}
		f->r = grown, f->cap = cap;
	}
	f->r[f->n][0] = begin, f->r[f->n][1] = begin + size;
	f->n++;
}

static void free_ranges(struct fde_ranges *f)
{
	if (f->r)
		munmap(f->r, f->cap * sizeof *f->r);
}

/* By start: an insertion sort, as qsort may allocate; the table lists
 * FDEs nearly in order already. */
static void sort_ranges(struct fde_ranges *f)
{
	for (size_t i = 1; i < f->n; i++) {
		uintptr_t r0 = f->r[i][0], r1 = f->r[i][1];
		size_t j = i;
		for (; j > 0 && f->r[j - 1][0] > r0; j--)
			f->r[j][0] = f->r[j - 1][0], f->r[j][1] = f->r[j - 1][1];
		f->r[j][0] = r0, f->r[j][1] = r1;
	}
}

/* A gap [lo, hi) of seg between FDEs: if its bytes (and one byte either
 * side: a pair may straddle) hold a pair, the gap is decoded from its
 * start and covered as a function would be (glibc's clone runs its child
 * outside any FDE), and every pair must then be a syscall so covered.
 * Returns the first pair that is not, or 0. */
static uintptr_t cover_gap(const struct exec_seg *seg, uintptr_t lo, uintptr_t hi, struct sud_sweep *out)
{
	uintptr_t scan_lo = lo > seg->lo ? lo - 1 : lo, end = hi + 1 < seg->hi ? hi + 1 : seg->hi;
	uintptr_t found = find_pair(scan_lo, hi, end);
	if (!found)
		return 0;
	struct sud_cover c = {0};
	bool decoded = sud_rewrite_cover_range(lo, hi - lo, &c);
	out->syscalls += c.syscalls, out->jumps += c.jumps, out->int3_only += c.int3_only;
	for (; found; found = find_pair(found + 1, hi, end))
		if (!decoded || sud_rewrite_int3_at(found) < 0)
			return found;
	return 0;
}

/* Covers or scans seg's bytes outside every FDE.  Returns the first
 * pair that could run unrewritten, or 0. */
static uintptr_t scan_gaps(const struct exec_seg *seg, const struct fde_ranges *f, struct sud_sweep *out)
{
	uintptr_t at = seg->lo, found;
	for (size_t i = 0; i < f->n && at < seg->hi; i++) {
		uintptr_t begin = f->r[i][0], end = f->r[i][1];
		if (end <= at || begin >= seg->hi)
			continue;
		if (begin > at && (found = cover_gap(seg, at, begin, out)))
			return found;
		if (end > at)
			at = end;
	}
	return at < seg->hi ? cover_gap(seg, at, seg->hi, out) : 0;
}

/* One object: its FDEs covered, its other code scanned. */
static void sweep_object(const struct sweep_objects *o, size_t index, struct sud_sweep *out)
{
	const struct exec_seg *first = NULL;
	for (size_t i = 0; i < o->nsegs && !first; i++)
		if (o->segs[i].object == index)
			first = &o->segs[i];
	struct fde_ranges f = {0};
	bool has_table = sud_code_each_function(first->lo, add_range, &f);
	if (f.failed) {
		set_why(out, "%s: out of memory for its FDE list", o->names[index]);
		free_ranges(&f);
		return;
	}
	sort_ranges(&f);
	if (has_table) {
		struct sud_cover c = {0};
		bool ok = sud_rewrite_cover_object(first->lo, &c);
		out->syscalls += c.syscalls, out->jumps += c.jumps, out->int3_only += c.int3_only;
		out->objects += c.syscalls > 0;
		if (!ok && c.bad)
			set_why(out, "%s+%#lx: %s", o->names[index], (unsigned long)(c.bad - o->bases[index]), c.why);
		else if (!ok)
			set_why(out, "%s: its unwind table could not be read", o->names[index]);
	}
	for (size_t i = 0; i < o->nsegs && !out->why[0]; i++) {
		uintptr_t at;
		if (o->segs[i].object == index && (at = scan_gaps(&o->segs[i], &f, out)))
			set_why(out, "%s+%#lx: a syscall's bytes outside every FDE, not at an instruction%s", o->names[index],
				(unsigned long)(at - o->bases[index]), has_table ? "" : " (no .eh_frame_hdr)");
	}
	free_ranges(&f);
}

/* ---- every other executable mapping ---- */

/* Every executable mapping the last sweep saw: an mremap of one of them
 * while dispatch is off moves code the jumps were made for. */
#define CODE_RANGES_MAX 4096
static uintptr_t code_ranges[CODE_RANGES_MAX][2];
static size_t code_range_count;

bool sud_sweep_is_code(uintptr_t lo, uintptr_t hi)
{
	for (size_t i = 0; i < code_range_count; i++)
		if (lo < code_ranges[i][1] && hi > code_ranges[i][0])
			return true;
	return false;
}

/* The part of [lo, hi) outside every object's executable segment,
 * scanned for the byte pairs; the segments sorted by start. */
static uintptr_t scan_outside_segments(const struct sweep_objects *o, uintptr_t lo, uintptr_t hi)
{
	uintptr_t at = lo, found;
	for (size_t i = 0; i < o->nsegs && at < hi; i++) {
		const struct exec_seg *s = &o->segs[i];
		if (s->hi <= at || s->lo >= hi)
			continue;
		if (s->lo > at && (found = find_pair(at, s->lo, s->lo)))
			return found;
		if (s->hi > at)
			at = s->hi;
	}
	return at < hi ? find_pair(at, hi, hi) : 0;
}

static void sweep_mappings(const struct sweep_objects *o, struct sud_sweep *out)
{
	FILE *maps = fopen("/proc/self/maps", "re");
	if (!maps) {
		set_why(out, "/proc/self/maps cannot be read");
		return;
	}
	char line[512];
	code_range_count = 0;
	while (!out->why[0] && fgets(line, sizeof line, maps)) {
		unsigned long lo, hi;
		char perms[8] = "";
		int path_at = 0;
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &path_at) < 3 || perms[2] != 'x')
			continue;
		const char *path = path_at ? line + path_at : "";
		line[strcspn(line, "\n")] = 0;
		if (strncmp(path, "[vsyscall]", 10) == 0)
			continue;
		if (code_range_count == CODE_RANGES_MAX) {
			set_why(out, "more than %d executable mappings", CODE_RANGES_MAX);
			break;
		}
		code_ranges[code_range_count][0] = lo, code_ranges[code_range_count][1] = hi;
		code_range_count++;
		if (sud_rewrite_owns(lo, hi))
			continue;
		uintptr_t at;
		if (perms[1] == 'w')
			set_why(out, "%#lx-%#lx %s: writable and executable", lo, hi, *path ? path : "(anonymous)");
		else if (perms[0] != 'r')
			set_why(out, "%#lx-%#lx %s: executable but not readable", lo, hi, *path ? path : "(anonymous)");
		else if ((at = scan_outside_segments(o, lo, hi)))
			set_why(out, "%s+%#lx (mapping at %#lx): a syscall's bytes in code of no ELF object",
				*path ? path : "(anonymous)", (unsigned long)(at - lo), lo);
	}
	fclose(maps);
}

bool sud_sweep(struct sud_sweep *out)
{
	*out = (struct sud_sweep){0};
	struct sweep_objects *o = calloc(1, sizeof *o);
	if (!o) {
		set_why(out, "out of memory");
		return false;
	}
	dl_iterate_phdr(collect_object, o);
	if (o->overflow)
		set_why(out, "more than %d objects or executable segments", SEGS_MAX);
	qsort(o->segs, o->nsegs, sizeof o->segs[0], by_start);
	sud_rewrite_cover_begin();
	for (size_t i = 0; i < o->nobjects && !out->why[0]; i++)
		sweep_object(o, i, out);
	if (!out->why[0])
		sweep_mappings(o, out);
	free(o);
	out->proven = !out->why[0];
	return out->proven;
}

/* ---- new code after start: one object, swept where the thread that
 * made its mapping (or a later one) found it loaded: without malloc,
 * stdio or the loader's lock (the thread may hold malloc's, or be inside
 * dlopen) ---- */

/* Notes [lo, hi) as code, in the place of a range forgotten (emptied)
 * if there is one: a process mapping and unmapping objects for ever
 * keeps finding room. */
static bool code_range_add(uintptr_t lo, uintptr_t hi)
{
	size_t empty = code_range_count;
	for (size_t i = 0; i < code_range_count; i++) {
		if (code_ranges[i][0] == lo && code_ranges[i][1] == hi)
			return true;
		if (code_ranges[i][0] >= code_ranges[i][1] && empty == code_range_count)
			empty = i;
	}
	if (empty == CODE_RANGES_MAX)
		return false;
	code_ranges[empty][0] = lo, code_ranges[empty][1] = hi;
	code_range_count += empty == code_range_count;
	return true;
}

void sud_sweep_forget(uintptr_t lo, uintptr_t hi)
{
	size_t n = code_range_count;
	for (size_t i = 0; i < n; i++) {
		uintptr_t a = code_ranges[i][0], b = code_ranges[i][1];
		if (b <= lo || a >= hi)
			continue;
		code_ranges[i][0] = code_ranges[i][1] = 0;   /* an empty range overlaps nothing */
		if (a < lo)
			code_ranges[i][0] = a, code_ranges[i][1] = lo;
		if (b > hi && (a >= lo || !code_range_add(hi, b)))
			code_ranges[i][0] = hi, code_ranges[i][1] = b;
	}
}

/* The executable segments of the object found, from its ELF header (at
 * its mapping's start, where its first PT_LOAD maps the file's start). */
static bool object_segments(const struct dl_find_object *found, struct sweep_objects *o)
{
	const ElfW(Ehdr) *eh = found->dlfo_map_start;
	const struct link_map *lm = found->dlfo_link_map;
	if (!lm || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_phentsize != sizeof(ElfW(Phdr)) ||
	    eh->e_phoff + (size_t)eh->e_phnum * sizeof(ElfW(Phdr)) > 4096)
		return false;
	const ElfW(Phdr) *ph = (const void *)((const char *)eh + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum && o->nsegs < SEGS_MAX; i++) {
		if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_X) || !ph[i].p_memsz)
			continue;
		uintptr_t lo = lm->l_addr + ph[i].p_vaddr;
		o->segs[o->nsegs++] = (struct exec_seg){lo, lo + ph[i].p_memsz, 0};
	}
	snprintf(o->names[0], sizeof o->names[0], "%s", lm->l_name && *lm->l_name ? lm->l_name : "the program");
	o->bases[0] = lm->l_addr;
	o->nobjects = 1;
	for (size_t i = 1; i < o->nsegs; i++)   /* by start, for scan_outside_segments */
		for (size_t j = i; j > 0 && o->segs[j - 1].lo > o->segs[j].lo; j--) {
			struct exec_seg t = o->segs[j];
			o->segs[j] = o->segs[j - 1], o->segs[j - 1] = t;
		}
	return o->nsegs > 0;
}

/* /proc/self/maps, a line at a time, read with read(2). */
struct maps_reader {
	int fd;
	char buf[4096];
	size_t len, pos;
};

static bool maps_line(struct maps_reader *r, char *line, size_t size)
{
	size_t n = 0;
	for (;;) {
		if (r->pos == r->len) {
			ssize_t got = read(r->fd, r->buf, sizeof r->buf);
			if (got <= 0)
				break;
			r->len = (size_t)got, r->pos = 0;
		}
		char c = r->buf[r->pos++];
		if (c == '\n')
			break;
		if (n + 1 < size)
			line[n++] = c;
	}
	line[n] = 0;
	return n > 0;
}

/* One line's range, permissions and path (after five fields). */
static bool parse_maps_line(char *line, uintptr_t *lo, uintptr_t *hi, const char **perms, const char **path)
{
	char *p;
	*lo = strtoul(line, &p, 16);
	if (*p != '-')
		return false;
	*hi = strtoul(p + 1, &p, 16);
	if (*p != ' ' || strlen(p + 1) < 4)
		return false;
	*perms = p + 1;
	p += 5;
	for (int field = 0; field < 4 && *p; field++) {
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
	}
	while (*p == ' ')
		p++;
	*path = p;
	return true;
}

/* The executable mappings overlapping [lo, hi): noted as swept code,
 * and, outside the object's segments, checked as at start. */
static void check_new_mappings(const struct sweep_objects *o, uintptr_t lo, uintptr_t hi, struct sud_sweep *out)
{
	static struct maps_reader r;   /* callers serialise (syscall_trace.c's lock) */
	char line[512];
	r.fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	r.len = r.pos = 0;
	if (r.fd < 0) {
		set_why(out, "/proc/self/maps cannot be read");
		return;
	}
	while (!out->why[0] && maps_line(&r, line, sizeof line)) {
		uintptr_t a, b, at;
		const char *perms, *path;
		if (!parse_maps_line(line, &a, &b, &perms, &path) || perms[2] != 'x' || b <= lo || a >= hi ||
		    strncmp(path, "[vsyscall]", 10) == 0 || sud_rewrite_owns(a, b))
			continue;
		if (!code_range_add(a, b))
			set_why(out, "more than %d executable mappings", CODE_RANGES_MAX);
		else if (perms[1] == 'w')
			set_why(out, "%#lx-%#lx %s: writable and executable", (unsigned long)a, (unsigned long)b,
				*path ? path : "(anonymous)");
		else if (perms[0] != 'r')
			set_why(out, "%#lx-%#lx %s: executable but not readable", (unsigned long)a, (unsigned long)b,
				*path ? path : "(anonymous)");
		else if ((at = scan_outside_segments(o, a > lo ? a : lo, b < hi ? b : hi)))
			set_why(out, "%s+%#lx (mapping at %#lx): a syscall's bytes in code of no ELF object",
				*path ? path : "(anonymous)", (unsigned long)(at - a), (unsigned long)a);
	}
	close(r.fd);
}

enum sud_new_code sud_sweep_new_code(uintptr_t lo, uintptr_t hi, struct sud_sweep *out)
{
	*out = (struct sud_sweep){0};
	struct dl_find_object found;
	if (_dl_find_object((void *)lo, &found) != 0)
		return SUD_NEW_CODE_WAIT;
	struct sweep_objects *o = mmap(NULL, sizeof *o, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (o == MAP_FAILED) {
		set_why(out, "out of memory");
		return SUD_NEW_CODE_UNPROVABLE;
	}
	if (!object_segments(&found, o))
		set_why(out, "%#lx: an object whose ELF header is not at its mapping's start", (unsigned long)lo);
	else
		sweep_object(o, 0, out);
	if (!out->why[0])
		check_new_mappings(o, lo, hi, out);
	munmap(o, sizeof *o);
	out->proven = !out->why[0];
	return out->proven ? SUD_NEW_CODE_PROVEN : SUD_NEW_CODE_UNPROVABLE;
}
