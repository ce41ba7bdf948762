/*
 * test_xdp_redirect.c - the maps and helpers an XDP program redirects
 * with (issue 15, item 3): devmap, devmap_hash, cpumap and xskmap from user
 * space (the kernel's errnos, as tests/kernel/test_xdp_maps_kernel.c
 * compares), and bpf_redirect / bpf_redirect_map in test runs of both
 * engines: their return values and the redirect record the host reads
 * afterwards (run/redirect.h); a deleted device's entries emptied
 * (map_devmap_forget_device, as the kernel's dev_map_notification).
 */
#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/maps.h"
#include "maps/xdp_maps.h"
#include "run/redirect.h"
#include "support/check.h"
#include "support/maps_test.h"
#include "support/prog_build.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif

enum { REDIRECT = 23, REDIRECT_MAP = 51 };

static bpfvm_helpers *helpers;

/* r0 = bpf_redirect_map(map, key, flags), or bpf_redirect(key, flags)
 * without a map; one XDP test run in `engine`.  Returns r0, or -1. */
static long run_redirect(bpfvm_map *map, uint64_t key, uint64_t flags, bpfvm_engine engine)
{
	struct prog p = { .n = 0 };
	int arg = 1;
	if (map)
		emit_imm64(&p, (uint8_t)arg++, (uint64_t)(uintptr_t)map);
	emit_imm64(&p, (uint8_t)arg++, key);
	emit_imm64(&p, (uint8_t)arg, flags);
	emit(&p, insn(0x85, 0, 0, 0, map ? REDIRECT_MAP : REDIRECT));
	emit(&p, insn(0x95, 0, 0, 0, 0));
	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = helpers, .jit = true, .prog_type = BPF_PROG_TYPE_XDP,
	           .maps = &map, .map_count = map ? 1 : 0);
	bpfvm_program *prog = NULL;
	bpfvm_error err = { 0 };
	if (!CHECK(bpfvm_program_load(p.i, p.n, &lo, &prog, &err) == 0, "load: %s", err.msg))
		return -1;
	uint8_t pkt[64] = { 0 };
	BPFVM_OPTS(bpfvm_test_run, t, .data_in = pkt, .data_size_in = sizeof pkt, .mode = BPFVM_CHECKED,
	           .engine = engine);
	int rc = bpfvm_program_test_run(prog, &t, &err);
	CHECK(rc == 0, "test run: %s", err.msg);
	bpfvm_program_free(prog);
	return rc ? -1 : (long)t.retval;
}

static void expect(bpfvm_map *map, uint64_t key, uint64_t flags, long want, enum run_redirect_kind kind,
                   struct run_redirect *got, const char *what)
{
	static const bpfvm_engine engines[2] = { BPFVM_ENGINE_INTERP, BPFVM_ENGINE_JIT };
	for (int e = 0; e < 2; e++) {
		run_redirect_clear();
		long r0 = run_redirect(map, key, flags, engines[e]);
		CHECK(r0 == want, "%s (engine %d): returned %ld, want %ld", what, e, r0, want);
		run_redirect_take(got);
		CHECK(got->kind == kind, "%s (engine %d): record %s, want %s", what, e, run_redirect_kind_name(got->kind),
		      run_redirect_kind_name(kind));
	}
}

static void test_bpf_redirect(void)
{
	struct run_redirect r;
	expect(NULL, 7, 0, XDP_REDIRECT, RUN_REDIRECT_IFINDEX, &r, "bpf_redirect(7, 0)");
	CHECK(r.ifindex == 7 && r.map == NULL, "ifindex %u", r.ifindex);
	expect(NULL, 7, BPF_F_INGRESS, XDP_ABORTED, RUN_REDIRECT_NONE, &r, "bpf_redirect with a flag in XDP");
}

static uint32_t devval[2];

