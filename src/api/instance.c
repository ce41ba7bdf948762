/*
 * instance.c - turning a parsed object into maps and loaded programs.
 *
 * Owns: map creation from the object's definitions (global data maps
 * filled with their initial bytes, pinned maps reopened or pinned, inner
 * map templates, pinned maps' BTF sidecars; or, with no_pins, every map
 * unpinned in anonymous memory), the binding of map references in programs (an lddw of
 * a map becomes the map's address; one of a map value, the value's
 * address plus the offset), kfunc calls bound by name (src/helpers/kfuncs.c),
 * loading each program with its type, helpers and maps, and the initial
 * slots of prog_arrays and map-in-maps.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpfvm/instance.h"
#include "bpfvm/pin_btf.h"
#include "base/opts.h"
#include "helpers/kfunc_desc.h"
#include "isa/isa.h"
#include "maps/map_internal.h"
#include "run/run.h"

struct bpfvm_instance {
	const bpfvm_object *obj;
	bpfvm_helpers *own_helpers;
	bpfvm_map **maps;
	size_t map_count;
	bpfvm_program **progs;
	size_t prog_count;
	bpfvm_region *regions;
	size_t region_count;
};

/* name16 receives the name as the kernel keeps it: like libbpf, longer
 * names are cut to BPF_OBJ_NAME_LEN - 1 characters. */
static bpfvm_map_def def_of(const bpfvm_map_attrs *a, const char *name, char name16[16])
{
	bpfvm_map_def d = bpfvm_object_map_def(a);
	snprintf(name16, 16, "%s", name ? name : "");
	d.name = name16;
	return d;
}

/* A pinned map's key and value types go next to its pin (PATH.btf) for
 * `bpfvm map` in other processes; a map without types has no sidecar (a
 * stale one is removed when the map is pinned anew).  Best effort: the
 * map works without it, its entries are then printed as bytes. */
static void pin_types(const bpfvm_object_map *om, const struct btf *btf, const char *path, bool fresh)
{
	if (btf && (om->attrs.btf_key_type_id || om->attrs.btf_value_type_id))
		bpfvm_pin_btf_write(path, btf, om->attrs.btf_key_type_id, om->attrs.btf_value_type_id, NULL);
	else if (fresh) {
		char side[4096 + sizeof BPFVM_PIN_BTF_SUFFIX];
		snprintf(side, sizeof side, "%s%s", path, BPFVM_PIN_BTF_SUFFIX);
		unlink(side);
	}
}

/* Opens the map pinned at path (checked as every pin is: its directory and
 * owner) for om, whose definition must be d's. */
static int reuse_pinned(const bpfvm_object_map *om, const struct btf *btf, const bpfvm_map_def *d, const char *path,
                        bpfvm_map **out, bpfvm_error *err)
{
	int rc = bpfvm_map_open_pinned(path, out, err);
	if (rc)
		return rc;
	bpfvm_map_info info;
	bpfvm_map_info_get(*out, &info);
	/* a devmap's flags always say BPF_F_RDONLY_PROG, which no definition
	 * asks for: libbpf's map_is_reuse_compat ignores it on both sides */
	uint32_t ignored = d->type == BPFVM_MAP_TYPE_DEVMAP || d->type == BPFVM_MAP_TYPE_DEVMAP_HASH
	                           ? BPFVM_F_RDONLY_PROG : 0;
	if (info.type != d->type || info.key_size != d->key_size || info.value_size != d->value_size ||
	    info.max_entries != d->max_entries || (info.flags | ignored) != (d->flags | ignored)) {
		bpfvm_map_put(*out);
		*out = NULL;
		return error_set(err, -EINVAL, -1, "map %s: the map pinned at %s has a different definition", om->name, path);
	}
	pin_types(om, btf, path, false);
	return 0;
}

/* Creates om's map and, for a pinned one, pins it at path; when another
 * process pinned it first (the pin appeared since we looked), uses theirs. */
