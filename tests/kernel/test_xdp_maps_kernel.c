/*
 * test_xdp_maps_kernel.c - the XDP redirect maps and helpers against the
 * running kernel's (issue 15, item 3).
 *
 * Owns: the comparisons, each side by side on a kernel map (raw bpf()) and
 * a bpfvm map of the same definition:
 *   - creation of devmap, devmap_hash, cpumap and xskmap over key and value
 *     sizes, max_entries (cpumap up to the kernel's NR_CPUS) and every flag;
 *   - scripted and seeded random user-space operations on each (update with
 *     a real device, a missing one, ifindex 0, a devmap program fd of -1 or
 *     0, every flag; lookup, delete, get_next_key and the full key order),
 *     comparing every return code and every value copied out; the xskmap's
 *     with an AF_XDP socket, another socket, a closed descriptor;
 *   - the verdict of an XDP program calling bpf_redirect_map (entries
 *     present and missing, each action in the flags, BPF_F_BROADCAST,
 *     unknown flags) and bpf_redirect, and of a tc program calling
 *     bpf_redirect, in BPF_PROG_TEST_RUN and in bpfvm's test run;
 *   - the verifier's answer on what a program may do with these maps:
 *     look up a devmap or xskmap entry and read it, write it, update a
 *     devmap from the program, look up a cpumap entry.
 *
 * Output: one FAIL line per mismatch, then "N passed, M failed".  Exit 77
 * if bpf() cannot create a devmap here.  BPFVM_XDP_MAPS_SEED changes the seed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/maps.h"
#include "bpfvm/verifier.h"
#include "support/check.h"
#include "support/maps_test.h"
#include "support/kbpf.h"
#include "support/xorshift.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif

#define NO_DEVICE 0x7ffffff0u

static uint64_t rng_state = 0x5eed;

static uint64_t rnd(void)
{
	return xorshift64(&rng_state);
}

/* ---- the kernel side -------------------------------------------------------- */

static int kcreate(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries, uint32_t flags)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.map_type = type;
	a.key_size = key_size;
	a.value_size = value_size;
	a.max_entries = max_entries;
	a.map_flags = flags;
	return kbpf(BPF_MAP_CREATE, &a);
}

/* ---- pairs ------------------------------------------------------------------- */

struct pair {
	int kfd;
	bpfvm_map *m;
	const char *what;
};

static bool pair_create(struct pair *p, uint32_t type, uint32_t value_size, uint32_t max_entries, const char *what)
{
	p->what = what;
	p->kfd = kcreate(type, 4, value_size, max_entries, 0);
	p->m = mt_named_map(type, 4, value_size, max_entries, 0, "xdp_pair");
	if (!CHECK(p->kfd >= 0 && p->m, "%s: create: kernel %d, bpfvm %s", what, p->kfd, p->m ? "ok" : "failed")) {
		if (p->kfd >= 0)
			close(p->kfd);
		bpfvm_map_put(p->m);
		return false;
	}
	return true;
}

static void pair_close(struct pair *p)
{
	close(p->kfd);
	bpfvm_map_put(p->m);
}

static void cmp_update(struct pair *p, uint32_t key, const uint32_t value[2], uint64_t flags)
{
	bpfvm_error err;
	int k = kop(BPF_MAP_UPDATE_ELEM, p->kfd, &key, (void *)value, flags);
	int b = bpfvm_map_update(p->m, &key, value, flags, &err);
	CHECK(k == b, "%s: update key %u value {%u, %d} flags %llu: kernel %d, bpfvm %d (%s)", p->what, key, value[0],
	      (int)value[1], (unsigned long long)flags, k, b, b ? err.msg : "");
}

static void cmp_lookup(struct pair *p, uint32_t key)
{
	bpfvm_error err;
	uint32_t kv[2] = { 0xdead, 0xdead }, bv[2] = { 0xdead, 0xdead };
	int k = kop(BPF_MAP_LOOKUP_ELEM, p->kfd, &key, kv, 0);
	int b = bpfvm_map_lookup(p->m, &key, bv, 0, &err);
	CHECK(k == b && (k != 0 || memcmp(kv, bv, sizeof kv) == 0),
	      "%s: lookup key %u: kernel %d {%u, %u}, bpfvm %d {%u, %u}", p->what, key, k, kv[0], kv[1], b, bv[0], bv[1]);
}

