/*
 * pin_btf.c - the sidecar of a pinned map, PATH.btf: its key and value
 * type ids and the object's raw BTF (format in <bpfvm/pin_btf.h>).
 *
 * Owns: writing it atomically next to the pin, and reading it back with
 * the checks that make it safe to hand to libbpf's btf_dump: libbpf 1.1's
 * btf__new() checks the header, the kinds and the sizes of the records,
 * but not that type ids and name offsets stay in range, nor that a type
 * does not contain itself -- and btf_dump__new() indexes arrays by every
 * referenced id, and printing a self-containing type never ends.
 */
#define _GNU_SOURCE   /* mkostemp */
#include <bpf/btf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpfvm/pin_btf.h"
#include "isa/isa.h"

/* No object's BTF comes near this; a larger file is not a sidecar. */
#define SIDECAR_MAX (64u << 20)
/* Deepest nesting of types accepted (libbpf's resolve limit is 32 for
 * modifier chains; structs in structs add to it). */
#define MAX_DEPTH 64

static int sidecar_path(const char *pin_path, char *out, size_t len, bpfvm_error *err)
{
	if ((size_t)snprintf(out, len, "%s%s", pin_path, BPFVM_PIN_BTF_SUFFIX) >= len)
		return error_set(err, -ENAMETOOLONG, -1, "%s: path too long for a BTF sidecar", pin_path);
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int bpfvm_pin_btf_write(const char *pin_path, const struct btf *btf, uint32_t key_type_id,
                        uint32_t value_type_id, bpfvm_error *err)
{
	if (!pin_path || !btf || (!key_type_id && !value_type_id))
		return error_set(err, -EINVAL, -1, "pin_btf_write: no path, no BTF or no type ids");
	char final[PATH_MAX], tmp[PATH_MAX + 8];
	int rc = sidecar_path(pin_path, final, sizeof final, err);
	if (rc)
		return rc;
	struct stat st;
	if (stat(pin_path, &st))
		return error_set(err, -errno, -1, "%s: %s", pin_path, strerror(errno));
	uint32_t btf_len = 0;
	const void *raw = btf__raw_data(btf, &btf_len);
	if (!raw)
		return error_set(err, -ENOMEM, -1, "%s: cannot serialise the BTF", final);
	bpfvm_pin_btf_header h = {
		.version = BPFVM_PIN_BTF_VERSION,
		.hdr_len = sizeof h,
		.key_type_id = key_type_id,
		.value_type_id = value_type_id,
		.btf_len = btf_len,
		.pin_ino = (uint32_t)st.st_ino,
	};
	memcpy(h.magic, BPFVM_PIN_BTF_MAGIC, sizeof h.magic);
	snprintf(tmp, sizeof tmp, "%s.XXXXXX", final);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return error_set(err, -errno, -1, "%s: %s", tmp, strerror(errno));
	rc = write_all(fd, &h, sizeof h);
	if (!rc)
		rc = write_all(fd, raw, btf_len);
	if (!rc && fchmod(fd, st.st_mode & 07777))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, final))
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return error_set(err, rc, -1, "%s: %s", final, strerror(-rc));
	}
	return 0;
}

/* Every type id and name offset in the BTF is in range. */
static int check_refs(const struct btf *btf, const char *path, bpfvm_error *err)
{
	uint32_t n = btf__type_cnt(btf);
#define BAD(what, id) error_set(err, -EINVAL, -1, "%s: BTF type [%u]: %s out of range", path, id, what)
#define NAME_OK(off) (btf__str_by_offset(btf, off) != NULL)
	for (uint32_t id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!t)
			return BAD("type", id);
		if (!NAME_OK(t->name_off))
			return BAD("name", id);
		uint16_t vlen = btf_vlen(t);
		switch (btf_kind(t)) {
		case BTF_KIND_PTR: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST:
		case BTF_KIND_RESTRICT: case BTF_KIND_FUNC: case BTF_KIND_VAR: case BTF_KIND_DECL_TAG:
		case BTF_KIND_TYPE_TAG:
			if (t->type >= n)
				return BAD("referenced type", id);
			break;
		case BTF_KIND_ARRAY:
			if (btf_array(t)->type >= n || btf_array(t)->index_type >= n)
				return BAD("array element or index type", id);
			break;
		case BTF_KIND_STRUCT: case BTF_KIND_UNION:
			for (uint16_t i = 0; i < vlen; i++)
				if (btf_members(t)[i].type >= n || !NAME_OK(btf_members(t)[i].name_off))
					return BAD("member type or name", id);
			break;
		case BTF_KIND_ENUM:
			for (uint16_t i = 0; i < vlen; i++)
				if (!NAME_OK(btf_enum(t)[i].name_off))
					return BAD("enumerator name", id);
			break;
		case BTF_KIND_ENUM64:
			for (uint16_t i = 0; i < vlen; i++)
				if (!NAME_OK(btf_enum64(t)[i].name_off))
					return BAD("enumerator name", id);
			break;
		case BTF_KIND_FUNC_PROTO:
			if (t->type >= n)
				return BAD("return type", id);
			for (uint16_t i = 0; i < vlen; i++)
				if (btf_params(t)[i].type >= n || !NAME_OK(btf_params(t)[i].name_off))
					return BAD("parameter type or name", id);
			break;
		case BTF_KIND_DATASEC:
			for (uint16_t i = 0; i < vlen; i++)
				if (btf_var_secinfos(t)[i].type >= n)
					return BAD("variable", id);
			break;
		default:
			break;
		}
	}
