/*
 * test_hook_xdp.c - bpfvm_hook_run_xdp (include/bpfvm/hook.h): an XDP
 * hook run over a frame, as the live XDP host makes one from each AF_XDP
 * frame.  The packet helpers move the packet within the frame as the
 * kernel's do (bpf_xdp_adjust_head, _tail, _meta, their limits), through
 * the compiled code's direct run and through a nested run, and the
 * thread's plain runs afterwards still have no frame.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bpfvm/hook.h"
#include "support/asm_prog.h"
#include "support/check.h"

#define FRAME 4096u
#define HEADROOM 256u

static bpfvm_helpers *kernel_helpers;

static bpfvm_program *load(const char *text, bool jit)
{
	BPFVM_OPTS(bpfvm_load_opts, lo, .jit = jit, .prog_type = BPF_PROG_TYPE_XDP, .helpers = kernel_helpers);
	return asm_prog_load(text, &lo);
}

/* Pushes 4 bytes in front (written 0xaa..), takes 2 off the end, and
 * answers XDP_TX; XDP_ABORTED where a helper refuses. */
static const char push_trim[] =
	"mov %r6, %r1\n"
	"mov %r2, -4\n"
	"call 44\n"                     /* bpf_xdp_adjust_head */
	"jne %r0, 0, refused\n"
	"ldxw %r2, [%r6+0]\n"
	"ldxw %r3, [%r6+4]\n"
	"mov %r4, %r2\n"
	"add %r4, 4\n"
	"jgt %r4, %r3, refused\n"
	"stw [%r2+0], 0xaaaaaaaa\n"
	"mov %r1, %r6\n"
	"mov %r2, -2\n"
	"call 65\n"                     /* bpf_xdp_adjust_tail */
	"jne %r0, 0, refused\n"
	"mov %r0, 3\n"
	"exit\n"
	"refused:\n"
	"mov %r0, 0\n"
	"exit\n";

/* bpf_xdp_adjust_head by r2 = the context's ingress_ifindex as a signed
 * delta: the host picks it, to probe the limits; r0 the helper's result. */
static const char head_by_ifindex[] =
	"ldxw %r2, [%r1+12]\n"
	"lsh %r2, 32\n"
	"arsh %r2, 32\n"
	"call 44\n"
	"exit\n";