static void cmp_delete(struct pair *p, uint32_t key)
{
	bpfvm_error err;
	int k = kop(BPF_MAP_DELETE_ELEM, p->kfd, &key, NULL, 0);
	int b = bpfvm_map_delete(p->m, &key, &err);
	CHECK(k == b, "%s: delete key %u: kernel %d, bpfvm %d", p->what, key, k, b);
}

/* get_next_key from every key (NULL first), and the whole order. */
static void cmp_order(struct pair *p, uint32_t max_key)
{
	bpfvm_error err;
	uint32_t kn = 0xdead, bn = 0xdead;
	int k = knext(p->kfd, NULL, &kn), b = bpfvm_map_get_next_key(p->m, NULL, &bn, &err);
	CHECK(k == b && (k || kn == bn), "%s: first key: kernel %d %u, bpfvm %d %u", p->what, k, kn, b, bn);
	for (uint32_t key = 0; key <= max_key; key++) {
		kn = bn = 0xdead;
		k = knext(p->kfd, &key, &kn);
		b = bpfvm_map_get_next_key(p->m, &key, &bn, &err);
		CHECK(k == b && (k || kn == bn), "%s: next after %u: kernel %d %u, bpfvm %d %u", p->what, key, k, kn, b,
		      bn);
	}
}

/* ---- creation ----------------------------------------------------------------- */

static void cmp_create(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries, uint32_t flags)
{
	int k = kcreate(type, key_size, value_size, max_entries, flags);
	if (k >= 0)
		close(k);
	bpfvm_map *m;
	bpfvm_error err;
	int b = mt_try_map(type, key_size, value_size, max_entries, flags, NULL, &m, &err);
	bpfvm_map_put(m);
	CHECK((k >= 0 && b == 0) || k == b, "create %s key %u value %u max %u flags 0x%x: kernel %d, bpfvm %d (%s)",
	      bpfvm_map_type_name(type), key_size, value_size, max_entries, flags, k < 0 ? k : 0, b, b ? err.msg : "");
}

static void test_creation(void)
{
	static const uint32_t types[] = { BPF_MAP_TYPE_DEVMAP, BPF_MAP_TYPE_DEVMAP_HASH, BPF_MAP_TYPE_CPUMAP,
		                          BPF_MAP_TYPE_XSKMAP };
	static const uint32_t sizes[] = { 0, 2, 4, 6, 8, 12 };
	static const uint32_t entries[] = { 0, 1, 64, 255, 256, 257, 8192, 100000 };
	for (size_t t = 0; t < 4; t++) {
		for (size_t k = 0; k < 6; k++)
			for (size_t v = 0; v < 6; v++)
				cmp_create(types[t], sizes[k], sizes[v], 4, 0);
		for (size_t e = 0; e < 8; e++)
			cmp_create(types[t], 4, 4, entries[e], 0);
		for (int f = 0; f < 16; f++)
			cmp_create(types[t], 4, 4, 4, 1u << f);
	}
}

/* ---- user-space operations ------------------------------------------------------ */

