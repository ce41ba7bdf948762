/*
 * opts.c - checking and reading callers' sized options structs (opts.h):
 * the size rules of libbpf's libbpf_validate_opts().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/opts.h"


int opts_check(const void *opts, size_t user_sz, size_t lib_sz, const char *type_name, bpfvm_error *err)
{
	if (!opts)
		return 0;
	if (user_sz == 0)
		return error_set(err, -EINVAL, -1, "%s: sz is 0; initialise it with BPFVM_OPTS", type_name);
	if (user_sz < sizeof(size_t))
		return error_set(err, -EINVAL, -1, "%s: sz %zu is smaller than sz itself; initialise it with BPFVM_OPTS",
		                 type_name, user_sz);
	/* A newer caller: the fields this library does not know must be unset. */
	const uint8_t *bytes = opts;
	for (size_t i = lib_sz; i < user_sz; i++)
		if (bytes[i])
			return error_set(err, -EINVAL, -1,
			                 "%s: byte %zu is set, beyond the %zu bytes this version of bpfvm knows "
			                 "(sz %zu: a field from a newer version)",
			                 type_name, i, lib_sz, user_sz);
	return 0;
}

int opts_copy(const void *opts, size_t user_sz, void *known, size_t lib_sz, const char *type_name,
              bpfvm_error *err)
{
	memset(known, 0, lib_sz);
	int rc = opts_check(opts, user_sz, lib_sz, type_name, err);
	if (rc || !opts)
		return rc;
	memcpy(known, opts, user_sz < lib_sz ? user_sz : lib_sz);
	*(size_t *)known = lib_sz;
	return 0;
}
