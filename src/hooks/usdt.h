/*
 * usdt.h - USDT probes (issue 14): the statically defined probe sites a
 * program declares with <sys/sdt.h> (DTRACE_PROBE*, STAP_PROBE*), read from
 * its ELF `.note.stapsdt` notes, their argument specs parsed as libbpf's
 * usdt.c parses them, libbpf's spec maps filled so usdt.bpf.h's
 * bpf_usdt_arg() works, and a probe attached in the running process.
 *
 * A site is a 1-byte nop in the middle of a function.  It is probed on the
 * probe engine's int3 path (probe.h), as the kernel probes it (a uprobe):
 * the breakpoint replaces only the nop, and the signal frame keeps every
 * register, the full vector state and the red zone.  The trampoline path
 * assumes a function's entry, where none of these matter: its 5-byte jump
 * would take instructions after the nop that a branch, a jump table, a
 * computed goto or a C++ landing pad anywhere in the function may lead
 * into (only the first is searchable), and its frame would overwrite the
 * red zone and lose xmm8-15 and the upper halves of ymm registers, which
 * are live in the middle of a function.  The cost is the int3 path's
 * (about 1.8 us a hit against 20 ns).  The handler sees pt_regs with rip
 * at the nop, as a kernel uprobe at the site does.  One attachment per
 * site (the probe engine's rule): programs share a site through one hook.
 *
 * Owns: struct usdt_probe / usdt_list (usdt_list_read), usdt_parse_args,
 * usdt_spec_ids (libbpf's __bpf_usdt_specs / __bpf_usdt_ip_to_spec_id
 * maps), usdt_load_bias, usdt_attach / usdt_detach, and usdt_link (every
 * site of a provider:name attached at once, as libbpf's
 * bpf_program__attach_usdt attaches a `usdt/PATH:PROVIDER:NAME` program).
 */
#ifndef BPFVM_HOOKS_USDT_H
#define BPFVM_HOOKS_USDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/maps.h"
#include "hooks/probe.h"

/* libbpf's layouts (usdt.bpf.h: struct __bpf_usdt_arg_spec and
 * __bpf_usdt_spec), the values of its __bpf_usdt_specs map. */
#define USDT_MAX_ARG_CNT 12

enum usdt_arg_type {
	USDT_ARG_CONST,       /* val_off is the value */
	USDT_ARG_REG,         /* the register at reg_off in pt_regs */
	USDT_ARG_REG_DEREF,   /* memory at that register + val_off */
};

struct usdt_arg_spec {
	uint64_t val_off;
	enum usdt_arg_type arg_type;
	short reg_off;        /* offsetof(struct pt_regs, reg) */
	bool arg_signed;
	char arg_bitshift;    /* 64 - 8 * size: bits cleared (or sign-filled) */
};

struct usdt_spec {
	struct usdt_arg_spec args[USDT_MAX_ARG_CNT];
	uint64_t usdt_cookie;
	short arg_cnt;
};

/* One note of .note.stapsdt. */
struct usdt_probe {
	char *provider, *name;
	char *args;           /* the argument string ("-4@%edi 8@-8(%rbp)"), "" if none */
	uint64_t note_pc, note_base, note_sema;   /* the note's three addresses as written */
	/* The site's virtual address in the file, adjusted as libbpf does
	 * when the note's base differs from .stapsdt.base's address (prelink). */
	uint64_t pc;
	uint64_t sema;        /* the semaphore's virtual address (an unsigned short), 0: none */
	/* args parsed (usdt_cookie 0), or why not: spec_error is 0 or a
	 * negative errno with spec_why saying what. */
	struct usdt_spec spec;
	int spec_error;
	char spec_why[96];
};

struct usdt_list {
	struct usdt_probe *probes;
	size_t count;
};

/* Reads every USDT note of the ELF file at path into out (in note order;
 * a provider:name may have several sites, one per inlined copy).  A file
 * without notes gives an empty list.  0 or a negative errno with err set. */
int usdt_list_read(const char *path, struct usdt_list *out, bpfvm_error *err);
void usdt_list_free(struct usdt_list *list);
/* The next probe named provider:name after index *from (start with
 * *from = 0), or NULL; *from is advanced past it. */
const struct usdt_probe *usdt_list_next(const struct usdt_list *list, const char *provider, const char *name,
					size_t *from);

/* A symbol for the `sym(%rip)` / `sym+N(%rip)` operands libbpf refuses:
 * resolve(user, "sym", &vaddr) returns 0 with its virtual address.  May
 * be NULL (such operands are then refused as libbpf refuses them). */
