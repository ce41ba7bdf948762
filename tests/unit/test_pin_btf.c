/*
 * test_pin_btf.c - the BTF sidecars of pinned maps (<bpfvm/pin_btf.h>):
 * written and read back, and refused -- never crashing -- when the types
 * in them would lead a printer astray: ids out of range, types that
 * contain themselves, nesting too deep, sizes that are not the map's,
 * a sidecar left by another pin.  Typed printing through the CLI is
 * tests/cli_map_pinned.sh.
 */
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpfvm/pin_btf.h"
#include "support/check.h"

static char dir[64], pin[128], side[160];
static bpfvm_map *map;   /* hash, key 8 bytes, value 16 bytes, pinned at `pin` */

/* Writes btf as the sidecar and reads it back; returns read's code. */
static int roundtrip(struct btf *btf, uint32_t key_id, uint32_t value_id, struct btf **out)
{
	bpfvm_error err = { 0 };
	int rc = bpfvm_pin_btf_write(pin, btf, key_id, value_id, &err);
	CHECK(rc == 0, "write: %d %s", rc, err.msg);
	uint32_t k = 99, v = 99;
	struct btf *got = NULL;
	memset(&err, 0, sizeof err);
	rc = bpfvm_pin_btf_read(pin, map, &got, &k, &v, &err);
	if (rc == 0)
		CHECK(got && k == key_id && v == value_id, "read: types %u %u, want %u %u", k, v, key_id, value_id);
	else
		CHECK(!got && k == 0 && v == 0 && err.msg[0], "a failed read returns nothing and says why (%d)", rc);
	if (out)
		*out = got;
	else
		btf__free(got);
	return rc;
}

/* struct pair { __u64 a; __u64 b; } and a __u64: the map's value and key. */
static struct btf *base_btf(int *u64, int *pair)
{
	struct btf *b = btf__new_empty();
	*u64 = btf__add_int(b, "unsigned long long", 8, 0);
	*pair = btf__add_struct(b, "pair", 16);
	btf__add_field(b, "a", *u64, 0, 0);
	btf__add_field(b, "b", *u64, 64, 0);
	return b;
}

static void test_valid(void)
{
	int u64, pair;
	struct btf *b = base_btf(&u64, &pair), *got = NULL;
	CHECK(roundtrip(b, u64, pair, &got) == 0, "a valid sidecar is read");
	if (got) {
		const struct btf_type *t = btf__type_by_id(got, pair);
		CHECK(t && btf_is_struct(t) && !strcmp(btf__name_by_offset(got, t->name_off), "pair"),
		      "the types come back");
		btf__free(got);
	}
	struct stat ps, ss;
	CHECK(stat(pin, &ps) == 0 && stat(side, &ss) == 0 && (ps.st_mode & 07777) == (ss.st_mode & 07777),
	      "the sidecar has the pin's permissions");
	CHECK(roundtrip(b, 0, pair, NULL) == 0, "a value type alone");
	CHECK(roundtrip(b, u64, 0, NULL) == 0, "a key type alone");
	bpfvm_error err = { 0 };
	CHECK(bpfvm_pin_btf_write(pin, b, 0, 0, &err) == -EINVAL, "no type ids: nothing to write");

	/* a linked list: a named struct behind a pointer is fine */
	int node = btf__add_struct(b, "node", 16);
	int ptr = btf__add_ptr(b, node);
	btf__add_field(b, "next", ptr, 0, 0);
	btf__add_field(b, "v", u64, 64, 0);
	CHECK(roundtrip(b, u64, node, NULL) == 0, "a struct pointing at itself");
	/* ... also through a typedef: typedef struct lst T; struct lst { T *next; __u64 v; } */
	int lst = btf__add_struct(b, "lst", 16);
	int td = btf__add_typedef(b, "T", lst);
	int tptr = btf__add_ptr(b, td);
	btf__add_field(b, "next", tptr, 0, 0);
	btf__add_field(b, "v", u64, 64, 0);
	CHECK(roundtrip(b, u64, lst, NULL) == 0, "a struct pointing at itself through a typedef");
	btf__free(b);
}