#undef BAD
#undef NAME_OK
	return 0;
}

/* What printing a value of a type walks: everything it is made of, and
 * what a pointer points to unless that has a name (a pointer to a named
 * type is printed as that name; only a chain of unnamed types can loop). */
struct walk {
	const struct btf *btf;
	uint8_t *state;   /* 0 unseen, 1 on the path, 2 done */
	uint8_t *height;  /* done: levels of types below and including it */
	const char *path;
	bpfvm_error *err;
};

static int walk_type(struct walk *w, uint32_t id, int depth);

static int walk_child(struct walk *w, uint32_t id, int depth, int *height)
{
	int h = walk_type(w, id, depth);
	if (h < 0)
		return h;
	if (h > *height)
		*height = h;
	return 0;
}

/* Returns the height of type `id` (0 for void), or a negative code. */
static int walk_type(struct walk *w, uint32_t id, int depth)
{
	if (id == 0)
		return 0;
	if (w->state[id] == 1)
		return error_set(w->err, -ELOOP, -1, "%s: BTF type [%u] contains itself", w->path, id);
	if (w->state[id] == 0) {
		if (depth >= MAX_DEPTH)
			return error_set(w->err, -ELOOP, -1, "%s: BTF types nest deeper than %d", w->path, MAX_DEPTH);
		const struct btf_type *t = btf__type_by_id(w->btf, id);
		w->state[id] = 1;
		int rc = 0, below = 0;
		uint16_t vlen = btf_vlen(t);
		switch (btf_kind(t)) {
		case BTF_KIND_PTR: {
			const struct btf_type *to = btf__type_by_id(w->btf, t->type);
			if (t->type && to->name_off && *btf__str_by_offset(w->btf, to->name_off))
				break;
			rc = walk_child(w, t->type, depth + 1, &below);
			break;
		}
		case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT:
		case BTF_KIND_FUNC: case BTF_KIND_VAR: case BTF_KIND_DECL_TAG: case BTF_KIND_TYPE_TAG:
			rc = walk_child(w, t->type, depth + 1, &below);
			break;
		case BTF_KIND_ARRAY:
			rc = walk_child(w, btf_array(t)->type, depth + 1, &below);
			if (!rc)
				rc = walk_child(w, btf_array(t)->index_type, depth + 1, &below);
			break;
		case BTF_KIND_STRUCT: case BTF_KIND_UNION:
			for (uint16_t i = 0; i < vlen && !rc; i++)
				rc = walk_child(w, btf_members(t)[i].type, depth + 1, &below);
			break;
		case BTF_KIND_FUNC_PROTO:
			rc = walk_child(w, t->type, depth + 1, &below);
			for (uint16_t i = 0; i < vlen && !rc; i++)
				rc = walk_child(w, btf_params(t)[i].type, depth + 1, &below);
			break;
		case BTF_KIND_DATASEC:
			for (uint16_t i = 0; i < vlen && !rc; i++)
				rc = walk_child(w, btf_var_secinfos(t)[i].type, depth + 1, &below);
			break;
		default:
			break;
		}
		if (rc)
			return rc;
		w->state[id] = 2;
		w->height[id] = (uint8_t)(below + 1);
	}
	/* reached again deeper than before: the whole chain must still fit */
	if (depth + w->height[id] > MAX_DEPTH)
		return error_set(w->err, -ELOOP, -1, "%s: BTF types nest deeper than %d", w->path, MAX_DEPTH);
	return w->height[id];
}