static int create_and_pin(const bpfvm_object_map *om, const struct btf *btf, bpfvm_map_def *d, const char *pin_dir,
                          const char *path, bpfvm_map **out, bpfvm_error *err)
{
	int (*create)(const bpfvm_map_def *, bpfvm_map **, bpfvm_error *) =
		pin_dir ? bpfvm_map_create : map_create_anonymous;
	int rc = create(d, out, err);
	if (rc)
		return rc;
	if (om->initial_data) {
		uint32_t zero = 0;
		rc = bpfvm_map_update(*out, &zero, om->initial_data, BPFVM_ANY, err);
	}
	if (!rc && path) {
		mkdir(pin_dir, 0700);   /* checked, whoever made it, by the pin */
		rc = bpfvm_map_pin(*out, path, err);
		if (!rc)
			pin_types(om, btf, path, true);
	}
	if (rc) {
		bpfvm_map_put(*out);
		*out = NULL;
	}
	if (rc == -EEXIST && path)
		rc = reuse_pinned(om, btf, d, path, out, err);
	return rc;
}

/* Map types whose size is not a number of entries: the kernel wants 0
 * (local storages), or libbpf fills it in (one perf event slot a CPU). */
static bool max_entries_zero_ok(uint32_t type)
{
	return type == BPF_MAP_TYPE_PERF_EVENT_ARRAY || type == BPF_MAP_TYPE_CGROUP_STORAGE ||
	       type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE || type == BPF_MAP_TYPE_SK_STORAGE ||
	       type == BPF_MAP_TYPE_INODE_STORAGE || type == BPF_MAP_TYPE_TASK_STORAGE ||
	       type == BPF_MAP_TYPE_STRUCT_OPS;
}

/* A map declared with max_entries 0 is sized by the program's loader
 * (bpf_map__set_max_entries); one left unsized is named with the way to
 * size it. */
static int check_sized(const bpfvm_object_map *om, bpfvm_error *err)
{
	if (!max_entries_zero_ok(om->attrs.type) && om->attrs.max_entries == 0)
		return error_set(err, -EINVAL, -1, "map '%s' has max_entries 0: set it with --map %s.max_entries=N "
		                 "(bpfvm_object_map_set_max_entries)", om->name, om->name);
	if (om->has_inner && !max_entries_zero_ok(om->inner.type) && om->inner.max_entries == 0)
		return error_set(err, -EINVAL, -1, "map '%s' has max_entries 0: set it with --map %s.max_entries=N "
		                 "(bpfvm_object_map_set_max_entries)", om->inner_name, om->inner_name);
	return 0;
}

/* pin_dir NULL: no pins, anonymous memory (bpfvm_instance_opts.no_pins). */
static int create_map(const bpfvm_object_map *om, const struct btf *btf, const char *pin_dir, bpfvm_map **out,
                      bpfvm_error *err)
{
	int (*create)(const bpfvm_map_def *, bpfvm_map **, bpfvm_error *) =
		pin_dir ? bpfvm_map_create : map_create_anonymous;
	bool pinned = pin_dir && om->pinning == BPFVM_PIN_BY_NAME;
	bpfvm_map *inner = NULL;
	int sized = check_sized(om, err);
	if (sized)
		return sized;
	char name16[16];
	bpfvm_map_def d = def_of(&om->attrs, om->name, name16);
	/* as libbpf: a perf event array without a size gets one slot a CPU */
	if (d.type == BPF_MAP_TYPE_PERF_EVENT_ARRAY && d.max_entries == 0)
		d.max_entries = bpfvm_map_possible_cpus();
	char path[4096];
	if (pinned) {
		snprintf(path, sizeof path, "%s/%s", pin_dir, om->name);
		int rc = reuse_pinned(om, btf, &d, path, out, err);
		if (rc != -ENOENT)
			return rc;
	}
	if (om->has_inner) {
		char inner16[16];
		bpfvm_map_def id = def_of(&om->inner, om->inner_name, inner16);
		int rc = create(&id, &inner, err);
		if (rc)
			return rc;
		d.inner = inner;
	}
	int rc = create_and_pin(om, btf, &d, pin_dir, pinned ? path : NULL, out, err);
	bpfvm_map_put(inner);
	return rc;
}

