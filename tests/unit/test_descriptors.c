/*
 * test_descriptors.c - helpers and program types are each one
 * descriptor: an embedder's helper with a declared prototype is verified
 * like the kernel's, one without is refused by the verifier by name (and
 * still runs unverified), a prototype's program types are enforced at
 * load, helper tables freeze once a program uses them, and a helper added
 * as one descriptor (bpf_ktime_get_tai_ns) works end to end.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <time.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/helpers.h"
#include "bpfvm/maps.h"
#include "bpfvm/verifier.h"
#include "support/check.h"

#define MY_SUM 1000   /* an embedder's helper: sums r2 bytes at r1 */

static uint64_t my_sum(uint64_t mem, uint64_t len, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)c; (void)d; (void)e; (void)run;
	uint64_t sum = 0;
	for (uint64_t i = 0; i < len; i++)
		sum += ((const uint8_t *)(uintptr_t)mem)[i];
	return sum;
}

/* *(u64 *)(r10 - 8) = 0x0102030405060708; r1 = r10 - 8; r2 = size;
 * call MY_SUM; exit */
static void sum_prog(bpfvm_insn out[8], int32_t size)
{
	bpfvm_insn p[] = {
		{ .opcode = 0x18, .dst = 1, .imm = 0x05060708 }, { .imm = 0x01020304 },
		{ .opcode = 0x7b, .dst = 10, .src = 1, .off = -8 },
		{ .opcode = 0xbf, .dst = 1, .src = 10 },
		{ .opcode = 0x07, .dst = 1, .imm = -8 },
		{ .opcode = 0xb7, .dst = 2, .imm = size },
		{ .opcode = 0x85, .imm = MY_SUM },
		{ .opcode = 0x95 },
	};
	memcpy(out, p, sizeof p);
}

static int verify(const bpfvm_insn *insns, size_t count, const bpfvm_helpers *h, uint32_t type, bpfvm_error *err)
{
	BPFVM_OPTS(bpfvm_verify_opts, vo, .prog_type = type, .helpers = h);
	return bpfvm_verify(insns, count, &vo, NULL, err);
}

static void embedder_helper_without_proto(void)
{
	bpfvm_error err = { 0 };
	bpfvm_helpers *h = bpfvm_helpers_new();
	CHECK(bpfvm_helpers_add(h, MY_SUM, "my_sum", my_sum, &err) == 0, "add: %s", err.msg);
	bpfvm_insn p[8];
	sum_prog(p, 8);
	int rc = verify(p, 8, h, BPFVM_PROG_TYPE_RAW, &err);
	CHECK(rc == -ENOTSUP && strstr(err.msg, "my_sum") && strstr(err.msg, "no prototype"),
	      "no prototype: verifier refuses naming the helper: %d %s", rc, err.msg);
	/* it still runs unverified, every access checked */
	bpfvm_program *prog = NULL;
	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = h);
	CHECK(bpfvm_program_load(p, 8, &lo, &prog, &err) == 0, "load unverified: %s", err.msg);
	uint64_t r0 = 0;
	BPFVM_OPTS(bpfvm_run_opts, ro, .mode = BPFVM_CHECKED);
	CHECK(prog && bpfvm_program_run(prog, &ro, &r0, &err) == 0 && r0 == 36, "run unverified: r0 %llu %s",
	      (unsigned long long)r0, err.msg);
	bpfvm_program_free(prog);
	bpfvm_helpers_free(h);
}

