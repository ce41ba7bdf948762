/*
 * test_ctx_vmlinux.c - contexts typed by vmlinux.h: tests/core/ctx_progs.c
 * built against a vmlinux.h of the running kernel (every access to
 * struct xdp_md, struct __sk_buff, struct pt_regs and struct bpf_sock a
 * CO-RE relocation)
 * and against the uapi headers (plain offsets).
 *
 * usage: test_ctx_vmlinux VMLINUX_OBJ UAPI_OBJ
 *
 * 1. Offsets: every field-offset relocation bpfvm applies in VMLINUX_OBJ
 *    must give the uapi offset of the same field, found by name in
 *    UAPI_OBJ's BTF (pt_regs' kernel names di, si, ... map to the uapi
 *    names rdi, rsi, ...).
 * 2. Runs: the xdp, tc and socket filter programs of both objects, over
 *    packets and contexts that vary every field the kernel lets a test
 *    run set, give in bpfvm (both engines, both modes, verified) the
 *    kernel's return value, packet and context (loaded with libbpf, which
 *    applies CO-RE itself, and run with BPF_PROG_TEST_RUN).  The kprobe
 *    program, which the kernel cannot test-run, must compute in bpfvm
 *    what the test computes from the pt_regs it passes.
 *
 * The kernel side needs bpf() (root); without it that part is skipped,
 * saying so.  Exits 77 (skipped) when the objects were not built (no
 * /sys/kernel/btf/vmlinux or bpftool at build time).
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <inttypes.h>
#include <asm/ptrace.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpfvm/instance.h"
#include "support/check.h"

#define MAX_PKT 1600
#define NPKT 8

/* ---- 1. offsets ---- */

/* pt_regs' members as vmlinux.h names them, and as the uapi header does. */
static const char *uapi_member_name(const char *type, const char *name)
{
	static const char *const regs[][2] = {
		{ "di", "rdi" }, { "si", "rsi" }, { "dx", "rdx" }, { "cx", "rcx" }, { "ax", "rax" },
		{ "bx", "rbx" }, { "bp", "rbp" }, { "sp", "rsp" }, { "ip", "rip" }, { "flags", "eflags" },
		{ "orig_ax", "orig_rax" },
	};
	if (strcmp(type, "pt_regs"))
		return name;
	for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++)
		if (!strcmp(regs[i][0], name))
			return regs[i][1];
	return name;
}

static const struct btf_type *resolved(const struct btf *btf, uint32_t *id)
{
	*id = btf__resolve_type(btf, *id);
	return btf__type_by_id(btf, *id);
}

/* The member of struct/union `t` named `name` (anonymous members searched
 * through); its bit offset added to *bits.  0 if there is none. */
static uint32_t member_by_name(const struct btf *btf, const struct btf_type *t, const char *name, uint64_t *bits)
{
	const struct btf_member *m = btf_members(t);
	for (uint16_t i = 0; i < btf_vlen(t); i++, m++) {
		uint64_t off = btf_member_bit_offset(t, i);
		const char *mn = btf__name_by_offset(btf, m->name_off);
		if (mn && !strcmp(mn, name)) {
			*bits += off;
			return m->type;
		}
		if (!mn || !*mn) {
			uint32_t id = m->type;
			const struct btf_type *inner = resolved(btf, &id);
			uint64_t sub = off;
			if ((btf_is_struct(inner) || btf_is_union(inner))) {
				uint32_t found = member_by_name(btf, inner, name, &sub);
				if (found) {
					*bits += sub;
					return found;
				}
			}
		}
	}
	return 0;
}

/* Follows the access string `access` ("0:3:1") from local root type
 * `type_name` in the object's BTF, and the same member names in the
 * uapi BTF; returns the uapi byte offset, or -1 (with why) if a step
 * has no uapi counterpart. */
