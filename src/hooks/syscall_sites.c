/*
 * syscall_sites.c - code objects as the syscall site rewriter sees them
 * (see syscall_sites.h): function bounds from .eh_frame_hdr, and every
 * direct branch target of an object, kept as a bitmap over the object's
 * mapping.
 *
 * .eh_frame_hdr (the PT_GNU_EH_FRAME segment): version 1, the encodings
 * of eh_frame_ptr, fde_count and the table, then a table of
 * (initial location, FDE address) pairs sorted by location.  Only the
 * table encoding every linker writes (DW_EH_PE_datarel | sdata4, relative
 * to the header) is read; another leaves the object unprovable.  An FDE's
 * pc_begin / pc_range use the encoding of its CIE's 'R' augmentation.
 *
 * An object is decoded lazily (the first ask used to decode every FDE:
 * 60-80 ms of capstone for libc).  Its index, made by looking at bytes
 * only: the FDEs holding a system call's byte pair (0f 05, 0f 34, cd 80),
 * the zone of 34 bytes ending with each pair (every syscall site's window
 * lies in it), and every byte sequence of any FDE that would be a direct
 * jmp, jcc, call, loop or jrcxz landing in the zone, were it decoded as
 * one.  Then an FDE is decoded when it holds a pair (its system calls
 * asked) or such a sequence landing in the window asked about: every
 * decoded direct branch is such a sequence, so an FDE holding none cannot
 * branch there, nor make a system call.  A window outside the zone, an
 * FDE that cannot be read or a list too long: every FDE is decoded, as
 * before.  Patched bytes are read as they were (the rewriter's and the
 * probes' records).
 *
 * Owns: the object cache, its index and bitmaps, the DWARF pointer
 * decoding.
 */
#define _GNU_SOURCE
#include "hooks/syscall_sites.h"
#include "hooks/syscall_sud.h"

#include <dlfcn.h>
#include <string.h>
#include <sys/mman.h>

#define DW_EH_PE_omit 0xff
#define DW_EH_PE_datarel_sdata4 0x3b
#define DW_EH_PE_pcrel 0x10
#define DW_EH_PE_datarel 0x30
#define OBJECT_SLOTS 64

/* ---- DWARF's encoded pointers ---- */

static uint64_t read_uleb(const uint8_t **p)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b;
	do {
		b = *(*p)++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	return v;
}