static void embedder_helper_with_proto(void)
{
	bpfvm_error err = { 0 };
	bpfvm_helpers *h = bpfvm_helpers_new();
	bpfvm_helpers_add(h, MY_SUM, "my_sum", my_sum, &err);
	bpfvm_helper_proto proto = { .sz = sizeof proto, .ret = BPFVM_RET_INTEGER,
	                             .args = { BPFVM_ARG_MEM, BPFVM_ARG_SIZE } };
	CHECK(bpfvm_helpers_set_proto(h, MY_SUM, &proto, &err) == 0, "set_proto: %s", err.msg);
	bpfvm_insn p[8];
	sum_prog(p, 8);
	int rc = verify(p, 8, h, BPFVM_PROG_TYPE_RAW, &err);
	CHECK(rc == 0, "8 stack bytes for an 8-byte size: accepted: %d %s", rc, err.msg);
	sum_prog(p, 16);
	rc = verify(p, 8, h, BPFVM_PROG_TYPE_RAW, &err);
	CHECK(rc == -EACCES && err.insn == 6, "16 bytes from fp-8: refused at the call: %d insn %d %s", rc, err.insn,
	      err.msg);
	sum_prog(p, 0);
	rc = verify(p, 8, h, BPFVM_PROG_TYPE_RAW, &err);
	CHECK(rc != 0, "a zero size for BPFVM_ARG_SIZE: refused: %d %s", rc, err.msg);
	bpfvm_helpers_free(h);
}

static void proto_program_types(void)
{
	bpfvm_error err = { 0 };
	bpfvm_helpers *h = bpfvm_helpers_new();
	bpfvm_helpers_add(h, MY_SUM, "my_sum", my_sum, &err);
	bpfvm_helper_proto proto = { .sz = sizeof proto, .args = { BPFVM_ARG_MEM, BPFVM_ARG_SIZE },
	                             .prog_types = BPFVM_PROG_TYPE_BIT(BPF_PROG_TYPE_XDP) };
	bpfvm_helpers_set_proto(h, MY_SUM, &proto, &err);
	bpfvm_insn p[8];
	sum_prog(p, 8);
	bpfvm_program *prog = NULL;
	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = h, .prog_type = BPF_PROG_TYPE_SOCKET_FILTER);
	int rc = bpfvm_program_load(p, 8, &lo, &prog, &err);
	CHECK(rc == -EINVAL && strstr(err.msg, "may not call my_sum"), "socket filter refused: %d %s", rc, err.msg);
	rc = verify(p, 8, h, BPF_PROG_TYPE_SOCKET_FILTER, &err);
	CHECK(rc == -EINVAL && strstr(err.msg, "cannot use helper my_sum"), "verifier agrees: %d %s", rc, err.msg);
	lo.prog_type = BPF_PROG_TYPE_XDP;
	rc = bpfvm_program_load(p, 8, &lo, &prog, &err);
	CHECK(rc == 0, "xdp allowed: %d %s", rc, err.msg);
	bpfvm_program_free(prog);
	bpfvm_helpers_free(h);
}

/* An embedder's lookup-like helper: (map, key) -> value or NULL. */
static uint64_t my_lookup(uint64_t map, uint64_t key, uint64_t c, uint64_t d, uint64_t e, bpfvm_run *run)
{
	(void)c; (void)d; (void)e; (void)run;
	return (uint64_t)(uintptr_t)bpfvm_map_lookup_elem((bpfvm_map *)(uintptr_t)map, (const void *)(uintptr_t)key);
}

