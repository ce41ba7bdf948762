/*
 * loader.h - internal interfaces of the ELF object loader (src/loader).
 *
 * Owns: the parse context (struct ldr) that one bpfvm_object_open* call
 * threads through the stages, the finished object's layout (struct
 * bpfvm_object), and the prototypes of each stage:
 *
 *   elf.c      ELF header, sections, symbols, programs' functions,
 *              license and version
 *   btf_raw.c  checks raw .BTF, applies libbpf's DATASEC fix-ups, btf__new
 *   btf_ext.c  .BTF.ext func info, line info and CO-RE relocation records
 *   core.c     CO-RE relocations resolved against a target BTF and applied
 *   sec_defs.c section name -> program type (libbpf's SEC() conventions)
 *   attach.c   BTF-typed program types' attach targets in the target BTF
 *   externs.c  extern symbols: __kconfig values (the .kconfig map), __ksym
 *              variables and kfuncs
 *   maps.c     BTF-defined, legacy and internal maps; .maps initial slots
 *   relocs.c   relocation collection and classification
 *   link.c     per-program linking: subprogram appending, fix-ups,
 *              line info per instruction
 *   object.c   the public API, the pipeline and the accessors
 *
 * Every value read from the file is checked before use; stages report
 * with ldr_fail(), which names the file.
 */
#ifndef BPFVM_LOADER_H
#define BPFVM_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <elf.h>
#include <libelf.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/object.h"
#include "isa/isa.h"

#ifndef EM_BPF
#define EM_BPF 247
#endif
#ifndef SHT_LLVM_ADDRSIG
#define SHT_LLVM_ADDRSIG 0x6FFF4C03
#endif

#define LDR_INSN_SIZE 8u
#define LDR_NONE UINT32_MAX

/* A small bump allocator for the object's strings: freed all at once. */
struct ldr_arena_block;

/* What a section is to the loader. */
enum ldr_sec_kind {
	LDR_SEC_OTHER = 0,
	LDR_SEC_PROG,        /* executable PROGBITS with code */
	LDR_SEC_DATA,        /* .data, .data.* */
	LDR_SEC_RODATA,      /* .rodata, .rodata.* */
	LDR_SEC_BSS,         /* .bss */
	LDR_SEC_MAPS_BTF,    /* .maps */
	LDR_SEC_MAPS_LEGACY, /* maps */
	LDR_SEC_RELO,        /* SHT_REL for a section we relocate */
};

enum ldr_rel_kind {
	LDR_REL_CALL,        /* call to a subprogram */
	LDR_REL_FUNC_ADDR,   /* lddw of a subprogram's address (callbacks) */
	LDR_REL_MAP,         /* lddw of a map */
	LDR_REL_DATA,        /* lddw of an address in a global data section */
	LDR_REL_EXTERN,      /* lddw or call of an extern (map = extern index) */
};

/* What an extern is (libbpf's enum extern_type, kfuncs apart). */
enum ldr_extern_kind {
	LDR_EXTERN_KCFG,     /* __kconfig: a value in the .kconfig map */
	LDR_EXTERN_KSYM,     /* __ksym variable */
	LDR_EXTERN_KFUNC,    /* __ksym function: a kfunc */
};

/* libbpf's enum kcfg_type. */
enum ldr_kcfg_type {
	KCFG_UNKNOWN, KCFG_CHAR, KCFG_BOOL, KCFG_INT, KCFG_TRISTATE, KCFG_CHAR_ARR,
};

struct ldr_extern {
	const char *name;    /* in the object's arena */
	uint32_t sym;        /* ELF symbol index */
	uint32_t btf_id;     /* its VAR or FUNC */
	uint8_t kind;        /* enum ldr_extern_kind */
	bool weak;
	bool is_set;         /* KCFG: a value was found */
	bool typed;          /* KSYM: has a BTF type (not `const void`) */
	uint8_t kcfg_type;   /* enum ldr_kcfg_type */
	bool is_signed;
	uint32_t size, align, off;  /* KCFG: layout in the .kconfig map */
};

