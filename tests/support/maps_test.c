/*
 * maps_test.c - making maps for the map tests (maps_test.h).
 */
#include "maps_test.h"

int mt_try_map(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries, uint32_t flags,
               const char *name, bpfvm_map **out, bpfvm_error *err)
{
	bpfvm_map_def def = BPFVM_MAP_DEF_INIT;
	def.type = type;
	def.key_size = key_size;
	def.value_size = value_size;
	def.max_entries = max_entries;
	def.flags = flags;
	def.name = name;
	*out = NULL;
	return bpfvm_map_create(&def, out, err);
}

bpfvm_map *mt_named_map(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                        uint32_t flags, const char *name)
{
	bpfvm_map *map;
	bpfvm_error err;
	int rc = mt_try_map(type, key_size, value_size, max_entries, flags, name, &map, &err);
	CHECK(rc == 0, "create %s %s ks=%u vs=%u max=%u flags=0x%x: %d %s", bpfvm_map_type_name(type),
	      name ? name : "", key_size, value_size, max_entries, flags, rc, err.msg);
	return rc == 0 ? map : NULL;
}

bpfvm_map *mt_map(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries, uint32_t flags)
{
	return mt_named_map(type, key_size, value_size, max_entries, flags, NULL);
}
