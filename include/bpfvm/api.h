/*
 * api.h - what marks a function as part of bpfvm's public ABI.
 *
 * Owns: BPFVM_API, the marker on every function declared in
 * include/bpfvm/ (every header).  The library is built with -fvisibility=hidden, so
 * only functions carrying this marker are exported from libbpfvm.so (and
 * its version script, src/libbpfvm.map, names them under a version node);
 * everything else stays internal to the library.  Also BPFVM_OPTS, the
 * way to declare an options struct.  Included by every other public
 * header.
 */
#ifndef BPFVM_API_H
#define BPFVM_API_H

#if defined(__GNUC__) || defined(__clang__)
#define BPFVM_API __attribute__((visibility("default")))
#else
#define BPFVM_API
#endif

#include <string.h>

/* Every options struct of the API starts with `size_t sz`, its size as
 * the caller was compiled, so that later versions can add fields at its
 * end without breaking callers built against older headers (libbpf's
 * LIBBPF_OPTS scheme).  Declare one with
 *
 *     BPFVM_OPTS(bpfvm_run_opts, ro, .mode = BPFVM_UNCHECKED, .user = ctx);
 *
 * which sets sz and zeroes every other field and the padding (so a
 * library newer than the caller never sees garbage where it looks for a
 * field the caller does not know).  A struct whose sz is 0 is refused. */
#define BPFVM_OPTS(TYPE, NAME, ...)                                   \
	TYPE NAME = ({                                                \
		memset(&NAME, 0, sizeof(TYPE));                       \
		(TYPE){ .sz = sizeof(TYPE), __VA_ARGS__ };            \
	})

/* Re-initialises an options struct declared earlier (or one inside
 * another struct or an array), as BPFVM_OPTS does. */
#define BPFVM_OPTS_RESET(NAME, ...)                                   \
	do {                                                          \
		__typeof__(NAME) bpfvm_opts_reset_ = ({                   \
			memset(&bpfvm_opts_reset_, 0, sizeof(NAME));  \
			(__typeof__(NAME)){ .sz = sizeof(NAME), __VA_ARGS__ }; \
		});                                                   \
		memcpy(&(NAME), &bpfvm_opts_reset_, sizeof(NAME));    \
	} while (0)

#endif