/* One relocation of an executable section, classified. */
struct ldr_rel {
	uint32_t insn;       /* instruction index in the section */
	uint32_t kind;       /* enum ldr_rel_kind */
	uint32_t target_sec; /* CALL, FUNC_ADDR: section of the target */
	uint32_t map;        /* MAP, DATA: map index */
	uint64_t sym_off;    /* symbol value (bytes) */
	uint32_t index;      /* its position in its SHT_REL section, for messages */
};

/* One line-info record of .BTF.ext, resolved. */
struct ldr_line {
	uint32_t insn;       /* instruction index in its section */
	uint32_t line, col;
	const char *file, *text;  /* strings inside the BTF */
};

/* One CO-RE relocation record of .BTF.ext, and what core.c made of it. */
struct ldr_core_relo {
	uint32_t sec;          /* executable section */
	uint32_t insn;         /* instruction index in the section */
	uint32_t type_id;      /* local root type */
	uint32_t access_off;   /* access string in the BTF strings */
	uint32_t kind;         /* enum bpf_core_relo_kind */
	bool applied, poisoned;
	uint64_t local_value, target_value;
};

struct ldr_sec {
	const char *name;     /* inside libelf's copy of the section names */
	Elf64_Shdr shdr;
	const uint8_t *data;  /* NULL for SHT_NOBITS */
	size_t size;
	uint32_t kind;        /* enum ldr_sec_kind */
	uint32_t map;         /* its internal map, or LDR_NONE */
	uint32_t first_func, func_count;   /* its functions in ldr.funcs */
	struct ldr_rel *rels;              /* executable: sorted by insn */
	size_t rel_count;
	struct ldr_line *lines;            /* sorted by insn */
	size_t line_count;
};

/* A function symbol in an executable section. */
struct ldr_func {
	const char *name;     /* in the symbol string table */
	uint32_t sec;
	uint32_t off;         /* first instruction in its section */
	uint32_t count;       /* instructions */
	uint32_t sym;
	bool entry;           /* an entry program, not a subprogram */
	uint32_t prog;        /* program index if entry */
	uint32_t btf_id;      /* its BTF FUNC (.BTF.ext func info), 0: none */
};

/* Where the running kernel's BTF is read from for CO-RE: vmlinux and one
 * file per module.  "/sys/kernel/btf"; the tests point it at a directory of
 * their own (there are no module BTFs on every machine). */
extern const char *ldr_sysfs_btf_dir;

struct ldr {
	bpfvm_error *err;
	const char *display;  /* file name for messages */

	uint8_t *image;       /* our copy of the file */
	size_t image_len;
	Elf *elf;

	struct ldr_sec *secs; /* index = ELF section index; secs[0] unused */
	size_t sec_count;
	uint32_t symtab_sec, strtab_sec;
	Elf64_Sym *syms;      /* copied */
	size_t sym_count;

	uint32_t text_sec;    /* 0 if none */
	uint32_t maps_sec;    /* .maps, 0 if none */
	uint32_t legacy_maps_sec;  /* maps, 0 if none */
	uint32_t btf_sec, btf_ext_sec;
	uint32_t maps_datasec_id;  /* BTF id of DATASEC .maps */

	struct ldr_func *funcs;  /* sorted by (sec, off) */
	size_t func_count;
	bool has_func_info;      /* .BTF.ext has func info records */

	/* For each map of the object: where its definition lives, to match
	 * relocations (libbpf matches section and offset). */
	struct ldr_map_place { uint32_t sec; uint64_t off; uint32_t size; uint32_t var; } *places;
	/* Map indices sorted by (place.sec, place.off, index), for relocations. */
	uint32_t *maps_by_place;

	/* Externs, sorted as libbpf sorts them (kconfig first); owned by obj. */
	struct ldr_extern *externs;
	size_t extern_count;
	const char *kconfig_text;  /* bpfvm_object_open_opts.kconfig */
	uint32_t kcfg_datasec;     /* BTF id of DATASEC .kconfig, 0 if none */
	uint32_t kcfg_size;        /* bytes of the .kconfig map's value, 0: no map */
	uint32_t kcfg_map;         /* its map index, or LDR_NONE */
	uint8_t *kcfg_data;        /* its initial value, filled by externs.c */
	struct ldr_core_relo *core_relos;  /* in .BTF.ext order */
	size_t core_relo_count;
	const char *btf_custom_path;       /* target BTF for CO-RE; NULL: the kernel's */

