/*
 * btf_ext.c - the object's .BTF.ext: func info, line info and CO-RE
 * relocation records, read by hand because
 * libbpf 1.1 keeps its btf_ext parser's results private.
 *
 * Layout (all little-endian, offsets relative to the end of the header):
 *   header { u16 magic; u8 version; u8 flags; u32 hdr_len;
 *            u32 func_info_off, func_info_len, line_info_off, line_info_len;
 *            [u32 core_relo_off, core_relo_len] }
 *   each info block: u32 record_size, then per ELF section
 *            { u32 sec_name_off; u32 num_info; record[num_info] }
 *   func record: { u32 insn_off (bytes); u32 type_id (its BTF FUNC) },
 *                  kept on the function starting there (the verifier
 *                  tells global functions from static ones by it)
 *   line record: { u32 insn_off (bytes); u32 file_name_off; u32 line_off;
 *                  u32 line << 10 | column }
 * The block checks are libbpf's (btf_ext_setup_info()).  Records of
 * sections the ELF does not have are skipped, as libbpf does.
 *   CO-RE record: { u32 insn_off (bytes); u32 type_id; u32 access_str_off;
 *                   u32 kind }, collected here and applied by core.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <bpf/btf.h>

#include "loader/loader.h"

struct ext_header {
	uint16_t magic;
	uint8_t version;
	uint8_t flags;
	uint32_t hdr_len;
	uint32_t func_info_off, func_info_len;
	uint32_t line_info_off, line_info_len;
	uint32_t core_relo_off, core_relo_len;
};
#define EXT_HDR_MIN 24u   /* up to line_info_len */
#define EXT_HDR_CORE 32u  /* with core_relo_* */

struct ext_block {
	const char *what;
	const uint8_t *data;  /* after record_size */
	uint32_t len;         /* bytes after record_size */
	uint32_t rec_size;
	uint32_t block_off;   /* offset of the block in .BTF.ext, for messages */
};

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

static int ext_fail(struct ldr *l, const char *fmt, const char *what, uint64_t a, uint64_t b)
{
	char detail[160];
	snprintf(detail, sizeof detail, fmt, (unsigned long long)a, (unsigned long long)b);
	return ldr_fail(l, -EINVAL, "section '.BTF.ext': %s: %s", what, detail);
}

/* libbpf's btf_ext_setup_info(): the block lies inside the section, has a
 * record size >= min_rec and a multiple of 4, and whole per-section
 * groups of at least one record each.  An empty block is fine. */
static int setup_block(struct ldr *l, const uint8_t *base, uint32_t size, uint32_t hdr_len,
                       uint32_t off, uint32_t len, uint32_t min_rec, const char *what,
                       struct ext_block *blk)
{
	memset(blk, 0, sizeof *blk);
	blk->what = what;
	if (len == 0)
		return 0;
	if (off % 4)
		return ext_fail(l, "offset %llu is not 4-byte aligned%.0llu", what, off, 0);
	if ((uint64_t)off + len > size - hdr_len)
		return ext_fail(l, "bytes %llu..%llu lie outside the section", what,
		                (uint64_t)hdr_len + off, (uint64_t)hdr_len + off + len);
	if (len < sizeof(uint32_t))
		return ext_fail(l, "length %llu, too short for a record size%.0llu", what, len, 0);
	const uint8_t *p = base + hdr_len + off;
	uint32_t rec = get_u32(p);
	if (rec < min_rec || rec % 4)
		return ext_fail(l, "record size %llu (minimum %llu, a multiple of 4)", what, rec,
		                min_rec);
	blk->data = p + 4;
	blk->len = len - 4;
	blk->rec_size = rec;
	blk->block_off = hdr_len + off;
	if (blk->len == 0)
		return ext_fail(l, "no records after the record size at offset %llu%.0llu", what,
		                blk->block_off, 0);
	uint32_t pos = 0;
	while (pos < blk->len) {
		if (blk->len - pos < 8)
			return ext_fail(l, "truncated section group at offset %llu (%llu bytes left)",
			                what, blk->block_off + 4 + pos, blk->len - pos);
		uint32_t num = get_u32(blk->data + pos + 4);
		uint64_t total = 8 + (uint64_t)num * rec;
		if (num == 0)
			return ext_fail(l, "section group at offset %llu has no records%.0llu", what,
			                blk->block_off + 4 + pos, 0);
		if (total > blk->len - pos)
			return ext_fail(l, "section group at offset %llu claims %llu records past the "
			                "end", what, blk->block_off + 4 + pos, num);
		pos += (uint32_t)total;
	}
	return 0;
}

/* Steps through the groups of a checked block: their records, or NULL at the end. */
static const uint8_t *next_group(const struct ext_block *blk, uint32_t *pos, uint32_t *name_off,
                                 uint32_t *num)
{
	if (*pos >= blk->len)
		return NULL;
	const uint8_t *g = blk->data + *pos;
	*name_off = get_u32(g);
	*num = get_u32(g + 4);
	*pos += 8 + *num * blk->rec_size;
	return g + 8;
}

