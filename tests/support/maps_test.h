/*
 * maps_test.h - what the map tests share: making a map, or recording the
 * failure through check.h.
 */
#ifndef BPFVM_TESTS_MAPS_TEST_H
#define BPFVM_TESTS_MAPS_TEST_H

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/maps.h"
#include "check.h"

/* Creates a map from these fields into *out, as bpfvm_map_create (its
 * return code and err): for a test that expects some to fail. */
int mt_try_map(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries, uint32_t flags,
               const char *name, bpfvm_map **out, bpfvm_error *err);
/* Creates a map or records a failure; NULL on failure. */
bpfvm_map *mt_map(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries, uint32_t flags);
/* The same with a name (pinned maps, messages). */
bpfvm_map *mt_named_map(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                        uint32_t flags, const char *name);

#endif