typedef int usdt_symbol_fn(void *user, const char *sym, uint64_t *vaddr);

/* Parses an argument string as libbpf's parse_usdt_spec does into spec
 * (usdt_cookie left 0).  pc is the site's address, the base of a
 * symbolic rip-relative operand's offset (the handler's rip is the site).
 * 0, or -EINVAL / -E2BIG / -ENOENT with why (why_size bytes). */
int usdt_parse_args(const char *args, uint64_t pc, usdt_symbol_fn *resolve, void *resolve_user,
		    struct usdt_spec *spec, char *why, size_t why_size);

/* libbpf's two maps of a BPF object that includes usdt.bpf.h, and which
 * spec ids are in use.  A program finds its spec by its ip
 * (LINUX_HAS_BPF_COOKIE is 0 in bpfvm) or by bpf_get_attach_cookie(). */
struct usdt_spec_ids {
	bpfvm_map *specs;          /* __bpf_usdt_specs: array, int -> struct usdt_spec */
	bpfvm_map *ip_to_spec_id;  /* __bpf_usdt_ip_to_spec_id: hash, long -> u32; may be NULL */
	uint32_t max_ids;
	uint8_t *used;             /* one byte per id */
};

/* Checks the maps' key and value sizes against libbpf's layout. */
int usdt_spec_ids_init(struct usdt_spec_ids *ids, bpfvm_map *specs, bpfvm_map *ip_to_spec_id, bpfvm_error *err);
void usdt_spec_ids_free(struct usdt_spec_ids *ids);
/* Stores probe's spec with usdt_cookie under a free spec id, and
 * ip -> that id (ip: the site's address in this process).  *attach_cookie
 * gets the link cookie libbpf gives the program: the spec id in the low
 * 32 bits.  0 or a negative errno (-ENOSPC when every id is taken; the
 * probe's own spec_error). */
int usdt_spec_add(struct usdt_spec_ids *ids, const struct usdt_probe *probe, uint64_t usdt_cookie, uint64_t ip,
		  uint32_t *spec_id, uint64_t *attach_cookie, bpfvm_error *err);
/* Takes the spec id and its ip entry out again. */
void usdt_spec_remove(struct usdt_spec_ids *ids, uint32_t spec_id, uint64_t ip);

/* What to add to the file's virtual addresses to get this process's:
 * the load bias of the loaded module that is the file at path (the main
 * program or a shared library, compared by device and inode).  0, or
 * -ENOENT when the file is not loaded. */
int usdt_load_bias(const char *path, uintptr_t *bias, bpfvm_error *err);

struct usdt_attachment;

/* Attaches handlers (entry only: there is no return at a site, and the
 * entry handler must return 0) to probe's site at bias + pc, then counts
 * one more user on its semaphore, if it has one. */
int usdt_attach(const struct usdt_probe *probe, uintptr_t bias, const struct probe_handlers *h, void *user,
		struct usdt_attachment **out, bpfvm_error *err);
/* Counts the semaphore down, then detaches (see probe_detach). */
void usdt_detach(struct usdt_attachment *a);
uintptr_t usdt_attachment_ip(const struct usdt_attachment *a);
const struct probe *usdt_attachment_probe(const struct usdt_attachment *a);

/* Every site of provider:name in the file at path, loaded in this
 * process: each one's spec stored (usdt_cookie) in ids' maps, then
 * attached with h and user.  All or nothing: on failure nothing stays
 * attached or stored.  -ENOENT when the file has no such probe. */
struct usdt_link;
int usdt_link_attach(const char *path, const char *provider, const char *name, uint64_t usdt_cookie,
		     struct usdt_spec_ids *ids, const struct probe_handlers *h, void *user, struct usdt_link **out,
		     bpfvm_error *err);
/* Detaches every site, then takes their specs out of the maps. */
void usdt_link_detach(struct usdt_link *link);
/* Detaches every site and leaves the specs in the maps: a fork()ed
 * child's copy of a link, whose parent uses the same ids and addresses
 * in the same (shared) maps. */
void usdt_link_detach_sites(struct usdt_link *link);
size_t usdt_link_sites(const struct usdt_link *link);
/* Site i's probe (NULL if not attached), for its stats. */
const struct probe *usdt_link_site_probe(const struct usdt_link *link, size_t i);
/* The attach cookie libbpf gives a program at the site at ip (its spec
 * id), 0 if the link has no site there. */
uint64_t usdt_link_cookie(const struct usdt_link *link, uint64_t ip);

#endif