static void test_devmap_script(uint32_t type)
{
	struct pair p;
	if (!pair_create(&p, type, 8, 4, bpfvm_map_type_name(type)))
		return;
	const uint32_t lo[2] = { 1, (uint32_t)-1 }, lo_fd0[2] = { 1, 0 }, none[2] = { NO_DEVICE, (uint32_t)-1 },
		       zero[2] = { 0, (uint32_t)-1 }, zero_fd[2] = { 0, 7 };
	for (uint32_t key = 0; key < 6; key++)
		cmp_lookup(&p, key);
	cmp_order(&p, 5);
	cmp_delete(&p, 1);
	cmp_delete(&p, 9);
	cmp_update(&p, 1, lo, BPF_EXIST);
	cmp_update(&p, 1, lo, BPF_NOEXIST);
	cmp_update(&p, 2, lo_fd0, BPF_ANY);
	cmp_update(&p, 3, none, BPF_ANY);
	cmp_update(&p, 3, zero_fd, BPF_ANY);
	cmp_update(&p, 2, lo, 4);
	cmp_update(&p, 4, lo, BPF_ANY);
	cmp_update(&p, 0, lo, BPF_ANY);
	for (uint32_t key = 0; key < 6; key++)
		cmp_lookup(&p, key);
	cmp_order(&p, 5);
	cmp_update(&p, 0, zero, BPF_ANY);     /* array: empties; hash: no device 0 */
	cmp_update(&p, 3, lo, BPF_ANY);
	cmp_update(&p, 7, lo, BPF_ANY);       /* hash: the fifth entry of four */
	cmp_delete(&p, 2);
	cmp_delete(&p, 2);
	for (uint32_t key = 0; key < 8; key++)
		cmp_lookup(&p, key);
	cmp_order(&p, 7);
	pair_close(&p);
}

/* Seeded random updates and deletes on keys that share hash buckets. */
static void test_devmap_random(uint32_t type, uint32_t value_size)
{
	struct pair p;
	if (!pair_create(&p, type, value_size, 16, bpfvm_map_type_name(type)))
		return;
	static const uint32_t ifindexes[] = { 1, 1, 1, 0, NO_DEVICE };
	static const uint32_t fds[] = { (uint32_t)-1, 0 };
	for (int op = 0; op < 400; op++) {
		uint32_t key = (uint32_t)(rnd() % 40), value[2] = { ifindexes[rnd() % 5], fds[rnd() % 2] };
		switch (rnd() % 4) {
		case 0:
		case 1: cmp_update(&p, key, value, rnd() % 4); break;
		case 2: cmp_delete(&p, key); break;
		default: cmp_lookup(&p, key); break;
		}
		if (op % 50 == 49)
			cmp_order(&p, 40);
	}
	pair_close(&p);
}

static void test_cpumap_script(void)
{
	struct pair p;
	if (!pair_create(&p, BPF_MAP_TYPE_CPUMAP, 8, 64, "cpumap"))
		return;
	const uint32_t q[2] = { 64, (uint32_t)-1 }, q0fd[2] = { 64, 0 }, big[2] = { 16385, (uint32_t)-1 },
		       max[2] = { 16384, (uint32_t)-1 }, empty[2] = { 0, (uint32_t)-1 };
	unsigned ncpus = bpfvm_map_possible_cpus();
	cmp_lookup(&p, 0);
	cmp_update(&p, 0, q, BPF_ANY);
	cmp_update(&p, 0, q, BPF_NOEXIST);
	cmp_update(&p, 0, q0fd, BPF_EXIST);
	cmp_update(&p, 0, q, 4);
	cmp_update(&p, 0, big, BPF_ANY);
	cmp_update(&p, ncpus - 1, max, BPF_ANY);
	cmp_update(&p, ncpus, q, BPF_ANY);    /* not a possible CPU */
	cmp_update(&p, 63, q, BPF_ANY);
	cmp_update(&p, 64, q, BPF_ANY);
	for (uint32_t key = 0; key < 66; key++)
		cmp_lookup(&p, key);
	cmp_update(&p, 0, empty, BPF_ANY);
	cmp_lookup(&p, 0);
	cmp_delete(&p, 1);
	cmp_delete(&p, 64);
	cmp_order(&p, 65);
	pair_close(&p);
}