static void embedder_map_helper(void)
{
	bpfvm_error err = { 0 };
	bpfvm_map_def def = BPFVM_MAP_DEF_INIT;
	def.type = BPF_MAP_TYPE_HASH, def.key_size = 4, def.value_size = 8, def.max_entries = 4, def.name = "h";
	bpfvm_map_def rdef = BPFVM_MAP_DEF_INIT;
	rdef.type = BPF_MAP_TYPE_RINGBUF, rdef.max_entries = 4096, rdef.name = "rb";
	bpfvm_map *maps[2] = { 0 };
	CHECK(bpfvm_map_create(&def, &maps[0], &err) == 0 && bpfvm_map_create(&rdef, &maps[1], &err) == 0,
	      "maps: %s", err.msg);
	bpfvm_helpers *h = bpfvm_helpers_new();
	bpfvm_helpers_add(h, MY_SUM, "my_lookup", my_lookup, &err);
	bpfvm_helper_proto proto = { .sz = sizeof proto, .ret = BPFVM_RET_MAP_VALUE_OR_NULL,
	                             .args = { BPFVM_ARG_MAP, BPFVM_ARG_MAP_KEY } };
	CHECK(bpfvm_helpers_set_proto(h, MY_SUM, &proto, &err) == 0, "set_proto: %s", err.msg);
	/* *(u32 *)(fp - 4) = 0; r2 = fp - 4; r1 = map 0 (or 1); call; if r0 == 0 goto out; r0 = *(u64 *)r0 */
	for (int m = 0; m < 2; m++) {
		bpfvm_insn p[] = {
			{ .opcode = 0x62, .dst = 10, .off = -4 },
			{ .opcode = 0xbf, .dst = 2, .src = 10 },
			{ .opcode = 0x07, .dst = 2, .imm = -4 },
			{ .opcode = 0x18, .dst = 1, .src = 1, .imm = m }, { 0 },
			{ .opcode = 0x85, .imm = MY_SUM },
			{ .opcode = 0x15, .dst = 0, .off = 1 },
			{ .opcode = 0x79, .dst = 0, .src = 0 },
			{ .opcode = 0x95 },
		};
		BPFVM_OPTS(bpfvm_verify_opts, vo, .prog_type = BPF_PROG_TYPE_XDP, .helpers = h, .maps = maps, .map_count = 2);
		int rc = bpfvm_verify(p, sizeof p / sizeof p[0], &vo, NULL, &err);
		if (m == 0)
			CHECK(rc == 0, "an embedder's map helper on a hash map: %d %s", rc, err.msg);
		else
			CHECK(rc == -EINVAL && strstr(err.msg, "cannot pass map_type"),
			      "a ringbuf is for the ringbuf helpers only: %d %s", rc, err.msg);
	}
	/* and a null check is required, as for the kernel's lookup */
	bpfvm_insn q[] = {
		{ .opcode = 0x62, .dst = 10, .off = -4 },
		{ .opcode = 0xbf, .dst = 2, .src = 10 },
		{ .opcode = 0x07, .dst = 2, .imm = -4 },
		{ .opcode = 0x18, .dst = 1, .src = 1 }, { 0 },
		{ .opcode = 0x85, .imm = MY_SUM },
		{ .opcode = 0x79, .dst = 0, .src = 0 },
		{ .opcode = 0x95 },
	};
	BPFVM_OPTS(bpfvm_verify_opts, vo, .prog_type = BPF_PROG_TYPE_XDP, .helpers = h, .maps = maps, .map_count = 2);
	int rc = bpfvm_verify(q, sizeof q / sizeof q[0], &vo, NULL, &err);
	CHECK(rc == -EACCES && strstr(err.msg, "map_value_or_null"), "no null check: %d %s", rc, err.msg);
	bpfvm_helpers_free(h);
	bpfvm_map_put(maps[0]);
	bpfvm_map_put(maps[1]);
}

static void bad_protos(void)
{
	static const struct {
		bpfvm_helper_proto proto;
		const char *msg;
	} cases[] = {
		{ { .sz = sizeof(bpfvm_helper_proto), .args = { BPFVM_ARG_SIZE } }, "size without memory" },
		{ { .sz = sizeof(bpfvm_helper_proto), .args = { BPFVM_ARG_MEM, BPFVM_ARG_ANYTHING } }, "must be the size" },
		{ { .sz = sizeof(bpfvm_helper_proto), .args = { BPFVM_ARG_MAP_KEY } }, "without a map" },
		{ { .sz = sizeof(bpfvm_helper_proto), .args = { BPFVM_ARG_NONE, BPFVM_ARG_ANYTHING } }, "follows" },
		{ { .sz = sizeof(bpfvm_helper_proto), .args = { (bpfvm_arg_type)99 } }, "unknown kind" },
		{ { .sz = sizeof(bpfvm_helper_proto), .ret = BPFVM_RET_MAP_VALUE_OR_NULL }, "takes no map" },
		{ { .sz = 0 }, "sz is 0" },
	};
	bpfvm_error err = { 0 };
	bpfvm_helpers *h = bpfvm_helpers_new();
	bpfvm_helpers_add(h, MY_SUM, "my_sum", my_sum, &err);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = bpfvm_helpers_set_proto(h, MY_SUM, &cases[i].proto, &err);
		CHECK(rc == -EINVAL && strstr(err.msg, cases[i].msg), "bad proto %zu: %d %s", i, rc, err.msg);
	}
	bpfvm_helper_proto ok = { .sz = sizeof ok };
	CHECK(bpfvm_helpers_set_proto(h, 77, &ok, &err) == -ENOENT, "not in the table: %s", err.msg);
	bpfvm_helpers *k = bpfvm_helpers_new_kernel(&err);
	CHECK(bpfvm_helpers_set_proto(k, BPF_FUNC_ktime_get_ns, &ok, &err) == -EINVAL && strstr(err.msg, "kernel's"),
	      "a kernel helper keeps its prototype: %s", err.msg);
	bpfvm_helpers_free(k);
	bpfvm_helpers_free(h);
}

