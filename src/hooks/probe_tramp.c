/*
 * probe_tramp.c - the probe engine's machine code: the entry trampoline
 * template (copied once per site, next to its function), the one shared
 * return trampoline, and memory for generated code within reach of a
 * rel32 jump from the function (±2 GiB), written then made read+exec.
 *
 * The frame both trampolines build below the stack pointer at entry
 * (function entry: nothing of the function's own lives there yet), from
 * the bottom: xmm0-7 (128 bytes), then a struct pt_regs (168 bytes)
 * whose eflags slot is the pushfq's (296 bytes in all).  The call to the
 * dispatcher aligns rsp to 16 bytes itself, rbx keeping the frame: a
 * caller may enter the function with rsp misaligned where the compiler
 * knows the function needs no alignment (gcc's IPA does that for a leaf
 * in the same unit).  The flags are read for pt_regs but not
 * restored (popfq costs 4 ns a call): the SysV ABI leaves the status
 * flags dead at a function's entry and after its return, and the
 * handlers leave DF clear.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hooks/probe_internal.h"

#define FRAME_XMM 128
#define PAGE_SIZE_GUESS 4096
#define OUT_OF_LINE_AT 2048

__asm__(
	".pushsection .text\n"
	/* registers into the frame at rsp (regs at rsp + 128) */
	".macro probe_save\n"
	"  mov %r15, 128(%rsp)\n  mov %r14, 136(%rsp)\n  mov %r13, 144(%rsp)\n  mov %r12, 152(%rsp)\n"
	"  mov %rbp, 160(%rsp)\n  mov %rbx, 168(%rsp)\n  mov %r11, 176(%rsp)\n  mov %r10, 184(%rsp)\n"
	"  mov %r9, 192(%rsp)\n  mov %r8, 200(%rsp)\n  mov %rax, 208(%rsp)\n  mov %rcx, 216(%rsp)\n"
	"  mov %rdx, 224(%rsp)\n  mov %rsi, 232(%rsp)\n  mov %rdi, 240(%rsp)\n  mov %rax, 248(%rsp)\n"
	"  movq $0x33, 264(%rsp)\n  movq $0x2b, 288(%rsp)\n"
	"  movdqu %xmm0, 0(%rsp)\n  movdqu %xmm1, 16(%rsp)\n  movdqu %xmm2, 32(%rsp)\n  movdqu %xmm3, 48(%rsp)\n"
	"  movdqu %xmm4, 64(%rsp)\n  movdqu %xmm5, 80(%rsp)\n  movdqu %xmm6, 96(%rsp)\n  movdqu %xmm7, 112(%rsp)\n"
	".endm\n"
	/* and back but the flags, leaving rsp where it was before the frame */
	".macro probe_restore\n"
	"  movdqu 0(%rsp), %xmm0\n  movdqu 16(%rsp), %xmm1\n  movdqu 32(%rsp), %xmm2\n  movdqu 48(%rsp), %xmm3\n"
	"  movdqu 64(%rsp), %xmm4\n  movdqu 80(%rsp), %xmm5\n  movdqu 96(%rsp), %xmm6\n  movdqu 112(%rsp), %xmm7\n"
	"  mov 128(%rsp), %r15\n  mov 136(%rsp), %r14\n  mov 144(%rsp), %r13\n  mov 152(%rsp), %r12\n"
	"  mov 160(%rsp), %rbp\n  mov 168(%rsp), %rbx\n  mov 176(%rsp), %r11\n  mov 184(%rsp), %r10\n"
	"  mov 192(%rsp), %r9\n  mov 200(%rsp), %r8\n  mov 208(%rsp), %rax\n  mov 216(%rsp), %rcx\n"
	"  mov 224(%rsp), %rdx\n  mov 232(%rsp), %rsi\n  mov 240(%rsp), %rdi\n"
	"  lea 296(%rsp), %rsp\n"
	".endm\n"
	".macro probe_frame\n"
	"  lea -16(%rsp), %rsp\n  pushfq\n  lea -272(%rsp), %rsp\n"
	".endm\n"

	/* Entry: copied per site; the two movabs immediates are patched. */
	".globl probe_entry_template\n.hidden probe_entry_template\n"
	".globl probe_entry_template_site\n.hidden probe_entry_template_site\n"
	".globl probe_entry_template_dispatch\n.hidden probe_entry_template_dispatch\n"
	".globl probe_entry_template_end\n.hidden probe_entry_template_end\n"
	"probe_entry_template:\n"
	"  probe_frame\n"
	"  probe_save\n"
	"  lea 296(%rsp), %rax\n  mov %rax, 280(%rsp)\n"
	"  lea 128(%rsp), %rsi\n"
	"  xor %edx, %edx\n"
	"probe_entry_template_site:\n"
	"  movabs $0x1122334455667788, %rdi\n"
	"probe_entry_template_dispatch:\n"
	"  movabs $0x1122334455667788, %rax\n"
	"  mov %rsp, %rbx\n  and $-16, %rsp\n"
	"  call *%rax\n"
	"  mov %rbx, %rsp\n"
	"  test %eax, %eax\n"
	"  jz 1f\n"
	"  probe_restore\n"
	"  ret\n"
	"1:\n"
	"  probe_restore\n"
	"probe_entry_template_end:\n"

	/* Return: a probed function returns here (rsp just above its
	 * return slot); the real address goes back into that slot. */
	".globl probe_return_trampoline\n.hidden probe_return_trampoline\n"
	".p2align 4\n"
	"probe_return_trampoline:\n"
	"  lea -8(%rsp), %rsp\n"
	"  probe_frame\n"
	"  probe_save\n"
	"  lea 304(%rsp), %rax\n  mov %rax, 280(%rsp)\n"
	"  lea 128(%rsp), %rdi\n"
	"  mov %rsp, %rbx\n  and $-16, %rsp\n"
	"  call probe_return_dispatch\n"
	"  mov %rbx, %rsp\n"
	"  mov %rax, 296(%rsp)\n"
	"  probe_restore\n"
	"  ret\n"
	".popsection\n");