static void test_xskmap_script(void)
{
	struct pair p;
	if (!pair_create(&p, BPF_MAP_TYPE_XSKMAP, 4, 4, "xskmap"))
		return;
	int xsk_a = socket(AF_XDP, SOCK_RAW, 0), xsk_b = socket(AF_XDP, SOCK_RAW, 0);
	int udp = socket(AF_INET, SOCK_DGRAM, 0), closed = dup(udp);
	close(closed);
	int pipes[2];
	if (pipe(pipes) != 0)
		pipes[0] = pipes[1] = -1;
	if (xsk_a < 0 || xsk_b < 0) {
		printf("skipped: xskmap with sockets: no AF_XDP socket here\n");
	} else {
		uint32_t a[2] = { (uint32_t)xsk_a }, b[2] = { (uint32_t)xsk_b };
		uint32_t u[2] = { (uint32_t)udp }, c[2] = { (uint32_t)closed }, pp[2] = { (uint32_t)pipes[0] };
		uint32_t minus[2] = { (uint32_t)-1 };
		cmp_update(&p, 0, u, BPF_ANY);
		cmp_update(&p, 0, c, BPF_ANY);
		cmp_update(&p, 0, minus, BPF_ANY);
		cmp_update(&p, 0, pp, BPF_ANY);
		cmp_update(&p, 0, u, 4);
		cmp_update(&p, 0, a, BPF_EXIST);
		cmp_update(&p, 0, a, BPF_ANY);
		cmp_update(&p, 0, a, BPF_NOEXIST);   /* the same socket: no error */
		cmp_update(&p, 0, b, BPF_NOEXIST);
		cmp_update(&p, 1, b, BPF_EXIST);
		cmp_update(&p, 1, b, BPF_NOEXIST);
		cmp_update(&p, 0, b, BPF_EXIST);
		cmp_update(&p, 4, a, BPF_ANY);
		cmp_lookup(&p, 0);
		cmp_lookup(&p, 9);
		cmp_delete(&p, 0);
		cmp_delete(&p, 0);
		cmp_delete(&p, 4);
		cmp_order(&p, 5);
	}
	close(pipes[0]);
	close(pipes[1]);
	close(udp);
	if (xsk_a >= 0)
		close(xsk_a);
	if (xsk_b >= 0)
		close(xsk_b);
	pair_close(&p);
}

/* ---- programs ------------------------------------------------------------------ */

struct code {
	struct bpf_insn i[16];
	size_t n;
};