static int64_t read_sleb(const uint8_t **p)
{
	int64_t v = 0;
	unsigned shift = 0;
	uint8_t b;
	do {
		b = *(*p)++;
		if (shift < 64)
			v |= (int64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		v |= -((int64_t)1 << shift);
	return v;
}

/* One encoded value at *p (advanced past it); pcrel is relative to the
 * field's own address, datarel to `datarel`.  False for an encoding this
 * reader does not handle (indirect, textrel, funcrel, aligned). */
static bool read_encoded(const uint8_t **p, uint8_t enc, uintptr_t datarel, uint64_t *out)
{
	const uint8_t *at = *p;
	uint64_t v;
	switch (enc & 0x0f) {
	case 0x00: case 0x04: case 0x0c: memcpy(&v, at, 8), *p += 8; break;
	case 0x01: v = read_uleb(p); break;
	case 0x02: { uint16_t x; memcpy(&x, at, 2), *p += 2, v = x; break; }
	case 0x03: { uint32_t x; memcpy(&x, at, 4), *p += 4, v = x; break; }
	case 0x09: v = (uint64_t)read_sleb(p); break;
	case 0x0a: { int16_t x; memcpy(&x, at, 2), *p += 2, v = (uint64_t)(int64_t)x; break; }
	case 0x0b: { int32_t x; memcpy(&x, at, 4), *p += 4, v = (uint64_t)(int64_t)x; break; }
	default: return false;
	}
	switch (enc & 0x70) {
	case 0x00: break;
	case DW_EH_PE_pcrel: v += (uintptr_t)at; break;
	case DW_EH_PE_datarel: v += datarel; break;
	default: return false;
	}
	*out = v;
	return true;
}

/* The FDE pointer encoding of the CIE at cie ('R' of a "z" augmentation;
 * absptr without one), and whether its FDEs are signal frames ('S').
 * False for a CIE this reader does not handle. */
static bool cie_fde_encoding(const uint8_t *cie, uint8_t *enc, bool *signal_frame)
{
	uint32_t len;
	memcpy(&len, cie, 4);
	if (len == 0xffffffffu)
		return false;
	const uint8_t *p = cie + 8;
	uint8_t version = *p++;
	const char *aug = (const char *)p;
	p += strlen(aug) + 1;
	if (strstr(aug, "eh"))
		return false;
	read_uleb(&p);                     /* code alignment */
	read_sleb(&p);                     /* data alignment */
	if (version == 1)
		p++;
	else
		read_uleb(&p);             /* return address register */
	*enc = 0;
	*signal_frame = false;
	if (aug[0] != 'z')
		return aug[0] == 0;
	read_uleb(&p);                     /* augmentation data length */
	for (const char *a = aug + 1; *a; a++) {
		uint64_t ignored;
		if (*a == 'R')
			*enc = *p++;
		else if (*a == 'P') {
			uint8_t penc = *p++;
			if (!read_encoded(&p, penc & 0x7f, 0, &ignored))
				return false;
		} else if (*a == 'L')
			p++;
		else if (*a == 'S')
			*signal_frame = true;
		else if (*a != 'B')
			return false;
	}
	return true;
}

/* The code range an FDE covers.  A signal frame's FDE (glibc's
 * __restore_rt) starts one byte before its code, the last byte of the
 * padding before it, so that an unwinder's lookup of pc - 1 finds it. */
static bool fde_range(const uint8_t *fde, uintptr_t *begin, size_t *size)
{
	uint32_t len, cie_off;
	memcpy(&len, fde, 4);
	memcpy(&cie_off, fde + 4, 4);
	if (len == 0xffffffffu || len < 8 || cie_off == 0)
		return false;
	uint8_t enc;
	bool signal_frame;
	if (!cie_fde_encoding(fde + 4 - cie_off, &enc, &signal_frame))
		return false;
	const uint8_t *p = fde + 8;
	uint64_t b, r;
	if (!read_encoded(&p, enc, 0, &b) || !read_encoded(&p, enc & 0x0f, 0, &r) || (signal_frame && r < 1))
		return false;
	*begin = (uintptr_t)b + signal_frame;
	*size = (size_t)r - signal_frame;
	return true;
}

/* ---- .eh_frame_hdr's table ---- */

struct fde_table {
	const uint8_t *hdr;
	const int32_t *entries;   /* pairs: initial location, FDE, both relative to hdr */
	size_t count;
};

static bool fde_table_of(const uint8_t *hdr, struct fde_table *t)
{
	if (!hdr || hdr[0] != 1 || hdr[3] != DW_EH_PE_datarel_sdata4 || hdr[2] == DW_EH_PE_omit)
		return false;
	const uint8_t *p = hdr + 4;
	uint64_t ignored, count;
	if (!read_encoded(&p, hdr[1], (uintptr_t)hdr, &ignored) || !read_encoded(&p, hdr[2], (uintptr_t)hdr, &count))
		return false;
	t->hdr = hdr;
	t->entries = (const int32_t *)p;
	t->count = (size_t)count;
	return true;
}

static const uint8_t *table_fde(const struct fde_table *t, size_t i)
{
	return t->hdr + t->entries[2 * i + 1];
}

static uintptr_t table_location(const struct fde_table *t, size_t i)
{
	return (uintptr_t)(t->hdr + t->entries[2 * i]);
}

static bool table_of_pc(uintptr_t pc, struct fde_table *t, struct dl_find_object *found)
{
	return _dl_find_object((void *)pc, found) == 0 && fde_table_of(found->dlfo_eh_frame, t);
}

bool sud_code_function(uintptr_t pc, uintptr_t *start, size_t *size)
{
	struct dl_find_object found;
	struct fde_table t;
	if (!table_of_pc(pc, &t, &found) || t.count == 0 || pc < table_location(&t, 0))
		return false;
	size_t lo = 0, hi = t.count;   /* the last entry whose location <= pc */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (table_location(&t, mid) <= pc)
			lo = mid;
		else
			hi = mid;
	}
	if (!fde_range(table_fde(&t, lo), start, size) || pc < *start)
		return false;
	if (pc < *start + *size)
		return true;
	/* glibc's clone and clone3 end their unwind information just before
	 * the syscall (the child has none): a syscall right at an FDE's end
	 * belongs to it, up to the next FDE (so the code after it is
	 * decoded with the function, its branches checked) */
	const uint8_t *b = (const uint8_t *)pc;
	uintptr_t next = lo + 1 < t.count ? table_location(&t, lo + 1) : pc + 2;
	if (pc != *start + *size || b[0] != 0x0f || b[1] != 0x05 || next < pc + 2 || next > pc + 64)
		return false;
	*size = next - *start;
	return true;
}

bool sud_code_each_function(uintptr_t pc, void (*each)(uintptr_t begin, size_t size, void *arg), void *arg)
{
	struct dl_find_object found;
	struct fde_table t;
	if (!table_of_pc(pc, &t, &found))
		return false;
	for (size_t i = 0; i < t.count; i++) {
		uintptr_t begin;
		size_t size;
		if (fde_range(table_fde(&t, i), &begin, &size))
			each(begin, size, arg);
	}
	return true;
}

/* ---- direct branches ---- */

uintptr_t sud_direct_branch_target(const uint8_t *b, size_t size, uintptr_t at)
{
	size_t i = 0;
	while (i < size && (b[i] == 0x2e || b[i] == 0x3e || b[i] == 0xf2 || b[i] == 0xf3 || b[i] == 0x66 ||
			    b[i] == 0x67 || (b[i] & 0xf0) == 0x40))
		i++;
	if (i >= size)
		return 0;
	uint8_t op = b[i];
	int64_t disp;
	if ((op == 0xeb || (op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3)) && size == i + 2) {
		disp = (int8_t)b[i + 1];
	} else if ((op == 0xe8 || op == 0xe9) && size == i + 5) {
		int32_t d;
		memcpy(&d, b + i + 1, 4);
		disp = d;
	} else if (op == 0x0f && i + 1 < size && b[i + 1] >= 0x80 && b[i + 1] <= 0x8f && size == i + 6) {
		int32_t d;
		memcpy(&d, b + i + 2, 4);
		disp = d;
	} else {
		return 0;
	}
	return at + size + (uintptr_t)disp;
}

/* Every such instruction has a ModRM byte, an immediate byte only in
 * map 0F3A and at a few opcodes of map 0F. */
/* CET's shadow-stack instructions, which capstone 4 does not know either
 * (libgcc_s's unwinder): f3 [REX.W] 0f 1e /1 (rdssp) and f3 [REX.W] 0f ae
 * /5 (incssp) with a register operand, f3 0f 01 ea / e8 (saveprevssp,
 * setssbsy); 0 when p holds none. */
static size_t shadow_stack_length(const uint8_t *p, size_t left)
{
	if (left < 4 || p[0] != 0xf3)
		return 0;
	size_t i = 1 + ((p[1] & 0xf0) == 0x40);
	if (i + 3 > left || p[i] != 0x0f)
		return 0;
	uint8_t op = p[i + 1], modrm = p[i + 2];
	if (op == 0x01 && i == 1 && (modrm == 0xea || modrm == 0xe8))
		return 4;
	if ((op == 0x1e && (modrm & 0xf8) == 0xc8) || (op == 0xae && (modrm & 0xf8) == 0xe8))
		return i + 3;
	return 0;
}

size_t sud_vex_length(const uint8_t *p, size_t left)
{
	size_t i;
	unsigned map;
	size_t cet = shadow_stack_length(p, left);
	if (cet)
		return cet;
	if (left >= 3 && p[0] == 0x0f && p[1] == 0x01 && p[2] >= 0xc0)
		return 3;   /* 0f 01 with a register ModRM: rdpkru, wrpkru and their kind, no operand bytes */
	if (left >= 3 && p[0] == 0xc5)
		i = 2, map = 1;
	else if (left >= 4 && p[0] == 0xc4)
		i = 3, map = p[1] & 0x1f;
	else if (left >= 5 && p[0] == 0x62 && (p[2] & 0x04))
		i = 4, map = p[1] & 0x07;
	else
		return 0;
	if (map < 1 || map > 6 || map == 4)
		return 0;
	uint8_t opcode = p[i++];
	if (i >= left)
		return 0;
	uint8_t modrm = p[i++], mod = modrm >> 6, rm = modrm & 7;
	if (mod != 3 && rm == 4) {
		if (i >= left)
			return 0;
		if (mod == 0 && (p[i] & 7) == 5)
			i += 4;
		i++;
	}
	if (mod == 1)
		i += 1;
	else if (mod == 2 || (mod == 0 && rm == 5))
		i += 4;
	bool imm8 = map == 3 || (map == 1 && ((opcode >= 0x70 && opcode <= 0x73) || opcode == 0xc2 || opcode == 0xc4 ||
					      opcode == 0xc5 || opcode == 0xc6));
	i += imm8;
	return i <= left ? i : 0;
}

void sud_decoder_init(struct sud_decoder *d, csh cs, uintptr_t begin, size_t size)
{
	*d = (struct sud_decoder){.cs = cs, .code = (const uint8_t *)begin, .size = size, .address = begin};
}

bool sud_decode(struct sud_decoder *d, cs_insn *insn)
{
	if (!d->size)
		return false;
	uintptr_t a = (uintptr_t)d->address;
	bool overlaid = a >= d->buf_at && a < d->buf_at + d->buf_patched;
	uint8_t original[SUD_PATCH_LEN];
	size_t patch_len;
	if (!overlaid && (d->code[0] == 0xe9 || d->code[0] == 0xcc) && (patch_len = sud_rewrite_original_at(a, original))) {
		d->buf_len = d->size < sizeof d->buf ? d->size : sizeof d->buf;
		memcpy(d->buf, d->code, d->buf_len);
		memcpy(d->buf, original, d->buf_len < patch_len ? d->buf_len : patch_len);
		d->buf_at = a;
		d->buf_patched = patch_len;
		overlaid = true;
	}
	if (!overlaid)
		return cs_disasm_iter(d->cs, &d->code, &d->size, &d->address, insn);
	const uint8_t *code = d->buf + (a - d->buf_at);
	size_t left = d->buf_len - (a - d->buf_at);
	uint64_t address = a;
	if (!cs_disasm_iter(d->cs, &code, &left, &address, insn))
		return false;
	d->code += insn->size, d->size -= insn->size, d->address += insn->size;
	return true;
}

/* ---- the object cache: decoded lazily ---- */

struct code_object {
	uintptr_t map_start, map_end;
	const uint8_t *hdr;
	uint64_t fingerprint;
	struct fde_table table;
	size_t fde_size_max;     /* the longest FDE's code: how far back one may start and still hold a byte */
	uint8_t *targets;        /* one bit per byte of [map_start, map_end): the decoded FDEs' branch targets */
	uint8_t *zone;           /* one bit per byte: within WINDOW_ZONE before a system call pair's end */
	uint8_t *fde_state;      /* one byte per FDE (the table's index): FDE_DECODED, FDE_FAILED, FDE_HOLDS_PAIR */
	uint32_t (*branches)[2]; /* byte sequences that would be a direct branch into the zone: source, target offsets */
	size_t branch_count;
	size_t mapped_size;      /* everything above, in one mapping */
	bool lazy;               /* the zone and branch list hold (else every FDE is decoded at once) */
	bool complete;           /* every FDE decoded so far decoded to its end */
	bool pairs_complete;     /* every FDE holding a system call pair decoded to its end */
	uintptr_t *finds;        /* FINDS_MAX words: the decoded FDEs' system call instructions */
	size_t find_count;
	uintptr_t undecodable;   /* the first byte an FDE did not decode past, or 0 */
};
#define FINDS_MAX 16384
#define BRANCHES_MAX 65536
/* A syscall site's window (syscall_rewrite.c: I1 at most 32 bytes before
 * the syscall) lies in the 34 bytes ending with its pair. */
#define WINDOW_ZONE 34

static struct code_object objects[OBJECT_SLOTS];
static unsigned next_victim;
static struct code_object *building;   /* the object being decoded, whose bits may be half made */
static bool decode_whole;              /* sud_code_set_whole() */

enum { FDE_DECODED = 1, FDE_FAILED = 2, FDE_HOLDS_PAIR = 4 };

static bool bit_test(const uint8_t *bits, size_t i)
{
	return bits[i >> 3] & (1u << (i & 7));
}

static void bit_set(uint8_t *bits, size_t i)
{
	bits[i >> 3] |= (uint8_t)(1u << (i & 7));
}

/* A syscall, sysenter or int $0x80 instruction, noted with its kind in
 * the top byte (a list too long leaves the object incomplete). */
static void note_system_call(struct code_object *o, const cs_insn *insn)
{
	const uint8_t *b = insn->bytes;
	uintptr_t kind;
	if (insn->size != 2)
		return;
	if (b[0] == 0x0f && b[1] == 0x05)
		kind = SUD_FIND_SYSCALL;
	else if (b[0] == 0x0f && b[1] == 0x34)
		kind = SUD_FIND_SYSENTER;
	else if (b[0] == 0xcd && b[1] == 0x80)
		kind = SUD_FIND_INT80;
	else
		return;
	if (o->find_count == FINDS_MAX) {
		o->complete = o->pairs_complete = false;
		return;
	}
	o->finds[o->find_count++] = (uintptr_t)insn->address | kind << 56;
}

/* FDE i decoded (once): each direct branch target inside the mapping
 * marked, each system call instruction noted.  False if it did not
 * decode to its end. */
static bool decode_fde(csh cs, struct code_object *o, size_t i, cs_insn *insn)
{
	if (o->fde_state[i] & (FDE_DECODED | FDE_FAILED))
		return o->fde_state[i] & FDE_DECODED;
	uintptr_t begin;
	size_t size;
	bool ok = fde_range(table_fde(&o->table, i), &begin, &size) && begin >= o->map_start && begin + size <= o->map_end;
	struct sud_decoder d;
	sud_decoder_init(&d, cs, begin, ok ? size : 0);
	while (d.size) {
		size_t skip;
		if (!sud_decode(&d, insn)) {
			if (!(skip = sud_vex_length(d.code, d.size)))
				break;
			d.code += skip, d.size -= skip, d.address += skip;   /* a vector instruction: no branch */
			continue;
		}
		note_system_call(o, insn);
		uintptr_t target = sud_direct_branch_target(insn->bytes, insn->size, insn->address);
		if (target >= o->map_start && target < o->map_end)
			bit_set(o->targets, target - o->map_start);
	}
	if (d.size && !o->undecodable)
		o->undecodable = (uintptr_t)d.address;
	ok = ok && d.size == 0;
	o->complete = o->complete && ok;
	if (o->fde_state[i] & FDE_HOLDS_PAIR)
		o->pairs_complete = o->pairs_complete && ok;
	o->fde_state[i] |= ok ? FDE_DECODED : FDE_FAILED;
	return ok;
}

/* The FDEs whose state has all of `want` decoded (want 0: every FDE);
 * false if one did not decode to its end. */
static bool decode_fdes(csh cs, struct code_object *o, unsigned want)
{
	cs_insn *insn = cs_malloc(cs);
	if (!insn)
		return false;
	bool ok = true;
	building = o;
	for (size_t i = 0; i < o->table.count; i++)
		if ((o->fde_state[i] & want) == want)
			ok = decode_fde(cs, o, i, insn) && ok;
	building = NULL;
	cs_free(insn, 1);
	return ok;
}

/* Every FDE holding the byte at `at` decoded; false if one did not
 * decode to its end. */
static bool decode_fdes_holding(csh cs, struct code_object *o, uintptr_t at, cs_insn *insn)
{
	const struct fde_table *t = &o->table;
	if (!t->count || table_location(t, 0) > at)
		return true;
	size_t lo = 0, hi = t->count;   /* the last entry whose location <= at */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (table_location(t, mid) <= at)
			lo = mid;
		else
			hi = mid;
	}
	bool ok = true;
	for (size_t i = lo + 1; i-- > 0 && table_location(t, i) + o->fde_size_max >= at;) {
		uintptr_t begin;
		size_t size;
		if (fde_range(table_fde(t, i), &begin, &size) && at >= begin && at < begin + size)
			ok = decode_fde(cs, o, i, insn) && ok;
	}
	return ok;
}

