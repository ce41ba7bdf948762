/*
 * fuzz_loader.c - libFuzzer target for the ELF object loader: any bytes
 * go to bpfvm_object_open_mem(); an object that opens is walked through
 * every accessor and its promises are checked (a broken one traps):
 *   - every call / function-address lddw lands on a function start,
 *   - every map-index lddw names an existing map,
 *   - functions tile the linked array, slots name existing programs/maps,
 *   - every BTF type id and name offset the object hands out resolves;
 * a failure must come with its code and a message.
 *
 * Build: every source of src/loader plus src/isa/opcodes.c, instrumented
 * like this file, with clang -fsanitize=fuzzer,address,undefined; link
 * -lelf -lbpf -lz.  tests/fuzz_loader/run.sh does that and runs it.
 * Seeds: tests/fuzz_loader/make_corpus.sh DIR compiles tests/objects/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>

#include "bpfvm/object.h"

#define PROMISE(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_loader.c:%d: broken promise: %s\n", __LINE__, #cond); \
		abort(); \
	} \
} while (0)

static void walk_program(const bpfvm_object *obj, size_t index)
{
	const bpfvm_object_prog *p = bpfvm_object_prog_at(obj, index);
	PROMISE(p && p->name && p->section && p->insns && p->insn_count > 0);
	PROMISE(bpfvm_object_find_prog(obj, p->name) >= 0);
	PROMISE(p->func_count >= 1 && p->funcs[0].start == 0);
	size_t next = 0;
	for (size_t f = 0; f < p->func_count; f++) {
		PROMISE(p->funcs[f].name && p->funcs[f].section);
		PROMISE(p->funcs[f].start == next && p->funcs[f].count > 0);
		next += p->funcs[f].count;
	}
	PROMISE(next == p->insn_count);
	for (size_t k = 0; k < p->insn_count; k++) {
		const bpfvm_insn *in = &p->insns[k];
		bool call = in->opcode == 0x85 && in->src == BPFVM_PSEUDO_CALL;
		bool lddw = in->opcode == 0x18;
		if (call || (lddw && in->src == BPFVM_PSEUDO_FUNC)) {
			int64_t target = (int64_t)k + in->imm + 1;
			bool at_start = false;
			for (size_t f = 0; f < p->func_count; f++)
				at_start |= p->funcs[f].start == target;
			PROMISE(at_start);
		}
		/* a map's index, or one past the object's maps: a literal fd
		 * with no relocation, kept for the verifier to refuse as the
		 * kernel's load does (an instance refuses to bind it) */
		if (lddw && (in->src == BPFVM_PSEUDO_MAP_FD || in->src == BPFVM_PSEUDO_MAP_VALUE))
			PROMISE(in->imm >= 0);
		const char *file = NULL, *text = NULL;
		uint32_t line, col;
		int rc = bpfvm_object_line_info(obj, index, k, &file, &line, &col, &text);
		PROMISE(rc == 0 || rc == -ENOENT);
		if (rc == 0) {
			PROMISE(file && text);
			volatile size_t touch = strlen(file) + strlen(text);
			(void)touch;
		}
		/* an lddw's second slot is its upper immediate, whatever its
		 * other bytes look like (the verifier refuses nonzero ones) */
		if (lddw && k + 1 < p->insn_count) {
			k++;
			rc = bpfvm_object_line_info(obj, index, k, &file, &line, &col, &text);
			PROMISE(rc == 0 || rc == -ENOENT);
		}
	}
	PROMISE(bpfvm_object_line_info(obj, index, p->insn_count, NULL, NULL, NULL, NULL) == -EINVAL);
}

static void walk_btf_type(const struct btf *btf, uint32_t id)
{
	if (!btf || !id)
		return;
	const struct btf_type *t = btf__type_by_id(btf, id);
	PROMISE(t != NULL);
	PROMISE(btf__name_by_offset(btf, t->name_off) != NULL);
	(void)btf__resolve_size(btf, id);
}

static void walk_map(const bpfvm_object *obj, size_t index)
{
	const bpfvm_object_map *m = bpfvm_object_map_at(obj, index);
	PROMISE(m && m->name && m->section);
	PROMISE(bpfvm_object_find_map(obj, m->name) >= 0);
	const struct btf *btf = bpfvm_object_btf(obj);
	walk_btf_type(btf, m->attrs.btf_key_type_id);
	walk_btf_type(btf, m->attrs.btf_value_type_id);
	if (m->attrs.spin_lock_off >= 0)
		PROMISE(m->attrs.spin_lock_off != -2);
	if (m->has_inner) {
		PROMISE(m->inner_name != NULL);
		walk_btf_type(btf, m->inner.btf_key_type_id);
		walk_btf_type(btf, m->inner.btf_value_type_id);
	}
	bool prog_array = m->attrs.type == 3; /* BPF_MAP_TYPE_PROG_ARRAY */
	for (size_t s = 0; s < m->slot_count; s++) {
		PROMISE(m->slots[s].key < m->attrs.max_entries);
		PROMISE(s == 0 || m->slots[s].key > m->slots[s - 1].key);
		PROMISE(m->slots[s].target < (prog_array ? bpfvm_object_prog_count(obj)
		                                          : bpfvm_object_map_count(obj)));
	}
	if (m->initial_data) {
		/* Touch every byte: ASan checks the length claimed. */
		volatile uint8_t sum = 0;
		for (uint32_t i = 0; i < m->attrs.value_size; i++)
			sum += m->initial_data[i];
		(void)sum;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bpfvm_object *obj = NULL;
	bpfvm_error err;
	memset(&err, 0xa5, sizeof err);
	int rc = bpfvm_object_open_mem(data, size, "fuzz.o", &obj, &err);
	if (rc != 0) {
		PROMISE(rc < 0 && obj == NULL && err.code == rc);
		PROMISE(memchr(err.msg, 0, sizeof err.msg) != NULL && err.msg[0] != 0);
		return 0;
	}
	PROMISE(obj != NULL);
	PROMISE(bpfvm_object_name(obj) && bpfvm_object_license(obj));
	(void)bpfvm_object_kern_version(obj);
	for (size_t i = 0; i < bpfvm_object_prog_count(obj); i++)
		walk_program(obj, i);
	PROMISE(bpfvm_object_prog_at(obj, bpfvm_object_prog_count(obj)) == NULL);
	for (size_t i = 0; i < bpfvm_object_map_count(obj); i++)
		walk_map(obj, i);
	PROMISE(bpfvm_object_map_at(obj, bpfvm_object_map_count(obj)) == NULL);
	const struct btf *btf = bpfvm_object_btf(obj);
	if (btf)
		for (uint32_t id = 1; id < btf__type_cnt(btf); id++)
			walk_btf_type(btf, id);
	bpfvm_object_free(obj);
	return 0;
}
