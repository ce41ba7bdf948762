/*
 * maps_test.h - what the map tests share: pass/fail counting with one
 * line per failure, and shortcuts for making maps.
 */
#ifndef BPFVM_TESTS_MAPS_TEST_H
#define BPFVM_TESTS_MAPS_TEST_H

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/maps.h"

static int mt_passed, mt_failed;

/* Counts a check; prints one FAIL line (with where) when it fails. */
#define CHECK(cond, ...) do { \
	if (cond) { \
		mt_passed++; \
	} else { \
		mt_failed++; \
		printf("FAIL %s:%d: ", __FILE__, __LINE__); \
		printf(__VA_ARGS__); \
		printf("\n"); \
	} \
} while (0)

/* An operation's return code must be `want`. */
#define CHECK_RC(got, want, what) do { \
	long got_ = (long)(got), want_ = (long)(want); \
	CHECK(got_ == want_, "%s: got %ld, want %ld", (what), got_, want_); \
} while (0)

static inline int mt_finish(void)
{
	printf("%d passed, %d failed\n", mt_passed, mt_failed);
	return mt_failed != 0;
}

/* Creates a map or records a failure; NULL on failure. */
static inline bpfvm_map *mt_map(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                                uint32_t flags)
{
	bpfvm_map_def def = BPFVM_MAP_DEF_INIT;
	def.type = type;
	def.key_size = key_size;
	def.value_size = value_size;
	def.max_entries = max_entries;
	def.flags = flags;
	bpfvm_map *map = NULL;
	bpfvm_error err;
	int rc = bpfvm_map_create(&def, &map, &err);
	CHECK(rc == 0, "create %s ks=%u vs=%u max=%u flags=0x%x: %d %s", bpfvm_map_type_name(type), key_size,
	      value_size, max_entries, flags, rc, err.msg);
	return rc == 0 ? map : NULL;
}

#endif