static long uapi_offset(const struct btf *local, const struct btf *uapi, const char *type_name, const char *access,
                        char *why, size_t whylen)
{
	int lid = btf__find_by_name_kind(local, type_name, BTF_KIND_STRUCT);
	int uid = btf__find_by_name_kind(uapi, type_name, BTF_KIND_STRUCT);
	if (lid < 0 || uid < 0) {
		snprintf(why, whylen, "struct %s not in both BTFs", type_name);
		return -1;
	}
	uint32_t lt = (uint32_t)lid, ut = (uint32_t)uid;
	uint64_t bits = 0;
	const char *p = access;
	long first = strtol(p, (char **)&p, 10);
	const struct btf_type *ut_t = resolved(uapi, &ut);
	bits += (uint64_t)first * ut_t->size * 8;
	while (*p == ':') {
		long idx = strtol(p + 1, (char **)&p, 10);
		const struct btf_type *lt_t = resolved(local, &lt);
		ut_t = resolved(uapi, &ut);
		if (btf_is_array(lt_t)) {
			if (!btf_is_array(ut_t)) {
				snprintf(why, whylen, "%s: uapi has no array at this step", access);
				return -1;
			}
			uint32_t elem = btf_array(ut_t)->type;
			const struct btf_type *e = resolved(uapi, &elem);
			bits += (uint64_t)idx * (btf_is_int(e) || btf_is_struct(e) || btf_is_union(e) ? e->size : 8) * 8;
			lt = btf_array(lt_t)->type;
			ut = btf_array(ut_t)->type;
			continue;
		}
		const struct btf_member *m = btf_members(lt_t) + idx;
		const char *name = btf__name_by_offset(local, m->name_off);
		const char *uname = uapi_member_name(type_name, name);
		uint32_t next = member_by_name(uapi, ut_t, uname, &bits);
		if (!next) {
			snprintf(why, whylen, "%s: no member %s in the uapi struct", access, uname);
			return -1;
		}
		lt = m->type;
		ut = next;
	}
	return (long)(bits / 8);
}

static void check_offsets(const char *vpath, const char *upath)
{
	bpfvm_object *obj = NULL;
	bpfvm_error err = { 0 };
	if (!CHECK(bpfvm_object_open(vpath, &obj, &err) == 0, "%s: %s", vpath, err.msg))
		return;
	struct btf *uapi = btf__parse_elf(upath, NULL);
	if (!CHECK(uapi != NULL, "%s: no BTF", upath)) {
		bpfvm_object_free(obj);
		return;
	}
	const struct btf *local = bpfvm_object_btf(obj);
	size_t n = bpfvm_object_core_relo_count(obj), byte_offsets = 0;
	bool prog_has[8] = { 0 };
	for (size_t i = 0; i < n; i++) {
		const bpfvm_object_core_relo *r = bpfvm_object_core_relo_at(obj, i);
		CHECK(!r->poisoned, "%s insn %u: %s %s poisoned", vpath, r->insn, r->type_name, r->access);
		if (r->kind != 0 /* BPF_CORE_FIELD_BYTE_OFFSET */)
			continue;
		char why[160] = "";
		long want = uapi_offset(local, uapi, r->type_name, r->access, why, sizeof why);
		CHECK(want >= 0, "struct %s %s: %s", r->type_name, r->access, why);
		CHECK((long)r->target_value == want, "prog %u insn %u: struct %s access %s: bpfvm offset %" PRIu64
		      ", uapi %ld", r->prog, r->insn, r->type_name, r->access, r->target_value, want);
		byte_offsets++;
		if (r->prog < 8)
			prog_has[r->prog] = true;
	}
	CHECK(byte_offsets >= 40, "only %zu field offsets relocated", byte_offsets);
	for (size_t p = 0; p < bpfvm_object_prog_count(obj) && p < 8; p++)
		CHECK(prog_has[p], "program %zu has no CO-RE field offset", p);
	printf("offsets: %zu relocations, %zu field offsets equal to the uapi headers'\n", n, byte_offsets);
	btf__free(uapi);
	bpfvm_object_free(obj);
}

/* ---- 2. runs ---- */

struct input {
	uint8_t pkt[MAX_PKT];
	uint32_t len;
	uint8_t ctx[sizeof(struct __sk_buff)];
	uint32_t ctx_len;
};