static void test_refused(void)
{
	int u64, pair;
	struct btf *b = base_btf(&u64, &pair);
	CHECK(roundtrip(b, pair, pair, NULL) == -EINVAL, "a key type of the wrong size");
	CHECK(roundtrip(b, u64, u64, NULL) == -EINVAL, "a value type of the wrong size");
	CHECK(roundtrip(b, u64, 1000, NULL) == -EINVAL, "a value type id out of range");
	btf__free(b);

	/* a struct containing itself */
	b = base_btf(&u64, &pair);
	int self = btf__add_struct(b, "self", 16);
	btf__add_field(b, "a", u64, 0, 0);
	btf__add_field(b, "me", self, 64, 0);
	CHECK(roundtrip(b, u64, self, NULL) == -ELOOP, "a struct containing itself");
	btf__free(b);

	/* pointers to unnamed types in a circle: ptr -> const -> ptr -> ... */
	b = base_btf(&u64, &pair);
	int n = (int)btf__type_cnt(b);   /* the next id */
	btf__add_ptr(b, n + 1);
	btf__add_const(b, n);
	int s = btf__add_struct(b, "s", 16);
	btf__add_field(b, "p", n, 0, 0);
	btf__add_field(b, "b", u64, 64, 0);
	CHECK(roundtrip(b, u64, s, NULL) == -ELOOP, "a circle of unnamed pointers");
	btf__free(b);

	/* a typedef chain 70 deep */
	b = base_btf(&u64, &pair);
	int id = pair;
	for (int i = 0; i < 70; i++) {
		char name[16];
		snprintf(name, sizeof name, "t%d", i);
		id = btf__add_typedef(b, name, id);
	}
	CHECK(roundtrip(b, u64, id, NULL) == -ELOOP, "types nested 70 deep");
	btf__free(b);

	/* a member of a type that does not exist (libbpf 1.1 takes the BTF) */
	b = base_btf(&u64, &pair);
	s = btf__add_struct(b, "s", 16);
	btf__add_field(b, "x", 5000, 0, 0);
	CHECK(roundtrip(b, u64, pair, NULL) == -EINVAL, "a member type id out of range anywhere");
	btf__free(b);
}

static void test_files(void)
{
	int u64, pair;
	struct btf *b = base_btf(&u64, &pair), *got = NULL;
	uint32_t k, v;
	bpfvm_error err = { 0 };
	unlink(side);
	CHECK(bpfvm_pin_btf_read(pin, map, &got, &k, &v, &err) == -ENOENT && !got && !err.msg[0],
	      "no sidecar: -ENOENT and no message");
	CHECK(bpfvm_pin_btf_write(pin, b, u64, pair, &err) == 0, "write");
	char *data = NULL;
	size_t len = 0;
	FILE *f = fopen(side, "rb");
	if (f) {
		fseek(f, 0, SEEK_END);
		len = (size_t)ftell(f);
		rewind(f);
		data = malloc(len);
		CHECK(data && fread(data, 1, len, f) == len, "read the sidecar");
		fclose(f);
	}
	CHECK(data && len > sizeof(bpfvm_pin_btf_header), "the sidecar has a header and BTF");
	/* every truncation is refused */
	bool all = true;
	for (size_t cut = 0; data && cut < len; cut++) {
		f = fopen(side, "wb");
		fwrite(data, 1, cut, f);
		fclose(f);
		memset(&err, 0, sizeof err);
		got = NULL;
		if (bpfvm_pin_btf_read(pin, map, &got, &k, &v, &err) != -EINVAL || got) {
			all = false;
			CHECK(0, "truncated to %zu bytes: accepted", cut);
			btf__free(got);
			break;
		}
	}
	CHECK(all, "every truncation refused");
	/* a sidecar written for another pin at this path */
	bpfvm_pin_btf_header h;
	if (data) {
		memcpy(&h, data, sizeof h);
		h.pin_ino ^= 1;
		memcpy(data, &h, sizeof h);
		f = fopen(side, "wb");
		fwrite(data, 1, len, f);
		fclose(f);
		CHECK(bpfvm_pin_btf_read(pin, map, &got, &k, &v, &err) == -ESTALE, "another pin's sidecar: -ESTALE");
	}
	/* no temporary file left behind by the writes */
	CHECK(bpfvm_pin_btf_write(pin, b, u64, pair, &err) == 0, "rewrite");
	char cmd[256];
	snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) = 2", dir);
	CHECK(system(cmd) == 0, "only the pin and its sidecar in %s", dir);
	free(data);
	btf__free(b);
}

int main(void)
{
	libbpf_set_print(NULL);
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof dir, "%s/bpfvm-test-XXXXXX", base);
	if (!mkdtemp(dir)) {
		printf("mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	setenv("BPFVM_PIN_DIR", dir, 1);
	snprintf(pin, sizeof pin, "%s/m", dir);
	snprintf(side, sizeof side, "%s%s", pin, BPFVM_PIN_BTF_SUFFIX);
	bpfvm_map_def def = BPFVM_MAP_DEF_INIT;
	def.type = BPFVM_MAP_TYPE_HASH;
	def.key_size = 8;
	def.value_size = 16;
	def.max_entries = 4;
	bpfvm_error err = { 0 };
	int rc = bpfvm_map_create(&def, &map, &err);
	if (!rc)
		rc = bpfvm_map_pin(map, pin, &err);
	if (rc == -EOPNOTSUPP) {
		printf("pinning unavailable here (%s): skipped\n", err.msg);
		rmdir(dir);
		return 77;
	}
	CHECK(rc == 0, "pin: %s", err.msg);
	if (!rc) {
		test_valid();
		test_refused();
		test_files();
	}
	unlink(side);
	unlink(pin);
	rmdir(dir);
	bpfvm_map_put(map);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
