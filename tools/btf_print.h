/*
 * btf_print.h - printing map keys and values with their BTF types, for
 * `bpfvm run --dump-maps` (tools/cmd_object.c) and `bpfvm map`
 * (tools/cmd_map.c).  Implemented in tools/btf_print.c.
 */
#ifndef BPFVM_TOOLS_BTF_PRINT_H
#define BPFVM_TOOLS_BTF_PRINT_H

#include <stddef.h>
#include <stdint.h>

struct btf;
struct btf_dump;

/* A libbpf btf_dump over btf for typed_print; NULL if btf is NULL or on
 * failure (typed_print then prints bytes).  Free with btf_dump__free. */
struct btf_dump *typed_dumper(const struct btf *btf);

/* n bytes as a value of BTF type type_id, the way libbpf's btf_dump prints
 * data (compact, zero fields included): "(struct k){.a = (__u32)1,}".
 * With no dumper, type 0 or a type btf_dump cannot print: hex bytes
 * ("01 02 ff"). */
void typed_print(struct btf_dump *d, uint32_t type_id, const uint8_t *p, size_t n);

/* n bytes as a JSON value of BTF type type_id, as bpftool's "formatted"
 * member: integers and pointers as numbers, bool as true/false, enums by
 * enumerator name, char arrays as strings, arrays as arrays, structs,
 * unions and DATASECs as objects by member name; what does not fit in n
 * bytes, or cannot be shown, as null; 128-bit integers as hex strings. */
void typed_print_json(const struct btf *btf, uint32_t type_id, const uint8_t *p, size_t n);

/* s as a JSON string literal. */
void json_print_string(const char *s);

#endif