/* The executable section a group's name refers to, or 0 to skip it. */
static uint32_t group_section(struct ldr *l, uint32_t name_off, const char **name)
{
	*name = btf__name_by_offset(l->obj->btf, name_off);
	if (!*name || !**name)
		return 0;
	int sec = ldr_find_sec_by_name(l, *name);
	if (sec <= 0 || l->secs[sec].kind != LDR_SEC_PROG)
		return 0;
	return (uint32_t)sec;
}

/* A stable merge sort by instruction (records at one instruction keep
 * their file order; qsort promises no such thing).  Returns -1 on ENOMEM. */
static int sort_lines(struct ldr_line *v, size_t n)
{
	size_t i = 1;
	while (i < n && v[i - 1].insn <= v[i].insn)
		i++;
	if (i >= n)
		return 0;
	struct ldr_line *tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return -1;
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t a = lo, b = mid, k = lo;
			while (a < mid && b < hi)
				tmp[k++] = v[b].insn < v[a].insn ? v[b++] : v[a++];
			while (a < mid)
				tmp[k++] = v[a++];
			while (b < hi)
				tmp[k++] = v[b++];
		}
		memcpy(v, tmp, n * sizeof(*v));
	}
	free(tmp);
	return 0;
}

static int read_lines(struct ldr *l, const struct ext_block *blk)
{
	/* Count first, so one array holds all; sections then point into it. */
	size_t total = 0;
	uint32_t pos = 0, name_off, num;
	const char *name;
	while (next_group(blk, &pos, &name_off, &num))
		if (group_section(l, name_off, &name))
			total += num;
	if (total == 0)
		return 0;
	struct ldr_line *lines = calloc(total, sizeof(*lines));
	if (!lines)
		return ldr_nomem(l, "line info");
	l->obj->lines = lines;

	size_t n = 0;
	int rc_sort;
	const uint8_t *recs;
	pos = 0;
	while ((recs = next_group(blk, &pos, &name_off, &num)) != NULL) {
		uint32_t sec = group_section(l, name_off, &name);
		if (!sec)
			continue;
		struct ldr_sec *s = &l->secs[sec];
		if (s->lines)
			return ldr_fail(l, -EINVAL, "section '.BTF.ext': line info for section "
			                "'%.64s' appears twice", name);
		s->lines = lines + n;
		for (uint32_t i = 0; i < num; i++) {
			const uint8_t *r = recs + (size_t)i * blk->rec_size;
			uint32_t insn_off = get_u32(r), file_off = get_u32(r + 4);
			uint32_t line_off = get_u32(r + 8), line_col = get_u32(r + 12);
			if (insn_off % LDR_INSN_SIZE || insn_off >= s->size)
				return ldr_fail(l, -EINVAL, "section '.BTF.ext': line record #%u of "
				                "section '%.64s': instruction offset %u is not an "
				                "instruction of the section (%zu bytes)", i, name,
				                insn_off, s->size);
			const char *file = btf__name_by_offset(l->obj->btf, file_off);
			const char *text = btf__name_by_offset(l->obj->btf, line_off);
			if (!file || !text)
				return ldr_fail(l, -EINVAL, "section '.BTF.ext': line record #%u of "
				                "section '%.64s': string offset %u or %u is outside the "
				                "BTF strings", i, name, file_off, line_off);
			lines[n++] = (struct ldr_line){
				.insn = insn_off / LDR_INSN_SIZE,
				.line = BPF_LINE_INFO_LINE_NUM(line_col),
				.col = BPF_LINE_INFO_LINE_COL(line_col),
				.file = file, .text = text,
			};
		}
		s->line_count = num;
		/* clang emits them in order; sort anyway, stably, for lookups. */
		rc_sort = sort_lines(s->lines, num);
		if (rc_sort)
			return ldr_nomem(l, "line info sort");
	}
	l->obj->line_count = n;
	return 0;
}

/* Each function's BTF FUNC, from the func records of its section. */
static int read_funcs(struct ldr *l, const struct ext_block *blk)
{
	uint32_t pos = 0, name_off, num;
	const char *name;
	const uint8_t *recs;
	while ((recs = next_group(blk, &pos, &name_off, &num)) != NULL) {
		uint32_t sec = group_section(l, name_off, &name);
		for (uint32_t i = 0; sec && i < num; i++) {
			const uint8_t *r = recs + (size_t)i * blk->rec_size;
			uint32_t insn_off = get_u32(r), type_id = get_u32(r + 4);
			if (insn_off % LDR_INSN_SIZE || insn_off >= l->secs[sec].size)
				return ldr_fail(l, -EINVAL, "section '.BTF.ext': func record #%u of section "
				                "'%.64s': instruction offset %u is not an instruction of the "
				                "section (%zu bytes)", i, name, insn_off, l->secs[sec].size);
			struct ldr_func *f = ldr_func_at(l, sec, insn_off / LDR_INSN_SIZE);
			if (f && f->off == insn_off / LDR_INSN_SIZE)
				f->btf_id = type_id;
			l->has_func_info = true;
		}
	}
	return 0;
}