/* ---- the lazy index: where a system call's bytes are, and what could
 * branch near them, found by looking at bytes, not decoding ---- */

/* The kind of system call pair starting at b (n bytes readable), + 1; 0 for none. */
static unsigned pair_at(const uint8_t *b, size_t n)
{
	if (n < 2)
		return 0;
	if (b[0] == 0x0f && b[1] == 0x05)
		return 1 + SUD_FIND_SYSCALL;
	if (b[0] == 0x0f && b[1] == 0x34)
		return 1 + SUD_FIND_SYSENTER;
	return b[0] == 0xcd && b[1] == 0x80 ? 1 + SUD_FIND_INT80 : 0;
}

/* Where the bytes at b (n readable, at address at) would branch if they
 * were a direct jmp, jcc, call, loop or jrcxz's opcode (its prefixes
 * before at), or 0: every instruction sud_direct_branch_target() gives a
 * target for is such bytes, with the same target. */
static uintptr_t branch_at(const uint8_t *b, size_t n, uintptr_t at)
{
	uint8_t op = b[0];
	int32_t d;
	if ((op == 0xeb || (op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3)) && n >= 2)
		return at + 2 + (uintptr_t)(intptr_t)(int8_t)b[1];
	if ((op == 0xe8 || op == 0xe9) && n >= 5) {
		memcpy(&d, b + 1, 4);
		return at + 5 + (uintptr_t)(intptr_t)d;
	}
	if (op == 0x0f && n >= 6 && b[1] >= 0x80 && b[1] <= 0x8f) {
		memcpy(&d, b + 2, 4);
		return at + 6 + (uintptr_t)(intptr_t)d;
	}
	return 0;
}