static void test_devmap(uint32_t type)
{
	bpfvm_error err;
	bpfvm_map *m = mt_named_map(type, 4, 8, 4, 0, "tx_ports");
	if (!m)
		return;
	uint32_t key = 1;
	devval[0] = 1;            /* lo */
	devval[1] = (uint32_t)-1; /* no devmap program */
	CHECK_RC(bpfvm_map_update(m, &key, devval, 0, &err), 0, "devmap entry for lo");
	devval[0] = 0x7ffffff0;
	CHECK_RC(bpfvm_map_update(m, &key, devval, 0, &err), -EINVAL, "devmap entry for no device");
	devval[0] = 1;
	devval[1] = 3;
	int rc = bpfvm_map_update(m, &key, devval, 0, &err);
	CHECK(rc == -EINVAL && strstr(err.msg, "not supported"), "devmap program refused loudly: %d %s", rc, err.msg);
	uint32_t out[2] = { 9, 9 };
	CHECK(bpfvm_map_lookup(m, &key, out, 0, &err) == 0 && out[0] == 1 && out[1] == 0, "lookup gives {1, 0}: %u %u",
	      out[0], out[1]);
	bpfvm_map_info info;
	bpfvm_map_info_get(m, &info);
	CHECK(info.flags & BPFVM_F_RDONLY_PROG, "programs only read a devmap");

	struct run_redirect r;
	expect(m, 1, 0, XDP_REDIRECT, RUN_REDIRECT_DEVMAP, &r, "redirect_map to an entry");
	CHECK(r.map == m && r.key == 1 && r.ifindex == 1, "devmap record: key %u ifindex %u", r.key, r.ifindex);
	expect(m, 1ull << 32 | 1, 0, XDP_REDIRECT, RUN_REDIRECT_DEVMAP, &r, "the index as a u32");
	expect(m, 2, XDP_PASS, XDP_PASS, RUN_REDIRECT_NONE, &r, "missing entry: the flags' action");
	expect(m, 2, XDP_TX, XDP_TX, RUN_REDIRECT_NONE, &r, "missing entry: XDP_TX");
	expect(m, 2, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS, XDP_REDIRECT, RUN_REDIRECT_DEVMAP_BROADCAST, &r,
	       "broadcast");
	CHECK(r.map == m && r.flags == (BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS), "broadcast flags 0x%llx",
	      (unsigned long long)r.flags);
	expect(m, 1, 1u << 5, XDP_ABORTED, RUN_REDIRECT_NONE, &r, "an unknown flag");
	bpfvm_map_put(m);
}

/* Entries 1 and 2 name lo: forgetting another device leaves them, lo's
 * empties both; a map destroyed meanwhile is out of the registry. */
static void test_devmap_forget(uint32_t type)
{
	bpfvm_error err;
	bpfvm_map *m = mt_named_map(type, 4, 4, 4, 0, "ports");
	bpfvm_map *gone = mt_named_map(type, 4, 4, 4, 0, "gone");
	if (!m || !gone)
		return;
	uint32_t lo = 1, targets[4];
	for (uint32_t key = 1; key <= 2; key++) {
		CHECK_RC(bpfvm_map_update(m, &key, &lo, 0, &err), 0, "devmap entry for lo");
		CHECK_RC(bpfvm_map_update(gone, &key, &lo, 0, &err), 0, "another map's entry for lo");
	}
	bpfvm_map_put(gone);
	map_devmap_forget_device(0x7ffffff0);
	CHECK(map_devmap_targets(m, targets, 4) == 2, "another device's deletion leaves lo's entries");
	map_devmap_forget_device(lo);
	uint32_t key = 1, out;
	CHECK(map_devmap_targets(m, targets, 4) == 0, "lo's deletion empties its entries");
	CHECK_RC(bpfvm_map_lookup(m, &key, &out, 0, &err), -ENOENT, "lookup of a deleted device's entry");
	struct run_redirect r;
	expect(m, 1, XDP_DROP, XDP_DROP, RUN_REDIRECT_NONE, &r, "redirect_map to a deleted device: the fallback");
	CHECK_RC(bpfvm_map_update(m, &key, &lo, 0, &err), 0, "the entry filled again");
	expect(m, 1, XDP_DROP, XDP_REDIRECT, RUN_REDIRECT_DEVMAP, &r, "and redirected to");
	bpfvm_map_put(m);
}