static int core_record(struct ldr *l, uint32_t sec, const char *name, uint32_t i,
                       const uint8_t *rec, struct ldr_core_relo *out)
{
	const struct ldr_sec *s = &l->secs[sec];
	uint32_t insn_off = get_u32(rec), kind = get_u32(rec + 12);
	if (insn_off % LDR_INSN_SIZE || insn_off >= s->size)
		return ldr_fail(l, -EINVAL, "section '.BTF.ext': CO-RE relocation #%u of section "
		                "'%.64s': instruction offset %u is not an instruction of the section "
		                "(%zu bytes)", i, name, insn_off, s->size);
	if (kind > BPF_CORE_TYPE_MATCHES)
		return ldr_fail(l, -EINVAL, "section '.BTF.ext': CO-RE relocation #%u of section "
		                "'%.64s': unknown kind %u", i, name, kind);
	*out = (struct ldr_core_relo){
		.sec = sec, .insn = insn_off / LDR_INSN_SIZE, .type_id = get_u32(rec + 4),
		.access_off = get_u32(rec + 8), .kind = kind,
	};
	return 0;
}

/* The CO-RE records of executable sections, in file order (core.c applies
 * them); records of sections the ELF lacks are skipped, as libbpf does. */
static int read_core_relos(struct ldr *l, const struct ext_block *blk)
{
	size_t total = 0;
	uint32_t pos = 0, name_off, num;
	const char *name;
	while (next_group(blk, &pos, &name_off, &num))
		if (group_section(l, name_off, &name))
			total += num;
	if (total == 0)
		return 0;
	l->core_relos = calloc(total, sizeof(*l->core_relos));
	if (!l->core_relos)
		return ldr_nomem(l, "CO-RE relocations");
	const uint8_t *recs;
	pos = 0;
	while ((recs = next_group(blk, &pos, &name_off, &num)) != NULL) {
		uint32_t sec = group_section(l, name_off, &name);
		for (uint32_t i = 0; sec && i < num; i++) {
			int rc = core_record(l, sec, name, i, recs + (size_t)i * blk->rec_size,
			                     &l->core_relos[l->core_relo_count]);
			if (rc)
				return rc;
			l->core_relo_count++;
		}
	}
	return 0;
}

int ldr_btf_ext_load(struct ldr *l)
{
	/* Without .BTF its strings are unknown; libbpf ignores it then too. */
	if (!l->btf_ext_sec || !l->obj->btf)
		return 0;
	const struct ldr_sec *s = &l->secs[l->btf_ext_sec];
	if (s->size > UINT32_MAX)
		return ldr_fail(l, -EINVAL, "section '.BTF.ext': %zu bytes, too large", s->size);
	uint32_t size = (uint32_t)s->size;
	const uint8_t *base = s->data;
	struct ext_header h = { 0 };
	if (size < 8)
		return ext_fail(l, "%llu bytes, too short for a header%.0llu", "header", size, 0);
	memcpy(&h, base, size < sizeof h ? size : sizeof h);
	if (h.magic != BTF_MAGIC)
		return ext_fail(l, "magic %#llx, expected %#llx (little-endian)", "header", h.magic,
		                BTF_MAGIC);
	if (h.version != BTF_VERSION || h.flags != 0)
		return ext_fail(l, "version %llu / flags %llu unsupported", "header", h.version,
		                h.flags);
	if (h.hdr_len < EXT_HDR_MIN || h.hdr_len >= size)
		return ext_fail(l, "header length %llu out of range (section is %llu bytes)",
		                "header", h.hdr_len, size);
	if (h.hdr_len < EXT_HDR_CORE)
		h.core_relo_off = h.core_relo_len = 0;

	struct ext_block funcs, lines, core;
	int rc = setup_block(l, base, size, h.hdr_len, h.func_info_off, h.func_info_len, 8,
	                     "func info", &funcs);
	if (!rc)
		rc = setup_block(l, base, size, h.hdr_len, h.line_info_off, h.line_info_len, 16,
		                 "line info", &lines);
	if (!rc)
		rc = setup_block(l, base, size, h.hdr_len, h.core_relo_off, h.core_relo_len, 16,
		                 "CO-RE relocations", &core);
	if (!rc)
		rc = read_funcs(l, &funcs);
	if (!rc)
		rc = read_core_relos(l, &core);
	if (!rc)
		rc = read_lines(l, &lines);
	return rc;
}