/* A map made elsewhere in map om's place (bpfvm_instance_opts.maps): of
 * the definition's type; its sizes rule (the maker may have resized it,
 * as `--map NAME.max_entries=N` does). */
static int adopt_map(const bpfvm_object_map *om, bpfvm_map *given, bpfvm_map **out, bpfvm_error *err)
{
	bpfvm_map_info info;
	bpfvm_map_info_get(given, &info);
	if (info.type != om->attrs.type)
		return error_set(err, -EINVAL, -1, "map '%s': the map given for it is a %s, its definition a %s", om->name,
		                 bpfvm_map_type_name(info.type), bpfvm_map_type_name(om->attrs.type));
	*out = bpfvm_map_get(given);
	return 0;
}

/* Rewrites the object's symbolic map references into addresses. */
static int bind_insns(bpfvm_instance *inst, const bpfvm_object_prog *op, bpfvm_insn *insns, bpfvm_error *err)
{
	for (size_t pc = 0; pc < op->insn_count; pc++) {
		bpfvm_insn *in = &insns[pc];
		if (!isa_is_lddw(in))
			continue;
		if (pc + 1 >= op->insn_count)
			return error_set(err, -EINVAL, (int)pc, "program %s: truncated lddw", op->name);
		uint64_t value;
		switch (in->src) {
		case 0:
			pc++;
			continue;
		case BPFVM_PSEUDO_MAP_FD:
		case BPFVM_PSEUDO_MAP_VALUE: {
			uint32_t idx = (uint32_t)in->imm;
			if (idx >= inst->map_count)
				return error_set(err, -EINVAL, (int)pc, "program %s: reference to map %u of %zu", op->name,
				                 idx, inst->map_count);
			bpfvm_map *m = inst->maps[idx];
			if (in->src == BPFVM_PSEUDO_MAP_FD) {
				value = (uint64_t)(uintptr_t)m;
				break;
			}
			uint32_t zero = 0, off = (uint32_t)in[1].imm;
			bpfvm_map_info info;
			bpfvm_map_info_get(m, &info);
			uint8_t *base = bpfvm_map_lookup_elem(m, &zero);
			if (!base || info.type != BPF_MAP_TYPE_ARRAY || off >= info.value_size)
				return error_set(err, -EINVAL, (int)pc,
				                 "program %s: a value reference into map %s needs an array map and an "
				                 "offset inside its value (offset %u)", op->name, info.name, off);
			value = (uint64_t)(uintptr_t)(base + off);
			break;
		}
		case BPFVM_PSEUDO_FUNC:
			/* a callback reference: bpfvm_program_load checks and binds it */
			pc++;
			continue;
		default:
			return error_set(err, -EINVAL, (int)pc, "program %s: lddw with unknown src %u", op->name, in->src);
		}
		in->src = 0;
		in->imm = (int32_t)(uint32_t)value;
		in[1].imm = (int32_t)(uint32_t)(value >> 32);
		pc++;
	}
	return 0;
}

/* The verifier's source lines: the object's BTF line info. */
struct line_source {
	const bpfvm_object *obj;
	size_t prog;
};

static int line_of(void *user, size_t insn, const char **file, uint32_t *line, const char **text)
{
	const struct line_source *src = user;
	uint32_t col;
	return bpfvm_object_line_info(src->obj, src->prog, insn, file, line, &col, text);
}

/* The verifier's names of kfuncs left unresolved: the extern the
 * object's call names. */
static const char *kfunc_name_of(void *user, size_t insn)
{
	const struct line_source *src = user;
	const bpfvm_object_prog *op = bpfvm_object_prog_at(src->obj, src->prog);
	if (!op || insn >= op->insn_count || !isa_is_kfunc_call(&op->insns[insn]))
		return NULL;
	bool weak;
	return bpfvm_object_kfunc_name(src->obj, (uint32_t)op->insns[insn].imm, &weak);
}

