/*
 * opts.h - how the library reads a caller's sized options struct.
 *
 * Owns: the checks libbpf's libbpf_validate_opts() makes on an options
 * struct whose first field is `size_t sz` (BPFVM_OPTS in <bpfvm/api.h>),
 * and the ways to read one: OPTS_GET for a field the caller may be too old
 * to know, opts_known() for a full-size copy the rest of the library can
 * read field by field.
 *
 * A caller built against older headers passes a smaller sz: the fields it
 * does not know read as zero (or OPTS_GET's default).  A caller built
 * against newer headers passes a larger sz: accepted only if every byte
 * this library does not know is zero (else it asked for something this
 * version cannot do).  sz == 0 means the struct was not built with
 * BPFVM_OPTS: refused, naming the struct.
 */
#ifndef BPFVM_BASE_OPTS_H
#define BPFVM_BASE_OPTS_H

#include <stddef.h>

#include "bpfvm/bpfvm.h"

/* 0 if an options struct of user_sz bytes (as its caller says) may be
 * read as one of lib_sz bytes, else a negative code and a message naming
 * type_name.  NULL opts is valid (the defaults). */
int opts_check(const void *opts, size_t user_sz, size_t lib_sz, const char *type_name, bpfvm_error *err);

/* Checks `opts` (a pointer to TYPE, or NULL) and fills *known, a TYPE:
 * the caller's fields, zero for those beyond its sz.  Returns 0 or the
 * check's error. */
#define opts_known(TYPE, opts, known, err) \
	opts_copy((opts), (opts) ? (opts)->sz : 0, (known), sizeof(TYPE), #TYPE, (err))
int opts_copy(const void *opts, size_t user_sz, void *known, size_t lib_sz, const char *type_name,
              bpfvm_error *err);

/* True if a checked `opts` (non-NULL) is large enough to hold `field`. */
#define OPTS_HAS(opts, field) \
	((opts) && (opts)->sz >= offsetof(__typeof__(*(opts)), field) + sizeof((opts)->field))
/* `field` of a checked `opts`, or `fallback` if opts is NULL or the
 * caller's struct ends before it. */
#define OPTS_GET(opts, field, fallback) (OPTS_HAS(opts, field) ? (opts)->field : (fallback))

#endif