struct output {
	int rc;
	uint32_t retval;
	uint8_t pkt[MAX_PKT + 256];
	uint32_t len;
	uint8_t ctx[sizeof(struct __sk_buff)];
	uint32_t ctx_len;
	char msg[256];             /* why a run failed */
};

static void make_packet(struct input *in, int i)
{
	static const uint16_t lens[NPKT] = { 14, 42, 60, 64, 100, 333, 1000, 1500 };
	static const uint16_t protos[NPKT] = { 0x0800, 0x0806, 0x86dd, 0x0800, 0x8100, 0x0800, 0x86dd, 0x0800 };
	in->len = lens[i];
	for (uint32_t b = 0; b < in->len; b++)
		in->pkt[b] = (uint8_t)(b * 7 + i * 13 + 1);
	in->pkt[12] = (uint8_t)(protos[i] >> 8);
	in->pkt[13] = (uint8_t)protos[i];
}

/* The context of input i: none at all (i % 4 == 0), else one that sets
 * what the kernel lets a test run set; for XDP also metadata (i % 4 == 2)
 * and one the kernel refuses (i % 4 == 3: data_end past the packet). */
static void make_ctx(const char *prog, struct input *in, int i)
{
	memset(in->ctx, 0, sizeof in->ctx);
	in->ctx_len = 0;
	if (i % 4 == 0)
		return;
	if (!strcmp(prog, "xdp_ctx")) {
		struct xdp_md md = { .data = i % 4 == 2 ? 8 : 0, .data_end = in->len + (i % 4 == 3 ? 4 : 0),
		                     .ingress_ifindex = i & 1 };
		memcpy(in->ctx, &md, sizeof md);
		in->ctx_len = sizeof md;
		return;
	}
	struct __sk_buff skb = { .mark = 0x1234u * (uint32_t)i, .priority = (uint32_t)i * 3, .ifindex = i & 1,
	                         .tstamp = 1000u * (uint64_t)i };
	for (int k = 0; k < 5; k++)
		skb.cb[k] = (uint32_t)(i * 100 + k);
	memcpy(in->ctx, &skb, sizeof skb);
	in->ctx_len = sizeof skb;
}

static void run_kernel(int fd, const struct input *in, struct output *o)
{
	memset(o, 0, sizeof *o);
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = in->pkt, .data_size_in = in->len, .data_out = o->pkt,
	            .data_size_out = sizeof o->pkt, .ctx_in = in->ctx_len ? in->ctx : NULL,
	            .ctx_size_in = in->ctx_len, .ctx_out = in->ctx_len ? o->ctx : NULL, .ctx_size_out = in->ctx_len,
	            .repeat = 1);
	o->rc = bpf_prog_test_run_opts(fd, &t) ? -errno : 0;
	snprintf(o->msg, sizeof o->msg, "%s", o->rc ? strerror(-o->rc) : "");
	o->retval = t.retval;
	o->len = t.data_size_out;
	o->ctx_len = t.ctx_size_out;
}

static void run_bpfvm(bpfvm_program *prog, int combo, const struct input *in, struct output *o)
{
	memset(o, 0, sizeof *o);
	bpfvm_error err = { 0 };
	BPFVM_OPTS(bpfvm_test_run, t, .data_in = in->pkt, .data_size_in = in->len, .data_out = o->pkt,
	           .data_size_out = sizeof o->pkt, .ctx_in = in->ctx_len ? in->ctx : NULL,
	           .ctx_size_in = in->ctx_len, .ctx_out = in->ctx_len ? o->ctx : NULL, .ctx_size_out = in->ctx_len,
	           .mode = (bpfvm_mode)(combo & 1),
	           .engine = combo & 2 ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP);
	o->rc = bpfvm_program_test_run(prog, &t, &err);
	snprintf(o->msg, sizeof o->msg, "%s", err.msg);
	o->retval = (uint32_t)t.retval;
	o->len = t.data_size_out;
	o->ctx_len = t.ctx_size_out;
}