/* Kfunc calls (BPFVM_PSEUDO_KFUNC_CALL) name an extern function of the
 * object: each becomes a call of the kfunc bpfvm provides by that name
 * (imm = its ID, src/helpers/kfuncs.c).  One bpfvm does not provide is
 * refused by name; a weak one gets ID 0, as libbpf leaves one the kernel
 * lacks, and the verifier then refuses only a call it can reach, as
 * unsupported, by the name kfunc_name_of() gives it. */
static int bind_kfuncs(const bpfvm_object *obj, const bpfvm_object_prog *op, bpfvm_insn *insns, bpfvm_error *err)
{
	for (size_t pc = 0; pc < op->insn_count; pc++) {
		bpfvm_insn *in = &insns[pc];
		if (isa_is_lddw(in))
			pc++;
		if (!isa_is_kfunc_call(in))
			continue;
		bool weak = false;
		const char *name = bpfvm_object_kfunc_name(obj, (uint32_t)in->imm, &weak);
		const struct kfunc_desc *k = kfunc_desc_by_name(name);
		if (k)
			in->imm = (int32_t)k->call.proto.id;
		else if (weak)
			in->imm = 0;
		else
			return error_set(err, -ENOTSUP, (int)pc, "program %s calls kfunc '%s', which bpfvm does not provide",
			                 op->name, name ? name : "?");
	}
	return 0;
}

int bpfvm_object_bind_kfuncs(const bpfvm_object *obj, size_t prog, bpfvm_insn *insns, bpfvm_error *err)
{
	const bpfvm_object_prog *op = obj && insns ? bpfvm_object_prog_at(obj, prog) : NULL;
	if (!op)
		return error_set(err, -EINVAL, -1, "bpfvm_object_bind_kfuncs: no program %zu", prog);
	return bind_kfuncs(obj, op, insns, err);
}

static int load_prog(bpfvm_instance *inst, size_t i, const bpfvm_instance_opts *opts, const bpfvm_helpers *helpers,
                     bpfvm_error *err)
{
	const bpfvm_object_prog *op = bpfvm_object_prog_at(inst->obj, i);
	if ((op->type == BPF_PROG_TYPE_TRACING || op->type == BPF_PROG_TYPE_LSM) && !op->attach_btf)
		return error_set(err, -ESRCH, -1, "program %s: cannot find the attach target of section '%s': %s",
		                 op->name, op->section, op->attach_error ? op->attach_error : "out of memory");
	if (op->type == BPF_PROG_TYPE_UNSPEC)
		return error_set(err, -ENOTSUP, -1, "program %s: unsupported: section '%s' names no program type bpfvm knows",
		                 op->name,
		                 op->section);
	bpfvm_insn *insns = malloc(op->insn_count * sizeof *insns);
	if (!insns)
		return error_set(err, -ENOMEM, -1, "program %s: out of memory", op->name);
	memcpy(insns, op->insns, op->insn_count * sizeof *insns);
	int rc = bind_kfuncs(inst->obj, op, insns, err);
	uint8_t *walked = NULL;
	if (!rc && opts->verify && !(walked = malloc(op->insn_count)))
		rc = error_set(err, -ENOMEM, -1, "program %s: out of memory", op->name);
	if (!rc && opts->verify) {
		struct line_source src = { inst->obj, i };
		BPFVM_OPTS(bpfvm_verify_opts, vo,
			.prog_type = op->type,
			.helpers = helpers,
			.maps = inst->maps,
			.map_count = inst->map_count,
			.line_info = line_of,
			.line_user = &src,
			.log_level = opts->verify_log_level,
			.strict_alignment = opts->verify_strict_alignment,
			.log = opts->verify_log,
			.log_user = opts->verify_log_user,
			.license = bpfvm_object_license(inst->obj),
			.attach_btf = op->attach_btf,
			.attach_func_proto = op->attach_func_proto,
			.expected_attach_type = op->expected_attach_type,
			.attach_btf_trace = op->type == BPF_PROG_TYPE_TRACING &&
			                    op->expected_attach_type == BPF_TRACE_RAW_TP,
			.attach_name = op->attach_name,
			.prog_btf = bpfvm_object_btf(inst->obj),
			.func_info = op->func_info,
			.func_info_count = op->func_info_count,
			.sleepable = op->sleepable,
			.walked = walked,
			.kfunc_name = kfunc_name_of,
			.kfunc_user = &src,
			.kernel_btf = bpfvm_object_kernel_btf(inst->obj),
		);
		rc = bpfvm_verify(insns, op->insn_count, &vo, opts->verify_stats, err);
		if (rc) {
			char msg[sizeof err->msg];
			snprintf(msg, sizeof msg, "program %.40s rejected by the verifier: %.180s", op->name, err->msg);
			memcpy(err->msg, msg, sizeof msg);
		}
	}
	if (!rc)
		rc = bind_insns(inst, op, insns, err);
	if (!rc) {
		BPFVM_OPTS(bpfvm_load_opts, lo,
			.helpers = helpers,
			.jit = opts->jit,
			.jit_harden = opts->jit_harden,
			.name = op->name,
			.prog_type = op->type,
			.maps = inst->maps,
			.map_count = inst->map_count,
			.sleepable = op->sleepable,
			.walked = walked,
		);
		rc = bpfvm_program_load(insns, op->insn_count, &lo, &inst->progs[i], err);
		if (rc) {
			/* name the program and the source line */
			char msg[sizeof err->msg];
			const char *file = NULL, *text = NULL;
			uint32_t line = 0, col = 0;
			if (err->insn >= 0 &&
			    bpfvm_object_line_info(inst->obj, i, (size_t)err->insn, &file, &line, &col, &text) == 0 && file)
				snprintf(msg, sizeof msg, "program %.40s: %.60s:%u: %.140s", op->name, file, line, err->msg);
			else
				snprintf(msg, sizeof msg, "program %.40s: %.200s", op->name, err->msg);
			memcpy(err->msg, msg, sizeof msg);
		} else if (opts->verify) {
			inst->progs[i]->verified = (struct program_verified){ .done = true, .prog_type = op->type,
				.attach_btf = op->attach_btf, .attach_func_proto = op->attach_func_proto };
		}
	}
	free(walked);
	free(insns);
	return rc;
}

