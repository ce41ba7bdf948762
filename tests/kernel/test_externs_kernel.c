/*
 * test_externs_kernel.c - tests/externs/kconfig.c opened with the same
 * extra Kconfig text by bpfvm and by libbpf (which loads it into the
 * running kernel and test-runs it there): the .kconfig map (libbpf's
 * layout and values: LINUX_KERNEL_VERSION, the running kernel's
 * CONFIG_BPF_SYSCALL, the caller's values of every type) and the .bss the
 * program copied them into must be the same bytes, and so must r0.  Where
 * bpf() is unavailable the test is skipped (77), saying so.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpfvm/instance.h"
#include "support/check.h"

#ifndef BPFVM_TEST_EXTERNS_DIR
#define BPFVM_TEST_EXTERNS_DIR "build/tests/externs"
#endif
#define OBJ BPFVM_TEST_EXTERNS_DIR "/kconfig.bpf.o"

static const char kconfig_text[] =
	"CONFIG_BPFVM_TEST_TRI=m\n"
	"CONFIG_BPFVM_TEST_CHAR=65\n"
	"CONFIG_BPFVM_TEST_STR=\"hello world\"\n"
	"CONFIG_BPFVM_TEST_U64=0x100000000\n"
	"CONFIG_BPFVM_TEST_S16=-2\n"
	"CONFIG_BPFVM_TEST_U8=255\n"
	"CONFIG_BPFVM_TEST_BOOL=y\n";

#define MAX_VALUE 256

struct side {
	uint8_t kconfig[MAX_VALUE], bss[MAX_VALUE];
	uint32_t kconfig_size, bss_size;
	uint32_t retval;
};

static uint8_t packet[64];

static int run_kernel(struct side *k)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .kconfig = kconfig_text);
	struct bpf_object *obj = bpf_object__open_file(OBJ, &oo);
	if (!obj)
		return -errno;
	int rc = bpf_object__load(obj);
	struct bpf_program *prog = bpf_object__next_program(obj, NULL);
	if (!rc && prog) {
		LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = packet, .data_size_in = sizeof packet);
		rc = bpf_prog_test_run_opts(bpf_program__fd(prog), &t);
		k->retval = t.retval;
	}
	struct bpf_map *m;
	uint32_t zero = 0;
	bpf_object__for_each_map(m, obj) {
		const char *name = bpf_map__name(m);
		bool kc = strstr(name, ".kconfig") != NULL, bss = strstr(name, ".bss") != NULL;
		if (rc || (!kc && !bss) || bpf_map__value_size(m) > MAX_VALUE)
			continue;
		rc = bpf_map_lookup_elem(bpf_map__fd(m), &zero, kc ? k->kconfig : k->bss);
		*(kc ? &k->kconfig_size : &k->bss_size) = bpf_map__value_size(m);
	}
	bpf_object__close(obj);
	return rc;
}

static int run_bpfvm(struct side *b, bpfvm_error *err)
{
	BPFVM_OPTS(bpfvm_object_open_opts, oo, .kconfig = kconfig_text);
	bpfvm_object *obj = NULL;
	bpfvm_instance *inst = NULL;
	int rc = bpfvm_object_open_file(OBJ, &oo, &obj, err);
	BPFVM_OPTS(bpfvm_instance_opts, io, .verify = true, .no_pins = true);
	if (!rc)
		rc = bpfvm_instance_new(obj, &io, &inst, err);
	if (!rc) {
		uint8_t out[sizeof packet + 4096];
		size_t nr;
		const bpfvm_region *regions = bpfvm_instance_regions(inst, &nr);
		BPFVM_OPTS(bpfvm_test_run, t, .data_in = packet, .data_size_in = sizeof packet, .data_out = out,
		           .data_size_out = sizeof out, .mode = BPFVM_UNCHECKED, .regions = regions, .region_count = nr);
		rc = bpfvm_program_test_run(bpfvm_instance_prog(inst, 0), &t, err);
		b->retval = (uint32_t)t.retval;
	}
	for (size_t i = 0; !rc && i < bpfvm_object_map_count(obj); i++) {
		const bpfvm_object_map *m = bpfvm_object_map_at(obj, i);
		bool kc = m->origin == BPFVM_MAP_KCONFIG, bss = m->origin == BPFVM_MAP_BSS;
		if ((!kc && !bss) || m->attrs.value_size > MAX_VALUE)
			continue;
		uint32_t zero = 0;
		rc = bpfvm_map_lookup(bpfvm_instance_map(inst, i), &zero, kc ? b->kconfig : b->bss, 0, err);
		*(kc ? &b->kconfig_size : &b->bss_size) = m->attrs.value_size;
	}
	bpfvm_instance_free(inst);
	bpfvm_object_free(obj);
	return rc;
}

static void compare(const char *what, const uint8_t *k, uint32_t ksz, const uint8_t *b, uint32_t bsz)
{
	if (!CHECK(ksz == bsz && ksz > 0, "%s: kernel %u bytes, bpfvm %u", what, ksz, bsz))
		return;
	for (uint32_t i = 0; i < ksz; i++)
		if (!CHECK(k[i] == b[i], "%s: byte %u: kernel %#x, bpfvm %#x", what, i, k[i], b[i]))
			return;
}

int main(void)
{
	libbpf_set_print(NULL);
	struct bpf_insn ret0[] = { { .code = 0xb7 }, { .code = 0x95 } };
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, NULL, "GPL", ret0, 2, NULL);
	if (fd < 0) {
		printf("skipped: bpf() unavailable: %s\n", strerror(errno));
		return 77;
	}
	close(fd);
	static struct side k, b;
	bpfvm_error err = { 0 };
	int krc = run_kernel(&k), brc = run_bpfvm(&b, &err);
	CHECK(krc == 0, "libbpf and the kernel: %d (%s)", krc, strerror(-krc));
	CHECK(brc == 0, "bpfvm: %d (%s)", brc, err.msg);
	if (krc == 0 && brc == 0) {
		compare(".kconfig", k.kconfig, k.kconfig_size, b.kconfig, b.kconfig_size);
		compare(".bss", k.bss, k.bss_size, b.bss, b.bss_size);
		CHECK(k.retval == b.retval, "r0: kernel %u, bpfvm %u", k.retval, b.retval);
	}
	return check_summary();
}