static void put(struct code *c, uint8_t op, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	c->i[c->n++] = (struct bpf_insn){ .code = op, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
}

static void put_imm64(struct code *c, uint8_t reg, uint8_t src, uint64_t v)
{
	put(c, BPF_LD | BPF_DW | BPF_IMM, reg, src, 0, (int32_t)(uint32_t)v);
	put(c, 0, 0, 0, 0, (int32_t)(uint32_t)(v >> 32));
}

/* How a program names its map: the kernel's fd, bpfvm's verifier's index,
 * bpfvm's run's address. */
enum map_ref { REF_KERNEL, REF_VERIFY, REF_RUN };

static void put_map(struct code *c, uint8_t reg, enum map_ref ref, const struct pair *p)
{
	if (ref == REF_RUN)
		put_imm64(c, reg, 0, (uint64_t)(uintptr_t)p->m);
	else
		put_imm64(c, reg, BPF_PSEUDO_MAP_FD, ref == REF_KERNEL ? (uint64_t)p->kfd : 0);
}

/* r0 = bpf_redirect_map(map, key, flags), or bpf_redirect(key, flags) when p is NULL. */
static void build_redirect(struct code *c, enum map_ref ref, const struct pair *p, uint64_t key, uint64_t flags)
{
	c->n = 0;
	int arg = 1;
	if (p)
		put_map(c, (uint8_t)arg++, ref, p);
	put_imm64(c, (uint8_t)arg++, 0, key);
	put_imm64(c, (uint8_t)arg, 0, flags);
	put(c, BPF_JMP | BPF_CALL, 0, 0, 0, p ? BPF_FUNC_redirect_map : BPF_FUNC_redirect);
	put(c, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static int krun(const struct code *c, uint32_t type, uint32_t *ret)
{
	int fd = kprog_load(type, c->i, c->n);
	if (fd < 0)
		return fd;
	uint8_t pkt[64] = { 0 };
	int rc = kprog_test_run(fd, pkt, sizeof pkt, NULL, 0, NULL, ret);
	close(fd);
	return rc;
}

static bpfvm_helpers *helpers;

static int brun(const struct code *c, uint32_t type, const struct pair *p, uint32_t *ret)
{
	bpfvm_map *m = p ? p->m : NULL;
	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = helpers, .prog_type = type, .maps = &m, .map_count = m ? 1 : 0);
	bpfvm_program *prog = NULL;
	bpfvm_error err;
	int rc = bpfvm_program_load((const bpfvm_insn *)c->i, c->n, &lo, &prog, &err);
	if (rc)
		return rc;
	uint8_t pkt[64] = { 0 };
	BPFVM_OPTS(bpfvm_test_run, t, .data_in = pkt, .data_size_in = sizeof pkt, .mode = BPFVM_CHECKED);
	rc = bpfvm_program_test_run(prog, &t, &err);
	bpfvm_program_free(prog);
	*ret = (uint32_t)t.retval;
	return rc;
}

static void cmp_verdict(uint32_t type, const struct pair *p, uint64_t key, uint64_t flags)
{
	struct code kc, bc;
	build_redirect(&kc, REF_KERNEL, p, key, flags);
	build_redirect(&bc, REF_RUN, p, key, flags);
	uint32_t kret = 0xdead, bret = 0xbeef;
	int k = krun(&kc, type, &kret), b = brun(&bc, type, p, &bret);
	CHECK(k == 0 && b == 0 && kret == bret, "%s %s key %llu flags 0x%llx: kernel %d ret %u, bpfvm %d ret %u",
	      type == BPF_PROG_TYPE_XDP ? "xdp" : "tc", p ? p->what : "bpf_redirect", (unsigned long long)key,
	      (unsigned long long)flags, k, kret, b, bret);
}

static void test_verdicts(void)
{
	static const uint64_t flags[] = { 0, 1, 2, 3, 4, 8, 16, 8 | 16, 8 | 2, 32, 1ull << 40 };
	struct pair dev, hash, cpu, xsk;
	if (!pair_create(&dev, BPF_MAP_TYPE_DEVMAP, 4, 4, "devmap") ||
	    !pair_create(&hash, BPF_MAP_TYPE_DEVMAP_HASH, 4, 4, "devmap_hash") ||
	    !pair_create(&cpu, BPF_MAP_TYPE_CPUMAP, 4, 2, "cpumap") ||
	    !pair_create(&xsk, BPF_MAP_TYPE_XSKMAP, 4, 4, "xskmap"))
		return;
	const uint32_t lo[2] = { 1 }, q[2] = { 64 };
	cmp_update(&dev, 1, lo, BPF_ANY);
	cmp_update(&hash, 1, lo, BPF_ANY);
	cmp_update(&cpu, 0, q, BPF_ANY);
	int sock = socket(AF_XDP, SOCK_RAW, 0);
	uint32_t s[2] = { (uint32_t)sock };
	if (sock >= 0)
		cmp_update(&xsk, 1, s, BPF_ANY);
	const struct pair *maps[] = { &dev, &hash, &cpu, &xsk };
	for (size_t m = 0; m < 4; m++)
		for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++)
			for (uint64_t key = 0; key < 3; key++)
				cmp_verdict(BPF_PROG_TYPE_XDP, maps[m], key, flags[f]);
	cmp_verdict(BPF_PROG_TYPE_XDP, &dev, 1ull << 32 | 1, 0);
	for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
		cmp_verdict(BPF_PROG_TYPE_XDP, NULL, 3, flags[f]);
		cmp_verdict(BPF_PROG_TYPE_SCHED_CLS, NULL, 3, flags[f]);
	}
	if (sock >= 0)
		close(sock);
	pair_close(&dev);
	pair_close(&hash);
	pair_close(&cpu);
	pair_close(&xsk);
}

/* ---- what the verifier lets a program do with these maps ------------------------ */

enum use { READ_ENTRY, WRITE_ENTRY, READ_BYTE, UPDATE_FROM_PROG };

