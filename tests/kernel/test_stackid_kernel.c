/*
 * test_stackid_kernel.c - bpf_get_stackid and BPF_MAP_TYPE_STACK_TRACE
 * against the running kernel's, over the same user stacks.
 *
 * The kernel's side: a raw_tracepoint program calls bpf_get_stackid with
 * BPF_F_USER_STACK in a BPF_PROG_TEST_RUN, so the kernel walks this
 * process's user stack as it was at the bpf() system call.  bpfvm's side,
 * right after, still inside the same function: a kprobe program calls
 * bpfvm's bpf_get_stackid over pt_regs holding the same rip (the
 * instruction after glibc's `syscall`, read once from the kernel's map)
 * and rbp (this function's frame), so both walk the same frames.  The
 * calls come from several call sites (different stacks) with every flag
 * combination, into maps of two buckets (collisions); every result, and
 * at the end every bucket's frames, must be equal.  Built with frame
 * pointers (CMakeLists.txt).  Skips where bpf() is unavailable.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/helpers.h"
#include "bpfvm/maps.h"
#include "support/check.h"

#define DEPTH 4   /* frames a bucket keeps: the walks agree whatever lies beyond */

static int kernel_prog = -1, kernel_map = -1;
static bpfvm_program *vm_prog;
static bpfvm_map *vm_map;
static bpfvm_helpers *helpers;
static uint64_t syscall_ip;   /* the kernel's frame 0: glibc's syscall() */

static long sys_bpf(int cmd, union bpf_attr *a)
{
	return syscall(__NR_bpf, cmd, a, sizeof *a);
}

static int kernel_map_create(uint32_t max_entries)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.map_type = BPF_MAP_TYPE_STACK_TRACE;
	a.key_size = 4;
	a.value_size = 8 * DEPTH;
	a.max_entries = max_entries;
	return (int)sys_bpf(BPF_MAP_CREATE, &a);
}

/* r0 = bpf_get_stackid(r1, map, flags): flags from the raw tracepoint's
 * first argument (kernel) or pt_regs' r15, at offset 0 (bpfvm). */
static void stackid_prog(bpfvm_insn out[5], uint8_t map_src, uint64_t map)
{
	bpfvm_insn p[] = {
		{ .opcode = 0x79, .dst = 3, .src = 1, .off = 0 },
		{ .opcode = 0x18, .dst = 2, .src = map_src, .imm = (int32_t)(uint32_t)map },
		{ .imm = (int32_t)(uint32_t)(map >> 32) },
		{ .opcode = 0x85, .imm = BPF_FUNC_get_stackid },
		{ .opcode = 0x95 },
	};
	memcpy(out, p, sizeof p);
}

static int kernel_prog_load(int map_fd)
{
	bpfvm_insn p[5];
	stackid_prog(p, 1 /* BPF_PSEUDO_MAP_FD */, (uint64_t)map_fd);
	struct bpf_insn k[5];
	for (int i = 0; i < 5; i++)
		k[i] = (struct bpf_insn){ .code = p[i].opcode, .dst_reg = p[i].dst, .src_reg = p[i].src,
		                          .off = p[i].off, .imm = p[i].imm };
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
	a.insns = (uint64_t)(uintptr_t)k;
	a.insn_cnt = 5;
	a.license = (uint64_t)(uintptr_t)"GPL";
	return (int)sys_bpf(BPF_PROG_LOAD, &a);
}

static bool vm_setup(uint32_t max_entries)
{
	bpfvm_map_def def = BPFVM_MAP_DEF_INIT;
	def.type = BPF_MAP_TYPE_STACK_TRACE;
	def.key_size = 4;
	def.value_size = 8 * DEPTH;
	def.max_entries = max_entries;
	bpfvm_error err = { 0 };
	if (!CHECK(bpfvm_map_create(&def, &vm_map, &err) == 0, "bpfvm map: %s", err.msg))
		return false;
	bpfvm_insn p[5];
	stackid_prog(p, 0, (uint64_t)(uintptr_t)vm_map);
	BPFVM_OPTS(bpfvm_load_opts, lo, .helpers = helpers, .jit = true, .prog_type = BPF_PROG_TYPE_KPROBE,
	           .maps = &vm_map, .map_count = 1);
	return CHECK(bpfvm_program_load(p, 5, &lo, &vm_prog, &err) == 0, "bpfvm program: %s", err.msg);
}

struct result {
	int32_t kernel, vm;
	uint64_t return_address;   /* where the call came from: the kernel's frame 1 */
};

/* Both get_stackid calls over this frame's stack. */
static __attribute__((noinline)) void both_stackid(uint64_t flags, struct result *r)
{
	uint64_t frame = (uint64_t)(uintptr_t)__builtin_frame_address(0);
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.test.prog_fd = (uint32_t)kernel_prog;
	a.test.ctx_in = (uint64_t)(uintptr_t)&flags;
	a.test.ctx_size_in = sizeof flags;
	long rc = syscall(__NR_bpf, BPF_PROG_TEST_RUN, &a, sizeof a);
	r->kernel = rc ? (int32_t)-errno : (int32_t)a.test.retval;
	r->return_address = (uint64_t)(uintptr_t)__builtin_return_address(0);
	struct pt_regs regs = { .r15 = flags, .rip = syscall_ip, .rbp = frame };
	bpfvm_error err = { 0 };
	BPFVM_OPTS(bpfvm_test_run, t, .ctx_in = &regs, .ctx_size_in = sizeof regs, .engine = BPFVM_ENGINE_JIT);
	r->vm = bpfvm_program_test_run(vm_prog, &t, &err) ? -1000 : (int32_t)t.retval;
	__asm__ volatile("" ::: "memory");
}

