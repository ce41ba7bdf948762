/*
 * instance.h - an object file brought to life: its maps created (or
 * reopened where pinned), its programs bound to them and loaded, ready to
 * run.  The step libbpf calls bpf_object__load.
 */
#ifndef BPFVM_INSTANCE_H
#define BPFVM_INSTANCE_H

#include "bpfvm/api.h"
#include "bpfvm/bpfvm.h"
#include "bpfvm/maps.h"
#include "bpfvm/object.h"
#include "bpfvm/verifier.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bpfvm_instance bpfvm_instance;

typedef struct bpfvm_instance_opts {
	/* sizeof this struct as the caller was built: set by BPFVM_OPTS. */
	size_t sz;
	bool jit;                 /* compile every program (both modes) */
	bool jit_harden;          /* constant blinding */
	/* Helpers programs may call; NULL: the kernel's (bpfvm_helpers_new_kernel). */
	const bpfvm_helpers *helpers;
	/* Where maps with pinning = LIBBPF_PIN_BY_NAME live; NULL:
	 * bpfvm_map_pin_dir() (BPFVM_PIN_DIR, else BPFVM_PIN_DIR_DEFAULT-UID).  A pinned map that exists is reused (its
	 * definition must match, its pin is checked as <bpfvm/maps.h> says), else created and pinned; of
	 * processes racing to pin it, one does and the others reuse its pin. */
	const char *pin_dir;
	/* Load only this program (by name); NULL: every program libbpf would
	 * load (not SEC("?...")). */
	const char *only_prog;
	/* Verify each program (<bpfvm/verifier.h>) before loading it; one the
	 * verifier rejects fails bpfvm_instance_new with its message.  A
	 * verified program may run BPFVM_UNCHECKED. */
	bool verify;
	/* With verify: the verifier's log (level as bpfvm_verify_opts), and
	 * where the statistics of the last program verified go (may be NULL). */
	int verify_log_level;
	bool verify_strict_alignment;   /* as BPF_F_STRICT_ALIGNMENT */
	bpfvm_log_fn verify_log;
	void *verify_log_user;
	bpfvm_verify_stats *verify_stats;
	/* Leave no trace: every map is created unpinned in anonymous memory
	 * (allocated as it is touched), pinning is ignored, no pinned map is
	 * reused, and the pin directory is neither made nor written.  For
	 * `bpfvm verify`, which needs the maps' definitions and .rodata's
	 * contents, not shared storage. */
	bool no_pins;
	/* Maps made elsewhere, by the object's map index (bpfvm_object_map_at):
	 * maps[i], if not NULL, is map i of the instance instead of one made
	 * from its definition (the instance takes a reference of its own; it must
	 * be of the definition's type, and its sizes rule, as when the maker
	 * resized it).  Global
	 * data maps given so keep their contents.  How `bpfvm trace`'s agent
	 * runs programs on the maps the tracer made and sent
	 * (bpfvm_map_receive).  map_count: the length of maps (at most the
	 * object's map count). */
	bpfvm_map *const *maps;
	size_t map_count;
} bpfvm_instance_opts;

/* Creates the maps of obj and loads its programs.  obj must outlive the
 * instance. */
BPFVM_API int bpfvm_instance_new(const bpfvm_object *obj, const bpfvm_instance_opts *opts, bpfvm_instance **out,
                       bpfvm_error *err);
BPFVM_API void bpfvm_instance_free(bpfvm_instance *inst);

BPFVM_API const bpfvm_object *bpfvm_instance_object(const bpfvm_instance *inst);
/* The program of the object's index `i`, or NULL if it was not loaded. */
BPFVM_API bpfvm_program *bpfvm_instance_prog(const bpfvm_instance *inst, size_t i);
/* The map of the object's index `i`. */
BPFVM_API bpfvm_map *bpfvm_instance_map(const bpfvm_instance *inst, size_t i);
/* Every map's storage, for bpfvm_test_run.regions (checked runs). */
BPFVM_API const bpfvm_region *bpfvm_instance_regions(const bpfvm_instance *inst, size_t *count);
/* Binds the kfunc calls of program `prog` of obj in insns (a copy of its
 * instructions) to the kfuncs bpfvm provides, by name, as
 * bpfvm_instance_new does before verifying: imm becomes bpfvm's kfunc ID
 * (0 for a weak kfunc bpfvm lacks).  -ENOTSUP naming a strong kfunc
 * bpfvm lacks.  For callers that verify an object's programs themselves. */
BPFVM_API int bpfvm_object_bind_kfuncs(const bpfvm_object *obj, size_t prog, bpfvm_insn *insns, bpfvm_error *err);

#ifdef __cplusplus
}
#endif
#endif