extern const uint8_t probe_entry_template[], probe_entry_template_site[], probe_entry_template_dispatch[],
	probe_entry_template_end[];

/* A page of fresh memory within rel32 reach of near (with a margin for
 * the function's own length), tried at 1 MiB steps either side. */
static uint8_t *alloc_near(uintptr_t near, size_t size)
{
	const uintptr_t step = 1u << 20, reach = (1ul << 31) - (16u << 20);
	uintptr_t base = near & ~(step - 1);
	for (uintptr_t d = step; d < reach; d += step) {
		for (int side = 0; side < 2; side++) {
			uintptr_t hint = side ? base + d : base - d;
			if ((side == 0 && base < d + (1u << 16)) || (side == 1 && hint < base))
				continue;
			void *p = mmap((void *)hint, size, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (p == MAP_FAILED)
				continue;
			if ((uintptr_t)p == hint)
				return p;
			munmap(p, size);   /* a kernel without MAP_FIXED_NOREPLACE placed it elsewhere */
		}
	}
	return NULL;
}

static void put_jump(uint8_t *at, uintptr_t target)
{
	int32_t rel = (int32_t)(target - ((uintptr_t)at + 5));
	at[0] = 0xe9;
	memcpy(at + 1, &rel, 4);
}

static void put_imm64(const uint8_t *template_label, uint8_t *copy, uint64_t value)
{
	size_t off = (size_t)(template_label - probe_entry_template) + 2;   /* after REX.W B8+r */
	memcpy(copy + off, &value, 8);
}

/* The trampoline at page: the template, the moved instructions, a jump
 * back after them.  Returns 0 or -1 with the reason. */
static int build_trampoline(struct probe_site *site, uint8_t *page, size_t fn_size, char *reason)
{
	size_t tlen = (size_t)(probe_entry_template_end - probe_entry_template);
	memcpy(page, probe_entry_template, tlen);
	put_imm64(probe_entry_template_site, page, (uintptr_t)site);
	put_imm64(probe_entry_template_dispatch, page, (uintptr_t)&probe_entry_dispatch);
	struct x86_reloc *r = &site->jump_reloc;
	if (x86_relocate(site->func, PROBE_JUMP_LEN, fn_size, page + tlen, (uintptr_t)(page + tlen),
			 OUT_OF_LINE_AT - tlen - 5, r, reason) < 0)
		return -1;
	uintptr_t where;
	if (x86_jump_into(site->func, x86_function_extent(site->func, fn_size), r->src_len, &where)) {
		snprintf(reason, X86_RELOC_REASON_SIZE, "a branch at %#lx lands inside the first %zu bytes",
			 (unsigned long)where, r->src_len);
		return -1;
	}
	put_jump(page + tlen + r->out_len, (uintptr_t)site->func + r->src_len);
	site->trampoline_resume = page + tlen;
	return 0;
}

static int build_out_of_line(struct probe_site *site, uint8_t *ool, size_t fn_size, char *reason)
{
	struct x86_reloc *r = &site->out_of_line_reloc;
	if (x86_relocate(site->func, 1, fn_size, ool, (uintptr_t)ool, PAGE_SIZE_GUESS - OUT_OF_LINE_AT - 5, r,
			 reason) < 0)
		return -1;
	put_jump(ool + r->out_len, (uintptr_t)site->func + r->src_len);
	return 0;
}

int probe_tramp_build(struct probe_site *site, size_t fn_size, char reason[X86_RELOC_REASON_SIZE])
{
	long page_size = sysconf(_SC_PAGESIZE);
	if (page_size != PAGE_SIZE_GUESS) {
		snprintf(reason, X86_RELOC_REASON_SIZE, "page size %ld not supported", page_size);
		return -1;
	}
	uint8_t *page = alloc_near((uintptr_t)site->func, PAGE_SIZE_GUESS);
	if (!page) {
		snprintf(reason, X86_RELOC_REASON_SIZE, "no free memory within 2 GiB of the function");
		return -1;
	}
	memset(page, 0xcc, PAGE_SIZE_GUESS);
	if (build_trampoline(site, page, fn_size, site->no_trampoline) == 0)
		site->trampoline = page;
	if (build_out_of_line(site, page + OUT_OF_LINE_AT, fn_size, reason) == 0)
		site->out_of_line = page + OUT_OF_LINE_AT;
	if (!site->trampoline && !site->out_of_line) {
		munmap(page, PAGE_SIZE_GUESS);
		return -1;
	}
	if (mprotect(page, PAGE_SIZE_GUESS, PROT_READ | PROT_EXEC) < 0) {
		snprintf(reason, X86_RELOC_REASON_SIZE, "mprotect: %s", strerror(errno));
		munmap(page, PAGE_SIZE_GUESS);
		site->trampoline = site->out_of_line = NULL;
		return -1;
	}
	return 0;
}