	struct bpfvm_object *obj;
};

/* Per-program data the public struct does not show. */
struct ldr_prog_extra {
	uint32_t *line_of_insn;  /* index into obj->lines, LDR_NONE: none */
};

struct bpfvm_object {
	char name[16];
	char license[64];
	uint32_t kern_version;
	struct btf *btf;
	/* the kernel's BTF: CO-RE's target (core.c, which reads it first) and
	 * the attach targets' (attach.c), or NULL */
	struct btf *attach_btf;

	bpfvm_object_prog *progs;
	struct ldr_prog_extra *prog_extra;
	size_t prog_count;

	bpfvm_object_map *maps;
	size_t map_count;

	struct ldr_line *lines;  /* all line records, by section */
	size_t line_count;

	struct ldr_extern *externs;   /* the loader's, handed over */
	size_t extern_count;
	bpfvm_object_core_relo *core_relos;  /* applied, by program */
	size_t core_relo_count;

	struct ldr_arena_block *arena;
};

/* object.c */
int ldr_fail(struct ldr *l, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int ldr_nomem(struct ldr *l, const char *what);
char *ldr_strdup(struct ldr *l, const char *s);
void *ldr_arena_alloc(struct ldr *l, size_t size);
const char *ldr_sym_name(struct ldr *l, const Elf64_Sym *sym);
/* A symbol's display name: its own, or its section's for section symbols. */
const char *ldr_sym_label(struct ldr *l, const Elf64_Sym *sym);
int ldr_find_sec_by_name(const struct ldr *l, const char *name);
/* Function of section `sec` containing instruction `insn`, or NULL. */
struct ldr_func *ldr_func_at(struct ldr *l, uint32_t sec, uint32_t insn);

/* elf.c */
int ldr_elf_open(struct ldr *l);
int ldr_elf_collect(struct ldr *l);

/* btf_raw.c */
int ldr_btf_load(struct ldr *l);

/* btf_ext.c */
int ldr_btf_ext_load(struct ldr *l);

/* core.c: apply the records to the sections (before linking), then list
 * them per linked program. */
int ldr_core_apply(struct ldr *l);
int ldr_core_place(struct ldr *l);
const char *ldr_core_kind_name(uint32_t kind);

/* sec_defs.c */
/* The kernel's BPF_TRACE_UPROBE_MULTI (Linux 6.6), which Debian 12's
 * <linux/bpf.h> (6.1) lacks: an enum value, so no #ifndef can find it. */
#define BPFVM_TRACE_UPROBE_MULTI 48u
struct ldr_sec_def_result {
	uint32_t prog_type;
	uint32_t attach_type;
	const char *target;     /* inside the section name, or NULL */
	bool known;
	bool sleepable;         /* loaded with BPF_F_SLEEPABLE */
};
void ldr_sec_def_lookup(const char *sec_name, struct ldr_sec_def_result *res);

/* attach.c: each BTF-typed program's attach target (programs' attach_*). */
int ldr_attach_resolve(struct ldr *l);

/* externs.c */
int ldr_externs_collect(struct ldr *l);
/* Fills the .kconfig map's value; refuses strong externs bpfvm lacks. */
int ldr_externs_resolve(struct ldr *l);
/* Index in l->externs of the extern of ELF symbol sym_idx, or -1. */
int ldr_extern_of_sym(const struct ldr *l, uint32_t sym_idx);

/* maps.c */
int ldr_maps_collect(struct ldr *l);
int ldr_maps_collect_slots(struct ldr *l, uint32_t rel_sec);

/* relocs.c */
int ldr_relocs_collect(struct ldr *l);

/* link.c */
int ldr_programs_init(struct ldr *l);
int ldr_link_programs(struct ldr *l);

#endif