/* Where two runs' outputs first differ, for the failure message. */
static const char *first_difference(const struct output *a, const struct output *b, char *buf, size_t len)
{
	for (uint32_t i = 0; i < a->len && i < b->len; i++)
		if (a->pkt[i] != b->pkt[i]) {
			snprintf(buf, len, "packet byte %u: %#x, kernel %#x", i, a->pkt[i], b->pkt[i]);
			return buf;
		}
	for (uint32_t i = 0; i < a->ctx_len && i < b->ctx_len; i++)
		if (a->ctx[i] != b->ctx[i]) {
			snprintf(buf, len, "context byte %u: %#x, kernel %#x", i, a->ctx[i], b->ctx[i]);
			return buf;
		}
	snprintf(buf, len, "lengths %u/%u, kernel %u/%u", a->len, a->ctx_len, b->len, b->ctx_len);
	return buf;
}

static bool same(const struct output *a, const struct output *b)
{
	if ((a->rc != 0) != (b->rc != 0))
		return false;
	if (a->rc)
		return true;
	return a->retval == b->retval && a->len == b->len && !memcmp(a->pkt, b->pkt, a->len) &&
	       a->ctx_len == b->ctx_len && !memcmp(a->ctx, b->ctx, a->ctx_len);
}

struct loaded {
	bpfvm_object *obj;
	bpfvm_instance *inst;
	struct bpf_object *kobj;
};

static bool load(const char *path, bool kernel, struct loaded *l)
{
	memset(l, 0, sizeof *l);
	bpfvm_error err = { 0 };
	if (!CHECK(bpfvm_object_open(path, &l->obj, &err) == 0, "%s: %s", path, err.msg))
		return false;
	BPFVM_OPTS(bpfvm_instance_opts, io, .jit = true, .verify = true, .no_pins = true);
	if (!CHECK(bpfvm_instance_new(l->obj, &io, &l->inst, &err) == 0, "%s: %s", path, err.msg))
		return false;
	if (!kernel)
		return true;
	l->kobj = bpf_object__open_file(path, NULL);
	if (!CHECK(l->kobj != NULL, "%s: libbpf cannot open it", path))
		return false;
	return CHECK(bpf_object__load(l->kobj) == 0, "%s: libbpf cannot load it: %s", path, strerror(errno));
}

static void unload(struct loaded *l)
{
	bpfvm_instance_free(l->inst);
	bpfvm_object_free(l->obj);
	bpf_object__close(l->kobj);
}

static bpfvm_program *bpfvm_prog(const struct loaded *l, const char *name)
{
	int i = bpfvm_object_find_prog(l->obj, name);
	return i < 0 ? NULL : bpfvm_instance_prog(l->inst, (size_t)i);
}

static void check_packet_programs(struct loaded *objs, size_t nobj, bool kernel)
{
	static const char *const progs[] = { "xdp_ctx", "tc_ctx", "socket_ctx" };
	static struct input in;
	static struct output ref, mine, first;
	size_t compared = 0, refused = 0;
	char diff[128];
	for (size_t p = 0; p < sizeof progs / sizeof progs[0]; p++) {
		for (int i = 0; i < NPKT; i++) {
			make_packet(&in, i);
			make_ctx(progs[p], &in, i);
			for (size_t o = 0; o < nobj; o++) {
				const char *which = o == 0 ? "vmlinux.h" : "uapi";
				bpfvm_program *prog = bpfvm_prog(&objs[o], progs[p]);
				if (!CHECK(prog != NULL, "%s (%s): not loaded", progs[p], which))
					continue;
				if (kernel) {
					struct bpf_program *kp = bpf_object__find_program_by_name(objs[o].kobj, progs[p]);
					run_kernel(bpf_program__fd(kp), &in, &ref);
					refused += ref.rc != 0;
				}
				for (int combo = 0; combo < 4; combo++) {
					run_bpfvm(prog, combo, &in, &mine);
					if (kernel)
						CHECK((mine.rc == 0) == (ref.rc == 0), "%s input %d (%s) combo %d: bpfvm: %s; kernel: %s",
						      progs[p], i, which, combo, mine.rc ? mine.msg : "ran", ref.rc ? ref.msg : "ran");
					else
						CHECK(mine.rc == 0 || (i % 4 == 3 && p == 0) || i == 0,
						      "%s input %d (%s) combo %d: bpfvm: %s", progs[p], i, which, combo, mine.msg);
					if (o == 0 && combo == 0)
						first = mine;
					else
						CHECK(same(&mine, &first), "%s packet %d: %s combo %d differs from vmlinux.h combo 0",
						      progs[p], i, which, combo);
					if (kernel) {
						CHECK(same(&mine, &ref),
						      "%s input %d (%s) combo %d: return %u, kernel %u; %s", progs[p], i, which, combo,
						      mine.retval, ref.retval, first_difference(&mine, &ref, diff, sizeof diff));
						compared++;
					}
				}
			}
		}
	}
	if (kernel)
		printf("runs: %zu bpfvm runs equal to the kernel's (return value, packet, context), %zu of them "
		       "refused by both\n", compared, refused * 4);
	CHECK(!kernel || refused * 4 < compared / 2, "the kernel refused %zu of the inputs", refused);
}

