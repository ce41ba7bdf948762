/*
 * pin_btf.h - the key and value types of a pinned map, kept in a sidecar
 * file next to its pin (PATH.btf), so that any process opening the pin can
 * print its entries with their C types.
 *
 * Owns: the sidecar's format, writing it (atomically: a temporary file
 * renamed over PATH.btf, with the pin's permissions) and reading it back
 * with every check a hostile or stale file needs before libbpf's btf_dump
 * may be pointed at it.
 *
 * Format (native byte order, like the pin's arena and raw BTF itself):
 *   0  char     magic[8]       "BPFVMBTF"
 *   8  uint32_t version        1
 *  12  uint32_t hdr_len        32 (the BTF starts here)
 *  16  uint32_t key_type_id    0: the key has no type
 *  20  uint32_t value_type_id  0: the value has no type
 *  24  uint32_t btf_len        bytes of raw BTF after the header
 *  28  uint32_t pin_ino        low 32 bits of the pin's inode number: a
 *                              sidecar left behind by an unpinned map is
 *                              not taken for a new map pinned at the path
 *  32  the object's raw BTF (libbpf's btf__raw_data)
 * The file is exactly hdr_len + btf_len bytes.
 *
 * Conventions as in bpfvm.h: 0 or a negative errno and a bpfvm_error.
 */
#ifndef BPFVM_PIN_BTF_H
#define BPFVM_PIN_BTF_H

#include <stdint.h>

#include "bpfvm/api.h"
#include "bpfvm/bpfvm.h"
#include "bpfvm/maps.h"

#ifdef __cplusplus
extern "C" {
#endif

struct btf; /* libbpf's, from <bpf/btf.h> */

#define BPFVM_PIN_BTF_SUFFIX ".btf"
#define BPFVM_PIN_BTF_MAGIC "BPFVMBTF"
#define BPFVM_PIN_BTF_VERSION 1u

typedef struct bpfvm_pin_btf_header {
	char magic[8];
	uint32_t version;
	uint32_t hdr_len;
	uint32_t key_type_id;
	uint32_t value_type_id;
	uint32_t btf_len;
	uint32_t pin_ino;
} bpfvm_pin_btf_header;

/* Writes pin_path + ".btf" for the map pinned at pin_path: btf's raw data
 * and the two type ids (at least one non-zero).  The pin must exist (its
 * inode and permissions are copied).  Readers see the old file or the
 * new one, never a part. */
BPFVM_API int bpfvm_pin_btf_write(const char *pin_path, const struct btf *btf, uint32_t key_type_id,
                        uint32_t value_type_id, bpfvm_error *err);

/* Reads the sidecar of the map pinned at pin_path and opened as `map`.
 * -ENOENT (and no message) if there is none.  Any other failure says why
 * in err: a short or oversized file, a bad header, BTF libbpf refuses, a
 * type id, name or string out of range anywhere in the BTF, a type that
 * contains itself (other than through a pointer to a named struct or
 * union) or nests deeper than 64, a key or value type whose size is not
 * the map's, or a sidecar written for another pin.  On success *btf
 * (free with btf__free) and the type ids (0: untyped) are set. */
BPFVM_API int bpfvm_pin_btf_read(const char *pin_path, const bpfvm_map *map, struct btf **btf,
                       uint32_t *key_type_id, uint32_t *value_type_id, bpfvm_error *err);

#ifdef __cplusplus
}
#endif
#endif
