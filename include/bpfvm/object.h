/*
 * object.h - reading clang-built eBPF ELF objects (`clang -O2 -g -target bpf`).
 *
 * Owns: bpfvm_object and its read-only views.  Opening an object parses it
 * the way libbpf 1.1's bpf_object__open() does -- programs named after
 * their functions and typed by their section, BTF-defined and legacy maps,
 * one internal array map per global data section, BTF and line info --
 * and links every program into a self-contained instruction array: its own
 * code followed by the subprograms it calls (transitively), calls and
 * callback references fixed up to relative offsets.  Nothing is created
 * and nothing runs: map references stay symbolic (a map index, see the
 * BPFVM_PSEUDO_* values) for the verifier, and are bound later.
 *
 * Conventions as in bpfvm.h: 0 or a negative errno, a bpfvm_error whose
 * message names the file and the section, symbol, relocation or offset
 * (err->insn is the instruction index within the named section when the
 * error is about one instruction, else -1).  A malformed or hostile file
 * is an error, never a crash.
 */
#ifndef BPFVM_OBJECT_H
#define BPFVM_OBJECT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "bpfvm/api.h"
#include "bpfvm/bpfvm.h"
#include "bpfvm/maps.h"

#ifdef __cplusplus
extern "C" {
#endif

struct btf; /* libbpf's, from <bpf/btf.h> */

typedef struct bpfvm_object bpfvm_object;

/* Program type of SEC("bpfvm") and SEC("bpfvm/NAME"): r1 = a memory
 * buffer, r2 = its length, as bpfvm_program_run_mem() calls it.  Chosen
 * far above the kernel's enum bpf_prog_type so the two never meet. */
#define BPFVM_PROG_TYPE_RAW_MEMORY BPFVM_PROG_TYPE_RAW   /* <bpfvm/bpfvm.h>: 0x10000 */

/* The kernel's src_reg markers, as the loader leaves them:
 *   lddw  src = BPFVM_PSEUDO_MAP_FD:    imm = map index in this object
 *   lddw  src = BPFVM_PSEUDO_MAP_VALUE: imm = map index, second slot's
 *                                       imm = byte offset in the value
 *   lddw  src = BPFVM_PSEUDO_FUNC:      imm = target - (pc + 1), a subprogram
 *   call  src = BPFVM_PSEUDO_CALL:      imm = target - (pc + 1)
 * A map index here is an index into the object's map table, not a file
 * descriptor: whoever creates the maps binds them. */
#define BPFVM_PSEUDO_MAP_FD 1
#define BPFVM_PSEUDO_MAP_VALUE 2
#define BPFVM_PSEUDO_FUNC 4
#define BPFVM_PSEUDO_CALL 1
/*   call  src = BPFVM_PSEUDO_KFUNC_CALL: imm = the extern function's index
 *                                       (bpfvm_object_kfunc_name), bound by
 *                                       name when an instance loads it */
#define BPFVM_PSEUDO_KFUNC_CALL 2

/* Pinning values of __uint(pinning, ...), as libbpf's enum libbpf_pin_type. */
#define BPFVM_PIN_NONE 0
#define BPFVM_PIN_BY_NAME 1

/* Where a map came from. */
typedef enum bpfvm_map_origin {
	BPFVM_MAP_BTF = 0,    /* a struct in SEC(".maps") */
	BPFVM_MAP_LEGACY = 1, /* a struct bpf_map_def in SEC("maps") */
	BPFVM_MAP_DATA = 2,   /* internal map of .data or .data.* */
	BPFVM_MAP_RODATA = 3, /* internal map of .rodata or .rodata.* */
	BPFVM_MAP_BSS = 4,    /* internal map of .bss */
	BPFVM_MAP_KCONFIG = 5, /* internal map of the __kconfig externs (read-only) */
} bpfvm_map_origin;

/* The attributes a map is created with. */
typedef struct bpfvm_map_attrs {
	uint32_t type;            /* the kernel's enum bpf_map_type */
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;     /* as libbpf: ring buffers rounded up to a
	                             power-of-two number of pages */
	uint32_t flags;           /* BPF_F_* map_flags */
	uint64_t map_extra;
	uint32_t numa_node;
	uint32_t btf_key_type_id;   /* 0: none */
	uint32_t btf_value_type_id; /* 0: none; the DATASEC for internal maps */
	int32_t spin_lock_off;    /* offset of a struct bpf_spin_lock in the
	                             value, -1 if it has none */
	bpfvm_map_fields fields;  /* offsets of a struct bpf_timer and a struct
	                             bpf_wq in the value, -1 if none */
} bpfvm_map_attrs;

/* One initial entry of a prog_array or map-in-map (__array(values, ...)). */
typedef struct bpfvm_map_slot {
	uint32_t key;     /* the slot */
	uint32_t target;  /* a program index (prog_array) or map index */
} bpfvm_map_slot;

typedef struct bpfvm_object_map {
	const char *name;          /* libbpf's bpf_map__name() */
	const char *section;       /* ELF section: ".maps", "maps", ".rodata"... */
	bpfvm_map_origin origin;
	bpfvm_map_attrs attrs;
	uint32_t pinning;          /* BPFVM_PIN_* */
	/* map-in-map: the inner map's definition (named "<name>.inner") */
	bool has_inner;
	const char *inner_name;
	bpfvm_map_attrs inner;
	/* initial slots, ascending by key */
	const bpfvm_map_slot *slots;
	size_t slot_count;
	/* internal maps: attrs.value_size bytes (zeroes for .bss); else NULL */
	const uint8_t *initial_data;
} bpfvm_object_map;

/* One function inside a linked program: the program itself (funcs[0])
 * or an appended subprogram. */
typedef struct bpfvm_object_func {
	const char *name;
	const char *section;       /* where it came from (".text" for subprograms) */
	uint32_t start;            /* first instruction in the linked array */
	uint32_t count;            /* instructions */
} bpfvm_object_func;

typedef struct bpfvm_object_prog {
	const char *name;          /* the function's name */
	const char *section;       /* ELF section, without a leading '?' */
	uint32_t type;             /* enum bpf_prog_type or BPFVM_PROG_TYPE_RAW_MEMORY;
	                              0 (BPF_PROG_TYPE_UNSPEC) for a section no
	                              convention names, as libbpf */
	uint32_t expected_attach_type;  /* enum bpf_attach_type */
	const char *attach_target; /* text after "kprobe/", "tp/"...; NULL if none */
	bool autoload;             /* false for SEC("?...") */
	const bpfvm_insn *insns;   /* linked: own code, then subprograms */
	size_t insn_count;
	const bpfvm_object_func *funcs;
	size_t func_count;
	/* BTF-typed program types (tp_btf/, fentry/, fexit/, fmod_ret/,
	 * lsm/, iter/): the attach target resolved in the target BTF (the
	 * running kernel's, or btf_custom_path) as libbpf resolves it: the
	 * FUNC "FUNC", "bpf_lsm_HOOK" or "bpf_iter_NAME", or the typedef
	 * "btf_trace_NAME"; its FUNC_PROTO; and its name.  attach_btf is
	 * NULL when the type has no target, or it was not found (then
	 * attach_error says why). */
	const struct btf *attach_btf;
	uint32_t attach_btf_id;
	uint32_t attach_func_proto;
	const char *attach_name;
	const char *attach_error;
	/* One record per function of funcs, by its first instruction, with
	 * its BTF FUNC from .BTF.ext (type_id 0: none), as libbpf passes the
	 * kernel's func_info; for bpfvm_verify_opts.func_info.  NULL when
	 * the object has no .BTF.ext func info. */
	const bpfvm_func_info *func_info;
	size_t func_info_count;
	/* The section loads the program with BPF_F_SLEEPABLE, as libbpf
	 * does for "uprobe.s", "fentry.s", "lsm.s", "iter.s", "syscall"...
	 * (bpfvm_verify_opts.sleepable). */
	bool sleepable;
} bpfvm_object_prog;

/* How to open an object (bpfvm_object_open_file); declare with
 * BPFVM_OPTS(bpfvm_object_open_opts, o, ...).  New options are added at
 * the end. */
typedef struct bpfvm_object_open_opts {
	/* sizeof this struct as the caller was built: set by BPFVM_OPTS. */
	size_t sz;
	/* The object's name (bpfvm_object_name(), internal maps' names), as
	 * libbpf's object_name; NULL: from the file name. */
	const char *object_name;
	/* Kconfig text ("CONFIG_X=y" lines, as a .config) whose values
	 * __kconfig CONFIG_* externs take before the running kernel's
	 * (/boot/config-RELEASE or /proc/config.gz), as libbpf's kconfig.
	 * NULL: the kernel's only. */
	const char *kconfig;
	/* Target BTF for CO-RE relocations, as libbpf's btf_custom_path: a
	 * raw BTF file or an ELF file with a .BTF section.  NULL: the running
	 * kernel's /sys/kernel/btf/vmlinux, then its modules' BTF. */
	const char *btf_custom_path;
} bpfvm_object_open_opts;

/* Opens and parses `path`. */
BPFVM_API int bpfvm_object_open(const char *path, bpfvm_object **out, bpfvm_error *err);
/* Same, with options (NULL: the defaults), as libbpf's
 * bpf_object__open_file(). */
BPFVM_API int bpfvm_object_open_file(const char *path, const bpfvm_object_open_opts *opts, bpfvm_object **out,
                                     bpfvm_error *err);

/* Same from memory (copied; `buf` may be freed afterwards).  `name` plays
 * the part of the file name: it names internal maps and appears in error
 * messages; NULL gives libbpf's default ("<address>-<length>"). */
BPFVM_API int bpfvm_object_open_mem(const void *buf, size_t len, const char *name,
                          bpfvm_object **out, bpfvm_error *err);

BPFVM_API void bpfvm_object_free(bpfvm_object *obj);

/* libbpf's object name: the file name up to its first '.', at most 15
 * characters. */
BPFVM_API const char *bpfvm_object_name(const bpfvm_object *obj);
/* The "license" section's string ("" if none), at most 63 characters. */
BPFVM_API const char *bpfvm_object_license(const bpfvm_object *obj);
/* The "version" section's value, 0 if none. */
BPFVM_API uint32_t bpfvm_object_kern_version(const bpfvm_object *obj);

/* Entry programs in libbpf's order (section index, then offset);
 * subprograms only appear inside them. */
BPFVM_API size_t bpfvm_object_prog_count(const bpfvm_object *obj);
BPFVM_API const bpfvm_object_prog *bpfvm_object_prog_at(const bpfvm_object *obj, size_t index);
/* Index of the program named `name`, or -ENOENT. */
BPFVM_API int bpfvm_object_find_prog(const bpfvm_object *obj, const char *name);

/* Maps in libbpf's order: legacy, BTF-defined (by offset in .maps), then
 * internal maps by section index.  Inner map definitions are not entries. */
BPFVM_API size_t bpfvm_object_map_count(const bpfvm_object *obj);
BPFVM_API const bpfvm_object_map *bpfvm_object_map_at(const bpfvm_object *obj, size_t index);

/* Sizes a map before an instance creates it, as libbpf's
 * bpf_map__set_max_entries / set_key_size / set_value_size: `name` is a
 * map's name, or "NAME.inner" for a map-in-map's inner map (max_entries
 * only).  A ring buffer's max_entries is rounded up as its declaration's;
 * global data and .kconfig maps keep their layout (-EOPNOTSUPP).  0 or
 * -ENOENT (no such map), -EINVAL (a zero size). */
BPFVM_API int bpfvm_object_map_set_max_entries(bpfvm_object *obj, const char *name, uint32_t max_entries,
                                               bpfvm_error *err);
BPFVM_API int bpfvm_object_map_set_key_size(bpfvm_object *obj, const char *name, uint32_t key_size,
                                            bpfvm_error *err);
BPFVM_API int bpfvm_object_map_set_value_size(bpfvm_object *obj, const char *name, uint32_t value_size,
                                              bpfvm_error *err);

/* The name of extern function `index` (a kfunc call's imm), and whether
 * it is weak (may be absent); NULL if there is no such kfunc extern. */
BPFVM_API const char *bpfvm_object_kfunc_name(const bpfvm_object *obj, uint32_t index, bool *weak);

/* The definition to create a map with these attributes (an object map's
 * attrs, or its inner map's): name and inner left for the caller. */
BPFVM_API bpfvm_map_def bpfvm_object_map_def(const bpfvm_map_attrs *attrs);
BPFVM_API int bpfvm_object_find_map(const bpfvm_object *obj, const char *name);

/* The object's BTF after libbpf's fix-ups (DATASEC sizes and variable
 * offsets filled in), owned by the object; NULL if it has no .BTF. */
BPFVM_API struct btf *bpfvm_object_btf(const bpfvm_object *obj);

/* The kernel's BTF the object was read against (the target of its CO-RE
 * relocations, or its BTF-typed programs' attach targets: the running
 * kernel's, or btf_custom_path), owned by the object; NULL if nothing
 * needed it.  The type IDs bpf_core_type_id_kernel() gives name its types. */
BPFVM_API const struct btf *bpfvm_object_kernel_btf(const bpfvm_object *obj);

/* Source position of instruction `insn` of program `prog` (an index into
 * its linked array; the second slot of an lddw answers for the lddw): the
 * nearest line-info record at or before it within its function.  Any of
 * the out pointers may be NULL; *text is the source line if the BTF holds
 * it, else "".  Returns 0, -ENOENT if no record covers it (no .BTF.ext),
 * or -EINVAL for an index out of range. */
BPFVM_API int bpfvm_object_line_info(const bpfvm_object *obj, size_t prog, size_t insn,
                           const char **file, uint32_t *line, uint32_t *col,
                           const char **text);

/* A CO-RE relocation that could not be satisfied leaves its instruction
 * (both halves of an lddw) as `call BPFVM_CORE_POISON_HELPER`, as libbpf
 * does: the verifier refuses it only where it is reachable, and a run
 * without verification that reaches it fails. */
#define BPFVM_CORE_POISON_HELPER 0xbad2310u

/* One CO-RE relocation as applied in one program (an instruction of a
 * subprogram appended to several programs appears once for each). */
typedef struct bpfvm_object_core_relo {
	uint32_t prog;            /* program index */
	uint32_t insn;            /* instruction in the program's linked array */
	uint32_t kind;            /* the kernel's enum bpf_core_relo_kind */
	const char *kind_name;    /* libbpf's: "byte_off", "field_exists", ... */
	const char *type_name;    /* the local root type ("" if anonymous) */
	const char *access;       /* the access string, "0:1:2" */
	uint64_t local_value;     /* the value the object's own BTF gives */
	uint64_t target_value;    /* the target BTF's (0 if poisoned) */
	bool poisoned;            /* no target: the instruction was poisoned */
} bpfvm_object_core_relo;

/* The CO-RE relocations applied, by program, in instruction order of
 * each program's functions. */
BPFVM_API size_t bpfvm_object_core_relo_count(const bpfvm_object *obj);
BPFVM_API const bpfvm_object_core_relo *bpfvm_object_core_relo_at(const bpfvm_object *obj, size_t index);

#ifdef __cplusplus
}
#endif
#endif