/* The bytes from `at` (up to `end`) as they were before this process's
 * patches where a patch starts there: its original bytes and the 8
 * after it into buf (*n of them), *step the patch's length; NULL where no
 * patch starts at `at`. */
static const uint8_t *patched_view(uintptr_t at, uintptr_t end, uint8_t buf[SUD_PATCH_LEN + 8], size_t *n, size_t *step)
{
	uint8_t original[SUD_PATCH_LEN];
	size_t len = sud_rewrite_original_at(at, original);
	if (!len)
		return NULL;
	size_t tail = end - at > len ? end - at - len : 0;
	tail = tail < 8 ? tail : 8;
	memcpy(buf, original, len);
	memcpy(buf + len, (const uint8_t *)at + len, tail);
	*n = len + tail;
	*step = len;
	return buf;
}

/* Marks the zone before a system call pair ending at pair_end. */
static void mark_zone(struct code_object *o, uintptr_t pair_end)
{
	uintptr_t z = pair_end > o->map_start + WINDOW_ZONE ? pair_end - WINDOW_ZONE : o->map_start;
	for (; z < pair_end && z < o->map_end; z++)
		bit_set(o->zone, z - o->map_start);
}

/* The byte values that may start what these scans look for: a system
 * call pair (1), a branch-like opcode (2), a patch of this process's (4). */
