/*
 * attach.c - the attach targets of BTF-typed program types, resolved in
 * the target BTF as libbpf resolves them before BPF_PROG_LOAD
 * (libbpf_find_attach_btf_id): tp_btf/NAME is the typedef
 * "btf_trace_NAME" (a pointer to the tracepoint's FUNC_PROTO), lsm/HOOK
 * the FUNC "bpf_lsm_HOOK", iter/NAME the FUNC "bpf_iter_NAME", and
 * fentry/, fexit/, fmod_ret/ FUNC the FUNC itself.
 *
 * Owns: the object's attach BTF (the running kernel's
 * /sys/kernel/btf/vmlinux, or btf_custom_path as for CO-RE), loaded once
 * when some program needs it, and each program's attach_btf,
 * attach_btf_id, attach_func_proto, attach_name and attach_error.  A
 * target that cannot be found is not an error here: libbpf fails such a
 * program only when it is loaded, so the program records why and the
 * load refuses it (src/api/instance.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/btf.h>
#include <linux/bpf.h>

#include "loader/loader.h"

/* libbpf's prefix and BTF kind of the type naming an attach target. */
static bool attach_kind(const bpfvm_object_prog *p, const char **prefix, uint32_t *kind)
{
	*kind = BTF_KIND_FUNC;
	*prefix = "";
	if (p->type == BPF_PROG_TYPE_LSM) {
		*prefix = "bpf_lsm_";
		return true;
	}
	if (p->type != BPF_PROG_TYPE_TRACING)
		return false;
	if (p->expected_attach_type == BPF_TRACE_RAW_TP) {
		*prefix = "btf_trace_";
		*kind = BTF_KIND_TYPEDEF;
	} else if (p->expected_attach_type == BPF_TRACE_ITER) {
		*prefix = "bpf_iter_";
	}
	return true;
}

/* The FUNC_PROTO a FUNC, or a typedef of a pointer to one, names; 0 if none. */
static uint32_t func_proto_of(const struct btf *btf, uint32_t id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	if (t && btf_is_func(t))
		id = t->type;
	else if (t && btf_is_typedef(t)) {
		t = btf__type_by_id(btf, t->type);
		if (!t || !btf_is_ptr(t))
			return 0;
		id = t->type;
	} else
		return 0;
	t = btf__type_by_id(btf, id);
	return t && btf_is_func_proto(t) ? id : 0;
}

static int load_attach_btf(struct ldr *l)
{
	struct bpfvm_object *o = l->obj;
	if (o->attach_btf)
		return 0;
	o->attach_btf = l->btf_custom_path ? btf__parse(l->btf_custom_path, NULL) : btf__load_vmlinux_btf();
	if (!o->attach_btf)
		return -errno ? -errno : -ENOENT;
	return 0;
}

static void resolve_one(struct ldr *l, bpfvm_object_prog *p, const char *prefix, uint32_t kind)
{
	struct bpfvm_object *o = l->obj;
	char name[256];
	if (!p->attach_target || !p->attach_target[0]) {
		p->attach_error = "the section names no attach target";
		return;
	}
	if (load_attach_btf(l)) {
		p->attach_error = l->btf_custom_path ? "the target BTF (--btf) cannot be read"
		                                     : "the kernel's BTF (/sys/kernel/btf/vmlinux) cannot be read";
		return;
	}
	snprintf(name, sizeof name, "%s%s", prefix, p->attach_target);
	int id = btf__find_by_name_kind(o->attach_btf, name, kind);
	uint32_t proto = id > 0 ? func_proto_of(o->attach_btf, (uint32_t)id) : 0;
	if (!proto) {
		char msg[320];
		snprintf(msg, sizeof msg, "no %s '%s' in the target BTF", kind == BTF_KIND_FUNC ? "function" : "typedef",
		         name);
		p->attach_error = ldr_strdup(l, msg);
		return;
	}
	p->attach_btf = o->attach_btf;
	p->attach_btf_id = (uint32_t)id;
	p->attach_func_proto = proto;
	p->attach_name = ldr_strdup(l, name);
}

int ldr_attach_resolve(struct ldr *l)
{
	struct bpfvm_object *o = l->obj;
	for (size_t i = 0; i < o->prog_count; i++) {
		bpfvm_object_prog *p = &o->progs[i];
		const char *prefix;
		uint32_t kind;
		if (attach_kind(p, &prefix, &kind))
			resolve_one(l, p, prefix, kind);
	}
	return 0;
}
