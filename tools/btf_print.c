/*
 * btf_print.c - map keys and values printed with their BTF types, shared
 * by `bpfvm run --dump-maps` and `bpfvm map`: libbpf's btf_dump for text,
 * our own walk of the types for JSON (bpftool's "formatted" member), hex
 * bytes when there is no type.
 *
 * Every read stays inside the bytes given: a member, element or variable
 * that the type places past them prints as null.  Types are walked at most
 * 64 deep.
 */
#include <bpf/btf.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btf_print.h"

#define MAX_DEPTH 64

/* btf_dump prints through this; typed_print points it at a buffer so that
 * a value btf_dump gives up on half-way leaves no trace. */
static FILE *dump_out;

static void dump_printf(void *ctx, const char *fmt, va_list args)
{
	(void)ctx;
	vfprintf(dump_out ? dump_out : stdout, fmt, args);
}

struct btf_dump *typed_dumper(const struct btf *btf)
{
	return btf ? btf_dump__new(btf, dump_printf, NULL, NULL) : NULL;
}

static void print_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%s%02x", i ? " " : "", p[i]);
}

void typed_print(struct btf_dump *d, uint32_t type_id, const uint8_t *p, size_t n)
{
	if (d && type_id) {
		char *text = NULL;
		size_t len = 0;
		dump_out = open_memstream(&text, &len);
		if (dump_out) {
			LIBBPF_OPTS(btf_dump_type_data_opts, o, .compact = true, .emit_zeroes = true);
			int rc = btf_dump__dump_type_data(d, type_id, p, n, &o);
			fclose(dump_out);
			dump_out = NULL;
			if (rc >= 0 && text) {
				fputs(text, stdout);
				free(text);
				return;
			}
			free(text);
		}
	}
	print_hex(p, n);
}

void json_print_string(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)   /* BTF names are ASCII: other bytes as Latin-1 */
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_hex_string(const uint8_t *p, size_t n)
{
	/* most significant byte first, as a number is written (little-endian host) */
	printf("\"0x");
	for (size_t i = n; i-- > 0;)
		printf("%02x", p[i]);
	printf("\"");
}

/* Little-endian unsigned integer of 1..16 bytes. */
static unsigned __int128 read_uint(const uint8_t *p, size_t n)
{
	unsigned __int128 v = 0;
	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static void print_u64(uint64_t v, bool is_signed, unsigned bits)
{
	if (is_signed && bits > 0 && bits < 64 && (v >> (bits - 1)) & 1)
		v |= ~0ULL << bits;
	if (is_signed)
		printf("%lld", (long long)v);
	else
		printf("%llu", (unsigned long long)v);
}

/* The type below typedefs, qualifiers and tags; 0 if the chain is too long. */
static uint32_t skip_mods(const struct btf *btf, uint32_t id)
{
	for (int i = 0; i < MAX_DEPTH; i++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!t)
			return 0;
		if (!btf_is_mod(t) && !btf_is_typedef(t) && !btf_is_var(t) && !btf_is_decl_tag(t))
			return id;
		id = t->type;
	}
	return 0;
}

static bool is_signed_int(const struct btf *btf, uint32_t id)
{
	const struct btf_type *t = btf__type_by_id(btf, skip_mods(btf, id));
	if (t && btf_is_int(t))
		return btf_int_encoding(t) & BTF_INT_SIGNED;
	return t && btf_is_any_enum(t) && btf_kflag(t);
}

/* A char array holding printable text up to a NUL. */
static bool is_text(const struct btf *btf, uint32_t elem, const uint8_t *p, size_t n)
{
	const struct btf_type *t = btf__type_by_id(btf, skip_mods(btf, elem));
	if (!t || !btf_is_int(t) || t->size != 1)
		return false;
	const char *name = btf__name_by_offset(btf, t->name_off);
	if (!(btf_int_encoding(t) & BTF_INT_CHAR) && !(name && strstr(name, "char")))
		return false;
	size_t i = 0;
	while (i < n && p[i] >= 0x20 && p[i] < 0x7f)
		i++;
	return i < n && p[i] == 0;
}

static void json_value(const struct btf *btf, uint32_t id, const uint8_t *p, size_t n, int depth);

static void json_int(const struct btf_type *t, const uint8_t *p, size_t n)
{
	unsigned bits = btf_int_bits(t), off = btf_int_offset(t);
	uint8_t enc = btf_int_encoding(t);
	if (t->size > n || t->size > 16 || bits == 0 || bits + off > t->size * 8u) {
		printf("null");
		return;
	}
	if (bits > 64) {
		json_hex_string(p, t->size);
		return;
	}
	uint64_t v = (uint64_t)(read_uint(p, t->size) >> off);
	if (bits < 64)
		v &= (1ULL << bits) - 1;
	if (enc & BTF_INT_BOOL)
		printf(v ? "true" : "false");
	else
		print_u64(v, enc & BTF_INT_SIGNED, bits);
}