static uint8_t byte_class[256];

static void byte_classes(void)
{
	static const uint8_t branch_ops[] = {0xeb, 0xe0, 0xe1, 0xe2, 0xe3, 0xe8, 0xe9, 0x0f};
	if (byte_class[0x0f])
		return;
	for (unsigned op = 0x70; op <= 0x7f; op++)
		byte_class[op] = 2;
	for (size_t i = 0; i < sizeof branch_ops; i++)
		byte_class[branch_ops[i]] = 2;
	byte_class[0x0f] |= 1, byte_class[0xcd] |= 1, byte_class[0xcc] |= 4, byte_class[0xe9] |= 4;
}

/* What scan_fde_bytes() calls at a byte of FDE i: b (n bytes readable)
 * at address at, as it was before this process's patches; false stops
 * the scan. */
typedef bool (*fde_byte_fn)(struct code_object *o, size_t i, const uint8_t *b, size_t n, uintptr_t at);

/* Calls each() at every byte of [begin, end) whose byte_class has a bit
 * of `class`, and at every byte of a patch of this process's (its
 * original bytes and what follows given: the class of what it was is not
 * known until then); false when each() stopped it. */
static bool scan_fde_bytes(struct code_object *o, size_t i, uintptr_t begin, uintptr_t end, uint8_t class, fde_byte_fn each)
{
	uint8_t buf[SUD_PATCH_LEN + 8];
	size_t n, step;
	class |= 4;
	for (uintptr_t at = begin; at < end; at++) {
		const uint8_t *b = (const uint8_t *)at;
		if (!(byte_class[*b] & class))
			continue;
		if ((byte_class[*b] & 4) && (b = patched_view(at, end, buf, &n, &step))) {
			for (size_t k = 0; k < step; k++)
				if (!each(o, i, b + k, n - k, at + k))
					return false;
			at += step - 1;
		} else if (!each(o, i, (const uint8_t *)at, end - at, at)) {
			return false;
		}
	}
	return true;
}