/* Looks key 0 up and reads or writes what it gets, or updates the map. */
static void build_use(struct code *c, enum map_ref ref, const struct pair *p, enum use use)
{
	c->n = 0;
	put(c, BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, 0);
	put(c, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
	put(c, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4);
	put_map(c, BPF_REG_1, ref, p);
	if (use == UPDATE_FROM_PROG) {
		put(c, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0);
		put(c, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, 0);
		put(c, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_update_elem);
	} else {
		put(c, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
		put(c, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 2, 0);
		if (use == WRITE_ENTRY)
			put(c, BPF_ST | BPF_MEM | BPF_W, BPF_REG_0, 0, 0, 5);
		else
			put(c, BPF_LDX | BPF_MEM | (use == READ_BYTE ? BPF_B : BPF_W), BPF_REG_0, BPF_REG_0, 0, 0);
		put(c, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	}
	put(c, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 2);
	put(c, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static void cmp_use(const struct pair *p, enum use use)
{
	static const char *const names[] = { "read an entry", "write an entry", "read a byte", "update from a program" };
	struct code kc, bc;
	build_use(&kc, REF_KERNEL, p, use);
	build_use(&bc, REF_VERIFY, p, use);
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.prog_type = BPF_PROG_TYPE_XDP;
	a.insns = (uint64_t)(uintptr_t)kc.i;
	a.insn_cnt = (uint32_t)kc.n;
	a.license = (uint64_t)(uintptr_t)"GPL";
	int kfd = kbpf(BPF_PROG_LOAD, &a);
	if (kfd >= 0)
		close(kfd);
	bpfvm_map *m = p->m;
	BPFVM_OPTS(bpfvm_verify_opts, vo, .prog_type = BPF_PROG_TYPE_XDP, .helpers = helpers, .maps = &m,
	           .map_count = 1);
	bpfvm_error err;
	int b = bpfvm_verify((const bpfvm_insn *)bc.i, bc.n, &vo, NULL, &err);
	CHECK((kfd >= 0) == (b == 0), "%s: %s: kernel %s, bpfvm %s (%s)", p->what, names[use],
	      kfd >= 0 ? "accepts" : "refuses", b == 0 ? "accepts" : "refuses", b ? err.msg : "");
}

static void test_verifier(void)
{
	struct pair dev, hash, cpu, xsk;
	if (!pair_create(&dev, BPF_MAP_TYPE_DEVMAP, 8, 4, "devmap") ||
	    !pair_create(&hash, BPF_MAP_TYPE_DEVMAP_HASH, 4, 4, "devmap_hash") ||
	    !pair_create(&cpu, BPF_MAP_TYPE_CPUMAP, 4, 2, "cpumap") ||
	    !pair_create(&xsk, BPF_MAP_TYPE_XSKMAP, 4, 4, "xskmap"))
		return;
	const struct pair *maps[] = { &dev, &hash, &cpu, &xsk };
	for (size_t i = 0; i < 4; i++)
		for (int use = READ_ENTRY; use <= UPDATE_FROM_PROG; use++)
			cmp_use(maps[i], (enum use)use);
	pair_close(&dev);
	pair_close(&hash);
	pair_close(&cpu);
	pair_close(&xsk);
}

int main(void)
{
	int fd = kcreate(BPF_MAP_TYPE_DEVMAP, 4, 4, 1, 0);
	if (fd < 0) {
		printf("skipped: bpf(BPF_MAP_CREATE) of a devmap failed here (%s)\n", strerror(-fd));
		return 77;
	}
	close(fd);
	const char *seed = getenv("BPFVM_XDP_MAPS_SEED");
	if (seed)
		rng_state = strtoull(seed, NULL, 0) | 1;
	bpfvm_error err;
	helpers = bpfvm_helpers_new_kernel(&err);
	if (!helpers) {
		printf("FAIL helper table: %s\n", err.msg);
		return 1;
	}
	test_creation();
	test_devmap_script(BPF_MAP_TYPE_DEVMAP);
	test_devmap_script(BPF_MAP_TYPE_DEVMAP_HASH);
	test_devmap_random(BPF_MAP_TYPE_DEVMAP, 4);
	test_devmap_random(BPF_MAP_TYPE_DEVMAP_HASH, 8);
	test_cpumap_script();
	test_xskmap_script();
	test_verdicts();
	test_verifier();
	bpfvm_helpers_free(helpers);
	return check_summary();
}