static void json_enum(const struct btf *btf, const struct btf_type *t, const uint8_t *p, size_t n)
{
	if (t->size > n || t->size == 0 || t->size > 8) {
		printf("null");
		return;
	}
	uint64_t v = (uint64_t)read_uint(p, t->size);
	bool is_signed = btf_kflag(t);
	if (is_signed && t->size < 8 && (v >> (t->size * 8 - 1)) & 1)
		v |= ~0ULL << (t->size * 8);
	uint64_t mask = t->size < 8 ? (1ULL << (t->size * 8)) - 1 : ~0ULL;
	uint16_t vlen = btf_vlen(t);
	for (uint16_t i = 0; i < vlen; i++) {
		uint64_t e;
		uint32_t name_off;
		if (btf_is_enum(t)) {
			e = is_signed ? (uint64_t)(int64_t)btf_enum(t)[i].val : (uint32_t)btf_enum(t)[i].val;
			name_off = btf_enum(t)[i].name_off;
		} else {
			e = btf_enum64_value(btf_enum64(t) + i);
			name_off = btf_enum64(t)[i].name_off;
		}
		const char *name = btf__name_by_offset(btf, name_off);
		if ((e & mask) == (v & mask) && name && *name) {
			json_print_string(name);
			return;
		}
	}
	print_u64((uint64_t)read_uint(p, t->size), is_signed, t->size * 8);
}

static void json_struct(const struct btf *btf, const struct btf_type *t, const uint8_t *p, size_t n, int depth)
{
	const struct btf_member *m = btf_members(t);
	putchar('{');
	for (uint16_t i = 0; i < btf_vlen(t); i++) {
		const char *name = btf__name_by_offset(btf, m[i].name_off);
		printf("%s", i ? "," : "");
		json_print_string(name ? name : "");
		putchar(':');
		uint32_t bit_off = btf_member_bit_offset(t, i), bit_size = btf_member_bitfield_size(t, i);
		size_t byte = bit_off / 8;
		if (bit_size || bit_off % 8) {
			unsigned shift = bit_off % 8, bits = bit_size ? bit_size : 8;
			size_t nbytes = (shift + bits + 7) / 8;
			if (bits > 64 || byte > n || nbytes > n - byte) {
				printf("null");
				continue;
			}
			uint64_t v = (uint64_t)(read_uint(p + byte, nbytes) >> shift);
			if (bits < 64)
				v &= (1ULL << bits) - 1;
			print_u64(v, is_signed_int(btf, m[i].type), bits);
		} else if (byte > n) {
			printf("null");
		} else {
			json_value(btf, m[i].type, p + byte, n - byte, depth + 1);
		}
	}
	putchar('}');
}

static void json_array(const struct btf *btf, const struct btf_type *t, const uint8_t *p, size_t n, int depth)
{
	const struct btf_array *a = btf_array(t);
	long long esz = btf__resolve_size(btf, a->type);
	if (esz < 0 || (esz > 0 && a->nelems > n / (unsigned long long)esz) || (esz == 0 && a->nelems)) {
		printf("null");
		return;
	}
	size_t len = (size_t)esz * a->nelems;
	if (esz == 1 && is_text(btf, a->type, p, len)) {
		json_print_string((const char *)p);
		return;
	}
	putchar('[');
	for (uint32_t i = 0; i < a->nelems; i++) {
		printf("%s", i ? "," : "");
		json_value(btf, a->type, p + i * (size_t)esz, (size_t)esz, depth + 1);
	}
	putchar(']');
}

static void json_datasec(const struct btf *btf, const struct btf_type *t, const uint8_t *p, size_t n, int depth)
{
	const struct btf_var_secinfo *v = btf_var_secinfos(t);
	putchar('{');
	for (uint16_t i = 0; i < btf_vlen(t); i++) {
		const struct btf_type *var = btf__type_by_id(btf, v[i].type);
		const char *name = var ? btf__name_by_offset(btf, var->name_off) : NULL;
		printf("%s", i ? "," : "");
		json_print_string(name ? name : "");
		putchar(':');
		if (v[i].offset > n || v[i].size > n - v[i].offset)
			printf("null");
		else
			json_value(btf, v[i].type, p + v[i].offset, v[i].size, depth + 1);
	}
	putchar('}');
}

static void json_value(const struct btf *btf, uint32_t id, const uint8_t *p, size_t n, int depth)
{
	id = skip_mods(btf, id);
	const struct btf_type *t = id ? btf__type_by_id(btf, id) : NULL;
	if (!t || depth > MAX_DEPTH) {
		printf("null");
		return;
	}
	switch (btf_kind(t)) {
	case BTF_KIND_INT:
		json_int(t, p, n);
		return;
	case BTF_KIND_PTR:
		if (n >= 8)
			printf("%llu", (unsigned long long)read_uint(p, 8));
		else
			printf("null");
		return;
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		json_enum(btf, t, p, n);
		return;
	case BTF_KIND_FLOAT:
		if (t->size == 4 && n >= 4) {
			float f;
			memcpy(&f, p, 4);
			isfinite(f) ? printf("%.9g", (double)f) : printf("null");
		} else if (t->size == 8 && n >= 8) {
			double f;
			memcpy(&f, p, 8);
			isfinite(f) ? printf("%.17g", f) : printf("null");
		} else if (t->size <= n && t->size <= 16) {
			json_hex_string(p, t->size);
		} else {
			printf("null");
		}
		return;
	case BTF_KIND_ARRAY:
		json_array(btf, t, p, n, depth);
		return;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		json_struct(btf, t, p, t->size < n ? t->size : n, depth);
		return;
	case BTF_KIND_DATASEC:
		json_datasec(btf, t, p, n, depth);
		return;
	default:
		printf("null");
		return;
	}
}

void typed_print_json(const struct btf *btf, uint32_t type_id, const uint8_t *p, size_t n)
{
	if (!btf || !type_id) {
		printf("null");
		return;
	}
	json_value(btf, type_id, p, n, 0);
}