int bpfvm_instance_new(const bpfvm_object *obj, const bpfvm_instance_opts *opts, bpfvm_instance **out,
                       bpfvm_error *err)
{
	bpfvm_instance_opts known;
	int rc = opts_known(bpfvm_instance_opts, opts, &known, err);
	if (rc)
		return rc;
	opts = &known;
	if (!obj || !out || (opts->map_count && !opts->maps))
		return error_set(err, -EINVAL, -1, "bpfvm_instance_new: null argument");
	if (opts->map_count > bpfvm_object_map_count(obj))
		return error_set(err, -EINVAL, -1, "bpfvm_instance_new: %zu maps given, the object has %zu",
		                 opts->map_count, bpfvm_object_map_count(obj));
	*out = NULL;
	bpfvm_instance *inst = calloc(1, sizeof *inst);
	if (!inst)
		return error_set(err, -ENOMEM, -1, "out of memory");
	inst->obj = obj;
	inst->map_count = bpfvm_object_map_count(obj);
	inst->prog_count = bpfvm_object_prog_count(obj);
	inst->maps = calloc(inst->map_count + 1, sizeof *inst->maps);
	inst->progs = calloc(inst->prog_count + 1, sizeof *inst->progs);
	inst->regions = calloc(inst->map_count + 1, sizeof *inst->regions);
	rc = 0;
	if (!inst->maps || !inst->progs || !inst->regions) {
		rc = error_set(err, -ENOMEM, -1, "out of memory");
		goto fail;
	}
	const bpfvm_helpers *helpers = opts->helpers;
	if (!helpers) {
		inst->own_helpers = bpfvm_helpers_new_kernel(err);
		if (!inst->own_helpers) {
			rc = -ENOMEM;
			goto fail;
		}
		helpers = inst->own_helpers;
	}
	const char *pin_dir = opts->no_pins ? NULL : opts->pin_dir ? opts->pin_dir : bpfvm_map_pin_dir();
	for (size_t i = 0; i < inst->map_count; i++) {
		const bpfvm_object_map *om = bpfvm_object_map_at(obj, i);
		if (i < opts->map_count && opts->maps[i])
			rc = adopt_map(om, opts->maps[i], &inst->maps[i], err);
		else
			rc = create_map(om, bpfvm_object_btf(obj), pin_dir, &inst->maps[i], err);
		if (rc)
			goto fail;
		void *base;
		size_t len;
		bpfvm_map_arena(inst->maps[i], &base, &len);
		if (len)
			inst->regions[inst->region_count++] = (bpfvm_region){ base, len, true };
	}
	bool found = opts->only_prog == NULL;
	for (size_t i = 0; i < inst->prog_count; i++) {
		const bpfvm_object_prog *op = bpfvm_object_prog_at(obj, i);
		bool wanted = opts->only_prog ? !strcmp(op->name, opts->only_prog) : op->autoload;
		if (!wanted)
			continue;
		found = true;
		rc = load_prog(inst, i, opts, helpers, err);
		if (rc)
			goto fail;
	}
	if (!found) {
		rc = error_set(err, -ENOENT, -1, "no program named '%s' in %s", opts->only_prog,
		               bpfvm_object_name(obj));
		goto fail;
	}
	/* initial slots: programs into prog_arrays, maps into map-in-maps */
	for (size_t i = 0; i < inst->map_count; i++) {
		const bpfvm_object_map *om = bpfvm_object_map_at(obj, i);
		for (size_t k = 0; k < om->slot_count; k++) {
			const bpfvm_map_slot *s = &om->slots[k];
			if (om->attrs.type == BPF_MAP_TYPE_PROG_ARRAY) {
				if (s->target >= inst->prog_count || !inst->progs[s->target])
					continue;   /* libbpf skips programs it did not load */
				rc = bpfvm_map_set_prog(inst->maps[i], s->key, inst->progs[s->target], s->target + 1,
				                        BPFVM_ANY, err);
			} else {
				if (s->target >= inst->map_count) {
					rc = error_set(err, -EINVAL, -1, "map %s: slot %u names map %u of %zu", om->name,
					               s->key, s->target, inst->map_count);
					goto fail;
				}
				rc = bpfvm_map_set_inner(inst->maps[i], &s->key, inst->maps[s->target], BPFVM_ANY, err);
			}
			if (rc)
				goto fail;
		}
	}
	*out = inst;
	return 0;
fail:
	bpfvm_instance_free(inst);
	return rc;
}

