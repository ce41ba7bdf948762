/*
 * syscall_entry.S - the interceptor's code range: the only code Syscall
 * User Dispatch lets make system calls without a SIGSYS (sud_code_start to
 * sud_code_end, one section, so one contiguous range).  It holds the raw
 * syscall, the signal restorer, the child path of an intercepted clone,
 * and the entry of the rewritten sites' stubs.  Offsets into struct
 * pt_regs (uapi asm/ptrace.h): r15 0, r14 8, r13 16, r12 24, rbp 32,
 * rbx 40, r11 48, r10 56, r9 64, r8 72, rax 80, rcx 88, rdx 96, rsi 104,
 * rdi 112, orig_rax 120, rip 128, cs 136, eflags 144, rsp 152, ss 160.
 *
 * Owns: sud_raw_syscall, sud_restore_rt, sud_raw_clone, sud_fast_entry.
 */
#define BLOCK_REGS 512
#define PT_REGS_SIZE 168

	.section .text.bpfvm_sud, "ax", @progbits
	.globl sud_code_start, sud_code_end
	.hidden sud_code_start, sud_code_end
sud_code_start:

/* rax = the number in rdi; the six arguments from the array at rsi into
 * the system call's registers (r11 is free: syscall clobbers it). */
.macro LOAD_SYSCALL nr_reg=%rdi, args_reg=%rsi
	mov \nr_reg, %rax
	mov \args_reg, %r11
	mov 0(%r11), %rdi
	mov 8(%r11), %rsi
	mov 16(%r11), %rdx
	mov 24(%r11), %r10
	mov 32(%r11), %r8
	mov 40(%r11), %r9
.endm

/* long sud_raw_syscall(long nr, const unsigned long args[6]) */
	.globl sud_raw_syscall
	.hidden sud_raw_syscall
	.type sud_raw_syscall, @function
sud_raw_syscall:
	LOAD_SYSCALL
	syscall
	ret
	.size sud_raw_syscall, . - sud_raw_syscall

/* The SIGSYS handler's restorer, and where a trapped rt_sigreturn is sent
 * to be performed from inside the range, on the frame it was meant for. */
	.globl sud_restore_rt
	.hidden sud_restore_rt
	.type sud_restore_rt, @function
sud_restore_rt:
	mov $15, %eax
	syscall
	hlt
	.size sud_restore_rt, . - sud_restore_rt

/* long sud_raw_clone(long nr, const unsigned long args[6], block): the
 * parent returns the result; the child, on its new stack, calls
 * sud_child_entry(block) below the block, then becomes the parent's
 * interrupted context with rax 0, as a child leaving clone does. */
	.globl sud_raw_clone
	.hidden sud_raw_clone
	.type sud_raw_clone, @function
sud_raw_clone:
	push %rbx
	mov %rdx, %rbx
	LOAD_SYSCALL
	syscall
	test %rax, %rax
	jz 1f
	pop %rbx
	ret
1:	mov %rbx, %rsp
	and $-16, %rsp
	mov %rbx, %rdi
	call sud_child_entry
	fxrstor64 (%rbx)
	xor %eax, %eax
	pushq BLOCK_REGS+144(%rbx)
	popfq
	mov BLOCK_REGS+0(%rbx), %r15
	mov BLOCK_REGS+8(%rbx), %r14
	mov BLOCK_REGS+16(%rbx), %r13
	mov BLOCK_REGS+24(%rbx), %r12
	mov BLOCK_REGS+32(%rbx), %rbp
	mov BLOCK_REGS+56(%rbx), %r10
	mov BLOCK_REGS+64(%rbx), %r9
	mov BLOCK_REGS+72(%rbx), %r8
	mov BLOCK_REGS+96(%rbx), %rdx
	mov BLOCK_REGS+104(%rbx), %rsi
	mov BLOCK_REGS+112(%rbx), %rdi
	mov BLOCK_REGS+144(%rbx), %r11
	mov BLOCK_REGS+128(%rbx), %rcx
	mov BLOCK_REGS+152(%rbx), %rsp
	mov BLOCK_REGS+40(%rbx), %rbx
	jmp *%rcx
	.size sud_raw_clone, . - sud_raw_clone