/* Distinct call sites: distinct stacks. */
#define SITE(n) \
	static __attribute__((noinline)) void site_##n(uint64_t flags, struct result *r) \
	{ both_stackid(flags, r); __asm__ volatile("" ::: "memory"); }
SITE(0) SITE(1) SITE(2) SITE(3) SITE(4) SITE(5) SITE(6) SITE(7)
static void (*const sites[8])(uint64_t, struct result *) = {
	site_0, site_1, site_2, site_3, site_4, site_5, site_6, site_7,
};

/* The kernel's frame 0 for calls from here: its first stack's, with a
 * check that frame 1 is where the call came from (the walk starts at our
 * rbp, as both sides assume). */
static bool calibrate(void)
{
	struct result r;
	both_stackid(BPF_F_USER_STACK, &r);
	uint64_t frames[DEPTH] = { 0 };
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	uint32_t key = (uint32_t)r.kernel;
	a.map_fd = (uint32_t)kernel_map;
	a.key = (uint64_t)(uintptr_t)&key;
	a.value = (uint64_t)(uintptr_t)frames;
	if (r.kernel < 0 || sys_bpf(BPF_MAP_LOOKUP_ELEM, &a) != 0) {
		printf("skipped: the kernel's get_stackid gave %d\n", r.kernel);
		return false;
	}
	syscall_ip = frames[0];
	if (frames[1] != r.return_address) {
		printf("skipped: the kernel's frame 1 (0x%llx) is not our caller (0x%llx): "
		       "glibc's syscall() keeps a frame\n", (unsigned long long)frames[1],
		       (unsigned long long)r.return_address);
		return false;
	}
	a.value = 0;    /* a delete takes no value */
	if (!CHECK(sys_bpf(BPF_MAP_DELETE_ELEM, &a) == 0, "calibration: kernel delete: %s", strerror(errno)))
		return false;
	key = (uint32_t)r.vm;    /* bpfvm's stack of this call had no frame 0 yet */
	if (r.vm >= 0)
		bpfvm_map_delete(vm_map, &key, NULL);
	return true;
}

/* Every bucket of both maps holds the same frames. */
static void compare_buckets(const char *what)
{
	for (uint32_t key = 0; key < 4; key++) {
		uint64_t kv[DEPTH] = { 0 }, bv[DEPTH] = { 0 };
		union bpf_attr a;
		memset(&a, 0, sizeof a);
		a.map_fd = (uint32_t)kernel_map;
		a.key = (uint64_t)(uintptr_t)&key;
		a.value = (uint64_t)(uintptr_t)kv;
		int krc = sys_bpf(BPF_MAP_LOOKUP_ELEM, &a) ? -errno : 0;
		int brc = bpfvm_map_lookup(vm_map, &key, bv, 0, NULL);
		CHECK(krc == brc && !memcmp(kv, bv, sizeof kv),
		      "%s: bucket %u: kernel %d [0x%llx 0x%llx], bpfvm %d [0x%llx 0x%llx]", what, key, krc,
		      (unsigned long long)kv[0], (unsigned long long)kv[1], brc, (unsigned long long)bv[0],
		      (unsigned long long)bv[1]);
	}
}

static void run_sequence(void)
{
	static const uint64_t flag_sets[] = {
		BPF_F_USER_STACK, BPF_F_USER_STACK | BPF_F_REUSE_STACKID, BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP,
		BPF_F_USER_STACK | 1, BPF_F_USER_STACK | 2 | BPF_F_REUSE_STACKID, BPF_F_USER_STACK | 60,
		BPF_F_USER_STACK | (1ull << 13),
	};
	uint64_t state = 0x9e3779b97f4a7c15ull;
	int ids = 0, exist = 0, nomem = 0, fault = 0, inval = 0;
	for (int i = 0; i < 400; i++) {
		state ^= state << 13, state ^= state >> 7, state ^= state << 17;
		uint64_t flags = flag_sets[state % (sizeof flag_sets / sizeof flag_sets[0])];
		struct result r;
		sites[(state >> 8) % 8](flags, &r);
		CHECK(r.kernel == r.vm, "call %d (site %llu, flags 0x%llx): kernel %d, bpfvm %d", i,
		      (unsigned long long)((state >> 8) % 8), (unsigned long long)flags, r.kernel, r.vm);
		ids += r.kernel >= 0, exist += r.kernel == -EEXIST, nomem += r.kernel == -ENOMEM;
		fault += r.kernel == -EFAULT, inval += r.kernel == -EINVAL;
		if (i % 50 == 49)
			compare_buckets("after a run of calls");
	}
	printf("kernel results: %d ids, %d -EEXIST, %d -ENOMEM, %d -EFAULT, %d -EINVAL\n", ids, exist, nomem, fault,
	       inval);
	CHECK(ids && exist && nomem && fault && inval, "the sequence meets every outcome");
}

int main(void)
{
	kernel_map = kernel_map_create(2);
	if (kernel_map < 0) {
		printf("skipped: bpf(BPF_MAP_CREATE) of a stack trace map failed here (%s)\n", strerror(errno));
		return 77;
	}
	kernel_prog = kernel_prog_load(kernel_map);
	if (kernel_prog < 0) {
		printf("skipped: loading a raw_tracepoint program failed here (%s)\n", strerror(errno));
		return 77;
	}
	bpfvm_error err = { 0 };
	helpers = bpfvm_helpers_new_kernel(&err);
	if (!CHECK(helpers != NULL, "helpers: %s", err.msg) || !vm_setup(2))
		return check_summary();
	if (calibrate()) {
		run_sequence();
		compare_buckets("at the end");
	}
	bpfvm_program_free(vm_prog);
	bpfvm_map_put(vm_map);
	bpfvm_helpers_free(helpers);
	close(kernel_prog);
	close(kernel_map);
	return check_summary();
}