/* The kprobe program's result for `r`, computed here from the uapi names. */
static uint64_t kprobe_want(const struct pt_regs *r)
{
	uint64_t v = r->rdi + 2 * r->rsi + 3 * r->rdx + 5 * r->rcx + 7 * r->r8 + 11 * r->rax + 13 * r->rip +
	             17 * r->rsp + 19 * r->rbp;
	return v ^ (v >> 32);
}

static void check_kprobe(struct loaded *objs, size_t nobj)
{
	for (int i = 0; i < 16; i++) {
		struct pt_regs regs;
		uint64_t *w = (uint64_t *)&regs;
		for (size_t k = 0; k < sizeof regs / 8; k++)
			w[k] = 0x0101010101010101ull * (uint64_t)(i + 1) + k * 0x1000193ull;
		for (size_t o = 0; o < nobj; o++) {
			bpfvm_program *prog = bpfvm_prog(&objs[o], "kprobe_ctx");
			if (!CHECK(prog != NULL, "kprobe_ctx: not loaded"))
				continue;
			for (int combo = 0; combo < 4; combo++) {
				bpfvm_error err = { 0 };
				BPFVM_OPTS(bpfvm_test_run, t, .ctx_in = &regs, .ctx_size_in = sizeof regs,
				           .mode = (bpfvm_mode)(combo & 1),
				           .engine = combo & 2 ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP);
				int rc = bpfvm_program_test_run(prog, &t, &err);
				CHECK(rc == 0, "kprobe_ctx: %s", err.msg);
				CHECK(t.retval == kprobe_want(&regs), "kprobe_ctx (%s) regs %d combo %d: %#" PRIx64
				      ", want %#" PRIx64, o ? "uapi" : "vmlinux.h", i, combo, t.retval, kprobe_want(&regs));
			}
		}
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_ctx_vmlinux VMLINUX_OBJ UAPI_OBJ\n");
		return 2;
	}
	if (access(argv[1], R_OK)) {
		printf("skipped: %s was not built (no /sys/kernel/btf/vmlinux or bpftool at build time)\n", argv[1]);
		return 77;
	}
	libbpf_set_print(NULL);
	struct bpf_insn ret0[] = { { .code = 0xb7 }, { .code = 0x95 } };
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, NULL, "GPL", ret0, 2, NULL);
	bool kernel = fd >= 0;
	if (kernel)
		close(fd);
	else
		printf("skipped: kernel comparison: bpf() unavailable: %s\n", strerror(errno));
	check_offsets(argv[1], argv[2]);
	struct loaded objs[2] = { 0 };
	bool ok = load(argv[1], kernel, &objs[0]) && load(argv[2], kernel, &objs[1]);
	if (ok) {
		check_packet_programs(objs, 2, kernel);
		check_kprobe(objs, 2);
	}
	unload(&objs[0]);
	unload(&objs[1]);
	return check_summary();
}
