/*
 * test_map_memory.c - a map's memory is charged at creation (issue 11,
 * item 8): over BPFVM_MAP_MEMORY_MAX or over what the machine has
 * available it is refused with -ENOMEM and a message saying which,
 * promptly, instead of being created sparse and failing (or the process
 * being killed) at first touch.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/maps.h"
#include "support/check.h"

static int create_array(uint32_t value_size, uint32_t max_entries, bpfvm_error *err)
{
	bpfvm_map_def def = BPFVM_MAP_DEF_INIT;
	def.type = BPF_MAP_TYPE_ARRAY, def.key_size = 4, def.value_size = value_size;
	def.max_entries = max_entries, def.name = "charged";
	bpfvm_map *m = NULL;
	int rc = bpfvm_map_create(&def, &m, err);
	if (m) {
		/* it is usable: its last element can be written */
		uint32_t key = max_entries - 1;
		char *value = calloc(1, value_size);
		CHECK(value && bpfvm_map_update_elem(m, &key, value, 0) == 0, "the last element of a created map");
		free(value);
		bpfvm_map_put(m);
	}
	return rc;
}

int main(void)
{
	bpfvm_error err = { 0 };
	setenv("BPFVM_MAP_MEMORY_MAX", "1M", 1);
	int rc = create_array(64, 1 << 16, &err);   /* 4 MiB */
	CHECK(rc == -ENOMEM && strstr(err.msg, "BPFVM_MAP_MEMORY_MAX"), "4 MiB over a 1 MiB cap: %d %s", rc, err.msg);
	rc = create_array(64, 1024, &err);          /* 64 KiB */
	CHECK(rc == 0, "64 KiB under a 1 MiB cap: %d %s", rc, err.msg);
	setenv("BPFVM_MAP_MEMORY_MAX", "12Q", 1);
	rc = create_array(64, 1024, &err);
	CHECK(rc == -EINVAL && strstr(err.msg, "not a size"), "a malformed cap: %d %s", rc, err.msg);
	unsetenv("BPFVM_MAP_MEMORY_MAX");
	/* 4 TiB: more than any machine this runs on has available */
	rc = create_array(4096, 1u << 30, &err);
	CHECK(rc == -ENOMEM && strstr(err.msg, "available"), "4 TiB without a cap: %d %s", rc, err.msg);
	rc = create_array(64, 1024, &err);
	CHECK(rc == 0, "64 KiB without a cap: %d %s", rc, err.msg);
	return check_summary();
}