/* The type printed for `size` bytes of the map: it must exist, be walkable
 * and be exactly that big. */
static int check_root(struct walk *w, uint32_t id, uint32_t size, const char *what)
{
	if (!id)
		return 0;
	if (id >= btf__type_cnt(w->btf))
		return error_set(w->err, -EINVAL, -1, "%s: %s type id %u out of range (%u types)", w->path, what, id,
		                 btf__type_cnt(w->btf) - 1);
	int rc = walk_type(w, id, 0);
	if (rc < 0)
		return rc;
	long long got = btf__resolve_size(w->btf, id);
	if (got != (long long)size)
		return error_set(w->err, -EINVAL, -1, "%s: %s type [%u] is %lld bytes, the map's %s is %u", w->path,
		                 what, id, got, what, size);
	return 0;
}

int bpfvm_pin_btf_read(const char *pin_path, const bpfvm_map *map, struct btf **out, uint32_t *key_type_id,
                       uint32_t *value_type_id, bpfvm_error *err)
{
	if (!pin_path || !map || !out || !key_type_id || !value_type_id)
		return error_set(err, -EINVAL, -1, "pin_btf_read: null argument");
	*out = NULL;
	*key_type_id = *value_type_id = 0;
	char path[PATH_MAX];
	int rc = sidecar_path(pin_path, path, sizeof path, err);
	if (rc)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return error_set(err, -errno, -1, "%s: %s", path, strerror(errno));
	}
	struct stat st, pin;
	uint8_t *buf = NULL;
	struct btf *btf = NULL;
	uint8_t *state = NULL;
	bpfvm_pin_btf_header h;
	if (fstat(fd, &st)) {
		rc = error_set(err, -errno, -1, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (st.st_size < (off_t)sizeof h || st.st_size > SIDECAR_MAX) {
		rc = error_set(err, -EINVAL, -1, "%s: %lld bytes is not a BTF sidecar", path, (long long)st.st_size);
		goto out;
	}
	size_t len = (size_t)st.st_size, got = 0;
	buf = malloc(len);
	if (!buf) {
		rc = error_set(err, -ENOMEM, -1, "%s: out of memory", path);
		goto out;
	}
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = error_set(err, n ? -errno : -EINVAL, -1, "%s: %s", path, n ? strerror(errno) : "shorter than it was");
			goto out;
		}
		got += (size_t)n;
	}
	memcpy(&h, buf, sizeof h);
	if (memcmp(h.magic, BPFVM_PIN_BTF_MAGIC, sizeof h.magic) || h.version != BPFVM_PIN_BTF_VERSION ||
	    h.hdr_len < sizeof h || h.hdr_len > len || h.hdr_len % 4) {
		rc = error_set(err, -EINVAL, -1, "%s: not a version %u BTF sidecar (bad magic, version or header)", path,
		               BPFVM_PIN_BTF_VERSION);
		goto out;
	}
	if (h.btf_len != len - h.hdr_len) {
		rc = error_set(err, -EINVAL, -1, "%s: %zu bytes of BTF, the header says %u (truncated?)", path,
		               len - h.hdr_len, h.btf_len);
		goto out;
	}
	if (stat(pin_path, &pin) || (uint32_t)pin.st_ino != h.pin_ino) {
		rc = error_set(err, -ESTALE, -1, "%s: written for another map pinned at %s before", path, pin_path);
		goto out;
	}
	btf = btf__new(buf + h.hdr_len, h.btf_len);
	if (!btf) {
		rc = error_set(err, -EINVAL, -1, "%s: libbpf refuses its BTF (%s)", path, strerror(errno));
		goto out;
	}
	rc = check_refs(btf, path, err);
	if (rc)
		goto out;
	state = calloc(btf__type_cnt(btf), 2);
	if (!state) {
		rc = error_set(err, -ENOMEM, -1, "%s: out of memory", path);
		goto out;
	}
	bpfvm_map_info info;
	bpfvm_map_info_get(map, &info);
	struct walk w = { btf, state, state + btf__type_cnt(btf), path, err };
	rc = check_root(&w, h.key_type_id, info.key_size, "key");
	if (!rc)
		rc = check_root(&w, h.value_type_id, info.value_size, "value");
	if (!rc) {
		*out = btf;
		btf = NULL;
		*key_type_id = h.key_type_id;
		*value_type_id = h.value_type_id;
	}
out:
	close(fd);
	free(buf);
	free(state);
	btf__free(btf);
	return rc;
}