/* The rewritten sites' common entry.  A site's stub did
 *     lea -128(%rsp), %rsp        (past the red zone)
 *     call *16(%rip)              (here; pushes X, the address of:)
 *  X: .quad return address (after the site's syscall), .quad nr, .quad &sud_fast_entry
 * This saves the registers as sys_enter's pt_regs (and xmm0-15, which a
 * syscall preserves and C may not), calls sud_fast_dispatch, and returns
 * to the site with rax the result, rcx and r11 as a syscall leaves them,
 * flags restored. */
	.globl sud_fast_entry
	.hidden sud_fast_entry
	.type sud_fast_entry, @function
sud_fast_entry:
	mov (%rsp), %rcx
	mov 8(%rcx), %rax            /* the replaced mov $nr, %eax */
	mov (%rcx), %rcx             /* rcx: return rip, as syscall sets it */
	mov %rcx, (%rsp)
	pushfq
	pop %r11                     /* r11: rflags, as syscall sets it */
	sub $PT_REGS_SIZE, %rsp
	mov %r15, 0(%rsp)
	mov %r14, 8(%rsp)
	mov %r13, 16(%rsp)
	mov %r12, 24(%rsp)
	mov %rbp, 32(%rsp)
	mov %rbx, 40(%rsp)
	mov %r11, 48(%rsp)
	mov %r10, 56(%rsp)
	mov %r9, 64(%rsp)
	mov %r8, 72(%rsp)
	movq $-38, 80(%rsp)          /* rax: -ENOSYS at sys_enter */
	mov %rcx, 88(%rsp)
	mov %rdx, 96(%rsp)
	mov %rsi, 104(%rsp)
	mov %rdi, 112(%rsp)
	mov %rax, 120(%rsp)
	mov %rcx, 128(%rsp)
	movq $0x33, 136(%rsp)
	mov %r11, 144(%rsp)
	lea PT_REGS_SIZE+8+128(%rsp), %rax
	mov %rax, 152(%rsp)
	movq $0x2b, 160(%rsp)
	mov %rsp, %rbx
	and $-16, %rsp
	sub $256, %rsp
	movdqu %xmm0, 0(%rsp)
	movdqu %xmm1, 16(%rsp)
	movdqu %xmm2, 32(%rsp)
	movdqu %xmm3, 48(%rsp)
	movdqu %xmm4, 64(%rsp)
	movdqu %xmm5, 80(%rsp)
	movdqu %xmm6, 96(%rsp)
	movdqu %xmm7, 112(%rsp)
	movdqu %xmm8, 128(%rsp)
	movdqu %xmm9, 144(%rsp)
	movdqu %xmm10, 160(%rsp)
	movdqu %xmm11, 176(%rsp)
	movdqu %xmm12, 192(%rsp)
	movdqu %xmm13, 208(%rsp)
	movdqu %xmm14, 224(%rsp)
	movdqu %xmm15, 240(%rsp)
	cld
	mov %rbx, %rdi
	call sud_fast_dispatch
	movdqu 0(%rsp), %xmm0
	movdqu 16(%rsp), %xmm1
	movdqu 32(%rsp), %xmm2
	movdqu 48(%rsp), %xmm3
	movdqu 64(%rsp), %xmm4
	movdqu 80(%rsp), %xmm5
	movdqu 96(%rsp), %xmm6
	movdqu 112(%rsp), %xmm7
	movdqu 128(%rsp), %xmm8
	movdqu 144(%rsp), %xmm9
	movdqu 160(%rsp), %xmm10
	movdqu 176(%rsp), %xmm11
	movdqu 192(%rsp), %xmm12
	movdqu 208(%rsp), %xmm13
	movdqu 224(%rsp), %xmm14
	movdqu 240(%rsp), %xmm15
	mov %rbx, %rsp
	mov 0(%rsp), %r15
	mov 8(%rsp), %r14
	mov 16(%rsp), %r13
	mov 24(%rsp), %r12
	mov 32(%rsp), %rbp
	mov 40(%rsp), %rbx
	mov 48(%rsp), %r11
	mov 56(%rsp), %r10
	mov 64(%rsp), %r9
	mov 72(%rsp), %r8
	mov 88(%rsp), %rcx
	mov 96(%rsp), %rdx
	mov 104(%rsp), %rsi
	mov 112(%rsp), %rdi
	pushq 144(%rsp)
	popfq
	lea PT_REGS_SIZE(%rsp), %rsp
	ret $128
	.size sud_fast_entry, . - sud_fast_entry

sud_code_end:
	.section .note.GNU-stack, "", @progbits