/* A system call pair at b marks FDE i and the zone before it. */
static bool note_pair(struct code_object *o, size_t i, const uint8_t *b, size_t n, uintptr_t at)
{
	if (pair_at(b, n))
		o->fde_state[i] |= FDE_HOLDS_PAIR, mark_zone(o, at + 2);
	return true;
}

/* Each system call pair starting in FDE i's code marks its FDE and the
 * zone before it; a syscall just past the FDE's end (glibc's clone) too,
 * where its bytes lie on the same page.  False if the FDE cannot be read. */
static bool index_pairs(struct code_object *o, size_t i)
{
	uintptr_t begin, end;
	size_t size;
	if (!fde_range(table_fde(&o->table, i), &begin, &size) || begin < o->map_start || begin + size > o->map_end)
		return false;
	end = begin + size;
	scan_fde_bytes(o, i, begin, end, 1, note_pair);
	bool same_page = ((end - 1) >> 12) == ((end + 1) >> 12);
	if (same_page && end + 2 <= o->map_end && pair_at((const uint8_t *)end, 2))
		mark_zone(o, end + 2);
	return true;
}

/* Lists bytes at `at` that would branch into the zone; false when the
 * list is full. */
static bool note_branch(struct code_object *o, size_t fde, const uint8_t *b, size_t n, uintptr_t at)
{
	(void)fde;
	uintptr_t target = branch_at(b, n, at);
	if (target <= o->map_start || target >= o->map_end || !bit_test(o->zone, target - o->map_start))
		return true;
	if (o->branch_count == BRANCHES_MAX)
		return false;
	o->branches[o->branch_count][0] = (uint32_t)(at - o->map_start);
	o->branches[o->branch_count][1] = (uint32_t)(target - o->map_start);
	o->branch_count++;
	return true;
}