static uint8_t *low_frame(void)
{
	void *p = mmap(NULL, FRAME, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

static struct xdp_md md_of(uint8_t *data, uint32_t len)
{
	return (struct xdp_md){ .data = (uint32_t)(uintptr_t)data, .data_end = (uint32_t)(uintptr_t)(data + len),
	                        .data_meta = (uint32_t)(uintptr_t)data };
}

static bpfvm_hook *xdp_hook(void)
{
	BPFVM_OPTS(bpfvm_hook_opts, ho, .name = "xdp", .ctx_kind = BPFVM_HOOK_CTX_PROG_TYPE,
	           .prog_type = BPF_PROG_TYPE_XDP);
	bpfvm_hook *h = NULL;
	bpfvm_error err;
	if (bpfvm_hook_new(&ho, &h, &err)) {
		printf("hook_new: %s\n", err.msg);
		exit(1);
	}
	return h;
}

/* The packet moved within the frame; the context says where. */
static void test_push_trim(bool jit)
{
	bpfvm_hook *h = xdp_hook();
	bpfvm_program *p = load(push_trim, jit);
	bpfvm_error err;
	uint64_t link, r = 0;
	CHECK(bpfvm_hook_attach(h, p, &link, &err) == 0, "attach: %s", err.msg);
	uint8_t *frame = low_frame(), *data = frame + HEADROOM;
	for (int i = 0; i < 60; i++)
		data[i] = (uint8_t)i;
	struct xdp_md md = md_of(data, 60);
	CHECK(bpfvm_hook_run_xdp(h, &md, frame, FRAME, &r, &err) == 0, "run_xdp (jit %d): %s", jit, err.msg);
	CHECK(r == XDP_TX, "jit %d: verdict %llu", jit, (unsigned long long)r);
	CHECK(md.data == (uint32_t)(uintptr_t)(data - 4) && md.data_end == (uint32_t)(uintptr_t)(data + 58),
	      "jit %d: the packet now starts 4 bytes earlier and ends 2 sooner", jit);
	CHECK(!memcmp(data - 4, "\xaa\xaa\xaa\xaa", 4) && data[0] == 0 && data[57] == 57, "jit %d: its bytes", jit);
	/* a plain run of an XDP hook still has no frame for the helpers */
	md = md_of(data, 60);
	int rc = bpfvm_hook_run(h, &md, &r, &err);
	CHECK(rc == -EFAULT && strstr(err.msg, "bpf_xdp_adjust_head: r1 is not the XDP context"),
	      "jit %d: a plain run after it: %d %s", jit, rc, err.msg);
	munmap(frame, FRAME);
	bpfvm_hook_free(h);
	bpfvm_program_free(p);
}

/* The kernel's limits: the head no lower than the frame's start past
 * struct xdp_frame (40 bytes), and at least an Ethernet header left. */
static void test_limits(void)
{
	bpfvm_hook *h = xdp_hook();
	bpfvm_program *p = load(head_by_ifindex, true);
	bpfvm_error err;
	uint64_t link, r = 0;
	CHECK(bpfvm_hook_attach(h, p, &link, &err) == 0, "attach: %s", err.msg);
	uint8_t *frame = low_frame(), *data = frame + HEADROOM;
	struct { int32_t delta; uint64_t want; } cases[] = {
		{ -(int32_t)(HEADROOM - 40), 0 },      /* down to the xdp_frame room */
		{ -(int32_t)(HEADROOM - 39), (uint64_t)-EINVAL },
		{ 46, 0 },                             /* 60 - 46 = an Ethernet header left */
		{ 47, (uint64_t)-EINVAL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct xdp_md md = md_of(data, 60);
		md.ingress_ifindex = (uint32_t)cases[i].delta;
		CHECK(bpfvm_hook_run_xdp(h, &md, frame, FRAME, &r, &err) == 0, "run_xdp: %s", err.msg);
		CHECK(r == cases[i].want, "adjust_head by %d: %lld, want %lld", cases[i].delta, (long long)r,
		      (long long)cases[i].want);
	}
	uint32_t mem[6] = { 0 };
	CHECK(bpfvm_hook_run_xdp(h, (struct xdp_md *)mem, NULL, 0, &r, &err) == -EINVAL, "no frame: refused");
	munmap(frame, FRAME);
	bpfvm_hook_free(h);
	bpfvm_program_free(p);
}

/* Only XDP hooks take frames. */
static void test_wrong_hook(void)
{
	BPFVM_OPTS(bpfvm_hook_opts, ho, .name = "mem", .ctx_kind = BPFVM_HOOK_CTX_MEM, .ctx_size = 8);
	bpfvm_hook *h = NULL;
	bpfvm_error err;
	CHECK(bpfvm_hook_new(&ho, &h, &err) == 0, "hook_new: %s", err.msg);
	uint8_t *frame = low_frame();
	struct xdp_md md = md_of(frame + HEADROOM, 60);
	uint64_t r;
	CHECK(bpfvm_hook_run_xdp(h, &md, frame, FRAME, &r, &err) == -EINVAL &&
	      strstr(err.msg, "does not take XDP programs"), "a raw memory hook: %s", err.msg);
	munmap(frame, FRAME);
	bpfvm_hook_free(h);
}

int main(void)
{
	bpfvm_error err;
	kernel_helpers = bpfvm_helpers_new_kernel(&err);
	if (!kernel_helpers) {
		printf("helpers: %s\n", err.msg);
		return 1;
	}
	test_push_trim(true);
	test_push_trim(false);   /* through the API, as nested and interpreted runs go */
	test_limits();
	test_wrong_hook();
	bpfvm_helpers_free(kernel_helpers);
	return check_summary();
}
