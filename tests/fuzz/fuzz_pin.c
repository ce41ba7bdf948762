/*
 * fuzz_pin.c - libFuzzer target: pinned maps whose files were damaged.
 *
 * Owns: the fuzz_pin input format and its oracles.
 *
 * Input format:
 *   byte 0     the map type, an index into KINDS (modulo its length)
 *   byte 1     how many elements to put in before damaging it (mod 24)
 *   the rest   patches of 5 bytes each: a little-endian u32 offset (taken
 *              modulo the file's size) and a byte stored there; offsets
 *              below 4096 (header, users, the type's state) are favoured
 *              by using the low 12 bits when the offset's top bit is clear.
 * A map of the type is created and pinned in a private directory, filled,
 * closed, the patches are written into its file, and then it is opened
 * and used as `bpfvm map dump|lookup|update|delete`, `bpfvm map show`
 * and programs would: get_next_key walks, lookups, updates, deletes,
 * program-side calls, for_each, push/pop/peek, ring buffer consumption,
 * holders and reclaim.
 *
 * Oracles, beyond "no crash, hang or sanitizer report": a refused open
 * gives an error with a message; a walk of get_next_key over the opened
 * map either ends or is stopped by the bound `bpfvm map dump` uses.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpfvm/maps.h"

struct kind {
	uint32_t type, key_size, value_size, max_entries, flags;
	int32_t spin_lock_off;
};

static const struct kind KINDS[] = {
	{ BPFVM_MAP_TYPE_HASH, 4, 8, 16, 0, -1 },
	{ BPFVM_MAP_TYPE_HASH, 12, 16, 16, 0, 8 },
	{ BPFVM_MAP_TYPE_LRU_HASH, 8, 8, 16, 0, -1 },
	{ BPFVM_MAP_TYPE_PERCPU_HASH, 4, 8, 16, 0, -1 },
	{ BPFVM_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 16, 0, -1 },
	{ BPFVM_MAP_TYPE_ARRAY, 4, 8, 16, 0, 0 },
	{ BPFVM_MAP_TYPE_PERCPU_ARRAY, 4, 8, 16, 0, -1 },
	{ BPFVM_MAP_TYPE_QUEUE, 0, 8, 16, 0, -1 },
	{ BPFVM_MAP_TYPE_STACK, 0, 8, 16, 0, -1 },
	{ BPFVM_MAP_TYPE_LPM_TRIE, 8, 8, 16, BPFVM_F_NO_PREALLOC, -1 },
	{ BPFVM_MAP_TYPE_BLOOM_FILTER, 0, 8, 16, 0, -1 },
	{ BPFVM_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, -1 },
};
#define NKINDS (sizeof KINDS / sizeof KINDS[0])

static char pin_dir[64];
static char pin_path[96];

static void setup(void)
{
	if (pin_dir[0])
		return;
	snprintf(pin_dir, sizeof pin_dir, "/tmp/bpfvm-fuzz-pin-XXXXXX");
	if (!mkdtemp(pin_dir))
		abort();
	setenv("BPFVM_PIN_DIR", pin_dir, 1);
	snprintf(pin_path, sizeof pin_path, "%s/m", pin_dir);
}

static void fill_key(const struct kind *k, uint32_t i, uint8_t *key)
{
	memset(key, 0, 16);
	if (k->type == BPFVM_MAP_TYPE_LPM_TRIE) {
		uint32_t prefixlen = 8 + (i % 25);
		memcpy(key, &prefixlen, 4);
		uint32_t addr = 0x0a000000u | (i << 12);
		memcpy(key + 4, &addr, 4);
	} else {
		memcpy(key, &i, 4);
	}
}

static void fill(bpfvm_map *m, const struct kind *k, unsigned n)
{
	uint8_t key[16], value[16 * 256];
	memset(value, 0x5a, sizeof value);
	for (uint32_t i = 0; i < n; i++) {
		fill_key(k, i, key);
		switch (k->type) {
		case BPFVM_MAP_TYPE_QUEUE:
		case BPFVM_MAP_TYPE_STACK:
		case BPFVM_MAP_TYPE_BLOOM_FILTER:
			bpfvm_map_push(m, value, 0, NULL);
			break;
		case BPFVM_MAP_TYPE_RINGBUF:
			bpfvm_map_ringbuf_output(m, value, 8 + i, 0);
			break;
		default:
			bpfvm_map_update(m, key, value, 0, NULL);
			break;
		}
	}
}

/* Writes the patches into the pinned file. */
static void damage(const uint8_t *data, size_t size)
{
	int fd = open(pin_path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	off_t len = lseek(fd, 0, SEEK_END);
	for (size_t i = 0; len > 0 && i + 5 <= size && i < 5 * 64; i += 5) {
		uint32_t off;
		memcpy(&off, data + i, 4);
		off = (off & 0x80000000u) ? (uint32_t)(off % (uint64_t)len) : (off & 0xfffu) % (uint32_t)len;
		if (pwrite(fd, data + i + 4, 1, off) != 1)
			break;
	}
	close(fd);
}

static long count_elem(bpfvm_map *map, const void *key, void *value, void *ctx)
{
	(void)map; (void)key; (void)value;
	return ++*(long *)ctx > 64;
}

static int count_sample(void *ctx, void *data, size_t size)
{
	(void)data; (void)size;
	return ++*(long *)ctx > 64;
}

static void count_holder(const bpfvm_map_holder *h, void *ctx)
{
	(void)h;
	++*(long *)ctx;
}

static void use(bpfvm_map *m, const struct kind *k)
{
	bpfvm_map_info info;
	bpfvm_map_info_get(m, &info);
	/* sized by the opened definition: a damaged pin may name any key size
	 * that still fits its file */
	size_t key_len = info.key_size > 64 ? info.key_size : 64;
	uint8_t *key = calloc(1, key_len), *next = calloc(1, key_len);
	uint8_t *value = calloc(1, (size_t)info.user_value_size + 16);
	if (!key || !next || !value) {
		free(key);
		free(next);
		free(value);
		return;
	}
	long n = 0;
	bpfvm_map_holders(m, count_holder, &n, NULL);
	/* the walk `bpfvm map dump` makes, with its bound */
	const void *prev = NULL;
	uint64_t bound = 4ull * info.max_entries + 64;
	for (uint64_t steps = 0; steps < bound && bpfvm_map_get_next_key(m, prev, next, NULL) == 0; steps++) {
		memcpy(key, next, key_len);
		prev = key;
		bpfvm_map_lookup(m, key, value, 0, NULL);
	}
	for (uint32_t i = 0; i < 8; i++) {
		fill_key(k, i * 3, key);
		bpfvm_map_lookup(m, key, value, 0, NULL);
		bpfvm_map_lookup_elem(m, key);
		bpfvm_map_update(m, key, value, 0, NULL);
		bpfvm_map_update_elem(m, key, value, 0);
		fill_key(k, i * 5, key);
		bpfvm_map_delete(m, key, NULL);
		bpfvm_map_delete_elem(m, key);
	}
	n = 0;
	bpfvm_map_for_each_elem(m, count_elem, &n, 0);
	bpfvm_map_push(m, value, 0, NULL);
	bpfvm_map_peek(m, value, NULL);
	bpfvm_map_pop(m, value, NULL);
	if (k->type == BPFVM_MAP_TYPE_RINGBUF) {
		n = 0;
		bpfvm_map_ringbuf_consume(m, count_sample, &n, NULL);
		void *rec = bpfvm_map_ringbuf_reserve(m, 16, 0);
		if (rec)
			bpfvm_map_ringbuf_submit(rec, 0);
		bpfvm_map_ringbuf_output(m, value, 8, 0);
		bpfvm_map_ringbuf_consume(m, count_sample, &n, NULL);
	}
	bpfvm_map_reclaim(m, NULL);
	free(key);
	free(next);
	free(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	setup();
	const struct kind *k = &KINDS[data[0] % NKINDS];
	bpfvm_map_def def = BPFVM_MAP_DEF_INIT;
	def.type = k->type;
	def.key_size = k->key_size;
	def.value_size = k->value_size;
	def.max_entries = k->max_entries;
	def.flags = k->flags;
	def.spin_lock_off = k->spin_lock_off;
	def.name = "fuzz";
	bpfvm_map *m;
	bpfvm_error err;
	unlink(pin_path);
	if (bpfvm_map_create(&def, &m, &err) != 0) {
		fprintf(stderr, "fuzz_pin: cannot create kind %u: %s\n", data[0] % (unsigned)NKINDS, err.msg);
		abort();
	}
	fill(m, k, data[1] % 24);
	int rc = bpfvm_map_pin(m, pin_path, &err);
	bpfvm_map_put(m);
	if (rc != 0) {
		fprintf(stderr, "fuzz_pin: cannot pin: %s\n", err.msg);
		abort();
	}
	damage(data + 2, size - 2);
	rc = bpfvm_map_open_pinned(pin_path, &m, &err);
	if (rc != 0) {
		if (rc > 0 || err.msg[0] == '\0') {
			fprintf(stderr, "fuzz_pin: open refused without a message (rc %d)\n", rc);
			abort();
		}
	} else {
		use(m, k);
		bpfvm_map_put(m);
	}
	unlink(pin_path);
	return 0;
}
