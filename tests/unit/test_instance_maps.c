/*
 * test_instance_maps.c - bpfvm_instance_opts.maps: an instance built on
 * maps made elsewhere (as `bpfvm trace`'s agent builds one on the maps
 * the tracer sends) runs its programs on them: another instance sees
 * every write, global data keeps the contents it had, a map of another
 * type is refused naming the map, and a bad count is refused.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bpfvm/instance.h"
#include "support/check.h"

static int open_global_data(bpfvm_object **obj, bpfvm_error *err)
{
	char path[512];
	snprintf(path, sizeof path, "%s/global_data.bpf.o", BPFVM_TEST_OBJECTS_DIR);
	memset(err, 0, sizeof *err);
	return bpfvm_object_open_file(path, NULL, obj, err);
}

/* Runs tc_prog of inst over a 200-byte packet (over threshold 100). */
static int run_tc(bpfvm_instance *inst, const bpfvm_object *obj, bpfvm_error *err)
{
	static uint8_t pkt[200], out[200 + 4096];
	BPFVM_OPTS(bpfvm_test_run, t, .data_in = pkt, .data_size_in = sizeof pkt, .data_out = out,
	           .data_size_out = sizeof out, .mode = BPFVM_CHECKED);
	size_t nr;
	t.regions = bpfvm_instance_regions(inst, &nr);
	t.region_count = nr;
	return bpfvm_program_test_run(bpfvm_instance_prog(inst, (size_t)bpfvm_object_find_prog(obj, "tc_prog")), &t, err);
}

/* `counter` (.data, first int) as map m holds it. */
static int read_counter(bpfvm_map *m)
{
	uint32_t zero = 0;
	int *v = bpfvm_map_lookup_elem(m, &zero);
	return v ? *v : -1;
}

static void test_shared(void)
{
	bpfvm_object *obj = NULL;
	bpfvm_instance *maker = NULL, *user = NULL;
	bpfvm_error err;
	if (!CHECK(open_global_data(&obj, &err) == 0, "open: %s", err.msg))
		return;
	BPFVM_OPTS(bpfvm_instance_opts, mo, .verify = true, .no_pins = true);
	if (!CHECK(bpfvm_instance_new(obj, &mo, &maker, &err) == 0, "maker: %s", err.msg))
		goto out;
	size_t n = bpfvm_object_map_count(obj);
	bpfvm_map *given[64] = { 0 };
	for (size_t i = 0; i < n && i < 64; i++)
		given[i] = bpfvm_instance_map(maker, i);
	int data = -1;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(bpfvm_object_map_at(obj, i)->section, ".data"))
			data = (int)i;
	if (!CHECK(data >= 0, "no .data map"))
		goto out;
	CHECK(read_counter(given[data]) == 7, "counter starts at 7: %d", read_counter(given[data]));
	CHECK(run_tc(maker, obj, &err) == 0, "maker's run: %s", err.msg);   /* counter 8 */
	BPFVM_OPTS(bpfvm_instance_opts, uo, .verify = true, .no_pins = true, .maps = given, .map_count = n);
	if (!CHECK(bpfvm_instance_new(obj, &uo, &user, &err) == 0, "user: %s", err.msg))
		goto out;
	for (size_t i = 0; i < n; i++)
		CHECK(bpfvm_instance_map(user, i) == given[i], "map %zu is the given one", i);
	CHECK(read_counter(given[data]) == 8, "given .data kept its contents: %d", read_counter(given[data]));
	CHECK(run_tc(user, obj, &err) == 0, "user's run: %s", err.msg);
	CHECK(read_counter(bpfvm_instance_map(maker, (size_t)data)) == 9, "the maker sees the user's write: %d",
	      read_counter(bpfvm_instance_map(maker, (size_t)data)));
	bpfvm_instance_free(user);
	user = NULL;
	CHECK(read_counter(given[data]) == 9, "the maps outlive the user's instance");
out:
	bpfvm_instance_free(user);
	bpfvm_instance_free(maker);
	bpfvm_object_free(obj);
}

static void test_refused(void)
{
	bpfvm_object *obj = NULL;
	bpfvm_instance *inst = NULL;
	bpfvm_error err;
	if (!CHECK(open_global_data(&obj, &err) == 0, "open: %s", err.msg))
		return;
	bpfvm_map *hash = NULL;
	bpfvm_map_def d = BPFVM_MAP_DEF_INIT;
	d.type = BPFVM_MAP_TYPE_HASH;
	d.key_size = d.value_size = d.max_entries = 4;
	if (!CHECK(bpfvm_map_create(&d, &hash, &err) == 0, "hash: %s", err.msg))
		goto out;
	bpfvm_map *given[1] = { hash };
	BPFVM_OPTS(bpfvm_instance_opts, o, .no_pins = true, .maps = given, .map_count = 1);
	int rc = bpfvm_instance_new(obj, &o, &inst, &err);
	CHECK(rc == -EINVAL && strstr(err.msg, "is a hash") && strstr(err.msg, bpfvm_object_map_at(obj, 0)->name),
	      "a hash in an array's place: %d %s", rc, err.msg);
	bpfvm_map *many[64] = { 0 };
	BPFVM_OPTS(bpfvm_instance_opts, o2, .no_pins = true, .maps = many, .map_count = 64);
	rc = bpfvm_instance_new(obj, &o2, &inst, &err);
	CHECK(rc == -EINVAL && strstr(err.msg, "64 maps given"), "more maps than the object's: %d %s", rc, err.msg);
	BPFVM_OPTS(bpfvm_instance_opts, o3, .no_pins = true, .map_count = 1);
	CHECK(bpfvm_instance_new(obj, &o3, &inst, &err) == -EINVAL, "a count without maps");
	bpfvm_map_put(hash);
out:
	bpfvm_object_free(obj);
}

int main(void)
{
	test_shared();
	test_refused();
	return check_summary();
}