static void test_cpumap(void)
{
	bpfvm_error err;
	bpfvm_map *m = mt_named_map(BPFVM_MAP_TYPE_CPUMAP, 4, 4, 2, 0, "cpus");
	if (!m)
		return;
	uint32_t key = 0, qsize = 16385;
	CHECK_RC(bpfvm_map_update(m, &key, &qsize, 0, &err), -EOVERFLOW, "qsize above 16384");
	qsize = 192;
	CHECK_RC(bpfvm_map_update(m, &key, &qsize, 0, &err), 0, "cpumap entry");
	struct run_redirect r;
	expect(m, 0, 0, XDP_REDIRECT, RUN_REDIRECT_CPU, &r, "redirect_map to a CPU");
	CHECK(r.key == 0 && r.qsize == 192, "cpu record: key %u qsize %u", r.key, r.qsize);
	expect(m, 1, XDP_DROP, XDP_DROP, RUN_REDIRECT_NONE, &r, "redirect_map to an empty CPU");
	expect(m, 0, BPF_F_BROADCAST, XDP_ABORTED, RUN_REDIRECT_NONE, &r, "broadcast is for devmaps");
	bpfvm_map_put(m);
}

static void test_xskmap(void)
{
	bpfvm_error err;
	bpfvm_map *m = mt_named_map(BPFVM_MAP_TYPE_XSKMAP, 4, 4, 4, 0, "xsks");
	if (!m)
		return;
	uint32_t key = 2, out;
	int unix_fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	uint32_t fd = (uint32_t)unix_fd;
	CHECK_RC(bpfvm_map_update(m, &key, &fd, 0, &err), -EOPNOTSUPP, "a unix socket");
	CHECK_RC(bpfvm_map_lookup(m, &key, &out, 0, &err), -EOPNOTSUPP, "lookup from user space");
	int xsk = socket(AF_XDP, SOCK_RAW, 0);
	if (xsk < 0) {
		printf("skipped: xskmap redirect: no AF_XDP socket here\n");
	} else {
		fd = (uint32_t)xsk;
		CHECK_RC(bpfvm_map_update(m, &key, &fd, 0, &err), 0, "an AF_XDP socket");
		CHECK_RC(bpfvm_map_update(m, &key, &fd, BPFVM_NOEXIST, &err), 0, "the same socket again");
		struct run_redirect r;
		expect(m, 2, 0, XDP_REDIRECT, RUN_REDIRECT_XSK, &r, "redirect_map to a socket");
		CHECK(r.key == 2 && r.xsk_fd >= 0 && r.xsk_fd != xsk, "xsk record: key %u fd %d", r.key, r.xsk_fd);
		CHECK_RC(bpfvm_map_delete(m, &key, &err), 0, "delete");
		expect(m, 2, XDP_PASS, XDP_PASS, RUN_REDIRECT_NONE, &r, "redirect_map to a deleted socket");
		close(xsk);
	}
	close(unix_fd);
	bpfvm_map_put(m);
}

int main(void)
{
	bpfvm_error err;
	helpers = bpfvm_helpers_new_kernel(&err);
	if (!helpers) {
		printf("FAIL helper table: %s\n", err.msg);
		return 1;
	}
	test_bpf_redirect();
	test_devmap(BPFVM_MAP_TYPE_DEVMAP);
	test_devmap(BPFVM_MAP_TYPE_DEVMAP_HASH);
	test_devmap_forget(BPFVM_MAP_TYPE_DEVMAP);
	test_devmap_forget(BPFVM_MAP_TYPE_DEVMAP_HASH);
	test_cpumap();
	test_xskmap();
	bpfvm_helpers_free(helpers);
	return check_summary();
}