/* Every byte sequence of FDE i's code that would branch into the zone,
 * listed; false when the list is full. */
static bool index_branches(struct code_object *o, size_t i)
{
	uintptr_t begin;
	size_t size;
	return fde_range(table_fde(&o->table, i), &begin, &size) && scan_fde_bytes(o, i, begin, begin + size, 2, note_branch);
}

/* The lazy index of o; false (every FDE then decoded when asked) when an
 * FDE cannot be read or the branch list overflows. */
static bool index_object(struct code_object *o)
{
	if (o->map_end - o->map_start >= (1ull << 32))
		return false;
	byte_classes();
	for (size_t i = 0; i < o->table.count; i++) {
		uintptr_t begin;
		size_t size;
		if (!fde_range(table_fde(&o->table, i), &begin, &size))
			return false;
		if (size > o->fde_size_max)
			o->fde_size_max = size;
		if (!index_pairs(o, i))
			return false;
	}
	bool pairs = false;
	for (size_t i = 0; i < o->table.count && !pairs; i++)
		pairs = o->fde_state[i] & FDE_HOLDS_PAIR;
	for (size_t i = 0; i < o->table.count && pairs; i++)   /* no pair, no window to branch into */
		if (!index_branches(o, i))
			return false;
	return true;
}

static uint64_t fingerprint_of(const struct fde_table *t, const struct dl_find_object *found)
{
	uint64_t h = 0xcbf29ce484222325ull ^ t->count ^ (uint64_t)(uintptr_t)found->dlfo_map_end;
	size_t words = t->count * 2 < 64 ? t->count * 2 : 64;
	for (size_t i = 0; i < words; i++)
		h = (h ^ (uint32_t)t->entries[i]) * 0x100000001b3ull;
	for (size_t i = 0; i < words && t->count; i++)   /* the last entries too: a longer table may share a start */
		h = (h ^ (uint32_t)t->entries[t->count * 2 - 1 - i]) * 0x100000001b3ull;
	return h;
}

static size_t page_round(size_t n)
{
	return (n + 4095) & ~(size_t)4095;
}