static void frozen_tables(void)
{
	bpfvm_error err = { 0 };
	bpfvm_helpers *h = bpfvm_helpers_new_kernel(&err);
	bpfvm_insn p[] = { { .opcode = 0x85, .imm = BPF_FUNC_ktime_get_ns }, { .opcode = 0x95 } };
	bpfvm_program *prog = NULL;
	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = h);
	CHECK(bpfvm_program_load(p, 2, &lo, &prog, &err) == 0, "load: %s", err.msg);
	int rc = bpfvm_helpers_add(h, MY_SUM, "my_sum", my_sum, &err);
	CHECK(rc == -EBUSY && strstr(err.msg, "in use"), "add after a load: %d %s", rc, err.msg);
	rc = bpfvm_helpers_add(h, BPF_FUNC_ktime_get_ns, "mine", my_sum, &err);
	CHECK(rc == -EBUSY, "replace after a load: %d", rc);
	bpfvm_helper_proto proto = { .sz = sizeof proto };
	CHECK(bpfvm_helpers_set_proto(h, MY_SUM, &proto, &err) == -EBUSY, "set_proto after a load");
	CHECK(bpfvm_helpers_set_trace(h, NULL, NULL) == -EBUSY, "set_trace after a load");
	/* the program still calls the kernel's function */
	uint64_t r0 = 0;
	BPFVM_OPTS(bpfvm_run_opts, ro, .mode = BPFVM_CHECKED);
	CHECK(bpfvm_program_run(prog, &ro, &r0, &err) == 0 && r0 != 36, "still the kernel's helper");
	bpfvm_program_free(prog);
	bpfvm_helpers_free(h);
}

static uint64_t tai_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_TAI, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The helper added in the same change as docs/ARCHITECTURE.md's recipe:
 * one descriptor, and the verifier, loader and engines know it. */
static void ktime_get_tai_ns(void)
{
	bpfvm_error err = { 0 };
	bpfvm_helpers *h = bpfvm_helpers_new_kernel(&err);
	bpfvm_insn p[] = { { .opcode = 0x85, .imm = BPF_FUNC_ktime_get_tai_ns }, { .opcode = 0x95 } };
	CHECK(verify(p, 2, h, BPF_PROG_TYPE_XDP, &err) == 0, "verified: %s", err.msg);
	bpfvm_program *prog = NULL;
	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = h, .jit = true, .prog_type = BPF_PROG_TYPE_XDP);
	CHECK(bpfvm_program_load(p, 2, &lo, &prog, &err) == 0, "load: %s", err.msg);
	for (int engine = BPFVM_ENGINE_INTERP; prog && engine <= BPFVM_ENGINE_JIT; engine++) {
		uint64_t r0 = 0, before = tai_ns();
		BPFVM_OPTS(bpfvm_run_opts, ro, .mode = BPFVM_UNCHECKED, .engine = (bpfvm_engine)engine);
		int rc = bpfvm_program_run(prog, &ro, &r0, &err);
		uint64_t after = tai_ns();
		CHECK(rc == 0 && r0 >= before && r0 <= after, "engine %d: %llu in [%llu, %llu]", engine,
		      (unsigned long long)r0, (unsigned long long)before, (unsigned long long)after);
	}
	bpfvm_program_free(prog);
	bpfvm_helpers_free(h);
}

int main(void)
{
	embedder_helper_without_proto();
	embedder_helper_with_proto();
	proto_program_types();
	embedder_map_helper();
	bad_protos();
	frozen_tables();
	ktime_get_tai_ns();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