void bpfvm_instance_free(bpfvm_instance *inst)
{
	if (!inst)
		return;
	/* programs first: prog_arrays only point at them */
	for (size_t i = 0; i < inst->map_count; i++) {
		bpfvm_map_info info;
		if (!inst->maps || !inst->maps[i])
			continue;
		bpfvm_map_info_get(inst->maps[i], &info);
		if (info.type == BPF_MAP_TYPE_PROG_ARRAY)
			for (uint32_t k = 0; k < info.max_entries; k++)
				bpfvm_map_set_prog(inst->maps[i], k, NULL, 0, BPFVM_ANY, NULL);
	}
	for (size_t i = 0; inst->progs && i < inst->prog_count; i++)
		bpfvm_program_free(inst->progs[i]);
	for (size_t i = 0; inst->maps && i < inst->map_count; i++)
		bpfvm_map_put(inst->maps[i]);
	bpfvm_helpers_free(inst->own_helpers);
	free(inst->maps);
	free(inst->progs);
	free(inst->regions);
	free(inst);
}

const bpfvm_object *bpfvm_instance_object(const bpfvm_instance *inst)
{
	return inst->obj;
}

bpfvm_program *bpfvm_instance_prog(const bpfvm_instance *inst, size_t i)
{
	return i < inst->prog_count ? inst->progs[i] : NULL;
}

bpfvm_map *bpfvm_instance_map(const bpfvm_instance *inst, size_t i)
{
	return i < inst->map_count ? inst->maps[i] : NULL;
}

const bpfvm_region *bpfvm_instance_regions(const bpfvm_instance *inst, size_t *count)
{
	*count = inst->region_count;
	return inst->regions;
}