/* The memory of o (one mapping: the bitmaps, the FDE states, the lists). */
static bool object_memory(struct code_object *o)
{
	size_t bits = page_round((o->map_end - o->map_start + 7) / 8), states = page_round(o->table.count);
	size_t lists = BRANCHES_MAX * sizeof *o->branches + FINDS_MAX * sizeof(uintptr_t);
	o->mapped_size = 2 * bits + states + lists;
	uint8_t *m = mmap(NULL, o->mapped_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return false;
	o->targets = m, o->zone = m + bits, o->fde_state = m + 2 * bits;
	o->branches = (uint32_t(*)[2])(m + 2 * bits + states);
	o->finds = (uintptr_t *)(m + 2 * bits + states + BRANCHES_MAX * sizeof *o->branches);
	return true;
}

/* The cached object for the object of pc, indexed on first use; NULL
 * when it cannot be (no table, no memory). */
static struct code_object *object_of(uintptr_t pc)
{
	struct dl_find_object found;
	struct fde_table t;
	if (!table_of_pc(pc, &t, &found))
		return NULL;
	uintptr_t start = (uintptr_t)found.dlfo_map_start, end = (uintptr_t)found.dlfo_map_end;
	uint64_t print = fingerprint_of(&t, &found);
	for (unsigned i = 0; i < OBJECT_SLOTS; i++)
		if (objects[i].targets && objects[i].map_start == start && objects[i].hdr == t.hdr &&
		    objects[i].fingerprint == print)
			return &objects[i];
	struct code_object *o = &objects[next_victim++ % OBJECT_SLOTS];
	if (o->targets)
		munmap(o->targets, o->mapped_size);
	*o = (struct code_object){.map_start = start, .map_end = end, .hdr = t.hdr, .fingerprint = print, .table = t,
				  .complete = true, .pairs_complete = true};
	if (!object_memory(o)) {
		*o = (struct code_object){0};
		return NULL;
	}
	building = o;
	o->lazy = !decode_whole && index_object(o);
	building = NULL;
	return o;
}

bool sud_code_system_calls(csh cs, uintptr_t pc, struct sud_code_finds *out)
{
	struct code_object *o = object_of(pc);
	*out = (struct sud_code_finds){0};
	if (!o)
		return false;
	bool whole = o->lazy ? decode_fdes(cs, o, FDE_HOLDS_PAIR) && o->pairs_complete : decode_fdes(cs, o, 0) && o->complete;
	out->at = o->finds;
	out->count = o->find_count;
	out->undecodable = o->undecodable;
	return whole;
}

/* Whether every FDE that may hold a direct branch into (lo, hi) is
 * decoded (and decoded to its end): those holding the listed branch-like
 * bytes into it where the zone holds it, else every FDE. */
static bool branches_into_known(csh cs, struct code_object *o, uintptr_t lo, uintptr_t hi)
{
	bool zoned = o->lazy;
	for (uintptr_t a = lo + 1; a < hi && zoned; a++)
		zoned = bit_test(o->zone, a - o->map_start);
	if (!zoned)
		return decode_fdes(cs, o, 0) && o->complete;
	cs_insn *insn = cs_malloc(cs);
	if (!insn)
		return false;
	bool ok = true;
	building = o;
	for (size_t k = 0; k < o->branch_count; k++) {
		uintptr_t target = o->map_start + o->branches[k][1];
		if (target > lo && target < hi)
			ok = decode_fdes_holding(cs, o, o->map_start + o->branches[k][0], insn) && ok;
	}
	building = NULL;
	cs_free(insn, 1);
	return ok;
}

bool sud_code_branch_into(csh cs, uintptr_t lo, uintptr_t hi)
{
	struct code_object *o = object_of(lo);
	if (!o || lo < o->map_start || hi > o->map_end || !branches_into_known(cs, o, lo, hi))
		return true;
	for (uintptr_t a = lo + 1; a < hi; a++)
		if (bit_test(o->targets, a - o->map_start))
			return true;
	return false;
}

void sud_code_forget(uintptr_t lo, uintptr_t hi)
{
	for (unsigned i = 0; i < OBJECT_SLOTS; i++)
		if (objects[i].targets && objects[i].map_start < hi && objects[i].map_end > lo) {
			munmap(objects[i].targets, objects[i].mapped_size);
			objects[i] = (struct code_object){0};
		}
}

void sud_code_set_whole(bool whole)
{
	decode_whole = whole;
	for (unsigned i = 0; i < OBJECT_SLOTS; i++) {
		if (objects[i].targets)
			munmap(objects[i].targets, objects[i].mapped_size);
		objects[i] = (struct code_object){0};
	}
}

void sud_code_after_fork(void)
{
	if (building) {
		munmap(building->targets, building->mapped_size);
		*building = (struct code_object){0};
		building = NULL;
	}
}
